import CustomStrategy
import Foundation
import PeregrineCore
import PeregrineEngine
import PeregrineModel
import PeregrineStrategy
import Testing

@Suite("A strategy from outside the package")
struct BreakoutTests {
    static func flow(_ id: UInt64, _ side: Side, _ price: Int64, _ lots: Int64, at time: UInt64) -> Event {
        Event(
            timestamp: time, instrument: InstrumentID(1),
            payload: .order(
                .limit(
                    OrderID(id), account: AccountID(side == .buy ? 7 : 8), side, price: Price(ticks: price),
                    quantity: Quantity(lots: lots))))
    }

    /// On the hosted instrument 1 (lookback 2, hold 1 ms): mids 100, 100 (twice: 200, 200), then
    /// a bid at 100 lifts it to 201, above both: a market buy of 1, filled at the ask, 101; the
    /// first event 1 ms later fires the timer and sells it back at the bid, 100.
    @Test func itTradesBreakoutsAndFlattensOnItsTimer() throws {
        var configuration = EngineConfiguration()
        configuration.instruments = 1
        configuration.orderFlowPercent = 10
        configuration.venueOrderCapacity = 64
        configuration.strategies = [
            StrategySpec(
                name: Breakout.name, instruments: [InstrumentID(1)],
                parameters: [("lookback", "2"), ("hold-ms", "1")])
        ]
        var logic = try EngineLogic(configuration: configuration, custom: Breakout.self)
        var outputs = HashingOutputs()
        let events = [
            Self.flow(1, .buy, 99, 5, at: 0), Self.flow(2, .sell, 101, 5, at: 10_000),
            Self.flow(3, .buy, 99, 5, at: 20_000), Self.flow(4, .buy, 100, 5, at: 30_000),
            Self.flow(5, .buy, 98, 1, at: 1_030_000),
        ]
        for (sequence, event) in events.enumerated() {
            logic.handle(event, sequence: Int64(sequence), outputs: &outputs)
        }
        #expect(logic.orders == 2 && logic.tradingCounters.fills == 2 && logic.tradingCounters.timersFired == 1)
        logic.withTrading { trading in
            let position = trading.position(slot: 0, instrument: InstrumentID(1)) ?? Position()
            #expect(position.net == 0 && position.realised == Money(tickLots: -1))
            #expect(position.bought == 1 && position.sold == 1)
        }
    }

    /// Through the engine's pipeline on the synthetic order flow, journaled: the replay of the
    /// journal, with the same strategy type, gives the run's state and output hashes.
    @Test func aRunAndItsReplayAgree() throws {
        let directory = NSTemporaryDirectory() + "custom-strategy-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = EngineConfiguration()
        configuration.instruments = 2
        configuration.orderFlowPercent = 30
        configuration.rate = .unlimited
        configuration.maxEvents = 50_000
        configuration.waitStrategy = .yield
        configuration.metricsPort = 0
        configuration.journalDirectory = directory
        configuration.strategies = [StrategySpec(name: Breakout.name, parameters: [("lookback", "50")])]
        let run = try Pipeline.run(configuration: configuration, custom: Breakout.self) { _ in }
        #expect(run.isLossless)
        let trading = try #require(run.trading)
        #expect(trading.counters.fills > 10 && trading.counters.timersFired > 0)
        let stored = try JournalReplay.configuration(for: directory, base: EngineConfiguration())
        let replay = try JournalReplay.recover(
            directory: directory, configuration: stored, custom: Breakout.self, useSnapshot: false, repair: false)
        #expect(replay.summary.stateHash == run.stateHash && replay.summary.outputHash == run.outputHash)
    }
}
