import PeregrineCore
import PeregrineJournal
import PeregrineModel
import PeregrineStrategy

/// Where the journal stage writes events: segment files, a JetStream stream, nothing, or a
/// test's memory. The stage appends each available batch, commits it, and releases to the
/// logic only what the backend reports durable: the durability point.
///
/// Owned by the journal thread; called through generics. An error stops the journal for good
/// (the pipeline stops and reports it; accepted events are never silently lost).
public protocol JournalBackend: ~Copyable {
    /// Appends `event` at journal `sequence`; false when the backend takes no more for now (a
    /// full publish window), and the stage offers it again on a later poll.
    mutating func append(_ event: Event, sequence: Int64) throws(JournalError) -> Bool
    /// Appends ring sequences `first...last` of `ring` (journal sequence = ring sequence +
    /// `baseSequence`) as far as the backend takes them; returns the last ring sequence taken
    /// (`first - 1` for none). The default calls `append(_:sequence:)` for each.
    mutating func append(
        _ ring: borrowing SequencedConsumer<Event>, first: Int, last: Int, baseSequence: Int64
    ) throws(JournalError) -> Int
    /// Ends a batch of appends (one write, or a frame published). `drained`: every event the
    /// ring held was appended, so a partly filled frame should go out now.
    mutating func commit(now: UInt64, drained: Bool) throws(JournalError)
    /// Does what time asks (a sync that is due, acks that arrived) and returns one past the
    /// last durable sequence: events before it may be acted on.
    mutating func durableSequence(now: UInt64) throws(JournalError) -> Int64
    /// Called while idle after a stop: throws when the backend cannot make waiting events
    /// durable in time (a server that is away), so a shutdown cannot hang.
    mutating func stopping(now: UInt64) throws(JournalError)
    /// Makes everything appended durable, whatever the policy (clean shutdown).
    mutating func close(now: UInt64) throws(JournalError)
    /// How many events one poll appends at most (a batch for one write).
    var appendLimit: Int { get }
    /// Whether small batches should wait a little for more (one write per batch).
    var coalescesWrites: Bool { get }
    /// Totals so far (read at the end of a run).
    var statistics: JournalStatistics { get }
    /// Bytes written so far: read after every batch, so cheap (by default from `statistics`).
    var bytesWritten: Int { get }
}

extension JournalBackend where Self: ~Copyable {
    @inlinable
    public var bytesWritten: Int { statistics.bytesWritten }

    @inlinable
    public mutating func append(
        _ ring: borrowing SequencedConsumer<Event>, first: Int, last: Int, baseSequence: Int64
    ) throws(JournalError) -> Int {
        var sequence = first
        while sequence <= last {
            guard try append(ring.element(sequence), sequence: baseSequence &+ Int64(sequence)) else { break }
            sequence &+= 1
        }
        return sequence &- 1
    }

    public mutating func stopping(now: UInt64) throws(JournalError) {}
    public var coalescesWrites: Bool { false }
}

/// What the journal stage needs to open its backend.
public struct JournalContext: Sendable {
    public var configuration: EngineConfiguration
    /// Journal sequence of the first event this run appends.
    public var nextSequence: Int64

    public init(configuration: EngineConfiguration, nextSequence: Int64) {
        self.configuration = configuration
        self.nextSequence = nextSequence
    }
}

/// A journal: how to recover the logic from what it holds (at start-up, before any thread
/// starts) and how to open its writer on the journal thread.
public protocol JournalPlan: Sendable, CustomStringConvertible {
    associatedtype Backend: JournalBackend & ~Copyable
    /// Checks that the journal was written with these logic settings (storing them when it is
    /// new) and rebuilds the logic from it; nil when there is nothing to recover from.
    func recover<S: Strategy>(configuration: EngineConfiguration, custom: S.Type) throws(EngineError) -> Recovered<S>?
    func open(_ context: JournalContext) throws(EngineError) -> Backend
    /// Where snapshots of the logic go (nil: none are taken).
    var snapshotDirectory: String? { get }
    /// The report's lines about this journal.
    func reportLines(_ report: EngineReport) -> [String]
    /// When an event counts as durable with this journal (the start log says it).
    func durability(_ configuration: EngineConfiguration) -> String
}

extension JournalPlan {
    public var snapshotDirectory: String? { nil }
    public func durability(_ configuration: EngineConfiguration) -> String { "\(configuration.durability)" }
}

/// No journal (`--no-journal`): every event is passed on as it comes; nothing is durable and
/// the report says so.
public struct NoJournal: JournalPlan, JournalBackend {
    public init() {}
    @usableFromInline var appended: Int64 = 0
    public private(set) var appendLimit = 1

    public func recover<S: Strategy>(configuration: EngineConfiguration, custom: S.Type) throws(EngineError)
        -> Recovered<S>?
    { nil }

    public func durability(_ configuration: EngineConfiguration) -> String { "none (no journal)" }

    public func open(_ context: JournalContext) throws(EngineError) -> NoJournal {
        var journal = NoJournal()
        journal.appended = context.nextSequence
        journal.appendLimit = context.configuration.batchLimit
        return journal
    }

    @inlinable
    public mutating func append(_ event: Event, sequence: Int64) throws(JournalError) -> Bool {
        appended = sequence &+ 1
        return true
    }

    /// Takes the whole range at once: nothing is written.
    @inlinable
    public mutating func append(
        _ ring: borrowing SequencedConsumer<Event>, first: Int, last: Int, baseSequence: Int64
    ) throws(JournalError) -> Int {
        appended = baseSequence &+ Int64(last) &+ 1
        return last
    }

    @inlinable public mutating func commit(now: UInt64, drained: Bool) throws(JournalError) {}
    @inlinable public mutating func durableSequence(now: UInt64) throws(JournalError) -> Int64 { appended }
    public mutating func close(now: UInt64) throws(JournalError) {}
    public var statistics: JournalStatistics {
        var statistics = JournalStatistics()
        statistics.durableSequence = appended
        return statistics
    }

    public var description: String { "none" }

    public func reportLines(_ report: EngineReport) -> [String] {
        ["journal           none (this run has no journal): nothing is durable and no output waits for the journal"]
    }
}
