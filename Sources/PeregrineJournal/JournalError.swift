import PeregrineModel

/// Errors from the journal. Each names the file, the byte offset when there is one, and what
/// to do about it.
public enum JournalError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed.
    case io(operation: String, path: String, errno: Int32)
    /// A segment whose header is not a Peregrine journal header of a known version.
    case badHeader(path: String, reason: String)
    /// A journal segment or snapshot written in a format version this build does not read.
    case unsupportedVersion(path: String, kind: FileKind, found: UInt16, readable: ClosedRange<UInt16>)
    /// A record that fails its checksum or framing with valid data after it: real corruption,
    /// not a torn write at the end, so recovery stops rather than skip it.
    case corruptRecord(path: String, offset: Int, reason: String)
    /// Records or segments whose sequence numbers do not follow on.
    case sequenceGap(path: String, offset: Int, expected: Int64, found: Int64)
    /// Records that the journal should hold are not there: a segment deleted or truncated
    /// (not by `--prune`, not a torn last record).
    case missingRecords(path: String, first: Int64, last: Int64, reason: String)
    /// A snapshot file that cannot be read (damaged, cut short, or of another format).
    case badSnapshot(path: String, offset: Int, reason: String)
    /// A snapshot that does not belong to the journal beside it (it covers records the journal
    /// does not hold, or other records than those it holds).
    case snapshotMismatch(path: String, reason: String)
    /// The path is not a journal directory (missing, empty, or not a directory).
    case notAJournal(path: String, reason: String)
    /// A setting out of range.
    case invalidSetting(name: String, value: String, allowed: String)
    /// The replicated journal (JetStream) failed; the text says how.
    case replicated(String)
    /// Another process writes the journal directory (it holds its lock).
    case inUse(directory: String)

    /// The kinds of versioned file the journal directory holds.
    public enum FileKind: String, Sendable {
        case segment = "journal segment"
        case snapshot
    }

    public var description: String {
        switch self {
        case .io(let operation, let path, let errno):
            return "\(operation) \(path) failed: \(String(cString: strerror(errno))) (errno \(errno))"
        case .badHeader(let path, let reason):
            return "\(path) is not a usable journal segment: \(reason)"
        case .unsupportedVersion(let path, let kind, let found, let readable):
            let versions =
                readable.count == 1
                ? "version \(readable.lowerBound)" : "versions \(readable.lowerBound) to \(readable.upperBound)"
            let writer = found > readable.upperBound ? "a newer" : "an older"
            let remedy: String
            switch kind {
            case .segment:
                remedy =
                    "Read this journal with the peregrine build that wrote it (segments are never rewritten in place), "
                    + "or start a new journal in another --journal directory"
            case .snapshot:
                remedy =
                    "Use the peregrine build that wrote it, or move the snapshot away: recovery then starts from an "
                    + "older snapshot or the journal's first record"
            }
            return
                "\(path): a \(kind.rawValue) of format version \(found), written by \(writer) peregrine; this build reads "
                + "\(versions). \(remedy)"
        case .corruptRecord(let path, let offset, let reason):
            return
                "\(path): corrupt record at byte \(offset): \(reason). It is not the journal's last record (more "
                + "than a record's bytes, not all zeros, follow it, or a newer segment does), so this is not a torn "
                + "write; restore the segment from a replica or backup, or keep the records before it: "
                + "`truncate -s \(offset) \(path)`, move every later segment away, and run with --accept-journal-loss "
                + "(snapshots past the cut are set aside)"
        case .sequenceGap(let path, let offset, let expected, let found):
            return
                "\(path): expected sequence \(expected) at byte \(offset), found \(found); a segment is missing or foreign"
        case .missingRecords(let path, let first, let last, let reason):
            let range = first == last ? "record \(first) is" : "records \(first)...\(last) are"
            return
                "\(path): \(range) missing: \(reason). Restore the missing segment from a replica or backup; "
                + "`peregrine journal verify` shows what the directory holds"
        case .badSnapshot(let path, let offset, let reason):
            return "\(path): unusable snapshot (byte \(offset)): \(reason)"
        case .snapshotMismatch(let path, let reason):
            return "\(path) does not match its journal: \(reason)"
        case .notAJournal(let path, let reason):
            return "\(path) is not a journal: \(reason)"
        case .invalidSetting(let name, let value, let allowed):
            return "invalid \(name) '\(value)': \(allowed)"
        case .replicated(let text):
            return "journal stream: \(text)"
        case .inUse(let directory):
            return "\(directory) is in use: another process writes this journal (it holds the directory's lock); "
                + "stop it, or give this run another journal directory"
        }
    }
}

#if canImport(Glibc)
    import Glibc
#endif
