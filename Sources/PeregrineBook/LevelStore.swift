import PeregrineModel

/// Which prices come first on one side of a book.
@frozen
public enum PriceDirection: Sendable, BitwiseCopyable {
    /// Bids and sell stops: the highest price is the best (or the first reached).
    case highestFirst
    /// Asks and buy stops: the lowest price is the best.
    case lowestFirst
}

/// How a `LevelStore`'s dense window maps ticks to slots, fixed by type so the choice costs
/// nothing at run time.
public protocol LevelWindow {
    /// Whether slots are buckets of 2^k ticks (k chosen from the price) rather than single ticks.
    static var isBucketed: Bool { get }
}

/// One tick per window slot: for owners that address window slots themselves (the matching
/// engine's ladders, through `windowSlot`).
public enum TickWindow: LevelWindow {
    @inlinable public static var isBucketed: Bool { false }
}

/// Window slots are buckets of 2^k ticks, k chosen when the window is placed so that a bucket is
/// about a millionth of the price (k = 0 on a coarse grid): a fine grid's levels near the touch
/// get O(1) slots too. A bucket holds one level (its key is kept); a level whose bucket is taken
/// lives in the sorted store.
public enum BucketWindow: LevelWindow {
    @inlinable public static var isBucketed: Bool { true }
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
///  dense window: `windowSize` slots placed around the first level, one Value a slot and a
///                two-level bitmap of occupied slots (O(1) near the touch); a slot is one tick
///                (`TickWindow`) or a bucket of 2^k ticks sized from the price (`BucketWindow`,
///                so a 1e-8 grid's levels near the touch get slots too)
///  sorted store: every level outside the window, occupied levels only, best last
/// ```
///
/// Prices are compared as keys (`price`, or `~price` where the lowest is best: order-reversing
/// and total over Int64), so the best level always has the highest key. The sorted store is fast
/// because of how levels are *occupied*, not how ticks are spaced: on a 1e-8 grid neighbouring
/// levels are 10^8 ticks apart, yet most changes land within a few levels of the touch, at the
/// end of the arrays, where a lookup is a short scan and an insertion or a removal moves only
/// the levels behind it; deeper levels are found by binary search. Storage doubles when full (counted
/// in `growths`; amortised O(1) per added level) up to `ceiling` levels, past which `insert`
/// refuses: nothing is ever silently dropped. The window moves to the next level added whenever
/// the side is empty. Owned by one thread; no allocation per operation once grown.
public struct LevelStore<Value: BitwiseCopyable, Window: LevelWindow>: ~Copyable {
    /// Everything the store holds, behind one pointer: the store itself is one word, so a
    /// borrow of it (through an `UnsafeMutablePointer.pointee`, say) never copies its fields.
    @usableFromInline let state: UnsafeMutablePointer<LevelStoreState<Value, Window>>

    /// An empty side. `windowSize` ticks (rounded up to a multiple of 64, at least 64) are held
    /// densely, `MemoryLayout<Value>.stride` bytes a tick plus a bit, every tick set to `vacant`
    /// when given (see `windowSlot`); the sorted store starts with room for `initialCapacity`
    /// levels and grows up to `ceiling`.
    /// `Window` says whether slots are single ticks or buckets (`TickWindow`, `BucketWindow`).
    ///
    /// `followsTouch`: when the best level lies outside the window's range and the level after
    /// it lies within a quarter of a window from it, the window moves to it (three quarters of
    /// the window on the side the best left by) at the next change of shape outside the window
    /// or removal of the window's last level, so a market that drifts further than half the
    /// window from the side's first level keeps its touch in O(1) slots (not a lone level, nor
    /// the levels of a grid sparser than a quarter of the window: they stay in the sorted
    /// store, as without following). A move costs O(levels moved: those of the old and new
    /// windows' ranges and the few beyond them on the best's side) and waits for at least one
    /// change of shape outside the window per 16 levels the last move moved (16 at the least):
    /// at most 16 levels moved a change, amortised. Locations stay valid only until the next change of shape, as always, and so do
    /// window indices (`windowSlot`): a move puts `vacant` back in the slots it empties.
    public init(
        direction: PriceDirection, windowSize: Int, ceiling: Int, initialCapacity: Int = 64, vacant: Value? = nil,
        followsTouch: Bool = false
    ) {
        let size = Swift.max(64, (windowSize + 63) / 64 * 64)
        let ceiling = Swift.max(ceiling, 1)
        let capacity = Swift.max(16, Swift.min(initialCapacity, ceiling))
        state = .allocate(capacity: 1)
        state.initialize(
            to: LevelStoreState(
                flip: direction == .highestFirst ? 0 : -1, windowValues: .allocate(capacity: size),
                windowBits: LevelBitmap(size: size), windowSize: size, keys: .allocate(capacity: capacity),
                values: .allocate(capacity: capacity), capacity: capacity, ceiling: ceiling, vacant: vacant,
                followsTouch: followsTouch))
        if let vacant { state.pointee.windowValues.initialize(repeating: vacant, count: size) }
    }

