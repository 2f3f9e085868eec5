import PeregrineCore
import PeregrineFeed
import PeregrineModel
import PeregrineRisk
import PeregrineStrategy
import TOMLKit

/// A named starting point for a configuration.
public enum ConfigurationProfile: String, CaseIterable, Sendable {
    /// Lowest latency: busy-spinning pinned threads, 64k rings, batch durability.
    case hft
    /// Throughput over latency: yielding threads, 1M-slot rings, durability none.
    case analytics
    /// Small footprint: parked threads, 4k rings, small journal segments and venue books.
    case memoryConstrained = "memory_constrained"

    /// The settings with no profile named: the engine's defaults, journaling to ./data.
    public static var defaults: EngineConfiguration {
        var configuration = EngineConfiguration()
        configuration.journalDirectory = "./data"
        return configuration
    }

    /// The profile's settings (before any file, environment or flag).
    public var configuration: EngineConfiguration {
        var configuration = EngineConfiguration()
        configuration.journalDirectory = "./data"
        configuration.profile = self
        switch self {
        case .hft:
            configuration.waitStrategy = .spin
            configuration.pinCPUs = [0, 1]
            configuration.durability = .batch(intervalMicroseconds: 1_000, events: 65_536)
        case .analytics:
            configuration.waitStrategy = .yield
            configuration.inboundRingSize = 1 << 20
            configuration.outboundRingSize = 1 << 20
            configuration.reportRingSize = 1 << 20
            configuration.durability = .none
        case .memoryConstrained:
            configuration.waitStrategy = .park
            configuration.inboundRingSize = 4_096
            configuration.outboundRingSize = 4_096
            configuration.reportRingSize = 4_096
            configuration.orderRingSize = 256
            configuration.segmentBytes = 8 << 20
            configuration.snapshotEveryEvents = 100_000
            configuration.venueOrderCapacity = 4_096
        }
        return configuration
    }
}

/// Reads configuration files (TOML) and environment overrides on top of a profile, and writes a
/// resolved configuration back as TOML. Every key, its type and what it sets are in `keys`;
/// an unknown key, a wrong type or a value out of range is refused with the key, the value and
/// what is allowed.
///
/// ```toml
/// profile = "hft"
/// [source]  rate, max, duration, max_events, instruments, seed, order_flow, burst, on_full, recorded
/// [rings]   inbound, outbound, order, report
/// [threads] wait, topology, pin
/// [journal] enabled, directory, durability, sync_interval_us, sync_events, segment_mb, snapshot_every, prune
/// [venue]   orders
/// [trading] orders, timers, keep_orders, ack_timeout_ms
/// [[strategy]]   name, id, instruments, and the strategy's parameters (docs/strategies.md)
/// [[instrument]] id, symbol, venue, tick_size, lot_size, min_quantity, min_notional,
///                quote_currency, maker_fee, taker_fee, contract
/// [[risk]]       strategy, instrument, max_order_quantity, max_order_notional, price_collar_bps,
///                max_open_orders, max_position, max_gross_exposure, max_daily_loss,
///                max_orders_per_second, order_burst (docs/risk.md)
/// [metrics] port, address
/// [control] admin_token, admin_remote
/// [monitor] status_interval
/// ```
///
/// Environment variables `PEREGRINE_<SECTION>_<KEY>` (e.g. `PEREGRINE_JOURNAL_DURABILITY=every`)
/// override the file; command-line flags override both.
public enum ConfigurationFile {
    enum Kind: String, Sendable {
        case integer = "an integer"
        case number = "a number"
        case boolean = "true or false"
        case text = "a string"
        case integers = "an array of integers"
    }

    enum Value: Sendable {
        case integer(Int)
        case number(Double)
        case boolean(Bool)
        case text(String)
        case integers([Int])
    }

    struct Key: Sendable {
        let section: String
        let name: String
        let kind: Kind
        let apply: @Sendable (inout EngineConfiguration, Value) throws(EngineError) -> Void
        let render: @Sendable (EngineConfiguration) -> String?
        /// The values a string setting takes, when it takes a few (said when another type is given).
        var choices: [String] = []
        var path: String { "\(section).\(name)" }
        /// What the key takes, for a value of another type: "must be a string (none, batch or every)".
        var expected: String {
            "must be \(kind.rawValue)" + (choices.isEmpty ? "" : ": use " + choices.joined(separator: ", "))
        }
    }

    static func invalid(_ key: String, _ value: Value, _ allowed: String) -> EngineError {
        .invalidSetting(name: key, value: describe(value), allowed: allowed)
    }

    static func describe(_ value: Value) -> String {
        switch value {
        case .integer(let value): return "\(value)"
        case .number(let value): return "\(value)"
        case .boolean(let value): return "\(value)"
        case .text(let value): return value
        case .integers(let values): return "[" + values.map(String.init).joined(separator: ", ") + "]"
        }
    }

    static func integerKey(
        _ section: String, _ name: String, _ range: ClosedRange<Int>, _ allowed: String,
        set: @escaping @Sendable (inout EngineConfiguration, Int) -> Void,
        get: @escaping @Sendable (EngineConfiguration) -> Int, onlyWithBatchDurability: Bool = false
    ) -> Key {
        Key(
            section: section, name: name, kind: .integer,
            apply: { (configuration, value) throws(EngineError) in
                guard case .integer(let number) = value, range.contains(number) else {
                    throw invalid("\(section).\(name)", value, allowed)
                }
                if onlyWithBatchDurability, durability(configuration).0 != "batch" {
                    throw invalid(
                        "\(section).\(name)", value,
                        "applies only with durability batch (durability is \(durability(configuration).0))")
                }
                set(&configuration, number)
            }, render: { "\(get($0))" })
    }

