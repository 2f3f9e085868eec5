import Histogram
import PeregrineBook
import PeregrineCore
import PeregrineMempool
import PeregrineModel
import PeregrineStrategy

/// Wires and runs the engine's pipeline:
///
/// ```
///  source ─► inbound SequencedRing<Event> ─┬─► journal (consumer 0)
///                                          └─► logic (consumer 1, after the journal)
///                                                 │ books · strategy · bundle builder
///                                                 ├─► outcomes SPSCRing<Outcome> ─┐
///                                                 └─► bundles  SPSCRing<Bundle>  ─┴─► sink
/// ```
///
/// Topologies: `shared` runs source + journal on one hot thread and logic + sink on another;
/// `dedicated` gives each stage its own thread. The calling thread is the monitor: it prints
/// a status line every interval, stops the source at the deadline or on SIGINT/SIGTERM, waits
/// for every stage to drain, and returns the final report.
public enum Pipeline {
    /// Runs the pipeline to completion. `status` receives each status line.
    public static func run<S: Strategy & Sendable>(
        configuration: EngineConfiguration, strategy: S, clock: CycleClock = .calibrate(),
        status: (String) -> Void = { print($0) }
    ) throws(EngineError) -> EngineReport {
        try configuration.validate()
        let wiring = try Wiring(configuration: configuration, clock: clock)
        let threads: [PinnedThread]
        switch (configuration.waitStrategy, configuration.topology) {
        case (.spin, .shared): threads = try startShared(wiring, strategy, BusySpinWait.self, BusySpinWait.self)
        case (.yield, .shared):
            threads = try startShared(wiring, strategy, SpinThenYieldWait.self, SpinThenYieldWait.self)
        case (.park, .shared): threads = try startShared(wiring, strategy, SpinThenYieldWait.self, ParkWait.self)
        case (.spin, .dedicated): threads = try startDedicated(wiring, strategy, BusySpinWait.self, BusySpinWait.self)
        case (.yield, .dedicated):
            threads = try startDedicated(wiring, strategy, SpinThenYieldWait.self, SpinThenYieldWait.self)
        case (.park, .dedicated): threads = try startDedicated(wiring, strategy, SpinThenYieldWait.self, ParkWait.self)
        }
        let monitor = Monitor(wiring: wiring, threads: threads)
        return monitor.run(status: status)
    }

    /// Everything the threads share, created once before they start.
    final class Wiring: @unchecked Sendable {
        let configuration: EngineConfiguration
        let clock: CycleClock
        let inbound: SequencedRing<Event>
        let outcomes: SPSCRing<Outcome>
        let bundles: SPSCRing<Bundle>
        let reports: SPSCRing<ExecutionReport>
        let counters = PipelineCounters()
        let endToEnd = LatencyRecorder(name: "end-to-end")
        let bundleLatency = LatencyRecorder(name: "bundle open-to-sink")
        let control = PipelineControl()
        let startTime: UInt64
        /// Results that only the logic and sink threads know, handed over when they finish.
        let results = FinalResults()

        init(configuration: EngineConfiguration, clock: CycleClock) throws(EngineError) {
            self.configuration = configuration
            self.clock = clock
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
        }

        func cpus(forThread index: Int) -> [Int] {
            index < configuration.pinCPUs.count ? [configuration.pinCPUs[index]] : []
        }

        func makeSource() throws(EngineError) -> SyntheticSource {
            do {
                return SyntheticSource(
                    producer: try inbound.makeProducer(), configuration: configuration, clock: clock,
                    startTime: startTime)
            } catch { throw .setupFailed(error.description) }
        }

        func makeJournal() throws(EngineError) -> JournalStage {
            do {
                return JournalStage(consumer: try inbound.makeConsumer(0), batchLimit: configuration.batchLimit)
            } catch {
                throw .setupFailed(error.description)
            }
        }

