/// What an order book has done since it was created. Plain counters, owned by the book's
/// thread; copy them out to publish.
@frozen
public struct MatchingCounters: Equatable, Sendable, BitwiseCopyable {
    public var commands: Int = 0
    public var accepted: Int = 0
    public var rejected: Int = 0
    /// Trades (one per maker/taker pair; each produces two fill reports).
    public var trades: Int = 0
    /// Quantity traded, in lots.
    public var volume: Int64 = 0
    /// Orders cancelled for any reason (requested, IOC remainder, STP, ...).
    public var cancelled: Int = 0
    public var replaced: Int = 0
    public var triggered: Int = 0
    /// Orders removed by self-trade prevention (resting or incoming).
    public var selfTradePrevented: Int = 0

    @inlinable public init() {}

    @inlinable
    public static func + (lhs: Self, rhs: Self) -> Self {
        var sum = lhs
        sum.commands &+= rhs.commands
        sum.accepted &+= rhs.accepted
        sum.rejected &+= rhs.rejected
        sum.trades &+= rhs.trades
        sum.volume &+= rhs.volume
        sum.cancelled &+= rhs.cancelled
        sum.replaced &+= rhs.replaced
        sum.triggered &+= rhs.triggered
        sum.selfTradePrevented &+= rhs.selfTradePrevented
        return sum
    }
}
