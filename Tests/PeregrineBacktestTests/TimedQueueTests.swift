import PeregrineCore
import Testing

@testable import PeregrineBacktest

/// The backtest's in-flight queues: first in, first out, across growth and wrapping.
@Suite struct TimedQueueTests {
    /// A class element, to see that every element queued is released exactly once.
    final class Tracked {
        nonisolated(unsafe) static var live = 0
        let value: Int
        init(_ value: Int) {
            self.value = value
            Tracked.live += 1
        }
        deinit { Tracked.live -= 1 }
    }

    @Test func itemsComeOutInTheOrderTheyWentInAcrossGrowthAndWrapping() {
        var random = SplitMix64(seed: 41)
        let queue = TimedQueue<Int>(capacity: 4)
        var model: [(time: UInt64, order: UInt64, value: Int)] = []
        var next = 0
        var latest: UInt64 = 0
        var popped = 0
        for _ in 0..<200_000 {
            // Pushes a little more often than pops: it grows, wraps and drains again.
            if random.next() % 100 < 52 || model.isEmpty {
                let time = random.next() % 1_000
                latest = max(latest, time)
                queue.push(next, at: time, order: UInt64(next))
                model.append((latest, UInt64(next), next))
                next += 1
            } else {
                let entry = queue.pop()
                let expected = model.removeFirst()
                #expect(entry?.element == expected.value)
                #expect(entry?.time == expected.time)
                #expect(entry?.order == expected.order)
                popped += 1
            }
            #expect(queue.count == model.count)
            #expect(queue.first?.time == model.first?.time)
            #expect(queue.first?.order == model.first?.order)
        }
        #expect(popped > 90_000)
        #expect(queue.capacity >= model.count)
        while let entry = queue.pop() { #expect(entry.element == model.removeFirst().value) }
        #expect(model.isEmpty)
        #expect(queue.pop() == nil)
        #expect(queue.first == nil)
    }

    @Test func everyElementIsReleasedOnceWhetherPoppedOrLeftInTheQueue() {
        Tracked.live = 0
        do {
            let queue = TimedQueue<Tracked>(capacity: 2)
            for index in 0..<1_000 { queue.push(Tracked(index), at: UInt64(index), order: UInt64(index)) }
            for index in 0..<600 { #expect(queue.pop()?.element.value == index) }
            #expect(Tracked.live == 400)
            for index in 1_000..<1_300 { queue.push(Tracked(index), at: UInt64(index), order: UInt64(index)) }
            #expect(Tracked.live == 700)
        }
        #expect(Tracked.live == 0)
    }

    @Test func theEarliestItemComesFirstAndTiesGoInTheOrderQueued() {
        var random = SplitMix64(seed: 43)
        let queue = EarliestFirstQueue<Int>(capacity: 2)
        var model: [(time: UInt64, order: UInt64, value: Int)] = []
        var next = 0
        var popped = 0
        for _ in 0..<200_000 {
            // Times from a small range, so that many tie and are told apart by their order.
            if random.next() % 100 < 52 || model.isEmpty {
                let time = random.next() % 64
                queue.push(next, at: time, order: UInt64(next))
                model.append((time, UInt64(next), next))
                next += 1
            } else {
                let earliest = model.indices.min {
                    (model[$0].time, model[$0].order) < (model[$1].time, model[$1].order)
                }
                guard let earliest else { break }
                let expected = model.remove(at: earliest)
                let entry = queue.pop()
                #expect(entry?.element == expected.value)
                #expect(entry?.time == expected.time)
                #expect(entry?.order == expected.order)
                popped += 1
            }
            #expect(queue.count == model.count)
        }
        #expect(popped > 90_000)
        model.sort { ($0.time, $0.order) < ($1.time, $1.order) }
        #expect(queue.first?.time == model.first?.time)
        #expect(queue.first?.order == model.first?.order)
        while let entry = queue.pop() { #expect(entry.element == model.removeFirst().value) }
        #expect(model.isEmpty)
        #expect(queue.pop() == nil)
        #expect(queue.first == nil)
    }

    @Test func theEarliestFirstQueueReleasesEveryElementOnce() {
        Tracked.live = 0
        do {
            let queue = EarliestFirstQueue<Tracked>(capacity: 2)
            for index in 0..<1_000 {
                queue.push(Tracked(index), at: UInt64(999 - index), order: UInt64(index))
            }
            for index in 0..<600 { #expect(queue.pop()?.element.value == 999 - index) }
            #expect(Tracked.live == 400)
            for index in 1_000..<1_300 { queue.push(Tracked(index), at: 0, order: UInt64(index)) }
            #expect(Tracked.live == 700)
        }
        #expect(Tracked.live == 0)
    }
}
