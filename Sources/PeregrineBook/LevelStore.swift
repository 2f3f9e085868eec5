/// Which prices come first on one side of a book.
@frozen
public enum PriceDirection: Sendable, BitwiseCopyable {
    /// Bids and sell stops: the highest price is the best (or the first reached).
    case highestFirst
    /// Asks and buy stops: the lowest price is the best.
    case lowestFirst
}

/// Where a price is, or would go, in a `LevelStore`: from `locate`, valid until the store next
/// changes shape (a level added or removed).
@frozen
public struct LevelLocation: Equatable, Sendable, BitwiseCopyable {
    /// ≥ 0: an index into the dense window; < 0: `~position` in the sorted store.
    @usableFromInline let raw: Int
    /// Whether a level is held there.
    public let found: Bool
    /// Whether the price falls in the dense window (else the sorted store).
    @inlinable public var isInWindow: Bool { raw >= 0 }

    @inlinable init(raw: Int, found: Bool) {
        self.raw = raw
        self.found = found
    }
}

/// The price levels of one side of a book, each with a `Value` (a quantity for a level-2 book,
/// a queue of orders for the matching engine), exactly, on any price grid. The one level store
/// behind `L2Book`, the order-level feed mirror and the matching engine's `OrderBook` (bids,
/// asks and both stop sides).
///
/// ```
///  dense window: `windowSize` ticks placed around the first level, one Value a tick and a
///                two-level bitmap of occupied ticks (O(1) on a coarse grid near the touch)
///  sorted store: every level outside the window, occupied levels only, best last
/// ```
///
/// Prices are compared as keys (`price`, or `~price` where the lowest is best: order-reversing
/// and total over Int64), so the best level always has the highest key. The sorted store is fast
/// because of how levels are *occupied*, not how ticks are spaced: on a 1e-8 grid neighbouring
/// levels are 10^8 ticks apart, yet most changes land within a few levels of the touch, at the
/// end of the arrays, where a lookup is a short scan and an insertion or a removal moves only the
/// levels behind it. Deeper levels are found by binary search. Storage doubles when full (counted
/// in `growths`; amortised O(1) per added level) up to `ceiling` levels, past which `insert`
/// refuses: nothing is ever silently dropped. The window moves to the next level added whenever
/// the side is empty. Owned by one thread; no allocation per operation once grown.
public struct LevelStore<Value: BitwiseCopyable>: ~Copyable {
    /// 0 when the highest price is best, -1 (all bits) when the lowest is: key = price ^ flip.
    @usableFromInline let flip: Int64
    @usableFromInline let windowValues: UnsafeMutablePointer<Value>
    @usableFromInline var windowBits: LevelBitmap
    /// Ticks the dense window covers (a multiple of 64).
    public let windowSize: Int
    /// Key of window index 0.
    @usableFromInline var windowLow: Int64 = 0
    @usableFromInline var windowBest = -1
    @usableFromInline var windowCount = 0
    /// The sorted store: keys ascending (best last) and their values.
    @usableFromInline var keys: UnsafeMutablePointer<Int64>
    @usableFromInline var values: UnsafeMutablePointer<Value>
    @usableFromInline var capacity: Int
    @usableFromInline var sortedCount = 0
    /// The most levels this side may hold.
    public let ceiling: Int
    @usableFromInline var _growths = 0
    /// How many times the sorted store's storage has doubled.
    public var growths: Int { _growths }

    /// Levels the sorted store scans one by one from the best before a binary search takes over.
    @usableFromInline static var nearTouch: Int { 8 }

    /// An empty side. `windowSize` ticks (rounded up to a multiple of 64, at least 64) are held
    /// densely, `MemoryLayout<Value>.stride` bytes a tick plus a bit; the sorted store starts
    /// with room for `initialCapacity` levels and grows up to `ceiling`.
    public init(direction: PriceDirection, windowSize: Int, ceiling: Int, initialCapacity: Int = 64) {
        flip = direction == .highestFirst ? 0 : -1
        self.windowSize = Swift.max(64, (windowSize + 63) / 64 * 64)
        windowValues = .allocate(capacity: self.windowSize)
        windowBits = LevelBitmap(size: self.windowSize)
        self.ceiling = Swift.max(ceiling, 1)
        capacity = Swift.max(16, Swift.min(initialCapacity, self.ceiling))
        keys = .allocate(capacity: capacity)
        values = .allocate(capacity: capacity)
    }

