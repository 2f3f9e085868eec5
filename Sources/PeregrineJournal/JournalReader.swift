import PeregrineModel

/// One segment file of a journal.
public struct JournalSegment: Equatable, Sendable {
    public var path: String
    public var firstSequence: Int64
    public var byteCount: Int
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
            let header = try FileIO.withMappedFile(path) { bytes in JournalFormat.decodeHeader(bytes) }
            switch header {
            case .invalid(let reason):
                // A header cut short by a crash right after the segment was created.
                if try FileIO.size(path) < JournalFormat.headerSize {
                    segments.append(JournalSegment(path: path, firstSequence: first, byteCount: 0))
                    continue
                }
                throw .badHeader(path: path, reason: reason)
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
    public static func read(
        directory: String, from: Int64 = 0, through: Int64 = .max,
        _ body: (Int64, Event) throws(JournalError) -> Bool = { _, _ in true }
    ) throws(JournalError) -> JournalScan {
        let segments = try segments(in: directory)
        var scan = JournalScan(
            directory: directory, segments: segments, firstSequence: segments.first?.firstSequence ?? 0,
            nextSequence: segments.first?.firstSequence ?? 0, records: 0, recordsByKind: [:], tornTail: nil)
        var stopped = false
        var kindCounts = [Int](repeating: 0, count: 256)
        for (position, segment) in segments.enumerated() {
            let isNewest = position == segments.count - 1
            if segment.firstSequence != scan.nextSequence {
                throw .sequenceGap(
                    path: segment.path, offset: 0, expected: scan.nextSequence, found: segment.firstSequence)
            }
            if !isNewest, segments[position + 1].firstSequence <= from {
                // Wholly before `from`: trust the next segment's header for where it ends.
                scan.records += Int(segments[position + 1].firstSequence - segment.firstSequence)
                scan.nextSequence = segments[position + 1].firstSequence
                continue
            }
            if segment.byteCount < JournalFormat.headerSize {
                guard isNewest else {
                    throw .badHeader(path: segment.path, reason: "\(segment.byteCount) bytes, shorter than a header")
                }
                scan.tornTail = TornTail(
                    path: segment.path, offset: 0, bytes: segment.byteCount, reason: "segment header cut short")
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
