/// One price level's queue of orders (FIFO, oldest at `head`) and its aggregate.
@frozen
@usableFromInline
struct PriceLevel: BitwiseCopyable {
    /// Sum of the open quantity of the orders in the queue.
    @usableFromInline var quantity: Int64
    @usableFromInline var head: Int32
    @usableFromInline var tail: Int32
    @usableFromInline var count: Int32

    @inlinable static var empty: PriceLevel { PriceLevel(quantity: 0, head: -1, tail: -1, count: 0) }

    @inlinable init(quantity: Int64, head: Int32, tail: Int32, count: Int32) {
        self.quantity = quantity
        self.head = head
        self.tail = tail
        self.count = count
    }
}

/// The price levels of one side of a book (or one side's stops): a `LevelStore` of order
/// queues, so any price on the instrument's grid can hold orders, however far apart. "Best" is
/// the highest price for bids and sell stops, the lowest for asks and buy stops. The store's
/// window follows the touch (`LevelStore`'s `followsTouch`), so the touch of a market that
/// drifts far from where the side opened stays in the window's O(1) slots (a touch of one
/// level far from the rest, or on a grid sparser than a quarter of the window, stays in the
/// sorted store).
///
/// Orders are linked through their pool slots, so a ladder owns no per-order memory. Append
/// and unlink are O(1) in the store's window and near the touch (O(log levels) deep in its
/// sorted part, plus the levels moved behind a new or emptied one). Allocation-free except when
/// the sorted store grows (amortised, counted). Single-threaded.
@usableFromInline
struct PriceLadder: ~Copyable {
    @usableFromInline var store: LevelStore<PriceLevel, TickWindow>
    @usableFromInline var orderCount: Int = 0

    init(direction: PriceDirection, windowSize: Int, ceiling: Int) {
        store = LevelStore(
            direction: direction, windowSize: windowSize, ceiling: ceiling, initialCapacity: 256, vacant: .empty,
            followsTouch: true)
    }

    @inlinable @inline(__always) var levelCount: Int { store.count }

    /// The best level, if any.
    @inlinable @inline(__always) var best: LevelLocation? { store.best }

    /// Whether an order at `price` could join this side: its level is held, or a new one fits
    /// under the ceiling.
    @inlinable @inline(__always)
    func canHold(_ price: Int64) -> Bool { store.count < store.ceiling || store.locate(price).found }

    /// Queues `slot` at the back of the level at `price`; false, changing nothing, when that
    /// would open a level beyond the ceiling.
    @inlinable @inline(__always)
    mutating func append(_ slot: Int32, price: Int64, quantity: Int64, slots: UnsafeMutablePointer<OrderSlot>)
        -> Bool
    {
        let level: UnsafeMutablePointer<PriceLevel>
        if let index = store.windowSlot(price) {
            // The window: a level with no order is vacant (`.empty`), no bitmap read needed.
            level = store.windowValue(index)
            if level.pointee.count == 0, !store.occupyWindow(index) { return false }
        } else {
            var location = store.locate(price)
            if !location.found {
                guard let added = store.insert(.empty, price: price, at: location) else { return false }
                location = added
            }
            level = store.value(at: location)
        }
        slots[Int(slot)].next = -1
        slots[Int(slot)].previous = level.pointee.tail
        if level.pointee.tail >= 0 {
            slots[Int(level.pointee.tail)].next = slot
        } else {
            level.pointee.head = slot
        }
        level.pointee.tail = slot
        level.pointee.count &+= 1
        level.pointee.quantity &+= quantity
        orderCount &+= 1
        return true
    }

    /// Unlinks `slot` (whose open quantity is `quantity`) from the level at `price`.
    @inlinable @inline(__always)
    mutating func unlink(_ slot: Int32, price: Int64, quantity: Int64, slots: UnsafeMutablePointer<OrderSlot>) {
        if let index = store.windowSlot(price) {
            unlink(slot, at: LevelLocation(raw: index, found: true), quantity: quantity, slots: slots)
            return
        }
        let location = store.locate(price)
        guard location.found else { return }
        unlink(slot, at: location, quantity: quantity, slots: slots)
    }

    /// Unlinks `slot` from the level at `location`; removes the level when it empties.
    @inlinable @inline(__always)
    mutating func unlink(
        _ slot: Int32, at location: LevelLocation, quantity: Int64, slots: UnsafeMutablePointer<OrderSlot>
    ) {
        let level = store.value(at: location)
        let previous = slots[Int(slot)].previous
        let next = slots[Int(slot)].next
        if previous >= 0 { slots[Int(previous)].next = next } else { level.pointee.head = next }
        if next >= 0 { slots[Int(next)].previous = previous } else { level.pointee.tail = previous }
        level.pointee.count &-= 1
        level.pointee.quantity &-= quantity
        orderCount &-= 1
        if level.pointee.count == 0 { store.remove(at: location) }
    }

    /// Removes the whole queue of the level at `location`, returning its ends.
    @inlinable @inline(__always)
    mutating func detachLevel(at location: LevelLocation) -> (head: Int32, tail: Int32) {
        let pointer = store.value(at: location)
        let level = pointer.pointee
        pointer.pointee = .empty  // a vacant window level reads as empty
        orderCount &-= Int(level.count)
        store.remove(at: location)
        return (level.head, level.tail)
    }
}
