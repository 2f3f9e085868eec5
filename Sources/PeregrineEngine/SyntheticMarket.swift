import PeregrineCore
import PeregrineModel

/// Generates a plausible market: for each instrument a mid price doing a random walk, level
/// updates near the touch on both sides (a fifth of them removals), trades at the touch
/// (mostly small, 3% large), quotes and observed transactions.
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
    @usableFromInline var nextTransactionID: UInt64 = 1
    @usableFromInline var nextSourceSequence: UInt64 = 1

    /// Mid prices start at 1,000,000 ticks + 10,000 × instrument (instrument ids wrap at 64
    /// for the random walk state).
    public init(instruments: Int, seed: UInt64) {
        self.instruments = Swift.max(instruments, 1)
        random = SplitMix64(seed: seed)
        mids = InlineArray { index in 1_000_000 + Int64(index) * 10_000 }
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
            nextTransactionID &+= 1
        }
        let event = Event(
            timestamp: timestamp, sourceSequence: nextSourceSequence, instrument: instrument, payload: payload)
        nextSourceSequence &+= 1
        return event
    }
}
