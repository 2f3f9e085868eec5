import PeregrineBook
import PeregrineModel
import Testing

/// One test per behaviour of the matching engine, with the exact reports and book expected.
/// Makers use account 1 and takers account 2 unless a test is about accounts.
@Suite("Order book: priority, fills and order types")
struct OrderBookScenarioTests {
    // MARK: Price-time priority

    @Test func equalPricesFillOldestFirst() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 5, at: 100), limit(2, .sell, 5, at: 100))
        let reports = venue.send(limit(10, .buy, 5, at: 100, account: 2))
        #expect(
            reports
                == [accepted(10, .buy, 5, at: 100, account: 2)]
                + trade(1, taker: (10, 2, .buy, 0), maker: (1, 1, 0), 5, at: 100))
        #expect(venue.asks() == [level(100, 5)])
        #expect(venue.orderIDs(.sell) == [2])
    }

    @Test func betterPriceFillsBeforeAnEarlierWorsePrice() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 5, at: 101), limit(2, .sell, 5, at: 100))
        let reports = venue.send(limit(10, .buy, 5, at: 101, account: 2))
        #expect(Array(reports.dropFirst()) == trade(1, taker: (10, 2, .buy, 0), maker: (2, 1, 0), 5, at: 100))
        #expect(venue.asks() == [level(101, 5)])
    }

    @Test func aLimitThatDoesNotCrossRestsAndShowsInBothViews() throws {
        var venue = try Venue()
        let reports = venue.send(limit(1, .buy, 7, at: 99))
        #expect(reports == [accepted(1, .buy, 7, at: 99)])
        venue.seed(limit(2, .buy, 3, at: 99), limit(3, .buy, 4, at: 98), limit(4, .sell, 2, at: 101))
        #expect(venue.bids() == [level(99, 10, orders: 2), level(98, 4)])
        #expect(venue.asks() == [level(101, 2)])
        #expect(venue.orderIDs(.buy) == [1, 2, 3])
        let top = venue.book.bestBidOffer
        #expect(top.bid == BookLevel(price: Price(ticks: 99), quantity: Quantity(lots: 10)))
        #expect(top.ask == BookLevel(price: Price(ticks: 101), quantity: Quantity(lots: 2)))
        #expect(top.spread == 2)
    }

    @Test func aPartlyFilledMakerKeepsItsPlaceAtTheFront() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 10, at: 100), limit(2, .sell, 10, at: 100))
        let first = venue.send(limit(10, .buy, 4, at: 100, account: 2))
        #expect(Array(first.dropFirst()) == trade(1, taker: (10, 2, .buy, 0), maker: (1, 1, 6), 4, at: 100))
        let second = venue.send(limit(11, .buy, 8, at: 100, account: 2))
        #expect(
            Array(second.dropFirst())
                == trade(2, taker: (11, 2, .buy, 2), maker: (1, 1, 0), 6, at: 100)
                + trade(3, taker: (11, 2, .buy, 0), maker: (2, 1, 8), 2, at: 100))
        #expect(venue.asks() == [level(100, 8)])
    }

    // MARK: Partial fills across levels

    @Test func aTakerSweepsSeveralLevelsAtEachRestingPrice() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 3, at: 100), limit(2, .sell, 4, at: 101), limit(3, .sell, 5, at: 103))
        let reports = venue.send(limit(10, .buy, 10, at: 103, account: 2))
        #expect(
            reports
                == [accepted(10, .buy, 10, at: 103, account: 2)]
                + trade(1, taker: (10, 2, .buy, 7), maker: (1, 1, 0), 3, at: 100)
                + trade(2, taker: (10, 2, .buy, 3), maker: (2, 1, 0), 4, at: 101)
                + trade(3, taker: (10, 2, .buy, 0), maker: (3, 1, 2), 3, at: 103))
        #expect(venue.asks() == [level(103, 2)])
        #expect(venue.book.lastTradePrice == Price(ticks: 103))
    }

    @Test func aTakerRemainderRestsAtItsLimitAfterSweeping() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 3, at: 100), limit(2, .sell, 4, at: 101), limit(3, .sell, 5, at: 105))
        let reports = venue.send(limit(10, .buy, 10, at: 102, account: 2))
        #expect(reports.count == 5)
        #expect(
            Array(reports.dropFirst())
                == trade(1, taker: (10, 2, .buy, 7), maker: (1, 1, 0), 3, at: 100)
                + trade(2, taker: (10, 2, .buy, 3), maker: (2, 1, 0), 4, at: 101))
        #expect(venue.bids() == [level(102, 3)])
        #expect(venue.asks() == [level(105, 5)])
        let found10 = venue.book.order(OrderID(10))
        let resting = try #require(found10)
        #expect(resting.leavesQuantity == Quantity(lots: 3))
        #expect(resting.filledQuantity == Quantity(lots: 7))
    }

    @Test func aSellTakerSweepsBidsFromTheHighest() throws {
        var venue = try Venue()
        venue.seed(limit(1, .buy, 2, at: 98), limit(2, .buy, 2, at: 99), limit(3, .buy, 2, at: 97))
        let reports = venue.send(limit(10, .sell, 5, at: 97, account: 2))
        #expect(
            Array(reports.dropFirst())
                == trade(1, taker: (10, 2, .sell, 3), maker: (2, 1, 0), 2, at: 99)
                + trade(2, taker: (10, 2, .sell, 1), maker: (1, 1, 0), 2, at: 98)
                + trade(3, taker: (10, 2, .sell, 0), maker: (3, 1, 1), 1, at: 97))
        #expect(venue.bids() == [level(97, 1)])
    }

    // MARK: Market orders

    @Test func aMarketOrderOnAnEmptyBookIsCancelled() throws {
        var venue = try Venue()
        let reports = venue.send(market(10, .buy, 5))
        #expect(
            reports == [
                accepted(10, .buy, 5, at: 0, account: 2),
                cancelled(10, .buy, 5, at: 0, account: 2, .unfilledRemainder),
            ])
        #expect(venue.book.restingOrderCount == 0)
    }

    @Test func aMarketOrderOnAThinBookFillsWhatItCanAndNeverRests() throws {
        var venue = try Venue()
        venue.seed(limit(1, .buy, 3, at: 99), limit(2, .buy, 1, at: 50))
        let reports = venue.send(market(10, .sell, 10))
        #expect(
            reports
                == [accepted(10, .sell, 10, at: 0, account: 2)]
                + trade(1, taker: (10, 2, .sell, 7), maker: (1, 1, 0), 3, at: 99)
                + trade(2, taker: (10, 2, .sell, 6), maker: (2, 1, 0), 1, at: 50)
                + [cancelled(10, .sell, 6, at: 0, account: 2, .unfilledRemainder)])
        #expect(venue.book.restingOrderCount == 0)
        #expect(venue.book.order(OrderID(10)) == nil)
    }

    @Test func aMarketOrderTakesFarLevelsAtTheirPrices() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 1, at: 100), limit(2, .sell, 1, at: 9_000))
        let reports = venue.send(market(10, .buy, 2))
        #expect(
            Array(reports.dropFirst())
                == trade(1, taker: (10, 2, .buy, 1), maker: (1, 1, 0), 1, at: 100)
                + trade(2, taker: (10, 2, .buy, 0), maker: (2, 1, 0), 1, at: 9_000))
    }

    @Test func aFillOrKillMarketOrderThatCannotFillLeavesTheBookUntouched() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 3, at: 100))
        let before = venue.book.stateHash()
        let reports = venue.send(market(10, .buy, 4, .fillOrKill))
        #expect(
            reports == [
                accepted(10, .buy, 4, at: 0, account: 2), cancelled(10, .buy, 4, at: 0, account: 2, .fillOrKill),
            ])
        #expect(venue.book.stateHash() == before)
    }

    // MARK: Immediate or cancel

    @Test func anIOCRemainderIsCancelled() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 3, at: 100), limit(2, .sell, 3, at: 102))
        let reports = venue.send(limit(10, .buy, 5, at: 101, account: 2, .immediateOrCancel))
        #expect(
            reports
                == [accepted(10, .buy, 5, at: 101, account: 2)]
                + trade(1, taker: (10, 2, .buy, 2), maker: (1, 1, 0), 3, at: 100)
                + [cancelled(10, .buy, 2, at: 101, account: 2, .unfilledRemainder)])
        #expect(venue.bids().isEmpty)
        #expect(venue.asks() == [level(102, 3)])
    }

    @Test func anIOCThatCannotTradeIsCancelledWhole() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 3, at: 100))
        let reports = venue.send(limit(10, .buy, 5, at: 99, account: 2, .immediateOrCancel))
        #expect(
            reports == [
                accepted(10, .buy, 5, at: 99, account: 2),
                cancelled(10, .buy, 5, at: 99, account: 2, .unfilledRemainder),
            ])
    }

    // MARK: Fill or kill

    @Test func aFillOrKillFillsCompletelyAcrossLevels() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 3, at: 100), limit(2, .sell, 3, at: 101))
        let reports = venue.send(limit(10, .buy, 5, at: 101, account: 2, .fillOrKill))
        #expect(
            reports
                == [accepted(10, .buy, 5, at: 101, account: 2)]
                + trade(1, taker: (10, 2, .buy, 2), maker: (1, 1, 0), 3, at: 100)
                + trade(2, taker: (10, 2, .buy, 0), maker: (2, 1, 1), 2, at: 101))
    }

    @Test func aFillOrKillThatCannotFillCompletelyLeavesTheBookUntouched() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 3, at: 100), limit(2, .sell, 3, at: 101))
        let before = venue.book.stateHash()
        let reports = venue.send(limit(10, .buy, 7, at: 101, account: 2, .fillOrKill))
        #expect(
            reports == [
                accepted(10, .buy, 7, at: 101, account: 2), cancelled(10, .buy, 7, at: 101, account: 2, .fillOrKill),
            ])
        #expect(venue.book.stateHash() == before)
        #expect(venue.asks() == [level(100, 3), level(101, 3)])
    }

    @Test func aFillOrKillCountsOnlyLiquidityWithinItsLimit() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 3, at: 100), limit(2, .sell, 30, at: 102))
        let reports = venue.send(limit(10, .buy, 4, at: 101, account: 2, .fillOrKill))
        #expect(reports.last == cancelled(10, .buy, 4, at: 101, account: 2, .fillOrKill))
        #expect(venue.book.counters.trades == 0)
    }

    // MARK: Post only

    @Test func aPostOnlyOrderThatWouldTakeIsRejected() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 3, at: 100))
        let command = limit(10, .buy, 2, at: 100, account: 2, .postOnly)
        let reports = venue.send(command)
        #expect(reports == [rejected(command, .postOnlyWouldTake)])
        #expect(venue.asks() == [level(100, 3)])
        #expect(venue.bids().isEmpty)
    }

    @Test func aPostOnlyOrderThatDoesNotCrossRests() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 3, at: 100))
        let reports = venue.send(limit(10, .buy, 2, at: 99, account: 2, .postOnly))
        #expect(reports == [accepted(10, .buy, 2, at: 99, account: 2)])
        #expect(venue.bids() == [level(99, 2)])
        let found10 = venue.book.order(OrderID(10))
        let order = try #require(found10)
        #expect(order.timeInForce == .postOnly)
    }

    @Test func aReplaceThatWouldMakeAPostOnlyOrderTakeIsRejected() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 3, at: 100), limit(10, .buy, 2, at: 98, account: 2, .postOnly))
        let command = replace(10, 2, at: 100, account: 2)
        let reports = venue.send(command)
        #expect(reports == [rejected(command, .postOnlyWouldTake)])
        #expect(venue.bids() == [level(98, 2)])
        #expect(venue.book.counters.replaced == 0)
    }
}
