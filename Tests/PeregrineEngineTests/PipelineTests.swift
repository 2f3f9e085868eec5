import Foundation
import PeregrineBench
import PeregrineBook
import PeregrineCore
import PeregrineEngine
import PeregrineJournal
import PeregrineModel
import PeregrineStrategy
import PeregrineTestSupport
import Testing

@Suite("Pipeline", .serialized)
struct PipelineTests {
    static let follower = [StrategySpec(name: "large-trade-follower")]

    func configuration(events: Int, topology: Topology = .shared, wait: WaitStrategyKind = .yield)
        -> EngineConfiguration
    {
        var configuration = EngineConfiguration()
        configuration.strategies = Self.follower
        configuration.rate = .unlimited
        configuration.maxEvents = events
        configuration.durationSeconds = 60
        configuration.topology = topology
        configuration.waitStrategy = wait
        configuration.inboundRingSize = 1_024
        configuration.outboundRingSize = 1_024
        configuration.orderRingSize = 64
        configuration.statusIntervalSeconds = 0.2
        return configuration
    }

    @Test func everyAcceptedEventLeavesExactlyOnce() throws {
        let report = try Pipeline.run(configuration: configuration(events: 300_000), custom: IdleStrategy.self) { _ in }
        // 300,000 market events and the session-end marker.
        #expect(report.emitted == 300_001 && report.ticks == 0)
        #expect(report.journaled == 300_001 && report.processed == 300_001 && report.outcomesAtSink == 300_001)
        #expect(report.lastSequence == 300_000)
        #expect(report.dropped == 0)
        // The follower's orders are for market-data instruments (no venue is hosted): every one
        // goes out, and reaches the sink.
        #expect(report.orders > 0 && report.refusedOrders == 0)
        #expect(report.venueOrders == report.orders && report.venueOrdersAtSink == report.orders)
        #expect(report.endToEnd.count == 300_001)
        #expect(report.isLossless)
        // Without a journal the stage before the logic only sequences: the report says so.
        #expect(report.formatted.contains("events            in 300,001 · sequenced 300,001 · processed 300,001"))
        #expect(report.formatted.contains("latency sequencer ") && !report.formatted.contains("journaled"))
    }

    /// A run and the replay of its journal give the same state and output hashes, in both
    /// topologies; another seed gives other hashes.
    @Test(arguments: [Topology.shared, .dedicated])
    func aRunAndTheReplayOfItsJournalAgree(_ topology: Topology) throws {
        let directory = NSTemporaryDirectory() + "peregrine-pipeline-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var journaled = configuration(events: 100_000, topology: topology, wait: topology == .shared ? .yield : .park)
        journaled.journalDirectory = directory
        journaled.orderFlowPercent = 20
        let run = try Pipeline.run(configuration: journaled, custom: IdleStrategy.self) { _ in }
        #expect(run.isLossless && run.journal.durableSequence == 100_001)
        #expect(run.formatted.contains("events            in 100,001 · journaled 100,001 · processed 100,001"))
        #expect(run.formatted.contains("latency journal   "))
        let replayed = try replay(directory)
        #expect(replayed.replayed == 100_001)
        #expect(replayed.stateHash == run.stateHash)
        #expect(replayed.outputHash == run.outputHash)
        #expect(replayed.reports == run.reportsEmitted && replayed.orders == run.venueOrders)

        var otherSeed = configuration(events: 100_000)
        otherSeed.seed = 43
        otherSeed.orderFlowPercent = 20
        let different = try Pipeline.run(configuration: otherSeed, custom: IdleStrategy.self) { _ in }
        #expect(different.outputHash != run.outputHash && different.stateHash != run.stateHash)
    }

