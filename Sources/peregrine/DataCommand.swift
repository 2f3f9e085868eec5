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
        commandName: "data", abstract: "Tools for recorded market data.", subcommands: [Convert.self])

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

        @Option(help: ArgumentHelp("Price grid (default: detected from the files).", valueName: "decimal"))
        var tickSize: String?

        @Option(help: ArgumentHelp("Quantity grid (default: detected from the files).", valueName: "decimal"))
        var lotSize: String?

        func run() throws {
            do {
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
                // (The output may be an input: it is written under another name and renamed.)
                try OutputFile.check([("--output", output)], inputs: [])
                let terminal = isatty(2) != 0
                let started = ContinuousClock.now
                // SIGINT or SIGTERM stops the conversion within 65,536 events (exit 1): nothing
                // is written, and its partial file is removed.
                StopSignal.installHandlers()
                let outcome: DataConversion.Outcome
                do {
                    outcome = try DataConversion.convert(
                        specs, tickSize: tick, lotSize: lot, output: output,
                        progress: terminal ? { BacktestCommand.showProgress($0, since: started) } : nil,
                        stopRequested: { StopSignal.receivedName })
                } catch {
                    if terminal { printError("") }
                    throw error
                }
                if terminal { printError("") }
                for warning in outcome.warnings { printError("warning: \(warning)") }
                let seconds = (ContinuousClock.now - started).seconds
                print(
                    "converted \(outcome.events) events of "
                        + outcome.instruments.map { "\($0.symbol) (tick \($0.tickSize), lot \($0.lotSize))" }.joined(
                            separator: ", ")
                        + " into \(output) in \(BacktestHTMLReport.fixed(seconds, 3)) s")
            } catch let error as BacktestError {
                printError("error: \(error)")
                Glibc.exit(error.isUsage ? Peregrine.Status.usage : Peregrine.Status.failed)
            }
        }
    }
}
