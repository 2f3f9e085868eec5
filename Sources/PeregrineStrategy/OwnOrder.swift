import PeregrineCore
import PeregrineModel

/// Where a strategy's order is in its life.
///
/// ```
/// pendingNew ─► accepted ─► partiallyFilled ─► filled
///     │            │  ▲            │
///     ▼            ▼  │ (replaced / cancel refused)
///  rejected   pendingCancel · pendingReplace ─► cancelled
/// ```
/// `filled`, `cancelled` and `rejected` are final: the order leaves the open-order view.
@frozen
public enum OrderState: UInt8, Hashable, Sendable, BitwiseCopyable, CaseIterable, CustomStringConvertible {
    /// Submitted; the venue has not answered yet.
    case pendingNew = 1
    /// The venue accepted it; nothing has filled.
    case accepted = 2
    case partiallyFilled = 3
    case filled = 4
    case cancelled = 5
    case rejected = 6
    /// A cancel was sent; the venue has not answered yet.
    case pendingCancel = 7
    /// A replace was sent; the venue has not answered yet.
    case pendingReplace = 8

    /// Whether the order may still trade.
    @inlinable public var isOpen: Bool {
        switch self {
        case .filled, .cancelled, .rejected: return false
        case .pendingNew, .accepted, .partiallyFilled, .pendingCancel, .pendingReplace: return true
        }
    }

    public var description: String {
        switch self {
        case .pendingNew: return "pending-new"
        case .accepted: return "accepted"
        case .partiallyFilled: return "partially-filled"
        case .filled: return "filled"
        case .cancelled: return "cancelled"
        case .rejected: return "rejected"
        case .pendingCancel: return "pending-cancel"
        case .pendingReplace: return "pending-replace"
        }
    }
}

/// A strategy's number in the engine (from its configuration), carried by its orders.
@frozen
public struct StrategyID: RawRepresentable, Hashable, Comparable, Sendable, BitwiseCopyable, CustomStringConvertible {
    public var rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt16) { self.rawValue = rawValue }
    @inlinable public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "s\(rawValue)" }
}

extension OrderID {
    /// Bit 62 marks the ids of strategies' orders: `2^62 | strategy id << 40 | sequence`. Order
    /// flows number their orders from 1, so the two never meet in a book.
    @inlinable public static var strategyBit: UInt64 { 1 << 62 }

    /// The id of `strategy`'s `sequence`-th order (sequence below 2^40).
    @inlinable
    public static func strategyOrder(_ strategy: StrategyID, sequence: UInt64) -> OrderID {
        OrderID(strategyBit | UInt64(strategy.rawValue) << 40 | (sequence & (1 << 40 - 1)))
    }

    /// Whether a strategy of this engine numbered this order.
    @inlinable public var isStrategyOrder: Bool { rawValue & (OrderID.strategyBit | 1 << 63) == OrderID.strategyBit }

    /// The strategy that numbered it (meaningful when `isStrategyOrder`).
    @inlinable public var strategy: StrategyID { StrategyID(UInt16(truncatingIfNeeded: rawValue >> 40)) }
}

/// One of a strategy's orders as the engine knows it: what was asked, what has filled, where
/// it stands. A trivial value (copies are snapshots).
@frozen
public struct OwnOrder: Hashable, Sendable, BitwiseCopyable {
    public var id: OrderID
    public var instrument: InstrumentID
    public var strategy: StrategyID
    public var side: Side
    public var type: OrderType
    public var timeInForce: TimeInForce
    public var state: OrderState
    /// Why it was last rejected or cancelled, or `killSwitch` once the kill switch sent it a
    /// cancel (kept if it then fills; its cancel update says `killSwitch`, not the venue's
    /// `requested`); `none` if neither.
    public var reason: ExecutionReason
    public var price: Price
    public var stopPrice: Price
    /// Total quantity, filled part included.
    public var quantity: Quantity
    public var filled: Quantity
    /// Still open (0 once final).
    public var leaves: Quantity
    /// Σ price × lots of its fills, ticks × lots.
    public var fillCost: Int128
    public var fees: Money
    /// Event time it was submitted at, engine ns.
    public var submittedAt: UInt64
    /// The venue's id of the last trade applied (fills with an id at or below it are duplicates).
    public var lastTradeID: UInt64
    /// What a pending replace asked for.
    public var pendingPrice: Price
    public var pendingQuantity: Quantity
    /// Whether its venue has acknowledged it (accepted, filled or replaced it): a reject that
    /// comes before is the new order's, one after is a refused cancel or replace.
    public var acknowledged: Bool
    /// Index of the position its fills go to.
    @usableFromInline var positionIndex: Int32

