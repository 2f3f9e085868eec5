import PeregrineBook
import PeregrineCore
import PeregrineEngine
import PeregrineModel
import PeregrineRisk
import PeregrineStrategy
import Testing

/// Buys 10 lots at market on the first book with an ask, then keeps one 1-lot bid at the best
/// bid: a position to lose on, and an order to cancel and to refuse.
struct DipBuyer: Strategy, Sendable {
    static let name = "dip-buyer"
    var bought = false

    init(_ configuration: StrategyConfiguration) throws(StrategyConfigurationError) {}

    mutating func onBook(_ instrument: InstrumentID, _ context: inout StrategyContext) {
        guard let top = context.bestBidOffer(instrument) else { return }
        if !bought, top.ask != nil {
            bought = context.submitMarket(instrument, .buy, quantity: Quantity(lots: 10)) != nil
            return
        }
        if let bid = top.bid, !context.hasOpenOrder(instrument) {
            _ = context.submitLimit(instrument, .buy, price: bid.price, quantity: Quantity(lots: 1))
        }
    }

    mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try visitor.visit(&bought, "bought")
    }
}

/// The kill switch inside the logic: tripped by the daily loss rule (open orders cancelled,
/// new ones refused), reset by an admin event, and all of it the same on a replay and through
/// a snapshot.
@Suite("Kill switch in the logic")
struct KillSwitchLogicTests {
    static let day: UInt64 = 20_787 * 86_400_000_000_000

    static func configuration() -> EngineConfiguration {
        var configuration = EngineConfiguration()
        configuration.instruments = 1
        configuration.orderFlowPercent = 10  // hosted instrument 1: tick 0.01, lot 0.001, taker 0.0004
        configuration.venueOrderCapacity = 64
        configuration.strategies = [StrategySpec(name: "dip-buyer", instruments: [InstrumentID(1)])]
        // 0.0005 USD = 50 ticks × lots.
        configuration.risk = [RiskRule(strategy: 1, maxDailyLoss: ["USD": "0.0005"])]
        return configuration
    }

    static func flow(_ id: UInt64, _ side: Side, _ price: Int64, _ lots: Int64, _ time: UInt64) -> Event {
        Event(
            timestamp: time, exchangeTimestamp: day + time, instrument: InstrumentID(1),
            payload: .order(
                .limit(
                    OrderID(id), account: AccountID(7), side, price: Price(ticks: price), quantity: Quantity(lots: lots)
                )))
    }

    static func admin(_ action: AdminAction, _ time: UInt64) -> Event {
        Event(
            timestamp: time, exchangeTimestamp: day + time, instrument: InstrumentID(0),
            payload: .admin(AdminCommand(action, requestID: time)))
    }

    static let events: [Event] = [
        flow(1, .sell, 1_000, 20, 1_000),  // the buyer takes 10 at 1,000 (fee 4 ticks × lots)
        flow(2, .buy, 990, 5, 2_000),  // mid 995: down 50 + 4 = 54 > 50 → tripped; its bid cancelled
        flow(3, .buy, 991, 5, 3_000),  // its new bid: refused (kill switch)
        admin(.reset, 4_000),  // reset: the loss counts again from here
        flow(4, .buy, 992, 5, 5_000),  // mid 996: a gain; its bid is accepted
        admin(.kill, 6_000),  // an operator's kill: the bid cancelled
        flow(5, .buy, 993, 5, 7_000),  // refused again
    ]

