import PeregrineBuildInfo
import PeregrineCodec
import PeregrineModel
import PeregrineRisk
import PeregrineStrategy

#if canImport(Glibc)
    import Glibc
#endif

/// One instrument's results: exact decimals in its units and quote currency.
public struct InstrumentResult: Sendable {
    public var definition: InstrumentDefinition
    public var trades: Int
    public var volume: ExactAmount
    public var turnover: ExactAmount
    public var position: ExactAmount
    public var maxPosition: ExactAmount
    public var realised: ExactAmount
    public var unrealised: ExactAmount
    public var fees: ExactAmount
    public var netPnL: ExactAmount
    /// The last two-sided mid at the venue (nil if the book never had two sides).
    public var lastMid: ExactAmount?
    /// Quantity offered the venue: new orders', and what accepted replaces added to their
    /// orders' totals (`SimulatedVenue.process`).
    public var sent: ExactAmount
}

/// What the engine refused before orders left it, and its kill switch, as the run left them:
/// the pre-trade risk's rejects by reason (`[[risk]]` rules, the kill switch's own), the
/// commands refused by reason (below an instrument's minimum, not the strategy's instrument,
/// too many open orders, …) and the kill switch.
public struct EngineRefusals: Sendable {
    public var riskRejections: [(reason: ExecutionReason, count: Int)] = []
    public var refusals: [(reason: OrderRefusal, count: Int)] = []
    public var killSwitch = KillSwitch()

    public init() {}

    /// `trading`'s, at the end of a run.
    init(_ trading: borrowing TradingState) {
        riskRejections = trading.counters.riskRejectsByReason
        refusals = trading.counters.refusedByReason
        killSwitch = trading.killSwitch
    }

    /// When the kill switch tripped and why, for people ("2020-02-22T00:10:00.000000000Z
    /// (daily-loss of s1)"); nil when it never did.
    public var killSwitchTrip: String? {
        guard killSwitch.trips > 0 else { return nil }
        let cause =
            killSwitch.cause == .dailyLoss
            ? "\(killSwitch.cause) of s\(killSwitch.strategy)" : killSwitch.cause.description
        return "\(UTCTime.text(killSwitch.trippedAt)) (\(cause))"
    }
}

/// A finished backtest: the summary, each instrument's figures and where they came from.
/// Everything but `timing` depends only on the inputs and settings, so two runs give
/// byte-identical JSON outside it.
public struct BacktestResult {
    /// The JSON report's `format_version`: 2 since `max_drawdown` became an exact decimal
    /// string, like the other money figures (a number in 1); 3 since `return`, `sharpe`,
    /// `sortino`, `max_drawdown` and `max_drawdown_pct` are null with several quote currencies
    /// (2 summed them).
    public static let formatVersion = 3

    public let instruments: [InstrumentResult]
    public let events: Int
    public let warmUpEvents: Int
    public let skippedQuotes: Int
    public let capital: ExactAmount
    public let equitySamples: [Double]
    /// Nil (NaN for the percentage) with several quote currencies, as the other totals.
    public let maxDrawdown: ExactAmount?
    public let maxDrawdownPercent: Double
    /// Equity samples taken (rows of the equity CSV).
    public let sampleCount: Int
    public let winRate: Double
    public let closingFills: Int
    public let fillRatio: Double
    public let meanTimeInQueueMilliseconds: Double
    /// The mean time in queue for people: "14.203 ms", or "- (no maker fills)".
    public var meanTimeInQueueText: String {
        venue.passiveFills > 0
            ? "\(BacktestHTMLReport.fixed(meanTimeInQueueMilliseconds, 3)) ms" : "- (no maker fills)"
    }
    public let timeInMarket: Double
    public let firstTime: UInt64
    public let lastTime: UInt64
    public let venue: SimulatedVenueCounters
    /// What the engine refused before the venue, and its kill switch.
    public let refusals: EngineRefusals
    /// How many changes in the middle of a message went to the venue straight from a converted
    /// file's records (`Backtest.sendMessageMiddle`): a diagnostic, in no report.
    var straightChanges = 0
    public let strategies: [String]
    public let inputs: [InputFile]
    public let settings: BacktestSettings
    public let elapsedSeconds: Double
    /// The series the HTML report plots (nil: the run kept none, `BacktestOutputFiles.charts`).
    let charts: BacktestCharts?
    /// What in the data may make the results mean less than they seem (on standard error, in
    /// the JSON report and the HTML report): an inverse or quanto contract taken as linear
    /// (`BacktestPlan.warnings`), TrueFX quotes (no sizes), nothing simulated in the window, an
    /// instrument whose trades go on long after its book's touch last changed (or begin long
    /// before it was two-sided), trades without a two-sided book, instruments with no time in
    /// common, rows stamped before a row above them (`TimeStepBacks`), messages that skipped
    /// sequence numbers (`DataFileStream.sequenceGapWarning`).
    public let warnings: [String]

