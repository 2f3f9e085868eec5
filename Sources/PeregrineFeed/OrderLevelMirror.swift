import PeregrineBook
import PeregrineModel

/// The order-level mirror of a venue's book: every live order by id, and per side a
/// `LevelStore` of price levels holding the sum of their orders' sizes and how many orders
/// they hold. A level exists while it holds at least one order.
///
/// Exact on any grid (prices are Int64 ticks, level sizes checked sums); memory grows with the
/// live orders and levels (a level ceiling per side is a `FeedError`). O(1) expected per message
/// near the touch. Single-threaded.
struct OrderLevelMirror: ~Copyable {
    /// One price level: total size in lots, and orders.
    struct Level: BitwiseCopyable {
        var lots: Int64
        var orders: Int64
    }

    var bids: LevelStore<Level, BucketWindow>
    var asks: LevelStore<Level, BucketWindow>
    var orders: OrderTable
    private(set) var bidOrders = 0
    private(set) var askOrders = 0

    /// `orderCapacity`: the live orders held before the order table first grows.
    init(windowSize: Int, maxLevelsPerSide: Int, orderCapacity: Int) {
        orders = OrderTable(capacity: orderCapacity)
        bids = LevelStore(
            direction: .highestFirst, windowSize: windowSize, ceiling: maxLevelsPerSide, followsTouch: true)
        asks = LevelStore(
            direction: .lowestFirst, windowSize: windowSize, ceiling: maxLevelsPerSide, followsTouch: true)
    }

    /// Adds one order of `lots` at `price` to `side`. Throws, changing nothing, when a new level
    /// would pass the ceiling or the level's total would overflow.
    mutating func join(_ side: Side, price: Int64, lots: Int64) throws(OrderLevelMirrorError) {
        if side == .buy {
            try Self.join(&bids, price: price, lots: lots)
            bidOrders += 1
        } else {
            try Self.join(&asks, price: price, lots: lots)
            askOrders += 1
        }
    }

    private static func join(_ levels: inout LevelStore<Level, BucketWindow>, price: Int64, lots: Int64)
        throws(OrderLevelMirrorError)
    {
        let location = levels.locate(price)
        if location.found {
            let level = levels.value(at: location)
            let (total, overflow) = level.pointee.lots.addingReportingOverflow(lots)
            guard !overflow else { throw .levelOverflow }
            level.pointee.lots = total
            level.pointee.orders &+= 1
            return
        }
        guard levels.insert(Level(lots: lots, orders: 1), price: price, at: location) != nil else {
            throw .ceiling(levels.ceiling)
        }
    }

    /// Takes one order of `lots` at `price` off `side`; returns the level's new total (0 when the
    /// level is gone).
    mutating func leave(_ side: Side, price: Int64, lots: Int64) -> Int64 {
        if side == .buy {
            bidOrders -= 1
            return Self.leave(&bids, price: price, lots: lots)
        }
        askOrders -= 1
        return Self.leave(&asks, price: price, lots: lots)
    }

    private static func leave(_ levels: inout LevelStore<Level, BucketWindow>, price: Int64, lots: Int64) -> Int64 {
        let location = levels.locate(price)
        guard location.found else { return 0 }
        let level = levels.value(at: location)
        level.pointee.orders &-= 1
        level.pointee.lots &-= lots
        if level.pointee.orders <= 0 {
            levels.remove(at: location)
            return 0
        }
        return level.pointee.lots
    }

    /// Empties the mirror.
    mutating func removeAll() {
        bids.removeAll()
        asks.removeAll()
        orders.removeAll()
        bidOrders = 0
        askOrders = 0
    }

    // MARK: Queries

    func best(_ side: Side) -> BookLevel? {
        side == .buy ? Self.best(bids) : Self.best(asks)
    }

    private static func best(_ levels: borrowing LevelStore<Level, BucketWindow>) -> BookLevel? {
        levels.best.map { levels.bookLevel(at: $0) { $0.lots } }
    }

    func levelCount(_ side: Side) -> Int { side == .buy ? bids.count : asks.count }

    func orderCount(_ side: Side) -> Int { side == .buy ? bidOrders : askOrders }

    /// Orders at `price` on `side`.
    func orderCount(_ side: Side, at price: Int64) -> Int {
        let level = side == .buy ? bids.find(price) : asks.find(price)
        return Int(level?.pointee.orders ?? 0)
    }

