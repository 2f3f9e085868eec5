/// An unsigned 256-bit integer: the EVM word, for ABI values (amounts, deadlines) that may use
/// the full width. Trivially copyable, no heap. Arithmetic is only what the mempool path needs
/// and reports overflow instead of trapping.
@frozen
public struct UInt256: Hashable, Comparable, Sendable, BitwiseCopyable, CustomStringConvertible {
    public var high: UInt128
    public var low: UInt128

    @inlinable
    public init(high: UInt128, low: UInt128) {
        self.high = high
        self.low = low
    }

    @inlinable
    public init(_ value: UInt128) {
        high = 0
        low = value
    }

    public static let zero = UInt256(0)
    public static let max = UInt256(high: .max, low: .max)

    /// Reads a big-endian word (32 bytes at `offset`; the caller checks the bounds).
    @inlinable
    public init(bigEndianWordAt offset: Int, of bytes: UnsafeRawBufferPointer) {
        high = UInt128(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt128.self))
        low = UInt128(bigEndian: bytes.loadUnaligned(fromByteOffset: offset &+ 16, as: UInt128.self))
    }

    /// The value when it fits in 128 bits.
    @inlinable
    public var uint128: UInt128? { high == 0 ? low : nil }

    /// The value, or `UInt64.max` when larger (deadlines).
    @inlinable
    public var saturatingUInt64: UInt64 { high == 0 && low <= UInt128(UInt64.max) ? UInt64(low) : .max }

    @inlinable
    public static func < (lhs: UInt256, rhs: UInt256) -> Bool {
        lhs.high != rhs.high ? lhs.high < rhs.high : lhs.low < rhs.low
    }

    @inlinable
    public func addingReportingOverflow(_ other: UInt256) -> (partialValue: UInt256, overflow: Bool) {
        let (low, carry) = low.addingReportingOverflow(other.low)
        let (high1, overflow1) = high.addingReportingOverflow(other.high)
        let (high2, overflow2) = high1.addingReportingOverflow(carry ? 1 : 0)
        return (UInt256(high: high2, low: low), overflow1 || overflow2)
    }

    /// `self × factor`, with overflow reported.
    @inlinable
    public func multipliedReportingOverflow(by factor: UInt128) -> (partialValue: UInt256, overflow: Bool) {
        let lowProduct = low.multipliedFullWidth(by: factor)
        let highProduct = high.multipliedFullWidth(by: factor)
        let (high, carry) = lowProduct.high.addingReportingOverflow(highProduct.low)
        return (UInt256(high: high, low: lowProduct.low), carry || highProduct.high != 0)
    }

    /// Parses decimal digits (no sign, no separators); nil when empty, not a number, or over 2^256 − 1.
    public init?(decimal text: some StringProtocol) {
        guard !text.isEmpty else { return nil }
        var value = UInt256.zero
        for byte in text.utf8 {
            guard byte >= 48 && byte <= 57 else { return nil }
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = shifted.addingReportingOverflow(UInt256(UInt128(byte &- 48)))
            guard !overflow && !carry else { return nil }
            value = sum
        }
        self = value
    }

    /// Parses `0x`-prefixed hexadecimal (as in JSON-RPC quantities); nil when malformed or too long.
    public init?(hex text: some StringProtocol) {
        var digits = Substring(text)
        guard digits.hasPrefix("0x") || digits.hasPrefix("0X") else { return nil }
        digits = digits.dropFirst(2)
        while digits.count > 1 && digits.first == "0" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.count <= 64 else { return nil }
        var value = UInt256.zero
        for byte in digits.utf8 {
            guard let nibble = hexNibble(byte) else { return nil }
            value = UInt256(high: value.high << 4 | value.low >> 124, low: value.low << 4 | UInt128(nibble))
        }
        self = value
    }

    /// Decimal digits.
    public var description: String {
        if high == 0 { return String(low) }
        let chunk: UInt128 = 10_000_000_000_000_000_000  // 10^19
        var parts: [UInt128] = []
        var value = self
        while value.high != 0 {
            let (highQuotient, highRemainder) = value.high.quotientAndRemainder(dividingBy: chunk)
            let (lowQuotient, remainder) = chunk.dividingFullWidth((highRemainder, value.low))
            value = UInt256(high: highQuotient, low: lowQuotient)
            parts.append(remainder)
        }
        var text = String(value.low)
        for part in parts.reversed() {
            let digits = String(part)
            text += String(repeating: "0", count: 19 - digits.count) + digits
        }
        return text
    }
}

@inlinable
package func hexNibble(_ byte: UInt8) -> UInt8? {
    switch byte {
    case 48...57: return byte &- 48
    case 97...102: return byte &- 87
    case 65...70: return byte &- 55
    default: return nil
    }
}