    init<Custom: Strategy>(
        plan: BacktestPlan, recorder: BacktestRecorder, venue: SimulatedVenueCounters, refusals: EngineRefusals,
        events: Int, warmUpEvents: Int, skippedQuotes: Int, strategies: [String], realised: [Money],
        dataWarnings: [String], elapsedSeconds: Double, inputs: [InputFile], custom: Custom.Type
    ) {
        var results: [InstrumentResult] = []
        var sentTotal: Int128 = 0
        var filledTotal: Int128 = 0
        for (index, definition) in plan.instruments.enumerated() {
            let tally = recorder.tallies[index]
            let tick = definition.tickSize
            let lot = definition.lotSize
            // (`Backtest.simulate` refuses a run whose figures left 128 bits before it gets here.)
            let net = tally.netPnL ?? .zero
            let realisedMoney = index < realised.count ? realised[index] : .zero
            let gross = net + tally.fees
            results.append(
                InstrumentResult(
                    definition: definition, trades: tally.fills, volume: ExactAmount(lots: tally.volume, lotSize: lot),
                    turnover: ExactAmount(tickLots: tally.turnover, tickSize: tick, lotSize: lot),
                    position: ExactAmount(lots: Int128(tally.position), lotSize: lot),
                    maxPosition: ExactAmount(lots: Int128(tally.maxPosition), lotSize: lot),
                    realised: ExactAmount(realisedMoney, tickSize: tick, lotSize: lot),
                    unrealised: ExactAmount(gross - realisedMoney, tickSize: tick, lotSize: lot),
                    fees: ExactAmount(tally.fees, tickSize: tick, lotSize: lot),
                    netPnL: ExactAmount(net, tickSize: tick, lotSize: lot),
                    lastMid: tally.lastTwiceMid.map {
                        ExactAmount(value: Int128($0) &* Int128(tick.units) &* 5, decimals: tick.decimals + 1)
                    },
                    sent: ExactAmount(lots: recorder.sentLots[index], lotSize: lot)))
            sentTotal &+= recorder.sentLots[index]
            filledTotal &+= tally.volume
        }
        instruments = results
        self.events = events
        self.warmUpEvents = warmUpEvents
        self.skippedQuotes = skippedQuotes
        capital = recorder.capital
        equitySamples = recorder.equity
        maxDrawdown = recorder.oneCurrency ? recorder.maxDrawdown : nil
        maxDrawdownPercent = recorder.oneCurrency ? recorder.maxDrawdownPercent : .nan
        sampleCount = recorder.samples
        closingFills = recorder.closingFills
        winRate = recorder.closingFills > 0 ? Double(recorder.wins) / Double(recorder.closingFills) : 0
        fillRatio = sentTotal > 0 ? Double(filledTotal) / Double(sentTotal) : 0
        meanTimeInQueueMilliseconds =
            venue.passiveFills > 0 ? Double(venue.queueTimeTotal) / Double(venue.passiveFills) / 1e6 : 0
        firstTime = recorder.firstTime ?? 0
        lastTime = recorder.lastTime
        let span = lastTime > firstTime ? lastTime - firstTime : 0
        warnings =
            Self.warnings(
                plan: plan, dataWarnings: dataWarnings, tallies: Array(recorder.tallies), events: events,
                warmUpEvents: warmUpEvents, skippedQuotes: skippedQuotes, first: firstTime, last: lastTime,
                killSwitchTrip: refusals.killSwitchTrip, tradesAfterDecrease: venue.tradesAfterDecrease)
            + Self.sameBytes(inputs, convertedSources: plan.convertedSources)
        self.refusals = refusals
        timeInMarket = span > 0 ? Double(recorder.timeInMarket) / Double(span) : 0
        self.venue = venue
        self.strategies = strategies
        self.inputs = inputs
        settings = plan.settings
        self.elapsedSeconds = elapsedSeconds
        charts = recorder.charts
    }

