import PeregrineBook
import PeregrineCore
import PeregrineModel

/// Where a strategy sends the orders it decides on.
public protocol OrderSink: ~Copyable {
    /// Accepts `command` for `instrument`; `false` when the per-event limit
    /// (`Strategy.maxOrdersPerEvent`) was reached (the sink counts it as refused, never silently
    /// lost).
    mutating func submit(_ command: OrderCommand, instrument: InstrumentID) -> Bool
}

/// A trading strategy hosted by the logic stage.
///
/// The logic stage calls `onEvent` for every input event, after the event has been applied
/// to its instrument's book, on the logic thread. A strategy owns its state, reads the books
/// (each instrument's one book: the hosted venue's order book or the L2 book of its market
/// data) and submits order commands to `orders`: at most `maxOrdersPerEvent` per event. An
/// order for an instrument the engine hosts is matched there and then (its reports are
/// outputs); any other is sent out for the venue that trades it (a `VenueOrder`). Strategies
/// and sinks are generic parameters, so calls are static and inlined. Implementations must be
/// deterministic (no wall clock, no unordered iteration reaching output) so that a replay
/// reproduces them.
public protocol Strategy {
    mutating func onEvent<Orders: OrderSink & ~Copyable>(
        _ event: Event, books: borrowing InstrumentBooks, orders: inout Orders)

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
    /// The most orders one event may produce.
    public static var maxOrdersPerEvent: Int { 16 }
}

/// A strategy that does nothing: for measuring the engine without strategy work.
public struct IdleStrategy: Strategy, Sendable {
    public init() {}
    @inlinable
    public mutating func onEvent<Orders: OrderSink & ~Copyable>(
        _ event: Event, books: borrowing InstrumentBooks, orders: inout Orders
    ) {}

    public func combineState(into hasher: inout StateHasher) {}
    public func encodeState(into encoder: inout SnapshotEncoder) {}
    public mutating func restoreState(from decoder: inout SnapshotDecoder) throws(SnapshotError) {}
    public var parameters: String { "idle" }
}
