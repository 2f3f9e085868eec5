import PeregrineJournal
import PeregrineMempool
import PeregrineStrategy

#if canImport(Glibc)
    import Glibc
#endif

/// The settings that shape the logic's state and outputs. A journal is only meaningful with
/// the settings that wrote it, so they are stored beside it (`engine-logic.conf`, one
/// `name = value` per line); replay reads them and a run refuses to append with others.
public struct LogicSettings: Equatable, Sendable, CustomStringConvertible {
    public var instruments: Int
    public var orderFlowPercent: Int
    public var venueOrderCapacity: Int
    /// The strategy and its parameters (`Strategy.parameters`).
    public var strategy: String
    /// The mempool analysis' settings (nil: none).
    public var mempool: MempoolSettings?

    public static let fileName = "engine-logic.conf"

    public init<S: Strategy>(_ configuration: EngineConfiguration, strategy: S) {
        self.init(configuration, strategy: strategy.parameters)
    }

    public init(_ configuration: EngineConfiguration, strategy: String) {
        self.strategy = strategy
        instruments = configuration.instruments
        orderFlowPercent = configuration.orderFlowPercent
        venueOrderCapacity = configuration.venueOrderCapacity
        // With the Bloom filter's size fixed, so a replay anywhere builds the same filter.
        mempool = configuration.mempool.map { (try? $0.resolved()) ?? $0 }
    }

    /// Sets these settings in `configuration`.
    public func apply(to configuration: inout EngineConfiguration) {
        configuration.instruments = instruments
        configuration.orderFlowPercent = orderFlowPercent
        configuration.venueOrderCapacity = venueOrderCapacity
        configuration.mempool = mempool
    }

    var fields: [(String, Int)] {
        [
            ("instruments", instruments), ("order-flow", orderFlowPercent), ("venue-orders", venueOrderCapacity),
        ]
    }

    /// The format of the settings text. Format 4 (2026-11-29) adds the `mempool` line (`off`, or
    /// `MempoolSettings`' text); format 3, without it, is read as `mempool = off`. Format 3
    /// (2026-11-29): strategies submit orders and the
    /// hosted venue trades its own instruments; the bundle settings are gone. Formats 1 and 2
    /// (files without a `format` line are format 1) were written by builds whose strategies
    /// emitted transactions into bundles: their journals replay only with such a build, so they
    /// are refused, as is a newer format.
    public static let format = 4
    public static let readableFormats = 3...4

    public var description: String {
        "format = \(Self.format)\n" + fields.map { "\($0.0) = \($0.1)" }.joined(separator: "\n")
            + "\nstrategy = \(strategy)\nmempool = \(mempool.map { "\($0)" } ?? "off")\n"
    }

    /// Reads the settings stored in a journal directory; nil when there are none.
    public static func load(directory: String) throws(EngineError) -> LogicSettings? {
        let path = directory + "/" + fileName
        guard let file = fopen(path, "r") else {
            if errno == ENOENT { return nil }
            throw .settings(.unreadable(path: path, errno: errno))
        }
        defer { fclose(file) }
        var text = ""
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line { text += String(cString: line) }
        return try parse(text, origin: path)
    }

    /// Reads settings written as `description`, lines or `;`-separated (`origin` names where
    /// they came from in errors).
    public static func parse(_ text: String, origin: String) throws(EngineError) -> LogicSettings {
        var values: [String: Int] = [:]
        var strategy: String? = nil
        var mempool: String? = nil
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == ";" }) {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: " \n") }
            guard parts.count == 2 else { continue }
            if parts[0] == "strategy" {
                strategy = String(parts[1])
            } else if parts[0] == "mempool" {
                mempool = String(parts[1])
            } else if let value = Int(parts[1]) {
                values[String(parts[0])] = value
            }
        }
        let format = values["format"] ?? 1
        guard Self.readableFormats.contains(format) else {
            throw .settings(.unsupportedFormat(origin: origin, found: format, readable: Self.readableFormats))
        }
        guard let strategy else { throw .settings(.missing(origin: origin, name: "strategy")) }
        var configuration = EngineConfiguration()
        for (name, _) in LogicSettings(configuration, strategy: "").fields {
            guard let value = values[name] else {
                throw .settings(.missing(origin: origin, name: name))
            }
            switch name {
            case "instruments": configuration.instruments = value
            case "order-flow": configuration.orderFlowPercent = value
            default: configuration.venueOrderCapacity = value
            }
        }
        if format >= 4 {
            guard let mempool else { throw .settings(.missing(origin: origin, name: "mempool")) }
            if mempool != "off" {
                do { configuration.mempool = try MempoolSettings.parse(mempool) } catch {
                    throw .settings(.invalid(origin: origin, name: "mempool", reason: error.description))
                }
            }
        }
        return LogicSettings(configuration, strategy: strategy)
    }

    /// Stores the settings in a journal directory (created if missing).
    public func store(directory: String) throws(EngineError) {
        do {
            try FileIO.makeDirectory(directory)
            try FileIO.writeFileAtomically(
                directory + "/" + Self.fileName, Array(description.utf8), directory: directory)
        } catch {
            throw .settings(.unwritable(error))
        }
    }

    /// Refuses to replay a journal written by another strategy or with other parameters.
    public func checkStrategy<S: Strategy>(_ strategy: S, origin: String) throws(EngineError) {
        guard strategy.parameters == self.strategy else {
            throw .settings(.otherStrategy(origin: origin, stored: self.strategy, running: strategy.parameters))
        }
    }

    /// Names the first setting that differs, for refusing a mismatched run.
    public func difference(from other: LogicSettings) -> String? {
        for ((name, mine), (_, theirs)) in zip(fields, other.fields) where mine != theirs {
            return "\(name) = \(theirs) in the journal, \(mine) in this run"
        }
        if mempool != other.mempool {
            return "mempool = \(other.mempool.map { "\($0)" } ?? "off") in the journal, "
                + "\(mempool.map { "\($0)" } ?? "off") in this run"
        }
        if strategy != other.strategy {
            return "strategy '\(other.strategy)' in the journal, '\(strategy)' in this run"
        }
        return nil
    }
}