    /// The instruments' common quote currency, nil when they differ.
    public var currency: String? { Self.commonCurrency(instruments.map(\.definition)) }

    /// The quote currency every one of `instruments` has, nil when they differ (or there are
    /// none): the one rule for whether money figures add up (the recorder's equity too).
    static func commonCurrency(_ instruments: [InstrumentDefinition]) -> String? {
        let currencies = Set(instruments.map(\.quoteCurrency))
        return currencies.count == 1 ? currencies.first : nil
    }

    func total(_ field: (InstrumentResult) -> ExactAmount) -> ExactAmount? {
        guard currency != nil else { return nil }
        return instruments.reduce(ExactAmount()) { $0 + field($1) }
    }

    public var trades: Int { instruments.reduce(0) { $0 + $1.trades } }
    public var netPnL: ExactAmount? { total(\.netPnL) }
    public var fees: ExactAmount? { total(\.fees) }

    /// How many per-interval returns the Sharpe and Sortino ratios rest on.
    public var returnCount: Int { returns.count }

    /// Per-interval returns of the sampled equity.
    var returns: [Double] {
        guard equitySamples.count > 1 else { return [] }
        var result: [Double] = []
        result.reserveCapacity(equitySamples.count - 1)
        for index in 1..<equitySamples.count where equitySamples[index - 1] > 0 {
            result.append(equitySamples[index] / equitySamples[index - 1] - 1)
        }
        return result
    }

    /// √(intervals per 365-day year).
    var annualisation: Double { (365 * 86_400e9 / Double(Swift.max(settings.equityInterval, 1))).squareRoot() }

    /// Net P&L ÷ capital; nil with several quote currencies.
    public var returnOnCapital: Double? { netPnL.map { capital.double != 0 ? $0.double / capital.double : 0 } }

    /// mean(r) ÷ sample standard deviation(r) × √(intervals per year); 0 without spread; NaN
    /// (null in the report) with several quote currencies.
    public var sharpe: Double {
        guard currency != nil else { return .nan }
        let values = returns
        guard values.count > 1 else { return 0 }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
        return variance > 0 ? mean / variance.squareRoot() * annualisation : 0
    }

    /// mean(r) ÷ √(Σ min(r, 0)² ÷ n) × √(intervals per year); 0 with fewer than two returns (as
    /// the Sharpe ratio: one return gives ±√(intervals per year) whatever it is) or without a
    /// losing interval; NaN (null in the report) with several quote currencies.
    public var sortino: Double {
        guard currency != nil else { return .nan }
        let values = returns
        guard values.count > 1 else { return 0 }
        let mean = values.reduce(0, +) / Double(values.count)
        let downside = values.reduce(0) { $0 + Swift.min($1, 0) * Swift.min($1, 0) } / Double(values.count)
        return downside > 0 ? mean / downside.squareRoot() * annualisation : 0
    }

    // MARK: JSON

    /// The JSON report (keys in a fixed order; `timing` last, the only part that varies).
    public var json: String {
        var out = JSONText()
        out.open()
        writeFields(into: &out)
        out.close()
        return out.text + "\n"
    }

