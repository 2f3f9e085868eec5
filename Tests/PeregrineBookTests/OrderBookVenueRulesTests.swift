import PeregrineBook
import PeregrineModel
import Testing

/// Books without a price band, and the venue rules that replaced it: the price collar, what a
/// stop already in the market does, and the most levels per side.
@Suite("Order book: far prices and venue rules")
struct OrderBookVenueRulesTests {
    @Test func pricesFarApartRestAndSweepInPriceOrder() throws {
        var venue = try Venue()
        // Asks 10^8 ticks apart and one at 2^62; a bid at 1. All rest: there is no band.
        let far: Int64 = 1 << 62
        venue.seed(
            limit(1, .sell, 2, at: 300_000_000), limit(2, .sell, 3, at: 100_000_000), limit(3, .sell, 1, at: far),
            limit(4, .buy, 7, at: 1), limit(5, .sell, 4, at: 200_000_000))
        #expect(venue.asks() == [level(100_000_000, 3), level(200_000_000, 4), level(300_000_000, 2), level(far, 1)])
        #expect(venue.bids() == [level(1, 7)])
        // A market buy sweeps them best first, across 2^62 ticks of book.
        let reports = venue.send(market(9, .buy, 10))
        #expect(
            tradeList(reports) == [
                [1, 9, 2, 3, 100_000_000], [2, 9, 5, 4, 200_000_000], [3, 9, 1, 2, 300_000_000], [4, 9, 3, 1, far],
            ])
        #expect(venue.asks() == [] && venue.book.lastTradePrice?.ticks == far)
        // Beyond 2^62, zero and negative prices are refused with their own reason.
        for price in [far + 1, 0, -1] {
            let command = limit(10, .buy, 1, at: price)
            #expect(venue.send(command) == [rejected(command, .priceOutOfRange)])
        }
    }

    @Test func theCollarRejectsLimitPricesTooFarFromTheLastTrade() throws {
        var venue = try Venue(collar: 100)  // 1%
        // No trade yet: no collar.
        venue.seed(limit(1, .sell, 5, at: 10_000), limit(2, .buy, 1, at: 5_000))
        #expect(venue.send(limit(3, .buy, 1, at: 10_000, account: 2)).count == 3)  // accepted + a trade at 10,000
        // 10,100 and 9,900 are exactly 1% away: accepted; one tick further: rejected.
        #expect(venue.send(limit(4, .sell, 1, at: 10_100)) == [accepted(4, .sell, 1, at: 10_100)])
        #expect(venue.send(limit(5, .buy, 1, at: 9_900)) == [accepted(5, .buy, 1, at: 9_900)])
        for command in [limit(6, .sell, 1, at: 10_101), limit(7, .buy, 1, at: 9_899)] {
            #expect(venue.send(command) == [rejected(command, .outsidePriceCollar)])
        }
        let stop = stopLimit(8, .buy, 1, stop: 10_050, at: 10_200)
        #expect(venue.send(stop) == [rejected(stop, .outsidePriceCollar)])
        // A replace to a price outside is rejected; one that keeps its price is not checked.
        let away = replace(5, 1, at: 9_800)
        #expect(venue.send(away) == [rejected(away, .outsidePriceCollar)])
        #expect(venue.send(replace(2, 2, at: 5_000)).map(\.kind) == [.replaced])
        // Market orders have no limit price: the collar does not apply.
        #expect(venue.send(market(9, .sell, 1)).first?.kind == .accepted)
    }

    @Test func aStopAlreadyInTheMarketIsRejectedByDefault() throws {
        var venue = try Venue()
        venue.seed(limit(1, .sell, 5, at: 100), limit(2, .buy, 1, at: 100, account: 2))  // trade at 100
        let stop = stopMarket(3, .buy, 1, stop: 99)
        #expect(venue.send(stop) == [rejected(stop, .stopWouldTriggerImmediately)])
        #expect(venue.book.pendingStopCount == 0)
    }

    @Test func aStopAlreadyInTheMarketTriggersOnEntryWhenAsked() throws {
        var venue = try Venue(stopInMarket: .trigger)
        venue.seed(limit(1, .sell, 5, at: 100), limit(2, .buy, 1, at: 100, account: 2))  // trade at 100
        // A buy stop at 99 (already reached): accepted, triggered at the last trade, then it buys.
        #expect(
            venue.send(stopMarket(3, .buy, 2, stop: 99))
                == [accepted(3, .buy, 2, at: 99, account: 3), triggered(3, .buy, 2, byTradeAt: 100)]
                + trade(2, taker: (3, 3, .buy, 0), maker: (1, 1, 2), 2, at: 100))
        // A stop not yet reached still waits.
        #expect(venue.send(stopMarket(4, .buy, 1, stop: 101)) == [accepted(4, .buy, 1, at: 101, account: 3)])
        #expect(venue.book.pendingStopCount == 1 && venue.asks() == [level(100, 2)])
    }

    @Test func aNewLevelBeyondTheCeilingIsRejectedWithItsOwnReason() throws {
        var venue = try Venue(maxLevels: 2)
        venue.seed(limit(1, .buy, 1, at: 100), limit(2, .buy, 1, at: 99))
        // A third bid level: rejected. Joining a held level: fine.
        let third = limit(3, .buy, 1, at: 98)
        #expect(venue.send(third) == [rejected(third, .levelCeiling)])
        #expect(venue.send(limit(4, .buy, 1, at: 99)) == [accepted(4, .buy, 1, at: 99)])
        // The asks have their own ceiling.
        venue.seed(limit(5, .sell, 1, at: 105), limit(6, .sell, 1, at: 106))
        // A sell that crosses trades first; its remainder cannot open a third ask level.
        #expect(
            venue.send(limit(7, .sell, 3, at: 100, account: 2))
                == [accepted(7, .sell, 3, at: 100, account: 2)]
                + trade(1, taker: (7, 2, .sell, 2), maker: (1, 1, 0), 1, at: 100)
                + [cancelled(7, .sell, 2, at: 100, account: 2, .levelCeiling)])
        // A replace to a new level is refused while the side is full (bids 101 and 99), unless
        // it frees its own.
        venue.seed(limit(11, .buy, 1, at: 101))
        let move = replace(4, 1, at: 97)
        #expect(venue.send(move) == [rejected(move, .levelCeiling)])
        venue.seed(cancel(2))  // 99 keeps order 4 alone
        #expect(venue.send(replace(4, 1, at: 97)).map(\.kind) == [.replaced])
        #expect(venue.bids() == [level(101, 1), level(97, 1)])
        // Stops: their own two levels.
        venue.seed(stopMarket(8, .buy, 1, stop: 110), stopMarket(9, .buy, 1, stop: 111))
        let stop = stopMarket(10, .buy, 1, stop: 112)
        #expect(venue.send(stop) == [rejected(stop, .levelCeiling)])
    }
}
