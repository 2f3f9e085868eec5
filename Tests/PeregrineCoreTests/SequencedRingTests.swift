import PeregrineCore
import Testing

@Suite("Sequenced ring")
struct SequencedRingTests {
    @Test func dependenciesMustBeEarlierConsumers() {
        #expect(throws: CoreError.invalidDependency(consumer: 0, dependsOn: 0)) {
            try SequencedRing<Int>(capacity: 8, consumers: [.init("a", dependsOn: [0])])
        }
        #expect(throws: CoreError.invalidDependency(consumer: 1, dependsOn: 2)) {
            try SequencedRing<Int>(capacity: 8, consumers: [.init("a"), .init("b", dependsOn: [2]), .init("c")])
        }
    }

    @Test func dependentConsumerSeesOnlyWhatItsDependencyPassed() throws {
        let ring = try SequencedRing<Int>(capacity: 8, consumers: [.init("journal"), .init("logic", dependsOn: [0])])
        var producer = try ring.makeProducer()
        var journal = try ring.makeConsumer(0)
        var logic = try ring.makeConsumer(1)
        for value in 0..<5 { _ = producer.tryPublish(value * 10) }
        #expect(logic.poll { _, _, _ in } == 0)
        var batch: [(Int, Int, Bool)] = []
        #expect(journal.poll(limit: 3) { batch.append(($0, $1, $2)) } == 3)
        #expect(
            batch.map(\.0) == [0, 10, 20] && batch.map(\.1) == [0, 1, 2] && batch.map(\.2) == [false, false, true])
        batch.removeAll()
        #expect(logic.poll { batch.append(($0, $1, $2)) } == 3)
        #expect(batch.map(\.1) == [0, 1, 2] && batch.last?.2 == true)
        #expect(journal.sequence == 2 && logic.sequence == 2 && ring.consumerSequence(1) == 2)
    }

    @Test func producerIsGatedBySlowestConsumer() throws {
        let ring = try SequencedRing<Int>(capacity: 4, consumers: [.init("a"), .init("b")])
        var producer = try ring.makeProducer()
        var fast = try ring.makeConsumer(0)
        var slow = try ring.makeConsumer(1)
        #expect(producer.tryClaim(5) == nil)
        let range = producer.tryClaim(4)
        #expect(range == SequenceRange(first: 0, count: 4))
        if let range {
            for sequence in range.first...range.last { producer.write(sequence, at: sequence) }
            producer.publish(range)
        }
        #expect(producer.tryClaim(1) == nil)
        #expect(fast.poll { _, _, _ in } == 4)
        #expect(producer.tryClaim(1) == nil)  // "b" has not moved
        #expect(slow.poll(limit: 2) { _, _, _ in } == 2)
        #expect(producer.tryClaim(upTo: 10) == SequenceRange(first: 4, count: 2))
    }

    @Test func closureFreeConsumptionAdvancesTheSequence() throws {
        let ring = try SequencedRing<Int>(capacity: 8, consumers: [.init("only")])
        var producer = try ring.makeProducer()
        var consumer = try ring.makeConsumer(0)
        for value in 100..<106 { _ = producer.tryPublish(value) }
        let range = consumer.available(limit: 4)
        #expect(range == SequenceRange(first: 0, count: 4))
        if let range {
            #expect((range.first...range.last).map { consumer.element($0) } == [100, 101, 102, 103])
            consumer.finish(range)
        }
        #expect(consumer.sequence == 3)
        #expect(consumer.available() == SequenceRange(first: 4, count: 2))
        let caughtUp = consumer.isCaughtUp()
        #expect(!caughtUp)
    }

    @Test func endpointsCanBeCreatedOnce() throws {
        let ring = try SequencedRing<Int>(capacity: 8, consumers: [.init("journal")])
        _ = try ring.makeProducer()
        _ = try ring.makeConsumer(0)
        #expect(throws: CoreError.endpointTaken(ring: "SequencedRing", endpoint: "producer")) {
            _ = try ring.makeProducer()
        }
        #expect(throws: CoreError.endpointTaken(ring: "SequencedRing", endpoint: "consumer 'journal'")) {
            _ = try ring.makeConsumer(0)
        }
        #expect(throws: CoreError.unknownConsumer(1)) { _ = try ring.makeConsumer(1) }
    }
}
