import PeregrineModel
import PeregrineSys

/// The incoming side of a match: a new order, a triggered stop or a replaced order that
/// crosses. Lives on the stack while it takes liquidity.
@frozen
@usableFromInline
struct Taker {
    @usableFromInline var orderID: UInt64
    @usableFromInline var account: UInt32
    @usableFromInline var side: Side
    /// The worst price it may trade at (`Int64.max` / `Int64.min` for market orders).
    @usableFromInline var limitPrice: Int64
    /// Its limit price for reports (0 for market orders).
    @usableFromInline var price: Int64
    @usableFromInline var leaves: Int64
    @usableFromInline var filled: Int64
    /// Set when self-trade prevention cancelled it mid-match.
    @usableFromInline var stoppedBySelfTrade = false

    @inlinable
    init(orderID: UInt64, account: UInt32, side: Side, limitPrice: Int64, price: Int64, leaves: Int64, filled: Int64) {
        self.orderID = orderID
        self.account = account
        self.side = side
        self.limitPrice = limitPrice
        self.price = price
        self.leaves = leaves
        self.filled = filled
    }
}

extension OrderBook {
    /// Carries out one command and reports every resulting state change to `sink`, in order:
    ///
    /// - new order: `rejected`, or `accepted` then its fills (taker report first, then the
    ///   maker's, per trade), then `cancelled` for any remainder that may not rest; stops
    ///   wait off the book after `accepted`.
    /// - cancel: `cancelled` or `rejected`.
    /// - replace: `rejected`, or `replaced` (then fills if the new price crosses), or
    ///   `cancelled` when the new total quantity is at or below what has filled.
    ///
    /// Stops reached by this command's trades report `triggered` when the trade prints and
    /// enter the book, in trigger order, after the command itself is done. A rejected
    /// command changes nothing. Allocation-free; never traps.
    @inlinable
    public mutating func process<Sink: ExecutionReportSink & ~Copyable>(_ command: OrderCommand, sink: inout Sink) {
        _counters.commands &+= 1
        switch command.action {
        case .new: submit(command, sink: &sink)
        case .cancel: cancel(command, sink: &sink)
        case .replace: replace(command, sink: &sink)
        case .status: status(command, sink: &sink)
        }
    }

    /// Answers a status request: the order as held (a `status` report with its price, total
    /// quantity and leaves), or `status` with reason `unknownOrderID`. Changes nothing.
    @inlinable
    mutating func status<Sink: ExecutionReportSink & ~Copyable>(_ command: OrderCommand, sink: inout Sink) {
        let slot = ids.find(command.orderID.rawValue)
        guard slot >= 0, pool.slots[Int(slot)].account == command.account.rawValue else {
            report(
                .status, reason: .unknownOrderID, orderID: command.orderID.rawValue, account: command.account.rawValue,
                side: command.side, price: 0, quantity: 0, leaves: 0, sink: &sink)
            return
        }
        let order = pool.slots + Int(slot)
        report(
            .status, orderID: order.pointee.orderID, account: order.pointee.account, side: order.pointee.side,
            price: reportedPrice(order), quantity: order.pointee.leaves &+ order.pointee.filled,
            leaves: order.pointee.leaves, sink: &sink)
    }

    // MARK: New orders

    @inlinable
    mutating func submit<Sink: ExecutionReportSink & ~Copyable>(_ command: OrderCommand, sink: inout Sink) {
        let reason = validateNew(command)
        if reason != .none {
            reject(command, reason, sink: &sink)
            return
        }
        _counters.accepted &+= 1
        if command.type.isStop {
            acceptStop(command, sink: &sink)
            return
        }
        let isMarket = command.type == .market
        let leaves = command.quantity.lots
        report(
            .accepted, orderID: command.orderID.rawValue, account: command.account.rawValue, side: command.side,
            price: isMarket ? 0 : command.price.ticks, quantity: leaves, leaves: leaves, sink: &sink)
        let limitPrice = isMarket ? (command.side == .buy ? Int64.max : Int64.min) : command.price.ticks
        var taker = Taker(
            orderID: command.orderID.rawValue, account: command.account.rawValue, side: command.side,
            limitPrice: limitPrice, price: isMarket ? 0 : command.price.ticks, leaves: leaves, filled: 0)
        if command.timeInForce == .fillOrKill, !canFill(taker) {
            _counters.cancelled &+= 1
            report(
                .cancelled, reason: .fillOrKill, orderID: taker.orderID, account: taker.account, side: taker.side,
                price: taker.price, quantity: leaves, leaves: 0, sink: &sink)
            return
        }
        match(&taker, sink: &sink)
        let mayRest = !isMarket && (command.timeInForce == .goodTillCancel || command.timeInForce == .postOnly)
        finish(&taker, slot: -1, mayRest: mayRest, command: command, sink: &sink)
        enterTriggeredStops(sink: &sink)
    }

