/// A client-chosen order identifier. Unique among the live (resting or pending stop) orders
/// of one instrument's book; an id may be reused once its order is gone.
@frozen
public struct OrderID: RawRepresentable, Hashable, Comparable, Sendable, BitwiseCopyable,
    CustomStringConvertible
{
    public var rawValue: UInt64

    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    @inlinable public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "o\(rawValue)" }
}

/// The account an order belongs to: the unit of self-trade prevention and of cancel rights.
@frozen
public struct AccountID: RawRepresentable, Hashable, Comparable, Sendable, BitwiseCopyable,
    CustomStringConvertible
{
    public var rawValue: UInt32

    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    @inlinable public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "a\(rawValue)" }
}
