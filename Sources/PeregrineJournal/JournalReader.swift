import PeregrineModel

/// One segment file of a journal.
public struct JournalSegment: Equatable, Sendable {
    public var path: String
    public var firstSequence: Int64
    public var byteCount: Int
    /// Every byte is zero: the file was made (and sized) but its header never written, as a
    /// power cut can leave a new segment on file systems that extend a file before its data.
    public var headerUnwritten = false
}

/// A torn record at the end of the newest segment: what a crash mid-write leaves.
public struct TornTail: Equatable, Sendable {
    public var path: String
    /// Where the torn record starts; the segment is valid up to here.
    public var offset: Int
    /// Bytes from `offset` to the end of the file.
    public var bytes: Int
    public var reason: String
}

/// What reading a journal found.
public struct JournalScan: Equatable, Sendable {
    public var directory: String
    public var segments: [JournalSegment]
    /// Sequence of the first record the read delivered or skipped past (the first segment's
    /// first sequence when the journal is empty).
    public var firstSequence: Int64
    /// One past the last valid record: where appending continues.
    public var nextSequence: Int64
    /// Valid records read (including those skipped before `from`).
    public var records: Int
    /// Records per event kind among those delivered.
    public var recordsByKind: [EventKind: Int]
    public var tornTail: TornTail?
}

/// Reads and checks journal directories. Every record's checksum, framing and sequence are
/// checked as it is read from a read-only memory map. Stateless; thread-safe.
public enum JournalReader {
    /// The segments of `directory` in sequence order, with their headers checked. An empty or
    /// missing directory has none.
    public static func segments(in directory: String) throws(JournalError) -> [JournalSegment] {
        guard FileIO.exists(directory) else { return [] }
        var segments: [JournalSegment] = []
        for name in try FileIO.listDirectory(directory) {
            guard let first = JournalFormat.firstSequence(ofSegmentNamed: name) else { continue }
            let path = directory + "/" + name
            if FileIO.isDirectory(path) { throw .badHeader(path: path, reason: "a directory, not a segment file") }
            // The header and the length it was read from, together: a writer may be creating this
            // segment right now (a snapshot thread lists segments while the journal rolls).
            let (header, mappedBytes, blank) = try FileIO.withMappedFile(path) { bytes in
                let header = JournalFormat.decodeHeader(bytes)
                let invalid = if case .invalid = header { true } else { false }
                return (header, bytes.count, invalid && !bytes.contains { $0 != 0 })
            }
            switch header {
            case .invalid(let reason):
                // A header cut short by a crash (or not yet written) right after the segment was
                // created, or never written at all (zeros).
                if mappedBytes < JournalFormat.headerSize || blank {
                    segments.append(
                        JournalSegment(
                            path: path, firstSequence: first, byteCount: mappedBytes, headerUnwritten: blank))
                    continue
                }
                throw .badHeader(path: path, reason: reason)
            case .unsupportedVersion(let version):
                throw .unsupportedVersion(
                    path: path, kind: .segment, found: version, readable: JournalFormat.version...JournalFormat.version)
            case .valid(let sequence):
                guard sequence == first else {
                    throw .badHeader(path: path, reason: "header says first sequence \(sequence), name says \(first)")
                }
            }
            segments.append(JournalSegment(path: path, firstSequence: first, byteCount: try FileIO.size(path)))
        }
        return segments.sorted { $0.firstSequence < $1.firstSequence }
    }

