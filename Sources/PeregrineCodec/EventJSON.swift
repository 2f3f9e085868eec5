import PeregrineModel

/// The JSON form of an input event, for humans and tools: one object per line, prices in
/// ticks and quantities in lots (integers, as the engine holds them), enums as words. The
/// ingress timestamp is not part of it (the engine stamps events when they arrive).
///
/// ```
/// {"type":"level","instrument":1,"exchange_ts":1700000000123456789,"side":"buy","price":2037700,"quantity":15}
/// {"type":"trade","instrument":1,"price":2037700,"quantity":3,"aggressor":"sell","trade_id":99}
/// {"type":"quote","instrument":1,"bid_price":100,"bid_quantity":5,"ask_price":101,"ask_quantity":7}
/// {"type":"transaction","instrument":1,"id":42,"side":"buy","price":100,"quantity":1,"origin":"observed","priority_fee":3}
/// {"type":"timer","instrument":0,"timer_id":0,"deadline":1000}
/// {"type":"order","instrument":1,"action":"new","order_id":5,"account":2,"side":"sell","order_type":"limit","tif":"GTC","price":101,"stop_price":0,"quantity":4}
/// {"type":"clear","instrument":1,"exchange_ts":1700000000123456789}
/// {"type":"chunk","instrument":0,"bytes":"0x02f8b1…"}   (instrument: the chunk's index in its record)
/// {"type":"record","instrument":0,"record":"signed-transaction","length":180,"crc32c":3735928559}
/// {"type":"chain_head","instrument":0,"block":12775689,"base_fee_wei":30000000000}
/// ```
///
/// A chunk's `bytes` are 0x and up to 72 hex digits (36 bytes; fewer are padded with zeros).
/// Record types are `signed-transaction`, `traced-transaction` and `pool`.
///
/// `exchange_ts` (when the venue stamped it, ns since the Unix epoch) is optional, 0 when absent. Transactions: `origin` defaults
/// to `observed`, `priority_fee` to 0. Orders: `action`, `order_id` and `account` are
/// required; the other fields default to a cancel's (`buy`, `limit`, `GTC`, zeros), so a
/// cancel is `{"type":"order","instrument":1,"action":"cancel","order_id":5,"account":2}`.
/// Unknown keys are refused, so a misspelt field is an error rather than a default. Market
/// data quantities are not negative; order quantities are taken as sent (the matching engine
/// rejects what it cannot accept, with a report). A transaction's instrument is the event's.
/// Order types are `limit`, `market`, `stop-market`, `stop-limit`; times in force `GTC`,
/// `IOC`, `FOK`, `post-only`; actions `new`, `cancel`, `replace`; sides `buy`, `sell`.
public enum EventJSON {
    /// Appends `event` as one line (with its newline) to `writer`. Allocates nothing once the
    /// writer's buffer has its working size.
    public static func write(_ event: Event, to writer: inout JSONLinesWriter) {
        func field(_ name: StaticString, _ value: some BinaryInteger) {
            writer.raw(",\"")
            writer.raw(name)
            writer.raw("\":")
            writer.integer(value)
        }
        func field(_ name: StaticString, word: StaticString) {
            writer.raw(",\"")
            writer.raw(name)
            writer.raw("\":\"")
            writer.raw(word)
            writer.raw("\"")
        }
        writer.raw("{\"type\":\"")
        writer.raw(typeName(event.payload.kind))
        writer.raw("\"")
        field("instrument", event.instrument.rawValue)
        field("exchange_ts", event.exchangeTimestamp)
        switch event.payload {
        case .levelUpdate(let update):
            field("side", word: sideName(update.side))
            field("price", update.price.ticks)
            field("quantity", update.quantity.lots)
        case .trade(let trade):
            field("price", trade.price.ticks)
            field("quantity", trade.quantity.lots)
            field("aggressor", word: sideName(trade.aggressor))
            field("trade_id", trade.tradeID)
        case .quote(let quote):
            field("bid_price", quote.bidPrice.ticks)
            field("bid_quantity", quote.bidQuantity.lots)
            field("ask_price", quote.askPrice.ticks)
            field("ask_quantity", quote.askQuantity.lots)
        case .transaction(let transaction):
            field("id", transaction.id)
            field("side", word: sideName(transaction.side))
            field("price", transaction.price.ticks)
            field("quantity", transaction.quantity.lots)
            field("origin", word: transaction.origin == .observed ? "observed" : "strategy")
            field("priority_fee", transaction.priorityFee)
        case .timer(let timer):
            field("timer_id", timer.timerID)
            field("deadline", timer.deadline)
        case .order(let command):
            field("action", word: actionNames[Int(command.action.rawValue) - 1])
            field("order_id", command.orderID.rawValue)
            field("account", command.account.rawValue)
            field("side", word: sideName(command.side))
            field("order_type", word: orderTypeNames[Int(command.type.rawValue) - 1])
            field("tif", word: timeInForceNames[Int(command.timeInForce.rawValue) - 1])
            field("price", command.price.ticks)
            field("stop_price", command.stopPrice.ticks)
            field("quantity", command.quantity.lots)
        case .clearBook:
            break
        case .recordChunk(let chunk):
            writer.raw(",\"bytes\":")
            chunk.withBytes { writer.hex($0) }
        case .recordEnd(let end):
            field("record", word: recordTypeNames[Int(end.type.rawValue) - 1])
            field("length", end.length)
            field("crc32c", end.checksum)
        case .chainHead(let head):
            field("block", head.blockNumber)
            field("base_fee_wei", head.baseFeeWei)
            if head.nextTimestamp > 0 { field("next_timestamp", head.nextTimestamp) }
        case .admin(let command):
            field("action", word: adminActionNames[Int(command.action.rawValue) - 1])
            field("request_id", command.requestID)
        }
        writer.raw("}")
        writer.endLine()
    }