    /// The first rule a new order breaks, or `.none`.
    @inlinable @inline(__always)
    func validateNew(_ command: OrderCommand) -> ExecutionReason {
        let quantityCheck = check(quantity: command.quantity.lots)
        if quantityCheck != .none { return quantityCheck }
        let mayRest: Bool
        switch command.type {
        case .limit:
            let priceCheck = check(price: command.price.ticks)
            if priceCheck != .none { return priceCheck }
            let collarCheck = checkCollar(price: command.price.ticks)
            if collarCheck != .none { return collarCheck }
            mayRest = command.timeInForce == .goodTillCancel || command.timeInForce == .postOnly
        case .market:
            if command.timeInForce == .postOnly { return .unsupportedOrder }
            mayRest = false
        case .stopMarket, .stopLimit:
            if command.timeInForce == .postOnly { return .unsupportedOrder }
            if command.type == .stopLimit {
                let priceCheck = check(price: command.price.ticks)
                if priceCheck != .none { return priceCheck }
                let collarCheck = checkCollar(price: command.price.ticks)
                if collarCheck != .none { return collarCheck }
            }
            let stopCheck = check(price: command.stopPrice.ticks)
            if stopCheck != .none { return stopCheck }
            if stopReached(command.side, at: command.stopPrice.ticks) {
                if !triggersStopsInMarket { return .stopWouldTriggerImmediately }
            } else if !stops(command.side).pointee.canHold(command.stopPrice.ticks) {
                return .levelCeiling
            }
            mayRest = true
        }
        if ids.find(command.orderID.rawValue) >= 0 { return .duplicateOrderID }
        if mayRest, pool.isFull { return .orderPoolFull }
        if command.type == .limit {
            if command.timeInForce == .postOnly, crosses(command.side, at: command.price.ticks) {
                return .postOnlyWouldTake
            }
            // A resting order that opens a level beyond the ceiling is refused up front; one
            // that trades first and cannot rest its remainder is cancelled (`finish`).
            if mayRest, !resting(command.side).pointee.canHold(command.price.ticks),
                !crosses(command.side, at: command.price.ticks)
            {
                return .levelCeiling
            }
        }
        return .none
    }

    @inlinable
    mutating func acceptStop<Sink: ExecutionReportSink & ~Copyable>(_ command: OrderCommand, sink: inout Sink) {
        let slot = pool.allocate()  // cannot fail: validated `!pool.isFull`
        let order = pool.slots + Int(slot)
        order.pointee.orderID = command.orderID.rawValue
        order.pointee.account = command.account.rawValue
        order.pointee.side = command.side
        order.pointee.type = command.type
        order.pointee.timeInForce = command.timeInForce
        order.pointee.price = command.type == .stopLimit ? command.price.ticks : 0
        order.pointee.stopPrice = command.stopPrice.ticks
        order.pointee.leaves = command.quantity.lots
        order.pointee.filled = 0
        order.pointee.state = .pendingStop
        sequence &+= 1
        order.pointee.sequence = sequence
        ids.insert(command.orderID.rawValue, slot: slot)
        report(
            .accepted, orderID: command.orderID.rawValue, account: command.account.rawValue, side: command.side,
            price: reportedPrice(order), quantity: command.quantity.lots, leaves: command.quantity.lots, sink: &sink)
        if stopReached(command.side, at: command.stopPrice.ticks) {
            // `--stop-in-market trigger`: the last trade already reached it; it triggers now.
            order.pointee.state = .triggered
            order.pointee.next = -1
            order.pointee.previous = triggeredTail
            if triggeredTail >= 0 { pool.slots[Int(triggeredTail)].next = slot } else { triggeredHead = slot }
            triggeredTail = slot
            _counters.triggered &+= 1
            report(
                .triggered, orderID: command.orderID.rawValue, account: command.account.rawValue, side: command.side,
                price: lastTradeTicks, quantity: command.quantity.lots, leaves: command.quantity.lots, sink: &sink)
            enterTriggeredStops(sink: &sink)
            return
        }
        // Cannot fail: validated `canHold`.
        _ = stops(command.side).pointee.append(
            slot, price: command.stopPrice.ticks, quantity: command.quantity.lots, slots: pool.slots)
    }

