/// The 64-byte wire form of an `Event` (little-endian; unused bytes must be zero).
///
/// ```
///  0     kind (u8: 1 level update, 2 trade, 3 quote, 4 transaction, 5 timer, 6 order,
///        7 clear book, 8 record chunk, 9 record end, 10 chain head, 11 admin)
///  1     format version (u8, 6; versions 1 to 5 are read too: version 5's chain heads have no
///        next-block timestamp (read as 0, unknown), version 4 has no kind 11,
///        version 3 no kinds 8-10,
///        versions 1 and 2 no clear-book kind either, and version 1's bytes 16-23 held the
///        feed's sequence number, which nothing used, and decode as exchange timestamp 0)
///  2-3   reserved (0)
///  4-7   instrument (u32)
///  8-15  timestamp, ns (u64)
///  16-23 exchange timestamp, ns since the Unix epoch (u64; 0: none)
///  24-63 payload:
///        level update  price i64 @24, quantity i64 @32, side u8 @40
///        trade         price i64 @24, quantity i64 @32, trade id u64 @40, aggressor u8 @48
///        quote         bid price @24, bid qty @32, ask price @40, ask qty @48 (i64 each)
///        transaction   the 32-byte Transaction encoding @24
///        timer         timer id u64 @24, deadline u64 @32
///        order         order id u64 @24, price i64 @32, stop price i64 @40, quantity i64 @48,
///                      account u32 @56, action u8 @60, type u8 @61, time in force u8 @62,
///                      side u8 @63 (the whole OrderCommand)
///        clear book    none (all zero)
///        record chunk  36 bytes of the record @24 (bytes 60-63 zero)
///        record end    type u8 @24, length u32 @28, CRC-32C u32 @32
///        chain head    block number u64 @24, base fee in wei u64 @32, next block's least
///                      timestamp (Unix s) u64 @40
///        admin         action u8 @24 (1 kill, 2 reset), request id u64 @32
/// ```
extension Event {
    /// Size of an encoded event.
    @inlinable public static var encodedSize: Int { 64 }
    /// The format version written in byte 1.
    public static let wireVersion: UInt8 = 6
    /// The format versions `init(decoding:)` reads.
    public static let readableWireVersions: ClosedRange<UInt8> = 1...6

    /// Writes the 64-byte encoding at the start of `bytes`, without allocating.
    /// Throws `.truncated` when `bytes` is shorter than 64.
    @inlinable
    public func encode(into bytes: UnsafeMutableRawBufferPointer) throws(ModelError) {
        guard bytes.count >= Self.encodedSize else {
            throw .truncated(type: "Event", needed: Self.encodedSize, available: bytes.count)
        }
        let frame = UnsafeMutableRawBufferPointer(rebasing: bytes[0..<Self.encodedSize])
        frame.initializeMemory(as: UInt8.self, repeating: 0)
        Wire.store(payload.kind.rawValue, frame, 0)
        Wire.store(Self.wireVersion, frame, 1)
        Wire.store(instrument.rawValue, frame, 4)
        Wire.store(timestamp, frame, 8)
        Wire.store(exchangeTimestamp, frame, 16)
        switch payload {
        case .levelUpdate(let update):
            Wire.store(update.price.ticks, frame, 24)
            Wire.store(update.quantity.lots, frame, 32)
            Wire.store(update.side.rawValue, frame, 40)
        case .trade(let trade):
            Wire.store(trade.price.ticks, frame, 24)
            Wire.store(trade.quantity.lots, frame, 32)
            Wire.store(trade.tradeID, frame, 40)
            Wire.store(trade.aggressor.rawValue, frame, 48)
        case .quote(let quote):
            Wire.store(quote.bidPrice.ticks, frame, 24)
            Wire.store(quote.bidQuantity.lots, frame, 32)
            Wire.store(quote.askPrice.ticks, frame, 40)
            Wire.store(quote.askQuantity.lots, frame, 48)
        case .transaction(let transaction):
            try transaction.encode(into: UnsafeMutableRawBufferPointer(rebasing: frame[24..<56]))
        case .timer(let timer):
            Wire.store(timer.timerID, frame, 24)
            Wire.store(timer.deadline, frame, 32)
        case .order(let command):
            Wire.store(command.orderID.rawValue, frame, 24)
            Wire.store(command.price.ticks, frame, 32)
            Wire.store(command.stopPrice.ticks, frame, 40)
            Wire.store(command.quantity.lots, frame, 48)
            Wire.store(command.account.rawValue, frame, 56)
            Wire.store(command.action.rawValue, frame, 60)
            Wire.store(command.type.rawValue, frame, 61)
            Wire.store(command.timeInForce.rawValue, frame, 62)
            Wire.store(command.side.rawValue, frame, 63)
        case .clearBook:
            break
        case .recordChunk(let chunk):
            chunk.withBytes { UnsafeMutableRawBufferPointer(rebasing: frame[24..<60]).copyMemory(from: $0) }
        case .recordEnd(let end):
            Wire.store(end.type.rawValue, frame, 24)
            Wire.store(end.length, frame, 28)
            Wire.store(end.checksum, frame, 32)
        case .chainHead(let head):
            Wire.store(head.blockNumber, frame, 24)
            Wire.store(head.baseFeeWei, frame, 32)
            Wire.store(head.nextTimestamp, frame, 40)
        case .admin(let command):
            Wire.store(command.action.rawValue, frame, 24)
            Wire.store(command.requestID, frame, 32)
        }
    }

