import ArgumentParser
import Logging
import PeregrineControl
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
        commandName: "run",
        abstract: "Run the engine's pipeline on the synthetic source.",
        discussion: """
            source → inbound ring → journal → logic (one book per instrument, the hosted venue, the strategy) → outbound rings → sink.
            Every event is appended to the journal (--journal, default ./data) before the logic acts on it; at start-up the
            engine replays the journal to recover its state (cutting off a torn last record) and continues after it.
            With --order-flow, that share of events are order commands for a hosted venue (a matching engine) trading
            its own instruments, numbered after the market-data ones (--instruments 4: venue instruments 4 to 7); its
            execution reports go to the sink on their own ring. The strategy's orders for a hosted instrument are matched
            there; its orders for any other instrument are sent out (venue orders) for the venue that trades it.
            Prints a status line every second and a final report. Stops at --duration, at --max-events,
            or on SIGINT/SIGTERM, after draining every ring.
            """)

    @Option(
        help:
            "Configuration file (TOML): a profile, then [sections] of settings; flags override it (see `peregrine config show`)."
    )
    var config: String?

    @Option(help: "Start from a profile: hft, analytics or memory_constrained (overrides the file's `profile`).")
    var profile: String?

    @Option(parsing: .unconditional, help: "Poisson arrival rate of the synthetic source, in events per second.")
    var rate: Double?

    @Flag(help: "Send events as fast as the pipeline accepts them (instead of --rate).")
    var max = false

    @Option(
        parsing: .unconditional,
        help: "Seconds to run before shutting down (default 10; 0 runs until SIGINT or SIGTERM).")
    var duration: Double?

    @Option(
        parsing: .unconditional,
        help:
            "Stop the synthetic source after this many market events (idle clock ticks and the session end are not counted; refused with --source)."
    )
    var maxEvents: Int?

    @Option(parsing: .unconditional, help: "Slots in the inbound ring (a power of two, 64 to 67108864).")
    var ringSize: Int?

    @Option(help: "CPUs to pin the hot threads to, in order (e.g. 0,1). Refused pinning is reported, not fatal.")
    var pin: String?

    @Option(parsing: .unconditional, help: "Events per Poisson arrival (bursts).")
    var burst: Int?

    @Option(
        help:
            "What the source does when the inbound ring is full: block or drop (counted; a run that dropped is not lossless: exit 1)."
    )
    var onFull: String?

    @Option(help: "How idle hot threads wait: spin, yield or park.")
    var wait: String?

    @Option(help: "Stage-to-thread mapping: shared (2 hot threads) or dedicated (one per stage).")
    var topology: String?

    @Option(parsing: .unconditional, help: "Number of synthetic instruments.")
    var instruments: Int?

    @Option(
        parsing: .unconditional,
        help: "Percent of events that are order commands for the hosted matching engine (0 to 100; 0 hosts none).")
    var orderFlow: Int?

    @Option(parsing: .unconditional, help: "Orders each venue book can hold (resting plus pending stops).")
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

    @Option(parsing: .unconditional, help: "With --durability batch: the longest time between syncs, in microseconds.")
    var syncIntervalUs: Int?

    @Option(parsing: .unconditional, help: "With --durability batch: the most events between syncs.")
    var syncEvents: Int?

    @Option(
        parsing: .unconditional,
        help: "Take a snapshot of the logic every this many events (0: never); recovery starts from the newest.")
    var snapshotEvery: Int?

    @Flag(help: "After each snapshot keep the newest two and delete the journal segments before them.")
    var prune = false

    @Flag(
        help: """
            Resolve and check the configuration (profile, file, environment, flags), print it as TOML like \
            `peregrine config check`, and exit: 0 when valid, 2 when not. Starts nothing.
            """)
    var validateOnly = false

    @Flag(
        help: """
            Accept that journal records a snapshot covered are gone (a truncated or deleted last segment): set such \
            snapshots aside (renamed .stale) and recover from an older snapshot or the first record. Without it the \
            start is refused, naming the missing records.
            """)
    var acceptJournalLoss = false

    @Flag(
        help: """
            Accept replaying journal records another revision of the logic wrote (an older build's records after its \
            newest snapshot, or a JetStream stream it wrote) with this build's logic, and go on from the state that \
            gives, which may differ from the old run's. Without it the start is refused, naming the records and how \
            to upgrade cleanly (stop the old build with SIGTERM first).
            """)
    var acceptLogicChange = false

    @Option(parsing: .unconditional, help: "Journal segment size in MB; a new segment file starts past it.")
    var segmentMb: Int?

    @Option(parsing: .unconditional, help: "Seconds between status lines.")
    var statusInterval: Double?

    @Option(
        help:
            "Replay recorded market data instead of the synthetic market: FORMAT[@INSTRUMENT]:FILE[,FILE...] with a format of `peregrine feed replay` (e.g. bybit-ob@3:book.jsonl; instrument 0 unless given); several separated by ';' are merged into one sequence. Published as fast as the pipeline accepts it."
    )
    var source: String?

    @Option(parsing: .unconditional, help: "Port of the metrics and health HTTP server (0 turns it off).")
    var metricsPort: Int?

    @Option(help: "Address the metrics and health server listens on (default 127.0.0.1; 0.0.0.0 in a pod).")
    var metricsAddress: String?

    @Option(help: "Lowest log level written to standard error: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @Option(parsing: .unconditional, help: "Seed of the synthetic source (same seed, same events).")
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
    var shard: String?

    @Option(parsing: .unconditional, help: "With --nats: journal stream replicas, 1 to 5 (3 on a 3-node cluster).")
    var natsReplicas: Int?

    @Option(help: "With --nats: journal stream storage, file or memory.")
    var natsStorage: String?

    @Option(parsing: .unconditional, help: "With --nats: events per journal frame (1 to 1023).")
    var natsFrameEvents: Int?

    @Flag(
        help: "With --nats: take input events from the shard's subject peregrine.in.K instead of the synthetic market.")
    var natsInput = false

    @Option(
        help:
            "With --nats: the name of this deployment: subjects NAME.journal.K, NAME.in.K, NAME.out.K.* and streams NAME_JOURNAL_K (uppercased)."
    )
    var natsPrefix: String?

    @OptionGroup var strategyOptions: StrategyOptions

    @Flag(
        help:
            "Keep the strategies' open orders at the end of the run (a restart recovers them) instead of cancelling them."
    )
    var keepOrders = false

    @Option(
        help:
            "Write every update of the strategies' orders (accepted, fills with fees, cancels…) here: CSV for a .csv name, JSON lines otherwise. `peregrine replay --fills-out` writes the same from the journal."
    )
    var fillsOut: String?

    func run() throws {
        let configuration: EngineConfiguration
        let natsSettings: NATSSettings?
        do {
            (configuration, natsSettings) = try makeConfiguration()
            try validateConfiguration(configuration, file: config)
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
        if validateOnly {
            print(
                ConfigurationFile.render(configuration, profile: profile.flatMap(ConfigurationProfile.init(rawValue:))),
                terminator: "")
            return
        }
        StopSignal.installHandlers()
        let logger = LogSetup.bootstrap(level: configuration.logLevel)
        let report: EngineReport
        let controlPlane =
            configuration.metricsPort > 0
            ? ControlPlane(
                port: configuration.metricsPort, address: configuration.metricsAddress,
                adminToken: configuration.adminToken, adminRemote: configuration.adminRemote,
                logger: Logger(label: "peregrine.control")) : nil
        defer { controlPlane?.stop() }
        // With an admin token the operator counts on reaching the kill switch: an engine whose
        // control plane cannot listen (its port taken) does not start without it.
        if let controlPlane, configuration.adminToken != nil, !controlPlane.awaitListening(timeoutSeconds: 10) {
            let reason = controlPlane.failure.map { ": \($0)" } ?? " (is the port taken?)"
            printError(
                "error: the control plane cannot listen on \(configuration.metricsAddress):\(configuration.metricsPort)"
                    + "\(reason); [control] admin_token is set, and the kill switch would be out of reach. "
                    + "Free the port or give another with --metrics-port; nothing was started")
            throw ExitCode(1)
        }
        do {
            let status = { (line: String) in
                print(line)
                fflush(nil)
            }
            if let natsSettings {
                report = try DistributedPipeline.run(
                    configuration: configuration, nats: natsSettings, custom: IdleStrategy.self,
                    observer: controlPlane, logger: logger, status: status)
            } else {
                report = try Pipeline.run(
                    configuration: configuration, custom: IdleStrategy.self, observer: controlPlane,
                    logger: logger, status: status)
            }
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        print(report.formatted)
        if !report.isLossless { throw ExitCode(1) }
    }

    /// The flags that are configuration keys, as settings for `ConfigurationFile.resolve`: one
    /// parser and one range check per setting, whether it comes from a file, the environment
    /// or a flag.
    var flagSettings: [ConfigurationFile.Setting] {
        var settings: [ConfigurationFile.Setting] = []
        func add(_ key: String, _ flag: String, _ value: (some CustomStringConvertible)?) {
            guard let value else { return }
            // A whole number as it was written (an error quotes it: `-1`, not `-1.0`).
            let text = (value as? Double).map(EngineConfiguration.shown) ?? value.description
            settings.append(.init(key: key, value: text, origin: "--\(flag)"))
        }
        add("source.rate", "rate", rate)
        add("source.max", "max", max ? "true" : nil)
        add("source.duration", "duration", duration)
        add("source.max_events", "max-events", maxEvents)
        add("rings.inbound", "ring-size", ringSize)
        add("rings.outbound", "ring-size", ringSize)
        add("source.burst", "burst", burst)
        add("source.instruments", "instruments", instruments)
        add("source.seed", "seed", seed)
        add("source.order_flow", "order-flow", orderFlow)
        add("venue.orders", "venue-orders", venueOrders)
        add("source.recorded", "source", source)
        add("journal.directory", "journal", journal)
        add("journal.enabled", "no-journal", noJournal ? "false" : nil)
        add("journal.durability", "durability", durability)
        add("journal.sync_interval_us", "sync-interval-us", syncIntervalUs)
        add("journal.sync_events", "sync-events", syncEvents)
        add("journal.segment_mb", "segment-mb", segmentMb)
        add("journal.snapshot_every", "snapshot-every", snapshotEvery)
        add("journal.prune", "prune", prune ? "true" : nil)
        add("monitor.status_interval", "status-interval", statusInterval)
        add("metrics.port", "metrics-port", metricsPort)
        add("metrics.address", "metrics-address", metricsAddress)
        add("log.level", "log-level", logLevel)
        add("threads.pin", "pin", pin)
        add("source.on_full", "on-full", onFull)
        add("threads.wait", "wait", wait)
        add("threads.topology", "topology", topology)
        return settings
    }

    func makeConfiguration() throws(EngineError) -> (EngineConfiguration, NATSSettings?) {
        // Precedence: profile < file < environment (PEREGRINE_SECTION_KEY) < these flags.
        if max && rate != nil {
            throw .invalidSetting(
                name: "--rate", value: EngineConfiguration.shown(rate ?? 0),
                allowed: "give either --rate or --max, not both")
        }
        if let journal, noJournal {
            throw .invalidSetting(
                name: "journal", value: journal, allowed: "give either --journal DIR or --no-journal, not both")
        }
        if noJournal, durability != nil || syncIntervalUs != nil || syncEvents != nil {
            throw .invalidSetting(
                name: "durability", value: durability ?? "--sync-*",
                allowed: "applies to a journal; drop it or drop --no-journal")
        }
        if nats != nil {
            // The stream is the journal: its durability point is JetStream's ack, it keeps no
            // snapshots or segments, and it cannot be turned off.
            let ignored: [(String, Bool)] = [
                ("--no-journal", noJournal), ("--durability", durability != nil),
                ("--sync-interval-us", syncIntervalUs != nil), ("--sync-events", syncEvents != nil),
                ("--snapshot-every", snapshotEvery != nil), ("--prune", prune), ("--segment-mb", segmentMb != nil),
            ]
            if let (flag, _) = ignored.first(where: { $0.1 }) {
                throw .invalidSetting(
                    name: "nats", value: flag,
                    allowed: "with --nats the JetStream stream is the journal (durable when acknowledged, no snapshots "
                        + "or segments): drop \(flag), or drop --nats for a journal directory")
            }
        }
        if nats == nil {
            if natsInput || shard != nil || natsReplicas != nil || natsStorage != nil || natsFrameEvents != nil
                || natsPrefix != nil
            {
                throw .invalidSetting(
                    name: "nats", value: "(not given)",
                    allowed: "--nats-input, --shard and the other --nats-* flags need --nats URL")
            }
        }
        var configuration = try loadConfiguration(file: config, profile: profile, flags: flagSettings)
        if acceptJournalLoss { configuration.acceptJournalLoss = true }
        if acceptLogicChange { configuration.acceptLogicChange = true }
        let specs = try strategyOptions.specs()
        if !specs.isEmpty { configuration.strategies = specs }
        if keepOrders { configuration.keepOrdersAtStop = true }
        if let fillsOut {
            guard !fillsOut.isEmpty else {
                throw .invalidSetting(name: "fills-out", value: fillsOut, allowed: "give a file path")
            }
            configuration.fillsOut = fillsOut
        }
        var natsSettings: NATSSettings? = nil
        if let nats {
            let shard = shard ?? "0/1"
            guard let (index, count) = NATSSettings.parseShard(shard) else {
                throw .invalidSetting(name: "shard", value: shard, allowed: "use K/N with 0 ≤ K < N ≤ 1024, e.g. 0/2")
            }
            var settings = NATSSettings(url: nats)
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
                guard NATSSettings.isPrefix(natsPrefix) else {
                    throw .invalidSetting(
                        name: "nats-prefix", value: natsPrefix, allowed: "use letters, digits, - and _")
                }
                settings.usePrefix(natsPrefix)
            }
            if journal == nil { configuration.journalDirectory = nil }  // the stream is the journal
            try settings.validate(with: configuration)
            natsSettings = settings
        }
        return (configuration, natsSettings)
    }
}

/// The configuration a file and profile give, with environment overrides.
func loadConfiguration(
    file: String?, profile: String?, flags: [ConfigurationFile.Setting] = []
) throws(EngineError) -> EngineConfiguration {
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
        text = try readConfigurationFile(file)
    }
    return try ConfigurationFile.resolve(
        profile: chosen, fileText: text, filePath: file, environment: processEnvironment(), flags: flags)
}

