import PeregrineCore
import PeregrineModel

/// A level-2 (market-by-price) book: every level of both sides, exactly, on any price grid.
///
/// ```
///  window (dense, `windowSize` ticks from `low`, placed at the first price)
///   [ 0 0 5 0 3 0 0 9 0 0 12 … ]  bids   one Int64 per tick, a two-level bitmap of occupied ticks
///   [ … 0 8 0 2 0 0 0 0 0 0 1 ]  asks
///  outside the window: `PriceLevels` per side (occupied levels only, sorted, best last)
/// ```
///
/// Where the grid is coarse and the market stays near where it started, every update is an
/// O(1) write into the window; a level anywhere else (a 1e-8 grid, a far deep level, a market
/// that walked away) goes to the side's sorted store, which is fast because real books keep most
/// of their changes near the touch. Nothing is dropped: memory grows with the levels held, up to
/// `maxLevelsPerSide`, beyond which a new level is refused and counted (`refusedAtCeiling`).
/// Best bid and ask, depth and counts are exact at every moment (the two parts are merged by
/// price). Owned by one thread; no allocation per update once the stores have grown.
public struct L2Book: ~Copyable {
    public let instrument: InstrumentID
    /// The most levels each side may hold.
    public let maxLevelsPerSide: Int
    /// Ticks the dense window covers (a multiple of 64).
    public let windowSize: Int
    /// The window of a book in the engine's book set: 4,096 ticks (64 KB a book).
    public static let defaultWindowSize = 4_096
    /// The default most levels per side (2^22: far more than any venue publishes).
    public static let defaultMaxLevelsPerSide = 1 << 22

    @usableFromInline let bidQuantities: UnsafeMutablePointer<Int64>
    @usableFromInline let askQuantities: UnsafeMutablePointer<Int64>
    @usableFromInline var bidBits: LevelBitmap
    @usableFromInline var askBits: LevelBitmap
    /// Price in ticks of window index 0.
    @usableFromInline var low: Int64 = 0
    @usableFromInline var anchored = false
    @usableFromInline var bestBidIndex = -1
    @usableFromInline var bestAskIndex = -1
    @usableFromInline var bidCount = 0
    @usableFromInline var askCount = 0
    @usableFromInline var farBids: PriceLevels<BidOrder>
    @usableFromInline var farAsks: PriceLevels<AskOrder>
    /// Counts of updates, and of new levels refused at the ceiling.
    public var counters = BookCounters()

    /// An empty book holding at most `maxLevelsPerSide` levels on each side.
    /// `windowSize` ticks (64 to 2^20, rounded up to a multiple of 64) are held densely around
    /// the first price; 16 bytes a tick.
    public init(
        instrument: InstrumentID, windowSize: Int = L2Book.defaultWindowSize,
        maxLevelsPerSide: Int = L2Book.defaultMaxLevelsPerSide
    ) throws(BookError) {
        guard maxLevelsPerSide >= 1 else { throw .invalidLevelCeiling(maxLevelsPerSide) }
        guard (64...(1 << 20)).contains(windowSize) else { throw .invalidWindowSize(windowSize) }
        self.instrument = instrument
        self.maxLevelsPerSide = maxLevelsPerSide
        self.windowSize = (windowSize + 63) / 64 * 64
        bidQuantities = .allocate(capacity: self.windowSize)
        askQuantities = .allocate(capacity: self.windowSize)
        bidQuantities.initialize(repeating: 0, count: self.windowSize)
        askQuantities.initialize(repeating: 0, count: self.windowSize)
        bidBits = LevelBitmap(size: self.windowSize)
        askBits = LevelBitmap(size: self.windowSize)
        farBids = PriceLevels(initialCapacity: 64, ceiling: maxLevelsPerSide)
        farAsks = PriceLevels(initialCapacity: 64, ceiling: maxLevelsPerSide)
    }

    deinit {
        bidQuantities.deallocate()
        askQuantities.deallocate()
    }

    // MARK: Updates

    /// Sets the level at `update.price` on `update.side` to `update.quantity` (0 removes it).
    @inlinable
    @discardableResult
    public mutating func apply(_ update: LevelUpdate) -> LevelUpdateOutcome {
        counters.updates &+= 1
        let price = update.price.ticks
        let lots = update.quantity.lots
        if !anchored {
            if lots == 0 { return .applied }
            let (edge, overflow) = price.subtractingReportingOverflow(Int64(windowSize / 2))
            low = overflow ? Int64.min : edge
            anchored = true
        }
        let (offset, overflow) = price.subtractingReportingOverflow(low)
        if !overflow, offset >= 0, offset < Int64(windowSize) {
            let index = Int(offset)
            if lots != 0, levelCount(update.side) >= maxLevelsPerSide,
                (update.side == .buy ? bidQuantities[index] : askQuantities[index]) == 0
            {
                return refuse()
            }
            setWindowLevel(side: update.side, index: index, lots: lots)
            return .applied
        }
        return applyOutsideWindow(side: update.side, price: price, lots: lots)
    }

