import Foundation
import PeregrineCodec
import PeregrineCore
import PeregrineFeed
import PeregrineModel
import PeregrineTestSupport
import Testing

/// The text formats a backtest reads (Tardis quotes, trades and incremental L2, TrueFX quotes,
/// Bybit order-book JSON lines), fuzzed: recorded files with one line damaged (bytes
/// changed, dropped, added — invalid UTF-8 too —, the line cut, a field replaced by an extreme,
/// a field added) are replayed. Each either replays whole, every row read (the damaged line as
/// the row it still spells; cut to nothing, it is a blank line), or stops naming that line,
/// never another (but a first row's damaged symbol, found at the second), and never traps.
@Suite struct FeedFuzzTests {
    /// A file of `lines` (bytes as they are, invalid UTF-8 too) under a name of its own.
    static func write(_ lines: [[UInt8]]) throws -> String {
        let path = NSTemporaryDirectory() + "peregrine-fuzz-\(UUID().uuidString).csv"
        try Data(lines.joined(separator: [UInt8(ascii: "\n")]) + [UInt8(ascii: "\n")])
            .write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The replay of `path` on the grid it detects (its statistics), or the error.
    static func replay(_ format: FeedFormat, _ path: String) -> Result<FeedStatistics, FeedError> {
        do throws(FeedError) {
            let scale = try FeedReplay.detectScale(format: format, paths: [path])
            var replay = try FeedReplay(format: format, priceIncrement: scale.price, sizeIncrement: scale.size)
            try replay.replay(path: path)
            return .success(replay.statistics)
        } catch {
            return .failure(error)
        }
    }

    /// Values that break parsers: too long, too precise, signs, exponents, words, nothing.
    static let extremes = [
        "", "-", ".", "-1", "0", "1e308", "1E5", "nan", "inf", "-0", "+5", "99999999999999999999999",
        "9223372036854775807", "9223372036854775808", "0.0000000000000000001", "1.", ".5", "1..2", "0x10",
        " 1", "1 ", "１", "é", "true", "\"1\"", "18446744073709551616",
    ]

    /// `line` damaged once, as chosen by `random` (raw bytes: invalid UTF-8 reaches the parser).
    static func damage(_ line: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var bytes = line
        // No line ends: a damaged line stays one line.
        let alphabet = Array("0123456789.,-+eE :Tabcxyz\"\\".utf8) + [0x00, 0x7F, 0xC3, 0xA9, 0xFF]
        func randomByte(_ random: inout SplitMix64) -> UInt8 {
            alphabet[Int(random.next(below: UInt64(alphabet.count)))]
        }
        var fields: [[UInt8]] {
            line.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).map(Array.init)
        }
        switch random.next(below: 6) {
        case 0 where !bytes.isEmpty:
            bytes[Int(random.next(below: UInt64(bytes.count)))] = randomByte(&random)
        case 1 where !bytes.isEmpty:
            bytes.remove(at: Int(random.next(below: UInt64(bytes.count))))
        case 2:
            bytes.insert(randomByte(&random), at: Int(random.next(below: UInt64(bytes.count + 1))))
        case 3:
            bytes = Array(bytes.prefix(Int(random.next(below: UInt64(bytes.count + 1)))))
        case 4:
            var replaced = fields
            replaced[Int(random.next(below: UInt64(replaced.count)))] = Array(
                extremes[Int(random.next(below: UInt64(extremes.count)))].utf8)
            bytes = Array(replaced.joined(separator: [UInt8(ascii: ",")]))
        default:
            var added = fields
            added.insert([UInt8(ascii: "1")], at: Int(random.next(below: UInt64(added.count + 1))))
            bytes = Array(added.joined(separator: [UInt8(ascii: ",")]))
        }
        return bytes
    }

