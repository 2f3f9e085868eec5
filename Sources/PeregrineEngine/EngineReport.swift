import PeregrineBook
import PeregrineCore
import PeregrineJournal
import PeregrineMempool
import PeregrineStrategy

/// The final report of a run: what went in, what came out, what was lost (nothing, unless a
/// drop policy allowed it), and how fast.
public struct EngineReport: Sendable {
    public var configuration: EngineConfiguration
    public var stopReason: String
    public var elapsedSeconds: Double
    public var clock: String
    public var threadPinning: [(thread: String, pinning: PinnedThread.Pinning)]
    public var emitted: Int
    public var dropped: Int
    public var fullWaits: Int
    public var journaled: Int
    public var processed: Int
    public var outcomesAtSink: Int
    /// Orders the strategy submitted.
    public var orders: Int
    /// Orders refused beyond the per-event limit.
    public var refusedOrders: Int
    /// Orders sent out for venues this engine does not host, and how many reached the sink.
    public var venueOrders: Int
    public var venueOrdersAtSink: Int
    public var endToEnd: LatencySummary
    /// Ingress of the event a strategy decided on → its venue order at the sink.
    public var orderLatency: LatencySummary
    /// Per journal batch: oldest event's ingress → released to the logic.
    public var journalLatency: LatencySummary
    /// Per bundled victim: its record's ingress → its bundle signed and sent by the sink.
    public var bundleLatency = LatencySummary(LatencyRecorder.makeHistogram())
    /// The mempool analysis' counters after the last event (nil without one), and the bundles
    /// this run sealed and that reached the sink.
    public var mempool: MempoolCounters? = nil
    /// The strategies' positions, P&L and orders at the end (nil without strategies).
    public var trading: TradingSnapshot? = nil
    /// Lines the orders and fills export wrote, and its failure if any.
    public var exportLines = 0
    public var exportFailure: String? = nil
    public var bundlesSealed = 0
    public var bundlesAtSink = 0
    public var bookCounters: BookCounters
    /// The matching engine's counters (all zero without order flow).
    public var venueCounters: MatchingCounters
    public var reportsEmitted: Int
    public var reportsAtSink: Int
    public var fillsAtSink: Int
    /// Clock ticks the idle source sent (counted in `emitted`).
    public var ticks: Int
    /// `EngineLogic.stateHash()` after the last event: equal to a replay of the journal's.
    public var stateHash: UInt64
    /// The hash of every output from the journal's first event on (recovered runs continue it).
    public var outputHash: UInt64
    /// The journal sequence of the last event handled (-1 for none).
    public var lastSequence: Int64
    public var journal: JournalStatistics
    public var journalError: JournalError?
    /// What recovery found and replayed at start-up (nil without a journal).
    public var recovery: ReplaySummary?
    /// What the source read (nil for the synthetic market).
    public var recordedSummary: String?
    /// Which source fed the run (the source plan's description).
    public var sourceDescription = ""
    /// The journal's lines in `formatted` (from the journal plan).
    public var journalLines: [String] = []
    /// Whether a journal (a directory or a JetStream stream) kept the events; false for
    /// `--no-journal`.
    public var hasJournal = true
    public var snapshotsWritten: Int
    public var snapshotFailure: String?
    /// Why the pipeline could not start its stages (the run did no work), if so.
    public var setupError: String? = nil
    /// Why a recorded source stopped before the end of its files, if it did.
    public var sourceFailure: String? = nil
    /// What the source knows it lost of its input, if anything (`EventSource.losses`).
    public var sourceLosses: String? = nil
    /// What of a finite input the run left unread, if anything (`EventSource.unread`).
    public var sourceUnread: String? = nil

    /// Every accepted event reached the sink exactly once, so did every venue order and
    /// execution report, every book level was held, and nothing failed (set-up, source, journal):
    /// `problems` is empty.
    public var isLossless: Bool { problems.isEmpty }

    /// What the stage between the source and the logic did to the events: "journaled", or
    /// "sequenced" without a journal (`--no-journal`: the stage orders them and keeps nothing).
    var sequencingStage: String { hasJournal ? "journaled" : "sequenced" }

