import PeregrineBook
import PeregrineEngine
import PeregrineJournal
import PeregrineModel
import PeregrineStrategy

#if canImport(Glibc)
    import Glibc
#endif

/// One instrument's fills, position and cash, exactly.
struct InstrumentTally {
    var fills = 0
    var volume: Int128 = 0
    /// Σ price × quantity, ticks × lots.
    var turnover: Int128 = 0
    /// Σ −signed quantity × price, ticks × lots.
    var cash: Int128 = 0
    var fees = Money.zero
    var position: Int64 = 0
    var maxPosition: Int64 = 0
    /// Twice the last two-sided mid, in ticks (nil before one).
    var lastTwiceMid: Int64?
    /// When the book first had a level (one-sided or not), when it was first two-sided, when its
    /// touch last changed (price or size; a quote, a clear), and when the market first and last
    /// traded (exchange time, ns; 0 before any), for `BacktestResult.warnings`.
    var firstBook: UInt64 = 0
    var firstTouch: UInt64 = 0
    var lastBook: UInt64 = 0
    var firstTrade: UInt64 = 0
    var lastTrade: UInt64 = 0
    /// How many times its two-sided touch moved (a price changed), how many of those left it
    /// crossed (the best bid above the best ask; a locked book is not), and when the first and last
    /// of those were, for `BacktestResult.warnings`.
    var touches = 0
    var crossedTouches = 0
    var firstCrossed: UInt64 = 0
    var lastCrossed: UInt64 = 0
    /// Set when a sum left the 128 bits it is exact in (money is 10^-8 tick × lot: on a fine
    /// tick and lot grid, large notionals pass them): the figures are then not reported.
    var overflowed = false

    /// Cash + position × mid − fees, as money (10^-8 tick × lot); nil past 128 bits.
    var netPnL: Money? {
        let (mark, first) = Int128(position).multipliedReportingOverflow(by: Int128(lastTwiceMid ?? 0))
        let (marked, second) = mark.multipliedReportingOverflow(by: Money.unitsPerTickLot / 2)
        let (flow, third) = cash.multipliedReportingOverflow(by: Money.unitsPerTickLot)
        let (gross, fourth) = flow.addingReportingOverflow(marked)
        let (net, fifth) = gross.subtractingReportingOverflow(fees.units)
        guard !(overflowed || first || second || third || fourth || fifth) else { return nil }
        return Money(units: net)
    }

    /// Adds a fill of `signed` lots (bought: positive) at `price` ticks with `fee`: its volume,
    /// turnover, cash and fee, each sum checked.
    mutating func add(signed: Int64, price: Int64, fee: Money) {
        let lots = Int128(signed.magnitude)
        let (notional, first) = Int128(price).multipliedReportingOverflow(by: lots)
        let (turnover, second) = self.turnover.addingReportingOverflow(notional)
        let (cash, third) =
            signed > 0 ? self.cash.subtractingReportingOverflow(notional) : self.cash.addingReportingOverflow(notional)
        let (fees, fourth) = self.fees.units.addingReportingOverflow(fee.units)
        fills &+= 1
        volume &+= lots
        self.turnover = turnover
        self.cash = cash
        self.fees = Money(units: fees)
        if first || second || third || fourth { overflowed = true }
    }
}

