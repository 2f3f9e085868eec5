/// The side of an order, a book level or a trade aggressor. `buy` is the bid side.
@frozen
public enum Side: UInt8, Hashable, Sendable, BitwiseCopyable, CaseIterable, CustomStringConvertible {
    case buy = 0
    case sell = 1

    /// The other side.
    @inlinable public var opposite: Side { self == .buy ? .sell : .buy }

    public var description: String { self == .buy ? "buy" : "sell" }
}
