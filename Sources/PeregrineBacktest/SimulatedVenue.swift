import PeregrineBook
import PeregrineModel

/// One of the strategies' orders resting at the simulated venue, with its estimated place in
/// the queue at its price.
struct RestingOrder: Sendable {
    var orderID: OrderID
    var account: AccountID
    var instrument: InstrumentID
    var side: Side
    var timeInForce: TimeInForce
    /// It crossed when it came (or was replaced) and rests over what it took: the recorded
    /// levels at its price are ones it emptied, so the other side's best reaching its price is
    /// not a fill for it; only moving through it is (`SimulatedVenue.fillThrough`).
    var restsOverTaken: Bool
    var price: Int64
    var quantity: Int64
    var leaves: Int64
    /// Lots displayed ahead of it (a fraction under the probability models).
    var ahead: Double
    /// Lots traded at its price since the displayed size last changed (the probability models
    /// take them off the next decrease: they are already counted).
    var traded: Double
    /// When it joined the queue, venue ns.
    var joinedAt: UInt64
    /// When a decrease of its level last moved it up the queue, venue ns (`UInt64.max`: never).
    /// A trade at its price at that same time, after the decrease, is likely the decrease's own
    /// (`TradesAfterDecrease`). (An order that joins after the decrease, at its time, is not
    /// marked: it joined behind what the decrease left.)
    var movedUpAt: UInt64 = .max
}

/// A strategy's stop order at the simulated venue, waiting for the recorded market to reach its
/// stop price (then triggered, waiting to enter: at the end of the book message that triggered
/// it, or of the next after a recorded trade that did; right after the entering order whose
/// trade did).
struct PendingStop: Sendable {
    /// The order as sent: stop-market or stop-limit, its stop price, limit price and quantity.
    var command: OrderCommand
    var instrument: InstrumentID
    /// Triggered by the trade of an order entering at the venue (a strategy's command, or a
    /// stop entering): it enters right after that order, as on the hosted matching engine.
    var triggeredByEntering = false

    /// The price its reports show (`reportedPrice(of:)`).
    var reportedPrice: Price { Self.reportedPrice(of: command) }

    /// The order it enters as once triggered: a market (stop-market) or limit (stop-limit)
    /// order with its id, quantity and time in force.
    var entering: OrderCommand {
        command.type == .stopLimit
            ? .limit(
                command.orderID, account: command.account, command.side, price: command.price,
                quantity: command.quantity, timeInForce: command.timeInForce)
            : .market(
                command.orderID, account: command.account, command.side, quantity: command.quantity,
                timeInForce: command.timeInForce)
    }

    /// The price a new order's reports show: the stop price of a stop-market order, the limit
    /// price of any other (as the hosted matching engine's).
    static func reportedPrice(of command: OrderCommand) -> Price {
        command.type == .stopMarket ? command.stopPrice : command.price
    }
}

/// The size a resting order's level displayed before its book was cleared (a snapshot
/// follows), until the snapshot shows the level again or ends.
struct SizeBeforeClear: Sendable {
    var orderID: OrderID
    var instrument: InstrumentID
    var size: Double
}

/// Where one instrument's resting orders are: how many, and the lowest and highest price of
/// each side (empty sides hold `Int64.max` … `Int64.min`). A level update outside these prices
/// concerns none of them, which `SimulatedVenue.affected` sees without reading the orders.
struct RestingBounds: Sendable {
    var count = 0
    var lowestBuy = Int64.max
    var highestBuy = Int64.min
    var lowestSell = Int64.max
    var highestSell = Int64.min

    /// Widens the bounds for one more order at `price` on `side`.
    @inline(__always)
    mutating func add(_ side: Side, _ price: Int64) {
        count &+= 1
        if side == .buy {
            lowestBuy = Swift.min(lowestBuy, price)
            highestBuy = Swift.max(highestBuy, price)
        } else {
            lowestSell = Swift.min(lowestSell, price)
            highestSell = Swift.max(highestSell, price)
        }
    }
}

/// Liquidity the strategies took at a level, not available again until the feed changes it.
struct ConsumedLevel: Sendable {
    var instrument: InstrumentID
    var side: Side
    var price: Int64
    var lots: Int64
    /// Taken by a recorded trade: forgotten at the instrument's next book change, which shows
    /// what the trade took (not only at a change of this level).
    var byTrade = false
}

/// The best bid and offer of a quotes-only instrument: its one-level book.
struct QuoteLevels: Sendable {
    var bid: BookLevel?
    var ask: BookLevel?
    /// Whether quotes drive this instrument's book (quotes-only data).
    var active = false
}

/// Per instrument, the trades at a resting order's price at the same time as, and after, a
/// decrease of its level that moved the order up its queue: with book data given before trades
/// (ties go to the file given first), the decrease is likely the trade's own, counted twice.
public struct TradesAfterDecrease: Equatable, Sendable {
    /// How many such trades, and the time of the first.
    public var trades = 0
    public var first: UInt64 = 0
}

/// What the simulated venue did.
public struct SimulatedVenueCounters: Equatable, Sendable {
    /// Commands that reached it, new orders among them.
    public var commands = 0
    public var newOrders = 0
    public var rejected = 0
    /// The rejections by reason (`ExecutionReason.rawValue`; counted once allocated, no
    /// allocation per rejection).
    public var rejectedByReason = [Int](repeating: 0, count: 64)
    public var fills = 0
    public var aggressiveFills = 0
    public var passiveFills = 0
    /// Σ (fill time − time the order joined its queue) over passive fills, ns, and their count.
    public var queueTimeTotal: UInt64 = 0
    public var cancelled = 0
    /// By instrument (`TradesAfterDecrease`).
    public var tradesAfterDecrease: [TradesAfterDecrease] = []

    /// The reasons rejections were for, each with its count, in the reasons' order.
    public var rejections: [(reason: ExecutionReason, count: Int)] {
        rejectedByReason.indices.compactMap { raw in
            guard rejectedByReason[raw] > 0, let reason = ExecutionReason(rawValue: UInt8(raw)) else { return nil }
            return (reason, rejectedByReason[raw])
        }
    }
}