/// What the backtest measures as it runs: every fill, the equity over time, time in the
/// market; it writes the fills and equity CSVs as it goes (constant memory but for the equity
/// samples, one double per interval).
final class BacktestRecorder {
    let instruments: [InstrumentDefinition]
    /// The strategies' names by id, for the fills CSV.
    let strategyNames: [UInt16: String]
    /// The instruments' symbols and the strategies' names as fields of the fills CSV.
    let csvSymbols: [String]
    let csvStrategyNames: [UInt16: String]
    let capital: ExactAmount
    let interval: UInt64
    /// Per instrument (plain buffers: the per-event writes check no array uniqueness).
    let tallies: UnsafeMutableBufferPointer<InstrumentTally>
    /// Each strategy's net position and its open cost in each instrument (at `slot ×
    /// instruments + instrument`), from the fills it was told of, through `Position.afterFill`
    /// as the strategy's own position: each closing fill's result on the strategy's average
    /// cost, the basis of its realised P&L.
    let costs: UnsafeMutableBufferPointer<(net: Int64, openCost: Int128)>
    /// The strategies' ids, in the order of their slots in `costs` (a few: found by a scan,
    /// cheaper than hashing).
    let strategyIDs: [UInt16]
    @exclusivity(unchecked) var wins = 0
    @exclusivity(unchecked) var closingFills = 0
    /// Lots offered the venue, per instrument: new orders' quantities and what accepted
    /// replaces added to their orders' totals.
    @exclusivity(unchecked) var sentLots: [Int128]
    /// The equity at each sample (one quote currency only: equity in several is no sum).
    @exclusivity(unchecked) var equity: [Double] = []
    /// Samples taken (rows of the equity CSV).
    @exclusivity(unchecked) var samples = 0
    /// Whether the instruments share one quote currency (else no equity, drawdown or returns).
    let oneCurrency: Bool
    @exclusivity(unchecked) var nextSample: UInt64?
    @exclusivity(unchecked) var firstTime: UInt64?
    @exclusivity(unchecked) var lastTime: UInt64 = 0
    @exclusivity(unchecked) var timeInMarket: UInt64 = 0
    /// The highest equity so far, starting at the capital (the equity before the first event:
    /// a loss made by the first fills is a fall), and the largest fall from it, exactly.
    @exclusivity(unchecked) var peak: ExactAmount
    @exclusivity(unchecked) var maxDrawdown = ExactAmount()
    @exclusivity(unchecked) var maxDrawdownPercent = 0.0
    /// Set when an equity sample, its peak or a drawdown passed 128 bits (the run then fails).
    @exclusivity(unchecked) var equityOverflowed = false
    /// The CSVs being written (`StagedOutput`: renamed into place by `close`) and their open
    /// files (nil: not written, or closed).
    let fillsOutput: StagedOutput?
    let equityOutput: StagedOutput?
    @exclusivity(unchecked) var fills: UnsafeMutablePointer<FILE>?
    @exclusivity(unchecked) var equityFile: UnsafeMutablePointer<FILE>?
    /// The series the HTML report plots; nil when the run keeps none.
    let charts: BacktestCharts?
    /// The first failed write of a CSV, naming its flag and path.
    var writeFailure: String?
    /// Each CSV's flag and path, for messages.
    let fillsLabel: String
    let equityLabel: String

    init(
        instruments: [InstrumentDefinition], strategyNames: [UInt16: String], capital: ExactAmount,
        interval: UInt64, fillsPath: String?, equityPath: String?, charts: Bool
    ) throws(BacktestError) {
        self.instruments = instruments
        oneCurrency = BacktestResult.commonCurrency(instruments) != nil
        self.strategyNames = strategyNames
        csvSymbols = instruments.map { TextField.csv($0.symbol) }
        csvStrategyNames = strategyNames.mapValues(TextField.csv)
        self.capital = capital
        peak = capital
        self.interval = interval
        sentLots = Array(repeating: 0, count: instruments.count)
        self.charts = charts ? BacktestCharts(instruments: instruments.count) : nil
        fillsLabel = "--fills-csv \(fillsPath ?? "")"
        equityLabel = "--equity-csv \(equityPath ?? "")"
        fillsOutput = try Self.open(fillsPath, name: "--fills-csv")
        equityOutput = try Self.open(equityPath, name: "--equity-csv")
        fills = fillsOutput?.file
        equityFile = equityOutput?.file
        // Allocated last: nothing after them throws (the deinitialiser frees them).
        tallies = .allocate(capacity: instruments.count)
        tallies.initialize(repeating: InstrumentTally())
        strategyIDs = strategyNames.keys.sorted()
        costs = .allocate(capacity: Swift.max(strategyIDs.count &* instruments.count, 1))
        costs.initialize(repeating: (0, 0))
        lastTop = .allocate(capacity: instruments.count)
        lastTop.initialize(repeating: (0, 0))
        put(fills, "time,instrument,side,price,quantity,liquidity,fee,position,order_id,strategy,venue_time\n")
        put(
            equityFile,
            "time,equity,net_pnl,drawdown" + instruments.map { "," + TextField.csv("position_" + $0.symbol) }.joined()
                + "\n")
    }

