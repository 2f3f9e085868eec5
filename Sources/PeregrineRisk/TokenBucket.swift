import PeregrineCore

/// An order-rate throttle on event time: `burst` orders at once, refilled at `rate` orders per
/// second. Exact: tokens are counted in 10^-12 of an order (a refill of `elapsed ns × rate in
/// milli-orders per second`), so no rounding ever lets an order through early or holds one back.
/// A trivial value; O(1), allocation-free.
@frozen
public struct TokenBucket: Hashable, Sendable, BitwiseCopyable {
    /// Units of 10^-12 order per order.
    @inlinable public static var unitsPerOrder: Int128 { 1_000_000_000_000 }
    /// Orders per second × 1,000 (0: no throttle).
    public let milliRate: Int64
    public let burst: Int64
    /// Tokens now, 10^-12 order each, and the event time they were counted at.
    public var tokens: Int128
    public var updatedAt: UInt64

    /// A full bucket; the rate is clamped to 0 ... 1,000,000 orders per second.
    public init(milliOrdersPerSecond: Int64, burst: Int64) {
        milliRate = min(max(milliOrdersPerSecond, 0), 1_000_000_000)
        self.burst = max(burst, 1)
        tokens = Int128(self.burst) &* Self.unitsPerOrder
        updatedAt = 0
    }

    /// No throttle: every order passes.
    public static let unlimited = TokenBucket(milliOrdersPerSecond: 0, burst: 1)

    @inlinable public var isActive: Bool { milliRate > 0 }

    /// Takes one order's token at event time `now`; false (nothing taken) when the bucket is
    /// empty. Time never runs backwards here: an earlier `now` refills nothing.
    @inlinable
    public mutating func take(at now: UInt64) -> Bool {
        guard milliRate > 0 else { return true }
        let full = Int128(burst) &* Self.unitsPerOrder
        if now > updatedAt {
            let elapsed = now &- updatedAt
            // Under 2^32 ns (4 s) the refill fits 64 bits (the rate is below 2^30).
            let refill: Int128 =
                elapsed < 1 << 32
                ? Int128(elapsed &* UInt64(milliRate))
                : (Int128(elapsed).multipliedReportingOverflow(by: Int128(milliRate)).overflow
                    ? .max : Int128(elapsed) &* Int128(milliRate))
            tokens = refill >= full &- tokens ? full : tokens &+ refill
            updatedAt = now
        }
        guard tokens >= Self.unitsPerOrder else { return false }
        tokens &-= Self.unitsPerOrder
        return true
    }

    /// Its state, for hashes and snapshots.
    public mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try visitor.visit(&tokens, "throttle tokens")
        try visitor.visit(&updatedAt, "throttle time")
        if visitor.isRestoring, tokens < 0 || tokens > Int128(burst) &* Self.unitsPerOrder {
            throw .invalid(field: "throttle tokens", value: Int64(clamping: tokens))
        }
    }
}
