/// A first-in first-out queue of items due at a time, each with the sequence number it was
/// queued with (ties between queues go to the item queued first). Its capacity is a power of
/// two (an index wraps with a mask, not a division); it grows by doubling; no allocation once
/// it has reached its working size.
struct TimedQueue<Element> {
    struct Entry {
        var time: UInt64
        var order: UInt64
        var element: Element
    }

    var buffer: [Entry?]
    var head = 0
    private(set) var count = 0
    /// The latest time queued: times never go back (an item never overtakes one before it).
    private(set) var latest: UInt64 = 0

    init(capacity: Int = 64) {
        var size = 2
        while size < capacity { size &<<= 1 }
        buffer = Array(repeating: nil, count: size)
    }

    var isEmpty: Bool { count == 0 }

    /// The first item's time and queueing order.
    var first: (time: UInt64, order: UInt64)? {
        guard count > 0, let entry = buffer[head] else { return nil }
        return (entry.time, entry.order)
    }

    /// Queues `element` due at `time` (or at the latest time queued, if later).
    mutating func push(_ element: Element, at time: UInt64, order: UInt64) {
        if count == buffer.count { grow() }
        latest = Swift.max(latest, time)
        buffer[(head &+ count) & (buffer.count &- 1)] = Entry(time: latest, order: order, element: element)
        count += 1
    }

    mutating func pop() -> Entry? {
        guard count > 0 else { return nil }
        let entry = buffer[head]
        buffer[head] = nil
        head = (head &+ 1) & (buffer.count &- 1)
        count -= 1
        return entry
    }

    mutating func grow() {
        var larger: [Entry?] = Array(repeating: nil, count: buffer.count * 2)
        for index in 0..<count { larger[index] = buffer[(head &+ index) & (buffer.count &- 1)] }
        buffer = larger
        head = 0
    }
}
