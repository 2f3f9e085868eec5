import Foundation
import PeregrineBook
import PeregrineCore
import PeregrineEngine
import PeregrineFeed
import PeregrineJournal
import PeregrineMempool
import PeregrineModel
import PeregrineStrategy
import PeregrineTestSupport
import Synchronization
import Testing

// Test doubles for each part of the pipeline: a scripted source, a journal kept in memory, and
// outputs collected at the sink. They plug into the same generic pipeline as the real parts.

/// Writes a fixed list of events, at most `batch` per step, in order.
struct ScriptedSource: ~Copyable, EventSource {
    let events: [Event]
    let batch: Int
    var next = 0
    var counts = SourceCounts()

    mutating func step<Writer: EventWriter & ~Copyable>(now: UInt64, into writer: inout Writer) -> Int {
        let wanted = Swift.min(batch, events.count - next)
        if wanted == 0 { return 0 }
        let claimed = writer.claim(upTo: wanted)
        if claimed == 0 {
            counts.fullWaits += 1
            return 0
        }
        for offset in 0..<claimed { writer.write(events[next + offset]) }
        writer.publish()
        next += claimed
        counts.emitted += claimed
        return claimed
    }

    var isExhausted: Bool { next == events.count }
    var summary: String? { "scripted \(next) of \(events.count)" }
}

struct ScriptedSourcePlan: SourcePlan {
    var events: [Event]
    var batch = 7

    func open(_ context: SourceContext) throws(EngineError) -> ScriptedSource {
        ScriptedSource(events: events, batch: batch)
    }

    var description: String { "scripted (\(events.count) events)" }
    var exhaustedReason: String { "end of the script" }
}

/// The journaled events, shared by the plan (recovery, the test) and the backend (the
/// journal thread); appends are made durable every `durableEvery` commits, so the stage's
/// release-what-is-durable path is exercised.
final class MemoryJournalStore: @unchecked Sendable {
    let records = Mutex<[(sequence: Int64, event: Event)]>([])

    var events: [(sequence: Int64, event: Event)] { records.withLock { $0 } }
}

struct MemoryJournalPlan: JournalPlan {
    let store: MemoryJournalStore
    var durableEvery = 3

    func recover<S: Strategy>(configuration: EngineConfiguration, custom: S.Type) throws(EngineError) -> Recovered<S>? {
        let records = store.events
        if records.isEmpty { return nil }
        var logic = try EngineLogic(configuration: configuration, custom: custom)
        var outputs = HashingOutputs()
        for record in records { logic.handle(record.event, sequence: record.sequence, outputs: &outputs) }
        let next = (records.last?.sequence ?? -1) + 1
        return Recovered(
            logic: logic, hasher: outputs.hasher,
            summary: ReplaySummary(
                directory: "memory", records: records.count, replayed: records.count, segments: 1, nextSequence: next,
                tornTail: nil, repairedBytes: 0, seconds: 0, snapshot: nil, stateHash: logic.stateHash(),
                outputHash: outputs.hasher.value, outcomes: outputs.outcomes, orders: outputs.orders,
                reports: outputs.reportCount, fills: outputs.fills))
    }

    func open(_ context: JournalContext) throws(EngineError) -> MemoryJournal {
        MemoryJournal(store: store, durable: context.nextSequence, durableEvery: durableEvery)
    }

    var description: String { "memory" }
    func reportLines(_ report: EngineReport) -> [String] { ["journal           memory"] }
}

struct MemoryJournal: ~Copyable, JournalBackend {
    let store: MemoryJournalStore
    var pending: [(sequence: Int64, event: Event)] = []
    var durable: Int64
    let durableEvery: Int
    var commits = 0

    init(store: MemoryJournalStore, durable: Int64, durableEvery: Int) {
        self.store = store
        self.durable = durable
        self.durableEvery = durableEvery
    }

    mutating func append(_ event: Event, sequence: Int64) throws(JournalError) -> Bool {
        pending.append((sequence, event))
        return true
    }

    mutating func commit(now: UInt64, drained: Bool) throws(JournalError) {
        commits += 1
        if commits % durableEvery == 0 { makeDurable() }
    }

    mutating func makeDurable() {
        guard let last = pending.last else { return }
        let batch = pending
        store.records.withLock { $0 += batch }
        pending.removeAll()
        durable = last.sequence + 1
    }

