import Foundation
import PeregrineBook
import PeregrineCore
import PeregrineEngine
import PeregrineMempool
import PeregrineModel
import PeregrineStrategy
import Testing

/// A strategy that keeps a timer running every `period-us` of event time and records, in its
/// state, each firing: how many, a hash of (deadline, event time) pairs, and any that fired
/// before its deadline (never).
struct TimerStrategy: Strategy, Sendable {
    static let name = "timer"
    let period: UInt64
    var fired: Int64 = 0
    var early: Int64 = 0
    var trail: UInt64 = 0

    init(_ configuration: StrategyConfiguration) throws(StrategyConfigurationError) {
        period = UInt64(try configuration.parameters.integer("period-us", default: 1_000, in: 1...1_000_000)) * 1_000
    }

    mutating func onStart(_ context: inout StrategyContext) { _ = context.schedule(after: period, tag: 1) }

    mutating func onTimer(_ timer: TimerFired, _ context: inout StrategyContext) {
        fired += 1
        if context.time < timer.deadline { early += 1 }
        var hasher = StateHasher(resumingAt: trail)
        hasher.combine(timer.deadline)
        hasher.combine(context.time)
        trail = hasher.value
        _ = context.schedule(at: timer.deadline + period, tag: timer.tag)
    }

    mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try visitor.visit(&fired, "fired")
        try visitor.visit(&early, "early")
        try visitor.visit(&trail, "trail")
    }
}

@Suite("Strategies that trade")
struct TradingTests {
    static func order(
        _ id: UInt64, _ account: UInt32, _ side: Side, _ price: Int64, _ lots: Int64, _ time: UInt64,
        _ timeInForce: TimeInForce = .goodTillCancel
    ) -> Event {
        Event(
            timestamp: time, instrument: InstrumentID(1),
            payload: .order(
                .limit(
                    OrderID(id), account: AccountID(account), side, price: Price(ticks: price),
                    quantity: Quantity(lots: lots), timeInForce: timeInForce)))
    }

