import PeregrineBook
import PeregrineCore
import PeregrineModel

/// Two-sided quotes around the market's mid on each of its instruments.
///
/// On every change of an instrument's book (and at start, and after each fill) it works out
/// where its quotes belong: the market's mid (`StrategyContext.marketMid`: the book without its
/// own orders) rounded down to the grid for the bid and up for the ask, or with `join-touch=1`
/// the market's best bid and best ask (joining the touch, where a wider spread would otherwise
/// put both quotes inside it), `half-spread` ticks further out, then shifted by the inventory
/// skew, `−net × skew ÷ size` ticks (long: both quotes lower, so it sells sooner and buys later;
/// integer division toward zero), but never through the market: the bid stays below the
/// market's best ask and the ask above its best bid, so a post-only quote is not refused for
/// taking. It quotes `size` lots a side while the fill would keep `|net| ≤ max-position`; a
/// quote already working is replaced only when its price is `requote` ticks or more from where
/// it belongs. Quotes are post-only unless `post-only=0` (a post-only quote that would take is
/// rejected by the venue and placed again at the next book change).
///
/// Parameters (lots and ticks of the instrument): `half-spread` (0…1,000,000, default 2; 0 quotes
/// at the touch when the spread is one tick, and over an even number of ticks its bid at the
/// mid and its ask a tick above: never both at one price),
/// `size` (1…10^12, 10), `skew` (0…1,000,000 ticks per `size` of inventory, 1),
/// `max-position` (0…10^15, 100), `requote` (1…1,000,000, 1), `post-only` (0 or 1, 1),
/// `join-touch` (0 or 1, 0).
public struct MarketMaker: Strategy, Sendable {
    public static let name = "market-maker"
    public static let marketData: MarketDataInterest = [.books]
    @inlinable public static var orderUpdates: OrderUpdateInterest { [.fills, .cancelled, .rejected] }

    public let halfSpread: Int64
    public let size: Int64
    public let skew: Int64
    public let maxPosition: Int64
    public let requote: Int64
    public let postOnly: Bool
    /// Quotes start from the market's best bid and ask, not from its mid.
    public let joinTouch: Bool
    public let instruments: [InstrumentID]

    /// Per instrument: the working bid and ask (raw order ids; 0 for none).
    @usableFromInline var bids: [UInt64]
    @usableFromInline var asks: [UInt64]
    /// Per instrument: what the last `quote` saw when a call seeing the same would send nothing
    /// (nil before any, or after one that may send again). `quote` depends only on the touch,
    /// the orders and the position (`StrategyContext.revision`), and on `bids` and `asks`, which
    /// change only with an order or a command; a call whose commands all went through sends
    /// nothing once they are acknowledged as sent (`StrategyContext.acknowledgements`). Not
    /// state: a restored strategy starts without it.
    @usableFromInline var settled: [SettledQuotes?]

    public init(_ configuration: StrategyConfiguration) throws(StrategyConfigurationError) {
        let parameters = configuration.parameters
        halfSpread = try parameters.integer("half-spread", default: 2, in: 0...1_000_000, counting: .ticks)
        size = try parameters.integer("size", default: 10, in: 1...1_000_000_000_000, counting: .lots)
        skew = try parameters.integer("skew", default: 1, in: 0...1_000_000, counting: .ticks)
        maxPosition = try parameters.integer(
            "max-position", default: 100, in: 0...1_000_000_000_000_000, counting: .lots)
        requote = try parameters.integer("requote", default: 1, in: 1...1_000_000, counting: .ticks)
        postOnly = try parameters.integer("post-only", default: 1, in: 0...1) == 1
        joinTouch = try parameters.integer("join-touch", default: 0, in: 0...1) == 1
        instruments = configuration.instruments
        bids = Array(repeating: 0, count: instruments.count)
        asks = Array(repeating: 0, count: instruments.count)
        settled = Array(repeating: nil, count: instruments.count)
    }

    public mutating func onStart(_ context: inout StrategyContext) {
        for index in 0..<instruments.count { quote(index, &context) }
    }

    @inlinable
    public mutating func onBook(_ instrument: InstrumentID, _ context: inout StrategyContext) {
        guard let index = instruments.firstIndex(of: instrument) else { return }
        quote(index, &context)
    }

