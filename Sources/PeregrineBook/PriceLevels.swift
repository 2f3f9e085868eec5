/// Which way a side's prices improve: a bid is better when higher, an ask when lower.
public protocol PriceOrder {
    /// Whether `price` is a better price than `other` on this side.
    static func isBetter(_ price: Int64, than other: Int64) -> Bool
}

/// Bids: a higher price is better.
public enum BidOrder: PriceOrder {
    @inlinable public static func isBetter(_ price: Int64, than other: Int64) -> Bool { price > other }
}

/// Asks: a lower price is better.
public enum AskOrder: PriceOrder {
    @inlinable public static func isBetter(_ price: Int64, than other: Int64) -> Bool { price < other }
}

/// What setting one level did.
@frozen
public enum PriceLevelChange: Equatable, Sendable, BitwiseCopyable {
    /// A level that was held got a new quantity.
    case updated
    /// A new level was added.
    case added
    /// A level was removed (quantity 0).
    case removed
    /// A removal of a level that was not held: nothing changed.
    case removedAbsent
    /// A new level would exceed `ceiling` levels: nothing changed.
    case refusedAtCeiling
}

/// One side of a book: every occupied price level with its quantity, exactly, on any price grid.
///
/// ```
///  index   0        1        2      …   count − 1
///  prices  worst …                      best        (sorted by PriceOrder: best last)
///  lots    …                             …
/// ```
///
/// Fast because of how levels are *occupied*, not how ticks are spaced: most updates land within
/// a few levels of the touch, at the end of the arrays, where a lookup is a short backward scan
/// and an insertion or removal moves only the levels behind it. Deeper levels are found by
/// binary search. Two `Int64` arrays (prices are searched alone, so the scan stays in few cache
/// lines). Storage doubles when full (counted in `growths`; amortised O(1) per added level) up to
/// `ceiling` levels, past which a new level is refused, never silently dropped. Owned by one
/// thread; no allocation per update once grown.
public struct PriceLevels<Order: PriceOrder>: ~Copyable {
    @usableFromInline var prices: UnsafeMutablePointer<Int64>
    @usableFromInline var lots: UnsafeMutablePointer<Int64>
    @usableFromInline var capacity: Int
    @usableFromInline var occupied = 0
    /// Occupied levels.
    @inlinable public var count: Int { occupied }
    /// The most levels this side may hold.
    public let ceiling: Int
    @usableFromInline var _growths = 0
    /// How many times the storage has doubled.
    public var growths: Int { _growths }

    /// Levels searched one by one from the best before a binary search takes over.
    @usableFromInline static var nearTouch: Int { 8 }

    /// Storage for `initialCapacity` levels (at least 16), growing up to `ceiling`.
    public init(initialCapacity: Int = 256, ceiling: Int = 1 << 22) {
        capacity = Swift.max(16, Swift.min(initialCapacity, Swift.max(ceiling, 16)))
        self.ceiling = Swift.max(ceiling, 1)
        prices = .allocate(capacity: capacity)
        lots = .allocate(capacity: capacity)
    }

    deinit {
        prices.deallocate()
        lots.deallocate()
    }

    /// Where `price` is, or where it would go: the index of the level, and whether it is held.
    /// O(1) within `nearTouch` levels of the best, else O(log count).
    @inlinable
    func search(_ price: Int64) -> (index: Int, found: Bool) {
        var index = count &- 1
        let stop = Swift.max(0, count &- Self.nearTouch)
        while index >= stop {
            let held = prices[index]
            if held == price { return (index, true) }
            if Order.isBetter(price, than: held) { return (index &+ 1, false) }
            index &-= 1
        }
        // Worse than the `nearTouch` best levels: binary search among the rest.
        var low = 0
        var high = stop
        while low < high {
            let middle = (low &+ high) >> 1
            let held = prices[middle]
            if held == price { return (middle, true) }
            if Order.isBetter(price, than: held) { low = middle &+ 1 } else { high = middle }
        }
        return (low, false)
    }

    /// Sets the level at `price` to `quantity` lots (0 removes it).
    @inlinable
    @discardableResult
    public mutating func set(price: Int64, lots quantity: Int64) -> PriceLevelChange {
        let (index, found) = search(price)
        if found {
            if quantity != 0 {
                lots[index] = quantity
                return .updated
            }
            let behind = count &- index &- 1
            if behind > 0 { Self.shift(from: index &+ 1, to: index, count: behind, prices, lots) }
            occupied &-= 1
            return .removed
        }
        if quantity == 0 { return .removedAbsent }
        if occupied >= ceiling { return .refusedAtCeiling }
        if occupied == capacity { grow() }
        let behind = count &- index
        if behind > 0 { Self.shift(from: index, to: index &+ 1, count: behind, prices, lots) }
        prices[index] = price
        lots[index] = quantity
        occupied &+= 1
        return .added
    }

    /// Moves `count` levels from index `from` to index `to` (overlapping ranges: memmove).
    @inlinable
    static func shift(
        from: Int, to: Int, count: Int, _ prices: UnsafeMutablePointer<Int64>, _ lots: UnsafeMutablePointer<Int64>
    ) {
        let bytes = count &* MemoryLayout<Int64>.stride
        UnsafeMutableRawPointer(prices + to).copyMemory(from: prices + from, byteCount: bytes)
        UnsafeMutableRawPointer(lots + to).copyMemory(from: lots + from, byteCount: bytes)
    }

    @usableFromInline
    mutating func grow() {
        let larger = Swift.min(capacity * 2, ceiling)
        let newPrices = UnsafeMutablePointer<Int64>.allocate(capacity: larger)
        let newLots = UnsafeMutablePointer<Int64>.allocate(capacity: larger)
        newPrices.moveInitialize(from: prices, count: count)
        newLots.moveInitialize(from: lots, count: count)
        prices.deallocate()
        lots.deallocate()
        prices = newPrices
        lots = newLots
        capacity = larger
        _growths &+= 1
    }

    /// The best level (price, lots), if any.
    @inlinable
    public var best: (price: Int64, lots: Int64)? {
        count > 0 ? (prices[count &- 1], lots[count &- 1]) : nil
    }

    /// The level `rank` places behind the best (0 is the best), if there is one.
    @inlinable
    public func level(rank: Int) -> (price: Int64, lots: Int64)? {
        guard rank >= 0, rank < count else { return nil }
        let index = count &- 1 &- rank
        return (prices[index], lots[index])
    }

    /// The lots at `price` (0 when no level is held there).
    @inlinable
    public func lots(at price: Int64) -> Int64 {
        let (index, found) = search(price)
        return found ? lots[index] : 0
    }

    /// Calls `body` with every level, best first.
    @inlinable
    public func forEach(_ body: (_ price: Int64, _ lots: Int64) -> Void) {
        var index = count &- 1
        while index >= 0 {
            body(prices[index], lots[index])
            index &-= 1
        }
    }

    /// Removes every level (the storage stays).
    public mutating func removeAll() { occupied = 0 }
}
