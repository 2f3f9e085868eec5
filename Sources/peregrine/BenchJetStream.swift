import ArgumentParser
import PeregrineBench
import PeregrineEngine
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

    @Option(parsing: .unconditional, help: "Events to journal with frames.")
    var events: Int = 5_000_000

    @Option(parsing: .unconditional, help: "Events per frame (1 to 1023).")
    var frameEvents: Int = JournalFrame.maxEvents

    @Option(parsing: .unconditional, help: "Frames awaiting acks at once.")
    var window: Int = 64

    @Option(parsing: .unconditional, help: "Events to journal one per message, for comparison (0 skips it).")
    var singleEvents: Int = 100_000

    @Option(help: "Stream storage: file or memory.")
    var storage: String = "file"

    @Option(parsing: .unconditional, help: "Frames per pull request when reading back.")
    var fetchBatch: Int = 256

    @Option(parsing: .unconditional, help: "Stream replicas (3 needs a cluster).")
    var replicas: Int = 1

    func validate() throws {
        guard (1...100_000_000).contains(events) else { throw ValidationError("--events must be 1 to 100000000") }
        guard (1...JournalFrame.maxEvents).contains(frameEvents) else {
            throw ValidationError("--frame-events must be 1 to \(JournalFrame.maxEvents)")
        }
        guard StreamStorage(rawValue: storage) != nil else { throw ValidationError("--storage must be file or memory") }
        // Checked here, before connecting: JetStream refuses some only once the stream exists.
        guard (1...65_536).contains(window) else { throw ValidationError("--window must be 1 to 65536 frames") }
        guard (0...100_000_000).contains(singleEvents) else {
            throw ValidationError("--single-events must be 0 (skip) to 100000000")
        }
        guard (1...65_536).contains(fetchBatch) else {
            throw ValidationError("--fetch-batch must be 1 to 65536 frames")
        }
        guard (1...5).contains(replicas) else {
            throw ValidationError("--replicas must be 1 to 5 (JetStream's range; more than 1 needs a cluster)")
        }
    }

    func run() throws {
        try JetStreamBenchmark(
            nats: nats, events: events, frameEvents: frameEvents, window: window, singleEvents: singleEvents,
            storage: StreamStorage(rawValue: storage) ?? .file, fetchBatch: fetchBatch, replicas: replicas
        ).run { print($0) }
    }
}
