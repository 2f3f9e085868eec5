/// A 32-byte transaction hash, inline.
@frozen
public struct TransactionHash: Hashable, Sendable, BitwiseCopyable, CustomStringConvertible {
    public var words: (UInt64, UInt64, UInt64, UInt64)

    @inlinable
    public init(_ w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64) { words = (w0, w1, w2, w3) }

    /// Parses `0x` and 64 hex digits; nil otherwise.
    public init?(hex text: some StringProtocol) {
        guard text.utf8.count == 66, let value = UInt256(hex: text) else { return nil }
        words = (
            UInt64(truncatingIfNeeded: value.high >> 64), UInt64(truncatingIfNeeded: value.high),
            UInt64(truncatingIfNeeded: value.low >> 64), UInt64(truncatingIfNeeded: value.low)
        )
    }

    public static func == (lhs: TransactionHash, rhs: TransactionHash) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2
            && lhs.words.3 == rhs.words.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    /// A well-mixed 64-bit digest (keys need not be random: each word is multiplied in).
    @inlinable
    public var digest: UInt64 {
        var h = words.0 &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ (h >> 32) ^ words.1) &* 0xC2B2_AE3D_27D4_EB4F
        h = (h ^ (h >> 29) ^ words.2) &* 0x1656_67B1_9E37_79F9
        h = (h ^ (h >> 32) ^ words.3) &* 0x9E37_79B9_7F4A_7C15
        return h ^ (h >> 31)
    }

    public var description: String {
        func hex(_ value: UInt64) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: 16 - text.count) + text
        }
        return "0x" + hex(words.0) + hex(words.1) + hex(words.2) + hex(words.3)
    }
}