    static func powerOfTwoKey(
        _ section: String, _ name: String, set: @escaping @Sendable (inout EngineConfiguration, Int) -> Void,
        get: @escaping @Sendable (EngineConfiguration) -> Int
    ) -> Key {
        Key(
            section: section, name: name, kind: .integer,
            apply: { (configuration, value) throws(EngineError) in
                guard case .integer(let number) = value, (64...(1 << 26)).contains(number), number.nonzeroBitCount == 1
                else { throw invalid("\(section).\(name)", value, "use a power of two from 64 to 67108864") }
                set(&configuration, number)
            }, render: { "\(get($0))" })
    }

    static func choiceKey(
        _ section: String, _ name: String, _ choices: [String],
        set: @escaping @Sendable (inout EngineConfiguration, String) -> Void,
        get: @escaping @Sendable (EngineConfiguration) -> String
    ) -> Key {
        Key(
            section: section, name: name, kind: .text,
            apply: { (configuration, value) throws(EngineError) in
                guard case .text(let text) = value, choices.contains(text) else {
                    throw invalid("\(section).\(name)", value, "use " + choices.joined(separator: ", "))
                }
                set(&configuration, text)
            }, render: { tomlString(get($0)) }, choices: choices)
    }

    static func durability(_ configuration: EngineConfiguration) -> (String, Int, Int) {
        switch configuration.durability {
        case .none: return ("none", 1_000, 65_536)
        case .every: return ("every", 1_000, 65_536)
        case .batch(let interval, let events): return ("batch", interval, events)
        }
    }

