import Foundation
import PeregrineEngine
import PeregrineJournal
import PeregrineModel
import PeregrineStrategy
import Testing

/// Recovery and settings failures arrive as typed errors a caller can match on, each wrapping
/// the failing part's own error; their text names what to fix.
@Suite struct EngineErrorTests {
    static func directory() -> String { NSTemporaryDirectory() + "peregrine-errors-\(UUID().uuidString)" }

    @Test func aSettingsFileOfAnotherFormatIsRefusedNamingBothVersions() throws {
        #expect(
            throws: EngineError.settings(.unsupportedFormat(origin: "x.conf", found: 9, readable: 3...4))
        ) { try LogicSettings.parse("format = 9\nstrategy = idle\n", origin: "x.conf") }
        let text = EngineError.settings(.unsupportedFormat(origin: "x.conf", found: 9, readable: 3...4)).description
        #expect(
            text
                == "logic settings: x.conf is settings format 9; this build reads formats 3 to 4: a newer peregrine wrote it; use that build"
        )
        #expect(throws: EngineError.settings(.unsupportedFormat(origin: "x.conf", found: 2, readable: 3...4))) {
            try LogicSettings.parse("format = 2\ninstruments = 4\nstrategy = idle\n", origin: "x.conf")
        }
        #expect(throws: EngineError.settings(.missing(origin: "x.conf", name: "strategy"))) {
            try LogicSettings.parse("format = 3\ninstruments = 4\n", origin: "x.conf")
        }
    }

    @Test func recoveringWithOtherSettingsOrAnotherStrategyIsRefused() throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = EngineConfiguration()
        configuration.instruments = 4
        _ = try FileJournalPlan(directory: directory).recover(configuration: configuration, strategy: IdleStrategy())
        var other = configuration
        other.instruments = 8
        #expect(
            throws: EngineError.settings(
                .differs(origin: directory, difference: "instruments = 4 in the journal, 8 in this run"))
        ) { _ = try FileJournalPlan(directory: directory).recover(configuration: other, strategy: IdleStrategy()) }
        let follower = LargeTradeFollower(minimumQuantity: Quantity(lots: 500), followQuantity: Quantity(lots: 10))
        #expect(
            throws: EngineError.settings(
                .differs(
                    origin: directory,
                    difference: "strategy 'idle' in the journal, '\(follower.parameters)' in this run"))
        ) { _ = try FileJournalPlan(directory: directory).recover(configuration: configuration, strategy: follower) }
        // Replay checks the strategy on its own (it takes the other settings from the journal).
        #expect(
            throws: EngineError.settings(
                .otherStrategy(origin: directory, stored: "idle", running: follower.parameters))
        ) {
            _ = try JournalReplay.recover(
                directory: directory, configuration: configuration, strategy: follower, useSnapshot: false,
                repair: false)
        }
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
                configuration: EngineConfiguration(), strategy: IdleStrategy())
        }
        #expect(throws: EngineError.settings(.absent(directory: directory))) {
            _ = try JournalReplay.configuration(for: directory, base: EngineConfiguration())
        }
    }
}
