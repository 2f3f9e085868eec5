import Foundation
import PeregrineCore
import PeregrineJournal
import PeregrineModel
import Testing

/// A fresh directory under the system temp directory, removed by `cleanUp`.
func temporaryDirectory(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "peregrine-\(name)-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func cleanUp(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

/// Events of every kind, deterministic for a seed.
func sampleEvents(_ count: Int, seed: UInt64 = 1) -> [Event] {
    var random = SplitMix64(seed: seed)
    return (0..<count).map { index in
        let value = random.next()
        let price = Price(ticks: Int64(bitPattern: random.next()) >> 8)
        let quantity = Quantity(lots: Int64(random.next() >> 2))
        let side: Side = value & 1 == 0 ? .buy : .sell
        let payload: EventPayload
        switch index % 6 {
        case 0: payload = .levelUpdate(LevelUpdate(side: side, price: price, quantity: quantity))
        case 1: payload = .trade(Trade(price: price, quantity: quantity, aggressor: side, tradeID: value))
        case 2: payload = .quote(Quote(bidPrice: price, bidQuantity: quantity, askPrice: price, askQuantity: quantity))
        case 3:
            payload = .transaction(
                Transaction(
                    id: value, instrument: InstrumentID(3), side: side, price: price, quantity: quantity,
                    origin: .observed, priorityFee: 7))
        case 4: payload = .timer(TimerFire(timerID: value, deadline: value >> 3))
        default:
            payload = .order(
                .limit(
                    OrderID(value), account: AccountID(9), side, price: price, quantity: quantity,
                    timeInForce: .fillOrKill))
        }
        return Event(
            timestamp: random.next(), exchangeTimestamp: UInt64(index), instrument: InstrumentID(UInt32(index % 5)),
            payload: payload)
    }
}

func writeJournal(_ directory: String, _ events: [Event], from first: Int64 = 0, segmentBytes: Int = 1 << 20) throws {
    var writer = try JournalWriter.open(directory: directory, nextSequence: first, segmentBytes: segmentBytes)
    for (offset, event) in events.enumerated() {
        try writer.append(event, sequence: first + Int64(offset))
        if offset % 37 == 36 { try writer.commit() }
    }
    try writer.commit()
    try writer.sync()
}

func readAll(_ directory: String) throws -> (JournalScan, [(Int64, Event)]) {
    var records: [(Int64, Event)] = []
    let scan = try JournalReader.read(directory: directory) { sequence, event in
        records.append((sequence, event))
        return true
    }
    return (scan, records)
}

@Suite("Journal")
struct JournalTests {
    @Test func everyRecordTypeRoundTripsAcrossSegments() throws {
        let directory = temporaryDirectory("roundtrip")
        defer { cleanUp(directory) }
        let events = sampleEvents(600)
        try writeJournal(directory, events, from: 1_000, segmentBytes: 4_096)
        // A journal that starts after 0 is one that was pruned: without the marker that says
        // so, it is a journal that lost its first segment.
        #expect(
            throws: JournalError.missingRecords(
                path: directory + "/" + JournalFormat.segmentName(firstSequence: 0), first: 0, last: 999,
                reason: "the journal's first segment starts at 1000 but the journal was never pruned (no "
                    + "journal.pruned); its first segment(s) were deleted")
        ) { _ = try readAll(directory) }
        try PruneMarker.store(directory: directory, firstRetained: 1_000)
        let (scan, records) = try readAll(directory)
        #expect(records.map(\.0) == Array(1_000..<1_600))
        #expect(records.map(\.1) == events)
        // Segments roll at a commit boundary once past 4,096 bytes: commits of 37 records
        // (2,960 bytes) put 74 records in each, so 600 records take 9 segments.
        #expect(scan.segments.count == 9)
        #expect(scan.segments.map(\.firstSequence) == (0..<9).map { 1_000 + Int64($0) * 74 })
        #expect(scan.nextSequence == 1_600)
        #expect(scan.tornTail == nil)
        #expect(scan.recordsByKind[.order] == 100 && scan.recordsByKind[.timer] == 100)
        let sizes = scan.segments.map(\.byteCount)
        #expect(sizes.dropLast().allSatisfy { $0 == 64 + 74 * JournalFormat.recordSize })
    }

    @Test func readingFromAndThroughASequenceDeliversOnlyThatRange() throws {
        let directory = temporaryDirectory("range")
        defer { cleanUp(directory) }
        try writeJournal(directory, sampleEvents(500), segmentBytes: 4_096)
        var delivered: [Int64] = []
        let scan = try JournalReader.read(directory: directory, from: 123, through: 321) { sequence, _ in
            delivered.append(sequence)
            return true
        }
        #expect(delivered == Array(123...321))
        #expect(scan.nextSequence == 322)
    }

    @Test func aTruncatedLastRecordIsATornTailAtEveryByteOffset() throws {
        let events = sampleEvents(50)
        for cut in 0..<JournalFormat.recordSize {
            let directory = temporaryDirectory("torn")
            defer { cleanUp(directory) }
            try writeJournal(directory, events)
            let path = directory + "/" + JournalFormat.segmentName(firstSequence: 0)
            let full = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            let lastRecord = full - JournalFormat.recordSize
            try FileHandle(forWritingTo: URL(fileURLWithPath: path)).truncate(atOffset: UInt64(lastRecord + cut))
            let (scan, records) = try readAll(directory)
            #expect(records.count == 49)
            #expect(scan.nextSequence == 49)
            if cut == 0 {
                #expect(scan.tornTail == nil)
            } else {
                #expect(scan.tornTail?.path == path)
                #expect(scan.tornTail?.offset == lastRecord)
                #expect(scan.tornTail?.bytes == cut)
            }
            #expect(try JournalReader.repair(scan) == cut)
            // Appending continues at 49 in a new segment; the journal reads straight through.
            try writeJournal(directory, [events[49], events[0]], from: 49)
            let (after, again) = try readAll(directory)
            #expect(again.map(\.0) == Array(0...50))
            #expect(again.map(\.1) == events + [events[0]])
            #expect(after.tornTail == nil)
        }
    }

    @Test func aFlippedByteInTheLastRecordIsTornButMidSegmentItIsCorruption() throws {
        let directory = temporaryDirectory("flip")
        defer { cleanUp(directory) }
        try writeJournal(directory, sampleEvents(50))
        let path = directory + "/" + JournalFormat.segmentName(firstSequence: 0)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let lastRecord = bytes.count - JournalFormat.recordSize
        bytes[lastRecord + 40] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let (scan, records) = try readAll(directory)
        #expect(records.count == 49 && scan.tornTail?.offset == lastRecord)

        bytes[lastRecord + 40] ^= 0x10
        let middle = JournalFormat.headerSize + 20 * JournalFormat.recordSize
        bytes[middle + 30] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: JournalError.self) { _ = try readAll(directory) }
        do {
            _ = try readAll(directory)
        } catch let error as JournalError {
            guard case .corruptRecord(let errorPath, let offset, let reason) = error else {
                Issue.record("expected corruptRecord, got \(error)")
                return
            }
            #expect(errorPath == path && offset == middle)
            #expect(reason.hasPrefix("checksum mismatch"))
            #expect(error.description.contains("corrupt record at byte \(middle)"))
        }
    }

    @Test func aMissingSegmentIsNamedWithTheRecordsItHeld() throws {
        let directory = temporaryDirectory("gap")
        defer { cleanUp(directory) }
        try writeJournal(directory, sampleEvents(300), segmentBytes: 4_096)
        let segments = try JournalReader.segments(in: directory)
        try FileManager.default.removeItem(atPath: segments[1].path)
        #expect(
            throws: JournalError.missingRecords(
                path: segments[0].path, first: 74, last: 147,
                reason: "it ends at record 73 and the next segment, \(segments[2].path), starts at 148: it was "
                    + "truncated, or the segment after it (\((segments[1].path as NSString).lastPathComponent)) is "
                    + "missing")
        ) {
            _ = try readAll(directory)
        }
        // Reading from a later sequence skips the first segments, but checks their sizes.
        #expect(
            throws: JournalError.missingRecords(
                path: segments[0].path, first: 74, last: 147,
                reason: "the segment is \(segments[0].byteCount) bytes, room for 74 record(s) from 0, but the next "
                    + "segment starts at 148 (truncated or missing segment)")
        ) {
            _ = try JournalReader.read(directory: directory, from: 250)
        }
    }

    @Test func aTruncatedOlderSegmentIsRefusedEvenWhenSkipped() throws {
        let directory = temporaryDirectory("short")
        defer { cleanUp(directory) }
        try writeJournal(directory, sampleEvents(300), segmentBytes: 4_096)
        let segments = try JournalReader.segments(in: directory)
        // Cut the second segment to a record boundary: 10 records short.
        let cut = segments[1].byteCount - 10 * JournalFormat.recordSize
        #expect(truncate(segments[1].path, off_t(cut)) == 0)
        #expect(
            throws: JournalError.missingRecords(
                path: segments[1].path, first: 138, last: 147,
                reason: "it ends at record 137 and the next segment, \(segments[2].path), starts at 148: it was "
                    + "truncated, or the segment after it (\(JournalFormat.segmentName(firstSequence: 138))) is "
                    + "missing")
        ) { _ = try readAll(directory) }
        #expect(throws: JournalError.self) { _ = try JournalReader.read(directory: directory, from: .max) }
    }

    /// A newest segment whose header was cut short (a crash right after it was created) is a
    /// torn tail of all its bytes: named with their count, and removed by repair.
    @Test func aNewestSegmentWithItsHeaderCutShortIsATornTailOfItsBytes() throws {
        let directory = temporaryDirectory("short-header")
        defer { cleanUp(directory) }
        try writeJournal(directory, sampleEvents(300), segmentBytes: 4_096)
        let newest = try #require(try JournalReader.segments(in: directory).last)
        #expect(truncate(newest.path, 30) == 0)
        let scan = try JournalReader.read(directory: directory)
        let torn = try #require(scan.tornTail)
        #expect(torn.path == newest.path && torn.offset == 0 && torn.bytes == 30)
        #expect(torn.reason == "segment header cut short")
        #expect(scan.nextSequence == newest.firstSequence)
        #expect(try JournalReader.repair(scan) == 30)
        #expect(!FileManager.default.fileExists(atPath: newest.path))
    }

    /// A newest segment of zeros (made and sized, its header never written: a power cut on a
    /// file system that extends a file before its data) is a torn tail of all its bytes too;
    /// an older one, or zeros followed by data, is a bad header.
    @Test func aNewestSegmentOfZerosIsATornTailAndAnOlderOneIsRefused() throws {
        let directory = temporaryDirectory("zero-header")
        defer { cleanUp(directory) }
        try writeJournal(directory, sampleEvents(300), segmentBytes: 4_096)
        let segments = try JournalReader.segments(in: directory)
        let newest = try #require(segments.last)
        let blank = directory + "/" + JournalFormat.segmentName(firstSequence: 300)
        #expect(FileManager.default.createFile(atPath: blank, contents: Data(count: 64)))
        let scan = try JournalReader.read(directory: directory)
        let torn = try #require(scan.tornTail)
        #expect(torn.path == blank && torn.offset == 0 && torn.bytes == 64)
        #expect(torn.reason == "segment header never written (all zeros)")
        #expect(scan.nextSequence == 300 && scan.records == 300)
        #expect(try JournalReader.repair(scan) == 64)
        #expect(!FileManager.default.fileExists(atPath: blank))
        // Zeros with a byte of data after them are no unwritten header.
        var dirty = Data(count: 200)
        dirty[150] = 1
        #expect(FileManager.default.createFile(atPath: blank, contents: dirty))
        #expect(throws: JournalError.self) { _ = try JournalReader.read(directory: directory) }
        try FileManager.default.removeItem(atPath: blank)
        // An older segment of zeros: records are missing, not a torn tail, also for a read
        // that starts after it (which passes older segments by on their sizes: zeros of the
        // size its records had).
        #expect(FileManager.default.createFile(atPath: newest.path, contents: Data(count: newest.byteCount)))
        #expect(FileManager.default.createFile(atPath: blank, contents: Data(count: 64)))
        #expect(throws: JournalError.self) { _ = try JournalReader.read(directory: directory) }
        #expect(throws: JournalError.self) { _ = try JournalReader.read(directory: directory, from: 300) }
    }

    @Test func aSnapshotIsTiedToTheRecordBeforeIt() throws {
        let directory = temporaryDirectory("snapshot")
        defer { cleanUp(directory) }
        try writeJournal(directory, sampleEvents(300), segmentBytes: 4_096)
        try SnapshotStore.write(directory: directory, sequence: 200, payload: [1, 2, 3])
        let segments = try JournalReader.segments(in: directory)
        let contents = try SnapshotStore.read(path: directory + "/" + SnapshotStore.fileName(sequence: 200))
        #expect(contents.sequence == 200 && contents.payload == [1, 2, 3])
        #expect(try SnapshotStore.mismatch(contents, segments: segments, journalEnd: 300) == nil)
        #expect(
            try SnapshotStore.mismatch(contents, segments: segments, journalEnd: 150)
                == "it covers records up to 199, but the journal ends at 149")
        // Another history: the same sequence numbers, other records.
        let other = temporaryDirectory("snapshot-other")
        defer { cleanUp(other) }
        try writeJournal(other, sampleEvents(300, seed: 2), segmentBytes: 4_096)
        let reason = try SnapshotStore.mismatch(
            contents, segments: try JournalReader.segments(in: other), journalEnd: 300)
        #expect(reason?.hasSuffix(": another history") == true)
        // A snapshot needs its record written: none at 400.
        #expect(throws: JournalError.self) {
            try SnapshotStore.write(directory: directory, sequence: 400, payload: [])
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/" + SnapshotStore.fileName(sequence: 400)))
    }

    @Test func snapshotVersionsAreReadAsWrittenAndOthersRefused() throws {
        let directory = temporaryDirectory("snapshot-version")
        defer { cleanUp(directory) }
        try writeJournal(directory, sampleEvents(10))
        try SnapshotStore.write(directory: directory, sequence: 10, payload: [9])
        let path = directory + "/" + SnapshotStore.fileName(sequence: 10)
        func rewrite(version: UInt8) throws {
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[8] = version  // header checksum redone
            let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<60])) }
            withUnsafeBytes(of: crc.littleEndian) { for (index, byte) in $0.enumerated() { bytes[60 + index] = byte } }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
        #expect(try SnapshotStore.read(path: path).journalRecordChecksum != nil)
        // Version 1 (before the record checksum): read, tied to the journal by sequence only.
        try rewrite(version: 1)
        let old = try SnapshotStore.read(path: path)
        #expect(old.sequence == 10 && old.payload == [9] && old.journalRecordChecksum == nil)
        #expect(
            try SnapshotStore.mismatch(old, segments: try JournalReader.segments(in: directory), journalEnd: 10) == nil)
        try rewrite(version: 9)
        #expect(
            throws: JournalError.unsupportedVersion(path: path, kind: .snapshot, found: 9, readable: 1...2)
        ) { _ = try SnapshotStore.read(path: path) }
        let message = JournalError.unsupportedVersion(path: path, kind: .snapshot, found: 9, readable: 1...2)
            .description
        #expect(
            message
                == "\(path): a snapshot of format version 9, written by a newer peregrine; this build reads versions 1 "
                + "to 2. Use the peregrine build that wrote it, or move the snapshot away: recovery then starts from "
                + "an older snapshot or the journal's first record")
    }

    @Test func aSegmentOfAnotherFormatVersionIsRefusedNamingBothVersions() throws {
        let directory = temporaryDirectory("segment-version")
        defer { cleanUp(directory) }
        try writeJournal(directory, sampleEvents(10))
        let path = try #require(try JournalReader.segments(in: directory).first).path
        func rewrite(version: UInt8) throws {
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[8] = version  // header checksum redone, so only the version differs
            let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<60])) }
            withUnsafeBytes(of: crc.littleEndian) { for (index, byte) in $0.enumerated() { bytes[60 + index] = byte } }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
        try rewrite(version: 2)
        #expect(throws: JournalError.unsupportedVersion(path: path, kind: .segment, found: 2, readable: 1...1)) {
            _ = try JournalReader.segments(in: directory)
        }
        #expect(throws: JournalError.unsupportedVersion(path: path, kind: .segment, found: 2, readable: 1...1)) {
            _ = try JournalReader.read(directory: directory) { _, _ in true }
        }
        #expect(
            JournalError.unsupportedVersion(path: path, kind: .segment, found: 2, readable: 1...1).description
                == "\(path): a journal segment of format version 2, written by a newer peregrine; this build reads "
                + "version 1. Read this journal with the peregrine build that wrote it (segments are never rewritten "
                + "in place), or start a new journal in another --journal directory")
        try rewrite(version: 0)
        #expect(
            JournalError.unsupportedVersion(path: path, kind: .segment, found: 0, readable: 1...1).description.contains(
                "format version 0, written by an older peregrine; this build reads version 1"))
        #expect(throws: JournalError.unsupportedVersion(path: path, kind: .segment, found: 0, readable: 1...1)) {
            _ = try JournalReader.segments(in: directory)
        }
        try rewrite(version: 1)
        #expect(try JournalReader.read(directory: directory) { _, _ in true }.records == 10)
    }

    @Test func pruningRecordsWhereTheJournalNowStarts() throws {
        let directory = temporaryDirectory("prune")
        defer { cleanUp(directory) }
        try writeJournal(directory, sampleEvents(300), segmentBytes: 4_096)
        try SnapshotStore.write(directory: directory, sequence: 160, payload: [])
        try SnapshotStore.write(directory: directory, sequence: 222, payload: [])
        let deleted = try SnapshotStore.prune(directory: directory, keep: 1)
        // Segments start at 0, 74, 148, 222, 296. The snapshot at 222 needs record 221 (in the
        // segment from 148) to match the journal: that segment stays, the two before it go.
        #expect(deleted.filter { $0.hasSuffix(".pgj") }.count == 2)
        #expect(try PruneMarker.load(directory: directory) == 148)
        let kept = try SnapshotStore.read(path: directory + "/" + SnapshotStore.fileName(sequence: 222))
        #expect(
            try SnapshotStore.mismatch(kept, segments: try JournalReader.segments(in: directory), journalEnd: 300)
                == nil)
        let (scan, records) = try readAll(directory)
        #expect(scan.firstSequence == 148 && records.first?.0 == 148 && scan.nextSequence == 300)
        // The marker's segment itself going missing is not pruning.
        try FileManager.default.removeItem(atPath: directory + "/" + JournalFormat.segmentName(firstSequence: 148))
        #expect(throws: JournalError.self) { _ = try readAll(directory) }
    }

    /// Pruning keeps the newest snapshots that read whole: a damaged newest snapshot is no
    /// fallback, so the snapshot before it stays, and the segments it needs; the damaged one is
    /// left for recovery to skip. With fewer whole snapshots than it keeps, nothing goes.
    @Test func pruningKeepsTheNewestWholeSnapshots() throws {
        let directory = temporaryDirectory("prune-damaged")
        defer { cleanUp(directory) }
        try writeJournal(directory, sampleEvents(300), segmentBytes: 4_096)
        for sequence: Int64 in [80, 160, 222] {
            try SnapshotStore.write(directory: directory, sequence: sequence, payload: [1, 2, 3])
        }
        let newest = directory + "/" + SnapshotStore.fileName(sequence: 222)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: newest)))
        bytes[bytes.count - 1] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: newest))
        // Segments start at 0, 74, 148, 222, 296. Two whole snapshots kept (160 and 80): 80
        // needs record 79, so only the segment from 0 goes.
        #expect(
            try SnapshotStore.prune(directory: directory, keep: 2) == [
                directory + "/" + JournalFormat.segmentName(firstSequence: 0)
            ])
        // One whole snapshot kept (160, which needs record 159): 80's snapshot goes, and the
        // segment from 74.
        #expect(
            try SnapshotStore.prune(directory: directory, keep: 1) == [
                directory + "/" + SnapshotStore.fileName(sequence: 80),
                directory + "/" + JournalFormat.segmentName(firstSequence: 74),
            ])
        #expect(try PruneMarker.load(directory: directory) == 148)
        #expect(FileManager.default.fileExists(atPath: newest))
        // A snapshot whose header says another sequence than its name is no fallback either.
        try FileManager.default.moveItem(
            atPath: directory + "/" + SnapshotStore.fileName(sequence: 160),
            toPath: directory + "/" + SnapshotStore.fileName(sequence: 170))
        #expect(try SnapshotStore.prune(directory: directory, keep: 1).isEmpty)
        #expect(try readAll(directory).0.firstSequence == 148)
    }

    /// A snapshot of another history (taken after another record than the journal's at its
    /// sequence) is skipped by recovery, so pruning does not count it either.
    @Test func pruningDoesNotCountAnotherHistorysSnapshot() throws {
        let directory = temporaryDirectory("prune-foreign")
        defer { cleanUp(directory) }
        try writeJournal(directory, sampleEvents(300), segmentBytes: 4_096)
        for sequence: Int64 in [160, 222] {
            try SnapshotStore.write(directory: directory, sequence: sequence, payload: [1, 2, 3])
        }
        // The newest one says it followed a record with another checksum (header CRC mended).
        let newest = directory + "/" + SnapshotStore.fileName(sequence: 222)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: newest)))
        bytes[36] ^= 0xFF
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<60])) }
        withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange(60..<64, with: $0) }
        try Data(bytes).write(to: URL(fileURLWithPath: newest))
        let foreign = try SnapshotStore.read(path: newest)
        #expect(
            try SnapshotStore.mismatch(foreign, segments: JournalReader.segments(in: directory), journalEnd: 300)?
                .hasSuffix("another history") == true)
        // Only 160 is usable: with one kept, the segments before the one holding record 159 go,
        // and nothing goes while two must be kept.
        #expect(try SnapshotStore.prune(directory: directory, keep: 2).isEmpty)
        #expect(
            try SnapshotStore.prune(directory: directory, keep: 1) == [
                directory + "/" + JournalFormat.segmentName(firstSequence: 0),
                directory + "/" + JournalFormat.segmentName(firstSequence: 74),
            ])
    }

    @Test func aSegmentWithABadHeaderIsRefused() throws {
        let directory = temporaryDirectory("header")
        defer { cleanUp(directory) }
        try writeJournal(directory, sampleEvents(10))
        let path = directory + "/" + JournalFormat.segmentName(firstSequence: 0)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[9] = 7
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: JournalError.badHeader(path: path, reason: "header checksum mismatch")) {
            _ = try readAll(directory)
        }
    }

    @Test func aWriterRefusesAnOutOfOrderSequence() throws {
        let directory = temporaryDirectory("order")
        defer { cleanUp(directory) }
        var writer = try JournalWriter.open(directory: directory, nextSequence: 5)
        try writer.append(sampleEvents(1)[0], sequence: 5)
        #expect(throws: JournalError.self) { try writer.append(sampleEvents(1)[0], sequence: 7) }
        try writer.commit()
        #expect(writer.committedSequence == 6)
    }
}