    @inlinable
    public mutating func onOrderFilled(_ update: OrderUpdate, _ context: inout StrategyContext) {
        guard let index = instruments.firstIndex(of: update.order.instrument) else { return }
        if !update.order.state.isOpen { forget(update.order.id, at: index) }
        quote(index, &context)
    }

    @inlinable
    public mutating func onOrderCancelled(_ update: OrderUpdate, _ context: inout StrategyContext) {
        guard let index = instruments.firstIndex(of: update.order.instrument) else { return }
        forget(update.order.id, at: index)
    }

    @inlinable
    public mutating func onOrderRejected(_ update: OrderUpdate, _ context: inout StrategyContext) {
        guard let index = instruments.firstIndex(of: update.order.instrument), !update.order.state.isOpen else {
            return
        }
        forget(update.order.id, at: index)
    }

    @inlinable
    mutating func forget(_ id: OrderID, at index: Int) {
        if bids[index] == id.rawValue { bids[index] = 0 }
        if asks[index] == id.rawValue { asks[index] = 0 }
    }

    /// Puts the instrument's quotes where they belong.
    @inlinable
    mutating func quote(_ index: Int, _ context: inout StrategyContext) {
        let instrument = instruments[index]
        guard let mid = context.marketMid(instrument) else { return }
        if let last = settled[index], last.holds(bid: mid.bid.ticks, ask: mid.ask.ticks, context) { return }
        let net = context.netPosition(instrument)
        // Skewed, but never through the market: at most one tick inside its other side.
        let bidFrom = joinTouch ? mid.bid.ticks : mid.twiceTicks >> 1
        let askFrom = joinTouch ? mid.ask.ticks : (mid.twiceTicks &+ 1) >> 1
        let bid: Int64
        var ask: Int64
        if skew == 0 {
            // (Prices below 2^62 and a half-spread of at most 10^6 ticks: no overflow.)
            bid = Swift.min(bidFrom &- halfSpread, mid.ask.ticks &- 1)
            ask = Swift.max(askFrom &+ halfSpread, mid.bid.ticks &+ 1)
        } else {
            // In 128 bits: net × skew passes 64 at the parameters' ranges (a shift that wrapped
            // had put the quotes on the wrong side of the mid); the prices clamped back to 64.
            let shift = (0 - Int128(net) * Int128(skew)) / Int128(size)
            bid = Int64(clamping: Swift.min(Int128(bidFrom) - Int128(halfSpread) + shift, Int128(mid.ask.ticks) - 1))
            ask = Int64(clamping: Swift.max(Int128(askFrom) + Int128(halfSpread) + shift, Int128(mid.bid.ticks) + 1))
        }
        let quoting = Quoting(size: size, requote: requote, postOnly: postOnly)
        // The arrays are written only when a quote changes (a write checks their uniqueness).
        let working = (bid: bids[index], ask: asks[index])
        let (newBid, bidHeld, bidSent, bidSettles) = quoting.work(
            working.bid, side: .buy, price: bid, wanted: net &+ size <= maxPosition && bid > 0, instrument, &context)
        if newBid != working.bid { bids[index] = newBid }
        // Never the ask at or below a price its venue may hold its bid at (half-spread 0 over a
        // spread of an even number of ticks puts both at the mid; a bid kept or still being
        // moved may lie above the new mid): a post-only ask there would take its own bid, and a
        // venue refuses it. The ask goes a tick above.
        if let bidHeld, ask <= bidHeld { ask = bidHeld &+ 1 }
        let (newAsk, _, askSent, askSettles) = quoting.work(
            working.ask, side: .sell, price: ask, wanted: net &- size >= 0 &- maxPosition && ask > 0, instrument,
            &context)
        if newAsk != working.ask { asks[index] = newAsk }
        // Nothing sent: a call seeing the same sends nothing. Commands sent: once they are
        // acknowledged as sent, neither does one, unless a side waits on something else (an
        // order still in flight from before, a refused command to try again).
        let keep = bidSettles && askSettles
        let settles =
            keep || !bidSent && !askSent
            ? SettledQuotes(
                revision: context.revision, acknowledgements: context.acknowledgements, bid: mid.bid.ticks,
                ask: mid.ask.ticks, acknowledgementsKeep: keep) : nil
        if settled[index] != settles { settled[index] = settles }
    }

    public mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try visitor.visitCount(instruments.count, "market maker instruments")
        for index in 0..<instruments.count {
            try visitor.visit(&bids[index], "market maker bid")
            try visitor.visit(&asks[index], "market maker ask")
            if visitor.isRestoring { settled[index] = nil }
        }
    }
}

