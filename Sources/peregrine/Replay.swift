import ArgumentParser
import PeregrineEngine

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-run the logic over a journal and print its outputs and hashes.",
        discussion: """
            Reads DIR's segments in order (every record's checksum and sequence checked), runs the same logic as \
            `peregrine run` with the settings stored in DIR/engine-logic.conf, and prints the totals and the \
            `state hash:` and `output hash:` lines, which equal those of the run that wrote the journal. The journal \
            is not changed (a torn last record is reported, not cut).
            """)

    @Option(help: "The journal directory.")
    var journal: String

    @Option(help: "Print outputs (execution reports and bundles) from this sequence on (needs --print).")
    var from: Int64 = 0

    @Option(help: "Stop after this sequence (hashes are then those after it).")
    var to: Int64?

    @Flag(help: "Print every execution report and bundle, one per line.")
    var print = false

    @Flag(
        help:
            "Start from the newest usable snapshot instead of the first record (always, when older segments were pruned)."
    )
    var fromSnapshot = false

    func run() throws {
        let report: ReplaySummary
        do {
            let configuration = try JournalReplay.configuration(for: journal, base: EngineConfiguration())
            let recovered = try JournalReplay.recover(
                directory: journal, configuration: configuration, strategy: Peregrine.strategy,
                useSnapshot: fromSnapshot, through: to ?? .max, printFrom: from,
                printer: print ? { Swift.print($0) } : nil, repair: false)
            report = recovered.summary
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        Swift.print("=== peregrine replay: \(journal) ===")
        if let snapshot = report.snapshot {
            Swift.print("snapshot          \(snapshot.path) (from sequence \(snapshot.sequence))")
        }
        for skipped in report.skippedSnapshots { Swift.print("skipped snapshot  \(skipped)") }
        Swift.print(
            "records           \(report.records) in \(report.segments) segment(s); replayed \(report.replayed) "
                + "in \(decimal(report.seconds * 1_000)) ms (\(decimal(report.recordsPerSecond / 1e6))M events/s)")
        Swift.print(
            "outputs           \(report.outcomes) outcomes · \(report.bundles) bundles · \(report.reports) reports "
                + "(\(report.fills) fills)")
        if let torn = report.tornTail {
            Swift.print("torn tail         \(torn.bytes) bytes at byte \(torn.offset) of \(torn.path): \(torn.reason)")
        }
        Swift.print("last sequence     \(report.nextSequence - 1)")
        Swift.print("state hash: \(hexHash(report.stateHash))")
        Swift.print("output hash: \(hexHash(report.outputHash))")
    }

}
