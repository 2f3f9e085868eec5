/// What a command asks the matching engine to do.
@frozen
public enum OrderAction: UInt8, Hashable, Sendable, BitwiseCopyable, CaseIterable, CustomStringConvertible {
    /// Enter a new order.
    case new = 1
    /// Cancel a live order (resting or pending stop).
    case cancel = 2
    /// Change a resting limit order's price and/or total quantity, keeping its id.
    case replace = 3
    /// Ask for an order's state (reconciliation with an outside venue): answered by a `status`
    /// report; changes nothing.
    case status = 4

    public var description: String {
        switch self {
        case .new: return "new"
        case .cancel: return "cancel"
        case .replace: return "replace"
        case .status: return "status"
        }
    }
}

/// How an order's price is set.
@frozen
public enum OrderType: UInt8, Hashable, Sendable, BitwiseCopyable, CaseIterable, CustomStringConvertible {
    /// Executes at its limit price or better; the remainder rests (unless its time in force
    /// says otherwise).
    case limit = 1
    /// Executes at any price against what rests; the remainder is cancelled, never rests.
    case market = 2
    /// Waits off the book until a trade reaches its stop price, then enters as a market order.
    case stopMarket = 3
    /// Waits off the book until a trade reaches its stop price, then enters as a limit order.
    case stopLimit = 4

    @inlinable public var isStop: Bool {
        switch self {
        case .stopMarket, .stopLimit: return true
        case .limit, .market: return false
        }
    }

    public var description: String {
        switch self {
        case .limit: return "limit"
        case .market: return "market"
        case .stopMarket: return "stop-market"
        case .stopLimit: return "stop-limit"
        }
    }
}

/// How long an order may work.
@frozen
public enum TimeInForce: UInt8, Hashable, Sendable, BitwiseCopyable, CaseIterable, CustomStringConvertible {
    /// Good till cancelled: the remainder rests.
    case goodTillCancel = 1
    /// Immediate or cancel: fills what it can now, the remainder is cancelled.
    case immediateOrCancel = 2
    /// Fill or kill: fills completely now, or nothing happens to the book.
    case fillOrKill = 3
    /// Post only (good till crossing): rests without taking; rejected if it would take.
    case postOnly = 4

    public var description: String {
        switch self {
        case .goodTillCancel: return "GTC"
        case .immediateOrCancel: return "IOC"
        case .fillOrKill: return "FOK"
        case .postOnly: return "post-only"
        }
    }
}

/// One instruction to an instrument's order book: a new order, a cancel or a replace.
///
/// A trivial 40-byte value (it travels inline in `Event` and in ring slots). The instrument is
/// not part of it: the caller picks the book (an `Event` carries the instrument beside it).
/// Fields an action does not use are ignored; the constructors set them to zero or the first case.
@frozen
public struct OrderCommand: Hashable, Sendable, BitwiseCopyable {
    /// The order the command is about (new: its id; cancel/replace: the live order's id).
    public var orderID: OrderID
    /// Limit price (limit and stop-limit orders); the new price for a replace.
    public var price: Price
    /// Trigger price of stop orders.
    public var stopPrice: Price
    /// Order quantity (new); the new total quantity, filled part included (replace).
    public var quantity: Quantity
    /// The account sending the command: owner of a new order; must own the order it cancels
    /// or replaces.
    public var account: AccountID
    public var action: OrderAction
    public var type: OrderType
    public var timeInForce: TimeInForce
    public var side: Side

    @inlinable
    public init(
        action: OrderAction, orderID: OrderID, account: AccountID, side: Side, type: OrderType,
        timeInForce: TimeInForce, price: Price, stopPrice: Price, quantity: Quantity
    ) {
        self.action = action
        self.orderID = orderID
        self.account = account
        self.side = side
        self.type = type
        self.timeInForce = timeInForce
        self.price = price
        self.stopPrice = stopPrice
        self.quantity = quantity
    }

    /// A new limit order (GTC unless `timeInForce` says otherwise).
    @inlinable
    public static func limit(
        _ orderID: OrderID, account: AccountID, _ side: Side, price: Price, quantity: Quantity,
        timeInForce: TimeInForce = .goodTillCancel
    ) -> OrderCommand {
        OrderCommand(
            action: .new, orderID: orderID, account: account, side: side, type: .limit, timeInForce: timeInForce,
            price: price, stopPrice: Price(ticks: 0), quantity: quantity)
    }

    /// A new market order (`.fillOrKill` makes it all or nothing).
    @inlinable
    public static func market(
        _ orderID: OrderID, account: AccountID, _ side: Side, quantity: Quantity,
        timeInForce: TimeInForce = .immediateOrCancel
    ) -> OrderCommand {
        OrderCommand(
            action: .new, orderID: orderID, account: account, side: side, type: .market, timeInForce: timeInForce,
            price: Price(ticks: 0), stopPrice: Price(ticks: 0), quantity: quantity)
    }

    /// A new stop-market order, triggered when a trade prints at or through `stopPrice`.
    @inlinable
    public static func stopMarket(
        _ orderID: OrderID, account: AccountID, _ side: Side, stopPrice: Price, quantity: Quantity
    ) -> OrderCommand {
        OrderCommand(
            action: .new, orderID: orderID, account: account, side: side, type: .stopMarket,
            timeInForce: .immediateOrCancel, price: Price(ticks: 0), stopPrice: stopPrice, quantity: quantity)
    }

    /// A new stop-limit order: when triggered it enters as a limit order at `price`.
    @inlinable
    public static func stopLimit(
        _ orderID: OrderID, account: AccountID, _ side: Side, stopPrice: Price, price: Price, quantity: Quantity,
        timeInForce: TimeInForce = .goodTillCancel
    ) -> OrderCommand {
        OrderCommand(
            action: .new, orderID: orderID, account: account, side: side, type: .stopLimit, timeInForce: timeInForce,
            price: price, stopPrice: stopPrice, quantity: quantity)
    }

    /// Cancels a live order.
    @inlinable
    public static func cancel(_ orderID: OrderID, account: AccountID) -> OrderCommand {
        OrderCommand(
            action: .cancel, orderID: orderID, account: account, side: .buy, type: .limit,
            timeInForce: .goodTillCancel, price: Price(ticks: 0), stopPrice: Price(ticks: 0), quantity: .zero)
    }

    /// Asks for the state of order `orderID` (a `status` report answers).
    @inlinable
    public static func status(_ orderID: OrderID, account: AccountID) -> OrderCommand {
        OrderCommand(
            action: .status, orderID: orderID, account: account, side: .buy, type: .limit,
            timeInForce: .goodTillCancel, price: Price(ticks: 0), stopPrice: Price(ticks: 0), quantity: .zero)
    }

    /// Replaces a resting limit order's price and total quantity (filled part included).
    @inlinable
    public static func replace(
        _ orderID: OrderID, account: AccountID, price: Price, quantity: Quantity
    ) -> OrderCommand {
        OrderCommand(
            action: .replace, orderID: orderID, account: account, side: .buy, type: .limit,
            timeInForce: .goodTillCancel, price: price, stopPrice: Price(ticks: 0), quantity: quantity)
    }
}
