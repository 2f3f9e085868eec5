// Hot-path benchmarks. Each reports wall clock per operation next to malloc and retain
// counts per operation; the hot-path ones fail if a malloc appears per operation.
// Threads and rings are created in `setup` (outside the measurement) and stopped in
// `teardown`. Topology: the measuring thread on CPU 0, helper threads on CPU 1.
import Benchmark
import CustomStrategy
import PeregrineBacktest
import PeregrineBench
import PeregrineBook
import PeregrineCore
import PeregrineEVM
import PeregrineEngine
import PeregrineFeed
import PeregrineJournal
import PeregrineMempool
import PeregrineModel
import PeregrineRisk
import PeregrineStrategy
import PeregrineSys
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

struct Item: BitwiseCopyable { var a, b, c, d: UInt64 }  // 32 bytes, like Transaction

nonisolated(unsafe) let zeroMalloc: [BenchmarkMetric: BenchmarkThresholds] = [
    .mallocCountTotal: .init(absolute: [.p90: 0])
]

func configuration(_ scale: BenchmarkScalingFactor) -> Benchmark.Configuration {
    .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .retainCount], scalingFactor: scale,
        maxDuration: .seconds(3), maxIterations: 200, thresholds: zeroMalloc)
}

/// The backtest venue benchmark's state.
final class BacktestVenueBench: @unchecked Sendable {
    var venue: SimulatedVenue?
    var events: [Event] = []
}

nonisolated(unsafe) let backtestVenue = BacktestVenueBench()

/// Counts reports without keeping them.
struct CountingReportSink: ExecutionReportSink {
    var count = 0
    mutating func accept(_ report: ExecutionReport) { count &+= 1 }
}

/// State shared by a benchmark's setup, body and teardown.
final class SPSCBench: @unchecked Sendable {
    var producer: SPSCProducer<Item>?
    let stop = Atomic<Bool>(false)
    var thread: PinnedThread?
}

final class PingPongBench: @unchecked Sendable {
    var ping: SPSCProducer<Item>?
    var pong: SPSCConsumer<Item>?
    let stop = Atomic<Bool>(false)
    var thread: PinnedThread?
}

final class SequencedBench: @unchecked Sendable {
    var producer: SequencedProducer<Item>?
    let stop = Atomic<Bool>(false)
    var threads: [PinnedThread] = []
}

final class MatchingBench: @unchecked Sendable {
    var book: OrderBook?
    var flow: OrderFlow?
    var commands: [OrderCommand] = []
    var cursor = 0
    var counter = ReportCounter()
}

final class JournalBench: @unchecked Sendable {
    var writer: JournalWriter?
    var events: [Event] = []
    var sequence: Int64 = 0
    let directory = "/dev/shm/peregrine-bench-journal-\(getpid())"
}

final class FeedBench: @unchecked Sendable {
    var replay: FeedReplay?
    let path: String
    init(_ name: String) { path = "/dev/shm/peregrine-bench-\(name)-\(getpid())" }
}

final class LogicBench<Custom: Strategy>: @unchecked Sendable {
    var logic: EngineLogic<Custom>?
    var outputs = HashingOutputs()
    var events: [Event] = []
    var sequence: Int64 = 0
}

/// The indicators a strategy keeps per instrument, updated together.
struct IndicatorSet {
    var window = RollingSum(period: 50)
    var ema = ExponentialMovingAverage(period: 20)
    var rsi = RelativeStrength(period: 14)
    var macd = MACD()

    mutating func update(_ value: Double) -> Double {
        window.update(Int64(value))
        ema.update(value)
        rsi.update(value)
        macd.update(value)
        return window.zScore(of: Int64(value)) + rsi.value + macd.histogram + ema.value
    }
}

/// One strategy's order management with risk limits, behind a pointer (it is noncopyable), a
/// position and resting orders in two instruments, and orders to check.
final class RiskBench: @unchecked Sendable {
    var trading: UnsafeMutablePointer<TradingState>?
    var orders: [(OrderCommand, InstrumentID)] = []
    var time: UInt64 = 1_000_000

