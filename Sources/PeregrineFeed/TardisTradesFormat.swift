import PeregrineBook
import PeregrineCodec
import PeregrineModel

/// Tardis `trades` CSV: `exchange,symbol,timestamp,local_timestamp,id,side,price,amount`.
extension FeedReplay {
    /// One trade row; true (each row is a message).
    mutating func applyTardisTrade(_ line: UnsafeBufferPointer<UInt8>) throws(FeedError) -> Bool {
        let row = CSVRow(line)
        guard try beginTardisRow(row) else { return false }
        let aggressor = try Self.aggressor(row[5])
        let tradePrice = try price(row[6], "price")
        let tradeSize = try size(row[7], "amount")
        statistics.trades += 1
        statistics.tradedSize &+= tradeSize.lots
        if capturing {
            captured.append(
                .trade(
                    Trade(
                        price: tradePrice, quantity: tradeSize, aggressor: aggressor,
                        tradeID: UInt64(statistics.trades))))
        }
        return true
    }

    /// A trade's aggressor side: `buy`, `sell`, or `unknown` (where the venue does not say),
    /// taken as a buy: the event model has no unknown side. Anything else is bad data.
    @inline(__always)
    static func aggressor(_ field: UnsafeBufferPointer<UInt8>) throws(FeedError) -> Side {
        if field.equals("sell") { return .sell }
        if field.equals("buy") || field.equals("unknown") { return .buy }
        throw notATradeSide(field)
    }

    @inline(never)
    static func notATradeSide(_ field: UnsafeBufferPointer<UInt8>) -> FeedError {
        FeedError(line: 0, "side '\(TextField.excerpt(field))' is not buy, sell or unknown")
    }
}
