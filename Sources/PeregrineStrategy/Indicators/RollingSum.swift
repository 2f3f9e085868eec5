import PeregrineCore

/// The last `period` values of a series on a fixed-capacity ring, with their exact sum and sum
/// of squares (128-bit integers): the base of the moving average, rolling standard deviation,
/// z-score and Bollinger bands. `update` is O(1); `recomputed()` sums the ring again on the
/// SIMD path and gives exactly the same sums (integer arithmetic has no rounding), so a
/// decision never depends on which path ran.
///
/// Exact while |value| < 2^50 and the period is below 2^20 (a sum of squares below 2^120).
/// The ring is allocated once in `init`; updates are allocation-free.
public struct RollingSum: Hashable, Sendable {
    public let period: Int
    @usableFromInline var values: [Int64]
    @usableFromInline var next = 0
    /// Values held, up to `period`.
    public private(set) var count = 0
    public private(set) var sum: Int128 = 0
    public private(set) var sumOfSquares: Int128 = 0

    /// The most values a window may hold.
    public static let maxPeriod = 1 << 20

    /// A window of `period` values (1 to `maxPeriod`; clamped).
    public init(period: Int) {
        self.period = Swift.min(Swift.max(period, 1), Self.maxPeriod)
        values = Array(repeating: 0, count: self.period)
    }

    /// Adds `value`, dropping the oldest once `period` are held.
    public mutating func update(_ value: Int64) {
        if count == period {
            let old = values[next]
            sum &-= Int128(old)
            sumOfSquares &-= Int128(old) &* Int128(old)
        } else {
            count &+= 1
        }
        values[next] = value
        sum &+= Int128(value)
        sumOfSquares &+= Int128(value) &* Int128(value)
        next &+= 1
        if next == period { next = 0 }
    }

    /// Whether `period` values are held.
    @inlinable public var isFull: Bool { count == period }

    /// The newest value (0 before any).
    @inlinable public var last: Int64 { count == 0 ? 0 : values[next == 0 ? period &- 1 : next &- 1] }

    /// `value` as the nearest double (correctly rounded either way): the hardware conversion
    /// when it fits in 64 bits, the library's otherwise (the generic 128-bit conversion is
    /// several times slower).
    @inlinable
    public static func double(_ value: Int128) -> Double {
        if let small = Int64(exactly: value) { return Double(small) }
        return Double(value)
    }

    /// The mean (sum ÷ count) as a double: the correctly rounded quotient of the exact sum.
    @inlinable public var mean: Double { count == 0 ? 0 : Self.double(sum) / Double(count) }

    /// n × Σx² − (Σx)²: n² times the population variance, exact (never negative).
    @inlinable public var scaledVariance: Int128 { Int128(count) &* sumOfSquares &- sum &* sum }

    /// The population standard deviation: `sqrt(scaledVariance) ÷ n`, from exact integers (one
    /// conversion, one square root, one division: equal on every IEEE machine).
    @inlinable public var standardDeviation: Double {
        count == 0 ? 0 : Self.double(scaledVariance).squareRoot() / Double(count)
    }

    /// The z-score of `value` against the window: `(n × value − Σx) ÷ sqrt(n Σx² − (Σx)²)`; 0
    /// when the window has no spread.
    @inlinable
    public func zScore(of value: Int64) -> Double {
        let variance = scaledVariance
        guard count > 0, variance > 0 else { return 0 }
        return Self.double(Int128(count) &* Int128(value) &- sum) / Self.double(variance).squareRoot()
    }

    /// The sums recomputed from the ring on the SIMD path (8 lanes, each value split in 32-bit
    /// halves so no lane can overflow): equal to `sum` and `sumOfSquares` by construction.
    public func recomputed() -> (sum: Int128, sumOfSquares: Int128) {
        values.withUnsafeBufferPointer { buffer in
            let held = UnsafeBufferPointer(rebasing: buffer[0..<count])
            return (Self.simdSum(held), Self.sumOfSquares(held))
        }
    }

    /// Σ values, exactly, eight lanes at a time.
    public static func simdSum(_ values: UnsafeBufferPointer<Int64>) -> Int128 {
        var high = SIMD8<Int64>(repeating: 0)
        var low = SIMD8<Int64>(repeating: 0)
        var index = 0
        while index &+ 8 <= values.count {
            var lanes = SIMD8<Int64>(repeating: 0)
            for lane in 0..<8 { lanes[lane] = values[index &+ lane] }
            high &+= lanes &>> 32
            low &+= lanes & 0xFFFF_FFFF
            index &+= 8
        }
        var total: Int128 = 0
        for lane in 0..<8 { total &+= Int128(high[lane]) << 32 &+ Int128(low[lane]) }
        while index < values.count {
            total &+= Int128(values[index])
            index &+= 1
        }
        return total
    }

    /// Σ values², exactly.
    public static func sumOfSquares(_ values: UnsafeBufferPointer<Int64>) -> Int128 {
        var total: Int128 = 0
        for value in values { total &+= Int128(value) &* Int128(value) }
        return total
    }

    /// Every field, for state hashes and snapshots (the ring in storage order).
    public mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try visitor.visitCount(period, "window period")
        var position = Int64(next)
        var held = Int64(count)
        try visitor.visit(&position, "window position")
        try visitor.visit(&held, "window count")
        guard (0..<Int64(period)).contains(position), (0...Int64(period)).contains(held) else {
            throw .invalid(field: "window position", value: position)
        }
        next = Int(position)
        count = Int(held)
        for index in 0..<period { try visitor.visit(&values[index], "window value") }
        try visitor.visit(&sum, "window sum")
        try visitor.visit(&sumOfSquares, "window sum of squares")
    }
}
