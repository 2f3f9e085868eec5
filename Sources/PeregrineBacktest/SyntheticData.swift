import Crypto
import PeregrineCore
import PeregrineModel

/// `peregrine data generate`: a synthetic market written as a converted event file, for
/// backtests that need data of a known shape, of any length, the same on every machine.
///
/// Each instrument (`SYN0`, `SYN1`…: `InstrumentDefinition.synthetic`, on the `tickSize` and
/// `lotSize` grids) has an L2 book of `depth` levels a side on consecutive ticks, never crossed,
/// opened by a snapshot at `start`.
/// Then messages, one instrument's each, `interval` apart on average (uniform from 1 ns to
/// twice it):
/// - 60%: a level's size changes (1…1,000 lots; levels near the touch more often);
/// - 25%: a trade at the touch (buyer or seller aggressor, 1 lot up to the touch's size), with
///   the book change it makes: the touch's size less the trade, or the level gone (the next
///   becomes the touch, the spread widens by a tick, a level joins at the far end);
/// - 15%: the spread narrows by a new level inside it (a tick wide already: one side's touch is
///   cancelled instead), a side's far level leaving.
///
/// The touch wanders as a random walk from `price`; a bid never goes below one tick (its levels
/// shrink to one lot rather than go). Deterministic from the settings; the file's metadata
/// names them as its source (format `synthetic`, the SHA-256 of their text).
public enum SyntheticData {
    public struct Settings: Equatable, Sendable {
        /// At least this many events are written, ending with a whole message.
        public var events: UInt64 = 1_000_000
        public var seed: UInt64 = 1
        /// 1…64 instruments.
        public var instruments = 1
        /// Nanoseconds since the epoch of the snapshot (default 2026-01-01T00:00:00Z).
        public var start: UInt64 = 1_767_225_600_000_000_000
        /// The mean time between messages, ns.
        public var interval: UInt64 = 100_000
        /// Where each best bid starts, in ticks (at 0.01, 10,000 is 100.00).
        public var price: Int64 = 10_000
        /// Levels a side, 1…1,000.
        public var depth = 20
        /// The instruments' price grid (default 0.01).
        public var tickSize = InstrumentDefinition.synthetic(InstrumentID(0), hosted: false).tickSize
        /// The instruments' quantity grid (default 0.001); sizes are 1…1,000 lots of it.
        public var lotSize = InstrumentDefinition.synthetic(InstrumentID(0), hosted: false).lotSize

        public init() {}

        /// The settings as the file's metadata names them.
        public var description: String {
            "seed=\(seed) events=\(events) instruments=\(instruments) start=\(UTCTime.text(start)) "
                + "interval-ns=\(interval) price-ticks=\(price) depth=\(depth) tick=\(tickSize) lot=\(lotSize)"
        }
    }

    /// The instruments a file generated with `settings` holds.
    public static func instruments(_ settings: Settings) -> [InstrumentDefinition] {
        (0..<settings.instruments).map { index in
            var definition = InstrumentDefinition.synthetic(InstrumentID(UInt32(index)), hosted: false)
            definition.tickSize = settings.tickSize
            definition.lotSize = settings.lotSize
            return definition
        }
    }

