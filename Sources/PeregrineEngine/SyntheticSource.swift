import PeregrineCore
import PeregrineFeed
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
    @usableFromInline let tickIntervalNanoseconds: UInt64
    /// Timestamp of the last event published (ticks included).
    @usableFromInline var lastPublished: UInt64
    /// Recorded files to replay instead of the synthetic market, when configured.
    @usableFromInline let recorded: RecordedFeed?
    /// A NATS subject to take events from instead (distributed mode with input).
    @usableFromInline let input: NATSInputFeed?
    @usableFromInline var _ticks: Int = 0
    /// Clock ticks sent while idle (counted in `emitted` too).
    public var ticks: Int { _ticks }
    /// Events published, dropped, and steps that found the ring full.
    @usableFromInline var _emitted: Int = 0
    public var emitted: Int { _emitted }
    @usableFromInline var _dropped: Int = 0
    public var dropped: Int { _dropped }
    @usableFromInline var _fullWaits: Int = 0
    public var fullWaits: Int { _fullWaits }

    /// `startSequence` is the journal sequence of the first event it will publish: a source
    /// restarted after recovery draws a different stream than the run before it.
    public init(
        producer: consuming SequencedProducer<Event>, configuration: EngineConfiguration, clock: CycleClock,
        startTime: UInt64, startSequence: Int64 = 0, recordedFeed: RecordedFeed? = nil,
        inputFeed: NATSInputFeed? = nil
    ) {
        input = inputFeed
        self.producer = producer
        let seed = configuration.seed ^ UInt64(bitPattern: startSequence) &* 0x9E37_79B9_7F4A_7C15
        market = SyntheticMarket(
            instruments: configuration.instruments, seed: seed, orderFlowPercent: configuration.orderFlowPercent)
        tickIntervalNanoseconds = UInt64(configuration.tickIntervalMicroseconds) * 1_000
        lastPublished = startTime
        recorded = recordedFeed
        self.clock = clock
        policy = configuration.fullRingPolicy
        burstSize = configuration.burstSize
        batchLimit = configuration.batchLimit
        switch configuration.rate {
        case .perSecond(let rate): meanGapNanoseconds = 1e9 * Double(configuration.burstSize) / rate
        case .unlimited: meanGapNanoseconds = 0
        }
        nextArrival = Double(startTime)
        random = SplitMix64(seed: seed ^ 0x5EED_0F_A221_7A15)
        eventLimit = configuration.maxEvents ?? Int.max
    }

    /// Whether the event limit has been reached.
    /// Market events sent or dropped (ticks and the session end do not count towards the limit).
    @inlinable var marketEvents: Int { _emitted &- _ticks &+ _dropped }

    public var isExhausted: Bool {
        if let recorded { return recorded.finished && recorded.available == 0 }
        if let input { return input.finished && input.available == 0 }
        return marketEvents >= eventLimit
    }

    /// What the recorded files held so far (nil for the synthetic market).
    public var recordedStatistics: FeedStatistics? { recorded?.statistics }

    /// Why the recorded files could not be read to the end, if they could not.
    public var recordedFailure: FeedError? { recorded?.failure }

    /// Publishes the next recorded changes, as many as fit (at most a batch).
    @usableFromInline
    mutating func stepRecorded(_ feed: RecordedFeed, now: UInt64) -> Int {
        feed.fill(batchLimit)
        let wanted = Swift.min(feed.available, batchLimit)
        if wanted == 0 { return 0 }
        guard let range = producer.tryClaim(upTo: wanted) else {
            _fullWaits &+= 1
            return 0
        }
        for sequence in range.first...range.last {
            producer.slot(sequence).initialize(
                to: Event(
                    timestamp: now, sourceSequence: UInt64(_emitted &+ 1), instrument: InstrumentID(0),
                    payload: feed.take()))
            _emitted &+= 1
        }
        producer.publish(range)
        lastPublished = now
        return range.count
    }

    /// Publishes the events that arrived on the input subject, as many as fit (at most a
    /// batch), stamped with their ingress time; their instrument, payload and source sequence
    /// are kept. Sends idle ticks like the synthetic market when nothing arrives.
    @usableFromInline
    mutating func stepInput(_ feed: NATSInputFeed, now: UInt64) -> Int {
        feed.fill(batchLimit)
        let wanted = Swift.min(feed.available, batchLimit)
        if wanted == 0 {
            if now &- lastPublished >= tickIntervalNanoseconds, !feed.finished, publishTimer(TimerFire.tick, now: now) {
                _ticks &+= 1
                return 1
            }
            return 0
        }
        guard let range = producer.tryClaim(upTo: wanted) else {
            _fullWaits &+= 1
            return 0
        }
        for sequence in range.first...range.last {
            var event = feed.take()
            event.timestamp = now
            producer.slot(sequence).initialize(to: event)
            _emitted &+= 1
        }
        producer.publish(range)
        lastPublished = now
        return range.count
    }

    /// What the input subject delivered, for the final report (nil without one).
    public var inputSummary: String? {
        input.map { feed in
            "\(feed.framesReceived) frames and \(feed.jsonLinesReceived) JSON lines from NATS, "
                + "\(feed.foreignEvents) events of other shards skipped"
                + (feed.jsonLinesRejected > 0
                    ? ", \(feed.jsonLinesRejected) JSON lines refused (first: \(feed.firstRejection ?? ""))" : "")
                + (feed.failure.map { "; stopped: \($0)" } ?? "")
        }
    }

    /// The last sequence published (-1 before the first).
    @inlinable public var publishedSequence: Int { producer.publishedSequence }

    /// Publishes whatever is due at `now` (engine ns). Returns the events handled
    /// (published or dropped); 0 when nothing was due or the ring was full.
    @inlinable
    public mutating func step(now: UInt64) -> Int {
        if let recorded { return stepRecorded(recorded, now: now) }
        if let input { return stepInput(input, now: now) }
        if meanGapNanoseconds == 0 { return stepUnlimited(now: now) }
        var handled = 0
        // Bounded so a source far behind schedule still yields to the stage sharing its thread.
        while handled < batchLimit, Double(now) >= nextArrival, !isExhausted {
            let count = Swift.min(burstSize, eventLimit &- marketEvents)
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
            lastPublished = timestamp
            // Exponential gap: -ln(U) × mean, U in (0, 1].
            nextArrival += -Double.log(1 - random.nextUnitInterval()) * meanGapNanoseconds
        }
        if handled == 0, now &- lastPublished >= tickIntervalNanoseconds, publishTimer(TimerFire.tick, now: now) {
            _ticks &+= 1
            return 1
        }
        return handled
    }

    /// Publishes a timer event stamped `now`; false when the ring is full.
    @usableFromInline
    mutating func publishTimer(_ timerID: UInt64, now: UInt64) -> Bool {
        guard let range = producer.tryClaim(1) else { return false }
        producer.slot(range.first).initialize(
            to: Event(
                timestamp: now, instrument: InstrumentID(0),
                payload: .timer(TimerFire(timerID: timerID, deadline: now))))
        producer.publish(range)
        _emitted &+= 1
        lastPublished = now
        return true
    }

    /// Publishes the session-end marker that makes the logic flush what it holds; false while
    /// the ring is full (call again). The last event a source publishes.
    public mutating func publishSessionEnd(now: UInt64) -> Bool {
        publishTimer(TimerFire.sessionEnd, now: now)
    }

    @usableFromInline
    mutating func stepUnlimited(now: UInt64) -> Int {
        let wanted = Swift.min(batchLimit, eventLimit &- marketEvents)
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
        lastPublished = now
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
