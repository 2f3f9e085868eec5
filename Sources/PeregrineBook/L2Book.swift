import PeregrineCore
import PeregrineModel

/// A level-2 (market-by-price) book on a fixed price ladder.
///
/// ```
///  low                                   best bid   best ask                low + size − 1
///   │ index 0 …                              │         │                          … │
///   [ 0 0 5 0 3 0 0 9 0 0 0 0 0 0 0 0 0 0 0 12 0 0 0 0 7 0 4 0 0 0 0 0 0 0 0 0 0 0 ]  bids
///   [ 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0  0 0 0 0 8 0 2 0 0 0 0 0 0 0 0 0 0 1 ]  asks
///   bitmaps (`LevelBitmap`): one bit per level and side, set when the quantity is non-zero
/// ```
///
/// A price maps to `price − low`; setting or removing a level is O(1). The best bid and ask are
/// kept on every change: improving them is a compare, and removing the best finds the next
/// occupied level through the two-level bitmap.
///
/// **Prices outside the ladder.** The ladder covers `ladderSize` ticks and is placed around
/// the first price seen. An update outside it is handled so that the ladder always holds the
/// top of the book:
/// - a removal (quantity 0) outside the ladder changes nothing (no level is held there);
/// - a price that would become the new best on its side moves the ladder (re-centring on the
///   middle of the new price and the other side's best) as long as both fit; levels that fall
///   off the far end are dropped and counted in `counters.evictedLevels`. Re-centring is
///   O(ladder size) and rare: it happens when the market moves half a ladder;
/// - anything else (a level deeper than the ladder, or a spread wider than the ladder) is not
///   held and is counted in `counters.rejectedOutsideLadder`.
///
/// Storage is allocated once in `init`; updates never allocate. Owned by one thread.
public struct L2Book: ~Copyable {
    public let instrument: InstrumentID
    /// Number of price levels the ladder covers (a multiple of 64).
    public let ladderSize: Int
    @usableFromInline let bidQuantities: UnsafeMutablePointer<Int64>
    @usableFromInline let askQuantities: UnsafeMutablePointer<Int64>
    @usableFromInline var bidBits: LevelBitmap
    @usableFromInline var askBits: LevelBitmap
    /// Price in ticks of ladder index 0.
    @usableFromInline var low: Int64 = 0
    @usableFromInline var anchored = false
    @usableFromInline var bestBidIndex = -1
    @usableFromInline var bestAskIndex = -1
    @usableFromInline var bidCount = 0
    @usableFromInline var askCount = 0
    /// Counts of updates and of what could not be held exactly.
    public var counters = BookCounters()

    /// A book whose ladder covers `ladderSize` ticks (rounded up to a multiple of 64).
    /// If `referencePrice` is given the ladder is centred on it; otherwise on the first price.
    public init(instrument: InstrumentID, ladderSize: Int, referencePrice: Price? = nil) throws(BookError) {
        guard (64...1_048_576).contains(ladderSize) else { throw .invalidLadderSize(ladderSize) }
        self.instrument = instrument
        self.ladderSize = (ladderSize + 63) / 64 * 64
        bidQuantities = .allocate(capacity: self.ladderSize)
        askQuantities = .allocate(capacity: self.ladderSize)
        bidBits = LevelBitmap(size: self.ladderSize)
        askBits = LevelBitmap(size: self.ladderSize)
        bidQuantities.initialize(repeating: 0, count: self.ladderSize)
        askQuantities.initialize(repeating: 0, count: self.ladderSize)
        if let referencePrice {
            low = Self.lowEdge(centredOn: referencePrice.ticks, size: self.ladderSize)
            anchored = true
        }
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
        if !anchored {
            if update.quantity.lots == 0 { return .ignoredOutsideLadder }
            low = Self.lowEdge(centredOn: price, size: ladderSize)
            anchored = true
        }
        let (offset, overflow) = price.subtractingReportingOverflow(low)
        if !overflow, offset >= 0, offset < Int64(ladderSize) {
            setLevel(side: update.side, index: Int(offset), lots: update.quantity.lots)
            return .applied
        }
        return applyOutsideLadder(update)
    }

