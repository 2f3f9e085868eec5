import Foundation
import PeregrineMempool
import Testing

/// The pending-transaction journal: messages read back as written, a torn tail ignored and
/// reported, a corrupt header refused.
struct PendingJournalTests {
    static func path(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(getpid()).pgmp").path
    }

    static func write(_ path: String, _ messages: [[UInt8]]) throws {
        let writer = try PendingJournalWriter(path: path, bloomCapacity: 12_345, firstBlock: 77)
        for (index, message) in messages.enumerated() {
            #expect(try message.withUnsafeBytes { try writer.append(arrival: UInt64(index) * 1_000 + 5, $0) })
        }
        try writer.close()
        #expect(writer.records == messages.count)
    }

    @Test func messagesReadBackAsWritten() throws {
        let path = Self.path("journal")
        defer { try? FileManager.default.removeItem(atPath: path) }
        // Sizes across the 64 KiB buffer boundary, an empty message, and a large one.
        let messages = (0..<600).map { index in
            (0..<(index == 7 ? 0 : index == 9 ? 200_000 : 100 + index % 300)).map {
                UInt8(truncatingIfNeeded: $0 &* 31 &+ index)
            }
        }
        try Self.write(path, messages)
        let journal = try PendingJournal(path: path)
        #expect(journal.bloomCapacity == 12_345)
        #expect(journal.firstBlock == 77)
        #expect(journal.tornBytes == 0)
        #expect(journal.records.map(\.arrival) == (0..<600).map { UInt64($0) * 1_000 + 5 })
        #expect(journal.records.map { Array(journal.bytes[$0.offset..<($0.offset + $0.length)]) } == messages)
        let tooLarge = [UInt8](repeating: 1, count: PendingJournalWriter.maxMessage + 1)
        let writer = try PendingJournalWriter(path: path, bloomCapacity: 1, firstBlock: 1)
        #expect(try tooLarge.withUnsafeBytes { try writer.append(arrival: 1, $0) } == false)
    }

    @Test func aTornTailIsIgnoredAndACorruptHeaderRefused() throws {
        let path = Self.path("torn")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let messages = (0..<10).map { [UInt8](repeating: UInt8($0), count: 50 + $0) }
        try Self.write(path, messages)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        // Cut the last record short: the first nine remain.
        let whole = try PendingJournal(bytes: Array(bytes.dropLast(3)))
        #expect(whole.records.count == 9)
        #expect(whole.tornBytes == 16 + 59 - 3)
        // A flipped byte in the fifth record's message: it and what follows are not trusted.
        let fifth = try PendingJournal(bytes: bytes).records[4]
        bytes[fifth.offset + 2] ^= 0xFF
        #expect(try PendingJournal(bytes: bytes).records.count == 4)
        bytes[9] ^= 0x01
        #expect(throws: PendingJournalError.format("journal: the header is corrupt")) {
            try PendingJournal(bytes: bytes)
        }
        #expect(throws: PendingJournalError.format("journal is not a pending-transaction journal (no PGMEMPL1 header)"))
        {
            try PendingJournal(bytes: Array("{\"block\":1}".utf8))
        }
    }
}