    deinit {
        windowValues.deallocate()
        keys.deallocate()
        values.deallocate()
    }

    // MARK: Finding levels

    /// Levels held.
    @inlinable public var count: Int { windowCount &+ sortedCount }

    /// Where `price` is held, or where it would go. O(1) in the window or within `nearTouch`
    /// levels of the best; else O(log levels).
    @inlinable @inline(__always)
    public func locate(_ price: Int64) -> LevelLocation {
        let key = price ^ flip
        let (offset, overflow) = key.subtractingReportingOverflow(windowLow)
        if !overflow, offset >= 0, offset < Int64(windowSize) {
            let index = Int(truncatingIfNeeded: offset)
            return LevelLocation(raw: index, found: windowBits.contains(index))
        }
        return locateSorted(key)
    }

    /// `locate` in the sorted store.
    @inlinable
    func locateSorted(_ key: Int64) -> LevelLocation {
        var position = sortedCount &- 1
        let stop = Swift.max(0, sortedCount &- Self.nearTouch)
        while position >= stop {
            let held = keys[position]
            if held == key { return LevelLocation(raw: ~position, found: true) }
            if key > held { return LevelLocation(raw: ~(position &+ 1), found: false) }
            position &-= 1
        }
        // Worse than the `nearTouch` best levels: binary search among the rest.
        var low = 0
        var high = stop
        while low < high {
            let middle = (low &+ high) &>> 1
            let held = keys[middle]
            if held == key { return LevelLocation(raw: ~middle, found: true) }
            if key > held { low = middle &+ 1 } else { high = middle }
        }
        return LevelLocation(raw: ~low, found: false)
    }

    /// The value of the level at `location` (which must be `found`). The pointer is valid until
    /// a level is added or removed.
    @inlinable @inline(__always)
    public func value(at location: LevelLocation) -> UnsafeMutablePointer<Value> {
        location.raw >= 0 ? windowValues + location.raw : values + ~location.raw
    }

    /// The price of the level at `location`.
    @inlinable @inline(__always)
    public func price(at location: LevelLocation) -> Int64 {
        (location.raw >= 0 ? windowLow &+ Int64(location.raw) : keys[~location.raw]) ^ flip
    }

    /// The value at `price`, if a level is held there (valid until a level is added or removed).
    @inlinable @inline(__always)
    public func find(_ price: Int64) -> UnsafeMutablePointer<Value>? {
        let location = locate(price)
        return location.found ? value(at: location) : nil
    }

    // MARK: Changing levels

    /// Adds a level at `price` holding `value`, where `location` (from `locate(price)`) says none
    /// is held. False, changing nothing, when the side already holds `ceiling` levels.
    @inlinable
    public mutating func insert(_ value: Value, price: Int64, at location: LevelLocation) -> Bool {
        if count >= ceiling { return false }
        var location = location
        if count == 0 {
            placeWindow(around: price ^ flip)
            location = locate(price)
        }
        if location.raw >= 0 {
            let index = location.raw
            windowValues[index] = value
            windowBits.insert(index)
            windowCount &+= 1
            if index > windowBest { windowBest = index }
        } else {
            insertSorted(value, key: price ^ flip, position: ~location.raw)
        }
        return true
    }

    /// Centres the window on `key` (only while the side is empty).
    @usableFromInline
    mutating func placeWindow(around key: Int64) {
        let half = Int64(windowSize / 2)
        let (low, overflow) = key.subtractingReportingOverflow(half)
        windowLow = overflow ? Int64.min : (low > Int64.max &- Int64(windowSize) ? Int64.max &- Int64(windowSize) : low)
        windowBest = -1
    }

    @usableFromInline
    mutating func insertSorted(_ value: Value, key: Int64, position: Int) {
        if sortedCount == capacity { grow() }
        let behind = sortedCount &- position
        if behind > 0 {
            (keys + (position &+ 1)).moveInitialize(from: keys + position, count: behind)
            (values + (position &+ 1)).moveInitialize(from: values + position, count: behind)
        }
        keys[position] = key
        values[position] = value
        sortedCount &+= 1
    }

