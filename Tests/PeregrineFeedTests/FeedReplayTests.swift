import Foundation
import PeregrineBook
import PeregrineCodec
import PeregrineFeed
import PeregrineModel
import PeregrineTestSupport
import Testing

/// Every market-data file in Tests/Fixtures through its loader, checked against a plain
/// reference written here: dictionaries of decimal prices, no ladders, no fixed point.
@Suite("Market-data files")
struct FeedReplayTests {
    /// A reference book: price → size, as `Decimal`s parsed by Foundation.
    struct ReferenceBook {
        var bids: [Decimal: Decimal] = [:]
        var asks: [Decimal: Decimal] = [:]

        mutating func set(bid: Bool, _ price: String, _ size: String) {
            let p = Decimal(string: price)!
            let s = Decimal(string: size)!
            if bid { bids[p] = s == 0 ? nil : s } else { asks[p] = s == 0 ? nil : s }
        }

        func notional(_ side: [Decimal: Decimal], highestFirst: Bool) -> Decimal {
            let prices = side.keys.sorted(by: highestFirst ? (>) : (<)).prefix(10)
            return prices.reduce(Decimal(0)) { $0 + $1 * side[$1]! }
        }
    }

    func path(_ name: String) -> String { Fixtures.path(name) }

    func decimal(_ price: Price, _ grid: Increment) -> Decimal { Decimal(string: price.formatted(tickSize: grid))! }
    func decimal(_ size: Quantity, _ grid: Increment) -> Decimal { Decimal(string: size.formatted(lotSize: grid))! }

    /// What a replay left: its checkpoints, final state and counters.
    struct Result {
        var checkpoints: [FeedCheckpoint]
        var currentCheckpoint: FeedCheckpoint
        var statistics: FeedStatistics
        var priceIncrement: Increment
        var sizeIncrement: Increment
        var bookCounters: BookCounters
    }

    func replay(_ format: FeedFormat, _ names: [String], every: Int = 0) throws -> (Result, [FeedCheckpoint]) {
        let scale = try FeedReplay.detectScale(format: format, paths: names.map(path))
        var replay = try FeedReplay(format: format, priceIncrement: scale.price, sizeIncrement: scale.size)
        var checkpoints: [FeedCheckpoint] = []
        try replay.replay(paths: names.map(path), checkpointEvery: every) { checkpoints.append($0) }
        let result = Result(
            checkpoints: checkpoints, currentCheckpoint: replay.currentCheckpoint, statistics: replay.statistics,
            priceIncrement: replay.priceIncrement, sizeIncrement: replay.sizeIncrement,
            bookCounters: replay.bookCounters)
        return (result, checkpoints)
    }

