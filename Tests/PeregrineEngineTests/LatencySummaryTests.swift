import PeregrineEngine
import Testing

/// The report's and status line's latency figures: one unit per line.
struct LatencySummaryTests {
    static func summary(_ p50: UInt64, _ p99: UInt64, _ p999: UInt64, _ max: UInt64) -> LatencySummary {
        var summary = LatencySummary(LatencyRecorder.makeHistogram())
        summary.count = 10
        (summary.p50, summary.p99, summary.p999, summary.max) = (p50, p99, p999, max)
        return summary
    }

    /// Every figure in the median's unit: a tail far above it is a large number in that unit
    /// (rounded, grouped), never a small one in another.
    @Test func everyFigureIsInTheMediansUnit() {
        #expect(
            Self.summary(1_849, 882_400, 4_000_500, 4_812_345).formatted
                == "p50 1.8µs p99 882µs p99.9 4,001µs max 4,812µs")
        #expect(
            Self.summary(950, 1_200, 50_000, 1_000_000).formatted
                == "p50 950ns p99 1,200ns p99.9 50,000ns max 1,000,000ns")
        #expect(
            Self.summary(2_500_000, 9_999_999, 120_000_000, 3_000_000_000).formatted
                == "p50 2.5ms p99 10.0ms p99.9 120ms max 3,000ms")
        #expect(Self.summary(0, 0, 0, 0).formatted == "p50 0ns p99 0ns p99.9 0ns max 0ns")
        #expect(LatencySummary(LatencyRecorder.makeHistogram()).formatted == "no samples")
    }
}
