import Synchronization

/// The single producer of a `SequencedRing`. Owned by one thread.
///
/// Claim a range, write its slots in place (`write(_:at:)`), then `publish` it. Claims never
/// block: a claim that does not fit behind the slowest consumer returns `nil`, and the
/// caller decides whether to wait (with its wait strategy), retry or drop.
/// No allocation or reference counting per operation.
public struct SequencedProducer<Element: BitwiseCopyable>: ~Copyable, @unchecked Sendable {
    /// The ring, retained by `init` and released by `deinit` by hand, so that the endpoint is a
    /// plain value the compiler can keep in registers (see `SPSCProducer.ring`).
    @usableFromInline let ring: Unmanaged<SequencedRing<Element>>
    @usableFromInline let buffer: UnsafeMutablePointer<Element>
    @usableFromInline let mask: Int
    @usableFromInline let capacity: Int
    @usableFromInline let cursor: UnsafeMutablePointer<Atomic<Int>>
    @usableFromInline let gating: UnsafeMutablePointer<UnsafeMutablePointer<Atomic<Int>>>
    @usableFromInline let gatingRange: Range<Int>
    @usableFromInline let notifier: WakeNotifier
    /// The next sequence to claim.
    @usableFromInline var nextSequence: Int
    /// The slowest gating consumer's sequence when last read.
    @usableFromInline var cachedGatingSequence: Int

    init(ring: SequencedRing<Element>) {
        self.ring = Unmanaged.passRetained(ring)
        buffer = ring.buffer
        mask = ring.mask
        capacity = ring.capacity
        cursor = ring.cursorCell
        gating = ring.barrierLists
        gatingRange = ring.gatingRange
        notifier = ring.wakeSignal.notifier
        nextSequence = ring.cursorCell.pointee.load(ordering: .relaxed) &+ 1
        cachedGatingSequence = minimumSequence(ring.barrierLists, ring.gatingRange)
        if ring.gatingRange.isEmpty {
            // With no consumers nothing ever frees a slot: behave as if nothing was consumed.
            cachedGatingSequence = -1
        }
    }

    deinit { ring.release() }

    /// Claims exactly `count` sequences (1 ... capacity), or returns `nil` if they are not
    /// all free yet.
    @inlinable
    public mutating func tryClaim(_ count: Int) -> SequenceRange? {
        if count <= 0 || count > capacity { return nil }
        let last = nextSequence &+ count &- 1
        let wrapPoint = last &- capacity
        if wrapPoint > cachedGatingSequence {
            if !gatingRange.isEmpty {
                cachedGatingSequence = minimumSequence(gating, gatingRange)
            }
            if wrapPoint > cachedGatingSequence { return nil }
        }
        let range = SequenceRange(first: nextSequence, count: count)
        nextSequence = last &+ 1
        return range
    }

    /// Claims between 1 and `limit` sequences, as many as are free; `nil` when none is.
    @inlinable
    public mutating func tryClaim(upTo limit: Int) -> SequenceRange? {
        var free = capacity &- (nextSequence &- 1 &- cachedGatingSequence)
        if free < limit, !gatingRange.isEmpty {
            cachedGatingSequence = minimumSequence(gating, gatingRange)
            free = capacity &- (nextSequence &- 1 &- cachedGatingSequence)
        }
        let count = Swift.min(free, limit)
        if count <= 0 { return nil }
        let range = SequenceRange(first: nextSequence, count: count)
        nextSequence &+= count
        return range
    }

    /// Writes `element` into the slot of a claimed, not yet published sequence.
    @inlinable
    public mutating func write(_ element: Element, at sequence: Int) {
        (buffer + (sequence & mask)).initialize(to: element)
    }

    /// Makes every claimed sequence up to `range.last` visible to consumers (release).
    /// Ranges must be published in the order they were claimed.
    @inlinable
    public mutating func publish(_ range: SequenceRange) {
        cursor.pointee.store(range.last, ordering: .releasing)
        notifier.notify()
    }

    /// Claims one slot, writes `element` and publishes it. `false` when the ring is full.
    @inlinable
    public mutating func tryPublish(_ element: Element) -> Bool {
        guard let range = tryClaim(1) else { return false }
        write(element, at: range.first)
        publish(range)
        return true
    }

    /// The last sequence published (-1 before the first).
    @inlinable
    public var publishedSequence: Int { nextSequence &- 1 }

    /// The ring's wake signal.
    @inlinable
    public var wakeSignal: WakeSignal { notifier.signal }
}
