import Foundation
import PeregrineCore
import PeregrineModel
import PeregrineStrategy
import Testing

@testable import PeregrineBacktest

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

/// A strategy from outside the package that shows which book it saw when its bid filled: it
/// bids 1 lot at 100 from the start; when that fills, it buys 1 lot at the best ask it sees then
/// (an IOC), so the price it pays is that ask.
struct FillEcho: Strategy, Sendable {
    static let name = "fill-echo"
    static let marketData: MarketDataInterest = [.books]
    let instrument: InstrumentID
    var echoed = false

    init(_ configuration: StrategyConfiguration) throws(StrategyConfigurationError) {
        instrument = configuration.instruments.first ?? InstrumentID(0)
    }

    mutating func onStart(_ context: inout StrategyContext) {
        _ = context.submitLimit(
            instrument, .buy, price: Price(ticks: 100), quantity: Quantity(lots: 1), timeInForce: .goodTillCancel)
    }

    mutating func onOrderFilled(_ update: OrderUpdate, _ context: inout StrategyContext) {
        guard !echoed, update.order.side == .buy, let ask = context.marketTop(instrument, .sell) else { return }
        echoed = true
        _ = context.submitLimit(
            instrument, .buy, price: ask, quantity: Quantity(lots: 1), timeInForce: .immediateOrCancel)
    }

    mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try visitor.visit(&echoed, "echoed")
    }
}

/// A strategy from outside the package that shows which book its timer saw: it bids 1 lot at
/// 100 from its first book, and its timer at 4 ms buys what the best ask shows then (an IOC
/// at that ask's price and size), so its fills tell the ask it saw.
struct TimerAtFill: Strategy, Sendable {
    static let name = "timer-at-fill"
    static let marketData: MarketDataInterest = [.books]
    let instrument: InstrumentID
    var started = false

    init(_ configuration: StrategyConfiguration) throws(StrategyConfigurationError) {
        instrument = configuration.instruments.first ?? InstrumentID(0)
    }

    mutating func onBook(_ instrument: InstrumentID, _ context: inout StrategyContext) {
        guard !started else { return }
        started = true
        _ = context.submitLimit(instrument, .buy, price: Price(ticks: 100), quantity: Quantity(lots: 1))
        _ = context.schedule(at: 4_000_000)
    }

    mutating func onTimer(_ timer: TimerFired, _ context: inout StrategyContext) {
        guard let ask = context.bestBidOffer(instrument)?.ask else { return }
        _ = context.submitLimit(
            instrument, .buy, price: ask.price, quantity: ask.quantity, timeInForce: .immediateOrCancel)
    }

    mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try visitor.visit(&started, "started")
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
    static func syntheticData(in directory: URL, rows: Int = 20_000, sharedTimeOneIn: UInt64 = 8) throws -> (
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
            // Most rows are a message of their own; one in eight (`sharedTimeOneIn`) shares the
            // previous time.
            if below(sharedTimeOneIn) != 0 { time += 1 + below(2_000) }
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
    /// `sources`: `--data` values instead of the two files.
    static func run(
        _ data: (l2: String, trades: String, moves: [Int]), directory: URL, name: String, share: Bool,
        from: UInt64? = nil, sources: [String]? = nil, orderLatency: OrderLatency = .none
    ) throws -> (json: String, report: [String: Any], fills: String, equity: String, straight: Int) {
        var settings = BacktestSettings()
        settings.data = try (sources ?? ["tardis-l2:" + data.l2, "tardis-trades@SYN:" + data.trades]).map {
            try DataSpec($0)
        }
        settings.strategies = [
            StrategySpec(
                name: "market-maker", parameters: [("half-spread", "0"), ("size", "10"), ("max-position", "200")]),
            StrategySpec(
                name: "golden-cross", parameters: [("fast", "5"), ("slow", "40"), ("quantity", "60")]),
        ]
        settings.takerFeeBasisPoints = "2.5"
        settings.from = from
        settings.shareBooks = share
        settings.orderLatency = orderLatency
        let fills = directory.appendingPathComponent("\(name)-fills.csv").path
        let equity = directory.appendingPathComponent("\(name)-equity.csv").path
        let result = try Backtest.run(
            try BacktestPlan(settings), outputs: BacktestOutputFiles(fillsCSV: fills, equityCSV: equity))
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.json.utf8)) as? [String: Any])
        return (
            BacktestRunTests.withoutTiming(result.json), report, try String(contentsOfFile: fills, encoding: .utf8),
            try String(contentsOfFile: equity, encoding: .utf8), result.straightChanges
        )
    }

    @Test func sharedBooksGiveTheResultsOfSeparateOnes() throws {
        let directory = try BacktestRunTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = try Self.syntheticData(in: directory)
        // The whole file; then from a third of the way in (the first third only builds the
        // books) at a message that moves the mid: the strategies start on that event, and
        // their start must see the books without any of its changes (as with books of their
        // own), though the venue applies them to the books the logic reads.
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

    /// A converted file's level updates in the middle of a message (neither its first nor its
    /// last), and its first when nothing is in flight and the strategies have nothing to do
    /// before it, go to the venue straight from its records when the books are shared: the results
    /// must be those of the general path (separate books) and of the text sources, byte for byte
    /// but the inputs' provenance. Half the rows share their time with the row before, so most
    /// messages have changes in their middle, near the touch where the market maker's orders
    /// rest (a loop that went on past a fill mid-message fails here).
    @Test func changesInTheMiddleOfAMessageGoStraightFromAConvertedFile() throws {
        let directory = try BacktestRunTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = try Self.syntheticData(in: directory, sharedTimeOneIn: 2)
        let converted = directory.appendingPathComponent("syn.pgev").path
        _ = try DataConversion.convert(
            [try DataSpec("tardis-l2:" + data.l2), try DataSpec("tardis-trades@SYN:" + data.trades)],
            output: converted)
        let strip = { (json: String) in json.components(separatedBy: "\"provenance\"").first ?? json }
        let third = try #require(data.moves.first { $0 >= 1_667_260_800_000_000 + 6_000_000 })
        // (With order latency the books are still shared: fills and orders meet a message's
        // changes in flight, 50 µs to the venue and 30 µs back.)
        for (from, latency) in [
            (nil, .none), (UInt64(third) * 1_000, .none), (nil, .constant(entry: 50_000, response: 30_000)),
        ] as [(UInt64?, OrderLatency)] {
            let straight = try Self.run(
                data, directory: directory, name: "straight", share: true, from: from, sources: ["events:" + converted],
                orderLatency: latency)
            let general = try Self.run(
                data, directory: directory, name: "general", share: false, from: from, sources: ["events:" + converted],
                orderLatency: latency)
            let text = try Self.run(
                data, directory: directory, name: "text", share: true, from: from, orderLatency: latency)
            for other in [general, text] {
                #expect(strip(straight.json) == strip(other.json), "\(latency)")
                #expect(straight.fills == other.fills, "\(latency)")
                #expect(straight.equity == other.equity, "\(latency)")
            }
            #expect((straight.report["fills_passive"] as? Int ?? 0) > 50)
            #expect(
                (straight.report["events"] as? Int ?? 0) + (straight.report["warm_up_events"] as? Int ?? 0) > 20_000)
            // The straight path ran, on the converted file with shared books only.
            #expect(straight.straight > 1_500)
            #expect(general.straight == 0)
            #expect(text.straight == 0)
        }
        // A damaged record in the middle of a message far into the file (its price changed,
        // still a valid level update) stops the backtest naming it: it is never taken unchecked.
        // A level update with two changes of its message before it and one after: the straight
        // path takes it (the general read takes a message's first change at most).
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: converted)))
        let records = 64 + (Int(bytes[16]) | Int(bytes[17]) << 8 | Int(bytes[18]) << 16)
        func head(_ index: Int) -> ArraySlice<UInt8> {
            let frame = records + index * 80 + 16
            return bytes[frame..<(frame + 1)] + bytes[(frame + 4)..<(frame + 24)]
        }
        let count = (bytes.count - records) / 80
        let middle = try #require(
            (12_000..<(count - 1)).first {
                bytes[records + $0 * 80 + 16] == 1 && head($0 - 2) == head($0) && head($0 - 1) == head($0)
                    && head($0) == head($0 + 1)
            })
        var damaged = bytes
        damaged[records + middle * 80 + 16 + 24] ^= 1
        let damagedPath = directory.appendingPathComponent("damaged.pgev").path
        try Data(damaged).write(to: URL(fileURLWithPath: damagedPath))
        // (A market maker that never trades: no report in flight sends a change the general way.)
        var settings = BacktestSettings()
        settings.data = [try DataSpec("events:" + damagedPath)]
        settings.strategies = [
            StrategySpec(name: "market-maker", parameters: [("half-spread", "0"), ("max-position", "0")])
        ]
        #expect(
            throws: BacktestError.data(
                "\(damagedPath): record \(middle) fails its checksum (or its length word): the file is damaged"),
            performing: { _ = try Backtest.run(try BacktestPlan(settings)) })
    }

    /// A fill from a change in the middle of a message, or from its first, reaches the strategy
    /// after the message's last change, from a converted file (whose changes but the last go
    /// straight from its records) as from the text: the ask of 100 that reaches the strategy's
    /// bid of 100 is gone at the message's next change (the best ask is 103 again), and the
    /// strategy's IOC at the ask it sees, the message's whole book, buys at 103 (it had been told
    /// at once, and bought at 100 from the ask the message took away).
    @Test func aFillInTheMiddleOfAMessageReachesTheStrategyAfterItsLastChange() throws {
        let directory = try BacktestRunTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let start = ["test,TEST,1000,1000,false,bid,99,5", "test,TEST,1000,1000,false,ask,103,5"]
        // (the message at 2 ms, the changes of the converted file that go straight)
        for (message, straight) in [
            (
                [
                    "test,TEST,2000,2000,false,bid,98,1", "test,TEST,2000,2000,false,ask,100,4",
                    "test,TEST,2000,2000,false,ask,100,0", "test,TEST,2000,2000,false,bid,97,1",
                ], 3
            ),
            (
                [
                    "test,TEST,2000,2000,false,ask,100,4", "test,TEST,2000,2000,false,ask,100,0",
                    "test,TEST,2000,2000,false,bid,97,1",
                ], 2
            ),
        ] {
            let sources = try BacktestRunTests.l2TextAndConverted(start + message, in: directory)
            for data in sources {
                var settings = BacktestSettings()
                settings.data = [try DataSpec(data)]
                settings.strategies = [StrategySpec(name: "fill-echo", parameters: [])]
                let fills = directory.appendingPathComponent("echo-fills.csv").path
                let result = try Backtest.run(
                    try BacktestPlan(settings, custom: FillEcho.self), custom: FillEcho.self,
                    outputs: BacktestOutputFiles(fillsCSV: fills))
                let rows = try String(contentsOfFile: fills, encoding: .utf8).split(separator: "\n").dropFirst()
                #expect(
                    rows.map { $0.split(separator: ",")[2...4].joined(separator: ",") } == ["buy,100,1", "buy,103,1"],
                    "\(data)")
                #expect(result.trades == 2)
                #expect(result.straightChanges == (data.hasPrefix("events:") ? straight : 0), "\(data)")
            }
        }
    }

    /// A timer due at the time of an event that fills a resting order sees the books without
    /// the event, with shared books and with books of their own, from the text and from the
    /// converted file: the ask of 100×4 at 4 ms reaches the strategy's bid of 100 (a fill), and
    /// the timer, due then, saw the ask of 103×5 (its IOC takes the 4 at 100 and 1 at 103). With
    /// books of their own the fill's report had gone first and fired the timer on the book with
    /// the event (an IOC for 4 at 100).
    @Test func aTimerDueWithAFillSeesTheBooksWithoutTheEvent() throws {
        let directory = try BacktestRunTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sources = try BacktestRunTests.l2TextAndConverted(
            [
                "test,TEST,1000,1000,false,bid,99,5", "test,TEST,1000,1000,false,ask,103,5",
                "test,TEST,4000,4000,false,ask,100,4", "test,TEST,6000,6000,false,bid,98,1",
            ], in: directory)
        for data in sources {
            for share in [true, false] {
                var settings = BacktestSettings()
                settings.data = [try DataSpec(data)]
                settings.strategies = [StrategySpec(name: "timer-at-fill", parameters: [])]
                settings.shareBooks = share
                let fills = directory.appendingPathComponent("timer-at-fill.csv").path
                _ = try Backtest.run(
                    try BacktestPlan(settings, custom: TimerAtFill.self), custom: TimerAtFill.self,
                    outputs: BacktestOutputFiles(fillsCSV: fills))
                let rows = try String(contentsOfFile: fills, encoding: .utf8).split(separator: "\n").dropFirst()
                #expect(
                    rows.map { $0.split(separator: ",")[2...5].joined(separator: ",") }
                        == ["buy,100,1,maker", "buy,100,4,taker", "buy,103,1,taker"], "\(data), shared \(share)")
            }
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
