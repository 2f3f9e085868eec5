import PeregrineBook
import PeregrineCore
import PeregrineMempool
import PeregrineModel
import Synchronization

/// The sink stage: takes outcomes, venue orders and execution reports off the outbound rings,
/// measures end-to-end latency (ingress → here) for every event and event-to-order latency
/// (ingress of the deciding event → here) for every venue order, counts what arrived (the output hash is computed by the logic, which is
/// deterministic; see `OutputHasher`), and hands everything on to `Downstream` (NATS
/// subjects, or nowhere), flushing it once per drained batch.
///
/// The clock is read once per drained batch. No allocation per item.
public struct SinkStage<Downstream: OutputSink & ~Copyable>: ~Copyable {
    @usableFromInline var outcomes: SPSCConsumer<Outcome>
    @usableFromInline var orders: SPSCConsumer<VenueOrder>
    @usableFromInline var reports: SPSCConsumer<ExecutionReport>
    @usableFromInline var bundles: SPSCConsumer<BundleOutput>
    @usableFromInline var updates: SPSCConsumer<StrategyOrderEvent>
    /// The orders and fills export (`--fills-out`), when one is written, and whether there is
    /// one (a flag: testing the reference itself would retain it on every drain).
    @usableFromInline let export: OrderEventWriter?
    @usableFromInline let exports: Bool
    @usableFromInline var bundleLatency: LatencyWriter
    /// Arrivals of the legs of the bundle being received (at most 8 legs).
    @usableFromInline var legArrivals = InlineArray<8, UInt64>(repeating: 0)
    @usableFromInline var legCount = 0
    @usableFromInline var _bundleCount: Int = 0
    /// Sealed bundles received (their legs came before each).
    public var bundleCount: Int { _bundleCount }
    @usableFromInline var _reportCount: Int = 0
    /// Execution reports received from the matching engine.
    public var reportCount: Int { _reportCount }
    @usableFromInline var _fillCount: Int = 0
    /// Fill reports among them (two per trade).
    public var fillCount: Int { _fillCount }
    @usableFromInline var endToEnd: LatencyWriter
    @usableFromInline var orderLatency: LatencyWriter
    @usableFromInline let clock: CycleClock
    @usableFromInline var _outcomeCount: Int = 0
    public var outcomeCount: Int { _outcomeCount }
    @usableFromInline var _orderCount: Int = 0
    /// Venue orders received.
    public var orderCount: Int { _orderCount }
    @usableFromInline var _signalCount: Int = 0
    /// Outcomes for which the strategy submitted at least one order.
    public var signalCount: Int { _signalCount }
    /// Rejected commands by `ExecutionReason` raw value: one cell each, written only here (a
    /// relaxed store per reject), read by the monitor.
    public let rejectsByReason: PaddedAtomicCells
    /// Where outputs go on from here.
    @usableFromInline var downstream: Downstream
    @usableFromInline let wiring: Pipeline.Wiring
    /// The pipeline's control, unretained (`wiring` keeps it alive): read in idle loops
    /// without retain and release.
    @usableFromInline unowned(unsafe) let control: PipelineControl

    @usableFromInline
    init(
        outcomes: consuming SPSCConsumer<Outcome>, orders: consuming SPSCConsumer<VenueOrder>,
        reports: consuming SPSCConsumer<ExecutionReport>, bundles: consuming SPSCConsumer<BundleOutput>,
        updates: consuming SPSCConsumer<StrategyOrderEvent>, export: OrderEventWriter?,
        endToEnd: consuming LatencyWriter, orderLatency: consuming LatencyWriter,
        bundleLatency: consuming LatencyWriter, clock: CycleClock,
        rejectsByReason: PaddedAtomicCells = PaddedAtomicCells(count: 256, initialValue: 0),
        downstream: consuming Downstream, wiring: Pipeline.Wiring
    ) {
        self.wiring = wiring
        control = wiring.control
        self.downstream = downstream
        self.rejectsByReason = rejectsByReason
        self.outcomes = outcomes
        self.orders = orders
        self.reports = reports
        self.bundles = bundles
        self.updates = updates
        self.export = export
        exports = export != nil
        self.bundleLatency = bundleLatency
        self.endToEnd = endToEnd
        self.orderLatency = orderLatency
        self.clock = clock
    }

