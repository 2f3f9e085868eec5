import Histogram
import PeregrineModel

/// An HdrHistogram of latencies in nanoseconds.
public typealias LatencyHistogram = Histogram<UInt64>

/// What the monitor tells an observer each status interval (the control plane publishes it as
/// metrics). Built on the monitor thread from the counters and histograms the hot threads
/// publish; observers run there too, never on a hot thread.
public struct PipelineStatus: Sendable {
    /// Every pipeline counter, cumulative since start.
    public var counters: [PipelineCounters.Counter: Int]
    /// Inbound ring occupancy (published, not yet passed by the logic), 0 to 1.
    public var ringOccupancy: Double
    /// Events published on the inbound ring and not yet passed by the journal stage.
    public var journalLagEvents: Int
    /// False once the journal has failed (the pipeline is then stopping).
    public var journalWritable: Bool
    /// Rejected order commands so far, by reason (reasons not seen are absent).
    public var rejectsByReason: [ExecutionReason: Int]
    /// End-to-end latency of this interval, ns (nil when nothing arrived).
    public var endToEnd: Histogram<UInt64>?
    /// Event-to-order latency of this interval (ingress of the event a strategy decided on →
    /// its venue order at the sink), ns.
    public var orderLatency: Histogram<UInt64>?
    /// Journal stage latency of this interval (per batch: oldest ingress → released), ns.
    public var journalLatency: Histogram<UInt64>?
    /// Mempool runs: each bundled victim's ingress → its bundle signed and sent, ns.
    public var bundleLatency: Histogram<UInt64>? = nil
    /// Seconds since the pipeline started.
    public var elapsedSeconds: Double
    /// The strategies' latest positions, P&L and orders (nil without strategies).
    public var trading: TradingSnapshot? = nil

    public init(
        counters: [PipelineCounters.Counter: Int], ringOccupancy: Double, journalLagEvents: Int, journalWritable: Bool,
        rejectsByReason: [ExecutionReason: Int], endToEnd: LatencyHistogram?, orderLatency: LatencyHistogram?,
        journalLatency: LatencyHistogram?, elapsedSeconds: Double
    ) {
        self.counters = counters
        self.ringOccupancy = ringOccupancy
        self.journalLagEvents = journalLagEvents
        self.journalWritable = journalWritable
        self.rejectsByReason = rejectsByReason
        self.endToEnd = endToEnd
        self.orderLatency = orderLatency
        self.journalLatency = journalLatency
        self.elapsedSeconds = elapsedSeconds
    }
}

/// Watches a pipeline from the monitor thread: recovery, each status interval, the end.
public protocol PipelineObserver: AnyObject, Sendable {
    /// Recovery finished (nil: no journal) and the hot threads are starting.
    func recovered(_ summary: ReplaySummary?)
    /// One status interval's figures.
    func interval(_ status: PipelineStatus)
    /// The run is over.
    func finished(_ report: EngineReport)
    /// Where operators' commands go, where the logic leaves its trading state, and the
    /// pipeline's counters, readable at any time (before `recovered`); by default ignored.
    func attach(admin: AdminMailbox, trading: TradingBoard, counters: PipelineCounters)
}

extension PipelineObserver {
    public func attach(admin: AdminMailbox, trading: TradingBoard, counters: PipelineCounters) {}
}
