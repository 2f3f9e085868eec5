import PeregrineCore

/// The 64-byte wire form of an `ExecutionReport` (little-endian; what gateways and
/// `peregrine venue` send on `NAME.in.K.reports`, and the engine on `NAME.out.K.reports`).
///
/// ```
///  0  kind u8 (1 accepted, 2 rejected, 3 partially filled, 4 filled, 5 cancelled, 6 replaced, 7 triggered)
///  1  format version u8 (1)
///  2  reason u8 (ExecutionReason's code)
///  3  side u8 (0 buy, 1 sell) | 0x80 when this side took liquidity (fills)
///  4  instrument u32
///  8  order id u64
/// 16  contra order id u64 (fills; 0 otherwise)
/// 24  price i64 (ticks)
/// 32  quantity i64 (lots)
/// 40  leaves quantity i64 (lots)
/// 48  trade id u64 (fills; 0 otherwise)
/// 56  account u32
/// 60  contra account u32
/// ```
extension ExecutionReport {
    public static let encodedSize = 64
    public static let wireVersion: UInt8 = 1

    /// Writes the 64 bytes at the start of `bytes` (at least 64), without allocating.
    @inlinable
    public func encode(into bytes: UnsafeMutableRawBufferPointer) throws(ModelError) {
        guard bytes.count >= Self.encodedSize else {
            throw .truncated(type: "ExecutionReport", needed: Self.encodedSize, available: bytes.count)
        }
        Wire.store(kind.rawValue, bytes, 0)
        Wire.store(Self.wireVersion, bytes, 1)
        Wire.store(reason.rawValue, bytes, 2)
        Wire.store(side.rawValue | (isAggressor ? 0x80 : 0), bytes, 3)
        Wire.store(instrument.rawValue, bytes, 4)
        Wire.store(orderID.rawValue, bytes, 8)
        Wire.store(contraOrderID.rawValue, bytes, 16)
        Wire.store(price.ticks, bytes, 24)
        Wire.store(quantity.lots, bytes, 32)
        Wire.store(leavesQuantity.lots, bytes, 40)
        Wire.store(tradeID, bytes, 48)
        Wire.store(account.rawValue, bytes, 56)
        Wire.store(contraAccount.rawValue, bytes, 60)
    }

    /// Reads a report from the first 64 bytes of `bytes`; refuses a short input, another
    /// version, an unknown kind, reason or side, and negative quantities.
    @inlinable
    public init(decoding bytes: UnsafeRawBufferPointer) throws(ModelError) {
        guard bytes.count >= Self.encodedSize else {
            throw .truncated(type: "ExecutionReport", needed: Self.encodedSize, available: bytes.count)
        }
        let version = Wire.load(bytes, 1, as: UInt8.self)
        guard version == Self.wireVersion else {
            throw .unsupportedVersion(
                type: "ExecutionReport", found: Int(version), readable: Int(Self.wireVersion)...Int(Self.wireVersion))
        }
        let kindRaw = Wire.load(bytes, 0, as: UInt8.self)
        guard let kind = ExecutionKind(rawValue: kindRaw) else {
            throw .invalidField(type: "ExecutionReport", field: "kind", value: Int64(kindRaw))
        }
        let reasonRaw = Wire.load(bytes, 2, as: UInt8.self)
        guard let reason = ExecutionReason(rawValue: reasonRaw) else {
            throw .invalidField(type: "ExecutionReport", field: "reason", value: Int64(reasonRaw))
        }
        let sideByte = Wire.load(bytes, 3, as: UInt8.self)
        let side = try Wire.side(sideByte & 0x7F, type: "ExecutionReport", field: "side")
        self.init(
            kind: kind, reason: reason, instrument: InstrumentID(Wire.load(bytes, 4, as: UInt32.self)),
            orderID: OrderID(Wire.load(bytes, 8, as: UInt64.self)),
            account: AccountID(Wire.load(bytes, 56, as: UInt32.self)), side: side,
            price: Price(ticks: Wire.load(bytes, 24, as: Int64.self)),
            quantity: try Wire.quantity(
                Wire.load(bytes, 32, as: Int64.self), type: "ExecutionReport", field: "quantity"),
            leavesQuantity: try Wire.quantity(
                Wire.load(bytes, 40, as: Int64.self), type: "ExecutionReport", field: "leavesQuantity"),
            tradeID: Wire.load(bytes, 48, as: UInt64.self),
            contraOrderID: OrderID(Wire.load(bytes, 16, as: UInt64.self)),
            contraAccount: AccountID(Wire.load(bytes, 60, as: UInt32.self)), isAggressor: sideByte & 0x80 != 0)
    }
}

extension ExecutionReport {
    /// The events a report travels in through the journal (`forEachRecordEvent`: its 64 bytes
    /// as two chunks, then the end with the report's instrument), all stamped `timestamp`. A
    /// source writes the three in one claim, so they are consecutive. Allocation-free.
    @inlinable
    public func forEachRecordEvent(timestamp: UInt64, _ body: (Event) -> Void) {
        var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { buffer in
            try? encode(into: buffer)
            PeregrineModel.forEachRecordEvent(
                UnsafeRawBufferPointer(buffer), type: .executionReport, timestamp: timestamp,
                endInstrument: instrument, body)
        }
    }
}