    /// Reads an event from the first 64 bytes of `bytes`, without allocating. Rejects
    /// truncated input, an unknown kind or version, non-zero reserved bytes, an invalid side
    /// or origin, negative quantities, and market data prices beyond ±`Price.maxTicks`. Inlined: market data decodes where it is read; the
    /// other kinds take the general decoder.
    @inlinable @inline(__always)
    public init(decoding bytes: UnsafeRawBufferPointer) throws(ModelError) {
        guard bytes.count >= Self.encodedSize else {
            throw .truncated(type: "Event", needed: Self.encodedSize, available: bytes.count)
        }
        let frame = UnsafeRawBufferPointer(rebasing: bytes[0..<Self.encodedSize])
        if let event = Self.decodeMarketData(frame) {
            self = event
        } else {
            self = try Self.decodeAnyKind(frame)
        }
    }

    /// The general decoder of a 64-byte frame: every kind and version, naming what is wrong.
    @inlinable @inline(never)
    static func decodeAnyKind(_ frame: UnsafeRawBufferPointer) throws(ModelError) -> Event {
        let kindRaw = Wire.load(frame, 0, as: UInt8.self)
        guard let kind = EventKind(rawValue: kindRaw) else { throw .unknownEventKind(kindRaw) }
        let version = Wire.load(frame, 1, as: UInt8.self)
        guard Self.readableWireVersions.contains(version) else {
            throw .unsupportedVersion(
                type: "Event", found: Int(version),
                readable: Int(
                    Self.readableWireVersions.lowerBound)...Int(
                        Self.readableWireVersions.upperBound))
        }
        try Wire.requireZero(frame, 2..<4, type: "Event")
        let payload: EventPayload
        switch kind {
        case .levelUpdate:
            try Wire.requireZero(frame, 41..<64, type: "Event")
            payload = .levelUpdate(
                LevelUpdate(
                    side: try Wire.side(Wire.load(frame, 40, as: UInt8.self), type: "LevelUpdate", field: "side"),
                    price: try Wire.price(Wire.load(frame, 24, as: Int64.self), type: "LevelUpdate", field: "price"),
                    quantity: try Wire.quantity(
                        Wire.load(frame, 32, as: Int64.self), type: "LevelUpdate", field: "quantity")))
        case .trade:
            try Wire.requireZero(frame, 49..<64, type: "Event")
            payload = .trade(
                Trade(
                    price: try Wire.price(Wire.load(frame, 24, as: Int64.self), type: "Trade", field: "price"),
                    quantity: try Wire.quantity(Wire.load(frame, 32, as: Int64.self), type: "Trade", field: "quantity"),
                    aggressor: try Wire.side(Wire.load(frame, 48, as: UInt8.self), type: "Trade", field: "aggressor"),
                    tradeID: Wire.load(frame, 40, as: UInt64.self)))
        case .quote:
            try Wire.requireZero(frame, 56..<64, type: "Event")
            payload = .quote(
                Quote(
                    bidPrice: try Wire.price(Wire.load(frame, 24, as: Int64.self), type: "Quote", field: "bidPrice"),
                    bidQuantity: try Wire.quantity(
                        Wire.load(frame, 32, as: Int64.self), type: "Quote", field: "bidQuantity"),
                    askPrice: try Wire.price(Wire.load(frame, 40, as: Int64.self), type: "Quote", field: "askPrice"),
                    askQuantity: try Wire.quantity(
                        Wire.load(frame, 48, as: Int64.self), type: "Quote", field: "askQuantity")))
        case .transaction:
            try Wire.requireZero(frame, 56..<64, type: "Event")
            payload = .transaction(try Transaction(decoding: UnsafeRawBufferPointer(rebasing: frame[24..<56])))
        case .timer:
            try Wire.requireZero(frame, 40..<64, type: "Event")
            payload = .timer(
                TimerFire(
                    timerID: Wire.load(frame, 24, as: UInt64.self), deadline: Wire.load(frame, 32, as: UInt64.self)))
        case .order:
            payload = .order(try Self.decodeOrder(frame))
        case .clearBook:
            guard version >= 3 else { throw .unknownEventKind(kindRaw) }
            try Wire.requireZero(frame, 24..<64, type: "Event")
            payload = .clearBook
        case .recordChunk:
            guard version >= 4 else { throw .unknownEventKind(kindRaw) }
            try Wire.requireZero(frame, 60..<64, type: "Event")
            payload = .recordChunk(RecordChunk(UnsafeRawBufferPointer(rebasing: frame[24..<60])))
        case .recordEnd:
            guard version >= 4 else { throw .unknownEventKind(kindRaw) }
            try Wire.requireZero(frame, 25..<28, type: "Event")
            try Wire.requireZero(frame, 36..<64, type: "Event")
            let typeRaw = Wire.load(frame, 24, as: UInt8.self)
            guard let type = RecordType(rawValue: typeRaw) else {
                throw .invalidField(type: "RecordEnd", field: "type", value: Int64(typeRaw))
            }
            payload = .recordEnd(
                RecordEnd(
                    type: type, length: Wire.load(frame, 28, as: UInt32.self),
                    checksum: Wire.load(frame, 32, as: UInt32.self)))
        case .chainHead:
            guard version >= 4 else { throw .unknownEventKind(kindRaw) }
            try Wire.requireZero(frame, (version >= 6 ? 48 : 40)..<64, type: "Event")
            payload = .chainHead(
                ChainHead(
                    blockNumber: Wire.load(frame, 24, as: UInt64.self),
                    baseFeeWei: Wire.load(frame, 32, as: UInt64.self),
                    nextTimestamp: version >= 6 ? Wire.load(frame, 40, as: UInt64.self) : 0))
        case .admin:
            guard version >= 5 else { throw .unknownEventKind(kindRaw) }
            try Wire.requireZero(frame, 25..<32, type: "Event")
            try Wire.requireZero(frame, 40..<64, type: "Event")
            let actionRaw = Wire.load(frame, 24, as: UInt8.self)
            guard let action = AdminAction(rawValue: actionRaw) else {
                throw .invalidField(type: "AdminCommand", field: "action", value: Int64(actionRaw))
            }
            payload = .admin(AdminCommand(action, requestID: Wire.load(frame, 32, as: UInt64.self)))
        }
        return Event(
            timestamp: Wire.load(frame, 8, as: UInt64.self),
            exchangeTimestamp: version == 1 ? 0 : Wire.load(frame, 16, as: UInt64.self),
            instrument: InstrumentID(Wire.load(frame, 4, as: UInt32.self)),
            payload: payload)
    }
}

