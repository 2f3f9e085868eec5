import Foundation
import PeregrineBook
import PeregrineCore
import PeregrineModel
import PeregrineStrategy
import Testing

@testable import PeregrineBacktest

/// Stop orders at the simulated venue: what triggers them (a recorded trade at or through the
/// stop, the touch at a message's end, an entering order's taking, a fill through a resting
/// order), when and in which order they enter, how they enter (market, limit with its time in
/// force), and the commands a pending stop answers.
@Suite struct SimulatedVenueStopTests {
    typealias Venue = SimulatedVenueTests
    static let instrument = SimulatedVenueTests.instrument
    static let account = SimulatedVenueTests.account

    static func stopMarket(_ id: UInt64, _ side: Side, stop: Int64, _ lots: Int64) -> OrderCommand {
        .stopMarket(OrderID(id), account: account, side, stopPrice: Price(ticks: stop), quantity: Quantity(lots: lots))
    }

    static func stopLimit(
        _ id: UInt64, _ side: Side, stop: Int64, limit: Int64, _ lots: Int64,
        timeInForce: TimeInForce = .goodTillCancel
    ) -> OrderCommand {
        .stopLimit(
            OrderID(id), account: account, side, stopPrice: Price(ticks: stop), price: Price(ticks: limit),
            quantity: Quantity(lots: lots), timeInForce: timeInForce)
    }

    /// A venue with bids 100 × 5 and 99 × 5, asks 101 × 3, 102 × 4 and 103 × 2.
    static func venue(reports: inout ExecutionReportCollector) throws -> SimulatedVenue {
        var venue = try SimulatedVenue(instruments: 1, queueModel: .riskAverse)
        for (side, price, lots) in [
            (Side.buy, Int64(100), Int64(5)), (.buy, 99, 5), (.sell, 101, 3), (.sell, 102, 4), (.sell, 103, 2),
        ] {
            venue.apply(Venue.level(side, price, lots), time: 1, sink: &reports)
        }
        return venue
    }

    /// One message at `time`: `events` applied in turn, then its end settled, as the backtest does.
    static func message(
        _ events: [Event], time: UInt64, _ venue: inout SimulatedVenue, _ reports: inout ExecutionReportCollector
    ) {
        for event in events { venue.apply(event, time: time, sink: &reports) }
        if let last = events.last { venue.settleStops(after: last, time: time, sink: &reports) }
    }

    /// Each report as kind, order id, price and quantity (the leaves after `/`).
    static func lines(_ reports: ExecutionReportCollector, from start: Int = 0) -> [String] {
        reports.reports[start...].map { report in
            "\(report.kind) \(report.orderID.rawValue) \(report.price.ticks)x\(report.quantity.lots)/"
                + "\(report.leavesQuantity.lots)"
        }
    }

