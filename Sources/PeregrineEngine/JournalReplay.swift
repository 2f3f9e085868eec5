import PeregrineCore
import PeregrineJournal
import PeregrineMempool
import PeregrineModel
import PeregrineStrategy
import PeregrineSys

#if canImport(Glibc)
    import Glibc
#endif

/// What re-running the logic over a journal produced.
public struct ReplaySummary: Sendable {
    public var directory: String
    public var records: Int
    public var replayed: Int
    public var segments: Int
    /// One past the last valid record: where a run appends next.
    public var nextSequence: Int64
    public var tornTail: TornTail?
    /// Bytes of a torn tail cut off (recovery only).
    public var repairedBytes: Int
    public var seconds: Double
    /// The snapshot the replay started from (nil: from the journal's first record).
    public var snapshot: (sequence: Int64, path: String)?
    /// Snapshots that could not be used, and why.
    public var skippedSnapshots: [String] = []
    /// Records a snapshot shows were durable and the journal no longer holds (a replay reports
    /// it and is incomplete; a run refuses or, with the loss accepted, sets the snapshot aside).
    public var lostRecords: String? = nil
    /// Snapshots beyond the journal's end renamed out of use because the loss was accepted
    /// (`--accept-journal-loss`): their new paths.
    public var setAsideSnapshots: [String] = []
    /// Records another logic revision wrote that were replayed with this build's logic (the
    /// state may differ from the run that wrote them): `replay` warns; a run refuses unless the
    /// change was accepted (`--accept-logic-change`).
    public var otherRevision: OtherRevisionRecords? = nil
    public var stateHash: UInt64
    public var outputHash: UInt64
    public var outcomes: Int
    /// Venue orders the replay produced.
    public var orders: Int
    public var reports: Int
    public var fills: Int

    public var recordsPerSecond: Double { seconds > 0 ? Double(replayed) / seconds : 0 }

    public init(
        directory: String, records: Int, replayed: Int, segments: Int, nextSequence: Int64, tornTail: TornTail?,
        repairedBytes: Int, seconds: Double, snapshot: (sequence: Int64, path: String)?, stateHash: UInt64,
        outputHash: UInt64, outcomes: Int, orders: Int, reports: Int, fills: Int
    ) {
        self.directory = directory
        self.records = records
        self.replayed = replayed
        self.segments = segments
        self.nextSequence = nextSequence
        self.tornTail = tornTail
        self.repairedBytes = repairedBytes
        self.seconds = seconds
        self.snapshot = snapshot
        self.stateHash = stateHash
        self.outputHash = outputHash
        self.outcomes = outcomes
        self.orders = orders
        self.reports = reports
        self.fills = fills
    }
}

/// The logic rebuilt from a journal, with the output hash to continue from.
public struct Recovered<S: Strategy>: ~Copyable {
    public var logic: EngineLogic<S>
    public var hasher: OutputHasher
    public var summary: ReplaySummary

    public init(logic: consuming EngineLogic<S>, hasher: OutputHasher, summary: ReplaySummary) {
        self.logic = logic
        self.hasher = hasher
        self.summary = summary
    }
}

/// Journal records written by another revision of the logic than this build's
/// (`LogicSettings.currentRevision`), replayed with this build's logic.
public struct OtherRevisionRecords: Equatable, Sendable, CustomStringConvertible {
    public var first: Int64
    public var last: Int64
    /// Which logic wrote them (`LogicSettings.revisionText`).
    public var writtenBy: String

    public init(first: Int64, last: Int64, writtenBy: String) {
        self.first = first
        self.last = last
        self.writtenBy = writtenBy
    }

    public var description: String {
        let records = first == last ? "record \(first) was" : "records \(first)...\(last) were"
        return "\(records) written by \(writtenBy), and this build (logic revision "
            + "\(LogicSettings.currentRevision)) replays them with its own logic, which may reach another state and "
            + "outputs than the run that wrote them"
    }
}

