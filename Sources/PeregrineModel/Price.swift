/// A price as a whole number of ticks (fixed point, one `Int64`). May be negative (spreads,
/// some futures). Arithmetic on prices from outside goes through the checked initialisers;
/// market data keeps within ±`maxTicks`.
@frozen
public struct Price: Hashable, Comparable, Sendable, BitwiseCopyable, CustomStringConvertible {
    public var ticks: Int64

    /// The most ticks a market data price may hold either side of zero: 2^62 − 1, so that the
    /// sum or difference of two (twice a mid, a spread, a crossed quote's too) is exact in an
    /// `Int64`. The feed parsers and the event decoders refuse a price beyond it (the venues
    /// take orders at 1…2^62 ticks, `InstrumentSpec.maxPrice`: a bid below an ask sums below 2^63).
    public static let maxTicks: Int64 = (1 << 62) - 1

    /// `maxTicks` for people, in error messages.
    public static let rangeRule = "a price holds at most 2^62 − 1 ticks either side of zero"

    @inlinable public init(ticks: Int64) { self.ticks = ticks }

    /// Parses decimal text at `tickSize`: `"20377.00"` at 0.01 is 2_037_700 ticks.
    /// Throws for garbage, too many decimals, a value off the tick grid, or overflow.
    public init(_ text: String, tickSize: Increment) throws(ModelError) {
        ticks = try FixedPointDecimal.withUTF8(text) { (bytes) throws(ModelError) in
            try FixedPointDecimal.parse(bytes, increment: tickSize, allowNegative: true)
        }
    }

    /// Parses UTF-8 decimal bytes at `tickSize` without allocating (except to report an error).
    @inlinable
    public init(utf8 bytes: UnsafeBufferPointer<UInt8>, tickSize: Increment) throws(ModelError) {
        ticks = try FixedPointDecimal.parse(bytes, increment: tickSize, allowNegative: true)
    }

    /// Whether `ticks` is within ±`maxTicks`.
    @inlinable @inline(__always)
    public static func inRange(_ ticks: Int64) -> Bool { ticks.magnitude <= UInt64(maxTicks) }

    /// The price as decimal text at `tickSize`.
    public func formatted(tickSize: Increment) -> String {
        FixedPointDecimal.format(ticks, increment: tickSize)
    }

    @inlinable public static func < (lhs: Price, rhs: Price) -> Bool { lhs.ticks < rhs.ticks }

    public var description: String { "\(ticks)t" }
}
