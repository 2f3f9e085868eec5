import Histogram
import PeregrineCore
import PeregrineModel

#if canImport(Glibc)
    import Glibc
#endif

/// The monitor: runs on the calling thread, mostly asleep. Once per interval it reads the
/// counters, collects the latency histograms the sink handed over, and prints a status line;
/// it stops the source at the deadline or on a signal, then waits for the stages to drain.
@usableFromInline
struct Monitor {
    let wiring: Pipeline.Wiring
    let threads: [PinnedThread]
    let recovery: ReplaySummary?
    let observer: (any PipelineObserver)?
    /// How the stop reason reads when the source runs out.
    let exhaustedReason: String

    @usableFromInline
    init(
        wiring: Pipeline.Wiring, threads: [PinnedThread], recovery: ReplaySummary?, observer: (any PipelineObserver)?,
        exhaustedReason: String
    ) {
        self.wiring = wiring
        self.threads = threads
        self.recovery = recovery
        self.observer = observer
        self.exhaustedReason = exhaustedReason
    }

    @usableFromInline
    func run(status: (String) -> Void) -> EngineReport {
        let configuration = wiring.configuration
        let clock = wiring.clock
        let control = wiring.control
        let counters = wiring.counters
        let start = wiring.startTime
        // validate() bounds both; the conversions saturate anyway rather than trap.
        let intervalNanoseconds = CycleClock.saturatingNanoseconds(seconds: configuration.statusIntervalSeconds)
        let deadline = configuration.durationSeconds.map { start &+ CycleClock.saturatingNanoseconds(seconds: $0) }
        var endToEndTotal = LatencyRecorder.makeHistogram()
        var orderTotal = LatencyRecorder.makeHistogram()
        var journalTotal = LatencyRecorder.makeHistogram()
        var bundleTotal = LatencyRecorder.makeHistogram()
        var nextStatus = start &+ intervalNanoseconds
        var previousOut = 0
        var previousIn = 0
        var previousTime = start
        var stopReason = "source finished (\(exhaustedReason))"

        while !control.sinkFinished {
            let now = clock.now()
            if !control.stopRequested {
                if let deadline, now >= deadline {
                    stopReason = "duration"
                    control.requestStop()
                } else if let signal = StopSignal.receivedName {
                    stopReason = signal
                    control.requestStop()
                }
            }
            if now >= nextStatus {
                let interval = wiring.endToEnd.collectInterval(into: &endToEndTotal) { control.sinkFinished }
                let orderInterval = wiring.orderLatency.collectInterval(into: &orderTotal) { control.sinkFinished }
                let journalInterval = wiring.journalLatency.collectInterval(into: &journalTotal) {
                    control.journalFinished
                }
                let bundleInterval = wiring.bundleLatency.collectInterval(into: &bundleTotal) { control.sinkFinished }
                let snapshot = counters.snapshot()
                let seconds = Double(now &- previousTime) / 1e9
                let inCount = snapshot[.sourceEmitted] ?? 0
                let outCount = snapshot[.sinkOutcomes] ?? 0
                status(
                    statusLine(
                        elapsed: Double(now &- start) / 1e9, snapshot: snapshot,
                        inRate: Double(inCount - previousIn) / seconds,
                        outRate: Double(outCount - previousOut) / seconds,
                        latency: interval.map(LatencySummary.init)))
                var intervalStatus = pipelineStatus(
                    snapshot, elapsed: Double(now &- start) / 1e9, endToEnd: interval, order: orderInterval,
                    journal: journalInterval)
                intervalStatus.bundleLatency = bundleInterval
                observer?.interval(intervalStatus)
                previousIn = inCount
                previousOut = outCount
                previousTime = now
                nextStatus = nextStatus &+ intervalNanoseconds
                if nextStatus <= now { nextStatus = now &+ intervalNanoseconds }
            }
            // Sleep until the next thing to do, waking at least every 20 ms to notice the end
            // of the drain; a signal interrupts the sleep. Every wake-up takes a core from a
            // hot thread on a 2-core machine, so the monitor wakes as rarely as it can.
            var wake = nextStatus
            if let deadline, !control.stopRequested, deadline < wake { wake = deadline }
            let sleepFor = Swift.min(Swift.max(wake &- Swift.min(wake, clock.now()), 1_000_000), 20_000_000)
            sleepNanoseconds(sleepFor)
        }
        for thread in threads { thread.join() }
        let elapsed = Double(clock.now() &- start) / 1e9
        if let failure = wiring.results.sourceFailure { stopReason = "source failed: \(failure)" }
        if let error = wiring.results.setupError { stopReason = "set-up error: \(error)" }
        if let error = wiring.results.journalError { stopReason = "journal error: \(error)" }
        let endToEndRest = wiring.endToEnd.collectRemaining(into: &endToEndTotal)
        let orderRest = wiring.orderLatency.collectRemaining(into: &orderTotal)
        let journalRest = wiring.journalLatency.collectRemaining(into: &journalTotal)
        let bundleRest = wiring.bundleLatency.collectRemaining(into: &bundleTotal)
        let snapshot = counters.snapshot()
        var finalStatus = pipelineStatus(
            snapshot, elapsed: elapsed, endToEnd: endToEndRest, order: orderRest, journal: journalRest)
        finalStatus.bundleLatency = bundleRest
        finalStatus.trading = wiring.results.trading
        observer?.interval(finalStatus)
        var report = EngineReport(
            configuration: configuration, stopReason: stopReason, elapsedSeconds: elapsed,
            clock: clock.description, threadPinning: threads.map { ($0.name, $0.pinning) },
            emitted: snapshot[.sourceEmitted] ?? 0, dropped: snapshot[.sourceDropped] ?? 0,
            fullWaits: snapshot[.sourceFullWaits] ?? 0, journaled: snapshot[.journalPassed] ?? 0,
            processed: snapshot[.logicProcessed] ?? 0, outcomesAtSink: snapshot[.sinkOutcomes] ?? 0,
            orders: snapshot[.logicOrders] ?? 0, refusedOrders: snapshot[.logicRefusedOrders] ?? 0,
            venueOrders: snapshot[.logicVenueOrders] ?? 0, venueOrdersAtSink: snapshot[.sinkVenueOrders] ?? 0,
            endToEnd: LatencySummary(endToEndTotal), orderLatency: LatencySummary(orderTotal),
            journalLatency: LatencySummary(journalTotal),
            bookCounters: wiring.results.bookCounters, venueCounters: wiring.results.venueCounters,
            reportsEmitted: snapshot[.logicReports] ?? 0, reportsAtSink: snapshot[.sinkReports] ?? 0,
            fillsAtSink: snapshot[.sinkFills] ?? 0, ticks: snapshot[.sourceTicks] ?? 0,
            stateHash: wiring.results.stateHash, outputHash: wiring.results.outputHash,
            lastSequence: wiring.results.lastSequence, journal: wiring.results.journal,
            journalError: wiring.results.journalError, recovery: recovery,
            recordedSummary: wiring.results.recordedSummary,
            snapshotsWritten: wiring.results.snapshotsWritten,
            snapshotFailure: wiring.results.snapshotFailure,
            setupError: wiring.results.setupError.map { "\($0)" }, sourceFailure: wiring.results.sourceFailure)
        report.sourceLosses = wiring.results.sourceLosses
        report.sourceUnread = wiring.results.sourceUnread
        report.bundleLatency = LatencySummary(bundleTotal)
        report.mempool = wiring.results.mempoolCounters
        report.trading = wiring.results.trading
        report.exportLines = wiring.results.exportLines
        report.exportFailure = wiring.results.exportFailure
        report.bundlesSealed = snapshot[.logicBundles] ?? 0
        report.bundlesAtSink = snapshot[.sinkBundles] ?? 0
        return report
    }

