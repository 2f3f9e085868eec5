import PeregrineBook
import PeregrineCore
import PeregrineEVM
import PeregrineMempool
import PeregrineModel
import PeregrineRisk
import PeregrineStrategy

/// A running hash of every output, in order: FNV-1a over each field (see
/// `StateHasher+Model.swift`). The value after event N is the engine's "output hash".
public struct OutputHasher: Sendable {
    public private(set) var hasher = StateHasher()
    public init() {}
    /// Continues from an earlier `value` (restored from a snapshot).
    public init(resumingAt value: UInt64) { hasher = StateHasher(resumingAt: value) }
    public var value: UInt64 { hasher.value }

    public mutating func fold(_ outcome: Outcome) {
        hasher.combine(outcome.sequence)
        hasher.combine(outcome.kind.rawValue)
        hasher.combine(outcome.instrument.rawValue)
        hasher.combine(outcome.bestBidTicks)
        hasher.combine(outcome.bestAskTicks)
        hasher.combine(outcome.ordersSubmitted)
        hasher.combine(outcome.reportsEmitted)
    }

    public mutating func fold(_ order: VenueOrder) { order.combine(into: &hasher) }

    public mutating func fold(_ report: ExecutionReport) { report.combine(into: &hasher) }

    public mutating func fold(_ leg: borrowing BundleLeg) { leg.combine(into: &hasher) }

    public mutating func fold(_ seal: BundleSeal) { seal.combine(into: &hasher) }
}

/// Sends a venue's reports to the outputs, and those about the strategies' orders to the
/// order management as well (state machine, fills, positions; updates queued for delivery).
@usableFromInline
struct ReportRouter<Outputs: OutputSink & ~Copyable>: ExecutionReportSink {
    @usableFromInline let outputs: UnsafeMutablePointer<Outputs>
    @usableFromInline let trading: UnsafeMutablePointer<TradingState>

    @inlinable
    init(outputs: UnsafeMutablePointer<Outputs>, trading: UnsafeMutablePointer<TradingState>) {
        self.outputs = outputs
        self.trading = trading
    }

    @inlinable
    mutating func accept(_ report: ExecutionReport) {
        outputs.pointee.accept(report)
        if report.orderID.isStrategyOrder { trading.pointee.apply(report, exporting: Outputs.orderUpdates) }
    }
}

/// The engine's logic: everything the logic thread does with one input event, with no rings,
/// clocks or threads, so that the live run, `peregrine replay`, recovery and backtests run
/// exactly the same code. A pure function of the journaled events: time is the events'
/// timestamps.
///
/// Per event (see `Strategy` for the order strategies see it in): the strategies' timers that
/// the event's time reached fire; the event is applied to its instrument's one book
/// (`InstrumentBooks`: market data to an L2 book, an order command to the hosted venue's order
/// book, whose reports about the strategies' orders go to the order management); the
/// strategies trading the instrument get the market-data callback; each command a strategy
/// sends is matched there and then when the instrument is hosted (its reports are outputs and
/// update the strategy's orders and positions, which it hears of at once), or sent out as a
/// `VenueOrder`; then one `Outcome`. At the session end (the source's last event) the
/// strategies stop and their open orders are cancelled, unless kept for a restart.
///
/// `Custom` is the type of strategies from outside the package (`IdleStrategy` for none);
/// the built-ins need none. Allocation-free per event. Single-threaded.
public struct EngineLogic<Custom: Strategy>: ~Copyable {
    /// Behind pointers, allocated once: the strategies read the books and act on their orders
    /// through a `StrategyContext` while the logic holds them.
    @usableFromInline let books: UnsafeMutablePointer<InstrumentBooks>
    @usableFromInline let trading: UnsafeMutablePointer<TradingState>
    @usableFromInline let strategies: UnsafeMutablePointer<StrategySet<Custom>>
    @usableFromInline let hasStrategies: Bool
    @usableFromInline let cancelOrdersAtStop: Bool
    /// The mempool analysis, used only when `hasMempool` (the settings have one). Not an
    /// optional: reaching into an optional noncopyable value moves it out and back (a copy of
    /// its bytes per event); an idle one costs a few kilobytes.
    @usableFromInline var mempool: MempoolLogic
    @usableFromInline let hasMempool: Bool
    /// Outside venues' execution reports arrive as records (`RecordType.executionReport`).
    @usableFromInline var venueRecords = RecordAssembler()
    @usableFromInline var _venueReports = 0
    @usableFromInline var _malformedVenueReports = 0
    /// How long an outside venue has to answer a new order, event-time ns.
    @usableFromInline let ackTimeout: UInt64
    /// CRC-32C of the logic settings without the logic's revision (`LogicSettings.settingsOnlyText`,
    /// the text format 6 wrote): snapshots record it, so one restored under settings changed
    /// since is refused, and one of another revision with the same settings is not.
    let settingsChecksum: UInt32
    /// The venue of each instrument with reference data (for reconciling with one venue).
    let venueNames: [InstrumentID: String]
    @usableFromInline var _processed = 0
    @usableFromInline var _orders = 0
    @usableFromInline var _venueOrders = 0
    /// The sequence of the last event handled, -1 before the first.
    @usableFromInline var _lastSequence: Int64 = -1
    /// Whether the logic applies level updates and clear-book events to its market-data books
    /// (true). False when the other user of those books (`sharedMarketDataBooks`: a backtest's
    /// simulated venue without feed latency) applies each one before the logic sees it.
    public var appliesMarketData = true

