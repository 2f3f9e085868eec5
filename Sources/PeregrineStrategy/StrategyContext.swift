import PeregrineBook
import PeregrineCore
import PeregrineModel

/// The mid of a two-sided book: `(bid + ask) ÷ 2`, exactly (it may fall half a tick off the grid).
@frozen
public struct MidPrice: Hashable, Sendable, BitwiseCopyable {
    public var bid: Price
    public var ask: Price
    @inlinable public init(bid: Price, ask: Price) {
        self.bid = bid
        self.ask = ask
    }
    /// bid + ask, in ticks: twice the mid, exact.
    @inlinable public var twiceTicks: Int64 { bid.ticks &+ ask.ticks }
    /// The mid rounded down to the tick grid.
    @inlinable public var floor: Price { Price(ticks: twiceTicks >> 1) }
    /// Ask − bid, in ticks.
    @inlinable public var spreadTicks: Int64 { ask.ticks &- bid.ticks }
}

/// What a strategy sees and does during one callback: read-only books, its own open orders and
/// positions, the event time, its order entry (`submit…`, `cancel`, `replace`, `cancelAll`) and
/// its timers. Passed `inout` to every callback and valid only during it (noncopyable, so a
/// strategy cannot keep it). Every method is allocation-free except `depth`.
///
/// Orders are checked against the instrument's reference data (minimum quantity and notional)
/// and the per-event command limit before they leave: a refused one returns nil (or false) and
/// `lastRefusal` says why; nothing is sent. The risk checks come after: an order or replace they
/// refuse returns its id (or true) but never leaves, and is answered with a reject update
/// (`order(id)` is nil for a refused new order, and a refused replace leaves its order as it
/// was). An order that leaves is `pendingNew` until its venue answers (a hosted venue answers
/// within the same event).
public struct StrategyContext: ~Copyable {
    @usableFromInline let state: UnsafeMutablePointer<TradingState>
    @usableFromInline let books: UnsafePointer<InstrumentBooks>
    /// The strategy's slot in the engine.
    public let slot: Int
    /// Why the last refused command was refused (`none` after a command that left).
    @usableFromInline var _lastRefusal: OrderRefusal = .none
    public var lastRefusal: OrderRefusal { _lastRefusal }

    /// A context for the strategy in `slot` (the engine makes one per callback).
    @inlinable
    public init(state: UnsafeMutablePointer<TradingState>, books: UnsafePointer<InstrumentBooks>, slot: Int) {
        self.state = state
        self.books = books
        self.slot = slot
    }

    // MARK: Time and identity

    /// Event time, engine ns: the timestamp of the event being handled (journaled, so a replay
    /// sees the same).
    @inlinable public var time: UInt64 { state.pointee.time }

    @inlinable public var strategyID: StrategyID { state.pointee.slots[slot].id }

    /// The strategy's instruments: how many, and the `index`-th (configuration order).
    @inlinable public var instrumentCount: Int { state.pointee.instrumentCount(slot: slot) }
    @inlinable public func instrument(_ index: Int) -> InstrumentID { state.pointee.instrument(slot: slot, index) }

    /// The instrument's rules from its reference data (minimums and fee rates).
    @inlinable
    public func rules(_ instrument: InstrumentID) -> InstrumentRules {
        let raw = Int(instrument.rawValue)
        return raw < state.pointee.instrumentLimit ? state.pointee.rules[raw] : .free
    }

    // MARK: Books

    /// The best bid and offer of `instrument`'s book (the book its orders meet when hosted).
    @inlinable
    public func bestBidOffer(_ instrument: InstrumentID) -> BestBidOffer? { books.pointee.bestBidOffer(instrument) }

    /// The mid of `instrument`'s book when both sides have a level.
    @inlinable
    public func mid(_ instrument: InstrumentID) -> MidPrice? {
        guard let touch = books.pointee.touchPrices(instrument) else { return nil }
        return MidPrice(bid: touch.bid, ask: touch.ask)
    }

