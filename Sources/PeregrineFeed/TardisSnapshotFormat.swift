import PeregrineBook
import PeregrineCodec
import PeregrineModel

/// Tardis `book_snapshot_N` CSV: `exchange,symbol,timestamp,local_timestamp`, then
/// `asks[i].price,asks[i].amount,bids[i].price,bids[i].amount` for each level; every row is a
/// whole book.
extension FeedReplay {
    mutating func applyTardisSnapshot(_ line: UnsafeBufferPointer<UInt8>) throws(FeedError) -> Bool {
        var cursor = CSVCursor(line)
        var index = 0
        var pendingPrice: UnsafeBufferPointer<UInt8>? = nil
        var timestamp: Int64? = nil
        var symbolField = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
        var exchangeField = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
        var localField = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
        /// A side's empty level seen (its levels ended): a level after it is a hole.
        var asksEnded = false
        var bidsEnded = false
        while let field = cursor.next() {
            if index == 0 {
                exchangeField = field
            } else if index == 1 {
                symbolField = field
            } else if index == 2 {
                guard let value = field.integerValue else {
                    if field.equals("timestamp") { return false }
                    throw FeedError(
                        line: 0, "timestamp '\(TextField.excerpt(field))' is not a 64-bit integer")
                }
                try noteSymbol(symbolField)
                try noteExchange(exchangeField)
                timestamp = value
                clearBook()
            } else if index == 3 {
                localField = field
            } else if index >= 4 {
                // asks[i].price, asks[i].amount, bids[i].price, bids[i].amount, ...
                if (index - 4) % 2 == 0 {
                    pendingPrice = field
                } else if let priceBytes = pendingPrice {
                    let side: Side = (index - 4) % 4 == 1 ? .sell : .buy
                    if priceBytes.isEmpty, field.isEmpty {
                        // A side with fewer levels: the rest of its levels are empty too.
                        if side == .sell { asksEnded = true } else { bidsEnded = true }
                    } else {
                        // A level is both fields or neither: one alone is bad data, not a level
                        // to leave out; and a side's levels come best first, without a hole
                        // (a level after an empty one had been read as the side's first).
                        guard !priceBytes.isEmpty, !field.isEmpty else {
                            throw Self.halfLevel(priceBytes, field, at: index)
                        }
                        if side == .sell ? asksEnded : bidsEnded { throw Self.levelAfterHole(priceBytes, at: index) }
                        let at = index
                        try applyLevel(
                            try level(side, price: priceBytes, size: field) { Self.namingColumn($0, at: at) })
                    }
                }
            }
            index += 1
        }
        guard let timestamp else { throw FeedError(line: 0, "expected a timestamp in field 3") }
        statistics.rows += 1
        noteTimestamp(timestamp)
        try noteExchangeTime(timestamp, unitNanoseconds: 1_000)
        try noteTardisLocalTime(localField)
        return true
    }

    static func noteTardisSnapshotGrid(_ line: UnsafeBufferPointer<UInt8>, _ number: Int, _ grids: inout FeedGrids) {
        var cursor = CSVCursor(line)
        var index = 0
        while let field = cursor.next() {
            if index == 2, field.integerValue == nil { return }  // the header
            if index >= 4 {
                if (index - 4) % 2 == 0 {
                    grids.price.note(field, line: number, column: snapshotColumn(index))
                } else {
                    grids.size.note(field, line: number, column: snapshotColumn(index))
                }
            }
            index += 1
        }
    }

    /// The column of the level field at `index` (from 0; levels from field 4): `asks[0].price`,
    /// `asks[0].amount`, `bids[0].price`, `bids[0].amount`, `asks[1].price`, …
    static func snapshotColumn(_ index: Int) -> String {
        let offset = index - 4
        return "\(offset % 4 < 2 ? "asks" : "bids")[\(offset / 4)].\(offset % 2 == 0 ? "price" : "amount")"
    }

    /// `error` about the level whose amount is field `index`, naming its column.
    @inline(never)
    static func namingColumn(_ error: FeedError, at index: Int) -> FeedError {
        var named = error
        for (generic, field) in [("a level's price", index - 1), ("a level's size", index)]
        where named.message.hasPrefix(generic) {
            named.message = snapshotColumn(field) + named.message.dropFirst(generic.count)
        }
        return named
    }

    /// A level (its amount at `index`) after an empty level of its side.
    @inline(never)
    static func levelAfterHole(_ price: UnsafeBufferPointer<UInt8>, at index: Int) -> FeedError {
        FeedError(
            line: 0,
            "\(snapshotColumn(index - 1)) '\(TextField.excerpt(price))' follows an empty level of its side: a side's "
                + "levels come best first, without a hole")
    }

    @inline(never)
    static func halfLevel(_ price: UnsafeBufferPointer<UInt8>, _ amount: UnsafeBufferPointer<UInt8>, at index: Int)
        -> FeedError
    {
        price.isEmpty
            ? FeedError(
                line: 0,
                "\(snapshotColumn(index - 1)) is empty where \(snapshotColumn(index)) is '\(TextField.excerpt(amount))'"
            )
            : FeedError(
                line: 0,
                "\(snapshotColumn(index)) is empty where \(snapshotColumn(index - 1)) is '\(TextField.excerpt(price))'"
            )
    }
}