    /// The market-data books, for a user that applies the market data itself (then set
    /// `appliesMarketData` to false): valid while this logic lives, on its thread.
    public var sharedMarketDataBooks: SharedBooks { books.pointee.sharedLevels }

    public var processed: Int { _processed }
    /// Commands the strategies sent (new orders, cancels, replaces).
    public var orders: Int { _orders }
    /// Commands refused before a venue (see `TradingCounters.refused`).
    public var refusedOrders: Int { trading.pointee.refusedCommands }
    /// Commands sent out for a venue this engine does not host.
    public var venueOrders: Int { _venueOrders }
    /// Execution reports from outside venues applied, and report records that did not decode.
    public var venueReports: Int { _venueReports }
    public var malformedVenueReports: Int { _malformedVenueReports }
    public var lastSequence: Int64 { _lastSequence }
    public var bookCounters: BookCounters { books.pointee.bookCounters }
    /// The hosted venue's counters (zero without order flow).
    public var venueCounters: MatchingCounters { books.pointee.venueCounters }
    /// The mempool analysis' counters (nil without one).
    @inlinable
    public var mempoolCounters: MempoolCounters? { hasMempool ? mempool.counters : nil }
    /// The order management's counters.
    public var tradingCounters: TradingCounters { trading.pointee.counters }

    /// Runs `body` with the books (each instrument's one book).
    public func withBooks<R>(_ body: (borrowing InstrumentBooks) -> R) -> R { body(books.pointee) }

    /// Runs `body` with the strategies' orders, positions and timers.
    public func withTrading<R>(_ body: (borrowing TradingState) -> R) -> R { body(trading.pointee) }

    /// Copies of the strategies of the outside type `Custom` (allocates: for tests and tools).
    public var customStrategies: [Custom] { strategies.pointee.customStrategies }

    /// The strategies' descriptions (name and every parameter), in configuration order.
    public var strategyDescriptions: [String] { strategies.pointee.descriptions }

    public init(configuration: EngineConfiguration, custom: Custom.Type = Custom.self) throws(EngineError) {
        let levels: BookSet
        do { levels = try BookSet(count: configuration.instruments) } catch { throw .book(error) }
        let venue = try Self.makeVenue(configuration)
        let mempool = try Self.makeMempool(configuration)
        let set = try configuration.makeStrategies(custom: custom)
        let risk = try configuration.makeRiskLimits(layouts: set.layouts)
        let definitions = configuration.resolvedInstruments
        var rules = Array(
            repeating: InstrumentRules.free, count: (definitions.map { Int($0.id.rawValue) }.max() ?? 0) + 1)
        for definition in definitions { rules[Int(definition.id.rawValue)] = definition.rules }
        hasMempool = configuration.mempool != nil
        hasStrategies = set.count > 0
        cancelOrdersAtStop = !configuration.keepOrdersAtStop
        ackTimeout = UInt64(configuration.ackTimeoutMilliseconds) &* 1_000_000
        settingsChecksum = Array(LogicSettings(configuration, strategies: set.descriptions).settingsOnlyText.utf8)
            .withUnsafeBytes { CRC32C.checksum($0) }
        venueNames = Dictionary(uniqueKeysWithValues: definitions.map { ($0.id, $0.venue) })
        books = .allocate(capacity: 1)
        books.initialize(to: InstrumentBooks(levels: levels, venue: venue, quoteBooks: configuration.quoteBooks))
        trading = .allocate(capacity: 1)
        trading.initialize(
            to: TradingState(
                strategies: set.layouts, rules: rules, orderCapacity: configuration.strategyOrderCapacity,
                timerCapacity: configuration.timerCapacity, venueOrderCapacity: configuration.venueOrderCapacity,
                risk: risk))
        strategies = .allocate(capacity: 1)
        strategies.initialize(to: set)
        self.mempool = mempool
    }

    deinit {
        books.deinitialize(count: 1)
        books.deallocate()
        trading.deinitialize(count: 1)
        trading.deallocate()
        strategies.deinitialize(count: 1)
        strategies.deallocate()
    }

    static func makeMempool(_ configuration: EngineConfiguration) throws(EngineError) -> MempoolLogic {
        let settings = configuration.mempool ?? .idle
        do { return try MempoolLogic(settings: settings) } catch {
            throw .invalidSetting(name: "mempool", value: "\(settings)", allowed: error.description)
        }
    }

    /// The hosted venue's books, one per instrument of `configuration.hostedInstruments`.
    static func makeVenue(_ configuration: EngineConfiguration) throws(EngineError) -> MatchingEngine? {
        let hosted = configuration.hostedInstruments
        guard !hosted.isEmpty else { return nil }
        do {
            return try MatchingEngine(
                specs: hosted.map {
                    InstrumentSpec(
                        instrument: InstrumentID(UInt32(truncatingIfNeeded: $0)),
                        orderCapacity: configuration.venueOrderCapacity)
                })
        } catch {
            throw .book(error)
        }
    }

