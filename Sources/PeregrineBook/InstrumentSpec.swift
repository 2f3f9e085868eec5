import PeregrineModel

/// The trading rules of one instrument's order book, checked once at set-up.
///
/// Prices and quantities are in the model's ticks and lots; `tickSize` and `lotSize` are the
/// grid orders must sit on, in those units (a tick size of 5 accepts prices 100, 105, ...).
/// The price band `minPrice...maxPrice` is the range of the book's price ladder: orders and
/// stop prices outside it are rejected. Memory is about 96 bytes per band level (four
/// ladders: bids, asks, buy stops, sell stops) plus 96 bytes per order of capacity.
public struct InstrumentSpec: Equatable, Sendable {
    public var instrument: InstrumentID
    public var tickSize: Int64
    public var lotSize: Int64
    public var minPrice: Price
    public var maxPrice: Price
    /// The most orders that can be live at once (resting plus pending stops).
    public var orderCapacity: Int
    /// The largest quantity one order may have.
    public var maxOrderQuantity: Quantity
    public var selfTradePolicy: SelfTradePolicy

    public init(
        instrument: InstrumentID, tickSize: Int64 = 1, lotSize: Int64 = 1, minPrice: Price, maxPrice: Price,
        orderCapacity: Int, maxOrderQuantity: Quantity = Quantity(lots: 1_000_000_000_000),
        selfTradePolicy: SelfTradePolicy = SelfTradePolicy()
    ) {
        self.instrument = instrument
        self.tickSize = tickSize
        self.lotSize = lotSize
        self.minPrice = minPrice
        self.maxPrice = maxPrice
        self.orderCapacity = orderCapacity
        self.maxOrderQuantity = maxOrderQuantity
        self.selfTradePolicy = selfTradePolicy
    }

    /// The most price levels a band may span.
    public static let maxBandLevels: Int64 = 1 << 22
    /// The most orders a book may hold.
    public static let maxOrderCapacity = 1 << 23

    /// The number of price levels in the band.
    public var bandLevels: Int { Int((maxPrice.ticks - minPrice.ticks) / tickSize + 1) }

    /// Throws a `BookError` naming the first rule that does not hold.
    public func validate() throws(BookError) {
        guard tickSize > 0 else { throw .invalidSpec(instrument: instrument, "tick size \(tickSize) must be positive") }
        guard lotSize > 0 else { throw .invalidSpec(instrument: instrument, "lot size \(lotSize) must be positive") }
        guard minPrice.ticks % tickSize == 0, maxPrice.ticks % tickSize == 0 else {
            throw .invalidSpec(
                instrument: instrument,
                "price band \(minPrice.ticks)...\(maxPrice.ticks) must sit on the tick grid (\(tickSize))")
        }
        let (span, overflow) = maxPrice.ticks.subtractingReportingOverflow(minPrice.ticks)
        guard !overflow, span >= 0, span / tickSize < Self.maxBandLevels else {
            throw .invalidSpec(
                instrument: instrument,
                "price band \(minPrice.ticks)...\(maxPrice.ticks) must be ordered and span at most \(Self.maxBandLevels) ticks"
            )
        }
        guard (1...Self.maxOrderCapacity).contains(orderCapacity) else {
            throw .invalidSpec(
                instrument: instrument, "order capacity \(orderCapacity) must be 1 to \(Self.maxOrderCapacity)")
        }
        // Level and book totals are sums of open quantities: keep them clear of overflow.
        let (total, totalOverflow) = maxOrderQuantity.lots.multipliedReportingOverflow(by: Int64(orderCapacity))
        guard maxOrderQuantity.lots >= lotSize, !totalOverflow, total < Int64.max / 2 else {
            throw .invalidSpec(
                instrument: instrument,
                "max order quantity \(maxOrderQuantity.lots) times capacity \(orderCapacity) must stay below 2^62 (and be at least one lot)"
            )
        }
    }
}