/// The `batch` policy's syncer: every interval that saw a commit, and as soon as its event
/// bound is reached (with an interval of an hour, only the bound can make it sync).
@Suite struct BackgroundSyncerTests {
    @Test func theEventBoundSyncsBeforeTheInterval() throws {
        let directory = temporaryDirectory("syncer")
        defer { cleanUp(directory) }
        let path = directory + "/segment"
        let fd = open(path, O_CREAT | O_WRONLY, 0o644)
        #expect(fd >= 0)
        defer { close(fd) }
        let syncer = try BackgroundSyncer(intervalMicroseconds: 3_600_000_000, events: 100, startSequence: 1)
        // 99 events committed: under the bound, and the hour is not up: nothing is synced.
        syncer.committed(through: 100, descriptor: fd, segmentChanged: true)
        usleep(50_000)
        #expect(syncer.syncs == 0)
        #expect(syncer.syncedSequence == 1)
        // The 100th: the syncer wakes and syncs everything committed.
        syncer.committed(through: 101, descriptor: fd, segmentChanged: false)
        var waited = 0
        while syncer.syncedSequence < 101, waited < 30_000 {
            usleep(1_000)
            waited += 1
        }
        #expect(syncer.syncedSequence == 101)
        #expect(syncer.syncs == 1)
        #expect(syncer.lastFailure == nil)
        // Stopping syncs what is left at once (no wait for the interval).
        syncer.committed(through: 150, descriptor: fd, segmentChanged: false)
        syncer.stop()
        #expect(syncer.syncedSequence == 150)
        #expect(syncer.syncs == 2)
    }
}