/// The backtest's exchange: a venue per instrument driven by the recorded market data, where
/// the strategies' orders meet the book as the data shows it when they arrive.
///
/// - **Aggressive orders** (market orders, limits that cross) fill against the recorded depth,
///   walking the levels best first (at most `maxWalkLevels`); what they take is remembered as
///   consumed at that level until the feed next changes it (a level update at that price, a
///   cleared book, a new quote), so recorded liquidity is never filled twice; what a recorded
///   trade took (`takeByTrade`) is consumed until the instrument's next book change.
/// - **Passive orders** join the queue behind the displayed quantity at their price. A trade at
///   that price (by the other side) takes off the queue ahead first; what trades beyond it fills
///   the order. A trade through the price (a sell below a resting buy, a buy above a resting
///   sell), or the other side's best reaching it (an ask at or below a resting buy, a bid at or
///   above a resting sell: the level in between was taken, the order with it), fills the order
///   entirely, as hftbacktest's exchanges do. Size decreases move it per the `QueueModel`.
/// - **Quotes-only data** is a one-level book: each quote replaces the best bid and offer.
/// - Reports are those of the hosted matching engine (accepted, fills, cancels with reasons);
///   validation refuses a zero or negative quantity, a price outside 1…2^62 ticks, a post-only
///   order that would take, a duplicate or unknown order id, a post-only stop, and a stop the
///   market has already reached.
/// - **Stop orders** wait off the book until the recorded market reaches their stop price: the
///   touch at the end of a book message (a buy stop when the best ask is at or above it, a sell
///   stop when the best bid is at or below it), or a trade at or through it: a recorded one, or
///   an order entering at the venue taking from the book (a strategy's, or a stop's: their
///   trades print at the venue too), or a strategy's resting order the book reached or moved
///   through, within a message too (it fills at its price). They report `triggered`, then enter
///   as market (stop-market) or limit (stop-limit) orders with their time in force: at the end
///   of that book message (after a recorded trade, of the instrument's next one, which shows
///   what the trade took); right after the entering order whose trade reached them, as on the
///   hosted matching engine (its take is remembered as consumed, so they take what it left).
///   Within one trigger they enter one by one: buy stops lowest first, then sell stops highest
///   first, first in first out within a stop price. Trigger order is kept: stops an order's
///   taking triggers behind one a recorded trade triggered, still waiting for the book, wait
///   with it. A stop not entered yet can be cancelled and asked about, not replaced
///   (`not-replaceable`).
///
/// Single-threaded; allocation-free per event once its arrays have grown to the most orders
/// resting at once.
public struct SimulatedVenue: ~Copyable {
    /// The recorded books it matches against: its own, or the logic's (`sharing`).
    let books: SharedBooks
    /// Its own books, when it does not share the logic's.
    let ownBooks: BookSet?
    /// Whether it matches against the logic's books rather than its own.
    public let sharesBooks: Bool
    var quotes: [QuoteLevels]
    /// Per instrument, a lot in base units (the `log` queue model weighs quantities in them).
    let lotUnits: [Double]
    /// Per instrument, the venue time of a cleared book being rebuilt by a snapshot while
    /// orders rest (nil otherwise); `rebuilding` is set while any is, and `sizesBeforeClear`
    /// holds the resting orders' levels as they were (kept apart: rare, and the resting
    /// orders are scanned on every update).
    var clearedAt: [UInt64?]
    /// Per instrument, while its book is rebuilt: the worst bid and ask its snapshot has shown
    /// (`Int64.max` and `Int64.min` before any). A level beyond them is one the snapshot did
    /// not reach (a snapshot of the top N levels), not one it shows gone.
    var snapshotReach: [(bid: Int64, ask: Int64)]
    var rebuilding = false
    var sizesBeforeClear: [SizeBeforeClear] = []
    var consumed: [ConsumedLevel] = []
    var resting: [RestingOrder] = []
    /// Where each instrument's orders rest (skips the checks where none rest, or none is near).
    var restingBounds: [RestingBounds]
    let scratch: UnsafeMutableBufferPointer<BookLevel>
    public let queueModel: QueueModel
    var nextTradeID: UInt64 = 1
    public internal(set) var counters = SimulatedVenueCounters()
    /// The stop orders and the last trade prices that trigger them.
    let stopOrders: StopOrders
    /// Whether a stop waits or has triggered (`stopOrders`): the backtest then settles each
    /// message's end (`settleStops`). Kept here, so that the check is one load.
    public internal(set) var hasStops = false

    /// The deepest an aggressive order walks the book.
    public static let maxWalkLevels = 1_024
    static let maxTicks: Int64 = 1 << 62

    /// A venue for instruments `0 ..< instruments`; those of `quoteBooks` have quotes-only
    /// data (each quote is their one-level book; other instruments ignore quotes). `lotSizes`
    /// (by instrument; a lot of 1 where missing) put the `log` queue model's quantities in base
    /// units.
    ///
    /// With `sharing` (the logic's market-data books, `EngineLogic.sharedMarketDataBooks`) the
    /// venue applies every level update and clear-book event to those books and the logic
    /// applies none (`appliesMarketData` false): right only when the logic sees each event
    /// right after the venue, in the same order (no feed latency), and while the logic lives.
    public init(
        instruments: Int, queueModel: QueueModel, quoteBooks: [InstrumentID] = [], lotSizes: [Increment] = [],
        sharing: SharedBooks? = nil
    ) throws(BookError) {
        if let sharing, sharing.count >= Swift.max(instruments, 1) {
            books = sharing
            ownBooks = nil
            sharesBooks = true
        } else {
            let own = try BookSet(count: Swift.max(instruments, 1))
            books = own.shared
            ownBooks = .some(own)
            sharesBooks = false
        }
        quotes = Array(repeating: QuoteLevels(), count: Swift.max(instruments, 1))
        for instrument in quoteBooks where Int(instrument.rawValue) < quotes.count {
            quotes[Int(instrument.rawValue)].active = true
        }
        restingBounds = Array(repeating: RestingBounds(), count: Swift.max(instruments, 1))
        lotUnits = (0..<Swift.max(instruments, 1)).map { index in
            index < lotSizes.count
                ? ExactAmount(value: Int128(lotSizes[index].units), decimals: lotSizes[index].decimals).double : 1
        }
        clearedAt = Array(repeating: nil, count: Swift.max(instruments, 1))
        stopOrders = StopOrders(instruments: Swift.max(instruments, 1))
        snapshotReach = Array(repeating: (Int64.max, Int64.min), count: Swift.max(instruments, 1))
        scratch = .allocate(capacity: Self.maxWalkLevels)
        self.queueModel = queueModel
        counters.tradesAfterDecrease = Array(repeating: TradesAfterDecrease(), count: Swift.max(instruments, 1))
        resting.reserveCapacity(64)
        consumed.reserveCapacity(64)
    }

    deinit { scratch.deallocate() }

    /// The best bid and offer at the venue now.
    @inline(__always)
    public func bestBidOffer(_ instrument: InstrumentID) -> BestBidOffer {
        let index = Int(instrument.rawValue)
        guard index < quotes.count else { return BestBidOffer(bid: nil, ask: nil) }
        if quotes[index].active { return BestBidOffer(bid: quotes[index].bid, ask: quotes[index].ask) }
        return books.bestBidOffer(instrument) ?? BestBidOffer(bid: nil, ask: nil)
    }

