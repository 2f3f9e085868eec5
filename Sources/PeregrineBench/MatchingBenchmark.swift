import Histogram
import PeregrineBook
import PeregrineCore
import PeregrineModel
import PeregrineSys

/// Counts reports without keeping them: the cheapest sink, so a benchmark measures the book.
public struct ReportCounter: ExecutionReportSink {
    public var reports = 0
    public var fills = 0
    /// Sum of filled quantity over both sides' fill reports.
    public var filledLots: Int64 = 0

    public init() {}

    @inlinable
    public mutating func accept(_ report: ExecutionReport) {
        reports &+= 1
        if report.isFill {
            fills &+= 1
            filledLots &+= report.quantity.lots
        }
    }
}

/// Drives one `OrderBook` with an `OrderFlow` on the calling thread and measures it:
/// throughput over the whole stream, the latency of each command, and the latency of adding
/// and cancelling a passive order in the resulting book. Each phase starts from a fresh book
/// rebuilt from the flow's prefill (not timed).
public enum MatchingBenchmark {
    public struct Result: Sendable {
        public var commands: Int
        /// The whole stream, with lookahead prefetching (as the engine runs it); median of the rounds.
        public var seconds: Double
        /// The same without lookahead prefetching.
        public var secondsWithoutLookahead: Double
        public var reports: Int
        public var trades: Int
        /// Per-command latency, ns (p50, p99, p99.9, p99.99, max).
        public var latency: [UInt64]
        /// Per-command latency by `CommandKind`, ns (p50, p99, p99.9).
        public var latencyByKind: [[UInt64]]
        /// Cost of the two clock reads that bracket each timed operation, ns (median).
        public var timerOverhead: UInt64
        public var passiveAddMedian: UInt64
        public var passiveCancelMedian: UInt64
        public var restingAtEnd: Int
        public var levelsAtEnd: (bids: Int, asks: Int)
        public var stateHash: UInt64

        public var commandsPerSecond: Double { Double(commands) / seconds }
        public var commandsPerSecondWithoutLookahead: Double { Double(commands) / secondsWithoutLookahead }
    }

    public static func run(flow: OrderFlow, rounds: Int = 3, passiveSamples: Int = 200_000) throws(BookError) -> Result
    {
        let rounds = Swift.max(rounds, 1)
        let clock = CycleClock.calibrate()

        // Throughput: the whole stream, timed as one interval; with and without lookahead,
        // alternating, `rounds` times each; the medians are reported (the machine is noisy).
        var counter = ReportCounter()
        var withLookahead: [Double] = []
        var withoutLookahead: [Double] = []
        var trades = 0
        var streamReports = 0
        var stateHash: UInt64 = 0
        for _ in 0..<rounds {
            for lookahead in [false, true] {
                var book = try OrderBook(spec: flow.spec)
                for command in flow.prefill { book.process(command, sink: &counter) }
                counter = ReportCounter()
                let start = clock.nowTicks()
                flow.commands.withUnsafeBufferPointer { commands in
                    for position in commands.indices {
                        if lookahead { book.prefetch(upcoming: commands, before: position) }
                        book.process(commands[position], sink: &counter)
                    }
                }
                let elapsed = Double(clock.scale(clock.nowTicks() &- start)) / 1e9
                if lookahead {
                    streamReports = counter.reports
                    withLookahead.append(elapsed)
                    trades = book.counters.trades
                    stateHash = book.stateHash()
                } else {
                    withoutLookahead.append(elapsed)
                }
            }
        }
        let seconds = withLookahead.sorted()[rounds / 2]
        let secondsWithoutLookahead = withoutLookahead.sorted()[rounds / 2]
        counter = ReportCounter()

        // Latency: every command timed on its own.
        var book = try OrderBook(spec: flow.spec)
        for command in flow.prefill { book.process(command, sink: &counter) }
        var histogram = Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: .three)
        var byKind = [Histogram<UInt64>](repeating: histogram, count: 4)
        flow.commands.withUnsafeBufferPointer { commands in
            for position in commands.indices {
                let before = pg_read_cycle_counter()
                book.prefetch(upcoming: commands, before: position)
                book.process(commands[position], sink: &counter)
                let after = pg_read_cycle_counter()
                let nanoseconds = clock.scale(after &- before)
                histogram.record(nanoseconds)
                byKind[CommandKind(commands[position]).rawValue].record(nanoseconds)
            }
        }
        var overhead = Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: 1_000_000_000, numberOfSignificantValueDigits: .three)
        for _ in 0..<100_000 {
            let before = pg_read_cycle_counter()
            let after = pg_read_cycle_counter()
            overhead.record(clock.scale(after &- before))
        }

        // Passive add and cancel in the book the stream left behind.
        var adds = Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: 1_000_000_000, numberOfSignificantValueDigits: .three)
        var cancels = adds
        let account = AccountID(1_000_001)
        for sample in 0..<passiveSamples {
            let top = book.bestBidOffer
            let side: Side = sample % 2 == 0 ? .buy : .sell
            let distance = Int64(1 + sample % 20)
            let price =
                side == .buy
                ? (top.bid?.price.ticks ?? OrderFlow.midPrice) - distance
                : (top.ask?.price.ticks ?? OrderFlow.midPrice) + distance
            let id = OrderID(UInt64(1) << 62 | UInt64(sample))
            let add = OrderCommand.limit(
                id, account: account, side, price: Price(ticks: price), quantity: Quantity(lots: 5))
            let cancel = OrderCommand.cancel(id, account: account)
            let t0 = pg_read_cycle_counter()
            book.process(add, sink: &counter)
            let t1 = pg_read_cycle_counter()
            book.process(cancel, sink: &counter)
            let t2 = pg_read_cycle_counter()
            adds.record(clock.scale(t1 &- t0))
            cancels.record(clock.scale(t2 &- t1))
        }

        return Result(
            commands: flow.commands.count, seconds: seconds, secondsWithoutLookahead: secondsWithoutLookahead,
            reports: streamReports, trades: trades,
            latency: [50, 99, 99.9, 99.99].map { histogram.valueAtPercentile($0) } + [histogram.max],
            latencyByKind: byKind.map { kind in [50, 99, 99.9].map { kind.valueAtPercentile($0) } },
            timerOverhead: overhead.valueAtPercentile(50), passiveAddMedian: adds.valueAtPercentile(50),
            passiveCancelMedian: cancels.valueAtPercentile(50), restingAtEnd: book.restingOrderCount,
            levelsAtEnd: (book.levelCount(.buy), book.levelCount(.sell)), stateHash: stateHash)
    }
}

/// The four kinds of command in a mixed stream, for latency by kind.
public enum CommandKind: Int, CaseIterable, Sendable {
    /// A new limit order that may rest (GTC or post-only), or a stop.
    case add
    case cancel
    /// A new order that must trade now or never rest: market, IOC, FOK.
    case aggressive
    case replace

    @inlinable
    public init(_ command: OrderCommand) {
        switch command.action {
        case .cancel, .status: self = .cancel
        case .replace: self = .replace
        case .new:
            let immediate =
                command.type == .market || command.timeInForce == .immediateOrCancel
                || command.timeInForce == .fillOrKill
            self = immediate ? .aggressive : .add
        }
    }
}
