/// A tick size (for prices) or lot size (for quantities): the smallest step a value moves by,
/// as `units × 10^-decimals`. `"0.01"` is 1 unit at 2 decimals; `"0.5"` is 5 at 1 decimal.
@frozen
public struct Increment: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The step in units of 10^-decimals; positive.
    public let units: Int64
    /// Decimal places of the step, 0 ... 18.
    public let decimals: Int

    /// Parses a positive decimal such as `"0.01"`. Trailing zeros do not count as decimals.
    public init(_ text: String) throws(ModelError) {
        var units: Int64 = 0
        var decimals = 0
        var pendingZeros = 0
        var seenPoint = false
        var digits = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                if seenPoint { throw .invalidIncrement(input: text) }
                seenPoint = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw .invalidIncrement(input: text)
            }
            digits += 1
            let digit = Int64(byte - UInt8(ascii: "0"))
            if seenPoint {
                if digit == 0 {
                    pendingZeros += 1
                    continue
                }
                decimals += pendingZeros + 1
                for _ in 0..<pendingZeros { units = try Self.times10(units, text) }
                pendingZeros = 0
            }
            let (scaled, overflow) = try Self.times10(units, text).addingReportingOverflow(digit)
            if overflow { throw .invalidIncrement(input: text) }
            units = scaled
        }
        guard digits > 0, units > 0, decimals <= 18 else { throw .invalidIncrement(input: text) }
        self.units = units
        self.decimals = decimals
    }

    /// An increment of `units × 10^-decimals`.
    public init(units: Int64, decimals: Int) throws(ModelError) {
        guard units > 0, (0...18).contains(decimals) else {
            throw .invalidIncrement(input: "\(units)e-\(decimals)")
        }
        self.units = units
        self.decimals = decimals
    }

    /// A constant increment known to be valid (positive units, 0 to 18 decimals).
    init(constantUnits units: Int64, decimals: Int) {
        self.units = units
        self.decimals = decimals
    }

    private static func times10(_ value: Int64, _ text: String) throws(ModelError) -> Int64 {
        let (result, overflow) = value.multipliedReportingOverflow(by: 10)
        if overflow { throw .invalidIncrement(input: text) }
        return result
    }

    public var description: String {
        FixedPointDecimal.format(1, increment: self)
    }
}