    /// A market maker on hosted instrument 1 (tick 0.01, lot 0.001, maker fee 0.0001) against a
    /// scripted order flow: every order, fill, position, fee and P&L figure is the one worked
    /// out by hand in the comments.
    @Test func aMarketMakerAgainstAScriptedFlowTradesExactly() throws {
        var configuration = EngineConfiguration()
        configuration.instruments = 1
        configuration.orderFlowPercent = 10  // the venue hosts instrument 1
        configuration.venueOrderCapacity = 64
        configuration.strategies = [StrategySpec(name: "market-maker")]  // half-spread 2, size 10, skew 1
        var logic = try EngineLogic(configuration: configuration, custom: IdleStrategy.self)
        var outputs = RecordingOutputs()
        let mm = StrategyID(1)
        func own(_ sequence: UInt64) -> OrderID { .strategyOrder(mm, sequence: sequence) }
        // A bid alone: no mid, no quotes.
        logic.handle(Self.order(1, 7, .buy, 1_000, 5, 1_000), sequence: 0, outputs: &outputs)
        #expect(logic.orders == 0)
        // An ask at 1,010: mid 1,005, quotes 1,003 / 1,007 for 10 lots, post-only.
        logic.handle(Self.order(2, 8, .sell, 1_010, 5, 2_000), sequence: 1, outputs: &outputs)
        #expect(logic.orders == 2)
        #expect(outputs.reports.suffix(2).map(\.orderID) == [own(1), own(2)])
        #expect(outputs.reports.suffix(2).map(\.kind) == [.accepted, .accepted])
        #expect(outputs.reports.suffix(2).map(\.price.ticks) == [1_003, 1_007])
        // A sell of 4 hits the best bid, the maker's: long 4 at 1,003. Its market (without its
        // own quotes) is still 1,000 / 1,010, so the quotes stay.
        logic.handle(Self.order(3, 8, .sell, 1_000, 4, 3_000, .immediateOrCancel), sequence: 2, outputs: &outputs)
        #expect(logic.orders == 2)
        #expect(
            outputs.reports.suffix(3).map(\.kind) == [.accepted, .filled, .partiallyFilled]
                && outputs.reports.last?.orderID == own(1) && outputs.reports.last?.price.ticks == 1_003)
        // A buy of 12 takes the maker's ask (10 at 1,007), then 2 of the flow's at 1,010: the
        // maker closes its 4 long (realising 4 × (1,007 − 1,003) = 16 ticks × lots) and is short
        // 6 at 1,007; it quotes a new ask at 1,007 (the flow's 1,010 is still its market).
        logic.handle(Self.order(4, 7, .buy, 1_010, 12, 4_000, .immediateOrCancel), sequence: 3, outputs: &outputs)
        #expect(logic.orders == 3)
        #expect(outputs.reports.last?.orderID == own(3) && outputs.reports.last?.kind == .accepted)
        #expect(outputs.reports.last?.price.ticks == 1_007 && outputs.reports.last?.quantity.lots == 10)
        logic.withTrading { trading in
            let position = trading.position(slot: 0, instrument: InstrumentID(1)) ?? Position()
            #expect(position.net == -6 && position.openCost == -6_042 && position.averageEntry == Price(ticks: 1_007))
            // Realised 16 ticks × lots = 16 × 10^8 money units.
            #expect(position.realised == Money(units: 1_600_000_000))
            // Maker fees: 1,003 × 4 and 1,007 × 10 ticks × lots at 0.0001 (10,000 per 10^8).
            #expect(position.fees == Money(units: (1_003 * 4 + 1_007 * 10) * 10_000))
            #expect(position.fills == 2 && position.volume == 14 && position.bought == 4 && position.sold == 10)
            #expect(trading.counters.fills == 2 && trading.counters.filled == 1)
            var open: [(UInt64, OrderState, Int64)] = []
            trading.forEachOpenOrder(slot: 0) { order in
                open.append((order.id.rawValue, order.state, order.leaves.lots))
                return true
            }
            #expect(open.map(\.0) == [own(1).rawValue, own(3).rawValue])
            #expect(open.map(\.1) == [.partiallyFilled, .accepted] && open.map(\.2) == [6, 10])
        }
        // The session ends: the maker's two open orders are cancelled.
        logic.handle(
            Event(
                timestamp: 5_000, instrument: InstrumentID(0),
                payload: .timer(TimerFire(timerID: TimerFire.sessionEnd, deadline: 5_000))), sequence: 4,
            outputs: &outputs)
        #expect(outputs.reports.suffix(2).map(\.kind) == [.cancelled, .cancelled])
        #expect(outputs.reports.suffix(2).map(\.orderID) == [own(1), own(3)])
        let snapshot = logic.tradingSnapshot(definitions: configuration.resolvedInstruments)
        #expect(snapshot.openOrders.isEmpty && snapshot.counters.cancelled == 2)
        let line = try #require(snapshot.lines.first)
        #expect(line.symbol == "HOST1" && line.net == "-0.006" && line.averageEntry == "10.07")
        // Marked to the flow's 1,000 / 1,010 book: mid 1,005; unrealised −6 × 1,005 + 6,042 = 12
        // ticks × lots. In USD (tick 0.01 × lot 0.001 = 10^-5): realised 0.00016, unrealised
        // 0.00012, fees 14,082 × 10^-9, net 0.00028 − 0.000014082.
        #expect(line.realised == "0.00016" && line.unrealised == "0.00012")
        #expect(line.fees == "0.000014082" && line.netPnL == "0.000265918")
        #expect(line.fills == 2 && line.volume == "0.014")
    }

    /// Timers fire inside the logic at the first event at or after their deadline (idle clock
    /// ticks included), so a run and the replay of its journal fire them at the same events.
    @Test func timersFireAtTheSameEventsInARunAndItsReplay() throws {
        // In the logic directly: a 1 ms timer from the first event at t = 0.
        var configuration = EngineConfiguration()
        configuration.instruments = 1
        configuration.strategies = [StrategySpec(name: "timer", instruments: [InstrumentID(0)])]
        var logic = try EngineLogic(configuration: configuration, custom: TimerStrategy.self)
        var outputs = HashingOutputs()
        for (sequence, time) in [0, 400_000, 999_999, 1_000_000, 2_500_000, 2_600_000, 3_000_000].enumerated() {
            logic.handle(
                Event(
                    timestamp: UInt64(time), instrument: InstrumentID(0),
                    payload: .timer(TimerFire(timerID: 0, deadline: 0))),
                sequence: Int64(sequence), outputs: &outputs)
        }
        // Deadlines 1, 2, 3 ms: fired at the events at 1 ms, 2.5 ms and 3 ms.
        #expect(logic.tradingCounters.timersFired == 3)
        #expect(logic.withTrading { $0.scheduledTimers } == 1)

        // Through the pipeline, paced (idle ticks every 50 µs move time on), journaled, replayed.
        let directory = NSTemporaryDirectory() + "peregrine-timers-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var paced = EngineConfiguration()
        paced.instruments = 2
        paced.orderFlowPercent = 20
        paced.rate = .perSecond(20_000)
        paced.maxEvents = 6_000
        paced.durationSeconds = 30
        paced.waitStrategy = .yield
        paced.journalDirectory = directory
        paced.strategies = [
            StrategySpec(name: "timer", instruments: [InstrumentID(0)], parameters: [("period-us", "250")]),
            StrategySpec(name: "market-maker"),
        ]
        let run = try Pipeline.run(configuration: paced, custom: TimerStrategy.self) { _ in }
        #expect(run.isLossless, "\(run.problems)")
        let fired = try #require(run.trading?.counters.timersFired)
        #expect(fired > 100)
        let logicConfiguration = try JournalReplay.configuration(for: directory, base: EngineConfiguration())
        let replayed = try JournalReplay.recover(
            directory: directory, configuration: logicConfiguration, custom: TimerStrategy.self, useSnapshot: false,
            repair: false)
        #expect(replayed.logic.tradingCounters.timersFired == fired)
        #expect(replayed.summary.stateHash == run.stateHash && replayed.summary.outputHash == run.outputHash)
    }

    /// A market maker and a timer strategy on order flow, with snapshots: rebuilding from a
    /// snapshot and the journal after it, at points in the middle of the run, gives the state
    /// and output hashes of a replay from the start (orders, positions and timers included);
    /// and the whole replay gives the run's.
    @Test func aRestartFromASnapshotMidRunEqualsAFullReplay() throws {
        let directory = NSTemporaryDirectory() + "peregrine-trading-snapshots-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = EngineConfiguration()
        configuration.instruments = 4
        configuration.orderFlowPercent = 30
        configuration.rate = .unlimited
        configuration.maxEvents = 80_000
        configuration.durationSeconds = 60
        configuration.waitStrategy = .yield
        configuration.journalDirectory = directory
        configuration.snapshotEveryEvents = 15_000
        configuration.strategies = [
            StrategySpec(name: "market-maker", parameters: [("size", "3"), ("max-position", "12")]),
            StrategySpec(name: "timer", instruments: [InstrumentID(4)], parameters: [("period-us", "1")]),
        ]
        let run = try Pipeline.run(configuration: configuration, custom: TimerStrategy.self) { _ in }
        // (At least the first periodic snapshot and the final one: a snapshot due while the one
        // before is still being written waits, so how many more depends on the disk.)
        #expect(run.isLossless && run.snapshotsWritten >= 2)
        let trading = try #require(run.trading)
        #expect(trading.counters.fills > 100 && trading.counters.timersFired > 100)
        let logicConfiguration = try JournalReplay.configuration(for: directory, base: EngineConfiguration())
        for through: Int64 in [20_000, 44_999, 61_234] {
            let fromSnapshot = try JournalReplay.recover(
                directory: directory, configuration: logicConfiguration, custom: TimerStrategy.self,
                useSnapshot: true, through: through, repair: false)
            let fromStart = try JournalReplay.recover(
                directory: directory, configuration: logicConfiguration, custom: TimerStrategy.self,
                useSnapshot: false, through: through, repair: false)
            #expect(fromSnapshot.summary.snapshot != nil && fromStart.summary.snapshot == nil)
            #expect(fromSnapshot.summary.replayed < fromStart.summary.replayed)
            #expect(fromSnapshot.summary.stateHash == fromStart.summary.stateHash)
            #expect(fromSnapshot.summary.outputHash == fromStart.summary.outputHash)
            #expect(fromSnapshot.logic.tradingCounters == fromStart.logic.tradingCounters)
        }
        let whole = try JournalReplay.recover(
            directory: directory, configuration: logicConfiguration, custom: TimerStrategy.self, useSnapshot: false,
            repair: false)
        #expect(whole.summary.stateHash == run.stateHash && whole.summary.outputHash == run.outputHash)
    }
}