    /// Strategy 1 on HOST0 and HOST1 (both USD, tick 0.01, lot 0.001), long 0.5 of HOST0 and a
    /// resting bid and ask in each, under `rules`; orders around the mid within every limit.
    func setUp(_ rules: [RiskRule]) throws {
        let definitions = (0..<2).map { InstrumentDefinition.synthetic(InstrumentID(UInt32($0)), hosted: true) }
        let layout = StrategyLayout(
            id: StrategyID(1), account: AccountID(1001), instruments: [InstrumentID(0), InstrumentID(1)])
        let limits = try RiskLimits.resolve(
            rules: rules, instruments: definitions, strategies: [(id: 1, instruments: layout.instruments)])
        let trading = UnsafeMutablePointer<TradingState>.allocate(capacity: 1)
        trading.initialize(
            to: TradingState(
                strategies: [layout], rules: definitions.map(\.rules), orderCapacity: 64, timerCapacity: 8,
                venueOrderCapacity: 64, risk: limits))
        trading.pointee.beginEvent(time: time)
        for instrument in 0..<2 {
            let id = InstrumentID(UInt32(instrument))
            trading.pointee.updateMark(id, bid: Price(ticks: 9_999), ask: Price(ticks: 10_001))
        }
        // Resting orders, as the strategy sends them, accepted; the first bid half filled.
        let books = UnsafeMutablePointer<InstrumentBooks>.allocate(capacity: 1)
        books.initialize(to: InstrumentBooks(levels: try BookSet(count: 2), venue: nil))
        defer {
            books.deinitialize(count: 1)
            books.deallocate()
        }
        var context = StrategyContext(state: trading, books: UnsafePointer(books), slot: 0)
        for (instrument, side, price) in [
            (0, Side.buy, 9_990), (0, .sell, 10_010), (1, .buy, 9_990), (1, .sell, 10_010),
        ] {
            _ = context.submitLimit(
                InstrumentID(UInt32(instrument)), side, price: Price(ticks: Int64(price)), quantity: Quantity(lots: 500)
            )
        }
        var first = true
        while let (command, instrument) = trading.pointee.nextCommand() {
            trading.pointee.apply(
                ExecutionReport(
                    kind: .accepted, instrument: instrument, orderID: command.orderID, account: command.account,
                    side: command.side, price: command.price, quantity: command.quantity,
                    leavesQuantity: command.quantity))
            if first {
                trading.pointee.apply(
                    ExecutionReport(
                        kind: .partiallyFilled, instrument: instrument, orderID: command.orderID,
                        account: command.account, side: command.side, price: command.price,
                        quantity: Quantity(lots: 250), leavesQuantity: Quantity(lots: 250), tradeID: 1))
                first = false
            }
        }
        while trading.pointee.nextUpdate() != nil {}
        precondition(trading.pointee.openOrders == 4, "the benchmark's resting orders must pass the limits")
        var random = SplitMix64(seed: 5)
        orders = (0..<4_096).map { _ in
            let side: Side = random.next(below: 2) == 0 ? .buy : .sell
            let offset = Int64(random.next(below: 40)) - 20
            return (
                .limit(
                    OrderID(0), account: AccountID(0), side, price: Price(ticks: 10_000 + offset),
                    quantity: Quantity(lots: 1 + Int64(random.next(below: 9)))),
                InstrumentID(UInt32(random.next(below: 2)))
            )
        }
        self.trading = trading
    }

    func tearDown() {
        trading?.deinitialize(count: 1)
        trading?.deallocate()
        trading = nil
    }
}

final class IndicatorBench: @unchecked Sendable {
    var set: IndicatorSet? = IndicatorSet()
    var values: [Double] = []
    var cursor = 0
}

/// Controls for the counters: an object kept by a function the optimiser cannot see into (a
/// retain per operation) and an array that escapes to a global (a malloc per operation).
final class ControlBox: @unchecked Sendable { var value = 0 }
nonisolated(unsafe) var controlKeptBox: ControlBox? = nil
nonisolated(unsafe) var controlKeptArray: [Int] = []
@inline(never) func controlKeep(_ box: ControlBox) { controlKeptBox = box }
@inline(never) func controlKeep(_ array: [Int]) { controlKeptArray = array }

final class BookBench: @unchecked Sendable {
    var book: L2Book?
    var updates: [LevelUpdate] = []
}

