import Logging
import PeregrineBook
import PeregrineCodec
import PeregrineCore
import PeregrineFeed
import PeregrineJournal
import PeregrineMempool
import PeregrineModel
import PeregrineRisk
import PeregrineStrategy

#if canImport(Glibc)
    import Glibc
#endif

/// How the synthetic source paces events.
public enum SourceRate: Equatable, Sendable {
    /// Poisson arrivals averaging this many events per second.
    case perSecond(Double)
    /// As fast as the pipeline accepts them.
    case unlimited
}

/// What a source does when the inbound ring is full.
public enum FullRingPolicy: String, Equatable, Sendable, CaseIterable {
    /// Wait for space (never loses an event; the source falls behind instead).
    case block
    /// Drop the event and count it.
    case drop
}

/// How stages are mapped to threads.
/// When journaled events count as durable, and so when the logic may act on them (the
/// durability point: an output leaves only after the inputs that caused it are durable).
public enum DurabilityPolicy: Equatable, Sendable, CustomStringConvertible {
    /// Written to the OS (survives a process crash, not a power cut); never synced while
    /// running (synced once at shutdown).
    case none
    /// Written to the OS before the logic sees it, and synced (`fdatasync`) at least every
    /// `intervalMicroseconds` or `events`: a power cut loses at most that window.
    case batch(intervalMicroseconds: Int, events: Int)
    /// Synced before the logic sees it: nothing the engine acted on can be lost.
    case every

    public var description: String {
        switch self {
        case .none: return "none (written to the OS page cache; synced at shutdown)"
        case .batch(let interval, let events):
            return "batch (fdatasync every \(interval) µs or \(events) events)"
        case .every: return "every (fdatasync before the logic sees a batch)"
        }
    }
}

public enum Topology: String, Equatable, Sendable, CaseIterable {
    /// Two hot threads: source + journal, and logic + sink (the default on 2 cores).
    case shared
    /// One thread per stage: source, journal, logic, sink (for machines with 4+ spare cores).
    case dedicated
}