    static let keys: [Key] = [
        Key(
            section: "source", name: "rate", kind: .number,
            apply: { (configuration, value) throws(EngineError) in
                let rate: Double
                switch value {
                case .integer(let number): rate = Double(number)
                case .number(let number): rate = number
                default: throw invalid("source.rate", value, "use events per second, 1 to 1000000000")
                }
                guard EngineConfiguration.rateRange.contains(rate) else {
                    throw invalid("source.rate", value, "use events per second, 1 to 1000000000")
                }
                configuration.rate = .perSecond(rate)
            },
            render: {
                if case .perSecond(let rate) = $0.rate { return "\(Int(rate))" }
                return nil
            }),
        Key(
            section: "source", name: "max", kind: .boolean,
            apply: { (configuration, value) throws(EngineError) in
                guard case .boolean(let flag) = value else { throw invalid("source.max", value, "use true or false") }
                if flag { configuration.rate = .unlimited }
            }, render: { $0.rate == .unlimited ? "true" : "false" }),
        Key(
            section: "source", name: "duration", kind: .number,
            apply: { (configuration, value) throws(EngineError) in
                let allowed = EngineConfiguration.durationAllowed
                let seconds: Double
                switch value {
                case .integer(let number): seconds = Double(number)
                case .number(let number): seconds = number
                default: throw invalid("source.duration", value, allowed)
                }
                guard seconds == 0 || EngineConfiguration.durationRange.contains(seconds) else {
                    throw invalid("source.duration", value, allowed)
                }
                configuration.durationSeconds = seconds == 0 ? nil : seconds
            }, render: { "\($0.durationSeconds ?? 0)" }),
        integerKey(
            "source", "max_events", 1...Int.max, "use 1 or more", set: { $0.maxEvents = $1 },
            get: { $0.maxEvents ?? 0 }),
        integerKey(
            "source", "instruments", 1...65_536, "use 1 to 65536", set: { $0.instruments = $1 }, get: { $0.instruments }
        ),
        integerKey(
            "source", "seed", 0...Int.max, "use 0 or more", set: { $0.seed = UInt64($1) }, get: { Int($0.seed) }),
        integerKey(
            "source", "order_flow", 0...100, "use 0 to 100 (percent)", set: { $0.orderFlowPercent = $1 },
            get: { $0.orderFlowPercent }),
        integerKey(
            "source", "burst", 1...(1 << 26), "use 1 to the ring size", set: { $0.burstSize = $1 },
            get: { $0.burstSize }),
        choiceKey(
            "source", "on_full", FullRingPolicy.allCases.map(\.rawValue),
            set: { $0.fullRingPolicy = FullRingPolicy(rawValue: $1) ?? .block }, get: { $0.fullRingPolicy.rawValue }),
        Key(
            section: "source", name: "recorded", kind: .text,
            apply: { (configuration, value) throws(EngineError) in
                guard case .text(let text) = value,
                    let specs = Optional(text.split(separator: ";").map { RecordedSourceSpec.parse(String($0)) }),
                    !specs.isEmpty, !specs.contains(where: { $0 == nil })
                else {
                    throw invalid(
                        "source.recorded", value,
                        "use FORMAT[@INSTRUMENT]:FILE[,FILE...], several separated by ';', with FORMAT one of "
                            + FeedFormat.allCases.map(\.rawValue).joined(separator: ", "))
                }
                configuration.recordedSources = specs.compactMap { $0 }
            },
            render: { configuration in
                configuration.recordedSources.isEmpty
                    ? nil : tomlString(configuration.recordedSources.map(\.text).joined(separator: ";"))
            }),
        powerOfTwoKey("rings", "inbound", set: { $0.inboundRingSize = $1 }, get: { $0.inboundRingSize }),
        powerOfTwoKey("rings", "outbound", set: { $0.outboundRingSize = $1 }, get: { $0.outboundRingSize }),
        powerOfTwoKey("rings", "order", set: { $0.orderRingSize = $1 }, get: { $0.orderRingSize }),
        powerOfTwoKey("rings", "report", set: { $0.reportRingSize = $1 }, get: { $0.reportRingSize }),
        choiceKey(
            "threads", "wait", WaitStrategyKind.allCases.map(\.rawValue),
            set: { $0.waitStrategy = WaitStrategyKind(rawValue: $1) ?? .spin }, get: { $0.waitStrategy.rawValue }),
        choiceKey(
            "threads", "topology", Topology.allCases.map(\.rawValue),
            set: { $0.topology = Topology(rawValue: $1) ?? .shared }, get: { $0.topology.rawValue }),
        Key(
            section: "threads", name: "pin", kind: .integers,
            apply: { (configuration, value) throws(EngineError) in
                guard case .integers(let cpus) = value, cpus.allSatisfy({ (0..<1_024).contains($0) }) else {
                    throw invalid("threads.pin", value, "use an array of CPU numbers, e.g. [0, 1]")
                }
                configuration.pinCPUs = cpus
            }, render: { "[" + $0.pinCPUs.map(String.init).joined(separator: ", ") + "]" }),
        Key(
            section: "journal", name: "enabled", kind: .boolean,
            apply: { (configuration, value) throws(EngineError) in
                guard case .boolean(let flag) = value else {
                    throw invalid("journal.enabled", value, "use true or false")
                }
                if !flag { configuration.journalDirectory = nil }
            }, render: { $0.journalDirectory == nil ? "false" : "true" }),
        Key(
            section: "journal", name: "directory", kind: .text,
            apply: { (configuration, value) throws(EngineError) in
                guard case .text(let path) = value, !path.isEmpty else {
                    throw invalid("journal.directory", value, "give a directory path")
                }
                configuration.journalDirectory = path
            }, render: { $0.journalDirectory.map(tomlString) }),
        choiceKey(
            "journal", "durability", ["none", "batch", "every"],
            set: { configuration, text in
                let (_, interval, events) = durability(configuration)
                switch text {
                case "none": configuration.durability = .none
                case "every": configuration.durability = .every
                default: configuration.durability = .batch(intervalMicroseconds: interval, events: events)
                }
            }, get: { durability($0).0 }),
        integerKey(
            "journal", "sync_interval_us", 1...10_000_000, "use 1 to 10000000 µs",
            set: { configuration, interval in
                if case .batch(_, let events) = configuration.durability {
                    configuration.durability = .batch(intervalMicroseconds: interval, events: events)
                }
            }, get: { durability($0).1 }, onlyWithBatchDurability: true),
        integerKey(
            "journal", "sync_events", 1...Int.max, "use 1 or more",
            set: { configuration, events in
                if case .batch(let interval, _) = configuration.durability {
                    configuration.durability = .batch(intervalMicroseconds: interval, events: events)
                }
            }, get: { durability($0).2 }, onlyWithBatchDurability: true),
        integerKey(
            "journal", "segment_mb", 1...1_048_576, "use 1 to 1048576", set: { $0.segmentBytes = $1 << 20 },
            get: { $0.segmentBytes >> 20 }),
        integerKey(
            "journal", "snapshot_every", 0...Int.max, "use 0 (never) or more", set: { $0.snapshotEveryEvents = $1 },
            get: { $0.snapshotEveryEvents }),
        Key(
            section: "journal", name: "prune", kind: .boolean,
            apply: { (configuration, value) throws(EngineError) in
                guard case .boolean(let flag) = value else {
                    throw invalid("journal.prune", value, "use true or false")
                }
                configuration.pruneJournal = flag
            }, render: { $0.pruneJournal ? "true" : "false" }),
        integerKey(
            "venue", "orders", 1...(1 << 23), "use 1 to 8388608", set: { $0.venueOrderCapacity = $1 },
            get: { $0.venueOrderCapacity }),
        integerKey(
            "trading", "orders", 1...(1 << 20), "use 1 to 1048576", set: { $0.strategyOrderCapacity = $1 },
            get: { $0.strategyOrderCapacity }),
        integerKey(
            "trading", "timers", 1...(1 << 20), "use 1 to 1048576", set: { $0.timerCapacity = $1 },
            get: { $0.timerCapacity }),
        integerKey(
            "trading", "ack_timeout_ms", 0...3_600_000, "use 0 (no timeout) to 3600000 ms",
            set: { $0.ackTimeoutMilliseconds = $1 }, get: { $0.ackTimeoutMilliseconds }),
        Key(
            section: "trading", name: "keep_orders", kind: .boolean,
            apply: { (configuration, value) throws(EngineError) in
                guard case .boolean(let flag) = value else {
                    throw invalid("trading.keep_orders", value, "use true or false")
                }
                configuration.keepOrdersAtStop = flag
            }, render: { $0.keepOrdersAtStop ? "true" : "false" }),
        Key(
            section: "metrics", name: "address", kind: .text,
            apply: { (configuration, value) throws(EngineError) in
                guard case .text(let text) = value, EngineConfiguration.isIPAddress(text) else {
                    throw invalid(
                        "metrics.address", value,
                        "use an IP address to listen on: 127.0.0.1 (this machine only), 0.0.0.0 (every interface, e.g. in a pod) or ::"
                    )
                }
                configuration.metricsAddress = text
            }, render: { tomlString($0.metricsAddress) }),
        integerKey(
            "metrics", "port", 0...65_535, "use 0 (off) to 65535", set: { $0.metricsPort = $1 }, get: { $0.metricsPort }
        ),
        Key(
            section: "control", name: "admin_token", kind: .text,
            apply: { (configuration, value) throws(EngineError) in
                guard case .text(let text) = value else { throw invalid("control.admin_token", value, "use a string") }
                configuration.adminToken = text.isEmpty ? nil : text
            }, render: { _ in nil }),
        Key(
            section: "control", name: "admin_remote", kind: .boolean,
            apply: { (configuration, value) throws(EngineError) in
                guard case .boolean(let flag) = value else {
                    throw invalid("control.admin_remote", value, "use true or false")
                }
                configuration.adminRemote = flag
            }, render: { $0.adminRemote ? "true" : "false" }),
        choiceKey(
            "log", "level", ["trace", "debug", "info", "notice", "warning", "error", "critical"],
            set: { $0.logLevel = $1 }, get: { $0.logLevel }),
        Key(
            section: "monitor", name: "status_interval", kind: .number,
            apply: { (configuration, value) throws(EngineError) in
                let seconds: Double
                switch value {
                case .integer(let number): seconds = Double(number)
                case .number(let number): seconds = number
                default: throw invalid("monitor.status_interval", value, EngineConfiguration.statusIntervalAllowed)
                }
                guard EngineConfiguration.statusIntervalRange.contains(seconds) else {
                    throw invalid("monitor.status_interval", value, EngineConfiguration.statusIntervalAllowed)
                }
                configuration.statusIntervalSeconds = seconds
            }, render: { "\($0.statusIntervalSeconds)" }),
    ]

