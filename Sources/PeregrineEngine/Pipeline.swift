import Histogram
import Logging
import PeregrineBook
import PeregrineCore
import PeregrineJournal
import PeregrineMempool
import PeregrineModel
import PeregrineStrategy
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the engine: recovers the logic's state from the journal (if there is one), wires the
/// rings, starts the hot threads for the configured topology, and returns the final report
/// once a stop (duration, event limit or signal) has drained every ring.
///
/// The parts that vary are generic parameters chosen once here: the source (`SourcePlan`),
/// the journal (`JournalPlan`), where outputs go past the sink (`OutputPlan`), the strategy,
/// and the wait strategy per thread. Everything is `@inlinable`, so a caller in another
/// module (the CLI, the NATS adapters, a test with its own doubles) gets thread loops
/// specialised for its types.
public enum Pipeline {
    /// The embedded engine: the synthetic market or the configuration's recorded files, the
    /// journal directory (or none), outputs counted at the sink. Throws when the
    /// configuration is invalid or recovery fails (before any thread starts).
    @inlinable
    public static func run<S: Strategy & Sendable>(
        configuration: EngineConfiguration, custom: S.Type, clock: CycleClock = .calibrate(),
        observer: (any PipelineObserver)? = nil, logger: Logger = Logger(label: "peregrine.engine"),
        status: (String) -> Void = { print($0) }
    ) throws(EngineError) -> EngineReport {
        let recorded = configuration.recordedSources
        switch (recorded.isEmpty, configuration.journalDirectory) {
        case (true, let directory?):
            return try run(
                configuration: configuration, source: SyntheticSourcePlan(configuration),
                journal: FileJournalPlan(directory: directory), outputs: NoOutputs(), custom: custom,
                clock: clock, observer: observer, logger: logger, status: status)
        case (true, nil):
            return try run(
                configuration: configuration, source: SyntheticSourcePlan(configuration), journal: NoJournal(),
                outputs: NoOutputs(), custom: custom, clock: clock, observer: observer, logger: logger,
                status: status)
        case (false, let directory?):
            return try run(
                configuration: configuration, source: RecordedSourcesPlan(recorded),
                journal: FileJournalPlan(directory: directory), outputs: NoOutputs(), custom: custom,
                clock: clock, observer: observer, logger: logger, status: status)
        case (false, nil):
            return try run(
                configuration: configuration, source: RecordedSourcesPlan(recorded), journal: NoJournal(),
                outputs: NoOutputs(), custom: custom, clock: clock, observer: observer, logger: logger,
                status: status)
        }
    }