    /// Handles the event with journal sequence `sequence`, sending outputs to `outputs`.
    /// `begun`: `beginEvent` has run for this event already (then the outcome does not count
    /// what it sent). `applied`: `warmUp` has applied the event to the books already (a
    /// backtest delivering the venue's reports the event caused first): only the callbacks
    /// remain.
    @inlinable
    public mutating func handle<Outputs: OutputSink & ~Copyable>(
        _ event: Event, sequence: Int64, outputs: inout Outputs, begun: Bool = false, applied: Bool = false
    ) {
        let reportsBefore = outputs.reportCount
        let ordersBefore = _orders
        if hasStrategies {
            withUnsafeMutablePointer(to: &outputs) { outputs in
                handle(event, sequence: sequence, outputs: outputs, begun: begun, applied: applied)
            }
        } else {
            handleWithoutStrategies(event, sequence: sequence, outputs: &outputs, applied: applied)
        }
        _processed &+= 1
        _lastSequence = sequence
        guard Outputs.takesOutcomes else { return }
        let top = books.pointee.bestBidOffer(event.instrument)
        outputs.outcome(
            Outcome(
                sequence: sequence, ingressTimestamp: event.timestamp, instrument: event.instrument,
                kind: event.payload.kind, bestBidTicks: top?.bid?.price.ticks ?? Outcome.noPrice,
                bestAskTicks: top?.ask?.price.ticks ?? Outcome.noPrice,
                ordersSubmitted: UInt8(clamping: _orders &- ordersBefore),
                reportsEmitted: UInt16(clamping: outputs.reportCount &- reportsBefore)))
    }

    /// What the logic does for an event before the event itself, with strategies: the
    /// session's start (every strategy's `onStart`, on the first event), the strategies' timers
    /// the event's time reached, orders whose answer is overdue. Their callbacks see the books
    /// without the event. A backtest whose simulated venue applies the market data to these
    /// books (`appliesMarketData` false) runs this before the venue applies the event, then
    /// `handle(_:sequence:outputs:begun:)` with `begun` true.
    @inlinable
    public mutating func beginEvent<Outputs: OutputSink & ~Copyable>(
        _ event: Event, sequence: Int64, outputs: inout Outputs
    ) {
        guard hasStrategies else { return }
        withUnsafeMutablePointer(to: &outputs) { outputs in begin(event, sequence, outputs) }
    }

    /// Whether `beginEvent` would call a strategy for an event at `time`: the session has not
    /// started, a timer is due, or an order's answer is overdue. When false it would only count
    /// the event, which `handle` does as well.
    @inlinable @inline(__always)
    public func hasWorkBeforeEvent(at time: UInt64) -> Bool {
        guard hasStrategies else { return false }
        if !trading.pointee.started { return true }
        if let deadline = trading.pointee.nextTimerDeadline, deadline <= time { return true }
        return trading.pointee.hasAnswersDue(at: time)
    }

    /// Inlined: most events find nothing to do before them (`hasWorkBeforeEvent`); `beginWork`
    /// does the rest.
    @inlinable @inline(__always)
    mutating func begin<Outputs: OutputSink & ~Copyable>(
        _ event: Event, _ sequence: Int64, _ outputs: UnsafeMutablePointer<Outputs>
    ) {
        trading.pointee.beginEvent(time: event.timestamp, exchangeTime: event.exchangeTimestamp)
        guard hasWorkBeforeEvent(at: event.timestamp) else { return }
        beginWork(event, sequence, outputs)
    }

    /// What `begin` does when the session starts, a timer is due or an answer is overdue.
    @inlinable
    mutating func beginWork<Outputs: OutputSink & ~Copyable>(
        _ event: Event, _ sequence: Int64, _ outputs: UnsafeMutablePointer<Outputs>
    ) {
        if !trading.pointee.started {
            trading.pointee.setStarted(true)
            for slot in 0..<strategies.pointee.count { callStrategy(.start, slot: slot, event, sequence, outputs) }
        }
        while let (slot, timer) = trading.pointee.nextDueTimer() {
            callStrategy(.timer(timer), slot: slot, event, sequence, outputs)
        }
        if trading.pointee.hasDueAnswers, trading.pointee.timeOutUnansweredOrders() > 0 {
            drain(event, sequence, outputs)
        }
    }

    /// The event with strategies: what comes before it (`begin`, unless `begun`), its book
    /// (unless `applied`; reports about their orders to the order management), their
    /// callbacks and what they send, and the mempool analysis.
    @inlinable
    mutating func handle<Outputs: OutputSink & ~Copyable>(
        _ event: Event, sequence: Int64, outputs: UnsafeMutablePointer<Outputs>, begun: Bool = false,
        applied: Bool = false
    ) {
        if !begun { begin(event, sequence, outputs) }
        if venueRecords.length > 0, event.payload.kind != .recordChunk, event.payload.kind != .recordEnd {
            if venueRecords.abandon() { _malformedVenueReports &+= 1 }
        }
        let instrument = event.instrument
        switch event.payload {
        case .levelUpdate(let update):
            if appliesMarketData, !applied { books.pointee.apply(update, to: instrument) }
            mark(instrument)
            notify(.book(instrument), instrument, event, sequence, outputs)
        case .order(let command):
            var router = ReportRouter(outputs: outputs, trading: trading)
            books.pointee.process(command, instrument: instrument, sink: &router)
            mark(instrument)
            drain(event, sequence, outputs)
            notify(.book(instrument), instrument, event, sequence, outputs)
        case .clearBook:
            if appliesMarketData, !applied { books.pointee.clear(instrument) }
            notify(.book(instrument), instrument, event, sequence, outputs)
        case .quote(let quote):
            if books.pointee.isQuoteBook(instrument) {
                if !applied { books.pointee.applyQuote(quote, to: instrument) }
                mark(instrument)
                notifyQuoteBook(quote, instrument, event, sequence, outputs)
                break
            }
            if trading.pointee.needsMarks, quote.bidPrice.ticks > 0, quote.askPrice.ticks > 0 {
                trading.pointee.updateMark(instrument, bid: quote.bidPrice, ask: quote.askPrice)
            }
            notify(.quote(quote, instrument), instrument, event, sequence, outputs)
        case .trade(let trade): notify(.trade(trade, instrument), instrument, event, sequence, outputs)
        case .timer(let timer) where timer.timerID == TimerFire.sessionEnd: stop(event, sequence, outputs)
        case .admin(let command): administer(command, event, sequence, outputs)
        case .recordChunk(let chunk): _ = venueRecords.append(chunk, index: instrument.rawValue)
        case .recordEnd(let end): finishVenueRecord(end, event, sequence, outputs)
        default: break
        }
        if trading.pointee.hasLossLimits { checkLosses(event, sequence, outputs) }
        if hasMempool { handleMempool(event, sequence: sequence, outputs: outputs) }
    }

