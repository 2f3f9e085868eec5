/// One price level's queue of orders (FIFO, oldest at `head`) and its aggregate.
@frozen
@usableFromInline
struct PriceLevel: BitwiseCopyable {
    /// Sum of the open quantity of the orders in the queue.
    @usableFromInline var quantity: Int64
    @usableFromInline var head: Int32
    @usableFromInline var tail: Int32
    @usableFromInline var count: Int32

    @usableFromInline static let empty = PriceLevel(quantity: 0, head: -1, tail: -1, count: 0)
}

/// The price levels of one side of a book (or one side's stops): an array indexed by the
/// price's position in the instrument's band, with a bitmap of occupied levels and the best
/// occupied index kept current. "Best" is the highest index for bids and sell stops, the lowest
/// for asks and buy stops.
///
/// Orders are linked through their pool slots, so a ladder owns no per-order memory. Append,
/// unlink and best-price upkeep are O(1) (finding the next best after a level empties scans
/// the two-level bitmap). Allocated once; allocation-free. Single-threaded.
@usableFromInline
struct PriceLadder: ~Copyable {
    @usableFromInline let levels: UnsafeMutablePointer<PriceLevel>
    @usableFromInline var occupied: LevelBitmap
    @usableFromInline let size: Int
    @usableFromInline let bestIsHighest: Bool
    /// The best occupied index, or -1 when the ladder is empty.
    @usableFromInline var best: Int = -1
    @usableFromInline var levelCount: Int = 0
    @usableFromInline var orderCount: Int = 0

    init(size: Int, bestIsHighest: Bool) {
        self.size = size
        self.bestIsHighest = bestIsHighest
        levels = .allocate(capacity: size)
        levels.initialize(repeating: .empty, count: size)
        occupied = LevelBitmap(size: size)
    }

    deinit {
        levels.deallocate()
    }

    /// Whether `index` is better than the current best (or the ladder is empty).
    @inlinable
    func isBetterThanBest(_ index: Int) -> Bool {
        best < 0 || (bestIsHighest ? index > best : index < best)
    }

    /// Queues `slot` at the back of level `index`.
    @inlinable
    mutating func append(_ slot: Int32, at index: Int, quantity: Int64, slots: UnsafeMutablePointer<OrderSlot>) {
        let level = levels + index
        slots[Int(slot)].next = -1
        slots[Int(slot)].previous = level.pointee.tail
        if level.pointee.tail >= 0 {
            slots[Int(level.pointee.tail)].next = slot
        } else {
            level.pointee.head = slot
            occupied.insert(index)
            levelCount &+= 1
            if isBetterThanBest(index) { best = index }
        }
        level.pointee.tail = slot
        level.pointee.count &+= 1
        level.pointee.quantity &+= quantity
        orderCount &+= 1
    }

    /// Unlinks `slot` (whose open quantity is `quantity`) from level `index`.
    @inlinable
    mutating func unlink(_ slot: Int32, at index: Int, quantity: Int64, slots: UnsafeMutablePointer<OrderSlot>) {
        let level = levels + index
        let previous = slots[Int(slot)].previous
        let next = slots[Int(slot)].next
        if previous >= 0 { slots[Int(previous)].next = next } else { level.pointee.head = next }
        if next >= 0 { slots[Int(next)].previous = previous } else { level.pointee.tail = previous }
        level.pointee.count &-= 1
        level.pointee.quantity &-= quantity
        orderCount &-= 1
        if level.pointee.count == 0 { levelEmptied(index) }
    }

    /// Removes the whole queue of level `index` (which must be occupied), returning its head.
    @inlinable
    mutating func detachLevel(_ index: Int) -> (head: Int32, tail: Int32) {
        let level = levels[index]
        orderCount &-= Int(level.count)
        levels[index] = .empty
        levelEmptied(index)
        return (level.head, level.tail)
    }

    /// Bookkeeping once level `index` holds no order.
    @inlinable
    mutating func levelEmptied(_ index: Int) {
        occupied.remove(index)
        levelCount &-= 1
        if index == best {
            best = bestIsHighest ? occupied.highest(atOrBelow: index &- 1) : occupied.lowest(atOrAbove: index &+ 1)
        }
    }

    /// The next occupied index after `index` in priority order (worse prices), or -1.
    @inlinable
    func nextWorse(than index: Int) -> Int {
        bestIsHighest ? occupied.highest(atOrBelow: index &- 1) : occupied.lowest(atOrAbove: index &+ 1)
    }
}
