import PeregrineModel

/// Where a pooled order is.
@usableFromInline
enum OrderState: UInt8, BitwiseCopyable {
    case free = 0
    /// In a price level's queue.
    case resting = 1
    /// In a stop ladder, waiting for its trigger.
    case pendingStop = 2
    /// Triggered and queued to enter the book after the current command.
    case triggered = 3
}

/// One order in the pool: exactly one 64-byte cache line (checked in tests).
@frozen
@usableFromInline
struct OrderSlot: BitwiseCopyable {
    @usableFromInline var orderID: UInt64
    /// Limit price in ticks (limit and stop-limit orders).
    @usableFromInline var price: Int64
    @usableFromInline var stopPrice: Int64
    /// Open quantity.
    @usableFromInline var leaves: Int64
    /// Quantity traded so far.
    @usableFromInline var filled: Int64
    /// When the order joined its current queue (the book's sequence counter): its priority.
    @usableFromInline var sequence: UInt64
    /// Previous and next order in the same queue (price level, stop level or the triggered
    /// queue), -1 at the ends. `next` also links the free list.
    @usableFromInline var previous: Int32
    @usableFromInline var next: Int32
    @usableFromInline var account: UInt32
    @usableFromInline var side: Side
    @usableFromInline var type: OrderType
    @usableFromInline var timeInForce: TimeInForce
    @usableFromInline var state: OrderState
}

/// A fixed-capacity pool of order slots with an intrusive free list. Allocated once (64-byte
/// aligned) at set-up; `allocate` and `free` are O(1) and allocation-free. Single-threaded.
@usableFromInline
struct OrderPool: ~Copyable {
    @usableFromInline let slots: UnsafeMutablePointer<OrderSlot>
    @usableFromInline let capacity: Int
    @usableFromInline var freeHead: Int32
    @usableFromInline var liveCount: Int = 0

    init(capacity: Int) {
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: capacity * MemoryLayout<OrderSlot>.stride, alignment: 64)
        slots = raw.bindMemory(to: OrderSlot.self, capacity: capacity)
        for index in 0..<capacity {
            (slots + index).initialize(
                to: OrderSlot(
                    orderID: 0, price: 0, stopPrice: 0, leaves: 0, filled: 0, sequence: 0, previous: -1,
                    next: index + 1 < capacity ? Int32(index + 1) : -1, account: 0, side: .buy, type: .limit,
                    timeInForce: .goodTillCancel, state: .free))
        }
        self.capacity = capacity
        freeHead = capacity > 0 ? 0 : -1
    }

    @inlinable deinit {
        UnsafeMutableRawPointer(slots).deallocate()
    }

    @inlinable var isFull: Bool { freeHead < 0 }

    /// Takes a free slot; -1 when the pool is full.
    @inlinable
    mutating func allocate() -> Int32 {
        let index = freeHead
        if index >= 0 {
            freeHead = slots[Int(index)].next
            liveCount &+= 1
        }
        return index
    }

    @inlinable
    mutating func free(_ index: Int32) {
        slots[Int(index)].state = .free
        slots[Int(index)].next = freeHead
        freeHead = index
        liveCount &-= 1
    }
}