/// Everything `peregrine run` can be told. `validate()` refuses values the engine cannot
/// honour, naming the setting and what is allowed.
public struct EngineConfiguration: Equatable, Sendable {
    public var rate: SourceRate = .perSecond(100_000)
    /// Stop after this many seconds; `nil` runs until SIGINT/SIGTERM or `maxEvents`.
    public var durationSeconds: Double? = 10
    /// Stop the source after this many events; `nil` for no limit.
    public var maxEvents: Int? = nil
    /// Events per arrival: each Poisson arrival brings this many events back to back.
    public var burstSize = 1
    public var fullRingPolicy: FullRingPolicy = .block
    public var inboundRingSize = 65_536
    public var outboundRingSize = 65_536
    /// Slots in the ring carrying venue orders (the strategy's orders for venues this engine
    /// does not host) from logic to the sink.
    public var orderRingSize = 1_024
    public var waitStrategy: WaitStrategyKind = .spin
    public var topology: Topology = .shared
    /// CPUs to pin the hot threads to, in thread order; empty for no pinning.
    public var pinCPUs: [Int] = []
    public var instruments = 4
    public var seed: UInt64 = 42
    /// Percent of synthetic events that are order commands for the hosted venue (0 to 100).
    /// Above 0 the logic hosts a venue (a matching engine) trading its own instruments,
    /// `hostedInstruments`, and sends its execution reports to the sink.
    public var orderFlowPercent = 0
    /// Orders each venue book can hold at once (resting plus pending stops).
    public var venueOrderCapacity = 65_536
    /// The mempool analysis (`MempoolLogic`) with its settings, or nil for none: pending
    /// transactions, pools and chain heads in the events are then only journaled.
    public var mempool: MempoolSettings? = nil
    /// Slots in the ring carrying sealed bundles' legs and seals from logic to the sink (2.3 KB each).
    public static let bundleRingSize = 256
    /// The strategies the logic runs (`--strategy`/`--param`, `[[strategy]]`), in order.
    public var strategies: [StrategySpec] = []
    /// Reference data for instruments (`[[instrument]]`); every instrument not listed gets
    /// `InstrumentDefinition.synthetic` (see `resolvedInstruments`).
    public var instrumentDefinitions: [InstrumentDefinition] = []
    /// Keep the strategies' open orders at the session's end (a restart that recovers them
    /// finds them working) instead of cancelling them.
    public var keepOrdersAtStop = false
    /// Market-data instruments whose book is their quotes (quotes-only data: each quote is a
    /// one-level book the strategies read). The backtest sets it; live runs leave it empty
    /// (it is not part of the journal's logic settings).
    public var quoteBooks: [InstrumentID] = []
    /// Pre-trade risk limits (`[[risk]]` tables), resolved against the strategies and
    /// instruments by `makeRiskLimits`; none: every check is off (the kill switch still works).
    public var risk: [RiskRule] = []
    /// The token `POST /kill` and `POST /reset` on the control plane require (`Authorization:
    /// Bearer TOKEN`); nil turns those commands off. Never journaled or printed.
    public var adminToken: String? = nil
    /// Accept admin commands from any address the control plane listens on, not only loopback.
    public var adminRemote = false
    /// How long an outside venue has to answer a new order (event time, ms) before the engine
    /// cancels it and tells its strategy (`no-answer`); 0: no timeout.
    public var ackTimeoutMilliseconds = 5_000
    /// The most open orders of all strategies together.
    public var strategyOrderCapacity = 4_096
    /// The most timers the strategies may have scheduled at once.
    public var timerCapacity = 1_024
    /// Where the sink writes every update of the strategies' orders (`--fills-out`: CSV for a
    /// `.csv` name, JSON lines otherwise); nil for none.
    public var fillsOut: String? = nil
    /// Slots in the ring carrying execution reports from logic to the sink.
    public var reportRingSize = 65_536
    /// Port of the control-plane HTTP server (metrics and health); 0 turns it off.
    public var metricsPort = 9464
    /// Address the control-plane server listens on: loopback by default; 0.0.0.0 in a pod so
    /// Prometheus and the kubelet's probes reach it.
    public var metricsAddress = "127.0.0.1"
    /// Lowest swift-log level written (to standard error): trace, debug, info, notice,
    /// warning, error or critical.
    public var logLevel = "info"
    /// Recorded market data to replay instead of the synthetic market (as fast as the
    /// pipeline accepts it; `rate` is ignored). Several are merged into one sequence.
    public var recordedSources: [RecordedSourceSpec] = []
    /// The profile it was resolved from (`profile` in its file or `--profile`), for printing.
    public var profile: ConfigurationProfile?
    /// Where the journal lives; nil runs without one (nothing is durable, and the report
    /// says so).
    public var journalDirectory: String? = nil
    public var durability: DurabilityPolicy = .batch(intervalMicroseconds: 1_000, events: 65_536)
    /// Take a snapshot of the logic every this many events (0: never). Recovery starts from
    /// the newest snapshot and replays only the journal after it.
    public var snapshotEveryEvents = 1_000_000
    /// After each snapshot, keep the newest two and delete the journal segments before them.
    public var pruneJournal = false
    /// At start-up, accept that journal records covered by a snapshot are gone (a truncated or
    /// deleted last segment): set such snapshots aside and recover from an older one or the
    /// first record. Off: recovery refuses and names the missing records. A flag only, never
    /// a file setting: losing data must be asked for each time.
    public var acceptJournalLoss = false
    /// Replay journal records another revision of the logic wrote (an older build's tail after
    /// its newest snapshot, or a JetStream stream it wrote) with this build's logic, and go on
    /// from the state that gives. Off: recovery refuses and says how to upgrade cleanly. A flag
    /// only, never a file setting.
    public var acceptLogicChange = false
    /// At high rates the journal lets a small batch wait up to twice as long as its previous
    /// write took (at most this long) before writing it, so that one write carries several
    /// events: bounded latency for far fewer system calls. 0 writes every batch at once.
    public var journalCoalesceMicroseconds = 10
    /// A journal segment is closed and a new one started past this size.
    public var segmentBytes = 64 << 20
    /// When the paced source has had nothing to send for this long it sends a clock tick, so
    /// time moves on in the logic through journaled events.
    public var tickIntervalMicroseconds = 50
    public var statusIntervalSeconds = 1.0
    /// Most events a stage handles before it publishes progress.
    public var batchLimit = 256