    deinit {
        state.pointee.windowValues.deallocate()
        state.pointee.windowBits.deallocate()
        state.pointee.windowKeys.deallocate()
        state.pointee.overflow.deallocate()
        state.pointee.keys.deallocate()
        state.pointee.values.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// Ticks the dense window covers (a multiple of 64).
    @inlinable public var windowSize: Int { state.pointee.windowSize }
    /// The most levels this side may hold.
    @inlinable public var ceiling: Int { state.pointee.ceiling }
    /// How many times the sorted store's storage has doubled.
    @inlinable public var growths: Int { state.pointee.growths }
    /// How many times the window has moved to follow the touch (`followsTouch`).
    @inlinable public var windowMoves: Int { state.pointee.windowMoves }

    // MARK: Finding levels

    /// Levels held.
    @inlinable @inline(__always) public var count: Int { state.pointee.windowCount &+ state.pointee.sortedCount }

    /// Where `price` is held, or where it would go. O(1) in the window or within a few levels
    /// of the best; else O(log levels).
    @inlinable @inline(__always)
    public func locate(_ price: Int64) -> LevelLocation {
        let s = state
        let key = price ^ s.pointee.flip
        let (offset, overflow) = key.subtractingReportingOverflow(s.pointee.windowLow)
        if !overflow, offset >= 0, offset < s.pointee.windowSpan {
            if !Window.isBucketed {
                let index = Int(truncatingIfNeeded: offset)
                return LevelLocation(raw: index, found: s.pointee.windowBits.contains(index))
            }
            let shift = s.pointee.windowShift
            let index = Int(truncatingIfNeeded: offset &>> shift)
            if shift == 0 { return LevelLocation(raw: index, found: s.pointee.windowBits.contains(index)) }
            return locateBucket(key, index)
        }
        return locateSorted(key)
    }

    /// `locate` in a bucketed window (kept out of line so the one-tick window's path stays
    /// small): the bucket's level if the keys agree; else the sorted store holds (or would
    /// hold) the key when the bucket is taken or some of its keys live there.
    @inlinable @inline(never)
    func locateBucket(_ key: Int64, _ index: Int) -> LevelLocation {
        let s = state
        if s.pointee.windowBits.contains(index) {
            if s.pointee.windowKeys[index] == key { return LevelLocation(raw: index, found: true) }
        } else if s.pointee.overflow[index] == 0 {
            return LevelLocation(raw: index, found: false)
        }
        return locateSorted(key)
    }

    /// `locate` in the sorted store: the best level first (most changes land at the touch),
    /// then an interpolation guess (levels near a touch are spread fairly evenly, so the guess
    /// is usually within a level or two), walked to the right place in at most a few steps;
    /// else a binary search of what is left.
    @inlinable
    func locateSorted(_ key: Int64) -> LevelLocation {
        let keys = state.pointee.keys
        let count = state.pointee.sortedCount
        if count == 0 { return LevelLocation(raw: ~0, found: false) }
        let best = keys[count &- 1]
        if key >= best {
            return key == best
                ? LevelLocation(raw: ~(count &- 1), found: true) : LevelLocation(raw: ~count, found: false)
        }
        let worst = keys[0]
        if key <= worst { return LevelLocation(raw: ~0, found: key == worst) }
        // worst < key < best: the answer is in 1...count - 1.
        var low = 1
        var high = count &- 1
        let (span, spanOverflow) = best.subtractingReportingOverflow(worst)
        let (offset, offsetOverflow) = key.subtractingReportingOverflow(worst)
        if !spanOverflow, !offsetOverflow {
            let fraction = Double(offset) / Double(span) * Double(count &- 1)
            var guess = Int(Swift.min(Swift.max(fraction, 1), Double(count &- 1)))
            // Walk to the first position whose key is not below `key`, a few steps at most.
            var steps = 0
            while steps < 4, guess > 1, keys[guess &- 1] >= key {
                guess &-= 1
                steps &+= 1
            }
            while steps < 4, keys[guess] < key {
                guess &+= 1
                steps &+= 1
            }
            if keys[guess] >= key, keys[guess &- 1] < key {
                return LevelLocation(raw: ~guess, found: keys[guess] == key)
            }
            if keys[guess] < key { low = guess &+ 1 } else { high = guess }
        }
        // The first position in low...high whose key is not below `key` (keys[high] ≥ key).
        while low < high {
            let middle = (low &+ high) &>> 1
            if keys[middle] < key { low = middle &+ 1 } else { high = middle }
        }
        return LevelLocation(raw: ~low, found: keys[low] == key)
    }

    /// The value of the level at `location` (which must be `found`). The pointer is valid until
    /// a level is added or removed.
    @inlinable @inline(__always)
    public func value(at location: LevelLocation) -> UnsafeMutablePointer<Value> {
        let s = state
        return location.raw >= 0 ? s.pointee.windowValues + location.raw : s.pointee.values + ~location.raw
    }

    /// The price of the level at `location`.
    @inlinable @inline(__always)
    public func price(at location: LevelLocation) -> Int64 {
        let s = state
        return (location.raw >= 0 ? s.pointee.windowKey(location.raw) : s.pointee.keys[~location.raw])
            ^ s.pointee.flip
    }

    /// The value at `price`, if a level is held there (valid until a level is added or removed).
    @inlinable @inline(__always)
    public func find(_ price: Int64) -> UnsafeMutablePointer<Value>? {
        let location = locate(price)
        return location.found ? value(at: location) : nil
    }

    /// Sets the value of the level held at `price` when that level has a one-tick slot of the
    /// dense window (most changes near the touch): true when done; false, changing nothing,
    /// otherwise (the level is not held, lies in the sorted store or in a bucket of several
    /// ticks): the caller then takes `locate`'s path. O(1); the store's shape does not change.
    @inlinable @inline(__always)
    public func overwriteInWindow(_ price: Int64, with value: Value) -> Bool {
        let s = state
        let (offset, overflow) = (price ^ s.pointee.flip).subtractingReportingOverflow(s.pointee.windowLow)
        guard !overflow, offset >= 0, offset < s.pointee.windowSpan, !Window.isBucketed || s.pointee.windowShift == 0
        else { return false }
        let index = Int(truncatingIfNeeded: offset)
        guard s.pointee.windowBits.contains(index) else { return false }
        s.pointee.windowValues[index] = value
        return true
    }

    /// The window index of `price`, or nil outside the window or while the side is empty (the
    /// window moves to the next level added), valid until the next change of shape (a window
    /// that follows the touch moves then). `TickWindow` only. For owners whose values show
    /// vacancy themselves (a window filled with `vacant` that they restore on removal): they
    /// skip the bitmap with `occupyWindow` (and remove with `remove(at:)`).
    @inlinable @inline(__always)
    public func windowSlot(_ price: Int64) -> Int? {
        let s = state
        let (offset, overflow) = (price ^ s.pointee.flip).subtractingReportingOverflow(s.pointee.windowLow)
        guard !overflow, offset >= 0, offset < Int64(s.pointee.windowSize), count > 0 else { return nil }
        return Int(truncatingIfNeeded: offset)
    }

    /// The value at window index `index` (held or vacant).
    @inlinable @inline(__always)
    public func windowValue(_ index: Int) -> UnsafeMutablePointer<Value> { state.pointee.windowValues + index }

    /// Marks window index `index` (from `windowSlot`, not held) as a level; false, changing
    /// nothing, at the ceiling.
    @inlinable @inline(__always)
    public mutating func occupyWindow(_ index: Int) -> Bool {
        let s = state
        if count >= s.pointee.ceiling { return false }
        s.pointee.windowBits.insert(index)
        s.pointee.windowCount &+= 1
        if index > s.pointee.windowBest { s.pointee.windowBest = index }
        return true
    }

    // MARK: Changing levels

    /// Adds a level at `price` holding `value`, where `location` (from `locate(price)`) says none
    /// is held; returns where the new level is (valid until a level is added or removed). Nil,
    /// changing nothing, when the side already holds `ceiling` levels.
    @inlinable @inline(__always)
    @discardableResult
    public mutating func insert(_ value: Value, price: Int64, at location: LevelLocation) -> LevelLocation? {
        let s = state
        let held = count
        if held >= s.pointee.ceiling { return nil }
        var location = location
        if held == 0 {
            s.pointee.placeWindow(around: price ^ s.pointee.flip)
            location = locate(price)
        }
        if location.raw >= 0 {
            let index = location.raw
            s.pointee.windowValues[index] = value
            if Window.isBucketed, s.pointee.windowShift != 0 { s.pointee.windowKeys[index] = price ^ s.pointee.flip }
            s.pointee.windowBits.insert(index)
            s.pointee.windowCount &+= 1
            if index > s.pointee.windowBest { s.pointee.windowBest = index }
        } else {
            s.pointee.insertSorted(value, key: price ^ s.pointee.flip, position: ~location.raw)
            // (A move changes where the new level is.)
            if s.pointee.followsTouch, s.pointee.followTouch() { return locate(price) }
        }
        return LevelLocation(raw: location.raw, found: true)
    }

    /// Removes the level at `location` (which must be `found`).
    @inlinable @inline(__always)
    public mutating func remove(at location: LevelLocation) {
        let s = state
        if location.raw >= 0 {
            let index = location.raw
            s.pointee.windowBits.remove(index)
            s.pointee.windowCount &-= 1
            if index == s.pointee.windowBest {
                s.pointee.windowBest = s.pointee.windowBits.highest(atOrBelow: index &- 1)
                if s.pointee.windowBest < 0, s.pointee.followsTouch {
                    s.pointee.changesSinceMove &+= 1
                    _ = s.pointee.followTouch()
                }
            }
        } else {
            s.pointee.removeSorted(position: ~location.raw)
            if s.pointee.followsTouch { _ = s.pointee.followTouch() }
        }
    }

    /// Removes every level (the storage stays; window values go back to `vacant`, when given).
    /// O(levels in the window / 64 + 1).
    public mutating func removeAll() {
        var index = state.pointee.windowBest
        while index >= 0 {
            if let vacant = state.pointee.vacant { state.pointee.windowValues[index] = vacant }
            state.pointee.windowBits.remove(index)
            index = state.pointee.windowBits.highest(atOrBelow: index &- 1)
        }
        state.pointee.windowBest = -1
        state.pointee.windowCount = 0
        while state.pointee.sortedCount > 0 {
            state.pointee.removeSorted(position: state.pointee.sortedCount &- 1)
        }
    }

    // MARK: Walking levels

    /// The best level, if any: the better of the window's and the sorted store's.
    @inlinable @inline(__always)
    public var best: LevelLocation? {
        let s = state
        let window = s.pointee.windowBest
        let sorted = s.pointee.sortedCount &- 1
        if sorted < 0 { return window >= 0 ? LevelLocation(raw: window, found: true) : nil }
        if window >= 0, s.pointee.windowKey(window) > s.pointee.keys[sorted] {
            return LevelLocation(raw: window, found: true)
        }
        return LevelLocation(raw: ~sorted, found: true)
    }

    /// The best price, if any level is held.
    @inlinable @inline(__always)
    public var bestPrice: Int64? { best.map { price(at: $0) } }

    /// A cursor at the best level, for `next(_:)`.
    @inlinable
    public var levels: LevelCursor {
        LevelCursor(windowIndex: state.pointee.windowBest, sortedPosition: state.pointee.sortedCount &- 1)
    }

    /// The level at `cursor`, moving the cursor one level worse; nil after the worst level.
    /// O(1) amortised per level (the window's bitmap skips 64 empty ticks a word).
    @inlinable
    public func next(_ cursor: inout LevelCursor) -> LevelLocation? {
        let s = state
        let window = cursor.windowIndex
        let sorted = cursor.sortedPosition
        if sorted >= 0, window < 0 || s.pointee.keys[sorted] > s.pointee.windowKey(window) {
            cursor.sortedPosition = sorted &- 1
            return LevelLocation(raw: ~sorted, found: true)
        }
        if window < 0 { return nil }
        cursor.windowIndex = s.pointee.windowBits.highest(atOrBelow: window &- 1)
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

/// A `LevelStore`'s fields (see there).
@usableFromInline
struct LevelStoreState<Value: BitwiseCopyable, Window: LevelWindow> {
    // The fields every operation reads come first (one cache line).
    /// 0 when the highest price is best, -1 (all bits) when the lowest is: key = price ^ flip.
    @usableFromInline let flip: Int64
    /// Key of window index 0.
    @usableFromInline var windowLow: Int64 = 0
    /// Ticks the window spans: windowSize << windowShift.
    @usableFromInline var windowSpan: Int64
    /// Ticks a window slot spans: 2^windowShift (0 unless the window is a `BucketWindow`).
    @usableFromInline var windowShift: UInt64 = 0
    @usableFromInline var windowBest = -1
    @usableFromInline var windowCount = 0
    @usableFromInline var sortedCount = 0
    @usableFromInline let windowValues: UnsafeMutablePointer<Value>
    @usableFromInline let windowBits: LevelBitmap
    @usableFromInline let windowSize: Int
    @usableFromInline let ceiling: Int
    /// The sorted store: keys ascending (best last) and their values.
    @usableFromInline var keys: UnsafeMutablePointer<Int64>
    @usableFromInline var values: UnsafeMutablePointer<Value>
    @usableFromInline var capacity: Int
    @usableFromInline var growths = 0
    /// Bucketed windows: the key of each bucket's level, and how many sorted-store levels fall
    /// in each bucket (a key in the window's range lives in its bucket or, counted here, in the
    /// sorted store; never both).
    @usableFromInline let windowKeys: UnsafeMutablePointer<Int64>
    @usableFromInline let overflow: UnsafeMutablePointer<UInt32>
    /// What a window tick holds when no level is there, if the owner keeps that up.
    @usableFromInline let vacant: Value?
    /// Whether the window moves to follow the best level (`LevelStore.init`), how many changes
    /// of shape outside the window since it last moved and how many levels that move moved (16
    /// at the least; `followTouch`), and how many times it has.
    @usableFromInline var followsTouch: Bool
    @usableFromInline var changesSinceMove = 0
    @usableFromInline var lastMoveCost = 0
    @usableFromInline var windowMoves = 0

    init(
        flip: Int64, windowValues: UnsafeMutablePointer<Value>, windowBits: LevelBitmap, windowSize: Int,
        keys: UnsafeMutablePointer<Int64>, values: UnsafeMutablePointer<Value>, capacity: Int, ceiling: Int,
        vacant: Value?, followsTouch: Bool
    ) {
        let bucketed = Window.isBucketed
        windowSpan = Int64(windowSize)
        windowKeys = .allocate(capacity: bucketed ? windowSize : 1)
        overflow = .allocate(capacity: bucketed ? windowSize : 1)
        overflow.initialize(repeating: 0, count: bucketed ? windowSize : 1)
        self.flip = flip
        self.windowValues = windowValues
        self.windowBits = windowBits
        self.windowSize = windowSize
        self.keys = keys
        self.values = values
        self.capacity = capacity
        self.ceiling = ceiling
        self.vacant = vacant
        self.followsTouch = followsTouch
    }

    /// Places the window around `key` (while the side or the window is empty): centred on it, or
    /// with three quarters of the window above it (`lean` > 0) or below it (`lean` < 0). A
    /// bucketed window first sizes its buckets to about a millionth of the price.
    @inlinable
    mutating func placeWindow(around key: Int64, lean: Int = 0) {
        if Window.isBucketed { (windowShift, windowSpan) = buckets(around: key) }
        let below = lean == 0 ? windowSpan / 2 : lean > 0 ? windowSpan / 4 : windowSpan &- windowSpan / 4
        let (low, overflow) = key.subtractingReportingOverflow(below)
        windowLow = overflow ? Int64.min : (low > Int64.max &- windowSpan ? Int64.max &- windowSpan : low)
        windowBest = -1
    }

    /// The bucket shift and the span (in keys) of a window placed around `key`: buckets of
    /// about a millionth of its price (a power of two ticks), the span kept below 2^61.
    @inlinable
    func buckets(around key: Int64) -> (shift: UInt64, span: Int64) {
        guard Window.isBucketed else { return (0, Int64(windowSize)) }
        let scale = (key ^ flip).magnitude / 1_000_000
        var shift: UInt64 = scale == 0 ? 0 : UInt64(63 &- scale.leadingZeroBitCount)
        while shift > 0, Int64(windowSize).leadingZeroBitCount &- 3 < Int(shift) { shift &-= 1 }
        return (shift, Int64(windowSize) &<< shift)
    }

    /// The key of window slot `index` (held).
    @inlinable @inline(__always)
    func windowKey(_ index: Int) -> Int64 {
        !Window.isBucketed || windowShift == 0 ? windowLow &+ Int64(index) : windowKeys[index]
    }

    /// The bucket `key` falls in, or -1 outside the window (or with buckets of one tick).
    @inlinable @inline(__always)
    func bucket(of key: Int64) -> Int {
        if !Window.isBucketed || windowShift == 0 { return -1 }
        let (offset, overflow) = key.subtractingReportingOverflow(windowLow)
        guard !overflow, offset >= 0, offset < windowSpan else { return -1 }
        return Int(truncatingIfNeeded: offset &>> windowShift)
    }

    /// Whether `key` falls outside the window's range.
    @inlinable @inline(__always)
    func isOutsideWindow(_ key: Int64) -> Bool {
        let (offset, overflow) = key.subtractingReportingOverflow(windowLow)
        return overflow || offset < 0 || offset >= windowSpan
    }

    /// After a change of shape outside the window (or the window's last level removed): moves
    /// the window to the best level, with three quarters of the window on the side the best
    /// left it by (the way the market went), when the best lies outside the window's range, the
    /// next level within a quarter of the moved window from it, and at least one change has
    /// come since the last move per 16 levels that move moved; whether it moved. (A key of
    /// `Int64.max` lies beyond every window's range: not followed.)
    @usableFromInline @inline(never)
    mutating func followTouch() -> Bool {
        guard sortedCount > 0 else { return false }
        let best = keys[sortedCount &- 1]
        guard windowBest < 0 || best > windowKey(windowBest), best < Int64.max, isOutsideWindow(best),
            changesSinceMove &* 16 >= lastMoveCost
        else { return false }
        // The level after the best must lie within a quarter of the window placed around the
        // best (its buckets sized for the best's price), where that window holds it too. On a
        // grid sparser than that (a 1e-8 grid's levels in a window of single ticks) a window
        // would hold the best alone and move at every change of it, for nothing. Nor is a lone
        // level followed (none after it): the window stays where the side's levels were, which
        // is where a quote that was filled, cancelled or replaced comes back.
        guard sortedCount > 1 || windowBest >= 0 else { return false }
        let second = sortedCount > 1 ? keys[sortedCount &- 2] : Int64.min
        let next = windowBest >= 0 ? Swift.max(second, windowKey(windowBest)) : second
        let (gap, overflow) = best.subtractingReportingOverflow(next)
        guard !overflow, gap < buckets(around: best).span / 4 else { return false }
        recentre(around: best, lean: best > windowLow ? 1 : -1)
        return true
    }

    /// Moves the window to `key` (`placeWindow`; a bucketed window sizing its buckets anew),
    /// every level kept with its value: the window's levels go back into the sorted store where
    /// their range lies (their slots set to `vacant`, when given), then those in the new
    /// window's range come out of it. O(levels in the two windows' ranges and above them, plus
    /// the bitmap's words between the old window's levels); the levels below both windows stay
    /// where they are. Records what it moved in
    /// `lastMoveCost`. Allocates only when the sorted store must grow to hold every level.
    @usableFromInline @inline(never)
    mutating func recentre(around key: Int64, lean: Int) {
        let total = windowCount &+ sortedCount
        while capacity < total { grow() }
        // The sorted levels in the window's range (a bucketed window's overflow) and above it.
        let inRange = firstPosition(notBelow: windowLow)
        let above = firstPosition(notBelow: windowLow &+ windowSpan)
        if Window.isBucketed, windowShift != 0 {
            for position in inRange..<above {
                let inBucket = bucket(of: keys[position])
                if inBucket >= 0 { overflow[inBucket] = 0 }
            }
        }
        // Every level moved but those below the window's range.
        let moved = windowCount &+ sortedCount &- inRange
        // Above the window's range: moved up to make room for its levels.
        let higher = sortedCount &- above
        if higher > 0, windowCount > 0 {
            (keys + (above &+ windowCount)).moveInitialize(from: keys + above, count: higher)
            (values + (above &+ windowCount)).moveInitialize(from: values + above, count: higher)
        }
        // The window's levels merged, from the back, with the sorted levels in its range (a
        // bucketed window's overflow): both runs ascending, the window's read best first.
        var write = above &+ windowCount &- 1
        var sorted = above &- 1
        var window = windowBest
        while window >= 0 {
            let windowKey = windowKey(window)
            if sorted >= 0, keys[sorted] > windowKey {
                keys[write] = keys[sorted]
                values[write] = values[sorted]
                sorted &-= 1
            } else {
                keys[write] = windowKey
                values[write] = windowValues[window]
                if let vacant { windowValues[window] = vacant }
                windowBits.remove(window)
                window = windowBits.highest(atOrBelow: window &- 1)
            }
            write &-= 1
        }
        sortedCount = total
        windowCount = 0
        placeWindow(around: key, lean: lean)
        // The levels in the new window's range move into it (a taken bucket keeps the later
        // ones sorted, counted as its overflow); the levels above them move down.
        let first = firstPosition(notBelow: windowLow)
        var kept = first
        var position = first
        while position < sortedCount {
            let (offset, overflowed) = keys[position].subtractingReportingOverflow(windowLow)
            guard !overflowed, offset < windowSpan else { break }
            let index = Int(truncatingIfNeeded: offset &>> windowShift)
            if windowBits.contains(index) {
                keys[kept] = keys[position]
                values[kept] = values[position]
                kept &+= 1
                if Window.isBucketed { overflow[index] &+= 1 }
            } else {
                windowValues[index] = values[position]
                if Window.isBucketed, windowShift != 0 { windowKeys[index] = keys[position] }
                windowBits.insert(index)
                windowCount &+= 1
                if index > windowBest { windowBest = index }
            }
            position &+= 1
        }
        let behind = sortedCount &- position
        if behind > 0, kept < position {
            (keys + kept).moveInitialize(from: keys + position, count: behind)
            (values + kept).moveInitialize(from: values + position, count: behind)
        }
        sortedCount = kept &+ behind
        lastMoveCost = Swift.max(moved &+ (position &- first) &+ behind, 16)
        changesSinceMove = 0
        windowMoves &+= 1
    }

    /// The first position in the sorted store whose key is not below `key` (binary search).
    @usableFromInline
    func firstPosition(notBelow key: Int64) -> Int {
        var low = 0
        var high = sortedCount
        while low < high {
            let middle = (low &+ high) &>> 1
            if keys[middle] < key { low = middle &+ 1 } else { high = middle }
        }
        return low
    }

    @inlinable
    mutating func insertSorted(_ value: Value, key: Int64, position: Int) {
        changesSinceMove &+= 1
        if sortedCount == capacity { grow() }
        let behind = sortedCount &- position
        if behind > 0 {
            (keys + (position &+ 1)).moveInitialize(from: keys + position, count: behind)
            (values + (position &+ 1)).moveInitialize(from: values + position, count: behind)
        }
        keys[position] = key
        values[position] = value
        sortedCount &+= 1
        let inBucket = bucket(of: key)
        if inBucket >= 0 { overflow[inBucket] &+= 1 }
    }

    @inlinable
    mutating func removeSorted(position: Int) {
        changesSinceMove &+= 1
        let inBucket = bucket(of: keys[position])
        if inBucket >= 0 { overflow[inBucket] &-= 1 }
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
        growths &+= 1
    }
}

extension LevelStore {
    /// The level at `location` as a `BookLevel`, its quantity read by `lots`.
    @inlinable @inline(__always)
    public func bookLevel(at location: LevelLocation, lots: (Value) -> Int64) -> BookLevel {
        BookLevel(price: Price(ticks: price(at: location)), quantity: Quantity(lots: lots(value(at: location).pointee)))
    }

    /// Calls `body` with every level as a `BookLevel`, best first, until it returns false.
    @inlinable
    public func forEachBookLevel(lots: (Value) -> Int64, _ body: (BookLevel) -> Bool) {
        var cursor = levels
        while let location = next(&cursor) {
            guard body(bookLevel(at: location, lots: lots)) else { return }
        }
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
