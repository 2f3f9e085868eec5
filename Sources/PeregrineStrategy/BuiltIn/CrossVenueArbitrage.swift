import PeregrineBook
import PeregrineCore
import PeregrineModel

/// Cross-venue arbitrage between two instruments of the same asset on one grid (the same tick
/// and lot sizes: it compares prices in ticks and sizes in lots; another grid is refused): when one's
/// best bid exceeds the other's best ask by more than the taker fees of both legs (plus
/// `min-edge` ticks), it buys at the ask and sells at the bid, `quantity` lots each (capped by
/// what both levels show), as two IOC limit orders at those prices, sent together or not at
/// all (`StrategyContext.submitBoth`: a first leg refused sends no second, and a second refused
/// by a risk rule or a command limit takes the first back before it leaves).
///
/// Checked at every book change or quote of either instrument while it has no open order. It
/// does not take a leg that would make its position in either instrument exceed `max-position`
/// lots. Exactly two instruments.
///
/// Parameters: `quantity` (1…10^12 lots, default 1), `min-edge` (0…10^9 ticks, 0),
/// `max-position` (1…10^15 lots, 100).
public struct CrossVenueArbitrage: Strategy, Sendable {
    public static let name = "cross-venue-arbitrage"
    public static let marketData: MarketDataInterest = [.books, .quotes]
    /// (No order callback: it reads its orders' state when it decides.)
    @inlinable public static var orderUpdates: OrderUpdateInterest { [] }
    public static let defaultInstruments = DefaultInstruments.marketData

    public let quantity: Int64
    public let minimumEdge: Int64
    public let maxPosition: Int64
    public let first: InstrumentID
    public let second: InstrumentID

    public init(_ configuration: StrategyConfiguration) throws(StrategyConfigurationError) {
        let parameters = configuration.parameters
        quantity = try parameters.integer("quantity", default: 1, in: 1...1_000_000_000_000, counting: .lots)
        minimumEdge = try parameters.integer("min-edge", default: 0, in: 0...1_000_000_000, counting: .ticks)
        maxPosition = try parameters.integer(
            "max-position", default: 100, in: 1...1_000_000_000_000_000, counting: .lots)
        guard configuration.instruments.count == 2 else {
            throw .invalidInstruments(
                strategy: Self.name,
                reason: "it trades exactly two instruments of one asset; \(configuration.instruments.count) given")
        }
        first = configuration.instruments[0]
        second = configuration.instruments[1]
        // Ticks and lots of two grids do not compare: the edge and the legs' sizes would mix them.
        let ticks = configuration.tickSizes
        let lots = configuration.lotSizes
        guard ticks.count == 2, lots.count == 2, ticks[0] == ticks[1], lots[0] == lots[1] else {
            let grids = zip(configuration.instruments, zip(ticks, lots)).map { instrument, grid in
                "instrument \(instrument.rawValue) has tick \(grid.0) and lot \(grid.1)"
            }
            throw .invalidInstruments(
                strategy: Self.name,
                reason: "it compares prices in ticks and sizes in lots, so its two instruments must be on one grid, "
                    + "but \(grids.joined(separator: ", ")): put both on one tick and lot fine enough for both "
                    + "(in a backtest --tick-size and --lot-size, or their [[instrument]] tables; converted data "
                    + "converted again with them)")
        }
    }

    @inlinable
    public mutating func onBook(_ instrument: InstrumentID, _ context: inout StrategyContext) { check(&context) }

    @inlinable
    public mutating func onQuote(_ quote: Quote, instrument: InstrumentID, _ context: inout StrategyContext) {
        check(&context)
    }

    @inlinable
    mutating func check(_ context: inout StrategyContext) {
        guard context.openOrderCount == 0, let a = context.bestBidOffer(first), let b = context.bestBidOffer(second)
        else { return }
        if let bid = a.bid, let ask = b.ask { take(sellOn: first, bid, buyOn: second, ask, &context) }
        if context.openOrderCount == 0, let bid = b.bid, let ask = a.ask {
            take(sellOn: second, bid, buyOn: first, ask, &context)
        }
    }

    /// Sells on one instrument at its bid and buys on the other at its ask when the edge pays.
    @inlinable
    mutating func take(
        sellOn sellInstrument: InstrumentID, _ bid: BookLevel, buyOn buyInstrument: InstrumentID, _ ask: BookLevel,
        _ context: inout StrategyContext
    ) {
        let edge = bid.price.ticks &- ask.price.ticks &- minimumEdge
        guard edge > 0 else { return }
        let room = Swift.min(
            maxPosition &- context.position(buyInstrument).net, maxPosition &+ context.position(sellInstrument).net)
        let lots = Swift.min(quantity, bid.quantity.lots, ask.quantity.lots, room)
        guard lots > 0 else { return }
        let size = Quantity(lots: lots)
        let gross = Money(tickLots: Int128(edge) &* Int128(lots))
        let fees =
            context.rules(sellInstrument).takerFee.fee(price: bid.price, quantity: size)
            + context.rules(buyInstrument).takerFee.fee(price: ask.price, quantity: size)
        guard gross > fees else { return }
        // Both legs or neither: a refused first leg sends no second, and a refused second takes
        // the first back before it leaves (one leg alone is a position, not an arbitrage).
        _ = context.submitBoth(
            .limit(
                OrderID(0), account: AccountID(0), .buy, price: ask.price, quantity: size,
                timeInForce: .immediateOrCancel),
            instrument: buyInstrument,
            .limit(
                OrderID(0), account: AccountID(0), .sell, price: bid.price, quantity: size,
                timeInForce: .immediateOrCancel),
            instrument: sellInstrument)
    }
}