    static func typeName(_ kind: EventKind) -> StaticString {
        switch kind {
        case .levelUpdate: return "level"
        case .trade: return "trade"
        case .quote: return "quote"
        case .transaction: return "transaction"
        case .timer: return "timer"
        case .order: return "order"
        case .clearBook: return "clear"
        case .recordChunk: return "chunk"
        case .recordEnd: return "record"
        case .chainHead: return "chain_head"
        case .admin: return "admin"
        }
    }

    static func sideName(_ side: Side) -> StaticString { side == .buy ? "buy" : "sell" }

    /// Names by raw value − 1 (the enums start at 1).
    static let actionNames: [StaticString] = ["new", "cancel", "replace", "status"]
    static let orderTypeNames: [StaticString] = ["limit", "market", "stop-market", "stop-limit"]
    static let timeInForceNames: [StaticString] = ["GTC", "IOC", "FOK", "post-only"]
    static let recordTypeNames: [StaticString] = [
        "signed-transaction", "traced-transaction", "pool", "execution-report", "venue-hello",
    ]
    static let adminActionNames: [StaticString] = ["kill", "reset"]
}

/// Decodes lines of the JSON event form (`EventJSON`) into events. Reuses one field table:
/// decoding allocates nothing except to report an error. Not thread-safe (one per reader).
public struct EventJSONDecoder: ~Copyable {
    var object = FlatJSONObject()

    public init() {}

