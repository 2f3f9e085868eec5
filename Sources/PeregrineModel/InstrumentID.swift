/// Identifies an instrument (a market, or a pool) inside one engine. Dense small numbers
/// (0, 1, 2, …) so books can be found by index.
@frozen
public struct InstrumentID: RawRepresentable, Hashable, Comparable, Sendable, BitwiseCopyable,
    CustomStringConvertible
{
    public var rawValue: UInt32

    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    @inlinable public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "#\(rawValue)" }
}
