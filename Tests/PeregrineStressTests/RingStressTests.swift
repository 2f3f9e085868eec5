import PeregrineCore
import PeregrineSys
import Synchronization
import Testing

/// Millions of items across two threads: checks FIFO order, no loss and no duplication
/// (every value arrives exactly once, in order), and dependency order for the sequenced ring.
/// Threads yield when they find no work: the sequenced test runs three threads on what may be
/// a two-core machine, and spinning there only steals time from the thread that has work.
@Suite("Ring stress", .serialized)
struct RingStressTests {
    static let itemCount = 10_000_000

    @Test func spscMovesTenMillionItemsInOrder() throws {
        let ring = try SPSCRing<UInt64>(capacity: 1_024)
        let producerThread = try PinnedThread.start(name: "stress-prod") {
            guard var producer = try? ring.makeProducer() else { return }
            var next: UInt64 = 0
            var batch = [UInt64](repeating: 0, count: 32)
            while next < UInt64(Self.itemCount) {
                if next % 3 == 0 {
                    // Batch push of up to 32.
                    let count = Int(min(32, UInt64(Self.itemCount) - next))
                    for index in 0..<count { batch[index] = next + UInt64(index) }
                    let pushed = batch.withUnsafeBufferPointer {
                        producer.tryPush(contentsOf: UnsafeBufferPointer(rebasing: $0[0..<count]))
                    }
                    next += UInt64(pushed)
                } else if producer.tryPush(next) {
                    next += 1
                } else {
                    pg_thread_yield()
                }
            }
        }
        var consumer = try ring.makeConsumer()
        var expected: UInt64 = 0
        var outOfOrder = 0
        while expected < UInt64(Self.itemCount) {
            let handled = consumer.drain(limit: 100) { value in
                if value != expected { outOfOrder += 1 }
                expected = value + 1
            }
            if handled == 0 { pg_thread_yield() }
        }
        producerThread.join()
        #expect(outOfOrder == 0)
        #expect(expected == UInt64(Self.itemCount))
        #expect(consumer.tryPop() == nil)
        #expect(ring.publishedCount == Self.itemCount && ring.consumedCount == Self.itemCount)
    }

    @Test func sequencedRingKeepsOrderAndDependencyAcrossThreads() throws {
        let ring = try SequencedRing<UInt64>(
            capacity: 1_024, consumers: [.init("journal"), .init("logic", dependsOn: [0])])
        let journalViolations = Atomic<Int>(0)
        let journalCount = Atomic<Int>(0)
        let producerThread = try PinnedThread.start(name: "stress-prod") {
            guard var producer = try? ring.makeProducer() else { return }
            var next = 0
            while next < Self.itemCount {
                guard let range = producer.tryClaim(upTo: min(64, Self.itemCount - next)) else {
                    pg_thread_yield()
                    continue
                }
                for sequence in range.first...range.last { producer.write(UInt64(sequence) * 3, at: sequence) }
                producer.publish(range)
                next += range.count
            }
        }
        let journalThread = try PinnedThread.start(name: "stress-jnl") {
            guard var journal = try? ring.makeConsumer(0) else { return }
            var expected = 0
            var violations = 0
            while expected < Self.itemCount {
                let handled = journal.poll(limit: 128) { value, sequence, _ in
                    if sequence != expected || value != UInt64(sequence) * 3 { violations += 1 }
                    expected = sequence + 1
                }
                if handled == 0 { pg_thread_yield() }
            }
            journalViolations.store(violations, ordering: .relaxed)
            journalCount.store(expected, ordering: .relaxed)
        }
        var logic = try ring.makeConsumer(1)
        var expected = 0
        var violations = 0
        var dependencyViolations = 0
        var batches = 0
        while expected < Self.itemCount {
            let handled = logic.poll { value, sequence, endOfBatch in
                if sequence != expected || value != UInt64(sequence) * 3 { violations += 1 }
                // The journal consumer must have passed every sequence logic sees; sequences
                // only grow, so checking each batch's last one covers the batch.
                if endOfBatch {
                    if ring.consumerSequence(0) < sequence { dependencyViolations += 1 }
                    batches += 1
                }
                expected = sequence + 1
            }
            if handled == 0 { pg_thread_yield() }
        }
        producerThread.join()
        journalThread.join()
        #expect(violations == 0)
        #expect(dependencyViolations == 0)
        #expect(journalViolations.load(ordering: .relaxed) == 0)
        #expect(journalCount.load(ordering: .relaxed) == Self.itemCount)
        #expect(expected == Self.itemCount)
        #expect(ring.publishedSequence == Self.itemCount - 1)
        #expect(batches > 0 && batches <= Self.itemCount)
    }
}
