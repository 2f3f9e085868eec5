import PeregrineBook
import PeregrineCore
import PeregrineModel
import Testing

@Suite("L2 book")
struct L2BookTests {
    func update(_ side: Side, _ price: Int64, _ lots: Int64) -> LevelUpdate {
        LevelUpdate(side: side, price: Price(ticks: price), quantity: Quantity(lots: lots))
    }

    @Test func bestBidAndAskFollowEveryChange() throws {
        var book = try L2Book(instrument: InstrumentID(3), ladderSize: 1_024, referencePrice: Price(ticks: 10_000))
        book.apply(update(.buy, 9_990, 5))
        book.apply(update(.buy, 9_995, 7))
        book.apply(update(.sell, 10_005, 2))
        book.apply(update(.sell, 10_001, 4))
        #expect(book.bestBid == BookLevel(price: Price(ticks: 9_995), quantity: Quantity(lots: 7)))
        #expect(book.bestAsk == BookLevel(price: Price(ticks: 10_001), quantity: Quantity(lots: 4)))
        #expect(book.spread == 6)
        book.apply(update(.buy, 9_995, 0))
        #expect(book.bestBid?.price.ticks == 9_990)
        book.apply(update(.sell, 10_001, 0))
        #expect(book.bestAsk?.price.ticks == 10_005)
        book.apply(update(.sell, 10_005, 0))
        #expect(book.bestAsk == nil && book.levelCount(.sell) == 0)
        book.apply(update(.buy, 9_990, 9))  // replace quantity, not a new level
        #expect(book.levelCount(.buy) == 1 && book.bestBid?.quantity.lots == 9)
    }

    @Test func farLevelsAreRejectedAndCounted() throws {
        var book = try L2Book(instrument: InstrumentID(0), ladderSize: 128, referencePrice: Price(ticks: 1_000))
        book.apply(update(.buy, 999, 1))
        book.apply(update(.sell, 1_001, 1))
        // A deep bid far below the ladder is not the new best: rejected and counted.
        #expect(book.apply(update(.buy, 500, 3)) == .rejectedOutsideLadder)
        // A removal outside the ladder is simply nothing to do.
        #expect(book.apply(update(.buy, 500, 0)) == .ignoredOutsideLadder)
        // A new best ask too far from the best bid to share a ladder: rejected.
        #expect(book.apply(update(.sell, 5_000, 1)) == .rejectedOutsideLadder)
        #expect(book.counters.rejectedOutsideLadder == 2)
        #expect(book.bestBid?.price.ticks == 999 && book.bestAsk?.price.ticks == 1_001)
    }

    @Test func depthIsBestFirstAndBounded() throws {
        var book = try L2Book(instrument: InstrumentID(0), ladderSize: 256, referencePrice: Price(ticks: 100))
        for (price, lots) in [(90, 1), (95, 2), (99, 3), (40, 4)] as [(Int64, Int64)] {
            book.apply(update(.buy, price, lots))
        }
        #expect(book.depth(.buy, levels: 3).map(\.price.ticks) == [99, 95, 90])
        #expect(book.depth(.buy, levels: 10).map(\.quantity.lots) == [3, 2, 1, 4])
        #expect(book.depth(.sell, levels: 10).isEmpty)
    }

    @Test func invalidLadderSizeIsRejected() {
        #expect(throws: BookError.invalidLadderSize(10)) { _ = try L2Book(instrument: InstrumentID(0), ladderSize: 10) }
    }

    /// Random updates around a drifting mid, checked against a dictionary after every step.
    @Test func randomUpdatesMatchAReferenceModel() throws {
        var book = try L2Book(instrument: InstrumentID(0), ladderSize: 512)
        var bids: [Int64: Int64] = [:]
        var asks: [Int64: Int64] = [:]
        var random = SplitMix64(seed: 7)
        var mid: Int64 = 50_000
        for step in 0..<200_000 {
            if random.next(below: 50) == 0 { mid += 3 }  // a trending market: the ladder must follow
            let side: Side = random.next(below: 2) == 0 ? .buy : .sell
            let distance = 1 + Int64(random.next(below: 150))
            let price = side == .buy ? mid - distance : mid + distance
            let lots = random.next(below: 3) == 0 ? 0 : 1 + Int64(random.next(below: 100))
            let outcome = book.apply(update(side, price, lots))
            switch outcome {
            case .applied, .appliedAfterRecentring:
                if side == .buy { bids[price] = lots == 0 ? nil : lots } else { asks[price] = lots == 0 ? nil : lots }
            case .ignoredOutsideLadder, .rejectedOutsideLadder:
                break
            }
            if case .appliedAfterRecentring = outcome, let range = book.ladderRange {
                bids = bids.filter { range.contains(Price(ticks: $0.key)) }
                asks = asks.filter { range.contains(Price(ticks: $0.key)) }
            }
            if step % 97 == 0 || step > 199_000 {
                #expect(book.bestBid?.price.ticks == bids.keys.max())
                #expect(book.bestAsk?.price.ticks == asks.keys.min())
                #expect(book.levelCount(.buy) == bids.count && book.levelCount(.sell) == asks.count)
            }
        }
        #expect(book.counters.recentrings > 0)
    }

    @Test func bookSetRoutesByInstrumentAndCountsUnknown() throws {
        var books = try BookSet(count: 2, ladderSize: 64)
        books.apply(update(.buy, 10, 1), to: InstrumentID(1))
        #expect(books.apply(update(.buy, 10, 1), to: InstrumentID(2)) == nil)
        #expect(books.unknownInstrumentUpdates == 1)
        #expect(books.bestBidOffer(InstrumentID(1))?.bid?.price.ticks == 10)
        #expect(books.bestBidOffer(InstrumentID(0))?.bid == nil)
        #expect(throws: BookError.invalidInstrumentCount(0)) { _ = try BookSet(count: 0, ladderSize: 64) }
    }
}
