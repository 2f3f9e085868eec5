import ArgumentParser
import PeregrineCodec
import PeregrineEngine
import PeregrineFeed
import PeregrineModel
import PeregrineNATS

struct NATSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nats", abstract: "Distributed-mode tools.", subcommands: [NATSPublish.self])
}

/// Publishes a synthetic market to the shards' input subjects, split by instrument.
struct NATSPublish: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish synthetic market events to peregrine.in.K, each to the shard that owns its instrument.",
        discussion: """
            Events are generated as `peregrine run` generates them (same seed, instruments and order flow), sent in \
            frames of up to --frame-events (the journal frame format, see docs/nats.md), or with --format json as \
            JSON lines (about 64 KiB per message), to the subject of the shard that owns the instrument \
            (NATSSettings.shard(of:count:)), followed by END on every shard's subject. Engines started with \
            --nats URL --shard K/N --nats-input take them.
            """)

    enum Format: String, ExpressibleByArgument {
        case frames, json
    }

    @Option(help: "NATS server URL.")
    var nats: String = "nats://127.0.0.1:4222"

    @Option(parsing: .unconditional, help: "Number of shards.")
    var shards: Int = 1

    @Option(parsing: .unconditional, help: "Events to publish.")
    var events: Int = 100_000

    @Option(parsing: .unconditional, help: "Instruments in the synthetic market.")
    var instruments: Int = 4

    @Option(parsing: .unconditional, help: "Percent of events that are order commands.")
    var orderFlow: Int = 0

    @Option(parsing: .unconditional, help: "Seed of the synthetic market.")
    var seed: UInt64 = 42

    @Option(parsing: .unconditional, help: "Events per frame (1 to 1023).")
    var frameEvents: Int = 256

    @Option(
        help: "Subject prefix, as the engine's --nats-prefix (letters, digits, - and _; read in lower case, as it is).")
    var prefix: String = "peregrine"

    @Option(help: "Wire format: frames (binary, docs/nats.md) or json (one event per line).")
    var format: Format = .frames

    func validate() throws {
        guard (1...1_024).contains(shards) else { throw ValidationError("--shards must be 1 to 1024") }
        guard (1...1_000_000_000).contains(events) else { throw ValidationError("--events must be 1 to 1000000000") }
        guard (1...JournalFrame.maxEvents).contains(frameEvents) else {
            throw ValidationError("--frame-events must be 1 to \(JournalFrame.maxEvents)")
        }
        guard NATSSettings.isServerURL(nats) else {
            throw ValidationError("--nats \(nats): give a server URL such as nats://127.0.0.1:4222")
        }
        guard NATSSettings.isPrefix(prefix) else {
            throw ValidationError("--prefix \(prefix): use letters, digits, - and _")
        }
    }

    func run() throws {
        // As the engine reads its --nats-prefix (`NATSSettings.usePrefix`).
        let subjectPrefix = prefix.lowercased()
        let connection = try NATSConnection(NATSConnectionOptions(url: nats, name: "peregrine-publisher"))
        var market = SyntheticMarket(instruments: instruments, seed: seed, orderFlowPercent: orderFlow)
        var buffers = [[Event]](repeating: [], count: shards)
        var frames = [UInt64](repeating: 0, count: shards)
        var firstIndex = [Int64](repeating: 0, count: shards)
        var perShard = [Int](repeating: 0, count: shards)
        var publishFailure: (any Error)? = nil
        // JSON: a writer per shard whose every flush (whole lines, about 64 KiB) is one message.
        var writers = (0..<shards).map { shard in
            JSONLinesWriter(flushThreshold: 60_000) { bytes in
                do {
                    try bytes.withUnsafeBytes {
                        try connection.publish(NATSSettings.inputSubject(prefix: subjectPrefix, shard: shard), $0)
                    }
                } catch {
                    publishFailure = publishFailure ?? error
                }
            }
        }
        func send(_ shard: Int) throws {
            if format == .json {
                writers[shard].finish()
                if let publishFailure { throw publishFailure }
                return
            }
            guard !buffers[shard].isEmpty else { return }
            let first = firstIndex[shard]
            let frame = JournalFrame.encode(buffers[shard][...], frameIndex: frames[shard], firstSequence: first)
            try frame.withUnsafeBytes {
                try connection.publish(NATSSettings.inputSubject(prefix: subjectPrefix, shard: shard), $0)
            }
            frames[shard] += 1
            buffers[shard].removeAll(keepingCapacity: true)
        }
        for index in 0..<events {
            let event = market.next(timestamp: UInt64(index))
            let shard = NATSSettings.shard(of: event.instrument, count: shards)
            perShard[shard] += 1
            if format == .json {
                EventJSON.write(event, to: &writers[shard])
                if let publishFailure { throw publishFailure }
                continue
            }
            if buffers[shard].isEmpty { firstIndex[shard] = Int64(index) }
            buffers[shard].append(event)
            if buffers[shard].count == frameEvents { try send(shard) }
        }
        for shard in 0..<shards {
            try send(shard)
            try NATSInputFeed.endOfInput.withUnsafeBytes {
                try connection.publish(NATSSettings.inputSubject(prefix: subjectPrefix, shard: shard), $0)
            }
        }
        try connection.flush()
        print(
            "published \(events) events to \(shards) shard(s): "
                + perShard.enumerated().map {
                    "\(subjectPrefix).in.\($0.offset) \($0.element) events"
                        + (format == .frames ? " in \(frames[$0.offset]) frames" : " as JSON lines")
                }
                .joined(separator: " · "))
    }
}
