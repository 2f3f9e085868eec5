import PeregrineBook
import PeregrineModel
import Testing

@Suite("Order book: replace")
struct OrderBookReplaceTests {
    @Test func aSizeDecreaseKeepsQueuePriority() throws {
        var venue = try Venue()
        venue.seed(limit(1, .buy, 5, at: 99), limit(2, .buy, 5, at: 99))
        let reports = venue.send(replace(1, 3, at: 99))
        #expect(reports == [replaced(1, .buy, total: 3, leaves: 3, at: 99)])
        #expect(venue.orderIDs(.buy) == [1, 2])
        #expect(venue.bids() == [level(99, 8, orders: 2)])
    }

    @Test func aSizeIncreaseLosesQueuePriority() throws {
        var venue = try Venue()
        venue.seed(limit(1, .buy, 5, at: 99), limit(2, .buy, 5, at: 99))
        let reports = venue.send(replace(1, 7, at: 99))
        #expect(reports == [replaced(1, .buy, total: 7, leaves: 7, at: 99)])
        #expect(venue.orderIDs(.buy) == [2, 1])
        #expect(venue.bids() == [level(99, 12, orders: 2)])
    }

    @Test func aPriceChangeLosesQueuePriority() throws {
        var venue = try Venue()
        venue.seed(limit(1, .buy, 5, at: 99), limit(2, .buy, 5, at: 98), limit(3, .buy, 5, at: 98))
        let reports = venue.send(replace(1, 5, at: 98))
        #expect(reports == [replaced(1, .buy, total: 5, leaves: 5, at: 98)])
        #expect(venue.orderIDs(.buy) == [2, 3, 1])
        #expect(venue.bids() == [level(98, 15, orders: 3)])
    }

    @Test func aReplaceToZeroCancels() throws {
        var venue = try Venue()
        venue.seed(limit(1, .buy, 5, at: 99))
        let reports = venue.send(replace(1, 0, at: 99))
        #expect(reports == [cancelled(1, .buy, 5, at: 99, .replacedBelowFilled)])
        #expect(venue.book.restingOrderCount == 0)
    }

    @Test func aReplaceBelowTheFilledQuantityCancelsTheRest() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 10, at: 100), limit(10, .buy, 4, at: 100, account: 2))
        let reports = venue.send(replace(1, 3, at: 100))
        #expect(reports == [cancelled(1, .sell, 6, at: 100, .replacedBelowFilled)])
        #expect(venue.asks().isEmpty)
    }

    @Test func aReplaceCountsTheFilledPartInTheNewTotal() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 10, at: 100), limit(2, .sell, 10, at: 100), limit(10, .buy, 4, at: 100, account: 2))
        let reports = venue.send(replace(1, 5, at: 100))
        #expect(reports == [replaced(1, .sell, total: 5, leaves: 1, at: 100)])
        #expect(venue.orderIDs(.sell) == [1, 2])
        #expect(venue.asks() == [level(100, 11, orders: 2)])
    }

    @Test func aReplaceToACrossingPriceTradesAndRestsTheRemainder() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 3, at: 101), limit(2, .buy, 5, at: 99, account: 2))
        let reports = venue.send(replace(2, 5, at: 101, account: 2))
        #expect(
            reports
                == [replaced(2, .buy, total: 5, leaves: 5, at: 101, account: 2)]
                + trade(1, taker: (2, 2, .buy, 2), maker: (1, 1, 0), 3, at: 101))
        #expect(venue.bids() == [level(101, 2)])
        #expect(venue.asks().isEmpty)
    }

    @Test func aReplaceOfAnUnknownOrAnotherAccountsOrderIsRejected() throws {
        var venue = try Venue()
        venue.seed(limit(1, .buy, 5, at: 99))
        let unknown = replace(9, 5, at: 99)
        let unknownReports = venue.send(unknown)
        #expect(unknownReports == [rejected(unknown, .unknownOrderID)])
        let foreign = replace(1, 2, at: 99, account: 8)
        let foreignReports = venue.send(foreign)
        #expect(foreignReports == [rejected(foreign, .notOrderOwner)])
        #expect(venue.bids() == [level(99, 5)])
    }

    @Test func aReplaceToAnInvalidPriceOrQuantityIsRejected() throws {
        var venue = try Venue(tickSize: 5)
        venue.seed(limit(1, .buy, 5, at: 100))
        for (command, reason) in [
            (replace(1, 5, at: 102), ExecutionReason.priceOffTickGrid), (replace(1, 5, at: 0), .priceOutOfRange),
            (replace(1, -1, at: 100), .invalidQuantity),
        ] {
            let reports = venue.send(command)
            #expect(reports == [rejected(command, reason)])
        }
        #expect(venue.bids() == [level(100, 5)])
    }
}

