import PeregrineModel

/// What the logic stage did with one input event: the record it sends to the sink for every
/// event, so the sink sees each event leave the engine (and end-to-end latency is measured
/// for every event, not only the ones that trade).
@frozen
public struct Outcome: Hashable, Sendable, BitwiseCopyable {
    /// The event's sequence on the inbound ring.
    public var sequence: Int64
    /// The event's ingress time, engine ns.
    public var ingressTimestamp: UInt64
    /// Best bid and ask of the event's instrument's book after the event and the strategy's
    /// orders (`Int64.min` when absent).
    public var bestBidTicks: Int64
    public var bestAskTicks: Int64
    public var instrument: InstrumentID
    public var kind: EventKind
    /// Orders the strategy submitted on this event.
    public var ordersSubmitted: UInt8
    /// Execution reports the matching engine produced for this event (saturates at 65,535;
    /// the reports themselves travel on their own ring).
    public var reportsEmitted: UInt16

    @inlinable
    public init(
        sequence: Int64, ingressTimestamp: UInt64, instrument: InstrumentID, kind: EventKind,
        bestBidTicks: Int64, bestAskTicks: Int64, ordersSubmitted: UInt8, reportsEmitted: UInt16 = 0
    ) {
        self.reportsEmitted = reportsEmitted
        self.sequence = sequence
        self.ingressTimestamp = ingressTimestamp
        self.instrument = instrument
        self.kind = kind
        self.bestBidTicks = bestBidTicks
        self.bestAskTicks = bestAskTicks
        self.ordersSubmitted = ordersSubmitted
    }

    /// Marks a missing side of the book.
    public static let noPrice = Int64.min
}
