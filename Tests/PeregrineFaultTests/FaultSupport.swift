import Foundation
import PeregrineTestSupport
import Testing

/// Scratch directories, journal files and the `peregrine` commands the fault tests drive.
/// Everything here treats the engine as a black box: the binary, its files and its output.
enum Faults {
    static func scratch(_ name: String) -> String {
        let path = NSTemporaryDirectory() + "peregrine-fault-\(name)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    static func copy(_ source: String, _ name: String) throws -> String {
        let target = NSTemporaryDirectory() + "peregrine-fault-\(name)-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: source, toPath: target)
        return target
    }

    static func files(_ directory: String, suffix: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(suffix) }.sorted()
            .map { directory + "/" + $0 }
    }

    static func size(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
    }

    static func truncate(_ path: String, to size: Int) {
        #expect(Foundation.truncate(path, off_t(size)) == 0, "truncate \(path) to \(size)")
    }

    static func flipByte(_ path: String, at offset: Int) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        let byte = try handle.read(upToCount: 1)?.first ?? 0
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: [byte ^ 0x5A])
    }

    /// The sequence in a segment or snapshot file name (`journal-<20 digits>.pgj`).
    static func sequence(inName path: String) -> Int {
        let name = (path as NSString).lastPathComponent
        return Int(name.filter(\.isNumber).suffix(20)) ?? -1
    }

    /// A count as the report prints it: 12,345.
    static func grouped(_ value: Int) -> String {
        let digits = String(value)
        var result = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(character)
        }
        return result
    }

    /// CRC-32C (Castagnoli), bit by bit: to rewrite a header field the way the engine would.
    static func crc32c(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }

    /// Sets a snapshot's or journal segment's format version to `version`, with a valid header
    /// checksum (both headers keep the version at byte 8 and the checksum at byte 60).
    static func setSnapshotVersion(_ path: String, to version: UInt16) throws {
        try setFormatVersion(path, to: version)
    }

    static func setFormatVersion(_ path: String, to version: UInt16) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[8] = UInt8(version & 0xFF)
        bytes[9] = UInt8(version >> 8)
        let crc = crc32c(bytes[0..<60])
        for index in 0..<4 { bytes[60 + index] = UInt8((crc >> (8 * UInt32(index))) & 0xFF) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static let recordSize = 80
    static let headerSize = 64

    static func run(
        _ arguments: [String], environment: [String: String] = [:],
        constraints: PeregrineCLI.Constraints = PeregrineCLI.Constraints()
    ) throws -> PeregrineCLI.Result {
        try PeregrineCLI.run(arguments, environment: environment, constraints: constraints)
    }

    /// The strategies every journal of these tests is written with: a market maker on the
    /// hosted instruments (orders, fills, positions), a follower on the market-data ones.
    static let strategies = ["--strategy", "market-maker", "--strategy", "large-trade-follower"]

    /// A short run that recovers from `journal`, appends 20 events (and a session end) and
    /// stops. Every journal of these tests is written with order flow 10% and `strategies`.
    static func recover(_ journal: String, _ extra: [String] = []) throws -> PeregrineCLI.Result {
        try run(
            [
                "run", "--max", "--max-events", "20", "--order-flow", "10", "--journal", journal, "--metrics-port", "0",
                "--wait", "yield",
            ] + strategies + extra)
    }

    /// Checks that a run's hashes are those a fresh `peregrine replay` of its journal gives.
    static func expectReplayMatches(
        _ run: PeregrineCLI.Result, journal: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let replay = try Faults.run(["replay", "--journal", journal])
        #expect(replay.status == 0, "replay: \(replay.error)", sourceLocation: sourceLocation)
        #expect(run.stateHash != nil && run.stateHash == replay.stateHash, sourceLocation: sourceLocation)
        #expect(run.outputHash != nil && run.outputHash == replay.outputHash, sourceLocation: sourceLocation)
    }

    /// A journal written by a real run: several 1 MB segments (13,107 records each) and
    /// snapshots every 15,000 events and at shutdown, with matching-engine order flow. Built
    /// once per test process; tests work on copies.
    static let base: Result<String, Error> = Result {
        let directory = scratch("base")
        let run = try Faults.run(
            [
                "run", "--max", "--max-events", "50000", "--segment-mb", "1", "--snapshot-every", "15000",
                "--order-flow", "10", "--seed", "3", "--journal", directory, "--metrics-port", "0", "--wait", "yield",
            ] + strategies)
        guard run.status == 0 else { throw BaseJournalError(text: run.error + run.output) }
        return directory
    }

    struct BaseJournalError: Error { var text: String }

    static func baseCopy(_ name: String) throws -> String { try copy(try base.get(), name) }
}
