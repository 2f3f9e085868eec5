/// What changed about an order.
@frozen
public enum ExecutionKind: UInt8, Hashable, Sendable, BitwiseCopyable, CaseIterable, CustomStringConvertible {
    /// A new order passed validation (it may fill, rest or wait as a stop next).
    case accepted = 1
    /// A command was refused; `reason` says why. The book did not change.
    case rejected = 2
    /// The order traded part of its quantity; `leavesQuantity` is still open.
    case partiallyFilled = 3
    /// The order traded its last open quantity.
    case filled = 4
    /// The order's open quantity was cancelled; `reason` says why.
    case cancelled = 5
    /// A replace took effect; `price` and `quantity` are the new price and total quantity.
    case replaced = 6
    /// A stop order's trigger price was reached; it now enters the book as a live order.
    case triggered = 7
    /// The answer to a status request: the order as the venue holds it (price, total quantity,
    /// leaves), or with reason `unknownOrderID` when it holds no such order.
    case status = 8

    public var description: String {
        switch self {
        case .accepted: return "accepted"
        case .rejected: return "rejected"
        case .partiallyFilled: return "partially-filled"
        case .filled: return "filled"
        case .cancelled: return "cancelled"
        case .replaced: return "replaced"
        case .triggered: return "triggered"
        case .status: return "status"
        }
    }
}

/// Why a command was rejected or an order cancelled. `none` on every other report.
@frozen
public enum ExecutionReason: UInt8, Hashable, Sendable, BitwiseCopyable, CaseIterable, CustomStringConvertible {
    case none = 0
    // Cancels.
    /// The owner asked.
    case requested = 1
    /// An IOC or market order's remainder, after taking what the book offered.
    case unfilledRemainder = 2
    /// A fill-or-kill order that could not fill completely; nothing traded.
    case fillOrKill = 3
    /// Self-trade prevention removed the order.
    case selfTradePrevention = 4
    /// A replace to a total quantity at or below what has already filled.
    case replacedBelowFilled = 5
    // Rejects.
    /// No book for the command's instrument.
    case unknownInstrument = 20
    /// Quantity zero or negative, or not a multiple of the instrument's lot size.
    case invalidQuantity = 21
    /// Price not a multiple of the instrument's tick size.
    case priceOffTickGrid = 22
    /// Price not positive, or above 2^62 ticks (`InstrumentSpec.maxPrice`).
    case priceOutOfRange = 23
    /// A new order whose id is already live in this book.
    case duplicateOrderID = 24
    /// A cancel or replace of an id that is not live in this book.
    case unknownOrderID = 25
    /// A cancel or replace from an account that does not own the order.
    case notOrderOwner = 26
    /// The book's order pool is full; the order could not rest.
    case orderPoolFull = 27
    /// A post-only order (or a replace of one) that would have taken liquidity.
    case postOnlyWouldTake = 28
    /// A stop price the last trade has already reached.
    case stopWouldTriggerImmediately = 29
    /// A combination the engine does not support: post-only market or stop orders, or a
    /// field with no valid meaning (unknown action, type or time in force).
    case unsupportedOrder = 30
    /// A replace of an order that is not a resting limit order (a pending stop).
    case notReplaceable = 31
    /// An order that would open a price level beyond the side's most levels
    /// (`InstrumentSpec.maxLevelsPerSide`); a remainder that cannot rest for that reason is
    /// cancelled with it.
    case levelCeiling = 32
    /// A limit price further from the last trade price than the venue's price collar allows.
    case outsidePriceCollar = 33
    /// The venue did not answer a new order within the acknowledgement timeout; the engine sent
    /// a cancel for it (the order stays open until the venue answers that).
    case noAnswer = 34
    // Pre-trade risk (the engine refused the order before any venue; `isRisk`).
    /// The kill switch is tripped: no new order or replace until it is reset.
    case killSwitch = 40
    /// Quantity above the strategy's maximum order quantity in the instrument.
    case maxOrderQuantity = 41
    /// Price × quantity above the maximum order notional (a market order at the mark).
    case maxOrderNotional = 42
    /// A price further from the mid than the strategy's collar (basis points).
    case riskPriceCollar = 43
    /// The strategy already has its most open orders in the instrument.
    case maxOpenOrders = 44
    /// The position, with every open order on the order's side filled, would pass the maximum.
    case maxPosition = 45
    /// Σ |position × mid| + open order notional, in the quote currency, would pass the maximum.
    case maxGrossExposure = 46
    /// The strategy's order rate is above its throttle (a token bucket on event time).
    case orderThrottle = 47

    @inlinable public var isReject: Bool { rawValue >= 20 }

    /// Whether the engine's pre-trade risk refused the order (not a venue).
    @inlinable public var isRisk: Bool { rawValue >= 40 }

    /// The pre-trade risk reasons, in code order.
    public static let riskReasons: [ExecutionReason] = allCases.filter(\.isRisk)

