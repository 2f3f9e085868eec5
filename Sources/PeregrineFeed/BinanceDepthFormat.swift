import PeregrineBook
import PeregrineCodec
import PeregrineModel

/// Binance (USDⓈ-M) depth CSV: `symbol,timestamp,first_update_id,last_update_id,side,update_type,
/// price,qty,pu`; rows sharing a last_update_id are one message, each `snap` message replaces
/// the book, and `pu` chains each message to the one before (a break is a gap).
extension FeedReplay {
    /// A row whose update ids (`first_update_id`, `last_update_id`, `pu`) are not all integers:
    /// each is read strictly (a damaged first id had turned a message spanning the snapshot into
    /// a gap).
    static func badUpdateIDs(_ row: CSVRow) -> FeedError {
        FeedError(
            line: 0,
            "update ids first_update_id '\(TextField.excerpt(row[2]))', last_update_id "
                + "'\(TextField.excerpt(row[3]))', pu '\(TextField.excerpt(row[8]))': each must be an integer")
    }

    /// A message's ids span its updates: a first after its last, or one below 0, is damage.
    static func checkUpdateIDs(first: Int64, last: Int64) throws(FeedError) {
        guard first >= 0, last >= first else {
            throw FeedError(
                line: 0,
                "update ids first_update_id \(first), last_update_id \(last): the first must be 0 or more and at most "
                    + "the last")
        }
    }

    mutating func applyBinance(_ line: UnsafeBufferPointer<UInt8>) throws(FeedError) -> Bool {
        let row = CSVRow(line)
        guard row.count == expectedFields else { throw fieldsMismatch(row.count) }
        guard let firstUpdate = row[2].integerValue, let lastUpdate = row[3].integerValue,
            let previous = row[8].integerValue
        else {
            if row.text(0) == "symbol" { return false }
            throw Self.badUpdateIDs(row)
        }
        try Self.checkUpdateIDs(first: firstUpdate, last: lastUpdate)
        guard let exchange = row[1].integerValue else {
            throw FeedError(line: 0, "timestamp '\(TextField.excerpt(row[1]))' is not a 64-bit integer")
        }
        try noteSymbol(row[0])
        statistics.rows += 1
        try noteExchangeTime(exchange, unitNanoseconds: 1_000_000)
        // Read on every row (a message's first row decides whether it is a snapshot).
        let isSnapshot = try Self.flag(row[5], "update_type", true: "snap", false: "set")
        if lastUpdate != eventID {
            // Each snapshot (its rows share a last_update_id) is a whole book: it replaces the
            // book, a snapshot before it included. (Tardis snapshot rows in a run are one
            // snapshot, as Tardis documents: `applyTardisL2`.)
            if isSnapshot { clearBook() }
            // An event whose update id or timestamp goes back is out of order (counted once, and
            // not also as a gap); one whose `pu` is not the previous id is a gap.
            // An update follows on when its `pu` is the last id; the first after a snapshot also
            // when it spans the snapshot's id (first_update_id ≤ id + 1 and last_update_id ≥ id,
            // Binance's rule: its `pu` is older than the snapshot).
            let message = NumberedMessage(
                snapshot: isSnapshot, first: firstUpdate, last: lastUpdate, previous: previous)
            if firstNumbered == nil { firstNumbered = message }
            let sequenceWentBack = lastSequence >= 0 && lastUpdate < lastSequence
            if Self.isGap(message, format: .binanceDepth, after: lastSequence, inSnapshot: inSnapshot) {
                statistics.gaps += 1
            }
            inSnapshot = isSnapshot
            if sequenceWentBack || exchange < lastTimestamp { statistics.outOfOrder += 1 }
            lastTimestamp = Swift.max(lastTimestamp, exchange)
            eventID = lastUpdate
            lastSequence = lastUpdate
        } else if isSnapshot != inSnapshot {
            // The rows of one message share its type: a `snap` among a message's `set` rows
            // (or the reverse) had been read as the first row's type.
            throw FeedError(
                line: 0,
                "update_type '\(isSnapshot ? "snap" : "set")' is not that of the message's first row ('"
                    + "\(inSnapshot ? "snap" : "set")'): the rows of one message (one last_update_id) share it")
        }
        let side = try Self.side(row[4], bid: "b", ask: "a")
        try applyLevel(LevelUpdate(side: side, price: try price(row[6], "price"), quantity: try size(row[7], "qty")))
        return false
    }
}