    /// Reads the journal in order, calling `body` with each record whose sequence is in
    /// `from...through`, and stops when `body` returns false. Segments wholly before `from`
    /// are not read. A torn record at the end of the newest segment ends the read and is
    /// reported in the result; any other bad record, header or gap throws, naming the file and
    /// byte offset. Does not change the journal (see `repair`).
    ///
    /// With `checkEveryRecord`, segments before `from` are read too (checksums and sequences
    /// checked, nothing decoded), so that damage anywhere in the journal is found.
    public static func read(
        directory: String, from: Int64 = 0, through: Int64 = .max, checkEveryRecord: Bool = false,
        _ body: (Int64, Event) throws(JournalError) -> Bool = { _, _ in true }
    ) throws(JournalError) -> JournalScan {
        let segments = try segments(in: directory)
        var scan = JournalScan(
            directory: directory, segments: segments, firstSequence: segments.first?.firstSequence ?? 0,
            nextSequence: segments.first?.firstSequence ?? 0, records: 0, recordsByKind: [:], tornTail: nil)
        try checkStart(directory: directory, segments: segments)
        var stopped = false
        var kindCounts = [Int](repeating: 0, count: 256)
        for (position, segment) in segments.enumerated() {
            let isNewest = position == segments.count - 1
            if segment.firstSequence != scan.nextSequence {
                throw missing(
                    directory: directory, from: scan.nextSequence, before: segment,
                    previous: position > 0 ? segments[position - 1] : nil)
            }
            // (A segment of zeros before the newest is refused below, not passed by as read.)
            if !isNewest, !checkEveryRecord, !segment.headerUnwritten, segments[position + 1].firstSequence <= from {
                // Wholly before `from`: not read, but its size must hold exactly the records up to
                // the next segment's first (a truncated or missing segment shows here).
                let next = segments[position + 1].firstSequence
                let held = Int64(Swift.max(0, segment.byteCount - JournalFormat.headerSize) / JournalFormat.recordSize)
                let whole = (segment.byteCount - JournalFormat.headerSize) % JournalFormat.recordSize == 0
                if held > next - segment.firstSequence {
                    throw .sequenceGap(
                        path: segments[position + 1].path, offset: 0, expected: segment.firstSequence + held,
                        found: next)
                }
                if segment.byteCount < JournalFormat.headerSize || !whole || held != next - segment.firstSequence {
                    let end = segment.firstSequence + held
                    throw .missingRecords(
                        path: segment.path, first: Swift.min(end, next - 1), last: next - 1,
                        reason: "the segment is \(segment.byteCount) bytes, room for \(held) record(s) from "
                            + "\(segment.firstSequence), but the next segment starts at \(next) (truncated or "
                            + "missing segment)")
                }
                scan.records += Int(next - segment.firstSequence)
                scan.nextSequence = next
                continue
            }
            if segment.byteCount < JournalFormat.headerSize || segment.headerUnwritten {
                guard isNewest else {
                    throw .badHeader(
                        path: segment.path,
                        reason: segment.headerUnwritten
                            ? "\(segment.byteCount) bytes, all zeros: its header was never written"
                            : "\(segment.byteCount) bytes, shorter than a header")
                }
                scan.tornTail = TornTail(
                    path: segment.path, offset: 0, bytes: segment.byteCount,
                    reason: segment.headerUnwritten
                        ? "segment header never written (all zeros)" : "segment header cut short")
                break
            }
            try FileIO.withMappedFile(segment.path) { (bytes) throws(JournalError) in
                var offset = JournalFormat.headerSize
                while offset < bytes.count, !stopped {
                    let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
                    switch JournalFormat.checkRecord(rest) {
                    case .valid(let sequence):
                        guard sequence == scan.nextSequence else {
                            throw .sequenceGap(
                                path: segment.path, offset: offset, expected: scan.nextSequence, found: sequence)
                        }
                        if sequence >= from {
                            if sequence > through {
                                stopped = true
                                break
                            }
                            let event: Event
                            do { event = try JournalFormat.decodeEvent(rest) } catch {
                                throw .corruptRecord(path: segment.path, offset: offset, reason: "\(error)")
                            }
                            kindCounts[Int(event.payload.kind.rawValue)] &+= 1
                            if try !body(sequence, event) { stopped = true }
                        }
                        scan.records += 1
                        scan.nextSequence = sequence + 1
                        offset += JournalFormat.recordSize
                    case .short(let available):
                        guard isNewest else {
                            throw .corruptRecord(
                                path: segment.path, offset: offset,
                                reason: "segment ends \(available) bytes into a record, and a newer segment exists")
                        }
                        scan.tornTail = TornTail(
                            path: segment.path, offset: offset, bytes: available,
                            reason: "last record cut short (\(available) of \(JournalFormat.recordSize) bytes)")
                        return
                    case .invalid(let reason):
                        let lastSlot = offset + JournalFormat.recordSize >= bytes.count
                        guard isNewest, lastSlot || rest.allSatisfy({ $0 == 0 }) else {
                            throw .corruptRecord(path: segment.path, offset: offset, reason: reason)
                        }
                        scan.tornTail = TornTail(
                            path: segment.path, offset: offset, bytes: rest.count, reason: "last record torn: \(reason)"
                        )
                        return
                    }
                }
            }
            if stopped { break }
        }
        for kind in EventKind.allCases where kindCounts[Int(kind.rawValue)] > 0 {
            scan.recordsByKind[kind] = kindCounts[Int(kind.rawValue)]
        }
        return scan
    }

