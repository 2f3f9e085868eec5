import PeregrineCore
import PeregrineModel

/// The on-disk format of journal segments (version 1). All integers little-endian.
///
/// A journal is a directory of segments named `journal-<first sequence, 20 digits>.pgj`,
/// each an append-only file:
///
/// ```
/// segment header (64 bytes)
///   0  magic "PGJOURNL"
///   8  format version          u16 (1)
///  10  header size             u16 (64)
///  12  record header size      u16 (16)
///  14  reserved                u16 (0)
///  16  first sequence          i64   sequence of the segment's first record
///  24  created                 u64   wall-clock ns since 1970 (informational)
///  32  reserved                28 bytes (0)
///  60  CRC-32C of bytes 0..<60 u32
///
/// record (80 bytes), repeated
///   0  payload length          u32 (64)
///   4  CRC-32C                 u32   over bytes 8..<80: sequence and payload
///   8  sequence                i64   one more than the record before (segments follow on)
///  16  payload                 the Event's 64-byte wire encoding (Event+Codec.swift):
///                              type (kind) @16, format @17, instrument @20,
///                              ingress timestamp @24, source sequence @32, body @40
/// ```
///
/// A segment ends after its last whole record. Only the newest segment may end in a torn
/// record (a write cut short by a crash: too few bytes, or a checksum failure with nothing but
/// that record or zeros after it); recovery truncates it. Anything else that fails is corruption.
public enum JournalFormat {
    public static let magic: [UInt8] = Array("PGJOURNL".utf8)
    public static let version: UInt16 = 1
    public static let headerSize = 64
    @inlinable public static var recordHeaderSize: Int { 16 }
    @inlinable public static var payloadSize: Int { Event.encodedSize }
    @inlinable public static var recordSize: Int { recordHeaderSize + payloadSize }
    public static let segmentPrefix = "journal-"
    public static let segmentSuffix = ".pgj"

    /// `journal-00000000000000000042.pgj`
    public static func segmentName(firstSequence: Int64) -> String {
        let digits = String(firstSequence)
        return segmentPrefix + String(repeating: "0", count: Swift.max(0, 20 - digits.count)) + digits + segmentSuffix
    }

    /// The first sequence a segment file name announces, or nil for other names.
    public static func firstSequence(ofSegmentNamed name: String) -> Int64? {
        guard name.hasPrefix(segmentPrefix), name.hasSuffix(segmentSuffix) else { return nil }
        let digits = name.dropFirst(segmentPrefix.count).dropLast(segmentSuffix.count)
        guard digits.count == 20, digits.allSatisfy(\.isASCII), let value = Int64(digits) else { return nil }
        return value
    }

