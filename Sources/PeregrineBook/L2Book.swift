import PeregrineCore
import PeregrineModel

/// A level-2 (market-by-price) book: every level of both sides, exactly, on any price grid.
///
/// Each side is a `LevelStore` of quantities: a dense window of `windowSize` ticks placed
/// around the side's first level and moved to the touch once the touch has left it (at the
/// next change of shape outside it: `LevelStore`'s `followsTouch`; O(1) updates near the touch
/// where the grid is coarse) and a sorted store of every other level (fast because real books
/// keep most of their changes near the touch; a 1e-8 grid lives there). Nothing is dropped:
/// memory grows with the levels held, up to `maxLevelsPerSide`, beyond which a new level is
/// refused and counted (`refusedAtCeiling`). Best bid and ask, depth and counts are exact at every moment. Owned by
/// one thread; no allocation per update once the stores have grown.
public struct L2Book: ~Copyable {
    public let instrument: InstrumentID
    /// The most levels each side may hold.
    public let maxLevelsPerSide: Int
    /// Ticks each side's dense window covers (a multiple of 64).
    public let windowSize: Int
    /// The window of a book in the engine's book set: 4,096 ticks (32 KB a side).
    public static let defaultWindowSize = 4_096
    /// The default most levels per side (2^22: far more than any venue publishes).
    public static let defaultMaxLevelsPerSide = 1 << 22

    @usableFromInline var bids: LevelStore<Int64, BucketWindow>
    @usableFromInline var asks: LevelStore<Int64, BucketWindow>
    /// Counts of updates, and of new levels refused at the ceiling.
    public var counters = BookCounters()

    /// An empty book holding at most `maxLevelsPerSide` levels on each side.
    /// `windowSize` ticks (64 to 2^20, rounded up to a multiple of 64) are held densely around
    /// each side's first level; 8 bytes a tick a side.
    public init(
        instrument: InstrumentID, windowSize: Int = L2Book.defaultWindowSize,
        maxLevelsPerSide: Int = L2Book.defaultMaxLevelsPerSide
    ) throws(BookError) {
        guard maxLevelsPerSide >= 1 else { throw .invalidLevelCeiling(maxLevelsPerSide) }
        guard (64...(1 << 20)).contains(windowSize) else { throw .invalidWindowSize(windowSize) }
        self.instrument = instrument
        self.maxLevelsPerSide = maxLevelsPerSide
        self.windowSize = (windowSize + 63) / 64 * 64
        bids = LevelStore(
            direction: .highestFirst, windowSize: windowSize, ceiling: maxLevelsPerSide, followsTouch: true)
        asks = LevelStore(
            direction: .lowestFirst, windowSize: windowSize, ceiling: maxLevelsPerSide, followsTouch: true)
    }

    // MARK: Updates

    /// Sets the level at `update.price` on `update.side` to `update.quantity` (0 removes it).
    /// A new size for a level held in a one-tick slot of the dense window (most changes) is one
    /// store here; a level added or removed, or held elsewhere, takes `changeShape`, out of line.
    @inlinable @inline(__always)
    @discardableResult
    public mutating func apply(_ update: LevelUpdate) -> LevelUpdateOutcome {
        counters.updates &+= 1
        let price = update.price.ticks
        let lots = update.quantity.lots
        let applied =
            update.side == .buy
            ? (lots != 0 && bids.overwriteInWindow(price, with: lots))
                || Self.changeShape(&bids, price: price, lots: lots)
            : (lots != 0 && asks.overwriteInWindow(price, with: lots))
                || Self.changeShape(&asks, price: price, lots: lots)
        return applied ? .applied : refuse()
    }

    /// Sets one level of `side` by locating it (a level added or removed, or held outside the
    /// window's one-tick slots); false when a new level is refused at the ceiling. Out of line:
    /// one copy for both sides.
    @usableFromInline @inline(never)
    static func changeShape(_ side: inout LevelStore<Int64, BucketWindow>, price: Int64, lots: Int64) -> Bool {
        let location = side.locate(price)
        if location.found {
            if lots != 0 { side.value(at: location).pointee = lots } else { side.remove(at: location) }
            return true
        }
        return lots == 0 || side.insert(lots, price: price, at: location) != nil
    }

    @usableFromInline @inline(never)
    mutating func refuse() -> LevelUpdateOutcome {
        counters.refusedAtCeiling &+= 1
        return .refusedAtCeiling
    }

    /// Removes every level (the counters stay).
    public mutating func clear() {
        bids.removeAll()
        asks.removeAll()
    }

    // MARK: Queries

    /// The best (highest) bid, if any.
    @inlinable @inline(__always)
    public var bestBid: BookLevel? { Self.best(bids) }

    /// The best (lowest) ask, if any.
    @inlinable @inline(__always)
    public var bestAsk: BookLevel? { Self.best(asks) }

    @inlinable @inline(__always)
    static func best(_ side: borrowing LevelStore<Int64, BucketWindow>) -> BookLevel? {
        side.best.map { side.bookLevel(at: $0) { $0 } }
    }

    @inlinable @inline(__always)
    public var bestBidOffer: BestBidOffer { BestBidOffer(bid: bestBid, ask: bestAsk) }

    /// The best bid and ask prices when both sides have a level: `bestBidOffer`'s prices
    /// without its quantities (what a mid needs). O(1), no allocation.
    @inlinable @inline(__always)
    public var touchPrices: (bid: Price, ask: Price)? {
        guard let bid = bids.bestPrice, let ask = asks.bestPrice else { return nil }
        return (Price(ticks: bid), Price(ticks: ask))
    }

