import PeregrineBook
import PeregrineModel
import PeregrineTestSupport
import Testing

/// Loads the real Binance BTCUSDT depth snapshot and update into an L2 book and checks it
/// against a reference worked out independently here (a dictionary per side).
@Suite("Binance depth files")
struct BinanceDepthTests {
    let tick: Increment
    let lot: Increment

    init() throws {
        tick = try Increment("0.01")
        lot = try Increment("0.001")
    }

    struct Reference {
        var bids: [Int64: Int64] = [:]
        var asks: [Int64: Int64] = [:]

        mutating func apply(_ update: LevelUpdate) {
            if update.side == .buy {
                bids[update.price.ticks] = update.quantity.lots == 0 ? nil : update.quantity.lots
            } else {
                asks[update.price.ticks] = update.quantity.lots == 0 ? nil : update.quantity.lots
            }
        }
    }

    func updates(_ file: String) throws -> [LevelUpdate] {
        try Fixtures.csvRows(file).map { row in
            LevelUpdate(
                side: row["side"] == "b" ? .buy : .sell,
                price: try Price(row["price"] ?? "", tickSize: tick),
                quantity: try Quantity(row["qty"] ?? "", lotSize: lot))
        }
    }

    @Test func snapshotThenUpdateMatchesTheReference() throws {
        let snapshot = try updates("binance-futures_BTCUSDT_depth_snapshot_2022-11-01.csv")
        let update = try updates("binance-futures_BTCUSDT_depth_update_2022-11-01.csv")
        #expect(snapshot.count == 100 && update.count == 100)

        // A ladder of 1,048,576 ticks ($10,485 at a cent) around the first price holds every
        // level of both files except two deep bids in the update (2047.30 and 15006.00, far
        // below the market), which the book must reject and count rather than move for.
        var book = try L2Book(instrument: InstrumentID(0), ladderSize: 1_048_576)
        var reference = Reference()
        for level in snapshot {
            #expect(book.apply(level) == .applied)
            reference.apply(level)
        }
        #expect(book.bestBid == BookLevel(price: Price(ticks: 2_037_700), quantity: Quantity(lots: 1_770)))
        #expect(book.bestAsk == nil)
        #expect(book.levelCount(.buy) == 100 && book.levelCount(.sell) == 0)
        #expect(book.levelCount(.buy) == reference.bids.count)

        let farBids = [try Price("2047.30", tickSize: tick), try Price("15006.00", tickSize: tick)]
        var rejected: [LevelUpdate] = []
        for level in update {
            if book.apply(level) == .rejectedOutsideLadder { rejected.append(level) }
            reference.apply(level)
        }
        #expect(rejected.map(\.price) == farBids)
        #expect(book.counters.rejectedOutsideLadder == 2 && book.counters.recentrings == 0)
        let ladderRange = book.ladderRange
        for price in farBids {
            #expect(ladderRange?.contains(price) == false)
            reference.bids[price.ticks] = nil
        }

        let expectedBid = try #require(reference.bids.keys.max())
        let expectedAsk = try #require(reference.asks.keys.min())
        #expect(expectedBid == 2_047_210 && expectedAsk == 2_047_220)
        #expect(
            book.bestBid
                == BookLevel(
                    price: Price(ticks: expectedBid), quantity: Quantity(lots: reference.bids[expectedBid] ?? -1)))
        #expect(
            book.bestAsk
                == BookLevel(
                    price: Price(ticks: expectedAsk), quantity: Quantity(lots: reference.asks[expectedAsk] ?? -1)))
        #expect(book.levelCount(.buy) == reference.bids.count)
        #expect(book.levelCount(.sell) == reference.asks.count)
        #expect(book.spread == 10)
        let bids = book.depth(.buy, levels: 1_000)
        let asks = book.depth(.sell, levels: 1_000)
        #expect(
            bids
                == reference.bids.sorted { $0.key > $1.key }.map {
                    BookLevel(price: Price(ticks: $0.key), quantity: Quantity(lots: $0.value))
                })
        #expect(
            asks
                == reference.asks.sorted { $0.key < $1.key }.map {
                    BookLevel(price: Price(ticks: $0.key), quantity: Quantity(lots: $0.value))
                })
    }

    @Test func knownValuesOfTheFiles() throws {
        // Values read off the files by hand, so the reference itself is checked too.
        var book = try L2Book(instrument: InstrumentID(0), ladderSize: 65_536)
        for level in try updates("binance-futures_BTCUSDT_depth_snapshot_2022-11-01.csv") { book.apply(level) }
        #expect(book.quantity(at: try Price("20376.90", tickSize: tick), side: .buy) == Quantity(lots: 1))
        for level in try updates("binance-futures_BTCUSDT_depth_update_2022-11-01.csv") { book.apply(level) }
        #expect(book.quantity(at: try Price("20472.80", tickSize: tick), side: .sell) == .zero)
    }

    @Test func smallLadderRecentresOnTheNewTouchAndCountsEvictions() throws {
        // 4,096 ticks ($40.96) cannot hold the snapshot's bids and the update's asks ~$95
        // higher at once: the book follows the new touch and counts what fell off.
        var book = try L2Book(instrument: InstrumentID(0), ladderSize: 4_096)
        let snapshot = try updates("binance-futures_BTCUSDT_depth_snapshot_2022-11-01.csv")
        for level in snapshot { book.apply(level) }
        #expect(book.levelCount(.buy) == 100)
        var outcomes: [LevelUpdateOutcome] = []
        var reference = Reference()
        for level in snapshot { reference.apply(level) }
        for level in try updates("binance-futures_BTCUSDT_depth_update_2022-11-01.csv") {
            outcomes.append(book.apply(level))
            reference.apply(level)
        }
        let ladderRange = book.ladderRange
        let range = try #require(ladderRange)
        // Whatever the book holds equals the reference restricted to its ladder.
        let heldBids = reference.bids.filter { range.contains(Price(ticks: $0.key)) }
        let heldAsks = reference.asks.filter { range.contains(Price(ticks: $0.key)) }
        #expect(book.levelCount(.buy) == heldBids.count)
        #expect(book.levelCount(.sell) == heldAsks.count)
        #expect(book.bestBid?.price.ticks == heldBids.keys.max())
        #expect(book.bestAsk?.price.ticks == heldAsks.keys.min())
        #expect(book.counters.recentrings >= 1)
        #expect(book.counters.evictedLevels + book.counters.rejectedOutsideLadder > 0)
        #expect(outcomes.contains { if case .appliedAfterRecentring = $0 { return true } else { return false } })
    }
}