    @inlinable
    mutating func setLevel(side: Side, index: Int, lots: Int64) {
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

    @usableFromInline
    mutating func applyOutsideLadder(_ update: LevelUpdate) -> LevelUpdateOutcome {
        if update.quantity.lots == 0 { return .ignoredOutsideLadder }
        let price = update.price.ticks
        let isNewBest: Bool
        let otherBest: Int64?
        if update.side == .buy {
            isNewBest = bestBidIndex < 0 || price > low &+ Int64(bestBidIndex)
            otherBest = bestAskIndex < 0 ? nil : low &+ Int64(bestAskIndex)
        } else {
            isNewBest = bestAskIndex < 0 || price < low &+ Int64(bestAskIndex)
            otherBest = bestBidIndex < 0 ? nil : low &+ Int64(bestBidIndex)
        }
        guard isNewBest else {
            counters.rejectedOutsideLadder &+= 1
            return .rejectedOutsideLadder
        }
        var newLow = Self.lowEdge(centredOn: price, size: ladderSize)
        if let otherBest {
            // Both the new price and the other side's best must fit: place the ladder so the
            // pair sits in its middle. `span` ≤ size − 1 guarantees both offsets are in range.
            let lower = Swift.min(price, otherBest)
            let (span, overflow) = Swift.max(price, otherBest).subtractingReportingOverflow(lower)
            guard !overflow, span < Int64(ladderSize) else {
                counters.rejectedOutsideLadder &+= 1
                return .rejectedOutsideLadder
            }
            newLow = lower &- (Int64(ladderSize) &- 1 &- span) / 2
        }
        let evicted = recentre(newLow: newLow)
        let (offset, overflow) = price.subtractingReportingOverflow(low)
        guard !overflow, offset >= 0, offset < Int64(ladderSize) else {
            // Unreachable by the arithmetic above; kept so no input can write outside the ladder.
            counters.rejectedOutsideLadder &+= 1
            return .rejectedOutsideLadder
        }
        setLevel(side: update.side, index: Int(offset), lots: update.quantity.lots)
        return .appliedAfterRecentring(evicted: evicted)
    }

    /// Moves the ladder so index 0 is `newLow`, dropping levels that fall outside. O(size).
    mutating func recentre(newLow: Int64) -> Int {
        let shift = newLow &- low
        var evicted = 0
        for quantities in [bidQuantities, askQuantities] {
            var moved = [Int64](repeating: 0, count: ladderSize)
            for index in 0..<ladderSize where quantities[index] != 0 {
                let target = Int64(index) &- shift
                if target >= 0, target < Int64(ladderSize) {
                    moved[Int(target)] = quantities[index]
                } else {
                    evicted += 1
                }
            }
            moved.withUnsafeBufferPointer { buffer in
                if let base = buffer.baseAddress { quantities.update(from: base, count: ladderSize) }
            }
        }
        low = newLow
        rebuildIndex()
        counters.recentrings &+= 1
        counters.evictedLevels &+= evicted
        return evicted
    }

    /// Recomputes bitmaps, counts and best indices from the quantity arrays.
    mutating func rebuildIndex() {
        bidBits.removeAll()
        askBits.removeAll()
        bidCount = 0
        askCount = 0
        bestBidIndex = -1
        bestAskIndex = -1
        for index in 0..<ladderSize {
            if bidQuantities[index] != 0 {
                bidBits.insert(index)
                bidCount += 1
                bestBidIndex = index
            }
            if askQuantities[index] != 0 {
                askBits.insert(index)
                askCount += 1
                if bestAskIndex < 0 { bestAskIndex = index }
            }
        }
    }

    /// Removes every level; the ladder stays where it is.
    public mutating func clear() {
        bidQuantities.update(repeating: 0, count: ladderSize)
        askQuantities.update(repeating: 0, count: ladderSize)
        rebuildIndex()
    }

    @usableFromInline
    static func lowEdge(centredOn price: Int64, size: Int) -> Int64 {
        let (value, overflow) = price.subtractingReportingOverflow(Int64(size / 2))
        return overflow ? Int64.min : value
    }

    // MARK: Queries

    /// The best (highest) bid, if any.
    @inlinable
    public var bestBid: BookLevel? {
        guard bestBidIndex >= 0 else { return nil }
        return BookLevel(
            price: Price(ticks: low &+ Int64(bestBidIndex)), quantity: Quantity(lots: bidQuantities[bestBidIndex]))
    }

    /// The best (lowest) ask, if any.
    @inlinable
    public var bestAsk: BookLevel? {
        guard bestAskIndex >= 0 else { return nil }
        return BookLevel(
            price: Price(ticks: low &+ Int64(bestAskIndex)), quantity: Quantity(lots: askQuantities[bestAskIndex]))
    }

    /// Best bid and offer together.
    @inlinable
    public var bestBidOffer: BestBidOffer { BestBidOffer(bid: bestBid, ask: bestAsk) }

    /// Ask minus bid in ticks, when both sides exist (negative when crossed).
    @inlinable
    public var spread: Int64? { bestBidOffer.spread }

    /// Number of non-empty levels on `side`.
    @inlinable
    public func levelCount(_ side: Side) -> Int { side == .buy ? bidCount : askCount }

    /// The quantity resting at `price` on `side` (zero outside the ladder).
    public func quantity(at price: Price, side: Side) -> Quantity {
        let (offset, overflow) = price.ticks.subtractingReportingOverflow(low)
        guard anchored, !overflow, offset >= 0, offset < Int64(ladderSize) else { return .zero }
        return Quantity(lots: side == .buy ? bidQuantities[Int(offset)] : askQuantities[Int(offset)])
    }

    /// The lowest and highest price the ladder covers now, once placed.
    public var ladderRange: ClosedRange<Price>? {
        guard anchored else { return nil }
        return Price(ticks: low)...Price(ticks: low &+ Int64(ladderSize - 1))
    }

    /// Writes up to `levels.count` levels of `side`, best first, into `levels`; returns how
    /// many. Does not allocate.
    @inlinable
    public func depth(_ side: Side, into levels: UnsafeMutableBufferPointer<BookLevel>) -> Int {
        var written = 0
        if side == .buy {
            var index = bestBidIndex
            while index >= 0, written < levels.count {
                levels[written] = BookLevel(
                    price: Price(ticks: low &+ Int64(index)), quantity: Quantity(lots: bidQuantities[index]))
                written &+= 1
                index = bidBits.highest(atOrBelow: index &- 1)
            }
        } else {
            var index = bestAskIndex
            while index >= 0, written < levels.count {
                levels[written] = BookLevel(
                    price: Price(ticks: low &+ Int64(index)), quantity: Quantity(lots: askQuantities[index]))
                written &+= 1
                index = askBits.lowest(atOrAbove: index &+ 1)
            }
        }
        return written
    }

    /// The top `count` levels of `side`, best first (allocates: for tools and tests).
    public func depth(_ side: Side, levels count: Int) -> [BookLevel] {
        // Never reserve more than the side holds (a caller may ask for `.max`).
        [BookLevel](unsafeUninitializedCapacity: Swift.max(0, Swift.min(count, levelCount(side)))) {
            buffer, initialized in
            initialized = depth(side, into: buffer)
        }
    }
}

extension L2Book {
    /// Adds the ladder's position and every occupied level to `hasher` (best first), plus the
    /// counters: equal books hash equally on every machine. O(ladder size).
    public func combineState(into hasher: inout StateHasher) {
        hasher.combine(instrument.rawValue)
        hasher.combine(anchored ? low : Int64.min)
        for side in [Side.buy, .sell] {
            hasher.combine(side == .buy ? bidCount : askCount)
            forEachLevel(side) { level in
                hasher.combine(level.price.ticks)
                hasher.combine(level.quantity.lots)
            }
        }
        hasher.combine(counters.updates)
        hasher.combine(counters.rejectedOutsideLadder)
        hasher.combine(counters.recentrings)
        hasher.combine(counters.evictedLevels)
    }