    /// A level outside the dense window: the side's sorted store. Kept out of line so the
    /// window's path stays small where it is inlined.
    @usableFromInline
    mutating func applyOutsideWindow(side: Side, price: Int64, lots: Int64) -> LevelUpdateOutcome {
        if lots != 0, levelCount(side) >= maxLevelsPerSide,
            (side == .buy ? farBids.lots(at: price) : farAsks.lots(at: price)) == 0
        {
            return refuse()
        }
        let change = side == .buy ? farBids.set(price: price, lots: lots) : farAsks.set(price: price, lots: lots)
        return change == .refusedAtCeiling ? refuse() : .applied
    }

    @usableFromInline @inline(never)
    mutating func refuse() -> LevelUpdateOutcome {
        counters.refusedAtCeiling &+= 1
        return .refusedAtCeiling
    }

    @inlinable
    mutating func setWindowLevel(side: Side, index: Int, lots: Int64) {
        if side == .buy {
            let previous = bidQuantities[index]
            bidQuantities[index] = lots
            if lots != 0 {
                if previous == 0 {
                    bidBits.insert(index)
                    bidCount &+= 1
                    if index > bestBidIndex { bestBidIndex = index }
                }
            } else if previous != 0 {
                bidBits.remove(index)
                bidCount &-= 1
                if index == bestBidIndex { bestBidIndex = bidBits.highest(atOrBelow: index) }
            }
        } else {
            let previous = askQuantities[index]
            askQuantities[index] = lots
            if lots != 0 {
                if previous == 0 {
                    askBits.insert(index)
                    askCount &+= 1
                    if bestAskIndex < 0 || index < bestAskIndex { bestAskIndex = index }
                }
            } else if previous != 0 {
                askBits.remove(index)
                askCount &-= 1
                if index == bestAskIndex { bestAskIndex = askBits.lowest(atOrAbove: index) }
            }
        }
    }

    /// Removes every level (the counters and the window's place stay).
    public mutating func clear() {
        // Only the occupied ticks are zeroed: O(levels), not O(window).
        var index = bestBidIndex
        while index >= 0 {
            bidQuantities[index] = 0
            index = bidBits.highest(atOrBelow: index &- 1)
        }
        index = bestAskIndex
        while index >= 0 {
            askQuantities[index] = 0
            index = askBits.lowest(atOrAbove: index &+ 1)
        }
        bidBits.removeAll()
        askBits.removeAll()
        bidCount = 0
        askCount = 0
        bestBidIndex = -1
        bestAskIndex = -1
        farBids.removeAll()
        farAsks.removeAll()
    }

    // MARK: Queries

    /// The best (highest) bid, if any: the better of the window's and the store's.
    @inlinable @inline(__always)
    public var bestBid: BookLevel? {
        if farBids.count == 0 {
            guard bestBidIndex >= 0 else { return nil }
            return BookLevel(
                price: Price(ticks: low &+ Int64(bestBidIndex)), quantity: Quantity(lots: bidQuantities[bestBidIndex]))
        }
        let far = farBids.best
        if bestBidIndex >= 0 {
            let price = low &+ Int64(bestBidIndex)
            if let far, far.price > price {
                return BookLevel(price: Price(ticks: far.price), quantity: Quantity(lots: far.lots))
            }
            return BookLevel(price: Price(ticks: price), quantity: Quantity(lots: bidQuantities[bestBidIndex]))
        }
        return far.map { BookLevel(price: Price(ticks: $0.price), quantity: Quantity(lots: $0.lots)) }
    }

    /// The best (lowest) ask, if any: the better of the window's and the store's.
    @inlinable @inline(__always)
    public var bestAsk: BookLevel? {
        if farAsks.count == 0 {
            guard bestAskIndex >= 0 else { return nil }
            return BookLevel(
                price: Price(ticks: low &+ Int64(bestAskIndex)), quantity: Quantity(lots: askQuantities[bestAskIndex]))
        }
        let far = farAsks.best
        if bestAskIndex >= 0 {
            let price = low &+ Int64(bestAskIndex)
            if let far, far.price < price {
                return BookLevel(price: Price(ticks: far.price), quantity: Quantity(lots: far.lots))
            }
            return BookLevel(price: Price(ticks: price), quantity: Quantity(lots: askQuantities[bestAskIndex]))
        }
        return far.map { BookLevel(price: Price(ticks: $0.price), quantity: Quantity(lots: $0.lots)) }
    }

