import Foundation
import PeregrineCodec
import PeregrineCore
import Testing

@testable import PeregrineFeed

/// Gzip inputs (`GzipInflate`), fuzzed with gzip's own files: one to three members of 0 bytes to
/// 2.5 MiB (compressed, some cross the 1 MiB chunks the inflater reads in), then each file
/// whole, with bytes after its last member, cut anywhere in its last member, and with a byte of
/// its last member changed. Whole, the inflated bytes are the members' in turn; trailing bytes
/// and a cut are errors naming their exact offsets; a changed byte either inflates to the same
/// bytes (gzip's header has fields no checksum covers) or is an error naming that member's first
/// byte. Never a trap, never a hang, never other bytes.
@Suite struct GzipFuzzTests {
    /// `count` bytes of text (`compressible`: words; else random bytes), from `random`.
    static func payload(_ count: Int, compressible: Bool, _ random: inout SplitMix64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let words = Array("bid,ask,9681.92,0.67,1582329601096000,binance-futures,BTCUSDT\n".utf8)
        for index in 0..<count {
            bytes[index] =
                compressible
                ? words[Int(random.next(below: UInt64(words.count)))] : UInt8(truncatingIfNeeded: random.next())
        }
        return bytes
    }

    /// `bytes` compressed by `/bin/gzip` (one member).
    static func gzip(_ bytes: [UInt8], in directory: URL) throws -> [UInt8] {
        let path = directory.appendingPathComponent("member-\(UUID().uuidString)")
        try Data(bytes).write(to: path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-n", path.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let compressed = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path.path + ".gz")))
        try FileManager.default.removeItem(atPath: path.path + ".gz")
        return compressed
    }

    /// The bytes `GzipInflate` inflates `file` to, or its error's message.
    static func inflate(_ file: [UInt8], in directory: URL) throws -> Result<[UInt8], FeedError> {
        let path = directory.appendingPathComponent("input-\(UUID().uuidString).gz").path
        try Data(file).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fd: Int32
        do throws(FeedError) { fd = try GzipInflate.inflateToTemporaryFile(path) } catch { return .failure(error) }
        defer { close(fd) }
        let size = Int(lseek(fd, 0, SEEK_END))
        var bytes = [UInt8](repeating: 0, count: size)
        let read = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, size, 0) }
        #expect(read == size)
        return .success(bytes)
    }

    @Test func wholeCutTrailedAndChangedFilesInflateExactlyOrNameTheirOffsets() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("peregrine-gzip-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sizes = [0, 1, 4_096, (1 << 20) - 3, (1 << 20) + 17, 5 << 19]
        var random = SplitMix64(seed: 20_261_202)
        var changesFound = 0
        for round in 0..<12 {
            let count = 1 + Int(random.next(below: 3))
            var members: [[UInt8]] = []
            var payloads: [[UInt8]] = []
            for _ in 0..<count {
                let size = sizes[Int(random.next(below: UInt64(sizes.count)))]
                let bytes = Self.payload(size, compressible: random.next(below: 2) == 0, &random)
                payloads.append(bytes)
                members.append(try Self.gzip(bytes, in: directory))
            }
            let file = members.flatMap { $0 }
            let expected = payloads.flatMap { $0 }
            let lastStart = file.count - members[count - 1].count
            // Whole: every member in turn.
            #expect(try Self.inflate(file, in: directory).get() == expected, "round \(round)")
            // Bytes after the last member that do not begin another.
            let trailing = [UInt8(ascii: "x")] + Self.payload(Int(random.next(below: 64)), compressible: true, &random)
            switch try Self.inflate(file + trailing, in: directory) {
            case .success: Issue.record("round \(round): trailing bytes inflated")
            case .failure(let error):
                #expect(
                    error.message.hasSuffix(
                        "has bytes after its last gzip member, from byte \(file.count), that are not gzip data: cut "
                            + "them off, or inflate and compress the file again"), "round \(round): \(error.message)")
            }
            // Cut anywhere in the last member (after its first byte: a lone 1F is trailing bytes).
            let cut = lastStart + 2 + Int(random.next(below: UInt64(members[count - 1].count - 2)))
            let member = lastStart == 0 ? "it" : "its gzip member from byte \(lastStart) (the members before are whole)"
            switch try Self.inflate(Array(file[..<cut]), in: directory) {
            case .success: Issue.record("round \(round): a file cut at \(cut) of \(file.count) inflated")
            case .failure(let error):
                #expect(
                    error.message.hasSuffix(
                        "is not a complete gzip file: \(member) is cut short at byte \(cut): copy or download it again"),
                    "round \(round): \(error.message)")
            }
            // A byte of the last member changed.
            var changed = file
            let at = lastStart + Int(random.next(below: UInt64(members[count - 1].count)))
            changed[at] ^= UInt8(1 + random.next(below: 255))
            switch try Self.inflate(changed, in: directory) {
            case .success(let bytes): #expect(bytes == expected, "round \(round): byte \(at) changed")
            case .failure(let error):
                changesFound += 1
                #expect(
                    error.message.contains("\(member) is") || error.message.contains("is not a gzip file")
                        || error.message.contains("has bytes after its last gzip member, from byte \(lastStart),"),
                    "round \(round): byte \(at) changed: \(error.message)")
            }
        }
        // Changes were found (most bytes of a member are covered by its checksums).
        #expect(changesFound > 6)
    }
}