    func forEachLevel(_ side: Side, _ body: (BookLevel) -> Void) {
        var index = side == .buy ? bestBidIndex : bestAskIndex
        while index >= 0 {
            let lots = side == .buy ? bidQuantities[index] : askQuantities[index]
            body(BookLevel(price: Price(ticks: low &+ Int64(index)), quantity: Quantity(lots: lots)))
            index = side == .buy ? bidBits.highest(atOrBelow: index &- 1) : askBits.lowest(atOrAbove: index &+ 1)
        }
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
    /// Writes the ladder's position, counters and every occupied level.
    public func encodeState(into encoder: inout SnapshotEncoder) {
        encoder.write(instrument.rawValue)
        encoder.write(Int64(ladderSize))
        encoder.write(anchored)
        encoder.write(low)
        for value in [counters.updates, counters.rejectedOutsideLadder, counters.recentrings, counters.evictedLevels] {
            encoder.write(Int64(value))
        }
        for side in [Side.buy, .sell] {
            encoder.write(Int64(side == .buy ? bidCount : askCount))
            forEachLevel(side) { level in
                encoder.write(level.price.ticks)
                encoder.write(level.quantity.lots)
            }
        }
    }

    /// Loads what `encodeState` wrote into this book (same instrument and ladder size).
    public mutating func restoreState(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        let stored = try decoder.read(UInt32.self, "instrument")
        let size = try decoder.read(Int64.self, "ladder size")
        guard stored == instrument.rawValue, size == Int64(ladderSize) else {
            throw .mismatch(
                "L2 book \(stored) with \(size) levels where this engine has \(instrument) with \(ladderSize)")
        }
        clear()
        anchored = try decoder.readBool("anchored")
        low = try decoder.read(Int64.self, "ladder low edge")
        counters.updates = Int(try decoder.read(Int64.self, "updates"))
        counters.rejectedOutsideLadder = Int(try decoder.read(Int64.self, "rejected outside ladder"))
        counters.recentrings = Int(try decoder.read(Int64.self, "re-centrings"))
        counters.evictedLevels = Int(try decoder.read(Int64.self, "evicted levels"))
        for side in [Side.buy, .sell] {
            let count = try decoder.readCount("level count", minimumItemBytes: 16)
            for _ in 0..<count {
                let price = try decoder.read(Int64.self, "level price")
                let lots = try decoder.read(Int64.self, "level quantity")
                let (offset, overflow) = price.subtractingReportingOverflow(low)
                guard !overflow, offset >= 0, offset < Int64(ladderSize), lots > 0 else {
                    throw .invalid(field: "level price", value: price)
                }
                setLevel(side: side, index: Int(offset), lots: lots)
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

    public mutating func restoreState(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        let stored = try decoder.read(Int64.self, "book count")
        guard stored == Int64(count) else { throw .mismatch("snapshot has \(stored) L2 books, this engine \(count)") }
        _unknownInstrumentUpdates = Int(try decoder.read(Int64.self, "unknown instrument updates"))
        for index in 0..<count { try books[index].restoreState(from: &decoder) }
    }
}