    /// The event on `line` (one JSON object, no newline), stamped with `timestamp`. Throws a
    /// message naming the field that is missing, unknown, of the wrong kind or out of range
    /// (the error's line number is 0: the caller knows where the line came from).
    public mutating func decode(_ line: UnsafeBufferPointer<UInt8>, timestamp: UInt64) throws(FeedError) -> Event {
        try object.parse(line)
        let instrument = InstrumentID(UInt32(try unsigned("instrument", max: UInt64(UInt32.max), default: nil)))
        let exchangeTimestamp = try unsigned("exchange_ts", max: .max, default: 0)
        guard let type = object.value("type"), type.kind == .string else {
            throw FeedError(line: 0, "missing \"type\" (\(Self.typeNames))")
        }
        let payload: EventPayload
        if type.bytes.equals("level") {
            try refuseUnknownKeys(["side", "price", "quantity"])
            payload = .levelUpdate(
                LevelUpdate(side: try side("side"), price: try marketPrice("price"), quantity: try quantity("quantity"))
            )
        } else if type.bytes.equals("trade") {
            try refuseUnknownKeys(["price", "quantity", "aggressor", "trade_id"])
            payload = .trade(
                Trade(
                    price: try marketPrice("price"), quantity: try quantity("quantity"),
                    aggressor: try side("aggressor"),
                    tradeID: try unsigned("trade_id", max: .max, default: nil)))
        } else if type.bytes.equals("quote") {
            try refuseUnknownKeys(["bid_price", "bid_quantity", "ask_price", "ask_quantity"])
            payload = .quote(
                Quote(
                    bidPrice: try marketPrice("bid_price"), bidQuantity: try quantity("bid_quantity"),
                    askPrice: try marketPrice("ask_price"), askQuantity: try quantity("ask_quantity")))
        } else if type.bytes.equals("transaction") {
            try refuseUnknownKeys(["id", "side", "price", "quantity", "origin", "priority_fee"])
            let origin = try word("origin", ["observed", "strategy"], default: 0)
            payload = .transaction(
                Transaction(
                    id: try unsigned("id", max: .max, default: nil), instrument: instrument, side: try side("side"),
                    price: try price("price"), quantity: try quantity("quantity"),
                    origin: origin == 0 ? .observed : .strategy,
                    priorityFee: UInt16(try unsigned("priority_fee", max: UInt64(UInt16.max), default: 0))))
        } else if type.bytes.equals("timer") {
            try refuseUnknownKeys(["timer_id", "deadline"])
            payload = .timer(
                TimerFire(
                    timerID: try unsigned("timer_id", max: .max, default: nil),
                    deadline: try unsigned("deadline", max: .max, default: nil)))
        } else if type.bytes.equals("order") {
            try refuseUnknownKeys([
                "action", "order_id", "account", "side", "order_type", "tif", "price", "stop_price", "quantity",
            ])
            payload = .order(try orderCommand())
        } else if type.bytes.equals("clear") {
            try refuseUnknownKeys([])
            payload = .clearBook
        } else if type.bytes.equals("chunk") {
            try refuseUnknownKeys(["bytes"])
            payload = .recordChunk(try chunk("bytes"))
        } else if type.bytes.equals("record") {
            try refuseUnknownKeys(["record", "length", "crc32c"])
            let recordType = try word("record", EventJSON.recordTypeNames, default: nil)
            payload = .recordEnd(
                RecordEnd(
                    type: RecordType(rawValue: UInt8(recordType + 1)) ?? .signedTransaction,
                    length: UInt32(try unsigned("length", max: UInt64(UInt32.max), default: nil)),
                    checksum: UInt32(try unsigned("crc32c", max: UInt64(UInt32.max), default: nil))))
        } else if type.bytes.equals("chain_head") {
            try refuseUnknownKeys(["block", "base_fee_wei", "next_timestamp"])
            payload = .chainHead(
                ChainHead(
                    blockNumber: try unsigned("block", max: .max, default: nil),
                    baseFeeWei: try unsigned("base_fee_wei", max: .max, default: nil),
                    nextTimestamp: try unsigned("next_timestamp", max: .max, default: 0)))
        } else if type.bytes.equals("admin") {
            try refuseUnknownKeys(["action", "request_id"])
            let action = try word("action", EventJSON.adminActionNames, default: nil)
            payload = .admin(
                AdminCommand(
                    AdminAction(rawValue: UInt8(action + 1)) ?? .kill,
                    requestID: try unsigned("request_id", max: .max, default: 0)))
        } else {
            throw FeedError(
                line: 0,
                "unknown \"type\" \"\(String(decoding: type.bytes, as: UTF8.self))\" (use \(Self.typeNames))")
        }
        return Event(
            timestamp: timestamp, exchangeTimestamp: exchangeTimestamp, instrument: instrument, payload: payload)
    }

    static let typeNames = "level, trade, quote, transaction, timer, order, clear, chunk, record, chain_head or admin"

    /// A chunk from the string value of `key`: 0x and at most 72 hex digits, an even count.
    func chunk(_ key: StaticString) throws(FeedError) -> RecordChunk {
        guard let value = object.value(key), value.kind == .string else {
            throw FeedError(line: 0, "missing \"\(key)\" (a string of 0x and up to 72 hex digits)")
        }
        var words: (UInt64, UInt64, UInt64, UInt64, UInt32) = (0, 0, 0, 0, 0)
        let text = value.bytes
        let valid = withUnsafeMutableBytes(of: &words) { storage -> Bool in
            guard text.count >= 2, text[0] == UInt8(ascii: "0"),
                text[1] == UInt8(ascii: "x") || text[1] == UInt8(ascii: "X"),
                text.count % 2 == 0, (text.count - 2) / 2 <= RecordChunk.capacity
            else { return false }
            var index = 2
            while index < text.count {
                guard let high = Self.hexValue(text[index]), let low = Self.hexValue(text[index + 1]) else {
                    return false
                }
                storage[(index - 2) / 2] = high << 4 | low
                index += 2
            }
            return true
        }
        guard valid else {
            throw FeedError(
                line: 0,
                "\"\(key)\" is \(String(decoding: text, as: UTF8.self)): use 0x and an even count of at most 72 hex digits"
            )
        }
        return withUnsafeBytes(of: words) { RecordChunk($0) }
    }

