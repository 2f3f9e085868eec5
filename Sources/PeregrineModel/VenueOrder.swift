/// An order command a strategy decided on, bound for a venue this engine does not host: what
/// the engine sends out for a gateway to place (orders for a hosted venue are matched inside
/// the engine instead). A trivially copyable value of 64 bytes.
@frozen
public struct VenueOrder: Hashable, Sendable, BitwiseCopyable {
    public var command: OrderCommand
    /// The ingress time of the event on which the strategy decided, engine ns: the sink
    /// measures event-to-order latency from it.
    public var decidedAt: UInt64
    /// The journal sequence of that event.
    public var sequence: Int64
    public var instrument: InstrumentID

    @inlinable
    public init(command: OrderCommand, instrument: InstrumentID, sequence: Int64, decidedAt: UInt64) {
        self.command = command
        self.instrument = instrument
        self.sequence = sequence
        self.decidedAt = decidedAt
    }
}
