import PeregrineBook
import PeregrineCodec
import PeregrineCore
import PeregrineFeed
import PeregrineJournal
import PeregrineModel
import PeregrineRisk
import PeregrineStrategy

#if canImport(Glibc)
    import Glibc
#endif

/// Errors that stop the engine from starting, recovering or replaying. Each wraps the typed
/// error of the part that failed, so a caller can match on it, and its description says what
/// to fix.
public enum EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A configuration value out of range (nothing was started).
    case invalidSetting(name: String, value: String, allowed: String)
    /// A configuration file's setting that cannot be used: `location` is `FILE:LINE` (or `line
    /// N` for text without a file) where the file writes it.
    indirect case inFile(location: String, EngineError)
    /// The file journal or one of its snapshots could not be read, recovered or written.
    case journal(JournalError)
    /// The logic settings stored with a journal cannot be read, or do not match this run.
    case settings(LogicSettingsError)
    /// The journal is readable but recovering from it would lose or invent history.
    case recovery(RecoveryError)
    /// A ring or thread could not be set up.
    case core(CoreError)
    /// An instrument's book could not be built.
    case book(BookError)
    /// A recorded source could not be opened.
    case feed(FeedError)
    /// A strategy's configuration (name, id, instruments, parameters) cannot run.
    case strategy(StrategyConfigurationError)
    /// A `[[risk]]` rule that cannot be used.
    case risk(RiskConfigurationError)
    /// A part built outside the engine module (a NATS source, sink or journal) failed; `part`
    /// names it and where it points, `error` is that module's own typed error.
    case part(String, any Error & Sendable)
    /// The engine's own parts were wired in the wrong order (a bug, not an input problem).
    case wiring(String)

    public var description: String {
        switch self {
        case .invalidSetting(let name, let value, let allowed):
            return "invalid \(name) '\(TextField.excerpt(value))': \(allowed)"
        case .inFile(let location, let error): return "\(location): \(error)"
        case .journal(let error): return "journal: \(error)"
        case .settings(let error): return "logic settings: \(error)"
        case .recovery(let error): return "recovery: \(error)"
        case .core(let error): return "engine set-up failed: \(error)"
        case .book(let error): return "engine set-up failed: \(error)"
        case .feed(let error): return "recorded source: \(error)"
        case .strategy(let error): return "\(error)"
        case .risk(let error): return "\(error)"
        case .part(let part, let error): return "\(part): \(error)"
        case .wiring(let reason): return "engine wiring: \(reason)"
        }
    }

    /// Equal when the same case wraps equal errors (`part` errors compare by what they say).
    public static func == (lhs: EngineError, rhs: EngineError) -> Bool {
        switch (lhs, rhs) {
        case (.invalidSetting(let a, let b, let c), .invalidSetting(let d, let e, let f)):
            return a == d && b == e && c == f
        case (.inFile(let a, let x), .inFile(let b, let y)): return a == b && x == y
        case (.journal(let a), .journal(let b)): return a == b
        case (.settings(let a), .settings(let b)): return a == b
        case (.recovery(let a), .recovery(let b)): return a == b
        case (.core(let a), .core(let b)): return a == b
        case (.book(let a), .book(let b)): return a == b
        case (.feed(let a), .feed(let b)): return a == b
        case (.strategy(let a), .strategy(let b)): return a == b
        case (.risk(let a), .risk(let b)): return a == b
        case (.part(let a, let x), .part(let b, let y)): return a == b && "\(x)" == "\(y)"
        case (.wiring(let a), .wiring(let b)): return a == b
        default: return false
        }
    }
}

