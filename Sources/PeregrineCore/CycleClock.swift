import PeregrineSys

#if canImport(Glibc)
    import Glibc
#endif

/// A clock that reads the CPU cycle counter (a few ns) and converts cycles to nanoseconds on
/// the CLOCK_MONOTONIC timeline, calibrated once at start-up.
///
/// When the cycle counter is not invariant (or not readable), it falls back to
/// CLOCK_MONOTONIC itself, and `source` says so. Immutable after calibration, so it can be
/// shared by every thread. Reading and converting allocate nothing.
@frozen
public struct CycleClock: Sendable {
    public enum Source: String, Sendable {
        case cycleCounter = "tsc"
        case monotonic = "clock_gettime(CLOCK_MONOTONIC)"
    }

    /// Where `now()` reads time from.
    public let source: Source
    /// Why the cycle counter was not used, when `source` is `.monotonic` although the caller
    /// did not force it (for the report); nil otherwise.
    public let fallbackReason: String?
    /// Cycle counter frequency measured at calibration (1e9 for the monotonic fallback).
    public let ticksPerSecond: Double
    @usableFromInline let baseTicks: UInt64
    @usableFromInline let baseNanoseconds: UInt64
    /// Nanoseconds per tick as a 32.32 fixed-point number.
    @usableFromInline let multiplier: UInt64

    /// How far a calibrated clock may read from CLOCK_MONOTONIC right after calibration.
    public static let calibrationToleranceNanoseconds: UInt64 = 20_000

    /// `source` and, for a fallback the caller did not ask for, the reason.
    public var description: String {
        guard let fallbackReason else { return source.rawValue }
        return "\(source.rawValue) (\(fallbackReason))"
    }

    /// Measures the cycle counter against CLOCK_MONOTONIC for about `calibrationNanoseconds`
    /// (spinning), then checks the result against CLOCK_MONOTONIC.
    ///
    /// Each end point is the best of several bracketed samples (the pair whose two counter
    /// reads around the monotonic read are closest), so a thread descheduled in the middle of
    /// a sample on a busy machine does not skew the rate. A calibration whose check is off by
    /// more than `calibrationToleranceNanoseconds` is repeated, up to three times; then the
    /// clock falls back to CLOCK_MONOTONIC and `fallbackReason` says why. Uses the monotonic
    /// clock directly if the cycle counter is not invariant or `forceMonotonic` is set.
    public static func calibrate(
        calibrationNanoseconds: UInt64 = 20_000_000, forceMonotonic: Bool = false
    ) -> CycleClock {
        if forceMonotonic {
            return monotonic(reason: nil)
        }
        if pg_cycle_counter_invariant() == 0 || pg_read_cycle_counter() == 0 {
            return monotonic(reason: "the CPU has no invariant cycle counter")
        }
        var worstError: UInt64 = 0
        for _ in 0..<3 {
            guard let clock = measure(calibrationNanoseconds: calibrationNanoseconds) else { continue }
            let error = clock.errorAgainstMonotonic()
            if error <= calibrationToleranceNanoseconds { return clock }
            worstError = max(worstError, error)
        }
        return monotonic(
            reason: "cycle counter calibration was \(worstError / 1_000) µs off CLOCK_MONOTONIC three times")
    }

    private static func monotonic(reason: String?) -> CycleClock {
        CycleClock(
            source: .monotonic, fallbackReason: reason, ticksPerSecond: 1e9, baseTicks: 0, baseNanoseconds: 0,
            multiplier: 1 << 32)
    }

    /// One calibration: nil when the counter did not advance (the multiplier would be
    /// meaningless).
    static func measure(calibrationNanoseconds: UInt64) -> CycleClock? {
        let start = bestBracketedSample()
        var end = bestBracketedSample()
        while end.nanoseconds &- start.nanoseconds < calibrationNanoseconds {
            pg_cpu_relax()
            end = bestBracketedSample()
        }
        guard end.ticks > start.ticks, end.nanoseconds > start.nanoseconds else { return nil }
        let ticks = Double(end.ticks &- start.ticks)
        let nanoseconds = Double(end.nanoseconds &- start.nanoseconds)
        let scaled = (nanoseconds / ticks * 4_294_967_296.0).rounded()
        // A counter slower than 1 tick per 2^31 ns is not a cycle counter; refuse, do not trap.
        guard scaled >= 1, scaled < 9.2e18 else { return nil }
        return CycleClock(
            source: .cycleCounter, fallbackReason: nil, ticksPerSecond: ticks / nanoseconds * 1e9,
            baseTicks: end.ticks, baseNanoseconds: end.nanoseconds, multiplier: UInt64(scaled))
    }

