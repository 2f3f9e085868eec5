import PeregrineBook
import PeregrineModel
import Testing

@Suite("Order book: stop orders")
struct OrderBookStopTests {
    @Test func aBuyStopTriggersOnATradeAtItsStopPrice() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 5, at: 100), limit(2, .sell, 5, at: 101))
        let acceptance = venue.send(stopMarket(20, .buy, 3, stop: 100))
        #expect(acceptance == [accepted(20, .buy, 3, at: 100, account: 3)])
        #expect(venue.book.pendingStopCount == 1)
        let reports = venue.send(limit(10, .buy, 2, at: 100, account: 2))
        #expect(
            reports
                == [accepted(10, .buy, 2, at: 100, account: 2)]
                + trade(1, taker: (10, 2, .buy, 0), maker: (1, 1, 3), 2, at: 100)
                + [triggered(20, .buy, 3, byTradeAt: 100)]
                + trade(2, taker: (20, 3, .buy, 0), maker: (1, 1, 0), 3, at: 100))
        #expect(venue.book.pendingStopCount == 0)
        #expect(venue.asks() == [level(101, 5)])
    }

    @Test func aBuyStopDoesNotTriggerOnATradeBelowIt() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 5, at: 100), stopMarket(20, .buy, 3, stop: 101))
        let reports = venue.send(limit(10, .buy, 2, at: 100, account: 2))
        #expect(reports.allSatisfy { $0.kind != .triggered })
        #expect(venue.book.pendingStops(.buy).map(\.orderID) == [OrderID(20)])
        #expect(venue.book.counters.triggered == 0)
    }

    @Test func aSellStopTriggersOnATradeAtOrBelowIt() throws {
        var venue = try Venue()
        venue.seed(limit(1, .buy, 5, at: 100), limit(2, .buy, 5, at: 99), stopMarket(20, .sell, 2, stop: 99))
        let reports = venue.send(limit(10, .sell, 6, at: 99, account: 2))
        #expect(
            reports
                == [accepted(10, .sell, 6, at: 99, account: 2)]
                + trade(1, taker: (10, 2, .sell, 1), maker: (1, 1, 0), 5, at: 100)
                + trade(2, taker: (10, 2, .sell, 0), maker: (2, 1, 4), 1, at: 99)
                + [triggered(20, .sell, 2, byTradeAt: 99)]
                + trade(3, taker: (20, 3, .sell, 0), maker: (2, 1, 2), 2, at: 99))
    }

    @Test func stopsTriggerInPriceOrderThenArrivalOrder() throws {
        var venue = try Venue()
        venue.seed(
            stopMarket(21, .buy, 1, stop: 102), stopMarket(22, .buy, 1, stop: 101), stopMarket(23, .buy, 1, stop: 101),
            limit(1, .sell, 1, at: 101), limit(2, .sell, 1, at: 102), limit(3, .sell, 10, at: 105))
        #expect(venue.book.pendingStops(.buy).map(\.orderID.rawValue) == [22, 23, 21])
        let reports = venue.send(limit(10, .buy, 2, at: 102, account: 2))
        #expect(reports.filter { $0.kind == .triggered }.map(\.orderID.rawValue) == [22, 23, 21])
        #expect(
            tradeList(reports) == [
                [1, 10, 1, 1, 101], [2, 10, 2, 1, 102], [3, 22, 3, 1, 105], [4, 23, 3, 1, 105], [5, 21, 3, 1, 105],
            ])
        #expect(venue.asks() == [level(105, 7)])
    }

    @Test func aTriggeredStopLimitRestsWithTriggerTimePriority() throws {
        var venue = try Venue()
        venue.seed(
            stopLimit(20, .buy, 5, stop: 100, at: 99), limit(5, .buy, 2, at: 99), limit(1, .sell, 1, at: 100))
        let reports = venue.send(limit(10, .buy, 1, at: 100, account: 2))
        #expect(
            reports
                == [accepted(10, .buy, 1, at: 100, account: 2)]
                + trade(1, taker: (10, 2, .buy, 0), maker: (1, 1, 0), 1, at: 100)
                + [triggered(20, .buy, 5, byTradeAt: 100)])
        venue.seed(limit(6, .buy, 1, at: 99))
        #expect(venue.orderIDs(.buy) == [5, 20, 6])
        #expect(venue.bids() == [level(99, 8, orders: 3)])
        let found = venue.book.order(OrderID(20))
        let order = try #require(found)
        #expect(order.isPendingStop == false)
        #expect(order.price == Price(ticks: 99))
    }

    @Test func aStopTheLastTradeHasAlreadyReachedIsRejected() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 1, at: 100), limit(10, .buy, 1, at: 100, account: 2))
        #expect(venue.book.lastTradePrice == Price(ticks: 100))
        for command in [
            stopMarket(20, .buy, 1, stop: 100), stopMarket(21, .buy, 1, stop: 99), stopMarket(22, .sell, 1, stop: 100),
            stopLimit(23, .sell, 1, stop: 101, at: 101),
        ] {
            let reports = venue.send(command)
            #expect(reports == [rejected(command, .stopWouldTriggerImmediately)])
        }
        let accepted = venue.send(stopMarket(24, .buy, 1, stop: 101))
        #expect(accepted.map(\.kind) == [.accepted])
        #expect(venue.book.pendingStopCount == 1)
    }

    @Test func aTriggeredStopsTradesTriggerFurtherStops() throws {
        var venue = try Venue()
        venue.seed(
            limit(1, .sell, 1, at: 100), limit(2, .sell, 1, at: 101), limit(3, .sell, 1, at: 102),
            stopMarket(20, .buy, 1, stop: 100), stopMarket(21, .buy, 1, stop: 101))
        let reports = venue.send(limit(10, .buy, 1, at: 100, account: 2))
        #expect(tradeList(reports) == [[1, 10, 1, 1, 100], [2, 20, 2, 1, 101], [3, 21, 3, 1, 102]])
        #expect(reports.filter { $0.kind == .triggered }.map(\.orderID.rawValue) == [20, 21])
        #expect(venue.asks().isEmpty)
    }

    @Test func aPendingStopCanBeCancelledAndThenNeverTriggers() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 5, at: 105), stopMarket(20, .buy, 3, stop: 105))
        let reports = venue.send(cancel(20, account: 3))
        #expect(reports == [cancelled(20, .buy, 3, at: 105, account: 3)])
        let trading = venue.send(limit(10, .buy, 1, at: 105, account: 2))
        #expect(trading.allSatisfy { $0.kind != .triggered })
        #expect(venue.book.pendingStopCount == 0)
    }

    @Test func aPendingStopCannotBeReplaced() throws {
        var venue = try Venue()
        venue.seed(stopLimit(20, .buy, 3, stop: 105, at: 106))
        let command = replace(20, 5, at: 106, account: 3)
        let reports = venue.send(command)
        #expect(reports == [rejected(command, .notReplaceable)])
        #expect(venue.book.pendingStops(.buy).first?.leavesQuantity == Quantity(lots: 3))
    }

    @Test func aStopTriggeredMidSweepEntersOnlyAfterTheSweep() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 1, at: 100), limit(2, .sell, 1, at: 101), stopMarket(20, .buy, 1, stop: 100))
        let reports = venue.send(limit(10, .buy, 2, at: 101, account: 2))
        #expect(
            reports
                == [accepted(10, .buy, 2, at: 101, account: 2)]
                + trade(1, taker: (10, 2, .buy, 1), maker: (1, 1, 0), 1, at: 100)
                + [triggered(20, .buy, 1, byTradeAt: 100)]
                + trade(2, taker: (10, 2, .buy, 0), maker: (2, 1, 0), 1, at: 101)
                + [cancelled(20, .buy, 1, at: 0, account: 3, .unfilledRemainder)])
    }

    @Test func aTriggeredFillOrKillStopLimitThatCannotFillIsCancelledWhole() throws {
        var venue = try Venue()
        venue.seed(
            limit(1, .sell, 1, at: 100), limit(2, .sell, 1, at: 101),
            stopLimit(20, .buy, 5, stop: 100, at: 101, .fillOrKill))
        let reports = venue.send(limit(10, .buy, 1, at: 100, account: 2))
        #expect(reports.last == cancelled(20, .buy, 5, at: 101, account: 3, .fillOrKill))
        #expect(venue.asks() == [level(101, 1)])
        #expect(venue.book.order(OrderID(20)) == nil)
    }

    /// A fill-or-kill stop-market finds 1 lot for its 5 when it enters: it takes nothing (an
    /// immediate-or-cancel one would take the lot at 101).
    @Test func aTriggeredFillOrKillStopMarketThatCannotFillIsCancelledWhole() throws {
        var venue = try Venue()
        var stop = stopMarket(20, .buy, 5, stop: 100)
        stop.timeInForce = .fillOrKill
        venue.seed(limit(1, .sell, 1, at: 100), limit(2, .sell, 1, at: 101), stop)
        let reports = venue.send(limit(10, .buy, 1, at: 100, account: 2))
        #expect(reports.last == cancelled(20, .buy, 5, at: 0, account: 3, .fillOrKill))
        #expect(venue.asks() == [level(101, 1)])
        #expect(venue.book.order(OrderID(20)) == nil)
    }
}
