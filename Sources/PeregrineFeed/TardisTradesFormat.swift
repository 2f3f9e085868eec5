import PeregrineBook
import PeregrineCodec
import PeregrineModel

/// Tardis `trades` CSV: `exchange,symbol,timestamp,local_timestamp,id,side,price,amount`.
extension FeedReplay {
    /// One trade row; true (each row is a message).
    mutating func applyTardisTrade(_ line: UnsafeBufferPointer<UInt8>) throws(FeedError) -> Bool {
        let row = CSVRow(line)
        guard let timestamp = try tardisInteger(row, field: 2, named: "timestamp") else { return false }
        try noteSymbol(row[1])
        statistics.rows += 1
        noteTimestamp(timestamp)
        try noteExchangeTime(timestamp, unitNanoseconds: 1_000)
        try noteTardisLocalTime(row[3])
        let tradePrice = try price(row[6], "price")
        let tradeSize = try size(row[7], "amount")
        statistics.trades += 1
        statistics.tradedSize &+= tradeSize.lots
        if capturing {
            captured.append(
                .trade(
                    Trade(
                        price: tradePrice, quantity: tradeSize, aggressor: row[5].equals("sell") ? .sell : .buy,
                        tradeID: UInt64(statistics.trades))))
        }
        return true
    }
}
