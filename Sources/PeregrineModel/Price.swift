/// A price as a whole number of ticks (fixed point, one `Int64`). May be negative (spreads,
/// some futures). Arithmetic on prices from outside goes through the checked initialisers,
/// which keep a price within ±`maxTicks`.
@frozen
public struct Price: Hashable, Comparable, Sendable, BitwiseCopyable, CustomStringConvertible {
    public var ticks: Int64

    /// The most ticks a price from outside may hold either side of zero: 2^62 − 1, so that
    /// the sum or difference of two prices (twice a mid, a spread) is exact in an `Int64`.
    /// The parsers and the event decoders refuse a price beyond it.
    public static let maxTicks: Int64 = (1 << 62) - 1

    @inlinable public init(ticks: Int64) { self.ticks = ticks }

    /// Parses decimal text at `tickSize`: `"20377.00"` at 0.01 is 2_037_700 ticks.
    /// Throws for garbage, too many decimals, a value off the tick grid, or beyond `maxTicks`.
    public init(_ text: String, tickSize: Increment) throws(ModelError) {
        ticks = try FixedPointDecimal.withUTF8(text) { (bytes) throws(ModelError) in
            try Self.parse(bytes, tickSize: tickSize)
        }
    }

    /// Parses UTF-8 decimal bytes at `tickSize` without allocating (except to report an error).
    @inlinable
    public init(utf8 bytes: UnsafeBufferPointer<UInt8>, tickSize: Increment) throws(ModelError) {
        ticks = try Self.parse(bytes, tickSize: tickSize)
    }

    @inlinable
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, tickSize: Increment) throws(ModelError) -> Int64 {
        let ticks = try FixedPointDecimal.parse(bytes, increment: tickSize, allowNegative: true)
        guard Self.inRange(ticks) else { throw outOfRange(bytes, tickSize) }
        return ticks
    }

    @usableFromInline @inline(never)
    static func outOfRange(_ bytes: UnsafeBufferPointer<UInt8>, _ tickSize: Increment) -> ModelError {
        .priceOutOfRange(input: FixedPointDecimal.text(bytes), tickSize: tickSize.description)
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