/// What a market maker's `quote` saw at its end, when a call seeing the same would send
/// nothing: the trading state's revision and acknowledgements, and the market's touch, in ticks.
@usableFromInline
struct SettledQuotes: Equatable, Sendable {
    @usableFromInline let revision: UInt64
    @usableFromInline let acknowledgements: UInt64
    @usableFromInline let bid: Int64
    @usableFromInline let ask: Int64
    /// Its decision also stays through acknowledgements: every quote was settled or its
    /// command went through, and none waited on an order in flight from before.
    @usableFromInline let acknowledgementsKeep: Bool

    @inlinable
    init(revision: UInt64, acknowledgements: UInt64, bid: Int64, ask: Int64, acknowledgementsKeep: Bool) {
        self.revision = revision
        self.acknowledgements = acknowledgements
        self.bid = bid
        self.ask = ask
        self.acknowledgementsKeep = acknowledgementsKeep
    }

    /// Whether a call seeing the touch `bid`, `ask` now would send nothing: the same touch, and
    /// no order or position changed since, or only by acknowledgements when they keep it.
    @inlinable
    func holds(bid: Int64, ask: Int64, _ context: borrowing StrategyContext) -> Bool {
        guard bid == self.bid, ask == self.ask else { return false }
        let changes = context.revision &- revision
        return changes == 0 || acknowledgementsKeep && changes == context.acknowledgements &- acknowledgements
    }
}

/// How the market maker works one quote (its parameters, apart from its arrays, so that working
/// a quote never copies the strategy).
@usableFromInline
struct Quoting {
    @usableFromInline let size: Int64
    @usableFromInline let requote: Int64
    @usableFromInline let postOnly: Bool

    @inlinable
    init(size: Int64, requote: Int64, postOnly: Bool) {
        self.size = size
        self.requote = requote
        self.postOnly = postOnly
    }

    /// Places, moves or withdraws one quote; returns the id now working (0 for none), the
    /// price its venue holds it at once the commands sent so far arrive (nil when it is
    /// withdrawn or there is none: the order's price, a replace's in flight, or the price just
    /// sent), whether it sent a command (or tried to: a refused one counts), and whether the
    /// quote is settled once what it sent is acknowledged as sent (`settles`: it is where it
    /// belongs, or a new order or replace that went puts it there; not while it waits on an
    /// order in flight from before, nor after a cancel or a refused command).
    @inlinable @inline(__always)
    func work(
        _ working: UInt64, side: Side, price: Int64, wanted: Bool, _ instrument: InstrumentID,
        _ context: inout StrategyContext
    ) -> (id: UInt64, held: Int64?, sent: Bool, settles: Bool) {
        if working != 0, let order = context.order(OrderID(working)) {
            if !wanted {
                guard order.state != .pendingCancel else { return (working, nil, false, false) }
                context.cancel(order.id)
                return (working, nil, true, false)
            }
            if order.state == .pendingCancel { return (working, nil, false, false) }
            // (Its venue takes commands in order: a replace in flight lands before anything sent
            // after it.)
            let held = order.state == .pendingReplace ? order.pendingPrice.ticks : order.price.ticks
            let busy = order.state == .pendingReplace || order.state == .pendingNew
            guard !busy, (order.price.ticks &- price).magnitude >= UInt64(requote) else {
                return (working, held, false, !busy)
            }
            // A replace the risk checks refused leaves the order as it was (its venue keeps
            // the old price), and the revision where it was; one that went moves it.
            let before = context.revision
            let moved =
                context.replace(
                    order.id, price: Price(ticks: price), quantity: Quantity(lots: order.filled.lots &+ size))
                && context.revision != before
            return (working, moved ? price : held, true, moved)
        }
        guard wanted else { return (0, nil, false, true) }
        let before = context.revision
        let id = context.submitLimit(
            instrument, side, price: Price(ticks: price), quantity: Quantity(lots: size),
            timeInForce: postOnly ? .postOnly : .goodTillCancel)
        // An order the risk checks refused has an id (its reject update follows) but never
        // reaches its venue, and leaves the revision where it was: nothing is held.
        let entered = id != nil && context.revision != before
        return (id?.rawValue ?? 0, entered ? price : nil, true, entered)
    }

}
