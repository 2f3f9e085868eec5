import Histogram

/// Percentiles of a latency histogram, in nanoseconds.
public struct LatencySummary: Equatable, Sendable {
    public var count: UInt64
    public var p50: UInt64
    public var p99: UInt64
    public var p999: UInt64
    public var max: UInt64

    public init(_ histogram: Histogram<UInt64>) {
        count = histogram.totalCount
        if count == 0 {
            p50 = 0
            p99 = 0
            p999 = 0
            max = 0
        } else {
            p50 = histogram.valueAtPercentile(50)
            p99 = histogram.valueAtPercentile(99)
            p999 = histogram.valueAtPercentile(99.9)
            max = histogram.max
        }
    }

    /// `p50 1.2µs p99 3.4µs p99.9 8.1µs max 20µs`
    public var formatted: String {
        guard count > 0 else { return "no samples" }
        return "p50 \(Self.format(p50)) p99 \(Self.format(p99)) p99.9 \(Self.format(p999)) max \(Self.format(max))"
    }

    /// Nanoseconds with a readable unit.
    public static func format(_ nanoseconds: UInt64) -> String {
        if nanoseconds < 1_000 { return "\(nanoseconds)ns" }
        if nanoseconds < 1_000_000 { return decimal(Double(nanoseconds) / 1e3) + "µs" }
        if nanoseconds < 1_000_000_000 { return decimal(Double(nanoseconds) / 1e6) + "ms" }
        return decimal(Double(nanoseconds) / 1e9) + "s"
    }

    /// One decimal below 100, none from 100 on (`decimal(_:places:)`).
    public static func decimal(_ value: Double) -> String {
        PeregrineEngine.decimal(value, places: value >= 100 ? 0 : 1)
    }
}

/// `1234567` → `1,234,567`.
public func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var result = ""
    for (index, character) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
        result.append(character)
    }
    return value < 0 ? "-" + result : result
}