    @Test func aBuyStopTriggersWhenTheBestAskReachesItAtTheMessagesEndAndWalksTheBook() throws {
        var reports = ExecutionReportCollector()
        var venue = try Self.venue(reports: &reports)
        venue.process(Self.stopMarket(1, .buy, stop: 102, 5), instrument: Self.instrument, time: 2, sink: &reports)
        // Accepted at its stop price; it waits off the book.
        #expect(Self.lines(reports) == ["accepted 1 102x5/5"])
        #expect(venue.queueAhead(of: OrderID(1)) == nil)
        #expect(venue.hasStops == true)
        // A change that leaves the best ask below 102: nothing.
        Self.message([Venue.level(.sell, 101, 1)], time: 3, &venue, &reports)
        #expect(reports.reports.count == 1)
        // The ask at 101 goes: the best ask is 102, the stop's price. Applying the change alone
        // triggers nothing (the message may go on); its end does, and the order walks the asks
        // as a market order: 4 at 102, 1 at 103.
        venue.apply(Venue.level(.sell, 101, 0), time: 4, sink: &reports)
        #expect(reports.reports.count == 1)
        venue.settleStops(after: Venue.level(.sell, 101, 0), time: 4, sink: &reports)
        #expect(
            Self.lines(reports, from: 1) == [
                "triggered 1 102x5/5", "partially-filled 1 102x4/1", "filled 1 103x1/0",
            ])
        #expect(reports.reports[2].isAggressor)
        #expect(venue.hasStops == false)
        #expect(venue.counters.aggressiveFills == 2)
    }

    /// A trade at or through a stop triggers it when it prints; the stop enters once the book
    /// shows what the trade took (the end of the instrument's next book message), not into the
    /// levels the trade went through, which the book still shows until then.
    @Test func aRecordedTradeThroughASellStopTriggersItAndItEntersTheBookTheTradeLeft() throws {
        var reports = ExecutionReportCollector()
        var venue = try Self.venue(reports: &reports)
        venue.process(Self.stopMarket(1, .sell, stop: 98, 7), instrument: Self.instrument, time: 2, sink: &reports)
        #expect(Self.lines(reports) == ["accepted 1 98x7/7"])
        // A trade at 99 does not reach a sell stop at 98.
        Self.message([Venue.trade(99, 1, aggressor: .sell)], time: 3, &venue, &reports)
        #expect(reports.reports.count == 1)
        // A trade at 97 triggers it, at its price; the bids of 100 and 99 it went through are
        // still in the book, and the stop waits.
        Self.message([Venue.trade(97, 12, aggressor: .sell)], time: 4, &venue, &reports)
        #expect(Self.lines(reports, from: 1) == ["triggered 1 97x7/7"])
        // The book's message: the bids of 100 and 99 gone, 97 × 4 and 96 × 5 left. The stop sells
        // into them: 4 at 97, 3 at 96.
        Self.message(
            [Venue.level(.buy, 100, 0), Venue.level(.buy, 99, 0), Venue.level(.buy, 97, 4), Venue.level(.buy, 96, 5)],
            time: 5, &venue, &reports)
        #expect(Self.lines(reports, from: 2) == ["partially-filled 1 97x4/3", "filled 1 96x3/0"])
        #expect(venue.hasStops == false)
    }

    /// A strategy's order taking from the book prints trades at the venue: they trigger the
    /// stops they reach, which enter right after it (as on the hosted matching engine) and take
    /// what it left, and a stop the last of them has reached is refused.
    @Test func aStrategysOwnTakingTriggersTheStopsItsTradesReachWhichEnterRightAfterIt() throws {
        var reports = ExecutionReportCollector()
        var venue = try Self.venue(reports: &reports)
        venue.process(Self.stopMarket(1, .buy, stop: 102, 1), instrument: Self.instrument, time: 2, sink: &reports)
        venue.process(Self.stopMarket(2, .buy, stop: 104, 1), instrument: Self.instrument, time: 2, sink: &reports)
        venue.process(Self.stopMarket(3, .sell, stop: 99, 1), instrument: Self.instrument, time: 2, sink: &reports)
        // A market buy of 6 takes 3 at 101 and 3 at 102: it reaches the buy stop at 102 (not the
        // one at 104, nor the sell stop at 99), which reports `triggered` after the fill that
        // reached it and enters right after the market buy: it buys the lot the buy left at 102.
        venue.process(
            .market(OrderID(4), account: Self.account, .buy, quantity: Quantity(lots: 6)), instrument: Self.instrument,
            time: 3, sink: &reports)
        #expect(
            Self.lines(reports, from: 3) == [
                "accepted 4 0x6/6", "partially-filled 4 101x3/3", "filled 4 102x3/0", "triggered 1 102x1/1",
                "filled 1 102x1/0",
            ])
        #expect(venue.hasStops == true)
        // A buy stop at 102 now would trigger at once: the last trade was there.
        venue.process(Self.stopMarket(5, .buy, stop: 102, 1), instrument: Self.instrument, time: 3, sink: &reports)
        #expect(reports.reports.last?.reason == .stopWouldTriggerImmediately)
        // The next book message (a bid at 98) enters nothing more.
        Self.message([Venue.level(.buy, 98, 1)], time: 4, &venue, &reports)
        #expect(reports.reports.count == 3 + 6)
        // A stop-market that fills or kills: triggered by a recorded trade at 103, it waits for
        // the book's next message, finds 2 lots at 103 for its 20 and fills nothing.
        var fillOrKill = Self.stopMarket(6, .buy, stop: 103, 20)
        fillOrKill.timeInForce = .fillOrKill
        venue.process(fillOrKill, instrument: Self.instrument, time: 5, sink: &reports)
        Self.message([Venue.trade(103, 1, aggressor: .buy)], time: 6, &venue, &reports)
        #expect(Self.lines(reports, from: 9) == ["accepted 6 103x20/20", "triggered 6 103x20/20"])
        Self.message([Venue.level(.buy, 97, 1)], time: 7, &venue, &reports)
        #expect(Self.lines(reports, from: 11) == ["cancelled 6 0x20/0"])
        #expect(reports.reports.last?.reason == .fillOrKill)
        // The stop at 104 still waits.
        #expect(venue.hasStops == true)
    }

    /// A stop's own trades as it enters trigger the stops they reach, which enter right after
    /// it, in the order they triggered (never twice, never lost), behind the stops that
    /// triggered with it.
    @Test func aStopEnteringTriggersTheNextWhichEntersRightAfterIt() throws {
        var reports = ExecutionReportCollector()
        var venue = try Self.venue(reports: &reports)
        venue.process(Self.stopMarket(1, .buy, stop: 102, 8), instrument: Self.instrument, time: 2, sink: &reports)
        venue.process(Self.stopMarket(2, .buy, stop: 103, 1), instrument: Self.instrument, time: 2, sink: &reports)
        venue.process(Self.stopMarket(3, .buy, stop: 102, 1), instrument: Self.instrument, time: 2, sink: &reports)
        Self.message([Venue.trade(102, 1, aggressor: .buy)], time: 3, &venue, &reports)
        #expect(Self.lines(reports, from: 3) == ["triggered 1 102x8/8", "triggered 3 102x1/1"])
        // The next message: stop 1 walks 101, 102 and 103; its trade at 103 triggers stop 2,
        // which enters behind stop 3 (triggered with stop 1): stop 3 takes the last lot at
        // 103, and stop 2 finds nothing left (a market order: cancelled).
        Self.message([Venue.level(.buy, 98, 1)], time: 4, &venue, &reports)
        #expect(
            Self.lines(reports, from: 5) == [
                "partially-filled 1 101x3/5", "partially-filled 1 102x4/1", "filled 1 103x1/0", "triggered 2 103x1/1",
                "filled 3 103x1/0", "cancelled 2 0x1/0",
            ])
        #expect(venue.hasStops == false)
    }

    /// Trigger order is kept when a stop a recorded trade triggered still waits for the book:
    /// one a strategy's taking triggers after it waits with it, and they enter in the order
    /// they triggered at the end of the book's next message, the first taking first.
    @Test func aStopAnOrdersTakingTriggersWaitsBehindOneARecordedTradeTriggered() throws {
        var reports = ExecutionReportCollector()
        var venue = try Self.stopHeldBehindOneARecordedTradeTriggered(&reports)
        // Stop 1 triggered by the recorded trade at 102; the market buy's trade at 103 triggers
        // stop 2, which waits behind stop 1 rather than entering at once (it would have taken
        // the last lot at 103).
        #expect(
            Self.lines(reports) == [
                "accepted 1 102x2/2", "accepted 2 103x1/1", "triggered 1 102x2/2", "accepted 3 0x1/1",
                "filled 3 103x1/0", "triggered 2 103x1/1",
            ])
        #expect(venue.hasStops == true)
        // The book's message (101 and 102 gone, an ask of 104 × 5): stop 1 takes the lot the
        // market buy left at 103 and one at 104, then stop 2 one at 104.
        Self.message(
            [Venue.level(.sell, 101, 0), Venue.level(.sell, 102, 0), Venue.level(.sell, 104, 5)], time: 5, &venue,
            &reports)
        #expect(
            Self.lines(reports, from: 6) == ["partially-filled 1 103x1/1", "filled 1 104x1/0", "filled 2 104x1/0"])
        #expect(venue.hasStops == false)
    }

    /// A stop held behind one a recorded trade triggered enters as soon as that one is
    /// cancelled (nothing else holds it back): it takes the lot left at 103.
    @Test func aHeldStopEntersWhenTheStopAheadOfItIsCancelled() throws {
        var reports = ExecutionReportCollector()
        var venue = try Self.stopHeldBehindOneARecordedTradeTriggered(&reports)
        #expect(Self.lines(reports, from: 5) == ["triggered 2 103x1/1"])
        venue.process(.cancel(OrderID(1), account: Self.account), instrument: Self.instrument, time: 5, sink: &reports)
        #expect(Self.lines(reports, from: 6) == ["cancelled 1 102x2/0", "filled 2 103x1/0"])
        #expect(venue.hasStops == false)
    }

    /// Buy stops 1 (at 102, 2 lots) and 2 (at 103, 1 lot); a recorded buy of 7 at 102 triggers
    /// stop 1, which waits for the book; then a market buy of 1 takes 1 at 103 (the recorded
    /// trade took the 3 at 101 and the 4 at 102, which the book shows until its next message),
    /// whose trade at 103 triggers stop 2.
    static func stopHeldBehindOneARecordedTradeTriggered(_ reports: inout ExecutionReportCollector) throws
        -> SimulatedVenue
    {
        var venue = try Self.venue(reports: &reports)
        venue.process(Self.stopMarket(1, .buy, stop: 102, 2), instrument: Self.instrument, time: 2, sink: &reports)
        venue.process(Self.stopMarket(2, .buy, stop: 103, 1), instrument: Self.instrument, time: 2, sink: &reports)
        Self.message([Venue.trade(102, 7, aggressor: .buy)], time: 3, &venue, &reports)
        venue.process(
            .market(OrderID(3), account: Self.account, .buy, quantity: Quantity(lots: 1)), instrument: Self.instrument,
            time: 4, sink: &reports)
        return venue
    }

    /// A strategy's resting orders that the book reaches within a message fill at their prices:
    /// trades there, which trigger the stops they reach in the sweep's order (the bids from the
    /// highest), even one the message's final touch would not have; the last trade is the
    /// sweep's worst; the stop enters at the message's end, on the book it leaves.
    @Test func restingOrdersTheBookReachesAreTradesThatTriggerStops() throws {
        for withStop in [true, false] {
            var reports = ExecutionReportCollector()
            var venue = try Self.venue(reports: &reports)
            // Resting buys at 97 (first) and 98, 2 lots each, below the bids; a sell stop at 98.
            for (id, price) in [(UInt64(1), Int64(97)), (2, 98)] {
                venue.process(
                    .limit(
                        OrderID(id), account: Self.account, .buy, price: Price(ticks: price),
                        quantity: Quantity(lots: 2)
                    ), instrument: Self.instrument, time: 2, sink: &reports)
            }
            if withStop {
                venue.process(
                    Self.stopMarket(3, .sell, stop: 98, 1), instrument: Self.instrument, time: 2, sink: &reports)
            }
            // One message: the bids of 100 and 99 go, an ask of 97 × 5 reaches both buys (they
            // fill whole, in the order they came), then it goes and a bid of 99 × 4 comes back.
            // The fill at 98 triggers the stop there, though the message's final best bid (99)
            // is above it; the stop enters at the end and sells at 99.
            let start = reports.reports.count
            Self.message(
                [
                    Venue.level(.buy, 100, 0), Venue.level(.buy, 99, 0), Venue.level(.sell, 97, 5),
                    Venue.level(.sell, 97, 0), Venue.level(.buy, 99, 4),
                ], time: 3, &venue, &reports)
            #expect(
                Self.lines(reports, from: start)
                    == ["filled 1 97x2/0", "filled 2 98x2/0"]
                    + (withStop ? ["triggered 3 98x1/1", "filled 3 99x1/0"] : []))
            #expect(venue.hasStops == false)
            if !withStop {
                // The last trade was at 97, the sweep's lowest: a sell stop at 97 would trigger
                // at once (the best bid, 99, has not reached it).
                venue.process(
                    Self.stopMarket(4, .sell, stop: 97, 1), instrument: Self.instrument, time: 4, sink: &reports)
                #expect(reports.reports.last?.reason == .stopWouldTriggerImmediately)
            }
        }
    }

    /// A replaced order that takes from the book triggers the stops its trades reach, which
    /// enter right after it: a stop-market takes what it left, and a fill-or-kill one that
    /// cannot fill whole is cancelled, before the book's next message.
    @Test func aReplaceThatTakesTriggersStopsThatEnterRightAfterIt() throws {
        var reports = ExecutionReportCollector()
        var venue = try Self.venue(reports: &reports)
        venue.process(
            .limit(OrderID(1), account: Self.account, .buy, price: Price(ticks: 98), quantity: Quantity(lots: 4)),
            instrument: Self.instrument, time: 2, sink: &reports)
        venue.process(Self.stopMarket(2, .buy, stop: 102, 1), instrument: Self.instrument, time: 2, sink: &reports)
        var fillOrKill = Self.stopMarket(3, .buy, stop: 102, 10)
        fillOrKill.timeInForce = .fillOrKill
        venue.process(fillOrKill, instrument: Self.instrument, time: 2, sink: &reports)
        // The buy moves to 102: it takes 3 at 101 and 1 at 102, whose trade triggers both stops.
        venue.process(
            .replace(OrderID(1), account: Self.account, price: Price(ticks: 102), quantity: Quantity(lots: 4)),
            instrument: Self.instrument, time: 3, sink: &reports)
        #expect(
            Self.lines(reports, from: 3) == [
                "replaced 1 102x4/4", "partially-filled 1 101x3/1", "filled 1 102x1/0", "triggered 2 102x1/1",
                "triggered 3 102x10/10", "filled 2 102x1/0", "cancelled 3 0x10/0",
            ])
        #expect(reports.reports.last?.reason == .fillOrKill)
        #expect(venue.hasStops == false)
    }

    @Test func aStopLimitThatDoesNotCrossRestsWhereItsLimitIs() throws {
        var reports = ExecutionReportCollector()
        var venue = try Self.venue(reports: &reports)
        venue.process(
            Self.stopLimit(1, .sell, stop: 99, limit: 101, 2), instrument: Self.instrument, time: 2, sink: &reports)
        // The bids at 100 and 99 go in one message: the best bid is 98, at the stop or below.
        Self.message(
            [Venue.level(.buy, 100, 0), Venue.level(.buy, 99, 0), Venue.level(.buy, 98, 4)], time: 5, &venue, &reports)
        // A sell at 101 does not cross a bid of 98: it rests behind the 3 lots displayed there.
        #expect(Self.lines(reports, from: 1) == ["triggered 1 98x2/2"])
        #expect(venue.queueAhead(of: OrderID(1)) == 3)
        // 4 lots bought at 101: 3 ahead of it, then 1 of its 2.
        venue.apply(Venue.trade(101, 4, aggressor: .buy), time: 6, sink: &reports)
        #expect(Self.lines(reports, from: 2) == ["partially-filled 1 101x1/1"])
        #expect(reports.reports[2].isAggressor == false)
        // In the queue from the trigger (5) to the fill (6).
        #expect(venue.counters.queueTimeTotal == 1)
    }

    @Test func stopsEnterBuysLowestFirstThenSellsHighestFirstInTheOrderTheyCameWithinAPrice() throws {
        var reports = ExecutionReportCollector()
        var venue = try Self.venue(reports: &reports)
        for command in [
            Self.stopMarket(1, .buy, stop: 104, 1), Self.stopMarket(2, .buy, stop: 103, 1),
            Self.stopMarket(3, .sell, stop: 97, 1), Self.stopMarket(4, .buy, stop: 103, 1),
            Self.stopMarket(5, .sell, stop: 98, 1), Self.stopMarket(6, .buy, stop: 106, 1),
        ] {
            venue.process(command, instrument: Self.instrument, time: 2, sink: &reports)
        }
        #expect(reports.reports.map(\.kind) == Array(repeating: .accepted, count: 6))
        // One message takes the asks to 105 and the bids to 97 (a wide, one-sided moment).
        Self.message(
            [
                Venue.level(.sell, 101, 0), Venue.level(.sell, 102, 0), Venue.level(.sell, 103, 0),
                Venue.level(.sell, 105, 9), Venue.level(.buy, 100, 0), Venue.level(.buy, 99, 0),
                Venue.level(.buy, 97, 9),
            ], time: 3, &venue, &reports)
        let after = Array(reports.reports[6...])
        #expect(after.filter { $0.kind == .triggered }.map(\.orderID.rawValue) == [2, 4, 1, 5, 3])
        #expect(after.filter { $0.kind == .triggered }.map(\.price.ticks) == [105, 105, 105, 97, 97])
        #expect(after.filter(\.isFill).map(\.orderID.rawValue) == [2, 4, 1, 5, 3])
        #expect(after.filter(\.isFill).map(\.price.ticks) == [105, 105, 105, 97, 97])
        // The stop at 106 still waits; an ask added behind the best does not trigger it, the best
        // ask reaching it does.
        #expect(venue.hasStops == true)
        Self.message([Venue.level(.sell, 106, 1)], time: 4, &venue, &reports)
        #expect(reports.reports.count == 6 + 10)
        Self.message([Venue.level(.sell, 105, 0)], time: 5, &venue, &reports)
        #expect(Self.lines(reports, from: 16) == ["triggered 6 106x1/1", "filled 6 106x1/0"])
    }

    /// On quotes-only data each quote is the one-level book: a sell stop triggers when the
    /// quote's bid reaches it, and a fill-or-kill stop-limit that the quote cannot fill whole is
    /// cancelled whole.
    @Test func onQuotesOnlyDataTheQuoteIsTheTouchThatTriggers() throws {
        var reports = ExecutionReportCollector()
        var venue = try SimulatedVenue(instruments: 1, queueModel: .riskAverse, quoteBooks: [Self.instrument])
        func quote(_ bid: Int64, _ bidLots: Int64, _ ask: Int64) -> Event {
            Event(
                timestamp: 0, instrument: Self.instrument,
                payload: .quote(
                    Quote(
                        bidPrice: Price(ticks: bid), bidQuantity: Quantity(lots: bidLots), askPrice: Price(ticks: ask),
                        askQuantity: Quantity(lots: 1))))
        }
        venue.apply(quote(100, 5, 101), time: 1, sink: &reports)
        venue.process(Self.stopMarket(1, .sell, stop: 98, 3), instrument: Self.instrument, time: 2, sink: &reports)
        venue.process(
            Self.stopLimit(2, .sell, stop: 98, limit: 97, 6, timeInForce: .fillOrKill), instrument: Self.instrument,
            time: 2, sink: &reports)
        Self.message([quote(99, 5, 100)], time: 3, &venue, &reports)
        #expect(reports.reports.count == 2)
        Self.message([quote(98, 4, 99)], time: 4, &venue, &reports)
        // Both trigger at the bid of 98; the market sell takes 3 of the 4 lots, and the
        // fill-or-kill sell of 6 finds 1 left: cancelled whole.
        #expect(
            reports.reports[2...].map {
                "\($0.kind) \($0.orderID.rawValue) \($0.price.ticks)x\($0.quantity.lots) \($0.reason)"
            } == [
                "triggered 1 98x3 none", "triggered 2 98x6 none", "filled 1 98x3 none",
                "cancelled 2 97x6 fill-or-kill",
            ])
        #expect(venue.hasStops == false)
    }

    @Test func aStopTheMarketHasReachedIsRefusedAsTheMatchingEngineRefusesIt() throws {
        var reports = ExecutionReportCollector()
        var venue = try Self.venue(reports: &reports)
        func send(_ command: OrderCommand) {
            venue.process(command, instrument: Self.instrument, time: 2, sink: &reports)
        }
        send(Self.stopMarket(1, .buy, stop: 101, 1))  // the best ask is 101
        send(Self.stopMarket(2, .sell, stop: 100, 1))  // the best bid is 100
        venue.apply(Venue.trade(104, 1, aggressor: .buy), time: 3, sink: &reports)
        send(Self.stopMarket(3, .buy, stop: 104, 1))  // the last trade printed at 104
        send(Self.stopMarket(4, .buy, stop: 105, 1))  // accepted
        send(Self.stopLimit(5, .buy, stop: 106, limit: 106, 1, timeInForce: .postOnly))
        send(Self.stopMarket(6, .buy, stop: 0, 1))
        send(Self.stopLimit(7, .buy, stop: 106, limit: 0, 1))
        send(Self.stopMarket(4, .buy, stop: 107, 1))  // its id waits as a stop
        send(Self.stopMarket(8, .buy, stop: 107, 0))
        #expect(
            reports.reports.map { "\($0.orderID.rawValue) \($0.kind) \($0.reason)" } == [
                "1 rejected stop-would-trigger-immediately", "2 rejected stop-would-trigger-immediately",
                "3 rejected stop-would-trigger-immediately", "4 accepted none", "5 rejected unsupported-order",
                "6 rejected price-out-of-range", "7 rejected price-out-of-range", "4 rejected duplicate-order-id",
                "8 rejected invalid-quantity",
            ])
    }

    @Test func aPendingStopIsCancelledOrAskedAboutButNotReplaced() throws {
        var reports = ExecutionReportCollector()
        var venue = try Self.venue(reports: &reports)
        func send(_ command: OrderCommand) {
            venue.process(command, instrument: Self.instrument, time: 2, sink: &reports)
        }
        send(Self.stopLimit(1, .buy, stop: 105, limit: 106, 3))
        send(Self.stopMarket(2, .sell, stop: 95, 4))
        send(.replace(OrderID(1), account: Self.account, price: Price(ticks: 107), quantity: Quantity(lots: 3)))
        send(.cancel(OrderID(1), account: AccountID(8)))
        send(.status(OrderID(2), account: Self.account))
        send(.status(OrderID(2), account: AccountID(8)))
        send(.cancel(OrderID(2), account: Self.account))
        send(.cancel(OrderID(2), account: Self.account))
        #expect(
            reports.reports.map {
                "\($0.orderID.rawValue) \($0.kind) \($0.reason) \($0.price.ticks)x\($0.quantity.lots)/\($0.leavesQuantity.lots)"
            } == [
                "1 accepted none 106x3/3", "2 accepted none 95x4/4", "1 rejected not-replaceable 107x3/0",
                "1 rejected not-order-owner 0x0/0", "2 status none 95x4/4", "2 status unknown-order-id 0x0/0",
                "2 cancelled requested 95x4/0", "2 rejected unknown-order-id 0x0/0",
            ])
        // The stop cancelled does not trigger when the best bid falls to 94, below its 95.
        Self.message(
            [Venue.level(.buy, 100, 0), Venue.level(.buy, 99, 0), Venue.level(.buy, 94, 5)], time: 3, &venue,
            &reports)
        #expect(reports.reports.count == 8)
        // A trade at 105 triggers the buy stop; cancelled before the book's next message, it
        // never enters.
        Self.message([Venue.trade(105, 1, aggressor: .buy)], time: 4, &venue, &reports)
        #expect(Self.lines(reports, from: 8) == ["triggered 1 105x3/3"])
        send(.status(OrderID(1), account: Self.account))
        send(.cancel(OrderID(1), account: Self.account))
        Self.message([Venue.level(.sell, 101, 0)], time: 5, &venue, &reports)
        #expect(Self.lines(reports, from: 9) == ["status 1 106x3/3", "cancelled 1 106x3/0"])
        #expect(venue.hasStops == false)
    }
}

