import Foundation
import PeregrineTestSupport
import Testing

/// Upgrading the engine: a journal an older build wrote (its settings file in format 6, with no
/// logic revision) is continued only where this build replays none of the old build's records,
/// unless the change is accepted; `replay` says when it replays records another revision wrote.
@Suite("Fault matrix: another logic revision", .serialized)
struct LogicRevisionTests {
    /// This build's logic revision (`LogicSettings.currentRevision`).
    static let revision = 4

    /// Rewrites `journal`'s settings file as a build before logic revisions wrote it (format 6,
    /// no revision entries, its checksum recomputed).
    static func makeOlderBuilds(_ journal: String) throws {
        let path = journal + "/engine-logic.conf"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasPrefix("format = 7\nlogic-revision = \(Self.revision)\nlogic-revision-since = 0\n"), "\(text)")
        let entries = text.split(separator: "\n")
            .filter { !$0.hasPrefix("logic-revision") && !$0.hasPrefix("checksum") }
            .map { $0 == "format = 7" ? "format = 6" : String($0) }
        let checksum = String(format: "%08x", Faults.crc32c(Array(entries.joined(separator: "\n").utf8)))
        try (entries.joined(separator: "\n") + "\nchecksum = \(checksum)\n").write(
            toFile: path, atomically: true, encoding: .utf8)
    }

    static func settings(_ journal: String) throws -> String {
        try String(contentsOfFile: journal + "/engine-logic.conf", encoding: .utf8)
    }

    /// The old build stopped cleanly (its end snapshot covers every record): this build goes on
    /// without a flag, and records where its records start; a full replay then says which
    /// records an earlier revision wrote, and a replay from the new snapshot says nothing.
    @Test func aCleanStopUpgradesWithoutAFlag() throws {
        let journal = try Faults.baseCopy("revision-clean")
        defer { Faults.remove(journal) }
        try Self.makeOlderBuilds(journal)
        let replayOld = try Faults.run(["replay", "--journal", journal])
        #expect(replayOld.status == 0, "\(replayOld.error)")
        #expect(
            replayOld.error.contains(
                "warning: records 0...50000 were written by a build before logic revisions were recorded "
                    + "(2026-12-07), and this build (logic revision \(Self.revision)) replays them with its own logic"),
            "\(replayOld.error)")
        let verifyOld = try Faults.run(["journal", "verify", journal])
        #expect(verifyOld.status == 0, "\(verifyOld.error)")
        let run = try Faults.recover(journal)
        #expect(run.status == 0, "\(run.error)")
        #expect(run.output.contains("snapshot \(journal)/snapshot-00000000000000050001.pgs + replayed 0 events"))
        #expect(!run.output.contains("logic change"))
        #expect(
            try Self.settings(journal).hasPrefix(
                "format = 7\nlogic-revision = \(Self.revision)\nlogic-revision-since = 50001\n"))
        let full = try Faults.run(["replay", "--journal", journal])
        #expect(full.status == 0)
        #expect(
            full.error.contains(
                "warning: records 0...50000 were written by an earlier logic revision (this build's, \(Self.revision), wrote the "
                    + "journal from record 50001 on), and this build (logic revision \(Self.revision)) replays them"),
            "\(full.error)")
        // (The logic did not change here, so the full replay still reproduces the run.)
        #expect(run.stateHash != nil && full.stateHash == run.stateHash && full.outputHash == run.outputHash)
        let fromSnapshot = try Faults.run(["replay", "--journal", journal, "--from-snapshot"])
        #expect(fromSnapshot.status == 0)
        #expect(!fromSnapshot.error.contains("warning"), "\(fromSnapshot.error)")
        #expect(fromSnapshot.stateHash == run.stateHash)
        // The snapshots from the take-over on lost: the older one's tail is the old build's, and
        // the old build no longer reads the settings, so the way named is a backup or the flag.
        for snapshot in try Faults.files(journal, suffix: ".pgs") where Faults.sequence(inName: snapshot) >= 50_001 {
            try FileManager.default.removeItem(atPath: snapshot)
        }
        let lost = try Faults.recover(journal)
        #expect(lost.status == 1, "\(lost.output)")
        #expect(
            lost.error.contains(
                "were written by an earlier logic revision (this build's, \(Self.revision), wrote the journal from record 50001 on)"
            ),
            "\(lost.error)")
        #expect(
            lost.error.contains(
                "This build took the journal over at record 50001, and the snapshots from there on are gone or "
                    + "unusable: restore one from a backup; or accept"), "\(lost.error)")
    }

    /// The old build's records after its newest snapshot (it crashed, or its end snapshot is
    /// gone) would be replayed with this build's logic: refused, naming them and what to do,
    /// with the settings file left as it was; accepted with `--accept-logic-change`, said so,
    /// and from then on the journal is this revision's from that snapshot.
    @Test func aTailAnOlderBuildWroteIsRefusedUnlessAccepted() throws {
        let journal = try Faults.baseCopy("revision-tail")
        defer { Faults.remove(journal) }
        try Self.makeOlderBuilds(journal)
        let snapshots = try Faults.files(journal, suffix: ".pgs").sorted()
        try FileManager.default.removeItem(atPath: try #require(snapshots.last))
        let older = try #require(snapshots.dropLast().last)
        let start = Faults.sequence(inName: older)
        let before = try Self.settings(journal)
        let refused = try Faults.recover(journal)
        #expect(refused.status == 1, "\(refused.output)")
        #expect(!refused.output.contains("state hash"))
        #expect(
            refused.error.contains(
                "\(journal): records \(start)...50000 were written by a build before logic revisions were recorded "
                    + "(2026-12-07), and this build (logic revision \(Self.revision)) replays them with its own logic, which may "
                    + "reach another state and outputs than the run that wrote them (after its newest usable "
                    + "snapshot, \(older)). Start the build that wrote them on this journal and stop it with SIGTERM"),
            "\(refused.error)")
        #expect(refused.error.contains("--accept-logic-change"))
        #expect(try Self.settings(journal) == before)
        let verify = try Faults.run(["journal", "verify", journal])
        #expect(verify.status == 1)
        #expect(
            verify.error.contains(
                "error: records \(start)...50000 were written by a build before logic revisions were recorded "
                    + "(2026-12-07)"), "\(verify.error)")
        let accepted = try Faults.recover(journal, ["--accept-logic-change"])
        #expect(accepted.status == 0, "\(accepted.error)")
        #expect(
            accepted.output.contains(
                "logic change      accepted (--accept-logic-change): records \(start)...50000 were written by a build "
                    + "before logic revisions were recorded"), "\(accepted.output)")
        #expect(accepted.error.contains("logic change accepted"))
        #expect(
            try Self.settings(journal).hasPrefix(
                "format = 7\nlogic-revision = \(Self.revision)\nlogic-revision-since = \(start)\n"))
        // The next start needs no flag, and a replay from the snapshot it started at is exact.
        let next = try Faults.recover(journal)
        #expect(next.status == 0, "\(next.error)")
        #expect(!next.output.contains("logic change"))
        let fromSnapshot = try Faults.run(["replay", "--journal", journal, "--from-snapshot"])
        #expect(fromSnapshot.status == 0 && !fromSnapshot.error.contains("warning"), "\(fromSnapshot.error)")
        #expect(next.stateHash != nil && fromSnapshot.stateHash == next.stateHash)
    }

    /// Lost records accepted, and a tail of the old build's behind them: refused for the
    /// revision before the snapshot beyond the journal's end is set aside (the next start still
    /// sees the loss); with both flags, both are accepted and said.
    @Test func theRevisionIsCheckedBeforeALossIsAccepted() throws {
        let journal = try Faults.baseCopy("revision-loss")
        defer { Faults.remove(journal) }
        try Self.makeOlderBuilds(journal)
        let last = try Faults.files(journal, suffix: ".pgj").sorted()[3]
        Faults.truncate(last, to: try Faults.size(last) - 1_000 * Faults.recordSize)
        let beyond = journal + "/snapshot-00000000000000050001.pgs"
        let refused = try Faults.recover(journal, ["--accept-journal-loss"])
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.error.contains("--accept-logic-change"), "\(refused.error)")
        #expect(FileManager.default.fileExists(atPath: beyond))
        #expect(!FileManager.default.fileExists(atPath: beyond + ".stale"))
        let both = try Faults.recover(journal, ["--accept-journal-loss", "--accept-logic-change"])
        #expect(both.status == 0, "\(both.error)")
        #expect(both.output.contains("journal loss      accepted (--accept-journal-loss)"))
        #expect(both.output.contains("logic change      accepted (--accept-logic-change)"))
        #expect(FileManager.default.fileExists(atPath: beyond + ".stale"))
    }
}
