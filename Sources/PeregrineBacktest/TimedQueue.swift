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
