import PeregrineCore
import PeregrineJournal
import PeregrineModel
import PeregrineStrategy
import Synchronization

/// The embedded journal: segment files in a directory, with the logic settings beside them
/// (`engine-logic.conf`) and snapshots. Durable means written for the `none` and `batch`
/// policies (a background thread syncs for `batch`) and synced for `every`.
public struct FileJournalPlan: JournalPlan {
    public var directory: String
    /// The directory's writer lock (`JournalDirectoryLock`), taken by `recover` (or `open`) and
    /// held while any copy of the plan lives: a second run on the directory is refused.
    let lock = LockHolder()

    public init(directory: String) { self.directory = directory }

    /// Holds a plan's lock once taken (copies of the plan share it), and the settings `open`
    /// stores when recovery took over another revision's journal.
    final class LockHolder: Sendable {
        let held = Mutex<JournalDirectoryLock?>(nil)
        /// This revision's settings, with the record it holds the journal exactly from: written
        /// by `open`, when this build starts appending (a start that fails before leaves the
        /// file as the old build wrote it).
        let takeOver = Mutex<LogicSettings?>(nil)

        func take(_ directory: String) throws(EngineError) {
            do {
                try held.withLock { (lock) throws(JournalError) in
                    if lock == nil { lock = try JournalDirectoryLock(directory: directory) }
                }
            } catch {
                throw .journal(error)
            }
        }
    }

    public func recover<S: Strategy>(configuration: EngineConfiguration, custom: S.Type) throws(EngineError)
        -> Recovered<S>?
    {
        try lock.take(directory)
        let settings = try LogicSettings(configuration, custom: custom)
        // (Recovery leaves the file as it is: the take-over below is written by `open`.)
        let stored = try LogicSettings.load(directory: directory)
        if let stored {
            if let difference = settings.difference(from: stored) {
                throw .settings(.differs(origin: directory, difference: difference))
            }
        } else {
            try refuseHistoryWithoutSettings()
            try settings.store(directory: directory)
        }
        let recovered = try JournalReplay.recover(
            directory: directory, configuration: configuration, custom: custom, useSnapshot: true,
            repair: true, acceptLoss: configuration.acceptJournalLoss,
            acceptLogicChange: configuration.acceptLogicChange)
        // Records from where this recovery started on are this revision's once it appends (it
        // replayed them, or wrote none of them yet): a later start from there is exact.
        let start = recovered.summary.snapshot?.sequence ?? 0
        if let stored, stored.exactFrom > start {
            var upgraded = settings
            upgraded.revisionSince = start
            lock.takeOver.withLock { $0 = upgraded }
        }
        return recovered
    }

    /// A journal directory with records or snapshots but no settings file: its history was
    /// written with settings nobody can tell, so replaying it with today's would diverge.
    func refuseHistoryWithoutSettings() throws(EngineError) {
        let segments: [JournalSegment]
        let snapshots: [(sequence: Int64, path: String)]
        do {
            segments = try JournalReader.segments(in: directory)
            snapshots = try SnapshotStore.list(directory: directory)
        } catch {
            throw .journal(error)
        }
        let records = segments.filter { $0.byteCount > JournalFormat.headerSize }
        guard records.isEmpty, snapshots.isEmpty else {
            throw .recovery(
                .historyWithoutSettings(
                    directory: directory, segmentsWithRecords: records.count, snapshots: snapshots.count))
        }
    }

    public func open(_ context: JournalContext) throws(EngineError) -> FileJournal {
        try lock.take(directory)
        let configuration = context.configuration
        let writer: JournalWriter
        do {
            writer = try JournalWriter.open(
                directory: directory, nextSequence: context.nextSequence, segmentBytes: configuration.segmentBytes,
                syncOnRoll: configuration.durability != .none)
        } catch {
            throw .journal(error)
        }
        if let upgraded = lock.takeOver.withLock({ $0.take() }) { try upgraded.store(directory: directory) }
        var syncer: BackgroundSyncer? = nil
        if case .batch(let interval, let events) = configuration.durability {
            do {
                syncer = try BackgroundSyncer(
                    intervalMicroseconds: interval, events: events, startSequence: context.nextSequence)
            } catch { throw .core(error) }
        }
        return FileJournal(
            writer: writer, policy: configuration.durability, syncer: syncer, appendLimit: configuration.batchLimit)
    }

    public var snapshotDirectory: String? { directory }
    public var description: String { directory }