    /// After a taker has matched: rest its remainder (in `slot`, or a new slot when -1), or
    /// cancel it, or release its slot when nothing is left.
    @inlinable
    mutating func finish<Sink: ExecutionReportSink & ~Copyable>(
        _ taker: inout Taker, slot: Int32, mayRest: Bool, command: OrderCommand, sink: inout Sink
    ) {
        if taker.leaves == 0 {
            if slot >= 0 { release(slot) }
            return
        }
        let beyondCeiling = mayRest && !resting(taker.side).pointee.canHold(taker.price)
        if taker.stoppedBySelfTrade || !mayRest || beyondCeiling {
            _counters.cancelled &+= 1
            if taker.stoppedBySelfTrade { _counters.selfTradePrevented &+= 1 }
            let reason: ExecutionReason =
                taker.stoppedBySelfTrade ? .selfTradePrevention : beyondCeiling ? .levelCeiling : .unfilledRemainder
            report(
                .cancelled, reason: reason,
                orderID: taker.orderID, account: taker.account, side: taker.side, price: taker.price,
                quantity: taker.leaves, leaves: 0, sink: &sink)
            if slot >= 0 { release(slot) }
            return
        }
        var restingSlot = slot
        if restingSlot < 0 {
            restingSlot = pool.allocate()  // cannot fail: validated `!pool.isFull`
            let order = pool.slots + Int(restingSlot)
            order.pointee.orderID = taker.orderID
            order.pointee.account = taker.account
            order.pointee.side = taker.side
            order.pointee.type = command.type
            order.pointee.timeInForce = command.timeInForce
            order.pointee.stopPrice = 0
            ids.insert(taker.orderID, slot: restingSlot)
        }
        let order = pool.slots + Int(restingSlot)
        order.pointee.price = taker.price
        order.pointee.leaves = taker.leaves
        order.pointee.filled = taker.filled
        order.pointee.state = .resting
        sequence &+= 1
        order.pointee.sequence = sequence
        // Cannot fail: `canHold` checked above.
        _ = resting(taker.side).pointee.append(
            restingSlot, price: taker.price, quantity: taker.leaves, slots: pool.slots)
    }

    /// Forgets a live order that is in no queue.
    @inlinable
    mutating func release(_ slot: Int32) {
        ids.remove(pool.slots[Int(slot)].orderID)
        pool.free(slot)
    }

    // MARK: Matching

    /// Takes liquidity for `taker` from the best opposite levels within its limit, in
    /// price-time priority, applying self-trade prevention.
    @inlinable
    mutating func match<Sink: ExecutionReportSink & ~Copyable>(_ taker: inout Taker, sink: inout Sink) {
        let book = resting(taker.side.opposite)
        let slots = pool.slots
        let buying = taker.side == .buy
        while taker.leaves > 0 {
            guard let location = book.pointee.best else { return }
            let tradePrice = book.pointee.store.price(at: location)
            if buying ? tradePrice > taker.limitPrice : tradePrice < taker.limitPrice { return }
            let level = book.pointee.store.value(at: location)
            var makerSlot = level.pointee.head
            while makerSlot >= 0 {
                let maker = slots + Int(makerSlot)
                let next = maker.pointee.next
                // A filled maker leaves the id table: start loading its entry (and the next
                // maker's slot) now, so the misses overlap with the fill and its reports.
                if maker.pointee.leaves <= taker.leaves {
                    pg_prefetch_for_write(ids.homeAddress(maker.pointee.orderID))
                    if next >= 0 { pg_prefetch_for_write(slots + Int(next)) }
                }
                if maker.pointee.account == taker.account {
                    let mode = selfTradePolicy.mode(for: AccountID(taker.account))
                    if mode != .allow {
                        if mode != .cancelNewest {
                            cancelResting(makerSlot, reason: .selfTradePrevention, sink: &sink)
                        }
                        if mode != .cancelOldest {
                            taker.stoppedBySelfTrade = true
                            return
                        }
                        makerSlot = next
                        continue
                    }
                }
                let quantity = Swift.min(maker.pointee.leaves, taker.leaves)
                maker.pointee.leaves &-= quantity
                maker.pointee.filled &+= quantity
                taker.leaves &-= quantity
                taker.filled &+= quantity
                level.pointee.quantity &-= quantity
                tradeCount &+= 1
                _counters.trades &+= 1
                _counters.volume &+= quantity
                sink.accept(
                    ExecutionReport(
                        kind: taker.leaves == 0 ? .filled : .partiallyFilled, instrument: instrument,
                        orderID: OrderID(taker.orderID), account: AccountID(taker.account), side: taker.side,
                        price: Price(ticks: tradePrice), quantity: Quantity(lots: quantity),
                        leavesQuantity: Quantity(lots: taker.leaves), tradeID: tradeCount,
                        contraOrderID: OrderID(maker.pointee.orderID), contraAccount: AccountID(maker.pointee.account),
                        isAggressor: true))
                sink.accept(
                    ExecutionReport(
                        kind: maker.pointee.leaves == 0 ? .filled : .partiallyFilled, instrument: instrument,
                        orderID: OrderID(maker.pointee.orderID), account: AccountID(maker.pointee.account),
                        side: maker.pointee.side, price: Price(ticks: tradePrice), quantity: Quantity(lots: quantity),
                        leavesQuantity: Quantity(lots: maker.pointee.leaves), tradeID: tradeCount,
                        contraOrderID: OrderID(taker.orderID), contraAccount: AccountID(taker.account),
                        isAggressor: false))
                if maker.pointee.leaves == 0 {
                    book.pointee.unlink(makerSlot, at: location, quantity: 0, slots: slots)
                    release(makerSlot)
                }
                lastTradeTicks = tradePrice
                hasTraded = true
                triggerStops(tradePrice: tradePrice, sink: &sink)
                if taker.leaves == 0 { return }
                makerSlot = next
            }
        }
    }