    /// Records the instrument's mid for the risk checks (when they need one).
    @inlinable @inline(__always)
    mutating func mark(_ instrument: InstrumentID) {
        guard trading.pointee.needsMarks else { return }
        let top = books.pointee.bestBidOffer(instrument)
        trading.pointee.updateMark(instrument, bid: top?.bid?.price, ask: top?.ask?.price)
    }

    /// An operator's kill or reset (a journaled admin event).
    @inlinable @inline(never)
    mutating func administer<Outputs: OutputSink & ~Copyable>(
        _ command: AdminCommand, _ event: Event, _ sequence: Int64, _ outputs: UnsafeMutablePointer<Outputs>
    ) {
        switch command.action {
        case .kill:
            if trading.pointee.tripKillSwitch(.operatorCommand) { cancelOpenOrders(event, sequence, outputs) }
        case .reset: _ = trading.pointee.resetKillSwitch()
        }
    }

    /// A record's end: an outside venue's execution report is applied to the strategies' orders
    /// (state, fills, positions) and delivered; other records (the mempool's) are not the
    /// trading's.
    @inlinable @inline(never)
    mutating func finishVenueRecord<Outputs: OutputSink & ~Copyable>(
        _ end: RecordEnd, _ event: Event, _ sequence: Int64, _ outputs: UnsafeMutablePointer<Outputs>
    ) {
        let record = venueRecords.finish(end)
        switch end.type {
        case .venueHello:
            if let record { reconcile(venue: String(decoding: record, as: UTF8.self), event, sequence, outputs) }
            return
        case .executionReport: break
        default: return
        }
        guard let record, let report = try? ExecutionReport(decoding: record) else {
            _malformedVenueReports &+= 1
            return
        }
        applyVenueReport(report, event, sequence, outputs)
    }

    /// An outside venue's report applied to its order and delivered. A venue answers for its own
    /// instruments only: a report naming a hosted instrument, or one other than its order's, is
    /// refused (counted as malformed).
    @inlinable
    mutating func applyVenueReport<Outputs: OutputSink & ~Copyable>(
        _ report: ExecutionReport, _ event: Event, _ sequence: Int64, _ outputs: UnsafeMutablePointer<Outputs>
    ) {
        guard !books.pointee.isHosted(report.instrument),
            trading.pointee.apply(report, refusingOtherInstrument: true, exporting: Outputs.orderUpdates)
        else {
            _malformedVenueReports &+= 1
            return
        }
        _venueReports &+= 1
        drain(event, sequence, outputs)
    }

    /// Delivers an outside venue's execution report that arrives at engine time `time` (the
    /// backtest's simulated venue, after its response latency): the strategies' timers due by
    /// then fire, the report is applied to its order (state, fills, position) and delivered, and
    /// what the strategy sends in answer is routed. A report naming a hosted instrument, or an
    /// instrument other than its order's, is counted as malformed and ignored. Allocation-free.
    @inlinable
    public mutating func handleVenueReport<Outputs: OutputSink & ~Copyable>(
        _ report: ExecutionReport, time: UInt64, exchangeTime: UInt64, sequence: Int64, outputs: inout Outputs
    ) {
        let event = Event.clockTick(at: time, exchangeTimestamp: exchangeTime)
        withUnsafeMutablePointer(to: &outputs) { outputs in
            trading.pointee.beginEvent(time: time, exchangeTime: exchangeTime)
            while let (slot, timer) = trading.pointee.nextDueTimer() {
                callStrategy(.timer(timer), slot: slot, event, sequence, outputs)
            }
            applyVenueReport(report, event, sequence, outputs)
            if trading.pointee.hasLossLimits { checkLosses(event, sequence, outputs) }
        }
    }

    /// Applies a market-data event to its instrument's book without telling any strategy (a
    /// backtest's warm-up before its start time): level updates and clear-book events change
    /// the book; every other event is ignored.
    @inlinable @inline(__always)
    public mutating func warmUp(_ event: Event) {
        switch event.payload {
        case .levelUpdate(let update):
            if appliesMarketData { books.pointee.apply(update, to: event.instrument) }
            mark(event.instrument)
        case .clearBook: if appliesMarketData { books.pointee.clear(event.instrument) }
        case .quote(let quote) where books.pointee.isQuoteBook(event.instrument):
            books.pointee.applyQuote(quote, to: event.instrument)
            mark(event.instrument)
        case .quote(let quote):
            if trading.pointee.needsMarks, quote.bidPrice.ticks > 0, quote.askPrice.ticks > 0 {
                trading.pointee.updateMark(event.instrument, bid: quote.bidPrice, ask: quote.askPrice)
            }
        default: break
        }
    }

