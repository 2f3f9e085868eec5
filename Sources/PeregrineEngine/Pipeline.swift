import Histogram
import Logging
import PeregrineBook
import PeregrineCore
import PeregrineJournal
import PeregrineMempool
import PeregrineModel
import PeregrineNATS
import PeregrineStrategy

/// Runs the engine: recovers the logic's state from the journal (if there is one), wires the
/// rings, starts the hot threads for the configured topology, and returns the final report
/// once a stop (duration, event limit or signal) has drained every ring.
public enum Pipeline {
    /// Runs until stopped. `status` receives one line per status interval. Throws when the
    /// configuration is invalid or recovery fails (before any thread starts).
    public static func run<S: Strategy & Sendable>(
        configuration: EngineConfiguration, genericStrategy strategy: S, clock: CycleClock = .calibrate(),
        observer: (any PipelineObserver)? = nil, logger: Logger = Logger(label: "peregrine.engine"),
        status: (String) -> Void = { print($0) }
    ) throws(EngineError) -> EngineReport {
        try configuration.validate()
        var logic = try EngineLogic(configuration: configuration, strategy: strategy)
        var hasher = OutputHasher()
        var recovery: ReplaySummary? = nil
        if let directory = configuration.journalDirectory {
            let settings = LogicSettings(configuration)
            if let stored = try LogicSettings.load(directory: directory) {
                if let difference = settings.difference(from: stored) {
                    throw .journal(
                        "\(directory) was written with other logic settings (\(difference)); use the same settings "
                            + "or another --journal directory")
                }
            } else {
                try refuseHistoryWithoutSettings(directory: directory)
                try settings.store(directory: directory)
            }
            logger.info("recovering from the journal", metadata: ["journal": "\(directory)"])
            let recovered: Recovered<S>
            do throws(EngineError) {
                recovered = try JournalReplay.recover(
                    directory: directory, configuration: configuration, genericStrategy: strategy, useSnapshot: true,
                    repair: true, acceptLoss: configuration.acceptJournalLoss)
            } catch {
                logger.error("recovery failed", metadata: ["journal": "\(directory)", "error": "\(error)"])
                throw error
            }
            let summary = recovered.summary
            logger.info(
                "recovered",
                metadata: [
                    "journal": "\(directory)", "records": "\(summary.records)", "replayed": "\(summary.replayed)",
                    "snapshot": "\(summary.snapshot.map { "\($0.sequence)" } ?? "none")",
                    "next_sequence": "\(summary.nextSequence)", "repaired_bytes": "\(summary.repairedBytes)",
                    "seconds": "\(summary.seconds)",
                ])
            for skipped in summary.skippedSnapshots {
                logger.warning(
                    "snapshot not used; recovery replayed the journal instead", metadata: ["reason": "\(skipped)"])
            }
            for path in summary.setAsideSnapshots {
                logger.warning(
                    "journal loss accepted (--accept-journal-loss): snapshot beyond the journal's end set aside",
                    metadata: ["path": "\(path)"])
            }
            logic = recovered.logic
            hasher = recovered.hasher
            recovery = recovered.summary
        }
        var replicated: JetStreamJournalWriter? = nil
        if let nats = configuration.nats {
            let jetStream: JetStream
            let logicSettings = LogicSettings(configuration)
            do {
                let connection = try NATSConnection(
                    NATSConnectionOptions(url: nats.url, name: "peregrine-shard-\(nats.shard)"))
                jetStream = try connection.jetStream()
                if let state = try jetStream.streamState(nats.journalStream), state.messages > 0,
                    let text = state.description
                {
                    let stored = try LogicSettings.parse(text, origin: "stream \(nats.journalStream)")
                    if let difference = logicSettings.difference(from: stored) {
                        throw EngineError.journal(
                            "stream \(nats.journalStream) was written with other logic settings (\(difference)); use "
                                + "the same settings or another shard or stream prefix")
                    }
                }
                try jetStream.addOrUpdateStream(nats.journalStreamSettings(logic: logicSettings))
            } catch let error as EngineError {
                throw error
            } catch let error as NATSError {
                logger.error("NATS set-up failed", metadata: ["url": "\(nats.url)", "error": "\(error)"])
                throw .journal(error.description)
            } catch {
                throw .journal("\(error)")
            }
            logger.info("recovering from the journal stream", metadata: ["stream": "\(nats.journalStream)"])
            let recovered = try JournalReplay.recover(
                jetStream: jetStream, settings: nats, configuration: configuration, genericStrategy: strategy)
            logger.info(
                "recovered",
                metadata: [
                    "stream": "\(nats.journalStream)", "replayed": "\(recovered.summary.replayed)",
                    "frames": "\(recovered.summary.segments)", "next_sequence": "\(recovered.summary.nextSequence)",
                    "seconds": "\(recovered.summary.seconds)",
                ])
            logic = recovered.logic
            hasher = recovered.hasher
            recovery = recovered.summary
            do {
                replicated = try JetStreamJournalWriter(
                    jetStream: jetStream, settings: nats.journalStreamSettings(logic: logicSettings),
                    subject: nats.journalSubject,
                    window: nats.window, maxEventsPerFrame: nats.frameEvents,
                    ackWaitMilliseconds: nats.ackWaitMilliseconds)
            } catch {
                throw .journal(error.description)
            }
            if let writer = replicated, writer.nextSequence != recovered.summary.nextSequence {
                throw .journal(
                    "\(nats.journalStream) grew from \(recovered.summary.nextSequence) to \(writer.nextSequence) events during "
                        + "recovery: is another engine writing shard \(nats.shard)?")
            }
        }
        let wiring = try Wiring(
            configuration: configuration, clock: clock, baseSequence: recovery?.nextSequence ?? 0,
            replicatedJournal: replicated)
        let seed = LogicSeed(logic: logic, hasher: hasher)
        let threads: [PinnedThread]
        switch (configuration.waitStrategy, configuration.topology) {
        case (.spin, .shared): threads = try startShared(wiring, seed, BusySpinWait.self, BusySpinWait.self)
        case (.yield, .shared): threads = try startShared(wiring, seed, SpinThenYieldWait.self, SpinThenYieldWait.self)
        case (.park, .shared): threads = try startShared(wiring, seed, SpinThenYieldWait.self, ParkWait.self)
        case (.spin, .dedicated): threads = try startDedicated(wiring, seed, BusySpinWait.self, BusySpinWait.self)
        case (.yield, .dedicated):
            threads = try startDedicated(wiring, seed, SpinThenYieldWait.self, SpinThenYieldWait.self)
        case (.park, .dedicated): threads = try startDedicated(wiring, seed, SpinThenYieldWait.self, ParkWait.self)
        }
        logger.info(
            "started",
            metadata: [
                "topology": "\(configuration.topology)", "wait": "\(configuration.waitStrategy)",
                "journal": "\(configuration.journalDirectory ?? "none")", "durability": "\(configuration.durability)",
                "threads": "\(threads.map { "\($0.name)@\($0.pinning)" }.joined(separator: ","))",
            ])
        observer?.recovered(recovery)
        let monitor = Monitor(wiring: wiring, threads: threads, recovery: recovery, observer: observer)
        let report = monitor.run(status: status)
        if let error = report.journalError {
            logger.error("the journal failed; the pipeline stopped", metadata: ["error": "\(error)"])
        }
        if let failure = report.snapshotFailure {
            logger.warning("a snapshot could not be written", metadata: ["error": "\(failure)"])
        }
        logger.info(
            "stopped",
            metadata: [
                "reason": "\(report.stopReason)", "events": "\(report.emitted)", "dropped": "\(report.dropped)",
                "lossless": "\(report.isLossless)",
            ])
        return report
    }

