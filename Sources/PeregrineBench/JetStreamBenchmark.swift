import PeregrineCore
import PeregrineEngine
import PeregrineModel
import PeregrineNATS

/// `peregrine bench jetstream`: journals synthetic events to a JetStream stream through the
/// JetStream journal writer and reads them back with a pull consumer, with frames and one
/// event per message. Returns its figures; the benchmark streams are deleted.
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

    /// One stream journalled and read back.
    public struct Figures: Sendable {
        /// Events acknowledged per second (appended until every one was acknowledged).
        public var appendRate: Double
        /// Events read back and checked per second (pull consumer).
        public var readRate: Double
        /// Frames sealed and acknowledged (one per event without frames), and how many times
        /// one was published again (its ack failed or did not come in time).
        public var frames: Int
        public var republished: Int
        public var events: Int
    }

    /// With frames, and one event per message (nil when `singleEvents` is 0).
    public struct Result: Sendable {
        public var framed: Figures
        public var single: Figures?
    }

    public func run() throws -> Result {
        let jetStream = try NATSConnection(NATSConnectionOptions(url: nats, maxReconnects: 0)).jetStream()
        var market = SyntheticMarket(instruments: 16, seed: 1, orderFlowPercent: 20)
        let input = (0..<events).map { market.next(timestamp: UInt64($0) * 100) }
        let framed = try measure(name: "BENCH_FRAMED", input: input, frameEvents: frameEvents, jetStream: jetStream)
        let single =
            singleEvents > 0
            ? try measure(
                name: "BENCH_SINGLE", input: Array(input.prefix(singleEvents)), frameEvents: 1, jetStream: jetStream)
            : nil
        return Result(framed: framed, single: single)
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
        let firstFrame = writer.nextFrameIndex
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
            appendRate: Double(input.count) / Swift.max(appendSeconds, 1e-9),
            readRate: Double(input.count) / Swift.max(readSeconds, 1e-9),
            frames: Int(truncatingIfNeeded: writer.nextFrameIndex &- firstFrame), republished: writer.republishes,
            events: input.count)
    }
}
