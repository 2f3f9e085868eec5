import PeregrineBook
import PeregrineCore
import PeregrineModel

/// Generates a plausible market: for each instrument a mid price doing a random walk, level
/// updates near the touch on both sides (a fifth of them removals), trades at the touch
/// (mostly small, 3% large), quotes and observed transactions; and, when asked, order
/// commands for a hosted venue (see `nextOrder`) that trades its own instruments, numbered
/// after the market-data ones (`hostedInstruments`), so that no instrument has two books.
///
/// Deterministic for a given seed; a value type that never allocates.
public struct SyntheticMarket: Sendable {
    /// Share of each event kind, in percent.
    public static let levelUpdatePercent: UInt64 = 70
    public static let tradePercent: UInt64 = 15
    public static let quotePercent: UInt64 = 10
    /// The rest are observed transactions.

    /// Trades of at least this many lots are "large" (3% of trades).
    public static let largeTradeLots: Int64 = 500

    public let instruments: Int
    @usableFromInline var random: SplitMix64
    @usableFromInline var mids: InlineArray<64, Int64>
    @usableFromInline var nextTradeID: UInt64 = 1
    /// Percent of events that are order commands.
    public let orderFlowPercent: Int
    @usableFromInline var nextOrderID: UInt64 = 1
    /// The last 256 order ids added, for cancels and replaces.
    @usableFromInline var recentOrders: InlineArray<256, UInt64> = InlineArray(repeating: 0)
    @usableFromInline var recentCount = 0

    /// The most instruments a run with order flow may have (each has its own mid price).
    public static let venueInstrumentLimit = 64

    /// Mid prices start at 1,000,000 ticks + 10,000 × instrument (instrument ids wrap at 64
    /// for the random walk state).
    public init(instruments: Int, seed: UInt64, orderFlowPercent: Int = 0) {
        self.instruments = Swift.max(instruments, 1)
        random = SplitMix64(seed: seed)
        mids = InlineArray { index in 1_000_000 + Int64(index) * 10_000 }
        self.orderFlowPercent = Swift.min(Swift.max(orderFlowPercent, 0), 100)
    }

    /// The instruments the hosted venue trades, right after the `instruments` market-data ones
    /// (at most `venueInstrumentLimit` of them): the venue's instrument `instruments + k` takes
    /// its prices from market instrument `k`'s mid.
    public static func hostedInstruments(instruments: Int) -> Range<Int> {
        let first = Swift.max(instruments, 1)
        return first..<(first + Swift.min(first, venueInstrumentLimit))
    }