    /// Writes a segment header into the first 64 bytes of `bytes`.
    public static func encodeHeader(firstSequence: Int64, created: UInt64, into bytes: UnsafeMutableRawBufferPointer) {
        let header = UnsafeMutableRawBufferPointer(rebasing: bytes[0..<headerSize])
        header.initializeMemory(as: UInt8.self, repeating: 0)
        for (index, byte) in magic.enumerated() { header[index] = byte }
        header.storeBytes(of: version.littleEndian, toByteOffset: 8, as: UInt16.self)
        header.storeBytes(of: UInt16(headerSize).littleEndian, toByteOffset: 10, as: UInt16.self)
        header.storeBytes(of: UInt16(recordHeaderSize).littleEndian, toByteOffset: 12, as: UInt16.self)
        header.storeBytes(of: firstSequence.littleEndian, toByteOffset: 16, as: Int64.self)
        header.storeBytes(of: created.littleEndian, toByteOffset: 24, as: UInt64.self)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: header[0..<60]))
        header.storeBytes(of: crc.littleEndian, toByteOffset: 60, as: UInt32.self)
    }

    /// What a segment header holds.
    public enum HeaderCheck: Equatable, Sendable {
        case valid(firstSequence: Int64)
        case invalid(String)
        /// A Peregrine segment header of another format version.
        case unsupportedVersion(UInt16)
    }

    /// The first sequence in a segment header, or the reason it is not a valid header.
    public static func decodeHeader(_ bytes: UnsafeRawBufferPointer) -> HeaderCheck {
        guard bytes.count >= headerSize else { return .invalid("file is \(bytes.count) bytes, shorter than a header") }
        for (index, byte) in magic.enumerated() where bytes[index] != byte {
            return .invalid("no PGJOURNL magic at the start")
        }
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 60, as: UInt32.self))
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<60])) == stored else {
            return .invalid("header checksum mismatch")
        }
        let version = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
        guard version == Self.version else {
            return .unsupportedVersion(version)
        }
        let size = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 10, as: UInt16.self))
        let recordHeader = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt16.self))
        guard Int(size) == headerSize, Int(recordHeader) == recordHeaderSize else {
            return .invalid("header size \(size) / record header size \(recordHeader) not the v1 sizes")
        }
        return .valid(firstSequence: Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: Int64.self)))
    }

    /// Writes one record (80 bytes) at the start of `bytes`. Allocation-free.
    @inlinable
    public static func encodeRecord(_ event: Event, sequence: Int64, into bytes: UnsafeMutableRawBufferPointer)
        throws(ModelError)
    {
        try event.encode(into: UnsafeMutableRawBufferPointer(rebasing: bytes[recordHeaderSize..<recordSize]))
        bytes.storeBytes(of: UInt32(payloadSize).littleEndian, toByteOffset: 0, as: UInt32.self)
        bytes.storeBytes(of: sequence.littleEndian, toByteOffset: 8, as: Int64.self)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[8..<recordSize]))
        bytes.storeBytes(of: crc.littleEndian, toByteOffset: 4, as: UInt32.self)
    }

    /// What a record slot holds.
    public enum RecordCheck: Equatable, Sendable {
        case valid(sequence: Int64)
        /// Fewer bytes than a record: a torn write if at the end of the newest segment.
        case short(available: Int)
        /// Framing or checksum wrong.
        case invalid(String)
    }

    /// Checks the record at the start of `bytes` (framing and checksum), without decoding it.
    @inlinable
    public static func checkRecord(_ bytes: UnsafeRawBufferPointer) -> RecordCheck {
        guard bytes.count >= recordSize else { return .short(available: bytes.count) }
        let length = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        guard length == UInt32(payloadSize) else {
            return .invalid("payload length \(length), expected \(payloadSize)")
        }
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[8..<recordSize]))
        guard stored == computed else {
            return .invalid(
                "checksum mismatch (stored \(CRC32C.text(stored)), computed \(CRC32C.text(computed)))")
        }
        return .valid(sequence: Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: Int64.self)))
    }

    /// Decodes the event of a record that `checkRecord` found valid.
    @inlinable
    public static func decodeEvent(_ bytes: UnsafeRawBufferPointer) throws(ModelError) -> Event {
        try Event(decoding: UnsafeRawBufferPointer(rebasing: bytes[recordHeaderSize..<recordSize]))
    }
}

extension JournalFormat {
    /// For messages: "durable through sequence N" for the last durable record before `next`,
    /// or "nothing durable yet" (never a sequence of -1).
    public static func durableText(next: Int64) -> String {
        next > 0 ? "durable through sequence \(next - 1)" : "nothing durable yet"
    }

    /// For messages after a record count: ", sequences F...L" for the records from `first`
    /// before `next`, or nothing when there are none.
    public static func rangeText(first: Int64, next: Int64) -> String {
        next > first ? ", sequences \(first)...\(next - 1)" : ""
    }

    /// For messages: "the journal ends at N" for its last record before `next`, or "the journal
    /// holds no record".
    public static func endText(next: Int64) -> String {
        next > 0 ? "the journal ends at \(next - 1)" : "the journal holds no record"
    }
}