    /// Whether `warmUp` does anything with a level update: it applies market data to the books,
    /// or the risk checks mark positions to the market. When false a backtest may skip the call.
    @inlinable
    public var warmsUpLevelUpdates: Bool { appliesMarketData || trading.pointee.needsMarks }

    /// The earliest deadline of a strategy timer not yet fired (engine ns), or nil when none is
    /// set: a backtest moves time there when no input comes sooner.
    @inlinable
    public var nextTimerDeadline: UInt64? { trading.pointee.nextTimerDeadline }

    /// An outside venue (re)started: a status request for every open order in its instruments
    /// (every outside instrument when `venue` is empty), routed at once.
    @usableFromInline
    mutating func reconcile<Outputs: OutputSink & ~Copyable>(
        venue: String, _ event: Event, _ sequence: Int64, _ outputs: UnsafeMutablePointer<Outputs>
    ) {
        let books = books
        let names = venueNames
        // A full command queue is routed and the rest asked for in the next rounds. (Answers
        // do not change which orders are open before the round's commands are routed: a status
        // request goes out; its answer comes back as a later event.)
        var asked = 0
        while true {
            let queued = trading.pointee.requestStatus(skipping: asked) { instrument in
                !books.pointee.isHosted(instrument) && (venue.isEmpty || names[instrument] == venue)
            }
            drain(event, sequence, outputs)
            asked &+= queued
            if queued < TradingState.pendingCapacity { break }
        }
    }

    /// Trips the kill switch when a strategy's loss today passed its maximum.
    @inlinable @inline(never)
    mutating func checkLosses<Outputs: OutputSink & ~Copyable>(
        _ event: Event, _ sequence: Int64, _ outputs: UnsafeMutablePointer<Outputs>
    ) {
        guard let slot = trading.pointee.nextLossBreach() else { return }
        let strategy = trading.pointee.layout(slot: slot).id
        if trading.pointee.tripKillSwitch(.dailyLoss, strategy: strategy) { cancelOpenOrders(event, sequence, outputs) }
    }

    /// Cancels every open order of every strategy, routing the cancels as it goes. Each round
    /// queues a cancel for what is open (as many as the command queue takes); a cancel the
    /// venue refuses (an order it no longer holds) leaves the order open, so the rounds are
    /// bounded: enough for every order once, and two more.
    @inlinable
    mutating func cancelOpenOrders<Outputs: OutputSink & ~Copyable>(
        _ event: Event, _ sequence: Int64, _ outputs: UnsafeMutablePointer<Outputs>, includingReplaces: Bool = false
    ) {
        let rounds = trading.pointee.openOrders / TradingState.pendingCapacity + 2
        for _ in 0..<rounds where trading.pointee.cancelOpenOrders(includingReplaces: includingReplaces) > 0 {
            drain(event, sequence, outputs)
        }
    }

    /// The event without strategies: its book, and the mempool analysis. Reports go straight to
    /// `outputs` (no order management to tell).
    @inlinable
    mutating func handleWithoutStrategies<Outputs: OutputSink & ~Copyable>(
        _ event: Event, sequence: Int64, outputs: inout Outputs, applied: Bool = false
    ) {
        switch event.payload {
        case .levelUpdate(let update):
            if appliesMarketData, !applied { books.pointee.apply(update, to: event.instrument) }
        case .order(let command): books.pointee.process(command, instrument: event.instrument, sink: &outputs)
        case .clearBook: if appliesMarketData, !applied { books.pointee.clear(event.instrument) }
        case .admin(let command):
            // No strategy, no order to cancel: the switch's state is all there is.
            trading.pointee.beginEvent(time: event.timestamp)
            if command.action == .kill {
                _ = trading.pointee.tripKillSwitch(.operatorCommand)
            } else {
                _ = trading.pointee.resetKillSwitch()
            }
        default: break
        }
        if hasMempool { analyse(event, sequence: sequence, outputs: &outputs) }
    }

    /// The mempool analysis of one event, without strategies to tell. Never inlined (see
    /// `handleMempool`).
    @inlinable @inline(never)
    mutating func analyse<Outputs: OutputSink & ~Copyable>(_ event: Event, sequence: Int64, outputs: inout Outputs) {
        mempool.handle(event, sequence: sequence, sink: &outputs)
    }

    /// Hands `call` to each strategy trading `instrument`, in configuration order.
    @inlinable
    mutating func notify<Outputs: OutputSink & ~Copyable>(
        _ call: StrategyCall, _ instrument: InstrumentID, _ event: Event, _ sequence: Int64,
        _ outputs: UnsafeMutablePointer<Outputs>
    ) {
        let subscribers = trading.pointee.subscribers(of: instrument)
        for index in subscribers {
            let slot = trading.pointee.subscriber(at: index)
            if strategies.pointee.wants(call, slot: slot) { callStrategy(call, slot: slot, event, sequence, outputs) }
        }
    }