extension TradingTests {
    /// `--fills-out`: the live run's sink writes every update of the strategies' orders; a
    /// replay of the journal writes the same file, byte for byte, in CSV and in JSON lines.
    @Test(arguments: ["csv", "jsonl"])
    func theOrdersAndFillsExportOfARunEqualsItsReplays(_ suffix: String) throws {
        let directory = NSTemporaryDirectory() + "peregrine-export-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = EngineConfiguration()
        configuration.instruments = 2
        configuration.orderFlowPercent = 30
        configuration.rate = .unlimited
        configuration.maxEvents = 30_000
        configuration.waitStrategy = .yield
        configuration.orderRingSize = 64
        configuration.journalDirectory = directory + "/journal"
        configuration.fillsOut = directory + "/live.\(suffix)"
        configuration.strategies = [StrategySpec(name: "market-maker", parameters: [("size", "2")])]
        let run = try Pipeline.run(configuration: configuration, custom: IdleStrategy.self) { _ in }
        #expect(run.isLossless, "\(run.problems)")
        let trading = try #require(run.trading)
        // Every update: each new order's answer (on the hosted venue every order is answered),
        // each fill, each replace and cancel.
        #expect(trading.counters.fills > 20 && trading.counters.submitted > 20)
        #expect(run.exportLines >= trading.counters.submitted + trading.counters.fills)
        let stored = try JournalReplay.configuration(for: directory + "/journal", base: EngineConfiguration())
        let writer = try OrderEventWriter(
            path: directory + "/replay.\(suffix)", definitions: stored.resolvedInstruments,
            strategies: Array(zip(stored.strategies.resolvedIDs, stored.strategies.map(\.name))))
        _ = try JournalReplay.recover(
            directory: directory + "/journal", configuration: stored, custom: IdleStrategy.self, useSnapshot: false,
            repair: false, orderEvents: writer)
        writer.flush()
        #expect(writer.lines == run.exportLines && writer.failure == nil)
        let live = try String(contentsOfFile: directory + "/live.\(suffix)", encoding: .utf8)
        let replayed = try String(contentsOfFile: directory + "/replay.\(suffix)", encoding: .utf8)
        #expect(live == replayed)
        let lines = live.split(separator: "\n")
        #expect(lines.count == run.exportLines + (suffix == "csv" ? 1 : 0))
        let fills = lines.filter { $0.contains(suffix == "csv" ? ",maker," : "\"liquidity\":\"maker\"") }
        #expect(!fills.isEmpty)
    }
}

