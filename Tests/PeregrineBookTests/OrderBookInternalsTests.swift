import PeregrineCore
import Testing

@testable import PeregrineBook

@Suite("Order book internals: layout and id table")
struct OrderBookInternalsTests {
    @Test func anOrderSlotIsOneCacheLine() {
        #expect(MemoryLayout<OrderSlot>.size == 64)
        #expect(MemoryLayout<OrderSlot>.stride == 64)
    }

    @Test func aPriceLevelIs24Bytes() {
        #expect(MemoryLayout<PriceLevel>.stride == 24)
    }

    @Test func theOrderPoolIsCacheLineAligned() {
        let pool = OrderPool(capacity: 3)
        #expect(UInt(bitPattern: pool.slots) % 64 == 0)
        #expect(pool.capacity == 3)
    }

    @Test func theIDTableAgreesWithADictionaryThroughHeavyChurn() {
        // 64 live ids at most in a 128-entry table, drawn from sequential, strided and
        // high-bit-prefixed ids so that probe runs collide, wrap and get shifted back.
        var map = OrderIDMap(minimumCapacity: 64)
        var reference: [UInt64: Int32] = [:]
        var random = SplitMix64(seed: 7)
        let families: [(UInt64) -> UInt64] = [{ $0 }, { $0 &* 128 }, { (1 << 40) | $0 }, { $0 &* 0x1_0000_0001 }]
        for step in 0..<200_000 {
            let key = families[Int(random.next(below: 4))](random.next(below: 300))
            if let slot = reference[key] {
                #expect(map.find(key) == slot)
                if random.next(below: 2) == 0 {
                    map.remove(key)
                    reference[key] = nil
                }
            } else {
                #expect(map.find(key) == -1)
                if reference.count < 64 {
                    map.insert(key, slot: Int32(step % 1_000))
                    reference[key] = Int32(step % 1_000)
                }
            }
        }
        for (key, slot) in reference { #expect(map.find(key) == slot) }
    }
}