    /// The mid of `instrument`'s book without this strategy's own resting orders: the market
    /// around the strategy (a market maker at the touch must not chase its own quotes). nil when
    /// a side has nothing else. Allocation-free; O(levels walked × the strategy's open orders).
    @inlinable @inline(__always)
    public func marketMid(_ instrument: InstrumentID) -> MidPrice? {
        // An outside venue's book is the market's alone: its touch, read once (inlined: a market
        // maker reads it at every book change).
        if !books.pointee.isHosted(instrument) {
            guard let touch = books.pointee.touchPrices(instrument) else { return nil }
            return MidPrice(bid: touch.bid, ask: touch.ask)
        }
        return hostedMarketMid(instrument)
    }

    /// `marketMid` of a hosted book (its own resting orders left out), out of line.
    @inlinable @inline(never)
    func hostedMarketMid(_ instrument: InstrumentID) -> MidPrice? {
        guard let bid = marketTop(instrument, .buy), let ask = marketTop(instrument, .sell) else { return nil }
        return MidPrice(bid: bid, ask: ask)
    }

    /// The best price of `side` with quantity beyond the strategy's own resting orders (which
    /// only a hosted book holds: an outside venue's L2 book is the market's alone).
    @inlinable
    public func marketTop(_ instrument: InstrumentID, _ side: Side) -> Price? {
        guard let best = books.pointee.best(instrument, side) else { return nil }
        guard books.pointee.isHosted(instrument) else { return best.price }
        // Usually the best level holds more than the strategy's own orders there: done.
        if best.quantity.lots > ownQuantity(instrument, side, at: best.price) { return best.price }
        var found: Price? = nil
        books.pointee.forEachLevel(instrument, side) { level in
            if level.quantity.lots > ownQuantity(instrument, side, at: level.price) {
                found = level.price
                return false
            }
            return true
        }
        return found
    }

    /// Lots of the strategy's own resting limit orders on `side` of `instrument` at `price`.
    @inlinable
    func ownQuantity(_ instrument: InstrumentID, _ side: Side, at price: Price) -> Int64 {
        var own: Int64 = 0
        forEachOpenOrder(instrument) { order in
            if order.side == side, order.price == price, order.type == .limit,
                order.state != .pendingNew
            {
                own &+= order.leaves.lots
            }
            return true
        }
        return own
    }

    /// Calls `body` with each level of one side of `instrument`'s book, best first, until it
    /// returns false. Allocation-free.
    @inlinable
    public func forEachLevel(_ instrument: InstrumentID, _ side: Side, _ body: (BookLevel) -> Bool) {
        books.pointee.forEachLevel(instrument, side, body)
    }

    /// The best `levels` levels of one side, best first. Allocates: for decisions taken rarely.
    public func depth(_ instrument: InstrumentID, _ side: Side, levels: Int) -> [BookLevel] {
        books.pointee.depth(instrument, side, levels: levels)
    }

    // MARK: Own orders and positions

    /// The strategy's open orders.
    @inlinable public var openOrderCount: Int { state.pointee.openOrderCount(slot: slot) }

    /// Calls `body` with each open order, oldest first, until it returns false.
    @inlinable
    public func forEachOpenOrder(_ body: (OwnOrder) -> Bool) { state.pointee.forEachOpenOrder(slot: slot, body) }

    /// Calls `body` with each open order in `instrument`, oldest first, until it returns false.
    @inlinable
    public func forEachOpenOrder(_ instrument: InstrumentID, _ body: (OwnOrder) -> Bool) {
        state.pointee.forEachOpenOrder(slot: slot, instrument: instrument, body)
    }

    /// Whether the strategy has an open order in `instrument`.
    @inlinable
    public func hasOpenOrder(_ instrument: InstrumentID) -> Bool {
        var found = false
        forEachOpenOrder(instrument) { _ in
            found = true
            return false
        }
        return found
    }

    /// The net position in `instrument`, in lots (positive long); 0 for an instrument it does
    /// not trade. Cheaper than `position(_:)`.
    @inlinable @inline(__always)
    public func netPosition(_ instrument: InstrumentID) -> Int64 {
        state.pointee.netPosition(slot: slot, instrument: instrument)
    }

