/// Keccak-256 as Ethereum uses it (the original Keccak padding `0x01`, not SHA3-256's `0x06`):
/// transaction hashes, addresses from public keys, function selectors.
///
/// Written here because none of the available libraries has it: OpenSSL 3.0 (Debian 12) adds
/// KECCAK-256 only from 3.2, BoringSSL (swift-crypto) has no SHA-3 family, and Debian packages
/// no C Keccak library. Checked against published vectors and against eth-account's hashes
/// of signed transactions in the tests. No allocation.
public enum Keccak256 {
    /// The 32-byte digest of `bytes`.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> TransactionHash {
        var state = State()
        var offset = 0
        while bytes.count - offset >= rate {
            state.absorb(bytes, at: offset, count: rate)
            state.permute()
            offset += rate
        }
        // Last block: the remaining bytes, then the pad10*1 with Keccak's domain byte 0x01.
        var block:
            (
                UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                UInt64, UInt64, UInt64, UInt64, UInt64
            ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &block) { raw in
            let remaining = bytes.count - offset
            if remaining > 0, let base = bytes.baseAddress {
                raw.copyMemory(from: UnsafeRawBufferPointer(start: base + offset, count: remaining))
            }
            raw[remaining] ^= 0x01
            raw[rate - 1] ^= 0x80
            state.absorb(UnsafeRawBufferPointer(raw), at: 0, count: rate)
        }
        state.permute()
        return TransactionHash(
            state.lanes[0].byteSwapped, state.lanes[1].byteSwapped, state.lanes[2].byteSwapped,
            state.lanes[3].byteSwapped)
    }

    /// The digest of `bytes`.
    public static func hash(_ bytes: [UInt8]) -> TransactionHash {
        bytes.withUnsafeBytes { hash($0) }
    }

    /// Bytes absorbed per permutation (1600 − 2 × 256 bits).
    static let rate = 136

    struct State {
        var lanes = InlineArray<25, UInt64>(repeating: 0)

        /// XORs `count` bytes (a multiple of 8) at `offset` into the first lanes, little-endian.
        mutating func absorb(_ bytes: UnsafeRawBufferPointer, at offset: Int, count: Int) {
            for lane in 0..<(count / 8) {
                lanes[lane] ^= UInt64(
                    littleEndian: bytes.loadUnaligned(fromByteOffset: offset + lane * 8, as: UInt64.self))
            }
        }

        /// Keccak-f[1600]: 24 rounds of θ, ρ, π, χ, ι, on the lanes in place (unrolled; no
        /// bounds checks inside a round).
        mutating func permute() {
            withUnsafeMutableBytes(of: &lanes) { raw in
                guard let a = raw.baseAddress?.assumingMemoryBound(to: UInt64.self) else { return }
                for round in 0..<24 {
                    // θ
                    let c0 = a[0] ^ a[5] ^ a[10] ^ a[15] ^ a[20]
                    let c1 = a[1] ^ a[6] ^ a[11] ^ a[16] ^ a[21]
                    let c2 = a[2] ^ a[7] ^ a[12] ^ a[17] ^ a[22]
                    let c3 = a[3] ^ a[8] ^ a[13] ^ a[18] ^ a[23]
                    let c4 = a[4] ^ a[9] ^ a[14] ^ a[19] ^ a[24]
                    let d0 = c4 ^ Self.rotate(c1, 1)
                    let d1 = c0 ^ Self.rotate(c2, 1)
                    let d2 = c1 ^ Self.rotate(c3, 1)
                    let d3 = c2 ^ Self.rotate(c4, 1)
                    let d4 = c3 ^ Self.rotate(c0, 1)
                    a[0] ^= d0; a[5] ^= d0; a[10] ^= d0; a[15] ^= d0; a[20] ^= d0
                    a[1] ^= d1; a[6] ^= d1; a[11] ^= d1; a[16] ^= d1; a[21] ^= d1
                    a[2] ^= d2; a[7] ^= d2; a[12] ^= d2; a[17] ^= d2; a[22] ^= d2
                    a[3] ^= d3; a[8] ^= d3; a[13] ^= d3; a[18] ^= d3; a[23] ^= d3
                    a[4] ^= d4; a[9] ^= d4; a[14] ^= d4; a[19] ^= d4; a[24] ^= d4
                    // ρ and π: the 24-lane cycle starting at lane 1.
                    var carried = a[1]
                    var displaced: UInt64
                    displaced = a[10]; a[10] = Self.rotate(carried, 1); carried = displaced
                    displaced = a[7]; a[7] = Self.rotate(carried, 3); carried = displaced
                    displaced = a[11]; a[11] = Self.rotate(carried, 6); carried = displaced
                    displaced = a[17]; a[17] = Self.rotate(carried, 10); carried = displaced
                    displaced = a[18]; a[18] = Self.rotate(carried, 15); carried = displaced
                    displaced = a[3]; a[3] = Self.rotate(carried, 21); carried = displaced
                    displaced = a[5]; a[5] = Self.rotate(carried, 28); carried = displaced
                    displaced = a[16]; a[16] = Self.rotate(carried, 36); carried = displaced
                    displaced = a[8]; a[8] = Self.rotate(carried, 45); carried = displaced
                    displaced = a[21]; a[21] = Self.rotate(carried, 55); carried = displaced
                    displaced = a[24]; a[24] = Self.rotate(carried, 2); carried = displaced
                    displaced = a[4]; a[4] = Self.rotate(carried, 14); carried = displaced
                    displaced = a[15]; a[15] = Self.rotate(carried, 27); carried = displaced
                    displaced = a[23]; a[23] = Self.rotate(carried, 41); carried = displaced
                    displaced = a[19]; a[19] = Self.rotate(carried, 56); carried = displaced
                    displaced = a[13]; a[13] = Self.rotate(carried, 8); carried = displaced
                    displaced = a[12]; a[12] = Self.rotate(carried, 25); carried = displaced
                    displaced = a[2]; a[2] = Self.rotate(carried, 43); carried = displaced
                    displaced = a[20]; a[20] = Self.rotate(carried, 62); carried = displaced
                    displaced = a[14]; a[14] = Self.rotate(carried, 18); carried = displaced
                    displaced = a[22]; a[22] = Self.rotate(carried, 39); carried = displaced
                    displaced = a[9]; a[9] = Self.rotate(carried, 61); carried = displaced
                    displaced = a[6]; a[6] = Self.rotate(carried, 20); carried = displaced
                    displaced = a[1]; a[1] = Self.rotate(carried, 44); carried = displaced
                    _ = carried
                    // χ
                    for y in stride(from: 0, to: 25, by: 5) {
                        let (b0, b1, b2, b3, b4) = (a[y], a[y + 1], a[y + 2], a[y + 3], a[y + 4])
                        a[y] = b0 ^ (~b1 & b2)
                        a[y + 1] = b1 ^ (~b2 & b3)
                        a[y + 2] = b2 ^ (~b3 & b4)
                        a[y + 3] = b3 ^ (~b4 & b0)
                        a[y + 4] = b4 ^ (~b0 & b1)
                    }
                    // ι
                    a[0] ^= Keccak256.roundConstant[round]
                }
            }
        }

        @inline(__always)
        static func rotate(_ value: UInt64, _ count: UInt64) -> UInt64 {
            (value &<< count) | (value &>> (64 &- count))
        }
    }

    static let roundConstant: InlineArray<24, UInt64> = [
        0x0000_0000_0000_0001, 0x0000_0000_0000_8082, 0x8000_0000_0000_808A, 0x8000_0000_8000_8000,
        0x0000_0000_0000_808B, 0x0000_0000_8000_0001, 0x8000_0000_8000_8081, 0x8000_0000_0000_8009,
        0x0000_0000_0000_008A, 0x0000_0000_0000_0088, 0x0000_0000_8000_8009, 0x0000_0000_8000_000A,
        0x0000_0000_8000_808B, 0x8000_0000_0000_008B, 0x8000_0000_0000_8089, 0x8000_0000_0000_8003,
        0x8000_0000_0000_8002, 0x8000_0000_0000_0080, 0x0000_0000_0000_800A, 0x8000_0000_8000_000A,
        0x8000_0000_8000_8081, 0x8000_0000_0000_8080, 0x0000_0000_8000_0001, 0x8000_0000_8000_8008,
    ]
}
