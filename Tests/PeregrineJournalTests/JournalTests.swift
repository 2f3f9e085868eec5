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
            timestamp: random.next(), sourceSequence: UInt64(index), instrument: InstrumentID(UInt32(index % 5)),
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

    @Test func aMissingSegmentIsASequenceGap() throws {
        let directory = temporaryDirectory("gap")
        defer { cleanUp(directory) }
        try writeJournal(directory, sampleEvents(300), segmentBytes: 4_096)
        let segments = try JournalReader.segments(in: directory)
        try FileManager.default.removeItem(atPath: segments[1].path)
        #expect(
            throws: JournalError.sequenceGap(
                path: segments[2].path, offset: 0, expected: segments[1].firstSequence, found: segments[2].firstSequence
            )
        ) {
            _ = try readAll(directory)
        }
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