    public init() {}

    /// The instruments the hosted venue trades: with order flow, as many as there are
    /// market-data instruments, numbered after them (`instruments ..< 2 × instruments`), so
    /// that every instrument has one book; none without order flow.
    public var hostedInstruments: Range<Int> {
        orderFlowPercent > 0 ? SyntheticMarket.hostedInstruments(instruments: instruments) : 0..<0
    }

    /// Every instrument's reference data: those configured, and for every other market-data
    /// or hosted instrument the synthetic default (`InstrumentDefinition.synthetic`).
    public var resolvedInstruments: [InstrumentDefinition] {
        var byID: [InstrumentID: InstrumentDefinition] = [:]
        for raw in 0..<instruments {
            let id = InstrumentID(UInt32(truncatingIfNeeded: raw))
            byID[id] = .synthetic(id, hosted: false)
        }
        for raw in hostedInstruments {
            let id = InstrumentID(UInt32(truncatingIfNeeded: raw))
            byID[id] = .synthetic(id, hosted: true)
        }
        for definition in instrumentDefinitions { byID[definition.id] = definition }
        return byID.values.sorted { $0.id < $1.id }
    }

    /// Seconds a run may last (0, meaning "until stopped", is allowed too): about ten years.
    public static let durationRange: ClosedRange<Double> = 0.001...315_360_000
    public static let durationAllowed =
        "use 0 (run until SIGINT or SIGTERM) or 0.001 to 315360000 seconds (ten years)"
    /// Seconds between status lines.
    public static let statusIntervalRange: ClosedRange<Double> = 0.01...86_400
    public static let statusIntervalAllowed = "use 0.01 to 86400 seconds"
    /// Events per second of the paced synthetic source.
    public static let rateRange: ClosedRange<Double> = 1...1e9

    /// Throws for the first setting that is out of range.
    /// Whether `text` is an IPv4 or IPv6 address literal.
    public static func isIPAddress(_ text: String) -> Bool {
        var buffer = (UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &buffer) { bytes in
            inet_pton(AF_INET, text, bytes.baseAddress) == 1 || inet_pton(AF_INET6, text, bytes.baseAddress) == 1
        }
    }

    /// Builds the strategies of `strategies` on this configuration's instruments (hosted and
    /// market data), with `Custom` as the outside type.
    public func makeStrategies<Custom: Strategy>(custom: Custom.Type) throws(EngineError) -> StrategySet<Custom> {
        do {
            return try StrategySet(
                specs: strategies,
                hosted: hostedInstruments.map { InstrumentID(UInt32(truncatingIfNeeded: $0)) },
                marketData: (0..<instruments).map { InstrumentID(UInt32(truncatingIfNeeded: $0)) },
                lotSizes: Dictionary(uniqueKeysWithValues: resolvedInstruments.map { ($0.id, $0.lotSize) }),
                tickSizes: Dictionary(uniqueKeysWithValues: resolvedInstruments.map { ($0.id, $0.tickSize) }))
        } catch {
            throw .strategy(error)
        }
    }

    /// Whether a strategy trades an instrument this engine does not host (its orders then leave
    /// as venue orders, and an outside venue answers them).
    public func tradesOutsideVenues<Custom: Strategy>(custom: Custom.Type) throws(EngineError) -> Bool {
        let hosted = hostedInstruments
        return try makeStrategies(custom: custom).layouts.contains { layout in
            layout.instruments.contains { !hosted.contains(Int($0.rawValue)) }
        }
    }

    /// The risk rules resolved for the strategies laid out as `layouts`.
    public func makeRiskLimits(layouts: [StrategyLayout]) throws(EngineError) -> RiskLimits {
        do {
            return try RiskLimits.resolve(
                rules: risk, instruments: resolvedInstruments,
                strategies: layouts.map { (id: $0.id.rawValue, instruments: $0.instruments) })
        } catch {
            throw .risk(error)
        }
    }