    /// The best level of `side` at the venue now.
    @inline(__always)
    func best(_ instrument: InstrumentID, _ side: Side) -> BookLevel? {
        let index = Int(instrument.rawValue)
        guard index < quotes.count else { return nil }
        if quotes[index].active { return side == .buy ? quotes[index].bid : quotes[index].ask }
        return books.best(instrument, side)
    }

    // MARK: Market data

    /// Applies a recorded event at venue time `time`: the book changes, queues move, and
    /// resting orders the market reached fill (their reports go to `sink`).
    public mutating func apply<Sink: ExecutionReportSink & ~Copyable>(_ event: Event, time: UInt64, sink: inout Sink) {
        let instrument = event.instrument
        let index = Int(instrument.rawValue)
        guard index < quotes.count else { return }
        if rebuilding, let cleared = clearedAt[index], !Self.rebuilds(event, at: time, clearedAt: cleared) {
            finishRebuild(instrument)
        }
        switch event.payload {
        case .levelUpdate(let update):
            if rebuilding { noteSnapshotLevel(update, index) }
            apply(update, to: instrument, time: time, sink: &sink)
        case .clearBook:
            if restingBounds[index].count > 0, !quotes[index].active { startRebuild(instrument, at: time) }
            books.clear(instrument)
            if !consumed.isEmpty { release(instrument) }
        case .quote(let quote):
            guard quotes[index].active else { return }
            let old = quotes[index]
            quotes[index] = QuoteLevels(
                bid: quote.bidPrice.ticks > 0 ? BookLevel(price: quote.bidPrice, quantity: quote.bidQuantity) : nil,
                ask: quote.askPrice.ticks > 0 ? BookLevel(price: quote.askPrice, quantity: quote.askQuantity) : nil,
                active: true)
            if !consumed.isEmpty { release(instrument) }
            if restingBounds[index].count > 0 {
                requeueAtQuote(instrument, old: old, time: time)
                fillThrough(instrument, time: time, sink: &sink)
            }
        case .trade(let trade):
            if restingBounds[index].count > 0 { fillOnTrade(instrument, trade, time: time, sink: &sink) }
            takeByTrade(instrument, trade)
            stopOrders.lastTradeTicks[index] = trade.price.ticks
            if hasStops {
                triggerStops(instrument, buysAt: trade.price.ticks, sellsAt: trade.price.ticks, sink: &sink)
            }
        default: break
        }
    }

    /// Applies a recorded level update of a known instrument (`instrument.rawValue <
    /// instruments`) at venue time `time`, as `apply(_:time:sink:)` does, when no book is being
    /// rebuilt (`rebuilding` false, or the update within its snapshot).
    @inline(__always)
    mutating func apply<Sink: ExecutionReportSink & ~Copyable>(
        _ update: LevelUpdate, to instrument: InstrumentID, time: UInt64, sink: inout Sink
    ) {
        let bounds = restingBounds[Int(instrument.rawValue)]
        guard bounds.count > 0 else {
            books.apply(update, to: instrument)
            if !consumed.isEmpty { release(instrument, side: update.side, price: update.price.ticks) }
            return
        }
        let (queued, through) = affected(instrument, update, bounds)
        let previous = queued ? quantity(instrument, update.side, update.price.ticks) : 0
        books.apply(update, to: instrument)
        if !consumed.isEmpty { release(instrument, side: update.side, price: update.price.ticks) }
        if queued {
            requeue(
                instrument, update.side, update.price.ticks, previous: previous, new: update.quantity.lots, time: time)
        }
        if through { fillThrough(instrument, time: time, sink: &sink) }
    }

    /// The displayed quantity at a level now.
    @inline(__always)
    func quantity(_ instrument: InstrumentID, _ side: Side, _ price: Int64) -> Int64 {
        let index = Int(instrument.rawValue)
        if quotes[index].active {
            let level = side == .buy ? quotes[index].bid : quotes[index].ask
            return level.map { $0.price.ticks == price ? $0.quantity.lots : 0 } ?? 0
        }
        return books.withBook(instrument) { $0.quantity(at: Price(ticks: price), side: side).lots } ?? 0
    }

    /// Forgets what was taken at one level (or every level of the instrument), and what
    /// recorded trades took anywhere in the instrument: the book change shows it. Out of line:
    /// called only while something is taken, from the level updates' loop.
    @inline(never)
    mutating func release(_ instrument: InstrumentID, side: Side? = nil, price: Int64 = 0) {
        var index = 0
        while index < consumed.count {
            let entry = consumed[index]
            if entry.instrument == instrument,
                side == nil || entry.byTrade || (entry.side == side && entry.price == price)
            {
                consumed.swapAt(index, consumed.count - 1)
                consumed.removeLast()
            } else {
                index += 1
            }
        }
    }

    /// Lots already taken at a level since the feed last changed it (by the strategies' orders
    /// and by recorded trades).
    func consumedLots(_ instrument: InstrumentID, _ side: Side, _ price: Int64) -> Int64 {
        var lots: Int64 = 0
        for entry in consumed where entry.instrument == instrument && entry.side == side && entry.price == price {
            lots &+= entry.lots
        }
        return lots
    }

    mutating func consume(_ instrument: InstrumentID, _ side: Side, _ price: Int64, lots: Int64, byTrade: Bool = false)
    {
        for index in consumed.indices
        where consumed[index].instrument == instrument && consumed[index].side == side
            && consumed[index].price == price && consumed[index].byTrade == byTrade
        {
            consumed[index].lots &+= lots
            return
        }
        consumed.append(ConsumedLevel(instrument: instrument, side: side, price: price, lots: lots, byTrade: byTrade))
    }