    /// How far this clock reads from CLOCK_MONOTONIC now (best of several samples).
    func errorAgainstMonotonic() -> UInt64 {
        let sample = Self.bestBracketedSample()
        let reading = nanoseconds(fromTicks: sample.ticks)
        return reading > sample.nanoseconds ? reading - sample.nanoseconds : sample.nanoseconds - reading
    }

    @usableFromInline
    init(
        source: Source, fallbackReason: String?, ticksPerSecond: Double, baseTicks: UInt64, baseNanoseconds: UInt64,
        multiplier: UInt64
    ) {
        self.source = source
        self.fallbackReason = fallbackReason
        self.ticksPerSecond = ticksPerSecond
        self.baseTicks = baseTicks
        self.baseNanoseconds = baseNanoseconds
        self.multiplier = multiplier
    }

    /// A (ticks, monotonic ns) pair: of 16 bracketed reads, the one whose counter reads
    /// around the monotonic read are closest, with the ticks taken midway between them.
    static func bestBracketedSample() -> (ticks: UInt64, nanoseconds: UInt64) {
        var best = (ticks: UInt64(0), nanoseconds: UInt64(0))
        var narrowest = UInt64.max
        for _ in 0..<16 {
            let before = pg_read_cycle_counter()
            let nanoseconds = pg_monotonic_nanoseconds()
            let after = pg_read_cycle_counter()
            let width = after &- before
            if after >= before, width < narrowest {
                narrowest = width
                best = (before &+ width / 2, nanoseconds)
            }
        }
        return best
    }

    /// The raw counter: cycles, or nanoseconds for the monotonic fallback.
    @inlinable
    public func nowTicks() -> UInt64 {
        switch source {
        case .cycleCounter: return pg_read_cycle_counter()
        case .monotonic: return pg_monotonic_nanoseconds()
        }
    }

    /// Converts a counter reading to nanoseconds on the CLOCK_MONOTONIC timeline.
    @inlinable
    public func nanoseconds(fromTicks ticks: UInt64) -> UInt64 {
        if ticks >= baseTicks {
            return baseNanoseconds &+ scale(ticks &- baseTicks)
        }
        return baseNanoseconds &- scale(baseTicks &- ticks)
    }

    /// Converts a tick count (a duration) to nanoseconds.
    @inlinable
    public func scale(_ ticks: UInt64) -> UInt64 {
        let product = ticks.multipliedFullWidth(by: multiplier)
        return (product.high << 32) | (product.low >> 32)
    }

    /// Converts a duration in nanoseconds to ticks (rounded down; `UInt64.max` when it does
    /// not fit, never a trap).
    @inlinable
    public func ticks(fromNanoseconds nanoseconds: UInt64) -> UInt64 {
        let ticks = Double(nanoseconds) * ticksPerSecond / 1e9
        return ticks < 18_446_744_073_709_549_568.0 ? UInt64(ticks) : .max
    }

    /// Seconds as nanoseconds, saturating: 0 for a negative or NaN value, `UInt64.max` for one
    /// too large (infinity included). Never traps.
    public static func saturatingNanoseconds(seconds: Double) -> UInt64 {
        let value = seconds * 1e9
        guard value > 0 else { return 0 }
        return value < 18_446_744_073_709_549_568.0 ? UInt64(value) : .max
    }

    /// Now, in nanoseconds on the CLOCK_MONOTONIC timeline.
    @inlinable
    public func now() -> UInt64 { nanoseconds(fromTicks: nowTicks()) }

    /// Busy-waits for `nanoseconds` without giving up the CPU: for waits of microseconds,
    /// where sleeping would overshoot by tens of microseconds.
    @inlinable
    public func spinSleep(nanoseconds: UInt64) {
        let deadline = now() &+ nanoseconds
        while now() < deadline {
            pg_cpu_relax()
        }
    }
}

/// The wall clock (CLOCK_REALTIME), ns since the Unix epoch: for stamping events with UTC
/// (a clock tick, a session end, an admin command), never for measuring.
public enum WallClock {
    public static func nanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(clamping: now.tv_sec) &* 1_000_000_000 &+ UInt64(clamping: now.tv_nsec)
    }
}
