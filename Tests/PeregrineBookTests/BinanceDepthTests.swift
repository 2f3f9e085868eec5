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

        // Every level of both files is held, the two deep bids of the update (2047.30 and
        // 15006.00, far below the market) included.
        var book = try L2Book(instrument: InstrumentID(0))
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
        for level in update {
            #expect(book.apply(level) == .applied)
            reference.apply(level)
        }
        for price in farBids { #expect(book.quantity(at: price, side: .buy) != .zero) }

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
        var book = try L2Book(instrument: InstrumentID(0))
        for level in try updates("binance-futures_BTCUSDT_depth_snapshot_2022-11-01.csv") { book.apply(level) }
        #expect(book.quantity(at: try Price("20376.90", tickSize: tick), side: .buy) == Quantity(lots: 1))
        for level in try updates("binance-futures_BTCUSDT_depth_update_2022-11-01.csv") { book.apply(level) }
        #expect(book.quantity(at: try Price("20472.80", tickSize: tick), side: .sell) == .zero)
    }
}
