extension Transaction {
    /// Size of an encoded transaction.
    public static let encodedSize = 32

    /// Writes the 32-byte little-endian encoding (layout in the type's documentation) at the
    /// start of `bytes`. Throws `.truncated` when `bytes` is shorter than 32.
    @inlinable
    public func encode(into bytes: UnsafeMutableRawBufferPointer) throws(ModelError) {
        guard bytes.count >= Self.encodedSize else {
            throw .truncated(type: "Transaction", needed: Self.encodedSize, available: bytes.count)
        }
        Wire.store(id, bytes, 0)
        Wire.store(price.ticks, bytes, 8)
        Wire.store(quantity.lots, bytes, 16)
        Wire.store(instrument.rawValue, bytes, 24)
        Wire.store(side.rawValue, bytes, 28)
        Wire.store(origin.rawValue, bytes, 29)
        Wire.store(priorityFee, bytes, 30)
    }

    /// Reads a transaction from the first 32 bytes, rejecting truncated input, an unknown side
    /// or origin, and a negative quantity.
    @inlinable
    public init(decoding bytes: UnsafeRawBufferPointer) throws(ModelError) {
        guard bytes.count >= Self.encodedSize else {
            throw .truncated(type: "Transaction", needed: Self.encodedSize, available: bytes.count)
        }
        let originRaw = Wire.load(bytes, 29, as: UInt8.self)
        guard let origin = TransactionOrigin(rawValue: originRaw) else {
            throw .invalidField(type: "Transaction", field: "origin", value: Int64(originRaw))
        }
        self.init(
            id: Wire.load(bytes, 0, as: UInt64.self),
            instrument: InstrumentID(Wire.load(bytes, 24, as: UInt32.self)),
            side: try Wire.side(Wire.load(bytes, 28, as: UInt8.self), type: "Transaction", field: "side"),
            price: Price(ticks: Wire.load(bytes, 8, as: Int64.self)),
            quantity: try Wire.quantity(Wire.load(bytes, 16, as: Int64.self), type: "Transaction", field: "quantity"),
            origin: origin,
            priorityFee: Wire.load(bytes, 30, as: UInt16.self))
    }
}