    /// What a recorded trade took from the book it met, remembered until the instrument's next
    /// book change shows it (`release`): every lot shown at a price better than the trade's (it
    /// went through them) and at its price up to its quantity, lots already taken left out. An
    /// order entering before that change (one sent on the trade, without latency) cannot take
    /// them again. A trade of unknown side counts as a buy, as everywhere.
    mutating func takeByTrade(_ instrument: InstrumentID, _ trade: Trade) {
        let taker = trade.aggressor
        let limit = trade.price.ticks
        let left = trade.quantity.lots
        // Most trades print at the best (or away from the book shown): one level, no walk.
        guard let best = best(instrument, taker.opposite) else { return }
        let bestPrice = best.price.ticks
        if taker == .buy ? bestPrice > limit : bestPrice < limit { return }
        if bestPrice == limit {
            let lots = Swift.min(best.quantity.lots &- consumedLots(instrument, taker.opposite, limit), left)
            if lots > 0 { consume(instrument, taker.opposite, limit, lots: lots, byTrade: true) }
            return
        }
        var wanted = 8
        var copied = oppositeLevels(instrument, taker, count: wanted)
        var level = 0
        while level < copied {
            let price = scratch[level].price.ticks
            let displayed = scratch[level].quantity.lots
            level += 1
            if level == copied, copied == wanted, wanted < Self.maxWalkLevels {
                wanted = Swift.min(wanted * 8, Self.maxWalkLevels)
                copied = oppositeLevels(instrument, taker, count: wanted)
            }
            if taker == .buy ? price > limit : price < limit { break }
            let free = displayed &- consumedLots(instrument, taker.opposite, price)
            let atPrice = price == limit
            let lots = atPrice ? Swift.min(free, left) : free
            if lots > 0 { consume(instrument, taker.opposite, price, lots: lots, byTrade: true) }
            if atPrice { break }
        }
    }

    /// The displayed size at a resting order's level changed from `previous` to `new` lots
    /// (from what it was before a cleared book, for a snapshot rebuilding it).
    @inline(never)  // kept out of `sendMessageMiddle`'s loop: inlined there it cost +17M instructions
    mutating func requeue(
        _ instrument: InstrumentID, _ side: Side, _ price: Int64, previous: Int64, new: Int64, time: UInt64
    ) {
        let unit = lotUnits[Int(instrument.rawValue)]
        for index in resting.indices
        where resting[index].instrument == instrument && resting[index].side == side && resting[index].price == price {
            var from = Double(previous)
            if rebuilding, let entry = sizesBeforeClear.firstIndex(where: { $0.orderID == resting[index].orderID }) {
                from = sizesBeforeClear[entry].size
                sizesBeforeClear.remove(at: entry)
            }
            moveInQueue(
                index,
                to: queueModel.ahead(
                    front: resting[index].ahead, previous: from, new: Double(new), traded: resting[index].traded,
                    unit: unit), at: time)
        }
    }

    /// A cleared book while orders rest: a snapshot rebuilds it, level by level, at the same
    /// time. Each resting order keeps the size its level displayed before, so that its queue
    /// moves by what the snapshot shows there, as an update from that size would move it.
    mutating func startRebuild(_ instrument: InstrumentID, at time: UInt64) {
        for order in resting
        where order.instrument == instrument && !sizesBeforeClear.contains(where: { $0.orderID == order.orderID }) {
            sizesBeforeClear.append(
                SizeBeforeClear(
                    orderID: order.orderID, instrument: instrument,
                    size: Double(quantity(instrument, order.side, order.price))))
        }
        clearedAt[Int(instrument.rawValue)] = time
        snapshotReach[Int(instrument.rawValue)] = (Int64.max, Int64.min)
        rebuilding = true
    }

    /// Whether `event` at `time` is part of the snapshot that rebuilds a book cleared at
    /// `clearedAt`: a level update or clear at the same time.
    @inline(__always)
    static func rebuilds(_ event: Event, at time: UInt64, clearedAt: UInt64) -> Bool {
        guard time == clearedAt else { return false }
        switch event.payload {
        case .levelUpdate, .clearBook: return true
        default: return false
        }
    }

    /// Widens the reach of the snapshot rebuilding instrument `index`'s book (if one is) by a
    /// level it shows (out of line: rare).
    @inline(never)
    mutating func noteSnapshotLevel(_ update: LevelUpdate, _ index: Int) {
        guard clearedAt[index] != nil, update.quantity.lots > 0 else { return }
        if update.side == .buy {
            snapshotReach[index].bid = Swift.min(snapshotReach[index].bid, update.price.ticks)
        } else {
            snapshotReach[index].ask = Swift.max(snapshotReach[index].ask, update.price.ticks)
        }
    }

    /// The snapshot is over: an order whose level it did not show moves as if that level had
    /// been removed, unless the level lies beyond the snapshot's worst level on its side (or the
    /// side showed none): a snapshot of the top N levels did not reach it, and the order keeps
    /// its place.
    mutating func finishRebuild(_ instrument: InstrumentID) {
        let unit = lotUnits[Int(instrument.rawValue)]
        let time = clearedAt[Int(instrument.rawValue)] ?? 0
        let reach = snapshotReach[Int(instrument.rawValue)]
        for entry in sizesBeforeClear where entry.instrument == instrument {
            // (An order filled or cancelled during the snapshot is gone.)
            guard let index = index(of: entry.orderID) else { continue }
            let order = resting[index]
            let shown = quantity(instrument, order.side, order.price)
            let beyondReach = order.side == .buy ? order.price < reach.bid : order.price > reach.ask
            if shown == 0, beyondReach { continue }
            moveInQueue(
                index,
                to: queueModel.ahead(
                    front: order.ahead, previous: entry.size, new: Double(shown), traded: order.traded, unit: unit),
                at: time)
        }
        sizesBeforeClear.removeAll { $0.instrument == instrument }
        clearedAt[Int(instrument.rawValue)] = nil
        rebuilding = clearedAt.contains { $0 != nil }
    }

    /// A new quote: the level at each resting order's price, where the quote shows it (its
    /// price is the best, or better than the best: nothing displayed there).
    mutating func requeueAtQuote(_ instrument: InstrumentID, old: QuoteLevels, time: UInt64) {
        let new = quotes[Int(instrument.rawValue)]
        for index in resting.indices where resting[index].instrument == instrument {
            let order = resting[index]
            let buy = order.side == .buy
            guard let after = Self.displayed(buy ? new.bid : new.ask, at: order.price, side: order.side) else {
                continue
            }
            let before = Self.displayed(buy ? old.bid : old.ask, at: order.price, side: order.side) ?? after
            moveInQueue(
                index,
                to: queueModel.ahead(
                    front: order.ahead, previous: Double(before), new: Double(after), traded: order.traded,
                    unit: lotUnits[Int(instrument.rawValue)]), at: time)
        }
    }

    /// Sets the queue ahead of the resting order at `index` after its level's displayed size
    /// changed at venue time `time`, and resets its trades counted since the last change (the
    /// new estimate has them); notes when that moved it up.
    mutating func moveInQueue(_ index: Int, to ahead: Double, at time: UInt64) {
        if ahead < resting[index].ahead { resting[index].movedUpAt = time }
        resting[index].ahead = ahead
        resting[index].traded = 0
    }

