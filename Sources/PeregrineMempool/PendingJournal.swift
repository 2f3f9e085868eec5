import PeregrineCore

#if canImport(Glibc)
    import Glibc
#endif

/// A journal of pending-transaction messages exactly as they arrived (signed bytes or hex
/// text), with their arrival times, so that `peregrine mempool run --source FILE` replays a
/// live feed through the same analysis. Little-endian:
///
/// ```
/// file header (32 bytes)
///   0  magic "PGMEMPL1"
///   8  Bloom filter capacity   u64   the live run's, so duplicates classify the same
///  16  first target block      u64
///  24  CRC-32C of bytes 0..<24 u32
///  28  reserved                u32 (0)
/// record, repeated
///   0  length                  u32   of the message
///   4  CRC-32C                 u32   over bytes 8..<16+length
///   8  arrival                 u64   engine ns
///  16  message                 length bytes
/// ```
///
/// Records are written ahead of their analysis into a 64 KiB buffer, which goes to the file
/// when full, when the feed is idle, and at `close` (then `fdatasync`). A crash loses at most
/// what was still buffered; a torn last record is reported and ignored by the reader.
public final class PendingJournalWriter {
    public static let magic: [UInt8] = Array("PGMEMPL1".utf8)
    public static let headerSize = 32
    public static let recordHeaderSize = 16
    /// Messages above this are not journaled (a signed transaction is at most 128 KiB on the
    /// network; twice that for hex text).
    public static let maxMessage = 1 << 18

    let descriptor: Int32
    let path: String
    var buffer: [UInt8] = []
    public private(set) var records = 0
    public private(set) var bytesWritten = 0

    public init(path: String, bloomCapacity: Int, firstBlock: UInt64) throws(PendingJournalError) {
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .io("cannot create \(path): \(String(cString: strerror(errno)))") }
        self.path = path
        buffer.reserveCapacity(1 << 17)
        var header = [UInt8](repeating: 0, count: Self.headerSize)
        header.replaceSubrange(0..<8, with: Self.magic)
        header.withUnsafeMutableBytes { bytes in
            bytes.storeBytes(of: UInt64(bloomCapacity).littleEndian, toByteOffset: 8, as: UInt64.self)
            bytes.storeBytes(of: firstBlock.littleEndian, toByteOffset: 16, as: UInt64.self)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<24]))
            bytes.storeBytes(of: crc.littleEndian, toByteOffset: 24, as: UInt32.self)
        }
        buffer.append(contentsOf: header)
        try flush()
    }

    deinit { Glibc.close(descriptor) }

    /// Appends one message; false when it is too large to journal (`maxMessage`).
    @discardableResult
    public func append(arrival: UInt64, _ message: UnsafeRawBufferPointer) throws(PendingJournalError) -> Bool {
        guard message.count <= Self.maxMessage else { return false }
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: Self.recordHeaderSize))
        buffer.append(contentsOf: message)
        buffer.withUnsafeMutableBytes { bytes in
            let record = UnsafeMutableRawBufferPointer(rebasing: bytes[start...])
            record.storeBytes(of: UInt32(message.count).littleEndian, toByteOffset: 0, as: UInt32.self)
            record.storeBytes(of: arrival.littleEndian, toByteOffset: 8, as: UInt64.self)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: record[8...]))
            record.storeBytes(of: crc.littleEndian, toByteOffset: 4, as: UInt32.self)
        }
        records += 1
        if buffer.count >= 1 << 16 { try flush() }
        return true
    }

    /// Writes what is buffered to the file (no sync).
    public func flush() throws(PendingJournalError) {
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { bytes in
                bytes.baseAddress.map { write(descriptor, $0 + offset, bytes.count - offset) } ?? 0
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw .io("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
        bytesWritten += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes the rest and makes the file durable.
    public func close() throws(PendingJournalError) {
        try flush()
        guard fdatasync(descriptor) == 0 else { throw .io("cannot sync \(path): \(String(cString: strerror(errno)))") }
    }
}

/// A pending-transaction journal read back (see `PendingJournalWriter` for the format).
public struct PendingJournal: Sendable {
    public struct Record: Sendable {
        public var arrival: UInt64
        public var offset: Int
        public var length: Int
    }

    public let bytes: [UInt8]
    public let bloomCapacity: Int
    public let firstBlock: UInt64
    public let records: [Record]
    /// Bytes after the last whole record (a write cut short by a crash), 0 normally.
    public let tornBytes: Int

    /// Whether `bytes` start like a pending-transaction journal.
    public static func isJournal(_ bytes: [UInt8]) -> Bool { bytes.starts(with: PendingJournalWriter.magic) }

    public init(path: String) throws(PendingJournalError) {
        guard let file = fopen(path, "rb") else {
            throw .io("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count == 0 { break }
            contents.append(contentsOf: chunk[0..<count])
        }
        try self.init(bytes: contents, name: path)
    }

    public init(bytes: [UInt8], name: String = "journal") throws(PendingJournalError) {
        let headerSize = PendingJournalWriter.headerSize
        guard bytes.count >= headerSize, Self.isJournal(bytes) else {
            throw .format("\(name) is not a pending-transaction journal (no PGMEMPL1 header)")
        }
        let (capacity, block, storedCRC, crc) = bytes.withUnsafeBytes { raw in
            (
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt32.self)),
                CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<24]))
            )
        }
        guard storedCRC == crc, capacity <= UInt64(Int.max) else { throw .format("\(name): the header is corrupt") }
        var records: [Record] = []
        var offset = headerSize
        let torn: Int = bytes.withUnsafeBytes { raw in
            while offset + PendingJournalWriter.recordHeaderSize <= raw.count {
                let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                let end = offset + PendingJournalWriter.recordHeaderSize + length
                guard length <= PendingJournalWriter.maxMessage, end <= raw.count else { break }
                let stored = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
                guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(offset + 8)..<end])) == stored else {
                    break
                }
                records.append(
                    Record(
                        arrival: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)),
                        offset: offset + PendingJournalWriter.recordHeaderSize, length: length))
                offset = end
            }
            return raw.count - offset
        }
        self.bytes = bytes
        bloomCapacity = Int(capacity)
        firstBlock = block
        self.records = records
        tornBytes = torn
    }
}

/// A pending-transaction journal that cannot be written or read.
public enum PendingJournalError: Error, Equatable, Sendable, CustomStringConvertible {
    case io(String)
    case format(String)

    public var description: String {
        switch self {
        case .io(let message), .format(let message): return message
        }
    }
}