/// `configuration.validate(custom:)`; a refusal of something the configuration file writes (a
/// strategy's parameter, say) is named at the file's line.
func validateConfiguration(_ configuration: EngineConfiguration, file: String?) throws(EngineError) {
    do { try configuration.validate(custom: IdleStrategy.self) } catch {
        guard let file, let text = try? readConfigurationFile(file) else { throw error }
        throw ConfigurationFile.located(error, in: text, path: file, afterOverrides: true)
    }
}

/// The text of a configuration file: a regular file of at most 1 MiB (a directory, a device
/// or a pipe is refused, never read as an empty or endless configuration).
func readConfigurationFile(_ path: String) throws(EngineError) -> String {
    let limit = 1 << 20
    var info = stat()
    guard stat(path, &info) == 0 else {
        throw .invalidSetting(
            name: "config", value: path, allowed: "cannot read it: \(String(cString: strerror(errno)))")
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
        throw .invalidSetting(name: "config", value: path, allowed: "not a regular file; give a TOML file")
    }
    guard info.st_size <= limit else {
        throw .invalidSetting(
            name: "config", value: path, allowed: "\(info.st_size) bytes; a configuration file is at most 1 MiB")
    }
    guard let file = fopen(path, "r") else {
        throw .invalidSetting(
            name: "config", value: path, allowed: "cannot read it: \(String(cString: strerror(errno)))")
    }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while bytes.count <= limit {
        let count = fread(&buffer, 1, buffer.count, file)
        if count <= 0 { break }
        bytes += buffer[0..<count]
    }
    guard bytes.count <= limit else {
        throw .invalidSetting(name: "config", value: path, allowed: "grew past 1 MiB while being read")
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

/// Prints a line for people: on standard error when the bundles go to standard output
/// (`--bundles-out -`), so that standard output holds only their JSON lines.
func printForPeople(_ line: String, bundlesOut: String?) {
    if bundlesOut == "-" { printError(line) } else { print(line) }
}

/// Writes `message` and a newline to standard error, whole: a NUL or other control character
/// in it (from bad input) is shown escaped, so it neither cuts the line nor runs it into the next.
func printError(_ message: String) {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(message.utf8.count + 1)
    for scalar in message.unicodeScalars {
        if scalar.value < 0x20 && scalar != "\n" && scalar != "\t" || scalar.value == 0x7F {
            bytes += Array(scalar.escaped(asASCII: true).utf8)
        } else {
            bytes += Array(String(scalar).utf8)
        }
    }
    bytes.append(0x0A)
    bytes.withUnsafeBytes { writeFully(2, $0) }
}

/// Writes all of `bytes` to `fd`, retrying short writes (stops at an error: output for people).
func writeFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) {
    var offset = 0
    while offset < bytes.count, let base = bytes.baseAddress {
        let written = write(fd, base + offset, bytes.count - offset)
        if written < 0, errno == EINTR { continue }
        if written <= 0 { break }
        offset += written
    }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> Substring {
        var result = self
        while result.first == set { result = result.dropFirst() }
        while result.last == set { result = result.dropLast() }
        return result
    }
}
