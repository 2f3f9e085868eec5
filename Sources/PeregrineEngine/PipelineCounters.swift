import PeregrineCore
import Synchronization

/// The pipeline's counters, one padded cell each. Every counter has exactly one writing
/// thread, which stores its local total (relaxed) at batch ends; the monitor reads them.
/// Never two writers on one counter, so no read-modify-write is needed.
public final class PipelineCounters: @unchecked Sendable {
    public enum Counter: Int, CaseIterable, Sendable {
        case sourceEmitted, sourceDropped, sourceFullWaits, sourceTicks
        case journalPassed, journalDurable, journalBytes
        case logicProcessed, logicOrders, logicRefusedOrders, logicVenueOrders, logicReports
        /// This run's pending transactions analysed, back-run opportunities and bundles sealed.
        case logicTransactions, logicOpportunities, logicBundles
        case sinkOutcomes, sinkVenueOrders, sinkReports, sinkFills, sinkSignals, sinkBundles
    }

    @usableFromInline let cells = PaddedAtomicCells(count: Counter.allCases.count, initialValue: 0)

    public init() {}

    /// Publishes `value` as the counter's new total. Call only from the counter's thread.
    @inlinable
    public func publish(_ counter: Counter, _ value: Int) {
        cells.store(counter.rawValue, value, ordering: .relaxed)
    }

    /// The counter's last published total.
    public subscript(_ counter: Counter) -> Int {
        cells.load(counter.rawValue, ordering: .relaxed)
    }

    /// Every counter at once, for a status line, metrics or the report. Downstream counters
    /// are read first, and an upstream event count is raised to the downstream one when a
    /// thread has not yet published its total (an event the logic processed was journaled
    /// and emitted): so source ≥ journal ≥ logic ≥ sink in every snapshot, each still a lower
    /// bound of the true count and never decreasing.
    public func snapshot() -> [Counter: Int] {
        var values: [Counter: Int] = [:]
        for counter in Counter.allCases.reversed() { values[counter] = self[counter] }
        let sink = values[.sinkOutcomes] ?? 0
        let logic = Swift.max(values[.logicProcessed] ?? 0, sink)
        let journal = Swift.max(values[.journalPassed] ?? 0, logic)
        values[.logicProcessed] = logic
        values[.journalPassed] = journal
        values[.sourceEmitted] = Swift.max(values[.sourceEmitted] ?? 0, journal)
        return values
    }
}
