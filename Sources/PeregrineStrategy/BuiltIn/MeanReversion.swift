import PeregrineBook
import PeregrineCore
import PeregrineModel

/// Mean reversion on the z-score of the mid against its rolling mean.
///
/// Each sample is one mid taken at every change of a two-sided book (a quote event or a book
/// change). Once `window` mids are held, the z-score of the newest mid against them
/// (`RollingSum.zScore`, from exact sums) decides: short `quantity` while z > `entry`, long while
/// z < −`entry` (an entry that filled in part is completed at the next such sample); long, it
/// closes when z ≥ −`exit`; short, when z ≤ `exit`; in between it holds what it has. Orders are
/// market IOC for the difference, one at a time per instrument.
///
/// Parameters: `window` (2…1,048,576, default 50), `entry` (0.001…1000, 2.0), `exit`
/// (0…`entry`, 0.5), `quantity` (a decimal in the instrument's units on its lot grid, up to
/// 10^12 lots; default one lot).
public struct MeanReversion: MidSampling, Sendable {
    public static let name = "mean-reversion"
    /// (No order callback: it reads its position and open orders at each sample.)
    @inlinable public static var orderUpdates: OrderUpdateInterest { [] }

    public let window: Int
    /// Thresholds in thousandths.
    public let entry: Int64
    public let exit: Int64
    /// The quantity per instrument, in lots (the `quantity` parameter is in the instruments' units).
    public let quantities: [Int64]
    public let instruments: [InstrumentID]
    @usableFromInline var windows: [RollingSum]

    public init(_ configuration: StrategyConfiguration) throws(StrategyConfigurationError) {
        let parameters = configuration.parameters
        window = Int(try parameters.integer("window", default: 50, in: 2...Int64(RollingSum.maxPeriod)))
        entry = try parameters.fixed("entry", default: "2.0", decimals: 3, in: 1...1_000_000)
        exit = try parameters.fixed("exit", default: "0.5", decimals: 3, in: 0...entry, note: "at most entry")
        instruments = configuration.instruments
        quantities = try parameters.lots("quantity", lotSizes: configuration.lotSizes)
        windows = Array(repeating: RollingSum(period: window), count: instruments.count)
    }

    @inlinable
    public mutating func sample(_ mid: MidPrice, _ index: Int, _ context: inout StrategyContext) {
        windows[index].update(mid.twiceTicks)
        guard windows[index].isFull else { return }
        let z = windows[index].zScore(of: mid.twiceTicks)
        let entryLevel = Double(entry) / 1_000
        let exitLevel = Double(exit) / 1_000
        let instrument = instruments[index]
        let net = context.position(instrument).net
        let target: Int64
        if net == 0 {
            let quantity = quantities[index]
            target = z > entryLevel ? 0 &- quantity : (z < -entryLevel ? quantity : 0)
        } else if net > 0 {
            // Long: still beyond the entry, the whole quantity (what an entry that filled in
            // part left missing is bought); past the exit, flat; between them, as it is.
            target = z >= -exitLevel ? 0 : (z < -entryLevel ? quantities[index] : net)
        } else {
            target = z <= exitLevel ? 0 : (z > entryLevel ? 0 &- quantities[index] : net)
        }
        let missing = target &- net
        guard missing != 0, !context.hasOpenOrder(instrument) else { return }
        _ = context.submitMarket(
            instrument, missing > 0 ? .buy : .sell, quantity: Quantity(lots: Int64(clamping: missing.magnitude)))
    }

    public mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try visitor.visitCount(instruments.count, "mean reversion instruments")
        for index in 0..<instruments.count { try windows[index].visitState(&visitor) }
    }
}
