import PeregrineModel

/// A series over time kept at a bounded size for plotting: points fall into at most `capacity`
/// buckets of equal time width, each keeping its first time, minimum, maximum and last value;
/// when a point falls beyond the last bucket, the width doubles and pairs of buckets merge. So
/// a long series is down-sampled by min/max per bucket (a pixel column) and memory stays constant.
struct DownSampledSeries {
    struct Bucket {
        var time: UInt64
        var minimum: Double
        var maximum: Double
        var last: Double
    }

    let capacity: Int
    var origin: UInt64?
    var width: UInt64 = 1_000_000
    /// Every bucket but the last, oldest first.
    var closed: [Bucket] = []
    /// The last bucket (the one points are added to), kept out of the array so that adding
    /// to it touches no array.
    var open = Bucket(time: 0, minimum: 0, maximum: 0, last: 0)
    var hasOpen = false
    /// The offsets from `origin` that fall into the open bucket (empty when not known): a
    /// point there is added without a division.
    var openRange: Range<UInt64> = 0..<0

    init(capacity: Int = 1_200) { self.capacity = capacity }

    /// The buckets, oldest first (at most `capacity`).
    var buckets: [Bucket] { hasOpen ? closed + [open] : closed }

    mutating func add(time: UInt64, _ value: Double) {
        guard value.isFinite else { return }
        let start: UInt64
        if let origin {
            start = origin
        } else {
            origin = time
            start = time
        }
        let offset = time >= start ? time &- start : 0
        if openRange.contains(offset) {
            extendOpen(value)
            return
        }
        var index = Int(offset / width)
        while index >= capacity {
            merge()
            index = Int(offset / width)
        }
        if hasOpen, bucketIndex(open.time) == index {
            extendOpen(value)
        } else {
            if hasOpen { closed.append(open) }
            open = Bucket(time: time, minimum: value, maximum: value, last: value)
            hasOpen = true
        }
        let (low, overflow) = UInt64(truncatingIfNeeded: index).multipliedReportingOverflow(by: width)
        let (high, beyond) = low.addingReportingOverflow(width)
        openRange = overflow ? 0..<0 : low..<(beyond ? UInt64.max : high)
    }

    /// Adds `value` to the open bucket (there is one).
    @inline(__always)
    mutating func extendOpen(_ value: Double) {
        open.minimum = Swift.min(open.minimum, value)
        open.maximum = Swift.max(open.maximum, value)
        open.last = value
    }

    func bucketIndex(_ time: UInt64) -> Int {
        let start = origin ?? time
        return Int((time >= start ? time - start : 0) / width)
    }

    /// Doubles the width: pairs of buckets merge (the last of them stays open).
    mutating func merge() {
        let (doubled, overflow) = width.multipliedReportingOverflow(by: 2)
        width = overflow ? UInt64.max : doubled
        openRange = 0..<0
        var merged: [Bucket] = []
        merged.reserveCapacity(closed.count / 2 + 2)
        for bucket in buckets {
            if let last = merged.last, bucketIndex(last.time) == bucketIndex(bucket.time) {
                merged[merged.count - 1].minimum = Swift.min(last.minimum, bucket.minimum)
                merged[merged.count - 1].maximum = Swift.max(last.maximum, bucket.maximum)
                merged[merged.count - 1].last = bucket.last
            } else {
                merged.append(bucket)
            }
        }
        if let last = merged.popLast() {
            open = last
            hasOpen = true
        }
        closed = merged
    }
}

/// The plotted series of a backtest: each instrument's bid, ask, market trades, fills and
/// position (after each fill); equity and drawdown. Bounded memory (see `DownSampledSeries`).
final class BacktestCharts {
    /// Per instrument (plain buffers: adding a point checks no array uniqueness).
    let bids: UnsafeMutableBufferPointer<DownSampledSeries>
    let asks: UnsafeMutableBufferPointer<DownSampledSeries>
    let buys: UnsafeMutableBufferPointer<DownSampledSeries>
    let sells: UnsafeMutableBufferPointer<DownSampledSeries>
    let trades: UnsafeMutableBufferPointer<DownSampledSeries>
    let positions: UnsafeMutableBufferPointer<DownSampledSeries>
    @exclusivity(unchecked) var equity = DownSampledSeries()
    @exclusivity(unchecked) var drawdown = DownSampledSeries()

    init(instruments: Int) {
        func series(capacity: Int) -> UnsafeMutableBufferPointer<DownSampledSeries> {
            let buffer = UnsafeMutableBufferPointer<DownSampledSeries>.allocate(capacity: instruments)
            buffer.initialize(repeating: DownSampledSeries(capacity: capacity))
            return buffer
        }
        bids = series(capacity: 1_200)
        asks = series(capacity: 1_200)
        buys = series(capacity: 600)
        sells = series(capacity: 600)
        trades = series(capacity: 1_200)
        positions = series(capacity: 1_200)
    }

    deinit {
        for buffer in [bids, asks, buys, sells, trades, positions] {
            _ = buffer.deinitialize()
            buffer.deallocate()
        }
    }

    func price(_ index: Int, time: UInt64, bid: Int64, ask: Int64) {
        bids[index].add(time: time, Double(bid))
        asks[index].add(time: time, Double(ask))
    }

    func fill(_ index: Int, time: UInt64, side: Side, price: Int64) {
        if side == .buy {
            buys[index].add(time: time, Double(price))
        } else {
            sells[index].add(time: time, Double(price))
        }
    }

    func trade(_ index: Int, time: UInt64, price: Int64) { trades[index].add(time: time, Double(price)) }

    func position(_ index: Int, time: UInt64, lots: Int64) { positions[index].add(time: time, Double(lots)) }

    func equity(time: UInt64, equity value: Double, drawdown loss: Double) {
        equity.add(time: time, value)
        drawdown.add(time: time, -loss)
    }
}
