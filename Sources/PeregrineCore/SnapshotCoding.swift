/// Errors from reading a snapshot's bytes.
public enum SnapshotError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes end before the value being read.
    case truncated(reading: String, at: Int)
    /// A value no state could hold (a count that does not fit, an unknown case).
    case invalid(field: String, value: Int64)
    /// Settings that differ from those the snapshot was taken with.
    case mismatch(String)
    /// Not a snapshot of this kind, or of another format version.
    case otherFormat(String)

    public var description: String {
        switch self {
        case .truncated(let reading, let offset): return "snapshot ends at byte \(offset) while reading \(reading)"
        case .invalid(let field, let value): return "snapshot holds an impossible \(field) (\(value))"
        case .mismatch(let reason): return "snapshot does not fit this engine: \(reason)"
        case .otherFormat(let reason): return "snapshot of another format: \(reason)"
        }
    }
}

/// Writes a snapshot: little-endian integers appended to a byte array. Off the hot path
/// (allocates as it grows).
public struct SnapshotEncoder: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(reservingCapacity capacity: Int = 1 << 16) { bytes.reserveCapacity(capacity) }

    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: Bool) { write(value ? 1 as UInt8 : 0) }
}

/// Reads what a `SnapshotEncoder` wrote, checking every read against the end.
public struct SnapshotDecoder: Sendable {
    public let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isAtEnd: Bool { offset == bytes.count }

    public mutating func read<T: FixedWidthInteger>(_: T.Type, _ field: String) throws(SnapshotError) -> T {
        let size = MemoryLayout<T>.size
        guard offset + size <= bytes.count else { throw .truncated(reading: field, at: offset) }
        let value = bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        offset += size
        return value
    }

    public mutating func readBool(_ field: String) throws(SnapshotError) -> Bool {
        try read(UInt8.self, field) != 0
    }

    /// A count of items that follow, each at least `minimumItemBytes` long: bounded by what
    /// is left, so a corrupt count cannot make the reader allocate without limit.
    public mutating func readCount(_ field: String, minimumItemBytes: Int = 1) throws(SnapshotError) -> Int {
        let value = try read(Int64.self, field)
        guard value >= 0, value <= Int64((bytes.count - offset) / Swift.max(minimumItemBytes, 1)) else {
            throw .invalid(field: field, value: value)
        }
        return Int(value)
    }
}
