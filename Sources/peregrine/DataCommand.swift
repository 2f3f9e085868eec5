import ArgumentParser
import PeregrineBacktest
import PeregrineEngine
import PeregrineModel

#if canImport(Glibc)
    import Glibc
#endif

/// `peregrine data`: tools for recorded market data.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Tools for recorded and synthetic market data.",
        subcommands: [Convert.self, Generate.self])

    /// Runs `body` (a conversion or a generation) with a progress bar on standard error when it
    /// is a terminal, and SIGINT or SIGTERM as its stop (within 65,536 events, exit 1: nothing
    /// is written, and its partial file is removed). `body` is given the progress, the stop and
    /// `announce`, which prints its summary (`text`, from the seconds so far) under the bar
    /// before the file is renamed into place: a summary standard output cannot take fails the
    /// command there (exit 1), and the file at `output` stays as it was.
    static func withProgress<Result>(
        output: String,
        _ body: (
            ((Double) -> Void)?, @escaping () -> String?,
            (_ text: (Double) throws(BacktestError) -> String) throws(BacktestError) -> Void
        ) throws(BacktestError) -> Result
    ) throws(BacktestError) -> Result {
        let terminal = isatty(2) != 0
        let started = ContinuousClock.now
        StopSignal.installHandlers()
        var barShown = terminal
        defer { if barShown { printError("") } }
        return try body(
            terminal ? { BacktestCommand.showProgress($0, since: started) } : nil, { StopSignal.receivedName },
            { (text) throws(BacktestError) in
                if barShown {
                    printError("")
                    barShown = false
                }
                print(try text((ContinuousClock.now - started).seconds))
                if let reason = Peregrine.standardOutputFailure() {
                    throw .output("standard output could not be written: \(reason); \(output) was left as it was")
                }
            })
    }

    /// The instruments of a converted or generated file, for `--json`: symbol and grids as
    /// decimal strings.
    static func instrumentsJSON(_ definitions: [InstrumentDefinition]) -> [[String: Any]] {
        definitions.map { ["symbol": $0.symbol, "tick_size": "\($0.tickSize)", "lot_size": "\($0.lotSize)"] }
    }

    /// `peregrine data convert`: text files into the binary event format a backtest maps.
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "convert",
            abstract:
                "Convert recorded files into Peregrine's binary event format, for backtesting many times without parsing text again (docs/backtesting.md).",
            discussion: "Exit status: 0 converted; 1 bad data (FILE:LINE named; nothing is left behind); 2 usage.")

        @Option(
            name: .customLong("data"),
            help: ArgumentHelp(
                "Input (repeatable): FORMAT[@SYMBOL]:FILE[,FILE…]; .gz read directly.", valueName: "format:file"))
        var data: [String] = []

        @Option(name: .shortAndLong, help: ArgumentHelp("The converted file to write.", valueName: "file"))
        var output: String

        @Option(
            parsing: .unconditional,
            help: ArgumentHelp("Price grid (default: detected from the files).", valueName: "decimal"))
        var tickSize: String?

        @Option(
            parsing: .unconditional,
            help: ArgumentHelp("Quantity grid (default: detected from the files).", valueName: "decimal"))
        var lotSize: String?

        @Flag(
            help:
                "Print one JSON object (events, instruments with their grids, output, warnings, elapsed_seconds) instead of the line."
        )
        var json = false

        func run() throws {
            do {
                try BacktestOptions.refuseRepeated([["--output", "-o"], ["--tick-size"], ["--lot-size"]])
                let specs = try data.map { (text) throws(BacktestError) in try DataSpec(text) }
                guard !specs.isEmpty else { throw BacktestError.usage("name the input: --data FORMAT:FILE") }
                var tick: Increment?
                var lot: Increment?
                if let tickSize {
                    guard let value = try? Increment(tickSize) else {
                        throw BacktestError.usage("--tick-size \(tickSize): use a decimal such as 0.01")
                    }
                    tick = value
                }
                if let lotSize {
                    guard let value = try? Increment(lotSize) else {
                        throw BacktestError.usage("--lot-size \(lotSize): use a decimal such as 0.001")
                    }
                    lot = value
                }
                // The output may be a converted input (it is written under another name and
                // renamed: a file converted again), never a text one, whose rows it would replace.
                guard output != "-" else {
                    throw BacktestError.usage(
                        "--output -: a converted file is binary and is not written to standard output: name a file")
                }
                try OutputFile.check(
                    [("--output", output)], inputs: specs.filter { $0.format != nil }.flatMap(\.paths))
                _ = try DataCommand.withProgress(output: output) {
                    progress, stopRequested, announce throws(BacktestError) in
                    try DataConversion.convert(
                        specs, tickSize: tick, lotSize: lot, output: output, progress: progress,
                        stopRequested: stopRequested,
                        announce: { (outcome) throws(BacktestError) in
                            for warning in outcome.warnings { printError("warning: \(warning)") }
                            try announce { (seconds) throws(BacktestError) in
                                try json
                                    ? JSONOutput.text([
                                        "events": outcome.events,
                                        "instruments": DataCommand.instrumentsJSON(outcome.instruments),
                                        "output": output, "warnings": outcome.warnings, "elapsed_seconds": seconds,
                                    ])
                                    : "converted \(outcome.events) events of "
                                        + outcome.instruments.map {
                                            "\($0.symbol) (tick \($0.tickSize), lot \($0.lotSize))"
                                        }.joined(separator: ", ")
                                        + " into \(output) in \(BacktestHTMLReport.fixed(seconds, 3)) s"
                            }
                        })
                }
            } catch let error as BacktestError {
                printError("error: \(error)")
                Glibc.exit(error.isUsage ? Peregrine.Status.usage : Peregrine.Status.failed)
            }
        }
    }

    /// `peregrine data generate`: a synthetic market (`SyntheticData`) as a converted file.
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract:
                "Write a synthetic market (L2 books and trades of SYN0, SYN1…) as a converted event file for backtests (docs/backtesting.md).",
            discussion:
                "The same settings give the same file on every machine. Exit status: 0 written; 1 failed or stopped (nothing is left behind); 2 usage."
        )

        @Option(parsing: .unconditional, help: "Events to write (at least; the last message is whole).")
        var events: UInt64 = 1_000_000

        @Option(parsing: .unconditional, help: "The random generator's seed.")
        var seed: UInt64 = 1

        @Option(parsing: .unconditional, help: "Instruments, 1 to 64 (SYN0, SYN1…).")
        var instruments: Int = 1

        @Option(parsing: .unconditional, help: ArgumentHelp("The instruments' price grid.", valueName: "decimal"))
        var tickSize: String = "0.01"

        @Option(
            parsing: .unconditional,
            help: ArgumentHelp("The instruments' quantity grid (sizes are 1 to 1,000 lots).", valueName: "decimal"))
        var lotSize: String = "0.001"

        @Option(help: ArgumentHelp("The first event's time (UTC).", valueName: "time"))
        var start: String = "2026-01-01T00:00:00Z"

        @Option(parsing: .unconditional, help: ArgumentHelp("The mean time between messages.", valueName: "µs"))
        var intervalUs: String = "100"

        @Option(parsing: .unconditional, help: ArgumentHelp("Where the best bids start.", valueName: "decimal"))
        var price: String = "100.00"

        @Option(parsing: .unconditional, help: "Levels a side, 1 to 1,000.")
        var depth: Int = 20

        @Option(name: .shortAndLong, help: ArgumentHelp("The converted file to write.", valueName: "file"))
        var output: String

        @Flag(
            help:
                "Print one JSON object (events, instruments with their grids, output, seed, elapsed_seconds) instead of the line."
        )
        var json = false

        func run() throws {
            do {
                try BacktestOptions.refuseRepeated(
                    [
                        ["--output", "-o"], ["--events"], ["--seed"], ["--instruments"], ["--tick-size"],
                        ["--lot-size"],
                        ["--start"], ["--interval-us"], ["--price"], ["--depth"],
                    ])
                var settings = SyntheticData.Settings()
                settings.events = events
                settings.seed = seed
                settings.instruments = instruments
                settings.depth = depth
                guard let start = UTCTime.parse(start) else {
                    throw BacktestError.usage(
                        "--start \(start): \(UTCTime.problemPrefix(start))use a UTC time such as "
                            + "2026-01-01T00:00:00Z")
                }
                settings.start = start
                guard let interval = try? Increment(intervalUs), let nanoseconds = Self.units(interval, decimals: 3)
                else {
                    throw BacktestError.usage(
                        "--interval-us \(intervalUs): use a positive number of µs, at most 3 decimals")
                }
                settings.interval = UInt64(nanoseconds)
                guard let tick = try? Increment(tickSize) else {
                    throw BacktestError.usage("--tick-size \(tickSize): use a positive decimal such as 0.01")
                }
                guard let lot = try? Increment(lotSize) else {
                    throw BacktestError.usage("--lot-size \(lotSize): use a positive decimal such as 0.001")
                }
                settings.tickSize = tick
                settings.lotSize = lot
                guard let ticks = (try? Price(price, tickSize: tick))?.ticks, ticks > 0 else {
                    throw BacktestError.usage(
                        "--price \(price): use a positive decimal on the \(tick) grid, at most 1,000,000,000,000 ticks")
                }
                settings.price = ticks
                let instruments = SyntheticData.instruments(settings)
                _ = try DataCommand.withProgress(output: output) {
                    progress, stopRequested, announce throws(BacktestError) in
                    try SyntheticData.generate(
                        settings, output: output, progress: progress, stopRequested: stopRequested,
                        announce: { (count) throws(BacktestError) in
                            try announce { (seconds) throws(BacktestError) in
                                try json
                                    ? JSONOutput.text([
                                        "events": count, "instruments": DataCommand.instrumentsJSON(instruments),
                                        "output": output, "seed": seed, "elapsed_seconds": seconds,
                                    ])
                                    : "generated \(count) events of "
                                        + instruments.map(\.symbol).joined(separator: ", ")
                                        + " (tick \(tick), lot \(lot)) into \(output) in "
                                        + "\(BacktestHTMLReport.fixed(seconds, 3)) s"
                            }
                        })
                }
            } catch let error as BacktestError {
                printError("error: \(error)")
                Glibc.exit(error.isUsage ? Peregrine.Status.usage : Peregrine.Status.failed)
            }
        }

        /// `value` in units of 10^-`decimals` (nil when it has more decimals, or does not fit).
        static func units(_ value: Increment, decimals: Int) -> Int64? {
            guard value.decimals <= decimals else { return nil }
            var units = value.units
            for _ in value.decimals..<decimals {
                let (scaled, overflow) = units.multipliedReportingOverflow(by: 10)
                if overflow { return nil }
                units = scaled
            }
            return units
        }
    }
}
