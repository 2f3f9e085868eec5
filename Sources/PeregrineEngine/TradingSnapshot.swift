import PeregrineBook
import PeregrineModel
import PeregrineStrategy
import Synchronization

/// The strategies' positions, P&L and orders at one moment, in the instruments' units: for the
/// final report, `/metrics` and JSON. Made by the logic thread (it allocates: at most a few
/// times a second, never per event).
public struct TradingSnapshot: Sendable, Equatable {
    /// One strategy's position in one instrument.
    public struct Line: Sendable, Equatable {
        public var strategyID: UInt16
        public var strategy: String
        public var instrument: UInt32
        public var symbol: String
        public var quoteCurrency: String
        /// Net quantity in the instrument's units (lots × lot size), exact text and as a double.
        public var net: String
        public var netValue: Double
        /// Average entry price (rounded half-even to the grid), or "-" when flat.
        public var averageEntry: String
        /// Quote-currency amounts: exact text and as doubles (for gauges).
        public var realised: String
        public var unrealised: String
        public var fees: String
        public var netPnL: String
        public var realisedValue: Double
        public var unrealisedValue: Double
        public var feesValue: Double
        public var netPnLValue: Double
        public var fills: Int
        public var volume: String
    }

    public var lines: [Line] = []
    /// Open orders by state (states without any are absent).
    public var openOrders: [OrderState: Int] = [:]
    public var counters = TradingCounters()
    public var scheduledTimers = 0

    public init() {}

    /// Exact text and double of `money` for `definition` (nil: it overflowed).
    static func amount(_ money: Money, _ definition: InstrumentDefinition) -> (String, Double) {
        guard let text = money.formatted(tickSize: definition.tickSize, lotSize: definition.lotSize) else {
            return ("overflow", .nan)
        }
        return (text, Double(text) ?? .nan)
    }
}

extension EngineLogic {
    /// The strategies' positions, P&L (unrealised marked to each book's mid; 0 without one) and
    /// orders now. Allocates; call between events.
    public func tradingSnapshot(definitions: [InstrumentDefinition]) -> TradingSnapshot {
        var byID: [InstrumentID: InstrumentDefinition] = [:]
        for definition in definitions { byID[definition.id] = definition }
        var snapshot = TradingSnapshot()
        let descriptions = strategies.pointee.descriptions
        withTrading { trading in
            snapshot.counters = trading.counters
            snapshot.openOrders = trading.openOrdersByState()
            snapshot.scheduledTimers = trading.scheduledTimers
            for slot in 0..<trading.strategyCount {
                let layout = trading.layout(slot: slot)
                let name = descriptions[slot].split(separator: " ").first.map(String.init) ?? ""
                for instrument in layout.instruments {
                    let position = trading.position(slot: slot, instrument: instrument) ?? Position()
                    let definition = byID[instrument] ?? .synthetic(instrument, hosted: false)
                    let mid = books.pointee.bestBidOffer(instrument)
                    var unrealised = Money.zero
                    if let bid = mid?.bid?.price, let ask = mid?.ask?.price {
                        unrealised = position.unrealised(bid: bid, ask: ask)
                    }
                    let netMoney = position.realised + unrealised - position.fees
                    let (realisedText, realisedValue) = TradingSnapshot.amount(position.realised, definition)
                    let (unrealisedText, unrealisedValue) = TradingSnapshot.amount(unrealised, definition)
                    let (feesText, feesValue) = TradingSnapshot.amount(position.fees, definition)
                    let (netText, netValue) = TradingSnapshot.amount(netMoney, definition)
                    let quantity = Quantity(lots: position.net).formatted(lotSize: definition.lotSize)
                    snapshot.lines.append(
                        TradingSnapshot.Line(
                            strategyID: layout.id.rawValue, strategy: name, instrument: instrument.rawValue,
                            symbol: definition.symbol, quoteCurrency: definition.quoteCurrency, net: quantity,
                            netValue: Double(quantity) ?? .nan,
                            averageEntry: position.averageEntry.map { $0.formatted(tickSize: definition.tickSize) }
                                ?? "-",
                            realised: realisedText, unrealised: unrealisedText, fees: feesText, netPnL: netText,
                            realisedValue: realisedValue, unrealisedValue: unrealisedValue, feesValue: feesValue,
                            netPnLValue: netValue, fills: Int(position.fills),
                            volume: Quantity(lots: Int64(clamping: position.volume)).formatted(
                                lotSize: definition.lotSize)))
                }
            }
        }
        return snapshot
    }
}

/// Where the logic thread leaves the latest `TradingSnapshot` for the monitor (behind a lock
/// taken a few times a second, never per event).
public final class TradingBoard: Sendable {
    let latest = Mutex<TradingSnapshot?>(nil)
    public init() {}
    public func publish(_ snapshot: TradingSnapshot) { latest.withLock { $0 = snapshot } }
    public var snapshot: TradingSnapshot? { latest.withLock { $0 } }
}
