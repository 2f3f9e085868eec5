import Foundation
import PeregrineBacktest
import PeregrineCore
import PeregrineModel
import PeregrineStrategy
import Testing

/// A strategy from outside the package that trades from timers: each book change sets a timer
/// due at once (`after: 0`, at the event's time), which fires as the next event is handled,
/// before that event; the timer takes one lot at the touch (an IOC limit, sides alternating).
/// What it pays shows which book its timers saw.
struct TimerTaker: Strategy, Sendable {
    static let name = "timer-taker"
    static let marketData: MarketDataInterest = [.books]
    let instrument: InstrumentID
    var buy = true
    var timerSet = false

    init(_ configuration: StrategyConfiguration) throws(StrategyConfigurationError) {
        instrument = configuration.instruments.first ?? InstrumentID(0)
    }

    mutating func onBook(_ instrument: InstrumentID, _ context: inout StrategyContext) {
        guard !timerSet else { return }
        timerSet = context.schedule(after: 0) != nil
    }

    mutating func onTimer(_ timer: TimerFired, _ context: inout StrategyContext) {
        timerSet = false
        guard let price = context.marketTop(instrument, buy ? .sell : .buy) else { return }
        _ = context.submitLimit(
            instrument, buy ? .buy : .sell, price: price, quantity: Quantity(lots: 1), timeInForce: .immediateOrCancel)
        buy.toggle()
    }

    mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try visitor.visit(&buy, "buy")
        try visitor.visit(&timerSet, "timer set")
    }
}

/// Without feed latency the simulated venue and the strategies' logic share one book per
/// instrument (the venue applies each level update; the logic applies none). The results must be
/// those of two separate books, byte for byte, on L2 data with snapshots (clear-book events),
/// multi-row messages, a warm-up before `--from`, passive fills through the queue and aggressive
/// fills that walk the book.
@Suite struct SharedBooksTests {
    /// A Tardis incremental L2 file and a trades file (SplitMix64, seed 5): a mid that walks a
    /// tick at a time, updates on the first ten levels of each side (a tenth of them delete a
    /// level), a snapshot every 2,000 rows, rows sharing a receive time now and then, and trades
    /// at the touch. `moves`: the times (µs) of the messages that move the mid (they change
    /// both the best bid and the best ask).
    static func syntheticData(in directory: URL, rows: Int = 20_000) throws -> (
        l2: String, trades: String, moves: [Int]
    ) {
        var random = SplitMix64(seed: 5)
        func below(_ bound: UInt64) -> Int { Int(random.next() % bound) }
        var l2 = ["exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"]
        var trades = ["exchange,symbol,timestamp,local_timestamp,id,side,price,amount"]
        var mid = 100_000  // ticks of 0.1
        var time = 1_667_260_800_000_000  // µs
        var moves: [Int] = []
        func price(_ ticks: Int) -> String { "\(ticks / 10).\(ticks % 10)" }
        func amount() -> String { "\(1 + below(40)).\(below(1000))" }
        func snapshot() {
            for level in 1...20 {
                l2.append("test,SYN,\(time),\(time + 300),true,bid,\(price(mid - level)),\(amount())")
                l2.append("test,SYN,\(time),\(time + 300),true,ask,\(price(mid + level)),\(amount())")
            }
        }
        snapshot()
        for row in 0..<rows {
            // Most rows are a message of their own; one in eight shares the previous time.
            if below(8) != 0 { time += 1 + below(2_000) }
            if row % 2_000 == 1_999 {
                snapshot()
                continue
            }
            let kind = below(20)
            if kind < 2 {
                // A move gets a time of its own: its two rows are one message.
                time += 1
                moves.append(time)
            }
            switch kind {
            case 0:
                // The mid moves up: the best ask goes, a new best bid appears.
                l2.append("test,SYN,\(time),\(time + 300),false,ask,\(price(mid + 1)),0")
                mid += 1
                l2.append("test,SYN,\(time),\(time + 300),false,bid,\(price(mid - 1)),\(amount())")
            case 1:
                l2.append("test,SYN,\(time),\(time + 300),false,bid,\(price(mid - 1)),0")
                mid -= 1
                l2.append("test,SYN,\(time),\(time + 300),false,ask,\(price(mid + 1)),\(amount())")
            default:
                let bid = below(2) == 0
                let ticks = bid ? mid - 1 - below(10) : mid + 1 + below(10)
                let size = below(10) == 0 ? "0" : amount()
                l2.append("test,SYN,\(time),\(time + 300),false,\(bid ? "bid" : "ask"),\(price(ticks)),\(size)")
            }
            if below(25) == 0 {
                let buy = below(2) == 0
                trades.append(
                    "test,SYN,\(time),\(time + 300),\(row),\(buy ? "buy" : "sell"),"
                        + "\(price(buy ? mid + 1 : mid - 1)),\(1 + below(5)).\(below(1000))")
            }
        }
        let l2Path = directory.appendingPathComponent("l2.csv").path
        let tradesPath = directory.appendingPathComponent("trades.csv").path
        try (l2.joined(separator: "\n") + "\n").write(toFile: l2Path, atomically: true, encoding: .utf8)
        try (trades.joined(separator: "\n") + "\n").write(toFile: tradesPath, atomically: true, encoding: .utf8)
        return (l2Path, tradesPath, moves)
    }