    /// The report's fields, into an object `out` has open.
    func writeFields(into out: inout JSONText) {
        out.field("report", string: "peregrine-backtest")
        out.field("format_version", integer: Self.formatVersion)
        out.field("events", integer: events)
        out.field("trades", integer: trades)
        let single = instruments.count == 1 ? instruments.first : nil
        out.field("volume", amount: single?.volume)
        out.field("turnover", amount: total(\.turnover))
        out.field("position", amount: single?.position)
        out.field("max_position", amount: single?.maxPosition)
        out.field("realised_pnl", amount: total(\.realised))
        out.field("unrealised_pnl", amount: total(\.unrealised))
        out.field("fees", amount: fees)
        out.field("net_pnl", amount: netPnL)
        out.field("currency", string: currency)
        out.field("capital", amount: capital)
        out.field("return", number: returnOnCapital ?? .nan)
        out.field("sharpe", number: sharpe)
        out.field("sortino", number: sortino)
        out.field("max_drawdown", amount: maxDrawdown)
        out.field("max_drawdown_pct", number: maxDrawdownPercent)
        out.field("win_rate", number: winRate)
        out.field("closing_fills", integer: closingFills)
        out.field("fill_ratio", number: fillRatio)
        out.field("mean_time_in_queue_ms", number: meanTimeInQueueMilliseconds)
        out.field("time_in_market", number: timeInMarket)
        out.field("orders_sent", integer: venue.newOrders)
        out.field("orders_rejected", integer: venue.rejected)
        out.field("rejections", counts: venue.rejections.map { ($0.reason.description, $0.count) })
        out.field("risk_rejections", counts: refusals.riskRejections.map { ($0.reason.description, $0.count) })
        out.field("refusals", counts: refusals.refusals.map { ($0.reason.description, $0.count) })
        let kill = refusals.killSwitch
        if kill.trips > 0 {
            out.key("kill_switch")
            out.open()
            out.field("cause", string: kill.cause.description)
            out.field("strategy", integer: kill.cause == .dailyLoss ? Int(kill.strategy) : 0)
            out.field("tripped_at", string: UTCTime.text(kill.trippedAt))
            out.field("trips", integer: Int(kill.trips))
            out.close()
        } else {
            out.field("kill_switch", string: nil)
        }
        out.field("fills_aggressive", integer: venue.aggressiveFills)
        out.field("fills_passive", integer: venue.passiveFills)
        out.field("first_event", string: events > 0 ? UTCTime.text(firstTime) : nil)
        out.field("last_event", string: events > 0 ? UTCTime.text(lastTime) : nil)
        out.field("equity_samples", integer: sampleCount)
        out.field("warm_up_events", integer: warmUpEvents)
        out.field("skipped_quote_rows", integer: skippedQuotes)
        out.field("warnings", strings: warnings)
        out.key("instruments")
        out.openArray()
        for instrument in instruments {
            let definition = instrument.definition
            out.open()
            out.field("symbol", string: definition.symbol)
            out.field("quote_currency", string: definition.quoteCurrency)
            out.field("tick_size", string: definition.tickSize.description)
            out.field("lot_size", string: definition.lotSize.description)
            out.field("maker_fee", string: definition.makerFee.description)
            out.field("taker_fee", string: definition.takerFee.description)
            out.field("trades", integer: instrument.trades)
            out.field("volume", amount: instrument.volume)
            out.field("sent", amount: instrument.sent)
            out.field("turnover", amount: instrument.turnover)
            out.field("position", amount: instrument.position)
            out.field("max_position", amount: instrument.maxPosition)
            out.field("realised_pnl", amount: instrument.realised)
            out.field("unrealised_pnl", amount: instrument.unrealised)
            out.field("fees", amount: instrument.fees)
            out.field("net_pnl", amount: instrument.netPnL)
            out.field("last_mid", amount: instrument.lastMid)
            out.close()
        }
        out.closeArray()
        out.key("settings")
        out.open()
        out.field("feed_latency", string: settings.feedLatency.description)
        out.field("order_latency", string: settings.orderLatency.description)
        out.field("queue_model", string: settings.queueModel.description)
        out.field("from", string: settings.from.map(UTCTime.text))
        out.field("to", string: settings.to.map(UTCTime.text))
        out.field("equity_interval_ms", decimal: Self.milliseconds(settings.equityInterval))
        out.field("risk_rules", integer: settings.risk.count)
        out.close()
        out.key("provenance")
        out.open()
        out.field("peregrine_version", string: Provenance.version)
        out.field("commit", string: Provenance.commit)
        out.key("inputs")
        out.openArray()
        for input in inputs {
            out.open()
            out.field("path", string: input.path)
            out.field("format", string: input.format)
            if let symbol = input.symbol { out.field("symbol", string: symbol) }
            out.field("sha256", string: input.sha256)
            out.close()
        }
        out.closeArray()
        out.key("strategies")
        out.openArray()
        for description in strategies {
            let words = description.split(separator: " ").map(String.init)
            out.open()
            out.field("name", string: words.first ?? "")
            out.key("parameters")
            out.open()
            for word in words.dropFirst() {
                let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
                out.field(parts[0], string: parts.count == 2 ? parts[1] : "")
            }
            out.close()
            out.close()
        }
        out.closeArray()
        out.close()
        out.key("timing")
        out.open()
        out.field("elapsed_seconds", number: elapsedSeconds)
        out.field("events_per_second", number: elapsedSeconds > 0 ? Double(events) / elapsedSeconds : 0)
        out.close()
    }
}

/// Which build produced a report.
public enum Provenance {
    public static let version = BuildInfo.version

