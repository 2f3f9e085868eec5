import PeregrineModel

/// Errors from the journal. Each names the file, the byte offset when there is one, and what
/// to do about it.
public enum JournalError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed.
    case io(operation: String, path: String, errno: Int32)
    /// A segment whose header is not a Peregrine journal header of a known version.
    case badHeader(path: String, reason: String)
    /// A record that fails its checksum or framing with valid data after it: real corruption,
    /// not a torn write at the end, so recovery stops rather than skip it.
    case corruptRecord(path: String, offset: Int, reason: String)
    /// Records or segments whose sequence numbers do not follow on.
    case sequenceGap(path: String, offset: Int, expected: Int64, found: Int64)
    /// A setting out of range.
    case invalidSetting(name: String, value: String, allowed: String)
    /// The replicated journal (JetStream) failed; the text says how.
    case replicated(String)

    public var description: String {
        switch self {
        case .io(let operation, let path, let errno):
            return "\(operation) \(path) failed: \(String(cString: strerror(errno))) (errno \(errno))"
        case .badHeader(let path, let reason):
            return "\(path) is not a usable journal segment: \(reason)"
        case .corruptRecord(let path, let offset, let reason):
            return
                "\(path): corrupt record at byte \(offset): \(reason). Valid records follow it, so this is not a torn "
                + "write; restore the segment from a replica or backup, or move it and everything after it away to "
                + "recover up to the record before"
        case .sequenceGap(let path, let offset, let expected, let found):
            return
                "\(path): expected sequence \(expected) at byte \(offset), found \(found); a segment is missing or foreign"
        case .invalidSetting(let name, let value, let allowed):
            return "invalid \(name) '\(value)': \(allowed)"
        case .replicated(let text):
            return "journal stream: \(text)"
        }
    }
}

#if canImport(Glibc)
    import Glibc
#endif
