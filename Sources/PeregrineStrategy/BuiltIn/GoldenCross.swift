import PeregrineBook
import PeregrineCore
import PeregrineModel

/// Trend following on two moving averages of the mid: long `quantity` while the fast average is
/// above the slow one, short `quantity` while it is below.
///
/// Exact rules (the reference backtest's, docs/strategies.md): each sample is one mid,
/// `(bid + ask) ÷ 2`, taken at every change of a two-sided book of the instrument (a quote
/// event, or a book change); the fast and slow sums cover the last `fast` and `slow` mids;
/// from the `slow`-th sample on, the target is `+quantity` if `fast_sum × slow > slow_sum ×
/// fast`, `−quantity` if it is less, and unchanged if equal (it starts at 0): a regime, not a
/// crossing event. When the target differs from the position and no order of the strategy is
/// open on the instrument, it sends one market IOC order for the whole difference (a reversal
/// is one order of twice the quantity); what does not fill is tried again at the next sample.
/// A reversal that a risk limit on an order's quantity or notional refuses goes in two: the
/// position is closed at once (unless its closing order is refused too), the new side taken at
/// the next sample.
///
/// Parameters: `fast` (1…`slow`, default 10), `slow` (1…1,048,576, 30), `quantity` (a decimal
/// in the instrument's units on its lot grid, up to 10^12 lots; default one lot).
public struct GoldenCross: MidSampling, Sendable {
    public static let name = "golden-cross"
    /// (No order callback: it reads its position and open orders at each sample.)
    @inlinable public static var orderUpdates: OrderUpdateInterest { [] }

    public let fast: Int
    public let slow: Int
    /// The quantity per instrument, in lots (the `quantity` parameter is in the instruments' units).
    public let quantities: [Int64]
    public let instruments: [InstrumentID]
    @usableFromInline var fastSums: [RollingSum]
    @usableFromInline var slowSums: [RollingSum]
    /// The target position per instrument, in lots.
    @usableFromInline var targets: [Int64]

    public init(_ configuration: StrategyConfiguration) throws(StrategyConfigurationError) {
        let parameters = configuration.parameters
        let slow = try parameters.integer("slow", default: 30, in: 1...Int64(RollingSum.maxPeriod))
        // (A slow below the default fast is refused, naming fast: lowered to equal slow it would
        // never trade, without a word.)
        fast = Int(try parameters.integer("fast", default: 10, in: 1...slow, note: "at most slow"))
        self.slow = Int(slow)
        instruments = configuration.instruments
        quantities = try parameters.lots("quantity", lotSizes: configuration.lotSizes)
        fastSums = Array(repeating: RollingSum(period: fast), count: instruments.count)
        slowSums = Array(repeating: RollingSum(period: Int(slow)), count: instruments.count)
        targets = Array(repeating: 0, count: instruments.count)
    }

    /// One sample: the sums move on, the target follows the averages, the position the target.
    @inlinable
    public mutating func sample(_ mid: MidPrice, _ index: Int, _ context: inout StrategyContext) {
        // Twice the mid keeps it whole; the comparison is the same at any scale.
        fastSums[index].update(mid.twiceTicks)
        slowSums[index].update(mid.twiceTicks)
        guard slowSums[index].isFull else { return }
        let fastScaled = fastSums[index].sum &* Int128(slow)
        let slowScaled = slowSums[index].sum &* Int128(fast)
        if fastScaled > slowScaled {
            targets[index] = quantities[index]
        } else if fastScaled < slowScaled {
            targets[index] = 0 &- quantities[index]
        }
        let instrument = instruments[index]
        let net = context.position(instrument).net
        let missing = targets[index] &- net
        guard missing != 0, !context.hasOpenOrder(instrument) else { return }
        let side: Side = missing > 0 ? .buy : .sell
        let before = context.revision
        let id = context.submitMarket(instrument, side, quantity: Quantity(lots: Int64(clamping: missing.magnitude)))
        // A reversal whose one order a risk limit on an order's size refused (a limit between
        // the quantity and twice it): the position is closed alone, and the new side is taken at
        // the next sample (as the rule's next try for what is still missing).
        guard id != nil, context.revision == before, net != 0, (net > 0) != (missing > 0),
            missing.magnitude > net.magnitude,
            context.lastRiskRejection == .maxOrderQuantity || context.lastRiskRejection == .maxOrderNotional
        else { return }
        _ = context.submitMarket(instrument, side, quantity: Quantity(lots: Int64(clamping: net.magnitude)))
    }

    public mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try visitor.visitCount(instruments.count, "golden cross instruments")
        for index in 0..<instruments.count {
            try fastSums[index].visitState(&visitor)
            try slowSums[index].visitState(&visitor)
            try visitor.visit(&targets[index], "golden cross target")
        }
    }
}
