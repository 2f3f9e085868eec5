import PeregrineSys

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
    /// Cycle counter frequency measured at calibration (1e9 for the monotonic fallback).
    public let ticksPerSecond: Double
    @usableFromInline let baseTicks: UInt64
    @usableFromInline let baseNanoseconds: UInt64
    /// Nanoseconds per tick as a 32.32 fixed-point number.
    @usableFromInline let multiplier: UInt64

    /// Measures the cycle counter against CLOCK_MONOTONIC for about `calibrationNanoseconds`
    /// (spinning). Uses the monotonic clock if the cycle counter is not invariant or
    /// `forceMonotonic` is set.
    public static func calibrate(
        calibrationNanoseconds: UInt64 = 20_000_000, forceMonotonic: Bool = false
    ) -> CycleClock {
        if forceMonotonic || pg_cycle_counter_invariant() == 0 || pg_read_cycle_counter() == 0 {
            return CycleClock(
                source: .monotonic, ticksPerSecond: 1e9, baseTicks: 0, baseNanoseconds: 0,
                multiplier: 1 << 32)
        }
        let (startTicks, startNanoseconds) = bracketedSample()
        var (endTicks, endNanoseconds) = bracketedSample()
        while endNanoseconds &- startNanoseconds < calibrationNanoseconds {
            (endTicks, endNanoseconds) = bracketedSample()
        }
        let ticks = Double(endTicks &- startTicks)
        let nanoseconds = Double(endNanoseconds &- startNanoseconds)
        let ticksPerSecond = ticks / nanoseconds * 1e9
        let multiplier = UInt64((nanoseconds / ticks * 4_294_967_296.0).rounded())
        return CycleClock(
            source: .cycleCounter, ticksPerSecond: ticksPerSecond, baseTicks: endTicks,
            baseNanoseconds: endNanoseconds, multiplier: multiplier)
    }

    @usableFromInline
    init(source: Source, ticksPerSecond: Double, baseTicks: UInt64, baseNanoseconds: UInt64, multiplier: UInt64) {
        self.source = source
        self.ticksPerSecond = ticksPerSecond
        self.baseTicks = baseTicks
        self.baseNanoseconds = baseNanoseconds
        self.multiplier = multiplier
    }

    /// A (ticks, monotonic ns) pair with the ticks taken midway through the monotonic read.
    private static func bracketedSample() -> (UInt64, UInt64) {
        let before = pg_read_cycle_counter()
        let nanoseconds = pg_monotonic_nanoseconds()
        let after = pg_read_cycle_counter()
        return (before &+ (after &- before) / 2, nanoseconds)
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

    /// Converts a duration in nanoseconds to ticks (rounded down).
    @inlinable
    public func ticks(fromNanoseconds nanoseconds: UInt64) -> UInt64 {
        UInt64(Double(nanoseconds) * ticksPerSecond / 1e9)
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
