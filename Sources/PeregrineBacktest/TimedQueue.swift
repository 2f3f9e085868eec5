/// A first-in first-out queue of items due at a time, each with the sequence number it was
/// queued with (ties between queues go to the item queued first). Its capacity is a power of
/// two (an index wraps with a mask, not a division); it grows by doubling; no allocation once
/// it has reached its working size.
///
/// A reference type over a plain buffer: pushing and popping check no uniqueness, and reading
/// the first item's time copies nothing else. Single-threaded.
final class TimedQueue<Element> {
    struct Entry {
        var time: UInt64
        var order: UInt64
        var element: Element
    }

    /// `capacity` slots; those from `head` (wrapping) for `count` are initialised.
    @exclusivity(unchecked) private var slots: UnsafeMutablePointer<Entry>
    @exclusivity(unchecked) private(set) var capacity: Int
    @exclusivity(unchecked) private var head = 0
    @exclusivity(unchecked) private(set) var count = 0
    /// The latest time queued: times never go back (an item never overtakes one before it).
    @exclusivity(unchecked) private(set) var latest: UInt64 = 0

    init(capacity: Int = 64) {
        var size = 2
        while size < capacity { size &<<= 1 }
        self.capacity = size
        slots = .allocate(capacity: size)
    }

    deinit {
        for index in 0..<count { (slots + ((head &+ index) & (capacity &- 1))).deinitialize(count: 1) }
        slots.deallocate()
    }

    var isEmpty: Bool { count == 0 }

    /// The first item's time and queueing order.
    var first: (time: UInt64, order: UInt64)? {
        guard count > 0 else { return nil }
        return (slots[head].time, slots[head].order)
    }

    /// Queues `element` due at `time` (or at the latest time queued, if later).
    @inline(__always)
    func push(_ element: Element, at time: UInt64, order: UInt64) {
        if count == capacity { grow() }
        latest = Swift.max(latest, time)
        (slots + ((head &+ count) & (capacity &- 1))).initialize(
            to: Entry(time: latest, order: order, element: element))
        count &+= 1
    }

    func pop() -> Entry? {
        guard count > 0 else { return nil }
        let entry = (slots + head).move()
        head = (head &+ 1) & (capacity &- 1)
        count &-= 1
        return entry
    }

    private func grow() {
        let larger = UnsafeMutablePointer<Entry>.allocate(capacity: capacity &* 2)
        for index in 0..<count {
            (larger + index).moveInitialize(from: slots + ((head &+ index) & (capacity &- 1)), count: 1)
        }
        slots.deallocate()
        slots = larger
        capacity &*= 2
        head = 0
    }
}

/// A queue of items due at a time, taken earliest first (at equal times, in the order they
/// were queued: by their sequence number), whatever order they were queued in: a binary heap.
/// Items queued in time order come out in that order, as from a `TimedQueue`. Its capacity
/// grows by doubling; no allocation once it has reached its working size. O(log n) a push or
/// a pop. Single-threaded.
final class EarliestFirstQueue<Element> {
    typealias Entry = TimedQueue<Element>.Entry

    /// `capacity` slots, the first `count` initialised, in heap order.
    @exclusivity(unchecked) private var slots: UnsafeMutablePointer<Entry>
    @exclusivity(unchecked) private var capacity: Int
    @exclusivity(unchecked) private(set) var count = 0

    init(capacity: Int = 64) {
        self.capacity = Swift.max(capacity, 2)
        slots = .allocate(capacity: self.capacity)
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    var isEmpty: Bool { count == 0 }

    /// The first item's time and queueing order.
    var first: (time: UInt64, order: UInt64)? {
        guard count > 0 else { return nil }
        return (slots[0].time, slots[0].order)
    }

    /// Whether `a` goes before `b`.
    @inline(__always)
    private static func precedes(_ a: UnsafeMutablePointer<Entry>, _ b: UnsafeMutablePointer<Entry>) -> Bool {
        a.pointee.time < b.pointee.time || (a.pointee.time == b.pointee.time && a.pointee.order < b.pointee.order)
    }

    /// Queues `element` due at `time`.
    func push(_ element: Element, at time: UInt64, order: UInt64) {
        if count == capacity { grow() }
        (slots + count).initialize(to: Entry(time: time, order: order, element: element))
        var child = count
        count &+= 1
        while child > 0 {
            let parent = (child &- 1) >> 1
            guard Self.precedes(slots + child, slots + parent) else { break }
            swap(&slots[child], &slots[parent])
            child = parent
        }
    }

    /// Takes the earliest item.
    func pop() -> Entry? {
        guard count > 0 else { return nil }
        count &-= 1
        if count > 0 { swap(&slots[0], &slots[count]) }
        let entry = (slots + count).move()
        var parent = 0
        while true {
            let left = 2 &* parent &+ 1
            guard left < count else { break }
            let right = left &+ 1
            let earlier = right < count && Self.precedes(slots + right, slots + left) ? right : left
            guard Self.precedes(slots + earlier, slots + parent) else { break }
            swap(&slots[parent], &slots[earlier])
            parent = earlier
        }
        return entry
    }

    private func grow() {
        let larger = UnsafeMutablePointer<Entry>.allocate(capacity: capacity &* 2)
        larger.moveInitialize(from: slots, count: count)
        slots.deallocate()
        slots = larger
        capacity &*= 2
    }
}
