/// A sum of price × quantity, exactly: in ticks × lots, as a 128-bit integer with every step
/// checked. A product of two `Int64`s always fits; a sum that would overflow 128 bits marks the
/// value overflowed instead of wrapping. Allocation-free.
@frozen
public struct Notional: Equatable, Hashable, Sendable {
    /// Σ price.ticks × quantity.lots (meaningless once `overflowed`).
    public private(set) var ticksTimesLots: Int128 = 0
    /// Whether a sum went past 128 bits.
    public private(set) var overflowed = false

    public init() {}

    /// The notional of one level.
    public init(_ price: Price, _ quantity: Quantity) { add(price, quantity) }

    /// Adds `price × quantity`.
    public mutating func add(_ price: Price, _ quantity: Quantity) {
        let product = Int128(price.ticks) * Int128(quantity.lots)
        let (sum, overflow) = ticksTimesLots.addingReportingOverflow(product)
        if overflow { overflowed = true } else { ticksTimesLots = sum }
    }

    /// The value as exact decimal text in the instrument's units: price grid × size grid, with
    /// their decimals added; nil when it overflowed (or cannot be scaled within 128 bits).
    public func formatted(tickSize: Increment, lotSize: Increment) -> String? {
        guard !overflowed else { return nil }
        let (scaled, first) = ticksTimesLots.multipliedReportingOverflow(by: Int128(tickSize.units))
        let (units, second) = scaled.multipliedReportingOverflow(by: Int128(lotSize.units))
        guard !first, !second else { return nil }
        let decimals = tickSize.decimals + lotSize.decimals
        var digits = String(units.magnitude)
        if decimals > 0 {
            if digits.count <= decimals { digits = String(repeating: "0", count: decimals - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -decimals))
        }
        return units < 0 ? "-" + digits : digits
    }
}