    /// A journal directory with records or snapshots but no settings file: its history was
    /// written with settings nobody can tell, so replaying it with today's would diverge.
    static func refuseHistoryWithoutSettings(directory: String) throws(EngineError) {
        let segments: [JournalSegment]
        let snapshots: [(sequence: Int64, path: String)]
        do {
            segments = try JournalReader.segments(in: directory)
            snapshots = try SnapshotStore.list(directory: directory)
        } catch {
            throw .journal(error.description)
        }
        let records = segments.filter { $0.byteCount > JournalFormat.headerSize }
        guard records.isEmpty, snapshots.isEmpty else {
            throw .journal(
                "\(directory) holds a journal (\(records.count) segment(s) with records, \(snapshots.count) snapshot(s)) "
                    + "but no \(LogicSettings.fileName), so the logic settings it was written with are unknown. Restore "
                    + "\(directory)/\(LogicSettings.fileName) from a backup, or move the journal away and start a new one"
            )
        }
    }

    /// Hands the recovered logic to the logic thread (it is noncopyable and made on this one).
    final class LogicSeed<S: Strategy>: @unchecked Sendable {
        var logic: EngineLogic<S>?
        let hasher: OutputHasher

        init(logic: consuming EngineLogic<S>, hasher: OutputHasher) {
            self.logic = Optional(logic)
            self.hasher = hasher
        }
    }