/// Re-runs `EngineLogic` over a journal: the `peregrine replay` command, and recovery at
/// start-up. The journal directory's `engine-logic.conf` fixes the logic settings.
public enum JournalReplay {
    /// The logic settings stored with `directory`, applied over `configuration`.
    public static func configuration(for directory: String, base: EngineConfiguration) throws(EngineError)
        -> EngineConfiguration
    {
        var configuration = base
        guard let settings = try LogicSettings.load(directory: directory) else {
            throw .settings(.absent(directory: directory))
        }
        settings.apply(to: &configuration)
        // Settings a run would have refused (edited by hand, say) are refused here too.
        try configuration.validate()
        return configuration
    }

    /// The logic for a journal written with `configuration` (its stored settings, at
    /// `origin`): a strategy this build refuses is named as the journal's
    /// (`LogicSettingsError.strategyRefused`: a build that took it wrote the journal), not as a
    /// run's setting.
    public static func journalsLogic<S: Strategy>(
        configuration: EngineConfiguration, custom: S.Type, origin: String
    ) throws(EngineError) -> EngineLogic<S> {
        do { return try EngineLogic(configuration: configuration, custom: custom) } catch {
            switch error {
            case .strategy(let refusal): throw .settings(.strategyRefused(origin: origin, reason: "\(refusal)"))
            case .risk(let refusal): throw .settings(.riskRefused(origin: origin, reason: "\(refusal)"))
            default: throw error
            }
        }
    }

