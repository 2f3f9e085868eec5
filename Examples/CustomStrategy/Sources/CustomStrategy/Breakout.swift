import PeregrineCore
import PeregrineModel
import PeregrineStrategy

/// A breakout trader, written outside the Peregrine package: when the mid of an instrument's
/// book rises above every one of the previous `lookback` mids it buys `quantity` lots (a market
/// order), and when it falls below all of them it sells; either way it flattens `hold-ms`
/// milliseconds of event time later, on a timer.
///
/// It shows the whole API: parameters with ranges, the context's books and positions, order
/// entry, order updates, timers, and one `visitState` for hashes, snapshots and restore.
/// Allocation-free per event: its ring of mids is allocated once, in `init`.
public struct Breakout: Strategy, Sendable {
    public static let name = "breakout"

    public let lookback: Int
    public let quantity: Int64
    public let hold: UInt64
    public let instruments: [InstrumentID]
    /// Per instrument: the last `lookback` mids (twice the mid, in ticks: exact), oldest first
    /// from `next`; how many are held; whether a flatten timer is pending.
    var mids: [Int64]
    var next: [Int]
    var held: [Int]
    var waiting: [Bool]
    /// Breakouts traded and fills seen (reported by the test).
    public private(set) var breakouts: Int64 = 0
    public private(set) var fills: Int64 = 0

    public init(_ configuration: StrategyConfiguration) throws(StrategyConfigurationError) {
        let parameters = configuration.parameters
        lookback = Int(try parameters.integer("lookback", default: 20, in: 1...10_000))
        quantity = try parameters.integer("quantity", default: 1, in: 1...1_000_000)
        hold = UInt64(try parameters.integer("hold-ms", default: 5, in: 1...3_600_000)) * 1_000_000
        instruments = configuration.instruments
        mids = Array(repeating: 0, count: instruments.count * lookback)
        next = Array(repeating: 0, count: instruments.count)
        held = Array(repeating: 0, count: instruments.count)
        waiting = Array(repeating: false, count: instruments.count)
    }

    public mutating func onBook(_ instrument: InstrumentID, _ context: inout StrategyContext) {
        guard let index = instruments.firstIndex(of: instrument), let mid = context.mid(instrument) else { return }
        let base = index * lookback
        var high = Int64.min
        var low = Int64.max
        for offset in 0..<held[index] {
            high = max(high, mids[base + offset])
            low = min(low, mids[base + offset])
        }
        let full = held[index] == lookback
        mids[base + next[index]] = mid.twiceTicks
        next[index] = (next[index] + 1) % lookback
        held[index] = min(held[index] + 1, lookback)
        guard full, !waiting[index], context.netPosition(instrument) == 0 else { return }
        let side: Side
        if mid.twiceTicks > high {
            side = .buy
        } else if mid.twiceTicks < low {
            side = .sell
        } else {
            return
        }
        guard context.submitMarket(instrument, side, quantity: Quantity(lots: quantity)) != nil else { return }
        breakouts += 1
        waiting[index] = context.schedule(after: hold, tag: UInt64(index)) != nil
    }

    public mutating func onOrderFilled(_ update: OrderUpdate, _ context: inout StrategyContext) { fills += 1 }

    public mutating func onTimer(_ timer: TimerFired, _ context: inout StrategyContext) {
        let index = Int(timer.tag)
        guard index < instruments.count else { return }
        waiting[index] = false
        let net = context.netPosition(instruments[index])
        guard net != 0 else { return }
        _ = context.submitMarket(
            instruments[index], net > 0 ? .sell : .buy, quantity: Quantity(lots: Int64(clamping: net.magnitude)))
    }

    public mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try visitor.visitCount(instruments.count, "breakout instruments")
        for index in mids.indices { try visitor.visit(&mids[index], "breakout mid") }
        for index in instruments.indices {
            var position = Int64(next[index])
            var count = Int64(held[index])
            try visitor.visit(&position, "breakout next")
            try visitor.visit(&count, "breakout held")
            guard (0..<Int64(lookback)).contains(position), (0...Int64(lookback)).contains(count) else {
                throw .invalid(field: "breakout ring", value: position)
            }
            (next[index], held[index]) = (Int(position), Int(count))
            try visitor.visit(&waiting[index], "breakout waiting")
        }
        try visitor.visit(&breakouts, "breakouts")
        try visitor.visit(&fills, "fills")
    }
}
