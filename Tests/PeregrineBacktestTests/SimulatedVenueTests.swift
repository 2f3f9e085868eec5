import PeregrineBook
import PeregrineCore
import PeregrineModel
import Testing

@testable import PeregrineBacktest

/// The simulated venue on scripted books: queue position under each model, fills by what
/// trades beyond the queue, trade-throughs, consumed liquidity.
@Suite struct SimulatedVenueTests {
    static let instrument = InstrumentID(0)
    static let account = AccountID(7)

    static func level(_ side: Side, _ price: Int64, _ lots: Int64, _ instrument: InstrumentID = instrument) -> Event {
        Event(
            timestamp: 0, instrument: instrument,
            payload: .levelUpdate(LevelUpdate(side: side, price: Price(ticks: price), quantity: Quantity(lots: lots))))
    }

    static func trade(_ price: Int64, _ lots: Int64, aggressor: Side) -> Event {
        Event(
            timestamp: 0, instrument: instrument,
            payload: .trade(
                Trade(price: Price(ticks: price), quantity: Quantity(lots: lots), aggressor: aggressor, tradeID: 1)))
    }

    static func buy(_ id: UInt64, _ price: Int64, _ lots: Int64) -> OrderCommand {
        .limit(
            OrderID(id), account: account, .buy, price: Price(ticks: price), quantity: Quantity(lots: lots),
            timeInForce: .goodTillCancel)
    }

    static func sell(
        _ id: UInt64, _ price: Int64, _ lots: Int64, timeInForce: TimeInForce = .goodTillCancel
    ) -> OrderCommand {
        .limit(
            OrderID(id), account: account, .sell, price: Price(ticks: price), quantity: Quantity(lots: lots),
            timeInForce: timeInForce)
    }

    /// A venue with bids 100 × `ahead` and asks 101 × 50, and a resting buy of `lots` at 100.
    static func venue(model: QueueModel, ahead: Int64, lots: Int64 = 2, reports: inout ExecutionReportCollector)
        throws -> SimulatedVenue
    {
        var venue = try SimulatedVenue(instruments: 1, queueModel: model)
        venue.apply(level(.buy, 100, ahead), time: 1, sink: &reports)
        venue.apply(level(.sell, 101, 50), time: 1, sink: &reports)
        venue.process(buy(1, 100, lots), instrument: instrument, time: 2, sink: &reports)
        #expect(reports.reports.map(\.kind) == [.accepted])
        #expect(venue.queueAhead(of: OrderID(1)) == Double(ahead))
        return venue
    }

    static func fills(_ reports: ExecutionReportCollector) -> [Int64] {
        reports.reports.filter(\.isFill).map(\.quantity.lots)
    }

