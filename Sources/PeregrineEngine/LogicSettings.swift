import PeregrineJournal

#if canImport(Glibc)
    import Glibc
#endif

/// The settings that shape the logic's state and outputs. A journal is only meaningful with
/// the settings that wrote it, so they are stored beside it (`engine-logic.conf`, one
/// `name = value` per line); replay reads them and a run refuses to append with others.
public struct LogicSettings: Equatable, Sendable, CustomStringConvertible {
    public var instruments: Int
    public var bundleSize: Int
    public var bundleTimeoutMicroseconds: Int
    public var orderFlowPercent: Int
    public var venueOrderCapacity: Int

    public static let fileName = "engine-logic.conf"

    public init(_ configuration: EngineConfiguration) {
        instruments = configuration.instruments
        bundleSize = configuration.bundleSize
        bundleTimeoutMicroseconds = configuration.bundleTimeoutMicroseconds
        orderFlowPercent = configuration.orderFlowPercent
        venueOrderCapacity = configuration.venueOrderCapacity
    }

    /// Sets these settings in `configuration`.
    public func apply(to configuration: inout EngineConfiguration) {
        configuration.instruments = instruments
        configuration.bundleSize = bundleSize
        configuration.bundleTimeoutMicroseconds = bundleTimeoutMicroseconds
        configuration.orderFlowPercent = orderFlowPercent
        configuration.venueOrderCapacity = venueOrderCapacity
    }

    var fields: [(String, Int)] {
        [
            ("instruments", instruments), ("bundle-size", bundleSize),
            ("bundle-timeout-us", bundleTimeoutMicroseconds), ("order-flow", orderFlowPercent),
            ("venue-orders", venueOrderCapacity),
        ]
    }

    /// The format of the settings text; a file of another format is refused. Files written
    /// before the `format` line existed are format 1.
    public static let format = 1

    public var description: String {
        "format = \(Self.format)\n" + fields.map { "\($0.0) = \($0.1)" }.joined(separator: "\n") + "\n"
    }

    /// Reads the settings stored in a journal directory; nil when there are none.
    public static func load(directory: String) throws(EngineError) -> LogicSettings? {
        let path = directory + "/" + fileName
        guard let file = fopen(path, "r") else {
            if errno == ENOENT { return nil }
            throw .journal("cannot read \(path): \(String(cString: strerror(errno)))")
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
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == ";" }) {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: " \n") }
            guard parts.count == 2, let value = Int(parts[1]) else { continue }
            values[String(parts[0])] = value
        }
        if let format = values["format"], format != Self.format {
            throw .journal(
                "\(origin) is settings format \(format); this build reads format \(Self.format). Use the peregrine "
                    + "version that wrote the journal")
        }
        var settings = LogicSettings(EngineConfiguration())
        var configuration = EngineConfiguration()
        settings.apply(to: &configuration)
        for (name, _) in settings.fields {
            guard let value = values[name] else {
                throw .journal("\(origin) has no '\(name)'; it was not written by this engine")
            }
            switch name {
            case "instruments": configuration.instruments = value
            case "bundle-size": configuration.bundleSize = value
            case "bundle-timeout-us": configuration.bundleTimeoutMicroseconds = value
            case "order-flow": configuration.orderFlowPercent = value
            default: configuration.venueOrderCapacity = value
            }
        }
        settings = LogicSettings(configuration)
        return settings
    }

    /// Stores the settings in a journal directory (created if missing).
    public func store(directory: String) throws(EngineError) {
        do {
            try FileIO.makeDirectory(directory)
            try FileIO.writeFileAtomically(
                directory + "/" + Self.fileName, Array(description.utf8), directory: directory)
        } catch {
            throw .journal("cannot write the settings file: \(error)")
        }
    }

    /// Names the first setting that differs, for refusing a mismatched run.
    public func difference(from other: LogicSettings) -> String? {
        for ((name, mine), (_, theirs)) in zip(fields, other.fields) where mine != theirs {
            return "\(name) = \(theirs) in the journal, \(mine) in this run"
        }
        return nil
    }
}
