import Foundation
import PeregrineTestSupport
import Testing

/// `journal inspect` and `replay` on a journal a real run wrote: figures in the instruments'
/// units, and requests for records the journal does not hold said, not answered with nothing.
struct JournalToolTests {
    @Test func inspectShowsUnitsAndRangesBeyondTheJournalAreSaid() throws {
        let journal = Faults.scratch("inspect")
        defer { Faults.remove(journal) }
        let run = try Faults.run(
            ["run", "--journal", journal, "--duration", "1", "--rate", "20000", "--metrics-port", "0"]
                + Faults.strategies)
        #expect(run.status == 0, "\(run.error)")
        let inspect = try Faults.run(["journal", "inspect", journal, "--limit", "50"])
        #expect(inspect.status == 0, "\(inspect.error)")
        let lines = inspect.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 50)
        // Synthetic instruments: tick 0.01, lot 0.001; named by their symbols.
        let level = /^\d+ t=\d+ SYN\d+ level (buy|sell) \d+\.\d{3}@\d+\.\d{2}$/
        #expect(lines.contains { $0.wholeMatch(of: level) != nil }, "\(lines.prefix(5))")
        #expect(!lines.contains { $0.contains("l@") || $0.contains("t stop") }, "\(lines.prefix(5))")
        let beyond = try Faults.run(["journal", "inspect", journal, "--from", "99999999"])
        #expect(beyond.status == 1 && beyond.error.contains("no records from sequence 99999999: the journal ends at"))
        let backwards = try Faults.run(["replay", "--journal", journal, "--print", "--from", "100", "--to", "50"])
        #expect(backwards.status == 2 && backwards.error.contains("--from 100 is after --to 50"))
    }

    /// A replay leaves out no output it was asked for (found by a review, helper-138: from a
    /// snapshot it started at the newest, and printed or exported nothing before it, with exit
    /// 0). `--from-snapshot --print --from X` starts at a snapshot at or before X and prints
    /// what a replay from the first record prints; `--fills-out` replays every record. A pruned
    /// journal that cannot give what is asked is refused, naming what would do, and leaves no
    /// file.
    @Test func aReplayFromASnapshotLeavesOutNoOutputAskedFor() throws {
        let journal = Faults.scratch("replay-outputs")
        defer { Faults.remove(journal) }
        let run = try Faults.run(
            [
                "run", "--journal", journal, "--snapshot-every", "10000", "--max", "--max-events", "40000",
                "--duration", "0", "--order-flow", "10", "--metrics-port", "0",
            ] + Faults.strategies)
        #expect(run.status == 0, "\(run.error)")
        let whole = try Faults.run(["replay", "--journal", journal, "--print", "--from", "25000", "--to", "32000"])
        let fromSnapshot = try Faults.run([
            "replay", "--journal", journal, "--from-snapshot", "--print", "--from", "25000", "--to", "32000",
        ])
        #expect(whole.status == 0 && fromSnapshot.status == 0, "\(fromSnapshot.error)")
        func printed(_ output: String) -> [Substring] {
            output.split(separator: "\n").filter { $0.hasPrefix("report ") || $0.hasPrefix("order ") }
        }
        #expect(printed(whole.output).count > 100)
        #expect(printed(fromSnapshot.output) == printed(whole.output))
        // A snapshot at or before 25,000, after the first (snapshots are taken at a batch's end
        // once 10,000 records have passed).
        let used = try #require(fromSnapshot.line(startingWith: "snapshot "), "\(fromSnapshot.output)")
        let start = try #require(Int64(used.split(separator: " ").last?.dropLast() ?? ""), "\(used)")
        #expect(start > 10_000 && start <= 25_000, "\(used)")
        #expect(
            fromSnapshot.line(startingWith: "state hash:") == whole.line(startingWith: "state hash:")
                && whole.line(startingWith: "state hash:") != nil)
        let exported = journal + "-fills.csv"
        let exportedWhole = journal + "-fills-whole.csv"
        defer {
            Faults.remove(exported)
            Faults.remove(exportedWhole)
        }
        let snapshotExport = try Faults.run([
            "replay", "--journal", journal, "--from-snapshot", "--fills-out", exported,
        ])
        let wholeExport = try Faults.run(["replay", "--journal", journal, "--fills-out", exportedWhole])
        #expect(snapshotExport.status == 0 && wholeExport.status == 0, "\(snapshotExport.error)")
        #expect(snapshotExport.line(startingWith: "snapshot ") == nil, "\(snapshotExport.output)")
        let lines = try String(contentsOfFile: exported, encoding: .utf8)
        #expect(lines.split(separator: "\n").count > 100)
        #expect(lines == (try String(contentsOfFile: exportedWhole, encoding: .utf8)))

        // Pruned: the replay must start at a snapshot.
        let pruned = Faults.scratch("replay-pruned")
        defer { Faults.remove(pruned) }
        let prunedRun = try Faults.run(
            [
                "run", "--journal", pruned, "--snapshot-every", "10000", "--prune", "--segment-mb", "1", "--max",
                "--max-events", "60000", "--duration", "0", "--order-flow", "10", "--metrics-port", "0",
            ] + Faults.strategies)
        #expect(prunedRun.status == 0, "\(prunedRun.error)")
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: pruned).filter { $0.hasSuffix(".pgs") }
            .compactMap { Int64($0.drop { !$0.isNumber }.prefix { $0.isNumber }) }.sorted()
        let oldest = try #require(snapshots.first)
        // Refused before the file is opened: one that was there (the run's own export, say) is
        // left as it was (review helper-142: it had been emptied, then removed), and none is made.
        try "the run's export\n".write(toFile: exported, atomically: true, encoding: .utf8)
        let refusedExport = try Faults.run(["replay", "--journal", pruned, "--fills-out", exported])
        #expect(refusedExport.status == 1)
        #expect(
            refusedExport.error.contains("was pruned: it holds the records from ")
                && refusedExport.error.contains("--fills-out writes every order update from the journal's first record"),
            "\(refusedExport.error)")
        #expect(try String(contentsOfFile: exported, encoding: .utf8) == "the run's export\n")
        let fresh = journal + "-fresh.csv"
        let refusedFresh = try Faults.run(["replay", "--journal", pruned, "--fills-out", fresh])
        #expect(refusedFresh.status == 1 && !FileManager.default.fileExists(atPath: fresh))
        let early = try Faults.run(["replay", "--journal", pruned, "--print", "--from", "\(oldest - 1)"])
        #expect(early.status == 1 && early.error.contains("give --from \(oldest) or later"), "\(early.error)")
        let atOldest = try Faults.run(["replay", "--journal", pruned, "--print", "--from", "\(oldest)"])
        #expect(atOldest.status == 0, "\(atOldest.error)")
        #expect(atOldest.line(startingWith: "snapshot ")?.hasSuffix("(from sequence \(oldest))") == true)
        let short = try Faults.run(["replay", "--journal", pruned, "--to", "\(oldest - 2)"])
        #expect(short.status == 1 && short.error.contains("give --to \(oldest - 1) or later"), "\(short.error)")
    }

    /// A journal whose first segment was deleted and marked pruned: a snapshot older than the
    /// records kept is one recovery passes by, and `journal verify` says so instead of calling
    /// it a problem that stops `run` (which recovers from a newer one).
    @Test func verifyAgreesWithRunOnAPrunedJournal() throws {
        let journal = Faults.scratch("pruned")
        defer { Faults.remove(journal) }
        let run = try Faults.run([
            "run", "--journal", journal, "--segment-mb", "1", "--snapshot-every", "10000", "--max", "--max-events",
            "40000", "--duration", "0", "--metrics-port", "0",
        ])
        #expect(run.status == 0, "\(run.error)")
        let segments = try FileManager.default.contentsOfDirectory(atPath: journal).filter { $0.hasPrefix("journal-") }
            .sorted()
        #expect(segments.count >= 3)
        try FileManager.default.removeItem(atPath: journal + "/" + segments[0])
        let kept = try #require(Int(segments[1].dropFirst("journal-".count).prefix(20)))
        #expect(try Faults.run(["journal", "mark-pruned", journal]).status == 0)
        let verify = try Faults.run(["journal", "verify", journal])
        #expect(verify.status == 0, "\(verify.error)")
        #expect(
            verify.output.contains(
                ".pgs: older than the journal's first record \(kept) (pruned before it): recovery does not use it"),
            "\(verify.output)")
        let restart = try Faults.run([
            "run", "--journal", journal, "--duration", "1", "--rate", "1000", "--metrics-port", "0",
        ])
        #expect(restart.status == 0, "\(restart.error)")
    }

    /// A settings file without its checksum line (as earlier builds wrote it) changed by hand:
    /// the journal's snapshots were taken under other settings, and `run`, `replay` (from a
    /// snapshot or the first record) and `journal verify` refuse them, whatever the change: the
    /// shape of the state (instruments) or only what the logic does with it (the order flow's
    /// share). They had replayed another history with exit 0.
    @Test(arguments: [("instruments = 4", "instruments = 2"), ("order-flow = 0", "order-flow = 5")])
    func snapshotsThatDoNotFitTheSettingsRefuseThem(change: (from: String, to: String)) throws {
        let journal = Faults.scratch("misfit")
        defer { Faults.remove(journal) }
        let run = try Faults.run([
            "run", "--journal", journal, "--snapshot-every", "10000", "--duration", "1", "--rate", "20000",
            "--metrics-port", "0",
        ])
        #expect(run.status == 0, "\(run.error)")
        let settings = journal + "/engine-logic.conf"
        let text = try String(contentsOfFile: settings, encoding: .utf8)
        #expect(text.contains(change.from + "\n"))
        let edited = text.split(separator: "\n").filter { !$0.hasPrefix("checksum") }.joined(separator: "\n")
            .replacingOccurrences(of: change.from, with: change.to)
        try (edited + "\n").write(toFile: settings, atomically: true, encoding: .utf8)
        let expected = "does not fit them: it was taken under other logic settings (their checksum "
        let replay = try Faults.run(["replay", "--journal", journal, "--from-snapshot"])
        #expect(replay.status == 1 && replay.error.contains(expected), "\(replay.error)")
        // From the first record too (the snapshots unused), and `journal verify` says so.
        let fromStart = try Faults.run(["replay", "--journal", journal])
        #expect(fromStart.status == 1 && fromStart.error.contains(expected), "\(fromStart.error)")
        let verify = try Faults.run(["journal", "verify", journal])
        #expect(verify.status == 1 && verify.error.contains(expected), "\(verify.error)")
        // A run with the edited settings (so they agree with the file) meets the snapshots.
        let flag = change.to.split(separator: " ")
        let again = try Faults.run([
            "run", "--journal", journal, "--duration", "1", "--metrics-port", "0", "--\(flag[0])", String(flag[2]),
        ])
        #expect(again.status == 1 && again.error.contains(expected), "\(again.error)")
    }

    /// A journal whose only segment holds no record yet (a crash right after it began): every
    /// tool says so, and none prints a sequence of -1.
    @Test func aJournalWithoutRecordsIsSaidToHaveNone() throws {
        let journal = Faults.scratch("empty")
        defer { Faults.remove(journal) }
        let run = try Faults.run([
            "run", "--journal", journal, "--duration", "0.2", "--rate", "100", "--metrics-port", "0",
        ])
        #expect(run.status == 0, "\(run.error)")
        for file in try FileManager.default.contentsOfDirectory(atPath: journal) {
            if file.hasSuffix(".pgs") { try FileManager.default.removeItem(atPath: journal + "/" + file) }
        }
        let segment = journal + "/journal-00000000000000000000.pgj"
        #expect(truncate(segment, off_t(Faults.headerSize)) == 0)
        let verify = try Faults.run(["journal", "verify", journal])
        #expect(verify.status == 0 && verify.output.hasPrefix("ok: 0 records, 1 segment(s),"), "\(verify.output)")
        let stats = try Faults.run(["journal", "stats", journal])
        #expect(stats.output.contains("records    0\n"), "\(stats.output)")
        let replay = try Faults.run(["replay", "--journal", journal])
        #expect(replay.output.contains("last sequence     none (no records)"), "\(replay.output)")
        // (The directory's name, a random UUID, may hold "-1" itself.)
        for result in [verify, stats, replay] {
            let text = (result.output + result.error).replacingOccurrences(of: journal, with: "JOURNAL")
            #expect(!text.contains("-1"), "\(text)")
        }
    }
}
