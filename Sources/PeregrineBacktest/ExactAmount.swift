import PeregrineModel

/// An exact decimal amount: `value × 10^-decimals`, 128-bit. Sums rescale to the finer of two
/// scales; an amount past 128 bits is flagged, never wrapped silently.
public struct ExactAmount: Hashable, Sendable, CustomStringConvertible {
    public private(set) var value: Int128
    public private(set) var decimals: Int
    public private(set) var overflowed = false

    public init(value: Int128 = 0, decimals: Int = 0) {
        self.value = value
        self.decimals = decimals
    }

    /// Parses a decimal such as `"100000"` or `"-2.5"` (at most 18 decimals).
    public init?(_ text: String) {
        var digits = text
        let negative = digits.hasPrefix("-")
        if negative { digits.removeFirst() }
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty || parts.count == 2,
            (whole + (parts.count == 2 ? parts[1] : "")).allSatisfy({ $0.isASCII && $0.isNumber }),
            parts.count == 1 || (!parts[1].isEmpty && parts[1].count <= 18),
            // (".3" is 3 tenths: the whole part may be left out, never the fraction's digits.)
            let number = Int128(String(whole) + (parts.count == 2 ? String(parts[1]) : ""))
        else { return nil }
        value = negative ? 0 - number : number
        decimals = parts.count == 2 ? parts[1].count : 0
    }

    /// An instrument's money (units of 10^-8 tick × lot) in its quote currency.
    public init(_ money: Money, tickSize: Increment, lotSize: Increment) {
        self.init(tickLots: money.units, tickSize: tickSize, lotSize: lotSize)
        decimals += 8
    }

    /// An amount of ticks × lots of an instrument (a notional) in its quote currency.
    public init(tickLots: Int128, tickSize: Increment, lotSize: Increment) {
        let (scaled, first) = tickLots.multipliedReportingOverflow(by: Int128(tickSize.units))
        let (result, second) = scaled.multipliedReportingOverflow(by: Int128(lotSize.units))
        value = result
        decimals = tickSize.decimals + lotSize.decimals
        overflowed = first || second
    }

    /// `lots` of an instrument in its base units.
    public init(lots: Int128, lotSize: Increment) {
        let (result, overflow) = lots.multipliedReportingOverflow(by: Int128(lotSize.units))
        value = result
        decimals = lotSize.decimals
        overflowed = overflow
    }

    func rescaled(to target: Int) -> ExactAmount {
        var copy = self
        while copy.decimals < target {
            let (next, overflow) = copy.value.multipliedReportingOverflow(by: 10)
            copy.value = next
            copy.overflowed = copy.overflowed || overflow
            copy.decimals += 1
        }
        return copy
    }

    /// The same amount without the fraction's trailing zeros (fewer decimals).
    func trimmed() -> ExactAmount {
        var copy = self
        while copy.decimals > 0, copy.value % 10 == 0 {
            copy.value /= 10
            copy.decimals -= 1
        }
        return copy
    }

    public static func + (lhs: ExactAmount, rhs: ExactAmount) -> ExactAmount {
        let sum = add(lhs, rhs)
        // Scaled to the finer of two scales, a large amount may pass 128 bits when the fine one's
        // last decimals are zeros (capital plus a P&L in 10^-34): then both without them.
        guard sum.overflowed, !lhs.overflowed, !rhs.overflowed else { return sum }
        return add(lhs.trimmed(), rhs.trimmed())
    }

    static func add(_ lhs: ExactAmount, _ rhs: ExactAmount) -> ExactAmount {
        let scale = Swift.max(lhs.decimals, rhs.decimals)
        let left = lhs.rescaled(to: scale)
        let right = rhs.rescaled(to: scale)
        let (sum, overflow) = left.value.addingReportingOverflow(right.value)
        var result = ExactAmount(value: sum, decimals: scale)
        result.overflowed = left.overflowed || right.overflowed || overflow
        return result
    }

    public static prefix func - (amount: ExactAmount) -> ExactAmount {
        var copy = amount
        copy.value = 0 &- amount.value
        return copy
    }

    public static func - (lhs: ExactAmount, rhs: ExactAmount) -> ExactAmount { lhs + (-rhs) }

    /// The nearest double (for ratios and plots; the figures stay exact), so that the same
    /// amount gives the same double on any tick and lot size. Exact digits of at most 53 bits
    /// over an exact power of ten round once, in the division; other amounts go through their
    /// text, which `Double(_:)` rounds correctly.
    public var double: Double {
        // The same steps in 64 bits when the digits fit (as an equity sample's nearly always
        // do): 128-bit division and conversion cost thousands of instructions a sample.
        let exact =
            if let small = Int64(exactly: value) { Self.double(small, decimals: decimals) } else {
                Self.double(value, decimals: decimals)
            }
        return exact ?? Double(Money.decimalText(value, decimals: decimals)) ?? .nan
    }

    /// `digits × 10^-decimals` rounded once, when the digits without trailing zeros have at
    /// most 53 bits and the power of ten is exact; nil otherwise.
    static func double<Digits: FixedWidthInteger & SignedInteger>(_ digits: Digits, decimals: Int) -> Double? {
        var digits = digits
        var scale = decimals
        while scale > 0, digits % 10 == 0 {
            digits /= 10
            scale -= 1
        }
        guard digits.magnitude <= 1 << 53, scale < exactPowersOfTen.count else { return nil }
        return Double(digits) / exactPowersOfTen[scale]
    }

    /// 10^0 ... 10^22, each exactly a double.
    static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
        1e19, 1e20, 1e21, 1e22,
    ]

    /// Exact decimal text, trailing fraction zeros dropped ("overflow" past 128 bits).
    public var description: String {
        overflowed ? "overflow" : Money.decimalText(value, decimals: decimals)
    }
}