    /// Rebuilding from a snapshot and replaying the tail gives the same state and output hashes
    /// as replaying the whole journal, at several points between snapshots.
    @Test func snapshotPlusTailEqualsAFullReplay() throws {
        let directory = NSTemporaryDirectory() + "peregrine-snapshots-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var journaled = configuration(events: 120_000)
        journaled.journalDirectory = directory
        journaled.orderFlowPercent = 30
        journaled.snapshotEveryEvents = 25_000
        let run = try Pipeline.run(configuration: journaled, custom: IdleStrategy.self) { _ in }
        // The first periodic snapshot (at 25,000) and the final one are always written; the
        // ones between depend on how long each write takes (a due snapshot waits for the one in
        // flight), so their number is not pinned.
        #expect(run.isLossless && run.snapshotsWritten >= 2)
        let logicConfiguration = try JournalReplay.configuration(for: directory, base: EngineConfiguration())
        for through: Int64 in [30_000, 74_999, 100_123, 120_000] {
            let fromSnapshot = try JournalReplay.recover(
                directory: directory, configuration: logicConfiguration, custom: IdleStrategy.self, useSnapshot: true,
                through: through, repair: false)
            let fromStart = try JournalReplay.recover(
                directory: directory, configuration: logicConfiguration, custom: IdleStrategy.self, useSnapshot: false,
                through: through, repair: false)
            #expect(fromSnapshot.summary.snapshot != nil && fromStart.summary.snapshot == nil)
            #expect(fromSnapshot.summary.replayed < fromStart.summary.replayed)
            #expect(fromSnapshot.logic.lastSequence == through && fromStart.logic.lastSequence == through)
            #expect(fromSnapshot.summary.stateHash == fromStart.summary.stateHash)
            #expect(fromSnapshot.summary.outputHash == fromStart.summary.outputHash)
        }
        let whole = try replay(directory)
        #expect(whole.stateHash == run.stateHash && whole.outputHash == run.outputHash)
    }

