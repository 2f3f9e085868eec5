import PeregrineModel

/// One strategy's limits in one instrument, in the instrument's ticks, lots and money. A limit
/// that is off holds its `off` value, so every check is one comparison. Exactly at a limit
/// passes; one lot or tick beyond is refused.
@frozen
public struct InstrumentLimits: Hashable, Sendable, BitwiseCopyable {
    /// The most lots one order may have.
    public var maxOrderLots: Int64
    /// The most price × quantity one order may have (a market order valued at the mark).
    public var maxOrderNotional: Money {
        didSet { maxOrderTwiceTickLots = Self.twiceTickLots(maxOrderNotional) }
    }
    /// The same limit as twice ticks × lots (⌊units ÷ (10^8 ÷ 2)⌋), so a check is one comparison.
    public private(set) var maxOrderTwiceTickLots: Int128
    /// How far from the mid a price may be, in basis points (-1: no collar).
    public var collarBasisPoints: Int64
    /// The most open orders at once.
    public var maxOpenOrders: Int32
    /// The largest net position, long or short, with every open order on the order's side
    /// counted as filled.
    public var maxPositionLots: Int64

    public init(
        maxOrderLots: Int64 = .max, maxOrderNotional: Money = Money(units: .max), collarBasisPoints: Int64 = -1,
        maxOpenOrders: Int32 = .max, maxPositionLots: Int64 = .max
    ) {
        self.maxOrderLots = maxOrderLots
        self.maxOrderNotional = maxOrderNotional
        maxOrderTwiceTickLots = Self.twiceTickLots(maxOrderNotional)
        self.collarBasisPoints = collarBasisPoints
        self.maxOpenOrders = maxOpenOrders
        self.maxPositionLots = maxPositionLots
    }

    /// Every check off.
    public static let none = InstrumentLimits()

    static func twiceTickLots(_ money: Money) -> Int128 {
        money.units == .max ? .max : money.units / (Money.unitsPerTickLot / 2)
    }

    /// Whether any check is on.
    public var isActive: Bool { self != .none }
}

/// The pre-trade checks, each a pure function of integers: no allocation, no branches beyond
/// the comparison. Prices are ticks, quantities lots, the mark is twice the mid in ticks (the
/// mid may fall half a tick off the grid; 0 when no mid is known).
public enum RiskChecks {
    /// Quantity within the maximum order quantity.
    @inlinable
    public static func orderQuantity(lots: Int64, limit: Int64) -> Bool { lots <= limit }

    /// Twice an order's notional, ticks × lots: at its price, or at the mark for a market
    /// order (nil when it has neither). Exact for any prices and quantities (two 64-bit values
    /// multiply into 128 bits).
    @inlinable
    public static func twiceNotional(priceTicks: Int64, lots: Int64, twiceMark: Int64) -> Int128? {
        guard priceTicks > 0 || twiceMark > 0 else { return nil }
        let product = product(priceTicks > 0 ? priceTicks : twiceMark, lots)
        return priceTicks > 0 ? (product > Int128.max / 2 ? .max : product &* 2) : product
    }

    /// `a × b` exactly, in 128 bits (one multiplication instruction).
    @inlinable
    public static func product(_ a: Int64, _ b: Int64) -> Int128 {
        let (high, low) = a.multipliedFullWidth(by: b)
        return Int128(high) << 64 | Int128(low)
    }

    /// `a × b` for non-negative values, saturating at `Int128.max`; one 64-bit multiplication
    /// when both fit in 63 bits.
    @inlinable
    public static func saturatingProduct(_ a: Int128, _ b: Int128) -> Int128 {
        if a >= 0, b >= 0, a <= Int128(Int64.max), b <= Int128(Int64.max) {
            return product(Int64(truncatingIfNeeded: a), Int64(truncatingIfNeeded: b))
        }
        let (value, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? .max : value
    }

    /// Notional within the maximum, both as twice ticks × lots (`InstrumentLimits
    /// .maxOrderTwiceTickLots`); a market order with no mark is refused: it cannot be valued.
    @inlinable
    public static func orderNotional(twiceNotional: Int128?, limitTwiceTickLots: Int128) -> Bool {
        guard let twiceNotional else { return false }
        return twiceNotional <= limitTwiceTickLots
    }

    /// A price within `basisPoints` of the mid: |price − mid| × 10,000 ≤ mid × bp, exactly
    /// (|2 price − 2 mid| × 10,000 ≤ 2 mid × bp). No mid, no collar.
    @inlinable
    public static func priceCollar(priceTicks: Int64, twiceMark: Int64, basisPoints: Int64) -> Bool {
        guard twiceMark > 0, priceTicks > 0 else { return true }
        let distance = (Int128(priceTicks) &* 2 &- Int128(twiceMark)).magnitude
        return distance &* 10_000 <= UInt128(twiceMark) &* UInt128(basisPoints)
    }

    /// Room for one more open order.
    @inlinable
    public static func openOrders(open: Int32, limit: Int32) -> Bool { open < limit }

    /// The position with every open order on the order's side filled, and this one, within
    /// ±limit: a buy checks `net + open buys + lots ≤ limit`, a sell `−(net − open sells −
    /// lots) ≤ limit`.
    @inlinable
    public static func position(side: Side, lots: Int64, net: Int64, openSameSide: Int64, limit: Int64) -> Bool {
        let worst =
            side == .buy
            ? Int128(net) &+ Int128(openSameSide) &+ Int128(lots)
            : Int128(openSameSide) &+ Int128(lots) &- Int128(net)
        return worst <= Int128(limit)
    }

    /// Gross exposure (already summed, in a currency's units) within the maximum.
    @inlinable
    public static func grossExposure(_ exposure: Int128, limit: Int128) -> Bool { exposure <= limit }
}
