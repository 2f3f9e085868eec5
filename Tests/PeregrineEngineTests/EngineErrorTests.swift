import Foundation
import PeregrineCore
import PeregrineJournal
import PeregrineModel
import PeregrineRisk
import PeregrineStrategy
import Testing

@testable import PeregrineEngine

/// Recovery and settings failures arrive as typed errors a caller can match on, each wrapping
/// the failing part's own error; their text names what to fix.
@Suite struct EngineErrorTests {
    static func directory() -> String { NSTemporaryDirectory() + "peregrine-errors-\(UUID().uuidString)" }

    @Test func aSettingsFileOfAnotherFormatIsRefusedNamingBothVersions() throws {
        #expect(
            throws: EngineError.settings(.unsupportedFormat(origin: "x.conf", found: 9, readable: 5...7))
        ) { try LogicSettings.parse("format = 9\nstrategy = idle\n", origin: "x.conf") }
        let text = EngineError.settings(.unsupportedFormat(origin: "x.conf", found: 9, readable: 5...7)).description
        #expect(
            text
                == "logic settings: x.conf is settings format 9; this build reads formats 5 to 7: a newer peregrine wrote it; use that build"
        )
        // Format 4 was written by a build with one hard-wired strategy: refused, saying why.
        #expect(throws: EngineError.settings(.unsupportedFormat(origin: "x.conf", found: 4, readable: 5...7))) {
            try LogicSettings.parse("format = 4\ninstruments = 4\nstrategy = idle\n", origin: "x.conf")
        }
        #expect(
            EngineError.settings(.unsupportedFormat(origin: "x.conf", found: 4, readable: 5...7)).description
                == "logic settings: x.conf is settings format 4; this build reads formats 5 to 7: an older peregrine wrote it "
                + "(before strategies kept orders and positions, format 5, 2026-11-29); replay or recover it with that "
                + "build, or start a new journal")
        #expect(throws: EngineError.settings(.missing(origin: "x.conf", name: "strategies"))) {
            try LogicSettings.parse(
                "format = 5\ninstruments = 4\norder-flow = 0\nvenue-orders = 64\nstrategy-orders = 8\ntimers = 8\n"
                    + "keep-orders = 0\n", origin: "x.conf")
        }
        // A file cut mid-entry (its last value read short, the checksum line gone with it) is
        // refused as cut, whatever it still says.
        let cut = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: cut) }
        try FileManager.default.createDirectory(atPath: cut, withIntermediateDirectories: true)
        try "format = 6\ninstruments = 4\norder-flow = 1".write(
            toFile: cut + "/engine-logic.conf", atomically: true, encoding: .utf8)
        #expect(throws: EngineError.settings(.cutShort(origin: cut + "/engine-logic.conf"))) {
            _ = try LogicSettings.load(directory: cut)
        }
        // Cut short (its last lines, the checksum with them, lost) or edited: said so, with what to do.
        #expect(
            EngineError.settings(.missing(origin: "x.conf", name: "strategies")).description
                == "logic settings: x.conf has no 'strategies': the file is cut short or was changed by hand "
                + "(peregrine writes every entry); restore it from a backup, or move the journal away and start a new "
                + "one")
    }

    /// One writer per journal directory: a second plan (another run) is refused while the first
    /// lives, and takes the directory once it is gone.
    @Test func aJournalInUseIsRefused() throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = EngineConfiguration()
        configuration.instruments = 4
        var first: FileJournalPlan? = FileJournalPlan(directory: directory)
        _ = try first?.recover(configuration: configuration, custom: IdleStrategy.self)
        #expect(throws: EngineError.journal(.inUse(directory: directory))) {
            _ = try FileJournalPlan(directory: directory).recover(
                configuration: configuration, custom: IdleStrategy.self)
        }
        #expect(
            JournalError.inUse(directory: "j").description
                == "j is in use: another process writes this journal (it holds the directory's lock); stop it, or "
                + "give this run another journal directory")
        // A copy of the plan shares its lock.
        let copy = try #require(first)
        _ = try copy.recover(configuration: configuration, custom: IdleStrategy.self)
        first = nil
        #expect(throws: EngineError.journal(.inUse(directory: directory))) {
            _ = try FileJournalPlan(directory: directory).recover(
                configuration: configuration, custom: IdleStrategy.self)
        }
        _ = copy
    }

    /// A journal whose strategy this build refuses (an earlier build took it: the arbitrage on
    /// two grids, refused since 2026-12-04) is refused by name, with the way out, not with the
    /// advice for starting a run.
    @Test func aJournalsStrategyThisBuildRefusesIsNamedAsTheJournals() throws {
        let directory = Self.directory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = EngineConfiguration()
        configuration.instruments = 2
        configuration.strategies = [
            StrategySpec(name: "cross-venue-arbitrage", instruments: [InstrumentID(0), InstrumentID(1)])
        ]
        configuration.instrumentDefinitions = try ["binance", "bybit"].enumerated().map { index, venue in
            InstrumentDefinition(
                id: InstrumentID(UInt32(index)), symbol: "BTC-\(venue)", venue: venue, tickSize: try Increment("0.01"),
                lotSize: try Increment("0.001"))
        }
        var settings = try LogicSettings(configuration, custom: IdleStrategy.self)
        // As an earlier build stored it: the second instrument on another grid.
        settings.instrumentDefinitions[1].tickSize = try Increment("0.1")
        try settings.store(directory: directory)
        guard let error = try Self.replayRefusal(directory) else { return }
        guard case .settings(.strategyRefused(let origin, let reason)) = error else {
            Issue.record("\(error)")
            return
        }
        #expect(origin == directory + "/engine-logic.conf")
        #expect(reason.hasPrefix("strategy cross-venue-arbitrage: it compares prices in ticks and sizes in lots"))
        #expect(
            "\(error)".hasSuffix(
                "the build that wrote the journal took it, and replays and recovers it: use that build, or move "
                    + "the journal away and start a new one with settings this build takes"))
    }

    /// Why a replay of the journal in `directory`, with the settings stored there, is refused
    /// (nil, recorded as an issue, if it is not).
    static func replayRefusal(_ directory: String) throws -> EngineError? {
        let stored = try JournalReplay.configuration(for: directory, base: EngineConfiguration())
        do {
            _ = try JournalReplay.recover(
                directory: directory, configuration: stored, custom: IdleStrategy.self, useSnapshot: false,
                repair: false)
            Issue.record("the journal was replayed")
            return nil
        } catch {
            return error
        }
    }

    /// A risk rule an earlier build stored and this build refuses (a general rule's quantity
    /// off a covered instrument's lot grid, checked since 2026-12-06) is named as the journal's,
    /// with what to do (review helper-142: it read like a setting of this run).
    @Test func aJournalsRiskRuleThisBuildRefusesIsNamedAsTheJournals() throws {
        let directory = Self.directory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = EngineConfiguration()
        configuration.strategies = [StrategySpec(name: "market-maker")]
        configuration.risk = [RiskRule(maxPosition: "1")]
        var settings = try LogicSettings(configuration, custom: IdleStrategy.self)
        // As an earlier build stored it: off the synthetic instruments' lot of 0.001.
        settings.risk = [RiskRule(maxPosition: "0.0005")]
        try settings.store(directory: directory)
        guard let error = try Self.replayRefusal(directory) else { return }
        guard case .settings(.riskRefused(let origin, let reason)) = error else {
            Issue.record("\(error)")
            return
        }
        #expect(origin == directory + "/engine-logic.conf")
        #expect(reason.hasPrefix("risk[1].max_position = \"0.0005\": not a quantity of"), "\(reason)")
        #expect("\(error)".contains("a risk rule the journal was written with"))
    }

    /// The settings file records the logic's revision and the first record it holds exactly;
    /// a format-6 file (a build before revisions) reads as revision 0, so none of its records
    /// is this build's. Snapshots keep the checksum of the settings as format 6 wrote them, so
    /// that a build of another revision restores a snapshot taken with the same settings.
    @Test func theLogicRevisionIsStoredAndAFormatSixFileIsRevisionZero() throws {
        var configuration = EngineConfiguration()
        configuration.instruments = 4
        configuration.strategies = [StrategySpec(name: "market-maker")]
        var settings = try LogicSettings(configuration, custom: IdleStrategy.self)
        #expect(settings.revision == LogicSettings.currentRevision && settings.revisionSince == 0)
        settings.revisionSince = 50_001
        let text = settings.description
        let lines = text.split(separator: "\n")
        #expect(
            Array(lines.prefix(3)) == [
                "format = 7", "logic-revision = \(LogicSettings.currentRevision)", "logic-revision-since = 50001",
            ])
        let read = try LogicSettings.parse(text, origin: "f")
        #expect(
            read.revision == LogicSettings.currentRevision && read.revisionSince == 50_001 && read.exactFrom == 50_001)
        #expect(read.difference(from: settings) == nil)
        // As format 6 wrote them: no revision lines, its own checksum.
        let old = settings.settingsOnlyText
        let oldLines = old.split(separator: "\n")
        #expect(oldLines.first == "format = 6")
        #expect(!old.contains("logic-revision"))
        #expect(Array(oldLines.dropFirst().dropLast()) == Array(lines.dropFirst(3).dropLast()))
        let older = try LogicSettings.parse(old, origin: "f")
        #expect(older.revision == 0 && older.exactFrom == .max)
        #expect(older.revisionText == "a build before logic revisions were recorded (2026-12-07)")
        // The same settings: a run takes them (and then checks the journal's records).
        #expect(older.difference(from: settings) == nil)
        // Format 7 needs both entries.
        let withoutSince = lines.filter { !$0.hasPrefix("logic-revision-since") && !$0.hasPrefix("checksum") }
        #expect(throws: EngineError.settings(.missing(origin: "f", name: "logic-revision-since"))) {
            try LogicSettings.parse(withoutSince.joined(separator: "\n"), origin: "f")
        }
        let negative = text.replacingOccurrences(of: "since = 50001", with: "since = -1").split(separator: "\n")
            .filter { !$0.hasPrefix("checksum") }
        #expect(
            throws: EngineError.settings(
                .invalid(
                    origin: "f", name: "logic-revision-since",
                    reason: "'-1' is not a record sequence (a whole number from 0)"))
        ) { try LogicSettings.parse(negative.joined(separator: "\n"), origin: "f") }
    }

    /// A snapshot records the checksum of its settings as builds before logic revisions wrote
    /// them (this file, from the release build of a425f12, byte for byte): this build's
    /// snapshots carry the same checksum, so each build restores the other's snapshot taken with
    /// the same settings (a clean upgrade), and the settings-only text reads back the same.
    @Test func snapshotsKeepTheChecksumOfTheFormatSixText() throws {
        let written = """
            format = 6
            instruments = 2
            order-flow = 10
            venue-orders = 65536
            strategy-orders = 4096
            timers = 1024
            keep-orders = 0
            ack-timeout-ms = 5000
            strategies = 1
            strategy.1 = market-maker id=1 instruments=2,3 account=1001 half-spread=2 size=10 skew=1 \
            max-position=100 requote=1 post-only=1 join-touch=0
            mempool = off
            risks = 0
            checksum = b7986010

            """
        let stored = try LogicSettings.parse(written, origin: "a425f12")
        #expect(stored.revision == 0)
        #expect(stored.settingsOnlyText == written)
        var configuration = EngineConfiguration()
        stored.apply(to: &configuration)
        let logic = try EngineLogic(configuration: configuration, custom: IdleStrategy.self)
        #expect(logic.settingsChecksum == Array(written.utf8).withUnsafeBytes { CRC32C.checksum($0) })
        // Built from a run's configuration, the same.
        var run = EngineConfiguration()
        run.instruments = 2
        run.orderFlowPercent = 10
        run.strategies = [StrategySpec(name: "market-maker")]
        #expect(try LogicSettings(run, custom: IdleStrategy.self).settingsOnlyText == written)
    }

    /// The settings carry a checksum of their entries: read back as written (lines, or `; `
    /// as a JetStream stream's description holds them), refused when changed by hand.
    @Test func settingsChangedByHandAreRefused() throws {
        var configuration = EngineConfiguration()
        configuration.instruments = 4
        configuration.strategies = [StrategySpec(name: "market-maker", parameters: [("half-spread", "2")])]
        let settings = try LogicSettings(configuration, custom: IdleStrategy.self)
        let text = settings.description
        let lines = text.split(separator: "\n")
        #expect(lines.last?.hasPrefix("checksum = ") == true && lines.last?.count == 19, "\(text)")
        #expect(try LogicSettings.parse(text, origin: "f").difference(from: settings) == nil)
        #expect(try LogicSettings.parse(lines.joined(separator: "; "), origin: "s").difference(from: settings) == nil)
        #expect(throws: EngineError.settings(.edited(origin: "f"))) {
            try LogicSettings.parse(text.replacingOccurrences(of: "half-spread=2", with: "half-spread=3"), origin: "f")
        }
        #expect(throws: EngineError.settings(.edited(origin: "f"))) {
            try LogicSettings.parse(
                text.replacingOccurrences(of: "instruments = 4", with: "instruments = 5"), origin: "f")
        }
        // Without its checksum (a file of a build before 2026-12-02): taken as it is.
        let unchecked = lines.dropLast().joined(separator: "\n").replacingOccurrences(
            of: "half-spread=2", with: "half-spread=3")
        #expect(try LogicSettings.parse(unchecked, origin: "f").difference(from: settings) != nil)
    }

    @Test func theLockIsFreedWithThePlan() throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = EngineConfiguration()
        configuration.instruments = 4
        do {
            let plan = FileJournalPlan(directory: directory)
            _ = try plan.recover(configuration: configuration, custom: IdleStrategy.self)
        }
        _ = try FileJournalPlan(directory: directory).recover(configuration: configuration, custom: IdleStrategy.self)
    }

    @Test func recoveringWithOtherSettingsOrAnotherStrategyIsRefused() throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = EngineConfiguration()
        configuration.instruments = 4
        _ = try FileJournalPlan(directory: directory).recover(configuration: configuration, custom: IdleStrategy.self)
        var other = configuration
        other.instruments = 8
        #expect(
            throws: EngineError.settings(
                .differs(origin: directory, difference: "instruments = 4 in the journal, 8 in this run"))
        ) { _ = try FileJournalPlan(directory: directory).recover(configuration: other, custom: IdleStrategy.self) }
        var follower = configuration
        follower.strategies = [StrategySpec(name: "large-trade-follower")]
        #expect(
            throws: EngineError.settings(
                .differs(
                    origin: directory,
                    difference: "strategies none in the journal, 'large-trade-follower id=1 instruments=0,1,2,3 "
                        + "account=1001 min-quantity=500 quantity=10 max-spread=50' in this run"))
        ) { _ = try FileJournalPlan(directory: directory).recover(configuration: follower, custom: IdleStrategy.self) }
        // Unknown strategies and parameters are refused before anything starts, naming what is allowed.
        var unknown = configuration
        unknown.strategies = [StrategySpec(name: "market-taker")]
        #expect(
            throws: EngineError.strategy(
                .unknownStrategy(
                    name: "market-taker",
                    allowed: [
                        "market-maker", "golden-cross", "mean-reversion", "cross-venue-arbitrage",
                        "large-trade-follower", "idle",
                    ]))
        ) { _ = try EngineLogic(configuration: unknown, custom: IdleStrategy.self) }
        unknown.strategies = [StrategySpec(name: "market-maker", parameters: [("spread", "3")])]
        #expect(
            throws: EngineError.strategy(
                .unknownParameter(
                    strategy: "market-maker", key: "spread",
                    allowed: [
                        "id", "instruments", "account", "half-spread", "size", "skew", "max-position", "requote",
                        "post-only", "join-touch",
                    ]))
        ) { _ = try EngineLogic(configuration: unknown, custom: IdleStrategy.self) }
        unknown.strategies = [StrategySpec(name: "golden-cross", parameters: [("fast", "40"), ("slow", "30")])]
        #expect(
            throws: EngineError.strategy(
                .invalidParameter(
                    strategy: "golden-cross", key: "fast", value: "40",
                    allowed: "an integer from 1 to 30 (at most slow)"))
        ) { _ = try EngineLogic(configuration: unknown, custom: IdleStrategy.self) }
    }

    @Test func aJournalWithoutItsSettingsIsRefusedAsUnrecoverable() throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            var writer = try JournalWriter.open(directory: directory, nextSequence: 0)
            let trade = Trade(price: Price(ticks: 100), quantity: Quantity(lots: 1), aggressor: .buy, tradeID: 1)
            try writer.append(Event(timestamp: 1, instrument: InstrumentID(0), payload: .trade(trade)), sequence: 0)
            try writer.commit()
            try writer.sync()
        }
        #expect(
            throws: EngineError.recovery(
                .historyWithoutSettings(directory: directory, segmentsWithRecords: 1, snapshots: 0))
        ) {
            _ = try FileJournalPlan(directory: directory).recover(
                configuration: EngineConfiguration(), custom: IdleStrategy.self)
        }
        #expect(throws: EngineError.settings(.absent(directory: directory))) {
            _ = try JournalReplay.configuration(for: directory, base: EngineConfiguration())
        }
    }
}