    public var description: String {
        switch self {
        case .none: return "none"
        case .requested: return "requested"
        case .unfilledRemainder: return "unfilled-remainder"
        case .fillOrKill: return "fill-or-kill"
        case .selfTradePrevention: return "self-trade-prevention"
        case .replacedBelowFilled: return "replaced-below-filled"
        case .unknownInstrument: return "unknown-instrument"
        case .invalidQuantity: return "invalid-quantity"
        case .priceOffTickGrid: return "price-off-tick-grid"
        case .priceOutOfRange: return "price-out-of-range"
        case .duplicateOrderID: return "duplicate-order-id"
        case .unknownOrderID: return "unknown-order-id"
        case .notOrderOwner: return "not-order-owner"
        case .orderPoolFull: return "order-pool-full"
        case .postOnlyWouldTake: return "post-only-would-take"
        case .stopWouldTriggerImmediately: return "stop-would-trigger-immediately"
        case .unsupportedOrder: return "unsupported-order"
        case .notReplaceable: return "not-replaceable"
        case .levelCeiling: return "level-ceiling"
        case .outsidePriceCollar: return "outside-price-collar"
        case .noAnswer: return "no-answer"
        case .killSwitch: return "kill-switch"
        case .maxOrderQuantity: return "max-order-quantity"
        case .maxOrderNotional: return "max-order-notional"
        case .riskPriceCollar: return "risk-price-collar"
        case .maxOpenOrders: return "max-open-orders"
        case .maxPosition: return "max-position"
        case .maxGrossExposure: return "max-gross-exposure"
        case .orderThrottle: return "order-throttle"
        }
    }
}

/// One state change of one order, FIX-style. A trade produces two reports, one per side,
/// sharing a `tradeID`; each names the other side in `contraOrderID`/`contraAccount`.
///
/// A trivial 64-byte value: one cache line, inline in ring slots.
///
/// | kind | price | quantity | leavesQuantity |
/// |------|-------|----------|----------------|
/// | accepted | limit price (stop price for stop-market) | order quantity | order quantity |
/// | rejected | from the command | from the command | 0 |
/// | partiallyFilled / filled | trade price (the resting order's) | traded | still open |
/// | cancelled | order's price | cancelled | 0 |
/// | replaced | new price | new total quantity | still open |
/// | triggered | the trade price that triggered it | open quantity | open quantity |
@frozen
public struct ExecutionReport: Hashable, Sendable, BitwiseCopyable, CustomStringConvertible {
    public var orderID: OrderID
    /// The other side of a trade; zero otherwise.
    public var contraOrderID: OrderID
    public var price: Price
    public var quantity: Quantity
    public var leavesQuantity: Quantity
    /// The book's trade counter (from 1) on fills; zero otherwise.
    public var tradeID: UInt64
    public var account: AccountID
    /// The other side's account on fills; zero otherwise.
    public var contraAccount: AccountID
    public var instrument: InstrumentID
    public var kind: ExecutionKind
    public var reason: ExecutionReason
    public var side: Side
    /// On fills: whether this side took liquidity.
    public var isAggressor: Bool

    @inlinable
    public init(
        kind: ExecutionKind, reason: ExecutionReason = .none, instrument: InstrumentID, orderID: OrderID,
        account: AccountID, side: Side, price: Price, quantity: Quantity, leavesQuantity: Quantity,
        tradeID: UInt64 = 0, contraOrderID: OrderID = OrderID(0), contraAccount: AccountID = AccountID(0),
        isAggressor: Bool = false
    ) {
        self.kind = kind
        self.reason = reason
        self.instrument = instrument
        self.orderID = orderID
        self.account = account
        self.side = side
        self.price = price
        self.quantity = quantity
        self.leavesQuantity = leavesQuantity
        self.tradeID = tradeID
        self.contraOrderID = contraOrderID
        self.contraAccount = contraAccount
        self.isAggressor = isAggressor
    }

    /// The report rejecting `command` on `instrument` for `reason` (nothing rests: leaves 0).
    @inlinable
    public static func rejection(of command: OrderCommand, instrument: InstrumentID, reason: ExecutionReason)
        -> ExecutionReport
    {
        ExecutionReport(
            kind: .rejected, reason: reason, instrument: instrument, orderID: command.orderID, account: command.account,
            side: command.side, price: command.price, quantity: command.quantity, leavesQuantity: .zero)
    }

    @inlinable public var isFill: Bool { kind == .partiallyFilled || kind == .filled }

    public var description: String {
        var text = "\(kind) \(orderID) \(account) \(side) \(quantity)@\(price) leaves \(leavesQuantity)"
        if reason != .none { text += " reason \(reason)" }
        if isFill {
            text += " trade \(tradeID) vs \(contraOrderID) \(contraAccount)\(isAggressor ? " aggressor" : "")"
        }
        return text
    }
}