    /// The best level of `side`, if any (half of `bestBidOffer`'s work).
    @inlinable @inline(__always)
    public func best(_ side: Side) -> BookLevel? { side == .buy ? bestBid : bestAsk }

    /// Ask minus bid in ticks, when both sides exist.
    public var spread: Int64? { bestBidOffer.spread }

    /// How many times the sides' dense windows have moved to follow the touch (a market that
    /// drifted more than half a window): not part of the book's state.
    public var windowMoves: Int { bids.windowMoves + asks.windowMoves }

    /// Levels held on `side`.
    @inlinable
    public func levelCount(_ side: Side) -> Int { side == .buy ? bids.count : asks.count }

    /// The quantity at `price` on `side` (zero when no level is held there).
    @inlinable
    public func quantity(at price: Price, side: Side) -> Quantity {
        let level = side == .buy ? bids.find(price.ticks) : asks.find(price.ticks)
        return Quantity(lots: level?.pointee ?? 0)
    }

    /// Writes up to `levels.count` levels of `side`, best first; returns how many.
    public func depth(_ side: Side, into levels: UnsafeMutableBufferPointer<BookLevel>) -> Int {
        var written = 0
        forEachLevel(side) { level in
            guard written < levels.count else { return false }
            levels[written] = level
            written += 1
            return true
        }
        return written
    }

    /// Up to `count` levels of `side`, best first (allocates: for tools and tests).
    public func depth(_ side: Side, levels count: Int) -> [BookLevel] {
        [BookLevel](unsafeUninitializedCapacity: Swift.max(0, Swift.min(count, levelCount(side)))) {
            buffer, initialized in
            initialized = depth(side, into: buffer)
        }
    }

    /// Calls `body` with every level of `side`, best first, until it returns false.
    public func forEachLevel(_ side: Side, _ body: (BookLevel) -> Bool) {
        if side == .buy { bids.forEachBookLevel(lots: { $0 }, body) } else { asks.forEachBookLevel(lots: { $0 }, body) }
    }
}

extension L2Book {
    /// Adds every level (best first, per side) and the counters to `hasher`: equal books hash
    /// equally on every machine. O(levels).
    public func combineState(into hasher: inout StateHasher) {
        hasher.combine(instrument.rawValue)
        for side in [Side.buy, .sell] {
            hasher.combine(levelCount(side))
            forEachLevel(side) { level in
                hasher.combine(level.price.ticks)
                hasher.combine(level.quantity.lots)
                return true
            }
        }
        hasher.combine(counters.updates)
        hasher.combine(counters.refusedAtCeiling)
    }
}

extension BookSet {
    /// Every book's state, in instrument order (see `L2Book.combineState`).
    public func combineState(into hasher: inout StateHasher) {
        hasher.combine(count)
        hasher.combine(unknownInstrumentUpdates)
        for index in 0..<count { shared.books[index].combineState(into: &hasher) }
    }
}

extension L2Book {
    /// Writes the counters and every level.
    public func encodeState(into encoder: inout SnapshotEncoder) {
        encoder.write(instrument.rawValue)
        encoder.write(Int64(counters.updates))
        encoder.write(Int64(counters.refusedAtCeiling))
        for side in [Side.buy, .sell] {
            encoder.write(Int64(levelCount(side)))
            forEachLevel(side) { level in
                encoder.write(level.price.ticks)
                encoder.write(level.quantity.lots)
                return true
            }
        }
    }

    /// Loads what `encodeState` wrote into this book (same instrument).
    public mutating func restoreState(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        let stored = try decoder.read(UInt32.self, "instrument")
        guard stored == instrument.rawValue else {
            throw .mismatch("L2 book \(stored) where this engine has \(instrument)")
        }
        clear()
        let updates = Int(try decoder.read(Int64.self, "updates"))
        let refused = Int(try decoder.read(Int64.self, "refused at ceiling"))
        defer {
            counters.updates = updates
            counters.refusedAtCeiling = refused
        }
        for side in [Side.buy, .sell] {
            let count = try decoder.readCount("level count", minimumItemBytes: 16)
            for _ in 0..<count {
                let price = try decoder.read(Int64.self, "level price")
                let lots = try decoder.read(Int64.self, "level quantity")
                guard lots > 0, quantity(at: Price(ticks: price), side: side) == .zero else {
                    throw .invalid(field: "level", value: price)
                }
                guard
                    apply(LevelUpdate(side: side, price: Price(ticks: price), quantity: Quantity(lots: lots)))
                        == .applied
                else { throw .invalid(field: "level count", value: Int64(levelCount(side))) }
            }
        }
    }
}

extension BookSet {
    public func encodeState(into encoder: inout SnapshotEncoder) {
        encoder.write(Int64(count))
        encoder.write(Int64(unknownInstrumentUpdates))
        for index in 0..<count { shared.books[index].encodeState(into: &encoder) }
    }

    public mutating func restoreState(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        let stored = try decoder.read(Int64.self, "book count")
        guard stored == Int64(count) else { throw .mismatch("snapshot has \(stored) L2 books, this engine \(count)") }
        _unknownInstrumentUpdates = Int(try decoder.read(Int64.self, "unknown instrument updates"))
        for index in 0..<count { try shared.books[index].restoreState(from: &decoder) }
    }
}
