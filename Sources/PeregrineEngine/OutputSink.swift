import PeregrineBook
import PeregrineMempool
import PeregrineModel
import PeregrineStrategy

/// Where outputs go, in order: from `EngineLogic` to the rings to the sink thread
/// (`RingOutputs`), or to hashing and counting (`HashingOutputs`, replay and recovery); from
/// the sink thread on to NATS subjects, files or nowhere (`NoOutputs`). Called through
/// generics, once per output; implementations on the hot path must not allocate per item.
public protocol OutputSink: ExecutionReportSink, BundleSink, ~Copyable {
    /// The result of one input event (every event has one), when `takesOutcomes`.
    mutating func outcome(_ outcome: Outcome)
    /// Whether the sink takes outcomes (true but for the backtest's, which does not: the logic
    /// then does not compute them).
    static var takesOutcomes: Bool { get }
    /// An order the strategy submitted for a venue this engine does not host.
    mutating func order(_ order: VenueOrder)
    /// An update of a strategy's order, for the orders and fills export (not hashed: it repeats
    /// what the reports say), caused by the input event `sequence` at `time`. Sinks that do not
    /// export ignore it. (The parts, not a `StrategyOrderEvent`: a sink that wants only some
    /// updates builds the event for those alone, rather than the caller copying every update
    /// into one.)
    mutating func orderUpdate(sequence: Int64, time: UInt64, _ update: OrderUpdate)
    /// The updates `orderUpdate` exports (default: all). The logic queues an update that neither
    /// its strategy (`Strategy.orderUpdates`) nor the sink takes for no one.
    static var orderUpdates: OrderUpdateInterest { get }
    // From `BundleSink`: each leg of a sealed bundle, then its seal (the mempool logic).
    /// Reports accepted so far (the logic counts per event from it).
    var reportCount: Int { get }
    /// The end of a batch: send what was buffered.
    mutating func flush()
    /// The end of the run: send everything still buffered.
    mutating func close()
}

extension OutputSink where Self: ~Copyable {
    @inlinable public static var takesOutcomes: Bool { true }
    @inlinable public static var orderUpdates: OrderUpdateInterest { .all }
    @inlinable public mutating func orderUpdate(sequence: Int64, time: UInt64, _ update: OrderUpdate) {}
    public mutating func flush() {}
    public mutating func close() {}
}

/// How the sink thread opens where it sends outputs (on that thread).
public protocol OutputPlan: Sendable, CustomStringConvertible {
    associatedtype Sink: OutputSink & ~Copyable
    func open() throws(EngineError) -> Sink
}

/// Outputs that go nowhere past the sink stage (which counts and measures them): the
/// embedded default.
public struct NoOutputs: OutputSink, OutputPlan {
    @usableFromInline var _reportCount = 0
    public var reportCount: Int { _reportCount }

    public init() {}

    @inlinable public mutating func outcome(_ outcome: Outcome) {}
    @inlinable public mutating func order(_ order: VenueOrder) {}
    @inlinable public mutating func accept(_ report: ExecutionReport) { _reportCount &+= 1 }
    @inlinable public mutating func bundleLeg(_ leg: borrowing BundleLeg) {}
    @inlinable public mutating func bundleSealed(_ seal: BundleSeal) {}

    public func open() throws(EngineError) -> NoOutputs { NoOutputs() }
    public var description: String { "none" }
}