    /// Runs the pipeline with the given parts until stopped. `status` receives one line per
    /// status interval. Throws when the configuration is invalid or recovery fails (before any
    /// thread starts).
    @inlinable
    public static func run<Source: SourcePlan, Journal: JournalPlan, Outputs: OutputPlan, S: Strategy & Sendable>(
        configuration: EngineConfiguration, source: Source, journal: Journal, outputs: Outputs, custom: S.Type,
        clock: CycleClock = .calibrate(), observer: (any PipelineObserver)? = nil,
        logger: Logger = Logger(label: "peregrine.engine"), status: (String) -> Void = { print($0) }
    ) throws(EngineError) -> EngineReport {
        try configuration.validate()
        if Journal.self != NoJournal.self {
            logger.info("recovering from the journal", metadata: ["journal": "\(journal)"])
        }
        let recovered: Recovered<S>?
        do throws(EngineError) {
            recovered = try journal.recover(configuration: configuration, custom: custom)
        } catch {
            logger.error("recovery failed", metadata: ["journal": "\(journal)", "error": "\(error)"])
            throw error
        }
        let seed: LogicSeed<S>
        let recovery: ReplaySummary?
        if let recovered {
            logRecovery(recovered.summary, journal: "\(journal)", logger: logger)
            recovery = recovered.summary
            seed = LogicSeed(logic: recovered.logic, hasher: recovered.hasher)
        } else {
            recovery = nil
            seed = LogicSeed(
                logic: try EngineLogic(configuration: configuration, custom: custom), hasher: OutputHasher())
        }
        let wiring = try Wiring(
            configuration: configuration, clock: clock, baseSequence: recovery?.nextSequence ?? 0,
            snapshotDirectory: journal.snapshotDirectory)
        let threads: [PinnedThread]
        switch (configuration.waitStrategy, configuration.topology) {
        case (.spin, .shared):
            threads = try startShared(wiring, source, journal, outputs, seed, BusySpinWait.self, BusySpinWait.self)
        case (.yield, .shared):
            threads = try startShared(
                wiring, source, journal, outputs, seed, SpinThenYieldWait.self, SpinThenYieldWait.self)
        case (.park, .shared):
            threads = try startShared(wiring, source, journal, outputs, seed, SpinThenYieldWait.self, ParkWait.self)
        case (.spin, .dedicated):
            threads = try startDedicated(wiring, source, journal, outputs, seed, BusySpinWait.self, BusySpinWait.self)
        case (.yield, .dedicated):
            threads = try startDedicated(
                wiring, source, journal, outputs, seed, SpinThenYieldWait.self, SpinThenYieldWait.self)
        case (.park, .dedicated):
            threads = try startDedicated(wiring, source, journal, outputs, seed, SpinThenYieldWait.self, ParkWait.self)
        }
        // Started (and ready) only with every stage made: a stage that failed, or a stop asked
        // for while one was still opening, leaves the run not ready while it winds down.
        let started = wiring.awaitStages()
        if started {
            logger.info(
                "started",
                metadata: [
                    "topology": "\(configuration.topology)", "wait": "\(configuration.waitStrategy)",
                    "source": "\(source)", "journal": "\(journal)", "outputs": "\(outputs)",
                    "durability": "\(journal.durability(configuration))",
                    "threads": "\(threads.map { "\($0.name)@\($0.pinning)" }.joined(separator: ","))",
                ])
        }
        observer?.attach(admin: wiring.admin, trading: wiring.trading, counters: wiring.counters)
        if started { observer?.recovered(recovery) }
        let monitor = Monitor(
            wiring: wiring, threads: threads, recovery: recovery, observer: observer,
            exhaustedReason: source.exhaustedReason)
        var report = monitor.run(status: status)
        report.sourceDescription = source.description
        report.journalLines = journal.reportLines(report)
        report.hasJournal = !(journal is NoJournal)
        observer?.finished(report)
        logStop(report, logger: logger)
        return report
    }

