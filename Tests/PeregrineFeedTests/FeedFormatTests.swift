import Foundation
import PeregrineBook
import PeregrineCodec
import PeregrineCore
import PeregrineFeed
import PeregrineModel
import Testing

/// The formats with no sample in Tests/Fixtures, on generated files checked against a plain
/// reference: Tardis incremental L2 and book snapshots, and order-level JSON lines.
@Suite("Market-data formats on generated files")
struct FeedFormatTests {
    func write(_ lines: [String]) throws -> String {
        let file = NSTemporaryDirectory() + "peregrine-format-\(UUID().uuidString)"
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func replay(_ format: FeedFormat, _ file: String, every: Int = 1) throws -> (
        [FeedCheckpoint], FeedStatistics, Increment
    ) {
        let scale = try FeedReplay.detectScale(format: format, paths: [file])
        var replay = try FeedReplay(format: format, priceIncrement: scale.price, sizeIncrement: scale.size)
        var checkpoints: [FeedCheckpoint] = []
        try replay.replay(path: file, checkpointEvery: every) { checkpoints.append($0) }
        return (checkpoints, replay.statistics, scale.price)
    }

    func decimal(_ price: Price?, _ grid: Increment) -> Decimal? {
        price.map { Decimal(string: $0.formatted(tickSize: grid))! }
    }

    /// The step every price is a multiple of, against a plain computation: every price in
    /// ticks of the finest decimal, their greatest common divisor. Prices drawn on grids of 1 to
    /// 5 × 10^7 ticks (0.5 on an 8-decimal file), written with and without trailing zeros; an
    /// empty price (a missing side) counts for nothing; one price alone shows no grid.
    @Test func thePriceStepIsTheGreatestCommonDivisorOfThePrices() throws {
        var generator = SplitMix64(seed: 19)
        for round in 0..<200 {
            let decimals = Int.random(in: 0...8, using: &generator)
            let step =
                [1, 2, 3, 4, 5, 10, 20, 25, 50, 100, 125, 250, 500, 1_000, 5_000, 50_000_000].randomElement(
                    using: &generator) ?? 1
            var lines = ["exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"]
            var written: [String] = []
            for row in 0..<Int.random(in: 1...12, using: &generator) {
                func price() -> String {
                    let units = step * Int.random(in: 500...2_500, using: &generator)
                    let fraction = String(units % Self.power(decimals))
                    var text =
                        decimals == 0
                        ? "\(units)"
                        : "\(units / Self.power(decimals))."
                            + String(repeating: "0", count: decimals - fraction.count) + fraction
                    // Trailing zeros kept or dropped, as venues write them.
                    if Bool.random(using: &generator), text.contains(".") {
                        while text.hasSuffix("0") { text.removeLast() }
                        if text.hasSuffix(".") { text.removeLast() }
                    }
                    written.append(text)
                    return text
                }
                let bid = row == 0 && round % 7 == 0 ? "" : price()
                lines.append("t,T,\(row + 1),\(row + 1),1,\(price()),\(bid),1")
            }
            let file = try write(lines)
            defer { try? FileManager.default.removeItem(atPath: file) }
            let detected = try FeedReplay.detectGrids(format: .tardisQuotes, paths: [file])
            // The plain way: each price in units of the finest decimal written.
            let finest = written.map { $0.split(separator: ".").dropFirst().first?.count ?? 0 }.max() ?? 0
            let units = written.map { text -> Int in
                let places = text.split(separator: ".").dropFirst().first?.count ?? 0
                return (Int(text.replacingOccurrences(of: ".", with: "")) ?? -1) * Self.power(finest - places)
            }
            let expected = units.reduce(0) { Self.gcd($0, $1) }
            #expect(detected.price.decimals == finest, "\(written)")
            #expect(detected.priceStep == Int128(expected), "\(written)")
            #expect(detected.pricesVary == (Set(units).count > 1), "\(written)")
        }
        // Given a tick, no step is sought.
        let file = try write([
            "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount",
            "t,T,1,1,1,99.5,99,1",
        ])
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(
            try FeedReplay.detectGrids(format: .tardisQuotes, paths: [file], price: try Increment("0.1")).priceStep == 0
        )
        #expect(try FeedReplay.detectGrids(format: .tardisQuotes, paths: [file]).priceStep == 5)
    }

    static func power(_ exponent: Int) -> Int { (0..<exponent).reduce(1) { value, _ in value * 10 } }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    /// Each Binance snapshot (its rows share a last_update_id) replaces the book, one right
    /// after another included: the levels of the first had survived the second.
    @Test func eachBinanceSnapshotReplacesTheBook() throws {
        let file = try write([
            "symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu",
            "B,1000,10,10,b,snap,100.0,1,-1", "B,1000,10,10,a,snap,101.0,2,-1", "B,1000,10,10,b,snap,99.5,3,-1",
            "B,3000,20,20,b,snap,99.0,5,-1", "B,3000,20,20,a,snap,102.0,5,-1",
        ])
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (checkpoints, statistics, grid) = try replay(.binanceDepth, file)
        let last = try #require(checkpoints.last)
        #expect(statistics.messages == 2)
        #expect(last.bidLevels == 1 && last.askLevels == 1)
        #expect(decimal(last.bid?.price, grid) == Decimal(string: "99"))
        #expect(decimal(last.ask?.price, grid) == Decimal(string: "102"))
    }

    /// A value no venue could show stops the replay at its line, naming its column and value:
    /// a price of zero or below (as no order's price can be: one at -5 in a book made a
    /// market maker's P&L +1,025 where it was -0.13), a trade side other than `buy`, `sell` or
    /// `unknown` (`SELL` had been read as a buy), a snapshot flag other than its two values
    /// (`True` had been read as an update, a snapshot never clearing the book). The same rows
    /// with good values replay.
    @Test func valuesNoVenueShowsStopAtTheirLineAndColumn() throws {
        let l2 = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"
        let trades = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
        let binance = "symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu"
        let snapshot =
            "exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,bids[0].price,bids[0].amount"
        func bybit(_ bid: String) -> String {
            #"{"topic":"orderbook.1.X","type":"delta","ts":1733011200693,"data":{"s":"X","b":[[""#
                + bid + #"","5"]],"a":[]},"u":"# + "2}"
        }
        let bybitFirst =
            #"{"topic":"orderbook.1.X","type":"snapshot","ts":1733011200691,"data":{"s":"X","b":[["1.95","5"]],"a":[["1.96","5"]]},"u":1}"#
        // A Bybit level written with a number, not a quoted string, had ended its side's array
        // (the rest of the side dropped without a word).
        let numeric = bybit("1.93").replacingOccurrences(of: #"["1.93""#, with: "[1.93")
        let column = try #require(numeric.range(of: "[1.93")).lowerBound.utf16Offset(in: numeric) + 1
        let shown = String(decoding: numeric.utf8.dropFirst(column - 1).prefix(24), as: UTF8.self)
        let cases: [(FeedFormat, [String], good: String, bad: String, says: String)] = [
            (
                .tardisL2, [l2, "x,B,1000,1001,false,bid,100.5,1"], "x,B,1002,1003,false,ask,100.6,2",
                "x,B,1002,1003,false,ask,-5,2", "price '-5' is not positive"
            ),
            (
                .tardisL2, [l2, "x,B,1000,1001,false,bid,100.5,1"], "x,B,1002,1003,true,ask,100.6,2",
                "x,B,1002,1003,True,ask,100.6,2", "is_snapshot 'True' is not true or false"
            ),
            (
                .tardisL2, [l2, "x,B,1000,1001,false,bid,100.5,1"], "x,B,1002,1003,false,ask,100.6,2",
                "x-futures,B,1002,1003,false,ask,100.6,2",
                "exchange 'x-futures' is not 'x', the exchange of the first row read: a replay is one market's"
            ),
            (
                .tardisTrades, [trades, "x,B,1000,1001,7,buy,100.5,1"], "x,B,1002,1003,8,unknown,100.5,1",
                "x,B,1002,1003,8,SELL,100.5,1", "side 'SELL' is not buy, sell or unknown"
            ),
            (
                .tardisTrades, [trades, "x,B,1000,1001,7,buy,100.5,1"], "x,B,1002,1003,8,sell,100.4,1",
                "x,B,1002,1003,8,sell,0,1", "price '0' is not positive"
            ),
            (
                // The flag is read on every row of a message, not its first alone.
                .binanceDepth, [binance, "B,1667347199939,10,20,b,set,100.5,1,9"],
                "B,1667347199939,10,20,a,set,100.6,1,9", "B,1667347199939,10,20,a,upd,100.6,1,9",
                "update_type 'upd' is not snap or set"
            ),
            (
                .binanceDepth, [binance, "B,1667347199939,10,20,b,set,100.5,1,9"],
                "B,1667347199940,21,30,a,set,100.6,1,20",
                "B,1667347199940,21,30,a,upd,100.6,1,20", "update_type 'upd' is not snap or set"
            ),
            (
                .binanceDepth, [binance, "B,1667347199939,10,20,b,set,100.5,1,9"],
                "B,1667347199940,21,30,a,set,100.6,1,20",
                "B,1667347199940,21,30,a,set,-100.6,1,20", "price '-100.6' is not positive"
            ),
            (
                // Every update id is read strictly: a damaged first id had turned an update that
                // spans the snapshot into a gap, without a word.
                .binanceDepth, [binance, "B,1667347199939,10,20,b,set,100.5,1,9"],
                "B,1667347199940,21,30,a,set,100.6,1,20",
                "B,1667347199940,2l,30,a,set,100.6,1,20",
                "update ids first_update_id '2l', last_update_id '30', pu '20': each must be an integer"
            ),
            (
                // The rows of one message share its type: a `snap` among `set` rows had been
                // read as a `set` (and a message's first `snap` row had cleared the book for
                // every `set` row after it).
                .binanceDepth, [binance, "B,1667347199939,10,20,b,set,100.5,1,9"],
                "B,1667347199939,10,20,a,set,100.6,1,9", "B,1667347199939,10,20,a,snap,100.6,1,9",
                "update_type 'snap' is not that of the message's first row ('set'): the rows of one message (one "
                    + "last_update_id) share it"
            ),
            (
                .binanceDepth, [binance, "B,1667347199939,10,20,b,set,100.5,1,9"],
                "B,1667347199940,21,30,a,set,100.6,1,20", "B,1667347199940,31,30,a,set,100.6,1,20",
                "update ids first_update_id 31, last_update_id 30: the first must be 0 or more and at most the last"
            ),
            (
                .binanceDepth, [binance, "B,1667347199939,10,20,b,set,100.5,1,9"],
                "B,1667347199940,21,30,a,set,100.6,1,20", "B,1667347199940,-5,-3,a,set,100.6,1,20",
                "update ids first_update_id -5, last_update_id -3: the first must be 0 or more and at most the last"
            ),
            (
                // A key given twice had been read twice (both arrays of a side applied) or the
                // first one kept (a `ts` of 1970).
                .bybitOrderBook, [bybitFirst, bybit("1.94")], bybit("1.93"),
                bybit("1.93").replacingOccurrences(of: #""b":[["#, with: #""b":[["1.5","1"]],"b":[["#),
                #"the key "b" is given twice"#
            ),
            (
                .bybitOrderBook, [bybitFirst, bybit("1.94")], bybit("1.93"),
                bybit("1.93").replacingOccurrences(of: #""ts":"#, with: #""ts":1,"ts":"#),
                #"the key "ts" is given twice"#
            ),
            (
                .tardisSnapshot, [snapshot, "x,B,1000,1001,100.6,1,100.5,1"], "x,B,1002,1003,100.7,1,100.5,1",
                "x,B,1002,1003,100.7,1,-3,1", "bids[0].price '-3' is not positive"
            ),
            (
                // A level with its price and no amount had been left out without a word.
                .tardisSnapshot, [snapshot, "x,B,1000,1001,100.6,1,100.5,1"], "x,B,1002,1003,100.7,1,100.5,1",
                "x,B,1002,1003,100.7,,100.5,1", "asks[0].amount is empty where asks[0].price is '100.7'"
            ),
            (
                .bybitOrderBook, [bybitFirst, bybit("1.94")], bybit("1.93"), bybit("-1.95"),
                "b[0] price '-1.95' is not positive"
            ),
            (
                // So is Bybit's `u` (a damaged id had passed as a gap, or as none).
                .bybitOrderBook, [bybitFirst, bybit("1.94")], bybit("1.93"),
                bybit("1.93").replacingOccurrences(of: #""u":2}"#, with: #""u":2x}"#),
                #""u" 2x is not an integer of 0 or more (the update id)"#
            ),
            (
                .bybitOrderBook, [bybitFirst, bybit("1.94")], bybit("1.93"),
                bybit("1.93").replacingOccurrences(of: #""u":2}"#, with: #""u":"2"}"#),
                #""u" "2" is not an integer of 0 or more (the update id)"#
            ),
            (
                // A message of another symbol had been merged into the book.
                .bybitOrderBook, [bybitFirst, bybit("1.94")], bybit("1.93"),
                bybit("1.93").replacingOccurrences(of: #""s":"X""#, with: #""s":"Y""#),
                "symbol 'Y' is not 'X', the symbol of the first row read"
            ),
            (
                // A row of another exchange (binance-futures after binance) had been merged too.
                .tardisSnapshot, [snapshot, "x,B,1000,1001,100.6,1,100.5,1"], "x,B,1002,1003,100.7,1,100.5,1",
                "y,B,1002,1003,100.7,1,100.5,1", "exchange 'y' is not 'x', the exchange of the first row read"
            ),
            (
                .bybitOrderBook, [bybitFirst, bybit("1.94")], bybit("1.93"), numeric,
                #""b" at column \#(column) holds '\#(shown)', not a level"#
            ),
            (
                .truefxQuotes, ["timestamp,bid,ask", "2013-01-01 22:00:00.295000+00:00,86.655,86.728"],
                "2013-01-01 22:00:01.000000+00:00,86.656,86.728", "2013-01-01 22:00:01.000000+00:00,0,86.728",
                "bid '0' is not positive"
            ),
            (
                // A day the calendar has not is named as such, not as a shape it has.
                .truefxQuotes, ["timestamp,bid,ask", "2013-01-01 22:00:00.295000+00:00,86.655,86.728"],
                "2013-01-01 22:00:01.000000+00:00,86.656,86.728", "2013-02-30 22:00:01.000000+00:00,86.656,86.728",
                "timestamp '2013-02-30 22:00:01.000000+00:00' is not a UTC time YYYY-MM-DD HH:MM:SS[.ffffff][+00:00] "
                    + "of a real day, from 1970 to 2262"
            ),
            (
                // A message whose topic names another symbol than its data had been read as the data's.
                .bybitOrderBook, [bybitFirst, bybit("1.94")], bybit("1.93"),
                bybit("1.93").replacingOccurrences(of: "orderbook.1.X", with: "orderbook.1.Y"),
                #"the topic names 'Y' but the data's "s" is 'X'"#
            ),
            (
                .l3JSONLines, [#"{"seq":1,"op":"add","order_id":7,"side":"bid","price":"100.5","size":"1"}"#],
                #"{"seq":2,"op":"add","order_id":9223372036854775807,"side":"bid","price":"100.5","size":"1"}"#,
                #"{"seq":2,"op":"add","order_id":9223372036854775808,"side":"bid","price":"100.5","size":"1"}"#,
                #""order_id" 9223372036854775808 is not a JSON integer from 0 to 9223372036854775807"#
            ),
            (
                // Checked alike on a last line without a line break: a torn tail, never applied.
                .l3JSONLines, [#"{"seq":1,"op":"add","order_id":7,"side":"bid","price":"100.5","size":"1"}"#],
                #"{"seq":2,"op":"delete","order_id":7}"#, #"{"seq":2,"op":"delete","order_id":-1}"#,
                #""order_id" -1 is not a JSON integer from 0 to 9223372036854775807"#
            ),
            (
                .l3JSONLines, [#"{"seq":1,"op":"add","order_id":7,"side":"bid","price":"100.5","size":"1"}"#],
                #"{"seq":2,"op":"delete","order_id":7}"#, #"{"seq":"2","op":"delete","order_id":7}"#,
                #""seq" "2" is not a JSON integer of 64 bits"#
            ),
        ]
        for (format, lines, good, bad, says) in cases {
            let goodFile = try write(lines + [good])
            let badFile = try write(lines + [bad])
            defer { for file in [goodFile, badFile] { try? FileManager.default.removeItem(atPath: file) } }
            #expect(throws: Never.self, "\(format) \(good)") { _ = try replay(format, goodFile) }
            do {
                _ = try replay(format, badFile)
                Issue.record("\(format): \(bad) was read")
            } catch {
                #expect("\(error)".contains("\(badFile):\(lines.count + 1): \(says)"), "\(error)")
            }
        }
        // A byte-order mark before the header (a spreadsheet's export) is named, not shown as a
        // header that looks like the expected one.
        let marked = try write(["\u{FEFF}" + l2, "x,B,1000,1001,false,bid,100.5,1"])
        defer { try? FileManager.default.removeItem(atPath: marked) }
        #expect(throws: FeedError.self) { _ = try replay(.tardisL2, marked) }
        do { _ = try replay(.tardisL2, marked) } catch {
            #expect("\(error)".contains("\(marked):1: the file begins with a UTF-8 byte-order mark"), "\(error)")
        }
        // An invisible carriage return left before the line break (CR CR LF line ends) is
        // named, where "text after the JSON object" showed nothing on a terminal.
        let carriageReturns = NSTemporaryDirectory() + "peregrine-format-\(UUID().uuidString)"
        try (bybitFirst + "\r\r\n" + bybit("1.94") + "\r\r\n").write(
            toFile: carriageReturns, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: carriageReturns) }
        do {
            _ = try replay(.bybitOrderBook, carriageReturns)
            Issue.record("a CR CR LF line was read")
        } catch {
            #expect(
                "\(error)".contains(
                    "\(carriageReturns):1: a carriage return (CR, \\r) after the JSON object at column "
                        + "\(bybitFirst.utf8.count + 1): end lines with LF or CR LF"), "\(error)")
        }
        // A snapshot header of hundreds of fields is named by the first that differs (the
        // header shown whole had been cut at 120 characters, before the mistake).
        var fields = ["exchange", "symbol", "timestamp", "local_timestamp"]
        for level in 0..<25 {
            fields += [
                "asks[\(level)].price", "asks[\(level)].amount", "bids[\(level)].price", "bids[\(level)].amount",
            ]
        }
        fields[90] = "bids[21].prices"
        let misnamed = try write([
            fields.joined(separator: ","), "x,B,1000,1001," + Array(repeating: "1", count: 100).joined(separator: ","),
        ])
        defer { try? FileManager.default.removeItem(atPath: misnamed) }
        do {
            _ = try replay(.tardisSnapshot, misnamed)
            Issue.record("a misnamed snapshot header was read")
        } catch {
            #expect(
                "\(error)".contains(
                    "\(misnamed):1: not a tardis-snapshot header (expected exchange,symbol,timestamp,"
                        + "local_timestamp,asks[0].price,asks[0].amount,bids[0].price,bids[0].amount,...): field 91 is "
                        + "'bids[21].prices' where 'bids[21].price' was expected"), "\(error)")
        }
        // A last line without a line break is read the same way: whole and good, it is applied
        // (an `unknown` trade had been taken for a torn line); bad, it is the file's torn tail,
        // never applied.
        // (A whole last line naming another symbol or exchange, or a topic of another symbol, is
        // an error, as anywhere: not a torn one.)
        // (Nor is one whose type differs from its message's first row's.)
        for (format, lines, good, bad, says) in cases
        where !says.hasPrefix("symbol") && !says.hasPrefix("exchange") && !says.hasPrefix("the topic names")
            && !says.hasPrefix("update_type 'snap' is not that")
        {
            for (last, torn) in [(good, false), (bad, true)] {
                let file = NSTemporaryDirectory() + "peregrine-format-\(UUID().uuidString)"
                try (lines + [last]).joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
                defer { try? FileManager.default.removeItem(atPath: file) }
                let scale = try FeedReplay.detectScale(format: format, paths: [file])
                var replay = try FeedReplay(format: format, priceIncrement: scale.price, sizeIncrement: scale.size)
                try replay.replay(path: file, checkpointEvery: 1) { _ in }
                #expect((replay.tornTail != nil) == torn, "\(format) \(last): \(String(describing: replay.tornTail))")
                #expect(
                    replay.statistics.rows == lines.count - ([.bybitOrderBook, .l3JSONLines].contains(format) ? 0 : 1)
                        + (torn ? 0 : 1),
                    "\(format) \(last)")
            }
        }
    }

    /// A book snapshot's side ends at its first empty level: a level after it (a hole) is
    /// damage, refused at its line (it had been read as the side's only level); a side with
    /// fewer levels, empty to the end, is read.
    @Test func aSnapshotSideWithAHoleIsRefused() throws {
        let header =
            "exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,bids[0].price,bids[0].amount,"
            + "asks[1].price,asks[1].amount,bids[1].price,bids[1].amount"
        let good = try write([header, "x,B,1000,1001,100.7,1,100.5,1,100.8,2,,"])
        let bad = try write([
            header, "x,B,1000,1001,100.7,1,100.5,1,100.8,2,,", "x,B,1002,1003,,,100.5,1,100.8,1,100.4,1",
        ])
        defer { for file in [good, bad] { try? FileManager.default.removeItem(atPath: file) } }
        let (checkpoints, _, _) = try replay(.tardisSnapshot, good)
        #expect(checkpoints.last?.askLevels == 2 && checkpoints.last?.bidLevels == 1)
        let error = try #require(throws: FeedError.self) { _ = try replay(.tardisSnapshot, bad) }
        #expect(
            "\(error)".contains(
                "\(bad):3: asks[1].price '100.8' follows an empty level of its side: a side's levels come best first, "
                    + "without a hole"), "\(error)")
    }

    @Test func tardisIncrementalL2GroupsRowsByLocalTimestamp() throws {
        var random = SplitMix64(seed: 4)
        var lines = ["exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"]
        var bids: [Decimal: Decimal] = [:]
        var asks: [Decimal: Decimal] = [:]
        var expectedBest: [Decimal?] = []
        for message in 0..<300 {
            let snapshot = message == 0 || message == 150
            if snapshot {
                bids = [:]
                asks = [:]
            }
            for _ in 0..<(snapshot ? 20 : 1 + Int(random.next(below: 4))) {
                let bid = random.next(below: 2) == 0
                let ticks = bid ? 9_900 + Int(random.next(below: 100)) : 10_001 + Int(random.next(below: 100))
                let price = Decimal(ticks) / 100
                let size =
                    random.next(below: 4) == 0 && !snapshot
                    ? Decimal(0) : Decimal(1 + Int(random.next(below: 999))) / 1_000
                lines.append("x,BTC,\(message),\(1_000 + message),\(snapshot),\(bid ? "bid" : "ask"),\(price),\(size)")
                if bid { bids[price] = size == 0 ? nil : size } else { asks[price] = size == 0 ? nil : size }
            }
            expectedBest.append(bids.keys.max())
        }
        let file = try write(lines)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (checkpoints, statistics, grid) = try replay(.tardisL2, file)
        #expect(statistics.messages == 300)
        #expect(checkpoints.map { decimal($0.bid?.price, grid) } == expectedBest)
        #expect(checkpoints.last?.bidLevels == bids.count && checkpoints.last?.askLevels == asks.count)
        #expect(decimal(checkpoints.last?.ask?.price, grid) == asks.keys.min())
    }

    /// A run of Tardis snapshot rows is one snapshot at its first row's times, whatever its
    /// rows' times: one message, every row stamped with the first's exchange and receive times
    /// (a venue or strategy never sees it half applied); the update after it keeps its own, and
    /// the next file's snapshot replaces the book again.
    @Test func aTardisSnapshotIsOneMessageAtItsFirstRowsTimes() throws {
        let lines = [
            "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount",
            "x,BTC,1000,1010,true,bid,100,1", "x,BTC,1000,1010,true,ask,101,1",
            "x,BTC,1500,1510,false,bid,99,2",
            "x,BTC,2000,2010,true,bid,98,10", "x,BTC,2001,2011,true,bid,99,4", "x,BTC,2002,2012,true,ask,101,5",
            "x,BTC,3000,3010,false,ask,102,1",
        ]
        let file = try write(lines)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (checkpoints, statistics, _) = try replay(.tardisL2, file)
        #expect(statistics.messages == 4)
        #expect(checkpoints.map(\.bidLevels) == [1, 2, 2, 2] && checkpoints.map(\.askLevels) == [1, 1, 1, 2])
        var decoder = try FeedReplay.decoder(
            format: .tardisL2, priceIncrement: try Increment("1"), sizeIncrement: try Increment("1"))
        var times: [[UInt64]] = []
        for _ in 0..<2 {
            try decoder.open(path: file)
            while let changes = try decoder.nextChanges() {
                guard !changes.isEmpty else { continue }
                times.append([UInt64(changes.count), decoder.rowExchangeTimestamp, decoder.rowLocalTimestamp])
            }
        }
        // (A snapshot's first row makes two changes: the clear, then its level.)
        let once: [[UInt64]] = [
            [2, 1_000_000, 1_010_000], [1, 1_000_000, 1_010_000], [1, 1_500_000, 1_510_000],
            [2, 2_000_000, 2_010_000], [1, 2_000_000, 2_010_000], [1, 2_000_000, 2_010_000],
            [1, 3_000_000, 3_010_000],
        ]
        // Read again as the next file: its first snapshot clears the book again.
        #expect(times == once + once)
        // Also after a file that ends in a snapshot.
        let endingInASnapshot = try write(Array(lines.dropLast()))
        defer { try? FileManager.default.removeItem(atPath: endingInASnapshot) }
        var firsts: [Int] = []
        for _ in 0..<2 {
            try decoder.open(path: endingInASnapshot)
            var first: Int?
            while let changes = try decoder.nextChanges() {
                if !changes.isEmpty, first == nil { first = changes.count }
            }
            firsts.append(first ?? 0)
        }
        #expect(firsts == [2, 2])
        // A row that is not a snapshot's ends the run, even at the snapshot's receive time: the
        // next snapshot clears the book again, at its own times (it had been folded into the
        // first, at the first's times: a look-ahead found by a review, helper-110).
        let two = try write([
            lines[0], "x,BTC,1000,1010,true,bid,100,1", "x,BTC,1000,1010,false,ask,101,1",
            "x,BTC,2000,2010,true,bid,98,1", "x,BTC,3000,3010,false,ask,102,1",
        ])
        defer { try? FileManager.default.removeItem(atPath: two) }
        let (twoCheckpoints, twoStatistics, _) = try replay(.tardisL2, two)
        #expect(twoStatistics.messages == 3)
        #expect(twoCheckpoints.map(\.bidLevels) == [1, 1, 1] && twoCheckpoints.map(\.askLevels) == [1, 0, 1])
        try decoder.open(path: two)
        var stamped: [UInt64] = []
        while let changes = try decoder.nextChanges() {
            if !changes.isEmpty { stamped.append(decoder.rowExchangeTimestamp) }
        }
        #expect(stamped == [1_000_000, 1_000_000, 2_000_000, 3_000_000])
    }

    @Test func tardisBookSnapshotsReplaceTheBookEachRow() throws {
        var header = "exchange,symbol,timestamp,local_timestamp"
        for level in 0..<5 {
            header += ",asks[\(level)].price,asks[\(level)].amount,bids[\(level)].price,bids[\(level)].amount"
        }
        var lines = [header]
        for row in 0..<50 {
            var fields = ["x", "ETH", "\(row)", "\(row)"]
            for level in 0..<5 {
                let present = level < 5 - row % 3  // fewer levels on some rows
                fields +=
                    present
                    ? ["\(2_000 + row + level).5", "\(level + 1).25", "\(1_999 + row - level).5", "\(level + 2)"]
                    : ["", "", "", ""]
            }
            lines.append(fields.joined(separator: ","))
        }
        let file = try write(lines)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (checkpoints, statistics, grid) = try replay(.tardisSnapshot, file)
        #expect(statistics.messages == 50)
        for (row, checkpoint) in checkpoints.enumerated() {
            #expect(decimal(checkpoint.ask?.price, grid) == Decimal(string: "\(2_000 + row).5"))
            #expect(decimal(checkpoint.bid?.price, grid) == Decimal(string: "\(1_999 + row).5"))
            #expect(checkpoint.bidLevels == 5 - row % 3 && checkpoint.askLevels == 5 - row % 3)
        }
    }

    @Test func orderLevelLinesKeepOrderCountsAndDetectGaps() throws {
        var random = SplitMix64(seed: 11)
        var live: [Int: (bid: Bool, price: Decimal, size: Decimal)] = [:]
        var lines: [String] = []
        var sequence = 0
        var skipped = 0
        for id in 1...2_000 {
            sequence += 1
            if id % 500 == 0 {
                sequence += 1  // a gap
                skipped += 1
            }
            if !live.isEmpty, random.next(below: 3) == 0 {
                let victim = live.keys.sorted()[Int(random.next(below: UInt64(live.count)))]
                if random.next(below: 2) == 0 {
                    lines.append("{\"seq\":\(sequence),\"op\":\"delete\",\"order_id\":\(victim)}")
                    live[victim] = nil
                } else {
                    var order = live[victim]!
                    order.size = Decimal(1 + Int(random.next(below: 50))) / 10
                    lines.append(
                        "{\"seq\":\(sequence),\"op\":\"update\",\"order_id\":\(victim),\"side\":\"\(order.bid ? "bid" : "ask")\",\"price\":\"\(order.price)\",\"size\":\"\(order.size)\"}"
                    )
                    live[victim] = order
                }
                continue
            }
            let bid = random.next(below: 2) == 0
            let price = Decimal(bid ? 4_900 + Int(random.next(below: 50)) : 5_001 + Int(random.next(below: 50))) / 100
            let size = Decimal(1 + Int(random.next(below: 50))) / 10
            lines.append(
                "{\"seq\":\(sequence),\"op\":\"add\",\"order_id\":\(id),\"side\":\"\(bid ? "bid" : "ask")\",\"price\":\"\(price)\",\"size\":\"\(size)\"}"
            )
            live[id] = (bid, price, size)
        }
        let file = try write(lines)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (checkpoints, statistics, grid) = try replay(.l3JSONLines, file, every: 0)
        #expect(checkpoints.isEmpty)
        #expect(statistics.gaps == skipped && statistics.unknownOrders == 0)
        let scale = try FeedReplay.detectScale(format: .l3JSONLines, paths: [file])
        var again = try FeedReplay(format: .l3JSONLines, priceIncrement: scale.price, sizeIncrement: scale.size)
        try again.replay(path: file)
        let final = again.currentCheckpoint
        let bidOrders = live.values.filter(\.bid)
        let askOrders = live.values.filter { !$0.bid }
        #expect(final.bidOrders == bidOrders.count && final.askOrders == askOrders.count)
        let bestBid = bidOrders.map(\.price).max()
        #expect(decimal(final.bid?.price, grid) == bestBid)
        let bestBidSize = bidOrders.filter { $0.price == bestBid }.reduce(Decimal(0)) { $0 + $1.size }
        #expect(final.bid.map { Decimal(string: $0.quantity.formatted(lotSize: scale.size))! } == bestBidSize)
        #expect(final.bidLevels == Set(bidOrders.map(\.price)).count)
        if let bestBid {
            #expect(
                again.orderCount(.buy, at: try Price("\(bestBid)", tickSize: scale.price))
                    == bidOrders.filter { $0.price == bestBid }.count)
        }
    }

    @Test func gridsAreDetectedFromEveryLineOfEveryFile() throws {
        let header = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"
        // 1,500 rows of whole prices and sizes, then one 8-decimal price far down the file.
        let first = try write(
            [header]
                + (1...1_500).map {
                    "x,BTC,\($0),\($0),false,\($0 % 2 == 0 ? "bid" : "ask"),\(60_000 + ($0 % 2 == 0 ? -$0 : $0)),1"
                })
        let second = try write([header, "x,BTC,2000,2000,false,bid,60940.35136398,0.5"])
        defer {
            try? FileManager.default.removeItem(atPath: first)
            try? FileManager.default.removeItem(atPath: second)
        }
        let grids = try FeedReplay.detectScale(format: .tardisL2, paths: [first, second])
        let (fine, tenth) = (try Increment("0.00000001"), try Increment("0.1"))
        #expect(grids.price == fine && grids.size == tenth)
        var replay = try FeedReplay(format: .tardisL2, priceIncrement: grids.price, sizeIncrement: grids.size)
        try replay.replay(paths: [first, second])
        #expect(replay.bestBidOffer.bid?.price.formatted(tickSize: grids.price) == "60940.35136398")
        #expect(replay.bestBidOffer.ask?.price.formatted(tickSize: grids.price) == "60001.00000000")
        #expect(replay.levelCount(.buy) == 751 && replay.levelCount(.sell) == 750)
        // A given grid coarser than the file: the value and its file and line are named.
        var coarse = try FeedReplay(format: .tardisL2, priceIncrement: try Increment("1"), sizeIncrement: grids.size)
        #expect(
            throws: FeedError(
                line: 2, "price '60940.35136398' has more than 0 decimal places, the most this increment allows",
                file: second
            )
        ) {
            try coarse.replay(paths: [first, second])
        }
    }

    /// A value an error quotes is cut at 120 characters, with its length, and its control
    /// characters escaped: a damaged field of 100,000 digits had made a 100 KB error line.
    @Test func aLongValueIsQuotedInPart() throws {
        let digits = String(repeating: "9", count: 100_000)
        let file = try write([
            "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount",
            "x,BTC,1,1,1,101,100,2", "x,BTC,2,2,1,\(digits),100,2",
        ])
        defer { try? FileManager.default.removeItem(atPath: file) }
        var replay = try FeedReplay(
            format: .tardisQuotes, priceIncrement: try Increment("0.01"), sizeIncrement: try Increment("0.001"))
        #expect(
            throws: FeedError(
                line: 3,
                "ask_price '\(String(repeating: "9", count: 120))… (100000 bytes)' is too large to represent in 64-bit "
                    + "fixed point at this increment", file: file)
        ) {
            try replay.replay(paths: [file])
        }
        #expect(TextField.excerpt("a\tb\u{7F}\u{9B}\u{2028}") == "a\\tb\\u{7F}\\u{009B}\\u{2028}")
        // Invalid UTF-8 is shown replaced; a character cut at the bytes decoded is never shown.
        let invalid: [UInt8] = [0x61, 0xFF, 0x62]
        #expect(invalid.withUnsafeBufferPointer { TextField.excerpt($0) } == "a\u{FFFD}b")
        let wide = Array(String(repeating: "€", count: 200).utf8)  // 3 bytes each
        #expect(
            wide.withUnsafeBufferPointer { TextField.excerpt($0) } == String(repeating: "€", count: 120)
                + "… (600 bytes)")
        #expect(
            TextField.excerpt(String(repeating: "é", count: 121)) == String(repeating: "é", count: 120)
                + "… (242 bytes)")
    }

