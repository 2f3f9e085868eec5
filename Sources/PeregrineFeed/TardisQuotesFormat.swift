import PeregrineBook
import PeregrineCodec
import PeregrineModel

/// Tardis `quotes` CSV: `exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,
/// bid_price,bid_amount`; each row is the best bid and offer.
extension FeedReplay {
    /// One quote row; true (each row is a message).
    mutating func applyTardisQuote(_ line: UnsafeBufferPointer<UInt8>) throws(FeedError) -> Bool {
        let row = CSVRow(line)
        guard try beginTardisRow(row) else { return false }
        // An empty price is a missing side; an empty size with a price is nothing displayed.
        quoteAsk =
            row[5].isEmpty
            ? nil
            : BookLevel(
                price: try price(row[5], "ask_price", hint: Self.missingSide),
                quantity: row[4].isEmpty ? .zero : try size(row[4], "ask_amount"))
        quoteBid =
            row[6].isEmpty
            ? nil
            : BookLevel(
                price: try price(row[6], "bid_price", hint: Self.missingSide),
                quantity: row[7].isEmpty ? .zero : try size(row[7], "bid_amount"))
        captureQuote()
        return true
    }

    /// What a quote's price of zero or below may have meant.
    static var missingSide: StaticString { " (a missing side is an empty field)" }

    static func noteTardisQuoteGrid(_ line: UnsafeBufferPointer<UInt8>, _ number: Int, _ grids: inout FeedGrids) {
        let row = CSVRow(line)
        guard row.count >= 8, row[2].integerValue != nil else { return }
        grids.price.note(row[5], line: number, column: "ask_price")
        grids.price.note(row[6], line: number, column: "bid_price")
        grids.size.note(row[4], line: number, column: "ask_amount")
        grids.size.note(row[7], line: number, column: "bid_amount")
    }
}