    mutating func durableSequence(now: UInt64) throws(JournalError) -> Int64 {
        if !pending.isEmpty && commits % durableEvery != 0 { commits += 1 }  // time makes it durable
        if commits % durableEvery == 0 { makeDurable() }
        return durable
    }

    mutating func close(now: UInt64) throws(JournalError) { makeDurable() }
    var appendLimit: Int { 5 }

    var statistics: JournalStatistics {
        var statistics = JournalStatistics()
        statistics.durableSequence = durable
        return statistics
    }
}

/// Counts and hashes what reaches the sink's downstream: one hash per kind, since the sink
/// drains reports, outcomes and venue orders from three rings (each in order, not interleaved).
struct OutputTally: Equatable, Sendable {
    var outcomes = 0
    var orders = 0
    var reports = 0
    var bundles = 0
    var bundleHash = OutputHasher().value
    var outcomeHash = OutputHasher().value
    var orderHash = OutputHasher().value
    var reportHash = OutputHasher().value
}

final class CollectedOutputs: @unchecked Sendable {
    let tally = Mutex(OutputTally())
}

struct CollectingSink: OutputSink {
    let collected: CollectedOutputs?
    var outcomeHasher = OutputHasher()
    var orderHasher = OutputHasher()
    var reportHasher = OutputHasher()
    var bundleHasher = OutputHasher()
    var tally = OutputTally()
    var reportCount: Int { tally.reports }

    mutating func outcome(_ outcome: Outcome) {
        tally.outcomes += 1
        outcomeHasher.fold(outcome)
    }

    mutating func order(_ order: VenueOrder) {
        tally.orders += 1
        orderHasher.fold(order)
    }

    mutating func accept(_ report: ExecutionReport) {
        tally.reports += 1
        reportHasher.fold(report)
    }

    mutating func bundleLeg(_ leg: borrowing BundleLeg) { bundleHasher.fold(leg) }

    mutating func bundleSealed(_ seal: BundleSeal) {
        tally.bundles += 1
        bundleHasher.fold(seal)
    }

    mutating func close() {
        tally.bundleHash = bundleHasher.value
        tally.outcomeHash = outcomeHasher.value
        tally.orderHash = orderHasher.value
        tally.reportHash = reportHasher.value
        let tally = self.tally
        collected?.tally.withLock { $0 = tally }
    }
}

struct CollectingPlan: OutputPlan {
    let collected: CollectedOutputs
    func open() throws(EngineError) -> CollectingSink { CollectingSink(collected: collected) }
    var description: String { "collected" }
}

@Suite("Pipeline parts", .serialized)
struct PipelinePartsTests {
    static let follower = [StrategySpec(name: "large-trade-follower")]

    func configuration(topology: Topology = .shared) -> EngineConfiguration {
        var configuration = EngineConfiguration()
        configuration.strategies = Self.follower
        configuration.instruments = 4
        configuration.orderFlowPercent = 30
        configuration.topology = topology
        configuration.waitStrategy = .yield
        configuration.inboundRingSize = 256
        configuration.outboundRingSize = 256
        configuration.orderRingSize = 64
        configuration.statusIntervalSeconds = 0.2
        configuration.durationSeconds = 60
        configuration.journalDirectory = nil
        return configuration
    }

    /// A two-instrument synthetic market moved to market-data instruments `offset`,
    /// `offset + 1`, its orders to the hosted instruments `4 + offset`, `5 + offset` (of a run
    /// with 4 instruments, whose venue hosts 4 to 7).
    static func events(_ count: Int, seed: UInt64, instrumentOffset: UInt32) -> [Event] {
        var market = SyntheticMarket(instruments: 2, seed: seed, orderFlowPercent: 30)
        return (0..<count).map { index in
            var event = market.next(timestamp: 1_000 + UInt64(index) * 100)
            let hosted: UInt32 = event.payload.kind == .order ? 2 : 0
            event.instrument = InstrumentID(event.instrument.rawValue + instrumentOffset + hosted)
            return event
        }
    }