    /// Writes the synthetic market of `settings` to `output` (under another name, renamed when
    /// complete, as `data convert` does); returns the events written. `stopRequested` is asked
    /// every 65,536 events whether to stop: a stop throws (`data`) and writes nothing.
    /// `announce` runs with the count before the complete file is renamed into place: what it
    /// throws fails the run, leaving the file at `output` as it was.
    public static func generate(
        _ settings: Settings, output: String, progress: ((Double) -> Void)? = nil,
        stopRequested: (() -> String?)? = nil, announce: (UInt64) throws(BacktestError) -> Void = { _ in }
    ) throws(BacktestError) -> UInt64 {
        guard settings.events > 0, settings.events <= 10_000_000_000 else {
            throw .usage("--events \(settings.events): use 1 to 10,000,000,000")
        }
        guard (1...64).contains(settings.instruments) else {
            throw .usage("--instruments \(settings.instruments): use 1 to 64")
        }
        guard (1...1_000).contains(settings.depth) else { throw .usage("--depth \(settings.depth): use 1 to 1,000") }
        guard settings.interval > 0, settings.interval <= 3_600_000_000_000 else {
            throw .usage("--interval-us: use more than 0 and at most an hour")
        }
        guard settings.price > Int64(settings.depth), settings.price <= 1_000_000_000_000 else {
            throw .usage(
                "--price \(Price(ticks: settings.price).formatted(tickSize: settings.tickSize)): use more than the "
                    + "depth's \(settings.depth) ticks (\(settings.depth) × \(settings.tickSize)) and at most "
                    + "1,000,000,000,000 ticks (× \(settings.tickSize))")
        }
        // Each message comes at most 2 × interval after the one before: the last may not pass
        // the latest time a feed reads (2262-04-11T23:47:16Z, Int64.max ns).
        let (span, spanOverflows) = settings.events.multipliedReportingOverflow(by: 2 &* settings.interval)
        let (end, endOverflows) = settings.start.addingReportingOverflow(span)
        guard !spanOverflows, !endOverflows, end <= UInt64(Int64.max) else {
            throw .usage(
                "--start \(UTCTime.text(settings.start)) with --events \(settings.events) at --interval-us "
                    + "\(Money.decimalText(Int128(settings.interval), decimals: 3)) may run past \(UTCTime.text(UInt64(Int64.max))), the latest time "
                    + "there is (each message comes up to twice the interval after the one before): give fewer "
                    + "events, a shorter interval or an earlier start")
        }
        try OutputFile.check([("--output", output)], inputs: [])
        let description = settings.description
        let digest = JobIdentity.hex(SHA256.hash(data: Array(description.utf8)))
        let metadata = EventFileMetadata(
            instruments: instruments(settings), sources: [(format: "synthetic", sha256: digest, path: description)])
        var market = SyntheticBooks(settings)
        var pending: [Event] = []
        pending.reserveCapacity(2 * settings.depth * settings.instruments)
        var next = 0
        var written: UInt64 = 0
        let target = try DataConversion.target(of: output, metadata)
        return try DataConversion.write(
            metadata, to: output, target: target, progress: progress, stopRequested: stopRequested,
            share: { Double(written) / Double(settings.events) },
            next: {
                if next == pending.count {
                    guard written < settings.events else { return nil }
                    pending.removeAll(keepingCapacity: true)
                    next = 0
                    market.nextMessage(into: &pending)
                }
                next += 1
                written &+= 1
                return pending[next - 1]
            },
            finished: { metadata }, commit: announce)
    }
}

/// The books `SyntheticData` walks, and the messages that walk them.
struct SyntheticBooks {
    /// One instrument's book: `depth` bids down from `bestBid` and asks up from `bestBid +
    /// spread`, sizes by distance from the touch.
    struct Book {
        var bestBid: Int64
        var spread: Int64 = 1
        var bids: [Int64]
        var asks: [Int64]
        var bestAsk: Int64 { bestBid &+ spread }
    }

    let settings: SyntheticData.Settings
    var random: SplitMix64
    var books: [Book]
    var time: UInt64
    var nextTradeID: UInt64 = 1
    var opened = false

    init(_ settings: SyntheticData.Settings) {
        self.settings = settings
        random = SplitMix64(seed: settings.seed)
        time = settings.start
        books = []
        for _ in 0..<settings.instruments {
            var book = Book(bestBid: settings.price, bids: [], asks: [])
            for _ in 0..<settings.depth {
                book.bids.append(size())
                book.asks.append(size())
            }
            books.append(book)
        }
    }

    mutating func size() -> Int64 { 1 &+ Int64(random.next(below: 1_000)) }