    /// `validate()`, then builds the strategies (with `Custom` as the outside type) and resolves
    /// the risk rules, to refuse an unknown name, an unknown, repeated or out-of-range parameter,
    /// instrument or limit before anything starts.
    public func validate<Custom: Strategy>(custom: Custom.Type) throws(EngineError) {
        try validate()
        _ = try LogicSettings(self, custom: custom)
        _ = try makeRiskLimits(layouts: try makeStrategies(custom: custom).layouts)
        if let adminToken, !Self.isUsableAdminToken(adminToken) {
            throw .invalidSetting(
                name: "control.admin_token", value: "(\(adminToken.count) characters)",
                allowed: "use at least 16 characters without spaces (e.g. the output of `openssl rand -hex 16`)")
        }
    }

    /// Whether `token` may be the admin token: at least 16 characters, none of them a space.
    public static func isUsableAdminToken(_ token: String) -> Bool {
        token.count >= 16 && !token.contains(where: { $0.isWhitespace })
    }

    /// Refuses an output file that could not be opened for writing (a directory, a missing
    /// directory, a file or directory without write permission), before anything starts;
    /// nothing is created.
    static func checkWritable(_ path: String, name: String) throws(EngineError) {
        var status = stat()
        if stat(path, &status) == 0 {
            guard status.st_mode & S_IFMT != S_IFDIR else {
                throw .invalidSetting(name: name, value: path, allowed: "it is a directory: give a file path")
            }
            guard access(path, W_OK) == 0 else {
                throw .invalidSetting(
                    name: name, value: path, allowed: "cannot be written: \(String(cString: strerror(errno)))")
            }
            return
        }
        let directory = FileIO.directory(of: path)
        guard FileIO.isDirectory(directory) else {
            throw .invalidSetting(name: name, value: path, allowed: "its directory \(directory) does not exist")
        }
        guard access(directory, W_OK) == 0 else {
            throw .invalidSetting(
                name: name, value: path,
                allowed: "its directory \(directory) cannot be written: \(String(cString: strerror(errno)))")
        }
    }

    /// A number as a user would have written it: a whole one without ".0" (`-1`, not `-1.0`).
    public static func shown(_ value: Double) -> String { Int64(exactly: value).map { "\($0)" } ?? "\(value)" }

