import PeregrineCore
import Testing

@testable import PeregrineBacktest

/// The plotted series' down-sampling: buckets of equal time width, min/max/last per bucket,
/// widths doubling to stay within the capacity.
@Suite struct ChartSeriesTests {
    /// The definition, plainly: every point's bucket is found by dividing its offset.
    struct PlainSeries {
        var capacity: Int
        var origin: UInt64?
        var width: UInt64 = 1_000_000
        var buckets: [DownSampledSeries.Bucket] = []

        func index(_ time: UInt64) -> Int {
            let start = origin ?? time
            return Int((time >= start ? time - start : 0) / width)
        }

        mutating func add(time: UInt64, _ value: Double) {
            guard value.isFinite else { return }
            if origin == nil { origin = time }
            while index(time) >= capacity {
                width = width > UInt64.max / 2 ? UInt64.max : width * 2
                var merged: [DownSampledSeries.Bucket] = []
                for bucket in buckets {
                    if let last = merged.last, index(last.time) == index(bucket.time) {
                        merged[merged.count - 1].minimum = min(last.minimum, bucket.minimum)
                        merged[merged.count - 1].maximum = max(last.maximum, bucket.maximum)
                        merged[merged.count - 1].last = bucket.last
                    } else {
                        merged.append(bucket)
                    }
                }
                buckets = merged
            }
            if let last = buckets.indices.last, index(buckets[last].time) == index(time) {
                buckets[last].minimum = min(buckets[last].minimum, value)
                buckets[last].maximum = max(buckets[last].maximum, value)
                buckets[last].last = value
            } else {
                buckets.append(.init(time: time, minimum: value, maximum: value, last: value))
            }
        }
    }

    @Test func bucketsMatchThePlainDefinition() {
        var random = SplitMix64(seed: 29)
        for round in 0..<20 {
            let capacity = [3, 50, 1_200][round % 3]
            var series = DownSampledSeries(capacity: capacity)
            var plain = PlainSeries(capacity: capacity)
            var time = random.next() % 1_000_000_000
            for step in 0..<20_000 {
                // Mostly small steps (many points per bucket), some large jumps, some points
                // at the same time, a few earlier than the previous one.
                switch random.next() % 100 {
                case 0..<70: time &+= random.next() % 50_000
                case 70..<80: time &+= random.next() % 500_000_000
                case 80..<95: break
                default: time &-= min(time, random.next() % 100_000)
                }
                let value = Double(Int64(random.next() % 2_000) - 1_000) / 8
                series.add(time: time, value)
                plain.add(time: time, value)
                // Midway too: the last bucket (kept apart from the others) and merges.
                if step % 997 == 0 {
                    #expect(series.buckets.map(\.time) == plain.buckets.map(\.time))
                    #expect(series.buckets.map(\.last) == plain.buckets.map(\.last))
                    #expect(series.buckets.map(\.minimum) == plain.buckets.map(\.minimum))
                    #expect(series.buckets.map(\.maximum) == plain.buckets.map(\.maximum))
                }
            }
            #expect(series.width == plain.width)
            #expect(series.buckets.count == plain.buckets.count)
            #expect(series.buckets.count <= capacity)
            #expect(series.buckets.map(\.time) == plain.buckets.map(\.time))
            #expect(series.buckets.map(\.minimum) == plain.buckets.map(\.minimum))
            #expect(series.buckets.map(\.maximum) == plain.buckets.map(\.maximum))
            #expect(series.buckets.map(\.last) == plain.buckets.map(\.last))
        }
    }
}