    /// Rebuilds the logic from `directory`: from the newest usable snapshot when `useSnapshot`
    /// (or when older segments have been pruned), else from the first record; then replays the
    /// journal up to `through`. Outputs from `printFrom` on go to `printer`.
    ///
    /// A snapshot is usable when the journal holds the record before its sequence, with the
    /// checksum the snapshot recorded. A snapshot beyond the journal's end means records that
    /// were durable are gone (a truncated or deleted last segment): with `repair` (a run about
    /// to append) that refuses the start, naming the missing records, unless `acceptLoss`, which
    /// sets such snapshots aside (`.stale`) and recovers from an older snapshot or the first
    /// record; without `repair` (replay) such snapshots are skipped and listed. A torn tail ends
    /// the replay and is cut off only when `repair`. Corruption, a gap, or a pruned journal with
    /// no usable snapshot throws.
    public static func recover<S: Strategy>(
        directory: String, configuration: EngineConfiguration, custom: S.Type, useSnapshot: Bool,
        through: Int64 = .max, printFrom: Int64 = 0, printer: ((String) -> Void)? = nil, repair: Bool,
        acceptLoss: Bool = false, acceptLogicChange: Bool = false, bundleSink: BundleRequestWriter? = nil,
        orderEvents: OrderEventWriter? = nil
    ) throws(EngineError) -> Recovered<S> {
        let start = monotonicSeconds()
        let stored = try LogicSettings.load(directory: directory)
        var logic = try journalsLogic(
            configuration: configuration, custom: custom, origin: "\(directory)/\(LogicSettings.fileName)")
        var outputs = HashingOutputs()
        var from: Int64 = 0
        var used: (sequence: Int64, path: String)? = nil
        var skipped: [String] = []
        var setAside: [String] = []
        var lostRecords: String? = nil
        let segments: [JournalSegment]
        let end: JournalScan
        let snapshots: [(sequence: Int64, path: String)]
        do {
            if repair { try SnapshotStore.removeLeftovers(directory: directory) }
            segments = try JournalReader.segments(in: directory)
            // Where the journal ends. Starting from a snapshot, every record before it is checked
            // too (checksums and sequences, nothing decoded): a run never continues a journal that
            // cannot be replayed. Starting from the first record, the replay below reads and checks
            // every record itself, so only the newest segment is read here.
            let fromSnapshot = useSnapshot || (segments.first?.firstSequence ?? 0) > 0
            end = try JournalReader.read(directory: directory, from: .max, checkEveryRecord: fromSnapshot)
            snapshots = try SnapshotStore.list(directory: directory)
        } catch {
            throw .journal(error)
        }
        let journalStart = segments.first?.firstSequence ?? 0
        // Replayed from the first record, the snapshots go unused: the newest is still restored
        // to check that the settings beside the journal are the ones it was written with.
        if !useSnapshot, journalStart == 0 {
            try checkSnapshotFits(snapshots, directory: directory, configuration: configuration, custom: custom)
        }
        var beyondEnd: [(sequence: Int64, path: String)] = []
        for snapshot in snapshots where snapshot.sequence > end.nextSequence { beyondEnd.append(snapshot) }
        if !beyondEnd.isEmpty {
            let newest = beyondEnd[0]
            let loss =
                "\(newest.path) covers records up to \(newest.sequence - 1), but "
                + JournalFormat.endText(next: end.nextSequence) + ": "
                + (newest.sequence - 1 == end.nextSequence
                    ? "record \(end.nextSequence) was durable when the snapshot was taken and is missing"
                    : "records \(end.nextSequence)...\(newest.sequence - 1) were durable when the snapshot was taken "
                        + "and are missing")
                + (end.tornTail.map { " (the last segment \($0.path) ends in a torn record at byte \($0.offset))" }
                    ?? " (the last segment was truncated or deleted)")
            if repair && !acceptLoss {
                throw .recovery(.lostDurableRecords(loss))
            }
            if !repair {
                for snapshot in beyondEnd {
                    skipped.append("\(snapshot.path): beyond the journal's end")
                }
            }
            lostRecords = loss
        }
        let outputsFrom = outputsStart(
            printFrom: printer != nil ? printFrom : nil, exports: orderEvents != nil || bundleSink != nil)
        /// Snapshots inside the journal that the request rules out (before `--to`'s end or after
        /// the outputs' start).
        var ruledOut: [Int64] = []
        if useSnapshot || journalStart > 0 {
            for snapshot in snapshots where snapshot.sequence <= end.nextSequence && snapshot.sequence >= journalStart {
                guard serves(snapshot.sequence, through: through, outputsFrom: outputsFrom) else {
                    ruledOut.append(snapshot.sequence)
                    continue
                }
                do {
                    let contents = try SnapshotStore.read(path: snapshot.path)
                    if let reason = try SnapshotStore.mismatch(
                        contents, named: snapshot.sequence, segments: segments, journalEnd: end.nextSequence)
                    {
                        throw SnapshotError.mismatch(reason)
                    }
                    var candidate = try EngineLogic(configuration: configuration, custom: custom)
                    var decoder = SnapshotDecoder(contents.payload)
                    let hasher: OutputHasher
                    do { hasher = try candidate.restoreState(from: &decoder) } catch {
                        // The journal's own snapshot does not fit the settings beside it: they
                        // were changed (a file without its checksum line, from an earlier
                        // build). Replaying with them would give another history.
                        if case .mismatch(let reason) = error {
                            throw misfit(snapshot.path, reason, directory: directory)
                        }
                        throw error
                    }
                    guard candidate.lastSequence == contents.sequence - 1 else {
                        throw SnapshotError.mismatch(
                            "it covers up to \(candidate.lastSequence), its name says \(contents.sequence - 1)")
                    }
                    logic = candidate
                    outputs = HashingOutputs(hasher: hasher)
                    from = contents.sequence
                    used = snapshot
                    break
                } catch let error as JournalError {
                    skipped.append("\(error)")  // names the file
                } catch let error as EngineError {
                    throw error
                } catch {
                    skipped.append("\(snapshot.path): \(error)")
                }
            }
            if used == nil, journalStart > 0 {
                if !ruledOut.isEmpty {
                    throw .recovery(
                        prunedBeforeRequest(
                            directory: directory, start: journalStart, ruledOut: ruledOut, through: through,
                            printFrom: printFrom, fillsOut: orderEvents != nil, bundlesOut: bundleSink != nil,
                            skipped: skipped))
                }
                throw .recovery(.prunedWithoutSnapshot(directory: directory, start: journalStart, skipped: skipped))
            }
        }
        // Records from `from` on that another revision of the logic wrote (`exactFrom`).
        let otherRevision = stored?.otherRevisionRecords(from: from, end: end.nextSequence, through: through)
        if let stored, let otherRevision, repair, !acceptLogicChange {
            throw .recovery(
                .otherLogicRevision(
                    directory: directory, records: otherRevision, snapshot: used?.path,
                    takenOver: stored.revision == LogicSettings.currentRevision ? stored.revisionSince : nil,
                    skipped: skipped))
        }
        // Accepted lost records: the snapshots beyond the journal's end are set aside (once
        // nothing else refuses the start).
        if repair {
            for snapshot in beyondEnd {
                do { setAside.append(try SnapshotStore.setAside(path: snapshot.path, directory: directory)) } catch {
                    throw .journal(error)
                }
            }
        }
        outputs.print(to: printer, instruments: configuration.resolvedInstruments)
        outputs.bundleSink = bundleSink
        outputs.orderEvents = orderEvents
        var summary = try replay(
            directory: directory, into: &logic, outputs: &outputs, from: from, through: through, printFrom: printFrom,
            repair: repair)
        summary.snapshot = used
        summary.skippedSnapshots = skipped
        summary.setAsideSnapshots = setAside
        summary.lostRecords = lostRecords
        summary.otherRevision = otherRevision
        summary.seconds = monotonicSeconds() - start
        return Recovered(logic: logic, hasher: outputs.hasher, summary: summary)
    }

