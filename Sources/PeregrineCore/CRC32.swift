/// CRC-32 (IEEE 802.3, the zlib/PNG polynomial), as exchanges use for order-book checksums.
/// Table-driven; allocation-free after the table is built on first use. Thread-safe.
public struct CRC32: Sendable {
    public private(set) var value: UInt32 = 0

    public init() {}

    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        return crc
    }

    /// Adds `bytes` to the checksum.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var crc = ~value
        Self.table.withUnsafeBufferPointer { table in
            for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        value = ~crc
    }

    /// Adds the little-endian bytes of `integer`.
    public mutating func update<T: FixedWidthInteger>(_ integer: T) {
        withUnsafeBytes(of: integer.littleEndian) { update($0) }
    }
}
