import ArgumentParser
import PeregrineBacktest
import PeregrineEngine
import PeregrineModel
import PeregrineStrategy

#if canImport(Glibc)
    import Glibc
#endif

/// `peregrine backtest`: a strategy on recorded market data against the simulated venue.
struct BacktestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract: "Backtest strategies on recorded market data against a simulated venue (docs/backtesting.md).",
        discussion: """
            Prints a summary; --report-json writes every figure (byte-identical across runs outside "timing"). \
            Exit status: 0 done; 1 bad data (FILE:LINE named; no report is written) or an output that could not \
            be written; 2 a usage or configuration error.
            """)

    @OptionGroup var options: BacktestOptions

    @Option(help: ArgumentHelp("Write the JSON report here.", valueName: "file"))
    var reportJson: String?

    @Option(help: ArgumentHelp("Write every fill here (CSV).", valueName: "file"))
    var fillsCsv: String?

    @Option(help: ArgumentHelp("Write the sampled equity here (CSV).", valueName: "file"))
    var equityCsv: String?

    @Option(help: ArgumentHelp("Write a self-contained HTML report with plots here.", valueName: "file"))
    var reportHtml: String?

    @Flag(help: "Print the JSON report on standard output instead of the summary.")
    var json = false

    func run() throws {
        let settings: BacktestSettings
        do { settings = try options.settings() } catch { Self.fail(error) }
        let outputs = [
            ("--report-json", reportJson), ("--report-html", reportHtml), ("--fills-csv", fillsCsv),
            ("--equity-csv", equityCsv),
        ]
        // Outputs first (a usage error: nothing started): then bad data found making the plan
        // fails the run as bad data found later does, the outputs named removed.
        do { try OutputFile.check(outputs, inputs: settings.inputPaths + [options.config].compactMap { $0 }) } catch {
            Self.fail(error)
        }
        // The outputs an earlier run left: the run removes its CSVs itself when it fails, and
        // each of these is named then (`fail`).
        let earlier = Set(outputs.compactMap(\.1).filter(OutputFile.isRegularFile))
        let plan: BacktestPlan
        // SIGINT or SIGTERM from here on stops the run within 65,536 events: it fails (exit 1)
        // and, as any failed run, leaves no output behind (a killed run had left a fills CSV
        // cut short and an earlier run's page).
        StopSignal.installHandlers()
        do { plan = try BacktestPlan(settings, stopRequested: { StopSignal.receivedName }) } catch {
            Self.fail(error, discarding: outputs.map(\.1), earlier: earlier)
        }
        for note in plan.notes { printError("note: \(note)") }
        // An output on standard output (/dev/stdout, or the file it is redirected to) is all
        // that goes there; --json prints the report there, so no other output may.
        let onStandardOutput = outputs.first { $0.1.map(OutputFile.isStandardOutput) ?? false }
        if json, let (flag, path) = onStandardOutput, flag != "--report-json", let path {
            Self.fail(.usage("--json prints the report on standard output, where \(flag) \(path) writes: drop one"))
        }
        let terminal = isatty(2) != 0
        let started = ContinuousClock.now
        let result: BacktestResult
        // Every output is written whole before any is renamed into place (`StagedOutputs`): a
        // run killed while it makes its reports leaves none of them, not new CSVs beside an
        // earlier run's reports.
        let staging = StagedOutputs()
        do {
            result = try Backtest.run(
                plan,
                outputs: BacktestOutputFiles(
                    fillsCSV: fillsCsv, equityCSV: equityCsv, charts: reportHtml != nil, staging: staging),
                progress: terminal ? { Self.showProgress($0, since: started) } : nil,
                stopRequested: { StopSignal.receivedName })
        } catch {
            if terminal { printError("") }
            Self.fail(error, discarding: outputs.map(\.1), earlier: earlier)
        }
        if terminal { printError("") }
        // A run that simulated nothing did not do what was asked (a window past the data, an
        // empty file): it fails, with the other warnings said first and no report written.
        let nothingSimulated = result.nothingSimulated
        for warning in result.warnings where warning != nothingSimulated { printError("warning: \(warning)") }
        if let nothingSimulated {
            Self.fail(
                .data(
                    nothingSimulated
                        + (settings.from != nil || settings.to != nil
                            ? ": check --from and --to against the data's times" : "")),
                discarding: outputs.map(\.1), earlier: earlier)
        }
        let report = result.json
        do {
            if let reportJson {
                try OutputFile.write(report, to: reportJson, flag: "--report-json", staging: staging)
            }
            if let reportHtml {
                try OutputFile.write(
                    BacktestHTMLReport.render(result), to: reportHtml, flag: "--report-html", staging: staging)
            }
            try staging.publish()
        } catch {
            staging.abandon()
            Self.fail(error, discarding: outputs.map(\.1), earlier: earlier)
        }
        // With an output on standard output the summary goes to standard error.
        if onStandardOutput != nil {
            if !json { printError(Self.summary(result)) }
        } else if json {
            print(report, terminator: "")
        } else {
            print(Self.summary(result))
        }
        // The report or summary lost (a full disk, a device that refuses writes) fails the run
        // as any other output would: the files written with it go too.
        if let reason = Peregrine.standardOutputFailure() {
            Self.fail(
                .output("standard output could not be written: \(reason)"), discarding: outputs.map(\.1),
                earlier: earlier)
        }
    }

    /// Exits for `error`. A run that failed (exit 1, not a usage error) first removes the
    /// `outputs` it names that are regular files (reports, CSVs; through a link, the file is
    /// emptied): one an earlier run left there would pass for this run's. Never standard output
    /// or standard error redirected to a file (the message goes there), never a path not
    /// checked as an output (it could be an input). `earlier`: the outputs that were regular
    /// files before the run (one the run removed itself, a CSV, is named too).
    static func fail(_ error: BacktestError, discarding outputs: [String?] = [], earlier: Set<String> = [])
        -> Never
    {
        var notes: [String] = []
        if !error.isUsage {
            for case let path? in outputs where !OutputFile.isStandardStream(path) {
                let note = "the run failed, so nothing there passes for its output"
                if OutputFile.isRegularFile(path) {
                    OutputFile.discard(path)
                    // (Through a link, or in a directory this process cannot write, it is emptied.)
                    let removed = !OutputFile.isRegularFile(path) && !OutputFile.isLink(path)
                    notes.append("note: \(removed ? "removed" : "emptied") \(path): \(note)")
                } else if earlier.contains(path) {
                    notes.append("note: removed \(path): \(note)")
                }
            }
        }
        printError("error: \(error)")
        for note in notes { printError(note) }
        Glibc.exit(error.isUsage ? Peregrine.Status.usage : Peregrine.Status.failed)
    }

    /// Counts by reason for a summary line: "2 max-order-quantity · 1 kill-switch".
    static func counted(_ counts: [(Int, String)]) -> String {
        counts.map { "\($0.0) \($0.1)" }.joined(separator: " · ")
    }

    static func showProgress(_ fraction: Double, since start: ContinuousClock.Instant) {
        ProgressBar.show(fraction, label: "\(Int(ProgressBar.clamp(fraction) * 100))%", since: start)
    }

    /// A summary for people: the figures in the instruments' units and quote currency.
    static func summary(_ result: BacktestResult) -> String {
        let fixed = BacktestHTMLReport.fixed
        var lines = ["=== peregrine backtest ==="]
        func row(_ name: String, _ value: String) {
            lines.append(name.padding(toLength: 18, withPad: " ", startingAt: 0) + value)
        }
        let currency = result.currency ?? "(mixed currencies)"
        row("events", "\(result.events)" + (result.warmUpEvents > 0 ? " (+\(result.warmUpEvents) before --from)" : ""))
        row("strategies", result.strategies.joined(separator: "; "))
        for instrument in result.instruments {
            let definition = instrument.definition
            row(
                "instrument",
                "\(definition.symbol): \(instrument.trades) fills, volume \(instrument.volume), position "
                    + "\(instrument.position), realised \(instrument.realised), unrealised \(instrument.unrealised), "
                    + "fees \(instrument.fees), net P&L \(instrument.netPnL) \(definition.quoteCurrency)")
        }
        row("net P&L", (result.netPnL?.description ?? "-") + " \(currency) on capital \(result.capital)")
        row(
            "return",
            result.returnOnCapital.map(BacktestHTMLReport.percent) ?? "-"
        )
        // How many returns the ratios rest on: a few seconds annualised give ratios in the
        // thousands.
        let ratios = "\(fixed(result.sharpe, 3)) · \(fixed(result.sortino, 3))"
        row(
            "sharpe · sortino",
            result.sharpe.isFinite ? ratios + " " + BacktestHTMLReport.ratioBasis(result) : ratios)
        row(
            "max drawdown",
            result.maxDrawdown.map {
                "\($0) \(currency) · \(BacktestHTMLReport.percent(result.maxDrawdownPercent / 100)) of its peak "
                    + "(each the largest of its kind: they may be two falls)"
            } ?? "-")
        row(
            "orders",
            "\(result.venue.newOrders) new sent · fill ratio \(fixed(result.fillRatio * 100, 1))% · "
                + "\(result.venue.aggressiveFills) taker, \(result.venue.passiveFills) maker fills · win rate "
                + "\(fixed(result.winRate * 100, 1))% of \(result.closingFills) closing fills")
        if result.venue.rejected > 0 {
            row(
                "rejected",
                Self.counted(result.venue.rejections.map { ($0.count, "\($0.reason)") })
                    + " (commands the venue refused: new orders, replaces, cancels)")
        }
        let refusals = result.refusals
        if !refusals.riskRejections.isEmpty {
            row("risk rejects", Self.counted(refusals.riskRejections.map { ($0.count, "\($0.reason)") }))
        }
        if !refusals.refusals.isEmpty {
            row(
                "refused",
                Self.counted(refusals.refusals.map { ($0.count, "\($0.reason)") })
                    + " (commands refused before the venue)")
        }
        if let trip = refusals.killSwitchTrip { row("kill switch", "tripped at \(trip)") }
        row(
            "time",
            "in market \(fixed(result.timeInMarket * 100, 1))% · mean time in queue "
                + result.meanTimeInQueueText)
        row(
            "speed",
            "\(fixed(result.elapsedSeconds, 3)) s, "
                + "\(fixed(Double(result.events) / Swift.max(result.elapsedSeconds, 1e-9) / 1e6, 2))M events/s"
        )
        return lines.joined(separator: "\n")
    }

}

