/// A 64-bit hash over a canonical sequence of integers, for state fingerprints that must be
/// equal across runs, processes and machines (unlike `Hasher`, which is seeded per process).
/// Each integer (zero- or sign-extended to 64 bits) is mixed in one step: FNV-1a's xor and
/// multiply on the whole word, then a xor-shift so high bits reach low ones. Allocation-free.
public struct StateHasher: Sendable {
    @usableFromInline var state: UInt64 = 0xCBF2_9CE4_8422_2325
    /// The hash of everything combined so far.
    public var value: UInt64 { state }

    public init() {}

    /// A hasher that continues from an earlier `value` (restored from a snapshot).
    public init(resumingAt value: UInt64) { state = value }

    /// Adds the little-endian bytes of `integer`.
    @inlinable
    public mutating func combine<T: FixedWidthInteger>(_ integer: T) {
        state = (state ^ UInt64(truncatingIfNeeded: integer)) &* 0x0000_0100_0000_01B3
        state ^= state &>> 29
    }
}