/// Why the logic settings stored with a journal (`engine-logic.conf`, or a JetStream stream's
/// description) cannot be used. `origin` names the file or stream.
public enum LogicSettingsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The settings file exists but cannot be read.
    case unreadable(path: String, errno: Int32)
    /// The settings file cannot be written.
    case unwritable(JournalError)
    /// Written by a build with another settings format.
    case unsupportedFormat(origin: String, found: Int, readable: ClosedRange<Int>)
    /// A setting the format requires is missing.
    case missing(origin: String, name: String)
    /// A setting is present but cannot be used.
    case invalid(origin: String, name: String, reason: String)
    /// A journal directory without settings (replay needs them).
    case absent(directory: String)
    /// The journal was written with other logic settings than this run's.
    case differs(origin: String, difference: String)
    /// The journal was written by another strategy or with other parameters.
    case otherStrategy(origin: String, stored: String, running: String)
    /// The settings were changed after they were written (their checksum does not match).
    case edited(origin: String)
    /// The file holds no settings (empty, or something else written over it).
    case damaged(origin: String)
    /// The file ends in the middle of an entry.
    case cutShort(origin: String)
    /// A strategy the journal was written with is refused by this build (an earlier build
    /// took it).
    case strategyRefused(origin: String, reason: String)
    /// A risk rule the journal was written with that this build refuses.
    case riskRefused(origin: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let errno):
            return "cannot read \(path): \(String(cString: strerror(errno))) (errno \(errno))"
        case .unwritable(let error):
            return "cannot write the settings file: \(error)"
        case .unsupportedFormat(let origin, let found, let readable):
            let reads =
                readable.count == 1
                ? "format \(readable.lowerBound)" : "formats \(readable.lowerBound) to \(readable.upperBound)"
            let which =
                found < readable.lowerBound
                ? "an older peregrine wrote it (before strategies kept orders and positions, format 5, 2026-11-29); "
                    + "replay or recover it with that build, or start a new journal"
                : "a newer peregrine wrote it; use that build"
            return "\(origin) is settings format \(found); this build reads \(reads): \(which)"
        case .missing(let origin, let name):
            return "\(origin) has no '\(name)': the file is cut short or was changed by hand (peregrine writes "
                + "every entry); restore it from a backup, or move the journal away and start a new one"
        case .invalid(let origin, let name, let reason):
            return "\(origin): '\(name)' cannot be used: \(reason)"
        case .absent(let directory):
            return "\(directory) has no \(LogicSettings.fileName): not a journal directory written by peregrine run"
        case .differs(let origin, let difference):
            return
                "\(origin) was written with other logic settings (\(difference)); use the same settings, or another "
                + "journal (--journal directory, or NATS shard or stream prefix)"
        case .otherStrategy(let origin, let stored, let running):
            return
                "\(origin) was written by strategy '\(stored)'; this build's is '\(running)'. Replaying it with "
                + "another strategy would not reproduce it: run the same strategy and parameters"
        case .cutShort(let origin):
            return "\(origin) ends in the middle of an entry: it was cut short (peregrine ends every entry with a "
                + "newline); restore it from a backup, or move the journal away and start a new one"
        case .damaged(let origin):
            return "\(origin) holds no logic settings (it is empty, or something else was written over it): the "
                + "journal cannot be read without the settings it was written with; restore the file from a backup, "
                + "or move the journal away and start a new one"
        case .strategyRefused(let origin, let reason):
            return "\(origin): this build refuses a strategy the journal was written with (\(reason)); the build "
                + "that wrote the journal took it, and replays and recovers it: use that build, or move the journal "
                + "away and start a new one with settings this build takes"
        case .riskRefused(let origin, let reason):
            return "\(origin): this build refuses a risk rule the journal was written with (\(reason)); the build "
                + "that wrote the journal took it, and replays and recovers it: use that build, or move the journal "
                + "away and start a new one with rules this build takes"
        case .edited(let origin):
            return "\(origin) was changed after the journal was written (its checksum does not match its settings): "
                + "a journal replays only with the settings it was written with; restore them, or move the journal "
                + "away and start a new one"
        }
    }
}

