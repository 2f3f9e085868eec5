import ArgumentParser
import Foundation
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

    @Flag(help: "Print one JSON object instead of the lines (events/s acknowledged and read back, frames sealed).")
    var json = false

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
        if !json {
            print(
                "jetstream benchmark: \(nats), \(storage) storage, R\(replicas); \(events) events of 64 bytes, frames of \(frameEvents), window \(window)"
            )
        }
        let result = try JetStreamBenchmark(
            nats: nats, events: events, frameEvents: frameEvents, window: window, singleEvents: singleEvents,
            storage: StreamStorage(rawValue: storage) ?? .file, fetchBatch: fetchBatch, replicas: replicas
        ).run()
        if json {
            func object(_ figures: JetStreamBenchmark.Figures) -> [String: Any] {
                [
                    "events": figures.events, "frames": figures.frames, "republished": figures.republished,
                    "append_events_per_second": figures.appendRate, "read_events_per_second": figures.readRate,
                ]
            }
            try JSONOutput.print([
                "nats": nats, "storage": storage, "replicas": replicas, "frame_events": frameEvents, "window": window,
                "fetch_batch": fetchBatch, "framed": object(result.framed),
                "single": result.single.map { object($0) as Any } ?? NSNull(),
            ])
            return
        }
        let framed = result.framed
        print(
            "journal (frames):       \(decimal(framed.appendRate / 1e6, places: 2))M events/s acknowledged (\(framed.frames) frames, \(decimal(framed.appendRate * 64 / 1e6))MB/s)"
        )
        print("replay (pull consumer): \(decimal(framed.readRate / 1e6, places: 2))M events/s read and checked")
        if let single = result.single {
            print(
                "journal (one event per message): \(decimal(single.appendRate / 1e3, places: 1))K events/s — frames are \(decimal(framed.appendRate / single.appendRate, places: 1))× that"
            )
        }
    }
}
