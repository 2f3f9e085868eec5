import PeregrineCore
import PeregrineEngine
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

    /// Axis marks fall on round values and no two read alike, however small the range (an
    /// equity of 100,000 moving by 0.0005 had five marks reading "100000.0").
    @Test func valueMarksAreRoundAndReadDistinctly() {
        #expect(
            BacktestHTMLReport.valueTicks(99_999.999_55, 100_000.000_05).map(\.1) == [
                "99999.9996", "99999.9997", "99999.9998", "99999.9999", "100000.0000",
            ])
        #expect(BacktestHTMLReport.valueTicks(-1.05, 0.05).map(\.1) == ["-1.0", "-0.8", "-0.6", "-0.4", "-0.2", "0.0"])
        #expect(BacktestHTMLReport.valueTicks(9_651, 9_712).map(\.1) == ["9660", "9680", "9700"])
        #expect(BacktestHTMLReport.valueTicks(0, 33).map(\.1) == ["0", "10", "20", "30"])
        // Labels the left margin cannot hold (they were cut at the page's edge) carry a power
        // of ten, with the digits that tell them apart; those that fit are written out.
        #expect(
            BacktestHTMLReport.valueTicks(1.0e14, 1.6e14).map(\.1) == [
                "1.0e14", "1.1e14", "1.2e14", "1.3e14", "1.4e14", "1.5e14", "1.6e14",
            ])
        #expect(
            BacktestHTMLReport.valueTicks(-3.2e15, 3.2e15).map(\.1) == ["-2e15", "0", "2e15"])
        #expect(
            BacktestHTMLReport.valueTicks(2.05e16, 2.31e16).map(\.1) == [
                "2.05e16", "2.10e16", "2.15e16", "2.20e16", "2.25e16", "2.30e16",
            ])
        #expect(
            BacktestHTMLReport.valueTicks(1.0e13, 1.6e13).map(\.1) == [
                "10000000000000", "11000000000000", "12000000000000", "13000000000000", "14000000000000",
                "15000000000000", "16000000000000",
            ])
        // A range far narrower than its values, where the mantissas would read alike, keeps
        // its long labels (distinct).
        let narrow = BacktestHTMLReport.valueTicks(1e15, 1e15 + 1).map(\.1)
        #expect(narrow.count > 1 && Set(narrow).count == narrow.count, "\(narrow)")
        #expect(narrow.allSatisfy { $0.hasPrefix("100000000000000") && !$0.contains("e") }, "\(narrow)")
        #expect(decimal(-0.00005, places: 5) == "-0.00005")
        #expect(decimal(0.5, places: 2) == "0.50")
        #expect(decimal(100_000.0001, places: 4) == "100000.0001")
        #expect(decimal(7, places: 0) == "7")
    }

    /// Time marks fall on round times of day (UTC) at a step that gives at most six; the first
    /// carries the date and `UTC`, and the first of a new day its date.
    @Test func timeMarksAreRoundTimesWithTheirDate() {
        let start = Double(UTCTime.parse("2020-02-22T00:00:01.096") ?? 0)
        let end = Double(UTCTime.parse("2020-02-22T02:05:47.728") ?? 0)
        #expect(
            BacktestHTMLReport.timeTicks(start, end).map(\.1) == ["2020-02-22 00:30 UTC", "01:00", "01:30", "02:00"])
        let moment = Double(UTCTime.parse("2020-02-22T00:00:01.0965") ?? 0)
        #expect(
            BacktestHTMLReport.timeTicks(moment, moment + 3.2e6).map(\.1) == [
                "2020-02-22 00:00:01.097 UTC", "00:00:01.098", "00:00:01.099",
            ])
        let evening = Double(UTCTime.parse("2020-02-22T23:31") ?? 0)
        #expect(
            BacktestHTMLReport.timeTicks(evening, evening + 3_600e9).map(\.1) == [
                "2020-02-22 23:40 UTC", "23:50", "02-23 00:00", "00:10", "00:20", "00:30",
            ])
        let week = Double(UTCTime.parse("2020-02-22T00:00:01") ?? 0)
        #expect(
            BacktestHTMLReport.timeTicks(week, week + 8 * 86_400e9).map(\.1) == [
                "2020-02-24", "2020-02-26", "2020-02-28", "2020-03-01",
            ])
    }

    /// A touch or a position is drawn in steps: each value holds until the next change, and the
    /// last one to the plot's end (not a slope between changes).
    @Test func stepsHoldEachValueUntilTheNext() {
        let points = BacktestHTMLReport.Points(times: [10, 20], minimums: [1, 2], maximums: [1, 3], lasts: [1, 2])
        var frame = BacktestHTMLReport.Frame([points], xRange: 0...30)
        frame.minY = 0
        frame.maxY = 4
        // x: 100 + t × 36 (1,080 pixels for 30); y: 12 + (4 − v) × 57 (228 pixels for 4).
        #expect(
            BacktestHTMLReport.stepPath(points, frame, initial: 0)
                == "M100.0 240.0H460.0V183.0V183.0V183.0H820.0V69.0V126.0V126.0H1180.0")
        #expect(
            BacktestHTMLReport.stepPath(points, frame)
                == "M460.0 183.0V183.0V183.0H820.0V69.0V126.0V126.0H1180.0")
    }
}
