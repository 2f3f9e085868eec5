import Synchronization

/// The writing end of an `SPSCRing`. Owned by exactly one thread.
///
/// Every operation is wait-free, allocation-free and free of reference counting.
public struct SPSCProducer<Element: BitwiseCopyable>: ~Copyable, @unchecked Sendable {
    /// The ring, retained by `init` and released by `deinit` by hand: with no reference-counted
    /// field the endpoint is a plain value the compiler keeps in registers, so a push loop
    /// does not also store the producer's index to memory on every push.
    @usableFromInline let ring: Unmanaged<SPSCRing<Element>>
    @usableFromInline let buffer: UnsafeMutablePointer<Element>
    @usableFromInline let mask: Int
    @usableFromInline let capacity: Int
    @usableFromInline let head: UnsafeMutablePointer<Atomic<Int>>
    @usableFromInline let tail: UnsafeMutablePointer<Atomic<Int>>
    @usableFromInline let notifier: WakeNotifier
    @usableFromInline var localTail: Int
    @usableFromInline var cachedHead: Int

    init(ring: SPSCRing<Element>) {
        self.ring = Unmanaged.passRetained(ring)
        buffer = ring.buffer
        mask = ring.mask
        capacity = ring.capacity
        head = ring.headCell
        tail = ring.tailCell
        notifier = ring.wakeSignal.notifier
        localTail = ring.tailCell.pointee.load(ordering: .relaxed)
        cachedHead = ring.headCell.pointee.load(ordering: .acquiring)
    }

    deinit { ring.release() }

    /// Appends `element`. Returns `false`, changing nothing, when the ring is full.
    @inlinable
    public mutating func tryPush(_ element: Element) -> Bool {
        if localTail &- cachedHead == capacity {
            cachedHead = head.pointee.load(ordering: .acquiring)
            if localTail &- cachedHead == capacity {
                return false
            }
        }
        buffer[localTail & mask] = element
        localTail &+= 1
        tail.pointee.store(localTail, ordering: .releasing)
        notifier.notify()
        return true
    }

    /// Appends as many of `elements` as fit, in order, with one publish. Returns how many.
    @inlinable
    public mutating func tryPush(contentsOf elements: UnsafeBufferPointer<Element>) -> Int {
        var free = capacity &- (localTail &- cachedHead)
        if free < elements.count {
            cachedHead = head.pointee.load(ordering: .acquiring)
            free = capacity &- (localTail &- cachedHead)
        }
        let count = Swift.min(free, elements.count)
        if count == 0 { return 0 }
        for offset in 0..<count {
            buffer[(localTail &+ offset) & mask] = elements[offset]
        }
        localTail &+= count
        tail.pointee.store(localTail, ordering: .releasing)
        notifier.notify()
        return count
    }

    /// Free slots as this producer last saw them (may be fewer than the real number).
    @inlinable
    public var knownFreeCapacity: Int { capacity &- (localTail &- cachedHead) }

    /// Free slots right now (one acquire load of the consumer's index).
    @inlinable
    public mutating func refreshFreeCapacity() -> Int {
        cachedHead = head.pointee.load(ordering: .acquiring)
        return capacity &- (localTail &- cachedHead)
    }

    /// The ring's wake signal, for producers that wait for space.
    @inlinable
    public var wakeSignal: WakeSignal { notifier.signal }
}
