import PeregrineBook
import PeregrineCodec
import PeregrineModel

/// Bybit v5 `orderbook.N` websocket messages, one JSON object per line: a snapshot rebuilds the
/// book, a delta sets levels (size 0 removes); `u` must count up by one between deltas.
extension FeedReplay {
    mutating func applyBybit(_ line: UnsafeBufferPointer<UInt8>) throws(FeedError) -> Bool {
        let message = BybitMessage(line)
        guard let kind = message.type else { throw BybitMessage.noType }
        // One instrument per file, as for Tardis and Binance rows.
        if let symbol = message.symbol {
            try noteSymbol(symbol)
            // A message whose topic names another symbol than its data is not one instrument's.
            if let topic = message.topicSymbol, !topic.elementsEqual(symbol) {
                throw FeedError(
                    line: 0,
                    "the topic names '\(TextField.excerpt(topic))' but the data's \"s\" is '\(TextField.excerpt(symbol))'"
                )
            }
        }
        statistics.rows += 1
        // A message's `ts` must be an integer of ms in range (one without has no time: 0).
        var timeWentBack = false
        if let timestamp = try message.timestamp() {
            try noteExchangeTime(timestamp, unitNanoseconds: 1_000_000)
            timeWentBack = timestamp < lastTimestamp
            lastTimestamp = Swift.max(lastTimestamp, timestamp)
        }
        if kind == .snapshot { clearBook() }
        var pairs = BybitPairs(line)
        while let (priceBytes, sizeBytes) = try pairs.next() {
            let found = pairs
            try applyLevel(try level(pairs.side, price: priceBytes, size: sizeBytes) { found.naming($0) })
        }
        // A message whose `u` or `ts` goes back is out of order (counted once); a delta whose `u`
        // skips ahead is a gap.
        var sequenceWentBack = false
        if let update = try message.updateID(searchingFrom: pairs.position) {
            let message = NumberedMessage(snapshot: kind == .snapshot, first: update, last: update, previous: -1)
            if firstNumbered == nil { firstNumbered = message }
            sequenceWentBack = kind == .delta && lastSequence >= 0 && update <= lastSequence
            if Self.isGap(message, format: .bybitOrderBook, after: lastSequence, inSnapshot: false) {
                statistics.gaps += 1
            }
            lastSequence = update
        }
        if timeWentBack || sequenceWentBack { statistics.outOfOrder += 1 }
        return true
    }

    static func noteBybitGrid(_ line: UnsafeBufferPointer<UInt8>, _ number: Int, _ grids: inout FeedGrids) {
        var pairs = BybitPairs(line)
        // (A line the replay will refuse adds nothing to the grids.)
        while let (price, size) = try? pairs.next() {
            grids.price.note(price, line: number, column: pairs.column("price"))
            grids.size.note(size, line: number, column: pairs.column("size"))
        }
    }
}