    /// The rings, counters and shared state every thread reaches.
    final class Wiring: @unchecked Sendable {
        let configuration: EngineConfiguration
        let clock: CycleClock
        /// Journal sequence of the first event this run publishes.
        let baseSequence: Int64
        let inbound: SequencedRing<Event>
        let outcomes: SPSCRing<Outcome>
        let bundles: SPSCRing<Bundle>
        let reports: SPSCRing<ExecutionReport>
        let counters = PipelineCounters()
        let endToEnd = LatencyRecorder(name: "end-to-end")
        let bundleLatency = LatencyRecorder(name: "bundle open-to-sink")
        let journalLatency = LatencyRecorder(name: "ingress to journal release")
        /// Rejected order commands by `ExecutionReason` raw value (written by the sink).
        let rejectsByReason = PaddedAtomicCells(count: 256, initialValue: 0)
        /// Bundles at the sink by transaction count (written by the sink).
        let bundlesBySize = PaddedAtomicCells(count: Bundle.capacity + 1, initialValue: 0)
        let control = PipelineControl()
        let startTime: UInt64
        let results = FinalResults()
        let snapshots: SnapshotTaker?
        /// The JetStream journal (distributed mode), used by the journal thread only.
        let replicatedJournal: JetStreamJournalWriter?

        init(
            configuration: EngineConfiguration, clock: CycleClock, baseSequence: Int64,
            replicatedJournal: JetStreamJournalWriter? = nil
        ) throws(EngineError) {
            self.replicatedJournal = replicatedJournal
            self.configuration = configuration
            self.clock = clock
            self.baseSequence = baseSequence
            do {
                inbound = try SequencedRing(
                    capacity: configuration.inboundRingSize,
                    consumers: [.init("journal"), .init("logic", dependsOn: [0])])
                outcomes = try SPSCRing(capacity: configuration.outboundRingSize)
                bundles = try SPSCRing(capacity: configuration.bundleRingSize)
                reports = try SPSCRing(capacity: configuration.reportRingSize)
            } catch {
                throw .setupFailed(error.description)
            }
            startTime = clock.now()
            if let directory = configuration.journalDirectory, configuration.snapshotEveryEvents > 0 {
                snapshots = SnapshotTaker(
                    directory: directory, every: Int64(configuration.snapshotEveryEvents),
                    prune: configuration.pruneJournal, startSequence: baseSequence)
            } else {
                snapshots = nil
            }
        }

        func cpus(forThread index: Int) -> [Int] {
            index < configuration.pinCPUs.count ? [configuration.pinCPUs[index]] : []
        }

        func makeSource() throws(EngineError) -> SyntheticSource {
            var recorded: RecordedFeed? = nil
            if let spec = configuration.recordedSource {
                do { recorded = try RecordedFeed(spec: spec) } catch { throw .setupFailed("recorded source: \(error)") }
            }
            var input: NATSInputFeed? = nil
            if let nats = configuration.nats, nats.consumeInput {
                do { input = try NATSInputFeed(settings: nats) } catch { throw .setupFailed("NATS input: \(error)") }
            }
            do {
                return SyntheticSource(
                    producer: try inbound.makeProducer(), configuration: configuration, clock: clock,
                    startTime: startTime, startSequence: baseSequence, recordedFeed: recorded, inputFeed: input)
            } catch { throw .setupFailed(error.description) }
        }

