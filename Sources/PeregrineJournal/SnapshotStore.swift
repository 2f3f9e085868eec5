import PeregrineCore

#if canImport(Glibc)
    import Glibc
#endif

/// Snapshot files beside a journal: `snapshot-<sequence, 20 digits>.pgs`, each the engine's
/// whole state after every record before `sequence`.
///
/// ```
/// header (64 bytes)
///   0  magic "PGSNAPSH"
///   8  format version u16 (2)
///  16  sequence       i64   the first journal record NOT included
///  24  payload length u64
///  32  payload CRC-32C u32
///  36  journal record CRC u32   the stored checksum of record `sequence - 1` (0 when
///                               `sequence` is 0): ties the snapshot to the journal it covers
///  60  CRC-32C of bytes 0..<60
/// payload (the engine's encoding, see EngineLogic.encodeState)
/// ```
///
/// Before a snapshot is published, the journal is synced through `sequence - 1` whatever the
/// durability policy, so a snapshot never covers a record the journal could lose. It is written
/// to a temporary name, synced, then renamed into place (and the directory synced), so a crash
/// leaves either the whole file or none; a failed write removes the temporary file.
public enum SnapshotStore {
    public static let prefix = "snapshot-"
    public static let suffix = ".pgs"
    static let magic: [UInt8] = Array("PGSNAPSH".utf8)
    static let headerSize = 64
    public static let version: UInt16 = 2
    /// Version 1 (before 2026-11-29) lacks the journal record checksum; it is still read, and
    /// checked against the journal by sequence only.
    static let readableVersions: ClosedRange<UInt16> = 1...2
    /// The suffix a snapshot that covered lost journal records is renamed with when the user
    /// accepts the loss (kept for inspection, never read again).
    public static let staleSuffix = ".stale"

    public static func fileName(sequence: Int64) -> String {
        let digits = String(sequence)
        return prefix + String(repeating: "0", count: Swift.max(0, 20 - digits.count)) + digits + suffix
    }

    /// The snapshots in `directory`, newest first (not `.tmp` or `.stale` files).
    public static func list(directory: String) throws(JournalError) -> [(sequence: Int64, path: String)] {
        guard FileIO.exists(directory) else { return [] }
        var found: [(Int64, String)] = []
        for name in try FileIO.listDirectory(directory) where name.hasPrefix(prefix) && name.hasSuffix(suffix) {
            let digits = name.dropFirst(prefix.count).dropLast(suffix.count)
            guard digits.count == 20, let sequence = Int64(digits) else { continue }
            found.append((sequence, directory + "/" + name))
        }
        return found.sorted { $0.0 > $1.0 }
    }

