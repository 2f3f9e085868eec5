import PeregrineCore
import PeregrineModel

/// The sink stage: takes outcomes and bundles off the outbound rings, measures end-to-end
/// latency (ingress → here) for every event and open-to-sink latency for every bundle, and
/// folds outcomes into an output digest (a 64-bit FNV-style multiply-xor over each outcome's sequence, kind,
/// instrument, top of book and emitted count; timestamps are excluded so the digest depends
/// only on the input).
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
    @usableFromInline var _outputDigest: UInt64 = 0xCBF2_9CE4_8422_2325
    public var outputDigest: UInt64 { _outputDigest }

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
        for offset in 0..<readyReports { fold(reports.element(at: offset)) }
        reports.consume(readyReports)
        _reportCount &+= readyReports
        let readyOutcomes = outcomes.readableCount()
        let readyBundles = bundles.readableCount()
        if readyOutcomes == 0 && readyBundles == 0 { return readyReports }
        let now = clock.now()
        for offset in 0..<readyOutcomes {
            let outcome = outcomes.element(at: offset)
            endToEnd.record(now &- outcome.ingressTimestamp)
            fold(outcome)
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

    /// Folds an execution report into the output digest and the fill count.
    @inlinable
    mutating func fold(_ report: ExecutionReport) {
        if report.isFill { _fillCount &+= 1 }
        mix(report.orderID.rawValue)
        mix(UInt64(report.kind.rawValue) | UInt64(report.reason.rawValue) << 8 | UInt64(report.side.rawValue) << 16)
        mix(UInt64(bitPattern: report.price.ticks))
        mix(UInt64(bitPattern: report.quantity.lots))
        mix(UInt64(bitPattern: report.leavesQuantity.lots))
        mix(report.tradeID)
    }

    @inlinable
    mutating func fold(_ outcome: Outcome) {
        mix(UInt64(bitPattern: outcome.sequence))
        mix(
            UInt64(outcome.kind.rawValue) | UInt64(outcome.instrument.rawValue) << 8 | UInt64(
                outcome.transactionsEmitted) << 40)
        mix(UInt64(bitPattern: outcome.bestBidTicks))
        mix(UInt64(bitPattern: outcome.bestAskTicks))
        mix(UInt64(outcome.reportsEmitted))
    }

    @inlinable
    mutating func mix(_ value: UInt64) {
        _outputDigest = (outputDigest ^ value) &* 0x0000_0100_0000_01B3
    }

    /// Hands latency histograms to the monitor if it asked.
    @inlinable
    public mutating func serviceCollection() {
        endToEnd.serviceCollection()
        bundleLatency.serviceCollection()
    }
}