    public func validate() throws(EngineError) {
        switch rate {
        case .perSecond(let value) where !Self.rateRange.contains(value):
            throw .invalidSetting(
                name: "rate", value: Self.shown(value), allowed: "use 1 to 1000000000 events/s, or --max")
        default: break
        }
        if rate == .unlimited, fullRingPolicy == .drop {
            throw .invalidSetting(
                name: "on-full", value: "drop",
                allowed: "with --max (source.max) the source sends only as fast as the ring takes events and never "
                    + "drops: use block, or give a --rate")
        }
        if let durationSeconds, !Self.durationRange.contains(durationSeconds) {
            throw .invalidSetting(name: "duration", value: Self.shown(durationSeconds), allowed: Self.durationAllowed)
        }
        if let maxEvents, maxEvents < 1 {
            throw .invalidSetting(name: "max-events", value: "\(maxEvents)", allowed: "use 1 or more")
        }
        for (name, value) in [
            ("ring-size", inboundRingSize), ("outbound-ring-size", outboundRingSize),
            ("order-ring-size", orderRingSize), ("report-ring-size", reportRingSize),
        ] where value < 64 || value > 1 << 26 || value.nonzeroBitCount != 1 {
            throw .invalidSetting(name: name, value: "\(value)", allowed: "use a power of two from 64 to 67108864")
        }
        if !(1...inboundRingSize).contains(burstSize) {
            throw .invalidSetting(
                name: "burst", value: "\(burstSize)", allowed: "use 1 to the ring size (\(inboundRingSize))")
        }
        if !(1...65_536).contains(instruments) {
            throw .invalidSetting(name: "instruments", value: "\(instruments)", allowed: "use 1 to 65536")
        }
        if !(0...65_535).contains(metricsPort) {
            throw .invalidSetting(name: "metrics-port", value: "\(metricsPort)", allowed: "use 0 (off) to 65535")
        }
        if !Self.isIPAddress(metricsAddress) {
            throw .invalidSetting(
                name: "metrics-address", value: metricsAddress,
                allowed: "use an IPv4 or IPv6 address, e.g. 127.0.0.1 or 0.0.0.0")
        }
        if Logger.Level(rawValue: logLevel) == nil {
            throw .invalidSetting(
                name: "log-level", value: logLevel,
                allowed: "use " + Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))
        }
        if let mempool {
            do { try mempool.validate() } catch {
                throw .invalidSetting(name: "mempool", value: "\(mempool)", allowed: error.description)
            }
        }
        if !(0...100).contains(orderFlowPercent) {
            throw .invalidSetting(name: "order-flow", value: "\(orderFlowPercent)", allowed: "use 0 to 100 (percent)")
        }
        if let fillsOut { try Self.checkWritable(fillsOut, name: "fills-out") }
        if !(1...InstrumentSpec.maxOrderCapacity).contains(venueOrderCapacity) {
            throw .invalidSetting(
                name: "venue-orders", value: "\(venueOrderCapacity)",
                allowed: "use 1 to \(InstrumentSpec.maxOrderCapacity)")
        }
        if orderFlowPercent > 0, instruments > SyntheticMarket.venueInstrumentLimit {
            throw .invalidSetting(
                name: "instruments", value: "\(instruments)",
                allowed:
                    "use at most \(SyntheticMarket.venueInstrumentLimit) with --order-flow (each venue book takes ~12 MB)"
            )
        }
        if case .batch(let interval, let events) = durability, !(1...10_000_000).contains(interval) || events < 1 {
            throw .invalidSetting(
                name: "sync-interval-us", value: "\(interval) µs / \(events) events",
                allowed: "use 1 to 10000000 µs and at least 1 event")
        }
        if !((1 << 16)...(1 << 40)).contains(segmentBytes) {
            throw .invalidSetting(name: "segment-mb", value: "\(segmentBytes) bytes", allowed: "use 1 MB to 1 TB")
        }
        if !(0...10_000).contains(journalCoalesceMicroseconds) {
            throw .invalidSetting(
                name: "journal-coalesce-us", value: "\(journalCoalesceMicroseconds)", allowed: "use 0 to 10000")
        }
        if snapshotEveryEvents < 0 {
            throw .invalidSetting(
                name: "snapshot-every", value: "\(snapshotEveryEvents)", allowed: "use 0 (never) or more")
        }
        if pruneJournal, snapshotEveryEvents == 0 {
            throw .invalidSetting(
                name: "prune", value: "true",
                allowed:
                    "pruning needs snapshots: give [journal] snapshot_every (--snapshot-every) a count of events (0 is never)"
            )
        }
        if !(1...1_000_000).contains(tickIntervalMicroseconds) {
            throw .invalidSetting(
                name: "tick-interval-us", value: "\(tickIntervalMicroseconds)", allowed: "use 1 to 1000000")
        }
        if !(0...3_600_000).contains(ackTimeoutMilliseconds) {
            throw .invalidSetting(
                name: "trading.ack_timeout_ms", value: "\(ackTimeoutMilliseconds)",
                allowed: "use 0 (no timeout) to 3600000 ms")
        }
        for (name, value) in [("strategy-orders", strategyOrderCapacity), ("timers", timerCapacity)]
        where !(1...(1 << 20)).contains(value) {
            throw .invalidSetting(name: name, value: "\(value)", allowed: "use 1 to 1048576")
        }
        var definedIDs = Set<InstrumentID>()
        for (index, definition) in instrumentDefinitions.enumerated() where !definedIDs.insert(definition.id).inserted {
            // Named as the file writes it (`instrument[2].id`), so that its line can be found.
            throw .invalidSetting(
                name: "instrument[\(index + 1)].id", value: "\(definition.id.rawValue)",
                allowed: "define each instrument id once")
        }
        // Orders route by venue: the hosted matching engine trades `hostedInstruments`; every
        // other instrument's orders leave as venue orders. A definition must agree.
        let hosted = hostedInstruments
        for definition in instrumentDefinitions {
            let raw = Int(definition.id.rawValue)
            if definition.isHosted, !hosted.contains(raw) {
                throw .invalidSetting(
                    name: "instrument \(raw) venue", value: definition.venue,
                    allowed: hosted.isEmpty
                        ? "no venue is hosted without order flow (--order-flow); name the outside venue that trades it"
                        : "the hosted venue trades instruments \(hosted.lowerBound) to \(hosted.upperBound - 1)")
            }
            if !definition.isHosted, hosted.contains(raw) {
                throw .invalidSetting(
                    name: "instrument \(raw) venue", value: definition.venue,
                    allowed: "instrument \(raw) is traded by the hosted venue: use venue = \"hosted\"")
            }
            if raw >= Swift.max(instruments, hosted.upperBound) {
                throw .invalidSetting(
                    name: "instrument", value: "\(raw)",
                    allowed: "this engine's instruments are 0 to \(Swift.max(instruments, hosted.upperBound) - 1)")
            }
        }
        if let journalDirectory, journalDirectory.isEmpty {
            throw .invalidSetting(name: "journal", value: "", allowed: "give a directory path")
        }
        if let journalDirectory, let file = FileIO.nonDirectoryInPath(journalDirectory) {
            throw .invalidSetting(
                name: "journal", value: journalDirectory,
                allowed: file == journalDirectory
                    ? "it is a file, not a directory: give a directory (it is made when missing)"
                    : "\(file) is a file, not a directory: give a directory (it is made when missing)")
        }
        let cpuCount = PinnedThread.availableCPUCount
        for cpu in pinCPUs where cpu < 0 || cpu >= 1024 {
            throw .invalidSetting(
                name: "pin", value: "\(cpu)", allowed: "use CPU numbers from 0 (this machine has \(cpuCount))")
        }
        if !Self.statusIntervalRange.contains(statusIntervalSeconds) {
            throw .invalidSetting(
                name: "status-interval", value: Self.shown(statusIntervalSeconds), allowed: Self.statusIntervalAllowed)
        }
        if !(1...65_536).contains(batchLimit) {
            throw .invalidSetting(name: "batch-limit", value: "\(batchLimit)", allowed: "use 1 to 65536")
        }
        // The event limit counts the synthetic market's events: recorded files run to their end
        // (a limit taken and not applied read every row without a word).
        if let maxEvents, !recordedSources.isEmpty {
            throw .invalidSetting(
                name: "max-events", value: "\(maxEvents)",
                allowed: "it limits the synthetic source; a recorded source (--source) runs to the end of its files: "
                    + "drop it, or give a shorter file")
        }
        // A recorded file feeds one instrument's book: one the run has.
        for source in recordedSources where Int(source.instrument.rawValue) >= instruments {
            throw .invalidSetting(
                name: "source", value: "\(source.format.rawValue)@\(source.instrument.rawValue)",
                allowed:
                    "instrument \(source.instrument.rawValue) has no book in this run: its market-data instruments "
                    + "are 0 to \(instruments - 1) (--instruments \(instruments))")
        }
        for path in recordedSources.flatMap(\.paths) where !FileIO.isRegularFile(path) {
            throw .invalidSetting(
                name: "source", value: path,
                allowed: FileIO.exists(path) ? "not a regular file" : "no such file; give a recorded market-data file")
        }
        // A recording cut to nothing would pass for a complete one with no rows.
        for path in recordedSources.flatMap(\.paths) where FileIO.isEmptyFile(path) {
            throw .invalidSetting(
                name: "source", value: path, allowed: "the file is empty (0 bytes): give a recorded market-data file")
        }
        // The files are read on their instrument's grid: one recorded on a finer grid would
        // be misread (or stop at its first finer value), so it is refused before anything runs.
        let definitions = resolvedInstruments
        for source in recordedSources {
            guard let definition = definitions.first(where: { $0.id == source.instrument }) else { continue }
            let problem: FeedError?
            do {
                problem = try FeedReplay.offGrid(
                    format: source.format, paths: source.paths, price: definition.tickSize, size: definition.lotSize)
            } catch {
                // About the file itself (another format, a value no grid holds): no grid advice.
                throw .invalidSetting(name: "source", value: source.text, allowed: "\(error)")
            }
            guard let problem else { continue }
            let id = source.instrument.rawValue
            throw .invalidSetting(
                name: "source", value: source.text,
                allowed:
                    "\(problem): instrument \(id) (\(definition.symbol)) has tick \(definition.tickSize) and lot "
                    + "\(definition.lotSize); give its grid as recorded with an [[instrument]] table in --config "
                    + "(id = \(id), symbol, venue = the exchange's name, tick_size, lot_size)")
        }
    }
}
