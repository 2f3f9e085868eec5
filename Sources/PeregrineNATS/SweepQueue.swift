import Foundation
import PeregrineBacktest
import PeregrineCore
import Synchronization

/// A sweep across machines on NATS JetStream (docs/backtesting.md, "Sweeps across machines"):
/// `peregrine sweep --nats URL` puts one message per job on a work-queue stream (the job's hash
/// as message id, so a job is queued once) and collects results from a results stream;
/// `peregrine worker --nats URL` (any number, anywhere) pulls jobs through one shared durable
/// consumer, runs them and publishes their results before acknowledging them. A worker that
/// dies leaves its job unacknowledged: it is delivered again after the ack wait. A result
/// published twice (a job run again after its worker died between publishing and
/// acknowledging) is dropped by the server's duplicate window and by the collector, by hash.
public struct SweepQueue: Sendable {
    public var url: String
    /// Streams, subjects and consumer: `PREFIX_JOBS` on `prefix.jobs`, `PREFIX_RESULTS` on
    /// `prefix.results`, consumer `prefix-workers` (prefix lower-cased in subjects).
    public var prefix = "PEREGRINE_SWEEP"
    /// How long a job may go without its worker's word before it is delivered again: workers
    /// confirm every third of it while a job runs.
    public var ackWaitMilliseconds: Int64 = 30_000

    public init(url: String) { self.url = url }

    var jobsStream: String { prefix + "_JOBS" }
    var resultsStream: String { prefix + "_RESULTS" }
    var jobsSubject: String { prefix.lowercased().replacingOccurrences(of: "_", with: ".") + ".jobs" }
    var resultsSubject: String { prefix.lowercased().replacingOccurrences(of: "_", with: ".") + ".results" }
    var durable: String { prefix.lowercased().replacingOccurrences(of: "_", with: "-") + "-workers" }

    /// Connects and makes sure both streams exist (and, for the sweep, the workers' consumer
    /// with its ack wait).
    func open(name: String, consumer: Bool = false) throws(NATSError) -> (NATSConnection, JetStream) {
        let connection = try NATSConnection(NATSConnectionOptions(url: url, name: name))
        let jetStream = try connection.jetStream()
        var jobs = StreamSettings(name: jobsStream, subjects: [jobsSubject], duplicateWindowSeconds: 3_600)
        jobs.retention = .workQueue
        try jetStream.addOrUpdateStream(jobs)
        try jetStream.addOrUpdateStream(
            StreamSettings(name: resultsStream, subjects: [resultsSubject], duplicateWindowSeconds: 3_600))
        if consumer {
            try jetStream.addOrUpdateWorkQueueConsumer(
                stream: jobsStream, subject: jobsSubject, durable: durable, ackWaitMilliseconds: ackWaitMilliseconds)
        }
        return (connection, jetStream)
    }

    // MARK: The sweep

    /// Runs `plan` on the workers: results already in `output` or in the results stream are not
    /// queued again; the others are queued and collected as they come (appended to `output`).
    /// Waits for every job; `idleSeconds` above 0 gives up (exit 1, listing what is missing)
    /// when no result came for that long. `progress` gets (done, to run).
    public func run(
        _ plan: SweepPlan, output: SweepOutput?, ranking: SweepRanking, idleSeconds: Int = 0,
        progress: ((Int, Int) -> Void)? = nil
    ) throws(BacktestError) -> Sweep.Outcome {
        let jetStream: JetStream
        let results: NATSSubscription
        let lastResult: UInt64
        do {
            (_, jetStream) = try open(name: "peregrine-sweep", consumer: true)
            lastResult = try jetStream.streamState(resultsStream)?.lastSequence ?? 0
            results = try jetStream.pullSubscription(stream: resultsStream, subject: resultsSubject, startSequence: 1)
        } catch {
            throw .output("NATS \(url): \(error)")
        }
        let existing = output?.existing ?? []
        var done = Set(existing.map(\.job))
        let byHash = Dictionary(plan.jobs.map { ($0.hash, $0) }, uniquingKeysWith: { first, _ in first })
        var rows = existing
        var failed: [(job: SweepJob, error: BacktestError)] = []
        var collected = 0
        var succeeded = 0
        var resumed = plan.jobs.filter { done.contains($0.hash) }.count
        var sequence: UInt64 = 0
        let names = plan.dimensions.map(\.name)
        /// Takes one result message: a row of this sweep not seen yet is kept (and written).
        func take(_ bytes: UnsafeRawBufferPointer, fromEarlierRun: Bool) throws(BacktestError) {
            let line = String(decoding: bytes, as: UTF8.self)
            guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
                let hash = object["job"] as? String, let job = byHash[hash], !done.contains(hash)
            else { return }
            if let error = object["error"] as? String {
                // A failure of an earlier run is run again; a failure now is reported.
                guard !fromEarlierRun else { return }
                done.insert(hash)
                failed.append((job, .data(error)))
                collected += 1
                return
            }
            guard let row = SweepRow(jsonLine: line, parameterNames: names, csvColumns: output?.columns) else { return }
            done.insert(hash)
            rows.append(row)
            if fromEarlierRun {
                resumed += 1
            } else {
                collected += 1
                succeeded += 1
            }
            try output?.append(row.line)
        }
        // Results of earlier runs of this sweep (a sweep stopped and started again).
        while sequence < lastResult {
            var batchError: BacktestError?
            let count: Int
            do {
                count = try results.fetch(batch: 512, timeoutMilliseconds: 2_000) { message in
                    sequence = Swift.max(sequence, message.streamSequence)
                    if batchError == nil {
                        do throws(BacktestError) { try take(message.bytes, fromEarlierRun: true) } catch {
                            batchError = error
                        }
                    }
                }
            } catch {
                throw .output("NATS \(url): reading \(resultsStream): \(error)")
            }
            if let batchError { throw batchError }
            if count == 0 { break }
        }
        // Queue what is left.
        var seen = Set<String>()
        let pending = plan.jobs.filter { !done.contains($0.hash) && seen.insert($0.hash).inserted }
        for job in pending {
            let text = try SweepJobMessage(job, of: plan).json
            do {
                _ = try Array(text.utf8).withUnsafeBytes { bytes throws(NATSError) in
                    try jetStream.publish(jobsSubject, bytes, messageID: job.hash)
                }
            } catch {
                throw .output("NATS \(url): queueing job \(job.hash): \(error)")
            }
        }
        progress?(0, pending.count)
        let clock = ContinuousClock()
        var lastNews = clock.now
        while collected < pending.count {
            var batchError: BacktestError?
            let before = collected
            do {
                _ = try results.fetch(batch: 256, timeoutMilliseconds: 1_000) { message in
                    if batchError == nil {
                        do throws(BacktestError) { try take(message.bytes, fromEarlierRun: false) } catch {
                            batchError = error
                        }
                    }
                }
            } catch {
                throw .output("NATS \(url): reading \(resultsStream): \(error)")
            }
            if let batchError { throw batchError }
            if collected > before {
                lastNews = clock.now
                progress?(collected, pending.count)
            } else if idleSeconds > 0, clock.now - lastNews > .seconds(idleSeconds) {
                let missing = pending.filter { !done.contains($0.hash) }
                for job in missing {
                    failed.append(
                        (job, .data("no result within \(idleSeconds) s of the last one (are workers running?)")))
                }
                break
            }
        }
        let order = Dictionary(plan.jobs.map { ($0.hash, $0.index) }, uniquingKeysWith: { first, _ in first })
        let ranked = ranking.ranked(rows.filter { order[$0.job] != nil }, order: order)
        let others = ranking.ranked(rows.filter { order[$0.job] == nil }, order: [:])
        try output?.rewrite(ranked + others)
        failed.sort { $0.job.index < $1.job.index }
        return Sweep.Outcome(
            rows: ranked, otherRows: others, ran: succeeded, resumed: resumed, failed: failed)
    }

