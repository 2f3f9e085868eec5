/// The wire form of a `Bundle`: a 24-byte header then `count` 32-byte transactions.
///
/// ```
///  0-7   id (u64)        8-15 opened at, ns (u64)
///  16    count (u8, 0...16)   17-23 reserved (0)
///  24…   transactions, 32 bytes each
/// ```
extension Bundle {
    /// Size of the header before the transactions.
    public static let headerSize = 24

    /// Bytes this bundle encodes to.
    @inlinable public var encodedSize: Int { Self.headerSize + count * Transaction.encodedSize }

    /// Writes the encoding at the start of `bytes`; returns the bytes written.
    @inlinable
    @discardableResult
    public func encode(into bytes: UnsafeMutableRawBufferPointer) throws(ModelError) -> Int {
        let size = encodedSize
        guard bytes.count >= size else { throw .truncated(type: "Bundle", needed: size, available: bytes.count) }
        UnsafeMutableRawBufferPointer(rebasing: bytes[0..<Self.headerSize]).initializeMemory(
            as: UInt8.self, repeating: 0)
        Wire.store(id, bytes, 0)
        Wire.store(openedAt, bytes, 8)
        Wire.store(storedCount, bytes, 16)
        for index in 0..<count {
            let start = Self.headerSize + index * Transaction.encodedSize
            try storage[index].encode(
                into: UnsafeMutableRawBufferPointer(rebasing: bytes[start..<start + Transaction.encodedSize]))
        }
        return size
    }

    /// Reads a bundle, rejecting truncated input, a count above 16, non-zero reserved bytes
    /// and invalid transactions.
    @inlinable
    public init(decoding bytes: UnsafeRawBufferPointer) throws(ModelError) {
        guard bytes.count >= Self.headerSize else {
            throw .truncated(type: "Bundle", needed: Self.headerSize, available: bytes.count)
        }
        let count = Int(Wire.load(bytes, 16, as: UInt8.self))
        guard count <= Self.capacity else { throw .invalidField(type: "Bundle", field: "count", value: Int64(count)) }
        try Wire.requireZero(bytes, 17..<24, type: "Bundle")
        let size = Self.headerSize + count * Transaction.encodedSize
        guard bytes.count >= size else { throw .truncated(type: "Bundle", needed: size, available: bytes.count) }
        self.init(id: Wire.load(bytes, 0, as: UInt64.self), openedAt: Wire.load(bytes, 8, as: UInt64.self))
        for index in 0..<count {
            let start = Self.headerSize + index * Transaction.encodedSize
            _ = append(
                try Transaction(
                    decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<start + Transaction.encodedSize])))
        }
    }
}
