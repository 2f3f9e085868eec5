import Foundation
import PeregrineEngine
import PeregrineModel
import Testing

@testable import PeregrineControl

/// The control plane in-process: exact metric values from known pipeline figures, and the
/// readiness rules.
@Suite(.serialized)
struct ControlPlaneTests {
    static func status(
        counters: [PipelineCounters.Counter: Int], elapsed: Double, endToEnd: [UInt64] = [],
        rejects: [ExecutionReason: Int] = [:], journalWritable: Bool = true, orderLatency: [UInt64] = []
    ) -> PipelineStatus {
        var histogram = LatencyRecorder.makeHistogram()
        for value in endToEnd { histogram.record(value) }
        var orders = LatencyRecorder.makeHistogram()
        for value in orderLatency { orders.record(value) }
        return PipelineStatus(
            counters: counters, ringOccupancy: 0.25, journalLagEvents: 7, journalWritable: journalWritable,
            rejectsByReason: rejects, endToEnd: endToEnd.isEmpty ? nil : histogram,
            orderLatency: orderLatency.isEmpty ? nil : orders, journalLatency: nil, elapsedSeconds: elapsed)
    }

    /// The value of one sample line (`name{labels} value`) in an exposition.
    static func sample(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test func countersGaugesAndHistogramsCarryTheMonitorsFigures() throws {
        let plane = ControlPlane(port: 0)
        plane.recovered(nil)
        plane.interval(
            Self.status(
                counters: [
                    .sourceEmitted: 1_000, .journalPassed: 990, .logicProcessed: 980, .sinkOutcomes: 970,
                    .sourceDropped: 3, .journalBytes: 79_200, .sinkSignals: 12,
                ],
                elapsed: 1, endToEnd: [500, 500, 500, 1_500, 1_500, 7_000_000],
                rejects: [.unknownOrderID: 4]))
        plane.interval(
            Self.status(
                counters: [
                    .sourceEmitted: 3_000, .journalPassed: 2_990, .logicProcessed: 2_980, .sinkOutcomes: 2_970,
                    .sourceDropped: 3, .journalBytes: 239_200, .sinkSignals: 20, .logicOrders: 25,
                    .logicRefusedOrders: 2, .logicVenueOrders: 21, .sinkVenueOrders: 20,
                ],
                elapsed: 2, endToEnd: [15_000], rejects: [.unknownOrderID: 9, .postOnlyWouldTake: 1],
                orderLatency: [800, 3_000]))
        let text = plane.metricsText()
        #expect(Self.sample(text, "peregrine_events_total{stage=\"source\"}") == 3_000)
        #expect(Self.sample(text, "peregrine_events_total{stage=\"journal\"}") == 2_990)
        #expect(Self.sample(text, "peregrine_events_total{stage=\"logic\"}") == 2_980)
        #expect(Self.sample(text, "peregrine_events_total{stage=\"sink\"}") == 2_970)
        #expect(Self.sample(text, "peregrine_drops_total{reason=\"ring_full\"}") == 3)
        #expect(Self.sample(text, "peregrine_journal_written_bytes_total") == 239_200)
        #expect(Self.sample(text, "peregrine_signals_total") == 20)
        #expect(Self.sample(text, "peregrine_rejects_total{reason=\"order_unknown_order_id\"}") == 9)
        #expect(Self.sample(text, "peregrine_rejects_total{reason=\"order_post_only_would_take\"}") == 1)
        // (2,970 − 970) events in the second second.
        #expect(Self.sample(text, "peregrine_throughput_events_per_second") == 2_000)
        #expect(Self.sample(text, "peregrine_ring_occupancy_ratio{ring=\"inbound\"}") == 0.25)
        #expect(Self.sample(text, "peregrine_journal_lag_events") == 7)
        #expect(Self.sample(text, "peregrine_ready") == 1)
        let bucket = { (le: String) in
            Self.sample(text, "peregrine_latency_seconds_bucket{stage=\"end_to_end\",le=\"\(le)\"}")
        }
        #expect(bucket("1e-06") == 3)
        #expect(bucket("2e-06") == 5)
        #expect(bucket("1e-05") == 5)
        #expect(bucket("2e-05") == 6)
        #expect(bucket("0.005") == 6)
        #expect(bucket("0.01") == 7)
        #expect(bucket("+Inf") == 7)
        #expect(Self.sample(text, "peregrine_latency_seconds_count{stage=\"end_to_end\"}") == 7)
        let sum = try #require(Self.sample(text, "peregrine_latency_seconds_sum{stage=\"end_to_end\"}"))
        #expect(abs(sum - 0.0070185) < 0.00001)  // HdrHistogram keeps 3 significant digits
        #expect(Self.sample(text, "peregrine_latency_seconds_count{stage=\"journal\"}") == 0)
        #expect(Self.sample(text, "peregrine_orders_total{stage=\"logic\"}") == 25)
        #expect(Self.sample(text, "peregrine_orders_total{stage=\"venue_out\"}") == 21)
        #expect(Self.sample(text, "peregrine_orders_total{stage=\"sink\"}") == 20)
        #expect(Self.sample(text, "peregrine_rejects_total{reason=\"orders_per_event\"}") == 2)
        #expect(Self.sample(text, "peregrine_latency_seconds_count{stage=\"order\"}") == 2)
        #expect(Self.sample(text, "peregrine_latency_seconds_bucket{stage=\"order\",le=\"1e-06\"}") == 1)
        let lint = try Tools.run("promtool", ["check", "metrics"], input: text)
        #expect(lint.status == 0, "promtool: \(lint.output)\(lint.error)")
        #expect(lint.output.isEmpty && lint.error.isEmpty, "promtool: \(lint.output)\(lint.error)")
    }

    /// (The HTTP side is in `OperationsTests`: this process's tests block the cooperative
    /// threads the server's handlers run on.)
    @Test func readinessWaitsForRecoveryAndDropsWhenTheJournalFails() throws {
        let plane = ControlPlane(port: 0)
        #expect(plane.readiness() == (false, "{\"ready\":false,\"reason\":\"recovering the journal\"}\n"))
        #expect(Self.sample(plane.metricsText(), "peregrine_ready") == 0)
        plane.recovered(nil)
        #expect(plane.readiness() == (true, "{\"ready\":true}\n"))
        #expect(Self.sample(plane.metricsText(), "peregrine_ready") == 1)
        plane.interval(Self.status(counters: [:], elapsed: 1, journalWritable: false))
        #expect(plane.readiness() == (false, "{\"ready\":false,\"reason\":\"the journal stopped accepting writes\"}\n"))
        #expect(Self.sample(plane.metricsText(), "peregrine_ready") == 0)
    }

    @Test func reasonsAreEscapedAsJSON() {
        #expect(jsonString("journal error: \"x\\y\"\n\u{1}") == "\"journal error: \\\"x\\\\y\\\"\\n\\u0001\"")
    }
}