    /// What keeps the run from being lossless and complete, one phrase each: the equalities
    /// that do not hold, with their figures, and the failures.
    public var problems: [String] {
        var problems: [String] = []
        if let setupError { problems.append("set-up failed (\(setupError)): nothing was run") }
        if let sourceFailure { problems.append("the source stopped early (\(sourceFailure))") }
        if let sourceLosses { problems.append("input was lost: \(sourceLosses)") }
        if let sourceUnread { problems.append("the run stopped before the end of its input: \(sourceUnread)") }
        if let journalError { problems.append("the journal failed (\(journalError))") }
        if let exportFailure { problems.append("the orders and fills export failed (\(exportFailure))") }
        func check(_ holds: Bool, _ phrase: String) { if !holds { problems.append(phrase) } }
        let stage = sequencingStage
        // Shed at the source (`--on-full drop`): never journaled, so never counted below.
        check(dropped == 0, "\(grouped(dropped)) events dropped at the source on a full ring (--on-full drop)")
        check(emitted == journaled, "events in \(grouped(emitted)) != \(stage) \(grouped(journaled))")
        check(journaled == processed, "\(stage) \(grouped(journaled)) != processed \(grouped(processed))")
        check(processed == outcomesAtSink, "processed \(grouped(processed)) != out \(grouped(outcomesAtSink))")
        check(
            venueOrders == venueOrdersAtSink,
            "venue orders sent \(grouped(venueOrders)) != at sink \(grouped(venueOrdersAtSink))")
        check(
            bundlesSealed == bundlesAtSink,
            "bundles sealed \(grouped(bundlesSealed)) != at sink \(grouped(bundlesAtSink))")
        check(
            reportsEmitted == reportsAtSink,
            "reports emitted \(grouped(reportsEmitted)) != at sink \(grouped(reportsAtSink))")
        // A refused level leaves a book that no longer mirrors its input: not complete.
        check(
            bookCounters.refusedAtCeiling == 0,
            "\(grouped(bookCounters.refusedAtCeiling)) new book level(s) refused at the ceiling of "
                + "\(grouped(L2Book.defaultMaxLevelsPerSide)) levels a side")
        return problems
    }

    /// What a bundle that left had behind it: its inputs journaled and synced, or what was
    /// traded away for speed.
    public var durabilityPoint: String {
        guard configuration.journalDirectory != nil else {
            return
                "traded away: no journal, so the inputs of the bundles sent are not recorded (--journal DIR keeps them)"
        }
        switch configuration.durability {
        case .every:
            return "held: every bundle left after its inputs were synced to the journal (--durability every)"
        case .batch(let interval, let events):
            return "partly traded away: bundles left once their inputs were written to the journal, synced within "
                + "\(interval) µs or \(events) events; a power cut can lose the inputs of the last bundles sent "
                + "(--durability every holds it)"
        case .none:
            return "traded away: bundles left once their inputs were written to the OS page cache, never synced "
                + "while running; a power cut can lose the inputs of bundles already sent (--durability none)"
        }
    }

    /// Events per second through the sink over the run.
    public var sustainedRate: Double { elapsedSeconds > 0 ? Double(outcomesAtSink) / elapsedSeconds : 0 }

