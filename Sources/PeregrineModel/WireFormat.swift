/// Little-endian field access on raw bytes, shared by the codecs. No allocation, no copies
/// beyond the field itself; unaligned access is allowed.
@usableFromInline
enum Wire {
    @inlinable
    static func load<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, _ offset: Int, as: T.Type) -> T {
        T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    @inlinable
    static func store<T: FixedWidthInteger>(_ value: T, _ bytes: UnsafeMutableRawBufferPointer, _ offset: Int) {
        bytes.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }

    /// Throws unless bytes `range` are all zero (unused space must be zero, so every valid
    /// encoding is canonical).
    @inlinable
    static func requireZero(
        _ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, type: String
    ) throws(ModelError) {
        // Eight bytes at a time; only a non-zero word is looked at byte by byte.
        var offset = range.lowerBound
        while offset &+ 8 <= range.upperBound {
            if bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self) != 0 { break }
            offset &+= 8
        }
        while offset < range.upperBound {
            if bytes[offset] != 0 {
                throw .invalidField(type: type, field: "reserved byte \(offset)", value: Int64(bytes[offset]))
            }
            offset &+= 1
        }
    }

    @inlinable
    static func side(_ raw: UInt8, type: String, field: String) throws(ModelError) -> Side {
        guard let side = Side(rawValue: raw) else {
            throw .invalidField(type: type, field: field, value: Int64(raw))
        }
        return side
    }

    @inlinable
    static func price(_ ticks: Int64, type: String, field: String) throws(ModelError) -> Price {
        guard Price.inRange(ticks) else { throw .invalidField(type: type, field: field, value: ticks) }
        return Price(ticks: ticks)
    }

    @inlinable
    static func quantity(_ lots: Int64, type: String, field: String) throws(ModelError) -> Quantity {
        guard lots >= 0 else { throw .invalidField(type: type, field: field, value: lots) }
        return Quantity(lots: lots)
    }
}