    /// The configuration a profile, a file's text and environment variables give, in that
    /// order of precedence (later wins). A `[backtest]` section is `peregrine backtest`'s own
    /// (`BacktestConfigurationFile`) and is skipped here. The file may name a profile (`profile = "hft"`);
    /// `profile` overrides it. Throws on a bad file, key, type or value; a file that is not
    /// TOML, or a setting in it that cannot be used, is named by `filePath` (when given) and the
    /// line (`EngineError.inFile`).
    public static func resolve(
        profile: ConfigurationProfile? = nil, fileText: String? = nil, filePath: String? = nil,
        environment: [String: String] = [:], flags: [Setting] = []
    ) throws(EngineError) -> EngineConfiguration {
        var table: TOMLTable? = nil
        if let fileText {
            do { table = try TOMLTable(string: fileText) } catch let error as TOMLParseError {
                // The line as the file has it, and what the parser expected there.
                let line = error.source.begin.line
                let written = lines(of: fileText)
                let text = line >= 1 && line <= written.count ? String(written[line - 1]) : ""
                throw .inFile(
                    location: location(line: line, path: filePath),
                    .invalidSetting(name: "TOML", value: text, allowed: error.description))
            } catch {
                throw .invalidSetting(
                    name: "configuration file", value: filePath ?? "", allowed: "is not valid TOML: \(error)")
            }
        }
        var configuration: EngineConfiguration
        do { configuration = try Self.configuration(profile: profile, table: table) } catch {
            // A file's setting that cannot be used is named with the file's line.
            guard let fileText else { throw error }
            throw located(error, in: fileText, path: filePath)
        }
        let sections = Set(keys.map { $0.section.uppercased() })
        for variable in environment.keys.sorted() where variable.hasPrefix("PEREGRINE_") {
            let rest = variable.dropFirst("PEREGRINE_".count)
            guard let underscore = rest.firstIndex(of: "_"), sections.contains(String(rest[..<underscore])) else {
                continue
            }
            let section = rest[..<underscore].lowercased()
            let name = rest[rest.index(after: underscore)...].lowercased()
            guard keys.contains(where: { $0.section == section && $0.name == name }) else {
                throw .invalidSetting(
                    name: variable, value: environment[variable] ?? "",
                    allowed: "unknown setting; known in [\(section)]: "
                        + keys.filter { $0.section == section }.map(\.name).joined(separator: ", "))
            }
        }
        if let rate = environment["PEREGRINE_SOURCE_RATE"], environment["PEREGRINE_SOURCE_MAX"] == "true" {
            throw .invalidSetting(
                name: "PEREGRINE_SOURCE_RATE", value: rate,
                allowed: "give either PEREGRINE_SOURCE_RATE or PEREGRINE_SOURCE_MAX, not both")
        }
        if environment["PEREGRINE_JOURNAL_ENABLED"] == "false",
            let variable = journalTuning.map({ "PEREGRINE_JOURNAL_\($0.uppercased())" }).first(where: {
                environment[$0] != nil
            })
        {
            throw .invalidSetting(
                name: variable, value: environment[variable] ?? "",
                allowed: "applies to a journal, and PEREGRINE_JOURNAL_ENABLED is false: drop one")
        }
        for key in keys {
            let variable = "PEREGRINE_\(key.section.uppercased())_\(key.name.uppercased())"
            guard let text = environment[variable] else { continue }
            try apply(key, try parse(text, for: key, variable: variable), to: &configuration, origin: variable)
        }
        // Flags last, in the keys' order (so --durability comes before --sync-events).
        for key in keys {
            for flag in flags where flag.key == key.path {
                try apply(
                    key, try parse(flag.value, for: key, variable: flag.origin), to: &configuration,
                    origin: flag.origin)
            }
        }
        return configuration
    }