        func makeJournal() throws(EngineError) -> JournalStage {
            let consumer: SequencedConsumer<Event>
            do { consumer = try inbound.makeConsumer(0) } catch { throw .setupFailed(error.description) }
            var writer: JournalWriter? = nil
            if let directory = configuration.journalDirectory {
                do {
                    writer = try JournalWriter.open(
                        directory: directory, nextSequence: baseSequence, segmentBytes: configuration.segmentBytes,
                        syncOnRoll: configuration.durability != .none)
                } catch {
                    throw .journal(error.description)
                }
            }
            var syncer: BackgroundSyncer? = nil
            if case .batch(let interval, _) = configuration.durability, configuration.journalDirectory != nil {
                do { syncer = try BackgroundSyncer(intervalMicroseconds: interval, startSequence: baseSequence) } catch
                {
                    throw .setupFailed(error.description)
                }
            }
            return JournalStage(
                consumer: consumer, writer: writer, policy: configuration.durability, baseSequence: baseSequence,
                batchLimit: configuration.batchLimit,
                coalesceNanoseconds: UInt64(configuration.journalCoalesceMicroseconds) * 1_000, syncer: syncer,
                clock: clock, latency: try journalLatency.makeWriter(), jetStream: replicatedJournal, now: clock.now())
        }

        func makeLogic<S: Strategy>(_ seed: LogicSeed<S>) throws(EngineError) -> LogicStage<S> {
            guard let logic = seed.logic.take() else { throw .setupFailed("the logic state was already taken") }
            do {
                return LogicStage(
                    consumer: try inbound.makeConsumer(1), logic: logic, baseSequence: baseSequence,
                    outcomes: try outcomes.makeProducer(), bundles: try bundles.makeProducer(),
                    reports: try reports.makeProducer(), hasher: seed.hasher, batchLimit: configuration.batchLimit,
                    snapshots: snapshots)
            } catch {
                throw .setupFailed(error.description)
            }
        }

        func makeSink() throws(EngineError) -> SinkStage {
            var publisher: NATSOutputPublisher? = nil
            if let nats = configuration.nats, nats.publishOutputs {
                do { publisher = try NATSOutputPublisher(settings: nats) } catch {
                    throw .setupFailed("NATS outputs: \(error)")
                }
            }
            do {
                return SinkStage(
                    outcomes: try outcomes.makeConsumer(), bundles: try bundles.makeConsumer(),
                    reports: try reports.makeConsumer(), endToEnd: try endToEnd.makeWriter(),
                    bundleLatency: try bundleLatency.makeWriter(), clock: clock, rejectsByReason: rejectsByReason,
                    bundlesBySize: bundlesBySize, outputs: publisher)
            } catch let error as CoreError {
                throw .setupFailed(error.description)
            } catch let error as EngineError {
                throw error
            } catch {
                throw .setupFailed("\(error)")
            }
        }
    }

    /// What the threads leave for the final report, written once as each finishes.
    final class FinalResults: @unchecked Sendable {
        var bookCounters = BookCounters()
        var venueCounters = MatchingCounters()
        var stateHash: UInt64 = 0
        var outputHash: UInt64 = 0
        var lastSequence: Int64 = -1
        var journal = JournalStatistics()
        var setupError: EngineError?
        var journalError: JournalError?
        var snapshotsWritten = 0
        var snapshotFailure: String?
        var carriedTransactions = 0
        var recordedSummary: String?
        var sourceFailure: String?
    }

    // MARK: Thread bodies

    static func startShared<S: Strategy & Sendable, SourceWait: WaitStrategy, LogicWait: WaitStrategy>(
        _ wiring: Wiring, _ seed: LogicSeed<S>, _: SourceWait.Type, _: LogicWait.Type
    ) throws(EngineError) -> [PinnedThread] {
        let source = try startThread("pg-source", wiring.cpus(forThread: 0)) {
            runSourceAndJournal(wiring, SourceWait.self)
        }
        let logic = try startThread("pg-logic", wiring.cpus(forThread: 1)) {
            runLogicAndSink(wiring, seed, LogicWait.self)
        }
        return [source, logic]
    }