    /// A quote that is its instrument's book: `onQuote` for each strategy that wants quotes,
    /// `onBook` for each that wants only books (one call each, in configuration order).
    @inlinable
    mutating func notifyQuoteBook<Outputs: OutputSink & ~Copyable>(
        _ quote: Quote, _ instrument: InstrumentID, _ event: Event, _ sequence: Int64,
        _ outputs: UnsafeMutablePointer<Outputs>
    ) {
        let subscribers = trading.pointee.subscribers(of: instrument)
        for index in subscribers {
            let slot = trading.pointee.subscriber(at: index)
            if strategies.pointee.wants(.quote(quote, instrument), slot: slot) {
                callStrategy(.quote(quote, instrument), slot: slot, event, sequence, outputs)
            } else if strategies.pointee.wants(.book(instrument), slot: slot) {
                callStrategy(.book(instrument), slot: slot, event, sequence, outputs)
            }
        }
    }

    /// Calls one strategy, then routes what it sent and delivers what came back.
    @inlinable
    mutating func callStrategy<Outputs: OutputSink & ~Copyable>(
        _ call: StrategyCall, slot: Int, _ event: Event, _ sequence: Int64, _ outputs: UnsafeMutablePointer<Outputs>
    ) {
        var context = StrategyContext(state: trading, books: books, slot: slot)
        strategies.pointee.deliver(call, slot: slot, &context)
        drain(event, sequence, outputs)
    }

    /// Routes every command waiting and delivers every order update, until neither is left
    /// (an update may make its strategy send more; each strategy has a per-event limit).
    /// Inlined: most of the time neither waits, and the check costs less than a call.
    @inlinable @inline(__always)
    mutating func drain<Outputs: OutputSink & ~Copyable>(
        _ event: Event, _ sequence: Int64, _ outputs: UnsafeMutablePointer<Outputs>
    ) {
        guard trading.pointee.hasUpdates || trading.pointee.hasCommands else { return }
        drainQueued(event, sequence, outputs)
    }

    /// `drain` when something waits.
    @inlinable
    mutating func drainQueued<Outputs: OutputSink & ~Copyable>(
        _ event: Event, _ sequence: Int64, _ outputs: UnsafeMutablePointer<Outputs>
    ) {
        // One command at a time, then every update it caused (so the update queue, sized for
        // one command's reports, never overflows), then the commands those updates sent.
        // (Checked here: most of the time there is none, and the call costs more than the check.)
        if trading.pointee.hasUpdates { deliverUpdates(event, sequence, outputs) }
        while let (command, instrument) = trading.pointee.nextCommand() {
            route(command, instrument: instrument, event: event, sequence: sequence, outputs: outputs)
            if trading.pointee.hasUpdates { deliverUpdates(event, sequence, outputs) }
        }
    }

    /// Delivers every queued order update to its strategy (and the export).
    @inlinable
    mutating func deliverUpdates<Outputs: OutputSink & ~Copyable>(
        _ event: Event, _ sequence: Int64, _ outputs: UnsafeMutablePointer<Outputs>
    ) {
        while let update = trading.pointee.nextUpdate() {
            outputs.pointee.orderUpdate(sequence: sequence, time: event.timestamp, update)
            guard let slot = trading.pointee.slot(of: update.order.strategy) else { continue }
            var context = StrategyContext(state: trading, books: books, slot: slot)
            strategies.pointee.deliver(update, slot: slot, &context)
        }
    }

    /// The session ends: every strategy stops, then its open orders are cancelled (unless kept).
    @inlinable
    mutating func stop<Outputs: OutputSink & ~Copyable>(
        _ event: Event, _ sequence: Int64, _ outputs: UnsafeMutablePointer<Outputs>
    ) {
        guard trading.pointee.started else { return }
        for slot in 0..<strategies.pointee.count { callStrategy(.stop, slot: slot, event, sequence, outputs) }
        // No answer is heard after this: orders with a replace in flight are cancelled too.
        if cancelOrdersAtStop { cancelOpenOrders(event, sequence, outputs, includingReplaces: true) }
        trading.pointee.setStarted(false)
    }

    /// The mempool analysis of one event, and the opportunity it found, if any, to every
    /// strategy (with strategies; `analyse` without). Never inlined: its code and its 2 KB bundle-leg temporaries would otherwise
    /// sit in every event's path (measured: 22% fewer events/s through the pipeline without a
    /// mempool).
    @inlinable @inline(never)
    mutating func handleMempool<Outputs: OutputSink & ~Copyable>(
        _ event: Event, sequence: Int64, outputs: UnsafeMutablePointer<Outputs>
    ) {
        let found = mempool.counters.opportunities
        mempool.handle(event, sequence: sequence, sink: &outputs.pointee)
        guard mempool.counters.opportunities != found, let opportunity = mempool.lastOpportunity else {
            return
        }
        let summary = MempoolOpportunity(
            victimHashPrefix: opportunity.victim.words.0, amountIn: opportunity.amountIn,
            amountOut: opportunity.amountOut, gasCost: opportunity.gasCost, netProfit: opportunity.netProfit)
        for slot in 0..<strategies.pointee.count {
            callStrategy(.opportunity(summary), slot: slot, event, sequence, outputs)
        }
    }

    /// Matches a command for a hosted instrument; sends any other out for its venue.
    @inlinable
    mutating func route<Outputs: OutputSink & ~Copyable>(
        _ command: OrderCommand, instrument: InstrumentID, event: Event, sequence: Int64,
        outputs: UnsafeMutablePointer<Outputs>
    ) {
        _orders &+= 1
        if books.pointee.isHosted(instrument) {
            var router = ReportRouter(outputs: outputs, trading: trading)
            books.pointee.process(command, instrument: instrument, sink: &router)
            mark(instrument)
            return
        }
        _venueOrders &+= 1
        if command.action == .new, ackTimeout > 0 {
            trading.pointee.expectAnswer(to: command.orderID, by: event.timestamp &+ ackTimeout)
        }
        outputs.pointee.order(
            VenueOrder(command: command, instrument: instrument, sequence: sequence, decidedAt: event.timestamp))
    }

