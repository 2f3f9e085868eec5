import Foundation
import PeregrineTestSupport
import Testing

/// Every feed format, cut the way a recorder that died leaves a file: the last line torn (no
/// line break, not a complete record) is reported with its file, line and bytes and never
/// applied; the replay exits 1 unless --allow-torn-tail. A complete last record without a line
/// break is fine; a bad line before the end stops the replay naming it.
@Suite("Torn and bad input, every feed format")
struct TornInputTests {
    /// A valid file of each format: a fixture, or a small generated one.
    static func sample(_ format: String, in directory: String) throws -> String {
        func fixture(_ name: String) -> String { Fixtures.path(name) }
        func write(_ lines: [String]) throws -> String {
            let path = directory + "/\(format).sample"
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        switch format {
        case "binance-depth": return fixture("binance-futures_BTCUSDT_depth_update_2022-11-01.csv")
        case "bybit-ob": return fixture("bybit_XRPUSDT_orderbook500_2024-12-01.jsonl")
        case "tardis-quotes": return fixture("tardis_binance-futures_BTCUSDT_quotes_2020-02-22.csv")
        case "tardis-trades": return fixture("tardis_binance-futures_BTCUSDT_trades_2020-02-22.csv")
        case "truefx-quotes": return fixture("truefx_USDJPY_quotes_2013-01-01.csv")
        case "tardis-l2":
            return try write(
                ["exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"]
                    + (0..<40).map {
                        "x,BTC,\($0),\(1_000 + $0),\($0 < 4),\($0 % 2 == 0 ? "bid" : "ask"),\($0 % 2 == 0 ? 99 - $0 % 7 : 101 + $0 % 7).5,0.\(1 + $0 % 9)"
                    })
        case "tardis-snapshot":
            return try write(
                [
                    "exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,bids[0].price,bids[0].amount,asks[1].price,asks[1].amount,bids[1].price,bids[1].amount"
                ]
                    + (0..<40).map {
                        "x,BTC,\($0),\($0 + 5),10\($0 % 10).5,1.\($0 % 7),9\($0 % 10).5,2.\($0 % 5),11\($0 % 10).0,3.0,8\($0 % 10).0,4.25"
                    })
        default:
            return try write(
                (0..<40).map {
                    "{\"seq\":\($0 + 1),\"op\":\"add\",\"order_id\":\($0),\"side\":\"\($0 % 2 == 0 ? "bid" : "ask")\",\"price\":\"\($0 % 2 == 0 ? 99 - $0 % 5 : 101 + $0 % 5).25\",\"size\":\"0.0\($0 % 9 + 1)\"}"
                })
        }
    }

    /// The sample's lines as the engine reads them (the Bybit sample ends its lines in CR LF).
    static func sampleLines(_ format: String, in directory: String) throws -> [String] {
        let text = try String(contentsOfFile: try sample(format, in: directory), encoding: .utf8)
        var lines = String(String.UnicodeScalarView(text.unicodeScalars.filter { $0 != "\r" })).split(
            separator: "\n", omittingEmptySubsequences: false
        ).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    static let formats = [
        "binance-depth", "bybit-ob", "tardis-quotes", "tardis-trades", "truefx-quotes", "tardis-l2", "tardis-snapshot",
        "l3-jsonl",
    ]

    static func replay(_ format: String, _ path: String, _ extra: [String] = []) throws -> PeregrineCLI.Result {
        try Faults.run(["feed", "replay", "--format", format, path, "--checkpoint-every", "1"] + extra)
    }

    @Test(arguments: formats)
    func aTornLastLineIsReportedAndNeverApplied(format: String) throws {
        let directory = Faults.scratch("torn-\(format)")
        defer { Faults.remove(directory) }
        var lines = try Self.sampleLines(format, in: directory)
        let last = lines.removeLast()
        let whole = directory + "/whole"
        let withoutLast = directory + "/without-last"
        let torn = directory + "/torn"
        let unterminated = directory + "/unterminated"
        try (lines.joined(separator: "\n") + "\n" + last + "\n").write(toFile: whole, atomically: true, encoding: .utf8)
        try (lines.joined(separator: "\n") + "\n").write(toFile: withoutLast, atomically: true, encoding: .utf8)
        let cut = String(last.prefix(last.count / 2))
        try (lines.joined(separator: "\n") + "\n" + cut).write(toFile: torn, atomically: true, encoding: .utf8)
        try (lines.joined(separator: "\n") + "\n" + last).write(toFile: unterminated, atomically: true, encoding: .utf8)
        // The grids are given so that every file is read on the same ones.
        let detected = try Self.replay(format, whole)
        #expect(detected.status == 0, "\(format): \(detected.error)")
        let grids = try #require(detected.error.split(separator: ";").last).trimmingCharacters(
            in: .whitespacesAndNewlines)
        let tick = String(grids.split(separator: " ")[2].dropLast())
        let lot = String(grids.split(separator: " ")[5])
        let flags = ["--tick-size", tick, "--lot-size", lot]

        let reference = try Self.replay(format, withoutLast, flags)
        #expect(reference.status == 0, "\(format): \(reference.error)")
        let refused = try Self.replay(format, torn, flags)
        #expect(refused.status == 1, "\(format): \(refused.error)")
        #expect(
            refused.error.contains(
                "\(torn):\(lines.count + 1): torn last line (\(cut.utf8.count) bytes, no line break): "),
            "\(format): \(refused.error)")
        #expect(refused.output == reference.output, "\(format): the torn line was applied")
        let accepted = try Self.replay(format, torn, flags + ["--allow-torn-tail"])
        #expect(accepted.status == 0 && accepted.output == reference.output, "\(format): \(accepted.error)")
        // A complete last record without a line break is applied like any other.
        let complete = try Self.replay(format, unterminated, flags)
        let full = try Self.replay(format, whole, flags)
        #expect(complete.status == 0 && complete.output == full.output, "\(format): \(complete.error)")
        // One checkpoint a message, each once (the final one is not printed again).
        let numbers = full.output.split(separator: "\n").dropFirst().compactMap { $0.split(separator: ",").first }
        #expect(numbers.map(String.init) == (1...numbers.count).map(String.init), "\(format): \(numbers)")
    }