    /// Up to `count` levels of `side`, best first.
    func depth(_ side: Side, levels count: Int) -> [BookLevel] {
        side == .buy ? Self.depth(bids, count) : Self.depth(asks, count)
    }

    private static func depth(_ levels: borrowing LevelStore<Level, BucketWindow>, _ count: Int) -> [BookLevel] {
        var result: [BookLevel] = []
        result.reserveCapacity(Swift.min(count, levels.count))
        levels.forEachBookLevel(lots: { $0.lots }) { level in
            guard result.count < count else { return false }
            result.append(level)
            return true
        }
        return result
    }
}

/// Why the mirror could not take a message.
enum OrderLevelMirrorError: Error {
    /// A new level would pass the ceiling of levels per side.
    case ceiling(Int)
    /// A level's total size would pass Int64.
    case levelOverflow
}

/// Live orders by id: open addressing with linear probing and backward-shift deletion (no
/// tombstones), growing by doubling at half full (amortised O(1); allocation only then).
/// Single-threaded.
struct OrderTable: ~Copyable {
    struct Entry: BitwiseCopyable {
        var id: UInt64
        var price: Int64
        var lots: Int64
        var side: Side
        var used: Bool
    }

    private var entries: UnsafeMutablePointer<Entry>
    private var mask: Int
    private var shift: UInt64
    private(set) var count = 0
    /// How many times the table has doubled.
    private(set) var growths = 0

    init(capacity: Int) {
        var size = 16
        while size < capacity { size <<= 1 }
        entries = Self.allocate(size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    deinit { entries.deallocate() }

    private static func allocate(_ size: Int) -> UnsafeMutablePointer<Entry> {
        let entries = UnsafeMutablePointer<Entry>.allocate(capacity: size)
        entries.initialize(repeating: Entry(id: 0, price: 0, lots: 0, side: .buy, used: false), count: size)
        return entries
    }

    /// Fibonacci hashing: venue ids may count up or be random 64-bit values.
    @inline(__always)
    private func home(_ id: UInt64) -> Int { Int(truncatingIfNeeded: (id &* 0x9E37_79B9_7F4A_7C15) &>> shift) }

    /// Adds or replaces the order with `id`; returns what it replaced, if anything.
    mutating func set(_ id: UInt64, side: Side, price: Int64, lots: Int64) -> Entry? {
        var position = home(id)
        while entries[position].used {
            if entries[position].id == id {
                let old = entries[position]
                entries[position] = Entry(id: id, price: price, lots: lots, side: side, used: true)
                return old
            }
            position = (position &+ 1) & mask
        }
        entries[position] = Entry(id: id, price: price, lots: lots, side: side, used: true)
        count += 1
        if count * 2 > mask + 1 { grow() }
        return nil
    }

    /// Removes the order with `id`; returns it, if it was live.
    mutating func remove(_ id: UInt64) -> Entry? {
        var position = home(id)
        while entries[position].used {
            if entries[position].id == id {
                let old = entries[position]
                var hole = position
                var next = (hole &+ 1) & mask
                while entries[next].used {
                    let wanted = home(entries[next].id)
                    if (next &- wanted) & mask >= (next &- hole) & mask {
                        entries[hole] = entries[next]
                        hole = next
                    }
                    next = (next &+ 1) & mask
                }
                entries[hole].used = false
                count -= 1
                return old
            }
            position = (position &+ 1) & mask
        }
        return nil
    }

    mutating func removeAll() {
        entries.update(repeating: Entry(id: 0, price: 0, lots: 0, side: .buy, used: false), count: mask + 1)
        count = 0
    }

    private mutating func grow() {
        let old = entries
        let oldSize = mask + 1
        let size = oldSize * 2
        entries = Self.allocate(size)
        mask = size - 1
        shift &-= 1
        for index in 0..<oldSize where old[index].used {
            var position = home(old[index].id)
            while entries[position].used { position = (position &+ 1) & mask }
            entries[position] = old[index]
        }
        old.deallocate()
        growths += 1
    }
}

extension OrderLevelMirror {
    /// The total size at `price` on `side` (0 when no level is held there).
    func levelTotal(_ side: Side, at price: Int64) -> Int64 {
        let level = side == .buy ? bids.find(price) : asks.find(price)
        return level?.pointee.lots ?? 0
    }
}