/// A strategy from outside the package that buys `quantity` lots (2) with a stop at 104 once it
/// sees a book: a stop-market, or a stop-limit at `limit` ticks when given, entering with the
/// time in force whose raw value `tif` is (the order type's default when not given); then, when
/// `take` is given, a market buy of that many lots.
struct StopBuyer: Strategy, Sendable {
    static let name = "stop-buyer"
    static let marketData: MarketDataInterest = [.books]
    let instrument: InstrumentID
    let quantity: Int64
    let limit: Int64
    let timeInForce: TimeInForce?
    let take: Int64
    var sent = false

    init(_ configuration: StrategyConfiguration) throws(StrategyConfigurationError) {
        instrument = configuration.instruments.first ?? InstrumentID(0)
        let parameters = configuration.parameters
        quantity = try parameters.integer("quantity", default: 2, in: 1...1_000, counting: .lots)
        limit = try parameters.integer("limit", default: 0, in: 0...1_000, counting: .ticks)
        let tif = try parameters.integer("tif", default: 0, in: 0...4)
        timeInForce = TimeInForce(rawValue: UInt8(truncatingIfNeeded: tif))
        take = try parameters.integer("take", default: 0, in: 0...1_000, counting: .lots)
    }

    mutating func onBook(_ instrument: InstrumentID, _ context: inout StrategyContext) {
        guard !sent else { return }
        sent =
            context.submitStop(
                instrument, .buy, stopPrice: Price(ticks: 104), limit: limit > 0 ? Price(ticks: limit) : nil,
                quantity: Quantity(lots: quantity), timeInForce: timeInForce) != nil
        if sent, take > 0 { _ = context.submitMarket(instrument, .buy, quantity: Quantity(lots: take)) }
    }

    mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try visitor.visit(&sent, "sent")
    }
}

@Suite struct BacktestStopTests {
    /// A stop is judged on the book a message leaves, not on the moments in between: the
    /// message at 2 µs first takes the ask of 103 away (the best ask is 106 for a moment, past
    /// the stop at 104), then adds 102; only the message at 3 µs leaves the best ask past the
    /// stop (102 goes, 105 comes), and the stop buys at 105 (judged after each change, it would
    /// have bought at 106). The same from the text and from the converted file, whose middle
    /// changes go straight from its records.
    @Test func aStopIsJudgedOnTheBookAMessageLeaves() throws {
        let directory = try BacktestRunTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sources = try BacktestRunTests.l2TextAndConverted(
            [
                "test,TEST,1000,1000,false,bid,99,5", "test,TEST,1000,1000,false,ask,103,5",
                "test,TEST,1000,1000,false,ask,106,5", "test,TEST,2000,2000,false,ask,103,0",
                "test,TEST,2000,2000,false,ask,107,1", "test,TEST,2000,2000,false,ask,102,5",
                "test,TEST,3000,3000,false,ask,102,0", "test,TEST,3000,3000,false,ask,105,3",
                "test,TEST,4000,4000,false,bid,98,1", "test,TEST,5000,5000,false,ask,104,5",
            ], in: directory)
        for data in sources {
            var settings = BacktestSettings()
            settings.data = [try DataSpec(data)]
            settings.strategies = [StrategySpec(name: "stop-buyer", parameters: [])]
            let fills = directory.appendingPathComponent("stop-fills.csv").path
            let result = try Backtest.run(
                try BacktestPlan(settings, custom: StopBuyer.self), custom: StopBuyer.self,
                outputs: BacktestOutputFiles(fillsCSV: fills))
            let rows = try String(contentsOfFile: fills, encoding: .utf8).split(separator: "\n").dropFirst()
            #expect(rows.map { $0.split(separator: ",")[2...4].joined(separator: ",") } == ["buy,105,2"], "\(data)")
            #expect(result.trades == 1)
            #expect(result.instruments.map { "\($0.position)" } == ["2"])
            // A stop-limit at 105 for 5 lots meets 3 lots at 105 when it enters: good till
            // cancelled (the default) takes them and rests 2, which the ask of 104 at 5 µs fills;
            // immediate or cancel takes the 3 and cancels the rest; fill or kill takes nothing.
            for (tif, position) in [(nil, "5"), ("2", "3"), ("3", "0")] {
                settings.strategies = [
                    StrategySpec(
                        name: "stop-buyer",
                        parameters: [("quantity", "5"), ("limit", "105")] + (tif.map { [("tif", $0)] } ?? []))
                ]
                let limited = try Backtest.run(
                    try BacktestPlan(settings, custom: StopBuyer.self), custom: StopBuyer.self)
                #expect(limited.instruments.map { "\($0.position)" } == [position], "\(data) \(tif ?? "default")")
            }
        }
    }