    /// An incremental L2 file: a snapshot of 10 levels a side, then changes near the touch.
    static func l2Lines() -> [String] {
        var random = SplitMix64(seed: 12)
        var lines = ["exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"]
        for level in 0..<10 {
            lines.append("binance-futures,BTCUSDT,1600000000000000,1600000000000100,true,bid,\(9_999 - level).5,1.25")
            lines.append("binance-futures,BTCUSDT,1600000000000000,1600000000000100,true,ask,\(10_000 + level).5,0.75")
        }
        for message in 1...40 {
            let time = 1_600_000_000_000_000 + message * 1_000
            let bid = random.next(below: 2) == 0
            let price = bid ? 9_990 + Int(random.next(below: 10)) : 10_000 + Int(random.next(below: 10))
            let size = random.next(below: 3) == 0 ? "0" : "0.\(1 + random.next(below: 900))"
            lines.append("binance-futures,BTCUSDT,\(time),\(time + 50),false,\(bid ? "bid" : "ask"),\(price).5,\(size)")
        }
        return lines
    }

    @Test(arguments: [
        (FeedFormat.tardisQuotes, "tardis_binance-futures_BTCUSDT_quotes_2020-02-22.csv"),
        (.tardisTrades, "tardis_binance-futures_BTCUSDT_trades_2020-02-22.csv"),
        (.tardisTrades, "tardis_bitmex_XBTUSD_trades_2020-03-01.csv"),
        (.truefxQuotes, "truefx_USDJPY_quotes_2013-01-01.csv"),
        (.tardisL2, ""), (.bybitOrderBook, "bybit_XRPUSDT_orderbook500_2024-12-01.jsonl"),
    ])
    func aDamagedLineReadsOrStopsTheReplayNamingIt(format: FeedFormat, fixture: String) throws {
        // (The Bybit fixture's lines end in CRLF: the CR goes with its line, as the parser takes it.)
        let lines =
            fixture.isEmpty
            ? Self.l2Lines().map { Array($0.utf8) }
            : Array(
                try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(fixture)))
                    .split(separator: UInt8(ascii: "\n")).prefix(60).map(Array.init))
        let whole = try Self.write(lines)
        defer { try? FileManager.default.removeItem(atPath: whole) }
        guard case .success(let undamaged) = Self.replay(format, whole) else {
            Issue.record("the undamaged \(format) file does not replay")
            return
        }
        #expect(undamaged.messages > 0)
        var random = SplitMix64(seed: UInt64(lines.count))
        var stopped = 0
        for _ in 0..<1_000 {
            // Any line, the header too (the first line).
            let index = Int(random.next(below: UInt64(lines.count)))
            var damaged = lines
            damaged[index] = Self.damage(lines[index], &random)
            let path = try Self.write(damaged)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let shown = String(decoding: damaged[index], as: UTF8.self).debugDescription
            switch Self.replay(format, path) {
            case .success(let statistics):
                // Read as the row it still spells: every row is still there, but a line cut to
                // nothing, which is a blank line (skipped).
                let blank = damaged[index].isEmpty || damaged[index] == [UInt8(ascii: "\r")]
                #expect(
                    statistics.rows == undamaged.rows - (blank ? 1 : 0),
                    "\(format): line \(index + 1) \(shown) gave \(statistics.rows) rows, not \(undamaged.rows)")
            case .failure(let error):
                stopped += 1
                // The first row names the file's symbol (and a Tardis file's exchange): a damaged
                // one is found at the next row, which says so.
                // (The first row is the first line after a header, the first line without one.)
                let symbolOfFirstRow =
                    index <= 1 && error.line == index + 2
                    && (error.message.contains("the symbol of the first row read")
                        || error.message.contains("the exchange of the first row read"))
                #expect(
                    error.line == index + 1 || symbolOfFirstRow,
                    "\(format): line \(index + 1) \(shown) stopped at \(error)")
            }
        }
        // Most damage is found (a changed digit often still reads as a row): 63–83% of it at
        // these seeds.
        #expect(stopped > 500, "\(format): \(stopped) of 1000 damaged files stopped")
    }
}