    /// Refuses, before any output is opened, a replay of `directory` that cannot give what is
    /// asked: a pruned journal (it starts at a snapshot) none of whose snapshots ends by
    /// `through` and starts by the outputs' first record (`printFrom` with a printer; the first
    /// record with `fillsOut` or `bundlesOut`). Reads the segments' names and headers, the newest
    /// segment's records and the snapshots' names; `recover` checks the snapshots themselves.
    public static func refuseUnservable(
        directory: String, through: Int64, printFrom: Int64?, fillsOut: Bool, bundlesOut: Bool
    ) throws(EngineError) {
        let start: Int64
        let end: JournalScan
        let snapshots: [(sequence: Int64, path: String)]
        do {
            start = try JournalReader.segments(in: directory).first?.firstSequence ?? 0
            guard start > 0 else { return }
            end = try JournalReader.read(directory: directory, from: .max)
            snapshots = try SnapshotStore.list(directory: directory)
        } catch {
            throw .journal(error)
        }
        let outputsFrom = outputsStart(printFrom: printFrom, exports: fillsOut || bundlesOut)
        let inside = snapshots.map(\.sequence).filter { $0 >= start && $0 <= end.nextSequence }
        guard !inside.isEmpty, !inside.contains(where: { serves($0, through: through, outputsFrom: outputsFrom) })
        else { return }
        throw .recovery(
            prunedBeforeRequest(
                directory: directory, start: start, ruledOut: inside, through: through, printFrom: printFrom ?? 0,
                fillsOut: fillsOut, bundlesOut: bundlesOut))
    }

    /// The first record whose outputs are asked for (nil: none is): `printFrom` when printing;
    /// the first record with an export (`--fills-out`, bundle requests), which needs every one.
    static func outputsStart(printFrom: Int64?, exports: Bool) -> Int64? { exports ? 0 : printFrom }

    /// Whether a replay may start at the snapshot at `sequence` (it covers the records before
    /// it): it ends by `through` and leaves out no output asked for from `outputsFrom` on.
    static func serves(_ sequence: Int64, through: Int64, outputsFrom: Int64?) -> Bool {
        sequence &- 1 <= through && sequence <= outputsFrom ?? .max
    }