    /// The configuration `profile` and a file's `table` give (the profile the file names when
    /// `profile` is nil). Throws on a bad section, key, type or value.
    static func configuration(profile: ConfigurationProfile?, table: TOMLTable?) throws(EngineError)
        -> EngineConfiguration
    {
        var chosen = profile
        if profile == nil, let name = table?["profile"] {
            guard let text = name.string, let named = ConfigurationProfile(rawValue: text) else {
                throw .invalidSetting(
                    name: "profile", value: "\(name)",
                    allowed: "use " + ConfigurationProfile.allCases.map(\.rawValue).joined(separator: ", "))
            }
            chosen = named
        }
        var configuration = chosen?.configuration ?? ConfigurationProfile.defaults
        if let table {
            for (sectionName, sectionValue) in table
            where sectionName == "strategy" || sectionName == "instrument" || sectionName == "risk" {
                guard let array = sectionValue.array else {
                    throw .invalidSetting(
                        name: sectionName, value: "\(sectionValue)",
                        allowed: "write each as an array table, [[\(sectionName)]]")
                }
                for (index, element) in array.enumerated() {
                    guard let entry = element.table else {
                        throw .invalidSetting(
                            name: "\(sectionName)[\(index + 1)]", value: "\(element)",
                            allowed: "write each as an array table, [[\(sectionName)]]")
                    }
                    if sectionName == "strategy" {
                        configuration.strategies.append(try strategy(entry, index: index + 1))
                    } else if sectionName == "risk" {
                        configuration.risk.append(try riskRule(entry, index: index + 1))
                    } else {
                        configuration.instrumentDefinitions.append(try instrument(entry, index: index + 1))
                    }
                }
            }
            for (sectionName, sectionValue) in table
            where sectionName != "profile" && sectionName != "strategy" && sectionName != "instrument"
                && sectionName != "risk" && sectionName != "backtest"
            {
                guard let section = sectionValue.table else {
                    throw .invalidSetting(
                        name: sectionName, value: "\(sectionValue)",
                        allowed: "unknown top-level key; settings go in sections such as [rings]")
                }
                if sectionName == "source", section["max"]?.bool == true, let rate = section["rate"] {
                    throw .invalidSetting(
                        name: "source.rate", value: "\(rate)",
                        allowed: "give either source.rate or source.max, not both")
                }
                if sectionName == "journal", section["enabled"]?.bool == false,
                    let name = journalTuning.first(where: { section[$0] != nil }), let value = section[name]
                {
                    throw .invalidSetting(
                        name: "journal.\(name)", value: value.string ?? "\(value)",
                        allowed: "applies to a journal, and journal.enabled is false: drop one")
                }
                let known = keys.filter { $0.section == sectionName }
                if known.isEmpty {
                    var sections: [String] = []
                    for key in keys where !sections.contains(key.section) { sections.append(key.section) }
                    var name = sectionName
                    var shown = "(empty)"
                    for (key, value) in section {
                        name = "\(sectionName).\(key)"
                        shown = "\(value)"
                        break
                    }
                    throw .invalidSetting(
                        name: name, value: shown,
                        allowed: "unknown section [\(sectionName)]; sections: "
                            + sections.map { "[\($0)]" }.joined(separator: ", ")
                            + ", [[strategy]], [[instrument]], [[risk]] and [backtest]"
                            + (sectionName == "bundles"
                                ? " ([bundles] was removed on 2026-11-29: strategies submit orders, not bundles)" : ""))
                }
                for (name, value) in section {
                    guard let key = keys.first(where: { $0.section == sectionName && $0.name == name }) else {
                        throw .invalidSetting(
                            name: "\(sectionName).\(name)", value: "\(value)",
                            allowed: "unknown key; known in [\(sectionName)]: "
                                + keys.filter { $0.section == sectionName }.map(\.name).joined(separator: ", "))
                    }
                    try key.apply(&configuration, try convert(value, for: key))
                }
            }
        }
        return configuration
    }

    /// One `[[strategy]]` table: `name`, optional `id` and `instruments`, and the strategy's
    /// parameters (any other key, an integer, number or string).
    static func strategy(_ table: TOMLTable, index: Int) throws(EngineError) -> StrategySpec {
        let origin = "strategy[\(index)]"
        guard let name = table["name"]?.string else {
            throw .invalidSetting(
                name: "\(origin).name", value: table["name"].map { "\($0)" } ?? "(missing)",
                allowed: "give the strategy's name, e.g. name = \"market-maker\"")
        }
        var spec = StrategySpec(name: name)
        for (key, value) in table where key != "name" {
            switch key {
            case "id":
                guard let id = value.int, (1...65_535).contains(id) else {
                    throw .invalidSetting(name: "\(origin).id", value: "\(value)", allowed: "use 1 to 65535")
                }
                spec.id = UInt16(id)
            case "instruments":
                let ids = value.array.map { array in array.map { $0.int } } ?? []
                guard !ids.isEmpty, ids.allSatisfy({ $0.map { (0...65_535).contains($0) } ?? false }) else {
                    throw .invalidSetting(
                        name: "\(origin).instruments", value: "\(value)",
                        allowed: "use an array of instrument ids, e.g. [8, 9]")
                }
                spec.instruments = ids.compactMap { $0.map { InstrumentID(UInt32($0)) } }
            default:
                let text: String
                if let number = value.int {
                    text = "\(number)"
                } else if let number = value.double {
                    guard let decimal = Self.decimalText(number) else {
                        throw .invalidSetting(
                            name: "\(origin).\(key)", value: "\(number)", allowed: Self.inexactNumberAdvice(number))
                    }
                    text = decimal
                } else if let string = value.string {
                    text = string
                } else if let flag = value.bool {
                    text = flag ? "1" : "0"
                } else {
                    throw .invalidSetting(
                        name: "\(origin).\(key)", value: "\(value)", allowed: "use an integer, a number or a string")
                }
                spec.parameters.append((key: key, value: text))
            }
        }
        // TOML tables do not keep their order: parameters in key order, so a file always gives
        // the same spec.
        spec.parameters.sort { $0.key < $1.key }
        return spec
    }

