import Synchronization
import Testing

@testable import PeregrineCore

#if canImport(Glibc)
    import Glibc
#endif

@Suite("SPSC ring")
struct SPSCRingTests {
    @Test func rejectsCapacitiesThatAreNotPowersOfTwo() {
        for capacity in [0, 1, 3, 100, -8] {
            #expect(throws: CoreError.invalidCapacity(capacity)) { try SPSCRing<Int>(capacity: capacity) }
        }
        #expect(throws: Never.self) { try SPSCRing<Int>(capacity: 2) }
    }

    @Test func fullRingIsReportedNotTrapped() throws {
        let ring = try SPSCRing<Int>(capacity: 4)
        var producer = try ring.makeProducer()
        var consumer = try ring.makeConsumer()
        for value in 0..<4 {
            let pushed = producer.tryPush(value)
            #expect(pushed)
        }
        let overflow = producer.tryPush(4)
        #expect(!overflow)
        #expect(ring.approximateCount == 4)
        #expect(consumer.tryPop() == 0)
        let afterPop = producer.tryPush(4)
        #expect(afterPop)
        var drained: [Int] = []
        #expect(consumer.drain { drained.append($0) } == 4)
        #expect(drained == [1, 2, 3, 4])
        #expect(consumer.tryPop() == nil)
    }

    @Test func batchPushTakesWhatFitsInOrder() throws {
        let ring = try SPSCRing<Int>(capacity: 8)
        var producer = try ring.makeProducer()
        var consumer = try ring.makeConsumer()
        let values = Array(0..<12)
        let pushed = values.withUnsafeBufferPointer { producer.tryPush(contentsOf: $0) }
        #expect(pushed == 8)
        var drained: [Int] = []
        #expect(consumer.drain(limit: 3) { drained.append($0) } == 3)
        #expect(drained == [0, 1, 2])
        let rest = values[8...].withUnsafeBufferPointer { producer.tryPush(contentsOf: $0) }
        #expect(rest == 3)
        drained.removeAll()
        consumer.drain { drained.append($0) }
        #expect(drained == [3, 4, 5, 6, 7, 8, 9, 10])
    }

    @Test func closureFreeReadMatchesDrain() throws {
        let ring = try SPSCRing<Int>(capacity: 16)
        var producer = try ring.makeProducer()
        var consumer = try ring.makeConsumer()
        for value in 10..<15 { _ = producer.tryPush(value) }
        #expect(consumer.readableCount() == 5)
        #expect((0..<5).map { consumer.element(at: $0) } == [10, 11, 12, 13, 14])
        consumer.consume(2)
        #expect(consumer.readableCount() == 3)
        #expect(producer.refreshFreeCapacity() == 13)
    }

    @Test func indicesWrapAroundManyTimes() throws {
        let ring = try SPSCRing<UInt64>(capacity: 4)
        var producer = try ring.makeProducer()
        var consumer = try ring.makeConsumer()
        for value in UInt64(0)..<1_000 {
            let pushed = producer.tryPush(value)
            #expect(pushed)
            #expect(consumer.tryPop() == value)
        }
        #expect(ring.publishedCount == 1_000 && ring.consumedCount == 1_000)
    }

    @Test func eachEndpointCanBeCreatedOnce() throws {
        let ring = try SPSCRing<Int>(capacity: 4)
        _ = try ring.makeProducer()
        _ = try ring.makeConsumer()
        #expect(throws: CoreError.endpointTaken(ring: "SPSCRing", endpoint: "producer")) { _ = try ring.makeProducer() }
        #expect(throws: CoreError.endpointTaken(ring: "SPSCRing", endpoint: "consumer")) { _ = try ring.makeConsumer() }
    }
}

@Suite("SPSC ring wake-up")
struct SPSCWakeTests {
    /// A consumer parked on the ring with a timeout far longer than the test is woken by the
    /// producer's push: `park` reports a wake-up, not a timeout, and the item is there.
    @Test func aPushWakesAParkedConsumer() throws {
        let ring = try SPSCRing<UInt64>(capacity: 8)
        var producer = try ring.makeProducer()
        let received = Atomic<Int>(-1)
        let woken = Atomic<Bool>(false)
        let consumerThread = try PinnedThread.start(name: "wake-consumer", cpus: []) {
            guard var consumer = try? ring.makeConsumer() else { return }
            // Ten seconds: without the wake-up, park times out and returns false.
            woken.store(consumer.wakeSignal.park(timeoutNanoseconds: 10_000_000_000), ordering: .relaxed)
            received.store(consumer.tryPop().map { Int($0) } ?? -2, ordering: .relaxed)
        }
        while ring.wakeSignal.parkedCount == 0 { sched_yield() }
        let pushed = producer.tryPush(42)
        consumerThread.join()
        let wasWoken = woken.load(ordering: .relaxed)
        #expect(pushed)
        #expect(wasWoken)
        #expect(received.load(ordering: .relaxed) == 42)
        #expect(ring.wakeSignal.parkedCount == 0)
    }

    /// A park that nobody notifies times out and says so.
    @Test func aParkWithoutAPushTimesOut() throws {
        let ring = try SPSCRing<UInt64>(capacity: 8)
        let woken = ring.wakeSignal.park(timeoutNanoseconds: 1_000_000)
        #expect(!woken)
    }
}

@Suite("Padded atomic cells")
struct PaddedAtomicCellsTests {
    @Test func cellsAreOnSeparateCacheLinePairs() {
        let cells = PaddedAtomicCells(count: 3, initialValue: 7)
        let addresses = (0..<3).map { UInt(bitPattern: cells.address($0)) }
        #expect(addresses[0] % 128 == 0)
        #expect(addresses[1] - addresses[0] == 128)
        #expect(addresses[2] - addresses[1] == 128)
        #expect(cells.load(2, ordering: .relaxed) == 7)
    }

    @Test func eachOperationTouchesOnlyItsCell() {
        let cells = PaddedAtomicCells(count: 3, initialValue: 7)
        cells.store(0, 40, ordering: .releasing)
        cells.increment(1)
        cells.increment(1)
        #expect(cells.exchange(2, -1, ordering: .acquiringAndReleasing) == 7)
        #expect((0..<3).map { cells.load($0, ordering: .acquiring) } == [40, 9, -1])
    }
}
