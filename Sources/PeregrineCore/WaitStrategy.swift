import PeregrineSys

/// How a thread waits when a poll finds no work. Used as a generic parameter so the wait
/// loop is specialised and inlined: there is no dynamic dispatch per poll.
///
/// A loop calls `idle(on:)` after each empty poll and `reset()` after each poll that found
/// work, so strategies can escalate (spin, then yield, then park) the longer they stay idle.
public protocol WaitStrategy: SendableMetatype {
    init()
    /// Waits a little. `signal` is the producer's wake signal, for strategies that park.
    mutating func idle(on signal: WakeSignal)
    /// Work was found: start the escalation again.
    mutating func reset()
}

/// Spins with a CPU pause hint. Lowest latency; burns a whole core while idle.
public struct BusySpinWait: WaitStrategy {
    public init() {}
    @inlinable public mutating func idle(on signal: WakeSignal) { pg_cpu_relax() }
    @inlinable public mutating func reset() {}
}

/// Spins for `spinLimit` empty polls, then yields the CPU to other threads on each poll.
/// Nearly the latency of busy-spin while busy, and polite to other threads when idle.
public struct SpinThenYieldWait: WaitStrategy {
    public static let spinLimit = 1_000
    @usableFromInline var idlePolls = 0

    public init() {}

    @inlinable
    public mutating func idle(on signal: WakeSignal) {
        if idlePolls < Self.spinLimit {
            idlePolls &+= 1
            pg_cpu_relax()
        } else {
            pg_thread_yield()
        }
    }

    @inlinable public mutating func reset() { idlePolls = 0 }
}

/// Spins, then yields, then parks on the producer's wake signal with a timeout
/// (`parkTimeoutNanoseconds`, 200 µs). For idle stages: uses no CPU while nothing arrives,
/// and wakes within microseconds of a publish (at worst after the timeout).
public struct ParkWait: WaitStrategy {
    public static let spinLimit = 200
    public static let yieldLimit = 50
    public static let parkTimeoutNanoseconds: UInt64 = 200_000
    @usableFromInline var idlePolls = 0

    public init() {}

    @inlinable
    public mutating func idle(on signal: WakeSignal) {
        if idlePolls < Self.spinLimit {
            idlePolls &+= 1
            pg_cpu_relax()
        } else if idlePolls < Self.spinLimit + Self.yieldLimit {
            idlePolls &+= 1
            pg_thread_yield()
        } else {
            signal.park(timeoutNanoseconds: Self.parkTimeoutNanoseconds)
        }
    }

    @inlinable public mutating func reset() { idlePolls = 0 }
}

/// The wait strategies by name, for configuration and the CLI.
public enum WaitStrategyKind: String, CaseIterable, Sendable {
    case spin
    case yield
    case park
}
