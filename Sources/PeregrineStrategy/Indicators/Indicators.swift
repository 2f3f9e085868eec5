import PeregrineCore

// Indicators on fixed-capacity state, updated in O(1) per value, allocation-free after `init`.
//
// Two kinds of arithmetic, both reproducible on every machine:
// - exact integers (`RollingSum` and what stands on it: moving average, standard deviation,
//   z-score, Bollinger bands; `RollingVWAP`): sums of 128 bits, and one correctly rounded
//   conversion at the end, so the batch recomputation gives the same sums and the same doubles;
// - IEEE doubles in a fixed order of operations (`ExponentialMovingAverage`, `RelativeStrength`,
//   `MACD`): each update is the same sequence of `+ − × ÷` (no fused multiply-add), and the batch
//   path (`…Lanes`) runs the same sequence for four series at once in SIMD lanes, so each lane's
//   result is bit-identical to the incremental one (tested).

/// The simple moving average of the last `period` values: `RollingSum.mean`.
public typealias SimpleMovingAverage = RollingSum

extension RollingSum {
    /// Bollinger bands: the mean and `mean ± width × standardDeviation` (`width` in thousandths:
    /// 2000 is 2 standard deviations). From the exact sums.
    @inlinable
    public func bollingerBands(widthThousandths width: Int64) -> (lower: Double, middle: Double, upper: Double) {
        let middle = mean
        let offset = Double(width) / 1_000 * standardDeviation
        return (middle - offset, middle, middle + offset)
    }
}

/// Exponential moving average: `ema += α × (x − ema)` with `α = 2 ÷ (period + 1)`, seeded with
/// the first value.
public struct ExponentialMovingAverage: Hashable, Sendable {
    public let period: Int
    public let alpha: Double
    public private(set) var value: Double = 0
    public private(set) var count = 0

    public init(period: Int) {
        self.period = Swift.max(period, 1)
        alpha = 2 / (Double(self.period) + 1)
    }

    @inlinable
    public static func step(_ value: Double, _ input: Double, alpha: Double) -> Double {
        value + alpha * (input - value)
    }

    public mutating func update(_ input: Double) {
        value = count == 0 ? input : Self.step(value, input, alpha: alpha)
        count += 1
    }

    /// Whether `period` values have been seen.
    public var isReady: Bool { count >= period }

    public mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try visitor.visit(&value, "ema value")
        var seen = Int64(count)
        try visitor.visit(&seen, "ema count")
        guard seen >= 0 else { throw .invalid(field: "ema count", value: seen) }
        count = Int(seen)
    }
}

/// The relative strength index (Wilder): the first `period` changes seed the average gain and
/// loss with their mean; after that `average = (average × (period − 1) + change) ÷ period`.
/// `value` is `100 − 100 ÷ (1 + gain ÷ loss)` (100 with no loss).
public struct RelativeStrength: Hashable, Sendable {
    public let period: Int
    public private(set) var averageGain: Double = 0
    public private(set) var averageLoss: Double = 0
    public private(set) var previous: Double = 0
    public private(set) var changes = 0
    public private(set) var started = false

    public init(period: Int) { self.period = Swift.max(period, 1) }

    public mutating func update(_ input: Double) {
        defer {
            previous = input
            started = true
        }
        guard started else { return }
        let change = input - previous
        let gain = change > 0 ? change : 0
        let loss = change < 0 ? -change : 0
        changes += 1
        if changes <= period {
            averageGain += gain / Double(period)
            averageLoss += loss / Double(period)
        } else {
            averageGain = Self.smooth(averageGain, gain, period: Double(period))
            averageLoss = Self.smooth(averageLoss, loss, period: Double(period))
        }
    }

    @inlinable
    public static func smooth(_ average: Double, _ input: Double, period: Double) -> Double {
        (average * (period - 1) + input) / period
    }

    public var isReady: Bool { changes >= period }

    public var value: Double { averageLoss == 0 ? 100 : 100 - 100 / (1 + averageGain / averageLoss) }

    public mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try visitor.visit(&averageGain, "rsi gain")
        try visitor.visit(&averageLoss, "rsi loss")
        try visitor.visit(&previous, "rsi previous")
        var seen = Int64(changes)
        try visitor.visit(&seen, "rsi changes")
        guard seen >= 0 else { throw .invalid(field: "rsi changes", value: seen) }
        changes = Int(seen)
        try visitor.visit(&started, "rsi started")
    }
}

/// Moving average convergence divergence: `macd = EMA(fast) − EMA(slow)`, `signal = EMA(signal)`
/// of the MACD line, `histogram = macd − signal`.
public struct MACD: Hashable, Sendable {
    public private(set) var fast: ExponentialMovingAverage
    public private(set) var slow: ExponentialMovingAverage
    public private(set) var signal: ExponentialMovingAverage

    public init(fast: Int = 12, slow: Int = 26, signal: Int = 9) {
        self.fast = ExponentialMovingAverage(period: fast)
        self.slow = ExponentialMovingAverage(period: slow)
        self.signal = ExponentialMovingAverage(period: signal)
    }

    public mutating func update(_ input: Double) {
        fast.update(input)
        slow.update(input)
        signal.update(fast.value - slow.value)
    }

    public var macd: Double { fast.value - slow.value }
    public var histogram: Double { macd - signal.value }

