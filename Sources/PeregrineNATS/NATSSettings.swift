import PeregrineEngine
import PeregrineModel

/// Distributed mode (`peregrine run --nats URL --shard K/N`): the journal is a JetStream stream
/// per shard, inputs can come from the shard's subject, and outputs go out on subjects.
///
/// Subjects and streams for shard K (`prefix` = "peregrine", `streamPrefix` = "PEREGRINE"):
/// - journal stream `PEREGRINE_JOURNAL_K` on subject `peregrine.journal.K` (frames, see
///   `JournalFrame`)
/// - input subject `peregrine.in.K` (event frames or JSON events, see docs/nats.md)
/// - outputs `peregrine.out.K.reports`, `peregrine.out.K.orders`, `peregrine.out.K.signals`
public struct NATSSettings: Equatable, Sendable {
    public var url: String
    /// This engine's shard and the number of shards.
    public var shard: Int
    public var shardCount: Int
    public var subjectPrefix: String
    public var streamPrefix: String
    public var replicas: Int
    public var storage: StreamStorage
    /// Journal stream limits; 0 for none. A limit that removes frames the engine has not
    /// snapshotted past makes recovery from the stream impossible, so keep them generous.
    public var maxAgeSeconds: Int64
    public var maxBytes: Int64
    /// Events per journal frame (1 … 1,023) and frames awaiting acks at once.
    public var frameEvents: Int
    public var window: Int
    /// How long to wait for a frame's ack before publishing it again.
    public var ackWaitMilliseconds: Int64
    /// After a stop, how long to wait for acks that do not come before giving up (reported).
    public var shutdownAckSeconds: Double = 30
    /// Take input events from the shard's input subject instead of the synthetic market.
    public var consumeInput: Bool
    /// Publish execution reports, venue orders and signals on the shard's output subjects.
    public var publishOutputs: Bool

    public init(
        url: String, shard: Int = 0, shardCount: Int = 1, subjectPrefix: String = "peregrine",
        streamPrefix: String = "PEREGRINE", replicas: Int = 1, storage: StreamStorage = .file,
        maxAgeSeconds: Int64 = 0, maxBytes: Int64 = 0, frameEvents: Int = JournalFrame.maxEvents, window: Int = 64,
        ackWaitMilliseconds: Int64 = 2_000, consumeInput: Bool = false, publishOutputs: Bool = true
    ) {
        self.url = url
        self.shard = shard
        self.shardCount = shardCount
        self.subjectPrefix = subjectPrefix
        self.streamPrefix = streamPrefix
        self.replicas = replicas
        self.storage = storage
        self.maxAgeSeconds = maxAgeSeconds
        self.maxBytes = maxBytes
        self.frameEvents = frameEvents
        self.window = window
        self.ackWaitMilliseconds = ackWaitMilliseconds
        self.consumeInput = consumeInput
        self.publishOutputs = publishOutputs
    }

    public var journalStream: String { "\(streamPrefix)_JOURNAL_\(shard)" }
    public var journalSubject: String { "\(subjectPrefix).journal.\(shard)" }
    public var inputSubject: String { Self.inputSubject(prefix: subjectPrefix, shard: shard) }
    public var reportsSubject: String { "\(subjectPrefix).out.\(shard).reports" }
    public var ordersSubject: String { "\(subjectPrefix).out.\(shard).orders" }
    /// Where outside venues (gateways, `peregrine venue`) answer the orders sent on `ordersSubject`.
    public var venueReportsSubject: String { "\(subjectPrefix).in.\(shard).reports" }
    public var signalsSubject: String { "\(subjectPrefix).out.\(shard).signals" }

    public static func inputSubject(prefix: String = "peregrine", shard: Int) -> String { "\(prefix).in.\(shard)" }

    /// The journal stream's configuration; its description holds the number of shards and the
    /// logic settings it was written with (as `engine-logic.conf` does beside a file journal).
    public func journalStreamSettings(logic: LogicSettings) -> StreamSettings {
        StreamSettings(
            name: journalStream, subjects: [journalSubject], replicas: replicas, storage: storage,
            maxAgeSeconds: maxAgeSeconds, maxBytes: maxBytes,
            description: "\(Self.shardsEntry) = \(shardCount); "
                + logic.description.split(separator: "\n").joined(separator: "; "))
    }

    static let shardsEntry = "shards"

