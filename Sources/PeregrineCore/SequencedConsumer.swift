import Synchronization

/// One consumer of a `SequencedRing`. Owned by one thread.
///
/// `poll` hands over, in sequence order, every element that this consumer's dependencies
/// have passed, and says which one ends the batch (so a journal can write once per batch).
/// No allocation or reference counting per operation.
public struct SequencedConsumer<Element: BitwiseCopyable>: ~Copyable, @unchecked Sendable {
    /// The ring, retained by `init` and released by `deinit` by hand, so that the endpoint is a
    /// plain value the compiler can keep in registers (see `SPSCProducer.ring`).
    @usableFromInline let ring: Unmanaged<SequencedRing<Element>>
    @usableFromInline let buffer: UnsafeMutablePointer<Element>
    @usableFromInline let mask: Int
    @usableFromInline let own: UnsafeMutablePointer<Atomic<Int>>
    @usableFromInline let barrier: UnsafeMutablePointer<UnsafeMutablePointer<Atomic<Int>>>
    @usableFromInline let barrierRange: Range<Int>
    @usableFromInline let notifier: WakeNotifier
    /// The next sequence to hand over.
    @usableFromInline var nextSequence: Int
    /// The highest sequence the dependencies had passed when last read.
    @usableFromInline var cachedAvailable: Int
    /// This consumer's index in the ring.
    public let index: Int

    init(ring: SequencedRing<Element>, index: Int) {
        self.ring = Unmanaged.passRetained(ring)
        self.index = index
        buffer = ring.buffer
        mask = ring.mask
        own = ring.cells.address(1 + index)
        barrier = ring.barrierLists
        barrierRange = ring.barrierRanges[index]
        notifier = ring.wakeSignal.notifier
        nextSequence = ring.cells.address(1 + index).pointee.load(ordering: .relaxed) &+ 1
        cachedAvailable = nextSequence &- 1
    }

    deinit { ring.release() }

    /// Hands over up to `limit` available elements as `(element, sequence, endOfBatch)`,
    /// then marks them consumed with one release store. Returns how many were handed over.
    @inlinable
    @discardableResult
    public mutating func poll(
        limit: Int = .max, _ handler: (_ element: Element, _ sequence: Int, _ endOfBatch: Bool) -> Void
    ) -> Int {
        if cachedAvailable < nextSequence {
            cachedAvailable = minimumSequence(barrier, barrierRange)
            if cachedAvailable < nextSequence { return 0 }
        }
        let remaining = cachedAvailable &- nextSequence &+ 1
        let count = Swift.min(remaining, limit)
        let last = nextSequence &+ count &- 1
        var sequence = nextSequence
        while sequence <= last {
            handler(buffer[sequence & mask], sequence, sequence == last)
            sequence &+= 1
        }
        own.pointee.store(last, ordering: .releasing)
        nextSequence = last &+ 1
        // Dependent consumers and a producer waiting for space may be parked on the signal.
        notifier.notify()
        return count
    }

    /// The run of sequences available now (at most `limit`), without consuming them; read
    /// them with `element(_:)` and then call `finish(_:)`. `nil` when nothing is available.
    /// The closure-free form of `poll`, for stages that keep their state beside the endpoint.
    @inlinable
    public mutating func available(limit: Int = .max) -> SequenceRange? {
        if cachedAvailable < nextSequence {
            cachedAvailable = minimumSequence(barrier, barrierRange)
            if cachedAvailable < nextSequence { return nil }
        }
        return SequenceRange(first: nextSequence, count: Swift.min(cachedAvailable &- nextSequence &+ 1, limit))
    }

    /// The element at an available sequence.
    @inlinable
    public func element(_ sequence: Int) -> Element { buffer[sequence & mask] }

    /// Marks `range` (returned by `available`) consumed, with one release store.
    @inlinable
    public mutating func finish(_ range: SequenceRange) {
        own.pointee.store(range.last, ordering: .releasing)
        nextSequence = range.last &+ 1
        notifier.notify()
    }

    /// The last sequence this consumer has finished (-1 before its first batch).
    @inlinable
    public var sequence: Int { nextSequence &- 1 }

    /// Whether everything the dependencies have passed so far has been consumed.
    @inlinable
    public mutating func isCaughtUp() -> Bool {
        cachedAvailable = minimumSequence(barrier, barrierRange)
        return cachedAvailable < nextSequence
    }

    /// The ring's wake signal, to park on while nothing is available.
    @inlinable
    public var wakeSignal: WakeSignal { notifier.signal }
}
