import PeregrineCore
import PeregrineEVM

#if canImport(Glibc)
    import Glibc
#endif

/// Why a Bloom filter cannot be made as asked.
public enum BloomFilterError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidCapacity(Int)
    case invalidFalsePositiveRate(Double)
    case invalidSize(blocks: Int, bitsPerKey: Int)

    public var description: String {
        switch self {
        case .invalidCapacity(let value): return "Bloom filter capacity \(value): use 1 to 2^32"
        case .invalidFalsePositiveRate(let value):
            return "Bloom filter false-positive rate \(value): use a rate above 0.000001 and below 0.5"
        case .invalidSize(let blocks, let bitsPerKey):
            return
                "Bloom filter of \(blocks) blocks and \(bitsPerKey) bits per key: use 1 to 8388608 blocks and 1 to 24 bits"
        }
    }
}

/// A blocked Bloom filter for de-duplicating transaction hashes: each key sets and tests `k`
/// bits inside one 512-bit block (one cache line), so a lookup is one memory access.
///
/// Sized for `capacity` keys at `falsePositiveRate`: the number of blocks is the smallest for
/// which the blocked filter's expected rate (block loads are Poisson; `k` bits per key in a
/// block) is at or below the target, and `k` the best for that size. Lookups and inserts
/// allocate nothing and take no locks; one writer, or readers only.
public struct BloomFilter: ~Copyable {
    @usableFromInline let words: UnsafeMutablePointer<UInt64>
    /// 512-bit blocks.
    public let blocks: Int
    /// Bits set per key.
    public let bitsPerKey: Int
    public let capacity: Int
    public let falsePositiveRate: Double
    @usableFromInline var _count = 0
    /// Keys inserted (not counting ones that were already present or false positives).
    public var count: Int { _count }

    public init(capacity: Int, falsePositiveRate: Double) throws(BloomFilterError) {
        let size = try Self.size(capacity: capacity, falsePositiveRate: falsePositiveRate)
        try self.init(
            capacity: capacity, falsePositiveRate: falsePositiveRate, blocks: size.blocks, bitsPerKey: size.bitsPerKey)
    }

    /// The size `init(capacity:falsePositiveRate:)` picks: the smallest number of blocks whose
    /// expected rate at `capacity` keys is at or below the target, and the best `k` for it.
    /// Floating point (libm's `log`, `exp`, `pow`): a journal stores the result, so a replay on
    /// another machine builds the same filter.
    public static func size(capacity: Int, falsePositiveRate: Double) throws(BloomFilterError) -> (
        blocks: Int, bitsPerKey: Int
    ) {
        guard (1...(1 << 32)).contains(capacity) else { throw .invalidCapacity(capacity) }
        guard falsePositiveRate > 0.000_001, falsePositiveRate < 0.5 else {
            throw .invalidFalsePositiveRate(falsePositiveRate)
        }
        // Start from the classic size and grow until the blocked filter meets the target.
        let classicBits = -Double(capacity) * log(falsePositiveRate) / (log(2) * log(2))
        var blocks = Swift.max(1, Int((classicBits / 512).rounded(.up)))
        var best = (k: 1, rate: 1.0)
        while true {
            best = Self.bestK(capacity: capacity, blocks: blocks)
            if best.rate <= falsePositiveRate { break }
            blocks += Swift.max(1, blocks / 200)
        }
        return (blocks, best.k)
    }

    /// A filter of exactly `blocks` blocks setting `bitsPerKey` bits per key (a size stored
    /// with a journal); `capacity` and `falsePositiveRate` are what it was sized for.
    public init(capacity: Int, falsePositiveRate: Double, blocks: Int, bitsPerKey: Int) throws(BloomFilterError) {
        guard (1...(1 << 23)).contains(blocks), (1...24).contains(bitsPerKey) else {
            throw .invalidSize(blocks: blocks, bitsPerKey: bitsPerKey)
        }
        self.capacity = capacity
        self.falsePositiveRate = falsePositiveRate
        self.blocks = blocks
        self.bitsPerKey = bitsPerKey
        let raw = UnsafeMutableRawPointer.allocate(byteCount: blocks * 64, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: blocks * 64)
        words = raw.bindMemory(to: UInt64.self, capacity: blocks * 8)
    }

    deinit { UnsafeMutableRawPointer(words).deallocate() }

    /// The expected false-positive rate at `capacity` keys for `blocks` blocks, and the `k`
    /// minimising it.
    static func bestK(capacity: Int, blocks: Int) -> (k: Int, rate: Double) {
        var best = (k: 1, rate: 1.0)
        for k in 1...24 {
            let rate = expectedRate(keys: capacity, blocks: blocks, k: k)
            if rate < best.rate { best = (k, rate) }
        }
        return best
    }