    /// Why a pruned journal (from `start`, its snapshots inside it at `ruledOut`) cannot give
    /// what was asked, and what would do.
    static func prunedBeforeRequest(
        directory: String, start: Int64, ruledOut: [Int64], through: Int64, printFrom: Int64, fillsOut: Bool,
        bundlesOut: Bool, skipped: [String] = []
    ) -> RecoveryError {
        let oldest = ruledOut.min() ?? start
        let asked: String
        if oldest &- 1 > through {
            asked = "--to \(through) ends before the oldest (give --to \(oldest - 1) or later)"
        } else if fillsOut {
            asked =
                "--fills-out writes every order update from the journal's first record, and the records before "
                + "\(start) were pruned (the run's own --fills-out file holds them)"
        } else if bundlesOut {
            asked =
                "--bundles-out writes every bundle request from the journal's first record, and the records before "
                + "\(start) were pruned"
        } else {
            asked = "--from \(printFrom) is before the oldest (give --from \(oldest) or later)"
        }
        // Snapshots that would have served and could not be used, with why.
        let unusable = skipped.isEmpty ? "" : "; not usable: " + skipped.joined(separator: "; ")
        return .prunedBeforeRequest(
            directory: directory, start: start, snapshots: ruledOut.sorted(), request: asked + unusable)
    }

    /// Replays records `from...through` into `logic`, folding outputs into `outputs`; records
    /// from `printFrom` on are passed to `outputs.printer` if it is set. A torn tail ends the
    /// replay (reported); it is cut off only when `repair` is true. Corruption throws.
    public static func replay<S: Strategy>(
        directory: String, into logic: inout EngineLogic<S>, outputs: inout HashingOutputs, from: Int64 = 0,
        through: Int64 = .max, printFrom: Int64 = 0, repair: Bool
    ) throws(EngineError) -> ReplaySummary {
        let start = monotonicSeconds()
        let printer = outputs.printer
        var replayed = 0
        let scan: JournalScan
        do {
            scan = try JournalReader.read(directory: directory, from: from, through: through) { sequence, event in
                outputs.printer = sequence >= printFrom ? printer : nil
                logic.handle(event, sequence: sequence, outputs: &outputs)
                replayed += 1
                return true
            }
        } catch {
            throw .journal(error)
        }
        outputs.printer = printer
        var repaired = 0
        if repair {
            do { repaired = try JournalReader.repair(scan) } catch { throw .journal(error) }
        }
        return ReplaySummary(
            directory: directory, records: scan.records, replayed: replayed, segments: scan.segments.count,
            nextSequence: scan.nextSequence, tornTail: scan.tornTail, repairedBytes: repaired,
            seconds: monotonicSeconds() - start, snapshot: nil, stateHash: logic.stateHash(),
            outputHash: outputs.hasher.value, outcomes: outputs.outcomes, orders: outputs.orders,
            reports: outputs.reportCount, fills: outputs.fills)
    }

    /// Throws when the newest readable snapshot of `directory` (of `snapshots`, newest first;
    /// all of them when nil) does not restore into an engine of `configuration`: the settings
    /// beside the journal were changed (by hand, in a file without its checksum line) and a
    /// replay with them would give another history. Snapshots of another format version, or
    /// unreadable ones, are passed by, as recovery passes them by.
    public static func checkSnapshotFits<S: Strategy>(
        _ snapshots: [(sequence: Int64, path: String)]? = nil, directory: String, configuration: EngineConfiguration,
        custom: S.Type
    ) throws(EngineError) {
        let listed: [(sequence: Int64, path: String)]
        if let snapshots {
            listed = snapshots
        } else {
            do { listed = try SnapshotStore.list(directory: directory) } catch { throw .journal(error) }
        }
        for snapshot in listed {
            guard let contents = try? SnapshotStore.read(path: snapshot.path) else { continue }
            var candidate = try EngineLogic(configuration: configuration, custom: custom)
            var decoder = SnapshotDecoder(contents.payload)
            do {
                _ = try candidate.restoreState(from: &decoder)
                return
            } catch {
                guard case .mismatch(let reason) = error else { continue }
                throw misfit(snapshot.path, reason, directory: directory)
            }
        }
    }

    /// The settings beside the journal in `directory` do not fit its snapshot at `path`.
    static func misfit(_ path: String, _ reason: String, directory: String) -> EngineError {
        .settings(
            .differs(
                origin: "\(directory)/\(LogicSettings.fileName)",
                difference: "the snapshot \(path) does not fit them: \(reason)"))
    }

    public static func monotonicSeconds() -> Double { Double(pg_monotonic_nanoseconds()) / 1e9 }
}