/// The flags `backtest` and `sweep` share: the data, the strategies and the simulation settings.
struct BacktestOptions: ParsableArguments {
    @Option(
        name: .customLong("data"),
        help: ArgumentHelp(
            "Market data (repeatable): FORMAT[@SYMBOL]:FILE[,FILE…], a format of `feed replay` or `events` (a converted file); .gz files are read directly.",
            valueName: "format:file"))
    var data: [String] = []

    @OptionGroup var strategy: StrategyOptions

    @Option(
        help: ArgumentHelp(
            "A TOML file: [backtest] settings, [[strategy]], [[instrument]], [[risk]].", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("Start (exchange time, UTC): earlier events only build the books.", valueName: "time"))
    var from: String?

    @Option(help: ArgumentHelp("End (exchange time, UTC), exclusive.", valueName: "time"))
    var to: String?

    // Options with a number read whatever follows: a maker rebate is a negative fee
    // (`--maker-fee-bps -0.5`), and a negative capital or latency is named as such, not taken
    // for a missing value.
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Feed latency: local (each row's receive time) or µs (default: none).", valueName: "local|µs"))
    var feedLatency: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Order entry latency in µs, or a CSV of timestamp,entry_us,response_us.", valueName: "µs|file"))
    var orderLatency: String?

    @Option(
        parsing: .unconditional, help: ArgumentHelp("Response latency in µs (venue → strategy).", valueName: "µs"))
    var responseLatency: String?

    @Option(help: ArgumentHelp("Queue model: risk-averse (default), power:N or log.", valueName: "model"))
    var queueModel: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Maker fee in basis points for instruments without reference data (negative: a rebate).",
            valueName: "bps"))
    var makerFeeBps: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Taker fee in basis points for instruments without reference data.", valueName: "bps"))
    var takerFeeBps: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Price grid for every instrument without reference data.", valueName: "decimal"))
    var tickSize: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Quantity grid for every instrument without reference data.", valueName: "decimal"))
    var lotSize: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Capital in the quote currency (for returns; default 100000).", valueName: "amount"))
    var capital: String?

