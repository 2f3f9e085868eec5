import PeregrineCore
import PeregrineJournal
import PeregrineMempool
import PeregrineModel
import PeregrineRisk
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
    public var strategyOrderCapacity: Int
    public var timerCapacity: Int
    public var keepOrdersAtStop: Bool
    public var ackTimeoutMilliseconds: Int
    /// Each strategy's name and every parameter as used (`StrategySet.descriptions`).
    public var strategies: [String]
    /// The instruments whose reference data was configured (every other one is synthetic).
    public var instrumentDefinitions: [InstrumentDefinition]
    /// The mempool analysis' settings (nil: none).
    public var mempool: MempoolSettings?
    /// The pre-trade risk rules as configured.
    public var risk: [RiskRule]
    /// The revision of the logic that wrote the journal's records from `revisionSince` on
    /// (`currentRevision` for settings made by this build; 0 for a file from a build before
    /// revisions were recorded, format 6 and older).
    public var revision: Int
    /// The first record written, or first replayed into the state a run went on from, with
    /// `revision`'s logic: the records before it were written by an earlier revision, and this
    /// build replays them with its own logic, which may reach another state.
    public var revisionSince: Int64

    public static let fileName = "engine-logic.conf"

    /// The revision of this build's logic: strategies, risk checks, the hosted venue's matching
    /// and everything else that turns journal records into state and outputs. Raised by every
    /// change after which the same records reach another state or outputs (the pinned hashes of
    /// `HashCoverageTests.aFixedSeedRunHasTheseHashes` change with it). A run refuses to replay
    /// records another revision wrote unless told to accept it (`--accept-logic-change`), and
    /// `replay` says when it replays them. Revision 1: 2026-12-07. Revision 2 (2026-12-07): a
    /// cancel the kill switch sent is `killSwitch` in the order's reason and its update, not
    /// the venue's `requested`. Revision 3 (2026-12-07): the market maker no longer holds its
    /// ask above a bid (or a bid's new price) the risk checks refused, which never reached its
    /// venue; the cross-venue arbitrage sends both legs or neither (`submitBoth`); a replace the
    /// risk checks refuse on an order not yet accepted leaves the order open in its reject
    /// update (it had said `rejected`). Revision 4 (2026-12-08): a golden cross's reversal that
    /// a risk limit on an order's quantity or notional refused sends the closing part alone (it
    /// had stayed on its first side, refused at every sample).
    public static let currentRevision = 4

    /// The settings of `configuration`, with its strategies built (by `StrategySet<Custom>`)
    /// to resolve their defaults. Throws for a strategy that cannot be built.
    public init<Custom: Strategy>(_ configuration: EngineConfiguration, custom: Custom.Type) throws(EngineError) {
        let set = try configuration.makeStrategies(custom: custom)
        self.init(configuration, strategies: set.descriptions)
    }

    init(_ configuration: EngineConfiguration, strategies: [String]) {
        self.strategies = strategies
        revision = Self.currentRevision
        revisionSince = 0
        instruments = configuration.instruments
        orderFlowPercent = configuration.orderFlowPercent
        venueOrderCapacity = configuration.venueOrderCapacity
        strategyOrderCapacity = configuration.strategyOrderCapacity
        timerCapacity = configuration.timerCapacity
        keepOrdersAtStop = configuration.keepOrdersAtStop
        ackTimeoutMilliseconds = configuration.ackTimeoutMilliseconds
        instrumentDefinitions = configuration.instrumentDefinitions.sorted { $0.id < $1.id }
        risk = configuration.risk
        // With the Bloom filter's size fixed, so a replay anywhere builds the same filter.
        mempool = configuration.mempool.map { (try? $0.resolved()) ?? $0 }
    }

    /// Sets these settings in `configuration`.
    public func apply(to configuration: inout EngineConfiguration) {
        configuration.instruments = instruments
        configuration.orderFlowPercent = orderFlowPercent
        configuration.venueOrderCapacity = venueOrderCapacity
        configuration.strategyOrderCapacity = strategyOrderCapacity
        configuration.timerCapacity = timerCapacity
        configuration.keepOrdersAtStop = keepOrdersAtStop
        configuration.ackTimeoutMilliseconds = ackTimeoutMilliseconds
        configuration.instrumentDefinitions = instrumentDefinitions
        configuration.strategies = strategies.map(StrategySpec.init(description:))
        configuration.mempool = mempool
        configuration.risk = risk
    }

    var fields: [(String, Int)] {
        [
            ("instruments", instruments), ("order-flow", orderFlowPercent), ("venue-orders", venueOrderCapacity),
            ("strategy-orders", strategyOrderCapacity), ("timers", timerCapacity),
            ("keep-orders", keepOrdersAtStop ? 1 : 0), ("ack-timeout-ms", ackTimeoutMilliseconds),
        ]
    }

    /// The format of the settings text. Format 7 (2026-12-07): the logic's revision
    /// (`logic-revision`, `logic-revision-since`); format 6 is read as revision 0, and builds
    /// that read only format 6 refuse a format 7 file rather than replay it with their older
    /// logic. Format 6 (2026-11-30): the pre-trade risk rules
    /// (`risks = N`, then `risk.K = …`) and `ack-timeout-ms`; format 5, the same without them, is read as having
    /// none. Format 5 (2026-11-29): strategies keep orders,
    /// positions and timers; any number of them (`strategies = N`, then `strategy.K = …` for K
    /// from 1), instruments' reference data (`instrument.ID = …`, the synthetic defaults
    /// otherwise), `strategy-orders`, `timers`, `keep-orders`. Formats 1 to 4 were written by
    /// builds with one hard-wired strategy that kept no orders: their journals replay only with
    /// such a build, so they are refused, as is a newer format.
    public static let format = 7
    public static let readableFormats = 5...7

    /// The settings file's text.
    public var description: String { text(withRevision: true) }

    /// The settings as format 6 wrote them, without the logic's revision: snapshots record this
    /// text's checksum (`EngineLogic.settingsChecksum`), which tells settings changed since the
    /// snapshot, so that a build of another revision restores a snapshot taken with the same
    /// settings (an upgrade after a clean stop).
    public var settingsOnlyText: String { text(withRevision: false) }

    func text(withRevision: Bool) -> String {
        var lines = ["format = \(withRevision ? Self.format : 6)"]
        if withRevision {
            lines += ["logic-revision = \(revision)", "logic-revision-since = \(revisionSince)"]
        }
        lines += fields.map { "\($0.0) = \($0.1)" }
        lines.append("strategies = \(strategies.count)")
        for (index, strategy) in strategies.enumerated() { lines.append("strategy.\(index + 1) = \(strategy)") }
        for definition in instrumentDefinitions {
            lines.append("instrument.\(definition.id.rawValue) = \(definition.settingsText)")
        }
        lines.append("mempool = \(mempool.map { "\($0)" } ?? "off")")
        lines.append("risks = \(risk.count)")
        for (index, rule) in risk.enumerated() { lines.append("risk.\(index + 1) = \(rule.settingsText)") }
        lines.append("checksum = \(Self.checksum(of: lines.map { $0[...] }))")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The `checksum` entry's value: CRC-32C of the other entries (trimmed, joined by newlines),
    /// 8 hex digits. It tells a settings file changed by hand from the one the journal was
    /// written with (a build before 2026-12-02 wrote none: such a file is taken as it is; older
    /// builds ignore the entry).
    static func checksum(of entries: [Substring]) -> String {
        let text = entries.map { $0.trimmingCharacters(in: " \t\r") }.filter { !$0.isEmpty }.joined(separator: "\n")
        return CRC32C.text(Array(text.utf8).withUnsafeBytes { CRC32C.checksum($0) })
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
        // (A directory opens, and its first read fails.)
        if ferror(file) != 0 { throw .settings(.unreadable(path: path, errno: errno)) }
        // Every entry ends with a newline: a file that does not was cut mid-entry (a value cut
        // short still reads, wrong, when the checksum line went with it).
        if !text.isEmpty, !text.hasSuffix("\n") { throw .settings(.cutShort(origin: path)) }
        return try parse(text, origin: path)
    }

    /// Reads settings written as `description`, lines or `;`-separated (`origin` names where
    /// they came from in errors).
    public static func parse(_ text: String, origin: String) throws(EngineError) -> LogicSettings {
        var values: [String: String] = [:]
        var entries: [Substring] = []
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == ";" }) {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: " \n") }
            guard parts.count == 2 else { continue }
            values[parts[0]] = parts[1]
            if parts[0] != "checksum" { entries.append(line) }
        }
        if let stored = values["checksum"], stored != checksum(of: entries) { throw .settings(.edited(origin: origin)) }
        // Every format holds the instruments' count; format 1 had no format line.
        guard values["format"] != nil || values["instruments"] != nil else {
            throw .settings(.damaged(origin: origin))
        }
        let format = values["format"].flatMap { Int($0) } ?? 1
        guard Self.readableFormats.contains(format) else {
            throw .settings(.unsupportedFormat(origin: origin, found: format, readable: Self.readableFormats))
        }
        func number(_ name: String) throws(EngineError) -> Int {
            guard let text = values[name] else { throw .settings(.missing(origin: origin, name: name)) }
            guard let value = Int(text) else {
                throw .settings(.invalid(origin: origin, name: name, reason: "'\(text)' is not a whole number"))
            }
            return value
        }
        var configuration = EngineConfiguration()
        configuration.instruments = try number("instruments")
        configuration.orderFlowPercent = try number("order-flow")
        configuration.venueOrderCapacity = try number("venue-orders")
        configuration.strategyOrderCapacity = try number("strategy-orders")
        configuration.timerCapacity = try number("timers")
        configuration.keepOrdersAtStop = try number("keep-orders") != 0
        // Format 5 had no acknowledgement timeout: none was applied.
        configuration.ackTimeoutMilliseconds = format >= 6 ? try number("ack-timeout-ms") : 0
        let count = try number("strategies")
        var strategies: [String] = []
        for index in 0..<Swift.max(count, 0) {
            guard let strategy = values["strategy.\(index + 1)"] else {
                throw .settings(.missing(origin: origin, name: "strategy.\(index + 1)"))
            }
            strategies.append(strategy)
        }
        for (name, value) in values.sorted(by: { $0.key < $1.key }) where name.hasPrefix("instrument.") {
            do { configuration.instrumentDefinitions.append(try InstrumentDefinition(settingsText: value)) } catch {
                throw .settings(.invalid(origin: origin, name: name, reason: error.description))
            }
        }
        guard let mempool = values["mempool"] else { throw .settings(.missing(origin: origin, name: "mempool")) }
        if mempool != "off" {
            do { configuration.mempool = try MempoolSettings.parse(mempool) } catch {
                throw .settings(.invalid(origin: origin, name: "mempool", reason: error.description))
            }
        }
        for index in 0..<(format >= 6 ? Swift.max(try number("risks"), 0) : 0) {
            guard let text = values["risk.\(index + 1)"] else {
                throw .settings(.missing(origin: origin, name: "risk.\(index + 1)"))
            }
            do { configuration.risk.append(try RiskRule(settingsText: text)) } catch {
                throw .settings(.invalid(origin: origin, name: "risk.\(index + 1)", reason: error.description))
            }
        }
        var settings = LogicSettings(configuration, strategies: strategies)
        settings.revision = 0
        settings.revisionSince = 0
        if format >= 7 {
            settings.revision = try number("logic-revision")
            guard settings.revision >= 0 else {
                throw .settings(
                    .invalid(origin: origin, name: "logic-revision", reason: "'\(settings.revision)' is below 0"))
            }
            guard let since = values["logic-revision-since"] else {
                throw .settings(.missing(origin: origin, name: "logic-revision-since"))
            }
            guard let value = Int64(since), value >= 0 else {
                throw .settings(
                    .invalid(
                        origin: origin, name: "logic-revision-since",
                        reason: "'\(since)' is not a record sequence (a whole number from 0)"))
            }
            settings.revisionSince = value
        }
        return settings
    }

    /// The first record this build replays exactly as it was run: `revisionSince` when these
    /// stored settings are of this build's revision; none (`Int64.max`) when another revision
    /// wrote every record.
    public var exactFrom: Int64 { revision == Self.currentRevision ? revisionSince : .max }

    /// The records from `from` to the journal's `end` (its next sequence), none after
    /// `through`, that another revision wrote (those before `exactFrom`); nil when none is.
    public func otherRevisionRecords(from: Int64, end: Int64, through: Int64 = .max) -> OtherRevisionRecords? {
        let last = Swift.min(Swift.min(exactFrom, end) &- 1, through)
        guard from <= last else { return nil }
        return OtherRevisionRecords(first: from, last: last, writtenBy: revisionText)
    }

    /// Which logic wrote the records before `exactFrom`, for messages.
    public var revisionText: String {
        if revision == Self.currentRevision {
            return "an earlier logic revision (this build's, \(revision), wrote the journal from record "
                + "\(revisionSince) on)"
        }
        return revision == 0
            ? "a build before logic revisions were recorded (2026-12-07)" : "logic revision \(revision)"
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

    /// Names the first setting that differs, for refusing a mismatched run.
    public func difference(from other: LogicSettings) -> String? {
        for ((name, mine), (_, theirs)) in zip(fields, other.fields) where mine != theirs {
            return "\(name) = \(theirs) in the journal, \(mine) in this run"
        }
        if mempool != other.mempool {
            return "mempool = \(other.mempool.map { "\($0)" } ?? "off") in the journal, "
                + "\(mempool.map { "\($0)" } ?? "off") in this run"
        }
        if strategies != other.strategies {
            let shown = { (list: [String]) in list.isEmpty ? "none" : list.map { "'\($0)'" }.joined(separator: ", ") }
            return "strategies \(shown(other.strategies)) in the journal, \(shown(strategies)) in this run"
        }
        if instrumentDefinitions != other.instrumentDefinitions {
            return "other instrument reference data in the journal"
        }
        if risk != other.risk {
            return "risk rules "
                + (other.risk.isEmpty ? "none" : other.risk.map { "'\($0.settingsText)'" }.joined(separator: ", "))
                + " in the journal, "
                + (risk.isEmpty ? "none" : risk.map { "'\($0.settingsText)'" }.joined(separator: ", ")) + " in this run"
        }
        return nil
    }
}
