import PeregrineCore
import PeregrineModel

/// The journal stage: consumer 0 of the inbound ring; the logic stage sees only what this
/// stage has passed.
///
/// ┌───────────────────────────────────────────────────────────────────────────────────┐
/// │ JOURNAL GOES HERE. Today this stage only passes events on. The file journal        │
/// │ (record format, group commit once per batch at `range.last`, durability policy)    │
/// │ plugs into `poll`, and the logic stage already depends on this consumer's sequence │
/// │ in the ring's dependency graph, so nothing downstream changes when it lands.       │
/// └───────────────────────────────────────────────────────────────────────────────────┘
public struct JournalStage: ~Copyable {
    @usableFromInline var consumer: SequencedConsumer<Event>
    @usableFromInline let batchLimit: Int
    /// Events passed on so far.
    @usableFromInline var _passed: Int = 0
    public var passed: Int { _passed }
    /// Batches handled (one journal write each, once the journal exists).
    @usableFromInline var _batches: Int = 0
    public var batches: Int { _batches }

    public init(consumer: consuming SequencedConsumer<Event>, batchLimit: Int) {
        self.consumer = consumer
        self.batchLimit = batchLimit
    }

    /// Passes on one batch of available events; returns how many.
    @inlinable
    public mutating func poll() -> Int {
        guard let range = consumer.available(limit: batchLimit) else { return 0 }
        consumer.finish(range)
        _passed &+= range.count
        _batches &+= 1
        return range.count
    }

    /// The last sequence passed on.
    @inlinable public var sequence: Int { consumer.sequence }
}
