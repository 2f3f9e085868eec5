import PeregrineBook
import PeregrineModel

/// A slow, obviously-correct order book for checking `OrderBook`: sorted arrays, linear
/// scans, no pools and no bitmaps. It follows the rules written in docs/matching.md, step by
/// step, and shares no code with the real book.
struct ReferenceOrderBook {
    struct Order: Equatable {
        var id: UInt64
        var account: UInt32
        var side: Side
        var type: OrderType
        var timeInForce: TimeInForce
        var price: Int64
        var stopPrice: Int64
        var leaves: Int64
        var filled: Int64
    }

    struct Taker {
        var order: Order
        /// nil for market orders.
        var limit: Int64?
        var stopped = false
    }

    let instrument: InstrumentID
    let tickSize: Int64
    let lotSize: Int64
    let capacity: Int
    let collar: Int64?
    let triggersInMarket: Bool
    let maxLevels: Int
    let maxQuantity: Int64
    let policy: SelfTradePolicy

    /// Each kept in priority order: bids highest price first, asks lowest first, buy stops
    /// lowest stop first, sell stops highest first; arrival order within a price.
    var bids: [Order] = []
    var asks: [Order] = []
    var buyStops: [Order] = []
    var sellStops: [Order] = []
    var triggered: [Order] = []
    var lastTrade: Int64?
    var tradeCount: UInt64 = 0
    var reports: [ExecutionReport] = []

    init(spec: InstrumentSpec) {
        instrument = spec.instrument
        tickSize = spec.tickSize
        lotSize = spec.lotSize
        capacity = spec.orderCapacity
        collar = spec.priceCollarBasisPoints
        triggersInMarket = spec.stopInMarket == .trigger
        maxLevels = spec.maxLevelsPerSide
        maxQuantity = spec.maxOrderQuantity.lots
        policy = spec.selfTradePolicy
    }

    var liveCount: Int { bids.count + asks.count + buyStops.count + sellStops.count }

    func isLive(_ id: UInt64) -> Bool {
        (bids + asks + buyStops + sellStops).contains { $0.id == id }
    }

    mutating func process(_ command: OrderCommand) -> [ExecutionReport] {
        reports = []
        switch command.action {
        case .new: submit(command)
        case .cancel: cancel(command)
        case .replace: replace(command)
        case .status:
            if let order = (bids + asks + buyStops + sellStops).first(where: {
                $0.id == command.orderID.rawValue && $0.account == command.account.rawValue
            }) {
                emit(.status, order, price: shownPrice(order), quantity: order.leaves + order.filled)
            } else {
                reports.append(
                    ExecutionReport(
                        kind: .status, reason: .unknownOrderID, instrument: instrument, orderID: command.orderID,
                        account: command.account, side: command.side, price: Price(ticks: 0), quantity: .zero,
                        leavesQuantity: .zero))
            }
        }
        return reports
    }

    // MARK: Rules

    func priceProblem(_ price: Int64) -> ExecutionReason? {
        if price < 1 || price > 1 << 62 { return .priceOutOfRange }
        if price % tickSize != 0 { return .priceOffTickGrid }
        return nil
    }

    /// Outside [last − last × bps / 10,000, last + last × bps / 10,000], exactly.
    func collarProblem(_ price: Int64) -> ExecutionReason? {
        guard let collar, let last = lastTrade else { return nil }
        let allowed = Int128(last) * Int128(collar)
        let distance = Int128(price - last).magnitude * 10_000
        return Int128(distance) > allowed ? .outsidePriceCollar : nil
    }

    /// Whether `list` has no room for a new level at `price` (levels are distinct prices).
    func levelsFull(_ list: [Order], at price: Int64, stop: Bool = false) -> Bool {
        let prices = Set(list.map { stop ? $0.stopPrice : $0.price })
        return prices.count >= maxLevels && !prices.contains(price)
    }

    func quantityProblem(_ quantity: Int64) -> ExecutionReason? {
        quantity <= 0 || quantity > maxQuantity || quantity % lotSize != 0 ? .invalidQuantity : nil
    }