extension Event {
    /// The market-data kinds of versions 5 and 6 (level update, trade, quote, clear book),
    /// checked word by word: the bulk of journals and converted files. Nil for anything else,
    /// valid or not: `init(decoding:)` then takes the general path, which names what is wrong.
    /// Accepts exactly what the general path accepts for these kinds.
    @inlinable @inline(__always)
    static func decodeMarketData(_ frame: UnsafeRawBufferPointer) -> Event? {
        let head = Wire.load(frame, 0, as: UInt32.self)
        let a = Wire.load(frame, 24, as: Int64.self)
        let b = Wire.load(frame, 32, as: Int64.self)
        let c = Wire.load(frame, 40, as: UInt64.self)
        let d = Wire.load(frame, 48, as: UInt64.self)
        let e = Wire.load(frame, 56, as: UInt64.self)
        // Kind in byte 0, the version in byte 1, reserved bytes 2-3 zero.
        guard isMarketDataVersion(head) else { return nil }
        let payload: EventPayload
        switch head & 0xFF {
        case UInt32(EventKind.levelUpdate.rawValue):
            guard let update = levelUpdate(price: a, quantity: b, side: c, rest: d | e) else { return nil }
            payload = .levelUpdate(update)
        case UInt32(EventKind.trade.rawValue):
            // The aggressor 0 or 1 in byte 48, bytes 49-63 zero.
            guard d <= 1, e == 0, b >= 0, Price.inRange(a) else { return nil }
            payload = .trade(
                Trade(
                    price: Price(ticks: a), quantity: Quantity(lots: b), aggressor: d == 0 ? .buy : .sell,
                    tradeID: c))
        case UInt32(EventKind.quote.rawValue):
            let askQuantity = Int64(bitPattern: d)
            guard e == 0, b >= 0, askQuantity >= 0, Price.inRange(a), Price.inRange(Int64(bitPattern: c)) else {
                return nil
            }
            payload = .quote(
                Quote(
                    bidPrice: Price(ticks: a), bidQuantity: Quantity(lots: b),
                    askPrice: Price(ticks: Int64(bitPattern: c)), askQuantity: Quantity(lots: askQuantity)))
        case UInt32(EventKind.clearBook.rawValue):
            guard a == 0, b == 0, c == 0, d == 0, e == 0 else { return nil }
            payload = .clearBook
        default:
            return nil
        }
        return Event(
            timestamp: Wire.load(frame, 8, as: UInt64.self), exchangeTimestamp: Wire.load(frame, 16, as: UInt64.self),
            instrument: InstrumentID(Wire.load(frame, 4, as: UInt32.self)), payload: payload)
    }