    /// The next event, stamped with `timestamp`.
    @inlinable
    public mutating func next(timestamp: UInt64) -> Event {
        let instrumentIndex = Int(random.next(below: UInt64(instruments)))
        let slot = instrumentIndex & 63
        if random.next(below: 16) == 0 {
            mids[slot] &+= random.next(below: 2) == 0 ? -1 : 1
        }
        let mid = mids[slot]
        let instrument = InstrumentID(UInt32(instrumentIndex))
        if orderFlowPercent > 0, random.next(below: 100) < UInt64(orderFlowPercent) {
            let event = Event(
                timestamp: timestamp,
                instrument: InstrumentID(UInt32(truncatingIfNeeded: instruments &+ instrumentIndex)),
                payload: .order(nextOrder(mid: mid)))
            return event
        }
        let roll = random.next(below: 100)
        let payload: EventPayload
        if roll < Self.levelUpdatePercent {
            let side: Side = random.next(below: 2) == 0 ? .buy : .sell
            let distance = 1 &+ Int64(random.next(below: 20))
            let price = side == .buy ? mid &- distance : mid &+ distance
            let lots = random.next(below: 5) == 0 ? 0 : 1 &+ Int64(random.next(below: 1_000))
            payload = .levelUpdate(LevelUpdate(side: side, price: Price(ticks: price), quantity: Quantity(lots: lots)))
        } else if roll < Self.levelUpdatePercent + Self.tradePercent {
            let aggressor: Side = random.next(below: 2) == 0 ? .buy : .sell
            let lots =
                random.next(below: 100) < 3
                ? Self.largeTradeLots &+ Int64(random.next(below: 1_500))
                : 1 &+ Int64(random.next(below: 100))
            payload = .trade(
                Trade(
                    price: Price(ticks: aggressor == .buy ? mid &+ 1 : mid &- 1), quantity: Quantity(lots: lots),
                    aggressor: aggressor, tradeID: nextTradeID))
            nextTradeID &+= 1
        } else if roll < Self.levelUpdatePercent + Self.tradePercent + Self.quotePercent {
            payload = .quote(
                Quote(
                    bidPrice: Price(ticks: mid &- 1), bidQuantity: Quantity(lots: 1 &+ Int64(random.next(below: 500))),
                    askPrice: Price(ticks: mid &+ 1), askQuantity: Quantity(lots: 1 &+ Int64(random.next(below: 500)))))
        } else {
            payload = .transaction(
                Transaction(
                    id: random.next(), instrument: instrument, side: random.next(below: 2) == 0 ? .buy : .sell,
                    price: Price(ticks: mid), quantity: Quantity(lots: 1 &+ Int64(random.next(below: 10_000))),
                    origin: .observed, priorityFee: UInt16(truncatingIfNeeded: random.next(below: 200))))
        }
        let event = Event(
            timestamp: timestamp, instrument: instrument, payload: payload)
        return event
    }

    /// A blind order flow around `mid` (the generator does not see the book): 50% passive
    /// limit adds 1–20 ticks from the mid, 35% cancels and 5% replaces of one of the last 256
    /// orders added (some already filled, which the engine rejects as unknown), 10% IOC orders
    /// crossing 3 ticks through the mid. An order's side and its account (1–100) follow from
    /// its id, so cancels and replaces come from the owner.
    @inlinable
    public mutating func nextOrder(mid: Int64) -> OrderCommand {
        let roll = random.next(below: 100)
        if roll < 50 || recentCount == 0 {
            let id = nextOrderID
            nextOrderID &+= 1
            recentOrders[recentCount & 255] = id
            recentCount &+= 1
            let side = Self.side(ofOrder: id)
            let distance = 1 &+ Int64(random.next(below: 20))
            return .limit(
                OrderID(id), account: Self.owner(ofOrder: id), side,
                price: Price(ticks: side == .buy ? mid &- distance : mid &+ distance),
                quantity: Quantity(lots: 1 &+ Int64(random.next(below: 100))))
        }
        if roll < 95 {
            let window = UInt64(Swift.min(recentCount, 256))
            let id = recentOrders[Int((UInt64(recentCount) &- 1 &- random.next(below: window)) & 255)]
            if roll < 85 { return .cancel(OrderID(id), account: Self.owner(ofOrder: id)) }
            let side = Self.side(ofOrder: id)
            let distance = 1 &+ Int64(random.next(below: 20))
            return .replace(
                OrderID(id), account: Self.owner(ofOrder: id),
                price: Price(ticks: side == .buy ? mid &- distance : mid &+ distance),
                quantity: Quantity(lots: 1 &+ Int64(random.next(below: 100))))
        }
        let id = nextOrderID
        nextOrderID &+= 1
        let side: Side = random.next(below: 2) == 0 ? .buy : .sell
        return .limit(
            OrderID(id), account: Self.owner(ofOrder: id), side,
            price: Price(ticks: side == .buy ? mid &+ 3 : mid &- 3),
            quantity: Quantity(lots: 1 &+ Int64(random.next(below: 150))), timeInForce: .immediateOrCancel)
    }

    @inlinable
    static func side(ofOrder id: UInt64) -> Side { id & 1 == 0 ? .buy : .sell }

    @inlinable
    static func owner(ofOrder id: UInt64) -> AccountID { AccountID(UInt32(truncatingIfNeeded: 1 &+ id % 100)) }
}
