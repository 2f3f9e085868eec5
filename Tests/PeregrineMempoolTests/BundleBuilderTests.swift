import PeregrineMempool
import PeregrineModel
import Testing

@Suite("Bundle builder")
struct BundleBuilderTests {
    func transaction(_ id: UInt64) -> Transaction {
        Transaction(
            id: id, instrument: InstrumentID(0), side: .buy, price: Price(ticks: 1), quantity: Quantity(lots: 1),
            origin: .strategy)
    }

    @Test func sealsAtTheSizeTrigger() throws {
        var builder = try BundleBuilder(maxTransactions: 3, timeoutNanoseconds: 100_000)
        let first = builder.add(transaction(1), now: 1_000)
        let second = builder.add(transaction(2), now: 2_000)
        #expect(first == nil && second == nil)
        let third = builder.add(transaction(3), now: 3_000)
        let sealed = try #require(third)
        #expect(sealed.id == 1 && sealed.openedAt == 1_000 && sealed.transactions.map(\.id) == [1, 2, 3])
        #expect(builder.pendingCount == 0 && builder.deadline == nil)
        let next = builder.add(transaction(4), now: 5_000)
        #expect(next == nil && builder.deadline == 105_000)
    }

    @Test func sealsAtTheTimeoutAfterTheFirstTransaction() throws {
        var builder = try BundleBuilder(maxTransactions: 16, timeoutNanoseconds: 100_000)
        let nothingOpen = builder.poll(now: 1_000_000)
        #expect(nothingOpen == nil)
        _ = builder.add(transaction(1), now: 10_000)
        _ = builder.add(transaction(2), now: 90_000)
        let early = builder.poll(now: 109_999)
        #expect(early == nil)
        let timedOut = builder.poll(now: 110_000)
        let sealed = try #require(timedOut)
        #expect(sealed.count == 2 && sealed.openedAt == 10_000)
        let afterSeal = builder.poll(now: 500_000)
        #expect(afterSeal == nil)
    }

    @Test func flushReturnsWhatIsHeldOnce() throws {
        var builder = try BundleBuilder(maxTransactions: 16, timeoutNanoseconds: 100_000, firstBundleID: 40)
        let empty = builder.flush()
        #expect(empty == nil)
        _ = builder.add(transaction(9), now: 0)
        let flushedResult = builder.flush()
        let flushed = try #require(flushedResult)
        #expect(flushed.id == 40 && flushed.count == 1)
        let again = builder.flush()
        #expect(again == nil)
        _ = builder.add(transaction(10), now: 0)
        let next = builder.flush()
        #expect(next?.id == 41)
    }

    @Test func sixteenIsTheDefaultAndTheMost() throws {
        var builder = try BundleBuilder()
        for id in 1...15 {
            let sealed = builder.add(transaction(UInt64(id)), now: 0)
            #expect(sealed == nil)
        }
        let full = builder.add(transaction(16), now: 0)
        #expect(full?.count == 16)
        #expect(throws: BundleBuilder.ConfigurationError.invalidMaxTransactions(17)) {
            _ = try BundleBuilder(maxTransactions: 17)
        }
        #expect(throws: BundleBuilder.ConfigurationError.invalidMaxTransactions(0)) {
            _ = try BundleBuilder(maxTransactions: 0)
        }
    }
}