    /// The logic settings a journal stream's description holds. Throws when they cannot be read,
    /// and when the stream was written by one of another number of shards than this engine's
    /// (its events are another partition of the instruments). A stream written before the
    /// number of shards was recorded is read without that check.
    public func storedLogic(description: String) throws(EngineError) -> LogicSettings {
        let origin = "stream \(journalStream)"
        var logic = Substring(description)
        let prefix = "\(Self.shardsEntry) = "
        if logic.hasPrefix(prefix) {
            let entry = logic.prefix { $0 != ";" }
            logic = logic.dropFirst(entry.count).drop { $0 == ";" || $0 == " " }
            let stored = entry.dropFirst(prefix.count)
            guard Int(stored) == shardCount else {
                throw .settings(
                    .differs(
                        origin: origin,
                        difference:
                            "\(Self.shardsEntry) = \(stored) in the journal, \(shardCount) in this run (--shard K/N)"))
            }
        }
        return try LogicSettings.parse(String(logic), origin: origin)
    }

    /// Parses `K/N` (0 ≤ K < N ≤ 1024).
    public static func parseShard(_ text: String) -> (shard: Int, count: Int)? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let shard = Int(parts[0]), let count = Int(parts[1]), (1...1_024).contains(count),
            (0..<count).contains(shard)
        else { return nil }
        return (shard, count)
    }

    /// The shard that owns `instrument` among `count`: a multiplicative hash of its id, so
    /// consecutive ids spread evenly. Every publisher and engine must agree on it.
    public static func shard(of instrument: InstrumentID, count: Int) -> Int {
        let mixed = UInt64(instrument.rawValue) &* 0x9E37_79B9_7F4A_7C15
        return Int((mixed >> 32) % UInt64(Swift.max(1, count)))
    }

    /// Whether `url` names NATS servers: each of a comma-separated list nats:// or tls://, a
    /// host, and a port from 1 to 65535 when one is given (checked before anything starts, so a
    /// mistyped port is a usage error, not a failed connection).
    public static func isServerURL(_ url: String) -> Bool {
        url.split(separator: ",", omittingEmptySubsequences: false).allSatisfy { server in
            let scheme = server.hasPrefix("nats://") ? 7 : server.hasPrefix("tls://") ? 6 : 0
            let address = server.dropFirst(scheme).split(separator: "@").last ?? ""
            let port = address.split(separator: ":", omittingEmptySubsequences: false).dropFirst().first
            return scheme > 0 && !address.isEmpty && !server.contains(where: \.isWhitespace)
                && (port.map { Int($0).map { (1...65_535).contains($0) } ?? false } ?? true)
        }
    }

    /// Whether `name` can prefix subjects and streams (`--nats-prefix`): letters, digits, - and _.
    public static func isPrefix(_ name: String) -> Bool {
        !name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
    }

    /// Subjects and streams under `name` (`isPrefix`): subjects in lower case, streams in
    /// upper case, whatever case it is given in.
    public mutating func usePrefix(_ name: String) {
        subjectPrefix = name.lowercased()
        streamPrefix = name.uppercased()
    }

    /// Refuses settings out of range, and a configuration that also names a journal directory
    /// or recorded files while input comes from NATS.
    public func validate(with configuration: EngineConfiguration) throws(EngineError) {
        if let directory = configuration.journalDirectory {
            throw .invalidSetting(
                name: "journal", value: directory,
                allowed: "with --nats the journal is the JetStream stream: drop the journal directory, or drop --nats")
        }
        if consumeInput, !configuration.recordedSources.isEmpty {
            throw .invalidSetting(
                name: "source", value: "nats and a recorded file", allowed: "take input from one source")
        }
        if consumeInput, let maxEvents = configuration.maxEvents {
            throw .invalidSetting(
                name: "max-events", value: "\(maxEvents)",
                allowed: "it limits the synthetic source; the NATS input runs until its END message: drop it")
        }
        guard Self.isServerURL(url) else {
            throw .invalidSetting(name: "nats", value: url, allowed: "a server URL such as nats://127.0.0.1:4222")
        }
        guard (1...5).contains(replicas) else {
            throw .invalidSetting(name: "nats replicas", value: "\(replicas)", allowed: "1 to 5")
        }
        guard (1...JournalFrame.maxEvents).contains(frameEvents) else {
            throw .invalidSetting(
                name: "nats frame events", value: "\(frameEvents)", allowed: "1 to \(JournalFrame.maxEvents)")
        }
        guard (1...4_096).contains(window) else {
            throw .invalidSetting(name: "nats window", value: "\(window)", allowed: "1 to 4096 frames")
        }
        guard ackWaitMilliseconds >= 100 else {
            throw .invalidSetting(name: "nats ack wait", value: "\(ackWaitMilliseconds)", allowed: "at least 100 ms")
        }
    }
}
