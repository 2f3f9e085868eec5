import PeregrineCore
import PeregrineModel

/// One strategy's position in one instrument, and its P&L, kept exactly from its fills.
///
/// **Average cost.** `openCost` is the exact signed cost of the open quantity (Σ price × lots
/// of the fills that opened it, in ticks × lots; negative for a short). A fill that adds to the
/// position adds its notional; a fill that reduces it releases the open cost in proportion,
/// `openCost × reduced ÷ |net|` rounded half-even to a whole tick × lot (all of it when the
/// position closes), and realises `exit notional − released cost` (sign-adjusted for shorts).
/// A fill that crosses zero closes the position, then opens the rest at its price. So
/// realised P&L is exact, a flat position has no cost left, and
/// `realised + unrealised = Σ −signed quantity × price + net × mark` exactly (cash flow).
///
/// **Average entry price** (`averageEntry`) is `openCost ÷ net` rounded half-even to the
/// instrument's tick grid: for display and for strategies; the P&L never uses the rounded value.
///
/// **Unrealised** P&L is marked to the instrument's mid (`(bid + ask) ÷ 2`, which may be half a
/// tick): `net × mid − openCost`. **Fees** are each fill's notional times the instrument's
/// maker or taker rate (negative for a rebate).
///
/// Amounts are `Money` (10^-8 tick × lot). A trivial value: no allocation.
@frozen
public struct Position: Hashable, Sendable, BitwiseCopyable {
    /// Net quantity in lots: positive long, negative short.
    public private(set) var net: Int64 = 0
    /// Exact cost of the open quantity, ticks × lots (signed like `net`).
    public private(set) var openCost: Int128 = 0
    public private(set) var realised: Money = .zero
    public private(set) var fees: Money = .zero
    /// Σ filled lots, both sides.
    public private(set) var volume: Int128 = 0
    /// Σ price × lots of every fill, ticks × lots.
    public private(set) var turnover: Int128 = 0
    public private(set) var fills: Int64 = 0
    /// Lots bought and sold.
    public private(set) var bought: Int128 = 0
    public private(set) var sold: Int128 = 0
    /// Set when a sum left the range it is exact in (beyond any real market); the figures are
    /// then reported as overflowed.
    public private(set) var overflowed = false

    public init() {}

    /// Applies one fill of `quantity` at `price` on `side`, charging `fee`.
    public mutating func apply(side: Side, price: Price, quantity: Quantity, fee: Money) {
        let lots = quantity.lots
        guard lots > 0 else { return }
        let signed = side == .buy ? lots : 0 &- lots
        let notional = Int128(price.ticks) &* Int128(lots)
        fills &+= 1
        volume &+= Int128(lots)
        turnover &+= notional
        if side == .buy { bought &+= Int128(lots) } else { sold &+= Int128(lots) }
        fees += fee
        let after = Self.afterFill(net: net, openCost: openCost, signed: signed, price: price.ticks)
        net = after.net
        openCost = after.openCost
        if let gain = after.realised { realised += Money(tickLots: gain) }
        if after.overflowed { overflowed = true }
        check()
    }

    /// What a fill of `signed` lots (bought: positive) at `price` ticks does to a position of
    /// `net` lots whose open cost is `openCost`, at average cost as `apply` documents: the net
    /// position and open cost after it, what it realised when it reduced the position (ticks ×
    /// lots; nil when it only added), and whether a step left the exact range. Pure; the one
    /// place this arithmetic lives (the backtest's closing fills use it too).
    @inlinable
    public static func afterFill(net: Int64, openCost: Int128, signed: Int64, price: Int64)
        -> (net: Int64, openCost: Int128, realised: Int128?, overflowed: Bool)
    {
        if net == 0 || (net > 0) == (signed > 0) {
            let (sum, overflow) = net.addingReportingOverflow(signed)
            return (sum, openCost &+ Int128(signed) &* Int128(price), nil, overflow)
        }
        let held = net.magnitude
        let closing = Swift.min(signed.magnitude, held)
        let (share, shareOverflow) = openCost.multipliedReportingOverflow(by: Int128(closing))
        let released = closing == held ? openCost : roundedHalfEven(share, dividedBy: Int128(held))
        let exit = Int128(price) &* Int128(closing)
        // Long: sold `closing` for `exit`, which cost `released`. Short: bought back for `exit`
        // what had brought in `-released`.
        let gain = net > 0 ? exit &- released : (0 &- released) &- exit
        var after = net &+ (net > 0 ? 0 &- Int64(truncatingIfNeeded: closing) : Int64(truncatingIfNeeded: closing))
        var cost = openCost &- released
        var overflowed = shareOverflow
        let rest = signed.magnitude &- closing
        if rest > 0 {
            // It crossed zero: the rest opens at its price.
            let opened = signed > 0 ? Int64(truncatingIfNeeded: rest) : 0 &- Int64(truncatingIfNeeded: rest)
            let (sum, overflow) = after.addingReportingOverflow(opened)
            after = sum
            overflowed = overflowed || overflow
            cost &+= Int128(opened) &* Int128(price)
        }
        return (after, cost, gain, overflowed)
    }

