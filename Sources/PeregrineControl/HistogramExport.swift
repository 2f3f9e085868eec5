import PeregrineEngine

/// The latency histograms in the Prometheus text format, one family
/// (`peregrine_latency_seconds{stage=…}`), fed from the hot threads' HdrHistograms.
///
/// swift-prometheus histograms take one observation per call, and the engine records up to
/// tens of millions a second; adding each HdrHistogram interval bucket by bucket here costs
/// the monitor O(distinct values) instead. Buckets are seconds (the Prometheus base unit)
/// at microsecond resolution: 1 µs … 10 s (a tail under load reaches past 100 ms). Not
/// thread-safe: the owner locks.
struct LatencyExport {
    static let name = "peregrine_latency_seconds"
    /// Upper bounds, nanoseconds.
    static let boundsNanoseconds: [UInt64] = [
        1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000,
        1_000_000, 2_000_000, 5_000_000, 10_000_000, 20_000_000, 50_000_000, 100_000_000, 200_000_000,
        500_000_000, 1_000_000_000, 2_000_000_000, 5_000_000_000, 10_000_000_000,
    ]

    struct Series {
        var buckets = [UInt64](repeating: 0, count: LatencyExport.boundsNanoseconds.count)
        var count: UInt64 = 0
        var sumNanoseconds: Double = 0
    }

    /// Stages in exposition order, and their series.
    private(set) var stages: [String] = []
    private var series: [String: Series] = [:]

    init(stages: [String]) {
        self.stages = stages
        for stage in stages { series[stage] = Series() }
    }

    /// Adds one interval's histogram (ns) to `stage`.
    mutating func add(_ histogram: LatencyHistogram?, stage: String) {
        guard let histogram, var current = series[stage] else { return }
        for bucket in histogram.recordedValues() {
            let count = bucket.countAddedInThisIterationStep
            guard count > 0 else { continue }
            // HdrHistogram reports the highest value equivalent to the bucket.
            let value = bucket.value
            current.count &+= count
            current.sumNanoseconds += Double(value) * Double(count)
            if let index = Self.boundsNanoseconds.firstIndex(where: { value <= $0 }) {
                current.buckets[index] &+= count
            }
        }
        series[stage] = current
    }

    /// The family in the text exposition format (cumulative buckets, `+Inf`, sum, count).
    func text() -> String {
        var out = "# HELP \(Self.name) Latency by stage: end_to_end is ingress to sink per event, journal is"
        out += " ingress of a batch's oldest event to its release to the logic, order is the ingress of the event a"
        out += " strategy decided on to its order for another venue at the sink, bundle (mempool run) is a victim's"
        out += " ingress to its bundle signed and sent.\n"
        out += "# TYPE \(Self.name) histogram\n"
        for stage in stages {
            guard let current = series[stage] else { continue }
            var cumulative: UInt64 = 0
            for (index, bound) in Self.boundsNanoseconds.enumerated() {
                cumulative &+= current.buckets[index]
                out += "\(Self.name)_bucket{stage=\"\(stage)\",le=\"\(Double(bound) / 1e9)\"} \(cumulative)\n"
            }
            out += "\(Self.name)_bucket{stage=\"\(stage)\",le=\"+Inf\"} \(current.count)\n"
            out += "\(Self.name)_sum{stage=\"\(stage)\"} \(current.sumNanoseconds / 1e9)\n"
            out += "\(Self.name)_count{stage=\"\(stage)\"} \(current.count)\n"
        }
        return out
    }
}
