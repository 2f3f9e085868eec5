import ArgumentParser
import PeregrineCore
import PeregrineEngine
import PeregrineModel
import PeregrineNATS

struct BenchJetStream: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jetstream",
        abstract: "Journal to a JetStream stream and read it back: events per second, with frames and without.",
        discussion: """
            Needs a JetStream-enabled nats-server (e.g. `nats-server -js -a 127.0.0.1 -p 4222 -sd /tmp/js`). \
            Appends --events synthetic events through the JetStream journal writer (frames of --frame-events, \
            --window frames awaiting acks) until every one is acknowledged, then reads the stream back with a pull \
            consumer, checking every frame. For comparison it journals --single-events events one per message. \
            The benchmark streams are deleted afterwards.
            """)

    @Option(help: "NATS server URL.")
    var nats: String = "nats://127.0.0.1:4222"

    @Option(help: "Events to journal with frames.")
    var events: Int = 5_000_000

    @Option(help: "Events per frame (1 to 1023).")
    var frameEvents: Int = JournalFrame.maxEvents

    @Option(help: "Frames awaiting acks at once.")
    var window: Int = 64

    @Option(help: "Events to journal one per message, for comparison (0 skips it).")
    var singleEvents: Int = 100_000

    @Option(help: "Stream storage: file or memory.")
    var storage: String = "file"

    @Option(help: "Frames per pull request when reading back.")
    var fetchBatch: Int = 256

    @Option(help: "Stream replicas (3 needs a cluster).")
    var replicas: Int = 1

    func validate() throws {
        guard (1...100_000_000).contains(events) else { throw ValidationError("--events must be 1 to 100000000") }
        guard (1...JournalFrame.maxEvents).contains(frameEvents) else {
            throw ValidationError("--frame-events must be 1 to \(JournalFrame.maxEvents)")
        }
        guard StreamStorage(rawValue: storage) != nil else { throw ValidationError("--storage must be file or memory") }
    }

    func run() throws {
        let jetStream = try NATSConnection(NATSConnectionOptions(url: nats, maxReconnects: 0)).jetStream()
        var market = SyntheticMarket(instruments: 16, seed: 1, orderFlowPercent: 20)
        let input = (0..<events).map { market.next(timestamp: UInt64($0) * 100) }
        print(
            "jetstream benchmark: \(nats), \(storage) storage, R\(replicas); \(events) events of 64 bytes, frames of \(frameEvents), window \(window)"
        )
        let framed = try measure(name: "BENCH_FRAMED", input: input, frameEvents: frameEvents, jetStream: jetStream)
        print(
            "journal (frames):       \(decimal(framed.appendRate / 1e6, places: 2))M events/s acknowledged (\(framed.frames) frames, \(decimal(framed.appendRate * 64 / 1e6))MB/s)"
        )
        print("replay (pull consumer): \(decimal(framed.readRate / 1e6, places: 2))M events/s read and checked")
        if singleEvents > 0 {
            let single = try measure(
                name: "BENCH_SINGLE", input: Array(input.prefix(singleEvents)), frameEvents: 1, jetStream: jetStream)
            print(
                "journal (one event per message): \(decimal(single.appendRate / 1e3, places: 1))K events/s — frames are \(decimal(framed.appendRate / single.appendRate, places: 1))× that"
            )
        }
    }

    struct Figures {
        var appendRate: Double
        var readRate: Double
        var frames: Int
    }

    func measure(name: String, input: [Event], frameEvents: Int, jetStream: JetStream) throws -> Figures {
        let settings = StreamSettings(
            name: name, subjects: ["bench.\(name.lowercased())"], replicas: replicas,
            storage: StreamStorage(rawValue: storage) ?? .file)
        try jetStream.deleteStream(name)
        defer { try? jetStream.deleteStream(name) }
        let writer = try JetStreamJournalWriter(
            jetStream: jetStream, settings: settings, subject: settings.subjects[0], window: window,
            maxEventsPerFrame: frameEvents)
        let clock = CycleClock.calibrate()
        let start = clock.now()
        for (index, event) in input.enumerated() {
            while try !writer.append(event, sequence: Int64(index)) { writer.pollAcks() }
        }
        guard writer.drain(timeoutMilliseconds: 60_000) else {
            throw ValidationError("JetStream did not acknowledge everything within 60 s: \(writer.lastFailure ?? "")")
        }
        let appendSeconds = Double(clock.now() &- start) / 1e9
        let readStart = clock.now()
        var checksum: UInt64 = 0
        let summary = try JetStreamJournalReader.read(
            jetStream: jetStream, stream: name, subject: settings.subjects[0], fetchBatch: fetchBatch
        ) { event, _ in checksum &+= event.timestamp }
        let readSeconds = Double(clock.now() &- readStart) / 1e9
        guard summary.events == input.count else {
            throw ValidationError("read back \(summary.events) of \(input.count) events")
        }
        return Figures(
            appendRate: Double(input.count) / appendSeconds, readRate: Double(input.count) / readSeconds,
            frames: writer.framesPublished)
    }
}