    /// Drains the three rings; returns the number of items taken.
    @inlinable
    public mutating func drain() -> Int {
        let readyReports = reports.readableCount()
        for offset in 0..<readyReports {
            let report = reports.element(at: offset)
            downstream.accept(report)
            if report.isFill {
                _fillCount &+= 1
            } else if report.kind == .rejected {
                rejectsByReason.increment(Int(report.reason.rawValue))
            }
        }
        reports.consume(readyReports)
        _reportCount &+= readyReports
        if exports { drainUpdates() }
        let readyOutcomes = outcomes.readableCount()
        let readyOrders = orders.readableCount()
        let readyBundles = bundles.readableCount()
        if readyOutcomes == 0 && readyOrders == 0 && readyBundles == 0 {
            if readyReports > 0 { downstream.flush() }
            return readyReports
        }
        let now = clock.now()
        if readyBundles > 0 { drainBundles(readyBundles) }
        for offset in 0..<readyOutcomes {
            let outcome = outcomes.element(at: offset)
            endToEnd.record(now &- outcome.ingressTimestamp)
            if outcome.ordersSubmitted > 0 { _signalCount &+= 1 }
            downstream.outcome(outcome)
        }
        outcomes.consume(readyOutcomes)
        for offset in 0..<readyOrders {
            let order = orders.element(at: offset)
            downstream.order(order)
            orderLatency.record(now &- order.decidedAt)
        }
        orders.consume(readyOrders)
        downstream.flush()
        _outcomeCount &+= readyOutcomes
        _orderCount &+= readyOrders
        return readyOutcomes &+ readyOrders &+ readyReports &+ readyBundles
    }

    /// Hands bundle legs and seals on; measures each victim's ingress → its bundle sent
    /// downstream (signed and written, for a mempool run's outputs).
    @inlinable
    mutating func drainBundles(_ ready: Int) {
        for offset in 0..<ready {
            switch bundles.element(at: offset) {
            case .leg(let leg):
                if legCount < 8 {
                    legArrivals[legCount] = leg.arrival
                    legCount &+= 1
                }
                downstream.bundleLeg(leg)
            case .seal(let seal):
                _bundleCount &+= 1
                downstream.bundleSealed(seal)
                let sent = clock.now()
                for index in 0..<legCount { bundleLatency.record(sent &- Swift.min(legArrivals[index], sent)) }
                legCount = 0
            }
        }
        bundles.consume(ready)
    }

    /// Writes the strategies' order updates to the export (off the hot path: only with one).
    @usableFromInline @inline(never)
    mutating func drainUpdates() {
        let ready = updates.readableCount()
        guard ready > 0, let export else { return }
        for offset in 0..<ready { export.write(updates.element(at: offset)) }
        updates.consume(ready)
        export.flush()
    }

    /// Sends what is still buffered downstream (at shutdown).
    @usableFromInline
    mutating func closeOutputs() {
        downstream.close()
        if let export {
            drainUpdates()
            export.flush()
            wiring.results.exportLines = export.lines
            wiring.results.exportFailure = export.failure
        }
    }

    @inlinable
    public mutating func serviceCollection() {
        endToEnd.serviceCollection()
        orderLatency.serviceCollection()
        bundleLatency.serviceCollection()
    }
}

extension SinkStage: Stage where Downstream: ~Copyable {
    @inlinable
    public mutating func poll(now: UInt64, whileBlocked: () -> Void) -> Int {
        let sunk = drain()
        serviceCollection()
        if sunk > 0 { publishCounters() }
        return sunk
    }

    @inlinable
    mutating func publishCounters() {
        let counters = wiring.counters
        counters.publish(.sinkOutcomes, _outcomeCount)
        counters.publish(.sinkVenueOrders, _orderCount)
        counters.publish(.sinkReports, _reportCount)
        counters.publish(.sinkFills, _fillCount)
        counters.publish(.sinkSignals, _signalCount)
        counters.publish(.sinkBundles, _bundleCount)
    }

    public mutating func isDone() -> Bool { control.logicFinished }

    public mutating func finish() {
        while drain() > 0 {}
        closeOutputs()
        publishCounters()
        wiring.control.finishSink()
    }

    public var wakeSignal: WakeSignal { wiring.outcomes.wakeSignal }
}
