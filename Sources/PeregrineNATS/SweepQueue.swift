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
    /// Streams, subjects and consumer: `PREFIX_JOBS` on `prefix.jobs.>` (one subject per job),
    /// `PREFIX_RESULTS` on `prefix.results`, consumer `prefix-workers` (prefix lower-cased, `_`
    /// as `.` or `-`).
    public var prefix = "PEREGRINE_SWEEP"
    /// How long a job may go without its worker's word before it is delivered again: workers
    /// confirm every third of it while a job runs.
    public var ackWaitMilliseconds: Int64 = 30_000

    public init(url: String) { self.url = url }

    /// How many times a job is delivered at most: its last delivery is answered with a failure
    /// (its workers died or refused it) instead of being run.
    public static let maxDeliveries = 10

    var jobsStream: String { prefix + "_JOBS" }
    var resultsStream: String { prefix + "_RESULTS" }
    var subjectPrefix: String { prefix.lowercased().replacingOccurrences(of: "_", with: ".") }
    var jobsSubject: String { subjectPrefix + ".jobs.>" }
    func jobSubject(_ hash: String) -> String { subjectPrefix + ".jobs." + hash }
    var resultsSubject: String { subjectPrefix + ".results" }
    var durable: String { prefix.lowercased().replacingOccurrences(of: "_", with: "-") + "-workers" }

    /// Connects and makes the streams that do not exist yet (streams an operator set up are
    /// left as they are); the sweep also sets the workers' consumer (its ack wait).
    func open(name: String, consumer: Bool = false) throws(NATSError) -> JetStream {
        let connection = try NATSConnection(NATSConnectionOptions(url: url, name: name))
        let jetStream = try connection.jetStream()
        if try jetStream.streamState(jobsStream) == nil {
            var jobs = StreamSettings(name: jobsStream, subjects: [jobsSubject], duplicateWindowSeconds: 3_600)
            jobs.retention = .workQueue
            try jetStream.addOrUpdateStream(jobs)
        }
        if try jetStream.streamState(resultsStream) == nil {
            try jetStream.addOrUpdateStream(
                StreamSettings(name: resultsStream, subjects: [resultsSubject], duplicateWindowSeconds: 3_600))
        }
        let existing = try jetStream.consumerLimits(stream: jobsStream, durable: durable)
        if consumer || existing == nil {
            try jetStream.addOrUpdateWorkQueueConsumer(
                stream: jobsStream, subject: jobsSubject, durable: durable, ackWaitMilliseconds: ackWaitMilliseconds,
                maxDeliveries: Self.maxDeliveries)
        }
        return jetStream
    }

    /// Publishes, trying again (three times, a second apart) when the server does not answer;
    /// whether the server already had a message with this id.
    static func publish(_ jetStream: JetStream, _ subject: String, _ text: String, id: String) throws(NATSError) -> Bool
    {
        var attempt = 0
        while true {
            do throws(NATSError) {
                let bytes = Array(text.utf8)
                let ack = bytes.withUnsafeBytes { raw in
                    Result { () throws(NATSError) -> PublishAck in try jetStream.publish(subject, raw, messageID: id) }
                }
                return try ack.get().duplicate
            } catch {
                attempt += 1
                if attempt >= 3 { throw error }
                sleep(1)
            }
        }
    }

    // MARK: The sweep

    /// Runs `plan` on the workers: results already in `output` or in the results stream are not
    /// queued again; the others are queued and collected as they come (appended to `output`).
    /// Waits for every job; `idleSeconds` above 0 gives up (exit 1, listing what is missing)
    /// when no result came for that long. `progress` gets (done, to run). When `stopRequested`
    /// (polled about every second while waiting) names a reason, it stops waiting and throws
    /// (`data`: incomplete); the jobs not answered stay queued for the same sweep run again.
    public func run(
        _ plan: SweepPlan, output: SweepOutput?, ranking: SweepRanking, idleSeconds: Int = 0,
        progress: ((Int, Int) -> Void)? = nil, stopRequested: () -> String? = { nil }
    ) throws(BacktestError) -> Sweep.Outcome {
        // A message must read back as itself on a worker (settings that cannot travel are
        // refused here, not on every worker).
        if let first = plan.jobs.first {
            let message = try SweepJobMessage(first, of: plan)
            let text = message.json
            guard (try? SweepJobMessage(json: Array(text.utf8)).json) == text else {
                throw .usage(
                    "these settings cannot be sent to workers (an instrument or risk rule whose text has spaces "
                        + "or empty values?): run the sweep without --nats")
            }
        }
        let jetStream: JetStream
        let lastResult: UInt64
        do {
            jetStream = try open(name: "peregrine-sweep", consumer: true)
            lastResult = try jetStream.streamState(resultsStream)?.lastSequence ?? 0
        } catch {
            throw .output("NATS \(url): \(error)")
        }
        let existing = output?.existing ?? []
        var done = Set(existing.map(\.job))
        let byHash = Dictionary(plan.jobs.map { ($0.hash, $0) }, uniquingKeysWith: { first, _ in first })
        let names = plan.dimensions.map(\.name)
        var rows = existing
        var failed: [(job: SweepJob, error: BacktestError)] = []
        var failedBefore = Set<String>()
        var collected = 0
        var succeeded = 0
        var resumed = plan.pending(excluding: done).done
        /// Takes one result message: a row of this sweep not seen yet is kept (and written).
        func take(_ bytes: UnsafeRawBufferPointer, fromEarlierRun: Bool) throws(BacktestError) {
            let line = String(decoding: bytes, as: UTF8.self)
            guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
                let hash = object["job"] as? String, let job = byHash[hash], !done.contains(hash)
            else { return }
            if let error = object["error"] as? String {
                // A failure of an earlier run is run again; a failure now is final.
                if fromEarlierRun {
                    failedBefore.insert(hash)
                    return
                }
                done.insert(hash)
                let worker = object["worker"] as? String
                failed.append(
                    (job, .data(worker.map { error.hasPrefix("worker ") ? error : "worker \($0): \(error)" } ?? error)))
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
        /// Reads results from `start` until `until` (or, without it, what one fetch brings).
        func read(_ subscription: NATSSubscription, until: UInt64?, earlier: Bool) throws(BacktestError) -> Int {
            var sequence: UInt64 = 0
            var total = 0
            while true {
                var batchError: BacktestError?
                let count: Int
                do {
                    count = try subscription.fetch(batch: 512, timeoutMilliseconds: until == nil ? 1_000 : 2_000) {
                        message in
                        sequence = Swift.max(sequence, message.streamSequence)
                        if batchError == nil {
                            do throws(BacktestError) { try take(message.bytes, fromEarlierRun: earlier) } catch {
                                batchError = error
                            }
                        }
                    }
                } catch {
                    throw .output("NATS \(url): reading \(resultsStream): \(error)")
                }
                if let batchError { throw batchError }
                total += count
                guard let until, count > 0, sequence < until else { return total }
            }
        }
        // Results of earlier runs of this sweep (a sweep stopped and started again).
        if lastResult > 0 {
            let earlier: NATSSubscription
            do {
                earlier = try jetStream.pullSubscription(
                    stream: resultsStream, subject: resultsSubject, startSequence: 1)
            } catch {
                throw .output("NATS \(url): reading \(resultsStream): \(error)")
            }
            _ = try read(earlier, until: lastResult, earlier: true)
        }
        // Queue what is left: the job hash is the message id (queued once); a job still queued
        // from an earlier run is not queued again; one that failed before is queued anew.
        let pending = plan.pending(excluding: done).jobs
        let attempt = String(
            UInt64(clamping: ContinuousClock.now.duration(to: .now).components.seconds) &+ UInt64(getpid()))
        let nonce = "\(time(nil))-\(getpid())-\(attempt)"
        for job in pending {
            let text = try SweepJobMessage(job, of: plan).json
            do {
                let subject = jobSubject(job.hash)
                let duplicate = try Self.publish(jetStream, subject, text, id: job.hash)
                let queued = duplicate ? try jetStream.hasMessage(stream: jobsStream, subject: subject) : true
                if duplicate, failedBefore.contains(job.hash) || !queued {
                    _ = try Self.publish(jetStream, subject, text, id: job.hash + "-" + nonce)
                }
            } catch {
                throw .output("NATS \(url): queueing job \(job.hash): \(error)")
            }
        }
        let results: NATSSubscription
        do {
            results = try jetStream.pullSubscription(
                stream: resultsStream, subject: resultsSubject, startSequence: lastResult + 1)
        } catch {
            throw .output("NATS \(url): reading \(resultsStream): \(error)")
        }
        progress?(collected, pending.count)
        let clock = ContinuousClock()
        var lastNews = clock.now
        while collected < pending.count {
            if let reason = stopRequested() {
                let kept = output.map { " (kept in \($0.path))" } ?? ""
                throw .data(
                    "stopped by \(reason) after \(collected) of \(pending.count) results\(kept); the jobs not answered "
                        + "stay queued for the workers, and the same command collects their results: the sweep is "
                        + "incomplete, no ranking or page was written")
            }
            let before = collected
            _ = try read(results, until: nil, earlier: false)
            if collected > before {
                lastNews = clock.now
                progress?(collected, pending.count)
            } else if idleSeconds > 0, clock.now - lastNews > .seconds(idleSeconds) {
                for job in pending where !done.contains(job.hash) {
                    failed.append(
                        (
                            job,
                            .data(
                                "no result within \(idleSeconds) s of the last one (are workers running? A worker that cannot "
                                    + "run a job, its input missing or another copy, gives it back and says why in its log)"
                            )
                        ))
                }
                break
            }
        }
        return try Sweep.Outcome(
            ranking: ranking, plan: plan, rows: rows, output: output, ran: succeeded, resumed: resumed, failed: failed)
    }

    // MARK: The worker

    /// Pulls jobs and runs them, one at a time, until `shouldStop` says so (checked between
    /// jobs and at least every second while idle); `log` gets lines about each job. Returns the
    /// jobs run. A job this worker cannot run (its copy of a file differs, another build) is
    /// given back for another worker, and answered with a failure at its last delivery. While a
    /// job runs a thread confirms it every third of the consumer's ack wait, so only a worker
    /// that died (or hangs its whole process) has its job delivered again.
    /// With `idleSeconds` above 0 it also stops when no job came for that long (a batch of
    /// workers that ends with its sweep).
    public func work(name: String, idleSeconds: Int = 0, shouldStop: () -> Bool, log: (String) -> Void)
        throws(BacktestError) -> Int
    {
        let jetStream: JetStream
        let consumer: NATSSubscription
        do {
            jetStream = try open(name: "peregrine-worker-\(name)")
            consumer = try jetStream.workQueueConsumer(stream: jobsStream, subject: jobsSubject, durable: durable)
        } catch {
            throw .output("NATS \(url): \(error)")
        }
        let runner = SweepJobRunner(worker: name)
        var jobs = 0
        let clock = ContinuousClock()
        var lastJob = clock.now
        while !shouldStop() {
            if idleSeconds > 0, clock.now - lastJob > .seconds(idleSeconds) {
                log("no job for \(idleSeconds) s: stopping")
                break
            }
            let message: NATSOwnedMessage?
            let limits: (ackWaitMilliseconds: Int64, maxDeliveries: Int64)?
            do {
                message = try consumer.fetchOne(timeoutMilliseconds: 1_000)
                limits = message == nil ? nil : try jetStream.consumerLimits(stream: jobsStream, durable: durable)
            } catch {
                throw .output("NATS \(url): fetching a job: \(error)")
            }
            guard let message else { continue }
            defer { lastJob = clock.now }
            let ackWait = limits?.ackWaitMilliseconds ?? ackWaitMilliseconds
            let lastDelivery = UInt64(clamping: limits?.maxDeliveries ?? Int64(Self.maxDeliveries))
            let delivery = message.deliveries
            let started = ContinuousClock.now
            do throws(NATSError) {
                if delivery >= lastDelivery {
                    // Its workers died running it, or refused it, every time before.
                    let job = SweepJobRunner.jobName(message.bytes)
                    log("job \(job ?? "(unnamed)") delivered \(delivery) times: answered as failed")
                    _ = try Self.publish(
                        jetStream, resultsSubject,
                        runner.failure(
                            job: job,
                            "delivered \(delivery) times: its workers died running it or refused it (see their logs)"),
                        id: "failure-\(job ?? "")-\(name)-\(delivery)")
                    try message.ack()
                    continue
                }
                log("job started (delivery \(delivery))")
                let keepAlive = KeepAlive(message: message, every: .milliseconds(Swift.max(ackWait / 3, 10)))
                let outcome = runner.run(message.bytes)
                keepAlive.stop()
                switch outcome {
                case .result(let job, let line):
                    _ = try Self.publish(jetStream, resultsSubject, line, id: "result-" + job)
                    try message.ack()
                    jobs += 1
                    log("job \(job) done in \(ContinuousClock.now - started)")
                case .failed(let job, let line):
                    _ = try Self.publish(jetStream, resultsSubject, line, id: "failure-\(job)-\(name)-\(delivery)")
                    try message.ack()
                    jobs += 1
                    log("job \(job) failed: \(line)")
                case .refused(let job, let reason):
                    log("job \(job ?? "(unnamed)") refused, given back for another worker: \(reason)")
                    try message.nak(delayMilliseconds: 5_000)
                }
            } catch {
                throw .output("NATS \(url): answering a job: \(error)")
            }
        }
        return jobs
    }

    /// Confirms a job's message every `every` on a thread of its own until stopped.
    final class KeepAlive: Sendable {
        final class Flag: Sendable { let stopped = Atomic<Bool>(false) }
        let flag = Flag()
        let thread: PinnedThread?

        init(message: NATSOwnedMessage, every interval: Duration) {
            let flag = flag
            thread = try? PinnedThread.start(name: "pg-worker-alive") {
                let clock = ContinuousClock()
                var next = clock.now + interval
                while !flag.stopped.load(ordering: .acquiring) {
                    usleep(10_000)
                    if clock.now >= next, !flag.stopped.load(ordering: .acquiring) {
                        try? message.inProgress()
                        next = clock.now + interval
                    }
                }
            }
        }

        func stop() {
            flag.stopped.store(true, ordering: .releasing)
            thread?.join()
        }
    }
}