/// Counts the mempool's opportunities it is told of, and sums their net profit.
struct OpportunityCounter: Strategy, Sendable {
    static let name = "opportunity-counter"
    var seen: Int64 = 0
    var profit: Int128 = 0
    init(_ configuration: StrategyConfiguration) {}
    mutating func onOpportunity(_ opportunity: MempoolOpportunity, _ context: inout StrategyContext) {
        seen += 1
        profit += opportunity.netProfit
    }
    mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try visitor.visit(&seen, "seen")
        try visitor.visit(&profit, "profit")
    }
}

extension TradingTests {
    /// A strategy in a mempool run hears of every back-run opportunity the analysis finds, with
    /// its profit, within the event that completed the victim's record.
    @Test func strategiesHearOfEveryMempoolOpportunity() throws {
        let flow = SyntheticSwapFlow(count: 300, tokenCount: 256, seed: 3, signed: true)
        var configuration = EngineConfiguration()
        configuration.instruments = 1
        var settings = MempoolSettings()
        settings.minimumProfitWei = 10_000_000_000_000_000
        settings.bloomCapacity = 300
        configuration.mempool = settings
        configuration.strategies = [StrategySpec(name: OpportunityCounter.name)]
        var logic = try EngineLogic(configuration: configuration, custom: OpportunityCounter.self)
        var outputs = HashingOutputs()
        var sequence: Int64 = 0
        func feed(_ event: Event) {
            logic.handle(event, sequence: sequence, outputs: &outputs)
            sequence += 1
        }
        for pool in flow.pools.pools {
            PoolRecord.encode(pool).withUnsafeBytes { forEachRecordEvent($0, type: .pool, timestamp: 1) { feed($0) } }
        }
        flow.arena.withUnsafeBytes { arena in
            for (index, transaction) in flow.transactions.enumerated() {
                PendingRecord.encode(transaction, arena: arena, signed: true).withUnsafeBytes {
                    forEachRecordEvent($0, type: .signedTransaction, timestamp: 10 + UInt64(index) * 1_000) { feed($0) }
                }
            }
        }
        let mempoolCounters = logic.mempoolCounters
        let counters = try #require(mempoolCounters)
        #expect(counters.opportunities > 10)
        // The strategy saw exactly what the analysis counted, and its state survives a snapshot.
        let strategies = logic.customStrategies
        let strategy = try #require(strategies.first)
        #expect(strategy.seen == Int64(counters.opportunities) && strategy.profit == Int128(counters.profitWei))
        var copy = try EngineLogic(configuration: configuration, custom: OpportunityCounter.self)
        var encoder = SnapshotEncoder()
        logic.encodeState(outputHash: 0, into: &encoder)
        var decoder = SnapshotDecoder(encoder.bytes)
        _ = try copy.restoreState(from: &decoder)
        let restored = copy.customStrategies
        #expect(copy.stateHash() == logic.stateHash() && restored.first?.seen == strategy.seen)
    }
}

