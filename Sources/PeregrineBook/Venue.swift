import PeregrineModel

/// A place where orders meet: it trades some instruments, takes order commands for them and
/// answers each with execution reports, in order, through a generic sink (statically
/// dispatched, allocation-free on its hot path).
///
/// The hosted `MatchingEngine` (every participant's orders meet there: `peregrine match`, and
/// strategies paper trading against the synthetic order flow) is one. The backtest's simulated
/// venue, driven by recorded books with queue and latency models, is the next. Which venue
/// trades an instrument comes from the configuration (`InstrumentDefinition.venue`): the logic
/// sends a command to the venue that hosts its instrument, and any other out as a venue order.
public protocol Venue: ~Copyable {
    /// Whether this venue trades `instrument`.
    func hosts(_ instrument: InstrumentID) -> Bool

    /// Handles `command` for `instrument`, sending every report it causes to `sink`, in order;
    /// a command for an instrument it does not trade is rejected (`unknownInstrument`).
    mutating func process<Sink: ExecutionReportSink & ~Copyable>(
        _ command: OrderCommand, instrument: InstrumentID, sink: inout Sink)

    /// The best bid and offer of `instrument`'s book there, or nil when it has none.
    func bestBidOffer(_ instrument: InstrumentID) -> BestBidOffer?
}

extension MatchingEngine: Venue {}