    public mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try fast.visitState(&visitor)
        try slow.visitState(&visitor)
        try signal.visitState(&visitor)
    }
}

/// The volume-weighted average price of the last `period` trades: `Σ price × quantity ÷ Σ
/// quantity`, from exact 128-bit sums (prices in ticks, quantities in lots).
public struct RollingVWAP: Hashable, Sendable {
    public let period: Int
    @usableFromInline var notionals: [Int128]
    @usableFromInline var quantities: [Int64]
    @usableFromInline var next = 0
    public private(set) var count = 0
    public private(set) var notional: Int128 = 0
    public private(set) var quantity: Int128 = 0

    public init(period: Int) {
        self.period = Swift.min(Swift.max(period, 1), RollingSum.maxPeriod)
        notionals = Array(repeating: 0, count: self.period)
        quantities = Array(repeating: 0, count: self.period)
    }

    public mutating func update(price: Int64, quantity lots: Int64) {
        if count == period {
            notional &-= notionals[next]
            quantity &-= Int128(quantities[next])
        } else {
            count += 1
        }
        let product = Int128(price) &* Int128(lots)
        notionals[next] = product
        quantities[next] = lots
        notional &+= product
        quantity &+= Int128(lots)
        next = next + 1 == period ? 0 : next + 1
    }

    /// The VWAP in ticks (nil before any quantity).
    public var value: Double? {
        quantity == 0 ? nil : RollingSum.double(notional) / RollingSum.double(quantity)
    }

    /// Every field, for state hashes and snapshots.
    public mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try visitor.visitCount(period, "vwap period")
        var position = Int64(next)
        var held = Int64(count)
        try visitor.visit(&position, "vwap position")
        try visitor.visit(&held, "vwap count")
        guard (0..<Int64(period)).contains(position), (0...Int64(period)).contains(held) else {
            throw .invalid(field: "vwap position", value: position)
        }
        (next, count) = (Int(position), Int(held))
        for index in 0..<period {
            try visitor.visit(&notionals[index], "vwap notional")
            try visitor.visit(&quantities[index], "vwap quantity")
        }
        try visitor.visit(&notional, "vwap notional sum")
        try visitor.visit(&quantity, "vwap quantity sum")
    }

    /// The sums recomputed from the ring: equal to `notional` and `quantity` (exact integers).
    public func recomputed() -> (notional: Int128, quantity: Int128) {
        var total: Int128 = 0
        var lots: Int128 = 0
        for index in 0..<count {
            total &+= notionals[index]
            lots &+= Int128(quantities[index])
        }
        return (total, lots)
    }
}

/// The batch path of the floating-point indicators: four series in the four lanes of a
/// `SIMD4<Double>`, each lane running exactly the scalar update's operations, so each result is
/// bit-identical to feeding that series to the scalar indicator (for example to recompute an
/// indicator over history for four instruments at once).
public enum IndicatorLanes {
    /// The EMA of each of four equally long series (seeded with each one's first value).
    public static func exponentialMovingAverage(
        _ series: (
            UnsafeBufferPointer<Double>, UnsafeBufferPointer<Double>, UnsafeBufferPointer<Double>,
            UnsafeBufferPointer<Double>
        ), period: Int
    ) -> SIMD4<Double> {
        let count = Swift.min(series.0.count, series.1.count, series.2.count, series.3.count)
        guard count > 0 else { return SIMD4(repeating: 0) }
        let alpha = SIMD4<Double>(repeating: 2 / (Double(Swift.max(period, 1)) + 1))
        var value = SIMD4(series.0[0], series.1[0], series.2[0], series.3[0])
        for index in 1..<count {
            let input = SIMD4(series.0[index], series.1[index], series.2[index], series.3[index])
            value = value + alpha * (input - value)
        }
        return value
    }

    /// The RSI of each of four equally long series.
    public static func relativeStrength(
        _ series: (
            UnsafeBufferPointer<Double>, UnsafeBufferPointer<Double>, UnsafeBufferPointer<Double>,
            UnsafeBufferPointer<Double>
        ), period: Int
    ) -> SIMD4<Double> {
        let count = Swift.min(series.0.count, series.1.count, series.2.count, series.3.count)
        let length = Double(Swift.max(period, 1))
        let periodLanes = SIMD4<Double>(repeating: length)
        var gain = SIMD4<Double>(repeating: 0)
        var loss = SIMD4<Double>(repeating: 0)
        guard count > 0 else { return SIMD4(repeating: 100) }
        var previous = SIMD4(series.0[0], series.1[0], series.2[0], series.3[0])
        let zero = SIMD4<Double>(repeating: 0)
        for index in 1..<count {
            let input = SIMD4(series.0[index], series.1[index], series.2[index], series.3[index])
            let change = input - previous
            let up = change.replacing(with: zero, where: change .<= zero)
            let down = (zero - change).replacing(with: zero, where: change .>= zero)
            if index <= Int(length) {
                gain += up / periodLanes
                loss += down / periodLanes
            } else {
                gain = (gain * (periodLanes - 1) + up) / periodLanes
                loss = (loss * (periodLanes - 1) + down) / periodLanes
            }
            previous = input
        }
        var result = SIMD4<Double>(repeating: 100)
        for lane in 0..<4 where loss[lane] != 0 { result[lane] = 100 - 100 / (1 + gain[lane] / loss[lane]) }
        return result
    }
}
