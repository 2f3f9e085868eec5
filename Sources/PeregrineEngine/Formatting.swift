import PeregrineModel

/// Number formatting shared by the reports (engine, benchmarks, CLI). Total: a value too large
/// or not finite is shown as Swift prints it, never trapped on.

/// `value` with `places` decimals (rounded), e.g. `decimal(3.14159) == "3.1"`.
public func decimal(_ value: Double, places: Int = 1) -> String {
    var scale = 1
    for _ in 0..<Swift.min(Swift.max(places, 0), 9) { scale *= 10 }
    let product = (value * Double(scale)).rounded()
    guard product.isFinite, product.magnitude < 9e18 else { return "\(value)" }
    let scaled = Int(product)
    let fraction = String(abs(scaled) % scale)
    let padded = String(repeating: "0", count: Swift.max(0, places - fraction.count)) + fraction
    return (scaled < 0 ? "-" : "") + "\(abs(scaled) / scale)" + (places > 0 ? "." + padded : "")
}

/// Millions with one decimal: `millions(11_600_000) == "11.6"`.
public func millions(_ value: Double) -> String { decimal(value / 1e6) }

/// A fraction as a percentage with one decimal.
public func percent(_ fraction: Double) -> String { decimal(fraction * 100) + "%" }

/// Nanoseconds, switching to microseconds from 10 µs.
public func nanoseconds(_ value: UInt64) -> String {
    value < 10_000 ? "\(value) ns" : decimal(Double(value) / 1_000) + " µs"
}

/// Prices, quantities and names as tools show them (`replay --print`, `journal inspect`): in
/// the instrument's units when its reference data is known, otherwise ticks (`t`), lots (`l`)
/// and the id (`#N`).
public struct InstrumentUnits: Sendable {
    public let definition: InstrumentDefinition?

    public init(_ definition: InstrumentDefinition?) { self.definition = definition }

    /// `definitions` by id, to look each event's instrument up in (the first of an id kept).
    public static func byID(_ definitions: [InstrumentDefinition]) -> [InstrumentID: InstrumentDefinition] {
        Dictionary(definitions.map { ($0.id, $0) }) { first, _ in first }
    }

    public func name(_ instrument: InstrumentID) -> String { definition?.symbol ?? "\(instrument)" }
    public func price(_ price: Price) -> String {
        definition.map { price.formatted(tickSize: $0.tickSize) } ?? "\(price)"
    }
    public func quantity(_ quantity: Quantity) -> String {
        definition.map { quantity.formatted(lotSize: $0.lotSize) } ?? "\(quantity)"
    }
}