    func wouldCross(_ side: Side, _ price: Int64) -> Bool {
        if side == .buy { return asks.first.map { $0.price <= price } ?? false }
        return bids.first.map { $0.price >= price } ?? false
    }

    func newOrderProblem(_ command: OrderCommand) -> ExecutionReason? {
        if let problem = quantityProblem(command.quantity.lots) { return problem }
        var mayRest = false
        switch command.type {
        case .limit:
            if let problem = priceProblem(command.price.ticks) { return problem }
            if let problem = collarProblem(command.price.ticks) { return problem }
            mayRest = command.timeInForce == .goodTillCancel || command.timeInForce == .postOnly
        case .market:
            if command.timeInForce == .postOnly { return .unsupportedOrder }
        case .stopMarket, .stopLimit:
            if command.timeInForce == .postOnly { return .unsupportedOrder }
            if command.type == .stopLimit, let problem = priceProblem(command.price.ticks) { return problem }
            if command.type == .stopLimit, let problem = collarProblem(command.price.ticks) { return problem }
            if let problem = priceProblem(command.stopPrice.ticks) { return problem }
            if stopReached(command) {
                if !triggersInMarket { return .stopWouldTriggerImmediately }
            } else if levelsFull(command.side == .buy ? buyStops : sellStops, at: command.stopPrice.ticks, stop: true) {
                return .levelCeiling
            }
            mayRest = true
        }
        if isLive(command.orderID.rawValue) { return .duplicateOrderID }
        if mayRest, liveCount >= capacity { return .orderPoolFull }
        if command.type == .limit {
            let crossing = wouldCross(command.side, command.price.ticks)
            if command.timeInForce == .postOnly, crossing { return .postOnlyWouldTake }
            if mayRest, !crossing, levelsFull(command.side == .buy ? bids : asks, at: command.price.ticks) {
                return .levelCeiling
            }
        }
        return nil
    }

    func stopReached(_ command: OrderCommand) -> Bool {
        guard let last = lastTrade else { return false }
        return command.side == .buy ? command.stopPrice.ticks <= last : command.stopPrice.ticks >= last
    }

    // MARK: Commands

    mutating func submit(_ command: OrderCommand) {
        if let problem = newOrderProblem(command) {
            reject(command, problem)
            return
        }
        let quantity = command.quantity.lots
        var order = Order(
            id: command.orderID.rawValue, account: command.account.rawValue, side: command.side, type: command.type,
            timeInForce: command.timeInForce,
            price: command.type == .limit || command.type == .stopLimit ? command.price.ticks : 0,
            stopPrice: command.type.isStop ? command.stopPrice.ticks : 0, leaves: quantity, filled: 0)
        if command.type.isStop {
            emit(
                .accepted, order, price: command.type == .stopMarket ? order.stopPrice : order.price, quantity: quantity
            )
            if stopReached(command), let last = lastTrade {
                emit(.triggered, order, price: last, quantity: quantity)
                triggered.append(order)
                enterTriggered()
            } else {
                insertStop(order)
            }
            return
        }
        if command.type == .market { order.price = 0 }
        emit(.accepted, order, price: order.price, quantity: quantity)
        var taker = Taker(order: order, limit: command.type == .market ? nil : order.price)
        if command.timeInForce == .fillOrKill, !canFill(taker) {
            emit(.cancelled, order, reason: .fillOrKill, price: order.price, quantity: quantity, leaves: 0)
            return
        }
        match(&taker)
        let mayRest =
            command.type == .limit && (command.timeInForce == .goodTillCancel || command.timeInForce == .postOnly)
        finish(taker, mayRest: mayRest)
        enterTriggered()
    }

    mutating func cancel(_ command: OrderCommand) {
        guard let (list, position) = locate(command.orderID.rawValue) else {
            reject(command, .unknownOrderID)
            return
        }
        let order = self[list][position]
        guard order.account == command.account.rawValue else {
            reject(command, .notOrderOwner)
            return
        }
        self[list].remove(at: position)
        emit(.cancelled, order, reason: .requested, price: shownPrice(order), quantity: order.leaves, leaves: 0)
    }

