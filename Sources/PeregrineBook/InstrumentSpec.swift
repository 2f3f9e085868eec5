import PeregrineModel

/// What the book does with a stop order whose stop price the last trade has already reached.
public enum StopInMarketPolicy: String, Sendable, CaseIterable {
    /// Reject it (`stop-would-trigger-immediately`): the sender meant a price not yet reached.
    case reject
    /// Accept it and trigger it at once: it enters the book as its market or limit order.
    case trigger
}

/// The trading rules of one instrument's order book, checked once at set-up.
///
/// Prices and quantities are in the model's ticks and lots; `tickSize` and `lotSize` are the
/// grid orders must sit on, in those units (a tick size of 5 accepts prices 100, 105, ...).
/// Any positive price on the grid up to `maxPrice` is accepted: there is no price band. The
/// book holds `windowTicks` ticks of each side densely around the side's best level (where its
/// first level opens, then following the touch when it leaves them; 24 bytes a tick, four sides:
/// bids, asks, buy stops, sell stops) and every other level
/// in a sorted store that grows with the levels held, up to `maxLevelsPerSide`; plus 96 bytes
/// per order of capacity.
public struct InstrumentSpec: Equatable, Sendable {
    public var instrument: InstrumentID
    public var tickSize: Int64
    public var lotSize: Int64
    /// The most orders that can be live at once (resting plus pending stops).
    public var orderCapacity: Int
    /// The largest quantity one order may have.
    public var maxOrderQuantity: Quantity
    public var selfTradePolicy: SelfTradePolicy
    /// Ticks held densely per side (a speed setting only: every price is accepted).
    public var windowTicks: Int
    /// The most price levels one side (or one side's stops) may hold; an order that would open
    /// one more is rejected (`level-ceiling`).
    public var maxLevelsPerSide: Int
    /// A venue-side price collar: a limit price more than this many basis points from the last
    /// trade price is rejected (`outside-price-collar`). nil: no collar; no trade yet: no collar.
    public var priceCollarBasisPoints: Int64?
    public var stopInMarket: StopInMarketPolicy

    public init(
        instrument: InstrumentID, tickSize: Int64 = 1, lotSize: Int64 = 1, orderCapacity: Int,
        maxOrderQuantity: Quantity = Quantity(lots: InstrumentSpec.defaultMaxOrderLots),
        selfTradePolicy: SelfTradePolicy = SelfTradePolicy(), windowTicks: Int = InstrumentSpec.defaultWindowTicks,
        maxLevelsPerSide: Int = InstrumentSpec.defaultMaxLevelsPerSide, priceCollarBasisPoints: Int64? = nil,
        stopInMarket: StopInMarketPolicy = .reject
    ) {
        self.instrument = instrument
        self.tickSize = tickSize
        self.lotSize = lotSize
        self.orderCapacity = orderCapacity
        self.maxOrderQuantity = maxOrderQuantity
        self.selfTradePolicy = selfTradePolicy
        self.windowTicks = windowTicks
        self.maxLevelsPerSide = maxLevelsPerSide
        self.priceCollarBasisPoints = priceCollarBasisPoints
        self.stopInMarket = stopInMarket
    }

    /// The highest price an order may have, in ticks (2^62: sums and collar arithmetic on
    /// prices stay clear of overflow).
    @inlinable public static var maxPrice: Int64 { 1 << 62 }
    /// The largest order by default: 10^12 lots (whatever the lot size).
    public static let defaultMaxOrderLots: Int64 = 1_000_000_000_000
    /// The most orders a book may hold.
    public static let maxOrderCapacity = 1 << 23
    /// The dense window per side: 65,536 ticks (1.5 MB a book).
    public static let defaultWindowTicks = 1 << 16
    /// The most ticks a dense window may cover.
    public static let maxWindowTicks = 1 << 22
    /// The default most levels per side: 2^22.
    public static let defaultMaxLevelsPerSide = 1 << 22
    /// The widest collar: 1,000,000 bps (100×).
    public static let maxCollarBasisPoints: Int64 = 1_000_000

    /// Throws a `BookError` naming the first rule that does not hold.
    public func validate() throws(BookError) {
        guard tickSize > 0 else { throw .invalidSpec(instrument: instrument, "tick size \(tickSize) must be positive") }
        guard lotSize > 0 else { throw .invalidSpec(instrument: instrument, "lot size \(lotSize) must be positive") }
        guard (64...Self.maxWindowTicks).contains(windowTicks) else {
            throw .invalidSpec(
                instrument: instrument, "window of \(windowTicks) ticks must be 64 to \(Self.maxWindowTicks)")
        }
        guard maxLevelsPerSide >= 1 else {
            throw .invalidSpec(instrument: instrument, "most levels per side \(maxLevelsPerSide) must be at least 1")
        }
        if let collar = priceCollarBasisPoints, !(1...Self.maxCollarBasisPoints).contains(collar) {
            throw .invalidSpec(
                instrument: instrument, "price collar of \(collar) bps must be 1 to \(Self.maxCollarBasisPoints)")
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