    static func startDedicated<S: Strategy & Sendable, SourceWait: WaitStrategy, StageWait: WaitStrategy>(
        _ wiring: Wiring, _ seed: LogicSeed<S>, _: SourceWait.Type, _: StageWait.Type
    ) throws(EngineError) -> [PinnedThread] {
        [
            try startThread("pg-source", wiring.cpus(forThread: 0)) { runSource(wiring, SourceWait.self) },
            try startThread("pg-journal", wiring.cpus(forThread: 1)) { runJournal(wiring, StageWait.self) },
            try startThread("pg-logic", wiring.cpus(forThread: 2)) { runLogic(wiring, seed, StageWait.self) },
            try startThread("pg-sink", wiring.cpus(forThread: 3)) { runSink(wiring, StageWait.self) },
        ]
    }

    static func startThread(_ name: String, _ cpus: [Int], _ body: @escaping @Sendable () -> Void)
        throws(EngineError) -> PinnedThread
    {
        do { return try PinnedThread.start(name: name, cpus: cpus, body: body) } catch {
            throw .setupFailed(error.description)
        }
    }

    static func runSourceAndJournal<W: WaitStrategy>(_ wiring: Wiring, _: W.Type) {
        let control = wiring.control
        let counters = wiring.counters
        guard var source = claim({ () throws(EngineError) in try wiring.makeSource() }, wiring),
            var journal = claim({ () throws(EngineError) in try wiring.makeJournal() }, wiring)
        else {
            control.sourceFinished(lastSequence: -1)
            control.finishJournal()
            return
        }
        var wait = W()
        let clock = wiring.clock
        while !control.stopRequested && !source.isExhausted {
            let now = clock.now()
            let produced = source.step(now: now)
            let journaled = pollJournal(&journal, now: now, wiring)
            publishSourceCounters(source, counters)
            if produced == 0 && journaled == 0 {
                wait.idle(on: wiring.inbound.wakeSignal)
            } else {
                wait.reset()
            }
        }
        while !control.journalFailed, !source.publishSessionEnd(now: clock.now()) {
            if pollJournal(&journal, now: clock.now(), wiring) == 0 { wait.idle(on: wiring.inbound.wakeSignal) }
        }
        publishSourceCounters(source, counters)
        finishSource(source, wiring)
        let last = source.publishedSequence
        control.sourceFinished(lastSequence: last)
        while journal.sequence < last, !control.journalFailed {
            if pollJournal(&journal, now: clock.now(), wiring) == 0 { wait.idle(on: wiring.inbound.wakeSignal) }
        }
        finishJournal(&journal, wiring)
    }

    static func runLogicAndSink<S: Strategy, W: WaitStrategy>(_ wiring: Wiring, _ seed: LogicSeed<S>, _: W.Type) {
        let control = wiring.control
        guard var logic = claim({ () throws(EngineError) in try wiring.makeLogic(seed) }, wiring),
            var sink = claim({ () throws(EngineError) in try wiring.makeSink() }, wiring)
        else {
            control.finishLogic()
            control.finishSink()
            return
        }
        var wait = W()
        while true {
            let processed = logic.poll { _ = sink.poll() }
            let sunk = sink.poll()
            sink.serviceCollection()
            publishLogicCounters(logic, wiring.counters)
            publishSinkCounters(sink, wiring.counters)
            if processed == 0 && sunk == 0 {
                if control.journalFinished && logic.isCaughtUp() { break }
                wait.idle(on: wiring.inbound.wakeSignal)
            } else {
                wait.reset()
            }
        }
        while sink.poll() > 0 {}
        sink.closeOutputs()
        finishLogic(&logic, wiring)
        finishSink(sink, wiring)
    }

    static func runSource<W: WaitStrategy>(_ wiring: Wiring, _: W.Type) {
        let control = wiring.control
        guard var source = claim({ () throws(EngineError) in try wiring.makeSource() }, wiring) else {
            control.sourceFinished(lastSequence: -1)
            return
        }
        var wait = W()
        while !control.stopRequested && !source.isExhausted {
            if source.step(now: wiring.clock.now()) == 0 {
                wait.idle(on: wiring.inbound.wakeSignal)
            } else {
                wait.reset()
            }
            publishSourceCounters(source, wiring.counters)
        }
        while !control.journalFailed, !source.publishSessionEnd(now: wiring.clock.now()) {
            wait.idle(on: wiring.inbound.wakeSignal)
        }
        publishSourceCounters(source, wiring.counters)
        finishSource(source, wiring)
        control.sourceFinished(lastSequence: source.publishedSequence)
    }

