import PeregrineBook
import PeregrineCore
import PeregrineModel

/// The built-in example strategy: when a trade of at least `minimumQuantity` prints, follow
/// it with an immediate-or-cancel limit order on the aggressor's side, at the trade price, for
/// `followQuantity`, unless the book's spread is wider than `maximumSpreadTicks` (a thin book
/// is not followed).
///
/// Orders are placed for `account`; their ids are this strategy's own counter from
/// `firstOrderID` (2^62 + 1, far from the ids an order flow numbers from 1, because a book
/// refuses an id it already holds whoever owns it), so the same input always yields the same
/// orders.
public struct LargeTradeFollower: Strategy, Sendable {
    public let minimumQuantity: Quantity
    public let followQuantity: Quantity
    public let maximumSpreadTicks: Int64
    public let account: AccountID
    @usableFromInline var nextOrderID: UInt64 = LargeTradeFollower.firstOrderID

    public init(
        minimumQuantity: Quantity, followQuantity: Quantity, maximumSpreadTicks: Int64 = 50,
        account: AccountID = LargeTradeFollower.defaultAccount
    ) {
        self.minimumQuantity = minimumQuantity
        self.followQuantity = followQuantity
        self.maximumSpreadTicks = maximumSpreadTicks
        self.account = account
    }

    /// The id of the follower's first order.
    public static let firstOrderID: UInt64 = (1 << 62) + 1

    /// The account the follower trades for unless told otherwise.
    public static let defaultAccount = AccountID(1_000)

    @inlinable
    public mutating func onEvent<Orders: OrderSink & ~Copyable>(
        _ event: Event, books: borrowing InstrumentBooks, orders: inout Orders
    ) {
        guard case .trade(let trade) = event.payload, trade.quantity >= minimumQuantity else { return }
        if let spread = books.bestBidOffer(event.instrument)?.spread, spread > maximumSpreadTicks {
            return
        }
        let order = OrderCommand.limit(
            OrderID(nextOrderID), account: account, trade.aggressor, price: trade.price, quantity: followQuantity,
            timeInForce: .immediateOrCancel)
        if orders.submit(order, instrument: event.instrument) {
            nextOrderID &+= 1
        }
    }

    public var parameters: String {
        "large-trade-follower min-lots=\(minimumQuantity.lots) follow-lots=\(followQuantity.lots) "
            + "max-spread-ticks=\(maximumSpreadTicks) account=\(account.rawValue)"
    }

    public func combineState(into hasher: inout StateHasher) {
        hasher.combine(nextOrderID)
    }

    public func encodeState(into encoder: inout SnapshotEncoder) { encoder.write(nextOrderID) }

    public mutating func restoreState(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        nextOrderID = try decoder.read(UInt64.self, "next order id")
    }
}
