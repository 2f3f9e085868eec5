import Foundation
import PeregrineEngine
import PeregrineJournal
import PeregrineModel
import PeregrineNATS
import PeregrineStrategy
import PeregrineTestSupport
import Testing

/// The engine on a JetStream journal: the same state as a file journal of the same input,
/// run → replay equality through the CLI, and no loss or duplication across a server restart.
@Suite(.serialized)
struct DistributedEngineTests {
    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("peregrine")
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static let strategy = LargeTradeFollower(minimumQuantity: Quantity(lots: 500), followQuantity: Quantity(lots: 10))

    static func line(_ prefix: String, in output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix(prefix) }.map(String.init)
    }

    /// The same 300,000 events (market data and 30% order flow) journaled to a directory and
    /// to a stream: recovery from each gives the same state hash, output hash and counts.
    @Test func streamRecoveryEqualsFileJournalRecovery() throws {
        let (url, server) = try JetStreamJournalTests.server()
        defer { _ = server }
        var configuration = EngineConfiguration()
        configuration.instruments = 8
        configuration.orderFlowPercent = 30
        var market = SyntheticMarket(instruments: 8, seed: 5, orderFlowPercent: 30)
        let events = (0..<300_000).map { market.next(timestamp: 1_000 + UInt64($0) * 1_000) }

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pg-file-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var file = try JournalWriter.open(directory: directory, nextSequence: 0)
        for (index, event) in events.enumerated() { try file.append(event, sequence: Int64(index)) }
        try file.commit()
        try file.sync()
        let fromFile = try JournalReplay.recover(
            directory: directory, configuration: configuration, genericStrategy: Self.strategy,
            useSnapshot: false, repair: false)

        var nats = NATSSettings(url: url, shard: Int(getpid() % 1000) + 100, shardCount: 1_100)
        nats.streamPrefix = "EQUALITY"
        let jetStream = try NATSConnection(NATSConnectionOptions(url: url)).jetStream()
        try jetStream.deleteStream(nats.journalStream)
        defer { try? jetStream.deleteStream(nats.journalStream) }
        let writer = try JetStreamJournalWriter(
            jetStream: jetStream, settings: nats.journalStreamSettings(logic: LogicSettings(configuration)),
            subject: nats.journalSubject)
        for (index, event) in events.enumerated() {
            while try !writer.append(event, sequence: Int64(index)) { writer.pollAcks() }
        }
        #expect(writer.drain(timeoutMilliseconds: 10_000))
        let fromStream = try JournalReplay.recover(
            jetStream: jetStream, settings: nats, configuration: configuration,
            genericStrategy: Self.strategy)

        #expect(fromStream.summary.replayed == 300_000)
        #expect(fromStream.summary.nextSequence == fromFile.summary.nextSequence)
        #expect(fromStream.summary.stateHash == fromFile.summary.stateHash)
        #expect(fromStream.summary.outputHash == fromFile.summary.outputHash)
        #expect(fromStream.summary.reports == fromFile.summary.reports)
        #expect(fromStream.summary.fills == fromFile.summary.fills)
        #expect(fromStream.summary.reports > 10_000)  // the order flow did trade
    }

    /// `peregrine run --nats` twice (the second recovers and continues), then
    /// `peregrine replay --nats`: the hashes of the last run equal the replay's.
    @Test func runRecoversFromTheStreamAndReplayMatches() throws {
        let (url, server) = try JetStreamJournalTests.server()
        defer { _ = server }
        let shard = "\(Int(getpid() % 500) + 1)/1000"
        let common = ["--nats", url, "--shard", shard, "--metrics-port", "0", "--order-flow", "20", "--rate", "50000"]
        let first = try Self.run(["run"] + common + ["--duration", "1"])
        #expect(first.status == 0)
        #expect(Self.line("lossless", in: first.output)?.hasPrefix("lossless          yes") == true)
        let second = try Self.run(["run"] + common + ["--duration", "1"])
        #expect(second.status == 0)
        let recovery = try #require(Self.line("recovery", in: second.output))
        #expect(recovery.contains("continuing at sequence"))
        let replay = try Self.run(["replay", "--nats", url, "--shard", shard])
        #expect(replay.status == 0)
        #expect(Self.line("state hash:", in: replay.output) == Self.line("state hash:", in: second.output))
        #expect(Self.line("output hash:", in: replay.output) == Self.line("output hash:", in: second.output))
        let refused = try Self.run(["run", "--nats", url, "--shard", shard, "--metrics-port", "0", "--duration", "1"])
        #expect(refused.status != 0)  // other logic settings (order flow 0) than the stream's
        let jetStream = try NATSConnection(NATSConnectionOptions(url: url)).jetStream()
        try jetStream.deleteStream("PEREGRINE_JOURNAL_\(shard.split(separator: "/")[0])")
    }

    /// nats-server stopped and started again (same port and store) in the middle of a run:
    /// the run finishes lossless, and the stream holds every event it reported durable exactly
    /// once, in order (the reader fails on a duplicate or a gap).
    @Test func serverRestartLosesAndDuplicatesNothing() throws {
        let server = try NATSServerProcess(name: "restart")
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = [
            "run", "--nats", server.url, "--shard", "0/1", "--metrics-port", "0", "--rate", "100000", "--duration", "6",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        usleep(2_000_000)
        server.stop()
        usleep(1_500_000)
        try server.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        #expect(process.terminationStatus == 0)
        #expect(Self.line("lossless", in: text)?.hasPrefix("lossless          yes") == true, "\(text)")
        let writes = try #require(Self.line("journal writes", in: text))
        #expect(writes.contains("connection lost 1 time(s), back 1"), "\(writes)")
        let durableText = try #require(writes.split(separator: " ").last)
        let durable = try #require(Int64(durableText))
        #expect(durable > 300_000)

        let jetStream = try NATSConnection(NATSConnectionOptions(url: server.url)).jetStream()
        var count: Int64 = 0
        let summary = try JetStreamJournalReader.read(
            jetStream: jetStream, stream: "PEREGRINE_JOURNAL_0", subject: "peregrine.journal.0"
        ) { _, sequence in
            if sequence == count { count += 1 }
        }
        #expect(count == durable + 1)
        #expect(summary.events == Int(durable + 1))
        let replay = try Self.run(["replay", "--nats", server.url, "--shard", "0/1"])
        #expect(Self.line("state hash:", in: replay.output) == Self.line("state hash:", in: text))
    }
}