    /// What a one-level book displays at `price` on `side`: the level's size at its price, 0
    /// when the price is better than the best (or no level), nil when the level is hidden
    /// behind a better best.
    static func displayed(_ level: BookLevel?, at price: Int64, side: Side) -> Int64? {
        guard let level else { return 0 }
        if level.price.ticks == price { return level.quantity.lots }
        let better = side == .buy ? price > level.price.ticks : price < level.price.ticks
        return better ? 0 : nil
    }

    /// What a level update means for the resting orders: whether one rests at its level (its
    /// queue moves), and whether it could have moved the other side's best to or through one (a
    /// level added or changed at or beyond one's price; removing a level never does).
    /// (`bounds`: the instrument's `restingBounds`.)
    @inline(__always)
    func affected(
        _ instrument: InstrumentID, _ update: LevelUpdate, _ bounds: RestingBounds
    ) -> (queued: Bool, through: Bool) {
        // The bounds answer `through` exactly (a bid at or above a resting sell, an ask at or
        // below a resting buy) and rule out most updates for `queued`; only one inside a side's
        // range reads the orders.
        let price = update.price.ticks
        let buy = update.side == .buy
        let through = update.quantity.lots > 0 && (buy ? price >= bounds.lowestSell : price <= bounds.highestBuy)
        guard
            buy
                ? bounds.lowestBuy <= price && price <= bounds.highestBuy
                : bounds.lowestSell <= price && price <= bounds.highestSell
        else { return (false, through) }
        for order in resting where order.instrument == instrument && order.side == update.side && order.price == price {
            return (true, through)
        }
        return (false, through)
    }

    /// Fills entirely every resting order of `instrument` the other side's best has reached or
    /// moved through (within a message too: the venue matches on every change). Each fill is a
    /// trade at the order's price: the last, the market's last trade price, is the sweep's
    /// worst (a falling ask fills the highest bids first). Then, as the sweep went, buys from
    /// the highest price and sells from the lowest, each fill's price triggers the stops it
    /// reaches (reported after the fills, at that price; they enter at the end of the book
    /// message).
    mutating func fillThrough<Sink: ExecutionReportSink & ~Copyable>(
        _ instrument: InstrumentID, time: UInt64, sink: inout Sink
    ) {
        // Liquidity the strategies took is gone for them: a level they emptied is not a best
        // that moved through an order (a taking order's rest lies beyond it).
        let top =
            consumed.isEmpty
            ? bestBidOffer(instrument)
            : BestBidOffer(bid: bestAvailable(instrument, to: .sell), ask: bestAvailable(instrument, to: .buy))
        var lowestBuy = Int64.max
        var highestSell = Int64.min
        var index = 0
        while index < resting.count {
            let order = resting[index]
            // Reaching its price is enough, but for an order resting over what it took (there
            // the other side's best must move through it).
            let reach: Int64 = order.restsOverTaken ? 1 : 0
            if order.instrument == instrument,
                order.side == .buy
                    ? (top.ask.map { $0.quantity.lots > 0 && $0.price.ticks &+ reach <= order.price } ?? false)
                    : (top.bid.map { $0.quantity.lots > 0 && $0.price.ticks &- reach >= order.price } ?? false)
            {
                if order.side == .buy {
                    lowestBuy = Swift.min(lowestBuy, order.price)
                } else {
                    highestSell = Swift.max(highestSell, order.price)
                }
                if hasStops { stopOrders.sweep.append((order.side, order.price)) }
                if fillResting(at: index, lots: order.leaves, time: time, sink: &sink) { continue }
            }
            index += 1
        }
        guard lowestBuy != Int64.max || highestSell != Int64.min else { return }
        stopOrders.lastTradeTicks[Int(instrument.rawValue)] = lowestBuy != Int64.max ? lowestBuy : highestSell
        if hasStops { triggerStopsOfSweep(instrument, sink: &sink) }
    }

    /// The best level an order on `side` could take from with lots not taken yet.
    func bestAvailable(_ instrument: InstrumentID, to side: Side) -> BookLevel? {
        var found: BookLevel?
        walkOpposite(instrument, side) { level in
            guard level.quantity.lots <= consumedLots(instrument, side.opposite, level.price.ticks) else {
                found = level
                return false
            }
            return true
        }
        return found
    }

    /// A recorded trade: resting orders at its price on the side it hit move up the queue and
    /// fill by what traded beyond the queue ahead; those whose price the other side traded
    /// through (a sell below a resting buy, a buy above a resting sell) fill entirely.
    mutating func fillOnTrade<Sink: ExecutionReportSink & ~Copyable>(
        _ instrument: InstrumentID, _ trade: Trade, time: UInt64, sink: inout Sink
    ) {
        // What traded beyond the queue fills our orders at the price in the order they joined,
        // once: two of them never both fill from the same lots (a later one stands behind what
        // an earlier one took of this trade).
        var taken: Int64 = 0
        var afterDecrease = false
        var index = 0
        while index < resting.count {
            let order = resting[index]
            guard order.instrument == instrument else {
                index += 1
                continue
            }
            let through =
                trade.aggressor != order.side
                && (order.side == .buy ? trade.price.ticks < order.price : trade.price.ticks > order.price)
            if through {
                if fillResting(at: index, lots: order.leaves, time: time, sink: &sink) { continue }
            } else if trade.price.ticks == order.price, trade.aggressor != order.side {
                afterDecrease = afterDecrease || order.movedUpAt == time
                let lots = Double(trade.quantity.lots)
                resting[index].ahead -= lots
                resting[index].traded += lots
                if resting[index].ahead < 0 {
                    let beyond = Self.wholeLots(-resting[index].ahead)
                    resting[index].ahead = 0
                    let filled = Swift.min(Swift.max(beyond &- taken, 0), order.leaves)
                    taken &+= filled
                    if filled > 0, fillResting(at: index, lots: filled, time: time, sink: &sink) { continue }
                }
            }
            index += 1
        }
        let slot = Int(instrument.rawValue)
        if afterDecrease, slot < counters.tradesAfterDecrease.count {
            if counters.tradesAfterDecrease[slot].trades == 0 { counters.tradesAfterDecrease[slot].first = time }
            counters.tradesAfterDecrease[slot].trades &+= 1
        }
    }

    /// `value` rounded down to whole lots, in 0…2^62 (never traps); within 10^-9 of a lot
    /// below a whole one counts as it (the probability models' doubles: 1 − 2^-52 is 1 lot).
    static func wholeLots(_ value: Double) -> Int64 {
        guard value.isFinite, value > 0 else { return 0 }
        if value >= 4.6e18 { return maxTicks }
        return Int64((value + 1e-9).rounded(.down))
    }