    // MARK: The worker

    /// Pulls jobs and runs them, one at a time, until `shouldStop` says so (checked between
    /// jobs and at least every second while idle); `log` gets a line per job. Returns the jobs
    /// run. While a job runs a thread confirms it every third of the ack wait, so only a worker
    /// that died (or hangs its whole process) has its job delivered again.
    public func work(name: String, shouldStop: () -> Bool, log: (String) -> Void) throws(BacktestError) -> Int {
        let jetStream: JetStream
        let consumer: NATSSubscription
        do {
            (_, jetStream) = try open(name: "peregrine-worker-\(name)")
            // The consumer is the sweep's (its ack wait); made here when no sweep ran yet.
            if try jetStream.consumerExists(stream: jobsStream, durable: durable) == false {
                try jetStream.addOrUpdateWorkQueueConsumer(
                    stream: jobsStream, subject: jobsSubject, durable: durable, ackWaitMilliseconds: ackWaitMilliseconds
                )
            }
            consumer = try jetStream.workQueueConsumer(stream: jobsStream, subject: jobsSubject, durable: durable)
        } catch {
            throw .output("NATS \(url): \(error)")
        }
        let runner = SweepJobRunner(worker: name)
        var jobs = 0
        while !shouldStop() {
            let message: NATSOwnedMessage?
            do { message = try consumer.fetchOne(timeoutMilliseconds: 1_000) } catch {
                throw .output("NATS \(url): fetching a job: \(error)")
            }
            guard let message else { continue }
            let started = ContinuousClock.now
            let keepAlive = KeepAlive(message: message, every: ackWaitMilliseconds / 3)
            log("job started (delivery \(message.deliveries))")
            let (job, line) = runner.run(message.bytes)
            keepAlive.stop()
            do {
                _ = try Array(line.utf8).withUnsafeBytes { bytes throws(NATSError) in
                    try jetStream.publish(resultsSubject, bytes, messageID: job.map { "result-" + $0 })
                }
                try message.ack()
            } catch {
                throw .output("NATS \(url): publishing the result of job \(job ?? "?"): \(error)")
            }
            jobs += 1
            let elapsed = ContinuousClock.now - started
            let failedText = line.hasPrefix("{\"error\"") ? " failed: \(line)" : ""
            log("job \(job ?? "(unreadable)") done in \(elapsed)\(failedText)")
        }
        return jobs
    }

    /// Confirms a job's message every `every` ms on a thread of its own until stopped.
    final class KeepAlive: Sendable {
        final class Flag: Sendable { let stopped = Atomic<Bool>(false) }
        let flag = Flag()
        let thread: PinnedThread?

        init(message: NATSOwnedMessage, every milliseconds: Int64) {
            let flag = flag
            let pause = UInt32(clamping: Swift.max(milliseconds, 10) * 1_000)
            thread = try? PinnedThread.start(name: "pg-worker-alive") {
                while !flag.stopped.load(ordering: .acquiring) {
                    var slept: UInt32 = 0
                    while slept < pause, !flag.stopped.load(ordering: .acquiring) {
                        usleep(10_000)
                        slept += 10_000
                    }
                    if !flag.stopped.load(ordering: .acquiring) { try? message.inProgress() }
                }
            }
        }

        func stop() {
            flag.stopped.store(true, ordering: .releasing)
            thread?.join()
        }
    }
}