    /// Two scripted sources merged into one sequence, journaled in memory: every event of each
    /// reaches the journal once and in its source's order, the collected outputs hash as the
    /// logic's do, and replaying the journal gives the run's state and output hashes.
    @Test(arguments: [Topology.shared, .dedicated])
    func twoMergedSourcesJournalOnceAndReplayToTheSameHashes(topology: Topology) throws {
        let first = Self.events(30_000, seed: 11, instrumentOffset: 0)
        let second = Self.events(20_000, seed: 12, instrumentOffset: 2)
        let store = MemoryJournalStore()
        let collected = CollectedOutputs()
        let configuration = configuration(topology: topology)
        let report = try Pipeline.run(
            configuration: configuration,
            source: MergedSourcePlan(ScriptedSourcePlan(events: first), ScriptedSourcePlan(events: second, batch: 3)),
            journal: MemoryJournalPlan(store: store), outputs: CollectingPlan(collected: collected),
            custom: IdleStrategy.self
        ) { _ in }
        #expect(report.isLossless, "\(report.problems)")
        #expect(report.emitted == 50_001 && report.processed == 50_001)
        #expect(report.stopReason == "source finished (every source finished)")
        #expect(report.recordedSummary == "scripted 30000 of 30000; scripted 20000 of 20000")
        #expect(report.sourceDescription == "scripted (30000 events) + scripted (20000 events)")
        let journaled = store.events
        #expect(journaled.map(\.sequence) == Array(0..<50_001))
        // Each source's events in its order; the session end last.
        let events = journaled.map(\.event)
        let fromFirst = events.filter { (event: Event) -> Bool in
            [0, 1, 4, 5].contains(event.instrument.rawValue) && event.payload.kind != .timer
        }
        let fromSecond = events.filter { (event: Event) -> Bool in [2, 3, 6, 7].contains(event.instrument.rawValue) }
        #expect(fromFirst == first)
        #expect(fromSecond == second)
        let last = try #require(journaled.last?.event)
        #expect(last.payload == .timer(TimerFire(timerID: TimerFire.sessionEnd, deadline: last.timestamp)))
        // The interleaving depends on the ring, so check that it did interleave.
        let firstOfSecond = journaled.firstIndex { $0.event.instrument.rawValue >= 2 } ?? 0
        #expect(firstOfSecond < 1_000)

        var logic = try EngineLogic(configuration: configuration, custom: IdleStrategy.self)
        var outputs = HashingOutputs()
        var tallied = CollectingSink(collected: nil)
        for record in journaled {
            logic.handle(record.event, sequence: record.sequence, outputs: &outputs)
        }
        #expect(logic.stateHash() == report.stateHash && outputs.hasher.value == report.outputHash)
        #expect(outputs.reportCount > 1_000)  // the order flow traded
        // What reached the sink's downstream is every output of a replay, in order per kind.
        var again = try EngineLogic(configuration: configuration, custom: IdleStrategy.self)
        for record in journaled { again.handle(record.event, sequence: record.sequence, outputs: &tallied) }
        tallied.close()
        let sink = collected.tally.withLock { $0 }
        #expect(sink == tallied.tally)
        #expect(
            sink.outcomes == 50_001 && sink.reports == report.reportsAtSink && sink.orders == report.venueOrdersAtSink)
    }

    /// A run says it started (the observer's `recovered`, which makes `/readyz` ready) only once
    /// its source is open: what a source subscribes to when it opens (NATS input) would lose
    /// what was published between "ready" and the subscription. The source here takes 200 ms
    /// to open.
    @Test(arguments: [Topology.shared, .dedicated])
    func aRunIsReadyOnlyOnceItsSourceIsOpen(topology: Topology) throws {
        final class Opening: @unchecked Sendable {
            let opened = Atomic<Bool>(false)
            let openedWhenReady = Mutex<Bool?>(nil)
        }
        struct SlowOpeningPlan: SourcePlan {
            let inner: ScriptedSourcePlan
            let opening: Opening
            func open(_ context: SourceContext) throws(EngineError) -> ScriptedSource {
                usleep(200_000)
                let source = try inner.open(context)
                opening.opened.store(true, ordering: .releasing)
                return source
            }
            var description: String { inner.description }
            var exhaustedReason: String { inner.exhaustedReason }
        }
        final class ReadyObserver: PipelineObserver, @unchecked Sendable {
            let opening: Opening
            init(_ opening: Opening) { self.opening = opening }
            func recovered(_ summary: ReplaySummary?) {
                let opened = opening.opened.load(ordering: .acquiring)
                opening.openedWhenReady.withLock { $0 = opened }
            }
            func interval(_ status: PipelineStatus) {}
            func finished(_ report: EngineReport) {}
        }
        let opening = Opening()
        let report = try Pipeline.run(
            configuration: configuration(topology: topology),
            source: SlowOpeningPlan(
                inner: ScriptedSourcePlan(events: Self.events(1_000, seed: 5, instrumentOffset: 0)), opening: opening),
            journal: MemoryJournalPlan(store: MemoryJournalStore()),
            outputs: CollectingPlan(collected: CollectedOutputs()),
            custom: IdleStrategy.self, observer: ReadyObserver(opening)
        ) { _ in }
        #expect(report.isLossless && report.emitted == 1_001)
        #expect(opening.openedWhenReady.withLock { $0 } == true)
    }

    /// Strategies that submit 16 orders on every trade fill the 64-slot venue-order ring many
    /// times a batch: its orders wait in the logic's overflow and reach the sink all, once and in
    /// order (the sink's order hash, folded as they arrive, equals a replay's).
    @Test func venueOrdersThatFindTheirRingFullWaitAndArriveInOrder() throws {
        let store = MemoryJournalStore()
        let collected = CollectedOutputs()
        var configuration = configuration()
        configuration.orderRingSize = 64
        configuration.strategies = EchoStrategy.specs(perTrade: 16, instruments: [0, 1, 2, 3])
        // Orders for outside venues stay pending (no venue answers them here): room for all.
        configuration.strategyOrderCapacity = 1 << 17
        let events = Self.events(20_000, seed: 21, instrumentOffset: 0)
        let report = try Pipeline.run(
            configuration: configuration, source: ScriptedSourcePlan(events: events),
            journal: MemoryJournalPlan(store: store), outputs: CollectingPlan(collected: collected),
            custom: EchoStrategy.self
        ) { _ in }
        #expect(report.isLossless, "\(report.problems)")
        let trades = events.filter { $0.payload.kind == .trade }.count
        #expect(trades > 1_000)
        // Each order, then at the session's end a cancel for each (no venue answered them).
        #expect(report.venueOrders == 2 * 16 * trades && report.venueOrdersAtSink == report.venueOrders)
        var offline = try EngineLogic(configuration: configuration, custom: EchoStrategy.self)
        var tallied = CollectingSink(collected: nil)
        for record in store.events { offline.handle(record.event, sequence: record.sequence, outputs: &tallied) }
        tallied.close()
        #expect(tallied.tally.orders == 2 * 16 * trades)
        #expect(collected.tally.withLock { $0 } == tallied.tally)
    }

    /// A second run on the same memory journal recovers from it and continues its sequence.
    @Test func aRunRecoversFromItsJournalBackend() throws {
        let store = MemoryJournalStore()
        let configuration = configuration()
        let first = try Pipeline.run(
            configuration: configuration,
            source: ScriptedSourcePlan(events: Self.events(5_000, seed: 3, instrumentOffset: 0)),
            journal: MemoryJournalPlan(store: store), outputs: NoOutputs(), custom: IdleStrategy.self
        ) { _ in }
        let second = try Pipeline.run(
            configuration: configuration,
            source: ScriptedSourcePlan(events: Self.events(4_000, seed: 4, instrumentOffset: 0)),
            journal: MemoryJournalPlan(store: store), outputs: NoOutputs(), custom: IdleStrategy.self
        ) { _ in }
        #expect(first.isLossless && second.isLossless)
        #expect(second.recovery?.nextSequence == 5_001)
        #expect(first.lastSequence == 5_000 && second.lastSequence == 9_001)
        #expect(store.events.map(\.sequence) == Array(0..<9_002))
        var logic = try EngineLogic(configuration: configuration, custom: IdleStrategy.self)
        var outputs = HashingOutputs()
        for record in store.events { logic.handle(record.event, sequence: record.sequence, outputs: &outputs) }
        #expect(logic.stateHash() == second.stateHash && outputs.hasher.value == second.outputHash)
    }

    /// The same recorded file run twice gives the same state and output hashes; two recorded
    /// files merged (as instruments 1 and 2) journal every change of both and replay to the
    /// run's hashes.
    @Test func recordedRunsAreRepeatableAndMergedFilesReplay() throws {
        let file = Fixtures.path("bybit_XRPUSDT_orderbook500_2024-12-01.jsonl")
        var recorded = configuration()
        recorded.instruments = 4
        recorded.recordedSources = [RecordedSourceSpec(format: .bybitOrderBook, paths: [file])]
        // Three instruments on the file's grid (tick 0.0001, lot 1).
        recorded.instrumentDefinitions = try (0..<3).map { id in
            InstrumentDefinition(
                id: InstrumentID(UInt32(id)), symbol: "XRP\(id)", venue: "bybit", tickSize: try Increment("0.0001"),
                lotSize: try Increment("1"))
        }
        let once = try Pipeline.run(configuration: recorded, custom: IdleStrategy.self) { _ in }
        let twice = try Pipeline.run(configuration: recorded, custom: IdleStrategy.self) { _ in }
        #expect(once.isLossless && twice.isLossless)
        #expect(once.stateHash == twice.stateHash && once.outputHash == twice.outputHash)
        #expect(once.bookCounters.updates > 1_000)

        let directory = NSTemporaryDirectory() + "peregrine-merged-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var merged = recorded
        merged.recordedSources = [
            RecordedSourceSpec(format: .bybitOrderBook, paths: [file], instrument: InstrumentID(1)),
            RecordedSourceSpec(format: .bybitOrderBook, paths: [file], instrument: InstrumentID(2)),
        ]
        merged.journalDirectory = directory
        let run = try Pipeline.run(configuration: merged, custom: IdleStrategy.self) { _ in }
        #expect(run.isLossless, "\(run.problems)")
        #expect(run.bookCounters.updates == 2 * once.bookCounters.updates)
        #expect(run.emitted == 2 * (once.emitted - 1) + 1)
        #expect(run.sourceDescription.contains("as instrument 1") && run.sourceDescription.contains("as instrument 2"))
        let configuration = try JournalReplay.configuration(for: directory, base: EngineConfiguration())
        var logic = try EngineLogic(configuration: configuration, custom: IdleStrategy.self)
        var outputs = HashingOutputs()
        let replayed = try JournalReplay.replay(directory: directory, into: &logic, outputs: &outputs, repair: false)
        #expect(replayed.stateHash == run.stateHash && replayed.outputHash == run.outputHash)
        #expect(replayed.replayed == run.emitted)
        // Each journaled change keeps its instrument and the exchange time of the message it
        // came from (the file's "ts", ms): the snapshot's first, the last delta's last.
        var stamps: [UInt32: [UInt64]] = [:]
        _ = try JournalReader.read(directory: directory) { _, event in
            if case .levelUpdate = event.payload {
                stamps[event.instrument.rawValue, default: []].append(event.exchangeTimestamp)
            }
            return true
        }
        #expect(stamps.keys.sorted() == [1, 2])
        for instrument: UInt32 in [1, 2] {
            let times = stamps[instrument] ?? []
            #expect(times.first == 1_733_011_200_691_000_000)
            #expect(times == times.sorted())
            #expect(times.count == once.bookCounters.updates)
        }
    }

    /// A recorded file is decoded once: the source sends its level updates and a clear-book
    /// event before each snapshot, and the engine's own book applies them. The second snapshot
    /// of this Tardis L2 file replaces the first (its bid at 98.5 and the ask at 101.0 a delta
    /// added are gone, its ask at 100.5 is resized), and the engine's book ends equal to
    /// `FeedReplay`'s, level for level. Rows sharing a local timestamp are one message.
    /// A recorded source stopped before the end of its files says what it left unread (the
    /// run is then not complete: exit 1, where a SIGTERM had ended a partial replay with 0);
    /// read to the end, or stopped by a failure, it says nothing of it.
    @Test func aRecordedSourceStoppedBeforeItsEndSaysSo() throws {
        struct TwoAtATime: EventWriter {
            var events: [Event] = []
            var claimed = 0
            mutating func claim(upTo count: Int) -> Int {
                claimed = Swift.min(count, 2)
                return claimed
            }
            mutating func claim(exactly count: Int) -> Bool {
                claimed = count
                return true
            }
            mutating func write(_ event: Event) { events.append(event) }
            mutating func publish() {}
        }
        let file = NSTemporaryDirectory() + "peregrine-unread-\(UUID().uuidString).csv"
        try """
        exchange,symbol,timestamp,local_timestamp,id,side,price,amount
        x,BTC,1000,1001,1,buy,100.0,5
        x,BTC,2000,2001,2,sell,100.5,2
        x,BTC,3000,3001,3,buy,101.0,4

        """.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        var source = try RecordedSource(
            spec: RecordedSourceSpec(format: .tardisTrades, paths: [file]),
            grid: (try Increment("0.5"), try Increment("1")), batchLimit: 64)
        var writer = TwoAtATime()
        #expect(source.step(now: 1, into: &writer) == 2)
        #expect(!source.isExhausted)
        #expect(
            source.unread?.hasPrefix("\(file) not read to the end (stopped after ") == true,
            "\(String(describing: source.unread))")
        var group = SourceGroup([source])
        #expect(group.unread == source.unread)
        while !group.isExhausted { _ = group.step(now: 2, into: &writer) }
        #expect(writer.events.count == 3)
        #expect(group.unread == nil)
    }

    @Test func aRecordedFileIsDecodedOnceAndTheBookAppliesItsSnapshots() throws {
        let directory = NSTemporaryDirectory() + "peregrine-decoded-once-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/book.csv"
        try """
        exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount
        x,BTC,1000,1001,true,bid,100.0,5
        x,BTC,1000,1001,true,bid,99.5,2
        x,BTC,1000,1001,true,bid,98.5,4
        x,BTC,1000,1001,true,ask,100.5,3
        x,BTC,2000,2001,false,bid,100.0,0
        x,BTC,2000,2001,false,ask,101.0,4
        x,BTC,3000,3001,true,bid,99.0,7
        x,BTC,3000,3001,true,ask,100.5,1
        x,BTC,4000,4001,false,bid,99.5,6

        """.write(toFile: file, atomically: true, encoding: .utf8)
        let tick = try Increment("0.5")
        let lot = try Increment("1")
        var recorded = configuration()
        recorded.instruments = 1
        recorded.orderFlowPercent = 0
        recorded.recordedSources = [RecordedSourceSpec(format: .tardisL2, paths: [file])]
        recorded.instrumentDefinitions = [
            InstrumentDefinition(id: InstrumentID(0), symbol: "BTC", venue: "x", tickSize: tick, lotSize: lot)
        ]
        recorded.journalDirectory = directory + "/journal"
        let run = try Pipeline.run(configuration: recorded, custom: IdleStrategy.self) { _ in }
        #expect(run.isLossless, "\(run.problems)")
        #expect(run.emitted == 9 + 2 + 1)  // the levels, a clear per snapshot, the session end
        #expect(run.recordedSummary == "read 9 rows (4 messages): gaps 0, out of order 0")

        var clears: [UInt64] = []
        _ = try JournalReader.read(directory: directory + "/journal") { _, event in
            if case .clearBook = event.payload { clears.append(event.exchangeTimestamp) }
            return true
        }
        #expect(clears == [1_000_000, 3_000_000])  // µs in the file, ns in the event

        let configuration = try JournalReplay.configuration(
            for: directory + "/journal", base: EngineConfiguration())
        var logic = try EngineLogic(configuration: configuration, custom: IdleStrategy.self)
        var outputs = HashingOutputs()
        let replayed = try JournalReplay.replay(
            directory: directory + "/journal", into: &logic, outputs: &outputs, repair: false)
        #expect(replayed.stateHash == run.stateHash && replayed.outputHash == run.outputHash)

        var mirror = try FeedReplay(format: .tardisL2, priceIncrement: tick, sizeIncrement: lot)
        try mirror.replay(path: file)
        let level = { (price: Int64, lots: Int64) in
            BookLevel(price: Price(ticks: price), quantity: Quantity(lots: lots))
        }
        for side in [Side.buy, .sell] {
            let engine = logic.withBooks { $0.depth(InstrumentID(0), side, levels: 10) }
            #expect(engine == mirror.depth(side, levels: 10))
            #expect(engine == (side == .buy ? [level(199, 6), level(198, 7)] : [level(201, 1)]))
        }
    }

    /// `FORMAT[@INSTRUMENT]:FILES` specs, several separated by ';' in the configuration.
    @Test func recordedSpecsNameTheirInstrument() throws {
        let spec = RecordedSourceSpec.parse("bybit-ob@7:a.jsonl,b.jsonl")
        #expect(spec?.instrument == InstrumentID(7) && spec?.paths == ["a.jsonl", "b.jsonl"])
        #expect(spec?.text == "bybit-ob@7:a.jsonl,b.jsonl")
        #expect(RecordedSourceSpec.parse("bybit-ob@x:a.jsonl") == nil)
        #expect(RecordedSourceSpec.parse("bybit-ob:a.jsonl")?.instrument == InstrumentID(0))
    }
}

