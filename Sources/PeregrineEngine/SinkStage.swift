import PeregrineCore
import PeregrineModel

/// The sink stage: takes outcomes, bundles and execution reports off the outbound rings,
/// measures end-to-end latency (ingress → here) for every event and open-to-sink latency for
/// every bundle, and counts what arrived (the output hash is computed by the logic, which is
/// deterministic; see `OutputHasher`).
///
/// The clock is read once per drained batch. No allocation per item.
public struct SinkStage: ~Copyable {
    @usableFromInline var outcomes: SPSCConsumer<Outcome>
    @usableFromInline var bundles: SPSCConsumer<Bundle>
    @usableFromInline var reports: SPSCConsumer<ExecutionReport>
    @usableFromInline var _reportCount: Int = 0
    /// Execution reports received from the matching engine.
    public var reportCount: Int { _reportCount }
    @usableFromInline var _fillCount: Int = 0
    /// Fill reports among them (two per trade).
    public var fillCount: Int { _fillCount }
    @usableFromInline var endToEnd: LatencyWriter
    @usableFromInline var bundleLatency: LatencyWriter
    @usableFromInline let clock: CycleClock
    @usableFromInline var _outcomeCount: Int = 0
    public var outcomeCount: Int { _outcomeCount }
    @usableFromInline var _bundleCount: Int = 0
    public var bundleCount: Int { _bundleCount }
    @usableFromInline var _bundleTransactionCount: Int = 0
    public var bundleTransactionCount: Int { _bundleTransactionCount }

    public init(
        outcomes: consuming SPSCConsumer<Outcome>, bundles: consuming SPSCConsumer<Bundle>,
        reports: consuming SPSCConsumer<ExecutionReport>, endToEnd: consuming LatencyWriter,
        bundleLatency: consuming LatencyWriter, clock: CycleClock
    ) {
        self.outcomes = outcomes
        self.bundles = bundles
        self.reports = reports
        self.endToEnd = endToEnd
        self.bundleLatency = bundleLatency
        self.clock = clock
    }

    /// Drains both rings; returns the number of items taken.
    @inlinable
    public mutating func poll() -> Int {
        let readyReports = reports.readableCount()
        for offset in 0..<readyReports where reports.element(at: offset).isFill { _fillCount &+= 1 }
        reports.consume(readyReports)
        _reportCount &+= readyReports
        let readyOutcomes = outcomes.readableCount()
        let readyBundles = bundles.readableCount()
        if readyOutcomes == 0 && readyBundles == 0 { return readyReports }
        let now = clock.now()
        for offset in 0..<readyOutcomes {
            let outcome = outcomes.element(at: offset)
            endToEnd.record(now &- outcome.ingressTimestamp)
        }
        outcomes.consume(readyOutcomes)
        for offset in 0..<readyBundles {
            let bundle = bundles.element(at: offset)
            bundleLatency.record(now &- bundle.openedAt)
            _bundleTransactionCount &+= bundle.count
        }
        bundles.consume(readyBundles)
        _outcomeCount &+= readyOutcomes
        _bundleCount &+= readyBundles
        return readyOutcomes &+ readyBundles &+ readyReports
    }

    @inlinable
    public mutating func serviceCollection() {
        endToEnd.serviceCollection()
        bundleLatency.serviceCollection()
    }
}