    /// The report as printed at the end of `peregrine run`.
    /// The strategies' lines: order management, open orders by state, each position.
    /// `scope` follows the counts of the logic's state (the whole journal's after a recovery).
    static func tradingLines(_ trading: TradingSnapshot, strategies: Int, scope: String = "") -> [String] {
        let counters = trading.counters
        var lines: [String] = []
        lines.append(
            "strategy orders   \(grouped(counters.submitted)) new · \(grouped(counters.cancelsSent)) cancels · "
                + "\(grouped(counters.replacesSent)) replaces · \(grouped(counters.fills)) fills · ended "
                + "\(grouped(counters.filled)) filled, \(grouped(counters.cancelled)) cancelled, "
                + "\(grouped(counters.rejected)) rejected" + scope)
        let open = OrderState.allCases.filter { $0.isOpen }.map { "\(grouped(trading.openOrders[$0] ?? 0)) \($0)" }
        lines.append("open orders       " + open.joined(separator: " · "))
        var refusals = OrderRefusal.allCases.dropFirst().compactMap { refusal -> String? in
            let count = counters.refused[Int(refusal.rawValue)]
            return count > 0 ? "\(grouped(count)) \(refusal)" : nil
        }
        if counters.duplicateReports > 0 || counters.unknownReports > 0 {
            refusals.append(
                "reports ignored: \(grouped(counters.duplicateReports)) duplicate or out of order, "
                    + "\(grouped(counters.unknownReports)) for orders no longer held")
        }
        if !refusals.isEmpty { lines.append("order refusals    " + refusals.joined(separator: " · ")) }
        if trading.venueReports > 0 || trading.malformedVenueReports > 0 || counters.ackTimeouts > 0 {
            lines.append(
                "venue reports     \(grouped(trading.venueReports)) applied · \(grouped(trading.malformedVenueReports)) "
                    + "malformed · \(grouped(counters.ackTimeouts)) orders unanswered in time (cancelled)" + scope)
        }
        if counters.statusRequests > 0 {
            lines.append(
                "reconciliation    \(grouped(counters.statusRequests)) status requests · \(grouped(counters.reconciledClosed)) "
                    + "orders the venue no longer held (closed) · \(grouped(counters.reconciliationMismatches)) mismatched"
            )
        }
        let riskRejects = counters.riskRejectsByReason
        if !riskRejects.isEmpty {
            lines.append(
                "risk rejects      " + riskRejects.map { "\(grouped($0.count)) \($0.reason)" }.joined(separator: " · ")
                    + scope)
        }
        let kill = trading.killSwitch
        if kill.trips > 0 {
            lines.append(
                "kill switch       "
                    + (kill.isTripped
                        ? "TRIPPED (\(kill.cause)\(kill.cause == .dailyLoss ? " of s\(kill.strategy)" : ""))"
                        : "reset") + " · \(grouped(Int(kill.trips))) trips, \(grouped(Int(kill.resets))) resets")
        }
        for line in trading.risk where line.dayLossLimit != nil || line.grossExposureLimit != nil {
            lines.append(
                "risk              s\(line.strategyID) \(line.currency): day loss \(line.dayLoss)"
                    + (line.dayLossLimit.map { " of \($0)" } ?? "") + " · gross exposure \(line.grossExposure)"
                    + (line.grossExposureLimit.map { " of \($0)" } ?? ""))
        }
        if counters.timersFired > 0 || trading.scheduledTimers > 0 {
            lines.append(
                "timers            \(grouped(counters.timersFired)) fired · \(grouped(trading.scheduledTimers)) scheduled"
            )
        }
        for line in trading.lines {
            lines.append(
                "position          s\(line.strategyID) \(line.strategy) \(line.symbol): net \(line.net) · avg entry "
                    + "\(line.averageEntry) · realised \(line.realised) · unrealised \(line.unrealised) · fees "
                    + "\(line.fees) · net P&L \(line.netPnL) \(line.quoteCurrency) · \(grouped(line.fills)) fills, "
                    + "volume \(line.volume)" + scope)
        }
        return lines
    }