/// A journal that can be read but not recovered from without losing or inventing history.
public enum RecoveryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Records or snapshots without the settings they were written with.
    case historyWithoutSettings(directory: String, segmentsWithRecords: Int, snapshots: Int)
    /// Records a snapshot covered (so they were durable) are missing from the journal.
    case lostDurableRecords(String)
    /// Older segments were pruned and no usable snapshot covers the journal's start.
    case prunedWithoutSnapshot(directory: String, start: Int64, skipped: [String])
    /// Older segments were pruned, so a replay starts at a snapshot (at `snapshots`), and what
    /// was asked for (`request`: an end before the oldest, outputs from before it) needs an
    /// earlier start.
    case prunedBeforeRequest(directory: String, start: Int64, snapshots: [Int64], request: String)
    /// Another writer appended to the journal while this engine recovered from it.
    case grewDuringRecovery(journal: String, from: Int64, to: Int64)
    /// A replicated journal that does not exist.
    case noJournal(String)
    /// A run would replay, after its snapshot (`snapshot`; nil: from the first record),
    /// records another revision of the logic wrote.
    /// `takenOver`: this revision took the journal over at that record (the snapshots from
    /// there on are gone or unusable: `skipped` says why).
    case otherLogicRevision(
        directory: String, records: OtherRevisionRecords, snapshot: String?, takenOver: Int64?, skipped: [String])
    /// A JetStream journal stream (replayed from its first record at every start) written by
    /// another revision of the logic.
    case otherLogicRevisionInStream(stream: String, writtenBy: String)

    public var description: String {
        switch self {
        case .historyWithoutSettings(let directory, let records, let snapshots):
            return
                "\(directory) holds a journal (\(records) segment(s) with records, \(snapshots) snapshot(s)) but no "
                + "\(LogicSettings.fileName), so the logic settings it was written with are unknown. Restore "
                + "\(directory)/\(LogicSettings.fileName) from a backup, or move the journal away and start a new one"
        case .lostDurableRecords(let loss):
            return
                "\(loss). Restore the journal from a replica or backup; or accept the loss with "
                + "--accept-journal-loss, which sets the newer snapshot(s) aside and recovers from an older "
                + "snapshot or the first record"
        case .prunedWithoutSnapshot(let directory, let start, let skipped):
            return
                "\(directory) starts at sequence \(start) (older segments were pruned) and no usable snapshot "
                + "covers it\(skipped.isEmpty ? "" : ": " + skipped.joined(separator: "; "))"
        case .prunedBeforeRequest(let directory, let start, let snapshots, let request):
            return
                "\(directory) was pruned: it holds the records from \(start) on, and a replay starts at one of its "
                + "snapshots (at sequence \(snapshots.map(String.init).joined(separator: ", "))): \(request)"
        case .grewDuringRecovery(let journal, let from, let to):
            return "\(journal) grew from \(from) to \(to) events during recovery: is another engine writing it?"
        case .noJournal(let what):
            return "\(what) does not exist"
        case .otherLogicRevision(let directory, let records, let snapshot, let takenOver, let skipped):
            let start = snapshot.map { "after its newest usable snapshot, \($0)" } ?? "replayed from its first record"
            let unused = skipped.isEmpty ? "" : "; snapshots not used: " + skipped.joined(separator: "; ")
            let way =
                takenOver.map {
                    "This build took the journal over at record \($0), and the snapshots from there on are gone or "
                        + "unusable: restore one from a backup"
                }
                ?? ("Start the build that wrote them on this journal and stop it with SIGTERM (with snapshots on, its "
                    + "end snapshot covers every record, and this build then replays none), then start this build")
            return "\(directory): \(records) (\(start)\(unused)). \(way); or accept this build's replay of them as the "
                + "state to go on from with --accept-logic-change"
        case .otherLogicRevisionInStream(let stream, let writtenBy):
            return
                "\(stream) was written by \(writtenBy), and this build (logic revision "
                + "\(LogicSettings.currentRevision)) would replay it with its own logic, which may reach another state "
                + "and outputs than the run that wrote it. A JetStream journal is replayed from its first record at every start, so this "
                + "build cannot go on from the state the old one reached: start a new journal (another --nats-prefix, "
                + "or delete the stream), or accept this build's replay of the stream as the state to go on from with "
                + "--accept-logic-change"
        }
    }
}