    deinit {
        // (Outputs not committed are abandoned by their own deinitialisers.)
        _ = tallies.deinitialize()
        tallies.deallocate()
        _ = costs.deinitialize()
        costs.deallocate()
        _ = lastTop.deinitialize()
        lastTop.deallocate()
    }

    static func open(_ path: String?, name: String) throws(BacktestError) -> StagedOutput? {
        guard let path else { return nil }
        let output: StagedOutput
        do { output = try StagedOutput(path, flag: name) } catch {
            throw .usage(error.description)
        }
        setvbuf(output.file, nil, _IOFBF, 1 << 16)
        return output
    }

    func put(_ file: UnsafeMutablePointer<FILE>?, _ text: String) {
        guard let file else { return }
        if fputs(text, file) < 0, writeFailure == nil { writeFailure = failure(of: file) }
    }

    /// Closes the CSVs without keeping them (a run that failed: their partial files are
    /// removed, nothing is renamed into place).
    func closeFiles() {
        fillsOutput?.abandon()
        equityOutput?.abandon()
        fills = nil
        equityFile = nil
    }

    /// Completes the CSVs (flushed, closed and renamed into place: `StagedOutput.commit`, or held
    /// in `staging` to be renamed with the run's other outputs); a write that failed is an
    /// error, and then neither is kept.
    func close(staging: StagedOutputs? = nil) throws(BacktestError) {
        for file in [fills, equityFile] {
            if let file, fflush(file) != 0, writeFailure == nil { writeFailure = failure(of: file) }
        }
        if let writeFailure {
            closeFiles()
            throw .output(writeFailure)
        }
        fills = nil
        equityFile = nil
        do {
            for case let output? in [fillsOutput, equityOutput] {
                if let staging { try staging.hold(output) } else { try output.commit() }
            }
        } catch {
            closeFiles()
            throw error
        }
    }

    /// What failed writing `file` (from `errno`).
    func failure(of file: UnsafeMutablePointer<FILE>) -> String {
        "\(file == fills ? fillsLabel : equityLabel): the write failed: \(String(cString: strerror(errno)))"
    }

    // MARK: During the run

    /// A market-data event, or an order, report or delayed event in flight, at exchange time
    /// `time` is about to apply: equity samples due before it are taken, and time in the market
    /// counted up to it (so a fill that lands between events opens or closes the position at
    /// its own time). Inlined: most events only count time.
    @inline(__always)
    func advance(to time: UInt64) {
        // Most events come at the time of the one before, with no sample due: nothing to do.
        guard time > lastTime || time >= slowFrom else { return }
        if time >= slowFrom { takeSamples(before: time) }
        if openPositions > 0, time > lastTime { timeInMarket &+= time &- lastTime }
        lastTime = Swift.max(lastTime, time)
    }

    /// From this time on `advance` calls `takeSamples`: the first event, or the first time
    /// after a sample's boundary.
    @exclusivity(unchecked) var slowFrom: UInt64 = 0

    /// The first event starts the clock; then one sample per interval that has events: a gap
    /// in the data (a weekend, files far apart in time) adds one sample, at the last boundary
    /// before the event, not one per empty interval (memory stays bounded by the events). A
    /// sample at boundary B is the equity after every event stamped B or earlier: it is taken
    /// when the first later time comes (or at the end, `finalSample`).
    @inline(never)
    func takeSamples(before time: UInt64) {
        if firstTime == nil {
            firstTime = time
            nextSample = time
            lastTime = time
        }
        if let due = nextSample, due < time {
            let boundary = (time &- 1) &- (time &- 1 &- due) % interval
            sample(at: boundary)
            let (next, overflow) = boundary.addingReportingOverflow(interval)
            nextSample = overflow ? nil : next
        }
        slowFrom = nextSample.flatMap { $0 == .max ? nil : $0 &+ 1 } ?? UInt64.max
    }

