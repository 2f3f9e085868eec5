import PeregrineModel
import Testing

@Suite("Memory layout of hot-path values")
struct LayoutTests {
    @Test func transactionIsExactly32Bytes() {
        #expect(MemoryLayout<Transaction>.size == 32)
        #expect(MemoryLayout<Transaction>.stride == 32)
        #expect(MemoryLayout<Transaction>.alignment == 8)
    }

    @Test func eventFitsInOneCacheLine() {
        #expect(MemoryLayout<Event>.size == 60)
        #expect(MemoryLayout<Event>.stride == 64)
        #expect(MemoryLayout<Event>.alignment == 8)
        #expect(MemoryLayout<EventPayload>.size == 40)
        #expect(MemoryLayout<RecordChunk>.size == 36)
        #expect(MemoryLayout<OrderCommand>.size == 40)
        #expect(MemoryLayout<ExecutionReport>.size == 64)
        #expect(MemoryLayout<ExecutionReport>.stride == 64)
    }

    @Test func fixedPointValuesAreOneWord() {
        #expect(MemoryLayout<Price>.size == 8)
        #expect(MemoryLayout<Quantity>.size == 8)
        #expect(MemoryLayout<InstrumentID>.size == 4)
        #expect(MemoryLayout<Side>.size == 1)
    }

    @Test func bundleHoldsSixteenTransactionsInline() {
        #expect(MemoryLayout<Bundle>.size == 8 + 8 + 1 + 7 + 16 * 32)
        #expect(MemoryLayout<Bundle>.stride == 536)
        #expect(MemoryLayout<Bundle>.alignment == 8)
        #expect(Bundle.capacity == 16)
    }
}

@Suite("Bundle")
struct BundleTests {
    @Test func appendsUpToCapacityThenReportsFull() {
        var bundle = Bundle(id: 7)
        for index in 0..<16 {
            let appended = bundle.append(Self.transaction(UInt64(index)))
            #expect(appended)
        }
        #expect(bundle.isFull)
        let overflowed = bundle.append(Self.transaction(99))
        #expect(!overflowed)
        #expect(bundle.count == 16)
        #expect(bundle.transaction(at: 15)?.id == 15)
        #expect(bundle.transaction(at: 16) == nil)
        #expect(bundle.transactions.map(\.id) == Array(0..<16))
    }

    static func transaction(_ id: UInt64) -> Transaction {
        Transaction(
            id: id, instrument: InstrumentID(1), side: .sell, price: Price(ticks: 100), quantity: Quantity(lots: 2),
            origin: .strategy)
    }
}