    mutating func replace(_ command: OrderCommand) {
        guard let (list, position) = locate(command.orderID.rawValue) else {
            reject(command, .unknownOrderID)
            return
        }
        var order = self[list][position]
        guard order.account == command.account.rawValue else { return reject(command, .notOrderOwner) }
        guard list == .bids || list == .asks else { return reject(command, .notReplaceable) }
        let total = command.quantity.lots
        if total < 0 || total > maxQuantity || total % lotSize != 0 { return reject(command, .invalidQuantity) }
        if total <= order.filled {
            self[list].remove(at: position)
            emit(.cancelled, order, reason: .replacedBelowFilled, price: order.price, quantity: order.leaves, leaves: 0)
            return
        }
        if let problem = priceProblem(command.price.ticks) { return reject(command, problem) }
        if command.price.ticks != order.price, let problem = collarProblem(command.price.ticks) {
            return reject(command, problem)
        }
        let sameSide = self[list]
        let alone = sameSide.filter { $0.price == order.price }.count == 1
        if command.price.ticks != order.price, !wouldCross(order.side, command.price.ticks),
            levelsFull(sameSide, at: command.price.ticks), !alone
        {
            return reject(command, .levelCeiling)
        }
        let newLeaves = total - order.filled
        if command.price.ticks == order.price, newLeaves <= order.leaves {
            self[list][position].leaves = newLeaves
            emit(.replaced, self[list][position], price: order.price, quantity: total)
            return
        }
        if order.timeInForce == .postOnly, wouldCross(order.side, command.price.ticks) {
            return reject(command, .postOnlyWouldTake)
        }
        self[list].remove(at: position)
        order.price = command.price.ticks
        order.leaves = newLeaves
        emit(.replaced, order, price: order.price, quantity: total)
        var taker = Taker(order: order, limit: order.price)
        match(&taker)
        finish(taker, mayRest: true)
        enterTriggered()
    }

    // MARK: Matching

    mutating func match(_ taker: inout Taker) {
        let side = taker.order.side
        while taker.order.leaves > 0 {
            let book: List = side == .buy ? .asks : .bids
            guard var maker = self[book].first else { return }
            if let limit = taker.limit, side == .buy ? maker.price > limit : maker.price < limit { return }
            if maker.account == taker.order.account {
                let mode = policy.mode(for: AccountID(taker.order.account))
                if mode != .allow {
                    if mode == .cancelOldest || mode == .cancelBoth {
                        self[book].removeFirst()
                        emit(
                            .cancelled, maker, reason: .selfTradePrevention, price: maker.price, quantity: maker.leaves,
                            leaves: 0)
                    }
                    if mode == .cancelNewest || mode == .cancelBoth {
                        taker.stopped = true
                        return
                    }
                    continue
                }
            }
            let quantity = min(maker.leaves, taker.order.leaves)
            maker.leaves -= quantity
            maker.filled += quantity
            taker.order.leaves -= quantity
            taker.order.filled += quantity
            tradeCount += 1
            fillReport(taker.order, against: maker, price: maker.price, quantity: quantity, aggressor: true)
            fillReport(maker, against: taker.order, price: maker.price, quantity: quantity, aggressor: false)
            if maker.leaves == 0 { self[book].removeFirst() } else { self[book][0] = maker }
            lastTrade = maker.price
            trigger(at: maker.price)
        }
    }

    func canFill(_ taker: Taker) -> Bool {
        let side = taker.order.side
        let mode = policy.mode(for: AccountID(taker.order.account))
        var needed = taker.order.leaves
        for maker in side == .buy ? asks : bids {
            if let limit = taker.limit, side == .buy ? maker.price > limit : maker.price < limit { break }
            if maker.account == taker.order.account, mode != .allow {
                if mode == .cancelOldest { continue }
                return false
            }
            needed -= maker.leaves
            if needed <= 0 { return true }
        }
        return false
    }