    /// The git commit the binary was built from (`-dirty` when `Package.swift`, `Sources` or
    /// `Plugins` differed from it; `unknown` without git or a checkout tracking the package).
    public static let commit = BuildInfo.commit
}

/// Builds JSON text with keys in the order written: indented, or `compact` on one line (JSON
/// lines).
struct JSONText {
    var text = ""
    var compact = false
    var needsComma = [false]
    var indent = 0
    var afterKey = false

    init(compact: Bool = false) { self.compact = compact }

    mutating func separator() {
        if needsComma[needsComma.count - 1] { text += "," }
        needsComma[needsComma.count - 1] = true
        if !compact { text += "\n" + String(repeating: "  ", count: indent) }
    }

    mutating func open() {
        if !text.isEmpty, !afterKey { separator() }
        afterKey = false
        text += "{"
        needsComma.append(false)
        indent += 1
    }

    mutating func close() {
        indent -= 1
        needsComma.removeLast()
        if !compact { text += "\n" + String(repeating: "  ", count: indent) }
        text += "}"
    }

    mutating func openArray() {
        afterKey = false
        text += "["
        needsComma.append(false)
        indent += 1
    }

    mutating func closeArray() {
        indent -= 1
        needsComma.removeLast()
        if !compact { text += "\n" + String(repeating: "  ", count: indent) }
        text += "]"
    }

    mutating func key(_ name: String) {
        separator()
        text += TextField.json(name) + (compact ? ":" : ": ")
        afterKey = true
    }

    mutating func field(_ name: String, string: String?) {
        key(name)
        afterKey = false
        text += string.map(TextField.json) ?? "null"
    }

    mutating func field(_ name: String, integer: Int) {
        key(name)
        afterKey = false
        text += "\(integer)"
    }

    /// An object of counts by name, in the order given (`{}` when empty).
    mutating func field(_ name: String, counts: [(String, Int)]) {
        key(name)
        guard !counts.isEmpty else {
            afterKey = false
            text += "{}"
            return
        }
        open()
        for (key, count) in counts { field(key, integer: count) }
        close()
    }

    /// An array of strings (`[]` when empty).
    mutating func field(_ name: String, strings: [String]) {
        key(name)
        guard !strings.isEmpty else {
            afterKey = false
            text += "[]"
            return
        }
        openArray()
        for string in strings {
            separator()
            text += TextField.json(string)
        }
        closeArray()
    }

    mutating func field(_ name: String, amount: ExactAmount?) {
        field(name, string: amount?.description)
    }

    /// A number written as `text` gives it (an exact decimal: `1000`, `0.5`).
    mutating func field(_ name: String, decimal value: String) {
        key(name)
        afterKey = false
        text += value
    }

    /// A double in its shortest form, without an exponent (`0.000012`, not `1.2e-05`); null
    /// when not finite.
    mutating func field(_ name: String, number: Double) {
        key(name)
        afterKey = false
        text += PlainDecimal.text(number) ?? "null"
    }
}

extension BacktestResult {
    /// `nanoseconds` in milliseconds, exact and as short as it goes (`1000`, `0.5`, `0.000001`).
    static func milliseconds(_ nanoseconds: UInt64) -> String {
        Money.decimalText(Int128(nanoseconds), decimals: 6)
    }

    /// A gap between an instrument's book and its trades worth a warning: over a minute and
    /// over a twentieth of the run.
    static func noteworthy(_ gap: UInt64, span: UInt64) -> Bool { gap > 60_000_000_000 && gap > span / 20 }

    /// Why a run of no event simulated nothing: no event in its `--from`/`--to` window, or
    /// none at all.
    static func nothingSimulated(settings: BacktestSettings, warmUpEvents: Int, skippedQuotes: Int) -> String {
        let window = (from: settings.from, to: settings.to)
        let range =
            window.to == nil ? "at or after --from" : (window.from == nil ? "before --to" : "from --from to --to")
        return window.from != nil
            ? "no event \(range): nothing was simulated (\(warmUpEvents) events before --from built the books)"
            : window.to != nil
                ? "no event \(range): nothing was simulated"
                : "no events to simulate: \(holdNone(settings.data.flatMap(\.paths), skippedQuotes: skippedQuotes))"
    }