    static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    func orderCommand() throws(FeedError) -> OrderCommand {
        let action = try word("action", EventJSON.actionNames, default: nil)
        let type = try word("order_type", EventJSON.orderTypeNames, default: 0)
        let timeInForce = try word("tif", EventJSON.timeInForceNames, default: 0)
        // The indices are those of the name tables, which list every case in raw-value order.
        guard let action = OrderAction(rawValue: UInt8(action + 1)),
            let type = OrderType(rawValue: UInt8(type + 1)),
            let timeInForce = TimeInForce(rawValue: UInt8(timeInForce + 1))
        else { throw FeedError(line: 0, "order: unsupported action, order type or time in force") }
        let side = object.value("side") == nil ? 0 : try word("side", ["buy", "sell"], default: nil)
        let price = object.value("price") == nil ? 0 : try signed("price", what: "ticks")
        let stopPrice = object.value("stop_price") == nil ? 0 : try signed("stop_price", what: "ticks")
        // Order quantities travel as sent, negative ones too: the matching engine rejects them.
        let quantity = object.value("quantity") == nil ? 0 : try signed("quantity", what: "lots")
        return OrderCommand(
            action: action, orderID: OrderID(try unsigned("order_id", max: .max, default: nil)),
            account: AccountID(UInt32(try unsigned("account", max: UInt64(UInt32.max), default: nil))),
            side: side == 0 ? .buy : .sell, type: type, timeInForce: timeInForce, price: Price(ticks: price),
            stopPrice: Price(ticks: stopPrice), quantity: Quantity(lots: quantity))
    }

    func refuseUnknownKeys(_ specific: [StaticString]) throws(FeedError) {
        let unknown = object.unknownKeys(["type", "instrument", "exchange_ts"] + specific)
        guard unknown.isEmpty else {
            throw FeedError(
                line: 0,
                "unknown key(s) \(unknown.map { "\"\($0)\"" }.joined(separator: ", ")); this type takes "
                    + (["type", "instrument", "exchange_ts"] + specific).map { "\($0)" }.joined(separator: ", "))
        }
    }

    func number(_ key: StaticString) throws(FeedError) -> UnsafeBufferPointer<UInt8>? {
        guard let value = object.value(key) else { return nil }
        guard value.kind == .number else { throw FeedError(line: 0, "\"\(key)\" must be a number") }
        return value.bytes
    }

    func unsigned(_ key: StaticString, max: UInt64, default fallback: UInt64?) throws(FeedError) -> UInt64 {
        guard let bytes = try number(key) else {
            guard let fallback else { throw FeedError(line: 0, "missing \"\(key)\"") }
            return fallback
        }
        guard let value = bytes.unsignedValue, value <= max else {
            throw FeedError(
                line: 0,
                "\"\(key)\" is \(String(decoding: bytes, as: UTF8.self)): use a whole number from 0 to \(max)")
        }
        return value
    }

    func signed(_ key: StaticString, what: String) throws(FeedError) -> Int64 {
        guard let bytes = try number(key) else { throw FeedError(line: 0, "missing \"\(key)\"") }
        guard let value = bytes.integerValue else {
            throw FeedError(
                line: 0,
                "\"\(key)\" is \(String(decoding: bytes, as: UTF8.self)): use a whole number of \(what) "
                    + "(a 64-bit integer)")
        }
        return value
    }

    func price(_ key: StaticString) throws(FeedError) -> Price { Price(ticks: try signed(key, what: "ticks")) }

    /// A market data price: within ±`Price.maxTicks`, as the binary decoder requires.
    func marketPrice(_ key: StaticString) throws(FeedError) -> Price {
        let ticks = try signed(key, what: "ticks")
        guard Price.inRange(ticks) else {
            throw FeedError(line: 0, "\"\(key)\" is \(ticks): \(Price.rangeRule)")
        }
        return Price(ticks: ticks)
    }

    func quantity(_ key: StaticString) throws(FeedError) -> Quantity {
        let lots = try signed(key, what: "lots")
        guard lots >= 0 else { throw FeedError(line: 0, "\"\(key)\" is \(lots): quantities are not negative") }
        return Quantity(lots: lots)
    }

    /// The index in `words` of the string value of `key`.
    func word(_ key: StaticString, _ words: [StaticString], default fallback: Int?) throws(FeedError) -> Int {
        guard let value = object.value(key) else {
            guard let fallback else { throw FeedError(line: 0, "missing \"\(key)\"") }
            return fallback
        }
        if value.kind == .string {
            for (index, word) in words.enumerated() where value.bytes.equals(word) { return index }
        }
        throw FeedError(
            line: 0,
            "\"\(key)\" is \(String(decoding: value.bytes, as: UTF8.self)): use "
                + words.map { "\($0)" }.joined(separator: ", "))
    }

    func side(_ key: StaticString) throws(FeedError) -> Side {
        try word(key, ["buy", "sell"], default: nil) == 0 ? .buy : .sell
    }
}

