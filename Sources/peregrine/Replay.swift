import ArgumentParser
import PeregrineBacktest
import PeregrineEngine
import PeregrineJournal
import PeregrineMempool
import PeregrineNATS
import PeregrineStrategy

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-run the logic over a journal and print its outputs and hashes.",
        discussion: """
            Reads DIR's segments in order (every record's checksum and sequence checked), runs the same logic as \
            `peregrine run` with the settings stored in DIR/engine-logic.conf, and prints the totals and the \
            `state hash:` and `output hash:` lines, which equal those of the run that wrote the journal. The journal \
            is not changed (a torn last record is reported, not cut).
            """)

    @Option(help: "The journal directory.")
    var journal: String?

    @Option(help: "Replay a JetStream journal stream at this NATS URL instead of a directory.")
    var nats: String?

    @Option(help: "With --nats: the shard whose stream to replay (K/N, as the run was given).")
    var shard: String = "0/1"

    @Option(help: "With --nats: the prefix the run was given (--nats-prefix; its streams are NAME_JOURNAL_K).")
    var natsPrefix: String?

    @Option(
        parsing: .unconditional,
        help: "Print outputs (execution reports and venue orders) from this sequence on (needs --print).")
    var from: Int64 = 0

    @Option(parsing: .unconditional, help: "Stop after this sequence (hashes are then those after it).")
    var to: Int64?

    @Flag(help: "Print every execution report and venue order, one per line.")
    var print = false

    @Flag(
        help:
            "Start from the newest usable snapshot instead of the first record (always, when older segments were pruned): one at or before --from with --print; none with --fills-out or --bundles-out, which need every record."
    )
    var fromSnapshot = false

    @Option(
        help:
            "A mempool journal: sign and write its bundles' eth_sendBundle requests here (a file, or - for standard output), as the run did."
    )
    var bundlesOut: String?

    @Option(help: "With --bundles-out: the signing key file the run used (default: the public development key).")
    var signingKeyFile: String?

    @Option(
        help:
            "Write every update of the strategies' orders (accepted, fills with fees, cancels…) here, as the run's --fills-out did: CSV for a .csv name, JSON lines otherwise."
    )
    var fillsOut: String?

    func validate() throws {
        guard (journal == nil) != (nats == nil) else { throw ValidationError("give --journal DIR or --nats URL") }
        guard from >= 0 else { throw ValidationError("--from \(from): give a sequence of 0 or more") }
        if let to, to < 0 { throw ValidationError("--to \(to): give a sequence of 0 or more") }
        guard from == 0 || print else { throw ValidationError("--from says where --print starts: give --print too") }
        if let to, from > to { throw ValidationError("--from \(from) is after --to \(to): nothing would print") }
        guard !(print && bundlesOut == "-") else {
            throw ValidationError("--print and --bundles-out - would both write standard output: give a file")
        }
        guard bundlesOut == nil || nats == nil else { throw ValidationError("--bundles-out replays a --journal DIR") }
        if nats != nil, NATSSettings.parseShard(shard) == nil { throw ValidationError("--shard must be K/N") }
        if let nats, !NATSSettings.isServerURL(nats) {
            throw ValidationError("--nats \(nats): give a server URL such as nats://127.0.0.1:4222")
        }
        if let natsPrefix {
            guard nats != nil else { throw ValidationError("--nats-prefix replays a --nats stream") }
            guard NATSSettings.isPrefix(natsPrefix) else {
                throw ValidationError("--nats-prefix \(natsPrefix): use letters, digits, - and _")
            }
        }
    }

    func run() throws {
        if let nats { return try replayStream(url: nats) }
        guard let journal else { return }
        if MempoolRun.startsWith(journal, MempoolRun.oldJournalMagic) {
            printError(
                "error: \(journal) is a pending-transaction journal written by an older peregrine (PGMEMPL1); replay it "
                    + "with the build that wrote it (`peregrine mempool run --source FILE`), or record the feed again "
                    + "with `peregrine mempool run --journal DIR`")
            throw ExitCode(2)
        }
        let report: ReplaySummary
        let configuration: EngineConfiguration
        do {
            // As `journal verify`: a directory without a segment holds nothing to replay.
            try requireJournalDirectory(journal)
            configuration = try JournalReplay.configuration(for: journal, base: EngineConfiguration())
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        // A request the journal cannot serve is refused before any output file is opened (an
        // existing file, the run's own export say, is left as it was).
        do {
            try JournalReplay.refuseUnservable(
                directory: journal, through: to ?? .max, printFrom: print ? from : nil, fillsOut: fillsOut != nil,
                bundlesOut: bundlesOut != nil)
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        // The output files this replay makes (removed if it fails; a file that was there is not).
        let created = [fillsOut, bundlesOut].compactMap { $0 }.filter { $0 != "-" && !FileIO.exists($0) }
        var writer: BundleRequestWriter? = nil
        if let bundlesOut {
            guard let settings = configuration.mempool else {
                printError(
                    "error: --bundles-out: \(journal) was not written by a mempool run (its settings have no mempool)")
                throw ExitCode(2)
            }
            do {
                writer = BundleRequestWriter(
                    signer: try MempoolRun.signer(keyFile: signingKeyFile), settings: settings,
                    delivery: try FileBundleDelivery(path: bundlesOut))
            } catch {
                printError("error: \(error)")
                throw ExitCode(2)
            }
        }
        let export: OrderEventWriter?
        do { export = try orderEventWriter(configuration) } catch {
            for path in created { OutputFile.discard(path) }
            throw error
        }
        do {
            let recovered = try JournalReplay.recover(
                directory: journal, configuration: configuration, custom: IdleStrategy.self,
                useSnapshot: fromSnapshot, through: to ?? .max, printFrom: from,
                printer: print ? { Swift.print($0) } : nil, repair: false, bundleSink: writer, orderEvents: export)
            report = recovered.summary
        } catch {
            printError("error: \(error)")
            // No export claims a replay that did not run.
            for path in created { OutputFile.discard(path) }
            throw ExitCode(1)
        }
        summarize(report, title: journal)
        if let records = report.otherRevision { warn(records) }
        try finish(export)
        if let writer {
            writer.finish()
            say(
                "bundle requests   \(writer.requests) written (\(writer.label)) · \(writer.backrunsSigned) back-runs signed"
                    + (writer.withoutVictimBytes > 0
                        ? " · \(writer.withoutVictimBytes) not sent: the source has no signed bytes for their victims"
                        : "")
                    + (writer.failures > 0 ? " · \(writer.failures) failed (first: \(writer.firstFailure ?? ""))" : ""))
            if writer.failures > 0 { throw ExitCode(1) }
        }
        if let lost = report.lostRecords {
            printError("error: the replay is incomplete: \(lost)")
            throw ExitCode(1)
        }
    }

    /// Replays shard K's journal stream with the logic settings stored in the stream.
    func replayStream(url: String) throws {
        guard let (index, count) = NATSSettings.parseShard(shard) else { throw ExitCode(2) }
        var settings = NATSSettings(url: url, shard: index, shardCount: count)
        if let natsPrefix { settings.usePrefix(natsPrefix) }
        let jetStream: JetStream
        var configuration = EngineConfiguration()
        let stored: LogicSettings?
        do {
            jetStream = try NATSConnection(NATSConnectionOptions(url: url, maxReconnects: 0)).jetStream()
            guard let state = try jetStream.streamState(settings.journalStream) else {
                throw EngineError.recovery(.noJournal("\(url) stream \(settings.journalStream)"))
            }
            stored = try state.description.map { (text) throws(EngineError) in
                try settings.storedLogic(description: text)
            }
            stored?.apply(to: &configuration)
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        let created = fillsOut.map { FileIO.exists($0) ? [] : [$0] } ?? []
        let export = try orderEventWriter(configuration)
        let report: ReplaySummary
        do {
            let recovered = try JetStreamJournalPlan.recover(
                jetStream: jetStream, settings: settings, configuration: configuration, custom: IdleStrategy.self,
                through: to ?? .max, printFrom: from, printer: print ? { Swift.print($0) } : nil,
                orderEvents: export, stored: stored)
            report = recovered.summary
        } catch {
            printError("error: \(error)")
            for path in created { OutputFile.discard(path) }
            throw ExitCode(1)
        }
        summarize(report, title: report.directory)
        if let records = report.otherRevision { warn(records) }
        try finish(export)
    }

    /// Says that `records`, written by another revision of the logic, were replayed with this
    /// build's.
    func warn(_ records: OtherRevisionRecords) {
        printError(
            "warning: \(records). The hashes above are this build's; the build that wrote them replays them as they ran"
        )
    }

    /// The `--fills-out` file's writer, for the strategies and instruments of `configuration`
    /// (the journal's); nil without the option. An unwritable path is a usage error.
    func orderEventWriter(_ configuration: EngineConfiguration) throws -> OrderEventWriter? {
        guard let fillsOut else { return nil }
        do {
            return try OrderEventWriter(
                path: fillsOut, definitions: configuration.resolvedInstruments,
                strategies: Array(zip(configuration.strategies.resolvedIDs, configuration.strategies.map(\.name))))
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
    }

    /// Writes out the `--fills-out` file and says how many updates it holds; exit 1 when it
    /// could not be written whole.
    func finish(_ export: OrderEventWriter?) throws {
        guard let export, let fillsOut else { return }
        export.flush()
        say(
            "orders and fills  \(export.lines) updates "
                + (export.failure.map { "for \(fillsOut), not all written: \($0)" } ?? "written to \(fillsOut)"))
        if let failure = export.failure {
            printError("error: \(failure)")
            throw ExitCode(1)
        }
    }

    func say(_ line: String) { printForPeople(line, bundlesOut: bundlesOut) }

    /// The summary, then a warning when `--to` is past the journal's end (the hashes are the
    /// end's, not `--to`'s).
    func summarize(_ report: ReplaySummary, title: String) {
        Self.printSummary(report, title: title, to: say)
        if let to, report.nextSequence - 1 < to {
            printError(
                "warning: --to \(to) is past the journal's last sequence \(report.nextSequence - 1): the hashes are those "
                    + "after it")
        }
    }

    static func printSummary(_ report: ReplaySummary, title: String, to say: (String) -> Void) {
        let print = say
        print("=== peregrine replay: \(title) ===")
        if let snapshot = report.snapshot {
            print("snapshot          \(snapshot.path) (from sequence \(snapshot.sequence))")
        }
        for skipped in report.skippedSnapshots { print("skipped snapshot  \(skipped)") }
        print(
            "records           \(report.records) in \(report.segments) segment(s) or frame(s); replayed \(report.replayed) "
                + "in \(decimal(report.seconds * 1_000)) ms (\(decimal(report.recordsPerSecond / 1e6))M events/s)")
        print(
            "outputs           \(report.outcomes) outcomes · \(report.orders) venue orders · \(report.reports) reports "
                + "(\(report.fills) fills)")
        if let torn = report.tornTail {
            print("torn tail         \(torn.bytes) bytes at byte \(torn.offset) of \(torn.path): \(torn.reason)")
        }
        print("last sequence     " + (report.nextSequence > 0 ? "\(report.nextSequence - 1)" : "none (no records)"))
        print("state hash: \(hexHash(report.stateHash))")
        print("output hash: \(hexHash(report.outputHash))")
    }

}