    /// A TOML number (a double) as plain decimal text ("0.00001", not "1e-05"), when the
    /// double says which decimal was written: its shortest form has at most 15 significant
    /// digits, as every decimal of at most 15 does within the doubles' normal range, and at
    /// most 40 digits either side of the point. nil for one of 16 or 17 (a longer decimal was
    /// written, and rounded), for one outside that range, and for infinities and NaN.
    public static func decimalText(_ number: Double) -> String? {
        guard number.isFinite, number == 0 || number.magnitude >= Double.leastNormalMagnitude else { return nil }
        let shortest = "\(number.magnitude)"
        let parts = shortest.split(separator: "e", maxSplits: 1)
        guard let mantissa = parts.first, let exponent = parts.count == 2 ? Int(parts[1]) : 0 else { return nil }
        let pieces = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = pieces.first.map(String.init) ?? ""
        let fraction = pieces.count == 2 ? String(pieces[1]) : ""
        // The digits d1d2…dn and where the point goes: after `point` of them.
        var digits = whole + fraction
        var point = whole.count + exponent
        while digits.first == "0", digits.count > 1 {
            digits.removeFirst()
            point -= 1
        }
        while digits.last == "0", digits.count > 1 { digits.removeLast() }
        // At most 40 digits before the point and 40 decimals.
        guard digits.count <= 15, point <= 40, digits.count &- point <= 40 else { return nil }
        if digits == "0" { return "0" }
        let text: String
        if point <= 0 {
            text = "0." + String(repeating: "0", count: -point) + digits
        } else if point >= digits.count {
            text = digits + String(repeating: "0", count: point - digits.count)
        } else {
            text = String(digits.prefix(point)) + "." + String(digits.dropFirst(point))
        }
        return number < 0 ? "-" + text : text
    }

    /// Why a TOML number `decimalText` gave no text for is refused, and what to write instead.
    public static func inexactNumberAdvice(_ number: Double) -> String {
        guard number.isFinite else { return "use a finite number" }
        return "a TOML number is read as a double, taken as the decimal written only with at most 15 significant "
            + "digits and at most 40 either side of the point: write this one as a string, e.g. "
            + "\"0.1000000000000000001\""
    }

    /// One `[[risk]]` table (`RiskRule`): decimals as strings (or integers), the per-currency
    /// amounts as a string (every currency) or an inline table by currency.
    static func riskRule(_ table: TOMLTable, index: Int) throws(EngineError) -> RiskRule {
        let origin = "risk[\(index)]"
        var rule = RiskRule()
        for (key, value) in table {
            func text() throws(EngineError) -> String {
                if let string = value.string { return string }
                if let number = value.int { return "\(number)" }
                // (Basis points of a collar are whole: no decimal to write as a string.)
                let allowed =
                    key == "price_collar_bps"
                    ? "use whole basis points, 0 to 1000000" : "write decimals as strings, e.g. \"0.5\""
                throw .invalidSetting(name: "\(origin).\(key)", value: "\(value)", allowed: allowed)
            }
            func integer() throws(EngineError) -> Int {
                guard let number = value.int else {
                    throw .invalidSetting(name: "\(origin).\(key)", value: "\(value)", allowed: "use an integer")
                }
                return number
            }
            func amounts() throws(EngineError) -> [String: String] {
                if let inline = value.table {
                    var result: [String: String] = [:]
                    for (currency, amount) in inline {
                        guard let text = amount.string ?? amount.int.map({ "\($0)" }) else {
                            throw .invalidSetting(
                                name: "\(origin).\(key).\(currency)", value: "\(amount)",
                                allowed: "write amounts as strings, e.g. \"1000.50\"")
                        }
                        result[currency] = text
                    }
                    return result
                }
                return ["*": try text()]
            }
            switch key {
            case "strategy":
                guard let id = value.int, (1...65_535).contains(id) else {
                    throw .invalidSetting(
                        name: "\(origin).strategy", value: "\(value)", allowed: "use a strategy's id, 1 to 65535")
                }
                rule.strategy = UInt16(id)
            case "instrument": rule.instrument = try text()
            case "max_order_quantity": rule.maxOrderQuantity = try text()
            case "max_order_notional": rule.maxOrderNotional = try text()
            case "price_collar_bps": rule.priceCollarBasisPoints = try text()
            case "max_open_orders": rule.maxOpenOrders = try integer()
            case "max_position": rule.maxPosition = try text()
            case "max_gross_exposure": rule.maxGrossExposure = try amounts()
            case "max_daily_loss": rule.maxDailyLoss = try amounts()
            case "max_orders_per_second": rule.maxOrdersPerSecond = try text()
            case "order_burst": rule.orderBurst = try integer()
            default:
                throw .invalidSetting(
                    name: "\(origin).\(key)", value: "\(value)",
                    allowed: "unknown key; known: " + RiskRule.keys.joined(separator: ", "))
            }
        }
        if rule.settingsText.split(separator: " ").allSatisfy({
            $0.hasPrefix("strategy=") || $0.hasPrefix("instrument=")
        }) {
            throw .invalidSetting(
                name: origin, value: rule.settingsText, allowed: "set at least one limit (docs/risk.md lists them)")
        }
        return rule
    }