    /// Recorded Bybit book messages drive the pipeline: every level change reaches the L2
    /// book, and the journal replays to the same hashes.
    @Test func aRecordedFileDrivesThePipeline() throws {
        let file = Fixtures.path("bybit_XRPUSDT_orderbook500_2024-12-01.jsonl")
        var pairs = 0
        var snapshots = 0
        for line in try String(contentsOfFile: file, encoding: .utf8).split(whereSeparator: \.isNewline) {
            let message = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let data = message["data"] as! [String: Any]
            pairs += (data["b"] as! [[String]]).count + (data["a"] as! [[String]]).count
            if message["type"] as? String == "snapshot" { snapshots += 1 }
        }
        let directory = NSTemporaryDirectory() + "peregrine-recorded-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var recorded = configuration(events: 1)
        recorded.maxEvents = nil
        recorded.recordedSources = [RecordedSourceSpec(format: .bybitOrderBook, paths: [file])]
        recorded.journalDirectory = directory
        // On the default grid (tick 0.01) its prices (1.9531) would be misread: refused.
        #expect(throws: EngineError.self) { try recorded.validate() }
        do { try recorded.validate() } catch {
            #expect(
                "\(error)".contains(
                    "\(file):1: price '1.9531' is finer than the instrument's tick 0.01: instrument 0 (SYN0) has tick "
                        + "0.01 and lot 0.001; give its grid as recorded with an [[instrument]] table in --config "
                        + "(id = 0, symbol, venue = the exchange's name, tick_size, lot_size)"), "\(error)")
        }
        // Named as another format: refused at its first line, without the grid's advice.
        var misnamed = recorded
        misnamed.recordedSources = [RecordedSourceSpec(format: .tardisQuotes, paths: [file])]
        let refusal = #expect(throws: EngineError.self) { try misnamed.validate() }
        let said = refusal.map { "\($0)" } ?? ""
        #expect(said.contains("\(file):1: not a tardis-quotes file: expected the header"), "\(said)")
        #expect(!said.contains("give its grid"), "\(said)")
        recorded.instrumentDefinitions = [
            InstrumentDefinition(
                id: InstrumentID(0), symbol: "XRPUSDT", venue: "bybit", tickSize: try Increment("0.0001"),
                lotSize: try Increment("1"))
        ]
        try recorded.validate()
        let run = try Pipeline.run(configuration: recorded, custom: IdleStrategy.self) { _ in }
        // Read on the instrument's grid: the first bid level, 1.9531 × 6203, is 19531 ticks × 6203 lots.
        var first: LevelUpdate?
        _ = try JournalReader.read(directory: directory) { _, event in
            if first == nil, case .levelUpdate(let update) = event.payload { first = update }
            return true
        }
        #expect(first == LevelUpdate(side: .buy, price: Price(ticks: 19_531), quantity: Quantity(lots: 6_203)))
        #expect(run.isLossless)
        // A book level refused at the ceiling would make the run incomplete (exit 1).
        var refused = run
        refused.bookCounters.refusedAtCeiling = 3
        #expect(!refused.isLossless && refused.problems.last?.hasPrefix("3 new book level(s) refused") == true)
        #expect(snapshots == 1)
        // Every level change, a clear-book event before the snapshot, and the session end.
        #expect(run.emitted == pairs + snapshots + 1)
        #expect(run.bookCounters.updates == pairs)
        #expect(run.recordedSummary?.hasPrefix("read 50 rows (50 messages): gaps 0") == true)
        #expect(run.stopReason == "source finished (end of the files)")
        let replayed = try replay(directory)
        #expect(replayed.stateHash == run.stateHash && replayed.outputHash == run.outputHash)
    }

    func replay(_ directory: String) throws -> ReplaySummary {
        let configuration = try JournalReplay.configuration(for: directory, base: EngineConfiguration())
        var logic = try EngineLogic(configuration: configuration, custom: IdleStrategy.self)
        var outputs = HashingOutputs()
        return try JournalReplay.replay(directory: directory, into: &logic, outputs: &outputs, repair: false)
    }

    @Test func pacedSourceHoldsItsRateAndPrintsStatusLines() throws {
        var paced = configuration(events: 20_000)
        paced.rate = .perSecond(50_000)
        paced.maxEvents = nil
        paced.durationSeconds = 1.0
        var lines: [String] = []
        let report = try Pipeline.run(configuration: paced, custom: IdleStrategy.self) { lines.append($0) }
        // Poisson arrivals at 50k/s for 1 s (a 5-sigma band is about ±1%). The run stops by the
        // wall clock, so a stall of the source near the end leaves its backlog unsent: the lower
        // bound allows a stall of half a second on a loaded machine (a source paced at half the
        // rate or less still fails); never more than the rate's 10% over.
        let marketEvents = report.emitted - report.ticks - 1
        #expect(marketEvents > 25_000 && marketEvents < 55_000, "\(marketEvents) events")
        #expect(report.isLossless && report.dropped == 0)
        #expect(lines.count >= 3)
        #expect(lines.first?.contains("ev/s") == true && lines.first?.contains("e2e") == true)
        #expect(report.stopReason == "duration")
        #expect(report.formatted.contains("lossless          yes"))
    }

    @Test func dropPolicyCountsWhatItDrops() throws {
        var flood = configuration(events: 200_000)
        flood.fullRingPolicy = .drop
        flood.inboundRingSize = 64
        flood.rate = .perSecond(5_000_000)
        flood.burstSize = 64
        let report = try Pipeline.run(configuration: flood, custom: IdleStrategy.self) { _ in }
        #expect(report.emitted - report.ticks - 1 + report.dropped == 200_000)
        #expect(report.outcomesAtSink == report.emitted)
        #expect(report.journaled == report.emitted)
        // What was dropped was lost: the run is not lossless, and says why.
        #expect(report.isLossless == (report.dropped == 0))
        #expect(
            report.problems.contains { $0.hasSuffix("events dropped at the source on a full ring (--on-full drop)") }
                == (report.dropped > 0), "\(report.problems)")
    }

    @Test func invalidSettingsAreRefusedWithTheirName() {
        var bad = EngineConfiguration()
        // A recorded file for an instrument the run has no book of would be dropped whole.
        bad.recordedSources = [RecordedSourceSpec(format: .tardisL2, paths: ["l2.csv"], instrument: InstrumentID(9))]
        #expect(
            throws: EngineError.invalidSetting(
                name: "source", value: "tardis-l2@9",
                allowed:
                    "instrument 9 has no book in this run: its market-data instruments are 0 to 3 (--instruments 4)")
        ) {
            try bad.validate()
        }
        bad = EngineConfiguration()
        // --max never drops (it waits for the ring), so --on-full drop with it is refused.
        bad.rate = .unlimited
        bad.fullRingPolicy = .drop
        #expect(
            throws: EngineError.invalidSetting(
                name: "on-full", value: "drop",
                allowed: "with --max (source.max) the source sends only as fast as the ring takes events and never "
                    + "drops: use block, or give a --rate")
        ) {
            try bad.validate()
        }
        bad = EngineConfiguration()
        bad.inboundRingSize = 1_000
        #expect(
            throws: EngineError.invalidSetting(
                name: "ring-size", value: "1000", allowed: "use a power of two from 64 to 67108864")
        ) {
            try bad.validate()
        }
        bad = EngineConfiguration()
        bad.orderRingSize = 100
        #expect(
            throws: EngineError.invalidSetting(
                name: "order-ring-size", value: "100", allowed: "use a power of two from 64 to 67108864")
        ) {
            try bad.validate()
        }
        bad = EngineConfiguration()
        bad.rate = .perSecond(0)
        #expect(
            throws: EngineError.invalidSetting(
                name: "rate", value: "0", allowed: "use 1 to 1000000000 events/s, or --max")
        ) {
            try bad.validate()
        }
    }
}