extension TradingTests {
    /// A strategy that submits a post-only buy through the best ask and cancels it in the same
    /// callback: the venue rejects the new order (it would take), then the cancel (it holds no
    /// such order). The order ends rejected, not open, and the session end stops.
    struct SubmitAndCancel: Strategy, Sendable {
        static let name = "submit-and-cancel"
        var done = false
        init(_ configuration: StrategyConfiguration) {}
        mutating func onBook(_ instrument: InstrumentID, _ context: inout StrategyContext) {
            guard !done, let ask = context.bestBidOffer(instrument)?.ask else { return }
            done = true
            if let id = context.submitLimit(
                instrument, .buy, price: ask.price, quantity: Quantity(lots: 1), timeInForce: .postOnly)
            {
                context.cancel(id)
            }
        }
        mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
            try visitor.visit(&done, "done")
        }
    }

    @Test func aNewOrderRejectedWithItsCancelInFlightEndsRejected() throws {
        var configuration = EngineConfiguration()
        configuration.instruments = 1
        configuration.orderFlowPercent = 10
        configuration.venueOrderCapacity = 64
        configuration.strategies = [StrategySpec(name: SubmitAndCancel.name, instruments: [InstrumentID(1)])]
        var logic = try EngineLogic(configuration: configuration, custom: SubmitAndCancel.self)
        var outputs = RecordingOutputs()
        logic.handle(Self.order(1, 8, .sell, 1_010, 5, 1_000), sequence: 0, outputs: &outputs)
        let own = outputs.reports.filter { $0.orderID.isStrategyOrder }
        #expect(own.map(\.kind) == [.rejected, .rejected])
        #expect(own.map(\.reason) == [.postOnlyWouldTake, .unknownOrderID])
        #expect(logic.tradingCounters.rejected == 1 && logic.tradingCounters.unknownReports == 1)
        #expect(logic.withTrading { $0.openOrders } == 0)
        logic.handle(
            Event(
                timestamp: 2_000, instrument: InstrumentID(0),
                payload: .timer(TimerFire(timerID: TimerFire.sessionEnd, deadline: 2_000))), sequence: 1,
            outputs: &outputs)
        #expect(logic.processed == 2)
    }
}
