import PeregrineBook
import PeregrineCore
import PeregrineEngine
import PeregrineMempool
import PeregrineModel
import PeregrineStrategy
import Testing

/// A strategy from outside the package, as a test double: on every trade of one of its
/// instruments whose aggressor is its `side` (0 buy, 1 sell), `per-trade` orders at the trade's
/// price and size, on that side. Two of them (one per side, each with its own account) echo
/// both sides without meeting self-trade prevention.
struct EchoStrategy: Strategy, Sendable {
    static let name = "echo"
    let perTrade: Int
    let side: Side

    init(_ configuration: StrategyConfiguration) throws(StrategyConfigurationError) {
        perTrade = Int(try configuration.parameters.integer("per-trade", default: 1, in: 1...1_000))
        side = try configuration.parameters.integer("side", default: 0, in: 0...1) == 0 ? .buy : .sell
    }

    mutating func onTrade(_ trade: Trade, instrument: InstrumentID, _ context: inout StrategyContext) {
        guard trade.aggressor == side else { return }
        for _ in 0..<perTrade {
            _ = context.submitLimit(instrument, side, price: trade.price, quantity: trade.quantity)
        }
    }

    /// Echo strategies for both sides on `instruments`.
    static func specs(perTrade: Int = 1, instruments: [UInt32]) -> [StrategySpec] {
        [0, 1].map { side in
            StrategySpec(
                name: name, instruments: instruments.map { InstrumentID($0) },
                parameters: [("per-trade", "\(perTrade)"), ("side", "\(side)")])
        }
    }
}

/// Every output, in order.
struct RecordingOutputs: OutputSink {
    var outcomes: [Outcome] = []
    var orders: [VenueOrder] = []
    var reports: [ExecutionReport] = []
    var legs: [BundleLeg] = []
    var seals: [BundleSeal] = []
    var reportCount: Int { reports.count }
    mutating func bundleLeg(_ leg: borrowing BundleLeg) { legs.append(copy leg) }
    mutating func bundleSealed(_ seal: BundleSeal) { seals.append(seal) }
    mutating func outcome(_ outcome: Outcome) { outcomes.append(outcome) }
    mutating func order(_ order: VenueOrder) { orders.append(order) }
    mutating func accept(_ report: ExecutionReport) { reports.append(report) }
    /// The strategies' order updates, as the export takes them.
    var updates: [OrderUpdate] = []
    mutating func orderUpdate(sequence: Int64, time: UInt64, _ update: OrderUpdate) { updates.append(update) }
}

/// A strategy's orders go where their instrument trades: matched by the hosted venue there and
/// then, or sent out as venue orders for any other instrument.
@Suite("Strategy orders")
struct StrategyOrderTests {
    static func configuration(perTrade: Int = 1) -> EngineConfiguration {
        var configuration = EngineConfiguration()
        configuration.instruments = 2
        configuration.orderFlowPercent = 10  // the venue hosts instruments 2 and 3
        configuration.venueOrderCapacity = 64
        configuration.strategies = EchoStrategy.specs(perTrade: perTrade, instruments: [0, 1, 2, 3])
        return configuration
    }

    static func trade(_ instrument: UInt32, _ side: Side, at price: Int64, lots: Int64, time: UInt64) -> Event {
        Event(
            timestamp: time, instrument: InstrumentID(instrument),
            payload: .trade(
                Trade(price: Price(ticks: price), quantity: Quantity(lots: lots), aggressor: side, tradeID: time)))
    }