let benchmarks: @Sendable () -> Void = {
    // Controls: they show whether a counter works. Each must read 1 per operation in its
    // column (malloc, retains); a counter that reads 0 on its control is broken, and every 0
    // it shows elsewhere means nothing. Benchmarks/runtime-calls.sh counts the same calls
    // exactly with callgrind, with the same two controls, as a cross-check.
    Benchmark(
        "Control: allocates (1 malloc per operation)",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal, .retainCount], scalingFactor: .kilo)
    ) { benchmark in
        for index in benchmark.scaledIterations { controlKeep([index, index &+ 1, index &+ 2]) }
    }
    let controlBox = ControlBox()
    Benchmark(
        "Control: retains (1 retain per operation)",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal, .retainCount], scalingFactor: .kilo)
    ) { benchmark in
        for index in benchmark.scaledIterations {
            controlBox.value = index
            controlKeep(controlBox)
        }
    }

    let spsc = SPSCBench()
    Benchmark(
        "SPSC ring throughput (32-byte items, 2 threads)", configuration: configuration(.mega),
        closure: { benchmark in
            guard var producer = spsc.producer.take() else { return }
            for index in benchmark.scaledIterations {
                let value = UInt64(index)
                while !producer.tryPush(Item(a: value, b: value, c: value, d: value)) { pg_cpu_relax() }
            }
            spsc.producer = consume producer
        },
        setup: {
            _ = pg_pin_current_thread([0], 1)
            let ring = try SPSCRing<Item>(capacity: 1_024)
            spsc.producer = try ring.makeProducer()
            spsc.thread = try PinnedThread.start(name: "bench-drain", cpus: [1]) {
                guard var consumer = try? ring.makeConsumer() else { return }
                var sum: UInt64 = 0
                while !spsc.stop.load(ordering: .relaxed) {
                    if consumer.drain({ sum &+= $0.a }) == 0 { pg_cpu_relax() }
                }
                blackHole(sum)
            }
        },
        teardown: {
            spsc.stop.store(true, ordering: .relaxed)
            spsc.thread?.join()
        })

    let pingPong = PingPongBench()
    Benchmark(
        "SPSC ring ping-pong round trip", configuration: configuration(.kilo),
        closure: { benchmark in
            guard var ping = pingPong.ping.take(), var pong = pingPong.pong.take() else { return }
            for index in benchmark.scaledIterations {
                _ = ping.tryPush(Item(a: UInt64(index), b: 0, c: 0, d: 0))
                while pong.drain({ blackHole($0.a) }) == 0 { pg_cpu_relax() }
            }
            pingPong.ping = consume ping
            pingPong.pong = consume pong
        },
        setup: {
            _ = pg_pin_current_thread([0], 1)
            let ping = try SPSCRing<Item>(capacity: 1_024)
            let pong = try SPSCRing<Item>(capacity: 1_024)
            pingPong.ping = try ping.makeProducer()
            pingPong.pong = try pong.makeConsumer()
            pingPong.thread = try PinnedThread.start(name: "bench-echo", cpus: [1]) {
                guard var inbound = try? ping.makeConsumer(), var outbound = try? pong.makeProducer() else { return }
                while !pingPong.stop.load(ordering: .relaxed) {
                    if inbound.drain({ item in while !outbound.tryPush(item) {} }) == 0 { pg_cpu_relax() }
                }
            }
        },
        teardown: {
            pingPong.stop.store(true, ordering: .relaxed)
            pingPong.thread?.join()
        })

    let sequenced = SequencedBench()
    Benchmark(
        "Sequenced ring, 2 dependent consumers (journal → logic), batches of 64", configuration: configuration(.mega),
        closure: { benchmark in
            guard var producer = sequenced.producer.take() else { return }
            var remaining = benchmark.scaledIterations.count
            while remaining > 0 {
                guard let range = producer.tryClaim(upTo: Swift.min(64, remaining)) else {
                    pg_cpu_relax()
                    continue
                }
                for sequence in range.first...range.last {
                    producer.write(Item(a: UInt64(sequence), b: 0, c: 0, d: 0), at: sequence)
                }
                producer.publish(range)
                remaining -= range.count
            }
            sequenced.producer = consume producer
        },
        setup: {
            _ = pg_pin_current_thread([0], 1)
            let ring = try SequencedRing<Item>(
                capacity: 4_096, consumers: [.init("journal"), .init("logic", dependsOn: [0])])
            sequenced.producer = try ring.makeProducer()
            // Both consumers share CPU 1, as journal and logic would on a 2-core machine's
            // second hot thread when the producer has the first.
            sequenced.threads.append(
                try PinnedThread.start(name: "bench-consumers", cpus: [1]) {
                    guard var journal = try? ring.makeConsumer(0), var logic = try? ring.makeConsumer(1) else { return }
                    var sum: UInt64 = 0
                    while !sequenced.stop.load(ordering: .relaxed) {
                        let journaled = journal.poll(limit: 256) { item, _, _ in sum &+= item.a }
                        let handled = logic.poll(limit: 256) { item, _, _ in sum &+= item.a }
                        if journaled + handled == 0 { pg_cpu_relax() }
                    }
                    blackHole(sum)
                })
        },
        teardown: {
            sequenced.stop.store(true, ordering: .relaxed)
            for thread in sequenced.threads { thread.join() }
        })

    /// Level updates within 40 levels of a touch at `touch` ticks, `spacing` ticks apart; with
    /// `drift` (`walkingTouch`), the touch walks.
    func l2Benchmark(_ name: String, touch: Int64, spacing: Int64, drift: Int? = nil) {
        let state = BookBench()
        Benchmark(
            name, configuration: configuration(.mega),
            closure: { benchmark in
                guard var book = state.book.take() else { return }
                let updates = state.updates
                let mask = updates.count - 1
                updates.withUnsafeBufferPointer { buffer in
                    for index in benchmark.scaledIterations {
                        blackHole(book.apply(buffer[index & mask]))
                    }
                }
                state.book = consume book
            },
            setup: {
                state.book = try L2Book(instrument: InstrumentID(0))
                var random = SplitMix64(seed: 1)
                if let drift {
                    state.updates = walkingTouch(from: touch, every: drift, random: &random)
                    return
                }
                state.updates = (0..<65_536).map { _ in
                    let side: Side = random.next(below: 2) == 0 ? .buy : .sell
                    let distance = (1 + Int64(random.next(below: 40))) * spacing
                    return LevelUpdate(
                        side: side, price: Price(ticks: side == .buy ? touch - distance : touch + distance),
                        quantity: Quantity(lots: random.next(below: 4) == 0 ? 0 : 1 + Int64(random.next(below: 1_000))))
                }
            })
    }
    /// 65,536 level updates of a book whose touch walks up a tick every `every` updates for the
    /// first half and back down in the second, as a venue publishes it 40 levels deep: a move
    /// of the touch removes the levels it crosses and those left beyond 40 ticks behind.
    func walkingTouch(from start: Int64, every: Int, random: inout SplitMix64) -> [LevelUpdate] {
        var updates: [LevelUpdate] = []
        var bids = Set<Int64>()
        var asks = Set<Int64>()
        var touch = start
        func set(_ side: Side, _ price: Int64, _ lots: Int64) {
            guard updates.count < 65_536 else { return }
            updates.append(LevelUpdate(side: side, price: Price(ticks: price), quantity: Quantity(lots: lots)))
            if side == .buy {
                if lots == 0 { bids.remove(price) } else { bids.insert(price) }
            } else {
                if lots == 0 { asks.remove(price) } else { asks.insert(price) }
            }
        }
        var index = 0
        while updates.count < 65_536 {
            if index > 0, index % every == 0 {
                touch += updates.count < 32_768 ? 1 : -1
                for price in bids.sorted() where price >= touch || price < touch - 40 { set(.buy, price, 0) }
                for price in asks.sorted() where price <= touch || price > touch + 40 { set(.sell, price, 0) }
            }
            let side: Side = random.next(below: 2) == 0 ? .buy : .sell
            let distance = 1 + Int64(random.next(below: 40))
            let lots = random.next(below: 4) == 0 ? 0 : 1 + Int64(random.next(below: 1_000))
            set(side, side == .buy ? touch - distance : touch + distance, lots)
            index += 1
        }
        return updates
    }
    l2Benchmark(
        "L2 book level update (4 instruments' worth of random levels near the touch)", touch: 100_000, spacing: 1)
    // The same on a 1e-8 grid (BTC at 60,000: 6e12 ticks; neighbouring levels up to 5e8 ticks
    // apart): every level lives in the book's sorted store, not its dense window.
    l2Benchmark(
        "L2 book level update on a 1e-8 grid (levels far apart, near the touch)", touch: 6_000_000_000_000,
        spacing: 12_345_678)
    // A trending market: the touch walks about 3,500 ticks up and back down in 65,536 updates
    // (a tick every 8 random updates, plus the levels each step removes); the 4,096-tick windows
    // follow it, moving every 3,072 ticks or so.
    l2Benchmark(
        "L2 book level update (a touch walking 3,500 ticks and back, the windows following)", touch: 100_000,
        spacing: 1,
        drift: 8)

    // The backtest's simulated venue on a recorded book, two of the strategy's orders resting at
    // the touch: every level update moves their queues and is checked for a fill-through; every
    // 64th event is a trade at the bid (the queue advances, the order fills now and then).
    Benchmark(
        "Backtest simulated venue per event (level updates near the touch, 2 resting orders)",
        configuration: configuration(.mega),
        closure: { benchmark in
            guard var venue = backtestVenue.venue.take() else { return }
            var sink = CountingReportSink()
            let events = backtestVenue.events
            let mask = events.count - 1
            events.withUnsafeBufferPointer { buffer in
                for index in benchmark.scaledIterations {
                    venue.apply(buffer[index & mask], time: UInt64(index), sink: &sink)
                }
            }
            blackHole(sink.count)
            backtestVenue.venue = consume venue
        },
        setup: {
            var venue = try SimulatedVenue(instruments: 1, queueModel: .power(exponent: 2))
            var sink = CountingReportSink()
            let instrument = InstrumentID(0)
            for distance in Int64(0)..<40 {
                for (side, price) in [(Side.buy, 100_000 - distance), (Side.sell, 100_001 + distance)] {
                    venue.apply(
                        Event(
                            timestamp: 0, instrument: instrument,
                            payload: .levelUpdate(
                                LevelUpdate(side: side, price: Price(ticks: price), quantity: Quantity(lots: 500)))),
                        time: 0, sink: &sink)
                }
            }
            for (id, side, price) in [(UInt64(1), Side.buy, Int64(100_000)), (2, .sell, 100_001)] {
                venue.process(
                    .limit(
                        OrderID(id), account: AccountID(1), side, price: Price(ticks: price),
                        quantity: Quantity(lots: 1_000_000_000)),
                    instrument: instrument, time: 0, sink: &sink)
            }
            var random = SplitMix64(seed: 7)
            backtestVenue.events = (0..<65_536).map { index in
                if index % 64 == 63 {
                    return Event(
                        timestamp: 0, instrument: instrument,
                        payload: .trade(
                            Trade(
                                price: Price(ticks: 100_000), quantity: Quantity(lots: 50), aggressor: .sell,
                                tradeID: UInt64(index))))
                }
                let side: Side = random.next(below: 2) == 0 ? .buy : .sell
                let distance = Int64(random.next(below: 40))
                return Event(
                    timestamp: 0, instrument: instrument,
                    payload: .levelUpdate(
                        LevelUpdate(
                            side: side, price: Price(ticks: side == .buy ? 100_000 - distance : 100_001 + distance),
                            quantity: Quantity(lots: 1 + Int64(random.next(below: 1_000))))))
            }
            backtestVenue.venue = consume venue
        },
        teardown: { backtestVenue.venue = nil })

    Benchmark(
        "Bundle builder add (seals every 16th)", configuration: configuration(.mega),
        closure: { benchmark in
            guard var builder = try? BundleBuilder(maxTransactions: 16, timeoutNanoseconds: 100_000) else { return }
            var sealed = 0
            for index in benchmark.scaledIterations {
                let transaction = Transaction(
                    id: UInt64(index), instrument: InstrumentID(1), side: .buy, price: Price(ticks: 5),
                    quantity: Quantity(lots: 1), origin: .strategy)
                if let bundle = builder.add(transaction, now: UInt64(index)) { sealed &+= bundle.count }
            }
            if let bundle = builder.flush() { sealed &+= bundle.count }
            blackHole(sealed)
        })

    // The matching engine: a book of 100,000 resting orders over 2,000+ levels per side, fed
    // the standard mixed stream (50% add, 35% cancel, 10% aggressive, 5% replace).
    let matching = MatchingBench()
    Benchmark(
        "Matching engine, mixed command stream (per command)",
        configuration: .init(
            metrics: [.wallClock, .throughput, .mallocCountTotal, .retainCount], scalingFactor: .kilo,
            maxDuration: .seconds(5), maxIterations: 1_400, thresholds: zeroMalloc),
        closure: { benchmark in
            guard var book = matching.book.take(), let flow = matching.flow else { return }
            let count = benchmark.scaledIterations.count
            let start = matching.cursor
            let end = Swift.min(start + count, flow.commands.count)
            flow.commands.withUnsafeBufferPointer { commands in
                for index in start..<end {
                    book.prefetch(upcoming: commands, before: index)
                    book.process(commands[index], sink: &matching.counter)
                }
            }
            matching.cursor = end
            matching.book = consume book
        },
        setup: {
            _ = pg_pin_current_thread([0], 1)
            let flow = try OrderFlow(seed: 1, restingOrders: 100_000, levels: 2_000, commands: 1_500_000)
            var book = try OrderBook(spec: flow.spec)
            for command in flow.prefill { book.process(command, sink: &matching.counter) }
            matching.book = consume book
            matching.flow = flow
            matching.cursor = 0
        },
        teardown: {
            blackHole(matching.counter.reports)
            matching.book = nil
            matching.flow = nil
        })

    let passive = MatchingBench()
    Benchmark(
        "Matching engine, passive add + cancel pair near the touch (100k resting orders)",
        configuration: configuration(.mega),
        closure: { benchmark in
            guard var book = passive.book.take() else { return }
            let account = AccountID(2_000_000)
            let top = book.bestBidOffer
            let bid = top.bid?.price.ticks ?? OrderFlow.midPrice
            for index in benchmark.scaledIterations {
                let id = OrderID(UInt64(1) << 62 | UInt64(passive.cursor &+ index))
                let price = Price(ticks: bid - Int64(1 + index % 20))
                book.process(
                    .limit(id, account: account, .buy, price: price, quantity: Quantity(lots: 5)),
                    sink: &passive.counter)
                book.process(.cancel(id, account: account), sink: &passive.counter)
            }
            passive.cursor &+= benchmark.scaledIterations.count
            passive.book = consume book
        },
        setup: {
            _ = pg_pin_current_thread([0], 1)
            let flow = try OrderFlow(seed: 2, restingOrders: 100_000, levels: 2_000, commands: 0)
            var book = try OrderBook(spec: flow.spec)
            for command in flow.prefill { book.process(command, sink: &passive.counter) }
            passive.book = consume book
        },
        teardown: {
            blackHole(passive.counter.reports)
            passive.book = nil
        })

    // A trending market: a maker's 10 levels a side (5 lots each, a bid and an ask far away
    // that stay) walked 200,000 ticks up and back, far beyond the 65,536-tick windows, which
    // follow it; each step a taker lifts the best ask (or hits the best bid), the maker quotes
    // the new level and cancels its deepest on the other side.
    let walking = MatchingBench()
    Benchmark(
        "Matching engine, a maker's book walked 200,000 ticks and back (per command)",
        configuration: .init(
            metrics: [.wallClock, .throughput, .mallocCountTotal, .retainCount], scalingFactor: .kilo,
            maxDuration: .seconds(5), maxIterations: 1_400, thresholds: zeroMalloc),
        closure: { benchmark in
            guard var book = walking.book.take() else { return }
            let start = walking.cursor
            let end = Swift.min(start + benchmark.scaledIterations.count, walking.commands.count)
            walking.commands.withUnsafeBufferPointer { commands in
                for index in start..<end { book.process(commands[index], sink: &walking.counter) }
            }
            walking.cursor = end
            walking.book = consume book
        },
        setup: {
            _ = pg_pin_current_thread([0], 1)
            var commands: [OrderCommand] = []
            var nextID: UInt64 = 1
            var ids: [Int64: UInt64] = [:]
            func quote(_ side: Side, _ price: Int64, account: UInt32 = 1) {
                ids[price] = nextID
                commands.append(
                    .limit(
                        OrderID(nextID), account: AccountID(account), side, price: Price(ticks: price),
                        quantity: Quantity(lots: 5)))
                nextID += 1
            }
            func take(_ side: Side) {
                commands.append(
                    .market(
                        OrderID(nextID), account: AccountID(2), side, quantity: Quantity(lots: 5),
                        timeInForce: .immediateOrCancel))
                nextID += 1
            }
            func withdraw(_ price: Int64) {
                guard let id = ids.removeValue(forKey: price) else { return }
                commands.append(.cancel(OrderID(id), account: AccountID(1)))
            }
            var mid = OrderFlow.midPrice
            for level in 1...10 {
                quote(.buy, mid - Int64(level))
                quote(.sell, mid + Int64(level))
            }
            quote(.buy, 1, account: 3)
            quote(.sell, 100 * OrderFlow.midPrice, account: 3)
            let opening = commands.count
            for step in 0..<400_000 {
                if step < 200_000 {
                    take(.buy)
                    ids[mid + 1] = nil
                    mid += 1
                    quote(.buy, mid - 1)
                    quote(.sell, mid + 10)
                    withdraw(mid - 11)
                } else {
                    take(.sell)
                    ids[mid - 1] = nil
                    mid -= 1
                    quote(.sell, mid + 1)
                    quote(.buy, mid - 10)
                    withdraw(mid + 11)
                }
            }
            var book = try OrderBook(spec: OrderFlow.spec(restingOrders: 1_000))
            for command in commands[..<opening] { book.process(command, sink: &walking.counter) }
            walking.book = consume book
            walking.commands = commands
            walking.cursor = opening
        },
        teardown: {
            blackHole(walking.counter.reports)
            walking.book = nil
            walking.commands = []
        })

    // The journal's append path (encode, checksum, buffer; a write per 256 events) on tmpfs,
    // so the figure is the CPU's, not this VM's disk.
    let journal = JournalBench()
    Benchmark(
        "Journal append per event (80-byte record, one write per 256, tmpfs)", configuration: configuration(.mega),
        closure: { benchmark in
            guard var writer = journal.writer.take() else { return }
            let mask = journal.events.count - 1
            for _ in benchmark.scaledIterations {
                try writer.append(journal.events[Int(journal.sequence) & mask], sequence: journal.sequence)
                journal.sequence += 1
                if journal.sequence & 255 == 0 { try writer.commit() }
            }
            try writer.commit()
            journal.writer = consume writer
        },
        setup: {
            var market = SyntheticMarket(instruments: 4, seed: 3)
            journal.events = (0..<4_096).map { market.next(timestamp: UInt64($0)) }
            journal.writer = try JournalWriter.open(
                directory: journal.directory, nextSequence: 0, segmentBytes: 1 << 30, syncOnRoll: false)
        },
        teardown: {
            journal.writer = nil
            _ = system("rm -rf \(journal.directory)")
        })

    // The deterministic logic per event, as replay and recovery run it (each instrument's book,
    // strategy and its orders, output hash).
    // The deterministic logic per event, as replay, recovery and backtests run it: `strategies`
    // on `market`'s events (books, strategies, order management, output hash), warmed up over
    // the events once first.
    func logicBenchmark<Custom: Strategy>(
        _ name: String, custom: Custom.Type, market: SyntheticMarket,
        configure: @escaping @Sendable (inout EngineConfiguration) -> Void
    ) {
        let state = LogicBench<Custom>()
        Benchmark(
            name, configuration: configuration(.mega),
            closure: { benchmark in
                guard var logic = state.logic.take() else { return }
                let mask = state.events.count - 1
                for _ in benchmark.scaledIterations {
                    logic.handle(
                        state.events[Int(state.sequence) & mask], sequence: state.sequence, outputs: &state.outputs)
                    state.sequence += 1
                }
                state.logic = consume logic
            },
            setup: {
                var events = market
                state.events = (0..<65_536).map { events.next(timestamp: UInt64($0) * 1_000) }
                var engine = EngineConfiguration()
                configure(&engine)
                var logic = try EngineLogic(configuration: engine, custom: Custom.self)
                for event in state.events {
                    logic.handle(event, sequence: state.sequence, outputs: &state.outputs)
                    state.sequence += 1
                }
                state.logic = consume logic
            },
            teardown: { state.logic = nil })
    }
    logicBenchmark(
        "Engine logic per event (replay path: books, strategy, orders, output hash)", custom: IdleStrategy.self,
        market: SyntheticMarket(instruments: 4, seed: 3)
    ) { $0.strategies = [StrategySpec(name: "large-trade-follower")] }
    // The market maker quoting 8 market-data instruments: per market-data event it reads the
    // book (its market without its own quotes), its position and its quotes and decides.
    logicBenchmark(
        "Strategy + order management per market-data event (market maker on 8 instruments)", custom: IdleStrategy.self,
        market: SyntheticMarket(instruments: 8, seed: 3)
    ) {
        $0.instruments = 8
        $0.strategies = [StrategySpec(name: "market-maker")]
    }
    // The market maker trading 8 hosted instruments against the order flow (30% of events):
    // replaces, fills, positions and P&L on top.
    logicBenchmark(
        "Strategy + order management per event (market maker trading 8 hosted instruments, 30% order flow)",
        custom: IdleStrategy.self, market: SyntheticMarket(instruments: 8, seed: 3, orderFlowPercent: 30)
    ) {
        $0.instruments = 8
        $0.orderFlowPercent = 30
        $0.strategies = [StrategySpec(name: "market-maker")]
    }
    // A strategy from outside the package (Examples/CustomStrategy): specialised like the
    // built-ins, so no existential and no allocation per event.
    logicBenchmark(
        "Custom strategy per event (Examples/CustomStrategy's Breakout, 8 hosted instruments, 30% order flow)",
        custom: Breakout.self, market: SyntheticMarket(instruments: 8, seed: 3, orderFlowPercent: 30)
    ) {
        $0.instruments = 8
        $0.orderFlowPercent = 30
        $0.strategies = [StrategySpec(name: Breakout.name)]
    }

    // Pre-trade risk, one order per operation, checked as `submit` checks it (event time moves
    // 1 µs per order, so the throttle refills). One check: the position limit only. All checks:
    // quantity, notional, collar, open orders, position, gross exposure over both instruments,
    // throttle (and the kill switch, always).
    func riskBenchmark(_ name: String, rules: [RiskRule]) {
        let state = RiskBench()
        Benchmark(
            name, configuration: configuration(.mega),
            closure: { benchmark in
                guard let trading = state.trading else { return }
                var passed = 0
                state.orders.withUnsafeBufferPointer { orders in
                    var time = state.time
                    for index in benchmark.scaledIterations {
                        time &+= 1_000
                        trading.pointee.beginEvent(time: time)
                        let (command, instrument) = orders[index & 4_095]
                        if trading.pointee.preTradeCheck(command, instrument: instrument, slot: 0) == .none {
                            passed &+= 1
                        }
                    }
                    state.time = time
                }
                blackHole(passed)
            },
            setup: { try state.setUp(rules) }, teardown: { state.tearDown() })
    }
    riskBenchmark(
        "Risk: one pre-trade check per order (max position)",
        rules: [
            RiskRule(strategy: 1, instrument: "HOST0", maxPosition: "100"),
            RiskRule(strategy: 1, instrument: "HOST1", maxPosition: "100"),
        ])
    riskBenchmark(
        "Risk: all pre-trade checks per order (quantity, notional, collar, open orders, position, gross exposure over 2 instruments, throttle)",
        rules: [
            RiskRule(
                strategy: 1, maxOrderQuantity: "1", maxOrderNotional: "1000", priceCollarBasisPoints: "100",
                maxOpenOrders: 1_000, maxPosition: "100"),
            RiskRule(
                strategy: 1, maxGrossExposure: ["USD": "1000000"], maxOrdersPerSecond: "1000000", orderBurst: 1_000_000),
        ])

    // Indicators, one value per operation: a rolling sum (mean, deviation, z-score) of 50, an
    // EMA, an RSI and a MACD, updated incrementally.
    let indicatorState = IndicatorBench()
    Benchmark(
        "Indicators per value (rolling sum 50 with z-score, EMA 20, RSI 14, MACD 12/26/9)",
        configuration: configuration(.mega),
        closure: { benchmark in
            guard var set = indicatorState.set.take() else { return }
            var total = 0.0
            indicatorState.values.withUnsafeBufferPointer { values in
                var cursor = indicatorState.cursor
                for _ in benchmark.scaledIterations {
                    total += set.update(values[cursor & 4_095])
                    cursor &+= 1
                }
                indicatorState.cursor = cursor
            }
            blackHole(total)
            indicatorState.set = set
        },
        setup: {
            var random = SplitMix64(seed: 1)
            var price = 100_000.0
            indicatorState.values = (0..<4_096).map { _ in
                price += Double(Int64(random.next(below: 21)) - 10)
                return price
            }
        })

    // Market-data loaders: one benchmark run replays a file of exactly as many rows as the
    // run's scaled iterations (1M), so figures are per row, malloc counts included.
    func feedBenchmark(_ name: String, _ format: FeedFormat, header: String?, row: @escaping @Sendable (Int) -> String)
    {
        let state = FeedBench(name)
        Benchmark(
            "Feed loader \(format.rawValue), per row (1M-row file on tmpfs)", configuration: configuration(.mega),
            closure: { benchmark in
                guard var replay = state.replay.take() else { return }
                try replay.replay(path: state.path)
                blackHole(replay.statistics.rows)
                state.replay = consume replay
            },
            setup: {
                var text = header.map { $0 + "\n" } ?? ""
                text.reserveCapacity(100 << 20)
                for index in 0..<1_000_000 { text += row(index) + "\n" }
                _ = text.withCString { pointer in
                    let file = fopen(state.path, "w")
                    defer { fclose(file) }
                    return fputs(pointer, file)
                }
                let scale = try FeedReplay.detectScale(format: format, paths: [state.path])
                state.replay = try FeedReplay(format: format, priceIncrement: scale.price, sizeIncrement: scale.size)
            },
            teardown: {
                state.replay = nil
                unlink(state.path)
            })
    }
    feedBenchmark(
        "quotes", .tardisQuotes,
        header: "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"
    ) { index in
        "binance-futures,BTCUSDT,\(1_582_329_601_096_000 + index),\(1_582_329_603_502_092 + index),0.84,\(9_682 + index % 7).5,9681.92,0.67"
    }
    feedBenchmark("l3", .l3JSONLines, header: nil) { index in
        let id = index / 2
        return index % 2 == 0
            ? "{\"seq\":\(index + 1),\"op\":\"add\",\"order_id\":\(id),\"side\":\"\(id % 2 == 0 ? "bid" : "ask")\",\"price\":\"\(id % 2 == 0 ? 99 : 101).\(id % 50)\",\"size\":\"1.5\"}"
            : "{\"seq\":\(index + 1),\"op\":\"delete\",\"order_id\":\(id)}"
    }

    // Mempool: decode a pending Router02 swap and simulate it against the pools (the
    // analysis of one pending transaction before the opportunity search).
    let swaps = SwapBench()
    Benchmark(
        "Mempool decode + simulate one pending swap",
        configuration: configuration(.kilo),
        closure: { benchmark in
            guard let flow = swaps.flow else { return }
            var pools = flow.pools
            var total: UInt128 = 0
            let count = flow.transactions.count
            for iteration in benchmark.scaledIterations {
                let index = iteration % count
                let value = flow.transactions[index].value
                flow.withCalldata(of: index) { raw in
                    if let intent = try? RouterDecoder.decode(raw, value: value),
                        let amounts = try? SwapSimulator.simulate(intent, pools: &pools, commit: false)
                    {
                        total &+= amounts[1]
                    }
                }
            }
            blackHole(total)
        },
        setup: { swaps.flow = SyntheticSwapFlow(count: 100_000, tokenCount: 256, seed: 3) },
        teardown: { swaps.flow = nil })

    // The whole analysis of one pending transaction: Bloom de-duplication, rules, decode,
    // simulation, back-run search over the moved pools, restore.
    let analysis = AnalyzerBench()
    Benchmark(
        "Mempool analyze one pending transaction (dedupe, decode, simulate, search)",
        configuration: configuration(.kilo),
        closure: { benchmark in
            guard let flow = analysis.flow, var analyzer = analysis.analyzer.take() else { return }
            var found = 0
            let count = flow.transactions.count
            for _ in benchmark.scaledIterations {
                let index = analysis.cursor % count
                analysis.cursor &+= 1
                var transaction = flow.transactions[index]
                transaction.hash.words.3 = UInt64(analysis.cursor)  // fresh hashes: no duplicates
                let result = flow.withCalldata(of: index) { analyzer.analyze(transaction, calldata: $0) }
                if case .opportunity = result { found &+= 1 }
            }
            analysis.analyzer = consume analyzer
            blackHole(found)
        },
        setup: {
            let flow = SyntheticSwapFlow(count: 100_000, tokenCount: 256, seed: 3)
            analysis.flow = flow
            analysis.analyzer = MempoolAnalyzer(
                pools: flow.pools, seen: try BloomFilter(capacity: 50_000_000, falsePositiveRate: 0.001))
        },
        teardown: {
            analysis.analyzer = nil
            analysis.flow = nil
        })

    // The mempool inside the engine's logic, per pending transaction: its record's events
    // (about 13: chunks and the end) put back together, analysed, bundled, and every output
    // folded into the output hash, as the live logic stage and a replay run it. A new chain
    // head starts each pass over the 2,000 signed transactions, so none is a duplicate.
    let pipeline = MempoolLogicBench()
    Benchmark(
        "Engine logic per pending transaction (records, analysis, bundles, output hash)",
        configuration: configuration(.kilo),
        closure: { benchmark in
            guard var workload = pipeline.workload.take() else { return }
            for _ in benchmark.scaledIterations { workload.handleNextTransaction() }
            blackHole(workload.outputs.hasher.value)
            pipeline.workload = consume workload
        },
        setup: { pipeline.workload = try MempoolLogicWorkload(count: 2_000) },
        teardown: { pipeline.workload = nil })

    // Bloom filter: 1M transaction hashes at 1%, looked up with hashes half of which are in it.
    let bloom = BloomBench()
    Benchmark(
        "Bloom filter lookup (1M keys, 1%)",
        configuration: configuration(.mega),
        closure: { benchmark in
            guard let filter = bloom.filter.take() else { return }
            var hits = 0
            let keys = bloom.keys
            for iteration in benchmark.scaledIterations where filter.contains(keys[iteration & (keys.count - 1)]) {
                hits &+= 1
            }
            bloom.filter = consume filter
            blackHole(hits)
        },
        setup: {
            var random = PeregrineCore.SplitMix64(seed: 11)
            var filter = try BloomFilter(capacity: 1_000_000, falsePositiveRate: 0.01)
            var keys: [TransactionHash] = []
            for index in 0..<(1 << 20) {
                let key = TransactionHash(random.next(), random.next(), random.next(), random.next())
                if index < 1_000_000 && index % 2 == 0 { filter.insert(key) }
                keys.append(key)
            }
            bloom.keys = keys
            bloom.filter = consume filter
        },
        teardown: { bloom.filter = nil })
}

final class SwapBench: @unchecked Sendable {
    var flow: SyntheticSwapFlow?
}

final class AnalyzerBench: @unchecked Sendable {
    var flow: SyntheticSwapFlow?
    var analyzer: MempoolAnalyzer?
    var cursor = 0
}

final class MempoolLogicBench: @unchecked Sendable {
    var workload: MempoolLogicWorkload?
}

final class BloomBench: @unchecked Sendable {
    var filter: BloomFilter?
    var keys: [TransactionHash] = []
}