    /// Fills `lots` of the resting order at `index` at its price (maker); true when that filled
    /// it and it left the array (the next order is now at `index`).
    mutating func fillResting<Sink: ExecutionReportSink & ~Copyable>(
        at index: Int, lots: Int64, time: UInt64, sink: inout Sink
    ) -> Bool {
        let order = resting[index]
        let leaves = order.leaves &- lots
        counters.fills &+= 1
        counters.passiveFills &+= 1
        counters.queueTimeTotal &+= time >= order.joinedAt ? time &- order.joinedAt : 0
        sink.accept(
            ExecutionReport(
                kind: leaves == 0 ? .filled : .partiallyFilled, instrument: order.instrument, orderID: order.orderID,
                account: order.account, side: order.side, price: Price(ticks: order.price),
                quantity: Quantity(lots: lots), leavesQuantity: Quantity(lots: leaves), tradeID: takeTradeID()))
        if leaves == 0 {
            remove(at: index)
            return true
        }
        resting[index].leaves = leaves
        return false
    }

    mutating func takeTradeID() -> UInt64 {
        defer { nextTradeID &+= 1 }
        return nextTradeID
    }

    mutating func remove(at index: Int) {
        let removed = resting.remove(at: index)
        // Its level before a cleared book no longer concerns it (a replace rests it again, at
        // its new level, under the same id).
        if rebuilding { sizesBeforeClear.removeAll { $0.orderID == removed.orderID } }
        let instrument = Int(removed.instrument.rawValue)
        let old = restingBounds[instrument]
        // The bounds change only when the order was the last or on one of them.
        let onBound =
            removed.side == .buy
            ? removed.price == old.lowestBuy || removed.price == old.highestBuy
            : removed.price == old.lowestSell || removed.price == old.highestSell
        guard old.count == 1 || onBound else {
            restingBounds[instrument].count &-= 1
            return
        }
        var bounds = RestingBounds()
        for order in resting where order.instrument == removed.instrument { bounds.add(order.side, order.price) }
        restingBounds[instrument] = bounds
    }

    /// The lots estimated ahead of a resting order (nil when none rests with that id).
    public func queueAhead(of orderID: OrderID) -> Double? {
        index(of: orderID).map { resting[$0].ahead }
    }

    // MARK: Orders

    /// Handles a strategy's command arriving at venue time `time`, sending every report it
    /// causes to `sink`, in order. Returns the lots it offers the venue: a new order's quantity
    /// (accepted or not), or what a replace the venue accepts adds to its order's total; 0 for
    /// anything else. So no order can fill more than was offered for it.
    @discardableResult
    public mutating func process<Sink: ExecutionReportSink & ~Copyable>(
        _ command: OrderCommand, instrument: InstrumentID, time: UInt64, sink: inout Sink
    ) -> Int64 {
        counters.commands &+= 1
        guard Int(instrument.rawValue) < quotes.count else {
            reject(command, instrument, .unknownInstrument, sink: &sink)
            return 0
        }
        let offered: Int64
        switch command.action {
        case .new:
            enter(command, instrument, time: time, sink: &sink)
            let lots = command.quantity.lots
            offered = lots > 0 && lots <= Self.maxTicks ? lots : 0
        case .cancel:
            cancel(command, instrument, sink: &sink)
            offered = 0
        case .replace: offered = replace(command, instrument, time: time, sink: &sink)
        case .status:
            status(command, instrument, sink: &sink)
            offered = 0
        }
        // Stops the command's taking triggered enter right after it, and so do stops held
        // behind one it cancelled (`enterStopsTriggeredByEntering`).
        if hasStops { enterStopsTriggeredByEntering(instrument, time: time, sink: &sink) }
        return offered
    }

    mutating func reject<Sink: ExecutionReportSink & ~Copyable>(
        _ command: OrderCommand, _ instrument: InstrumentID, _ reason: ExecutionReason, sink: inout Sink
    ) {
        counters.rejected &+= 1
        let raw = Int(reason.rawValue)
        if raw < counters.rejectedByReason.count { counters.rejectedByReason[raw] &+= 1 }
        sink.accept(.rejection(of: command, instrument: instrument, reason: reason))
    }

    @inline(__always)
    func index(of orderID: OrderID) -> Int? { resting.firstIndex { $0.orderID == orderID } }

    /// The first rule a new order breaks, or `.none`: the hosted matching engine's rules, in
    /// its order (`OrderBook.validateNew`).
    @inline(__always)
    func validate(_ command: OrderCommand, _ instrument: InstrumentID) -> ExecutionReason {
        guard command.quantity.lots > 0, command.quantity.lots <= Self.maxTicks else { return .invalidQuantity }
        switch command.type {
        case .limit:
            guard command.price.ticks > 0, command.price.ticks <= Self.maxTicks else { return .priceOutOfRange }
        case .market:
            if command.timeInForce == .postOnly { return .unsupportedOrder }
        case .stopMarket, .stopLimit:
            if command.timeInForce == .postOnly { return .unsupportedOrder }
            if command.type == .stopLimit, command.price.ticks <= 0 || command.price.ticks > Self.maxTicks {
                return .priceOutOfRange
            }
            let stop = command.stopPrice.ticks
            guard stop > 0, stop <= Self.maxTicks else { return .priceOutOfRange }
            if stopReached(instrument, command.side, stop) { return .stopWouldTriggerImmediately }
        }
        if index(of: command.orderID) != nil || (hasStops && findStop(command.orderID) != nil) {
            return .duplicateOrderID
        }
        if command.type == .limit, command.timeInForce == .postOnly,
            crosses(instrument, command.side, command.price.ticks)
        {
            return .postOnlyWouldTake
        }
        return .none
    }

    /// Whether an order at `price` on `side` would take liquidity now.
    @inline(__always)
    func crosses(_ instrument: InstrumentID, _ side: Side, _ price: Int64) -> Bool {
        guard let other = best(instrument, side == .buy ? .sell : .buy) else { return false }
        return side == .buy ? other.price.ticks <= price : other.price.ticks >= price
    }