    static var snapshotMagic: UInt32 { 0x4C45_4750 }  // "PGEL"
    /// 9 (2026-12-02): the checksum of the logic settings it was taken under; each open bundle
    /// leg's victim sender and nonce, and how many of the open bundle's pools are each leg's (a
    /// replaced victim's leg leaves the bundle).
    /// 8 (2026-12-02): the pools the mempool's open bundle swaps through follow its legs.
    /// 7 (2026-11-30): the risk state (kill switch, marks, the trading day and its baselines,
    /// throttles) follows the trading state. 6 (2026-11-29): the strategies' trading state (orders, positions, timers) and every
    /// strategy's state follow the books; versions 4 and 5 held one strategy without orders or
    /// positions and are refused (recovery then replays the journal, whose settings are refused
    /// in turn if an older build wrote them). 5: the mempool analysis' state. 4: strategies
    /// submit orders; each instrument has one book.
    static var snapshotVersion: UInt16 { 9 }

    /// Writes the whole logic state and the output hash so far (a snapshot's payload).
    /// Call between events. O(state).
    public func encodeState(outputHash: UInt64, into encoder: inout SnapshotEncoder) {
        encoder.write(Self.snapshotMagic)
        encoder.write(Self.snapshotVersion)
        encoder.write(settingsChecksum)
        encoder.write(_lastSequence)
        for value in [_processed, _orders, _venueOrders, _venueReports, _malformedVenueReports] {
            encoder.write(Int64(value))
        }
        encoder.write(outputHash)
        books.pointee.encodeState(into: &encoder)
        var visitor = EncodingVisitor(encoder)
        encoder = SnapshotEncoder()
        // Encoding only reads the fields.
        try? trading.pointee.visitState(&visitor)
        try? strategies.pointee.visitState(&visitor)
        encoder = visitor.encoder
        encoder.write(Int64(venueRecords.length))
        venueRecords.withHeldBytes { bytes in
            encoder.write(Int64(bytes.count))
            bytes.forEach { encoder.write($0) }
        }
        encoder.write(hasMempool)
        if hasMempool { mempool.encodeState(into: &encoder) }
    }

    /// Loads what `encodeState` wrote into this fresh logic (built with the same settings);
    /// returns the output hash to continue from.
    public mutating func restoreState(from decoder: inout SnapshotDecoder) throws(SnapshotError) -> OutputHasher {
        let magic = try decoder.read(UInt32.self, "magic")
        guard magic == Self.snapshotMagic else { throw .otherFormat("not an engine-logic snapshot") }
        let version = try decoder.read(UInt16.self, "version")
        guard version == Self.snapshotVersion else {
            throw .otherFormat(
                "an engine-logic snapshot of version \(version); this build reads version \(Self.snapshotVersion) "
                    + (version < Self.snapshotVersion
                        ? "(an older build wrote it: use that build, or start a new journal)"
                        : "(a newer build wrote it: use that build)"))
        }
        let settings = try decoder.read(UInt32.self, "settings checksum")
        guard settings == settingsChecksum else {
            throw .mismatch(
                "it was taken under other logic settings (their checksum \(CRC32C.text(settings)), these "
                    + "\(CRC32C.text(settingsChecksum))): they were changed after it")
        }
        _lastSequence = try decoder.read(Int64.self, "last sequence")
        let counts = try [0, 1, 2, 3, 4].map { (_: Int) throws(SnapshotError) -> Int64 in
            try decoder.read(Int64.self, "counter")
        }
        guard counts.allSatisfy({ $0 >= 0 }) else { throw .invalid(field: "counter", value: counts.min() ?? -1) }
        (_processed, _orders, _venueOrders) = (Int(counts[0]), Int(counts[1]), Int(counts[2]))
        (_venueReports, _malformedVenueReports) = (Int(counts[3]), Int(counts[4]))
        let hasher = OutputHasher(resumingAt: try decoder.read(UInt64.self, "output hash"))
        try books.pointee.restoreState(from: &decoder)
        var visitor = DecodingVisitor(decoder)
        try trading.pointee.visitState(&visitor)
        try strategies.pointee.visitState(&visitor)
        decoder = visitor.decoder
        let length = try decoder.read(Int64.self, "venue record length")
        let held = try decoder.readCount("venue record bytes")
        guard length >= 0, length <= Int64(RecordAssembler.spoiltLength), held <= RecordAssembler.capacity,
            held == Swift.min(Int(length), RecordAssembler.capacity)
        else { throw .invalid(field: "venue record bytes", value: Int64(held)) }
        var bytes = [UInt8](repeating: 0, count: held)
        for index in 0..<held { bytes[index] = try decoder.read(UInt8.self, "venue record byte") }
        bytes.withUnsafeBytes { venueRecords.restore(length: Int(length), held: $0) }
        let hasMempool = try decoder.readBool("mempool")
        guard hasMempool == self.hasMempool else {
            throw .mismatch(
                hasMempool ? "it holds a mempool analysis; these settings have none" : "it holds no mempool analysis")
        }
        if hasMempool { try mempool.restoreState(from: &decoder) }
        guard decoder.isAtEnd else {
            throw .invalid(field: "trailing bytes", value: Int64(decoder.bytes.count - decoder.offset))
        }
        return hasher
    }