@Suite("peregrine CLI")
struct CommandLineTests {
    /// The `peregrine` binary built next to this test bundle.
    static var binary: URL { PeregrineCLI.binary }

    func run(_ arguments: [String]) throws -> PeregrineCLI.Result {
        try PeregrineCLI.run(arguments)
    }

    @Test func invalidValuesExitWithCode2AndSayWhy() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            Issue.record("peregrine binary not found at \(Self.binary.path); build it before the tests")
            return
        }
        let ringSize = try run(["run", "--ring-size", "1000"])
        #expect(ringSize.status == 2)
        #expect(ringSize.error.contains("invalid --ring-size '1000': use a power of two"))
        let wait = try run(["run", "--wait", "nap"])
        #expect(wait.status == 2 && wait.error.contains("invalid --wait 'nap': use spin, yield, park"))
        let both = try run(["run", "--rate", "5", "--max"])
        #expect(both.status == 2 && both.error.contains("give either --rate or --max"))
        let notANumber = try run(["run", "--rate", "fast"])
        #expect(notANumber.status == 2)
        let orderFlow = try run(["run", "--order-flow", "150"])
        #expect(orderFlow.status == 2 && orderFlow.error.contains("invalid --order-flow '150': use 0 to 100"))
        let benchOrders = try run(["bench", "matching", "--orders", "0"])
        #expect(benchOrders.status == 2)
        #expect(benchOrders.error.contains("--orders must be 1 to 4000000"))
    }

    @Test func matchReportsMalformedLinesAndStrictStopsAtTheFirst() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            Issue.record("peregrine binary not found at \(Self.binary.path)")
            return
        }
        let path = NSTemporaryDirectory() + "peregrine-match-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let lines = [
            "{\"op\":\"new\",\"id\":1,\"side\":\"sell\",\"price\":100,\"qty\":5}",
            "{\"op\":\"new\",\"id\":2,\"side\":\"buy\",\"price\":100,",
            "{\"op\":\"new\",\"id\":3,\"side\":\"buy\",\"price\":100,\"qty\":2,\"account\":7}",
        ]
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let lenient = try run(["match", "--commands", path])
        #expect(lenient.status == 1)
        #expect(lenient.error.contains("\(path):2: "))
        #expect(lenient.output.contains("{\"type\":\"fill\",\"taker\":3,\"maker\":1,\"price\":100,\"qty\":2"))
        #expect(
            lenient.output.hasSuffix("{\"type\":\"book\",\"bids\":[],\"asks\":[[100,3,1]],\"resting\":{\"1\":3}}\n"))
        let strict = try run(["match", "--commands", path, "--strict"])
        #expect(strict.status == 1)
        #expect(strict.error.contains("\(path):2: "))
        #expect(!strict.output.contains("fill"))
    }

    @Test func theMatchingBenchmarkPrintsItsFigures() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            Issue.record("peregrine binary not found at \(Self.binary.path)")
            return
        }
        let result = try run([
            "bench", "matching", "--orders", "2000", "--levels", "100", "--commands", "20000", "--rounds", "1",
        ])
        #expect(result.status == 0)
        #expect(result.output.contains("book at start: 2000 resting orders"))
        #expect(result.output.contains("stream: 49.4% add, 35.3% cancel, 10.3% aggressive, 5.1% replace"))
        #expect(
            result.output.contains("4950 trades, 29993 reports")
                && result.output.contains("book at end: 1787 resting orders"))
        #expect(result.output.contains("throughput (median of 1): "))
        #expect(result.output.contains("latency per command: p50 "))
        #expect(result.output.contains("passive order: add median "))
        // As JSON: the same stream and book, as numbers.
        let json = try run([
            "bench", "matching", "--orders", "2000", "--levels", "100", "--commands", "20000", "--rounds", "1",
            "--json",
        ])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        #expect(object["commands"] as? Int == 20_000 && object["trades"] as? Int == 4_950)
        #expect(object["reports"] as? Int == 29_993)
        #expect((object["book_at_start"] as? [String: Int])?["resting_orders"] == 2_000)
        #expect((object["book_at_end"] as? [String: Int])?["resting_orders"] == 1_787)
        #expect((object["latency_ns"] as? [String: Int])?.keys.sorted() == ["max", "p50", "p99", "p99.9", "p99.99"])
        #expect((object["latency_ns_by_kind"] as? [String: Any])?.count == 4)
        #expect((object["commands_per_second"] as? Double ?? 0) > 0)
        #expect((object["state_hash"] as? String)?.count == 16)
        // The journal benchmark's.
        let directory = NSTemporaryDirectory() + "peregrine-bench-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let journal = try run(["bench", "journal", "--events", "20000", "--directory", directory, "--json"])
        #expect(journal.status == 0, "\(journal.error)")
        let figures = try #require(try JSONSerialization.jsonObject(with: Data(journal.output.utf8)) as? [String: Any])
        #expect(figures["events"] as? Int == 20_000 && figures["batch"] as? Int == 256)
        #expect((figures["replay_events_per_second"] as? Double ?? 0) > 0)
        #expect(figures.keys.count == 11)
    }

    /// `bench sigverify`, `bench mempool` and `bench metrics` print one JSON object with
    /// `--json`: the same (seeded) work as their lines, as numbers.
    @Test func theOtherBenchmarksPrintJSON() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            Issue.record("peregrine binary not found at \(Self.binary.path)")
            return
        }
        func object(_ result: PeregrineCLI.Result) throws -> [String: Any] {
            #expect(result.status == 0, "\(result.error)")
            return try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        }
        // Signatures: every one valid, on one thread and on two.
        let signatures = try object(
            try run(["bench", "sigverify", "--count", "300", "--message-bytes", "64", "--json"]))
        #expect(signatures["signatures"] as? Int == 300 && signatures["message_bytes"] as? Int == 64)
        let runs = try #require(signatures["runs"] as? [[String: Any]])
        #expect(runs.map { $0["threads"] as? Int } == [1, 2])
        #expect(runs.map { $0["valid"] as? Int } == [300, 300])
        #expect(runs.allSatisfy { ($0["verifications_per_second"] as? Double ?? 0) > 0 })
        let signatureLines = try run(["bench", "sigverify", "--count", "300", "--message-bytes", "64"])
        #expect(signatureLines.status == 0)
        #expect(signatureLines.output.contains("1 thread(s): ") && signatureLines.output.contains("; 300 valid"))
        // The mempool analysis: the outcomes of the seeded stream, as the lines count them.
        let arguments = ["bench", "mempool", "--transactions", "500", "--tokens", "16", "--count", "3000"]
        let mempool = try object(try run(arguments + ["--json"]))
        #expect(mempool["transactions_analysed"] as? Int == 3_000 && mempool["stream_transactions"] as? Int == 500)
        #expect(mempool["tokens"] as? Int == 16)
        let outcomes = try #require(mempool["outcomes"] as? [String: Int])
        #expect(outcomes.values.reduce(0, +) == 3_000)
        let lines = try run(arguments)
        #expect(lines.status == 0)
        let outcomeLine = try #require(lines.line(startingWith: "outcomes: "))
        let counted = outcomeLine.components(separatedBy: " · ").map { entry -> (String, Int) in
            let words = entry.split(separator: " ")
            return (words.dropLast().joined(separator: "_"), Int(words.last ?? "") ?? -1)
        }
        #expect(Dictionary(uniqueKeysWithValues: counted) == outcomes)
        #expect((mempool["latency_ns"] as? [String: Int])?.keys.sorted() == ["max", "p50", "p99", "p99.9"])
        #expect(lines.output.contains("latency per transaction: p50 ") && lines.output.contains(" p99.9 "))
        let intake = try #require(mempool["signed_intake"] as? [String: Any])
        #expect((intake["bytes"] as? Int ?? 0) > 0 && (intake["decode_ns"] as? Double ?? 0) > 0)
        let sink = try #require(mempool["bundle_sink"] as? [String: Any])
        #expect((sink["backruns"] as? Int ?? 0) > 0 && (sink["request_bytes"] as? Int ?? 0) > 0)
        #expect((mempool["transactions_per_second"] as? Double ?? 0) > 0)
        // The metrics server on and off: one round of each.
        let metrics = try object(
            try run(["bench", "metrics", "--rounds", "1", "--duration", "0.3", "--scrape-interval", "0.1", "--json"]))
        let rounds = try #require(metrics["rounds"] as? [[String: Double]])
        #expect(rounds.count == 1)
        #expect(rounds.allSatisfy { ($0["off_events_per_second"] ?? 0) > 0 && ($0["on_events_per_second"] ?? 0) > 0 })
        #expect(metrics["median_off_events_per_second"] as? Double == rounds.first?["off_events_per_second"])
        #expect(metrics["topology"] as? String == "shared" && metrics["duration_seconds"] as? Double == 0.3)
    }

    @Test func shortRunPrintsStatusAndFinalReport() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            Issue.record("peregrine binary not found at \(Self.binary.path)")
            return
        }
        let journal = NSTemporaryDirectory() + "peregrine-cli-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: journal) }
        let result = try run(["run", "--rate", "20000", "--duration", "2.2", "--wait", "yield", "--journal", journal])
        #expect(result.status == 0)
        // A status line a second in (printed at the time the monitor woke: 1.0s, or later on a
        // loaded machine).
        #expect(result.output.range(of: #"\[ +1\.\ds\] in "#, options: .regularExpression) != nil)
        #expect(result.output.contains("=== peregrine run: final report ==="))
        #expect(result.output.contains("drops             0"))
        #expect(result.output.contains("lossless          yes"))
    }
}

