import ArgumentParser
import PeregrineCodec
import PeregrineEngine
import PeregrineFeed
import PeregrineJournal
import PeregrineModel
import PeregrineStrategy

struct JournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal", abstract: "Check and look into a journal directory.",
        subcommands: [Verify.self, Inspect.self, Stats.self, MarkPruned.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check a journal directory; exit 1 on any problem.",
            discussion: """
                Checks every record's checksum and the sequence continuity, that no segment is missing (a journal \
                starting after sequence 0 must have been pruned by peregrine), the settings file, and every \
                snapshot against the journal: readable, of this build's format, within the journal's end, and taken \
                after the very record the journal holds at its sequence; and that `peregrine run` would not \
                replay, after the newest usable snapshot, records another logic revision wrote.
                """)

        @Argument(help: "The journal directory.")
        var directory: String

        func run() throws {
            do {
                try requireJournalDirectory(directory)
                let scan = try JournalReader.read(directory: directory)
                print(
                    "ok: \(scan.records) records"
                        + JournalFormat.rangeText(first: scan.firstSequence, next: scan.nextSequence) + ", "
                        + "\(scan.segments.count) segment(s), checksums and continuity verified")
                var problems = 0
                var stored: LogicSettings? = nil
                if let torn = scan.tornTail {
                    print(
                        "torn tail: \(torn.bytes) bytes at byte \(torn.offset) of \(torn.path) (\(torn.reason)); "
                            + "the next `peregrine run` cuts it off")
                    problems += 1
                }
                do {
                    stored = try LogicSettings.load(directory: directory)
                    if stored == nil {
                        printError(
                            "error: \(directory)/\(LogicSettings.fileName) is missing: the logic settings of this journal "
                                + "are unknown, so `peregrine run` and `peregrine replay` refuse it")
                        problems += 1
                    } else {
                        // Settings changed by hand in a file without its checksum line: the
                        // newest snapshot no longer fits them, and run and replay refuse them.
                        let configuration = try JournalReplay.configuration(
                            for: directory, base: EngineConfiguration())
                        try JournalReplay.checkSnapshotFits(
                            directory: directory, configuration: configuration, custom: IdleStrategy.self)
                    }
                } catch {
                    printError("error: \(error)")
                    problems += 1
                }
                // Each snapshot as recovery takes it (`JournalReplay.recover`): by its name, one
                // beyond the journal's end proves durable records lost; one within it is used
                // only if it reads whole, says its name's sequence and follows the journal's record.
                let skips =
                    "recovery skips it (an older snapshot or the first record is used instead); move the file out "
                    + "of the journal's directory to clear this"
                /// The newest snapshot recovery would start from.
                var newestUsable: Int64? = nil
                for snapshot in try SnapshotStore.list(directory: directory) {
                    if snapshot.sequence > scan.nextSequence {
                        printError(
                            "error: snapshot \(snapshot.path) is beyond the journal's end: records up to "
                                + "\(snapshot.sequence - 1) were durable when it was written, "
                                + JournalFormat.endText(next: scan.nextSequence)
                                + "; `peregrine run` refuses to start unless "
                                + "--accept-journal-loss (which sets the snapshot aside), and `peregrine replay` is "
                                + "incomplete")
                        problems += 1
                        continue
                    }
                    if snapshot.sequence > 0, snapshot.sequence - 1 < scan.firstSequence {
                        // Older than what pruning kept: recovery passes it by (not a problem).
                        print(
                            "snapshot \(snapshot.path): older than the journal's first record \(scan.firstSequence) "
                                + "(pruned before it): recovery does not use it")
                        continue
                    }
                    do {
                        let contents = try SnapshotStore.read(path: snapshot.path)
                        if let reason = try SnapshotStore.mismatch(
                            contents, named: snapshot.sequence, segments: scan.segments, journalEnd: scan.nextSequence)
                        {
                            let named = contents.sequence == snapshot.sequence ? " does not match the journal" : ""
                            printError("error: snapshot \(snapshot.path)\(named): \(reason); \(skips)")
                            problems += 1
                        } else {
                            print("snapshot \(snapshot.path): ok (records before \(contents.sequence))")
                            newestUsable = Swift.max(newestUsable ?? contents.sequence, contents.sequence)
                        }
                    } catch {
                        printError("error: \(error); \(skips)")
                        problems += 1
                    }
                }
                // Records a run would replay after its snapshot that another logic revision wrote.
                if let records = stored?.otherRevisionRecords(
                    from: newestUsable ?? scan.firstSequence, end: scan.nextSequence)
                {
                    printError(
                        "error: \(records); `peregrine run` refuses to replay them unless --accept-logic-change "
                            + "(docs/journal.md, \"Upgrading the engine\")")
                    problems += 1
                }
                if problems > 0 { throw ExitCode(1) }
            } catch let error as JournalError {
                printError("error: \(error)")
                throw ExitCode(1)
            }
        }
    }

    struct MarkPruned: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mark-pruned",
            abstract:
                "Record that a journal's first segments were removed by --prune (for journals pruned before 2026-11-29).",
            discussion: """
                A journal whose first segment starts after sequence 0 is read only if it holds journal.pruned, which \
                --prune writes before it deletes segments. Builds before 2026-11-29 pruned without writing it; this \
                writes it for such a journal, after checking that a snapshot covers its start. Do not use it on a \
                journal whose segments were lost: its start would then be accepted as pruned.
                """)

        @Argument(help: "The journal directory.")
        var directory: String

        func run() throws {
            do {
                try requireJournalDirectory(directory)
                let first = try JournalReader.segments(in: directory)[0].firstSequence
                if let marked = try PruneMarker.load(directory: directory) {
                    print("already marked: the journal holds records from \(marked)")
                    return
                }
                guard first > 0 else {
                    printError("error: \(directory) starts at sequence 0: it was not pruned, there is nothing to mark")
                    throw ExitCode(2)
                }
                guard try SnapshotStore.list(directory: directory).contains(where: { $0.sequence >= first }) else {
                    printError(
                        "error: no snapshot in \(directory) starts at or after sequence \(first): a pruned journal "
                            + "needs one to be recovered, so this is not one to mark")
                    throw ExitCode(1)
                }
                try PruneMarker.store(directory: directory, firstRetained: first)
                print("marked: \(directory) holds records from \(first) (\(PruneMarker.fileName))")
            } catch let error as JournalError {
                printError("error: \(error)")
                throw ExitCode(1)
            }
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "inspect", abstract: "Print records, one per line.")

        @Argument(help: "The journal directory.")
        var directory: String

        @Option(parsing: .unconditional, help: "First sequence to print.")
        var from: Int64 = 0

        @Option(parsing: .unconditional, help: "Most records to print.")
        var limit: Int = 100

        func validate() throws {
            guard limit >= 1 else { throw ValidationError("--limit must be 1 or more (got \(limit))") }
            guard from >= 0 else { throw ValidationError("--from must be a sequence, 0 or more (got \(from))") }
        }

        @Flag(
            help: """
                Print the events in their JSON input form (docs/nats.md), one per line, without sequence and time: \
                what `peregrine run --nats-input` takes on its input subject.
                """)
        var json = false

        func run() throws {
            var printed = 0
            do { try requireJournalDirectory(directory) } catch {
                printError("error: \(error)")
                throw ExitCode(1)
            }
            // The instruments' reference data from the journal's settings, for its units (ticks
            // and lots without it).
            let definitions = InstrumentUnits.byID(
                (try? JournalReplay.configuration(for: directory, base: EngineConfiguration()))?.resolvedInstruments
                    ?? [])
            var writer = JSONLinesWriter { print(String(decoding: $0, as: UTF8.self), terminator: "") }
            defer { writer.finish() }
            let scan: JournalScan
            do {
                scan = try JournalReader.read(directory: directory, from: from) { sequence, event in
                    if json {
                        EventJSON.write(event, to: &writer)
                    } else {
                        let units = InstrumentUnits(definitions[event.instrument])
                        print(
                            "\(sequence) t=\(event.timestamp) \(units.name(event.instrument)) \(describe(event.payload, units))"
                        )
                    }
                    printed += 1
                    return printed < limit
                }
            } catch {
                printError("error: \(error)")
                throw ExitCode(1)
            }
            if printed == 0 {
                printError(
                    "error: no records from sequence \(from): " + JournalFormat.endText(next: scan.nextSequence))
                throw ExitCode(1)
            }
        }

        func describe(_ payload: EventPayload, _ units: InstrumentUnits) -> String {
            func at(_ quantity: Quantity, _ price: Price) -> String {
                "\(units.quantity(quantity))@\(units.price(price))"
            }
            switch payload {
            case .levelUpdate(let update): return "level \(update.side) \(at(update.quantity, update.price))"
            case .trade(let trade):
                return "trade \(trade.aggressor) \(at(trade.quantity, trade.price)) id \(trade.tradeID)"
            case .quote(let quote):
                return "quote \(at(quote.bidQuantity, quote.bidPrice)) / \(at(quote.askQuantity, quote.askPrice))"
            case .transaction(let transaction):
                return
                    "transaction \(transaction.id) \(transaction.side) \(at(transaction.quantity, transaction.price))"
            case .timer(let timer):
                return timer.timerID == TimerFire.sessionEnd ? "timer session-end" : "timer \(timer.timerID)"
            case .order(let command):
                return
                    "order \(command.action) \(command.orderID) \(command.account) \(command.side) \(command.type) "
                    + "\(command.timeInForce) \(at(command.quantity, command.price)) stop \(units.price(command.stopPrice))"
            case .clearBook: return "clear book"
            case .recordChunk: return "record chunk"
            case .recordEnd(let end): return "record \(end.type) \(end.length) bytes crc32c \(end.checksum)"
            case .chainHead(let head): return "chain head \(head.blockNumber) base fee \(head.baseFeeWei) wei"
            case .admin(let command): return "admin \(command.action) request \(command.requestID)"
            }
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats", abstract: "Counts and sizes: records, kinds, segments, bytes.")

        @Argument(help: "The journal directory.")
        var directory: String

        func run() throws {
            do {
                try requireJournalDirectory(directory)
                let scan = try JournalReader.read(directory: directory)
                let bytes = scan.segments.reduce(0) { $0 + $1.byteCount }
                print("directory  \(directory)")
                print("segments   \(scan.segments.count) (\(bytes) bytes)")
                print(
                    "records    \(scan.records)"
                        + JournalFormat.rangeText(first: scan.firstSequence, next: scan.nextSequence))
                for kind in EventKind.allCases {
                    print("  \(kind): \(scan.recordsByKind[kind] ?? 0)")
                }
                for segment in scan.segments {
                    print("  \(segment.path): first sequence \(segment.firstSequence), \(segment.byteCount) bytes")
                }
                if let torn = scan.tornTail {
                    print("torn tail  \(torn.bytes) bytes at byte \(torn.offset) of \(torn.path)")
                }
            } catch {
                printError("error: \(error)")
                throw ExitCode(1)
            }
        }
    }
}

/// Refuses a path that is not a directory holding at least one journal segment.
func requireJournalDirectory(_ directory: String) throws(JournalError) {
    guard FileIO.isDirectory(directory) else {
        throw .notAJournal(
            path: directory, reason: FileIO.exists(directory) ? "not a directory" : "no such directory")
    }
    if try JournalReader.segments(in: directory).isEmpty {
        throw .notAJournal(path: directory, reason: "no journal segments (journal-*.pgj) in it")
    }
}
