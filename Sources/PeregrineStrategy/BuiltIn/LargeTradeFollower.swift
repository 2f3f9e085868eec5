import PeregrineBook
import PeregrineCore
import PeregrineModel

/// Follows large trades: when a trade of at least `min-quantity` lots prints on one of its
/// instruments, it sends an immediate-or-cancel limit order on the aggressor's side at the
/// trade price for `quantity` lots, unless the book's spread is wider than `max-spread` ticks
/// or a side is empty (a thin book is not followed).
///
/// Parameters: `min-quantity` (1…10^15 lots, default 500), `quantity` (1…10^12 lots, 10),
/// `max-spread` (0…10^9 ticks, 50). It trades the market-data instruments by default (trades
/// print there).
public struct LargeTradeFollower: Strategy, Sendable {
    public static let name = "large-trade-follower"
    public static let marketData: MarketDataInterest = [.trades]
    /// (No order callback: it reads its orders' state when it decides.)
    @inlinable public static var orderUpdates: OrderUpdateInterest { [] }
    public static let defaultInstruments = DefaultInstruments.marketData

    public let minimumQuantity: Int64
    public let quantity: Int64
    public let maximumSpread: Int64

    public init(_ configuration: StrategyConfiguration) throws(StrategyConfigurationError) {
        let parameters = configuration.parameters
        minimumQuantity = try parameters.integer(
            "min-quantity", default: 500, in: 1...1_000_000_000_000_000, counting: .lots)
        quantity = try parameters.integer("quantity", default: 10, in: 1...1_000_000_000_000, counting: .lots)
        maximumSpread = try parameters.integer("max-spread", default: 50, in: 0...1_000_000_000, counting: .ticks)
    }

    @inlinable
    public mutating func onTrade(_ trade: Trade, instrument: InstrumentID, _ context: inout StrategyContext) {
        guard trade.quantity.lots >= minimumQuantity else { return }
        // A book without both sides is as thin as it gets: not followed.
        guard let spread = context.bestBidOffer(instrument)?.spread, spread <= maximumSpread else { return }
        _ = context.submitLimit(
            instrument, trade.aggressor, price: trade.price, quantity: Quantity(lots: quantity),
            timeInForce: .immediateOrCancel)
    }
}
