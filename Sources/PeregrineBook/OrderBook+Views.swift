import PeregrineCore
import PeregrineModel

/// One price level of a market-by-price view.
@frozen
public struct DepthLevel: Hashable, Sendable, BitwiseCopyable, CustomStringConvertible {
    public var price: Price
    /// Open quantity at this price.
    public var quantity: Quantity
    public var orderCount: Int

    @inlinable
    public init(price: Price, quantity: Quantity, orderCount: Int) {
        self.price = price
        self.quantity = quantity
        self.orderCount = orderCount
    }

    public var description: String { "\(price.ticks)x\(quantity.lots)(\(orderCount))" }
}

/// One live order as the market-by-order view shows it.
@frozen
public struct RestingOrder: Hashable, Sendable, BitwiseCopyable, CustomStringConvertible {
    public var orderID: OrderID
    public var account: AccountID
    public var side: Side
    public var type: OrderType
    public var timeInForce: TimeInForce
    /// Limit price (zero for stop-market orders).
    public var price: Price
    /// Trigger price of a pending stop (zero otherwise).
    public var stopPrice: Price
    public var leavesQuantity: Quantity
    public var filledQuantity: Quantity
    /// Queue priority: lower joined earlier.
    public var priority: UInt64
    /// Whether it is a stop still waiting for its trigger.
    public var isPendingStop: Bool

    public var description: String {
        "\(orderID) \(account) \(side) \(leavesQuantity)@\(price)\(isPendingStop ? " stop \(stopPrice)" : "")"
    }
}

extension OrderBook {
    /// Best bid and offer with their open quantities. O(1), allocation-free.
    @inlinable @inline(__always)
    public var bestBidOffer: BestBidOffer {
        BestBidOffer(bid: topLevel(.buy), ask: topLevel(.sell))
    }

    @inlinable @inline(__always)
    func topLevel(_ side: Side) -> BookLevel? {
        let ladder = resting(side)
        guard let best = ladder.pointee.best else { return nil }
        return BookLevel(
            price: Price(ticks: ladder.pointee.store.price(at: best)),
            quantity: Quantity(lots: ladder.pointee.store.value(at: best).pointee.quantity))
    }

    /// The last trade's price, if anything has traded.
    public var lastTradePrice: Price? { hasTraded ? Price(ticks: lastTradeTicks) : nil }

    /// Orders resting in the book (pending stops excluded).
    public var restingOrderCount: Int { resting(.buy).pointee.orderCount + resting(.sell).pointee.orderCount }

    /// Stop orders waiting for their trigger.
    public var pendingStopCount: Int { stops(.buy).pointee.orderCount + stops(.sell).pointee.orderCount }

    /// Occupied price levels on `side`.
    public func levelCount(_ side: Side) -> Int { resting(side).pointee.levelCount }

    /// Calls `body` with up to `limit` levels of `side`, best first (market by price).
    /// Allocation-free; O(levels visited).
    public func forEachLevel(_ side: Side, limit: Int = .max, _ body: (DepthLevel) -> Void) {
        let ladder = resting(side)
        var cursor = ladder.pointee.store.levels
        var visited = 0
        while visited < limit, let location = ladder.pointee.store.next(&cursor) {
            let level = ladder.pointee.store.value(at: location).pointee
            body(
                DepthLevel(
                    price: Price(ticks: ladder.pointee.store.price(at: location)),
                    quantity: Quantity(lots: level.quantity),
                    orderCount: Int(level.count)))
            visited += 1
        }
    }

    /// Up to `levels` levels of `side`, best first. Allocates the array.
    /// Calls `body` with each level of `side`, best first, until it returns false.
    /// Allocation-free.
    public func forEachLevelWhile(_ side: Side, _ body: (DepthLevel) -> Bool) {
        let ladder = resting(side)
        var cursor = ladder.pointee.store.levels
        while let location = ladder.pointee.store.next(&cursor) {
            let level = ladder.pointee.store.value(at: location).pointee
            let more = body(
                DepthLevel(
                    price: Price(ticks: ladder.pointee.store.price(at: location)),
                    quantity: Quantity(lots: level.quantity), orderCount: Int(level.count)))
            if !more { return }
        }
    }

    public func depth(_ side: Side, levels: Int = .max) -> [DepthLevel] {
        var result: [DepthLevel] = []
        forEachLevel(side, limit: levels) { result.append($0) }
        return result
    }