        func makeLogic<S: Strategy>(_ strategy: S) throws(EngineError) -> LogicStage<S> {
            do {
                let builder = try BundleBuilder(
                    maxTransactions: configuration.bundleSize,
                    timeoutNanoseconds: UInt64(configuration.bundleTimeoutMicroseconds) * 1_000)
                var venue: MatchingEngine? = nil
                if configuration.orderFlowPercent > 0 {
                    venue = try MatchingEngine(
                        specs: SyntheticMarket.venueSpecs(
                            instruments: configuration.instruments, orderCapacity: configuration.venueOrderCapacity))
                }
                return LogicStage(
                    consumer: try inbound.makeConsumer(1),
                    books: try BookSet(count: configuration.instruments, ladderSize: configuration.ladderSize),
                    strategy: strategy, builder: builder, bundles: try bundles.makeProducer(),
                    outcomes: try outcomes.makeProducer(), venue: venue, reports: try reports.makeProducer(),
                    clock: clock, batchLimit: configuration.batchLimit)
            } catch let error as CoreError {
                throw .setupFailed(error.description)
            } catch let error as BookError {
                throw .setupFailed(error.description)
            } catch {
                throw .setupFailed("\(error)")
            }
        }

        func makeSink() throws(EngineError) -> SinkStage {
            do {
                return SinkStage(
                    outcomes: try outcomes.makeConsumer(), bundles: try bundles.makeConsumer(),
                    reports: try reports.makeConsumer(),
                    endToEnd: try endToEnd.makeWriter(), bundleLatency: try bundleLatency.makeWriter(), clock: clock)
            } catch let error as CoreError {
                throw .setupFailed(error.description)
            } catch let error as EngineError {
                throw error
            } catch {
                throw .setupFailed("\(error)")
            }
        }
    }

    /// Set by the threads as they finish, read by the monitor after joining them.
    final class FinalResults: @unchecked Sendable {
        var bookCounters = BookCounters()
        var venueCounters = MatchingCounters()
        var outputDigest: UInt64 = 0
        var setupError: EngineError?
    }

    // MARK: Thread bodies

    /// Source + journal on one thread; logic + sink on another.
    static func startShared<S: Strategy & Sendable, SourceWait: WaitStrategy, LogicWait: WaitStrategy>(
        _ wiring: Wiring, _ strategy: S, _: SourceWait.Type, _: LogicWait.Type
    ) throws(EngineError) -> [PinnedThread] {
        let source = try startThread("pg-source", wiring.cpus(forThread: 0)) {
            runSourceAndJournal(wiring, SourceWait.self)
        }
        let logic = try startThread("pg-logic", wiring.cpus(forThread: 1)) {
            runLogicAndSink(wiring, strategy, LogicWait.self)
        }
        return [source, logic]
    }

    /// One thread per stage.
    static func startDedicated<S: Strategy & Sendable, SourceWait: WaitStrategy, StageWait: WaitStrategy>(
        _ wiring: Wiring, _ strategy: S, _: SourceWait.Type, _: StageWait.Type
    ) throws(EngineError) -> [PinnedThread] {
        [
            try startThread("pg-source", wiring.cpus(forThread: 0)) { runSource(wiring, SourceWait.self) },
            try startThread("pg-journal", wiring.cpus(forThread: 1)) { runJournal(wiring, StageWait.self) },
            try startThread("pg-logic", wiring.cpus(forThread: 2)) { runLogic(wiring, strategy, StageWait.self) },
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
            let produced = source.step(now: clock.now())
            let journaled = journal.poll()
            publishSourceCounters(source, counters)
            counters.publish(.journalPassed, journal.passed)
            if produced == 0 && journaled == 0 {
                wait.idle(on: wiring.inbound.wakeSignal)
            } else {
                wait.reset()
            }
        }
        publishSourceCounters(source, counters)
        let last = source.publishedSequence
        control.sourceFinished(lastSequence: last)
        while journal.sequence < last {
            if journal.poll() == 0 { wait.idle(on: wiring.inbound.wakeSignal) }
        }
        counters.publish(.journalPassed, journal.passed)
        control.finishJournal()
    }