    /// Whether `taker` could fill completely right now, self-trade prevention included,
    /// without changing anything.
    @inlinable @inline(__always)
    func canFill(_ taker: Taker) -> Bool {
        let book = resting(taker.side.opposite)
        let buying = taker.side == .buy
        let mode = selfTradePolicy.mode(for: AccountID(taker.account))
        var needed = taker.leaves
        var cursor = book.pointee.store.levels
        while let location = book.pointee.store.next(&cursor) {
            let levelPrice = book.pointee.store.price(at: location)
            if buying ? levelPrice > taker.limitPrice : levelPrice < taker.limitPrice { return false }
            let level = book.pointee.store.value(at: location).pointee
            if mode == .allow {
                needed &-= level.quantity
                if needed <= 0 { return true }
            } else {
                var slot = level.head
                while slot >= 0 {
                    let maker = pool.slots[Int(slot)]
                    if maker.account == taker.account {
                        if mode != .cancelOldest { return false }
                    } else {
                        needed &-= maker.leaves
                        if needed <= 0 { return true }
                    }
                    slot = maker.next
                }
            }
        }
        return false
    }

    // MARK: Stops

    /// Moves every stop that a trade at `tradePrice` reaches to the triggered queue: buy
    /// stops at or below it (lowest first), then sell stops at or above it (highest first);
    /// first in, first out within a stop price.
    @inlinable
    mutating func triggerStops<Sink: ExecutionReportSink & ~Copyable>(tradePrice: Int64, sink: inout Sink) {
        // No pending stop (the usual case): two loads, no ladder walk.
        if stops(.buy).pointee.orderCount | stops(.sell).pointee.orderCount == 0 { return }
        let buyStops = stops(.buy)
        while let best = buyStops.pointee.best, buyStops.pointee.store.price(at: best) <= tradePrice {
            triggerLevel(buyStops, at: best, tradePrice: tradePrice, sink: &sink)
        }
        let sellStops = stops(.sell)
        while let best = sellStops.pointee.best, sellStops.pointee.store.price(at: best) >= tradePrice {
            triggerLevel(sellStops, at: best, tradePrice: tradePrice, sink: &sink)
        }
    }

    @usableFromInline
    mutating func triggerLevel<Sink: ExecutionReportSink & ~Copyable>(
        _ ladder: UnsafeMutablePointer<PriceLadder>, at location: LevelLocation, tradePrice: Int64, sink: inout Sink
    ) {
        let (head, tail) = ladder.pointee.detachLevel(at: location)
        let slots = pool.slots
        var slot = head
        while slot >= 0 {
            let order = slots + Int(slot)
            order.pointee.state = .triggered
            _counters.triggered &+= 1
            report(
                .triggered, orderID: order.pointee.orderID, account: order.pointee.account, side: order.pointee.side,
                price: tradePrice, quantity: order.pointee.leaves, leaves: order.pointee.leaves,
                sink: &sink)
            slot = order.pointee.next
        }
        if triggeredTail >= 0 {
            slots[Int(triggeredTail)].next = head
            slots[Int(head)].previous = triggeredTail
        } else {
            triggeredHead = head
        }
        triggeredTail = tail
    }