    /// A new order: validated, accepted, then it takes what it may and rests or cancels the rest
    /// by its time in force; a stop order waits in `stopOrders` instead. With `triggered`, a stop
    /// that triggered enters as its market or limit order (`settleStops`): accepted before, so
    /// neither validated nor reported accepted again.
    mutating func enter<Sink: ExecutionReportSink & ~Copyable>(
        _ command: OrderCommand, _ instrument: InstrumentID, time: UInt64, sink: inout Sink, triggered: Bool = false
    ) {
        if !triggered {
            counters.newOrders &+= 1
            let reason = validate(command, instrument)
            guard reason == .none else {
                reject(command, instrument, reason, sink: &sink)
                return
            }
            sink.accept(
                ExecutionReport(
                    kind: .accepted, instrument: instrument, orderID: command.orderID, account: command.account,
                    side: command.side, price: PendingStop.reportedPrice(of: command), quantity: command.quantity,
                    leavesQuantity: command.quantity))
            if command.type.isStop {
                stopOrders.waiting.append(PendingStop(command: command, instrument: instrument))
                hasStops = true
                return
            }
        }
        let quantity = command.quantity.lots
        let limit: Int64? = command.type == .market ? nil : command.price.ticks
        if command.timeInForce == .fillOrKill, available(instrument, command.side, limit: limit) < quantity {
            cancelRemainder(command, instrument, leaves: quantity, reason: .fillOrKill, sink: &sink)
            return
        }
        // A post-only order does not cross (`validate` checked): nothing to take.
        let leaves =
            command.timeInForce == .postOnly
            ? quantity : take(command, instrument, limit: limit, leaves: quantity, sink: &sink)
        guard leaves > 0 else { return }
        guard command.type == .limit, command.timeInForce == .goodTillCancel || command.timeInForce == .postOnly
        else {
            cancelRemainder(command, instrument, leaves: leaves, reason: .unfilledRemainder, sink: &sink)
            return
        }
        rest(
            command, instrument, price: command.price.ticks, quantity: quantity, leaves: leaves, time: time,
            mayHaveCrossed: command.timeInForce != .postOnly)
    }

    mutating func cancelRemainder<Sink: ExecutionReportSink & ~Copyable>(
        _ command: OrderCommand, _ instrument: InstrumentID, leaves: Int64, reason: ExecutionReason,
        sink: inout Sink
    ) {
        counters.cancelled &+= 1
        sink.accept(
            ExecutionReport(
                kind: .cancelled, reason: reason, instrument: instrument, orderID: command.orderID,
                account: command.account, side: command.side, price: command.price,
                quantity: Quantity(lots: leaves), leavesQuantity: .zero))
    }

    /// Rests an order; `mayHaveCrossed`: it was not post-only (it may have taken, or found
    /// taken, the recorded levels at its price).
    mutating func rest(
        _ command: OrderCommand, _ instrument: InstrumentID, price: Int64, quantity: Int64, leaves: Int64,
        time: UInt64, mayHaveCrossed: Bool
    ) {
        // The recorded other side at or beyond its price: what it took (or found taken) there.
        var overTaken = false
        if mayHaveCrossed { overTaken = crosses(instrument, command.side, price) }
        resting.append(
            RestingOrder(
                orderID: command.orderID, account: command.account, instrument: instrument, side: command.side,
                timeInForce: command.timeInForce, restsOverTaken: overTaken, price: price, quantity: quantity,
                leaves: leaves, ahead: Double(self.quantity(instrument, command.side, price)), traded: 0,
                joinedAt: time))
        restingBounds[Int(instrument.rawValue)].add(command.side, price)
    }

    /// Copies up to `count` (at most `maxWalkLevels`) levels of the side an order on `side`
    /// takes from into the scratch buffer, best first; returns how many.
    func oppositeLevels(_ instrument: InstrumentID, _ side: Side, count: Int) -> Int {
        let index = Int(instrument.rawValue)
        if quotes[index].active {
            guard let level = side == .buy ? quotes[index].ask : quotes[index].bid else { return 0 }
            scratch[0] = level
            return 1
        }
        let window = UnsafeMutableBufferPointer(rebasing: scratch[0..<Swift.min(count, Self.maxWalkLevels)])
        return books.withBook(instrument) { $0.depth(side == .buy ? .sell : .buy, into: window) } ?? 0
    }

    /// Calls `body` with the levels an order on `side` may take, best first, until it returns
    /// false: a few levels are copied first, more only when the walk goes deeper (up to
    /// `maxWalkLevels`).
    func walkOpposite(_ instrument: InstrumentID, _ side: Side, _ body: (BookLevel) -> Bool) {
        var wanted = 8
        var copied = oppositeLevels(instrument, side, count: wanted)
        var level = 0
        while level < copied {
            guard body(scratch[level]) else { return }
            level += 1
            if level == copied, copied == wanted, wanted < Self.maxWalkLevels {
                wanted = Swift.min(wanted * 8, Self.maxWalkLevels)
                copied = oppositeLevels(instrument, side, count: wanted)
            }
        }
    }

    /// Lots an order could take now, up to its limit.
    func available(_ instrument: InstrumentID, _ side: Side, limit: Int64?) -> Int64 {
        var total: Int64 = 0
        walkOpposite(instrument, side) { level in
            if let limit, side == .buy ? level.price.ticks > limit : level.price.ticks < limit { return false }
            let free = level.quantity.lots &- consumedLots(instrument, side.opposite, level.price.ticks)
            if free > 0 { total &+= free }
            return true
        }
        return total
    }

    /// Takes liquidity for an order, best level first, up to its limit and `leaves`: a fill
    /// report per level; returns what is left. Each of its trades is the market's last trade,
    /// as a recorded one is: it triggers the stops it reaches (reported after it, as the hosted
    /// engine does), which enter right after the order (`enterStopsTriggeredByEntering`).
    mutating func take<Sink: ExecutionReportSink & ~Copyable>(
        _ command: OrderCommand, _ instrument: InstrumentID, limit: Int64?, leaves start: Int64, sink: inout Sink
    ) -> Int64 {
        if let limit, !crosses(instrument, command.side, limit) { return start }
        var wanted = 8
        var copied = oppositeLevels(instrument, command.side, count: wanted)
        var leaves = start
        var level = 0
        while leaves > 0, level < copied {
            let price = scratch[level].price.ticks
            let displayed = scratch[level].quantity.lots
            level += 1
            if level == copied, copied == wanted, wanted < Self.maxWalkLevels {
                // Deeper than copied so far: copy more (the levels already taken stay in place).
                wanted = Swift.min(wanted * 8, Self.maxWalkLevels)
                copied = oppositeLevels(instrument, command.side, count: wanted)
            }
            if let limit, command.side == .buy ? price > limit : price < limit { break }
            let free = displayed &- consumedLots(instrument, command.side.opposite, price)
            guard free > 0 else { continue }
            let lots = Swift.min(free, leaves)
            leaves &-= lots
            consume(instrument, command.side.opposite, price, lots: lots)
            counters.fills &+= 1
            counters.aggressiveFills &+= 1
            sink.accept(
                ExecutionReport(
                    kind: leaves == 0 ? .filled : .partiallyFilled, instrument: instrument,
                    orderID: command.orderID, account: command.account, side: command.side,
                    price: Price(ticks: price), quantity: Quantity(lots: lots), leavesQuantity: Quantity(lots: leaves),
                    tradeID: takeTradeID(), isAggressor: true))
            stopOrders.lastTradeTicks[Int(instrument.rawValue)] = price
            if hasStops { triggerStops(instrument, buysAt: price, sellsAt: price, byEntering: true, sink: &sink) }
        }
        return leaves
    }