    @Test(arguments: formats)
    func aBadLineBeforeTheEndStopsTheReplayNamingIt(format: String) throws {
        let directory = Faults.scratch("bad-\(format)")
        defer { Faults.remove(directory) }
        var lines = try Self.sampleLines(format, in: directory)
        let row = lines.count / 2
        lines[row] = format.hasSuffix("jsonl") || format == "bybit-ob" ? lines[row] + " trailing" : lines[row] + ",9"
        let bad = directory + "/bad"
        try (lines.joined(separator: "\n") + "\n").write(toFile: bad, atomically: true, encoding: .utf8)
        let result = try Self.replay(format, bad)
        #expect(result.status == 1, "\(format): \(result.output)")
        #expect(result.error.contains("\(bad):\(row + 1): "), "\(format): \(result.error)")
    }

    /// A file of one format read as another is refused at its first line, not replayed as
    /// nonsense.
    @Test func aFileOfAnotherFormatIsRefusedAtItsHeader() throws {
        let quotes = Fixtures.path("tardis_binance-futures_BTCUSDT_quotes_2020-02-22.csv")
        let trades = Fixtures.path("tardis_binance-futures_BTCUSDT_trades_2020-02-22.csv")
        for (format, path) in [
            ("tardis-trades", quotes), ("tardis-quotes", trades), ("tardis-l2", trades), ("binance-depth", quotes),
            ("truefx-quotes", quotes), ("tardis-snapshot", quotes), ("bybit-ob", quotes), ("l3-jsonl", trades),
        ] {
            let result = try Self.replay(format, path)
            #expect(result.status == 1, "\(format) on \(path)")
            #expect(result.error.contains("\(path):1: "), "\(format): \(result.error)")
        }
    }
}