    static func runJournal<W: WaitStrategy>(_ wiring: Wiring, _: W.Type) {
        let control = wiring.control
        guard var journal = claim({ () throws(EngineError) in try wiring.makeJournal() }, wiring) else {
            control.finishJournal()
            return
        }
        var wait = W()
        while !control.journalFailed {
            if pollJournal(&journal, now: wiring.clock.now(), wiring) > 0 {
                wait.reset()
                continue
            }
            if let last = control.sourceFinalSequence, journal.sequence >= last { break }
            wait.idle(on: wiring.inbound.wakeSignal)
        }
        finishJournal(&journal, wiring)
    }

    static func runLogic<S: Strategy, W: WaitStrategy>(_ wiring: Wiring, _ seed: LogicSeed<S>, _: W.Type) {
        let control = wiring.control
        guard var logic = claim({ () throws(EngineError) in try wiring.makeLogic(seed) }, wiring) else {
            control.finishLogic()
            return
        }
        var wait = W()
        while true {
            let processed = logic.poll { wait.idle(on: wiring.outcomes.wakeSignal) }
            publishLogicCounters(logic, wiring.counters)
            if processed == 0 {
                if control.journalFinished && logic.isCaughtUp() { break }
                wait.idle(on: wiring.inbound.wakeSignal)
            } else {
                wait.reset()
            }
        }
        finishLogic(&logic, wiring)
    }

    static func runSink<W: WaitStrategy>(_ wiring: Wiring, _: W.Type) {
        guard var sink = claim({ () throws(EngineError) in try wiring.makeSink() }, wiring) else {
            wiring.control.finishSink()
            return
        }
        var wait = W()
        while true {
            let sunk = sink.poll()
            sink.serviceCollection()
            publishSinkCounters(sink, wiring.counters)
            if sunk > 0 {
                wait.reset()
                continue
            }
            if wiring.control.logicFinished {
                while sink.poll() > 0 {}
                sink.closeOutputs()
                break
            }
            wait.idle(on: wiring.outcomes.wakeSignal)
        }
        finishSink(sink, wiring)
    }

    /// Runs a stage factory on its thread; on failure records the error for the monitor.
    static func claim<T: ~Copyable>(_ make: () throws(EngineError) -> T, _ wiring: Wiring) -> T? {
        do { return try make() } catch {
            wiring.results.setupError = error
            wiring.control.requestStop()
            return nil
        }
    }

    /// One journal poll; a failure is recorded once and stops the pipeline.
    static func pollJournal(_ journal: inout JournalStage, now: UInt64, _ wiring: Wiring) -> Int {
        let passed = journal.poll(now: now)
        if passed == 0, wiring.control.stopRequested, let nats = wiring.configuration.nats {
            journal.enforceShutdownDeadline(
                now: now, limitNanoseconds: CycleClock.saturatingNanoseconds(seconds: nats.shutdownAckSeconds))
        }
        journal.serviceCollection()
        publishJournalCounters(journal, wiring.counters)
        if let failure = journal.failure, !wiring.control.journalFailed {
            wiring.results.journalError = failure
            wiring.control.failJournal()
        }
        return passed
    }

    static func finishJournal(_ journal: inout JournalStage, _ wiring: Wiring) {
        journal.close(now: wiring.clock.now())
        if let failure = journal.failure, wiring.results.journalError == nil {
            wiring.results.journalError = failure
            wiring.control.failJournal()
        }
        publishJournalCounters(journal, wiring.counters)
        var statistics = JournalStatistics(
            bytesWritten: journal.bytesWritten, syncs: journal.syncs, segmentsCreated: journal.segmentsCreated,
            batches: journal.batches, durableSequence: journal.durableSequence)
        if let replicated = wiring.replicatedJournal {
            statistics.frames = replicated.framesPublished
            statistics.republishes = replicated.republishes
            statistics.disconnects = replicated.jetStream.connection.events.disconnects.load(ordering: .relaxed)
            statistics.reconnects = replicated.jetStream.connection.events.reconnects.load(ordering: .relaxed)
        }
        wiring.results.journal = statistics
        wiring.control.finishJournal()
    }