    /// Σ over block loads j ~ Poisson(keys/blocks) of (1 − (1 − 1/512)^(k·j))^k.
    public static func expectedRate(keys: Int, blocks: Int, k: Int) -> Double {
        let lambda = Double(keys) / Double(blocks)
        var probability = exp(-lambda)  // P(j = 0)
        var rate = 0.0
        var j = 0
        let upper = Int(lambda + 12 * lambda.squareRoot() + 20)
        while j <= upper {
            let filled = 1 - pow(1 - 1.0 / 512, Double(k * j))
            rate += probability * pow(filled, Double(k))
            j += 1
            probability *= lambda / Double(j)
        }
        return rate
    }

    /// The block and the bit pattern of a key (k bits within 512).
    @inlinable
    func locate(_ key: TransactionHash) -> (
        block: Int, mask: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
    ) {
        let digest = key.digest
        let block = Int(truncatingIfNeeded: digest.multipliedFullWidth(by: UInt64(blocks)).high)
        var mask: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        // Bit positions: 9 fresh bits each from a second, independent stream (7 per 64-bit
        // word, re-mixed as needed), so patterns do not repeat across keys.
        var seed = (digest ^ key.words.3) &* 0xD6E8_FEB8_6659_FD93
        seed ^= seed >> 32
        var stream = seed
        var available = 7
        withUnsafeMutableBytes(of: &mask) { raw in
            for _ in 0..<bitsPerKey {
                if available == 0 {
                    seed = (seed ^ (seed >> 29)) &* 0xBF58_476D_1CE4_E5B9
                    seed ^= seed >> 32
                    stream = seed
                    available = 7
                }
                let bit = Int(stream & 511)
                stream >>= 9
                available &-= 1
                let offset = (bit >> 6) &* 8
                let word = raw.load(fromByteOffset: offset, as: UInt64.self)
                raw.storeBytes(of: word | 1 << UInt64(bit & 63), toByteOffset: offset, as: UInt64.self)
            }
        }
        return (block, mask)
    }

    /// Whether `key` may have been inserted (false: certainly not).
    @inlinable
    public func contains(_ key: TransactionHash) -> Bool {
        let (block, mask) = locate(key)
        let base = words + block &* 8
        return withUnsafeBytes(of: mask) { raw in
            var missing: UInt64 = 0
            for index in 0..<8 {
                let wanted = raw.load(fromByteOffset: index &* 8, as: UInt64.self)
                missing |= wanted & ~base[index]
            }
            return missing == 0
        }
    }

    /// Forgets every key (a new window: searchers rotate the filter per block, so a transaction
    /// still pending is analysed again for the next block). O(size), no allocation.
    public mutating func removeAll() {
        UnsafeMutableRawPointer(words).initializeMemory(as: UInt8.self, repeating: 0, count: blocks * 64)
        _count = 0
    }

    /// Inserts `key`; returns true when it was (probably) already present — the de-duplication
    /// test and the insert in one pass.
    @inlinable
    @discardableResult
    public mutating func insert(_ key: TransactionHash) -> Bool {
        let (block, mask) = locate(key)
        let base = words + block &* 8
        let present = withUnsafeBytes(of: mask) { raw in
            var missing: UInt64 = 0
            for index in 0..<8 {
                let wanted = raw.load(fromByteOffset: index &* 8, as: UInt64.self)
                missing |= wanted & ~base[index]
                base[index] |= wanted
            }
            return missing == 0
        }
        if !present { _count &+= 1 }
        return present
    }
}

extension BloomFilter {
    /// Adds every bit and the count to `hasher`. O(size).
    public func combineState(into hasher: inout StateHasher) {
        hasher.combine(_count)
        for index in 0..<(blocks &* 8) { hasher.combine(words[index]) }
    }

    /// Writes the count and every word (a snapshot: `blocks × 64` bytes).
    public func encodeState(into encoder: inout SnapshotEncoder) {
        encoder.write(Int64(_count))
        encoder.write(Int64(blocks))
        for index in 0..<(blocks &* 8) { encoder.write(words[index]) }
    }

    /// Loads what `encodeState` wrote, into a filter of the same size.
    public mutating func restoreState(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        let count = try decoder.read(Int64.self, "Bloom filter count")
        let blocks = try decoder.read(Int64.self, "Bloom filter blocks")
        guard blocks == Int64(self.blocks) else {
            throw .mismatch("a Bloom filter of \(blocks) blocks; these settings make \(self.blocks)")
        }
        guard count >= 0 else { throw .invalid(field: "Bloom filter count", value: count) }
        for index in 0..<(self.blocks &* 8) { words[index] = try decoder.read(UInt64.self, "Bloom filter word") }
        _count = Int(count)
    }
}
