import ArgumentParser
import PeregrineBuildInfo
import PeregrineEngine
import PeregrineModel
import PeregrineStrategy

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

@main
struct Peregrine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peregrine",
        abstract: "A low-latency, event-sourced trading engine core.",
        discussion: """
            Exit status, for every command: 0 the work was done; 1 the work failed or was incomplete (bad data, a \
            journal or network failure, a torn input, a run that was not lossless); 2 usage or configuration error \
            (nothing was started).
            """,
        version: "peregrine \(BuildInfo.version) (commit \(BuildInfo.commit))",
        subcommands: [
            Run.self, Replay.self, JournalCommand.self, Match.self, FeedCommand.self, ConfigCommand.self, Bench.self,
            MempoolCommand.self, NATSCommand.self, Kill.self, Venue.self, BacktestCommand.self, SweepCommand.self,
            WorkerCommand.self,
            DataCommand.self,
        ])

    /// Exit statuses of every command (README: "Exit status").
    enum Status {
        static let done: Int32 = 0
        static let failed: Int32 = 1
        static let usage: Int32 = 2
    }

    /// Parses and runs the command with the project's exit statuses: argument-parser errors
    /// (which it would end with 64) are usage errors, 2; help and version are 0.
    static func main() {
        // Inputs, journals and converted files are read through memory maps: one cut short
        // while it is read fails the command (exit 1, its partial outputs removed) rather than
        // crashing it.
        StopSignal.exitOnBusError()
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            finish(with: error)
        }
        do {
            try command.run()
        } catch {
            finish(with: error)
        }
        // The work is done only if what it printed reached standard output (a full disk, a
        // device that refuses writes): not exit 0 with the report lost.
        if let reason = standardOutputFailure() {
            printError("error: standard output could not be written: \(reason)")
            Glibc.exit(Status.failed)
        }
        Glibc.exit(Status.done)
    }

    /// Flushes standard output: nil when everything printed reached it, else why not.
    static func standardOutputFailure() -> String? {
        let flushed = fflush(stdout) == 0
        let reason = flushed ? "a write to it failed" : String(cString: strerror(errno))
        return !flushed || ferror(stdout) != 0 ? reason : nil
    }

    static func finish(with error: Error) -> Never {
        let code = exitCode(for: error)
        let message = fullMessage(for: error)
        if code == .success {
            // `peregrine` or a group (`peregrine journal`) without its subcommand gets the help,
            // as asked-for help does, but on standard error and as a usage error: nothing ran.
            let asked = CommandLine.arguments.dropFirst().contains {
                ["-h", "--help", "help", "--version"].contains($0)
            }
            if !asked {
                printError(message)
                Glibc.exit(Status.usage)
            }
            if !message.isEmpty { print(message) }
            Glibc.exit(Status.done)
        }
        // One spelling for every error (argument-parser's own begin with "Error:").
        if !message.isEmpty {
            printError(message.hasPrefix("Error: ") ? "error: " + message.dropFirst("Error: ".count) : message)
        }
        if code == .validationFailure { Glibc.exit(Status.usage) }
        Glibc.exit(code.rawValue == Status.usage ? Status.usage : (code.rawValue == 0 ? Status.done : Status.failed))
    }
}