extension UnsafeBufferPointer where Element == UInt8 {
    /// An unsigned decimal integer (digits only), or nil (empty, other bytes, overflow).
    public var unsignedValue: UInt64? {
        guard !isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in self {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow, !overflow2 else { return nil }
            value = sum
        }
        return value
    }
}

// MARK: Execution reports as JSON lines (what a gateway may send on NAME.in.K.reports)

extension EventJSONDecoder {
    /// An execution report line: `{"type":"report","instrument":I,"kind":K,"order_id":N,
    /// "side":"buy"|"sell","price":P,"quantity":Q,"leaves":L}` plus, optionally, `"reason"`
    /// (an `ExecutionReason` name, default none), `"trade_id"`, `"aggressor"` (true/false),
    /// `"account"`, `"contra_order_id"`, `"contra_account"`. Kinds: accepted, rejected,
    /// partially-filled, filled, cancelled, replaced, triggered, status. Throws naming the field
    /// that is missing, unknown or out of range. Allocates only to read the reason's name.
    public mutating func decodeReport(_ line: UnsafeBufferPointer<UInt8>) throws(FeedError) -> ExecutionReport {
        try object.parse(line)
        guard let type = object.value("type"), type.kind == .string, type.bytes.equals("report") else {
            throw FeedError(line: 0, "not a report: \"type\" must be \"report\"")
        }
        try refuseUnknownKeys([
            "kind", "order_id", "side", "price", "quantity", "leaves", "reason", "trade_id", "aggressor", "account",
            "contra_order_id", "contra_account",
        ])
        let kind = try word(
            "kind",
            ["accepted", "rejected", "partially-filled", "filled", "cancelled", "replaced", "triggered", "status"],
            default: nil)
        var reason = ExecutionReason.none
        if let value = object.value("reason") {
            let text = String(decoding: value.bytes, as: UTF8.self)
            guard value.kind == .string, let found = ExecutionReason.allCases.first(where: { $0.description == text })
            else {
                throw FeedError(
                    line: 0,
                    "\"reason\" is \(text): use " + ExecutionReason.allCases.map(\.description).joined(separator: ", "))
            }
            reason = found
        }
        var aggressor = false
        if let value = object.value("aggressor") {
            guard value.kind == .bool else { throw FeedError(line: 0, "\"aggressor\" must be true or false") }
            aggressor = value.bytes.equals("true")
        }
        return ExecutionReport(
            kind: ExecutionKind(rawValue: UInt8(kind + 1)) ?? .accepted, reason: reason,
            instrument: InstrumentID(UInt32(try unsigned("instrument", max: UInt64(UInt32.max), default: nil))),
            orderID: OrderID(try unsigned("order_id", max: .max, default: nil)),
            account: AccountID(UInt32(try unsigned("account", max: UInt64(UInt32.max), default: 0))),
            side: try side("side"), price: try price("price"), quantity: try quantity("quantity"),
            leavesQuantity: try quantity("leaves"), tradeID: try unsigned("trade_id", max: .max, default: 0),
            contraOrderID: OrderID(try unsigned("contra_order_id", max: .max, default: 0)),
            contraAccount: AccountID(UInt32(try unsigned("contra_account", max: UInt64(UInt32.max), default: 0))),
            isAggressor: aggressor)
    }
}