    /// Publishes a snapshot of the state after every record before `sequence`: syncs the
    /// journal's records `syncFrom..<sequence` first (see the type's comment), then writes the
    /// file atomically with the checksum of record `sequence - 1`.
    public static func write(
        directory: String, sequence: Int64, payload: [UInt8], syncJournalFrom syncFrom: Int64 = 0
    ) throws(JournalError) {
        let recordChecksum =
            sequence > 0
            ? try JournalReader.makeDurable(
                directory: directory, from: Swift.min(syncFrom, sequence - 1), through: sequence - 1) : 0
        var header = [UInt8](repeating: 0, count: headerSize)
        for (index, byte) in magic.enumerated() { header[index] = byte }
        let payloadCRC = payload.withUnsafeBytes { CRC32C.checksum($0) }
        header.withUnsafeMutableBytes { bytes in
            bytes.storeBytes(of: version.littleEndian, toByteOffset: 8, as: UInt16.self)
            bytes.storeBytes(of: sequence.littleEndian, toByteOffset: 16, as: Int64.self)
            bytes.storeBytes(of: UInt64(payload.count).littleEndian, toByteOffset: 24, as: UInt64.self)
            bytes.storeBytes(of: payloadCRC.littleEndian, toByteOffset: 32, as: UInt32.self)
            bytes.storeBytes(of: recordChecksum.littleEndian, toByteOffset: 36, as: UInt32.self)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<60]))
            bytes.storeBytes(of: crc.littleEndian, toByteOffset: 60, as: UInt32.self)
        }
        try FileIO.writeFileAtomically(
            directory + "/" + fileName(sequence: sequence), header, payload, directory: directory)
    }

    /// Removes what an interrupted write leaves: `*.tmp` files of snapshots and of the prune
    /// marker. Returns the files removed.
    @discardableResult
    public static func removeLeftovers(directory: String) throws(JournalError) -> [String] {
        guard FileIO.exists(directory) else { return [] }
        var removed: [String] = []
        for name in try FileIO.listDirectory(directory)
        where name.hasSuffix(".tmp")
            && (name.hasPrefix(prefix) || name.hasPrefix(PruneMarker.fileName) || name.hasPrefix("engine-logic.conf"))
        {
            try FileIO.remove(directory + "/" + name)
            removed.append(directory + "/" + name)
        }
        return removed
    }

    /// Renames a snapshot out of use (`…pgs.stale`), durably. Returns the new path.
    public static func setAside(path: String, directory: String) throws(JournalError) -> String {
        let target = path + staleSuffix
        try FileIO.check(rename(path, target), "rename", path)
        try FileIO.syncDirectory(directory)
        return target
    }

    /// What a snapshot file holds.
    public struct Contents: Sendable {
        /// The first journal record not included.
        public var sequence: Int64
        /// The stored checksum of journal record `sequence - 1` (0 when `sequence` is 0; nil in a
        /// version-1 snapshot, which did not record it).
        public var journalRecordChecksum: UInt32?
        public var payload: [UInt8]
    }

    /// Reads and checks one snapshot; throws `badSnapshot` naming what is wrong (a file of
    /// another format version is refused, never misread).
    public static func read(path: String) throws(JournalError) -> Contents {
        try FileIO.withMappedFile(path) { (bytes) throws(JournalError) -> Contents in
            guard bytes.count >= headerSize, magic.indices.allSatisfy({ bytes[$0] == magic[$0] }) else {
                throw .badSnapshot(
                    path: path, offset: 0,
                    reason: bytes.count < headerSize
                        ? "\(bytes.count) bytes, shorter than a snapshot header" : "not a snapshot file")
            }
            let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 60, as: UInt32.self))
            guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<60])) == stored else {
                throw .badSnapshot(path: path, offset: 0, reason: "snapshot header checksum mismatch")
            }
            let fileVersion = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
            guard readableVersions.contains(fileVersion) else {
                throw .unsupportedVersion(path: path, kind: .snapshot, found: fileVersion, readable: readableVersions)
            }
            let sequence = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: Int64.self))
            let length = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
            let payloadCRC = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 32, as: UInt32.self))
            let recordChecksum = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 36, as: UInt32.self))
            guard length == UInt64(bytes.count - headerSize) else {
                throw .badSnapshot(
                    path: path, offset: headerSize,
                    reason: "payload is \(bytes.count - headerSize) bytes, header says \(length)")
            }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[headerSize...])
            guard CRC32C.checksum(payload) == payloadCRC else {
                throw .badSnapshot(path: path, offset: headerSize, reason: "snapshot payload checksum mismatch")
            }
            return Contents(
                sequence: sequence, journalRecordChecksum: fileVersion >= 2 ? recordChecksum : nil,
                payload: Array(payload))
        }
    }

    /// Why the snapshot `contents` cannot be used with the journal whose segments are
    /// `segments` and which ends before `journalEnd`; nil when it can: its header says its file
    /// name's sequence (`name`, when given), the journal holds record `sequence - 1`, and its
    /// checksum is the one the snapshot recorded. The one judgement of recovery, `journal
    /// verify` and pruning.
    public static func mismatch(
        _ contents: Contents, named name: Int64? = nil, segments: [JournalSegment], journalEnd: Int64
    ) throws(JournalError) -> String? {
        if let name, contents.sequence != name {
            return "its header says sequence \(contents.sequence), its name \(name)"
        }
        if contents.sequence > journalEnd {
            return "it covers records up to \(contents.sequence - 1), but " + JournalFormat.endText(next: journalEnd)
        }
        guard contents.sequence > 0 else { return nil }
        guard let checksum = try JournalReader.storedChecksum(ofRecord: contents.sequence - 1, segments: segments)
        else { return "the journal does not hold record \(contents.sequence - 1)" }
        if let recorded = contents.journalRecordChecksum, checksum != recorded {
            return
                "journal record \(contents.sequence - 1) has checksum \(CRC32C.text(checksum)), the snapshot was "
                + "taken after one with \(CRC32C.text(recorded)): another history"
        }
        return nil
    }

    /// Keeps the newest `keep` snapshots recovery can use (their checksums hold, their header's
    /// sequence is their name's, and the journal's record before it is the one they were taken
    /// after: not another history's) and deletes the snapshots older than those, then
    /// deletes every journal segment whose records all come before the oldest snapshot kept.
    /// A snapshot recovery skips is no fallback: it does not count toward `keep` (one newer than
    /// the oldest kept stays, for recovery to skip and name). Nothing is deleted while fewer than
    /// `keep` read whole. Returns the files deleted.
    @discardableResult
    public static func prune(directory: String, keep: Int) throws(JournalError) -> [String] {
        let snapshots = try list(directory: directory)
        let segments = try JournalReader.segments(in: directory)
        var usable = 0
        guard keep >= 1,
            let lastKept = snapshots.firstIndex(where: { snapshot in
                // As recovery takes it: whole, and taken after the record the journal holds.
                if let contents = try? read(path: snapshot.path),
                    (try? mismatch(contents, named: snapshot.sequence, segments: segments, journalEnd: .max))
                        == .some(nil)
                {
                    usable += 1
                }
                return usable == keep
            })
        else { return [] }
        var deleted: [String] = []
        for old in snapshots[(lastKept + 1)...] {
            try FileIO.remove(old.path)
            deleted.append(old.path)
        }
        let oldestKept = snapshots[lastKept].sequence
        // A segment goes when every record in it comes before the oldest kept snapshot's last
        // record (`oldestKept - 1`): that record stays, so the snapshot still matches the journal.
        let doomed = segments.indices.dropLast().filter { segments[$0 + 1].firstSequence < oldestKept }
        if let lastDoomed = doomed.last {
            // The marker first: a crash between it and the deletions leaves extra segments, never
            // a journal that looks as if it lost its start (PruneMarker).
            try PruneMarker.store(directory: directory, firstRetained: segments[lastDoomed + 1].firstSequence)
        }
        for position in doomed {
            try FileIO.remove(segments[position].path)
            deleted.append(segments[position].path)
        }
        if !deleted.isEmpty { try FileIO.syncDirectory(directory) }
        return deleted
    }
}
