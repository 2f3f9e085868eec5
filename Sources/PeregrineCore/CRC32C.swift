import PeregrineSys

/// CRC-32C (Castagnoli), the checksum of journal records: the SSE4.2 `crc32` instruction when
/// the CPU has it (about 8 bytes per cycle), a slicing-by-8 table otherwise. Allocation-free,
/// thread-safe.
public enum CRC32C {
    /// The checksum of `bytes`, continuing from `crc` (0 to start).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return pg_crc32c(crc, base, bytes.count)
    }

    /// Checks `count` records of `size` bytes laid end to end from `records` (a 16-byte header,
    /// then the payload), each storing, little-endian, its payload's length (`size` − 16) at
    /// byte 0, the CRC-32C of its bytes `8..<size` at byte 4 and its index at byte 8
    /// (`firstIndex` for the first, counting up): the position of the first record that does
    /// not match, `count` when all do. Three records at a time with the CPU instruction (about
    /// three times the throughput of checking them one by one). 0 when `count` ≤ 0 or `size` <
    /// 16 (no record to check).
    @inlinable
    public static func firstMismatch(records: UnsafeRawPointer, size: Int, count: Int, firstIndex: UInt64) -> Int {
        guard count > 0, size >= 16 else { return 0 }
        return pg_crc32c_first_mismatch(records, size, count, firstIndex)
    }

    /// `crc` as people read it: 8 hexadecimal digits, leading zeros kept.
    public static func text(_ crc: UInt32) -> String {
        let digits = String(crc, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// The same, always with the table (for tests and for measuring against the instruction).
    public static func softwareChecksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return pg_crc32c_software(crc, base, bytes.count)
    }

    /// Whether `checksum` uses the CPU instruction.
    public static var isHardwareAccelerated: Bool { pg_crc32c_is_hardware() != 0 }
}