    @inlinable
    static func decodeOrder(_ frame: UnsafeRawBufferPointer) throws(ModelError) -> OrderCommand {
        let actionRaw = Wire.load(frame, 60, as: UInt8.self)
        guard let action = OrderAction(rawValue: actionRaw) else {
            throw .invalidField(type: "OrderCommand", field: "action", value: Int64(actionRaw))
        }
        let typeRaw = Wire.load(frame, 61, as: UInt8.self)
        guard let type = OrderType(rawValue: typeRaw) else {
            throw .invalidField(type: "OrderCommand", field: "type", value: Int64(typeRaw))
        }
        let timeInForceRaw = Wire.load(frame, 62, as: UInt8.self)
        guard let timeInForce = TimeInForce(rawValue: timeInForceRaw) else {
            throw .invalidField(type: "OrderCommand", field: "timeInForce", value: Int64(timeInForceRaw))
        }
        return OrderCommand(
            action: action, orderID: OrderID(Wire.load(frame, 24, as: UInt64.self)),
            account: AccountID(Wire.load(frame, 56, as: UInt32.self)),
            side: try Wire.side(Wire.load(frame, 63, as: UInt8.self), type: "OrderCommand", field: "side"),
            type: type, timeInForce: timeInForce, price: Price(ticks: Wire.load(frame, 32, as: Int64.self)),
            stopPrice: Price(ticks: Wire.load(frame, 40, as: Int64.self)),
            quantity: Quantity(lots: Wire.load(frame, 48, as: Int64.self)))
    }

    /// The level update a 64-byte frame holds when it is one of the current version at exactly
    /// `instrument` (raw id), `timestamp` and `exchangeTimestamp`, with what
    /// `decodeMarketData` checks for a level update; nil for anything else (the general path then
    /// decodes it). A backtest reads the changes of one message this way, without an `Event`.
    @inlinable @inline(__always)
    public static func levelUpdate(
        in frame: UnsafeRawBufferPointer, instrument: UInt32, timestamp: UInt64, exchangeTimestamp: UInt64
    ) -> LevelUpdate? {
        guard frame.count >= encodedSize else { return nil }
        let head = Wire.load(frame, 0, as: UInt32.self)
        guard Self.isMarketDataVersion(head), head & 0xFF == UInt32(EventKind.levelUpdate.rawValue),
            Wire.load(frame, 4, as: UInt32.self) == instrument, Wire.load(frame, 8, as: UInt64.self) == timestamp,
            Wire.load(frame, 16, as: UInt64.self) == exchangeTimestamp
        else { return nil }
        return levelUpdate(
            price: Wire.load(frame, 24, as: Int64.self), quantity: Wire.load(frame, 32, as: Int64.self),
            side: Wire.load(frame, 40, as: UInt64.self),
            rest: Wire.load(frame, 48, as: UInt64.self) | Wire.load(frame, 56, as: UInt64.self))
    }

    /// Whether an encoding's first word (kind, version, 2 reserved bytes) has version 5 or 6 and
    /// its reserved bytes zero: the versions whose market data the fast paths read (6 changed
    /// only chain heads).
    @inlinable @inline(__always)
    static func isMarketDataVersion(_ head: UInt32) -> Bool {
        let version = head & 0xFFFF_FF00
        return version == 6 &<< 8 || version == 5 &<< 8
    }

    /// A level update's payload words as the current version checks them: the side 0 or 1 in
    /// byte 40, bytes 41-63 zero (`rest`: bytes 48-63), a quantity ≥ 0, a price within range.
    @inlinable @inline(__always)
    static func levelUpdate(price: Int64, quantity: Int64, side: UInt64, rest: UInt64) -> LevelUpdate? {
        guard side <= 1, rest == 0, quantity >= 0, Price.inRange(price) else { return nil }
        return LevelUpdate(
            side: side == 0 ? .buy : .sell, price: Price(ticks: price), quantity: Quantity(lots: quantity))
    }
}