    @Option(
        parsing: .unconditional, help: ArgumentHelp("Equity sampling interval, ms (default 1000).", valueName: "ms"))
    var equityIntervalMs: String?

    @Flag(
        help: ArgumentHelp(
            "Hash the data files on every run: by default a data file's SHA-256 is kept in $XDG_CACHE_HOME/peregrine/sha256 (or ~/.cache/…) by its device, inode, size and times, and not computed again."
        ))
    var noDigestCache = false

    /// The options that take one value: given twice, which one was meant is unknown
    /// (argument-parser would keep the last silently).
    static let singleValued = [
        "--config", "--from", "--to", "--feed-latency", "--order-latency", "--response-latency", "--queue-model",
        "--maker-fee-bps", "--taker-fee-bps", "--tick-size", "--lot-size", "--capital", "--equity-interval-ms",
        // The outputs (backtest's and sweep's): given twice, the first would go unwritten.
        "--report-json", "--report-html", "--fills-csv", "--equity-csv", "--out", "--rank-by",
    ]

    /// Refuses a single-valued option given more than once on `arguments`: each of `options` is
    /// one option's names (`["--output", "-o"]`), counted together.
    static func refuseRepeated(
        _ options: [[String]] = singleValued.map { [$0] }, arguments: [String] = CommandLine.arguments
    ) throws(BacktestError) {
        for names in options
        where arguments.count(where: { argument in
            names.contains { argument == $0 || argument.hasPrefix($0 + "=") }
        }) > 1 {
            throw .usage("\(names[0]) is given more than once: give it once")
        }
    }

