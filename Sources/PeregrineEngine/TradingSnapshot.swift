import PeregrineBook
import PeregrineModel
import PeregrineRisk
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

    /// One strategy's risk figures in one quote currency.
    public struct RiskLine: Sendable, Equatable {
        public var strategyID: UInt16
        public var currency: String
        /// Loss since the trading day began (negative: a gain) and gross exposure now, exact text
        /// and as doubles; the limits when set.
        public var dayLoss: String
        public var dayLossValue: Double
        public var dayLossLimit: String?
        public var grossExposure: String
        public var grossExposureValue: Double
        public var grossExposureLimit: String?
    }

    public var lines: [Line] = []
    public var risk: [RiskLine] = []
    public var killSwitch = KillSwitch()
    /// The UTC day the loss limits count from (days since 1970-01-01; -1: none yet).
    public var tradingDay: Int64 = -1
    /// Outside venues' execution reports applied, and report records that did not decode.
    public var venueReports = 0
    public var malformedVenueReports = 0
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
        snapshot.venueReports = _venueReports
        snapshot.malformedVenueReports = _malformedVenueReports
        let descriptions = strategies.pointee.descriptions
        withTrading { trading in
            snapshot.counters = trading.counters
            snapshot.killSwitch = trading.killSwitch
            snapshot.tradingDay = trading.currentTradingDay
            for slot in 0..<trading.strategyCount {
                for (index, currency) in trading.currencies.enumerated() {
                    let layout = trading.layout(slot: slot)
                    guard layout.instruments.contains(where: { byID[$0]?.quoteCurrency == currency }) else { continue }
                    let decimals = trading.currencyDecimals[index]
                    let loss = trading.dayLoss(slot: slot, currency: Int32(index))
                    let exposure = trading.grossExposure(slot: slot, currency: Int32(index))
                    let limits = trading.riskLimits(slot: slot, currency: Int32(index))
                    let text = { (value: Int128) in Money.decimalText(value, decimals: decimals) }
                    snapshot.risk.append(
                        TradingSnapshot.RiskLine(
                            strategyID: layout.id.rawValue, currency: currency, dayLoss: text(loss),
                            dayLossValue: Double(text(loss)) ?? .nan,
                            dayLossLimit: limits.loss == RiskLimits.off ? nil : text(limits.loss),
                            grossExposure: text(exposure), grossExposureValue: Double(text(exposure)) ?? .nan,
                            grossExposureLimit: limits.exposure == RiskLimits.off ? nil : text(limits.exposure)))
                }
            }
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
