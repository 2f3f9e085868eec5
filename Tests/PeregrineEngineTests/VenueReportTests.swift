import PeregrineBook
import PeregrineCore
import PeregrineEngine
import PeregrineModel
import PeregrineStrategy
import Testing

/// Orders for an outside venue leave as venue orders; the venue's execution reports come back
/// as journaled records and drive the strategy's orders, fills and position; an order the venue
/// does not answer in time is cancelled and reported.
@Suite("Outside venues' reports")
struct VenueReportTests {
    /// The dip buyer on market-data instrument 0 (traded by an outside venue), a 1 ms answer
    /// timeout.
    static func configuration() -> EngineConfiguration {
        var configuration = EngineConfiguration()
        configuration.instruments = 1
        configuration.ackTimeoutMilliseconds = 1
        configuration.strategies = [StrategySpec(name: "dip-buyer", instruments: [InstrumentID(0)])]
        return configuration
    }

    static func level(_ side: Side, _ price: Int64, _ lots: Int64, _ time: UInt64) -> Event {
        Event(
            timestamp: time, instrument: InstrumentID(0),
            payload: .levelUpdate(LevelUpdate(side: side, price: Price(ticks: price), quantity: Quantity(lots: lots))))
    }

    static func report(
        _ kind: ExecutionKind, _ order: OrderID, _ side: Side, price: Int64, lots: Int64, leaves: Int64,
        reason: ExecutionReason = .none, trade: UInt64 = 0
    ) -> ExecutionReport {
        ExecutionReport(
            kind: kind, reason: reason, instrument: InstrumentID(0), orderID: order, account: AccountID(1001),
            side: side, price: Price(ticks: price), quantity: Quantity(lots: lots),
            leavesQuantity: Quantity(lots: leaves),
            tradeID: trade, isAggressor: true)
    }

    /// Feeds `events` from `sequence` on.
    static func feed(
        _ events: [Event], _ logic: inout EngineLogic<DipBuyer>, _ outputs: inout RecordingOutputs,
        _ sequence: inout Int64
    ) {
        for event in events {
            logic.handle(event, sequence: sequence, outputs: &outputs)
            sequence += 1
        }
    }

    static func records(_ report: ExecutionReport, _ time: UInt64) -> [Event] {
        var events: [Event] = []
        report.forEachRecordEvent(timestamp: time) { events.append($0) }
        return events
    }

    @Test func reportsDriveOrdersAndAnUnansweredOrderIsCancelled() throws {
        var logic = try EngineLogic(configuration: Self.configuration(), custom: DipBuyer.self)
        var outputs = RecordingOutputs()
        var sequence: Int64 = 0
        let buy = OrderID.strategyOrder(StrategyID(1), sequence: 1)
        // An ask: the buyer sends a market buy of 10 out to the venue.
        Self.feed([Self.level(.sell, 1_000, 20, 1_000)], &logic, &outputs, &sequence)
        #expect(outputs.orders.map(\.command.orderID) == [buy] && outputs.orders.first?.command.type == .market)
        // The venue accepts it and fills 4, then 6.
        Self.feed(
            Self.records(Self.report(.accepted, buy, .buy, price: 0, lots: 10, leaves: 10), 2_000)
                + Self.records(
                    Self.report(.partiallyFilled, buy, .buy, price: 1_000, lots: 4, leaves: 6, trade: 7), 3_000)
                + Self.records(Self.report(.filled, buy, .buy, price: 1_001, lots: 6, leaves: 0, trade: 8), 4_000),
            &logic, &outputs, &sequence)
        #expect(logic.venueReports == 3 && logic.malformedVenueReports == 0)
        logic.withTrading { trading in
            let position = trading.position(slot: 0, instrument: InstrumentID(0)) ?? Position()
            #expect(position.net == 10 && position.openCost == 4 * 1_000 + 6 * 1_001 && position.fills == 2)
            #expect(trading.counters.filled == 1 && trading.openOrders == 0)
        }
        // A duplicate fill is ignored; a report for an order not held is counted.
        Self.feed(
            Self.records(Self.report(.filled, buy, .buy, price: 1_001, lots: 6, leaves: 0, trade: 8), 5_000),
            &logic, &outputs, &sequence)
        #expect(logic.withTrading { $0.counters.unknownReports } == 1)
        // A bid: the buyer places a limit bid; the venue never answers it.
        Self.feed([Self.level(.buy, 990, 5, 6_000)], &logic, &outputs, &sequence)
        let bid = OrderID.strategyOrder(StrategyID(1), sequence: 2)
        #expect(outputs.orders.last?.command.orderID == bid && outputs.orders.last?.command.action == .new)
        // A report naming another instrument than its order's is refused.
        var elsewhere = Self.report(.accepted, bid, .buy, price: 990, lots: 1, leaves: 1)
        elsewhere.instrument = InstrumentID(5)
        Self.feed(Self.records(elsewhere, 6_500), &logic, &outputs, &sequence)
        #expect(logic.malformedVenueReports == 1 && logic.venueReports == 4)
        #expect(logic.withTrading { $0.openOrder(bid)?.state } == .pendingNew)
        // At its deadline (1 ms of event time) an answer is still in time; just after it, the
        // order is cancelled and the buyer hears `no-answer`.
        Self.feed([Self.level(.buy, 989, 5, 6_000 + 1_000_000)], &logic, &outputs, &sequence)
        #expect(outputs.orders.last?.command.action == .new)
        Self.feed([Self.level(.buy, 988, 5, 6_000 + 1_000_001)], &logic, &outputs, &sequence)
        #expect(outputs.orders.last?.command.orderID == bid && outputs.orders.last?.command.action == .cancel)
        #expect(logic.withTrading { $0.counters.ackTimeouts } == 1)
        #expect(logic.withTrading { $0.openOrder(bid)?.state } == .pendingCancel)
        // The venue never had it: the cancel is refused, and the order ends rejected.
        Self.feed(
            Self.records(
                Self.report(.rejected, bid, .buy, price: 990, lots: 1, leaves: 0, reason: .unknownOrderID), 7_000_000),
            &logic, &outputs, &sequence)
        #expect(logic.withTrading { $0.openOrder(bid) } == nil)
        #expect(logic.withTrading { $0.counters.rejected } == 1)
    }

