/// A quantity as a whole number of lots (fixed point, one `Int64`), never negative when
/// built from external input.
@frozen
public struct Quantity: Hashable, Comparable, Sendable, BitwiseCopyable, CustomStringConvertible {
    public var lots: Int64

    @inlinable public init(lots: Int64) { self.lots = lots }

    /// Zero lots.
    @inlinable public static var zero: Quantity { Quantity(lots: 0) }

    /// Parses decimal text at `lotSize`: `"1.770"` at 0.001 is 1_770 lots.
    /// Throws for garbage, a negative value, too many decimals, off the lot grid, or overflow.
    public init(_ text: String, lotSize: Increment) throws(ModelError) {
        lots = try FixedPointDecimal.withUTF8(text) { (bytes) throws(ModelError) in
            try FixedPointDecimal.parse(bytes, increment: lotSize, allowNegative: false)
        }
    }

    /// Parses UTF-8 decimal bytes at `lotSize` without allocating (except to report an error).
    @inlinable
    public init(utf8 bytes: UnsafeBufferPointer<UInt8>, lotSize: Increment) throws(ModelError) {
        lots = try FixedPointDecimal.parse(bytes, increment: lotSize, allowNegative: false)
    }

    /// The quantity as decimal text at `lotSize`.
    public func formatted(lotSize: Increment) -> String {
        FixedPointDecimal.format(lots, increment: lotSize)
    }

    @inlinable public var isZero: Bool { lots == 0 }

    @inlinable public static func < (lhs: Quantity, rhs: Quantity) -> Bool { lhs.lots < rhs.lots }

    public var description: String { "\(lots)l" }
}