    @inlinable
    init(
        id: OrderID, instrument: InstrumentID, strategy: StrategyID, command: OrderCommand, submittedAt: UInt64,
        positionIndex: Int32
    ) {
        self.id = id
        self.instrument = instrument
        self.strategy = strategy
        side = command.side
        type = command.type
        timeInForce = command.timeInForce
        state = .pendingNew
        reason = .none
        price = command.price
        stopPrice = command.stopPrice
        quantity = command.quantity
        filled = .zero
        leaves = command.quantity
        fillCost = 0
        fees = .zero
        self.submittedAt = submittedAt
        lastTradeID = 0
        pendingPrice = Price(ticks: 0)
        pendingQuantity = .zero
        acknowledged = false
        self.positionIndex = positionIndex
    }

    /// Whether it can wait at the venue, so that a cancel finds it there: a stop order (off the
    /// book until it triggers, whatever its time in force), or a limit order that is neither
    /// immediate-or-cancel nor fill-or-kill. The venue ends the others itself.
    @inlinable public var canRest: Bool {
        type.isStop || (type != .market && timeInForce != .immediateOrCancel && timeInForce != .fillOrKill)
    }

    /// The average price of its fills, rounded half-even to the tick grid; nil before a fill.
    @inlinable
    public var averageFillPrice: Price? {
        guard filled.lots > 0 else { return nil }
        return Price(ticks: Int64(clamping: Position.roundedHalfEven(fillCost, dividedBy: Int128(filled.lots))))
    }

    /// The working state to go back to when a cancel or replace is refused.
    @inlinable var workingState: OrderState { filled.lots > 0 ? .partiallyFilled : .accepted }

    @inlinable
    mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try visitor.visit(&id.rawValue, "order id")
        try visitor.visit(&instrument.rawValue, "order instrument")
        try visitor.visit(&strategy.rawValue, "order strategy")
        var codes: UInt64 =
            UInt64(side.rawValue) | UInt64(type.rawValue) << 8 | UInt64(timeInForce.rawValue) << 16
            | UInt64(state.rawValue) << 24 | UInt64(reason.rawValue) << 32
        try visitor.visit(&codes, "order codes")
        guard let side = Side(rawValue: UInt8(truncatingIfNeeded: codes)),
            let type = OrderType(rawValue: UInt8(truncatingIfNeeded: codes >> 8)),
            let timeInForce = TimeInForce(rawValue: UInt8(truncatingIfNeeded: codes >> 16)),
            let state = OrderState(rawValue: UInt8(truncatingIfNeeded: codes >> 24)),
            let reason = ExecutionReason(rawValue: UInt8(truncatingIfNeeded: codes >> 32))
        else { throw .invalid(field: "order codes", value: Int64(bitPattern: codes)) }
        (self.side, self.type, self.timeInForce, self.state, self.reason) = (side, type, timeInForce, state, reason)
        try visitor.visit(&price.ticks, "order price")
        try visitor.visit(&stopPrice.ticks, "order stop price")
        try visitor.visit(&quantity.lots, "order quantity")
        try visitor.visit(&filled.lots, "order filled")
        try visitor.visit(&leaves.lots, "order leaves")
        try visitor.visit(&fillCost, "order fill cost")
        try visitor.visit(&fees.units, "order fees")
        try visitor.visit(&submittedAt, "order submitted at")
        try visitor.visit(&lastTradeID, "order last trade")
        try visitor.visit(&pendingPrice.ticks, "order pending price")
        try visitor.visit(&pendingQuantity.lots, "order pending quantity")
        try visitor.visit(&acknowledged, "order acknowledged")
        try visitor.visit(&positionIndex, "order position")
    }
}

/// What happened to one of a strategy's orders: the order after the change, the venue's report
/// that changed it, and on fills the fee charged.
@frozen
public struct OrderUpdate: Hashable, Sendable, BitwiseCopyable {
    /// The order as it is after this update.
    public var order: OwnOrder
    /// The venue's report (`kind`, `reason`; on fills the trade's price and quantity).
    public var report: ExecutionReport
    /// The fee of this fill (zero for other reports).
    public var fee: Money

    @inlinable
    public init(order: OwnOrder, report: ExecutionReport, fee: Money) {
        self.order = order
        self.report = report
        self.fee = fee
    }
}

/// A timer that came due: the id `schedule` returned, the strategy's tag and the deadline.
@frozen
public struct TimerFired: Hashable, Sendable, BitwiseCopyable {
    public var id: UInt64
    public var tag: UInt64
    /// The deadline it was set for, engine ns (the event that fired it is at or after it).
    public var deadline: UInt64
    @inlinable public init(id: UInt64, tag: UInt64, deadline: UInt64) {
        self.id = id
        self.tag = tag
        self.deadline = deadline
    }
}
