import PeregrineBook
import PeregrineCore

/// The final report of a run: what went in, what came out, what was lost (nothing, unless a
/// drop policy allowed it), and how fast.
public struct EngineReport: Sendable {
    public var configuration: EngineConfiguration
    public var stopReason: String
    public var elapsedSeconds: Double
    public var clockSource: CycleClock.Source
    public var threadPinning: [(thread: String, pinning: PinnedThread.Pinning)]
    public var emitted: Int
    public var dropped: Int
    public var fullWaits: Int
    public var journaled: Int
    public var processed: Int
    public var outcomesAtSink: Int
    public var transactions: Int
    public var rejectedTransactions: Int
    public var bundlesSealed: Int
    public var bundlesAtSink: Int
    public var bundleTransactionsAtSink: Int
    public var endToEnd: LatencySummary
    public var bundleLatency: LatencySummary
    public var bookCounters: BookCounters
    /// The matching engine's counters (all zero without order flow).
    public var venueCounters: MatchingCounters
    public var reportsEmitted: Int
    public var reportsAtSink: Int
    public var fillsAtSink: Int
    public var outputDigest: UInt64

    /// Every accepted event reached the sink exactly once, and every emitted transaction left
    /// in a bundle.
    public var isLossless: Bool {
        emitted == journaled && journaled == processed && processed == outcomesAtSink
            && bundlesSealed == bundlesAtSink && transactions == bundleTransactionsAtSink
            && reportsEmitted == reportsAtSink
    }

    /// Events per second through the sink over the run.
    public var sustainedRate: Double { elapsedSeconds > 0 ? Double(outcomesAtSink) / elapsedSeconds : 0 }

    /// The report as printed at the end of `peregrine run`.
    public var formatted: String {
        let rate: String
        switch configuration.rate {
        case .perSecond(let value): rate = "\(grouped(Int(value))) events/s (Poisson, burst \(configuration.burstSize))"
        case .unlimited: rate = "max (as fast as the pipeline accepts)"
        }
        var lines: [String] = []
        lines.append("=== peregrine run: final report ===")
        lines.append("stopped by        \(stopReason) after \(LatencySummary.decimal(elapsedSeconds)) s")
        lines.append("source            synthetic, \(rate), on full ring: \(configuration.fullRingPolicy.rawValue)")
        lines.append(
            "topology          \(configuration.topology.rawValue), wait \(configuration.waitStrategy.rawValue), "
                + "inbound ring \(configuration.inboundRingSize), clock \(clockSource.rawValue)")
        for (thread, pinning) in threadPinning {
            lines.append("thread            \(thread): \(pinning)")
        }
        lines.append("journal           none yet (pass-through stage; durability point not enforced)")
        lines.append(
            "events            in \(grouped(emitted)) · journaled \(grouped(journaled)) · processed \(grouped(processed)) · out \(grouped(outcomesAtSink))"
        )
        lines.append("drops             \(grouped(dropped)) (full-ring waits \(grouped(fullWaits)))")
        lines.append("sustained rate    \(grouped(Int(sustainedRate.rounded()))) events/s")
        lines.append(
            "transactions      \(grouped(transactions)) emitted · \(grouped(rejectedTransactions)) rejected · \(grouped(bundleTransactionsAtSink)) in bundles at sink"
        )
        lines.append(
            "bundles           \(grouped(bundlesSealed)) sealed · \(grouped(bundlesAtSink)) at sink (size \(configuration.bundleSize), timeout \(configuration.bundleTimeoutMicroseconds) µs)"
        )
        lines.append("latency e2e       \(endToEnd.formatted) (\(grouped(Int(endToEnd.count))) samples)")
        lines.append("latency bundle    \(bundleLatency.formatted) (open → sink)")
        lines.append(
            "books             \(grouped(bookCounters.updates)) level updates · \(bookCounters.rejectedOutsideLadder) outside ladder · \(bookCounters.recentrings) re-centrings"
        )
        if configuration.orderFlowPercent > 0 {
            let venue = venueCounters
            lines.append(
                "venue             \(grouped(venue.commands)) order commands (\(configuration.orderFlowPercent)% of events) · "
                    + "\(grouped(venue.accepted)) accepted · \(grouped(venue.rejected)) rejected · "
                    + "\(grouped(venue.trades)) trades (\(grouped(Int(venue.volume))) lots) · \(grouped(venue.cancelled)) cancelled"
            )
            lines.append(
                "reports           \(grouped(reportsEmitted)) emitted · \(grouped(reportsAtSink)) at sink "
                    + "(\(grouped(fillsAtSink)) fills)")
        }
        lines.append("output digest     \(String(outputDigest, radix: 16))")
        lines.append(
            "lossless          \(isLossless ? "yes" : "NO"): events in == events out, transactions == bundled, "
                + "reports emitted == reports at sink")
        return lines.joined(separator: "\n")
    }
}