    /// Records what a recorded source read, for the final report.
    static func finishSource(_ source: borrowing SyntheticSource, _ wiring: Wiring) {
        if let input = source.inputSummary { wiring.results.recordedSummary = input }
        guard let statistics = source.recordedStatistics else { return }
        var line =
            "read \(statistics.rows) rows (\(statistics.messages) messages): gaps \(statistics.gaps), out of order "
            + "\(statistics.outOfOrder), crossed \(statistics.crossed), one-sided \(statistics.oneSided)"
        if let failure = source.recordedFailure {
            line += "; stopped early: \(failure)"
            wiring.results.sourceFailure = "\(failure)"
        }
        wiring.results.recordedSummary = line
    }

    static func publishSourceCounters(_ source: borrowing SyntheticSource, _ counters: PipelineCounters) {
        counters.publish(.sourceEmitted, source.emitted)
        counters.publish(.sourceDropped, source.dropped)
        counters.publish(.sourceFullWaits, source.fullWaits)
        counters.publish(.sourceTicks, source.ticks)
    }

    static func publishJournalCounters(_ journal: borrowing JournalStage, _ counters: PipelineCounters) {
        counters.publish(.journalPassed, journal.passed)
        counters.publish(.journalDurable, Int(journal.durableSequence))
        counters.publish(.journalBytes, journal.bytesWritten)
    }

    static func publishLogicCounters<S: Strategy>(_ logic: borrowing LogicStage<S>, _ counters: PipelineCounters) {
        counters.publish(.logicProcessed, logic.processed)
        counters.publish(.logicTransactions, logic.transactions)
        counters.publish(.logicRejectedTransactions, logic.refusedTransactions)
        counters.publish(.logicBundles, logic.bundles)
        counters.publish(.logicReports, logic.reportsEmitted)
    }

    static func publishSinkCounters(_ sink: borrowing SinkStage, _ counters: PipelineCounters) {
        counters.publish(.sinkOutcomes, sink.outcomeCount)
        counters.publish(.sinkBundles, sink.bundleCount)
        counters.publish(.sinkBundleTransactions, sink.bundleTransactionCount)
        counters.publish(.sinkReports, sink.reportCount)
        counters.publish(.sinkFills, sink.fillCount)
        counters.publish(.sinkOpportunities, sink.opportunityCount)
    }

    static func finishLogic<S: Strategy>(_ logic: inout LogicStage<S>, _ wiring: Wiring) {
        if !wiring.control.journalFailed { logic.finishSnapshots() }
        wiring.results.snapshotsWritten = wiring.snapshots?.written ?? 0
        wiring.results.snapshotFailure = wiring.snapshots?.lastFailure
        publishLogicCounters(logic, wiring.counters)
        wiring.results.bookCounters = logic.bookCounters
        wiring.results.venueCounters = logic.venueCounters
        wiring.results.stateHash = logic.stateHash()
        wiring.results.outputHash = logic.outputHash
        wiring.results.lastSequence = logic.lastSequence
        wiring.results.carriedTransactions = logic.carriedTransactions
        wiring.control.finishLogic()
    }

    static func finishSink(_ sink: borrowing SinkStage, _ wiring: Wiring) {
        publishSinkCounters(sink, wiring.counters)
        wiring.control.finishSink()
    }
}

/// The journal's figures for the final report.
public struct JournalStatistics: Equatable, Sendable {
    public var bytesWritten = 0
    public var syncs = 0
    public var segmentsCreated = 0
    public var batches = 0
    /// One past the last durable sequence.
    public var durableSequence: Int64 = 0
    /// Distributed mode: frames published, frames published again (lost acks, reconnects),
    /// and the connection's losses and recoveries.
    public var frames = 0
    public var republishes = 0
    public var disconnects = 0
    public var reconnects = 0
}