    @inlinable @inline(__always)
    public var bestBidOffer: BestBidOffer { BestBidOffer(bid: bestBid, ask: bestAsk) }

    /// Ask minus bid in ticks, when both sides exist.
    public var spread: Int64? { bestBidOffer.spread }

    /// Levels held on `side`.
    @inlinable
    public func levelCount(_ side: Side) -> Int {
        side == .buy ? bidCount &+ farBids.count : askCount &+ farAsks.count
    }

    /// The quantity at `price` on `side` (zero when no level is held there).
    @inlinable
    public func quantity(at price: Price, side: Side) -> Quantity {
        let (offset, overflow) = price.ticks.subtractingReportingOverflow(low)
        if anchored, !overflow, offset >= 0, offset < Int64(windowSize) {
            return Quantity(lots: side == .buy ? bidQuantities[Int(offset)] : askQuantities[Int(offset)])
        }
        return quantityOutsideWindow(at: price.ticks, side: side)
    }

    @usableFromInline
    func quantityOutsideWindow(at price: Int64, side: Side) -> Quantity {
        Quantity(lots: side == .buy ? farBids.lots(at: price) : farAsks.lots(at: price))
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

    /// Calls `body` with every level of `side`, best first (the window and the store merged by
    /// price), until it returns false.
    func forEachLevel(_ side: Side, _ body: (BookLevel) -> Bool) {
        let isBid = side == .buy
        var index = isBid ? bestBidIndex : bestAskIndex
        var rank = 0
        while true {
            let window: (price: Int64, lots: Int64)? =
                index >= 0 ? (low &+ Int64(index), isBid ? bidQuantities[index] : askQuantities[index]) : nil
            let far = isBid ? farBids.level(rank: rank) : farAsks.level(rank: rank)
            let takeFar: Bool
            switch (window, far) {
            case (nil, nil): return
            case (nil, .some): takeFar = true
            case (.some, nil): takeFar = false
            case (.some(let w), .some(let f)): takeFar = isBid ? f.price > w.price : f.price < w.price
            }
            if takeFar, let far {
                guard body(BookLevel(price: Price(ticks: far.price), quantity: Quantity(lots: far.lots))) else {
                    return
                }
                rank += 1
            } else if let window {
                guard body(BookLevel(price: Price(ticks: window.price), quantity: Quantity(lots: window.lots))) else {
                    return
                }
                index = isBid ? bidBits.highest(atOrBelow: index &- 1) : askBits.lowest(atOrAbove: index &+ 1)
            }
        }
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
        for index in 0..<count { books[index].combineState(into: &hasher) }
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

    /// Loads what `encodeState` wrote into this book (same instrument). Version 1 is the ladder
    /// book's state (before 2026-11-29): its ladder position and counters are read past, and the
    /// levels it held are loaded.
    public mutating func restoreState(from decoder: inout SnapshotDecoder, version: UInt16 = 2) throws(SnapshotError) {
        let stored = try decoder.read(UInt32.self, "instrument")
        guard stored == instrument.rawValue else {
            throw .mismatch("L2 book \(stored) where this engine has \(instrument)")
        }
        clear()
        let updates: Int
        let refused: Int
        if version == 1 {
            _ = try decoder.read(Int64.self, "ladder size")
            _ = try decoder.readBool("anchored")
            _ = try decoder.read(Int64.self, "ladder low edge")
            updates = Int(try decoder.read(Int64.self, "updates"))
            for field in ["rejected outside ladder", "re-centrings", "evicted levels"] {
                _ = try decoder.read(Int64.self, field)
            }
            refused = 0
        } else {
            updates = Int(try decoder.read(Int64.self, "updates"))
            refused = Int(try decoder.read(Int64.self, "refused at ceiling"))
        }
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
        for index in 0..<count { books[index].encodeState(into: &encoder) }
    }

    public mutating func restoreState(from decoder: inout SnapshotDecoder, version: UInt16 = 2) throws(SnapshotError) {
        let stored = try decoder.read(Int64.self, "book count")
        guard stored == Int64(count) else { throw .mismatch("snapshot has \(stored) L2 books, this engine \(count)") }
        _unknownInstrumentUpdates = Int(try decoder.read(Int64.self, "unknown instrument updates"))
        for index in 0..<count { try books[index].restoreState(from: &decoder, version: version) }
    }
}
