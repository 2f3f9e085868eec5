import Foundation
import PeregrineCodec
import PeregrineEngine
import PeregrineJournal
import PeregrineModel
import PeregrineStrategy
import PeregrineTestSupport
import Testing

@testable import PeregrineNATS

/// The engine on a JetStream journal: the same state as a file journal of the same input,
/// run → replay equality through the CLI, and no loss or duplication across a server restart.
@Suite(.serialized)
struct DistributedEngineTests {
    static var binary: URL { PeregrineCLI.binary }

    static func run(_ arguments: [String]) throws -> PeregrineCLI.Result {
        try PeregrineCLI.run(arguments)
    }

    static func line(_ prefix: String, in output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix(prefix) }.map(String.init)
    }

    /// `bench jetstream --json`: every event acknowledged and read back, in the frames asked
    /// for (and one message per event for the comparison), as numbers.
    @Test func theJetStreamBenchmarkPrintsJSON() throws {
        let (url, server) = try JetStreamJournalTests.server()
        defer { _ = server }
        let result = try Self.run([
            "bench", "jetstream", "--nats", url, "--events", "5000", "--frame-events", "100", "--window", "8",
            "--single-events", "300", "--storage", "memory", "--json",
        ])
        #expect(result.status == 0, "\(result.error)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        #expect(object["storage"] as? String == "memory" && object["frame_events"] as? Int == 100)
        let framed = try #require(object["framed"] as? [String: Any])
        #expect(framed["events"] as? Int == 5_000 && framed["frames"] as? Int == 50)
        #expect(framed["republished"] is Int)
        #expect((framed["append_events_per_second"] as? Double ?? 0) > 0)
        #expect((framed["read_events_per_second"] as? Double ?? 0) > 0)
        let single = try #require(object["single"] as? [String: Any])
        #expect(single["events"] as? Int == 300 && single["frames"] as? Int == 300)
    }

    /// The same 300,000 events (market data and 30% order flow) journaled to a directory and
    /// to a stream: recovery from each gives the same state hash, output hash and counts, in
    /// whole and up to a sequence, with the same order updates of the market maker.
    @Test func streamRecoveryEqualsFileJournalRecovery() throws {
        let (url, server) = try JetStreamJournalTests.server()
        defer { _ = server }
        var configuration = EngineConfiguration()
        configuration.strategies = [StrategySpec(name: "market-maker")]
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
            directory: directory, configuration: configuration, custom: IdleStrategy.self,
            useSnapshot: false, repair: false)

        var nats = NATSSettings(url: url, shard: Int(getpid() % 1000) + 100, shardCount: 1_100)
        nats.streamPrefix = "EQUALITY"
        let jetStream = try NATSConnection(NATSConnectionOptions(url: url)).jetStream()
        try jetStream.deleteStream(nats.journalStream)
        defer { try? jetStream.deleteStream(nats.journalStream) }
        let writer = try JetStreamJournalWriter(
            jetStream: jetStream,
            settings: nats.journalStreamSettings(logic: (try LogicSettings(configuration, custom: IdleStrategy.self))),
            subject: nats.journalSubject)
        for (index, event) in events.enumerated() {
            while try !writer.append(event, sequence: Int64(index)) { writer.pollAcks() }
        }
        #expect(writer.drain(timeoutMilliseconds: 10_000))
        let fromStream = try JetStreamJournalPlan.recover(
            jetStream: jetStream, settings: nats, configuration: configuration, custom: IdleStrategy.self)

        #expect(fromStream.summary.replayed == 300_000)
        #expect(fromStream.summary.nextSequence == fromFile.summary.nextSequence)
        #expect(fromStream.summary.stateHash == fromFile.summary.stateHash)
        #expect(fromStream.summary.outputHash == fromFile.summary.outputHash)
        #expect(fromStream.summary.reports == fromFile.summary.reports)
        #expect(fromStream.summary.fills == fromFile.summary.fills)
        #expect(fromStream.summary.reports > 10_000)  // the order flow did trade

        // Up to a sequence inside a frame, with the strategy's order updates written out: the
        // same state and the same file as the directory's replay to that sequence.
        func partial(_ name: String, _ recover: (OrderEventWriter) throws -> ReplaySummary) throws -> (
            ReplaySummary, String
        ) {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("pg-\(name)-\(getpid()).jsonl")
                .path
            defer { try? FileManager.default.removeItem(atPath: path) }
            let writer = try OrderEventWriter(
                path: path, definitions: configuration.resolvedInstruments,
                strategies: Array(zip(configuration.strategies.resolvedIDs, configuration.strategies.map(\.name))))
            let summary = try recover(writer)
            writer.flush()
            return (summary, try String(contentsOfFile: path, encoding: .utf8))
        }
        let (fileHalf, fileUpdates) = try partial("file") { writer in
            try JournalReplay.recover(
                directory: directory, configuration: configuration, custom: IdleStrategy.self, useSnapshot: false,
                through: 150_000, repair: false, orderEvents: writer
            ).summary
        }
        let (streamHalf, streamUpdates) = try partial("stream") { writer in
            try JetStreamJournalPlan.recover(
                jetStream: jetStream, settings: nats, configuration: configuration, custom: IdleStrategy.self,
                through: 150_000, orderEvents: writer
            ).summary
        }
        #expect(streamHalf.replayed == 150_001 && streamHalf.nextSequence == 150_001)
        #expect(streamHalf.stateHash == fileHalf.stateHash && streamHalf.outputHash == fileHalf.outputHash)
        #expect(streamHalf.stateHash != fromStream.summary.stateHash)
        #expect(streamUpdates == fileUpdates)
        #expect(streamUpdates.split(separator: "\n").count > 100)  // the strategy traded before 150,000
    }

    /// A stream written by shard K of N is refused by an engine that is shard K of another
    /// count (its events are another partition of the instruments), by `run` and `replay`.
    @Test func aStreamOfAnotherShardCountIsRefused() throws {
        let (url, server) = try JetStreamJournalTests.server()
        defer { _ = server }
        let index = Int(getpid() % 500) + 1
        let common = ["--nats", url, "--metrics-port", "0", "--rate", "20000", "--duration", "1"]
        let first = try Self.run(["run", "--shard", "\(index)/1000"] + common)
        #expect(first.status == 0)
        let jetStream = try NATSConnection(NATSConnectionOptions(url: url)).jetStream()
        defer { try? jetStream.deleteStream("PEREGRINE_JOURNAL_\(index)") }
        let expected = "shards = 1000 in the journal, 999 in this run"
        let run = try Self.run(["run", "--shard", "\(index)/999"] + common)
        #expect(run.status == 1)
        #expect(run.error.contains(expected), "\(run.error)")
        let replay = try Self.run(["replay", "--nats", url, "--shard", "\(index)/999"])
        #expect(replay.status == 1)
        #expect(replay.error.contains(expected), "\(replay.error)")
        let same = try Self.run(["replay", "--nats", url, "--shard", "\(index)/1000"])
        #expect(same.status == 0)
        #expect(Self.line("state hash:", in: same.output) == Self.line("state hash:", in: first.output))
    }

    /// `replay --nats` takes `--to` and writes `--fills-out` as a directory's replay does: the
    /// strategy's order updates of two runs, the second recovering from the stream.
    @Test func replayOfAStreamTakesItsRangeAndWritesTheOrderUpdates() throws {
        let (url, server) = try JetStreamJournalTests.server()
        defer { _ = server }
        let index = Int(getpid() % 500) + 501
        let temporary = FileManager.default.temporaryDirectory.path + "/pg-nats-fills-\(getpid())"
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        let common = [
            "--nats", url, "--shard", "\(index)/1000", "--metrics-port", "0", "--order-flow", "20", "--rate", "50000",
            "--duration", "1", "--strategy", "market-maker",
        ]
        let jetStream = try NATSConnection(NATSConnectionOptions(url: url)).jetStream()
        defer { try? jetStream.deleteStream("PEREGRINE_JOURNAL_\(index)") }
        let first = try Self.run(["run"] + common + ["--fills-out", "\(temporary)/first.jsonl"])
        let second = try Self.run(["run"] + common + ["--fills-out", "\(temporary)/second.jsonl"])
        #expect(first.status == 0 && second.status == 0, "\(first.error) \(second.error)")
        let replay = try Self.run([
            "replay", "--nats", url, "--shard", "\(index)/1000", "--fills-out", "\(temporary)/replay.jsonl",
        ])
        #expect(replay.status == 0, "\(replay.error)")
        #expect(Self.line("state hash:", in: replay.output) == Self.line("state hash:", in: second.output))
        let runs =
            try String(contentsOfFile: "\(temporary)/first.jsonl", encoding: .utf8)
            + String(contentsOfFile: "\(temporary)/second.jsonl", encoding: .utf8)
        let replayed = try String(contentsOfFile: "\(temporary)/replay.jsonl", encoding: .utf8)
        #expect(replayed.split(separator: "\n").count > 100)
        #expect(replayed == runs)

        let partial = try Self.run(["replay", "--nats", url, "--shard", "\(index)/1000", "--to", "2500"])
        #expect(partial.status == 0, "\(partial.error)")
        #expect(Self.line("last sequence", in: partial.output) == "last sequence     2500")
        #expect(Self.line("records", in: partial.output)?.hasPrefix("records           2501 in") == true)
        #expect(Self.line("state hash:", in: partial.output) != Self.line("state hash:", in: replay.output))
    }

    /// `replay --nats` of a stream whose strategy this build refuses (the arbitrage on two
    /// grids, as an earlier build stored it): the stream's settings are named, and the way out,
    /// not a run's advice; exit 1.
    @Test func aStreamsStrategyThisBuildRefusesIsNamedAsTheStreams() throws {
        let (url, server) = try JetStreamJournalTests.server()
        defer { _ = server }
        let index = Int(getpid() % 500) + 1
        var configuration = EngineConfiguration()
        configuration.instruments = 2
        configuration.strategies = [
            StrategySpec(name: "cross-venue-arbitrage", instruments: [InstrumentID(0), InstrumentID(1)])
        ]
        configuration.instrumentDefinitions = try ["binance", "bybit"].enumerated().map { index, venue in
            InstrumentDefinition(
                id: InstrumentID(UInt32(index)), symbol: "BTC-\(venue)", venue: venue, tickSize: try Increment("0.01"),
                lotSize: try Increment("0.001"))
        }
        var logic = try LogicSettings(configuration, custom: IdleStrategy.self)
        logic.instrumentDefinitions[1].tickSize = try Increment("0.1")
        var nats = NATSSettings(url: url, shard: index, shardCount: 1_000)
        nats.usePrefix("REFUSED")
        let jetStream = try NATSConnection(NATSConnectionOptions(url: url)).jetStream()
        try jetStream.deleteStream(nats.journalStream)
        defer { try? jetStream.deleteStream(nats.journalStream) }
        try jetStream.addOrUpdateStream(nats.journalStreamSettings(logic: logic))
        let replay = try Self.run([
            "replay", "--nats", url, "--shard", "\(index)/1000", "--nats-prefix", "refused",
        ])
        #expect(replay.status == 1, "\(replay.error)")
        #expect(
            replay.error.contains(
                "error: logic settings: \(url) stream \(nats.journalStream) (its logic settings): this build refuses a strategy the "
                    + "journal was written with (strategy cross-venue-arbitrage: it compares prices in ticks and sizes "
                    + "in lots"), "\(replay.error)")
        #expect(replay.error.contains("use that build, or move the journal away"), "\(replay.error)")
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
        let stream = "PEREGRINE_JOURNAL_\(shard.split(separator: "/")[0])"
        defer { try? jetStream.deleteStream(stream) }
        // As a build before logic revisions wrote it: every start replays the whole stream, so
        // this build refuses it unless the change is accepted; the stream is then this build's.
        let (index, count) = try #require(NATSSettings.parseShard(shard))
        let nats = NATSSettings(url: url, shard: index, shardCount: count)
        let description = try #require(try jetStream.streamState(stream)?.description)
        var older = try nats.storedLogic(description: description)
        older.revision = 0
        try jetStream.addOrUpdateStream(nats.journalStreamSettings(logic: older))
        let replayOlder = try Self.run(["replay", "--nats", url, "--shard", shard])
        #expect(replayOlder.status == 0, "\(replayOlder.error)")
        #expect(replayOlder.error.hasPrefix("warning: records 0..."), "\(replayOlder.error)")
        #expect(replayOlder.error.contains("were written by a build before logic revisions were recorded (2026-12-07)"))
        #expect(Self.line("state hash:", in: replayOlder.output) == Self.line("state hash:", in: second.output))
        let otherRevision = try Self.run(["run"] + common + ["--duration", "1"])
        #expect(otherRevision.status == 1, "\(otherRevision.output)")
        #expect(
            otherRevision.error.contains(
                "\(url) stream \(stream) was written by a build before logic revisions were recorded (2026-12-07), "
                    + "and this build (logic revision \(LogicSettings.currentRevision)) would replay it with its own logic"
            ), "\(otherRevision.error)")
        #expect(otherRevision.error.contains("--accept-logic-change"))
        let accepted = try Self.run(["run"] + common + ["--duration", "1", "--accept-logic-change"])
        #expect(accepted.status == 0, "\(accepted.error)")
        let upgraded = try nats.storedLogic(description: try #require(try jetStream.streamState(stream)?.description))
        #expect(upgraded.revision == LogicSettings.currentRevision && upgraded.revisionSince == 0)
        let third = try Self.run(["run"] + common + ["--duration", "1"])
        #expect(third.status == 0, "\(third.error)")
    }

    /// nats-server stopped and started again (same port and store) in the middle of a run:
    /// the run finishes lossless, and the stream holds every event it reported durable exactly
    /// once, in order (the reader fails on a duplicate or a gap).
    @Test func serverRestartLosesAndDuplicatesNothing() throws {
        let server = try NATSServerProcess(name: "restart")
        let (status, text) = try server.run(
            Self.binary,
            [
                "run", "--nats", server.url, "--shard", "0/1", "--metrics-port", "0", "--rate", "100000", "--duration",
                "6",
            ])
        #expect(status == 0)
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

    /// Execution reports (without the trade id, a per-engine counter), signals (without the
    /// journal sequence and ingress time) and venue orders (without the order id, the
    /// strategy's counter) published on `prefix.out.*.reports`, `.signals` and `.orders` while
    /// `body` runs, by instrument.
    static func collectOutputs(url: String, prefix: String, _ body: () throws -> Void) throws -> (
        reports: [UInt32: [String]], signals: [UInt32: [String]], orders: [UInt32: [String]]
    ) {
        let connection = try NATSConnection(NATSConnectionOptions(url: url))
        let reportSubscription = try connection.subscribe(
            "\(prefix).out.*.reports", pendingMessages: 1 << 20, pendingBytes: 1 << 30)
        let signalSubscription = try connection.subscribe(
            "\(prefix).out.*.signals", pendingMessages: 1 << 20, pendingBytes: 1 << 30)
        let orderSubscription = try connection.subscribe(
            "\(prefix).out.*.orders", pendingMessages: 1 << 20, pendingBytes: 1 << 30)
        try connection.flush()
        try body()
        var reports: [UInt32: [String]] = [:]
        while try reportSubscription.next(
            timeoutMilliseconds: 500,
            { message in
                for offset in stride(from: 0, to: message.bytes.count, by: 64) {
                    guard
                        let report = try? ExecutionReport(
                            decoding: UnsafeRawBufferPointer(rebasing: message.bytes[offset..<(offset + 64)]))
                    else {
                        Issue.record("a report that does not decode at byte \(offset)")
                        continue
                    }
                    reports[report.instrument.rawValue, default: []].append(
                        "\(report.kind) \(report.reason) \(report.orderID) \(report.contraOrderID) \(report.price.ticks) "
                            + "\(report.quantity.lots) \(report.leavesQuantity.lots) \(report.side) \(report.isAggressor) "
                            + "\(report.account) \(report.contraAccount)")
                }
            })
        {}
        var signals: [UInt32: [String]] = [:]
        while try signalSubscription.next(
            timeoutMilliseconds: 200,
            { message in
                #expect(message.bytes.count % 40 == 0)
                for offset in stride(from: 0, to: message.bytes.count, by: 40) {
                    let outcome = message.bytes.loadUnaligned(fromByteOffset: offset, as: Outcome.self)
                    signals[outcome.instrument.rawValue, default: []].append(
                        "\(outcome.kind) \(outcome.bestBidTicks) \(outcome.bestAskTicks) \(outcome.ordersSubmitted) "
                            + "\(outcome.reportsEmitted)")
                }
            })
        {}
        var orders: [UInt32: [String]] = [:]
        while try orderSubscription.next(
            timeoutMilliseconds: 200,
            { message in
                var decoder = EventJSONDecoder()
                for line in Array(message.bytes).split(separator: UInt8(ascii: "\n")) {
                    let event = Array(line).withUnsafeBufferPointer { try? decoder.decode($0, timestamp: 0) }
                    guard let event, case .order(let command) = event.payload else {
                        Issue.record("not an order line: \(String(decoding: line, as: UTF8.self))")
                        continue
                    }
                    orders[event.instrument.rawValue, default: []].append(
                        "\(command.action) \(command.side) \(command.type) \(command.timeInForce) \(command.price.ticks) "
                            + "\(command.quantity.lots) \(command.account)")
                }
            })
        {}
        return (reports, signals, orders)
    }

    /// The arguments of a sharded run's engine for `shard` of `shards`.
    static func shardArguments(url: String, prefix: String, shard: Int, shards: Int) -> [String] {
        [
            "run", "--nats", url, "--shard", "\(shard)/\(shards)", "--nats-input", "--nats-prefix", prefix,
            "--order-flow", "30", "--instruments", "8", "--metrics-port", "0", "--duration", "0",
            "--strategy", "large-trade-follower", "--keep-orders",
        ]
    }

    /// No acknowledgement timeout (`[trading] ack_timeout_ms = 0`): no venue answers the
    /// follower's orders, and with the default (5 s of event time, which for NATS input is the
    /// ingress wall clock) an engine whose input takes longer than that cancels its oldest
    /// orders, adding cancels and signals that depend on how fast the input came, not on it.
    static let shardEnvironment = ["PEREGRINE_TRADING_ACK_TIMEOUT_MS": "0"]

    /// Runs engines for `shards` shards with input from NATS, publishes the same synthetic
    /// market split across them (in `format`: frames or json), and returns their reports by
    /// instrument.
    static func shardedRun(url: String, prefix: String, shards: Int, format: String) throws -> (
        reports: [UInt32: [String]], signals: [UInt32: [String]], orders: [UInt32: [String]]
    ) {
        try collectOutputs(url: url, prefix: prefix) {
            let engines = try (0..<shards).map { shard in
                try StartedEngine(
                    binary, shardArguments(url: url, prefix: prefix, shard: shard, shards: shards),
                    environment: shardEnvironment)
            }
            // Core NATS input: what is published before an engine subscribes is lost to it; an
            // engine says it started once its source has subscribed.
            for engine in engines { #expect(engine.awaitStarted()) }
            let publish = try run([
                "nats", "publish", "--nats", url, "--shards", "\(shards)", "--prefix", prefix, "--events", "100000",
                "--instruments", "8", "--order-flow", "30", "--format", format,
            ])
            #expect(publish.status == 0)
            for engine in engines {
                engine.process.waitUntilExit()
                #expect(engine.process.terminationStatus == 0)
            }
        }
    }

    /// Starts the CLI with `arguments` (and `environment` over this process's), its standard
    /// output on the returned pipe.
    static func launch(_ arguments: [String], environment: [String: String] = [:]) throws -> (Process, Pipe) {
        let engine = try StartedEngine(binary, arguments, environment: environment)
        return (engine.process, engine.output)
    }

    /// A journal stream deleted under a running engine (no responders): the engine stops with
    /// exit 1 naming the stream, instead of publishing again for ever while ready.
    @Test func aDeletedJournalStreamStopsTheEngine() throws {
        let (url, server) = try JetStreamJournalTests.server()
        defer { _ = server }
        let prefix = "gone\(getpid())"
        let (process, output) = try Self.launch([
            "run", "--nats", url, "--nats-prefix", prefix, "--rate", "20000", "--duration", "0", "--metrics-port", "0",
        ])
        let jetStream = try NATSConnection(NATSConnectionOptions(url: url)).jetStream()
        let stream = "GONE\(getpid())_JOURNAL_0"
        // Written to for a while first.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try? jetStream.streamState(stream))??.messages ?? 0 < 10 { usleep(100_000) }
        try jetStream.deleteStream(stream)
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1, "\(text)")
        #expect(text.contains("stream \(stream) does not answer (No responders available for request)"), "\(text)")
        #expect(text.contains("lossless          NO: the journal failed"), "\(text)")
    }

    /// A stream of the journal's name that is not this engine's journal (it takes another
    /// subject too, or holds a message that is not a frame) is refused before anything in it
    /// changes: its subjects, limits and messages stay as they were (they had been rewritten).
    @Test func aForeignStreamOfTheJournalsNameIsLeftAsItWas() throws {
        let (url, server) = try JetStreamJournalTests.server()
        defer { _ = server }
        let jetStream = try NATSConnection(NATSConnectionOptions(url: url)).jetStream()
        for (index, extra) in [["other\(getpid()).x"], []].enumerated() {
            let prefix = "ext\(index)x\(getpid())"
            let stream = prefix.uppercased() + "_JOURNAL_0"
            try jetStream.addOrUpdateStream(
                StreamSettings(name: stream, subjects: ["\(prefix).journal.0"] + extra, maxAgeSeconds: 3_600))
            let bytes = Array("not a frame".utf8)
            _ = try bytes.withUnsafeBytes { try jetStream.publish("\(prefix).journal.0", $0) }
            let run = try Self.run([
                "run", "--nats", url, "--nats-prefix", prefix, "--rate", "1000", "--duration", "1", "--metrics-port",
                "0",
            ])
            #expect(run.status == 1, "\(run.error)")
            if extra.isEmpty {
                #expect(run.error.contains("journal stream message 1 is not a valid frame"), "\(run.error)")
            } else {
                #expect(
                    run.error.contains("stream \(stream) is left as it was: it also takes \(extra[0])"), "\(run.error)")
            }
            let state = try #require(try jetStream.streamState(stream))
            #expect(state.subjects == ["\(prefix).journal.0"] + extra)
            #expect(state.removingLimits == "max_age 3600000 ms")
            #expect(state.messages == 1)
        }
    }

    /// A message another writer stores on the journal stream under a running engine (a second
    /// engine on its shard, or a publish to its subject): the engine's next frame is refused on
    /// the expected last sequence, for ever; it stops with exit 1 naming the stream, instead of
    /// waiting, ready, with a full ring (it hung until a stop, then waited 30 s more).
    @Test func aForeignMessageOnTheJournalStreamStopsTheEngine() throws {
        let (url, server) = try JetStreamJournalTests.server()
        defer { _ = server }
        let prefix = "foreign\(getpid())"
        let (process, output) = try Self.launch([
            "run", "--nats", url, "--nats-prefix", prefix, "--rate", "20000", "--duration", "30", "--metrics-port",
            "0",
        ])
        let jetStream = try NATSConnection(NATSConnectionOptions(url: url)).jetStream()
        let stream = "FOREIGN\(getpid())_JOURNAL_0"
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try? jetStream.streamState(stream))??.messages ?? 0 < 10 { usleep(100_000) }
        let bytes: [UInt8] = Array("not a frame".utf8)
        _ = try bytes.withUnsafeBytes { try jetStream.publish("\(prefix).journal.0", $0) }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1, "\(text)")
        #expect(text.contains("stream \(stream) holds a message this engine did not write (its frame "), "\(text)")
        #expect(text.contains("another engine writes it (two engines on one shard?)"), "\(text)")
        #expect(text.contains("lossless          NO: the journal failed"), "\(text)")
    }

    /// A limit that removes frames (`max_bytes` with discard old) set on the journal stream
    /// under a running engine: the stream's watch finds it and the engine stops (exit 1,
    /// naming the limit), instead of running on with a journal recovery cannot replay.
    @Test func aLimitSetOnTheJournalStreamStopsTheEngine() throws {
        let (url, server) = try JetStreamJournalTests.server()
        defer { _ = server }
        let prefix = "limited\(getpid())"
        // (Bounded: without the watch the run would end by its duration, exit 0.)
        let (process, output) = try Self.launch([
            "run", "--nats", url, "--nats-prefix", prefix, "--rate", "20000", "--duration", "30", "--metrics-port", "0",
        ])
        let jetStream = try NATSConnection(NATSConnectionOptions(url: url)).jetStream()
        let stream = "LIMITED\(getpid())_JOURNAL_0"
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try? jetStream.streamState(stream))??.messages ?? 0 < 10 { usleep(100_000) }
        try jetStream.addOrUpdateStream(
            StreamSettings(name: stream, subjects: ["\(prefix).journal.0"], maxBytes: 1_000_000_000))
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1, "\(text)")
        #expect(
            text.contains(
                "stream \(stream) removes stored frames (max_bytes 1000000000 with discard old), a limit set outside "
                    + "the engine"), "\(text)")
        #expect(text.contains("lossless          NO: the journal failed"), "\(text)")
        // A stream is a journal: the report says "journaled" (helper-110 found "sequenced").
        #expect(text.contains(" · journaled ") && text.contains("latency journal   "), "\(text)")
    }

    /// A stop joins the journal stream's watch: with the server down, the watch's request
    /// waits at most a second (its own context), not the writer's 5 s, so the engine's stop is
    /// not held by it.
    @Test func theWatchStopsSoonWhenTheServerIsDown() throws {
        let server = try NATSServerProcess(name: "watch-stop")
        let jetStream = try NATSConnection(NATSConnectionOptions(url: server.url)).jetStream()
        let watch = JournalStreamWatch(jetStream: jetStream, stream: "WATCHED")
        server.stop()
        // The watch asks once a second: a request to the stopped server is waiting by now.
        usleep(1_200_000)
        let clock = ContinuousClock()
        let started = clock.now
        watch.stop()
        let took = clock.now - started
        // (Waiting out the writer's 5 s, it took 3.8 s or more here.)
        #expect(took < .milliseconds(2_500), "\(took)")
        #expect(watch.failure == nil)
    }

    /// What the watch says of a stream's state: limits that remove frames, frames gone from its
    /// start or inside it, a purge; nothing for a whole stream, empty or not.
    @Test func theWatchNamesWhatRemovedFrames() {
        func state(first: UInt64, last: UInt64, messages: UInt64, deleted: UInt64 = 0, limits: String? = nil)
            -> StreamState
        {
            var state = StreamState(
                messages: messages, bytes: 0, firstSequence: first, lastSequence: last, replicas: 1, description: nil)
            state.deletedMessages = deleted
            state.removingLimits = limits
            return state
        }
        func said(_ state: StreamState, first: UInt64 = 1, deleted: UInt64 = 0) -> String {
            JournalStreamWatch.removal(state, stream: "S", first: first, deleted: deleted) ?? "-"
        }
        #expect(said(state(first: 0, last: 0, messages: 0)) == "-")
        #expect(said(state(first: 1, last: 40, messages: 40)) == "-")
        #expect(
            said(state(first: 1, last: 40, messages: 40, limits: "max_age 60000 ms")).hasPrefix(
                "stream S removes stored frames (max_age 60000 ms), a limit set outside the engine"))
        #expect(
            said(state(first: 7, last: 40, messages: 34)).hasPrefix(
                "stream S lost frames: its first is now stream sequence 7 (1 when this run began) and 0 were deleted "
                    + "inside it (0 then)"))
        #expect(
            said(state(first: 1, last: 40, messages: 39, deleted: 1)).hasPrefix(
                "stream S lost frames: its first is now stream sequence 1 (1 when this run began) and 1 were deleted"))
        // Purged before this run (found by a review, helper-110): the journal starts after the
        // purge, as recovery took it; a purge during the run is a loss.
        #expect(said(state(first: 41, last: 40, messages: 0), first: 41) == "-")
        #expect(said(state(first: 41, last: 60, messages: 20), first: 41) == "-")
        #expect(said(state(first: 61, last: 60, messages: 0), first: 41).hasPrefix("stream S lost frames"))
    }

    /// A publisher that splits the instruments into another number of shards than the engine
    /// sends it events another shard owns: no engine takes them, and the run says so (not
    /// lossless, exit 1).
    @Test func inputForAnotherShardCountIsReportedLost() throws {
        let (url, server) = try JetStreamJournalTests.server()
        defer { _ = server }
        let prefix = "mis\(getpid())"
        let engine = try StartedEngine(
            Self.binary, Self.shardArguments(url: url, prefix: prefix, shard: 0, shards: 2),
            environment: Self.shardEnvironment)
        let (process, output) = (engine.process, engine.output)
        #expect(engine.awaitStarted())
        let publish = try Self.run([
            "nats", "publish", "--nats", url, "--shards", "3", "--prefix", prefix, "--events", "20000",
            "--instruments", "8",
        ])
        #expect(publish.status == 0, "\(publish.error)")
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1, "\(text)")
        #expect(text.contains("input events are for instruments another shard owns"), "\(text)")
        #expect(text.contains("another number of shards than this engine's --shard 0/2"), "\(text)")
        #expect(!text.contains("lossless          yes"), "\(text)")
        try NATSConnection(NATSConnectionOptions(url: url)).jetStream().deleteStream("MIS\(getpid())_JOURNAL_0")
    }

    /// Two shards split the input by instrument; the union of their execution reports equals
    /// a single engine's, instrument by instrument, in order. The single engine is fed frames,
    /// the shards JSON lines: both wire formats carry the same events.
    @Test func twoShardsEqualOneEngine() throws {
        let (url, server) = try JetStreamJournalTests.server()
        defer { _ = server }
        let single = try Self.shardedRun(url: url, prefix: "one\(getpid())", shards: 1, format: "frames")
        let split = try Self.shardedRun(url: url, prefix: "two\(getpid())", shards: 2, format: "json")
        #expect(single.reports.keys.count == 8)
        #expect(single.reports.values.map(\.count).reduce(0, +) > 20_000)
        #expect(split.reports.keys.sorted() == single.reports.keys.sorted())
        for (instrument, reports) in single.reports {
            #expect(split.reports[instrument] == reports, "instrument \(instrument)")
        }
        #expect(MemoryLayout<Outcome>.stride == 40)
        #expect(single.signals.values.map(\.count).reduce(0, +) > 100)
        #expect(split.signals == single.signals)
        // The follower's orders are for the market-data instruments 0 to 7, which no engine
        // hosts: they leave on the orders subject, the same from two shards as from one. (Its
        // orders are kept at the end: each engine's session end would cancel its own, on an event
        // of its own, which a single engine and two shards cannot have in common.)
        #expect(single.orders.values.map(\.count).reduce(0, +) > 50)
        #expect(single.orders.keys.allSatisfy { $0 < 8 })
        // Only new orders: none was cancelled for want of an answer (see `shardEnvironment`).
        #expect(single.orders.values.joined().allSatisfy { $0.hasPrefix("new ") })
        #expect(split.orders.values.joined().allSatisfy { $0.hasPrefix("new ") })
        #expect(split.orders == single.orders)
        // Both shards had work.
        let owners = Set(single.reports.keys.map { NATSSettings.shard(of: InstrumentID($0), count: 2) })
        #expect(owners == [0, 1])
        let jetStream = try NATSConnection(NATSConnectionOptions(url: url)).jetStream()
        for name in ["ONE\(getpid())_JOURNAL_0", "TWO\(getpid())_JOURNAL_0", "TWO\(getpid())_JOURNAL_1"] {
            try jetStream.deleteStream(name)
        }
    }

    /// The sharded runs' engines resolve no acknowledgement timeout (and keep their orders), so
    /// what they publish depends on their input only, not on how long it took to arrive.
    @Test func shardedRunEnginesHaveNoAckTimeout() throws {
        let result = try PeregrineCLI.run(
            Self.shardArguments(url: "nats://127.0.0.1:4222", prefix: "check", shard: 1, shards: 2)
                + ["--validate-only"],
            environment: Self.shardEnvironment)
        #expect(result.status == 0, "\(result.error)")
        let lines = result.output.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.hasPrefix("ack_timeout_ms") } == ["ack_timeout_ms = 0"])
        #expect(lines.filter { $0.hasPrefix("keep_orders") } == ["keep_orders = true"])
    }
}
