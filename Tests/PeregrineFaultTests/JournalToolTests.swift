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

    /// A journal whose first segment was deleted and marked pruned: a snapshot older than the
    /// records kept is one recovery passes by, and `journal verify` says so instead of calling
    /// it a problem that stops `run` (which recovers from a newer one).
    @Test func verifyAgreesWithRunOnAPrunedJournal() throws {
        let journal = Faults.scratch("pruned")
        defer { Faults.remove(journal) }
        let run = try Faults.run([
            "run", "--journal", journal, "--segment-mb", "1", "--snapshot-every", "10000", "--duration", "1", "--rate",
            "40000", "--metrics-port", "0",
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
