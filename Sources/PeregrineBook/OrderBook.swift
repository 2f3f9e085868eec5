import PeregrineModel

/// A level-3 order book and matching engine for one instrument: price levels holding FIFO
/// queues of resting orders, price-time priority, stop orders waiting off the book, and an
/// execution report for every state change (see `process(_:sink:)` and docs/matching.md).
///
/// Layout: four `PriceLadder`s (bids, asks, buy stops, sell stops), each a `LevelStore` of
/// order queues, so every positive price on the tick grid is accepted however far it is from
/// the rest, plus a preallocated order pool and an order-id hash table. Processing a command
/// never traps on any input and costs O(1) near the touch (O(log levels) for a level deep in a
/// sorted store) plus O(1) per fill, per order removed and per stop triggered; it allocates only
/// when a side's sorted store doubles (amortised, counted in `levelStoreGrowths`).
/// Deterministic: the same commands always give the same reports and state. Single-threaded:
/// one owner thread.
public struct OrderBook: ~Copyable {
    public let instrument: InstrumentID
    @usableFromInline let tickSize: Int64
    @usableFromInline let lotSize: Int64
    @usableFromInline let maxQuantity: Int64
    @usableFromInline let selfTradePolicy: SelfTradePolicy
    @usableFromInline let collarBasisPoints: Int64
    @usableFromInline let triggersStopsInMarket: Bool
    /// bids, asks, buy stops, sell stops (see `resting(_:)` and `stops(_:)`).
    @usableFromInline let ladders: UnsafeMutablePointer<PriceLadder>
    @usableFromInline var pool: OrderPool
    @usableFromInline var ids: OrderIDMap
    /// Stops triggered by the current command, in trigger order, waiting to enter the book.
    @usableFromInline var triggeredHead: Int32 = -1
    @usableFromInline var triggeredTail: Int32 = -1
    /// The last trade's price; meaningful once `hasTraded`.
    @usableFromInline var lastTradeTicks: Int64 = 0
    @usableFromInline var hasTraded = false
    @usableFromInline var tradeCount: UInt64 = 0
    /// Priority stamps: incremented each time an order joins a queue.
    @usableFromInline var sequence: UInt64 = 0
    @usableFromInline var _counters = MatchingCounters()
    /// What the book has done so far.
    public var counters: MatchingCounters { _counters }

    /// A book following `spec`'s rules; throws `BookError.invalidSpec` naming the rule that
    /// does not hold. Allocates the pool, the id table and the four windows at once (see
    /// `InstrumentSpec` for the memory it takes).
    public init(spec: InstrumentSpec) throws(BookError) {
        try spec.validate()
        instrument = spec.instrument
        tickSize = spec.tickSize
        lotSize = spec.lotSize
        maxQuantity = spec.maxOrderQuantity.lots
        selfTradePolicy = spec.selfTradePolicy
        collarBasisPoints = spec.priceCollarBasisPoints ?? 0
        triggersStopsInMarket = spec.stopInMarket == .trigger
        let window = spec.windowTicks
        let ceiling = spec.maxLevelsPerSide
        ladders = .allocate(capacity: 4)
        ladders.initialize(to: PriceLadder(direction: .highestFirst, windowSize: window, ceiling: ceiling))
        (ladders + 1).initialize(to: PriceLadder(direction: .lowestFirst, windowSize: window, ceiling: ceiling))
        (ladders + 2).initialize(to: PriceLadder(direction: .lowestFirst, windowSize: window, ceiling: ceiling))
        (ladders + 3).initialize(to: PriceLadder(direction: .highestFirst, windowSize: window, ceiling: ceiling))
        pool = OrderPool(capacity: spec.orderCapacity)
        ids = OrderIDMap(minimumCapacity: spec.orderCapacity)
    }

    deinit {
        ladders.deinitialize(count: 4)
        ladders.deallocate()
    }

    // MARK: Addressing

    /// The ladder of resting orders on `side`.
    @inlinable @inline(__always)
    func resting(_ side: Side) -> UnsafeMutablePointer<PriceLadder> { ladders + Int(side.rawValue) }

    /// The ladder of pending stop orders on `side` (buy stops: lowest first; sell stops:
    /// highest first, the order in which a moving price reaches them).
    @inlinable @inline(__always)
    func stops(_ side: Side) -> UnsafeMutablePointer<PriceLadder> { ladders + 2 + Int(side.rawValue) }

    /// `.none` when `price` is on the tick grid and in 1...`InstrumentSpec.maxPrice`.
    @inlinable @inline(__always)
    func check(price: Int64) -> ExecutionReason {
        if price <= 0 || price > InstrumentSpec.maxPrice { return .priceOutOfRange }
        if tickSize != 1, price % tickSize != 0 { return .priceOffTickGrid }
        return .none
    }

    /// `.none` when `price` (already checked) is within the collar around the last trade, or
    /// there is no collar or no trade yet.
    @inlinable @inline(__always)
    func checkCollar(price: Int64) -> ExecutionReason {
        if collarBasisPoints == 0 || !hasTraded { return .none }
        // |price − last| × 10,000 > collar × last, in 128 bits (prices ≤ 2^62, collar ≤ 10^6).
        let distance = Int128(price) - Int128(lastTradeTicks)
        let magnitude = distance < 0 ? -distance : distance
        return magnitude * 10_000 > Int128(collarBasisPoints) * Int128(lastTradeTicks) ? .outsidePriceCollar : .none
    }

    /// `.none` when `lots` is a positive multiple of the lot size no larger than the maximum.
    @inlinable @inline(__always)
    func check(quantity lots: Int64) -> ExecutionReason {
        if lots <= 0 || lots > maxQuantity { return .invalidQuantity }
        if lotSize != 1, lots % lotSize != 0 { return .invalidQuantity }
        return .none
    }

    /// Whether an order on `side` at `price` would trade against the other side now.
    @inlinable @inline(__always)
    func crosses(_ side: Side, at price: Int64) -> Bool {
        let other = resting(side.opposite)
        guard let best = other.pointee.best else { return false }
        let bestPrice = other.pointee.store.price(at: best)
        return side == .buy ? bestPrice <= price : bestPrice >= price
    }

    /// Whether a stop on `side` at `stopPrice` is already reached by the last trade.
    @inlinable @inline(__always)
    func stopReached(_ side: Side, at stopPrice: Int64) -> Bool {
        hasTraded && (side == .buy ? stopPrice <= lastTradeTicks : stopPrice >= lastTradeTicks)
    }

    /// How many times the four sides' sorted stores have grown (each growth allocates).
    public var levelStoreGrowths: Int {
        (0..<4).reduce(0) { $0 + ladders[$1].store.growths }
    }

    /// How many times the four sides' windows have moved to follow their touch.
    public var windowMoves: Int {
        (0..<4).reduce(0) { $0 + ladders[$1].store.windowMoves }
    }
}
