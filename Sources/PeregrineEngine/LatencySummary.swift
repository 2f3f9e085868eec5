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

    /// `p50 1.2µs p99 3.4µs p99.9 81µs max 2,000µs`: every figure in one unit, the one that
    /// reads best for the median (a tail far above it shows as a large number, not as a smaller
    /// one in another unit).
    public var formatted: String {
        guard count > 0 else { return "no samples" }
        let unit = Self.unit(for: p50)
        return "p50 \(Self.format(p50, in: unit)) p99 \(Self.format(p99, in: unit)) "
            + "p99.9 \(Self.format(p999, in: unit)) max \(Self.format(max, in: unit))"
    }

    /// The unit (its symbol and nanoseconds) that shows `nanoseconds` below 1,000 of it.
    static func unit(for nanoseconds: UInt64) -> (symbol: String, nanoseconds: UInt64) {
        if nanoseconds < 1_000 { return ("ns", 1) }
        if nanoseconds < 1_000_000 { return ("µs", 1_000) }
        if nanoseconds < 1_000_000_000 { return ("ms", 1_000_000) }
        return ("s", 1_000_000_000)
    }

    /// `nanoseconds` in `unit`: one decimal below 100, whole (rounded, thousands grouped) from
    /// 100 on.
    static func format(_ nanoseconds: UInt64, in unit: (symbol: String, nanoseconds: UInt64)) -> String {
        let whole = nanoseconds / unit.nanoseconds
        if unit.nanoseconds == 1 { return grouped(Int(clamping: whole)) + unit.symbol }
        if whole >= 100 {
            let roundsUp = nanoseconds % unit.nanoseconds >= unit.nanoseconds / 2
            return grouped(Int(clamping: whole &+ (roundsUp ? 1 : 0))) + unit.symbol
        }
        return decimal(Double(nanoseconds) / Double(unit.nanoseconds)) + unit.symbol
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