    /// A strategy's market buy that trades at the stop's price triggers it, and the stop enters
    /// right after the buy, at the same time (as on the hosted engine), taking what the buy left
    /// at 104: not at the book's next message (4 µs).
    @Test func aStopTheStrategysOwnBuyTriggersEntersRightAfterIt() throws {
        let directory = try BacktestRunTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sources = try BacktestRunTests.l2TextAndConverted(
            [
                "test,TEST,1000,1000,false,bid,99,5", "test,TEST,1000,1000,false,ask,103,5",
                "test,TEST,1000,1000,false,ask,104,3", "test,TEST,1000,1000,false,ask,106,5",
                "test,TEST,4000,4000,false,bid,98,1",
            ], in: directory)
        for data in sources {
            var settings = BacktestSettings()
            settings.data = [try DataSpec(data)]
            settings.strategies = [StrategySpec(name: "stop-buyer", parameters: [("take", "6")])]
            let fills = directory.appendingPathComponent("take-fills.csv").path
            let result = try Backtest.run(
                try BacktestPlan(settings, custom: StopBuyer.self), custom: StopBuyer.self,
                outputs: BacktestOutputFiles(fillsCSV: fills))
            let rows = try String(contentsOfFile: fills, encoding: .utf8).split(separator: "\n").dropFirst()
            let time = rows.first.map { String($0.split(separator: ",")[0]) } ?? "none"
            #expect(
                rows.map { $0.split(separator: ",")[0...5].joined(separator: ",") } == [
                    "\(time),TEST,buy,103,5,taker", "\(time),TEST,buy,104,1,taker", "\(time),TEST,buy,104,2,taker",
                ], "\(data)")
            #expect(result.instruments.map { "\($0.position)" } == ["8"])
        }
    }
}