    /// Calls `body` with every resting order of `side` in priority order: best price first,
    /// oldest first within a price (market by order). Allocation-free.
    public func forEachOrder(_ side: Side, _ body: (RestingOrder) -> Void) {
        forEachQueued(resting(side), body)
    }

    /// Every resting order of `side` in priority order. Allocates the array.
    public func orders(_ side: Side) -> [RestingOrder] {
        var result: [RestingOrder] = []
        forEachOrder(side) { result.append($0) }
        return result
    }

    /// Pending stops of `side` in the order a moving price would trigger them.
    public func pendingStops(_ side: Side) -> [RestingOrder] {
        var result: [RestingOrder] = []
        forEachQueued(stops(side)) { result.append($0) }
        return result
    }

    /// The account that owns the live order with this id, if any. O(1), allocation-free.
    @inlinable @inline(__always)
    public func account(ofOrder id: OrderID) -> AccountID? {
        let slot = ids.find(id.rawValue)
        return slot < 0 ? nil : AccountID(pool.slots[Int(slot)].account)
    }

    /// The live order (resting or pending stop) with this id, if any. O(1).
    public func order(_ id: OrderID) -> RestingOrder? {
        let slot = ids.find(id.rawValue)
        return slot < 0 ? nil : restingOrder(pool.slots[Int(slot)])
    }

    func forEachQueued(_ ladder: UnsafeMutablePointer<PriceLadder>, _ body: (RestingOrder) -> Void) {
        var cursor = ladder.pointee.store.levels
        while let location = ladder.pointee.store.next(&cursor) {
            var slot = ladder.pointee.store.value(at: location).pointee.head
            while slot >= 0 {
                let order = pool.slots[Int(slot)]
                body(restingOrder(order))
                slot = order.next
            }
        }
    }

    func restingOrder(_ slot: OrderSlot) -> RestingOrder {
        RestingOrder(
            orderID: OrderID(slot.orderID), account: AccountID(slot.account), side: slot.side, type: slot.type,
            timeInForce: slot.timeInForce, price: Price(ticks: slot.price), stopPrice: Price(ticks: slot.stopPrice),
            leavesQuantity: Quantity(lots: slot.leaves), filledQuantity: Quantity(lots: slot.filled),
            priority: slot.sequence, isPendingStop: slot.state == .pendingStop)
    }

    /// CRC-32 over the top `depth` levels of each side, as venues publish for clients to
    /// check their copy of the book: for i in 0..<depth, bid i then ask i, each as price
    /// ticks and quantity lots (little-endian i64); a missing level contributes nothing.
    public func checksum(depth: Int = 10) -> UInt32 {
        var bids: [DepthLevel] = []
        var asks: [DepthLevel] = []
        forEachLevel(.buy, limit: depth) { bids.append($0) }
        forEachLevel(.sell, limit: depth) { asks.append($0) }
        var crc = CRC32()
        for level in 0..<depth {
            if level < bids.count {
                crc.update(bids[level].price.ticks)
                crc.update(bids[level].quantity.lots)
            }
            if level < asks.count {
                crc.update(asks[level].price.ticks)
                crc.update(asks[level].quantity.lots)
            }
        }
        return crc.value
    }

    /// A fingerprint of the book's whole state: every resting order and pending stop in
    /// priority order with its id, account, prices, open and filled quantity and priority
    /// stamp, plus the last trade price and the trade and priority counters. Equal states
    /// give equal hashes on any machine; used by tests and to verify replays. O(orders).
    public func stateHash() -> UInt64 {
        var hasher = StateHasher()
        hasher.combine(instrument.rawValue)
        for ladder in [resting(.buy), resting(.sell), stops(.buy), stops(.sell)] {
            hasher.combine(ladder.pointee.orderCount)
            forEachQueued(ladder) { order in
                hasher.combine(order.orderID.rawValue)
                hasher.combine(order.account.rawValue)
                hasher.combine(order.side.rawValue)
                hasher.combine(order.type.rawValue)
                hasher.combine(order.timeInForce.rawValue)
                hasher.combine(order.price.ticks)
                hasher.combine(order.stopPrice.ticks)
                hasher.combine(order.leavesQuantity.lots)
                hasher.combine(order.filledQuantity.lots)
                hasher.combine(order.priority)
            }
        }
        hasher.combine(hasTraded ? lastTradeTicks : Int64.min)
        hasher.combine(tradeCount)
        hasher.combine(sequence)
        return hasher.value
    }
}