    /// The run's last sample, at `time` (its last event's or in-flight item's): the equity
    /// after everything. None when nothing ran (no event started the clock).
    func finalSample(at time: UInt64) {
        guard firstTime != nil else { return }
        sample(at: time)
    }

    /// The venue's book of `instrument` after an event: its mid, when two-sided (the equity's
    /// mark; plotted when the touch moved and the run keeps charts).
    func mark(_ index: Int, _ top: BestBidOffer) {
        tallies[index].lastBook = lastTime
        if tallies[index].firstBook == 0, top.bid != nil || top.ask != nil { tallies[index].firstBook = lastTime }
        guard let bid = top.bid, let ask = top.ask else {
            // One-sided: any update may make it two-sided again.
            lastTop[index] = (0, 0)
            return
        }
        let prices = (bid.price.ticks, ask.price.ticks)
        guard prices != lastTop[index] else { return }
        lastTop[index] = prices
        tallies[index].touches &+= 1
        if prices.0 > prices.1 {
            if tallies[index].crossedTouches == 0 { tallies[index].firstCrossed = lastTime }
            tallies[index].crossedTouches &+= 1
            tallies[index].lastCrossed = lastTime
        }
        tallies[index].lastTwiceMid = bid.price.ticks &+ ask.price.ticks
        if tallies[index].firstTouch == 0 { tallies[index].firstTouch = lastTime }
        charts?.price(index, time: lastTime, bid: bid.price.ticks, ask: ask.price.ticks)
    }

    /// The book `mark` just took was last changed at `time`, before the run's first event (a
    /// book built before `--from`): its figures say so.
    func backdate(_ index: Int, bookAt time: UInt64) {
        guard time > 0 else { return }
        tallies[index].lastBook = time
        if tallies[index].firstTouch > time { tallies[index].firstTouch = time }
        if tallies[index].firstBook == 0 || tallies[index].firstBook > time { tallies[index].firstBook = time }
    }

    /// Whether an event may have moved the touch: a level update at or inside it (one deeper in
    /// the book cannot), a quote, a cleared book. (Notes a trade's time, and its price for the
    /// charts.)
    func mayMoveTop(_ index: Int, _ event: Event) -> Bool {
        guard case .levelUpdate(let update) = event.payload else {
            if case .trade(let trade) = event.payload {
                if tallies[index].firstTrade == 0 { tallies[index].firstTrade = lastTime }
                tallies[index].lastTrade = lastTime
                if let charts, trade.price.ticks > 0 { charts.trade(index, time: lastTime, price: trade.price.ticks) }
                return false
            }
            return true
        }
        return mayMoveTop(index, update)
    }

    /// Whether a level update may have moved the touch: at or inside it.
    @inline(__always)
    func mayMoveTop(_ index: Int, _ update: LevelUpdate) -> Bool {
        let (bid, ask) = lastTop[index]
        return update.side == .buy ? update.price.ticks >= bid : (ask == 0 || update.price.ticks <= ask)
    }

    /// Instruments with a position now.
    @exclusivity(unchecked) var openPositions = 0

    /// The touch last marked per instrument (two-sided; (0, 0) after a one-sided one).
    let lastTop: UnsafeMutableBufferPointer<(Int64, Int64)>

    /// The equity now, exact: capital + Σ (cash + position × mid − fees). (Past 128 bits an
    /// instrument counts nothing: the run then fails, `overflowedInstrument`.)
    var exactEquity: ExactAmount {
        var total = capital
        for (index, definition) in instruments.enumerated() {
            guard let net = tallies[index].netPnL else { continue }
            total = total + ExactAmount(net, tickSize: definition.tickSize, lotSize: definition.lotSize)
        }
        return total
    }

    /// The first instrument whose figures left the 128 bits they are exact in, if any.
    var overflowedInstrument: InstrumentDefinition? {
        for (index, definition) in instruments.enumerated() where tallies[index].netPnL == nil { return definition }
        return nil
    }

    func sample(at time: UInt64) {
        samples &+= 1
        // Several quote currencies have no total equity: positions only, the equity columns empty.
        let equityColumns = oneCurrency ? sampleEquity(at: time) : ",,,"
        guard equityFile != nil else { return }
        put(equityFile, UTCTime.text(time) + equityColumns + positionColumns + "\n")
    }