    /// Why this run simulated nothing (it saw no event), or nil when it simulated something:
    /// the backtest command fails such a run (exit 1), a sweep reports it in its warnings.
    public var nothingSimulated: String? {
        events == 0
            ? Self.nothingSimulated(settings: settings, warmUpEvents: warmUpEvents, skippedQuotes: skippedQuotes) : nil
    }

    /// That the files `paths` hold no event, for people: "A holds none (empty, or a header
    /// alone?)", or, when `skippedQuotes` quote rows were read and skipped, that they were.
    static func holdNone(_ paths: [String], skippedQuotes: Int) -> String {
        let files = "\(paths.joined(separator: ", ")) \(paths.count == 1 ? "holds" : "hold") none"
        guard skippedQuotes > 0 else { return files + " (empty, or a header alone?)" }
        let their = paths.count == 1 ? "its" : "their"
        let rows = skippedQuotes == 1 ? "\(their) quote row was" : "all \(skippedQuotes) of \(their) quote rows were"
        return files + ": \(rows) skipped for an empty bid or ask price (a missing side)"
    }

    /// Inputs of one format that hold the same bytes (a copy given besides its original): one
    /// warning per group, naming them. Then, looking through the converted inputs to the files
    /// they were converted from (`convertedSources`, by path; a copy of a converted input counted
    /// once), sources that hold the same bytes as another source or a text input, named "SOURCE
    /// (in CONVERTED)": the warning a backtest or a conversion of the sources gives.
    static func sameBytes(_ inputs: [InputFile], convertedSources: [String: [InputFile]]) -> [String] {
        let key = { (file: InputFile) in file.format + " " + file.sha256 }
        let copies = groups(inputs.map { (key($0), $0.path) })
        var seen: Set<String> = []
        var data: [(key: String, label: String)] = []
        for input in inputs where seen.insert(key(input)).inserted {
            guard let sources = convertedSources[input.path] else {
                data.append((key(input), input.path))
                continue
            }
            data += sources.map { (key($0), "\($0.path) (in \(input.path))") }
        }
        return (copies + groups(data)).map { paths in
            "\(paths.joined(separator: " and ")) hold the same bytes (a copy given besides its original?): as one "
                + "instrument's data, whatever they hold is read \(paths.count == 2 ? "twice" : "\(paths.count) times") "
                + "(give the file once); as several instruments', those markets are one"
        }
    }

    /// The labels of entries that share a key, in order, each group with more than one.
    static func groups(_ entries: [(key: String, label: String)]) -> [[String]] {
        var groups: [[String]] = []
        var byKey: [String: Int] = [:]
        for entry in entries {
            if let index = byKey[entry.key] {
                groups[index].append(entry.label)
            } else {
                byKey[entry.key] = groups.count
                groups.append([entry.label])
            }
        }
        return groups.filter { $0.count > 1 }
    }

