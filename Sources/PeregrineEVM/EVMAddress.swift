/// A 20-byte Ethereum address, stored inline (no heap), compared and hashed by value.
@frozen
public struct EVMAddress: Hashable, Sendable, BitwiseCopyable, CustomStringConvertible {
    /// Bytes 0–7, 8–15 and 16–19, big-endian.
    public var first: UInt64
    public var second: UInt64
    public var third: UInt32

    @inlinable
    public init(first: UInt64, second: UInt64, third: UInt32) {
        self.first = first
        self.second = second
        self.third = third
    }

    public static let zero = EVMAddress(first: 0, second: 0, third: 0)

    /// Reads the address in the low 20 bytes of the ABI word at `offset`; nil when the word's
    /// upper 12 bytes are not zero (not a valid `address` encoding). The caller checks bounds.
    @inlinable
    public init?(abiWordAt offset: Int, of bytes: UnsafeRawBufferPointer) {
        let padding0 = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        let padding1 = bytes.loadUnaligned(fromByteOffset: offset &+ 8, as: UInt32.self)
        guard padding0 == 0 && padding1 == 0 else { return nil }
        first = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset &+ 12, as: UInt64.self))
        second = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset &+ 20, as: UInt64.self))
        third = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset &+ 28, as: UInt32.self))
    }

    /// Parses `0x` and 40 hex digits (either case); nil otherwise.
    public init?(hex text: some StringProtocol) {
        let utf8 = Array(text.utf8)
        guard utf8.count == 42, utf8[0] == 48, utf8[1] == 120 || utf8[1] == 88 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 20)
        for index in 0..<20 {
            guard let high = hexNibble(utf8[2 + 2 * index]), let low = hexNibble(utf8[3 + 2 * index]) else {
                return nil
            }
            bytes[index] = high << 4 | low
        }
        func load(_ range: Range<Int>) -> UInt64 { range.reduce(0) { $0 << 8 | UInt64(bytes[$1]) } }
        first = load(0..<8)
        second = load(8..<16)
        third = UInt32(load(16..<20))
    }

    /// `0x` and 40 lowercase hex digits.
    public var description: String {
        func hex(_ value: UInt64, digits: Int) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: digits - text.count) + text
        }
        return "0x" + hex(first, digits: 16) + hex(second, digits: 16) + hex(UInt64(third), digits: 8)
    }
}