    @usableFromInline
    static func logRecovery(_ summary: ReplaySummary, journal: String, logger: Logger) {
        logger.info(
            "recovered",
            metadata: [
                "journal": "\(journal)", "records": "\(summary.records)", "replayed": "\(summary.replayed)",
                "snapshot": "\(summary.snapshot.map { "\($0.sequence)" } ?? "none")",
                "next_sequence": "\(summary.nextSequence)", "repaired_bytes": "\(summary.repairedBytes)",
                "seconds": "\((summary.seconds * 1_000).rounded() / 1_000)",
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
        if let records = summary.otherRevision {
            logger.warning(
                "logic change accepted (--accept-logic-change): another revision's records replayed by this build",
                metadata: ["records": "\(records.first)...\(records.last)"])
        }
    }

    @usableFromInline
    static func logStop(_ report: EngineReport, logger: Logger) {
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
    }

    /// Hands the recovered logic to the logic thread (it is noncopyable and made on this one).
    @usableFromInline
    final class LogicSeed<S: Strategy>: @unchecked Sendable {
        @usableFromInline var logic: EngineLogic<S>?
        @usableFromInline let hasher: OutputHasher

        @usableFromInline
        init(logic: consuming EngineLogic<S>, hasher: OutputHasher) {
            self.logic = Optional(logic)
            self.hasher = hasher
        }
    }

    /// The rings, counters and shared state every thread reaches.
    @usableFromInline
    final class Wiring: @unchecked Sendable {
        @usableFromInline let configuration: EngineConfiguration
        @usableFromInline let clock: CycleClock
        /// Journal sequence of the first event this run publishes.
        @usableFromInline let baseSequence: Int64
        @usableFromInline let inbound: SequencedRing<Event>
        @usableFromInline let outcomes: SPSCRing<Outcome>
        @usableFromInline let orders: SPSCRing<VenueOrder>
        @usableFromInline let reports: SPSCRing<ExecutionReport>
        @usableFromInline let bundles: SPSCRing<BundleOutput>
        /// Updates of the strategies' orders for the export (a small idle ring without one).
        @usableFromInline let updates: SPSCRing<StrategyOrderEvent>
        @usableFromInline let counters = PipelineCounters()
        @usableFromInline let endToEnd = LatencyRecorder(name: "end-to-end")
        @usableFromInline let orderLatency = LatencyRecorder(name: "event-to-order")
        @usableFromInline let bundleLatency = LatencyRecorder(name: "arrival-to-bundle")
        @usableFromInline let journalLatency = LatencyRecorder(name: "ingress to journal release")
        /// Rejected order commands by `ExecutionReason` raw value (written by the sink).
        @usableFromInline let rejectsByReason = PaddedAtomicCells(count: 256, initialValue: 0)
        @usableFromInline let control = PipelineControl()
        @usableFromInline let startTime: UInt64
        @usableFromInline let results = FinalResults()
        @usableFromInline let snapshots: SnapshotTaker?
        /// The strategies' latest positions and orders, for the monitor.
        @usableFromInline let trading = TradingBoard()
        /// Operators' commands waiting for the source thread.
        @usableFromInline let admin = AdminMailbox()
        /// Every instrument's reference data (for the units of reports and metrics).
        @usableFromInline let definitions: [InstrumentDefinition]
        /// Each strategy's id and name (for the export), set when the logic is built.
        @usableFromInline let strategyNames: [(UInt16, String)]

        @usableFromInline
        init(configuration: EngineConfiguration, clock: CycleClock, baseSequence: Int64, snapshotDirectory: String?)
            throws(EngineError)
        {
            self.configuration = configuration
            self.clock = clock
            self.baseSequence = baseSequence
            definitions =
                configuration.strategies.isEmpty && configuration.fillsOut == nil
                ? [] : configuration.resolvedInstruments
            strategyNames = Array(zip(configuration.strategies.resolvedIDs, configuration.strategies.map(\.name)))
            do {
                inbound = try SequencedRing(
                    capacity: configuration.inboundRingSize,
                    consumers: [.init("journal"), .init("logic", dependsOn: [0])])
                outcomes = try SPSCRing(capacity: configuration.outboundRingSize)
                orders = try SPSCRing(capacity: configuration.orderRingSize)
                reports = try SPSCRing(capacity: configuration.reportRingSize)
                bundles = try SPSCRing(capacity: EngineConfiguration.bundleRingSize)
                updates = try SPSCRing(capacity: configuration.fillsOut == nil ? 64 : 4_096)
            } catch {
                throw .core(error)
            }
            startTime = clock.now()
            if let snapshotDirectory, configuration.snapshotEveryEvents > 0 {
                snapshots = SnapshotTaker(
                    directory: snapshotDirectory, every: Int64(configuration.snapshotEveryEvents),
                    prune: configuration.pruneJournal, startSequence: baseSequence)
            } else {
                snapshots = nil
            }
        }

        @usableFromInline
        func cpus(forThread index: Int) -> [Int] {
            index < configuration.pinCPUs.count ? [configuration.pinCPUs[index]] : []
        }

        @usableFromInline
        var sourceContext: SourceContext {
            SourceContext(
                configuration: configuration, clock: clock, startTime: startTime, startSequence: baseSequence)
        }

        @inlinable
        func makeSource<Plan: SourcePlan>(_ plan: Plan) throws(EngineError) -> SourceStage<Plan.Source> {
            let source = try plan.open(sourceContext)
            do { return SourceStage(source: source, producer: try inbound.makeProducer(), wiring: self) } catch {
                throw .core(error)
            }
        }

        @inlinable
        func makeJournal<Plan: JournalPlan>(_ plan: Plan) throws(EngineError) -> JournalStage<Plan.Backend> {
            let consumer: SequencedConsumer<Event>
            do { consumer = try inbound.makeConsumer(0) } catch { throw .core(error) }
            let backend = try plan.open(JournalContext(configuration: configuration, nextSequence: baseSequence))
            return JournalStage(
                consumer: consumer, backend: backend, baseSequence: baseSequence,
                coalesceNanoseconds: UInt64(configuration.journalCoalesceMicroseconds) * 1_000, clock: clock,
                latency: try journalLatency.makeWriter(), wiring: self)
        }

        @inlinable
        func makeLogic<S: Strategy>(_ seed: LogicSeed<S>) throws(EngineError) -> LogicStage<S> {
            guard let logic = seed.logic.take() else { throw .wiring("the logic state was already taken") }
            do {
                return LogicStage(
                    consumer: try inbound.makeConsumer(1), logic: logic, baseSequence: baseSequence,
                    outcomes: try outcomes.makeProducer(), orders: try orders.makeProducer(),
                    reports: try reports.makeProducer(), bundles: try bundles.makeProducer(),
                    updates: try updates.makeProducer(), exportsUpdates: configuration.fillsOut != nil,
                    hasher: seed.hasher, batchLimit: configuration.batchLimit,
                    snapshots: snapshots, wiring: self)
            } catch {
                throw .core(error)
            }
        }

        @inlinable
        func makeSink<Plan: OutputPlan>(_ plan: Plan) throws(EngineError) -> SinkStage<Plan.Sink> {
            let downstream = try plan.open()
            let export = try configuration.fillsOut.map { (path) throws(EngineError) in
                try OrderEventWriter(path: path, definitions: definitions, strategies: strategyNames)
            }
            do {
                return SinkStage(
                    outcomes: try outcomes.makeConsumer(), orders: try orders.makeConsumer(),
                    reports: try reports.makeConsumer(), bundles: try bundles.makeConsumer(),
                    updates: try updates.makeConsumer(), export: export,
                    endToEnd: try endToEnd.makeWriter(), orderLatency: try orderLatency.makeWriter(),
                    bundleLatency: try bundleLatency.makeWriter(), clock: clock, rejectsByReason: rejectsByReason,
                    downstream: downstream, wiring: self)
            } catch let error as CoreError {
                throw .core(error)
            } catch let error as EngineError {
                throw error
            } catch {
                throw .wiring("unexpected \(error)")
            }
        }

        /// Stages made so far (each thread makes its stages before it runs them).
        @usableFromInline let stagesMade = Atomic<Int>(0)
        /// The stages every run makes: source, journal, logic and sink.
        @usableFromInline static let stageCount = 4

        /// Runs a stage factory on its thread; on failure records the error for the monitor.
        @usableFromInline
        func claim<T: ~Copyable>(_ make: () throws(EngineError) -> T) -> T? {
            do {
                let stage = try make()
                stagesMade.add(1, ordering: .releasing)
                return stage
            } catch {
                results.setupError = error
                control.requestStop()
                return nil
            }
        }

        /// Waits until every stage is made (a source subscribed to its input, a journal open):
        /// true then; false as soon as one failed or a stop signal came. The run is started (and
        /// ready) only with every stage made, so that what is published once it says so reaches it.
        @usableFromInline
        func awaitStages() -> Bool {
            while stagesMade.load(ordering: .acquiring) < Self.stageCount {
                if control.stopRequested || StopSignal.receivedName != nil { return false }
                usleep(200)
            }
            return true
        }
    }

    /// What the threads leave for the final report, written once as each finishes.
    @usableFromInline
    final class FinalResults: @unchecked Sendable {
        @usableFromInline var bookCounters = BookCounters()
        @usableFromInline var venueCounters = MatchingCounters()
        @usableFromInline var mempoolCounters: MempoolCounters?
        @usableFromInline var trading: TradingSnapshot?
        @usableFromInline var exportLines = 0
        @usableFromInline var exportFailure: String?
        @usableFromInline var stateHash: UInt64 = 0
        @usableFromInline var outputHash: UInt64 = 0
        @usableFromInline var lastSequence: Int64 = -1
        @usableFromInline var journal = JournalStatistics()
        @usableFromInline var setupError: EngineError?
        @usableFromInline var journalError: JournalError?
        @usableFromInline var snapshotsWritten = 0
        @usableFromInline var snapshotFailure: String?
        @usableFromInline var recordedSummary: String?
        @usableFromInline var sourceFailure: String?
        @usableFromInline var sourceLosses: String?
        @usableFromInline var sourceUnread: String?

        @usableFromInline init() {}
    }

    // MARK: Threads

    /// Two threads: source and journal on one, logic and sink on the other.
    @inlinable
    static func startShared<
        Source: SourcePlan, Journal: JournalPlan, Outputs: OutputPlan, S: Strategy & Sendable,
        SourceWait: WaitStrategy, LogicWait: WaitStrategy
    >(
        _ wiring: Wiring, _ source: Source, _ journal: Journal, _ outputs: Outputs, _ seed: LogicSeed<S>,
        _: SourceWait.Type, _: LogicWait.Type
    ) throws(EngineError) -> [PinnedThread] {
        let first = try startThread("pg-source", wiring.cpus(forThread: 0)) {
            guard var sourceStage = wiring.claim({ () throws(EngineError) in try wiring.makeSource(source) }) else {
                wiring.control.sourceFinished(lastSequence: -1)
                wiring.control.finishJournal()
                return
            }
            guard var journalStage = wiring.claim({ () throws(EngineError) in try wiring.makeJournal(journal) }) else {
                sourceStage.finish()
                wiring.control.finishJournal()
                return
            }
            runStages(&sourceStage, &journalStage, clock: wiring.clock, wait: SourceWait.self)
        }
        let second = try startThread("pg-logic", wiring.cpus(forThread: 1)) {
            guard var logicStage = wiring.claim({ () throws(EngineError) in try wiring.makeLogic(seed) }) else {
                wiring.control.finishLogic()
                wiring.control.finishSink()
                return
            }
            guard var sinkStage = wiring.claim({ () throws(EngineError) in try wiring.makeSink(outputs) }) else {
                logicStage.finish()
                wiring.control.finishSink()
                return
            }
            runStages(&logicStage, &sinkStage, clock: wiring.clock, wait: LogicWait.self)
        }
        return [first, second]
    }

    /// Four threads, a stage each.
    @inlinable
    static func startDedicated<
        Source: SourcePlan, Journal: JournalPlan, Outputs: OutputPlan, S: Strategy & Sendable,
        SourceWait: WaitStrategy, StageWait: WaitStrategy
    >(
        _ wiring: Wiring, _ source: Source, _ journal: Journal, _ outputs: Outputs, _ seed: LogicSeed<S>,
        _: SourceWait.Type, _: StageWait.Type
    ) throws(EngineError) -> [PinnedThread] {
        [
            try startThread("pg-source", wiring.cpus(forThread: 0)) {
                guard var stage = wiring.claim({ () throws(EngineError) in try wiring.makeSource(source) }) else {
                    wiring.control.sourceFinished(lastSequence: -1)
                    return
                }
                var none = NoStage(wakeSignal: stage.wakeSignal)
                runStages(&stage, &none, clock: wiring.clock, wait: SourceWait.self)
            },
            try startThread("pg-journal", wiring.cpus(forThread: 1)) {
                guard var stage = wiring.claim({ () throws(EngineError) in try wiring.makeJournal(journal) }) else {
                    wiring.control.finishJournal()
                    return
                }
                var none = NoStage(wakeSignal: stage.wakeSignal)
                runStages(&stage, &none, clock: wiring.clock, wait: StageWait.self)
            },
            try startThread("pg-logic", wiring.cpus(forThread: 2)) {
                guard var stage = wiring.claim({ () throws(EngineError) in try wiring.makeLogic(seed) }) else {
                    wiring.control.finishLogic()
                    return
                }
                var none = NoStage(wakeSignal: stage.wakeSignal)
                runStages(&stage, &none, clock: wiring.clock, wait: StageWait.self)
            },
            try startThread("pg-sink", wiring.cpus(forThread: 3)) {
                guard var stage = wiring.claim({ () throws(EngineError) in try wiring.makeSink(outputs) }) else {
                    wiring.control.finishSink()
                    return
                }
                var none = NoStage(wakeSignal: stage.wakeSignal)
                runStages(&stage, &none, clock: wiring.clock, wait: StageWait.self)
            },
        ]
    }

    @usableFromInline
    static func startThread(_ name: String, _ cpus: [Int], _ body: @escaping @Sendable () -> Void)
        throws(EngineError) -> PinnedThread
    {
        do { return try PinnedThread.start(name: name, cpus: cpus, body: body) } catch {
            throw .core(error)
        }
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

    public init() {}
}