    static func runLogicAndSink<S: Strategy, W: WaitStrategy>(_ wiring: Wiring, _ strategy: S, _: W.Type) {
        let control = wiring.control
        guard var logic = claim({ () throws(EngineError) in try wiring.makeLogic(strategy) }, wiring),
            var sink = claim({ () throws(EngineError) in try wiring.makeSink() }, wiring)
        else {
            control.finishLogic()
            control.finishSink()
            return
        }
        var wait = W()
        let clock = wiring.clock
        while true {
            let processed = logic.poll { _ = sink.poll() }
            let sealed = processed == 0 && logic.sealTimedOutBundle(now: clock.now()) { _ = sink.poll() }
            let sunk = sink.poll()
            sink.serviceCollection()
            publishLogicCounters(logic, wiring.counters)
            publishSinkCounters(sink, wiring.counters)
            if processed == 0 && sunk == 0 && !sealed {
                if control.journalFinished && logic.isCaughtUp() { break }
                wait.idle(on: wiring.inbound.wakeSignal)
            } else {
                wait.reset()
            }
        }
        logic.flushBundles { _ = sink.poll() }
        while sink.poll() > 0 {}
        finishLogic(logic, wiring)
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
        publishSourceCounters(source, wiring.counters)
        control.sourceFinished(lastSequence: source.publishedSequence)
    }

    static func runJournal<W: WaitStrategy>(_ wiring: Wiring, _: W.Type) {
        let control = wiring.control
        guard var journal = claim({ () throws(EngineError) in try wiring.makeJournal() }, wiring) else {
            control.finishJournal()
            return
        }
        var wait = W()
        while true {
            if journal.poll() > 0 {
                wait.reset()
                wiring.counters.publish(.journalPassed, journal.passed)
                continue
            }
            if let last = control.sourceFinalSequence, journal.sequence >= last { break }
            wait.idle(on: wiring.inbound.wakeSignal)
        }
        wiring.counters.publish(.journalPassed, journal.passed)
        control.finishJournal()
    }

    static func runLogic<S: Strategy, W: WaitStrategy>(_ wiring: Wiring, _ strategy: S, _: W.Type) {
        let control = wiring.control
        guard var logic = claim({ () throws(EngineError) in try wiring.makeLogic(strategy) }, wiring) else {
            control.finishLogic()
            return
        }
        var wait = W()
        let clock = wiring.clock
        while true {
            let processed = logic.poll { wait.idle(on: wiring.outcomes.wakeSignal) }
            let sealed =
                processed == 0
                && logic.sealTimedOutBundle(now: clock.now()) { wait.idle(on: wiring.bundles.wakeSignal) }
            publishLogicCounters(logic, wiring.counters)
            if processed == 0 && !sealed {
                if control.journalFinished && logic.isCaughtUp() { break }
                wait.idle(on: wiring.inbound.wakeSignal)
            } else {
                wait.reset()
            }
        }
        logic.flushBundles { wait.idle(on: wiring.bundles.wakeSignal) }
        finishLogic(logic, wiring)
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

    static func publishSourceCounters(_ source: borrowing SyntheticSource, _ counters: PipelineCounters) {
        counters.publish(.sourceEmitted, source.emitted)
        counters.publish(.sourceDropped, source.dropped)
        counters.publish(.sourceFullWaits, source.fullWaits)
    }

    static func publishLogicCounters<S: Strategy>(_ logic: borrowing LogicStage<S>, _ counters: PipelineCounters) {
        counters.publish(.logicProcessed, logic.processed)
        counters.publish(.logicTransactions, logic.transactions)
        counters.publish(.logicRejectedTransactions, logic.rejectedTransactions)
        counters.publish(.logicBundles, logic.bundles)
        counters.publish(.logicReports, logic.reportsEmitted)
    }

    static func publishSinkCounters(_ sink: borrowing SinkStage, _ counters: PipelineCounters) {
        counters.publish(.sinkOutcomes, sink.outcomeCount)
        counters.publish(.sinkBundles, sink.bundleCount)
        counters.publish(.sinkBundleTransactions, sink.bundleTransactionCount)
        counters.publish(.sinkReports, sink.reportCount)
        counters.publish(.sinkFills, sink.fillCount)
    }

    static func finishLogic<S: Strategy>(_ logic: borrowing LogicStage<S>, _ wiring: Wiring) {
        publishLogicCounters(logic, wiring.counters)
        wiring.results.bookCounters = logic.bookCounters
        wiring.results.venueCounters = logic.venueCounters
        wiring.control.finishLogic()
    }

    static func finishSink(_ sink: borrowing SinkStage, _ wiring: Wiring) {
        publishSinkCounters(sink, wiring.counters)
        wiring.results.outputDigest = sink.outputDigest
        wiring.control.finishSink()
    }
}
