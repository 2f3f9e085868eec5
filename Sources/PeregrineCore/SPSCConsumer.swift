import Synchronization

/// The reading end of an `SPSCRing`. Owned by exactly one thread.
///
/// Every operation is wait-free, allocation-free and free of reference counting.
public struct SPSCConsumer<Element: BitwiseCopyable>: ~Copyable, @unchecked Sendable {
    /// The ring, retained by `init` and released by `deinit` by hand, so that the endpoint is a
    /// plain value kept in registers (see `SPSCProducer.ring`).
    @usableFromInline let ring: Unmanaged<SPSCRing<Element>>
    @usableFromInline let buffer: UnsafeMutablePointer<Element>
    @usableFromInline let mask: Int
    @usableFromInline let notifier: WakeNotifier
    @usableFromInline let head: UnsafeMutablePointer<Atomic<Int>>
    @usableFromInline let tail: UnsafeMutablePointer<Atomic<Int>>
    @usableFromInline var localHead: Int
    @usableFromInline var cachedTail: Int

    init(ring: SPSCRing<Element>) {
        self.ring = Unmanaged.passRetained(ring)
        buffer = ring.buffer
        mask = ring.mask
        notifier = ring.wakeSignal.notifier
        head = ring.headCell
        tail = ring.tailCell
        localHead = ring.headCell.pointee.load(ordering: .relaxed)
        cachedTail = ring.tailCell.pointee.load(ordering: .acquiring)
    }

    deinit { ring.release() }

    /// Removes and returns the oldest element, or `nil` when the ring is empty.
    @inlinable
    public mutating func tryPop() -> Element? {
        if cachedTail == localHead {
            cachedTail = tail.pointee.load(ordering: .acquiring)
            if cachedTail == localHead {
                return nil
            }
        }
        let element = buffer[localHead & mask]
        localHead &+= 1
        head.pointee.store(localHead, ordering: .releasing)
        return element
    }

    /// Hands every available element (at most `limit`) to `body` in FIFO order, then frees
    /// their slots with one release store. Returns how many were handed over; the last call
    /// to `body` is the end of the batch.
    ///
    /// One acquire load of the producer's index per call.
    @inlinable
    @discardableResult
    public mutating func drain(limit: Int = .max, _ body: (Element) -> Void) -> Int {
        cachedTail = tail.pointee.load(ordering: .acquiring)
        let count = Swift.min(cachedTail &- localHead, limit)
        if count <= 0 { return 0 }
        for offset in 0..<count {
            body(buffer[(localHead &+ offset) & mask])
        }
        localHead &+= count
        head.pointee.store(localHead, ordering: .releasing)
        return count
    }

    /// Number of elements readable now (one acquire load). Read them with `element(at:)`
    /// and free them with `consume(_:)`: the closure-free form of `drain`.
    @inlinable
    public mutating func readableCount() -> Int {
        cachedTail = tail.pointee.load(ordering: .acquiring)
        return cachedTail &- localHead
    }

    /// The element `offset` places after the oldest unconsumed one (offset < readableCount).
    @inlinable
    public func element(at offset: Int) -> Element { buffer[(localHead &+ offset) & mask] }

    /// Frees the `count` oldest elements with one release store.
    @inlinable
    public mutating func consume(_ count: Int) {
        localHead &+= count
        head.pointee.store(localHead, ordering: .releasing)
    }

    /// The ring's wake signal, to park on while the ring is empty.
    @inlinable
    public var wakeSignal: WakeSignal { notifier.signal }
}