@Suite("Order book: self-trade prevention")
struct SelfTradePreventionTests {
    @Test func cancelNewestCancelsTheIncomingOrder() throws {
        var venue = try Venue(selfTrade: SelfTradePolicy(default: .cancelNewest))
        venue.seed(limit(1, .sell, 5, at: 100), limit(2, .sell, 5, at: 101, account: 4))
        let reports = venue.send(limit(10, .buy, 8, at: 101))
        #expect(
            reports == [
                accepted(10, .buy, 8, at: 101), cancelled(10, .buy, 8, at: 101, .selfTradePrevention),
            ])
        #expect(venue.asks() == [level(100, 5), level(101, 5)])
        #expect(venue.book.counters.selfTradePrevented == 1)
    }

    @Test func cancelOldestCancelsTheRestingOrderAndKeepsMatching() throws {
        var venue = try Venue(selfTrade: SelfTradePolicy(default: .cancelOldest))
        venue.seed(limit(1, .sell, 5, at: 100), limit(2, .sell, 5, at: 100, account: 4))
        let reports = venue.send(limit(10, .buy, 8, at: 100))
        #expect(
            reports
                == [accepted(10, .buy, 8, at: 100), cancelled(1, .sell, 5, at: 100, .selfTradePrevention)]
                + trade(1, taker: (10, 1, .buy, 3), maker: (2, 4, 0), 5, at: 100))
        #expect(venue.bids() == [level(100, 3)])
        #expect(venue.asks().isEmpty)
    }

    @Test func cancelBothCancelsBothOrders() throws {
        var venue = try Venue(selfTrade: SelfTradePolicy(default: .cancelBoth))
        venue.seed(limit(1, .sell, 5, at: 100), limit(2, .sell, 5, at: 100, account: 4))
        let reports = venue.send(limit(10, .buy, 8, at: 100))
        #expect(
            reports == [
                accepted(10, .buy, 8, at: 100), cancelled(1, .sell, 5, at: 100, .selfTradePrevention),
                cancelled(10, .buy, 8, at: 100, .selfTradePrevention),
            ])
        #expect(venue.asks() == [level(100, 5)])
        #expect(venue.book.counters.selfTradePrevented == 2)
    }

    @Test func allowLetsAnAccountTradeWithItself() throws {
        var venue = try Venue(selfTrade: SelfTradePolicy(default: .allow))
        venue.seed(limit(1, .sell, 5, at: 100), limit(2, .sell, 5, at: 100, account: 4))
        let reports = venue.send(limit(10, .buy, 8, at: 100))
        #expect(tradeList(reports) == [[1, 10, 1, 5, 100], [2, 10, 2, 3, 100]])
        #expect(reports[1].contraAccount == AccountID(1))
    }

    @Test func theIncomingOrdersAccountChoosesTheMode() throws {
        let policy = SelfTradePolicy(default: .cancelNewest, overrides: [AccountID(1): .cancelOldest])
        #expect(policy.mode(for: AccountID(1)) == .cancelOldest)
        #expect(policy.mode(for: AccountID(5)) == .cancelNewest)
        var venue = try Venue(selfTrade: policy)
        venue.seed(limit(1, .sell, 5, at: 100), limit(2, .sell, 5, at: 100, account: 5))
        let fromOne = venue.send(limit(10, .buy, 1, at: 100))
        #expect(fromOne.map(\.kind) == [.accepted, .cancelled, .filled, .partiallyFilled])
        let fromFive = venue.send(limit(11, .buy, 1, at: 100, account: 5))
        #expect(
            fromFive == [
                accepted(11, .buy, 1, at: 100, account: 5),
                cancelled(11, .buy, 1, at: 100, account: 5, .selfTradePrevention),
            ])
    }

    @Test func aFillOrKillCountsNoLiquidityPastItsOwnOrderUnderCancelNewest() throws {
        var venue = try Venue(selfTrade: SelfTradePolicy(default: .cancelNewest))
        venue.seed(
            limit(1, .sell, 3, at: 100, account: 4), limit(2, .sell, 3, at: 100),
            limit(3, .sell, 3, at: 101, account: 4))
        let before = venue.book.stateHash()
        let reports = venue.send(limit(10, .buy, 6, at: 101, .fillOrKill))
        #expect(reports == [accepted(10, .buy, 6, at: 101), cancelled(10, .buy, 6, at: 101, .fillOrKill)])
        #expect(venue.book.stateHash() == before)
    }

    @Test func aFillOrKillSkipsItsOwnOrdersUnderCancelOldest() throws {
        var venue = try Venue(selfTrade: SelfTradePolicy(default: .cancelOldest))
        venue.seed(
            limit(1, .sell, 3, at: 100, account: 4), limit(2, .sell, 3, at: 100),
            limit(3, .sell, 3, at: 101, account: 4))
        let reports = venue.send(limit(10, .buy, 6, at: 101, .fillOrKill))
        #expect(
            reports
                == [accepted(10, .buy, 6, at: 101)]
                + trade(1, taker: (10, 1, .buy, 3), maker: (1, 4, 0), 3, at: 100)
                + [cancelled(2, .sell, 3, at: 100, .selfTradePrevention)]
                + trade(2, taker: (10, 1, .buy, 0), maker: (3, 4, 0), 3, at: 101))
        #expect(venue.book.restingOrderCount == 0)
    }
}