    /// A number that moves whenever an open order or a position changes (any strategy's: a
    /// report applied, a command sent, a timeout, a restore). Two equal readings mean none
    /// changed in between: a strategy whose decision depends only on its orders, its positions
    /// and values it keeps (a touch) may skip recomputing it. O(1).
    @inlinable public var revision: UInt64 { state.pointee.revision }

    /// How many reports so far only acknowledged a command as sent (any strategy's: a new order
    /// accepted, a replace done as asked). When `revision` moved by exactly as much as this
    /// between two readings, acknowledgements were the only changes in between: a decision made
    /// at the first reading that counted on its commands going through stays. O(1).
    @inlinable public var acknowledgements: UInt64 { state.pointee.acknowledgements }

    /// Why the risk checks refused the last order or replace they refused (read right after a
    /// command that left `revision` where it was while returning an id or true: that command's
    /// reason; `none` before any). O(1).
    @inlinable public var lastRiskRejection: ExecutionReason { state.pointee.lastRiskRejection }

    /// The open order `id` if it is this strategy's.
    @inlinable
    public func order(_ id: OrderID) -> OwnOrder? {
        guard let order = state.pointee.openOrder(id), order.strategy == strategyID else { return nil }
        return order
    }

    /// The strategy's position in `instrument` (an empty one for an instrument it does not trade).
    @inlinable
    public func position(_ instrument: InstrumentID) -> Position {
        state.pointee.position(slot: slot, instrument: instrument) ?? Position()
    }

    /// Unrealised P&L of the position in `instrument` marked to its book's mid; nil without a mid.
    @inlinable
    public func unrealised(_ instrument: InstrumentID) -> Money? {
        guard let mid = mid(instrument) else { return nil }
        return position(instrument).unrealised(bid: mid.bid, ask: mid.ask)
    }

    // MARK: Order entry

    /// Sends a new order for `instrument` (the command's id and account are the engine's to set).
    /// Returns its client order id, or nil if refused outright (`lastRefusal`). An order a risk
    /// rule refuses gets an id too but never leaves: `order(id)` is nil for it, and it is
    /// answered with a reject update (`onOrderRejected`).
    @inlinable
    public mutating func submit(_ order: OrderCommand, instrument: InstrumentID) -> OrderID? {
        switch state.pointee.submit(order, instrument: instrument, slot: slot) {
        case .success(let id):
            _lastRefusal = .none
            return id
        case .failure(let error):
            _lastRefusal = error.refusal
            return nil
        }
    }

    /// Sends two new orders that make sense only together (an arbitrage's legs): both leave, or
    /// neither does. When the second is refused, the first is withdrawn before it leaves.
    /// Returns true when both left; false when refused: outright (`lastRefusal`, no update), or
    /// by a risk rule (`lastRefusal` `.none`): the first (a reject update answers it, in
    /// `onOrderRejected`; the second is not tried), or the second (reject updates answer both,
    /// the withdrawn first with the second's reason; one risk reject is counted).
    @inlinable
    public mutating func submitBoth(
        _ first: OrderCommand, instrument firstInstrument: InstrumentID, _ second: OrderCommand,
        instrument secondInstrument: InstrumentID
    ) -> Bool {
        switch state.pointee.submitBoth(
            first, instrument: firstInstrument, second, instrument: secondInstrument, slot: slot)
        {
        case .success(let both):
            _lastRefusal = .none
            return both
        case .failure(let error):
            _lastRefusal = error.refusal
            return false
        }
    }

    /// A limit order: good till cancelled, or `.immediateOrCancel`, `.fillOrKill`, `.postOnly`.
    @inlinable
    public mutating func submitLimit(
        _ instrument: InstrumentID, _ side: Side, price: Price, quantity: Quantity,
        timeInForce: TimeInForce = .goodTillCancel
    ) -> OrderID? {
        submit(
            .limit(OrderID(0), account: AccountID(0), side, price: price, quantity: quantity, timeInForce: timeInForce),
            instrument: instrument)
    }