    /// A recorded trade takes what it traded from the book it met, until the instrument's next
    /// book change shows it: an order entering before that (one sent on the trade, without
    /// latency) cannot take it again. A follower's order had filled from the lots a trade had
    /// just taken (helper-157). What the orders took stays taken until its level changes.
    @Test func whatARecordedTradeTookIsNotTakenAgainBeforeTheBookShowsIt() throws {
        var reports = ExecutionReportCollector()
        var venue = try SimulatedVenue(instruments: 1, queueModel: .riskAverse)
        for (price, lots) in [(Int64(101), Int64(5)), (102, 5), (103, 5)] {
            venue.apply(Self.level(.sell, price, lots), time: 1, sink: &reports)
        }
        venue.apply(Self.level(.buy, 100, 5), time: 1, sink: &reports)
        // A buy of 2 at 102 took 2 there, and went through 101 (all 5: a buy at 102 means no ask
        // was left below it, whatever prints took it).
        venue.apply(Self.trade(102, 2, aggressor: .buy), time: 2, sink: &reports)
        let take: OrderCommand = .limit(
            OrderID(1), account: Self.account, .buy, price: Price(ticks: 103), quantity: Quantity(lots: 10),
            timeInForce: .immediateOrCancel)
        venue.process(take, instrument: Self.instrument, time: 2, sink: &reports)
        #expect(
            reports.reports.filter(\.isFill).map { "\($0.quantity.lots)@\($0.price.ticks)" } == ["3@102", "5@103"])
        // The next book change (any level): the trade's take is forgotten, the order's is not.
        reports = ExecutionReportCollector()
        venue.apply(Self.level(.buy, 99, 1), time: 3, sink: &reports)
        venue.process(
            .limit(
                OrderID(2), account: Self.account, .buy, price: Price(ticks: 103), quantity: Quantity(lots: 10),
                timeInForce: .immediateOrCancel), instrument: Self.instrument, time: 3, sink: &reports)
        #expect(
            reports.reports.filter(\.isFill).map { "\($0.quantity.lots)@\($0.price.ticks)" } == ["5@101", "2@102"])
        // A sell above the best bid (away from the book shown) takes nothing from it.
        reports = ExecutionReportCollector()
        venue.apply(Self.trade(105, 3, aggressor: .sell), time: 4, sink: &reports)
        venue.process(
            .limit(
                OrderID(3), account: Self.account, .sell, price: Price(ticks: 99), quantity: Quantity(lots: 10),
                timeInForce: .immediateOrCancel), instrument: Self.instrument, time: 4, sink: &reports)
        #expect(reports.reports.filter(\.isFill).map { "\($0.quantity.lots)@\($0.price.ticks)" } == ["5@100", "1@99"])
    }

    @Test func anOrderBehindFiveLotsFillsOnlyAfterFiveLotsTrade() throws {
        var reports = ExecutionReportCollector()
        var venue = try Self.venue(model: .riskAverse, ahead: 5, reports: &reports)
        venue.apply(Self.trade(100, 3, aggressor: .sell), time: 3, sink: &reports)
        #expect(Self.fills(reports) == [])
        #expect(venue.queueAhead(of: OrderID(1)) == 2)
        // A buy-initiated trade at the bid's price did not hit the bids.
        venue.apply(Self.trade(100, 4, aggressor: .buy), time: 3, sink: &reports)
        #expect(venue.queueAhead(of: OrderID(1)) == 2)
        venue.apply(Self.trade(100, 2, aggressor: .sell), time: 4, sink: &reports)
        #expect(Self.fills(reports) == [])
        #expect(venue.queueAhead(of: OrderID(1)) == 0)
        venue.apply(Self.trade(100, 1, aggressor: .sell), time: 5, sink: &reports)
        #expect(Self.fills(reports) == [1])
        venue.apply(Self.trade(100, 3, aggressor: .sell), time: 6, sink: &reports)
        #expect(Self.fills(reports) == [1, 1])
        #expect(reports.reports.last?.kind == .filled)
        #expect(reports.reports.last?.isAggressor == false)
        #expect(reports.reports.last?.price == Price(ticks: 100))
        #expect(venue.queueAhead(of: OrderID(1)) == nil)
        // Time in the queue (the report's mean_time_in_queue_ms): each part of the fill from
        // when the order joined, at 2: 3 + 4 ns over 2 passive fills.
        #expect(venue.counters.passiveFills == 2)
        #expect(venue.counters.queueTimeTotal == 7)
    }

    /// What each command offers the venue (the fill ratio's denominator): a new order its
    /// quantity, an accepted replace only what it adds to its order's total, so an order
    /// replaced back up to its size after a fill never fills more than was offered for it.
    @Test func aCommandOffersTheVenueOnlyWhatItAdds() throws {
        var reports = ExecutionReportCollector()
        var venue = try SimulatedVenue(instruments: 1, queueModel: .riskAverse)
        venue.apply(Self.level(.buy, 100, 0), time: 1, sink: &reports)
        venue.apply(Self.level(.sell, 101, 50), time: 1, sink: &reports)
        var offered: [Int64] = []
        func send(_ command: OrderCommand) {
            offered.append(venue.process(command, instrument: Self.instrument, time: 2, sink: &reports))
        }
        send(Self.buy(1, 100, 10))
        venue.apply(Self.trade(100, 4, aggressor: .sell), time: 3, sink: &reports)
        #expect(Self.fills(reports) == [4])
        // Filled 4 of 10: a replace to 4 + 10 at another price adds 4 to the order's total.
        send(.replace(OrderID(1), account: Self.account, price: Price(ticks: 99), quantity: Quantity(lots: 14)))
        // Down to 12 at the same price keeps its place and adds nothing.
        send(.replace(OrderID(1), account: Self.account, price: Price(ticks: 99), quantity: Quantity(lots: 12)))
        // Up to 20 at the same price: back of the queue, 8 more offered.
        send(.replace(OrderID(1), account: Self.account, price: Price(ticks: 99), quantity: Quantity(lots: 20)))
        // Refused (unknown order), a cancel, and a new order the venue rejects (post-only that
        // would take) each offer what they say: nothing, nothing, its quantity.
        send(.replace(OrderID(9), account: Self.account, price: Price(ticks: 99), quantity: Quantity(lots: 50)))
        send(.cancel(OrderID(1), account: Self.account))
        send(
            .limit(
                OrderID(2), account: Self.account, .buy, price: Price(ticks: 101), quantity: Quantity(lots: 3),
                timeInForce: .postOnly))
        #expect(offered == [10, 4, 0, 8, 0, 0, 3])
        #expect(reports.reports.filter { $0.kind == .replaced }.map(\.quantity.lots) == [14, 12, 20])
        #expect(reports.reports.filter { $0.kind == .rejected }.map(\.reason) == [.unknownOrderID, .postOnlyWouldTake])
    }

    @Test func sizeDecreasesDoNotAdvanceItUnderRiskAverse() throws {
        var reports = ExecutionReportCollector()
        var venue = try Self.venue(model: .riskAverse, ahead: 5, reports: &reports)
        // 5 more lots join behind it, then 3 leave: under risk-averse they left from behind.
        venue.apply(Self.level(.buy, 100, 10), time: 3, sink: &reports)
        venue.apply(Self.level(.buy, 100, 7), time: 4, sink: &reports)
        #expect(venue.queueAhead(of: OrderID(1)) == 5)
        venue.apply(Self.trade(100, 4, aggressor: .sell), time: 5, sink: &reports)
        #expect(Self.fills(reports) == [])
        venue.apply(Self.trade(100, 2, aggressor: .sell), time: 6, sink: &reports)
        #expect(Self.fills(reports) == [1])
        // The displayed size falling below what is ahead caps it.
        var cappedReports = ExecutionReportCollector()
        var capped = try Self.venue(model: .riskAverse, ahead: 5, reports: &cappedReports)
        capped.apply(Self.level(.buy, 100, 3), time: 3, sink: &cappedReports)
        #expect(capped.queueAhead(of: OrderID(1)) == 3)
        // A level emptied and restored (two rows of one message, taken row by row): nothing is
        // left ahead, under every model, and the next trade at the price fills it first.
        for model in [QueueModel.riskAverse, .power(exponent: 2), .log] {
            var restoredReports = ExecutionReportCollector()
            var restored = try Self.venue(model: model, ahead: 5, reports: &restoredReports)
            restored.apply(Self.level(.buy, 100, 0), time: 3, sink: &restoredReports)
            restored.apply(Self.level(.buy, 100, 5), time: 3, sink: &restoredReports)
            #expect(restored.queueAhead(of: OrderID(1)) == 0, "\(model)")
            restored.apply(Self.trade(100, 1, aggressor: .sell), time: 4, sink: &restoredReports)
            #expect(Self.fills(restoredReports) == [1], "\(model)")
        }
    }

    /// front 2, back 8 (10 displayed), then a decrease of 4 to 6.
    static func advanced(_ model: QueueModel) throws -> Double? {
        var reports = ExecutionReportCollector()
        var venue = try Self.venue(model: model, ahead: 2, reports: &reports)
        venue.apply(Self.level(.buy, 100, 10), time: 3, sink: &reports)
        venue.apply(Self.level(.buy, 100, 6), time: 4, sink: &reports)
        return venue.queueAhead(of: OrderID(1))
    }

    @Test func powerAndLogModelsGiveTheirDocumentedAdvance() throws {
        // p = f(back) ÷ (f(back) + f(front)); ahead = front − (1 − p) × decrease + min(back − p × decrease, 0).
        let power = 64.0 / (64.0 + 4.0)
        #expect(try Self.advanced(.power(exponent: 2)) == 2 - (1 - power) * 4)
        // log: ln(1 + 8) ÷ (ln(1 + 8) + ln(1 + 2)) = 2/3 exactly in theory; the same doubles here.
        let log = log1p(8.0) / (log1p(8.0) + log1p(2.0))
        #expect(try Self.advanced(.log) == 2 - (1 - log) * 4)
        #expect(abs((try Self.advanced(.log) ?? 0) - 2.0 / 3.0) < 1e-12)
        #expect(try Self.advanced(.riskAverse) == 2)
        // Written back (the report's settings) as given.
        #expect(QueueModel("power:2")?.description == "power:2")
        #expect(QueueModel("power:2.5")?.description == "power:2.5")
        #expect(QueueModel("power:0") == nil && QueueModel("power:-1") == nil && QueueModel("power:inf") == nil)
        // A plain decimal, as every other number: no sign, exponent or hexadecimal.
        #expect(QueueModel("power:.5")?.description == "power:0.5")
        #expect(QueueModel("power:0.00001")?.description == "power:0.00001")
        #expect(QueueModel("power:0x10") == nil && QueueModel("power:1e1") == nil && QueueModel("power:+2") == nil)
        #expect(QueueModel("power:1.2.3") == nil && QueueModel("power:.") == nil && QueueModel("power:") == nil)
        #expect(QueueModel("log")?.description == "log" && QueueModel("risk-averse")?.description == "risk-averse")
        // A decrease larger than what is behind takes the rest from ahead.
        var reports = ExecutionReportCollector()
        var venue = try Self.venue(model: .power(exponent: 1), ahead: 2, reports: &reports)
        venue.apply(Self.level(.buy, 100, 4), time: 3, sink: &reports)
        venue.apply(Self.level(.buy, 100, 1), time: 4, sink: &reports)
        // front 2, back 2, decrease 3: p = 0.5 → 2 − 1.5 + min(2 − 1.5, 0) = 0.5, capped at 1.
        #expect(venue.queueAhead(of: OrderID(1)) == 0.5)
    }

    /// A decrease larger than the model lets come from behind would put the order "ahead of the
    /// front" (hftbacktest's estimate has no floor): the quantity ahead stops at 0, and a trade
    /// fills the order by no more than it printed. Front 100, back 20, the level falls to 1:
    /// power 2 estimates 100 − (1 − p) × 119 + min(20 − p × 119, 0) = −14.4; front 1, back 29,
    /// the level falls to 2: power 0.5 −3.4, log −3.7. Power 1000 (100^1000 is past the doubles)
    /// takes the decrease from ahead, as the exponent's limit does.
    @Test(arguments: [
        (QueueModel.power(exponent: 2), 100 as Int64, 120 as Int64), (.power(exponent: 1_000), 100, 120),
        (.power(exponent: 0.5), 1, 30), (.log, 1, 30),
    ])
    func nothingLessThanNothingIsAhead(model: QueueModel, ahead: Int64, joined: Int64) throws {
        var reports = ExecutionReportCollector()
        var venue = try Self.venue(model: model, ahead: ahead, lots: 50, reports: &reports)
        venue.apply(Self.level(.buy, 100, joined), time: 3, sink: &reports)
        venue.apply(Self.level(.buy, 100, ahead == 1 ? 2 : 1), time: 4, sink: &reports)
        #expect(venue.queueAhead(of: OrderID(1)) == 0)
        venue.apply(Self.trade(100, 1, aggressor: .sell), time: 5, sink: &reports)
        #expect(Self.fills(reports) == [1])
    }

    @Test func tradesAtThePriceAreNotCountedTwiceByTheProbabilityModels() throws {
        var reports = ExecutionReportCollector()
        var venue = try Self.venue(model: .power(exponent: 2), ahead: 2, reports: &reports)
        venue.apply(Self.level(.buy, 100, 10), time: 3, sink: &reports)
        venue.apply(Self.trade(100, 1, aggressor: .sell), time: 4, sink: &reports)
        #expect(venue.queueAhead(of: OrderID(1)) == 1)
        // The book then shows the traded lot gone: no further advance for it.
        venue.apply(Self.level(.buy, 100, 9), time: 5, sink: &reports)
        #expect(venue.queueAhead(of: OrderID(1)) == 1)
    }

    @Test func aTradeThroughOrTheAskReachingTheOrderFillsEntirely() throws {
        var reports = ExecutionReportCollector()
        var venue = try Self.venue(model: .riskAverse, ahead: 5, lots: 3, reports: &reports)
        // A buy below the resting buy is not the other side trading through it.
        venue.apply(Self.trade(99, 1, aggressor: .buy), time: 3, sink: &reports)
        #expect(Self.fills(reports) == [])
        venue.apply(Self.trade(99, 1, aggressor: .sell), time: 3, sink: &reports)
        #expect(Self.fills(reports) == [3])
        // The ask moving through the buy's price, or reaching it (the bids at 100 were taken,
        // the order with them, as in hftbacktest), fills it whole; removing a level, or an ask
        // above it, does not.
        for (first, second) in [((Int64(100), Int64(0)), (Int64(99), Int64(4))), ((101, 7), (100, 4))] {
            var movedReports = ExecutionReportCollector()
            var moved = try Self.venue(model: .riskAverse, ahead: 5, lots: 3, reports: &movedReports)
            moved.apply(Self.level(.sell, first.0, first.1), time: 3, sink: &movedReports)
            #expect(Self.fills(movedReports) == [], "\(first)")
            moved.apply(Self.level(.sell, second.0, second.1), time: 3, sink: &movedReports)
            #expect(Self.fills(movedReports) == [3], "\(second)")
            #expect(movedReports.reports.last?.price == Price(ticks: 100))
        }
    }

    /// A limit that crossed rests over the level it took: the feed changing that level (it
    /// does not know the order took it) is not the other side's best reaching the order, so it
    /// does not fill the rest; moving through it does. On L2 data and on quotes alike (a
    /// quote restates its levels). A sell that never took is filled by a bid reaching it.
    @Test func anOrderRestingOverWhatItTookIsNotFilledByThatLevel() throws {
        var reports = ExecutionReportCollector()
        var venue = try SimulatedVenue(instruments: 1, queueModel: .riskAverse)
        venue.apply(Self.level(.buy, 99, 5), time: 1, sink: &reports)
        venue.apply(Self.level(.sell, 100, 2), time: 1, sink: &reports)
        venue.process(Self.buy(1, 100, 10), instrument: Self.instrument, time: 2, sink: &reports)
        #expect(reports.reports.filter(\.isFill).map { [$0.price.ticks, $0.quantity.lots] } == [[100, 2]])
        reports.reports.removeAll()
        // The ask at 100 shrinks (its 2 lots were what the order took): no fill of the 8 left.
        venue.apply(Self.level(.sell, 100, 1), time: 3, sink: &reports)
        #expect(Self.fills(reports) == [])
        // An ask at 99 moves through the buy at 100: the rest fills entirely at its price.
        venue.apply(Self.level(.sell, 99, 1), time: 4, sink: &reports)
        #expect(reports.reports.filter(\.isFill).map { [$0.price.ticks, $0.quantity.lots] } == [[100, 8]])
        // A resting sell that took nothing: a bid reaching its price fills it.
        reports.reports.removeAll()
        venue.apply(Self.level(.sell, 99, 0), time: 5, sink: &reports)
        venue.apply(Self.level(.sell, 105, 3), time: 5, sink: &reports)
        venue.process(
            Self.sell(2, 104, 4, timeInForce: .postOnly), instrument: Self.instrument, time: 6, sink: &reports)
        venue.apply(Self.level(.buy, 103, 2), time: 7, sink: &reports)
        #expect(Self.fills(reports) == [])
        venue.apply(Self.level(.buy, 104, 2), time: 8, sink: &reports)
        #expect(reports.reports.filter(\.isFill).map { [$0.price.ticks, $0.quantity.lots] } == [[104, 4]])

        // Quotes: a quote that restates the ask the order took (the bid moved) fills nothing.
        var quoteReports = ExecutionReportCollector()
        var quoted = try SimulatedVenue(instruments: 1, queueModel: .riskAverse, quoteBooks: [Self.instrument])
        func quote(_ bid: Int64, _ ask: Int64) -> Event {
            Event(
                timestamp: 0, instrument: Self.instrument,
                payload: .quote(
                    Quote(
                        bidPrice: Price(ticks: bid), bidQuantity: Quantity(lots: 5), askPrice: Price(ticks: ask),
                        askQuantity: Quantity(lots: 1))))
        }
        quoted.apply(quote(99, 100), time: 1, sink: &quoteReports)
        quoted.process(Self.buy(1, 100, 10), instrument: Self.instrument, time: 2, sink: &quoteReports)
        #expect(Self.fills(quoteReports) == [1])
        quoted.apply(quote(98, 100), time: 3, sink: &quoteReports)
        #expect(Self.fills(quoteReports) == [1])
        quoted.apply(quote(98, 99), time: 4, sink: &quoteReports)
        #expect(Self.fills(quoteReports) == [1, 9])
    }

    @Test func takenLiquidityIsNotFilledTwiceUntilTheLevelChanges() throws {
        var venue = try SimulatedVenue(instruments: 1, queueModel: .riskAverse)
        var reports = ExecutionReportCollector()
        venue.apply(Self.level(.sell, 101, 3), time: 1, sink: &reports)
        venue.apply(Self.level(.sell, 102, 5), time: 1, sink: &reports)
        let market = { (id: UInt64, lots: Int64) in
            OrderCommand.market(OrderID(id), account: Self.account, .buy, quantity: Quantity(lots: lots))
        }
        venue.process(market(1, 4), instrument: Self.instrument, time: 2, sink: &reports)
        #expect(reports.reports.filter(\.isFill).map { [$0.price.ticks, $0.quantity.lots] } == [[101, 3], [102, 1]])
        reports.reports.removeAll()
        venue.process(market(2, 6), instrument: Self.instrument, time: 2, sink: &reports)
        // 101 is used up, 4 left at 102; the rest is cancelled.
        #expect(reports.reports.filter(\.isFill).map { [$0.price.ticks, $0.quantity.lots] } == [[102, 4]])
        #expect(reports.reports.last?.kind == .cancelled)
        #expect(reports.reports.last?.reason == .unfilledRemainder)
        #expect(reports.reports.last?.quantity.lots == 2)
        reports.reports.removeAll()
        // The feed restates 101: it is available again.
        venue.apply(Self.level(.sell, 101, 3), time: 3, sink: &reports)
        venue.process(market(3, 1), instrument: Self.instrument, time: 3, sink: &reports)
        #expect(reports.reports.filter(\.isFill).map { [$0.price.ticks, $0.quantity.lots] } == [[101, 1]])
    }

    @Test func twoOrdersAtOnePriceShareATradeInTheOrderTheyJoined() throws {
        var venue = try SimulatedVenue(instruments: 1, queueModel: .riskAverse)
        var reports = ExecutionReportCollector()
        venue.apply(Self.level(.sell, 101, 3), time: 1, sink: &reports)
        for id in [UInt64(1), 2] {
            venue.process(
                .limit(OrderID(id), account: Self.account, .buy, price: Price(ticks: 100), quantity: Quantity(lots: 5)),
                instrument: Self.instrument, time: 2, sink: &reports)
        }
        venue.apply(Self.trade(100, 7, aggressor: .sell), time: 3, sink: &reports)
        // 7 lots traded: 5 fill the first order, the other 2 the second; never 10.
        #expect(
            reports.reports.filter(\.isFill).map { [Int64($0.orderID.rawValue), $0.quantity.lots] } == [
                [1, 5], [2, 2],
            ])
    }

    /// Two orders behind a displayed queue: what trades beyond the queue fills the first to
    /// join, then the second; the same lots never fill both.
    @Test func twoOrdersBehindAQueueShareWhatTradedBeyondIt() throws {
        var venue = try SimulatedVenue(instruments: 1, queueModel: .riskAverse)
        var reports = ExecutionReportCollector()
        venue.apply(Self.level(.buy, 100, 10), time: 1, sink: &reports)
        venue.apply(Self.level(.sell, 101, 10), time: 1, sink: &reports)
        for id in [UInt64(1), 2] {
            venue.process(Self.buy(id, 100, 3), instrument: Self.instrument, time: 2, sink: &reports)
        }
        func filled() -> [[Int64]] {
            defer { reports.reports.removeAll() }
            return reports.reports.filter(\.isFill).map { [Int64($0.orderID.rawValue), $0.quantity.lots] }
        }
        _ = filled()
        venue.apply(Self.trade(100, 12, aggressor: .sell), time: 3, sink: &reports)
        #expect(filled() == [[1, 2]])
        venue.apply(Self.trade(100, 1, aggressor: .sell), time: 4, sink: &reports)
        #expect(filled() == [[1, 1]])
        venue.apply(Self.trade(100, 2, aggressor: .sell), time: 5, sink: &reports)
        #expect(filled() == [[2, 2]])
    }

    /// A queue estimate a hair above a whole lot (the probability models' doubles) does not
    /// lose that lot.
    @Test func aLotWithinRoundingOfWholeIsWhole() {
        #expect(SimulatedVenue.wholeLots(1 - 0x1p-52) == 1)
        #expect(SimulatedVenue.wholeLots(2.9999999) == 2)
        #expect(SimulatedVenue.wholeLots(0.5) == 0)
        #expect(SimulatedVenue.wholeLots(-3) == 0)
        #expect(SimulatedVenue.wholeLots(.nan) == 0)
    }

    /// The log model weighs quantities in base units, as hftbacktest does: the same book on a
    /// lot of 0.001 and on one of 0.0001 (ten times the lots) gives the same estimate.
    @Test func theLogModelDoesNotDependOnTheLotGrid() throws {
        func ahead(lot: String, scale: Int64) throws -> Double? {
            var venue = try SimulatedVenue(instruments: 1, queueModel: .log, lotSizes: [try Increment(lot)])
            var reports = ExecutionReportCollector()
            venue.apply(Self.level(.buy, 100, 2 * scale), time: 1, sink: &reports)
            venue.apply(Self.level(.sell, 101, 50 * scale), time: 1, sink: &reports)
            venue.process(Self.buy(1, 100, scale), instrument: Self.instrument, time: 2, sink: &reports)
            venue.apply(Self.level(.buy, 100, 10 * scale), time: 3, sink: &reports)
            venue.apply(Self.level(.buy, 100, 6 * scale), time: 4, sink: &reports)
            return venue.queueAhead(of: OrderID(1)).map { $0 / Double(scale) }
        }
        // front 2, back 8 lots of 0.001, a decrease of 4: p = ln(1 + 0.008) ÷ (ln(1 + 0.008) + ln(1 + 0.002)).
        let share = log1p(0.008) / (log1p(0.008) + log1p(0.002))
        let coarse = try #require(try ahead(lot: "0.001", scale: 1))
        #expect(abs(coarse - (2 - (1 - share) * 4)) < 1e-12)
        let fine = try #require(try ahead(lot: "0.0001", scale: 10))
        #expect(abs(fine - coarse) < 1e-12)
        // In lots, as before, it would be ln 9 ÷ (ln 9 + ln 3) = 2/3: not what base units give.
        #expect(abs(coarse - 2.0 / 3.0) > 0.1)
    }

    /// A snapshot in mid-stream (a cleared book, then its levels at the same time) moves a
    /// resting order's queue as the change of its level would: a level it does not show is
    /// gone (the order is at the front), a smaller one caps it, a larger one leaves it.
    @Test func aSnapshotMovesTheQueueByWhatItShows() throws {
        func afterSnapshot(_ size: Int64?, model: QueueModel = .riskAverse) throws -> (Double?, [Int64]) {
            var reports = ExecutionReportCollector()
            var venue = try Self.venue(model: model, ahead: 10, lots: 3, reports: &reports)
            let clear = Event(timestamp: 0, instrument: Self.instrument, payload: .clearBook)
            venue.apply(clear, time: 5, sink: &reports)
            venue.apply(Self.level(.buy, 99, 5), time: 5, sink: &reports)
            if let size { venue.apply(Self.level(.buy, 100, size), time: 5, sink: &reports) }
            venue.apply(Self.level(.sell, 101, 10), time: 5, sink: &reports)
            // The snapshot is over at the first event after it.
            venue.apply(Self.trade(100, 2, aggressor: .sell), time: 6, sink: &reports)
            return (venue.queueAhead(of: OrderID(1)), Self.fills(reports))
        }
        let gone = try afterSnapshot(nil)
        #expect(gone.1 == [2])
        #expect(gone.0 == 0)
        let smaller = try afterSnapshot(4)
        #expect(smaller.1 == [])
        #expect(smaller.0 == 2)
        let larger = try afterSnapshot(12)
        #expect(larger.1 == [])
        #expect(larger.0 == 8)
        // power:1, front 10 of 10 (nothing behind): the decrease to 4 comes from ahead.
        let modelled = try afterSnapshot(4, model: .power(exponent: 1))
        #expect(modelled.0 == 2)
    }

    /// A snapshot of the top levels that does not reach a resting order's level (its worst
    /// level on that side is better, or it shows none there) says nothing of that level: the
    /// order keeps its place. (It had gone to the front, as if its level were gone.)
    @Test func aSnapshotThatDoesNotReachTheOrdersLevelLeavesItsPlace() throws {
        func afterSnapshot(bids: [Int64]) throws -> (Double?, [Int64]) {
            var reports = ExecutionReportCollector()
            var venue = try Self.venue(model: .riskAverse, ahead: 10, lots: 3, reports: &reports)
            venue.apply(Event(timestamp: 0, instrument: Self.instrument, payload: .clearBook), time: 5, sink: &reports)
            for price in bids { venue.apply(Self.level(.buy, price, 5), time: 5, sink: &reports) }
            venue.apply(Self.level(.sell, 104, 10), time: 5, sink: &reports)
            venue.apply(Self.level(.sell, 105, 10), time: 5, sink: &reports)
            // The snapshot is over at the first event after it: 2 sold at the order's price.
            venue.apply(Self.trade(100, 2, aggressor: .sell), time: 6, sink: &reports)
            return (venue.queueAhead(of: OrderID(1)), Self.fills(reports))
        }
        // Bids 103 and 102 shown: 100 lies beyond them. The trade takes 2 of the 10 ahead.
        let beyond = try afterSnapshot(bids: [103, 102])
        #expect(beyond.1 == [])
        #expect(beyond.0 == 8)
        let noBids = try afterSnapshot(bids: [])
        #expect(noBids.1 == [])
        #expect(noBids.0 == 8)
        // Bids down to 99 shown, none at 100: the level is gone, the order at the front.
        let within = try afterSnapshot(bids: [103, 99])
        #expect(within.1 == [2])
        #expect(within.0 == 0)
    }

    /// An order replaced while a snapshot is still rebuilding its book rests at its new level
    /// as any new order does: the size its old level showed before the snapshot is dropped.
    @Test func anOrderReplacedDuringASnapshotKeepsItsNewPlace() throws {
        var reports = ExecutionReportCollector()
        var venue = try SimulatedVenue(instruments: 1, queueModel: .power(exponent: 1))
        venue.apply(Self.level(.buy, 100, 30), time: 1, sink: &reports)
        venue.apply(Self.level(.buy, 99, 5), time: 1, sink: &reports)
        venue.apply(Self.level(.sell, 101, 10), time: 1, sink: &reports)
        venue.process(Self.buy(1, 100, 2), instrument: Self.instrument, time: 2, sink: &reports)
        #expect(venue.queueAhead(of: OrderID(1)) == 30)
        // A snapshot without 100; before it ends, the order moves to 99 (5 displayed there).
        venue.apply(Event(timestamp: 0, instrument: Self.instrument, payload: .clearBook), time: 5, sink: &reports)
        venue.apply(Self.level(.buy, 99, 5), time: 5, sink: &reports)
        venue.apply(Self.level(.sell, 101, 10), time: 5, sink: &reports)
        venue.process(
            .replace(OrderID(1), account: Self.account, price: Price(ticks: 99), quantity: Quantity(lots: 2)),
            instrument: Self.instrument, time: 5, sink: &reports)
        #expect(venue.queueAhead(of: OrderID(1)) == 5)
        // The snapshot ends at the next event: the order stays behind the 5 lots at 99.
        venue.apply(Self.trade(101, 1, aggressor: .buy), time: 6, sink: &reports)
        #expect(venue.queueAhead(of: OrderID(1)) == 5)
    }

    /// A taking order's rest lies beyond the levels it emptied: those are not a best that has
    /// moved through it when something else makes the venue look.
    @Test func levelsTakenAreNotABestMovingThroughARest() throws {
        var venue = try SimulatedVenue(instruments: 1, queueModel: .riskAverse)
        var reports = ExecutionReportCollector()
        venue.apply(Self.level(.buy, 95, 10), time: 1, sink: &reports)
        venue.apply(Self.level(.sell, 99, 1), time: 1, sink: &reports)
        venue.apply(Self.level(.sell, 100, 2), time: 1, sink: &reports)
        venue.apply(Self.level(.sell, 110, 10), time: 1, sink: &reports)
        // A sell resting at 110, and a buy of 5 at 102 that takes 1 at 99 and 2 at 100 and rests 2.
        venue.process(Self.sell(1, 110, 4), instrument: Self.instrument, time: 2, sink: &reports)
        venue.process(Self.buy(2, 102, 5), instrument: Self.instrument, time: 2, sink: &reports)
        #expect(reports.reports.filter(\.isFill).map { [$0.price.ticks, $0.quantity.lots] } == [[99, 1], [100, 2]])
        reports.reports.removeAll()
        // A bid above the resting sell fills the sell; the buy's rest stays.
        venue.apply(Self.level(.buy, 111, 1), time: 3, sink: &reports)
        #expect(reports.reports.filter(\.isFill).map { [Int64($0.orderID.rawValue), $0.quantity.lots] } == [[1, 4]])
        #expect(venue.queueAhead(of: OrderID(2)) == 0)
    }

    /// What a level update means for the resting orders, read from every order (what the
    /// venue's per-instrument bounds must answer the same).
    static func scanned(_ venue: borrowing SimulatedVenue, _ instrument: InstrumentID, _ update: LevelUpdate) -> (
        queued: Bool, through: Bool
    ) {
        var queued = false
        var through = false
        for order in venue.resting where order.instrument == instrument {
            if order.side == update.side {
                queued = queued || order.price == update.price.ticks
            } else if update.quantity.lots > 0 {
                through =
                    through
                    || (order.side == .buy ? update.price.ticks <= order.price : update.price.ticks >= order.price)
            }
        }
        return (queued, through)
    }

    @Test func restingBoundsAnswerLikeReadingEveryOrder() throws {
        var venue = try SimulatedVenue(instruments: 2, queueModel: .riskAverse)
        var reports = ExecutionReportCollector()
        var random = SplitMix64(seed: 19)
        for instrument in [InstrumentID(0), InstrumentID(1)] {
            for price in Int64(90)...99 { venue.apply(Self.level(.buy, price, 5, instrument), time: 1, sink: &reports) }
            for price in Int64(101)...110 {
                venue.apply(Self.level(.sell, price, 5, instrument), time: 1, sink: &reports)
            }
        }
        var nextID: UInt64 = 1
        var checked = (queued: 0, through: 0, updates: 0, replaces: 0, postOnlyResting: 0)
        for step in 0..<100_000 {
            let instrument = InstrumentID(UInt32(random.next() % 2))
            let roll = random.next() % 100
            // At most about 40 orders rest: beyond that, an order is cancelled instead.
            if roll < 30, venue.resting.count < 40 {
                let side: Side = random.next() % 2 == 0 ? .buy : .sell
                let price = side == .buy ? 85 + Int64(random.next() % 16) : 100 + Int64(random.next() % 16)
                let command = OrderCommand.limit(
                    OrderID(nextID), account: Self.account, side, price: Price(ticks: price),
                    quantity: Quantity(lots: 1 + Int64(random.next() % 3)),
                    timeInForce: random.next() % 3 == 0 ? .postOnly : .goodTillCancel)
                nextID += 1
                venue.process(command, instrument: instrument, time: UInt64(step), sink: &reports)
                if command.timeInForce == .postOnly, venue.resting.last?.orderID == command.orderID {
                    checked.postOnlyResting += 1
                }
            } else if roll < 45 || venue.resting.count >= 40, !venue.resting.isEmpty {
                let order = venue.resting[Int(random.next() % UInt64(venue.resting.count))]
                venue.process(
                    .cancel(order.orderID, account: Self.account), instrument: order.instrument, time: UInt64(step),
                    sink: &reports)
            } else if roll < 55, !venue.resting.isEmpty {
                // A replace to another price on the order's side (it may take, and rests at the back).
                let order = venue.resting[Int(random.next() % UInt64(venue.resting.count))]
                let price = order.side == .buy ? 85 + Int64(random.next() % 16) : 100 + Int64(random.next() % 16)
                venue.process(
                    .replace(
                        order.orderID, account: Self.account, price: Price(ticks: price),
                        quantity: Quantity(lots: order.quantity)),
                    instrument: order.instrument, time: UInt64(step), sink: &reports)
                checked.replaces += 1
            } else {
                let side: Side = random.next() % 2 == 0 ? .buy : .sell
                let update = LevelUpdate(
                    side: side, price: Price(ticks: (side == .buy ? 80 : 92) + Int64(random.next() % 29)),
                    quantity: Quantity(lots: Int64(random.next() % 8)))
                let expected = Self.scanned(venue, instrument, update)
                let answer = venue.affected(instrument, update, venue.restingBounds[Int(instrument.rawValue)])
                #expect(answer == expected, "step \(step): \(update) on \(instrument)")
                if answer != expected { return }
                checked.updates += 1
                if expected.queued { checked.queued += 1 }
                if expected.through { checked.through += 1 }
                venue.apply(
                    Event(timestamp: 0, instrument: instrument, payload: .levelUpdate(update)), time: UInt64(step),
                    sink: &reports)
            }
            for index in 0..<2 {
                // The bounds are exact: those of the orders resting now.
                var bounds = RestingBounds()
                for order in venue.resting where order.instrument == InstrumentID(UInt32(index)) {
                    bounds.add(order.side, order.price)
                }
                let kept = venue.restingBounds[index]
                #expect(
                    [
                        kept.count, Int(kept.lowestBuy), Int(kept.highestBuy), Int(kept.lowestSell),
                        Int(kept.highestSell),
                    ]
                        == [
                            bounds.count, Int(bounds.lowestBuy), Int(bounds.highestBuy), Int(bounds.lowestSell),
                            Int(bounds.highestSell),
                        ], "step \(step)")
            }
            reports.reports.removeAll(keepingCapacity: true)
        }
        // Both answers were exercised, many times over.
        #expect(checked.updates > 40_000)
        #expect(checked.replaces > 5_000)
        #expect(checked.postOnlyResting > 1_000)
        #expect(checked.queued > 1_000)
        #expect(checked.through > 400)
    }

    /// Where two rules apply, the simulated venue answers as the hosted matching engine does:
    /// a post-only order that would take with a duplicate id is a duplicate; a replace to a
    /// total of 0 cancels the order (`replaced-below-filled`). Both venues get the same commands
    /// (found by a review, helper-109: the simulated venue said post-only-would-take and
    /// invalid-quantity).
    @Test func rulesApplyInTheLiveVenuesOrder() throws {
        var live = try OrderBook(spec: InstrumentSpec(instrument: Self.instrument, orderCapacity: 16))
        var seeded = ExecutionReportCollector()
        live.process(Self.sell(50, 101, 3), sink: &seeded)
        var simulated = try SimulatedVenue(instruments: 1, queueModel: .riskAverse)
        simulated.apply(Self.level(.sell, 101, 3), time: 1, sink: &seeded)
        let commands: [OrderCommand] = [
            Self.buy(1, 100, 2),
            .limit(
                OrderID(1), account: Self.account, .buy, price: Price(ticks: 101), quantity: Quantity(lots: 1),
                timeInForce: .postOnly),
            .replace(OrderID(1), account: Self.account, price: Price(ticks: 100), quantity: Quantity(lots: 0)),
            .replace(OrderID(1), account: Self.account, price: Price(ticks: 100), quantity: Quantity(lots: -1)),
        ]
        var liveReports = ExecutionReportCollector()
        var simulatedReports = ExecutionReportCollector()
        for command in commands {
            live.process(command, sink: &liveReports)
            simulated.process(command, instrument: Self.instrument, time: 2, sink: &simulatedReports)
        }
        let answers = { (reports: ExecutionReportCollector) in reports.reports.map { "\($0.kind) \($0.reason)" } }
        #expect(
            answers(liveReports) == [
                "accepted none", "rejected duplicate-order-id", "cancelled replaced-below-filled",
                "rejected unknown-order-id",
            ])
        #expect(answers(simulatedReports) == answers(liveReports))
    }

    @Test func validatesLikeTheLiveVenue() throws {
        var venue = try SimulatedVenue(instruments: 1, queueModel: .riskAverse)
        var reports = ExecutionReportCollector()
        venue.apply(Self.level(.sell, 101, 3), time: 1, sink: &reports)
        venue.process(Self.buy(1, 100, 0), instrument: Self.instrument, time: 2, sink: &reports)
        venue.process(Self.buy(2, 0, 1), instrument: Self.instrument, time: 2, sink: &reports)
        let postOnly = OrderCommand.limit(
            OrderID(3), account: Self.account, .buy, price: Price(ticks: 101), quantity: Quantity(lots: 1),
            timeInForce: .postOnly)
        venue.process(postOnly, instrument: Self.instrument, time: 2, sink: &reports)
        venue.process(.cancel(OrderID(9), account: Self.account), instrument: Self.instrument, time: 2, sink: &reports)
        venue.process(Self.buy(4, 99, 1), instrument: InstrumentID(5), time: 2, sink: &reports)
        #expect(
            reports.reports.map(\.reason) == [
                .invalidQuantity, .priceOutOfRange, .postOnlyWouldTake, .unknownOrderID, .unknownInstrument,
            ])
        // Counted by reason for the report, in the reasons' order.
        #expect(venue.counters.rejected == 5)
        #expect(
            venue.counters.rejections.map { "\($0.count) \($0.reason)" } == [
                "1 unknown-instrument", "1 invalid-quantity", "1 price-out-of-range", "1 unknown-order-id",
                "1 post-only-would-take",
            ])
    }
}

#if canImport(Glibc)
    import Glibc
#endif
