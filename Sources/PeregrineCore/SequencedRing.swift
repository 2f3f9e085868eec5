import Synchronization

/// A Disruptor-style ring: one producer, several consumers arranged as a dependency graph.
///
/// ```
///                        ┌──► consumer 0 "journal" ──┐
///  producer ─► cursor ───┤                           ├──► consumer 1 "logic" (waits for 0)
///                        └──► consumer 2 "metrics"   │
///  producer waits for the slowest consumer that no other consumer waits for (the leaves)
/// ```
///
/// Sequences are `Int`s starting at 0; slot = sequence & mask. The producer claims a range,
/// writes the slots in place and publishes by storing the range's last sequence into the
/// cursor (release). Consumer `i` may read up to the minimum of the sequences it depends on
/// (the cursor when it depends on nothing), handles the batch, then stores the batch's last
/// sequence into its own cell (release). The producer may reuse a slot only after every leaf
/// consumer has passed it, which means every consumer has.
///
/// Thread-safety: one thread per endpoint; each endpoint is created once.
public final class SequencedRing<Element: BitwiseCopyable>: @unchecked Sendable {
    /// One consumer of the ring: a name for reports, and the earlier consumers it waits for.
    public struct Consumer: Sendable, Equatable {
        public var name: String
        public var dependsOn: [Int]

        public init(_ name: String, dependsOn: [Int] = []) {
            self.name = name
            self.dependsOn = dependsOn
        }
    }

    @usableFromInline let buffer: UnsafeMutablePointer<Element>
    @usableFromInline let mask: Int
    /// Number of slots; a power of two.
    public let capacity: Int
    /// The consumers, in the order given at creation.
    public let consumers: [Consumer]
    /// Cell 0 is the cursor (last published sequence); cell 1 + i is consumer i's sequence.
    @usableFromInline let cells: PaddedAtomicCells
    /// Per consumer, the cells it waits for; then, the cells that gate the producer.
    @usableFromInline let barrierLists: UnsafeMutablePointer<UnsafeMutablePointer<Atomic<Int>>>
    @usableFromInline let barrierRanges: [Range<Int>]
    @usableFromInline let gatingRange: Range<Int>
    /// Notified on every publish.
    public let wakeSignal = WakeSignal()
    private let endpointsTaken: PaddedAtomicCells

    /// Creates a ring of `capacity` slots (a power of two, at least 2) with `consumers`.
    /// A consumer may depend only on consumers listed before it.
    public init(capacity: Int, consumers: [Consumer]) throws(CoreError) {
        try validateRingCapacity(capacity)
        for (index, consumer) in consumers.enumerated() {
            for dependency in consumer.dependsOn where dependency < 0 || dependency >= index {
                throw .invalidDependency(consumer: index, dependsOn: dependency)
            }
        }
        self.capacity = capacity
        self.consumers = consumers
        mask = capacity - 1
        buffer = allocateSlots(Element.self, capacity: capacity)
        cells = PaddedAtomicCells(count: 1 + consumers.count, initialValue: -1)
        endpointsTaken = PaddedAtomicCells(count: 1 + consumers.count, initialValue: 0)

        var lists: [Int] = []
        var ranges: [Range<Int>] = []
        var dependedOn = Set<Int>()
        for consumer in consumers {
            let start = lists.count
            if consumer.dependsOn.isEmpty {
                lists.append(0)
            } else {
                for dependency in consumer.dependsOn {
                    lists.append(1 + dependency)
                    dependedOn.insert(dependency)
                }
            }
            ranges.append(start..<lists.count)
        }
        let gatingStart = lists.count
        for index in consumers.indices where !dependedOn.contains(index) {
            lists.append(1 + index)
        }
        gatingRange = gatingStart..<lists.count
        barrierRanges = ranges
        barrierLists = .allocate(capacity: Swift.max(lists.count, 1))
        for (offset, cellIndex) in lists.enumerated() {
            (barrierLists + offset).initialize(to: cells.address(cellIndex))
        }
    }

    deinit {
        buffer.deallocate()
        barrierLists.deallocate()
    }

    @usableFromInline var cursorCell: UnsafeMutablePointer<Atomic<Int>> { cells.address(0) }

    /// The producer endpoint; call once.
    public func makeProducer() throws(CoreError) -> SequencedProducer<Element> {
        try takeEndpoint(0, name: "producer")
        return SequencedProducer(ring: self)
    }

    /// The endpoint of consumer `index`; call once per consumer.
    public func makeConsumer(_ index: Int) throws(CoreError) -> SequencedConsumer<Element> {
        guard consumers.indices.contains(index) else { throw .unknownConsumer(index) }
        try takeEndpoint(1 + index, name: "consumer '\(consumers[index].name)'")
        return SequencedConsumer(ring: self, index: index)
    }

    /// The last published sequence (-1 before the first publish). For monitoring.
    public var publishedSequence: Int { cursorCell.pointee.load(ordering: .acquiring) }

    /// The last sequence consumer `index` has finished (-1 before its first batch).
    public func consumerSequence(_ index: Int) -> Int {
        cells.address(1 + index).pointee.load(ordering: .acquiring)
    }

    private func takeEndpoint(_ index: Int, name: String) throws(CoreError) {
        if endpointsTaken.address(index).pointee.exchange(1, ordering: .relaxed) != 0 {
            throw .endpointTaken(ring: "SequencedRing", endpoint: name)
        }
    }
}

/// A contiguous run of claimed sequences, `first ... last`.
@frozen
public struct SequenceRange: Equatable, Sendable {
    public let first: Int
    public let count: Int

    @inlinable public init(first: Int, count: Int) {
        self.first = first
        self.count = count
    }

    /// The last sequence in the range.
    @inlinable public var last: Int { first &+ count &- 1 }
}

/// The minimum of the sequences in `list[range]`.
@inlinable
func minimumSequence(
    _ list: UnsafeMutablePointer<UnsafeMutablePointer<Atomic<Int>>>, _ range: Range<Int>
) -> Int {
    var minimum = Int.max
    var index = range.lowerBound
    while index < range.upperBound {
        let value = list[index].pointee.load(ordering: .acquiring)
        if value < minimum { minimum = value }
        index &+= 1
    }
    return minimum
}