    /// The next message's events (the snapshot first).
    mutating func nextMessage(into events: inout [Event]) {
        guard opened else {
            opened = true
            for index in books.indices {
                for level in 0..<settings.depth {
                    let book = books[index]
                    events.append(update(index, .buy, book.bestBid &- Int64(level), book.bids[level]))
                    events.append(update(index, .sell, book.bestAsk &+ Int64(level), book.asks[level]))
                }
            }
            return
        }
        time &+= 1 &+ random.next(below: 2 &* settings.interval)
        let index = Int(random.next(below: UInt64(books.count)))
        let side: Side = random.next(below: 2) == 0 ? .buy : .sell
        let roll = random.next(below: 100)
        let depth = settings.depth
        if roll < 60 {
            // Nearer the touch more often: a level below a random bound.
            let level = Int(random.next(below: random.next(below: UInt64(depth)) &+ 1))
            let lots = size()
            if side == .buy { books[index].bids[level] = lots } else { books[index].asks[level] = lots }
            events.append(update(index, side, price(index, side, level), lots))
        } else if roll < 85 {
            // A trade: the aggressor takes from the other side's touch.
            let taken: Side = side == .buy ? .sell : .buy
            let touch = taken == .buy ? books[index].bids[0] : books[index].asks[0]
            let lots = 1 &+ Int64(random.next(below: UInt64(touch)))
            let at = price(index, taken, 0)
            events.append(
                Event(
                    timestamp: time, exchangeTimestamp: time, instrument: InstrumentID(UInt32(index)),
                    payload: .trade(
                        Trade(
                            price: Price(ticks: at), quantity: Quantity(lots: lots), aggressor: side,
                            tradeID: nextTradeID))))
            nextTradeID &+= 1
            if lots < touch || (taken == .buy && books[index].bestBid &- Int64(depth) < 1) {
                let left = Swift.max(touch &- lots, 1)
                if taken == .buy { books[index].bids[0] = left } else { books[index].asks[0] = left }
                events.append(update(index, taken, at, left))
            } else {
                removeTouch(index, taken, into: &events)
            }
        } else if books[index].spread > 1 {
            // A new level inside the spread: the side's far level leaves.
            let lots = size()
            let far = price(index, side, depth &- 1)
            if side == .buy {
                books[index].bids.removeLast()
                books[index].bids.insert(lots, at: 0)
                books[index].bestBid &+= 1
            } else {
                books[index].asks.removeLast()
                books[index].asks.insert(lots, at: 0)
            }
            books[index].spread &-= 1
            events.append(update(index, side, far, 0))
            events.append(update(index, side, price(index, side, 0), lots))
        } else if side == .sell || books[index].bestBid &- Int64(depth) >= 1 {
            removeTouch(index, side, into: &events)
        } else {
            // (No bid below one tick: the touch's size changes instead.)
            books[index].bids[0] = size()
            events.append(update(index, .buy, books[index].bestBid, books[index].bids[0]))
        }
    }

    /// The touch of `side` goes: the next level becomes the touch (the spread a tick wider) and
    /// a level joins at the far end.
    mutating func removeTouch(_ index: Int, _ side: Side, into events: inout [Event]) {
        let gone = price(index, side, 0)
        let lots = size()
        if side == .buy {
            books[index].bids.removeFirst()
            books[index].bids.append(lots)
            books[index].bestBid &-= 1
        } else {
            books[index].asks.removeFirst()
            books[index].asks.append(lots)
        }
        books[index].spread &+= 1
        events.append(update(index, side, gone, 0))
        events.append(update(index, side, price(index, side, settings.depth &- 1), lots))
    }

    /// The price of `side`'s level `level` ticks from its touch.
    func price(_ index: Int, _ side: Side, _ level: Int) -> Int64 {
        side == .buy ? books[index].bestBid &- Int64(level) : books[index].bestAsk &+ Int64(level)
    }

    func update(_ index: Int, _ side: Side, _ price: Int64, _ lots: Int64) -> Event {
        Event(
            timestamp: time, exchangeTimestamp: time, instrument: InstrumentID(UInt32(index)),
            payload: .levelUpdate(LevelUpdate(side: side, price: Price(ticks: price), quantity: Quantity(lots: lots))))
    }
}
