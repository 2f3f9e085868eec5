import ArgumentParser
import Foundation
import PeregrineBacktest
import PeregrineEngine
import PeregrineNATS

#if canImport(Glibc)
    import Glibc
#endif

/// `peregrine sweep`: one backtest per combination of parameter values, in parallel.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Backtest every combination of strategy parameters, in parallel (docs/backtesting.md, \"Sweeps\").",
        discussion: """
            Give parameters lists (--param slow=100,200,400) or ranges (--param fast=10:50:10: from 10 by 10 up \
            to 50, the end included when a step lands on it); the other flags are the backtest's. Each job's \
            result equals that backtest run alone. Results are \
            appended to --out as they finish and a job already there is not run again (resume a stopped sweep \
            with the same command); at the end --out is rewritten ranked. Exit status: 0 every job done; 1 a job \
            failed (listed) or an output could not be written; 2 a usage or configuration error.
            """)

    @OptionGroup var options: BacktestOptions

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Draw N combinations at random (without repetition) instead of the whole grid.", valueName: "n"))
    var samples: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Seed of --samples.", valueName: "n"))
    var seed: UInt64 = 1

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Backtests run at once (default: the number of cores).", valueName: "n"))
    var jobs: Int?

    @Flag(
        help:
            "Leave out the combinations the strategies refuse (fast above slow, say) and run the others; without it, one such combination refuses the sweep."
    )
    var skipInvalid = false

    @Option(
        help: ArgumentHelp(
            "Results: JSON lines, or CSV when FILE ends in .csv; resumed when it exists.", valueName: "file"))
    var out: String?

    @Option(
        help: ArgumentHelp(
            "The ranking figure: sharpe (default), net_pnl, max_drawdown, … (docs/backtesting.md).", valueName: "figure"
        ))
    var rankBy = "sharpe"

    @Option(
        help: ArgumentHelp(
            "Write an HTML page with the ranking (and a heatmap for two parameters) here.", valueName: "file"))
    var reportHtml: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Print the N best (0: none).", valueName: "n"))
    var top = 10

    @Flag(help: "Print a JSON summary on standard output (counts, failures, the --top best rows) instead of the table.")
    var json = false

    @OptionGroup var queue: SweepQueueOptions

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "With --nats: give up (exit 1, listing the jobs without a result) when no result came for this long (0: wait).",
            valueName: "seconds"))
    var idleTimeout: Int = 0

    func run() throws {
        let (settings, ranking, nats) = checkOptions()
        // SIGINT or SIGTERM from here on: no job is started (or waited for) after it, those
        // running here finish (their rows are kept), and the sweep ends incomplete (exit 1, no
        // page); one while the plan is made or the inputs are read ends it before any job.
        StopSignal.installHandlers()
        // A sweep that fails without writing its page removes the one an earlier sweep left
        // (--out is kept: a run again resumes from it).
        let (plan, output) = prepare(settings)
        let threads = jobs ?? Sweep.defaultThreads
        let terminal = isatty(2) != 0
        let started = ContinuousClock.now
        let progress: ((Int, Int) -> Void)? =
            terminal ? { done, total in Self.showProgress(done, total, since: started) } : nil
        let outcome = runJobs(plan, output: output, ranking: ranking, on: nats, threads: threads, progress: progress)
        for warning in outcome.warnings { printError("warning: \(warning)") }
        do {
            if let reportHtml {
                if outcome.rows.isEmpty, !outcome.failed.isEmpty {
                    // Every job failed and no result was kept from before: no page of nothing
                    // (nor the one an earlier sweep left).
                    OutputFile.discard(reportHtml)
                } else {
                    try OutputFile.write(
                        SweepHTMLReport.render(plan, outcome, ranking: ranking), to: reportHtml, flag: "--report-html")
                }
            }
        } catch {
            fail(error, discarding: [reportHtml])
        }
        let seconds = (ContinuousClock.now - started).seconds
        if json {
            print(Self.summaryJSON(plan, outcome, ranking: ranking, top: top, seconds: seconds))
        } else if let reportHtml, OutputFile.isStandardOutput(reportHtml) {
            // The page is all that goes to standard output; the table goes to standard error.
            printError(tableText(plan, outcome, ranking: ranking, seconds: seconds))
        } else {
            print(tableText(plan, outcome, ranking: ranking, seconds: seconds))
        }
        // The summary lost (a full disk): the sweep fails as when its page could not be written
        // (--out is kept: the same command ranks it again).
        if let reason = Peregrine.standardOutputFailure() {
            fail(.output("standard output could not be written: \(reason)"), discarding: [reportHtml])
        }
        guard outcome.failed.isEmpty else {
            for (job, error) in outcome.failed {
                printError(
                    "failed: \(job.parameters.map { "\($0.name)=\($0.value)" }.joined(separator: " ")): \(error)")
            }
            // A --out this sweep made and no job wrote to (every job failed) is not left behind
            // empty, as for a sweep stopped before its first job.
            output?.discardIfUnused()
            Glibc.exit(Peregrine.Status.failed)
        }
    }

    /// The summary for scripts: counts, failures and the best rows (each its JSON line as
    /// written, or for a CSV output an object of its figures as text, with "job" and "params").
    static func summaryJSON(
        _ plan: SweepPlan, _ outcome: Sweep.Outcome, ranking: SweepRanking, top: Int, seconds: Double
    ) -> String {
        func params(_ pairs: [(name: String, value: String)]) -> [String: String] {
            Dictionary(pairs.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        }
        // The best rows go in as their JSON lines were written (numbers as the report writes
        // them, keys in its order); CSV rows, which have none, as objects of their figures.
        let rows = outcome.rows.prefix(top)
        let raw = rows.allSatisfy { $0.line.hasPrefix("{") }
        let best: [Any] =
            raw
            ? []
            : rows.map { row in
                // A CSV row's figures, as text (its parameters under "params" alone).
                let names = Set(row.parameters.map(\.name))
                var object: [String: Any] = row.fields.filter { !names.contains($0.key) }
                object["params"] = params(row.parameters)
                return object
            }
        let failed = outcome.failed.map { failure -> [String: Any] in
            ["job": failure.job.hash, "params": params(failure.job.parameters), "error": "\(failure.error)"]
        }
        let object: [String: Any] = [
            "jobs": plan.jobs.count, "ran": outcome.ran, "already_done": outcome.resumed, "failed": failed,
            "skipped_invalid": plan.skipped,
            "rank_by": ranking.metric, "elapsed_seconds": seconds, "best": best,
            "warnings": outcome.warnings,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        let text = String(decoding: data, as: UTF8.self)
        // The top-level key is the first "best" (sorted keys: after "already_done" only).
        guard raw, let empty = text.range(of: #""best":[]"#) else { return text }
        return text.replacingCharacters(in: empty, with: #""best":["# + rows.map(\.line).joined(separator: ",") + "]")
    }

    /// The summary table for people.
    func tableText(_ plan: SweepPlan, _ outcome: Sweep.Outcome, ranking: SweepRanking, seconds: Double) -> String {
        var lines = [
            "=== peregrine sweep === \(plan.jobs.count) job\(plan.jobs.count == 1 ? "" : "s"): \(outcome.ran) run, \(outcome.resumed) already done, "
                + "\(outcome.failed.count) failed"
                + (plan.skipped > 0
                    ? " (\(plan.skipped) combination\(plan.skipped == 1 ? "" : "s") refused, left out)" : "")
                + " · \(BacktestHTMLReport.fixed(seconds, 3)) s · ranked by \(ranking.metric)"
        ]
        if top > 0 {
            for (rank, row) in outcome.rows.prefix(top).enumerated() {
                let values = row.parameters.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
                let figures = [ranking.metric, "net_pnl", "max_drawdown", "trades"].reduce(into: [String]()) {
                    list, name in
                    if !list.contains(where: { $0.hasPrefix(name + " ") }) {
                        list.append("\(name) \(row.displayed(name))")
                    }
                }
                lines.append("\(rank + 1). \(values) · " + figures.joined(separator: " · "))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The settings, the ranking and the NATS queue (with `--nats`), the sweep's own options and
    /// outputs checked before the data is read (the strategies' parameters are checked with the
    /// data's instruments, by the plan); or the exit for a usage error (nothing started, nothing
    /// removed).
    func checkOptions() -> (BacktestSettings, SweepRanking, SweepQueue?) {
        do throws(BacktestError) {
            let ranking = try SweepRanking(rankBy)
            if let jobs, !(1...Sweep.maximumThreads).contains(jobs) {
                throw BacktestError.usage("--jobs must be from 1 to \(Sweep.maximumThreads)")
            }
            if top < 0 { throw BacktestError.usage("--top must be 0 or more") }
            if idleTimeout < 0 { throw BacktestError.usage("--idle-timeout must be 0 or more") }
            // The queue's values given are checked with `--nats` or not, as the other options are.
            let nats: SweepQueue?
            if let url = queue.nats { nats = try queue.queue(url) } else { try queue.check(); nats = nil }
            let settings = try options.settings()
            // Outputs first: then bad data found making the plan fails the sweep as bad data
            // found later does.
            try OutputFile.check(
                [("--out", out), ("--report-html", reportHtml)],
                inputs: settings.inputPaths + [options.config].compactMap { $0 })
            if json, let reportHtml, OutputFile.isStandardOutput(reportHtml) {
                throw BacktestError.usage(
                    "--json prints the summary on standard output, where --report-html \(reportHtml) writes: drop one")
            }
            return (settings, ranking, nats)
        } catch {
            fail(error)
        }
    }

    /// Runs the jobs (on `threads` here, or on the workers of `nats`); or the exit for what
    /// stops them, removing the page an earlier sweep left (it would pass for this one's).
    func runJobs(
        _ plan: SweepPlan, output: SweepOutput?, ranking: SweepRanking, on nats: SweepQueue?, threads: Int,
        progress: ((Int, Int) -> Void)?
    ) -> Sweep.Outcome {
        do throws(BacktestError) {
            if let nats {
                return try nats.run(
                    plan, output: output, ranking: ranking, idleSeconds: idleTimeout, progress: progress,
                    stopRequested: { StopSignal.receivedName })
            }
            return try Sweep.run(
                plan, threads: threads, output: output, ranking: ranking, progress: progress,
                stopRequested: { StopSignal.receivedName })
        } catch {
            output?.discardIfUnused()
            fail(error, discarding: [reportHtml])
        }
    }

    /// The plan of the sweep and its `--out` file (read for the jobs already done), or the exit
    /// for what stops them (bad data found making the plan removes `--report-html`).
    func prepare(_ settings: BacktestSettings) -> (SweepPlan, SweepOutput?) {
        do throws(BacktestError) {
            let plan = try SweepPlan(
                settings, samples: samples, seed: seed, skippingInvalid: skipInvalid,
                stopRequested: { StopSignal.receivedName })
            for note in plan.base.notes { printError("note: \(note)") }
            if plan.skipped > 0 {
                printError(
                    "note: \(plan.skipped) of \(plan.skipped + plan.jobs.count) combinations left out (--skip-invalid), "
                        + "refused by the strategies: " + plan.skippedExamples.joined(separator: "; ")
                        + (plan.skipped > plan.skippedExamples.count ? "; …" : ""))
            }
            let names = plan.dimensions.map(\.name)
            return (
                plan,
                try out.map { (path) throws(BacktestError) in
                    try SweepOutput(path: path, parameterNames: names, stopRequested: { StopSignal.receivedName })
                }
            )
        } catch {
            fail(error, discarding: [reportHtml])
        }
    }

    /// Exits for `error`, removing `outputs` as a failed backtest does (`BacktestCommand.fail`).
    func fail(_ error: BacktestError, discarding outputs: [String?] = []) -> Never {
        BacktestCommand.fail(error, discarding: outputs)
    }

    static func showProgress(_ done: Int, _ total: Int, since start: ContinuousClock.Instant) {
        ProgressBar.show(total > 0 ? Double(done) / Double(total) : 1, label: "\(done)/\(total) jobs", since: start)
    }
}

/// Where a sweep's jobs go across machines (`sweep --nats`, `worker`).
struct SweepQueueOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The NATS JetStream server (URL) that carries the jobs: a sweep queues its jobs there for `peregrine worker`s, a worker takes jobs from there (docs/backtesting.md, \"Sweeps across machines\").",
            valueName: "url"))
    var nats: String?

    @Option(
        help: ArgumentHelp("Streams PREFIX_JOBS and PREFIX_RESULTS.", valueName: "prefix"))
    var queuePrefix = "PEREGRINE_SWEEP"

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "A job without word from its worker for this long is delivered again. The sweep sets it on the workers' queue; a worker uses it only when it makes the queue.",
            valueName: "seconds"))
    var ackWait = 30

    /// Refuses an `--ack-wait` or `--queue-prefix` no queue could take (with `--nats` or not:
    /// a value given is checked, as the other options are).
    func check() throws(BacktestError) {
        guard (1...86_400).contains(ackWait) else { throw .usage("--ack-wait must be from 1 to 86400 s") }
        guard let first = queuePrefix.first, first.isASCII, first.isLetter, queuePrefix.last != "_",
            !queuePrefix.contains("__"),
            queuePrefix.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
        else {
            throw .usage("--queue-prefix \(queuePrefix): use ASCII letters, digits and single _ inside, from a letter")
        }
    }

    /// The queue at `url`, its values checked (`check`).
    func queue(_ url: String) throws(BacktestError) -> SweepQueue {
        try check()
        guard NATSSettings.isServerURL(url) else {
            throw .usage("--nats \(url): give a server URL such as nats://127.0.0.1:4222")
        }
        var queue = SweepQueue(url: url)
        queue.prefix = queuePrefix
        queue.ackWaitMilliseconds = Int64(ackWait) * 1_000
        return queue
    }
}

/// `peregrine worker`: runs sweep jobs from NATS JetStream until stopped.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run sweep jobs from NATS JetStream (`peregrine sweep --nats`) until SIGINT or SIGTERM.",
        discussion: """
            Input files are found by the path the sweep gave and checked by SHA-256: a worker whose copy differs \
            gives the job back; it is offered again 5 s later (so an --idle-exit under 5 s may stop a worker before \
            it returns). Exit status: 0 stopped by a signal or --idle-exit; 1 NATS failed; 2 a \
            usage error.
            """)

    @OptionGroup var queue: SweepQueueOptions

    @Option(help: ArgumentHelp("This worker's name in logs and failures (default: host-pid).", valueName: "name"))
    var name: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Stop (exit 0) when no job came for this long (default: run until a signal).", valueName: "seconds"))
    var idleExit = 0

    func run() throws {
        guard let url = queue.nats else {
            printError("error: name the NATS server: --nats nats://HOST:PORT")
            Glibc.exit(Peregrine.Status.usage)
        }
        let sweepQueue: SweepQueue
        do {
            guard idleExit >= 0 else { throw BacktestError.usage("--idle-exit must be 0 or more") }
            sweepQueue = try queue.queue(url)
        } catch {
            printError("error: \(error)")
            Glibc.exit(Peregrine.Status.usage)
        }
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        let hostName = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let worker = name ?? "\(hostName)-\(getpid())"
        StopSignal.installHandlers()
        printError("worker \(worker): connecting to \(url) for jobs")
        do {
            let jobs = try sweepQueue.work(
                name: worker, idleSeconds: idleExit, shouldStop: { StopSignal.received != 0 },
                log: { printError("worker \(worker): \($0)") })
            printError(
                "worker \(worker): stopped \(StopSignal.receivedName.map { "by \($0)" } ?? "(idle)") after \(jobs) jobs"
            )
        } catch {
            printError("error: \(error)")
            Glibc.exit(Peregrine.Status.failed)
        }
    }
}
