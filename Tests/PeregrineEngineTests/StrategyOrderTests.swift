import PeregrineBook
import PeregrineCore
import PeregrineEngine
import PeregrineMempool
import PeregrineModel
import PeregrineStrategy
import Testing

/// On every trade, `perTrade` orders at the trade's price and size on the aggressor's side,
/// for the trade's instrument: buys for account 500, sells for account 501 (one account on both
/// sides would meet self-trade prevention).
struct EchoStrategy: Strategy {
    var perTrade = 1
    var nextOrderID: UInt64 = 1

    mutating func onEvent<Orders: OrderSink & ~Copyable>(
        _ event: Event, books: borrowing InstrumentBooks, orders: inout Orders
    ) {
        guard case .trade(let trade) = event.payload else { return }
        for _ in 0..<perTrade {
            let command = OrderCommand.limit(
                OrderID(nextOrderID), account: AccountID(trade.aggressor == .buy ? 500 : 501), trade.aggressor,
                price: trade.price,
                quantity: trade.quantity)
            if orders.submit(command, instrument: event.instrument) { nextOrderID += 1 }
        }
    }

    func combineState(into hasher: inout StateHasher) { hasher.combine(nextOrderID) }
    func encodeState(into encoder: inout SnapshotEncoder) { encoder.write(nextOrderID) }
    mutating func restoreState(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        nextOrderID = try decoder.read(UInt64.self, "next order id")
    }
    var parameters: String { "echo per-trade=\(perTrade)" }
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
}

/// A strategy's orders go where their instrument trades: matched by the hosted venue there and
/// then, or sent out as venue orders for any other instrument.
@Suite("Strategy orders")
struct StrategyOrderTests {
    static func configuration() -> EngineConfiguration {
        var configuration = EngineConfiguration()
        configuration.instruments = 2
        configuration.orderFlowPercent = 10  // the venue hosts instruments 2 and 3
        configuration.venueOrderCapacity = 64
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
        var logic = try EngineLogic(configuration: Self.configuration(), strategy: EchoStrategy())
        var outputs = RecordingOutputs()
        logic.handle(Self.trade(0, .buy, at: 1_000, lots: 5, time: 10), sequence: 0, outputs: &outputs)
        logic.handle(Self.trade(2, .buy, at: 2_000, lots: 3, time: 20), sequence: 1, outputs: &outputs)
        logic.handle(Self.trade(2, .sell, at: 2_000, lots: 2, time: 30), sequence: 2, outputs: &outputs)

        // Instrument 0 is traded elsewhere: its order leaves, stamped with the deciding event.
        #expect(
            outputs.orders == [
                VenueOrder(
                    command: .limit(
                        OrderID(1), account: AccountID(500), .buy, price: Price(ticks: 1_000),
                        quantity: Quantity(lots: 5)),
                    instrument: InstrumentID(0), sequence: 0, decidedAt: 10)
            ])
        // Instrument 2 is hosted: the buy rests (its book shows it), the sell takes 2 of its 3 lots.
        #expect(outputs.reports.map(\.kind) == [.accepted, .accepted, .filled, .partiallyFilled])
        #expect(outputs.reports.map(\.orderID.rawValue) == [2, 3, 3, 2])  // the taker's fill, then the maker's
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
    }

    @Test func ordersBeyondTheLimitOfOneEventAreRefusedAndCounted() throws {
        var logic = try EngineLogic(configuration: Self.configuration(), strategy: EchoStrategy(perTrade: 20))
        var outputs = RecordingOutputs()
        logic.handle(Self.trade(1, .sell, at: 500, lots: 1, time: 1), sequence: 0, outputs: &outputs)
        #expect(EchoStrategy.maxOrdersPerEvent == 16)
        #expect(logic.orders == 16 && logic.refusedOrders == 4 && logic.venueOrders == 16)
        #expect(outputs.orders.map(\.command.orderID.rawValue) == Array(1...16))
        #expect(outputs.outcomes.first?.ordersSubmitted == 16)
    }

    /// The whole logic state, venue and strategy included, survives a snapshot: the copy goes
    /// on exactly as the original. A state of another version is refused, naming both.
    @Test func theLogicStateRoundTripsThroughASnapshot() throws {
        var logic = try EngineLogic(configuration: Self.configuration(), strategy: EchoStrategy())
        var market = SyntheticMarket(instruments: 2, seed: 5, orderFlowPercent: 10)
        var outputs = RecordingOutputs()
        for sequence in 0..<5_000 {
            logic.handle(market.next(timestamp: UInt64(sequence) * 100), sequence: Int64(sequence), outputs: &outputs)
        }
        #expect(logic.venueCounters.trades > 0 && logic.venueOrders > 0)
        var encoder = SnapshotEncoder()
        logic.encodeState(outputHash: 77, into: &encoder)
        var copy = try EngineLogic(configuration: Self.configuration(), strategy: EchoStrategy())
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
        var fresh = try EngineLogic(configuration: Self.configuration(), strategy: EchoStrategy())
        #expect(
            throws: SnapshotError.mismatch(
                "an engine-logic snapshot of version 3; this build reads version 5 (an older build wrote it: use "
                    + "that build, or start a new journal)")
        ) { _ = try fresh.restoreState(from: &olderDecoder) }
    }
}