    /// Enters triggered stops into the book one by one, in trigger order; their own trades
    /// may trigger more, which join the back of the queue.
    @inlinable
    mutating func enterTriggeredStops<Sink: ExecutionReportSink & ~Copyable>(sink: inout Sink) {
        while triggeredHead >= 0 {
            let slot = triggeredHead
            let order = pool.slots + Int(slot)
            triggeredHead = order.pointee.next
            if triggeredHead >= 0 { pool.slots[Int(triggeredHead)].previous = -1 } else { triggeredTail = -1 }
            let isLimit = order.pointee.type == .stopLimit
            let side = order.pointee.side
            var taker = Taker(
                orderID: order.pointee.orderID, account: order.pointee.account, side: side,
                limitPrice: isLimit ? order.pointee.price : (side == .buy ? Int64.max : Int64.min),
                price: order.pointee.price, leaves: order.pointee.leaves, filled: order.pointee.filled)
            let timeInForce = order.pointee.timeInForce
            // Fill or kill, a stop-limit or a stop-market: all of it now, or none.
            if timeInForce == .fillOrKill, !canFill(taker) {
                _counters.cancelled &+= 1
                report(
                    .cancelled, reason: .fillOrKill, orderID: taker.orderID, account: taker.account, side: side,
                    price: taker.price, quantity: taker.leaves, leaves: 0, sink: &sink)
                release(slot)
                continue
            }
            match(&taker, sink: &sink)
            let command = OrderCommand.limit(
                OrderID(taker.orderID), account: AccountID(taker.account), side, price: Price(ticks: taker.price),
                quantity: Quantity(lots: taker.leaves), timeInForce: timeInForce)
            finish(
                &taker, slot: slot, mayRest: isLimit && timeInForce == .goodTillCancel, command: command, sink: &sink)
        }
    }

    // MARK: Cancel and replace

    @inlinable
    mutating func cancel<Sink: ExecutionReportSink & ~Copyable>(_ command: OrderCommand, sink: inout Sink) {
        let slot = ids.find(command.orderID.rawValue)
        if slot < 0 {
            reject(command, .unknownOrderID, sink: &sink)
            return
        }
        if pool.slots[Int(slot)].account != command.account.rawValue {
            reject(command, .notOrderOwner, sink: &sink)
            return
        }
        cancelResting(slot, reason: .requested, sink: &sink)
    }

    /// Removes a resting order or pending stop and reports it cancelled for `reason`.
    @inlinable
    mutating func cancelResting<Sink: ExecutionReportSink & ~Copyable>(
        _ slot: Int32, reason: ExecutionReason, sink: inout Sink
    ) {
        let order = pool.slots + Int(slot)
        let leaves = order.pointee.leaves
        if order.pointee.state == .pendingStop {
            stops(order.pointee.side).pointee.unlink(
                slot, price: order.pointee.stopPrice, quantity: leaves, slots: pool.slots)
        } else {
            resting(order.pointee.side).pointee.unlink(
                slot, price: order.pointee.price, quantity: leaves, slots: pool.slots)
        }
        _counters.cancelled &+= 1
        if reason == .selfTradePrevention { _counters.selfTradePrevented &+= 1 }
        report(
            .cancelled, reason: reason, orderID: order.pointee.orderID, account: order.pointee.account,
            side: order.pointee.side, price: reportedPrice(order), quantity: leaves, leaves: 0, sink: &sink)
        release(slot)
    }

