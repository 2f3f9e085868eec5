import PeregrineModel

/// A level-3 order book and matching engine for one instrument: price levels holding FIFO
/// queues of resting orders, price-time priority, stop orders waiting off the book, and an
/// execution report for every state change (see `process(_:sink:)` and docs/matching.md).
///
/// Layout: four price ladders over the instrument's price band (bids, asks, buy stops, sell
/// stops) whose levels link orders held in a preallocated pool, plus an order-id hash table.
/// Everything is allocated once in `init`; processing a command never allocates, never
/// traps on any input, and costs O(1) plus O(1) per fill, per order removed and per stop
/// triggered. Deterministic: the same commands always give the same reports and state.
/// Single-threaded: one owner thread.
public struct OrderBook: ~Copyable {
    public let instrument: InstrumentID
    @usableFromInline let minPrice: Int64
    @usableFromInline let maxPrice: Int64
    @usableFromInline let tickSize: Int64
    @usableFromInline let lotSize: Int64
    @usableFromInline let maxQuantity: Int64
    @usableFromInline let selfTradePolicy: SelfTradePolicy
    /// bids, asks, buy stops, sell stops (see `resting(_:)` and `stops(_:)`).
    @usableFromInline let ladders: UnsafeMutablePointer<PriceLadder>
    @usableFromInline var pool: OrderPool
    @usableFromInline var ids: OrderIDMap
    /// Stops triggered by the current command, in trigger order, waiting to enter the book.
    @usableFromInline var triggeredHead: Int32 = -1
    @usableFromInline var triggeredTail: Int32 = -1
    /// Ladder index of the last trade's price, -1 before the first trade.
    @usableFromInline var lastTradeIndex: Int = -1
    @usableFromInline var tradeCount: UInt64 = 0
    /// Priority stamps: incremented each time an order joins a queue.
    @usableFromInline var sequence: UInt64 = 0
    @usableFromInline var _counters = MatchingCounters()
    /// What the book has done so far.
    public var counters: MatchingCounters { _counters }

    /// A book following `spec`'s rules; throws `BookError.invalidSpec` naming the rule that
    /// does not hold. Allocates the whole book (see `InstrumentSpec` for the memory it takes).
    public init(spec: InstrumentSpec) throws(BookError) {
        try spec.validate()
        instrument = spec.instrument
        minPrice = spec.minPrice.ticks
        maxPrice = spec.maxPrice.ticks
        tickSize = spec.tickSize
        lotSize = spec.lotSize
        maxQuantity = spec.maxOrderQuantity.lots
        selfTradePolicy = spec.selfTradePolicy
        let levels = spec.bandLevels
        ladders = .allocate(capacity: 4)
        ladders.initialize(to: PriceLadder(size: levels, bestIsHighest: true))
        (ladders + 1).initialize(to: PriceLadder(size: levels, bestIsHighest: false))
        (ladders + 2).initialize(to: PriceLadder(size: levels, bestIsHighest: false))
        (ladders + 3).initialize(to: PriceLadder(size: levels, bestIsHighest: true))
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

    /// The ladder index of a price already known to be in the band and on the grid.
    @inlinable @inline(__always)
    func index(of price: Int64) -> Int {
        let offset = price &- minPrice
        return Int(tickSize == 1 ? offset : offset / tickSize)
    }

    @inlinable @inline(__always)
    func price(at index: Int) -> Int64 { minPrice &+ Int64(index) &* tickSize }

    /// `.none` when `price` is on the tick grid and inside the band.
    @inlinable @inline(__always)
    func check(price: Int64) -> ExecutionReason {
        if tickSize != 1, price % tickSize != 0 { return .priceOffTickGrid }
        if price < minPrice || price > maxPrice { return .priceOutOfBand }
        return .none
    }

    /// `.none` when `lots` is a positive multiple of the lot size no larger than the maximum.
    @inlinable @inline(__always)
    func check(quantity lots: Int64) -> ExecutionReason {
        if lots <= 0 || lots > maxQuantity { return .invalidQuantity }
        if lotSize != 1, lots % lotSize != 0 { return .invalidQuantity }
        return .none
    }

    /// Whether an order on `side` at ladder `index` would trade against the other side now.
    @inlinable @inline(__always)
    func crosses(_ side: Side, at index: Int) -> Bool {
        let best = resting(side.opposite).pointee.best
        if best < 0 { return false }
        return side == .buy ? best <= index : best >= index
    }
}