    public func reportLines(_ report: EngineReport) -> [String] {
        let configuration = report.configuration
        let journal = report.journal
        var lines: [String] = []
        lines.append("journal           \(directory), durability \(configuration.durability)")
        if lock.held.withLock({ $0?.isHeld == false }) {
            lines.append(
                "journal lock      not held: this file system cannot lock the directory, so nothing stops a second "
                    + "run from writing this journal at the same time")
        }
        lines.append(
            "journal writes    \(grouped(journal.bytesWritten)) bytes in \(grouped(journal.batches)) batches · "
                + "\(grouped(journal.syncs)) syncs · \(journal.segmentsCreated) segment(s) started · "
                + JournalFormat.durableText(next: journal.durableSequence))
        lines.append(
            "snapshots         \(report.snapshotsWritten) written"
                + (configuration.snapshotEveryEvents > 0
                    ? " (every \(grouped(configuration.snapshotEveryEvents)) events and at shutdown"
                        + (configuration.pruneJournal ? "; older segments pruned)" : ")") : " (off)")
                + (report.snapshotFailure.map { "; last failure: \($0)" } ?? ""))
        if let recovery = report.recovery {
            let origin = recovery.snapshot.map { "snapshot \($0.path) + " } ?? ""
            var line =
                "recovery          \(origin)replayed \(grouped(recovery.replayed)) events from \(recovery.segments) segment(s) "
                + "in \(LatencySummary.decimal(recovery.seconds * 1_000)) ms; continuing at sequence \(recovery.nextSequence)"
            if let torn = recovery.tornTail {
                if torn.offset < JournalFormat.headerSize {
                    // A segment whose header was cut holds no record: the file was removed.
                    line +=
                        "; removed \(torn.path), a new segment holding no record (\(torn.reason), "
                        + "\(recovery.repairedBytes) byte\(recovery.repairedBytes == 1 ? "" : "s"))"
                } else {
                    let records = (recovery.repairedBytes + JournalFormat.recordSize - 1) / JournalFormat.recordSize
                    line +=
                        "; dropped a torn tail: \(records) incomplete record(s), \(recovery.repairedBytes) bytes at "
                        + "byte \(torn.offset) of \(torn.path) (\(torn.reason))"
                }
            }
            lines.append(line)
            for skipped in recovery.skippedSnapshots {
                lines.append("snapshot skipped  \(skipped); the journal was replayed instead")
            }
            for path in recovery.setAsideSnapshots {
                lines.append(
                    "journal loss      accepted (--accept-journal-loss): \(path) covered records the journal "
                        + "no longer holds and was set aside")
            }
            if let records = recovery.otherRevision {
                lines.append("logic change      accepted (--accept-logic-change): \(records)")
            }
        }
        return lines
    }
}

/// The segment-file writer behind the journal stage: one write per batch (group commit),
/// synced as the durability policy says. Owned by the journal thread.
public struct FileJournal: ~Copyable, JournalBackend {
    @usableFromInline var writer: JournalWriter
    @usableFromInline let policy: DurabilityPolicy
    /// Syncs for the `batch` policy, off this thread.
    @usableFromInline let syncer: BackgroundSyncer?
    @usableFromInline var reportedSegments = 0

    /// Events per write at most.
    public let appendLimit: Int

    init(writer: consuming JournalWriter, policy: DurabilityPolicy, syncer: BackgroundSyncer?, appendLimit: Int) {
        self.appendLimit = appendLimit
        self.writer = writer
        self.policy = policy
        self.syncer = syncer
    }

    @inlinable
    public mutating func append(_ event: Event, sequence: Int64) throws(JournalError) -> Bool {
        try writer.append(event, sequence: sequence)
        return true
    }

    @inlinable
    public mutating func commit(now: UInt64, drained: Bool) throws(JournalError) {
        try writer.commit()
        switch policy {
        case .every: try writer.sync()
        case .batch:
            // The plan opens a syncer for the batch policy. Optional chaining, not a binding:
            // a bound copy of the reference would be retained and released on every commit.
            let segments = writer.segmentsCreated
            syncer?.committed(
                through: writer.committedSequence, descriptor: writer.descriptor,
                segmentChanged: segments != reportedSegments)
            reportedSegments = segments
            if let failure = syncer?.lastFailure { throw failure }
        case .none: break
        }
    }

    @inlinable
    public mutating func durableSequence(now: UInt64) throws(JournalError) -> Int64 { durable }

    /// Synced for `every`; written for `none` and `batch` (whose syncer syncs off this thread).
    @inlinable
    var durable: Int64 {
        switch policy {
        case .every: return writer.syncedSequence
        case .none, .batch: return writer.committedSequence
        }
    }

    public mutating func close(now: UInt64) throws(JournalError) {
        syncer?.stop()
        try writer.sync()
    }

    public var coalescesWrites: Bool { true }

    @inlinable
    public var bytesWritten: Int { writer.bytesWritten }

    public var statistics: JournalStatistics {
        var statistics = JournalStatistics()
        statistics.bytesWritten = writer.bytesWritten
        statistics.syncs = writer.syncs + (syncer?.syncs ?? 0)
        statistics.segmentsCreated = writer.segmentsCreated
        statistics.durableSequence = durable
        return statistics
    }
}
