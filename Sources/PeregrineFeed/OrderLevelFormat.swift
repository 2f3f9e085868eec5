import PeregrineBook
import PeregrineCodec
import PeregrineModel

/// Order-level JSON lines: `{"seq":N,"op":"add"|"update"|"delete","order_id":N,"side":"bid"|"ask",
/// "price":"decimal","size":"decimal"}`, mirrored order by order (`OrderLevelMirror`).
extension FeedReplay {
    mutating func applyOrderLevel(_ line: UnsafeBufferPointer<UInt8>) throws(FeedError) -> Bool {
        try scanner.parse(line)
        let (seq, id) = try Self.orderLevelNumbers(scanner)
        guard let op = scanner.value("op"), op.kind == .string else { throw FeedError(line: 0, "missing \"op\"") }
        statistics.rows += 1
        if lastSequence >= 0, seq != lastSequence &+ 1 {
            if seq <= lastSequence { statistics.outOfOrder += 1 } else { statistics.gaps += 1 }
        }
        lastSequence = Swift.max(lastSequence, seq)
        let orderID = UInt64(id)
        if op.bytes.equals("delete") {
            guard let old = mirror.orders.remove(orderID) else {
                statistics.unknownOrders += 1
                return true
            }
            let remaining = mirror.leave(old.side, price: old.price, lots: old.lots)
            captureLevel(old.side, old.price, remaining)
            return true
        }
        guard op.bytes.equals("add") || op.bytes.equals("update") else {
            throw FeedError(
                line: 0, "unknown op '\(TextField.excerpt(op.bytes))' (use add, update or delete)")
        }
        guard let sideValue = scanner.value("side"), sideValue.kind == .string,
            sideValue.bytes.equals("bid") || sideValue.bytes.equals("ask")
        else { throw FeedError(line: 0, "\"side\" must be \"bid\" or \"ask\"") }
        let side: Side = sideValue.bytes.equals("bid") ? .buy : .sell
        guard let priceValue = scanner.value("price"), let sizeValue = scanner.value("size") else {
            throw FeedError(line: 0, "an add or update needs \"price\" and \"size\"")
        }
        let newPrice = try price(priceValue.bytes, "price").ticks
        let newLots = try size(sizeValue.bytes, "size").lots
        let isAdd = op.bytes.equals("add")
        // The order leaves its old level first (so a move out of a lone level frees it), then
        // joins the new one; a refusal (ceiling, overflow) puts it back and changes nothing.
        let old = mirror.orders.set(orderID, side: side, price: newPrice, lots: newLots)
        if let old {
            if isAdd { statistics.unknownOrders += 1 }
            _ = mirror.leave(old.side, price: old.price, lots: old.lots)
        } else if !isAdd {
            statistics.unknownOrders += 1
        }
        do { try mirror.join(side, price: newPrice, lots: newLots) } catch {
            if let old {
                _ = mirror.orders.set(orderID, side: old.side, price: old.price, lots: old.lots)
                try? mirror.join(old.side, price: old.price, lots: old.lots)  // cannot fail: it was held
            } else {
                _ = mirror.orders.remove(orderID)
            }
            throw mirrorError(error, side: side, price: newPrice)
        }
        if capturing, let old, old.side != side || old.price != newPrice {
            captureLevel(old.side, old.price, mirror.levelTotal(old.side, at: old.price))
        }
        if capturing { captureLevel(side, newPrice, mirror.levelTotal(side, at: newPrice)) }
        return true
    }

    func mirrorError(_ error: OrderLevelMirrorError, side: Side, price: Int64) -> FeedError {
        let where_ =
            "\(side == .buy ? "bid" : "ask") level at \(Price(ticks: price).formatted(tickSize: priceIncrement))"
        switch error {
        case .ceiling(let ceiling):
            return FeedError(
                line: 0,
                "a new \(where_) would pass the mirror's ceiling of \(ceiling) levels a side "
                    + "(raise --max-levels-per-side)")
        case .levelOverflow:
            return FeedError(line: 0, "the total size of the \(where_) passes 2^63 lots")
        }
    }

    /// Captures an aggregated level's new total as a level update (for `peregrine run --source`).
    @inline(__always)
    mutating func captureLevel(_ side: Side, _ price: Int64, _ lots: Int64) {
        guard capturing else { return }
        captured.append(
            .levelUpdate(LevelUpdate(side: side, price: Price(ticks: price), quantity: Quantity(lots: lots))))
    }

    /// Orders at `price` on `side` (order-level formats).
    public func orderCount(_ side: Side, at price: Price) -> Int { mirror.orderCount(side, at: price.ticks) }

    static func noteOrderLevelGrid(
        _ line: UnsafeBufferPointer<UInt8>, _ number: Int, _ grids: inout FeedGrids, _ object: inout FlatJSONObject
    ) {
        guard (try? object.parse(line)) != nil else { return }
        if let value = object.value("price") { grids.price.note(value.bytes, line: number, column: "price") }
        if let value = object.value("size") { grids.size.note(value.bytes, line: number, column: "size") }
    }
}

extension FeedReplay {
    /// A parsed order-level line's `seq` (any 64-bit integer) and `order_id` (0 or more), or the
    /// error naming the one that is missing or out of range: read alike by the replay and by
    /// the check of a last line without a line break (`validateRecord`).
    static func orderLevelNumbers(_ scanner: borrowing FlatJSONObject) throws(FeedError) -> (seq: Int64, id: Int64) {
        guard let seqValue = scanner.value("seq") else { throw FeedError(line: 0, "missing integer \"seq\"") }
        guard seqValue.kind == .number, let seq = seqValue.bytes.integerValue else {
            throw FeedError(line: 0, "\"seq\" \(shown(seqValue)) is not a JSON integer of 64 bits")
        }
        guard let idValue = scanner.value("order_id") else {
            throw FeedError(line: 0, "missing non-negative integer \"order_id\"")
        }
        guard idValue.kind == .number, let id = idValue.bytes.integerValue, id >= 0 else {
            throw FeedError(line: 0, "\"order_id\" \(shown(idValue)) is not a JSON integer from 0 to \(Int64.max)")
        }
        return (seq, id)
    }

    /// A JSON value as the line writes it (a string in its quotes).
    private static func shown(_ value: (kind: FlatJSONObject.Kind, bytes: UnsafeBufferPointer<UInt8>)) -> String {
        let text = TextField.excerpt(value.bytes)
        return value.kind == .string ? "\"\(text)\"" : text
    }
}
