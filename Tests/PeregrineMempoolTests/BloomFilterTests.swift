import PeregrineCore
import PeregrineEVM
import PeregrineMempool
import Testing

struct BloomFilterTests {
    /// A deterministic stream of distinct hashes.
    struct Keys {
        var random: SplitMix64
        init(state: UInt64) { random = SplitMix64(seed: state) }
        mutating func next() -> TransactionHash {
            TransactionHash(random.next(), random.next(), random.next(), random.next())
        }
    }

    /// At capacity, the measured false-positive rate is within 20% of the configured one, and
    /// there are no false negatives.
    @Test(arguments: [(100_000, 0.01), (200_000, 0.001), (50_000, 0.05)])
    func measuredRateMatchesTheConfiguredRate(capacity: Int, rate: Double) throws {
        var filter = try BloomFilter(capacity: capacity, falsePositiveRate: rate)
        var inserted = Keys(state: 1)
        for _ in 0..<capacity { filter.insert(inserted.next()) }
        var again = Keys(state: 1)
        var missing = 0
        for _ in 0..<capacity where !filter.contains(again.next()) { missing += 1 }
        #expect(missing == 0)
        var others = Keys(state: 0xDEAD_BEEF_0000_0001)
        // About 2,000 expected false positives: a 2% standard error.
        let probes = Int(2_000 / rate)
        var positives = 0
        for _ in 0..<probes where filter.contains(others.next()) { positives += 1 }
        let measured = Double(positives) / Double(probes)
        let (k, blocks) = (filter.bitsPerKey, filter.blocks)
        #expect(abs(measured - rate) / rate < 0.2, "measured \(measured) for \(rate) (k \(k), \(blocks) blocks)")
    }

    @Test func insertReportsDuplicates() throws {
        var filter = try BloomFilter(capacity: 1_000, falsePositiveRate: 0.001)
        let key = TransactionHash(1, 2, 3, 4)
        let first = filter.insert(key)
        let second = filter.insert(key)
        let count = filter.count
        let contains = filter.contains(key)
        #expect(!first && second && count == 1 && contains)
        filter.removeAll()  // a new block's window
        let countAfterReset = filter.count
        let containsAfterReset = filter.contains(key)
        let insertedAgain = filter.insert(key)
        #expect(countAfterReset == 0 && !containsAfterReset && !insertedAgain)
        #expect(throws: BloomFilterError.invalidCapacity(0)) {
            _ = try BloomFilter(capacity: 0, falsePositiveRate: 0.01)
        }
        #expect(throws: BloomFilterError.invalidFalsePositiveRate(0.7)) {
            _ = try BloomFilter(capacity: 10, falsePositiveRate: 0.7)
        }
        let hash = "0x3804cb7e012f6fa0eb39f67421805481775733c54616da9288c9c6e0623bf37c"
        #expect(TransactionHash(hex: hash)?.description == hash)
        #expect(TransactionHash(hex: "0x3804") == nil)
    }
}
