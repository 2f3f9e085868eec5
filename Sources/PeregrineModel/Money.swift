/// An exact amount of an instrument's quote currency, in units of 10^-8 tick × lot (one tick
/// of price times one lot of quantity, divided by 10^8), as a signed 128-bit integer.
///
/// The unit makes every amount the engine computes a whole number: a notional (ticks × lots ×
/// 10^8), a fee (ticks × lots × a `FeeRate`, whose unit is 10^-8) and a mark at a mid price
/// half a tick off the grid (× 10^8 / 2). Arithmetic wraps only past ±1.7e38 units (a
/// notional of 2^62 ticks × 2^62 lots does not fit: `Position` checks and flags it).
/// Allocation-free; formatting allocates.
@frozen
public struct Money: Hashable, Comparable, Sendable, BitwiseCopyable, CustomStringConvertible {
    public var units: Int128

    @inlinable public init(units: Int128) { self.units = units }

    @inlinable public static var zero: Money { Money(units: 0) }

    /// Units per tick × lot.
    @inlinable public static var unitsPerTickLot: Int128 { 100_000_000 }

    /// `price × quantity` (or a sum of them, in ticks × lots) as money.
    @inlinable
    public init(tickLots: Int128) { units = tickLots &* Self.unitsPerTickLot }

    @inlinable public static func + (lhs: Money, rhs: Money) -> Money { Money(units: lhs.units &+ rhs.units) }
    @inlinable public static func - (lhs: Money, rhs: Money) -> Money { Money(units: lhs.units &- rhs.units) }
    @inlinable public static prefix func - (value: Money) -> Money { Money(units: 0 &- value.units) }
    @inlinable public static func += (lhs: inout Money, rhs: Money) { lhs.units &+= rhs.units }
    @inlinable public static func -= (lhs: inout Money, rhs: Money) { lhs.units &-= rhs.units }
    @inlinable public static func < (lhs: Money, rhs: Money) -> Bool { lhs.units < rhs.units }

    /// The amount as exact decimal text in the quote currency of an instrument with these
    /// increments (tick size × lot size × 10^-8 per unit; trailing zeros dropped, at least one
    /// decimal kept when there is a fraction). nil if scaling overflows 128 bits.
    public func formatted(tickSize: Increment, lotSize: Increment) -> String? {
        let (scaled, first) = units.multipliedReportingOverflow(by: Int128(tickSize.units))
        let (value, second) = scaled.multipliedReportingOverflow(by: Int128(lotSize.units))
        guard !first, !second else { return nil }
        return Self.decimalText(value, decimals: tickSize.decimals + lotSize.decimals + 8)
    }

    /// `value × 10^-decimals` as decimal text, trailing fraction zeros dropped.
    public static func decimalText(_ value: Int128, decimals: Int) -> String {
        var digits = String(value.magnitude)
        if decimals > 0 {
            if digits.count <= decimals { digits = String(repeating: "0", count: decimals - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -decimals))
            while digits.last == "0" { digits.removeLast() }
            if digits.last == "." { digits.removeLast() }
        }
        return value < 0 ? "-" + digits : digits
    }

    public var description: String { "\(units)u" }
}

/// A fee rate as a signed fraction of notional in units of 10^-8: 0.0002 (2 bps) is 20,000; a
/// negative rate is a rebate. Rates of -1 to 1 are accepted.
@frozen
public struct FeeRate: Hashable, Sendable, BitwiseCopyable, CustomStringConvertible {
    public var perHundredMillion: Int64

    @inlinable public init(perHundredMillion: Int64) { self.perHundredMillion = perHundredMillion }

    @inlinable public static var zero: FeeRate { FeeRate(perHundredMillion: 0) }

    /// Parses a decimal fraction such as `"0.0002"` or `"-0.0001"` (at most 8 decimals, -1 to 1).
    public init(_ text: String) throws(ModelError) {
        let increment = try Increment(units: 1, decimals: 8)
        let value = try FixedPointDecimal.withUTF8(text) { (bytes) throws(ModelError) in
            try FixedPointDecimal.parse(bytes, increment: increment, allowNegative: true)
        }
        guard (-100_000_000...100_000_000).contains(value) else {
            throw .feeRateOutOfRange(input: text, basisPoints: false)
        }
        perHundredMillion = value
    }

    /// A rate given in basis points (`"2.5"` bps is 0.00025); at most 4 decimals.
    public init(basisPoints text: String) throws(ModelError) {
        let increment = try Increment(units: 1, decimals: 4)
        let value = try FixedPointDecimal.withUTF8(text) { (bytes) throws(ModelError) in
            try FixedPointDecimal.parse(bytes, increment: increment, allowNegative: true)
        }
        guard (-100_000_000...100_000_000).contains(value) else {
            throw .feeRateOutOfRange(input: text, basisPoints: true)
        }
        perHundredMillion = value
    }

    /// The fee on `price × quantity`: exact.
    @inlinable
    public func fee(price: Price, quantity: Quantity) -> Money {
        Money(units: Int128(price.ticks) &* Int128(quantity.lots) &* Int128(perHundredMillion))
    }

    /// The rate as a decimal fraction.
    public var description: String { Money.decimalText(Int128(perHundredMillion), decimals: 8) }
}