    /// The resting order a cancel or replace names, or nil after rejecting it (no such order in
    /// the instrument: `unknown-order-id`; another account's: `not-order-owner`).
    mutating func owned<Sink: ExecutionReportSink & ~Copyable>(
        _ command: OrderCommand, _ instrument: InstrumentID, sink: inout Sink
    ) -> Int? {
        guard let index = index(of: command.orderID), resting[index].instrument == instrument else {
            reject(command, instrument, .unknownOrderID, sink: &sink)
            return nil
        }
        guard resting[index].account == command.account else {
            reject(command, instrument, .notOrderOwner, sink: &sink)
            return nil
        }
        return index
    }

    /// Reports a resting order (already removed) cancelled for `reason`.
    mutating func cancelled<Sink: ExecutionReportSink & ~Copyable>(
        _ order: RestingOrder, reason: ExecutionReason, sink: inout Sink
    ) {
        counters.cancelled &+= 1
        sink.accept(
            ExecutionReport(
                kind: .cancelled, reason: reason, instrument: order.instrument, orderID: order.orderID,
                account: order.account, side: order.side, price: Price(ticks: order.price),
                quantity: Quantity(lots: order.leaves), leavesQuantity: .zero))
    }

    mutating func cancel<Sink: ExecutionReportSink & ~Copyable>(
        _ command: OrderCommand, _ instrument: InstrumentID, sink: inout Sink
    ) {
        if hasStops {
            var refused = false
            let location = ownedStop(command, instrument, refused: &refused, sink: &sink)
            if refused { return }
            if let location {
                let stop = removeStop(at: location)
                counters.cancelled &+= 1
                sink.accept(
                    ExecutionReport(
                        kind: .cancelled, reason: .requested, instrument: instrument, orderID: stop.command.orderID,
                        account: stop.command.account, side: stop.command.side, price: stop.reportedPrice,
                        quantity: stop.command.quantity, leavesQuantity: .zero))
                return
            }
        }
        guard let index = owned(command, instrument, sink: &sink) else { return }
        let order = resting[index]
        remove(at: index)
        cancelled(order, reason: .requested, sink: &sink)
    }

    /// Answers a status request: the order (resting, or a stop not entered yet) as held, or
    /// `status` with reason `unknownOrderID` when the instrument holds no such order of the
    /// command's account (as the hosted matching engine).
    mutating func status<Sink: ExecutionReportSink & ~Copyable>(
        _ command: OrderCommand, _ instrument: InstrumentID, sink: inout Sink
    ) {
        if hasStops, let location = findStop(command.orderID) {
            let stop = stop(at: location)
            if stop.instrument == instrument, stop.command.account == command.account {
                sink.accept(
                    ExecutionReport(
                        kind: .status, instrument: instrument, orderID: stop.command.orderID,
                        account: stop.command.account, side: stop.command.side, price: stop.reportedPrice,
                        quantity: stop.command.quantity, leavesQuantity: stop.command.quantity))
                return
            }
        }
        guard let index = index(of: command.orderID), resting[index].instrument == instrument,
            resting[index].account == command.account
        else {
            sink.accept(
                ExecutionReport(
                    kind: .status, reason: .unknownOrderID, instrument: instrument, orderID: command.orderID,
                    account: command.account, side: command.side, price: command.price, quantity: command.quantity,
                    leavesQuantity: .zero))
            return
        }
        let order = resting[index]
        sink.accept(
            ExecutionReport(
                kind: .status, instrument: instrument, orderID: order.orderID, account: order.account,
                side: order.side, price: Price(ticks: order.price), quantity: Quantity(lots: order.quantity),
                leavesQuantity: Quantity(lots: order.leaves)))
    }

    /// A replace: the same price and no more open quantity keeps the order's place; anything
    /// else takes what crosses and rests the rest at the back of the new level's queue. Returns
    /// what an accepted replace adds to the order's total (0 when it lowers or keeps it).
    mutating func replace<Sink: ExecutionReportSink & ~Copyable>(
        _ command: OrderCommand, _ instrument: InstrumentID, time: UInt64, sink: inout Sink
    ) -> Int64 {
        if hasStops {
            var refused = false
            let location = ownedStop(command, instrument, refused: &refused, sink: &sink)
            if refused { return 0 }
            if location != nil {
                reject(command, instrument, .notReplaceable, sink: &sink)
                return 0
            }
        }
        guard let index = owned(command, instrument, sink: &sink) else { return 0 }
        let order = resting[index]
        let total = command.quantity.lots
        // As the hosted matching engine: a new total of 0 (or at most what filled) cancels.
        guard total >= 0, total <= Self.maxTicks else {
            reject(command, instrument, .invalidQuantity, sink: &sink)
            return 0
        }
        let filled = order.quantity &- order.leaves
        if total <= filled {
            remove(at: index)
            cancelled(order, reason: .replacedBelowFilled, sink: &sink)
            return 0
        }
        let price = command.price.ticks
        guard price > 0, price <= Self.maxTicks else {
            reject(command, instrument, .priceOutOfRange, sink: &sink)
            return 0
        }
        let leaves = total &- filled
        if price == order.price, leaves <= order.leaves {
            resting[index].quantity = total
            resting[index].leaves = leaves
            sink.accept(
                ExecutionReport(
                    kind: .replaced, instrument: instrument, orderID: order.orderID, account: order.account,
                    side: order.side, price: command.price, quantity: command.quantity,
                    leavesQuantity: Quantity(lots: leaves)))
            return 0
        }
        if order.timeInForce == .postOnly, crosses(instrument, order.side, price) {
            reject(command, instrument, .postOnlyWouldTake, sink: &sink)
            return 0
        }
        remove(at: index)
        sink.accept(
            ExecutionReport(
                kind: .replaced, instrument: instrument, orderID: order.orderID, account: order.account,
                side: order.side, price: command.price, quantity: command.quantity,
                leavesQuantity: Quantity(lots: leaves)))
        var taker = command
        taker.side = order.side
        // A post-only order here does not cross (checked above): nothing to take.
        let left =
            order.timeInForce == .postOnly ? leaves : take(taker, instrument, limit: price, leaves: leaves, sink: &sink)
        if left > 0 {
            rest(
                taker, instrument, price: price, quantity: total, leaves: left, time: time,
                mayHaveCrossed: order.timeInForce != .postOnly)
            resting[resting.count - 1].timeInForce = order.timeInForce
        }
        return Swift.max(total &- order.quantity, 0)
    }
}