/// `replay --print`'s venue order lines: each action shows the fields it carries (a replace or
/// cancel command holds a placeholder side, type and time in force, which must not be shown).
@Suite struct PrintedOrderTests {
    static func printed(_ command: OrderCommand, instruments: [InstrumentDefinition] = []) -> [String] {
        let lines = Mutex<[String]>([])
        var outputs = HashingOutputs()
        outputs.print(to: { line in lines.withLock { $0.append(line) } }, instruments: instruments)
        outputs.order(VenueOrder(command: command, instrument: InstrumentID(3), sequence: 42, decidedAt: 0))
        return lines.withLock { $0 }
    }

    @Test func eachActionShowsItsOwnFields() {
        let account = AccountID(1)
        #expect(
            Self.printed(
                .limit(OrderID(7), account: account, .sell, price: Price(ticks: 105), quantity: Quantity(lots: 4)))
                == ["order #3 new o7 sell 4l@105t limit GTC (event 42)"])
        #expect(
            Self.printed(.market(OrderID(8), account: account, .buy, quantity: Quantity(lots: 2)))
                == ["order #3 new o8 buy 2l market IOC (event 42)"])
        #expect(
            Self.printed(
                .stopLimit(
                    OrderID(9), account: account, .sell, stopPrice: Price(ticks: 90), price: Price(ticks: 89),
                    quantity: Quantity(lots: 1)))
                == ["order #3 new o9 sell 1l@89t stop-limit stop 90t GTC (event 42)"])
        #expect(
            Self.printed(.replace(OrderID(7), account: account, price: Price(ticks: 104), quantity: Quantity(lots: 3)))
                == ["order #3 replace o7 to 3l@104t (event 42)"])
        #expect(Self.printed(.cancel(OrderID(7), account: account)) == ["order #3 cancel o7 (event 42)"])
    }

    /// With the instrument's reference data: its symbol, prices at its tick and quantities at
    /// its lot, for orders and reports alike.
    @Test func anInstrumentWithReferenceDataIsShownInItsUnits() {
        var definition = InstrumentDefinition.synthetic(InstrumentID(3), hosted: false)  // tick 0.01, lot 0.001
        definition.symbol = "BTCUSDT"
        let account = AccountID(1)
        #expect(
            Self.printed(
                .limit(
                    OrderID(7), account: account, .sell, price: Price(ticks: 1_000_025), quantity: Quantity(lots: 4)),
                instruments: [definition]) == ["order BTCUSDT new o7 sell 0.004@10000.25 limit GTC (event 42)"])
        #expect(
            Self.printed(
                .replace(OrderID(7), account: account, price: Price(ticks: 999_900), quantity: Quantity(lots: 1_500)),
                instruments: [definition]) == ["order BTCUSDT replace o7 to 1.500@9999.00 (event 42)"])
        let lines = Mutex<[String]>([])
        var outputs = HashingOutputs()
        outputs.print(to: { line in lines.withLock { $0.append(line) } }, instruments: [definition])
        outputs.accept(
            ExecutionReport(
                kind: .partiallyFilled, instrument: InstrumentID(3), orderID: OrderID(7), account: account, side: .sell,
                price: Price(ticks: 1_000_025), quantity: Quantity(lots: 2), leavesQuantity: Quantity(lots: 2)))
        let line = lines.withLock { $0 }.first ?? ""
        #expect(
            line.hasPrefix("report BTCUSDT partially-filled o7 a1 sell 0.002@10000.25 leaves 0.002 trade "), "\(line)")
        #expect(outputs.fills == 1)
    }
}
