import Foundation
import PeregrineCore
import PeregrineEngine
import PeregrineJournal
import Synchronization
import Testing

/// Kills `peregrine run` with SIGKILL at random moments and restarts it on the same journal.
@Suite("Crash recovery", .serialized)
struct CrashRecoveryTests {
    /// Collects a child process's standard output lines as they arrive.
    final class LineCollector: @unchecked Sendable {
        private let lines = Mutex<[String]>([])
        private let partial = Mutex<String>("")

        func append(_ data: Data) {
            let text = String(decoding: data, as: UTF8.self)
            partial.withLock { buffer in
                buffer += text
                var complete: [String] = []
                while let newline = buffer.firstIndex(of: "\n") {
                    complete.append(String(buffer[..<newline]))
                    buffer = String(buffer[buffer.index(after: newline)...])
                }
                lines.withLock { $0 += complete }
            }
        }

        var snapshot: [String] { lines.withLock { $0 } }
    }

    /// The largest "durable N" a status line has shown: events acknowledged as durable.
    static func acknowledged(_ lines: [String]) -> Int64 {
        var best: Int64 = 0
        for line in lines {
            guard let range = line.range(of: " durable ") else { continue }
            let digits = line[range.upperBound...].prefix { $0.isNumber || $0 == "," }.filter(\.isNumber)
            if let value = Int64(digits) { best = max(best, value) }
        }
        return best
    }

    @Test func everyDurableEventSurvivesSIGKILLAndRecoveryMatchesAReplay() throws {
        let binary = CommandLineTests.binary
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            Issue.record("peregrine binary not found at \(binary.path)")
            return
        }
        let directory = NSTemporaryDirectory() + "peregrine-crash-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let arguments = [
            "run", "--rate", "200000", "--durability", "every", "--journal", directory, "--status-interval", "0.05",
            "--wait", "yield", "--order-flow", "10",
        ]
        var random = SplitMix64(seed: UInt64(Date().timeIntervalSince1970))
        var previousNext: Int64 = 0
        for round in 0..<4 {
            let process = Process()
            process.executableURL = binary
            process.arguments = arguments + ["--duration", "60"]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            let collector = LineCollector()
            output.fileHandleForReading.readabilityHandler = { collector.append($0.availableData) }
            try process.run()
            // Wait until it has recovered and acknowledged new events, let it run another
            // 0.1–0.9 s, then kill it without warning.
            let deadline = Date().addingTimeInterval(30)
            while Self.acknowledged(collector.snapshot) <= previousNext, Date() < deadline {
                Thread.sleep(forTimeInterval: 0.01)
            }
            Thread.sleep(forTimeInterval: 0.1 + Double(random.next(below: 800)) / 1_000)
            let acknowledged = Self.acknowledged(collector.snapshot)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            output.fileHandleForReading.readabilityHandler = nil
            #expect(process.terminationReason == .uncaughtSignal)
            #expect(acknowledged > previousNext, "round \(round): no progress acknowledged")

            // Every acknowledged event is in the journal, in sequence, once (the reader checks
            // checksums and that sequences follow on; a torn last record is reported, not read).
            var sequences: [Int64] = []
            let scan = try JournalReader.read(directory: directory) { sequence, _ in
                sequences.append(sequence)
                return true
            }
            #expect(sequences.first == 0)
            #expect(sequences == Array(0..<Int64(sequences.count)))
            #expect(
                scan.nextSequence >= acknowledged,
                "round \(round): acknowledged \(acknowledged), journal has \(scan.nextSequence)")
            previousNext = scan.nextSequence
        }

        // A last clean run recovers, continues and stops; its hashes equal a replay's.
        let final = Process()
        final.executableURL = binary
        final.arguments = arguments + ["--duration", "0.5"]
        let output = Pipe()
        final.standardOutput = output
        try final.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        final.waitUntilExit()
        #expect(final.terminationStatus == 0)
        #expect(text.contains("recovery          replayed \(grouped(previousNext)) events"))
        let stateLine = text.split(separator: "\n").first { $0.hasPrefix("state hash: ") }
        let outputLine = text.split(separator: "\n").first { $0.hasPrefix("output hash: ") }

        let configuration = try JournalReplay.configuration(for: directory, base: EngineConfiguration())
        var logic = try EngineLogic(configuration: configuration, strategy: PipelineTests.follower)
        var outputs = HashingOutputs()
        let replay = try JournalReplay.replay(directory: directory, into: &logic, outputs: &outputs, repair: false)
        #expect(replay.tornTail == nil)
        #expect(stateLine.map(String.init) == "state hash: \(hexHash(replay.stateHash))")
        #expect(outputLine.map(String.init) == "output hash: \(hexHash(replay.outputHash))")
    }

    func grouped(_ value: Int64) -> String {
        let digits = String(value)
        var result = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(character)
        }
        return result
    }
}