    func settings() throws(BacktestError) -> BacktestSettings {
        try Self.refuseRepeated()
        var settings = BacktestSettings()
        if let config {
            let text: String
            do { text = try readConfigurationFile(config) } catch { throw .usage("\(error)") }
            let unused = try BacktestConfigurationFile.apply(text, path: config, to: &settings)
            if !unused.isEmpty {
                printError(
                    "warning: \(config): " + unused.map { "[\($0)]" }.joined(separator: ", ")
                        + " \(unused.count == 1 ? "is" : "are") checked but not used by a backtest (it reads [backtest], "
                        + "[[strategy]], [[instrument]] and [[risk]]; limit orders with [[risk]] max_open_orders)")
            }
        }
        for text in data { settings.data.append(try DataSpec(text)) }
        do { settings.strategies += try strategy.specs() } catch { throw .usage("\(error)") }
        let options: [(String, String?)] = [
            ("from", from), ("to", to), ("feed_latency", feedLatency), ("order_latency", orderLatency),
            ("response_latency", responseLatency), ("queue_model", queueModel), ("maker_fee_bps", makerFeeBps),
            ("taker_fee_bps", takerFeeBps), ("tick_size", tickSize), ("lot_size", lotSize), ("capital", capital),
            ("equity_interval_ms", equityIntervalMs),
        ]
        // Flags win over the file: latency flags replace a latency file the file named (both
        // constants, or a file of their own: one constant would leave the other latency unsaid).
        var replacedFile = false
        if orderLatency != nil || responseLatency != nil, case .measured = settings.orderLatency {
            settings.orderLatency = .none
            replacedFile = true
        }
        // A latency file as a flag gives both latencies: it replaces the configuration's numbers.
        if let orderLatency, UInt64(orderLatency) == nil, case .constant = settings.orderLatency {
            settings.orderLatency = .none
        }
        for (key, value) in options {
            guard let value else { continue }
            try BacktestOption.apply(key, value, to: &settings, origin: "--" + key.replacingUnderscores)
        }
        if replacedFile, orderLatency == nil || responseLatency == nil {
            guard case .measured = settings.orderLatency else {
                throw .usage(
                    "the configuration's latency file gives both latencies: give both --order-latency and "
                        + "--response-latency to replace it, or a latency file")
            }
        }
        settings.digestCache = noDigestCache ? nil : DigestCache.defaultDirectory().map { DigestCache(directory: $0) }
        return settings
    }
}

extension String {
    var replacingUnderscores: String { String(map { $0 == "_" ? "-" : $0 }) }
}
