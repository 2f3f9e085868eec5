import PeregrineBook
import PeregrineCore
import PeregrineModel

/// Where a strategy sends the transactions it decides on.
public protocol TransactionSink: ~Copyable {
    /// Accepts `transaction`; `false` if the per-event limit was reached (then it is counted
    /// by the sink as rejected, not silently lost).
    mutating func emit(_ transaction: Transaction) -> Bool
}

/// A trading strategy hosted by the logic stage.
///
/// The logic stage calls `onEvent` for every input event, after the books have applied it,
/// on the logic thread. A strategy owns its state, reads the books, and hands transactions
/// to `sink` — at most `Strategy.maxTransactionsPerEvent` per event. Strategies and sinks are
/// generic parameters, so calls are static and inlined. Implementations must be
/// deterministic (no wall clock, no unordered iteration reaching output) so that a replay
/// reproduces them.
public protocol Strategy {
    mutating func onEvent<Sink: TransactionSink & ~Copyable>(
        _ event: Event, books: borrowing BookSet, sink: inout Sink)

    /// Adds everything the strategy remembers between events to `hasher`, so that state
    /// hashes catch a replay that diverges inside the strategy.
    func combineState(into hasher: inout StateHasher)

    /// Writes everything the strategy remembers between events, for snapshots.
    func encodeState(into encoder: inout SnapshotEncoder)

    /// Loads what `encodeState` wrote.
    mutating func restoreState(from decoder: inout SnapshotDecoder) throws(SnapshotError)

    /// The strategy and every parameter that shapes its decisions, on one line (no `;`): it is
    /// stored with the journal's logic settings, and recovery and replay refuse a journal
    /// written with other parameters (which would diverge silently).
    var parameters: String { get }
}

extension Strategy {
    /// The most transactions one event may produce (one full bundle).
    public static var maxTransactionsPerEvent: Int { Bundle.capacity }
}

/// A strategy that does nothing: for measuring the engine without strategy work.
public struct IdleStrategy: Strategy, Sendable {
    public init() {}
    @inlinable
    public mutating func onEvent<Sink: TransactionSink & ~Copyable>(
        _ event: Event, books: borrowing BookSet, sink: inout Sink
    ) {}

    public func combineState(into hasher: inout StateHasher) {}
    public func encodeState(into encoder: inout SnapshotEncoder) {}
    public mutating func restoreState(from decoder: inout SnapshotDecoder) throws(SnapshotError) {}
    public var parameters: String { "idle" }
}