    func pipelineStatus(
        _ snapshot: [PipelineCounters.Counter: Int], elapsed: Double, endToEnd: LatencyHistogram?,
        order: LatencyHistogram?, journal: LatencyHistogram?
    ) -> PipelineStatus {
        let inbound = wiring.inbound
        var status = PipelineStatus(
            counters: snapshot,
            ringOccupancy: Double(inbound.publishedSequence - inbound.consumerSequence(1)) / Double(inbound.capacity),
            journalLagEvents: inbound.publishedSequence - inbound.consumerSequence(0),
            journalWritable: !wiring.control.journalFailed, rejectsByReason: rejectsByReason(),
            endToEnd: endToEnd, orderLatency: order, journalLatency: journal, elapsedSeconds: elapsed)
        status.trading = wiring.trading.snapshot
        return status
    }

    /// Order commands rejected so far, by reason (only reasons seen).
    func rejectsByReason() -> [ExecutionReason: Int] {
        var counts: [ExecutionReason: Int] = [:]
        for reason in ExecutionReason.allCases {
            let count = wiring.rejectsByReason.load(Int(reason.rawValue), ordering: .relaxed)
            if count > 0 { counts[reason] = count }
        }
        return counts
    }

    func statusLine(
        elapsed: Double, snapshot: [PipelineCounters.Counter: Int], inRate: Double, outRate: Double,
        latency: LatencySummary?
    ) -> String {
        let inbound = wiring.inbound
        let occupancy = Double(inbound.publishedSequence - inbound.consumerSequence(1)) / Double(inbound.capacity) * 100
        let value = { (counter: PipelineCounters.Counter) in grouped(snapshot[counter] ?? 0) }
        return "[\(padded(LatencySummary.decimal(elapsed), 6))s] in \(grouped(Int(inRate))) ev/s"
            + " | out \(grouped(Int(outRate))) ev/s"
            + " | total in \(value(.sourceEmitted)) jnl \(value(.journalPassed)) logic \(value(.logicProcessed)) out \(value(.sinkOutcomes))"
            + (wiring.configuration.journalDirectory != nil ? " durable \(value(.journalDurable))" : "")
            + " | drops \(value(.sourceDropped)) | orders \(value(.logicOrders)) (out \(value(.sinkVenueOrders)))"
            + (wiring.configuration.mempool != nil
                ? " | pending \(value(.logicTransactions)) · opportunities \(value(.logicOpportunities)) · bundles \(value(.sinkBundles))"
                : "")
            + (wiring.configuration.orderFlowPercent > 0
                ? " | reports \(value(.sinkReports)) (fills \(value(.sinkFills)))" : "")
            + " | ring \(LatencySummary.decimal(occupancy))%"
            + " | e2e \(latency?.formatted ?? "n/a")"
    }

    func padded(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: Swift.max(0, width - text.count)) + text
    }

    func sleepNanoseconds(_ nanoseconds: UInt64) {
        #if canImport(Glibc)
            var request = timespec(tv_sec: 0, tv_nsec: Int(nanoseconds))
            nanosleep(&request, nil)
        #endif
    }
}
