import PeregrineBook
import PeregrineCodec
import PeregrineModel

/// Tardis `incremental_book_L2` CSV: `exchange,symbol,timestamp,local_timestamp,is_snapshot,side,
/// price,amount`; rows sharing a local_timestamp are one message, and a run of snapshot rows
/// rebuilds the book: one message at its first row's times, whatever the times of its rows
/// (Tardis: the snapshot replaces the book at its first row).
extension FeedReplay {
    /// The integer in `field` of a Tardis CSV row of `fields` fields (the header's); nil for the
    /// header row, whose field reads `name`. (Static: a method reading the replay's state had
    /// the compiler copy 512 bytes of it per row.)
    @inline(__always)
    static func tardisInteger(_ row: borrowing CSVRow, field: Int, named name: String, fields: Int)
        throws(FeedError) -> Int64?
    {
        guard row.count == fields else { throw fieldsMismatch(row.count, header: fields) }
        guard let value = row[field].integerValue else {
            if row.text(field) == name { return nil }
            throw FeedError(line: 0, "\(name) '\(TextField.excerpt(row[field]))' is not a 64-bit integer")
        }
        return value
    }

    /// Reads the columns a Tardis row of one message (quotes, trades) starts with,
    /// `exchange,symbol,timestamp,local_timestamp`, as the row's; false for the header row.
    @inline(__always)
    mutating func beginTardisRow(_ row: borrowing CSVRow) throws(FeedError) -> Bool {
        guard let timestamp = try Self.tardisInteger(row, field: 2, named: "timestamp", fields: expectedFields) else {
            return false
        }
        try noteSymbol(row[1])
        try noteExchange(row[0])
        statistics.rows += 1
        noteTimestamp(timestamp)
        try noteExchangeTime(timestamp, unitNanoseconds: 1_000)
        try noteTardisLocalTime(row[3])
        return true
    }

    mutating func applyTardisL2(_ line: UnsafeBufferPointer<UInt8>) throws(FeedError) -> Bool {
        let row = CSVRow(line)
        guard let local = try Self.tardisInteger(row, field: 3, named: "local_timestamp", fields: expectedFields) else {
            return false
        }
        guard let exchange = row[2].integerValue else {
            throw FeedError(line: 0, "timestamp '\(TextField.excerpt(row[2]))' is not a 64-bit integer")
        }
        try noteSymbol(row[1])
        try noteExchange(row[0])
        statistics.rows += 1
        try noteExchangeTime(exchange, unitNanoseconds: 1_000)
        try noteTardisLocalTime(local)
        let isSnapshot = try Self.flag(row[4], "is_snapshot", true: "true", false: "false")
        // A run of snapshot rows (no other row between them) is one snapshot: the first clears
        // the book; any other row ends the run, so the next snapshot row clears it again.
        if isSnapshot, !inSnapshot {
            clearBook()
            snapshotTimes = (rowExchangeTimestamp, rowLocalTimestamp)
        }
        inSnapshot = isSnapshot
        if local != eventID {
            // Against every file read so far (`eventID` starts again with each file).
            noteTimestamp(local)
            eventID = local
        }
        // A snapshot's rows stay at its first row's times: a venue or strategy never sees it
        // half applied, and no other file's event falls between its rows.
        if isSnapshot { (rowExchangeTimestamp, rowLocalTimestamp) = snapshotTimes }
        let side = try Self.side(row[5], bid: "bid", ask: "ask")
        try applyLevel(LevelUpdate(side: side, price: try price(row[6], "price"), quantity: try size(row[7], "amount")))
        return false
    }
}