    /// A journal whose first segment starts after 0 must have been pruned by peregrine, up to
    /// at least that segment (`PruneMarker`); otherwise its first segments were lost.
    static func checkStart(directory: String, segments: [JournalSegment]) throws(JournalError) {
        guard let first = segments.first, first.firstSequence > 0 else { return }
        let retained = try PruneMarker.load(directory: directory)
        guard let retained, first.firstSequence <= retained else {
            let from = retained ?? 0
            throw .missingRecords(
                path: directory + "/" + JournalFormat.segmentName(firstSequence: from), first: from,
                last: first.firstSequence - 1,
                reason: retained == nil
                    ? "the journal's first segment starts at \(first.firstSequence) but the journal was never pruned "
                        + "(no \(PruneMarker.fileName)); its first segment(s) were deleted"
                    : "\(PruneMarker.fileName) says the journal holds records from \(from) on, but its first segment "
                        + "starts at \(first.firstSequence)")
        }
    }

    /// The error for a segment that does not start where the journal before it ended.
    static func missing(
        directory: String, from expected: Int64, before segment: JournalSegment, previous: JournalSegment?
    ) -> JournalError {
        guard segment.firstSequence > expected else {
            return .sequenceGap(path: segment.path, offset: 0, expected: expected, found: segment.firstSequence)
        }
        // Named by the segment that ends early (no file holds the missing records).
        guard let previous else {
            return .missingRecords(
                path: directory, first: expected, last: segment.firstSequence - 1,
                reason: "\(segment.path) starts at \(segment.firstSequence): a segment is missing")
        }
        return .missingRecords(
            path: previous.path, first: expected, last: segment.firstSequence - 1,
            reason: "it ends at record \(expected - 1) and the next segment, \(segment.path), starts at "
                + "\(segment.firstSequence): it was truncated, or the segment after it ("
                + "\(JournalFormat.segmentName(firstSequence: expected))) is missing")
    }

    /// The stored checksum of record `sequence` (a valid record with that sequence), or nil
    /// when the journal does not hold it. Reads one record.
    public static func storedChecksum(
        ofRecord sequence: Int64, segments: [JournalSegment]
    ) throws(JournalError) -> UInt32? {
        guard let segment = segments.last(where: { $0.firstSequence <= sequence }) else { return nil }
        let offset = JournalFormat.headerSize + Int(sequence - segment.firstSequence) * JournalFormat.recordSize
        guard offset + JournalFormat.recordSize <= segment.byteCount else { return nil }
        return try FileIO.withMappedFile(segment.path) { bytes -> UInt32? in
            guard offset + JournalFormat.recordSize <= bytes.count else { return nil }
            let record = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + JournalFormat.recordSize])
            guard case .valid(let found) = JournalFormat.checkRecord(record), found == sequence else { return nil }
            return UInt32(littleEndian: record.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        }
    }

    /// Makes records `from...through` durable (`fdatasync` of every segment holding one),
    /// whatever the durability policy the writer runs under, and returns the stored checksum of
    /// record `through`. Throws `missingRecords` when the journal does not hold it. Safe while a
    /// writer appends (it only syncs and reads what is already written).
    public static func makeDurable(directory: String, from: Int64, through: Int64) throws(JournalError) -> UInt32 {
        let segments = try segments(in: directory)
        for (position, segment) in segments.enumerated() {
            let end = position + 1 < segments.count ? segments[position + 1].firstSequence : Int64.max
            guard end > from, segment.firstSequence <= through else { continue }
            let fd = try FileIO.openForReading(segment.path)
            defer { _ = closeFile(fd) }
            try FileIO.syncData(fd, segment.path)
        }
        guard let checksum = try storedChecksum(ofRecord: through, segments: segments) else {
            throw .missingRecords(
                path: directory, first: through, last: through, reason: "a snapshot needs it and it is not written")
        }
        return checksum
    }

    /// Cuts a torn tail off (the segment then ends at its last valid record) and makes that
    /// durable. Returns the bytes removed.
    @discardableResult
    public static func repair(_ scan: JournalScan) throws(JournalError) -> Int {
        guard let torn = scan.tornTail else { return 0 }
        if torn.offset < JournalFormat.headerSize {
            try FileIO.remove(torn.path)
        } else {
            try FileIO.truncate(torn.path, to: torn.offset)
            let fd = try FileIO.openForReading(torn.path)
            defer { _ = closeFile(fd) }
            try FileIO.syncData(fd, torn.path)
        }
        try FileIO.syncDirectory(scan.directory)
        return torn.bytes
    }
}

#if canImport(Glibc)
    import Glibc
    private func closeFile(_ fd: Int32) -> Int32 { close(fd) }
#endif
