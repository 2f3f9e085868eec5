/// The file `journal.pruned` in a journal directory: the first sequence the journal still
/// holds after `--prune` deleted the segments before it.
///
/// It is how a pruned journal is told from one that lost its first segments: a journal whose
/// first segment starts after 0 must have this file, and its first segment must start at or
/// before the sequence the file gives (pruning writes the file first, then deletes segments, so
/// a crash in between leaves more segments than the file promises, never fewer).
///
/// ```
/// peregrine-journal-prune 1
/// first-retained-sequence 2000000
/// ```
public enum PruneMarker {
    public static let fileName = "journal.pruned"
    static let formatLine = "peregrine-journal-prune 1"

    /// The first retained sequence recorded in `directory`, or nil when it was never pruned.
    /// Throws for a file of another format or version.
    public static func load(directory: String) throws(JournalError) -> Int64? {
        let path = directory + "/" + fileName
        guard FileIO.exists(path) else { return nil }
        let text = try FileIO.withMappedFile(path) { bytes in String(decoding: bytes.prefix(4_096), as: UTF8.self) }
        let lines = text.split(separator: "\n").map(String.init)
        guard lines.count == 2, lines[0] == formatLine, lines[1].hasPrefix("first-retained-sequence "),
            let sequence = Int64(lines[1].dropFirst("first-retained-sequence ".count)), sequence >= 0
        else {
            throw .badHeader(
                path: path,
                reason:
                    "not a prune marker of this build (expected \"\(formatLine)\" and \"first-retained-sequence N\")")
        }
        return sequence
    }

    /// Records (durably, atomically) that the journal holds records from `sequence` on.
    public static func store(directory: String, firstRetained sequence: Int64) throws(JournalError) {
        let path = directory + "/" + fileName
        let text = "\(formatLine)\nfirst-retained-sequence \(sequence)\n"
        try FileIO.writeFileAtomically(path, Array(text.utf8), directory: directory)
    }
}
