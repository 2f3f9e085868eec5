import PeregrineCore

/// A part of the pipeline that a thread polls: the source, journal, logic and sink stages.
/// Stages are generic values owned by their thread; `runStages` drives one or two of them
/// with one wait strategy, so the topology (which stages share a thread) is a choice made
/// once at set-up, not code.
public protocol Stage: ~Copyable {
    /// Does the work that is ready without waiting for more; returns how many items it
    /// handled (0: idle). A stage that cannot go on until a later stage makes room runs
    /// `whileBlocked` (which polls that stage when it shares the thread, or waits).
    mutating func poll(now: UInt64, whileBlocked: () -> Void) -> Int
    /// Whether the stage has done everything it ever will: its upstream has finished and it
    /// has drained. Asked when idle.
    mutating func isDone() -> Bool
    /// Runs once, after `isDone`: drains what is left, records results, tells later stages.
    mutating func finish()
    /// The signal of the ring this stage reads from: what to park on when idle.
    var wakeSignal: WakeSignal { get }
    /// The signal to wait on when blocked by a full ring downstream.
    var blockedSignal: WakeSignal { get }
}

extension Stage where Self: ~Copyable {
    public var blockedSignal: WakeSignal { wakeSignal }
}

/// The empty second stage of a thread that runs one stage.
public struct NoStage: Stage {
    public let wakeSignal: WakeSignal

    public init(wakeSignal: WakeSignal) { self.wakeSignal = wakeSignal }

    @inlinable public mutating func poll(now: UInt64, whileBlocked: () -> Void) -> Int { 0 }
    @inlinable public mutating func isDone() -> Bool { true }
    @inlinable public mutating func finish() {}
}

/// The one thread loop: polls `first`, then `second`; when both are idle, finishes each stage
/// that is done and waits (`Wait`) on the first unfinished stage's ring; returns when both
/// have finished. When `first` is blocked by a full ring it polls `second` (the stage that
/// drains that ring, when they share the thread) and otherwise waits.
///
/// Generic over both stages and the wait strategy: specialised per topology, no existentials
/// and no allocation per event.
@inlinable
public func runStages<First: Stage & ~Copyable, Second: Stage & ~Copyable, Wait: WaitStrategy>(
    _ first: inout First, _ second: inout Second, clock: CycleClock, wait _: Wait.Type
) {
    var wait = Wait()
    var firstDone = false
    var secondDone = false
    let firstBlocked = first.blockedSignal
    let secondBlocked = second.blockedSignal
    // Read once: the idle loop then touches no reference count.
    let firstWake = first.wakeSignal
    let secondWake = second.wakeSignal
    while true {
        let now = clock.now()
        var worked = 0
        if !firstDone {
            worked &+= first.poll(now: now) {
                if secondDone || second.poll(now: clock.now(), whileBlocked: {}) == 0 { wait.idle(on: firstBlocked) }
            }
        }
        if !secondDone {
            worked &+= second.poll(now: now) { wait.idle(on: secondBlocked) }
        }
        if worked > 0 {
            wait.reset()
            continue
        }
        if !firstDone && first.isDone() {
            first.finish()
            firstDone = true
        }
        if !secondDone && second.isDone() {
            second.finish()
            secondDone = true
        }
        if firstDone && secondDone { return }
        wait.idle(on: firstDone ? secondWake : firstWake)
    }
}
