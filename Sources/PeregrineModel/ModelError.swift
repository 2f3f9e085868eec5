/// Errors from building model values out of external input (decimal text, bytes).
///
/// Each case names the offending input and what would be accepted.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not a plain decimal number (digits, at most one '.', an optional leading '-').
    case malformedDecimal(input: String)
    /// More significant decimal places than the increment allows.
    case tooManyDecimals(input: String, allowed: Int)
    /// A value that is not a whole multiple of the increment.
    case notOnIncrement(input: String, increment: String)
    /// A value whose fixed-point representation does not fit in 64 bits.
    case overflow(input: String)
    /// A negative value where only zero or more is allowed (quantities).
    case negative(input: String)
    /// A fee rate beyond -100% to 100% of the notional (`basisPoints`: given in bps).
    case feeRateOutOfRange(input: String, basisPoints: Bool)
    /// A tick or lot size that is zero, negative or has more than 18 decimals.
    case invalidIncrement(input: String)
    /// Fewer bytes than a complete encoded value needs.
    case truncated(type: String, needed: Int, available: Int)
    /// An encoded event whose kind byte names no event kind.
    case unknownEventKind(UInt8)
    /// An encoded field holding a value the type does not allow.
    case invalidField(type: String, field: String, value: Int64)
    /// An encoded value of a format version this build does not read.
    case unsupportedVersion(type: String, found: Int, readable: ClosedRange<Int>)

    public var description: String {
        switch self {
        case .malformedDecimal(let input):
            return
                "'\(TextField.excerpt(input))' is not a decimal number: use digits with at most one '.' (and a leading '-' only where "
                + "the value may be negative)"
        case .tooManyDecimals(let input, let allowed):
            // A digit past the 18th decimal that is not zero: no increment (at most 18 decimals) holds it.
            let fraction = input.split(separator: ".", maxSplits: 1).dropFirst().first ?? ""
            let significant = fraction.reversed().drop { $0 == "0" }.count
            return
                "'\(TextField.excerpt(input))' has more than \(allowed) decimal places, the most this increment allows"
                + (significant > 18 ? "; no grid holds it exactly (at most 18 decimals)" : "")
        case .notOnIncrement(let input, let increment):
            return "'\(TextField.excerpt(input))' is not a multiple of the increment \(increment)"
        case .overflow(let input):
            return "'\(TextField.excerpt(input))' is too large to represent in 64-bit fixed point at this increment"
        case .negative(let input):
            return "'\(TextField.excerpt(input))' is negative; quantities must be zero or more"
        case .feeRateOutOfRange(let input, let basisPoints):
            return basisPoints
                ? "'\(TextField.excerpt(input))' bps is beyond -10000 to 10000 bps (-100% to 100% of the notional)"
                : "'\(TextField.excerpt(input))' is beyond -1 to 1: a fee rate is a fraction of the notional (2 bps is "
                    + "0.0002)"
        case .invalidIncrement(let input):
            return
                "'\(TextField.excerpt(input))' is not a valid tick or lot size: use a positive decimal with at most 18 decimals"
        case .truncated(let type, let needed, let available):
            return "truncated \(type): needs \(needed) bytes, got \(available)"
        case .unsupportedVersion(let type, let found, let readable):
            return
                "\(type) of format version \(found), written by \(found > readable.upperBound ? "a newer" : "an older") "
                + "peregrine; this build reads versions \(readable.lowerBound) to \(readable.upperBound). Read it with "
                + "the build that wrote it"
        case .unknownEventKind(let kind):
            return "unknown event kind \(kind) (expected 1 to \(EventKind.allCases.count))"
        case .invalidField(let type, let field, let value):
            return "invalid \(type).\(field): \(value)"
        }
    }
}
