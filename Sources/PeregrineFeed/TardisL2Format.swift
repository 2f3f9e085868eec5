import PeregrineBook
import PeregrineCodec
import PeregrineModel

/// Tardis `incremental_book_L2` CSV: `exchange,symbol,timestamp,local_timestamp,is_snapshot,side,
/// price,amount`; rows sharing a local_timestamp are one message, and a run of snapshot rows
/// rebuilds the book.
extension FeedReplay {
    /// The integer in `field` of a Tardis CSV row (8 fields or more); nil for the header row,
    /// whose field reads `name`.
    @inline(__always)
    func tardisInteger(_ row: borrowing CSVRow, field: Int, named name: String) throws(FeedError) -> Int64? {
        guard row.count == expectedFields else { throw fieldsMismatch(row.count) }
        guard let value = row[field].integerValue else {
            if row.text(field) == name { return nil }
            throw FeedError(line: 0, "\(name) '\(row.text(field))' is not an integer")
        }
        return value
    }

    mutating func applyTardisL2(_ line: UnsafeBufferPointer<UInt8>) throws(FeedError) -> Bool {
        let row = CSVRow(line)
        guard let local = try tardisInteger(row, field: 3, named: "local_timestamp") else { return false }
        guard let exchange = row[2].integerValue else {
            throw FeedError(line: 0, "timestamp '\(row.text(2))' is not an integer")
        }
        try noteSymbol(row[1])
        try noteExchange(row[0])
        statistics.rows += 1
        try noteExchangeTime(exchange, unitNanoseconds: 1_000)
        try noteTardisLocalTime(local)
        let isSnapshot = try Self.flag(row[4], "is_snapshot", true: "true", false: "false")
        if local != eventID {
            if isSnapshot, !inSnapshot { clearBook() }
            // Against every file read so far (`eventID` starts again with each file).
            noteTimestamp(local)
            inSnapshot = isSnapshot
            eventID = local
        }
        let side = try Self.side(row[5], bid: "bid", ask: "ask")
        try applyLevel(LevelUpdate(side: side, price: try price(row[6], "price"), quantity: try size(row[7], "amount")))
        return false
    }
}
