import PeregrineCore
import PeregrineModel

/// The synthetic market as a source: `SyntheticMarket` events paced as Poisson arrivals
/// (optionally in bursts) or as fast as the ring accepts.
///
/// When the ring is full it either leaves the due arrival pending (`block`, retried on the
/// next step, so a stage sharing the thread keeps moving) or drops and counts it (`drop`).
///
/// An event's timestamp is its *scheduled* arrival time, not the time it was written, so a
/// source that falls behind does not hide the delay (no coordinated omission). With
/// `.unlimited` pacing the timestamp is the time its batch was written. When no event is due
/// for the tick interval it sends a clock tick, so time passes for the logic.
public struct SyntheticSource: ~Copyable, EventSource {
    @usableFromInline var market: SyntheticMarket
    @usableFromInline let policy: FullRingPolicy
    @usableFromInline let burstSize: Int
    @usableFromInline let batchLimit: Int
    /// Mean gap between arrivals in ns (0 for unlimited pacing).
    @usableFromInline let meanGapNanoseconds: Double
    @usableFromInline var nextArrival: Double
    @usableFromInline var random: SplitMix64
    @usableFromInline let eventLimit: Int
    @usableFromInline let tickIntervalNanoseconds: UInt64
    /// Timestamp of the last event written (ticks included).
    @usableFromInline var lastPublished: UInt64
    @usableFromInline var _counts = SourceCounts()
    public var counts: SourceCounts { _counts }

    public init(_ context: SourceContext) {
        let configuration = context.configuration
        let seed = configuration.seed ^ UInt64(bitPattern: context.startSequence) &* 0x9E37_79B9_7F4A_7C15
        market = SyntheticMarket(
            instruments: configuration.instruments, seed: seed, orderFlowPercent: configuration.orderFlowPercent)
        tickIntervalNanoseconds = UInt64(configuration.tickIntervalMicroseconds) * 1_000
        lastPublished = context.startTime
        policy = configuration.fullRingPolicy
        burstSize = configuration.burstSize
        batchLimit = configuration.batchLimit
        switch configuration.rate {
        case .perSecond(let rate): meanGapNanoseconds = 1e9 * Double(configuration.burstSize) / rate
        case .unlimited: meanGapNanoseconds = 0
        }
        nextArrival = Double(context.startTime)
        random = SplitMix64(seed: seed ^ 0x5EED_0F_A221_7A15)
        eventLimit = configuration.maxEvents ?? Int.max
    }

    /// Market events sent or dropped (ticks do not count towards the limit).
    @inlinable var marketEvents: Int { _counts.emitted &- _counts.ticks &+ _counts.dropped }

    /// Whether the event limit has been reached.
    @inlinable public var isExhausted: Bool { marketEvents >= eventLimit }

    @inlinable
    public mutating func step<Writer: EventWriter & ~Copyable>(now: UInt64, into writer: inout Writer) -> Int {
        if meanGapNanoseconds == 0 { return stepUnlimited(now: now, into: &writer) }
        var handled = 0
        // Bounded so a source far behind schedule still yields to the stage sharing its thread.
        while handled < batchLimit, Double(now) >= nextArrival, !isExhausted {
            let count = Swift.min(burstSize, eventLimit &- marketEvents)
            let timestamp = UInt64(nextArrival)
            if writer.claim(exactly: count) {
                for _ in 0..<count { writer.write(market.next(timestamp: timestamp)) }
                writer.publish()
                _counts.emitted &+= count
            } else if policy == .drop {
                for _ in 0..<count { _ = market.next(timestamp: timestamp) }
                _counts.dropped &+= count
            } else {
                _counts.fullWaits &+= 1
                return handled
            }
            handled &+= count
            lastPublished = timestamp
            // Exponential gap: -ln(U) × mean, U in (0, 1].
            nextArrival += -Double.log(1 - random.nextUnitInterval()) * meanGapNanoseconds
        }
        if handled == 0,
            Self.tickIfIdle(
                now: now, lastPublished: &lastPublished, interval: tickIntervalNanoseconds, counts: &_counts,
                into: &writer)
        {
            return 1
        }
        return handled
    }

    /// Writes a clock tick stamped `now` when nothing was written for `interval` ns since
    /// `lastPublished` (then moved to `now`) and counts it; returns whether it did. Every
    /// source calls it when a step wrote nothing, so time passes for the logic while idle.
    @inlinable
    public static func tickIfIdle<Writer: EventWriter & ~Copyable>(
        now: UInt64, lastPublished: inout UInt64, interval: UInt64, counts: inout SourceCounts,
        into writer: inout Writer
    ) -> Bool {
        guard now &- lastPublished >= interval, writeTick(now: now, into: &writer) else { return false }
        counts.ticks &+= 1
        counts.emitted &+= 1
        lastPublished = now
        return true
    }

    /// Writes a clock tick stamped `now`, with the wall clock as its exchange time (so the
    /// logic knows the UTC day); false when the writer is full.
    @inlinable
    public static func writeTick<Writer: EventWriter & ~Copyable>(now: UInt64, into writer: inout Writer) -> Bool {
        guard writer.claim(exactly: 1) else { return false }
        writer.write(.clockTick(at: now, exchangeTimestamp: WallClock.nanoseconds()))
        writer.publish()
        return true
    }

    @inlinable
    mutating func stepUnlimited<Writer: EventWriter & ~Copyable>(now: UInt64, into writer: inout Writer) -> Int {
        let wanted = Swift.min(batchLimit, eventLimit &- marketEvents)
        if wanted <= 0 { return 0 }
        let count = writer.claim(upTo: wanted)
        if count == 0 {
            _counts.fullWaits &+= 1
            return 0
        }
        for _ in 0..<count { writer.write(market.next(timestamp: now)) }
        writer.publish()
        _counts.emitted &+= count
        lastPublished = now
        return count
    }
}

/// The synthetic market with the configuration's rate, instruments, order flow and seed.
public struct SyntheticSourcePlan: SourcePlan {
    /// The report's line: the pacing and what a full ring does.
    public let description: String

    public init(_ configuration: EngineConfiguration) {
        let rate: String
        switch configuration.rate {
        case .perSecond(let value): rate = "\(grouped(Int(value))) events/s (Poisson, burst \(configuration.burstSize))"
        case .unlimited: rate = "max (as fast as the pipeline accepts)"
        }
        description = "synthetic, \(rate), on full ring: \(configuration.fullRingPolicy.rawValue)"
    }

    public func open(_ context: SourceContext) throws(EngineError) -> SyntheticSource { SyntheticSource(context) }
    public var exhaustedReason: String { "event limit" }
}

extension Double {
    @usableFromInline
    static func log(_ value: Double) -> Double {
        #if canImport(Glibc)
            return Glibc.log(value)
        #else
            return Foundation.log(value)
        #endif
    }
}

#if canImport(Glibc)
    import Glibc
#else
    import Foundation
#endif
