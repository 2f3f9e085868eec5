import PeregrineCore
import PeregrineModel

/// The synthetic source stage: publishes `SyntheticMarket` events into the inbound ring,
/// paced as Poisson arrivals (optionally in bursts) or as fast as the ring accepts.
///
/// `step` never waits: when the ring is full it either leaves the due arrival pending
/// (`block`, retried on the next step, so a journal stage sharing the thread keeps moving)
/// or drops and counts it (`drop`).
///
/// An event's timestamp is its *scheduled* arrival time, not the time it was written, so a
/// source that falls behind does not hide the delay (no coordinated omission). With
/// `.unlimited` pacing the timestamp is the time its batch was written.
public struct SyntheticSource: ~Copyable {
    @usableFromInline var producer: SequencedProducer<Event>
    @usableFromInline var market: SyntheticMarket
    @usableFromInline let clock: CycleClock
    @usableFromInline let policy: FullRingPolicy
    @usableFromInline let burstSize: Int
    @usableFromInline let batchLimit: Int
    /// Mean gap between arrivals in ns (0 for unlimited pacing).
    @usableFromInline let meanGapNanoseconds: Double
    @usableFromInline var nextArrival: Double
    @usableFromInline var random: SplitMix64
    @usableFromInline let eventLimit: Int
    /// Events published, dropped, and steps that found the ring full.
    @usableFromInline var _emitted: Int = 0
    public var emitted: Int { _emitted }
    @usableFromInline var _dropped: Int = 0
    public var dropped: Int { _dropped }
    @usableFromInline var _fullWaits: Int = 0
    public var fullWaits: Int { _fullWaits }

    public init(
        producer: consuming SequencedProducer<Event>, configuration: EngineConfiguration, clock: CycleClock,
        startTime: UInt64
    ) {
        self.producer = producer
        market = SyntheticMarket(
            instruments: configuration.instruments, seed: configuration.seed,
            orderFlowPercent: configuration.orderFlowPercent)
        self.clock = clock
        policy = configuration.fullRingPolicy
        burstSize = configuration.burstSize
        batchLimit = configuration.batchLimit
        switch configuration.rate {
        case .perSecond(let rate): meanGapNanoseconds = 1e9 * Double(configuration.burstSize) / rate
        case .unlimited: meanGapNanoseconds = 0
        }
        nextArrival = Double(startTime)
        random = SplitMix64(seed: configuration.seed ^ 0x5EED_0F_A221_7A15)
        eventLimit = configuration.maxEvents ?? Int.max
    }

    /// Whether the event limit has been reached.
    @inlinable public var isExhausted: Bool { emitted &+ dropped >= eventLimit }

    /// The last sequence published (-1 before the first).
    @inlinable public var publishedSequence: Int { producer.publishedSequence }

    /// Publishes whatever is due at `now` (engine ns). Returns the events handled
    /// (published or dropped); 0 when nothing was due or the ring was full.
    @inlinable
    public mutating func step(now: UInt64) -> Int {
        if meanGapNanoseconds == 0 { return stepUnlimited(now: now) }
        var handled = 0
        // Bounded so a source far behind schedule still yields to the stage sharing its thread.
        while handled < batchLimit, Double(now) >= nextArrival, !isExhausted {
            let count = Swift.min(burstSize, eventLimit &- emitted &- dropped)
            let timestamp = UInt64(nextArrival)
            if let range = producer.tryClaim(count) {
                for sequence in range.first...range.last {
                    producer.slot(sequence).initialize(to: market.next(timestamp: timestamp))
                }
                producer.publish(range)
                _emitted &+= count
            } else if policy == .drop {
                for _ in 0..<count { _ = market.next(timestamp: timestamp) }
                _dropped &+= count
            } else {
                _fullWaits &+= 1
                return handled
            }
            handled &+= count
            // Exponential gap: -ln(U) × mean, U in (0, 1].
            nextArrival += -Double.log(1 - random.nextUnitInterval()) * meanGapNanoseconds
        }
        return handled
    }

    @usableFromInline
    mutating func stepUnlimited(now: UInt64) -> Int {
        let wanted = Swift.min(batchLimit, eventLimit &- emitted &- dropped)
        if wanted <= 0 { return 0 }
        guard let range = producer.tryClaim(upTo: wanted) else {
            _fullWaits &+= 1
            return 0
        }
        for sequence in range.first...range.last {
            producer.slot(sequence).initialize(to: market.next(timestamp: now))
        }
        producer.publish(range)
        _emitted &+= range.count
        return range.count
    }
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