    /// The equity's sample at `time` (its peak, drawdown and chart); its equity CSV columns
    /// (equity, net P&L, drawdown), each after a comma, when that CSV is written.
    func sampleEquity(at time: UInt64) -> String {
        let exact = exactEquity
        let value = exact.double
        equity.append(value)
        if (exact - peak).value > 0 { peak = exact }
        let drawdown = peak - exact
        if (drawdown - maxDrawdown).value > 0 { maxDrawdown = drawdown }
        if exact.overflowed || drawdown.overflowed { equityOverflowed = true }
        let peakValue = peak.double
        if peakValue > 0 { maxDrawdownPercent = Swift.max(maxDrawdownPercent, drawdown.double / peakValue * 100) }
        charts?.equity(time: time, equity: value, drawdown: drawdown.double)
        guard equityFile != nil else { return "" }
        return "," + exact.description + "," + (exact - capital).description + "," + drawdown.description
    }

    /// Each instrument's position in base units, each after a comma (the equity CSV's last columns).
    var positionColumns: String {
        var text = ""
        for (index, definition) in instruments.enumerated() {
            text += "," + ExactAmount(lots: Int128(tallies[index].position), lotSize: definition.lotSize).description
        }
        return text
    }

    /// A command offered the venue `lots` (`SimulatedVenue.process`).
    @inline(__always)
    func offered(_ lots: Int64, instrument: InstrumentID) {
        let index = Int(instrument.rawValue)
        guard lots > 0, index < sentLots.count else { return }
        sentLots[index] &+= Int128(lots)
    }

    /// An update of a strategy's order, reaching the strategy at `event.time`: fills are
    /// counted (`venueTime`: when the venue made the fill).
    func record(_ event: StrategyOrderEvent, venueTime: UInt64) {
        let report = event.update.report
        guard report.isFill else { return }
        let index = Int(report.instrument.rawValue)
        guard index < tallies.count else { return }
        let lots = report.quantity.lots
        let signed = report.side == .buy ? lots : 0 &- lots
        var tally = tallies[index]
        tally.add(signed: signed, price: report.price.ticks, fee: event.update.fee)
        // A fill that reduces its strategy's position closes, and wins when it realises a gain
        // at the strategy's average cost.
        if let slot = strategyIDs.firstIndex(of: event.update.order.strategy.rawValue) {
            let at = slot &* instruments.count &+ index
            let after = Position.afterFill(
                net: costs[at].net, openCost: costs[at].openCost, signed: signed, price: report.price.ticks)
            if let gain = after.realised {
                closingFills &+= 1
                if gain > 0 { wins &+= 1 }
            }
            costs[at] = (after.net, after.openCost)
        }
        let wasOpen = tally.position != 0
        tally.position &+= signed
        if wasOpen != (tally.position != 0) { openPositions += tally.position != 0 ? 1 : -1 }
        tally.maxPosition = Swift.max(tally.maxPosition, Int64(clamping: tally.position.magnitude))
        tallies[index] = tally
        if let charts {
            charts.fill(index, time: event.time, side: report.side, price: report.price.ticks)
            charts.position(index, time: event.time, lots: tally.position)
        }
        guard fills != nil else { return }
        let definition = instruments[index]
        let line =
            UTCTime.text(event.time) + "," + csvSymbols[index] + "," + (report.side == .buy ? "buy" : "sell") + ","
            + report.price.formatted(tickSize: definition.tickSize) + ","
            + report.quantity.formatted(lotSize: definition.lotSize) + ","
            + (report.isAggressor ? "taker" : "maker") + ","
            + ExactAmount(event.update.fee, tickSize: definition.tickSize, lotSize: definition.lotSize).description
            + "," + ExactAmount(lots: Int128(tally.position), lotSize: definition.lotSize).description + ","
            + "\(report.orderID.rawValue)," + (csvStrategyNames[event.update.order.strategy.rawValue] ?? "") + ","
            + UTCTime.text(venueTime) + "\n"
        put(fills, line)
    }
}
