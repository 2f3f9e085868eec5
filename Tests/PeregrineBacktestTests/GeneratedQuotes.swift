import Foundation

/// Tardis quote files written by tests: more rows than the fixtures hold, for what happens
/// only every 65,536 events (a stop asked for, the progress).
enum GeneratedQuotes {
    /// Writes `rows` BTCUSDT quote rows to `quotes.csv` in `directory` and returns its path: one
    /// a millisecond from 2020-02-22 00:00:01 UTC, the ask stepping through 9682–9688, sizes
    /// 1.5 and 0.25 (a lot of 0.01).
    static func write(rows: Int, in directory: URL) throws -> String {
        var text = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
        for row in 0..<rows {
            let micros = 1_582_329_601_000_000 + row * 1_000
            text += "binance-futures,BTCUSDT,\(micros),\(micros),1.5,\(9_682 + row % 7),9681.5,0.25\n"
        }
        let path = directory.appendingPathComponent("quotes.csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
