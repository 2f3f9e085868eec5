import ArgumentParser
import Logging
import PeregrineControl
import PeregrineCore
import PeregrineEngine
import PeregrineFeed
import PeregrineModel
import PeregrineNATS
import PeregrineStrategy

#if canImport(Glibc)
    import Glibc
#endif

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the engine's pipeline on the synthetic source.",
        discussion: """
            source → inbound ring → journal → logic (books, matching engine, strategy, bundle builder) → outbound rings → sink.
            Every event is appended to the journal (--journal, default ./data) before the logic acts on it; at start-up the
            engine replays the journal to recover its state (cutting off a torn last record) and continues after it.
            With --order-flow, that share of events are order commands for a matching engine with one book per
            instrument; its execution reports go to the sink on their own ring.
            Prints a status line every second and a final report. Stops at --duration, at --max-events,
            or on SIGINT/SIGTERM, after draining every ring and flushing the open bundle.
            """)

    @Option(
        help:
            "Configuration file (TOML): a profile, then [sections] of settings; flags override it (see `peregrine config show`)."
    )
    var config: String?

    @Option(help: "Start from a profile: hft, analytics or memory_constrained (overrides the file's `profile`).")
    var profile: String?

    @Option(help: "Poisson arrival rate of the synthetic source, in events per second.")
    var rate: Double?

    @Flag(help: "Send events as fast as the pipeline accepts them (instead of --rate).")
    var max = false

    @Option(help: "Seconds to run before shutting down (default 10; 0 runs until SIGINT or SIGTERM).")
    var duration: Double?

    @Option(help: "Stop the source after this many events.")
    var maxEvents: Int?

    @Option(help: "Slots in the inbound ring (a power of two, 64 to 67108864).")
    var ringSize: Int?

    @Option(help: "Transactions that seal a bundle (1 to 16).")
    var bundleSize: Int?

    @Option(help: "Microseconds after its first transaction that a bundle is sealed anyway.")
    var bundleTimeoutUs: Int?

    @Option(help: "CPUs to pin the hot threads to, in order (e.g. 0,1). Refused pinning is reported, not fatal.")
    var pin: String?

    @Option(help: "Events per Poisson arrival (bursts).")
    var burst: Int?

    @Option(help: "What the source does when the inbound ring is full: block or drop (counted).")
    var onFull: String?

    @Option(help: "How idle hot threads wait: spin, yield or park.")
    var wait: String?

    @Option(help: "Stage-to-thread mapping: shared (2 hot threads) or dedicated (one per stage).")
    var topology: String?

    @Option(help: "Number of synthetic instruments.")
    var instruments: Int?

    @Option(help: "Percent of events that are order commands for the hosted matching engine (0 to 100; 0 hosts none).")
    var orderFlow: Int?

    @Option(help: "Orders each venue book can hold (resting plus pending stops).")
    var venueOrders: Int?

    @Option(
        help:
            "Journal directory: every input event is appended here before the logic acts on it, and the engine recovers from it at start-up."
    )
    var journal: String?

    @Flag(help: "Run without a journal (nothing is durable; the report says so).")
    var noJournal = false

    @Option(
        help:
            "When journaled events count as durable: none (OS page cache), batch (fdatasync every --sync-interval-us or --sync-events), every (fdatasync before the logic sees a batch)."
    )
    var durability: String?

    @Option(help: "With --durability batch: the longest time between syncs, in microseconds.")
    var syncIntervalUs: Int?

    @Option(help: "With --durability batch: the most events between syncs.")
    var syncEvents: Int?

    @Option(help: "Take a snapshot of the logic every this many events (0: never); recovery starts from the newest.")
    var snapshotEvery: Int?

    @Flag(help: "After each snapshot keep the newest two and delete the journal segments before them.")
    var prune = false

    @Option(help: "Journal segment size in MB; a new segment file starts past it.")
    var segmentMb: Int?

    @Option(help: "Seconds between status lines.")
    var statusInterval: Double?

    @Option(
        help:
            "Replay recorded market data instead of the synthetic market: FORMAT:FILE[,FILE...] with a format of `peregrine feed replay` (e.g. bybit-ob:book.jsonl). Published as fast as the pipeline accepts it."
    )
    var source: String?

    @Option(help: "Port of the metrics and health HTTP server (0 turns it off).")
    var metricsPort: Int?

    @Option(help: "Address the metrics and health server listens on (default 127.0.0.1; 0.0.0.0 in a pod).")
    var metricsAddress: String?

    @Option(help: "Lowest log level written to standard error: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @Option(help: "Seed of the synthetic source (same seed, same events).")
    var seed: UInt64?

    @Option(
        help:
            "Distributed mode: journal to NATS JetStream at this URL (e.g. nats://127.0.0.1:4222) instead of a directory; recover from the stream at start-up."
    )
    var nats: String?

    @Option(
        help:
            "With --nats: this engine is shard K of N (K/N): journal stream PEREGRINE_JOURNAL_K, input subject peregrine.in.K, outputs peregrine.out.K.*."
    )
    var shard: String = "0/1"

    @Option(help: "With --nats: journal stream replicas (1, or 3 on a 3-node cluster).")
    var natsReplicas: Int?

    @Option(help: "With --nats: journal stream storage, file or memory.")
    var natsStorage: String?

    @Option(help: "With --nats: events per journal frame (1 to 1023).")
    var natsFrameEvents: Int?

    @Flag(
        help: "With --nats: take input events from the shard's subject peregrine.in.K instead of the synthetic market.")
    var natsInput = false

    @Option(
        help:
            "With --nats: the name of this deployment: subjects NAME.journal.K, NAME.in.K, NAME.out.K.* and streams NAME_JOURNAL_K (uppercased)."
    )
    var natsPrefix: String?

    func run() throws {
        let configuration: EngineConfiguration
        do {
            configuration = try makeConfiguration()
            try configuration.validate()
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
        StopSignal.installHandlers()
        let logger = LogSetup.bootstrap(level: configuration.logLevel)
        let clock = CycleClock.calibrate()
        let strategy = Peregrine.strategy
        let report: EngineReport
        let controlPlane =
            configuration.metricsPort > 0
            ? ControlPlane(
                port: configuration.metricsPort, address: configuration.metricsAddress,
                logger: Logger(label: "peregrine.control")) : nil
        defer { controlPlane?.stop() }
        do {
            report = try Pipeline.run(
                configuration: configuration, strategy: strategy, clock: clock, observer: controlPlane, logger: logger
            ) { line in
                print(line)
                fflush(nil)
            }
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        print(report.formatted)
        if !report.isLossless { throw ExitCode(1) }
    }

    func makeConfiguration() throws(EngineError) -> EngineConfiguration {
        // Precedence: profile < file < environment (PEREGRINE_SECTION_KEY) < these flags.
        var configuration = try loadConfiguration(file: config, profile: profile)
        if max && rate != nil {
            throw .invalidSetting(name: "rate", value: "\(rate ?? 0)", allowed: "give either --rate or --max, not both")
        }
        if max { configuration.rate = .unlimited }
        if let rate { configuration.rate = .perSecond(rate) }
        if let duration { configuration.durationSeconds = duration == 0 ? nil : duration }
        if let maxEvents { configuration.maxEvents = maxEvents }
        if let ringSize {
            configuration.inboundRingSize = ringSize
            configuration.outboundRingSize = ringSize
        }
        if let bundleSize { configuration.bundleSize = bundleSize }
        if let bundleTimeoutUs { configuration.bundleTimeoutMicroseconds = bundleTimeoutUs }
        if let burst { configuration.burstSize = burst }
        if let instruments { configuration.instruments = instruments }
        if let seed { configuration.seed = seed }
        if let orderFlow { configuration.orderFlowPercent = orderFlow }
        if let venueOrders { configuration.venueOrderCapacity = venueOrders }
        if let source {
            guard let spec = RecordedSourceSpec.parse(source) else {
                throw .invalidSetting(
                    name: "source", value: source,
                    allowed:
                        "use FORMAT:FILE[,FILE...] with FORMAT one of \(FeedFormat.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            configuration.recordedSource = spec
        }
        if let journal { configuration.journalDirectory = journal }
        if noJournal { configuration.journalDirectory = nil }
        if let nats {
            guard let (index, count) = NATSSettings.parseShard(shard) else {
                throw .invalidSetting(name: "shard", value: shard, allowed: "use K/N with 0 ≤ K < N ≤ 1024, e.g. 0/2")
            }
            var settings = configuration.nats ?? NATSSettings(url: nats)
            settings.url = nats
            settings.shard = index
            settings.shardCount = count
            if let natsReplicas { settings.replicas = natsReplicas }
            if let natsStorage {
                guard let storage = StreamStorage(rawValue: natsStorage) else {
                    throw .invalidSetting(name: "nats-storage", value: natsStorage, allowed: "use file or memory")
                }
                settings.storage = storage
            }
            if let natsFrameEvents { settings.frameEvents = natsFrameEvents }
            if natsInput { settings.consumeInput = true }
            if let natsPrefix {
                guard !natsPrefix.isEmpty,
                    natsPrefix.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
                else {
                    throw .invalidSetting(
                        name: "nats-prefix", value: natsPrefix, allowed: "use letters, digits, - and _")
                }
                settings.subjectPrefix = natsPrefix.lowercased()
                settings.streamPrefix = natsPrefix.uppercased()
            }
            configuration.nats = settings
            if journal == nil { configuration.journalDirectory = nil }  // the stream is the journal
        }
        if let durability {
            let (interval, events): (Int, Int)
            if case .batch(let i, let e) = configuration.durability {
                (interval, events) = (i, e)
            } else {
                (interval, events) = (1_000, 65_536)
            }
            switch durability {
            case "none": configuration.durability = .none
            case "every": configuration.durability = .every
            case "batch": configuration.durability = .batch(intervalMicroseconds: interval, events: events)
            default: throw .invalidSetting(name: "durability", value: durability, allowed: "use none, batch or every")
            }
        }
        if syncIntervalUs != nil || syncEvents != nil {
            guard case .batch(let interval, let events) = configuration.durability else {
                throw .invalidSetting(
                    name: "sync-interval-us", value: "\(syncIntervalUs ?? syncEvents ?? 0)",
                    allowed: "only with --durability batch")
            }
            configuration.durability = .batch(
                intervalMicroseconds: syncIntervalUs ?? interval, events: syncEvents ?? events)
        }
        if let segmentMb {
            guard (1...1_048_576).contains(segmentMb) else {
                throw .invalidSetting(name: "segment-mb", value: "\(segmentMb)", allowed: "use 1 to 1048576")
            }
            configuration.segmentBytes = segmentMb << 20
        }
        if let snapshotEvery { configuration.snapshotEveryEvents = snapshotEvery }
        if prune { configuration.pruneJournal = true }
        if let statusInterval { configuration.statusIntervalSeconds = statusInterval }
        if let metricsPort { configuration.metricsPort = metricsPort }
        if let metricsAddress { configuration.metricsAddress = metricsAddress }
        if let logLevel { configuration.logLevel = logLevel }
        if let pin {
            var cpus: [Int] = []
            for part in pin.split(separator: ",", omittingEmptySubsequences: false) {
                guard let cpu = Int(part.trimmingCharacters(in: " ")), cpu >= 0 else {
                    throw .invalidSetting(
                        name: "pin", value: pin, allowed: "use a comma-separated list of CPU numbers, e.g. 0,1")
                }
                cpus.append(cpu)
            }
            configuration.pinCPUs = cpus
        }
        if let onFull {
            guard let policy = FullRingPolicy(rawValue: onFull) else {
                throw .invalidSetting(name: "on-full", value: onFull, allowed: "use block or drop")
            }
            configuration.fullRingPolicy = policy
        }
        if let wait {
            guard let waitKind = WaitStrategyKind(rawValue: wait) else {
                throw .invalidSetting(name: "wait", value: wait, allowed: "use spin, yield or park")
            }
            configuration.waitStrategy = waitKind
        }
        if let topology {
            guard let topologyKind = Topology(rawValue: topology) else {
                throw .invalidSetting(name: "topology", value: topology, allowed: "use shared or dedicated")
            }
            configuration.topology = topologyKind
        }
        return configuration
    }
}

/// The configuration a file and profile give, with environment overrides.
func loadConfiguration(file: String?, profile: String?) throws(EngineError) -> EngineConfiguration {
    var chosen: ConfigurationProfile? = nil
    if let profile {
        guard let named = ConfigurationProfile(rawValue: profile) else {
            throw .invalidSetting(
                name: "profile", value: profile,
                allowed: "use " + ConfigurationProfile.allCases.map(\.rawValue).joined(separator: ", "))
        }
        chosen = named
    }
    var text: String? = nil
    if let file {
        guard let contents = readTextFile(file) else {
            throw .invalidSetting(
                name: "config", value: file, allowed: "cannot read the file: \(String(cString: strerror(errno)))")
        }
        text = contents
    }
    return try ConfigurationFile.resolve(profile: chosen, fileText: text, environment: processEnvironment())
}

func readTextFile(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count <= 0 { break }
        bytes += buffer[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

func processEnvironment() -> [String: String] {
    var values: [String: String] = [:]
    var pointer = environ
    while let entry = pointer.pointee {
        let text = String(cString: entry)
        if let equals = text.firstIndex(of: "=") {
            values[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        pointer += 1
    }
    return values
}

func printError(_ message: String) {
    let line = message + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> Substring {
        var result = self
        while result.first == set { result = result.dropFirst() }
        while result.last == set { result = result.dropLast() }
        return result
    }
}