    @Test func aRecordCutShortOrCorruptIsCountedAndASnapshotMidRecordRestores() throws {
        let configuration = Self.configuration()
        var logic = try EngineLogic(configuration: configuration, custom: DipBuyer.self)
        var outputs = RecordingOutputs()
        var sequence: Int64 = 0
        let buy = OrderID.strategyOrder(StrategyID(1), sequence: 1)
        Self.feed([Self.level(.sell, 1_000, 20, 1_000)], &logic, &outputs, &sequence)
        let accepted = Self.records(Self.report(.accepted, buy, .buy, price: 0, lots: 10, leaves: 10), 2_000)
        // Cut short by another event: dropped and counted.
        Self.feed([accepted[0], Self.level(.sell, 1_001, 1, 2_100)], &logic, &outputs, &sequence)
        #expect(logic.malformedVenueReports == 1 && logic.venueReports == 0)
        // A corrupt end (wrong checksum): counted.
        var corrupt = accepted
        if case .recordEnd(var end) = corrupt[2].payload {
            end.checksum ^= 1
            corrupt[2].payload = .recordEnd(end)
        }
        Self.feed(corrupt, &logic, &outputs, &sequence)
        #expect(logic.malformedVenueReports == 2 && logic.venueReports == 0)
        // A snapshot between the chunks, restored, then the rest of the record.
        Self.feed([accepted[0]], &logic, &outputs, &sequence)
        var encoder = SnapshotEncoder()
        logic.encodeState(outputHash: 0, into: &encoder)
        var restored = try EngineLogic(configuration: configuration, custom: DipBuyer.self)
        var decoder = SnapshotDecoder(encoder.bytes)
        _ = try restored.restoreState(from: &decoder)
        #expect(restored.stateHash() == logic.stateHash())
        var restoredSequence = sequence
        var restoredOutputs = RecordingOutputs()
        Self.feed(Array(accepted[1...]), &logic, &outputs, &sequence)
        Self.feed(Array(accepted[1...]), &restored, &restoredOutputs, &restoredSequence)
        #expect(logic.venueReports == 1 && restored.venueReports == 1)
        #expect(restored.stateHash() == logic.stateHash())
        #expect(restored.withTrading { $0.openOrder(buy)?.state } == .accepted)
    }

    @Test func theWireFormIsSixtyFourBytesAtDocumentedOffsets() throws {
        let report = ExecutionReport(
            kind: .partiallyFilled, reason: .none, instrument: InstrumentID(7), orderID: OrderID(0x0102),
            account: AccountID(9), side: .sell, price: Price(ticks: 1_234), quantity: Quantity(lots: 5),
            leavesQuantity: Quantity(lots: 3), tradeID: 42, contraOrderID: OrderID(77), contraAccount: AccountID(8),
            isAggressor: true)
        var bytes = [UInt8](repeating: 0xEE, count: 64)
        try bytes.withUnsafeMutableBytes { try report.encode(into: $0) }
        #expect(Array(bytes[0..<8]) == [3, 1, 0, 0x81, 7, 0, 0, 0])
        #expect(Array(bytes[8..<10]) == [2, 1] && Array(bytes[24..<26]) == [0xD2, 0x04] && bytes[48] == 42)
        #expect(Array(bytes[56..<64]) == [9, 0, 0, 0, 8, 0, 0, 0])
        #expect(try bytes.withUnsafeBytes { try ExecutionReport(decoding: $0) } == report)
        bytes[1] = 2
        #expect(throws: ModelError.unsupportedVersion(type: "ExecutionReport", found: 2, readable: 1...1)) {
            try bytes.withUnsafeBytes { try ExecutionReport(decoding: $0) }
        }
        bytes[1] = 1
        bytes[0] = 9
        #expect(throws: ModelError.invalidField(type: "ExecutionReport", field: "kind", value: 9)) {
            try bytes.withUnsafeBytes { try ExecutionReport(decoding: $0) }
        }
    }
}