    @Test func theLossRuleTripsAnAdminResetsAndKills() throws {
        let configuration = Self.configuration()
        var logic = try EngineLogic(configuration: configuration, custom: DipBuyer.self)
        var outputs = RecordingOutputs()
        let buyer = StrategyID(1)
        func own(_ sequence: UInt64) -> OrderID { .strategyOrder(buyer, sequence: sequence) }
        func kill() -> KillSwitch { logic.withTrading { $0.killSwitch } }
        func rejects() -> [ExecutionReason: Int] {
            logic.withTrading {
                Dictionary(uniqueKeysWithValues: $0.counters.riskRejectsByReason.map { ($0.reason, $0.count) })
            }
        }
        logic.handle(Self.events[0], sequence: 0, outputs: &outputs)
        #expect(outputs.reports.filter { $0.orderID == own(1) }.map(\.kind) == [.accepted, .filled])
        #expect(!kill().isTripped)
        logic.handle(Self.events[1], sequence: 1, outputs: &outputs)
        // Its bid at 990 went in during the event, then the loss check tripped the switch and cancelled it.
        #expect(outputs.reports.filter { $0.orderID == own(2) }.map(\.kind) == [.accepted, .cancelled])
        #expect(kill().isTripped && kill().cause == .dailyLoss && kill().strategy == 1 && kill().trippedAt == 2_000)
        #expect(logic.withTrading { $0.openOrders } == 0)
        logic.handle(Self.events[2], sequence: 2, outputs: &outputs)
        #expect(rejects() == [.killSwitch: 1])
        #expect(!outputs.reports.contains { $0.orderID == own(3) })  // never reached the venue
        logic.handle(Self.events[3], sequence: 3, outputs: &outputs)
        #expect(!kill().isTripped && kill().resets == 1)
        logic.handle(Self.events[4], sequence: 4, outputs: &outputs)
        #expect(!kill().isTripped)
        #expect(outputs.reports.filter { $0.orderID == own(4) }.map(\.kind) == [.accepted])
        logic.handle(Self.events[5], sequence: 5, outputs: &outputs)
        #expect(kill().isTripped && kill().cause == .operatorCommand && kill().trips == 2)
        #expect(outputs.reports.filter { $0.orderID == own(4) }.map(\.kind) == [.accepted, .cancelled])
        logic.handle(Self.events[6], sequence: 6, outputs: &outputs)
        #expect(rejects() == [.killSwitch: 2])
        // The venue cancelled both as asked (`requested`); the updates say who asked.
        #expect(outputs.reports.filter { $0.kind == .cancelled }.map(\.reason) == [.requested, .requested])
        #expect(
            outputs.updates.filter { $0.report.kind == .cancelled }.map {
                "\($0.order.id.rawValue) \($0.report.reason)"
            }
                == ["\(own(2).rawValue) kill-switch", "\(own(4).rawValue) kill-switch"])
        let snapshot = logic.tradingSnapshot(definitions: configuration.resolvedInstruments)
        #expect(snapshot.killSwitch.isTripped && snapshot.risk.first?.dayLossLimit == "0.0005")
    }

    @Test func aReplayAndARestoredSnapshotReachTheSameState() throws {
        let configuration = Self.configuration()
        func run(_ events: ArraySlice<Event>, into logic: inout EngineLogic<DipBuyer>, _ outputs: inout HashingOutputs)
        {
            for (index, event) in zip(events.indices, events) {
                logic.handle(event, sequence: Int64(index), outputs: &outputs)
            }
        }
        var first = try EngineLogic(configuration: configuration, custom: DipBuyer.self)
        var firstOutputs = HashingOutputs()
        run(Self.events[...], into: &first, &firstOutputs)
        var second = try EngineLogic(configuration: configuration, custom: DipBuyer.self)
        var secondOutputs = HashingOutputs()
        run(Self.events[...], into: &second, &secondOutputs)
        #expect(first.stateHash() == second.stateHash() && firstOutputs.hasher.value == secondOutputs.hasher.value)
        // Snapshot after the trip (and the refused order), restore, go on.
        var third = try EngineLogic(configuration: configuration, custom: DipBuyer.self)
        var thirdOutputs = HashingOutputs()
        run(Self.events[0..<3], into: &third, &thirdOutputs)
        var encoder = SnapshotEncoder()
        third.encodeState(outputHash: thirdOutputs.hasher.value, into: &encoder)
        var restored = try EngineLogic(configuration: configuration, custom: DipBuyer.self)
        var decoder = SnapshotDecoder(encoder.bytes)
        var restoredOutputs = HashingOutputs(hasher: try restored.restoreState(from: &decoder))
        #expect(restored.withTrading { $0.killSwitch.isTripped })
        run(Self.events[3...], into: &restored, &restoredOutputs)
        #expect(restored.stateHash() == first.stateHash())
        #expect(restoredOutputs.hasher.value == firstOutputs.hasher.value)
    }
}