    /// Flags sums beyond 2^100 ticks × lots (far past any real market; money, 10^8 times
    /// larger, stays inside Int128).
    mutating func check() {
        let limit: UInt128 = 1 << 100
        if openCost.magnitude > limit || turnover.magnitude > limit || realised.units.magnitude > limit << 26 {
            overflowed = true
        }
    }

    /// The average entry price, rounded half-even to the tick grid; nil when flat.
    @inlinable
    public var averageEntry: Price? {
        guard net != 0 else { return nil }
        let ticks = Self.roundedHalfEven(openCost, dividedBy: Int128(net))
        return Price(ticks: Int64(clamping: ticks))
    }

    /// Unrealised P&L marked to the mid of `bid` and `ask` (zero when flat).
    @inlinable
    public func unrealised(bid: Price, ask: Price) -> Money {
        guard net != 0 else { return .zero }
        // net × (bid + ask) / 2 − openCost, in units of 10^-8 tick × lot (exact: 10^8 is even).
        let twiceMark = Int128(net) &* (Int128(bid.ticks) &+ Int128(ask.ticks))
        return Money(units: twiceMark &* (Money.unitsPerTickLot / 2) &- openCost &* Money.unitsPerTickLot)
    }

    /// Unrealised P&L marked at one price.
    @inlinable
    public func unrealised(at price: Price) -> Money { unrealised(bid: price, ask: price) }

    /// `numerator ÷ denominator` rounded to the nearest integer, ties to even.
    @inlinable
    public static func roundedHalfEven(_ numerator: Int128, dividedBy denominator: Int128) -> Int128 {
        guard denominator != 0 else { return 0 }
        // In 64 bits when both fit (a position's cost share nearly always does): a 128-bit
        // division is a library call tens of times slower. (A positive divisor: no overflow.)
        if denominator > 0, let small = Int64(exactly: numerator), let divisor = Int64(exactly: denominator) {
            return Int128(halfEven(small, divisor))
        }
        return halfEven(numerator, denominator)
    }

    /// `roundedHalfEven` at one width (`denominator` not 0).
    @inlinable @inline(__always)
    static func halfEven<Integer: FixedWidthInteger & SignedInteger>(
        _ numerator: Integer, _ denominator: Integer
    ) -> Integer {
        let (quotient, remainder) = numerator.quotientAndRemainder(dividingBy: denominator)
        // Compare 2|r| with |d| (truncating division: the remainder has the numerator's sign).
        let twice = remainder.magnitude &* 2
        let whole = denominator.magnitude
        guard twice > whole || (twice == whole && quotient & 1 != 0) else { return quotient }
        return (numerator < 0) != (denominator < 0) ? quotient &- 1 : quotient &+ 1
    }

    /// Every field, for state hashes and snapshots.
    public mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try visitor.visit(&net, "position net")
        try visitor.visit(&openCost, "position open cost")
        try visitor.visit(&realised.units, "position realised")
        try visitor.visit(&fees.units, "position fees")
        try visitor.visit(&volume, "position volume")
        try visitor.visit(&turnover, "position turnover")
        try visitor.visit(&fills, "position fills")
        try visitor.visit(&bought, "position bought")
        try visitor.visit(&sold, "position sold")
        try visitor.visit(&overflowed, "position overflowed")
    }
}