    @Test func binanceSnapshotThenUpdate() throws {
        let names = [
            "binance-futures_BTCUSDT_depth_snapshot_2022-11-01.csv",
            "binance-futures_BTCUSDT_depth_update_2022-11-01.csv",
        ]
        var reference = ReferenceBook()
        for name in names {
            for row in try Fixtures.csvRows(name) {
                reference.set(bid: row["side"] == "b", row["price"]!, row["qty"]!)
            }
        }
        let (replay, _) = try replay(.binanceDepth, names)
        // Every level is held, the two deep bids (2047.30 and 15006.00) included.
        #expect(replay.bookCounters.refusedAtCeiling == 0)
        let bids = reference.bids
        let top = replay.currentCheckpoint
        #expect(decimal(try #require(top.bid).price, replay.priceIncrement) == bids.keys.max())
        #expect(decimal(try #require(top.ask).price, replay.priceIncrement) == reference.asks.keys.min())
        #expect(decimal(try #require(top.bid).quantity, replay.sizeIncrement) == bids[bids.keys.max()!])
        #expect(top.bidLevels == bids.count && top.askLevels == reference.asks.count)
        #expect(
            Decimal(
                string: top.bidNotional.formatted(tickSize: replay.priceIncrement, lotSize: replay.sizeIncrement) ?? "")
                == ReferenceBook(bids: bids).notional(bids, highestFirst: true))
        #expect(replay.statistics.messages == 2 && replay.statistics.rows == 200)
        #expect(replay.statistics.gaps == 1)  // the update does not follow on from the snapshot
        #expect(replay.statistics.oneSided == 1)  // after the all-bid snapshot
    }

    @Test func bybitSnapshotAndDeltas() throws {
        let name = "bybit_XRPUSDT_orderbook500_2024-12-01.jsonl"
        let text = try String(contentsOfFile: path(name), encoding: .utf8)
        var reference = ReferenceBook()
        var expectedBids: [Decimal?] = []
        var previousUpdate: Int?
        var gaps = 0
        for line in text.split(whereSeparator: \.isNewline) {
            let message = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let data = message["data"] as! [String: Any]
            if message["type"] as? String == "snapshot" { reference = ReferenceBook() }
            let update = data["u"] as! Int
            if message["type"] as? String == "delta", let previousUpdate, update != previousUpdate + 1 { gaps += 1 }
            previousUpdate = update
            for pair in data["b"] as! [[String]] { reference.set(bid: true, pair[0], pair[1]) }
            for pair in data["a"] as! [[String]] { reference.set(bid: false, pair[0], pair[1]) }
            expectedBids.append(reference.bids.keys.max())
        }
        let (replay, checkpoints) = try replay(.bybitOrderBook, [name], every: 1)
        #expect(checkpoints.count == 50)
        #expect(checkpoints.map { $0.bid.map { decimal($0.price, replay.priceIncrement) } } == expectedBids)
        let top = replay.currentCheckpoint
        #expect(decimal(try #require(top.ask).price, replay.priceIncrement) == reference.asks.keys.min())
        #expect(
            decimal(try #require(top.ask).quantity, replay.sizeIncrement) == reference.asks[reference.asks.keys.min()!])
        #expect(top.bidLevels == reference.bids.count && top.askLevels == reference.asks.count)
        #expect(
            Decimal(
                string: top.askNotional.formatted(tickSize: replay.priceIncrement, lotSize: replay.sizeIncrement) ?? "")
                == reference.notional(reference.asks, highestFirst: false))
        #expect(replay.statistics.gaps == gaps)
        #expect(replay.statistics.crossed == 0)
    }

    /// Messages going back (a sequence or a timestamp) are counted as out of order once each,
    /// and not also as gaps; a sequence skipping ahead is a gap; a second file's timestamps are
    /// checked against the first's.
    @Test func outOfOrderMessagesAreCountedInEveryFormat() throws {
        let directory = NSTemporaryDirectory() + "feed-order-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func statistics(_ format: FeedFormat, _ files: [String]) throws -> FeedStatistics {
            let paths = try files.enumerated().map { index, text in
                let path = directory + "/\(format.rawValue)-\(index)"
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                return path
            }
            var replay = try FeedReplay(
                format: format, priceIncrement: try Increment("0.1"), sizeIncrement: try Increment("1"))
            try replay.replay(paths: paths)
            return replay.statistics
        }
        func bybit(_ type: String, ts: Int, u: Int) -> String {
            #"{"topic":"orderbook.1.X","type":"\#(type)","ts":\#(ts),"data":{"s":"X","b":[["100.0","1"]],"a":[["101.0","1"]],"u":\#(u)}}"#
        }
        // u 1, 2, 3, then 2 (back), then 5 (a gap after 3), then ts back with u 6.
        let bybitLines = [
            bybit("snapshot", ts: 1_000, u: 1), bybit("delta", ts: 1_001, u: 2), bybit("delta", ts: 1_002, u: 3),
            bybit("delta", ts: 1_003, u: 2), bybit("delta", ts: 1_004, u: 5), bybit("delta", ts: 999, u: 6),
        ]
        let bybitCounts = try statistics(.bybitOrderBook, [bybitLines.joined(separator: "\n") + "\n"])
        #expect(bybitCounts.outOfOrder == 2 && bybitCounts.gaps == 1, "\(bybitCounts)")

        let header = "symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu\n"
        let binance =
            header + "X,1000,1,10,b,snap,100.0,1,0\nX,1000,1,10,a,snap,101.0,1,0\n"
            + "X,1001,11,20,b,set,100.0,2,10\n"  // follows on
            + "X,999,21,30,b,set,100.0,3,20\n"  // time back
            + "X,1002,21,25,b,set,100.0,4,30\n"  // id back (not also a gap)
            + "X,1003,41,50,b,set,100.0,5,40\n"  // pu 40 is not 25: a gap
        let binanceCounts = try statistics(.binanceDepth, [binance])
        #expect(binanceCounts.outOfOrder == 2 && binanceCounts.gaps == 1, "\(binanceCounts)")
        // The first update after a snapshot follows on when it spans the snapshot's id, whatever
        // its `pu` (Binance's rule); one that starts after it is a gap.
        let spanning =
            header + "X,1000,1,10,b,snap,100.0,1,0\nX,1000,1,10,a,snap,101.0,1,0\n"
            + "X,1001,8,12,b,set,100.0,2,7\nX,1002,13,15,b,set,100.0,3,12\n"
        #expect(try statistics(.binanceDepth, [spanning]).gaps == 0)
        let late =
            header + "X,1000,1,10,b,snap,100.0,1,0\nX,1000,1,10,a,snap,101.0,1,0\n" + "X,1001,12,14,b,set,100.0,2,11\n"
        #expect(try statistics(.binanceDepth, [late]).gaps == 1)

        let tardisHeader = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n"
        let first =
            tardisHeader + "x,X,100,200,true,bid,100.0,1\nx,X,100,200,true,ask,101.0,1\nx,X,110,210,false,bid,100.0,2\n"
        let second = tardisHeader + "x,X,120,205,false,bid,100.0,3\nx,X,130,230,false,bid,100.0,4\n"
        let tardisCounts = try statistics(.tardisL2, [first, second])
        #expect(tardisCounts.outOfOrder == 1, "\(tardisCounts)")
        // The two joined with `cat` (the second's header in mid-file): its header is skipped as the
        // first one is, and the rows are the same as from the two files.
        let joined = try statistics(.tardisL2, [first + second])
        #expect(joined.rows == 5 && joined.messages == 4 && joined.outOfOrder == 1, "\(joined)")
        #expect(joined.rows == tardisCounts.rows && joined.messages == tardisCounts.messages)
        let joinedBinance = try statistics(.binanceDepth, [binance + header + "X,1004,51,60,b,set,100.0,6,50\n"])
        #expect(joinedBinance.rows == binanceCounts.rows + 1 && joinedBinance.gaps == 1, "\(joinedBinance)")
    }

    @Test func tardisQuotesAndTrades() throws {
        let quotes = "tardis_binance-futures_BTCUSDT_quotes_2020-02-22.csv"
        let rows = try Fixtures.csvRows(quotes)
        let (replay, _) = try replay(.tardisQuotes, [quotes])
        let last = rows.last!
        let top = replay.currentCheckpoint
        #expect(decimal(try #require(top.bid).price, replay.priceIncrement) == Decimal(string: last["bid_price"]!))
        #expect(decimal(try #require(top.ask).quantity, replay.sizeIncrement) == Decimal(string: last["ask_amount"]!))
        #expect(replay.statistics.messages == rows.count)
        let crossed = rows.filter { Decimal(string: $0["bid_price"]!)! >= Decimal(string: $0["ask_price"]!)! }.count
        #expect(replay.statistics.crossed == crossed)

        for trades in [
            "tardis_binance-futures_BTCUSDT_trades_2020-02-22.csv", "tardis_bitmex_XBTUSD_trades_2020-03-01.csv",
        ] {
            let tradeRows = try Fixtures.csvRows(trades)
            let (tradeReplay, _) = try self.replay(.tardisTrades, [trades])
            #expect(tradeReplay.statistics.trades == tradeRows.count)
            let total = tradeRows.reduce(Decimal(0)) { $0 + Decimal(string: $1["amount"]!)! }
            #expect(decimal(Quantity(lots: tradeReplay.statistics.tradedSize), tradeReplay.sizeIncrement) == total)
        }
    }

    @Test func truefxQuotes() throws {
        let name = "truefx_USDJPY_quotes_2013-01-01.csv"
        let rows = try Fixtures.csvRows(name)
        let (replay, _) = try replay(.truefxQuotes, [name])
        let top = replay.currentCheckpoint
        #expect(decimal(try #require(top.bid).price, replay.priceIncrement) == Decimal(string: rows.last!["bid"]!))
        #expect(decimal(try #require(top.ask).price, replay.priceIncrement) == Decimal(string: rows.last!["ask"]!))
        let crossed = rows.filter { Decimal(string: $0["bid"]!)! >= Decimal(string: $0["ask"]!)! }.count
        #expect(replay.statistics.crossed == crossed)
        #expect(replay.statistics.messages == 1_000)
    }

    @Test func aValueWithTooManyDecimalsStopsTheReplayNamingTheLine() throws {
        let file = NSTemporaryDirectory() + "peregrine-feed-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let lines = [
            "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount",
            "x,Y,1,1,1.5,100.25,100.20,2.0", "x,Y,2,2,1.5,100.255,100.20,2.0",
        ]
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        var replay = try FeedReplay(
            format: .tardisQuotes, priceIncrement: try Increment("0.01"), sizeIncrement: try Increment("0.1"))
        do {
            try replay.replay(path: file)
            Issue.record("line 3 was accepted")
        } catch {
            #expect(error.line == 3)
            #expect(error.message.contains("100.255"))
        }
        // The line that stopped it is not counted as read (`run --source` reports this count).
        #expect(replay.statistics.rows == 1 && replay.statistics.messages == 1)
        var decoder = try FeedReplay.decoder(
            format: .tardisQuotes, priceIncrement: try Increment("0.01"), sizeIncrement: try Increment("0.1"))
        try decoder.open(path: file)
        #expect(try decoder.nextChanges()?.isEmpty == true)  // the header
        #expect(try decoder.nextChanges()?.count == 1)
        #expect(throws: FeedError.self) { _ = try decoder.nextChanges() }
        #expect(decoder.statistics.rows == 1)
    }
}