    /// One `[[instrument]]` table: reference data (`id`, `symbol`, `venue`, `tick_size`,
    /// `lot_size`, `min_quantity` and `min_notional` as decimals, `quote_currency`, `maker_fee`
    /// and `taker_fee` as decimal fractions, `contract = "linear"`).
    static func instrument(_ table: TOMLTable, index: Int) throws(EngineError) -> InstrumentDefinition {
        let origin = "instrument[\(index)]"
        let known = [
            "id", "symbol", "venue", "tick_size", "lot_size", "min_quantity", "min_notional", "quote_currency",
            "maker_fee", "taker_fee", "contract",
        ]
        for (key, value) in table where !known.contains(key) {
            throw .invalidSetting(
                name: "\(origin).\(key)", value: "\(value)",
                allowed: "unknown key; known: " + known.joined(separator: ", "))
        }
        func text(_ key: String, default fallback: String? = nil) throws(EngineError) -> String {
            if let value = table[key] {
                if let string = value.string { return string }
                if let number = value.int { return "\(number)" }
                throw .invalidSetting(
                    name: "\(origin).\(key)", value: "\(value)", allowed: "write decimals as strings, e.g. \"0.01\"")
            }
            guard let fallback else {
                throw .invalidSetting(name: "\(origin).\(key)", value: "(missing)", allowed: "it is required")
            }
            return fallback
        }
        func model<T>(_ key: String, _ body: () throws(ModelError) -> T) throws(EngineError) -> T {
            do { return try body() } catch {
                throw .invalidSetting(
                    name: "\(origin).\(key)", value: table[key].map { "\($0)" } ?? "", allowed: error.description)
            }
        }
        guard let id = table["id"]?.int, (0...65_535).contains(id) else {
            throw .invalidSetting(
                name: "\(origin).id", value: table["id"].map { "\($0)" } ?? "(missing)", allowed: "use 0 to 65535")
        }
        let contractText = try text("contract", default: "linear")
        guard let contract = ContractKind(rawValue: contractText) else {
            throw .invalidSetting(
                name: "\(origin).contract", value: contractText,
                allowed: "only linear contracts are supported (P&L in the quote currency); inverse ones are not yet")
        }
        let tickText = try text("tick_size")
        let lotText = try text("lot_size")
        let tick = try model("tick_size") { () throws(ModelError) in try Increment(tickText) }
        let lot = try model("lot_size") { () throws(ModelError) in try Increment(lotText) }
        let minimumText = try text("min_quantity", default: lot.description)
        let minimum = try model("min_quantity") { () throws(ModelError) in try Quantity(minimumText, lotSize: lot) }
        // A minimum notional in the quote currency, as money (units of tick × lot × 10^-8),
        // rounded up to a whole unit.
        let notionalText = try text("min_notional", default: "0")
        let notional = try model("min_notional") { () throws(ModelError) -> Money in
            let decimals = tick.decimals + lot.decimals + 8
            let parsedDecimals = min(decimals, 18)
            let value = try Quantity(notionalText, lotSize: try Increment(units: 1, decimals: parsedDecimals)).lots
            var scaled = Int128(value)
            for _ in parsedDecimals..<decimals {
                let (next, overflow) = scaled.multipliedReportingOverflow(by: 10)
                guard !overflow else { throw .overflow(input: notionalText) }
                scaled = next
            }
            let divisor = Int128(tick.units) * Int128(lot.units)
            let (quotient, remainder) = scaled.quotientAndRemainder(dividingBy: divisor)
            return Money(units: remainder > 0 ? quotient + 1 : quotient)
        }
        let makerText = try text("maker_fee", default: "0")
        let takerText = try text("taker_fee", default: "0")
        // A currency's code, as the totals group instruments by it: `usdt` is USDT (read in
        // upper case), and a name with a space, a comma or nothing is refused, not a currency
        // of its own that splits the totals.
        let currency = try text("quote_currency", default: "USD")
        guard (1...16).contains(currency.utf8.count),
            currency.utf8.allSatisfy({ byte in
                (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".")
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            })
        else {
            throw .invalidSetting(
                name: "\(origin).quote_currency", value: currency,
                allowed: "a currency's code: 1 to 16 letters, digits, '.', '-' or '_', such as USDT or USDC.e")
        }
        return InstrumentDefinition(
            id: InstrumentID(UInt32(id)), symbol: try text("symbol"),
            venue: try text("venue", default: InstrumentDefinition.hostedVenue), tickSize: tick, lotSize: lot,
            minimumQuantity: minimum, minimumNotional: notional,
            quoteCurrency: currency.uppercased(),
            makerFee: try model("maker_fee") { () throws(ModelError) in try FeeRate(makerText) },
            takerFee: try model("taker_fee") { () throws(ModelError) in try FeeRate(takerText) }, contract: contract)
    }

    /// Applies a value from `origin` (an environment variable or a flag); an error names the
    /// origin, which is what the user typed.
    static func apply(_ key: Key, _ value: Value, to configuration: inout EngineConfiguration, origin: String)
        throws(EngineError)
    {
        do { try key.apply(&configuration, value) } catch {
            guard case .invalidSetting(let name, let shown, let allowed) = error, name == key.path else { throw error }
            throw .invalidSetting(name: origin, value: shown, allowed: allowed)
        }
    }

    /// A setting given by its key path (`journal.durability`) and text, from `origin` (a
    /// flag such as `--durability`): what `resolve` applies after the file and environment.
    public struct Setting: Sendable {
        public var key: String
        public var value: String
        public var origin: String

        public init(key: String, value: String, origin: String) {
            self.key = key
            self.value = value
            self.origin = origin
        }
    }

    static func convert(_ value: any TOMLValueConvertible, for key: Key) throws(EngineError) -> Value {
        switch key.kind {
        case .integer:
            if let number = value.int { return .integer(number) }
        case .number:
            if let number = value.int { return .integer(number) }
            if let number = value.double { return .number(number) }
        case .boolean:
            if let flag = value.bool { return .boolean(flag) }
        case .text:
            if let text = value.string { return .text(text) }
        case .integers:
            if let array = value.array {
                var numbers: [Int] = []
                for element in array {
                    guard let number = element.int else { break }
                    numbers.append(number)
                }
                if numbers.count == array.count { return .integers(numbers) }
            }
        }
        throw .invalidSetting(name: key.path, value: "\(value)", allowed: key.expected)
    }

