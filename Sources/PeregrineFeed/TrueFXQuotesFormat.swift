import PeregrineBook
import PeregrineCodec
import PeregrineModel

/// TrueFX quotes CSV: `timestamp,bid,ask` (no sizes).
extension FeedReplay {
    /// One quote row; true (each row is a message).
    mutating func applyTrueFXQuote(_ line: UnsafeBufferPointer<UInt8>) throws(FeedError) -> Bool {
        let row = CSVRow(line)
        guard row.count == expectedFields else { throw fieldsMismatch(row.count) }
        if row.text(0) == "timestamp" { return false }
        let exchange = try Self.trueFXTime(row[0])
        statistics.rows += 1
        try noteExchangeTime(exchange, unitNanoseconds: 1)
        quoteBid = BookLevel(price: try price(row[1], "bid"), quantity: .zero)
        quoteAsk = BookLevel(price: try price(row[2], "ask"), quantity: .zero)
        captureQuote()
        return true
    }

    static func noteTrueFXGrid(_ line: UnsafeBufferPointer<UInt8>, _ number: Int, _ grids: inout FeedGrids) {
        let row = CSVRow(line)
        guard row.count >= 3, row[0].first != UInt8(ascii: "t") else { return }
        grids.price.note(row[1], line: number, column: "bid")
        grids.price.note(row[2], line: number, column: "ask")
    }

    /// A row's `timestamp` in ns since the Unix epoch, or an error naming it.
    static func trueFXTime(_ field: UnsafeBufferPointer<UInt8>) throws(FeedError) -> Int64 {
        guard let time = field.utcNanoseconds else {
            throw FeedError(
                line: 0,
                "timestamp '\(TextField.excerpt(field))' is not a UTC time YYYY-MM-DD HH:MM:SS[.ffffff][+00:00] "
                    + "of a real day, from 1970 to 2262")
        }
        return time
    }
}
