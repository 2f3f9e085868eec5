import Foundation
import PeregrineTestSupport
import Testing

/// Destructive faults: data that was durable is damaged or gone. Two outcomes only: a refusal
/// that names the file (and offset or records) and what to do, with exit status 1 or 2; or,
/// where no accepted data is lost, recovery with the replay's hashes and a warning. Never a
/// run that continues on a state its journal does not reproduce.
@Suite("Fault matrix: destructive faults", .serialized)
struct DestructiveFaultTests {
    static func segments(_ journal: String) throws -> [String] { try Faults.files(journal, suffix: ".pgj") }
    static func snapshots(_ journal: String) throws -> [String] { try Faults.files(journal, suffix: ".pgs") }

    /// Runs recovery on `journal` and `journal verify`; both must refuse with status 1 and
    /// name every fragment in `mentions`.
    static func expectRefusal(
        _ journal: String, mentions: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let run = try Faults.recover(journal)
        #expect(run.status == 1, "run should refuse: \(run.output)", sourceLocation: sourceLocation)
        #expect(!run.output.contains("state hash"), "a refused run must not start", sourceLocation: sourceLocation)
        for fragment in mentions {
            #expect(
                run.error.contains(fragment), "run error lacks '\(fragment)': \(run.error)",
                sourceLocation: sourceLocation)
        }
        let verify = try Faults.run(["journal", "verify", journal])
        #expect(verify.status == 1, "verify should fail: \(verify.output)", sourceLocation: sourceLocation)
    }

    @Test func theBaseJournalIsWhatTheseTestsAssume() throws {
        let journal = try Faults.base.get()
        // 1 MB segments hold about 13,100 records: four of them. Snapshots are due every 15,000
        // events (one is skipped while the previous write is in flight) and one is taken at shutdown.
        #expect(try Self.segments(journal).count == 4)
        #expect(try Self.snapshots(journal).count >= 2)
        #expect(try Self.snapshots(journal).last?.hasSuffix("snapshot-00000000000000050001.pgs") == true)
        let verify = try Faults.run(["journal", "verify", journal])
        #expect(verify.status == 0, "\(verify.error)")
        #expect(verify.output.hasPrefix("ok: 50001 records, sequences 0...50000, 4 segment(s)"))
    }

    /// `journal verify` judges each snapshot as recovery takes it: one named beyond the
    /// journal's end (a copy, or bytes that are no snapshot at all) proves durable records lost,
    /// and run refuses it; one within the journal whose header says another sequence than its
    /// name is skipped, and run goes on. (Verify had called the first ok, the second ok, and
    /// the third one recovery skips.)
    @Test func verifyJudgesEverySnapshotAsRecoveryDoes() throws {
        let journal = try Faults.baseCopy("verify-snapshots")
        defer { Faults.remove(journal) }
        let snapshots = try Self.snapshots(journal).sorted()
        let older = try #require(snapshots.first)
        func name(_ sequence: Int) -> String { journal + "/snapshot-" + String(format: "%020d", sequence) + ".pgs" }
        // Within the journal (50,001 records), named after a later sequence than its header's.
        let renamed = name(Faults.sequence(inName: older) + 1_000)
        try FileManager.default.moveItem(atPath: older, toPath: renamed)
        let skipped = try Faults.run(["journal", "verify", journal])
        #expect(skipped.status == 1)
        #expect(
            skipped.error.contains(
                "snapshot \(renamed): its header says sequence \(Faults.sequence(inName: older)), its name "
                    + "\(Faults.sequence(inName: renamed)); recovery skips it"), "\(skipped.error)")
        let goesOn = try Faults.recover(journal)
        #expect(goesOn.status == 0, "\(goesOn.error)")
        try FileManager.default.removeItem(atPath: renamed)
        // Beyond the end: a copy of a snapshot, or bytes that are none.
        for content in ["copy", "noise"] {
            let journal = try Faults.baseCopy("verify-beyond-\(content)")
            defer { Faults.remove(journal) }
            let beyond = journal + "/snapshot-" + String(format: "%020d", 99_999) + ".pgs"
            if content == "copy" {
                try FileManager.default.copyItem(
                    atPath: try #require(try Self.snapshots(journal).sorted().last), toPath: beyond)
            } else {
                try Data((0..<500).map { UInt8(truncatingIfNeeded: $0 &* 37) }).write(to: URL(fileURLWithPath: beyond))
            }
            let verify = try Faults.run(["journal", "verify", journal])
            #expect(verify.status == 1)
            #expect(
                verify.error.contains(
                    "snapshot \(beyond) is beyond the journal's end: records up to 99998 were durable when it was "
                        + "written, the journal ends at 50000; `peregrine run` refuses to start unless "
                        + "--accept-journal-loss"), "\(content): \(verify.error)")
            let run = try Faults.recover(journal)
            #expect(run.status == 1 && run.error.contains("records 50001...99998 were durable"), "\(run.error)")
        }
    }

    @Test func aFlippedByteMidSegmentIsRefusedWithFileAndOffset() throws {
        let journal = try Faults.baseCopy("flip")
        defer { Faults.remove(journal) }
        let segment = try Self.segments(journal)[1]
        let offset = Faults.headerSize + 5_000 * Faults.recordSize
        try Faults.flipByte(segment, at: offset + 40)
        // Recovery checks every record, not only those after the snapshot it starts from.
        try Self.expectRefusal(journal, mentions: ["\(segment): corrupt record at byte \(offset): checksum mismatch"])
        let replay = try Faults.run(["replay", "--journal", journal])
        #expect(replay.status == 1 && replay.error.contains("corrupt record at byte \(offset)"))
    }

    @Test func aDeletedFirstSegmentIsRefused() throws {
        let journal = try Faults.baseCopy("first")
        defer { Faults.remove(journal) }
        let segments = try Self.segments(journal)
        Faults.remove(segments[0])
        let second = Faults.sequence(inName: segments[1])
        try Self.expectRefusal(
            journal, mentions: ["\(segments[0]): records 0...\(second - 1) are missing", "never pruned"])
    }

    @Test func aDeletedMiddleSegmentIsRefused() throws {
        let journal = try Faults.baseCopy("middle")
        defer { Faults.remove(journal) }
        let segments = try Self.segments(journal)
        Faults.remove(segments[2])
        let (first, next) = (Faults.sequence(inName: segments[2]), Faults.sequence(inName: segments[3]))
        try Self.expectRefusal(journal, mentions: ["records \(first)...\(next - 1) are missing"])
    }

    @Test func aDeletedLastSegmentIsRefusedBecauseASnapshotCoversIt() throws {
        let journal = try Faults.baseCopy("last")
        defer { Faults.remove(journal) }
        let last = try Self.segments(journal)[3]
        Faults.remove(last)
        try Self.expectRefusal(
            journal,
            mentions: [
                "snapshot-00000000000000050001.pgs covers records up to 50000, but the journal ends at "
                    + "\(Faults.sequence(inName: last) - 1)",
                "the last segment was truncated or deleted", "--accept-journal-loss",
            ])
    }

    @Test func aLastSegmentTruncatedBeyondATornTailIsRefused() throws {
        let journal = try Faults.baseCopy("cut")
        defer { Faults.remove(journal) }
        let last = try Self.segments(journal)[3]
        Faults.truncate(last, to: try Faults.size(last) - 100 * Faults.recordSize - 43)
        try Self.expectRefusal(
            journal, mentions: ["records 49900...50000 were durable when the snapshot was taken", "torn record"])
    }

    @Test func aMiddleSegmentTruncatedToARecordBoundaryIsRefused() throws {
        let journal = try Faults.baseCopy("short")
        defer { Faults.remove(journal) }
        let segments = try Self.segments(journal)
        Faults.truncate(segments[1], to: try Faults.size(segments[1]) - 10 * Faults.recordSize)
        let next = Faults.sequence(inName: segments[2])
        try Self.expectRefusal(journal, mentions: ["records \(next - 10)...\(next - 1) are missing"])
    }

    @Test func acceptingTheLossRecoversFromAnOlderSnapshotAndSaysSo() throws {
        let journal = try Faults.baseCopy("accept")
        defer { Faults.remove(journal) }
        let last = try Self.segments(journal)[3]
        Faults.truncate(last, to: try Faults.size(last) - 1_000 * Faults.recordSize)
        // A replay says the records are gone and that it is incomplete.
        let incomplete = try Faults.run(["replay", "--journal", journal, "--from-snapshot"])
        #expect(incomplete.status == 1)
        #expect(incomplete.error.contains("the replay is incomplete: \(journal)/snapshot-00000000000000050001.pgs"))
        let run = try Faults.recover(journal, ["--accept-journal-loss"])
        #expect(run.status == 0, "\(run.error)")
        let older = try Self.snapshots(journal).dropLast().last ?? ""
        #expect(
            run.output.contains(
                "snapshot \(older) + replayed \(Faults.grouped(49_001 - Faults.sequence(inName: older))) events"))
        #expect(run.output.contains("journal loss      accepted (--accept-journal-loss)"))
        #expect(run.error.contains("journal loss accepted"))
        #expect(FileManager.default.fileExists(atPath: journal + "/snapshot-00000000000000050001.pgs.stale"))
        try Faults.expectReplayMatches(run, journal: journal)
        // The next start needs no flag: the stale snapshot is out of the way.
        let next = try Faults.recover(journal)
        #expect(next.status == 0, "\(next.error)")
        try Faults.expectReplayMatches(next, journal: journal)
        // The report says which counts are this run's and which the recovered logic's.
        let report = next.output.split(separator: "\n")
        #expect(report.contains { $0.hasPrefix("orders            ") && $0.hasSuffix(" (this run)") }, "\(next.output)")
        #expect(
            report.contains { $0.hasPrefix("strategy orders   ") && $0.hasSuffix(" (since the journal began)") },
            "\(next.output)")
        #expect(report.contains { $0.hasPrefix("books             ") && $0.hasSuffix(" (since the journal began)") })
        // A replay from the newest snapshot never picks the stale one.
        let fromSnapshot = try Faults.run(["replay", "--journal", journal, "--from-snapshot"])
        #expect(fromSnapshot.stateHash == next.stateHash && fromSnapshot.outputHash == next.outputHash)
    }

    @Test(arguments: ["garbage", "empty", "truncated", "other-version"])
    func aBadSnapshotWithTheJournalBehindItRecoversWithAWarning(damage: String) throws {
        let journal = try Faults.baseCopy("snapshot-\(damage)")
        defer { Faults.remove(journal) }
        let newest = try #require(try Self.snapshots(journal).last)
        let older = try Self.snapshots(journal).dropLast().last ?? ""
        switch damage {
        case "garbage": try Data(repeating: 0x41, count: 5_000).write(to: URL(fileURLWithPath: newest))
        case "empty": try Data().write(to: URL(fileURLWithPath: newest))
        case "truncated": Faults.truncate(newest, to: try Faults.size(newest) / 2)
        default: try Faults.setSnapshotVersion(newest, to: 9)
        }
        let run = try Faults.recover(journal)
        #expect(run.status == 0, "\(run.error)")
        #expect(run.output.contains("snapshot skipped  \(newest): "))
        #expect(
            run.output.contains(
                "snapshot \(older) + replayed \(Faults.grouped(50_001 - Faults.sequence(inName: older))) events"))
        #expect(run.error.contains("snapshot not used"))
        try Faults.expectReplayMatches(run, journal: journal)
    }

    @Test func aMissingSettingsFileIsRefused() throws {
        let journal = try Faults.baseCopy("settings")
        defer { Faults.remove(journal) }
        Faults.remove(journal + "/engine-logic.conf")
        try Self.expectRefusal(journal, mentions: ["no engine-logic.conf", "Restore \(journal)/engine-logic.conf"])
        #expect(!FileManager.default.fileExists(atPath: journal + "/engine-logic.conf"))
    }

    @Test func alteredSettingsAreRefused() throws {
        let journal = try Faults.baseCopy("altered")
        defer { Faults.remove(journal) }
        let path = journal + "/engine-logic.conf"
        let written = try String(contentsOfFile: path, encoding: .utf8)
        // Changed by hand: its checksum tells, and the run and replay refuse it.
        try written.replacingOccurrences(of: "order-flow = 10", with: "order-flow = 20").write(
            toFile: path, atomically: true, encoding: .utf8)
        let edited = try Faults.recover(journal, ["--order-flow", "20"])
        #expect(edited.status == 1, "\(edited.output)")
        #expect(
            edited.error.contains(
                "\(path) was changed after the journal was written (its checksum does not match its settings)"),
            "\(edited.error)")
        let editedReplay = try Faults.run(["replay", "--journal", journal])
        #expect(editedReplay.status == 1 && editedReplay.error.contains("was changed after the journal was written"))
        // A file without a checksum (written before 2026-12-02) is taken as it is: its settings
        // are compared with the run's.
        let text = written.split(separator: "\n").filter { !$0.hasPrefix("checksum = ") }.joined(separator: "\n") + "\n"
        #expect(text != written)
        try text.replacingOccurrences(of: "order-flow = 10", with: "order-flow = 20").write(
            toFile: path, atomically: true, encoding: .utf8)
        let run = try Faults.recover(journal, ["--order-flow", "10"])
        #expect(run.status == 1)
        #expect(
            run.error.contains("was written with other logic settings (order-flow = 20 in the journal, 10 in this run)")
        )
        try text.replacingOccurrences(of: "format = 7", with: "format = 9").write(
            toFile: path, atomically: true, encoding: .utf8)
        let future = try Faults.run(["replay", "--journal", journal])
        #expect(
            future.status == 1
                && future.error.contains(
                    "is settings format 9; this build reads formats 5 to 7: a newer peregrine wrote it")
        )
        // Other strategy parameters: a run that would append is refused, naming both.
        try text.replacingOccurrences(of: "half-spread=2", with: "half-spread=3").write(
            toFile: path, atomically: true, encoding: .utf8)
        let otherRun = try Faults.recover(journal, ["--order-flow", "10"])
        #expect(otherRun.status == 1, "\(otherRun.output)")
        #expect(
            otherRun.error.contains(
                "in the journal, 'market-maker id=1 instruments=4,5,6,7 account=1001 half-spread=2 "),
            "\(otherRun.error)")
        #expect(otherRun.error.contains("'market-maker id=1 instruments=4,5,6,7 account=1001 half-spread=3 "))
        // A strategy this build does not have: replay refuses it by name.
        try text.replacingOccurrences(of: "strategy.1 = market-maker", with: "strategy.1 = market-taker").write(
            toFile: path, atomically: true, encoding: .utf8)
        let unknown = try Faults.run(["replay", "--journal", journal])
        #expect(unknown.status == 1, "\(unknown.output)")
        #expect(
            unknown.error.contains("unknown strategy 'market-taker': use one of market-maker, "), "\(unknown.error)")
        // Format 1 (no format line) to 4 were written by builds with one hard-wired strategy that
        // kept no orders: refused, saying so.
        let formatOne = text.split(separator: "\n").filter { !$0.hasPrefix("format") }
        try (formatOne.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let old = try Faults.run(["replay", "--journal", journal])
        #expect(old.status == 1, "\(old.output)")
        #expect(
            old.error.contains(
                "is settings format 1; this build reads formats 5 to 7: an older peregrine wrote it (before strategies "
                    + "kept orders and positions"), "\(old.error)")
        // Emptied, or something else written over it: damaged, not an older build's; a directory
        // in its place cannot be read.
        for damage in ["", "hello world\n"] {
            try damage.write(toFile: path, atomically: true, encoding: .utf8)
            let damaged = try Faults.run(["replay", "--journal", journal])
            #expect(damaged.status == 1, "\(damaged.output)")
            #expect(
                damaged.error.contains(
                    "\(path) holds no logic settings (it is empty, or something else was written over it)"),
                "\(damaged.error)")
        }
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        let directory = try Faults.run(["replay", "--journal", journal])
        #expect(directory.status == 1, "\(directory.output)")
        #expect(directory.error.contains("cannot read \(path): Is a directory"), "\(directory.error)")
    }

    @Test func aSegmentOfAnotherFormatVersionIsRefusedByRunAndReplay() throws {
        let journal = try Faults.baseCopy("segment-version")
        defer { Faults.remove(journal) }
        let segment = try #require(try Faults.files(journal, suffix: ".pgj").first)
        let before = try Data(contentsOf: URL(fileURLWithPath: segment))
        try Faults.setFormatVersion(segment, to: 2)
        let expected =
            "\(segment): a journal segment of format version 2, written by a newer peregrine; this build reads "
            + "version 1"
        try Self.expectRefusal(journal, mentions: [expected])
        let replay = try Faults.run(["replay", "--journal", journal])
        #expect(replay.status == 1 && replay.error.contains(expected), "\(replay.error)")
        // Refused, never rewritten: the segment still holds every byte it held but the version.
        let after = try Data(contentsOf: URL(fileURLWithPath: segment))
        #expect(after.count == before.count && after[64...] == before[64...])
    }

    @Test func aReadOnlyJournalDirectoryFailsNamingIt() throws {
        let journal = try Faults.baseCopy("readonly")
        defer {
            chmod(journal, 0o755)
            Faults.remove(journal)
        }
        #expect(chmod(journal, 0o555) == 0)
        let run = try Faults.run(
            ["run", "--max", "--max-events", "20", "--order-flow", "10", "--journal", journal, "--metrics-port", "0"]
                + Faults.strategies, constraints: .init(unprivileged: true))
        #expect(run.status == 1, "\(run.output)")
        #expect(run.error.contains("\(journal)/") && run.error.contains("Permission denied"), "\(run.error)")
        #expect(!run.output.contains("lossless          yes"))
    }

    @Test func aFullDiskAtStartFailsAndLeavesNothingBehind() throws {
        let journal = Faults.scratch("full-start")
        defer { Faults.remove(journal) }
        let run = try Faults.run(
            ["run", "--rate", "50000", "--max-events", "20", "--journal", journal, "--metrics-port", "0"],
            constraints: .init(fileSizeLimitKiB: 0))
        #expect(run.status == 1)
        #expect(run.error.contains("engine-logic.conf.tmp failed: File too large"), "\(run.error)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: journal) == [])
        // With the settings in place, the first write is the segment's header: no empty segment.
        try FileManager.default.copyItem(
            atPath: try Faults.base.get() + "/engine-logic.conf", toPath: journal + "/engine-logic.conf")
        let second = try Faults.run(
            [
                "run", "--rate", "50000", "--max-events", "20", "--order-flow", "10", "--journal", journal,
                "--metrics-port", "0",
            ] + Faults.strategies,
            constraints: .init(fileSizeLimitKiB: 0))
        #expect(second.status == 1)
        #expect(second.error.contains("journal-00000000000000000000.pgj failed: File too large"), "\(second.error)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: journal) == ["engine-logic.conf"])
    }

    /// --prune over several runs: the journal starts after 0, says so in its marker, verifies,
    /// and every restart recovers to the hashes of a replay.
    @Test func aPrunedJournalRecoversAcrossRestartsAndVerifies() throws {
        let journal = Faults.scratch("prune")
        defer { Faults.remove(journal) }
        for round in 0..<3 {
            // After the first run, runs shorter than the snapshot interval: each starts a segment
            // at the previous shutdown snapshot's sequence and prunes once, at its own shutdown,
            // keeping that snapshot, whose last record is in the segment before.
            let run = try Faults.run(
                [
                    "run", "--max", "--max-events", round == 0 ? "30000" : "3000", "--order-flow", "10", "--segment-mb",
                    "1",
                    "--snapshot-every", "5000", "--prune", "--journal", journal, "--metrics-port", "0", "--wait",
                    "yield",
                ] + Faults.strategies)
            #expect(run.status == 0, "round \(round): \(run.error)")
            let verify = try Faults.run(["journal", "verify", journal])
            #expect(verify.status == 0, "round \(round): \(verify.output) \(verify.error)")
            #expect(!verify.error.contains("error"), "round \(round): \(verify.error)")
            try Faults.expectReplayMatches(run, journal: journal)
        }
        let first = Faults.sequence(inName: try #require(try Self.segments(journal).first))
        #expect(first > 0)
        let marker = try String(contentsOfFile: journal + "/journal.pruned", encoding: .utf8)
        #expect(marker == "peregrine-journal-prune 1\nfirst-retained-sequence \(first)\n")
        #expect(try Self.snapshots(journal).count == 2)
    }

    @Test func aFullDiskMidRunStopsTheRunAndTheJournalRecovers() throws {
        let journal = Faults.scratch("full-run")
        defer { Faults.remove(journal) }
        let run = try Faults.run(
            [
                "run", "--rate", "100000", "--duration", "5", "--order-flow", "10", "--journal", journal,
                "--metrics-port", "0", "--wait", "yield",
            ] + Faults.strategies,
            constraints: .init(fileSizeLimitKiB: 200))
        #expect(run.status == 1)
        #expect(
            run.output.contains("lossless          NO: the journal failed (write \(journal)/journal-"), "\(run.output)")
        #expect(run.output.contains("File too large"))
        #expect(try Faults.files(journal, suffix: ".tmp").isEmpty)
        let recovered = try Faults.recover(journal)
        #expect(recovered.status == 0, "\(recovered.error)")
        try Faults.expectReplayMatches(recovered, journal: journal)
    }
}