    /// A fingerprint of the whole logic state: every book, the strategies, their orders,
    /// positions and timers, and the counters. Equal on every machine for equal states.
    public func stateHash() -> UInt64 {
        var hasher = StateHasher()
        hasher.combine(_lastSequence)
        hasher.combine(_processed)
        hasher.combine(_orders)
        hasher.combine(_venueOrders)
        hasher.combine(_venueReports)
        hasher.combine(_malformedVenueReports)
        hasher.combine(venueRecords.length)
        venueRecords.withHeldBytes { bytes in
            for byte in bytes { hasher.combine(byte) }
        }
        books.pointee.combineState(into: &hasher)
        var visitor = HashingVisitor(hasher)
        // Hashing only reads the fields.
        try? trading.pointee.visitState(&visitor)
        try? strategies.pointee.visitState(&visitor)
        hasher = visitor.hasher
        if hasMempool { mempool.combineState(into: &hasher) }
        return hasher.value
    }
}

/// Outputs that are only counted and hashed: for replay and recovery.
public struct HashingOutputs: OutputSink {
    public var hasher = OutputHasher()
    public private(set) var outcomes = 0
    public private(set) var orders = 0
    public private(set) var reportCount = 0
    public private(set) var fills = 0
    /// Called with each output when set (for `peregrine replay --print`).
    public var printer: ((String) -> Void)?
    /// The instruments' reference data, for `printer`'s lines: symbols, and prices and
    /// quantities in the instrument's units (an instrument without it: its id, ticks and lots).
    public var instruments: [InstrumentID: InstrumentDefinition] = [:]
    /// Called with each sealed bundle's legs and seal when set (for `peregrine replay --bundles-out`).
    public var bundleSink: BundleRequestWriter?
    /// Writes each update of the strategies' orders when set (`peregrine replay --fills-out`).
    public var orderEvents: OrderEventWriter?

    public init(hasher: OutputHasher = OutputHasher()) { self.hasher = hasher }

    /// Prints each output to `printer` (nil: none), in the units of `instruments`.
    public mutating func print(to printer: ((String) -> Void)?, instruments: [InstrumentDefinition]) {
        self.printer = printer
        self.instruments = printer == nil ? [:] : InstrumentUnits.byID(instruments)
    }

    public mutating func outcome(_ outcome: Outcome) {
        outcomes += 1
        hasher.fold(outcome)
    }

    public mutating func order(_ order: VenueOrder) {
        orders += 1
        hasher.fold(order)
        guard let printer else { return }
        let units = InstrumentUnits(instruments[order.instrument])
        printer(
            "order \(units.name(order.instrument)) \(Self.describe(order.command, units)) (event \(order.sequence))")
    }

    /// A command as `--print` shows it: the fields its action uses (a replace carries no side,
    /// type or time in force of its own; a cancel or status request only the order's id).
    static func describe(_ command: OrderCommand, _ units: InstrumentUnits) -> String {
        switch command.action {
        case .new:
            let limit = command.type == .limit || command.type == .stopLimit ? "@\(units.price(command.price))" : ""
            let stop = command.type.isStop ? " stop \(units.price(command.stopPrice))" : ""
            return "new \(command.orderID) \(command.side) \(units.quantity(command.quantity))\(limit) \(command.type)"
                + "\(stop) \(command.timeInForce)"
        case .replace:
            return "replace \(command.orderID) to \(units.quantity(command.quantity))@\(units.price(command.price))"
        case .cancel, .status: return "\(command.action) \(command.orderID)"
        }
    }

    /// An execution report as `--print` shows it.
    static func describe(_ report: ExecutionReport, _ units: InstrumentUnits) -> String {
        var text =
            "\(report.kind) \(report.orderID) \(report.account) \(report.side) \(units.quantity(report.quantity))"
            + "@\(units.price(report.price)) leaves \(units.quantity(report.leavesQuantity))"
        if report.reason != .none { text += " reason \(report.reason)" }
        if report.isFill {
            text +=
                " trade \(report.tradeID) vs \(report.contraOrderID) \(report.contraAccount)"
                + (report.isAggressor ? " aggressor" : "")
        }
        return text
    }

    public mutating func orderUpdate(sequence: Int64, time: UInt64, _ update: OrderUpdate) {
        orderEvents?.write(StrategyOrderEvent(sequence: sequence, time: time, update: update))
    }

    public mutating func accept(_ report: ExecutionReport) {
        reportCount += 1
        if report.isFill { fills += 1 }
        hasher.fold(report)
        guard let printer else { return }
        let units = InstrumentUnits(instruments[report.instrument])
        printer("report \(units.name(report.instrument)) \(Self.describe(report, units))")
    }

    public mutating func bundleLeg(_ leg: borrowing BundleLeg) {
        hasher.fold(leg)
        bundleSink?.bundleLeg(leg)
        printer?(
            "bundle \(leg.bundleID) leg: victim \(leg.victimHash) (event \(leg.sequence)), back-run \(leg.backrunID) "
                + "net \(leg.netProfit) wei")
    }

    public mutating func bundleSealed(_ seal: BundleSeal) {
        hasher.fold(seal)
        bundleSink?.bundleSealed(seal)
        printer?(
            "bundle \(seal.bundleID) sealed: \(seal.legs) legs for block \(seal.targetBlock) (event \(seal.sequence))")
    }
}