    /// A market maker at the touch and a golden cross that takes, on the synthetic data.
    static func run(
        _ data: (l2: String, trades: String, moves: [Int]), directory: URL, name: String, share: Bool,
        from: UInt64? = nil
    ) throws -> (json: String, report: [String: Any], fills: String, equity: String) {
        var settings = BacktestSettings()
        settings.data = [try DataSpec("tardis-l2:" + data.l2), try DataSpec("tardis-trades@SYN:" + data.trades)]
        settings.strategies = [
            StrategySpec(
                name: "market-maker", parameters: [("half-spread", "0"), ("size", "10"), ("max-position", "200")]),
            StrategySpec(
                name: "golden-cross", parameters: [("fast", "5"), ("slow", "40"), ("quantity", "60")]),
        ]
        settings.takerFeeBasisPoints = "2.5"
        settings.from = from
        settings.shareBooks = share
        let fills = directory.appendingPathComponent("\(name)-fills.csv").path
        let equity = directory.appendingPathComponent("\(name)-equity.csv").path
        let result = try Backtest.run(
            try BacktestPlan(settings), outputs: BacktestOutputFiles(fillsCSV: fills, equityCSV: equity))
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.json.utf8)) as? [String: Any])
        return (
            BacktestRunTests.withoutTiming(result.json), report, try String(contentsOfFile: fills, encoding: .utf8),
            try String(contentsOfFile: equity, encoding: .utf8)
        )
    }

    @Test func sharedBooksGiveTheResultsOfSeparateOnes() throws {
        let directory = try BacktestRunTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = try Self.syntheticData(in: directory)
        // The whole file; then from a third of the way in (the first third only builds the
        // books) at a message that moves the mid: the strategies start on that event, and
        // their start must see the books without it (as with books of their own), though the
        // venue has applied the message's first row and applies its last before the logic.
        let third = try #require(data.moves.first { $0 >= 1_667_260_800_000_000 + 6_000_000 })
        for from in [nil, UInt64(third) * 1_000] as [UInt64?] {
            let shared = try Self.run(data, directory: directory, name: "shared", share: true, from: from)
            let separate = try Self.run(data, directory: directory, name: "separate", share: false, from: from)
            #expect(shared.json == separate.json)
            #expect(shared.fills == separate.fills)
            #expect(shared.equity == separate.equity)
            // The comparison means something: orders rested and filled passively, took liquidity
            // by walking the book, and (from the window) the books warmed up.
            let json = shared.report
            #expect((json["fills_passive"] as? Int ?? 0) > 50)
            #expect((json["fills_aggressive"] as? Int ?? 0) > 5)
            #expect(((json["warm_up_events"] as? Int ?? 0) > 1_000) == (from != nil))
        }
    }

    /// A strategy from outside the package (a plan and a run for its type) whose timers fire
    /// before each event: the same results with shared books as with books of their own.
    @Test func timersBeforeAnEventSeeTheBooksWithoutIt() throws {
        let directory = try BacktestRunTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = try Self.syntheticData(in: directory, rows: 4_000)
        var results: [String] = []
        for share in [true, false] {
            var settings = BacktestSettings()
            settings.data = [try DataSpec("tardis-l2:" + data.l2), try DataSpec("tardis-trades@SYN:" + data.trades)]
            // With the market maker's resting orders, the venue's reports of an event (fills)
            // and the timers' orders before it are queued in the same step.
            settings.strategies = [
                StrategySpec(name: "timer-taker", parameters: []),
                StrategySpec(
                    name: "market-maker", parameters: [("half-spread", "0"), ("size", "10"), ("max-position", "200")]),
            ]
            settings.shareBooks = share
            let fills = directory.appendingPathComponent("timer-\(share)-fills.csv").path
            let result = try Backtest.run(
                try BacktestPlan(settings, custom: TimerTaker.self), custom: TimerTaker.self,
                outputs: BacktestOutputFiles(fillsCSV: fills))
            // Both traded (the comparison means something): the timers' IOCs and the maker's
            // passive fills.
            #expect(result.trades > 1_000)
            #expect(result.venue.passiveFills > 20)
            results.append(
                BacktestRunTests.withoutTiming(result.json) + (try String(contentsOfFile: fills, encoding: .utf8)))
        }
        #expect(results[0] == results[1])
    }
}