@Suite("Pipeline hosting the matching engine", .serialized)
struct VenuePipelineTests {
    /// The same events through a matching engine offline: what the pipeline must match.
    func offline(events: Int, configuration: EngineConfiguration) throws -> (MatchingCounters, Int, Int) {
        var market = SyntheticMarket(
            instruments: configuration.instruments, seed: configuration.seed,
            orderFlowPercent: configuration.orderFlowPercent)
        var engine = try MatchingEngine(
            specs: configuration.hostedInstruments.map {
                InstrumentSpec(instrument: InstrumentID(UInt32($0)), orderCapacity: configuration.venueOrderCapacity)
            })
        var counter = ReportCounter()
        for _ in 0..<events {
            let event = market.next(timestamp: 0)
            if case .order(let command) = event.payload {
                engine.process(command, instrument: event.instrument, sink: &counter)
            }
        }
        return (engine.counters, counter.reports, counter.fills)
    }

    @Test(arguments: [Topology.shared, .dedicated])
    func ordersAreMatchedAndEveryReportReachesTheSink(_ topology: Topology) throws {
        var configuration = PipelineTests().configuration(events: 200_000, topology: topology)
        configuration.orderFlowPercent = 40
        configuration.venueOrderCapacity = 4_096
        // A tiny report ring: the logic stage must wait for the sink, never drop.
        configuration.reportRingSize = 64
        let report = try Pipeline.run(configuration: configuration, custom: IdleStrategy.self) { _ in }
        let (counters, reports, fills) = try offline(events: 200_000, configuration: configuration)
        #expect(report.isLossless)
        #expect(counters.commands > 70_000)
        #expect(counters.trades > 1_000)
        #expect(report.venueCounters == counters)
        #expect(report.reportsEmitted == reports)
        #expect(report.reportsAtSink == reports)
        #expect(report.fillsAtSink == fills)
        #expect(report.fillsAtSink == 2 * counters.trades)
    }

    @Test func invalidVenueSettingsAreRefused() {
        var configuration = EngineConfiguration()
        configuration.orderFlowPercent = 101
        #expect(throws: EngineError.self) { try configuration.validate() }
        configuration.orderFlowPercent = 10
        configuration.instruments = 65
        #expect(throws: EngineError.self) { try configuration.validate() }
        configuration.instruments = 4
        configuration.venueOrderCapacity = 0
        #expect(throws: EngineError.self) { try configuration.validate() }
    }
}