    mutating func finish(_ taker: Taker, mayRest: Bool) {
        let order = taker.order
        if order.leaves == 0 { return }
        let full = mayRest && levelsFull(order.side == .buy ? bids : asks, at: order.price)
        if taker.stopped || !mayRest || full {
            emit(
                .cancelled, order,
                reason: taker.stopped ? .selfTradePrevention : full ? .levelCeiling : .unfilledRemainder,
                price: order.price,
                quantity: order.leaves, leaves: 0)
            return
        }
        if order.side == .buy {
            let position = bids.firstIndex { $0.price < order.price } ?? bids.count
            bids.insert(order, at: position)
        } else {
            let position = asks.firstIndex { $0.price > order.price } ?? asks.count
            asks.insert(order, at: position)
        }
    }

    mutating func insertStop(_ order: Order) {
        if order.side == .buy {
            let position = buyStops.firstIndex { $0.stopPrice > order.stopPrice } ?? buyStops.count
            buyStops.insert(order, at: position)
        } else {
            let position = sellStops.firstIndex { $0.stopPrice < order.stopPrice } ?? sellStops.count
            sellStops.insert(order, at: position)
        }
    }

    mutating func trigger(at price: Int64) {
        while let stop = buyStops.first, stop.stopPrice <= price {
            buyStops.removeFirst()
            emit(.triggered, stop, price: price, quantity: stop.leaves)
            triggered.append(stop)
        }
        while let stop = sellStops.first, stop.stopPrice >= price {
            sellStops.removeFirst()
            emit(.triggered, stop, price: price, quantity: stop.leaves)
            triggered.append(stop)
        }
    }

    mutating func enterTriggered() {
        while !triggered.isEmpty {
            let order = triggered.removeFirst()
            let isLimit = order.type == .stopLimit
            var taker = Taker(order: order, limit: isLimit ? order.price : nil)
            if order.timeInForce == .fillOrKill, !canFill(taker) {
                emit(.cancelled, order, reason: .fillOrKill, price: order.price, quantity: order.leaves, leaves: 0)
                continue
            }
            match(&taker)
            finish(taker, mayRest: isLimit && order.timeInForce == .goodTillCancel)
        }
    }

    // MARK: Lists and reports

    enum List { case bids, asks, buyStops, sellStops }

    subscript(list: List) -> [Order] {
        get {
            switch list {
            case .bids: return bids
            case .asks: return asks
            case .buyStops: return buyStops
            case .sellStops: return sellStops
            }
        }
        set {
            switch list {
            case .bids: bids = newValue
            case .asks: asks = newValue
            case .buyStops: buyStops = newValue
            case .sellStops: sellStops = newValue
            }
        }
    }

    func locate(_ id: UInt64) -> (List, Int)? {
        for list in [List.bids, .asks, .buyStops, .sellStops] {
            if let position = self[list].firstIndex(where: { $0.id == id }) { return (list, position) }
        }
        return nil
    }

    func shownPrice(_ order: Order) -> Int64 { order.type == .stopMarket ? order.stopPrice : order.price }

    mutating func reject(_ command: OrderCommand, _ reason: ExecutionReason) {
        reports.append(
            ExecutionReport(
                kind: .rejected, reason: reason, instrument: instrument, orderID: command.orderID,
                account: command.account, side: command.side, price: command.price, quantity: command.quantity,
                leavesQuantity: .zero))
    }

    mutating func emit(
        _ kind: ExecutionKind, _ order: Order, reason: ExecutionReason = .none, price: Int64, quantity: Int64,
        leaves: Int64? = nil
    ) {
        reports.append(
            ExecutionReport(
                kind: kind, reason: reason, instrument: instrument, orderID: OrderID(order.id),
                account: AccountID(order.account), side: order.side, price: Price(ticks: price),
                quantity: Quantity(lots: quantity), leavesQuantity: Quantity(lots: leaves ?? order.leaves)))
    }

    mutating func fillReport(_ order: Order, against other: Order, price: Int64, quantity: Int64, aggressor: Bool) {
        reports.append(
            ExecutionReport(
                kind: order.leaves == 0 ? .filled : .partiallyFilled, instrument: instrument,
                orderID: OrderID(order.id),
                account: AccountID(order.account), side: order.side, price: Price(ticks: price),
                quantity: Quantity(lots: quantity), leavesQuantity: Quantity(lots: order.leaves), tradeID: tradeCount,
                contraOrderID: OrderID(other.id), contraAccount: AccountID(other.account), isAggressor: aggressor))
    }
}