    /// Removes the level at `location` (which must be `found`).
    @inlinable
    public mutating func remove(at location: LevelLocation) {
        if location.raw >= 0 {
            let index = location.raw
            windowBits.remove(index)
            windowCount &-= 1
            if index == windowBest { windowBest = windowBits.highest(atOrBelow: index &- 1) }
        } else {
            removeSorted(position: ~location.raw)
        }
    }

    @usableFromInline
    mutating func removeSorted(position: Int) {
        let behind = sortedCount &- position &- 1
        if behind > 0 {
            (keys + position).moveInitialize(from: keys + (position &+ 1), count: behind)
            (values + position).moveInitialize(from: values + (position &+ 1), count: behind)
        }
        sortedCount &-= 1
    }

    @usableFromInline
    mutating func grow() {
        let larger = Swift.max(capacity &+ 1, Swift.min(capacity &* 2, ceiling))
        let newKeys = UnsafeMutablePointer<Int64>.allocate(capacity: larger)
        let newValues = UnsafeMutablePointer<Value>.allocate(capacity: larger)
        newKeys.moveInitialize(from: keys, count: sortedCount)
        newValues.moveInitialize(from: values, count: sortedCount)
        keys.deallocate()
        values.deallocate()
        keys = newKeys
        values = newValues
        capacity = larger
        _growths &+= 1
    }

    /// Removes every level (the storage stays). O(levels in the window / 64 + 1).
    public mutating func removeAll() {
        var index = windowBest
        while index >= 0 {
            windowBits.remove(index)
            index = windowBits.highest(atOrBelow: index &- 1)
        }
        windowBest = -1
        windowCount = 0
        sortedCount = 0
    }

    // MARK: Walking levels

    /// The best level, if any: the better of the window's and the sorted store's.
    @inlinable @inline(__always)
    public var best: LevelLocation? {
        let window = windowBest
        let sorted = sortedCount &- 1
        if sorted < 0 { return window >= 0 ? LevelLocation(raw: window, found: true) : nil }
        if window >= 0, windowLow &+ Int64(window) > keys[sorted] { return LevelLocation(raw: window, found: true) }
        return LevelLocation(raw: ~sorted, found: true)
    }

    /// The best price, if any level is held.
    @inlinable @inline(__always)
    public var bestPrice: Int64? { best.map { price(at: $0) } }

    /// A cursor at the best level, for `next(_:)`.
    @inlinable
    public var levels: LevelCursor { LevelCursor(windowIndex: windowBest, sortedPosition: sortedCount &- 1) }

    /// The level at `cursor`, moving the cursor one level worse; nil after the worst level.
    /// O(1) amortised per level (the window's bitmap skips 64 empty ticks a word).
    @inlinable
    public func next(_ cursor: inout LevelCursor) -> LevelLocation? {
        let window = cursor.windowIndex
        let sorted = cursor.sortedPosition
        if sorted >= 0, window < 0 || keys[sorted] > windowLow &+ Int64(window) {
            cursor.sortedPosition = sorted &- 1
            return LevelLocation(raw: ~sorted, found: true)
        }
        if window < 0 { return nil }
        cursor.windowIndex = windowBits.highest(atOrBelow: window &- 1)
        return LevelLocation(raw: window, found: true)
    }

    /// The level at `rank` places behind the best (0: the best). O(rank).
    @inlinable
    public func level(rank: Int) -> LevelLocation? {
        guard rank >= 0 else { return nil }
        var cursor = levels
        var remaining = rank
        while let location = next(&cursor) {
            if remaining == 0 { return location }
            remaining &-= 1
        }
        return nil
    }
}

/// A position in a walk over a `LevelStore`'s levels, best first (`LevelStore.levels`). Valid
/// while the store's shape does not change.
@frozen
public struct LevelCursor: Sendable, BitwiseCopyable {
    @usableFromInline var windowIndex: Int
    @usableFromInline var sortedPosition: Int

    @inlinable init(windowIndex: Int, sortedPosition: Int) {
        self.windowIndex = windowIndex
        self.sortedPosition = sortedPosition
    }
}
