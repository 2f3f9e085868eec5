import PeregrineCore
import PeregrineEngine
import PeregrineModel
import PeregrineNATS

/// `peregrine bench jetstream`: journals synthetic events to a JetStream stream through the
/// JetStream journal writer and reads them back with a pull consumer, with frames and one
/// event per message. Prints its figures through `print`; the benchmark streams are deleted.
public struct JetStreamBenchmark: Sendable {
    public var nats: String
    public var events: Int
    public var frameEvents: Int
    public var window: Int
    public var singleEvents: Int
    public var storage: StreamStorage
    public var fetchBatch: Int
    public var replicas: Int

    public init(
        nats: String, events: Int, frameEvents: Int, window: Int, singleEvents: Int, storage: StreamStorage,
        fetchBatch: Int, replicas: Int
    ) {
        self.nats = nats
        self.events = events
        self.frameEvents = frameEvents
        self.window = window
        self.singleEvents = singleEvents
        self.storage = storage
        self.fetchBatch = fetchBatch
        self.replicas = replicas
    }

    /// The benchmark cannot finish (JetStream did not acknowledge, or read back less).
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public func run(print: (String) -> Void) throws {
        let jetStream = try NATSConnection(NATSConnectionOptions(url: nats, maxReconnects: 0)).jetStream()
        var market = SyntheticMarket(instruments: 16, seed: 1, orderFlowPercent: 20)
        let input = (0..<events).map { market.next(timestamp: UInt64($0) * 100) }
        print(
            "jetstream benchmark: \(nats), \(storage.rawValue) storage, R\(replicas); \(events) events of 64 bytes, frames of \(frameEvents), window \(window)"
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
            storage: storage)
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
            throw Failure(
                description: "JetStream did not acknowledge everything within 60 s: \(writer.lastFailure ?? "")")
        }
        let appendSeconds = Double(clock.now() &- start) / 1e9
        let readStart = clock.now()
        var checksum: UInt64 = 0
        let summary = try JetStreamJournalReader.read(
            jetStream: jetStream, stream: name, subject: settings.subjects[0], fetchBatch: fetchBatch
        ) { event, _ in checksum &+= event.timestamp }
        let readSeconds = Double(clock.now() &- readStart) / 1e9
        guard summary.events == input.count else {
            throw Failure(description: "read back \(summary.events) of \(input.count) events")
        }
        return Figures(
            appendRate: Double(input.count) / appendSeconds, readRate: Double(input.count) / readSeconds,
            frames: writer.framesPublished)
    }
}