    @Test func ordersForAHostedInstrumentAreMatchedAndOthersGoOut() throws {
        #expect(Self.configuration().hostedInstruments == 2..<4)
        var logic = try EngineLogic(configuration: Self.configuration(), custom: EchoStrategy.self)
        var outputs = RecordingOutputs()
        logic.handle(Self.trade(0, .buy, at: 1_000, lots: 5, time: 10), sequence: 0, outputs: &outputs)
        logic.handle(Self.trade(2, .buy, at: 2_000, lots: 3, time: 20), sequence: 1, outputs: &outputs)
        logic.handle(Self.trade(2, .sell, at: 2_000, lots: 2, time: 30), sequence: 2, outputs: &outputs)

        // Instrument 0 is traded elsewhere: its order leaves, stamped with the deciding event,
        // numbered by strategy 1 (2^62 | 1 << 40 | 1) for its account (1000 + id).
        let buyer = StrategyID(1)
        let seller = StrategyID(2)
        #expect(
            outputs.orders == [
                VenueOrder(
                    command: .limit(
                        .strategyOrder(buyer, sequence: 1), account: AccountID(1_001), .buy,
                        price: Price(ticks: 1_000), quantity: Quantity(lots: 5)),
                    instrument: InstrumentID(0), sequence: 0, decidedAt: 10)
            ])
        // Instrument 2 is hosted: the buy rests (its book shows it), the sell takes 2 of its 3 lots.
        #expect(outputs.reports.map(\.kind) == [.accepted, .accepted, .filled, .partiallyFilled])
        // The taker's fill, then the maker's.
        #expect(
            outputs.reports.map(\.orderID) == [
                .strategyOrder(buyer, sequence: 2), .strategyOrder(seller, sequence: 1),
                .strategyOrder(seller, sequence: 1), .strategyOrder(buyer, sequence: 2),
            ])
        #expect(outputs.reports.allSatisfy { $0.instrument == InstrumentID(2) })
        #expect(outputs.outcomes.map(\.ordersSubmitted) == [1, 1, 1])
        #expect(outputs.outcomes.map(\.reportsEmitted) == [0, 1, 3])
        #expect(outputs.outcomes[1].bestBidTicks == 2_000 && outputs.outcomes[2].bestBidTicks == 2_000)
        #expect(
            logic.withBooks { $0.depth(InstrumentID(2), .buy, levels: 5) } == [
                BookLevel(price: Price(ticks: 2_000), quantity: Quantity(lots: 1))
            ])
        #expect(logic.orders == 3 && logic.venueOrders == 1 && logic.refusedOrders == 0)
        #expect(logic.venueCounters.trades == 1)
        // Each strategy's position and orders follow its fills: the seller is short 2 lots at
        // 2,000 and has nothing open; the buyer is long 2 with 1 lot still resting on instrument 2
        // (and its order for instrument 0 pending: no venue has answered it).
        logic.withTrading { trading in
            #expect(trading.position(slot: 1, instrument: InstrumentID(2))?.net == -2)
            #expect(trading.position(slot: 0, instrument: InstrumentID(2))?.net == 2)
            #expect(trading.position(slot: 0, instrument: InstrumentID(2))?.averageEntry == Price(ticks: 2_000))
            #expect(trading.openOrderCount(slot: 1) == 0)
            var open: [OwnOrder] = []
            trading.forEachOpenOrder(slot: 0) { order in
                open.append(order)
                return true
            }
            #expect(open.map(\.state) == [.pendingNew, .partiallyFilled])
            #expect(open.map(\.leaves.lots) == [5, 1])
            #expect(trading.counters.filled == 1 && trading.counters.fills == 2)
        }
    }

    @Test func ordersBeyondTheLimitOfOneEventAreRefusedAndCounted() throws {
        var logic = try EngineLogic(configuration: Self.configuration(perTrade: 70), custom: EchoStrategy.self)
        var outputs = RecordingOutputs()
        logic.handle(Self.trade(1, .sell, at: 500, lots: 1, time: 1), sequence: 0, outputs: &outputs)
        #expect(TradingState.maxCommandsPerEvent == 64)
        #expect(logic.orders == 64 && logic.refusedOrders == 6 && logic.venueOrders == 64)
        #expect(
            logic.tradingCounters.refused[Int(OrderRefusal.eventLimit.rawValue)] == 6
                && logic.tradingCounters.totalRefused == 6)
        #expect(
            outputs.orders.map(\.command.orderID)
                == (1...64).map { .strategyOrder(StrategyID(2), sequence: UInt64($0)) })
        #expect(outputs.outcomes.first?.ordersSubmitted == 64)
        // The next event brings a new allowance.
        logic.handle(Self.trade(1, .sell, at: 500, lots: 1, time: 2), sequence: 1, outputs: &outputs)
        #expect(logic.orders == 128 && logic.refusedOrders == 12)
    }

    /// The whole logic state, venue and strategy included, survives a snapshot: the copy goes
    /// on exactly as the original. A state of another version is refused, naming both.
    @Test func theLogicStateRoundTripsThroughASnapshot() throws {
        var logic = try EngineLogic(configuration: Self.configuration(), custom: EchoStrategy.self)
        var market = SyntheticMarket(instruments: 2, seed: 5, orderFlowPercent: 10)
        var outputs = RecordingOutputs()
        for sequence in 0..<5_000 {
            logic.handle(market.next(timestamp: UInt64(sequence) * 100), sequence: Int64(sequence), outputs: &outputs)
        }
        #expect(logic.venueCounters.trades > 0 && logic.venueOrders > 0)
        var encoder = SnapshotEncoder()
        logic.encodeState(outputHash: 77, into: &encoder)
        var copy = try EngineLogic(configuration: Self.configuration(), custom: EchoStrategy.self)
        var decoder = SnapshotDecoder(encoder.bytes)
        let hasher = try copy.restoreState(from: &decoder)
        #expect(hasher.value == 77 && copy.stateHash() == logic.stateHash())
        var original = RecordingOutputs()
        var restored = RecordingOutputs()
        for sequence in 5_000..<6_000 {
            let event = market.next(timestamp: UInt64(sequence) * 100)
            logic.handle(event, sequence: Int64(sequence), outputs: &original)
            copy.handle(event, sequence: Int64(sequence), outputs: &restored)
        }
        #expect(original.reports.count > 50)
        #expect(original.orders == restored.orders && original.reports == restored.reports)
        #expect(original.outcomes == restored.outcomes && copy.stateHash() == logic.stateHash())

        var older = encoder.bytes
        older[4] = 3  // the version, after the 4-byte magic
        var olderDecoder = SnapshotDecoder(older)
        var fresh = try EngineLogic(configuration: Self.configuration(), custom: EchoStrategy.self)
        #expect(
            throws: SnapshotError.otherFormat(
                "an engine-logic snapshot of version 3; this build reads version 9 (an older build wrote it: use "
                    + "that build, or start a new journal)")
        ) { _ = try fresh.restoreState(from: &olderDecoder) }
    }
}
