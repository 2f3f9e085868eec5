import PeregrineCore
import PeregrineModel

extension OrderBook {
    /// Writes the book's whole state: counters, last trade, and every resting order and
    /// pending stop in priority order with its priority stamp. Restoring it into a fresh book
    /// with the same spec (`restoreState`) gives a book that behaves identically from then on
    /// (same reports, same state hash). Call between commands. O(orders).
    public func encodeState(into encoder: inout SnapshotEncoder) {
        encoder.write(instrument.rawValue)
        encoder.write(tradeCount)
        encoder.write(sequence)
        encoder.write(hasTraded)
        encoder.write(lastTradeTicks)
        for value in [
            _counters.commands, _counters.accepted, _counters.rejected, _counters.trades, Int(_counters.volume),
            _counters.cancelled, _counters.replaced, _counters.triggered, _counters.selfTradePrevented,
        ] {
            encoder.write(Int64(value))
        }
        for ladder in [resting(.buy), resting(.sell), stops(.buy), stops(.sell)] {
            encoder.write(Int64(ladder.pointee.orderCount))
            var cursor = ladder.pointee.store.levels
            while let location = ladder.pointee.store.next(&cursor) {
                var slot = ladder.pointee.store.value(at: location).pointee.head
                while slot >= 0 {
                    let order = pool.slots[Int(slot)]
                    encoder.write(order.orderID)
                    encoder.write(order.account)
                    encoder.write(order.side.rawValue)
                    encoder.write(order.type.rawValue)
                    encoder.write(order.timeInForce.rawValue)
                    encoder.write(order.price)
                    encoder.write(order.stopPrice)
                    encoder.write(order.leaves)
                    encoder.write(order.filled)
                    encoder.write(order.sequence)
                    slot = order.next
                }
            }
        }
    }

    /// Loads what `encodeState` wrote into this book, which must be fresh (no order, no
    /// command yet) and built from the same spec. Throws, leaving the book unusable, on bytes
    /// that do not describe a valid state for this spec.
    public mutating func restoreState(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        guard pool.liveCount == 0, _counters.commands == 0 else { throw .mismatch("book \(instrument) is not fresh") }
        let stored = try decoder.read(UInt32.self, "instrument")
        guard stored == instrument.rawValue else {
            throw .mismatch("snapshot holds instrument \(stored) where this engine has \(instrument)")
        }
        tradeCount = try decoder.read(UInt64.self, "trade count")
        sequence = try decoder.read(UInt64.self, "priority sequence")
        hasTraded = try decoder.readBool("has traded")
        lastTradeTicks = try decoder.read(Int64.self, "last trade price")
        guard !hasTraded || check(price: lastTradeTicks) == .none else {
            throw .invalid(field: "last trade price", value: lastTradeTicks)
        }
        var values: [Int64] = []
        for _ in 0..<9 { values.append(try decoder.read(Int64.self, "counter")) }
        _counters.commands = Int(values[0])
        _counters.accepted = Int(values[1])
        _counters.rejected = Int(values[2])
        _counters.trades = Int(values[3])
        _counters.volume = values[4]
        _counters.cancelled = Int(values[5])
        _counters.replaced = Int(values[6])
        _counters.triggered = Int(values[7])
        _counters.selfTradePrevented = Int(values[8])
        for (position, ladder) in [resting(.buy), resting(.sell), stops(.buy), stops(.sell)].enumerated() {
            let count = try decoder.readCount("order count", minimumItemBytes: 55)
            for _ in 0..<count {
                let orderID = try decoder.read(UInt64.self, "order id")
                let account = try decoder.read(UInt32.self, "account")
                let sideRaw = try decoder.read(UInt8.self, "side")
                let typeRaw = try decoder.read(UInt8.self, "order type")
                let timeInForceRaw = try decoder.read(UInt8.self, "time in force")
                let price = try decoder.read(Int64.self, "price")
                let stopPrice = try decoder.read(Int64.self, "stop price")
                let leaves = try decoder.read(Int64.self, "open quantity")
                let filled = try decoder.read(Int64.self, "filled quantity")
                let priority = try decoder.read(UInt64.self, "priority")
                guard let side = Side(rawValue: sideRaw), side == (position % 2 == 0 ? .buy : .sell) else {
                    throw .invalid(field: "side", value: Int64(sideRaw))
                }
                guard let type = OrderType(rawValue: typeRaw) else {
                    throw .invalid(field: "order type", value: Int64(typeRaw))
                }
                guard let timeInForce = TimeInForce(rawValue: timeInForceRaw) else {
                    throw .invalid(field: "time in force", value: Int64(timeInForceRaw))
                }
                let isStop = position >= 2
                let key = isStop ? stopPrice : price
                guard check(price: key) == .none else { throw .invalid(field: "price", value: key) }
                guard leaves > 0, leaves <= maxQuantity, filled >= 0, filled <= maxQuantity else {
                    throw .invalid(field: "quantity", value: leaves)
                }
                guard ids.find(orderID) < 0 else {
                    throw .invalid(field: "duplicate order id", value: Int64(bitPattern: orderID))
                }
                let slot = pool.allocate()
                guard slot >= 0 else { throw .mismatch("more orders than the book's capacity") }
                let order = pool.slots + Int(slot)
                order.pointee.orderID = orderID
                order.pointee.account = account
                order.pointee.side = side
                order.pointee.type = type
                order.pointee.timeInForce = timeInForce
                order.pointee.price = price
                order.pointee.stopPrice = stopPrice
                order.pointee.leaves = leaves
                order.pointee.filled = filled
                order.pointee.sequence = priority
                order.pointee.state = isStop ? .pendingStop : .resting
                ids.insert(orderID, slot: slot)
                guard ladder.pointee.append(slot, price: key, quantity: leaves, slots: pool.slots) else {
                    throw .mismatch("more price levels than the book's most levels per side")
                }
            }
        }
    }
}

extension MatchingEngine {
    /// Every book's state, in the order the specs were given (see `OrderBook.encodeState`).
    public func encodeState(into encoder: inout SnapshotEncoder) {
        encoder.write(Int64(count))
        encoder.write(Int64(_unknownInstrumentCommands))
        for position in 0..<count { books[position].encodeState(into: &encoder) }
    }

    /// Loads what `encodeState` wrote into a fresh engine built from the same specs.
    public mutating func restoreState(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        let stored = try decoder.read(Int64.self, "book count")
        guard stored == Int64(count) else { throw .mismatch("snapshot has \(stored) books, this engine \(count)") }
        _unknownInstrumentCommands = Int(try decoder.read(Int64.self, "unknown instrument commands"))
        for position in 0..<count {
            try books[position].restoreState(from: &decoder)
        }
    }
}