    /// A market order: immediate or cancel, or `.fillOrKill`.
    @inlinable
    public mutating func submitMarket(
        _ instrument: InstrumentID, _ side: Side, quantity: Quantity, timeInForce: TimeInForce = .immediateOrCancel
    ) -> OrderID? {
        submit(
            .market(OrderID(0), account: AccountID(0), side, quantity: quantity, timeInForce: timeInForce),
            instrument: instrument)
    }

    /// A stop order: a stop-market order, or a stop-limit one when `limit` is given. Once
    /// triggered it enters with `timeInForce`: by default immediate or cancel for a stop-market
    /// and good till cancel for a stop-limit (post-only is refused by venues, `unsupported-order`).
    @inlinable
    public mutating func submitStop(
        _ instrument: InstrumentID, _ side: Side, stopPrice: Price, limit: Price? = nil, quantity: Quantity,
        timeInForce: TimeInForce? = nil
    ) -> OrderID? {
        var command: OrderCommand =
            if let limit {
                .stopLimit(
                    OrderID(0), account: AccountID(0), side, stopPrice: stopPrice, price: limit, quantity: quantity)
            } else {
                .stopMarket(OrderID(0), account: AccountID(0), side, stopPrice: stopPrice, quantity: quantity)
            }
        if let timeInForce { command.timeInForce = timeInForce }
        return submit(command, instrument: instrument)
    }

    /// Asks to cancel the strategy's open order `id`; false if refused (`lastRefusal`).
    @inlinable
    @discardableResult
    public mutating func cancel(_ id: OrderID) -> Bool {
        _lastRefusal = state.pointee.cancel(id, slot: slot)
        return lastRefusal == .none
    }

    /// Asks to change the strategy's resting limit order `id` to `price` and a total quantity
    /// (filled part included); false if refused outright (`lastRefusal`). A replace a risk rule
    /// refuses returns true but never leaves: the order stays as it was (not `pendingReplace`),
    /// and a reject update answers it.
    @inlinable
    @discardableResult
    public mutating func replace(_ id: OrderID, price: Price, quantity: Quantity) -> Bool {
        _lastRefusal = state.pointee.replace(id, price: price, quantity: quantity, slot: slot)
        return lastRefusal == .none
    }

    /// Cancels every open order of the strategy (in `instrument` only, when given) that has no
    /// cancel in flight; returns how many cancels were sent.
    @inlinable
    @discardableResult
    public mutating func cancelAll(_ instrument: InstrumentID? = nil) -> Int {
        var sent = 0
        let first = Int(state.pointee.slots[slot].firstInstrument)
        for list in first..<(first &+ state.pointee.instrumentCount(slot: slot)) {
            if let instrument, state.pointee.instruments[list] != instrument { continue }
            var index = state.pointee.listHead[list]
            while index >= 0 {
                let order = state.pointee.orders[Int(index)]
                index = state.pointee.nextInList[Int(index)]
                if order.state != .pendingCancel, cancel(order.id) { sent &+= 1 }
            }
        }
        return sent
    }

    // MARK: Timers

    /// Fires `onTimer` at the first event whose time is at or after `deadline` (engine ns;
    /// events include the idle clock ticks, so the resolution is the tick interval). Returns
    /// the timer's id, or nil when the engine's schedule is full.
    @inlinable
    public mutating func schedule(at deadline: UInt64, tag: UInt64 = 0) -> UInt64? {
        state.pointee.schedule(at: deadline, tag: tag, slot: slot)
    }

    /// Fires `onTimer` `nanoseconds` after the current event time.
    @inlinable
    public mutating func schedule(after nanoseconds: UInt64, tag: UInt64 = 0) -> UInt64? {
        let (deadline, overflow) = time.addingReportingOverflow(nanoseconds)
        return schedule(at: overflow ? .max : deadline, tag: tag)
    }

    /// Cancels the strategy's timer `id`; false if it has fired already or is not the strategy's.
    @inlinable
    @discardableResult
    public mutating func cancelTimer(_ id: UInt64) -> Bool { state.pointee.cancelTimer(id, slot: slot) }
}
