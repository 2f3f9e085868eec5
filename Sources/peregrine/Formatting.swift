/// Number formatting shared by the CLI's reports.

/// `value` with `places` decimals (rounded), e.g. `decimal(3.14159) == "3.1"`.
func decimal(_ value: Double, places: Int = 1) -> String {
    var scale = 1
    for _ in 0..<places { scale *= 10 }
    let scaled = Int((value * Double(scale)).rounded())
    let fraction = String(abs(scaled) % scale)
    let padded = String(repeating: "0", count: max(0, places - fraction.count)) + fraction
    return (scaled < 0 ? "-" : "") + "\(abs(scaled) / scale)" + (places > 0 ? "." + padded : "")
}

/// Millions with one decimal: `millions(11_600_000) == "11.6"`.
func millions(_ value: Double) -> String { decimal(value / 1e6) }

/// A fraction as a percentage with one decimal.
func percent(_ fraction: Double) -> String { decimal(fraction * 100) + "%" }

/// Nanoseconds, switching to microseconds from 10 µs.
func nanoseconds(_ value: UInt64) -> String {
    value < 10_000 ? "\(value) ns" : decimal(Double(value) / 1_000) + " µs"
}