    public var formatted: String {
        var lines: [String] = []
        lines.append("=== peregrine run: final report ===")
        lines.append("stopped by        \(stopReason) after \(LatencySummary.decimal(elapsedSeconds)) s")
        lines.append("source            \(sourceDescription)")
        if let recordedSummary { lines.append("source read       \(recordedSummary)") }
        lines.append(
            "topology          \(configuration.topology.rawValue), wait \(configuration.waitStrategy.rawValue), "
                + "inbound ring \(configuration.inboundRingSize), clock \(clock)")
        for (thread, pinning) in threadPinning {
            lines.append("thread            \(thread): \(pinning)")
        }
        lines += journalLines
        if let journalError {
            lines.append(
                "journal error     \(journalError) — the pipeline stopped; events after the last durable one were not acted on"
            )
        }
        lines.append(
            "events            in \(grouped(emitted)) · \(sequencingStage) \(grouped(journaled)) · processed \(grouped(processed)) · out \(grouped(outcomesAtSink))"
        )
        lines.append("drops             \(grouped(dropped)) (full-ring waits \(grouped(fullWaits)))")
        var rate = "sustained rate    \(grouped(Int(sustainedRate.rounded()))) events/s"
        if ticks > 0, elapsedSeconds > 0 {
            // Idle clock ticks are events too; at a low input rate they are most of them.
            let inputs = Double(Swift.max(0, outcomesAtSink - ticks)) / elapsedSeconds
            rate += " (\(grouped(Int(inputs.rounded()))) events/s without the idle clock ticks)"
        }
        lines.append(rate)
        // The logic's counters are its state: after a recovery they cover the journal's whole
        // history, where the lines above count this run.
        let scope = (recovery?.nextSequence ?? 0) > 0 ? " (since the journal began)" : ""
        lines.append(
            "orders            \(grouped(orders)) sent by the strategies · \(grouped(refusedOrders)) refused before a "
                + "venue · \(grouped(venueOrders)) sent out for other venues · \(grouped(venueOrdersAtSink)) at sink"
                + (scope.isEmpty ? "" : " (this run)"))
        if let trading, !configuration.strategies.isEmpty || trading.killSwitch.trips > 0 {
            lines += Self.tradingLines(trading, strategies: configuration.strategies.count, scope: scope)
        }
        if let path = configuration.fillsOut {
            lines.append(
                "orders and fills  \(grouped(exportLines)) updates "
                    + (exportFailure.map { "for \(path), not all written: \($0)" } ?? "written to \(path)"))
        }
        lines.append("latency e2e       \(endToEnd.formatted) (\(grouped(Int(endToEnd.count))) samples)")
        lines.append(
            !hasJournal
                ? "latency sequencer \(journalLatency.formatted) (ingress → released to logic, per batch; no journal)"
                : "latency journal   \(journalLatency.formatted) (ingress → released to logic, per batch)")
        lines.append("latency order     \(orderLatency.formatted) (deciding event's ingress → venue order at sink)")
        lines.append(
            "books             \(grouped(bookCounters.updates)) level updates · \(bookCounters.refusedAtCeiling) refused at the "
                + "ceiling of \(grouped(L2Book.defaultMaxLevelsPerSide)) levels a side" + scope
        )
        if configuration.orderFlowPercent > 0 {
            let venue = venueCounters
            lines.append(
                "venue             hosts instruments \(configuration.hostedInstruments.lowerBound)-\(configuration.hostedInstruments.upperBound - 1) · "
                    + "\(grouped(venue.commands)) order commands · "
                    + "\(grouped(venue.accepted)) accepted · \(grouped(venue.rejected)) rejected · "
                    + "\(grouped(venue.trades)) trades (\(grouped(Int(venue.volume))) lots) · \(grouped(venue.cancelled)) cancelled"
                    + scope)
        }
        if configuration.orderFlowPercent > 0 || reportsEmitted > 0 {
            lines.append(
                "reports           \(grouped(reportsEmitted)) emitted · \(grouped(reportsAtSink)) at sink "
                    + "(\(grouped(fillsAtSink)) fills)" + (scope.isEmpty ? "" : " (this run)"))
        }
        if let mempool {
            // The analysis' counters are its state: after a recovery they cover the journal's
            // whole history; the bundle counts below are this run's.
            lines.append(
                "mempool           \(grouped(mempool.transactions)) pending transactions analysed\(scope) · "
                    + "\(grouped(mempool.duplicates)) duplicate · \(grouped(mempool.filtered)) by rules · "
                    + "\(grouped(mempool.undecodable)) not a Router02 swap · \(grouped(mempool.reverts)) would revert · "
                    + "\(grouped(mempool.malformedRecords)) malformed records · "
                    + "\(grouped(mempool.replacedVictims)) victims replaced before their bundle sealed")
            lines.append(
                "opportunities     \(grouped(mempool.opportunities)) · net profit \(ethText(mempool.profitWei)) ETH after gas · "
                    + "\(grouped(mempool.pools)) pools, \(grouped(mempool.chainHeads)) chain head"
                    + (mempool.chainHeads == 1 ? "" : "s"))
            lines.append(
                "bundles           \(grouped(bundlesSealed)) sealed by this run (on event time) · "
                    + "\(grouped(bundlesAtSink)) at sink"
            )
            lines.append("latency bundle    \(bundleLatency.formatted) (victim's ingress → its bundle signed and sent)")
            lines.append("durability point  " + durabilityPoint)
        }
        lines.append("last sequence     \(lastSequence) (\(grouped(ticks)) idle clock ticks among the events)")
        lines.append("state hash: \(hexHash(stateHash))")
        lines.append("output hash: \(hexHash(outputHash))")
        lines.append(
            isLossless
                ? "lossless          yes: events in == events out, venue orders sent == at sink, reports emitted == "
                    + "reports at sink"
                : "lossless          NO: " + problems.joined(separator: "; "))
        return lines.joined(separator: "\n")
    }
}

/// Wei as ETH with 18 decimals, exactly (no floating point).
public func ethText(_ wei: UInt128) -> String {
    let whole = wei / 1_000_000_000_000_000_000
    let fraction = String(wei % 1_000_000_000_000_000_000)
    return "\(whole)." + String(repeating: "0", count: 18 - fraction.count) + fraction
}

/// A 64-bit hash as 16 hexadecimal digits (leading zeros kept, so hashes compare as text).
public func hexHash(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}
