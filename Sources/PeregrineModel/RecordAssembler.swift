import PeregrineCore

/// Puts a record back together from its chunks, in a buffer allocated once: the chunks'
/// bytes are appended as they come (chunk 0 starts a record; a chunk out of order spoils it),
/// and the record's end checks that they are exactly its length (rounded up to whole chunks)
/// and match its checksum. Records over `capacity` bytes are refused (a source never writes
/// one). A record cut short (a crash between its chunks, then a new run's events) is dropped
/// by `abandon` or by the next chunk 0. Not thread-safe; allocation-free per chunk.
public struct RecordAssembler: ~Copyable {
    /// The largest record, in bytes: 57 whole chunks (a Router02 swap's record is 450 to 1,000).
    public static let capacity = 57 * RecordChunk.capacity

    @usableFromInline let buffer: UnsafeMutableRawBufferPointer
    /// Bytes of chunks since the last record's end.
    @usableFromInline var _length = 0

    public init() {
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.capacity, alignment: 16)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit { buffer.deallocate() }

    /// Bytes held since the last record's end.
    public var length: Int { _length }

    /// A length no record's chunks add up to: the record being assembled is spoilt.
    @usableFromInline static let spoilt = capacity &+ 2 &* RecordChunk.capacity
    /// The largest length a snapshot may hold (a spoilt record's).
    public static var spoiltLength: Int { spoilt }

    /// Appends chunk number `index` of a record (dropped, but still counted, past the capacity:
    /// the end then refuses the record). Returns true when chunk 0 found an unfinished record,
    /// which it drops.
    @inlinable
    public mutating func append(_ chunk: RecordChunk, index: UInt32) -> Bool {
        var dropped = false
        if index == 0 {
            dropped = _length > 0
            _length = 0
        } else if _length >= Self.spoilt || UInt32(truncatingIfNeeded: _length / RecordChunk.capacity) != index {
            _length = Self.spoilt
            return false
        }
        if _length &+ RecordChunk.capacity <= Self.capacity {
            chunk.withBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[_length...]).copyMemory(from: $0) }
        }
        _length &+= RecordChunk.capacity
        return dropped
    }

    /// Drops an unfinished record (another event came between its chunks and its end: a run
    /// stopped in the middle of it); returns whether there was one.
    @inlinable
    public mutating func abandon() -> Bool {
        guard _length > 0 else { return false }
        _length = 0
        return true
    }

    /// The record `end` closes (nil when the chunks do not make it up); the next chunk starts
    /// the next record. The bytes stay valid until then.
    @inlinable
    public mutating func finish(_ end: RecordEnd) -> UnsafeRawBufferPointer? {
        let length = Int(end.length)
        let held = _length
        _length = 0
        guard length <= Self.capacity, RecordEnd.chunks(forLength: length) &* RecordChunk.capacity == held else {
            return nil
        }
        let record = UnsafeRawBufferPointer(rebasing: buffer[..<length])
        return CRC32C.checksum(record) == end.checksum ? record : nil
    }

    /// The bytes held (for snapshots and the state hash).
    public func withHeldBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        body(UnsafeRawBufferPointer(rebasing: buffer[..<Swift.min(_length, Self.capacity)]))
    }

    /// Replaces what is held with `count` bytes from a snapshot (`held`, at most the capacity).
    public mutating func restore(length: Int, held: UnsafeRawBufferPointer) {
        _length = length
        UnsafeMutableRawBufferPointer(rebasing: buffer[..<held.count]).copyMemory(from: held)
    }
}

/// Turns `bytes` into the events of one record: its chunks (each with its index in the record
/// as the event's instrument: 0 starts a record), then its end (with `endInstrument`), each
/// stamped with `timestamp` and `exchangeTimestamp`. The caller writes them in one claim
/// (`RecordEnd.chunks(forLength:) + 1` slots).
@inlinable
public func forEachRecordEvent(
    _ bytes: UnsafeRawBufferPointer, type: RecordType, timestamp: UInt64, exchangeTimestamp: UInt64 = 0,
    endInstrument: InstrumentID = InstrumentID(0), _ body: (Event) -> Void
) {
    var offset = 0
    var index: UInt32 = 0
    while offset < bytes.count {
        let end = Swift.min(offset &+ RecordChunk.capacity, bytes.count)
        body(
            Event(
                timestamp: timestamp, exchangeTimestamp: exchangeTimestamp, instrument: InstrumentID(index),
                payload: .recordChunk(RecordChunk(UnsafeRawBufferPointer(rebasing: bytes[offset..<end])))))
        offset = end
        index &+= 1
    }
    body(
        Event(
            timestamp: timestamp, exchangeTimestamp: exchangeTimestamp, instrument: endInstrument,
            payload: .recordEnd(
                RecordEnd(type: type, length: UInt32(truncatingIfNeeded: bytes.count), checksum: CRC32C.checksum(bytes))
            )))
}
