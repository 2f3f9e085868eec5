import Synchronization

/// A bounded single-producer / single-consumer ring of trivial values.
///
/// ```
///            head (consumer writes)          tail (producer writes)
///                 │                               │
///  [ . . . . . . .│x x x x x x x x x x x x x x x x│. . . . . ]   capacity = 2^k
///                 └──── readable: tail − head ────┘
/// ```
///
/// `head` and `tail` are monotonically increasing `Int` counters (slot = counter & mask),
/// each in its own 128-byte cell. Each side keeps its own counter locally and a cached copy
/// of the other side's, and reads the other side's real counter (acquire) only when the
/// cache says the ring is full (producer) or empty (consumer). Publishing is one release
/// store. A full ring is reported to the producer as a result, never a trap or a wait.
///
/// The ring object is touched only at set-up: each thread creates its endpoint once
/// (`makeProducer()` / `makeConsumer()`, each allowed once) and works through that
/// `~Copyable` endpoint, which holds everything it needs. No allocation or reference
/// counting per operation.
public final class SPSCRing<Element: BitwiseCopyable>: @unchecked Sendable {
    @usableFromInline let buffer: UnsafeMutablePointer<Element>
    @usableFromInline let mask: Int
    /// Number of slots; a power of two.
    public let capacity: Int
    @usableFromInline let indices = PaddedAtomicCells(count: 2, initialValue: 0)
    /// Notified on every publish, for consumers that park.
    public let wakeSignal = WakeSignal()
    private let endpointsTaken = Atomic<Int>(0)

    /// Creates a ring with `capacity` slots (a power of two, at least 2).
    public init(capacity: Int) throws(CoreError) {
        try validateRingCapacity(capacity)
        self.capacity = capacity
        mask = capacity - 1
        buffer = allocateSlots(Element.self, capacity: capacity)
    }

    deinit {
        buffer.deallocate()
    }

    @usableFromInline var headCell: UnsafeMutablePointer<Atomic<Int>> { indices.address(0) }
    @usableFromInline var tailCell: UnsafeMutablePointer<Atomic<Int>> { indices.address(1) }

    /// The producer endpoint. Call once, on (or before handing to) the producing thread.
    public func makeProducer() throws(CoreError) -> SPSCProducer<Element> {
        try takeEndpoint(bit: 1, name: "producer")
        return SPSCProducer(ring: self)
    }

    /// The consumer endpoint. Call once, on (or before handing to) the consuming thread.
    public func makeConsumer() throws(CoreError) -> SPSCConsumer<Element> {
        try takeEndpoint(bit: 2, name: "consumer")
        return SPSCConsumer(ring: self)
    }

    /// Items published and not yet consumed, as seen at this instant. For monitoring.
    public var approximateCount: Int {
        tailCell.pointee.load(ordering: .acquiring) &- headCell.pointee.load(ordering: .acquiring)
    }

    /// Total items ever published. For monitoring.
    public var publishedCount: Int { tailCell.pointee.load(ordering: .acquiring) }

    /// Total items ever consumed. For monitoring.
    public var consumedCount: Int { headCell.pointee.load(ordering: .acquiring) }

    private func takeEndpoint(bit: Int, name: String) throws(CoreError) {
        let before = endpointsTaken.bitwiseOr(bit, ordering: .relaxed).oldValue
        if before & bit != 0 {
            throw .endpointTaken(ring: "SPSCRing", endpoint: name)
        }
    }
}