    static func warnings(
        plan: BacktestPlan, dataWarnings: [String], tallies: [InstrumentTally], events: Int, warmUpEvents: Int,
        skippedQuotes: Int, first: UInt64, last: UInt64, killSwitchTrip: String? = nil,
        tradesAfterDecrease: [TradesAfterDecrease] = []
    ) -> [String] {
        let span = last > first ? last - first : 0
        // The plan's, then the files' (rows stamped back, sequence gaps; a sweep's plan holds
        // those of its text files: the same order either way).
        var warnings = plan.warnings + dataWarnings
        // A tripped kill switch stops the trading for the rest of the run: said first.
        if let killSwitchTrip {
            warnings.append(
                "the kill switch tripped at \(killSwitchTrip): the open orders that could rest were cancelled (market "
                    + "and immediate-or-cancel ones already sent still met the book), and no order was sent after it")
        }
        if events == 0 {
            return warnings
                + [nothingSimulated(settings: plan.settings, warmUpEvents: warmUpEvents, skippedQuotes: skippedQuotes)]
        }
        let instruments = plan.instruments
        let time = { (nanoseconds: UInt64) in BacktestHTMLReport.shortTime(nanoseconds) }
        // A time to the nanosecond, for people.
        let exact = { (nanoseconds: UInt64) in
            UTCTime.text(nanoseconds).replacingOccurrences(of: "T", with: " ").dropLast()
        }
        // A range to the millisecond, or to the nanosecond when that would show one instant, or
        // (`apart`) when it would seem to meet another range it is apart from.
        let range = { (start: UInt64, end: UInt64, apart: (UInt64, UInt64)?) -> String in
            let meets = apart.map { time($0.0) <= time(end) && time(start) <= time($0.1) } ?? false
            guard (start != end && time(start) == time(end)) || meets else { return "\(time(start))–\(time(end))" }
            return "\(exact(start))–\(exact(end))"
        }
        // A latency file for another time (its timestamps in ms, say) holds one row for the
        // whole run: said, since nothing else shows it. (A file of one row is a constant.)
        if case .measured(let table) = plan.settings.orderLatency, table.times.count > 1, let start = table.times.first,
            let end = table.times.last, last < start || first > end
        {
            let held = last < start ? "first" : "last"
            warnings.append(
                "--order-latency \(table.path): its rows cover \(range(start, end, (first, last))) UTC and the data "
                    + "\(range(first, last, (start, end))) UTC, no time in common: every order took its \(held) row's "
                    + "latencies (are its timestamps µs since the epoch?)")
        }
        // A book crossed at a message's end: the data misses a delete, or mixes sources; the
        // marks (its mid) and the fills against it are off.
        for (definition, tally) in zip(instruments, tallies) where tally.crossedTouches > 0 {
            let when =
                tally.crossedTouches == 1
                ? "at \(exact(tally.firstCrossed)) UTC"
                : "first at \(exact(tally.firstCrossed)) UTC, last at \(exact(tally.lastCrossed)) UTC"
            warnings.append(
                "\(definition.symbol): its book became crossed (the best bid above the best ask) at the end of "
                    + "\(tally.crossedTouches) of its \(tally.touches) touch price changes, \(when): orders met that book, "
                    + "and positions are marked at its mid, so the P&L means less than it seems (does the data miss "
                    + "deletes, or mix two sources?)")
        }
        // Book data given before its trades: a trade's own decrease of its level came first.
        for (definition, after) in zip(instruments, tradesAfterDecrease) where after.trades > 0 {
            let trades = after.trades == 1 ? "1 trade" : "\(after.trades) trades"
            warnings.append(
                "\(definition.symbol): \(trades) at a resting order's price came after a decrease of its level at the "
                    + "same time had moved the order up its queue (the first at \(exact(after.first)) UTC): a "
                    + "decrease recorded with a trade is usually the trade's own, and then the queue counted the trade "
                    + "twice (in part, under power and log). Give the trades file before the book's (ties go to the file "
                    + "given first; a converted file keeps the order it was converted in)")
        }
        for (definition, tally) in zip(instruments, tallies) where tally.firstTrade > 0 {
            guard tally.firstTouch > 0 else {
                warnings.append(
                    "\(definition.symbol): trades but never a two-sided book: strategies that quote from the book "
                        + "send nothing, and orders fill only against the trades")
                continue
            }
            if tally.lastTrade > tally.lastBook, noteworthy(tally.lastTrade - tally.lastBook, span: span) {
                warnings.append(
                    "\(definition.symbol): its book last changed at \(time(tally.lastBook)) UTC, but its trades go on "
                        + "to \(time(tally.lastTrade)) UTC: orders after that met a book that no longer changed (does "
                        + "the book data cover the trades' time?)")
            }
            if tally.firstTouch > tally.firstTrade, noteworthy(tally.firstTouch - tally.firstTrade, span: span) {
                warnings.append(
                    "\(definition.symbol): its trades begin at \(time(tally.firstTrade)) UTC, its book only at "
                        + "\(time(tally.firstTouch)) UTC: orders before that met no book (does the book data cover the "
                        + "trades' time?)")
            }
        }
        // Each instrument's time with data (its book, one-sided or not, and its trades).
        let spans = zip(instruments, tallies).compactMap { definition, tally -> (String, UInt64, UInt64)? in
            let starts = [tally.firstBook, tally.firstTrade].filter { $0 > 0 }
            let ends = [tally.lastBook, tally.lastTrade].filter { $0 > 0 }
            guard let start = starts.min(), let end = ends.max() else { return nil }
            return (definition.symbol, start, end)
        }
        for (index, one) in spans.enumerated() {
            for other in spans[(index + 1)...] where one.2 < other.1 || other.2 < one.1 {
                warnings.append(
                    "\(one.0) (\(range(one.1, one.2, (other.1, other.2))) UTC) and \(other.0) "
                        + "(\(range(other.1, other.2, (one.1, one.2))) UTC) have no time in common: no moment of the "
                        + "run has both markets")
            }
        }
        return warnings
    }
}
