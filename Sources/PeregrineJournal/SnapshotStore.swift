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
///   8  format version u16 (1)
///  16  sequence       i64   the first journal record NOT included
///  24  payload length u64
///  32  payload CRC-32C u32
///  60  CRC-32C of bytes 0..<60
/// payload (the engine's encoding, see EngineLogic.encodeState)
/// ```
///
/// A snapshot is written to a temporary name, synced, then renamed into place (and the
/// directory synced), so a crash leaves either the whole file or none.
public enum SnapshotStore {
    public static let prefix = "snapshot-"
    public static let suffix = ".pgs"
    static let magic: [UInt8] = Array("PGSNAPSH".utf8)
    static let headerSize = 64

    public static func fileName(sequence: Int64) -> String {
        let digits = String(sequence)
        return prefix + String(repeating: "0", count: Swift.max(0, 20 - digits.count)) + digits + suffix
    }

    /// The snapshots in `directory`, newest first.
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

    /// Writes a snapshot of the state after every record before `sequence`.
    public static func write(directory: String, sequence: Int64, payload: [UInt8]) throws(JournalError) {
        let path = directory + "/" + fileName(sequence: sequence)
        let temporary = path + ".tmp"
        var header = [UInt8](repeating: 0, count: headerSize)
        for (index, byte) in magic.enumerated() { header[index] = byte }
        let payloadCRC = payload.withUnsafeBytes { CRC32C.checksum($0) }
        header.withUnsafeMutableBytes { bytes in
            bytes.storeBytes(of: UInt16(1).littleEndian, toByteOffset: 8, as: UInt16.self)
            bytes.storeBytes(of: sequence.littleEndian, toByteOffset: 16, as: Int64.self)
            bytes.storeBytes(of: UInt64(payload.count).littleEndian, toByteOffset: 24, as: UInt64.self)
            bytes.storeBytes(of: payloadCRC.littleEndian, toByteOffset: 32, as: UInt32.self)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<60]))
            bytes.storeBytes(of: crc.littleEndian, toByteOffset: 60, as: UInt32.self)
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        try FileIO.check(fd, "open", temporary)
        defer { close(fd) }
        try writeAll(fd, header, temporary)
        try writeAll(fd, payload, temporary)
        try FileIO.syncData(fd, temporary)
        try FileIO.check(rename(temporary, path), "rename", temporary)
        try FileIO.syncDirectory(directory)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], _ path: String) throws(JournalError) {
        var failure: JournalError?
        bytes.withUnsafeBytes { raw in
            do throws(JournalError) { try FileIO.writeAll(fd, raw, path) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Reads and checks one snapshot; throws `corruptRecord` naming what is wrong.
    public static func read(path: String) throws(JournalError) -> (sequence: Int64, payload: [UInt8]) {
        try FileIO.withMappedFile(path) { (bytes) throws(JournalError) -> (Int64, [UInt8]) in
            guard bytes.count >= headerSize, magic.indices.allSatisfy({ bytes[$0] == magic[$0] }) else {
                throw .corruptRecord(path: path, offset: 0, reason: "not a snapshot file")
            }
            let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 60, as: UInt32.self))
            guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<60])) == stored else {
                throw .corruptRecord(path: path, offset: 0, reason: "snapshot header checksum mismatch")
            }
            let sequence = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: Int64.self))
            let length = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
            let payloadCRC = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 32, as: UInt32.self))
            guard length == UInt64(bytes.count - headerSize) else {
                throw .corruptRecord(
                    path: path, offset: headerSize,
                    reason: "payload is \(bytes.count - headerSize) bytes, header says \(length)")
            }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[headerSize...])
            guard CRC32C.checksum(payload) == payloadCRC else {
                throw .corruptRecord(path: path, offset: headerSize, reason: "snapshot payload checksum mismatch")
            }
            return (sequence, Array(payload))
        }
    }

    /// Keeps the newest `keep` snapshots and deletes the others, then deletes every journal
    /// segment whose records all come before the oldest snapshot kept. Returns the files
    /// deleted.
    @discardableResult
    public static func prune(directory: String, keep: Int) throws(JournalError) -> [String] {
        let snapshots = try list(directory: directory)
        guard keep >= 1, snapshots.count >= keep else { return [] }
        var deleted: [String] = []
        for old in snapshots.dropFirst(keep) {
            try FileIO.remove(old.path)
            deleted.append(old.path)
        }
        let oldestKept = snapshots[keep - 1].sequence
        let segments = try JournalReader.segments(in: directory)
        for (position, segment) in segments.enumerated().dropLast()
        where segments[position + 1].firstSequence <= oldestKept {
            try FileIO.remove(segment.path)
            deleted.append(segment.path)
        }
        if !deleted.isEmpty { try FileIO.syncDirectory(directory) }
        return deleted
    }
}