    /// A value with more decimals than any grid holds is named by its column, as the replay's
    /// other errors name it: a quote's `ask_amount`, a snapshot's `bids[1].price`, Binance's `qty`.
    @Test func aValueTooFineForAnyGridIsNamedByItsColumn() throws {
        let fine = "1.1234567890123456789"
        let cases: [(FeedFormat, [String], String)] = [
            (
                .tardisQuotes,
                [
                    "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount",
                    "x,BTC,1,1,1,101,100,2", "x,BTC,2,2,\(fine),101,100,2",
                ],
                "ask_amount"
            ),
            (
                .tardisSnapshot,
                [
                    "exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,bids[0].price,"
                        + "bids[0].amount,asks[1].price,asks[1].amount,bids[1].price,bids[1].amount",
                    "x,BTC,1,1,101,1,100,1,102,1,99,1", "x,BTC,2,2,101,1,100,1,102,1,\(fine),1",
                ],
                "bids[1].price"
            ),
            (
                .binanceDepth,
                [
                    "symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu",
                    "BTCUSDT,1,1,1,b,set,100,1,0", "BTCUSDT,2,2,2,b,set,100,\(fine),1",
                ],
                "qty"
            ),
            (
                // Named as the replay's errors name it: the side, the level, the field.
                .bybitOrderBook,
                [
                    #"{"topic":"orderbook.50.X","type":"snapshot","ts":1,"data":{"s":"X","b":[["1.95","5"]],"a":[["1.96","5"]]},"u":1}"#,
                    #"{"topic":"orderbook.50.X","type":"delta","ts":2,"data":{"s":"X","b":[],"a":[["1.97","1"],["1.98",""#
                        + fine + #""]]},"u":2}"#,
                ],
                "a[1] size"
            ),
        ]
        for (format, lines, column) in cases {
            let file = try write(lines)
            defer { try? FileManager.default.removeItem(atPath: file) }
            #expect(
                throws: FeedError(
                    line: format == .bybitOrderBook ? 2 : 3,
                    "\(column) '\(fine)' has 19 decimals; at most 18 are supported: no grid holds it exactly",
                    file: file)
            ) {
                _ = try FeedReplay.detectScale(format: format, paths: [file])
            }
        }
        // Zeros past the 18th decimal: the flag of the grid that holds it is named.
        let zeros = try write([
            "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount",
            "x,BTC,1,1,1.5000000000000000000,101,100,2",
        ])
        defer { try? FileManager.default.removeItem(atPath: zeros) }
        #expect(
            throws: FeedError(
                line: 2,
                "ask_amount '1.5000000000000000000' has 19 decimals; at most 18 are supported (give --lot-size to read "
                    + "the file on a coarser grid)", file: zeros)
        ) {
            _ = try FeedReplay.detectScale(format: .tardisQuotes, paths: [zeros])
        }
    }

    /// The SWAR comma scanner against a plain split, on random lines of every length around the
    /// 8-byte words it reads (commas next to each other, at both ends, bytes one off a comma).
    @Test func csvRowsSplitLikeAPlainSplit() {
        var random = SplitMix64(seed: 44)
        let alphabet: [UInt8] = Array(",,,,-+.0123456789abc".utf8) + [0x2B, 0x2D, 0xAC, 0x00, 0xFF]
        for _ in 0..<100_000 {
            let length = Int(random.next(below: 40))
            let bytes = (0..<length).map { _ in alphabet[Int(random.next(below: UInt64(alphabet.count)))] }
            let expected = bytes.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).map(Array.init)
            bytes.withUnsafeBufferPointer { line in
                let row = CSVRow(line)
                #expect(CSVRow.fieldCount(line) == expected.count)
                let held = min(expected.count, CSVRow.maxFields)
                #expect(row.count == held)
                for field in 0..<held - 1 where Array(row[field]) != expected[field] {
                    Issue.record("\(bytes): field \(field) is \(Array(row[field])), not \(expected[field])")
                }
                // The last field held runs to the end of the line.
                let rest = expected[(held - 1)...].joined(separator: [UInt8(ascii: ",")])
                #expect(Array(row[held - 1]) == Array(rest))
            }
        }
    }

    /// The writer's decimals against `Price.formatted` (the String formatting), on random values
    /// and grids, signs, zero and the Int64 ends.
    @Test func decimalsAreWrittenLikeTheStringFormatting() throws {
        var random = SplitMix64(seed: 7)
        let grids = try ["1", "5", "0.1", "0.01", "0.05", "0.001", "0.00000001", "0.000000000000000001", "25"].map {
            try Increment($0)
        }
        var values: [Int64] = [0, 1, -1, 9, 10, 99, 100, .max, .min, .max / 5, .min / 5]
        for _ in 0..<20_000 {
            let value = Int64(bitPattern: random.next()) >> Int64(random.next(below: 63))
            values.append(value)
        }
        for grid in grids {
            var writer = JSONLinesWriter { _ in }
            var expected: [UInt8] = []
            for value in values {
                writer.decimal(value, increment: grid)
                expected += Array("\"\(Price(ticks: value).formatted(tickSize: grid))\"".utf8)
            }
            #expect(writer.buffer == expected, "grid \(grid)")
        }
    }
}