    @inlinable
    mutating func replace<Sink: ExecutionReportSink & ~Copyable>(_ command: OrderCommand, sink: inout Sink) {
        let slot = ids.find(command.orderID.rawValue)
        if slot < 0 {
            reject(command, .unknownOrderID, sink: &sink)
            return
        }
        let order = pool.slots + Int(slot)
        if order.pointee.account != command.account.rawValue {
            reject(command, .notOrderOwner, sink: &sink)
            return
        }
        if order.pointee.state != .resting {
            reject(command, .notReplaceable, sink: &sink)
            return
        }
        let newTotal = command.quantity.lots
        if newTotal < 0 || newTotal > maxQuantity || (lotSize != 1 && newTotal % lotSize != 0) {
            reject(command, .invalidQuantity, sink: &sink)
            return
        }
        if newTotal <= order.pointee.filled {
            cancelResting(slot, reason: .replacedBelowFilled, sink: &sink)
            return
        }
        var priceCheck = check(price: command.price.ticks)
        if priceCheck == .none, command.price.ticks != order.pointee.price {
            priceCheck = checkCollar(price: command.price.ticks)
        }
        if priceCheck != .none {
            reject(command, priceCheck, sink: &sink)
            return
        }
        let side = order.pointee.side
        let oldPrice = order.pointee.price
        let newPrice = command.price.ticks
        let oldLeaves = order.pointee.leaves
        let newLeaves = newTotal &- order.pointee.filled
        let oldLevel = resting(side).pointee.store.find(oldPrice)
        if newPrice != oldPrice, !crosses(side, at: newPrice), !resting(side).pointee.canHold(newPrice),
            oldLevel?.pointee.count != 1
        {
            // A new level beyond the ceiling (leaving its old level frees none).
            reject(command, .levelCeiling, sink: &sink)
            return
        }
        _counters.replaced &+= 1
        if newPrice == oldPrice, newLeaves <= oldLeaves {
            // Same price, same or smaller size: keeps its place in the queue.
            order.pointee.leaves = newLeaves
            oldLevel?.pointee.quantity &-= oldLeaves &- newLeaves
            report(
                .replaced, orderID: order.pointee.orderID, account: order.pointee.account, side: side,
                price: command.price.ticks, quantity: newTotal, leaves: newLeaves, sink: &sink)
            return
        }
        if order.pointee.timeInForce == .postOnly, crosses(side, at: newPrice) {
            _counters.replaced &-= 1
            reject(command, .postOnlyWouldTake, sink: &sink)
            return
        }
        // A new price or a larger size loses priority: leave the queue, take what crosses,
        // rest the remainder at the back of its new level.
        resting(side).pointee.unlink(slot, price: oldPrice, quantity: oldLeaves, slots: pool.slots)
        order.pointee.price = command.price.ticks
        order.pointee.leaves = newLeaves
        report(
            .replaced, orderID: order.pointee.orderID, account: order.pointee.account, side: side,
            price: command.price.ticks, quantity: newTotal, leaves: newLeaves, sink: &sink)
        var taker = Taker(
            orderID: order.pointee.orderID, account: order.pointee.account, side: side, limitPrice: newPrice,
            price: command.price.ticks, leaves: newLeaves, filled: order.pointee.filled)
        match(&taker, sink: &sink)
        let restCommand = OrderCommand.limit(
            OrderID(taker.orderID), account: AccountID(taker.account), side, price: command.price,
            quantity: Quantity(lots: taker.leaves), timeInForce: order.pointee.timeInForce)
        finish(&taker, slot: slot, mayRest: true, command: restCommand, sink: &sink)
        enterTriggeredStops(sink: &sink)
    }

    // MARK: Reports

    /// The price a non-fill report shows for a pooled order: its limit price, or its stop
    /// price for a stop-market order.
    @inlinable @inline(__always)
    func reportedPrice(_ order: UnsafeMutablePointer<OrderSlot>) -> Int64 {
        order.pointee.type == .stopMarket ? order.pointee.stopPrice : order.pointee.price
    }

    @inlinable
    mutating func reject<Sink: ExecutionReportSink & ~Copyable>(
        _ command: OrderCommand, _ reason: ExecutionReason, sink: inout Sink
    ) {
        _counters.rejected &+= 1
        sink.accept(.rejection(of: command, instrument: instrument, reason: reason))
    }

    @inlinable
    func report<Sink: ExecutionReportSink & ~Copyable>(
        _ kind: ExecutionKind, reason: ExecutionReason = .none, orderID: UInt64, account: UInt32, side: Side,
        price: Int64, quantity: Int64, leaves: Int64, sink: inout Sink
    ) {
        sink.accept(
            ExecutionReport(
                kind: kind, reason: reason, instrument: instrument, orderID: OrderID(orderID),
                account: AccountID(account), side: side, price: Price(ticks: price), quantity: Quantity(lots: quantity),
                leavesQuantity: Quantity(lots: leaves)))
    }
}