    static func parse(_ text: String, for key: Key, variable: String) throws(EngineError) -> Value {
        switch key.kind {
        case .integer: if let number = Int(text) { return .integer(number) }
        case .number:
            if let number = Int(text) { return .integer(number) }
            if let number = Double(text) { return .number(number) }
        case .boolean: if let flag = Bool(text) { return .boolean(flag) }
        case .text: return .text(text)
        case .integers:
            let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: " ")) }
            if parts.allSatisfy({ $0 != nil }) { return .integers(parts.compactMap { $0 }) }
        }
        throw .invalidSetting(
            name: variable, value: text,
            allowed: key.expected + (variable == key.path ? "" : " (\(key.path))"))
    }

    /// The journal's settings that mean nothing without one: refused beside `enabled = false` in
    /// one layer (as `--durability` and `--sync-*` are beside `--no-journal`).
    static let journalTuning = ["durability", "sync_interval_us", "sync_events"]

    /// `text` as a TOML basic string (a JSON string literal is one): quoted, with backslashes,
    /// quotes and control characters escaped, so that it reads back as the same text.
    static func tomlString(_ text: String) -> String { TextField.json(text) }

    /// The configuration as a TOML file that `resolve` reads back to the same settings.
    public static func render(_ configuration: EngineConfiguration, profile: ConfigurationProfile?) -> String {
        var lines = (profile ?? configuration.profile).map { ["profile = \"\($0.rawValue)\""] } ?? []
        var section = ""
        for key in keys {
            guard let value = key.render(configuration) else { continue }
            if key.section == "source", key.name == "max_events", configuration.maxEvents == nil { continue }
            if key.section == "journal", key.name.hasPrefix("sync_"), durability(configuration).0 != "batch" {
                continue
            }
            if key.section != section {
                section = key.section
                lines.append("")
                lines.append("[\(section)]")
            }
            lines.append("\(key.name) = \(value)")
        }
        // Each strategy with the id it runs as (given, or the one its position gave it).
        for (spec, id) in zip(configuration.strategies, configuration.strategies.resolvedIDs) {
            lines += ["", "[[strategy]]", "name = \(tomlString(spec.name))", "id = \(id)"]
            if !spec.instruments.isEmpty {
                lines.append(
                    "instruments = [" + spec.instruments.map { "\($0.rawValue)" }.joined(separator: ", ") + "]")
            }
            for parameter in spec.parameters { lines.append("\(parameter.key) = \(tomlString(parameter.value))") }
        }
        for rule in configuration.risk {
            lines += ["", "[[risk]]"]
            if let strategy = rule.strategy { lines.append("strategy = \(strategy)") }
            if let instrument = rule.instrument { lines.append("instrument = \(tomlString("\(instrument)"))") }
            for (key, value) in [
                ("max_order_quantity", rule.maxOrderQuantity), ("max_order_notional", rule.maxOrderNotional),
                ("price_collar_bps", rule.priceCollarBasisPoints), ("max_position", rule.maxPosition),
                ("max_orders_per_second", rule.maxOrdersPerSecond),
            ] {
                if let value { lines.append("\(key) = \"\(value)\"") }
            }
            if let count = rule.maxOpenOrders { lines.append("max_open_orders = \(count)") }
            if let burst = rule.orderBurst { lines.append("order_burst = \(burst)") }
            for (key, amounts) in [
                ("max_gross_exposure", rule.maxGrossExposure), ("max_daily_loss", rule.maxDailyLoss),
            ]
            where !amounts.isEmpty {
                if let every = amounts["*"], amounts.count == 1 {
                    lines.append("\(key) = \"\(every)\"")
                } else {
                    lines.append(
                        "\(key) = { "
                            + amounts.sorted { $0.key < $1.key }.map { "\($0.key) = \"\($0.value)\"" }.joined(
                                separator: ", ") + " }")
                }
            }
        }
        for definition in configuration.instrumentDefinitions {
            lines += [
                "", "[[instrument]]", "id = \(definition.id.rawValue)", "symbol = \(tomlString(definition.symbol))",
                "venue = \(tomlString(definition.venue))", "tick_size = \"\(definition.tickSize)\"",
                "lot_size = \"\(definition.lotSize)\"",
                "min_quantity = \"\(definition.minimumQuantity.formatted(lotSize: definition.lotSize))\"",
                "min_notional = \"\(definition.minimumNotional.formatted(tickSize: definition.tickSize, lotSize: definition.lotSize) ?? "0")\"",
                "quote_currency = \(tomlString(definition.quoteCurrency))", "maker_fee = \"\(definition.makerFee)\"",
                "taker_fee = \"\(definition.takerFee)\"", "contract = \"\(definition.contract.rawValue)\"",
            ]
        }
        return lines.joined(separator: "\n").trimmingLeadingNewlines() + "\n"
    }
}

extension String {
    fileprivate func trimmingLeadingNewlines() -> String {
        var result = Substring(self)
        while result.first == "\n" { result = result.dropFirst() }
        return String(result)
    }
}

extension Substring {
    /// The text without the leading and trailing characters in `set` (configuration and
    /// journal-settings lines).
    func trimmingCharacters(in set: String) -> String {
        var result = self
        while let first = result.first, set.contains(first) { result = result.dropFirst() }
        while let last = result.last, set.contains(last) { result = result.dropLast() }
        return String(result)
    }
}
