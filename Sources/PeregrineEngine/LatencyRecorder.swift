import Histogram
import PeregrineCore
import Synchronization

/// Latency histograms written by one hot thread and collected by the monitor without locks
/// or shared counters.
///
/// The writer records into one of two preallocated histograms. To collect, the monitor bumps
/// `requested`; at its next batch end the writer switches to the other histogram and stores
/// the generation in `acknowledged` (release). The monitor then owns the old histogram: it
/// merges it into its totals and resets it before asking again. Recording is an index
/// computation and an increment: no allocation, no atomics.
public final class LatencyRecorder: @unchecked Sendable {
    /// Largest value recorded exactly (60 s in ns); larger values are clamped to it.
    public static let highestTrackable: UInt64 = 60_000_000_000

    @usableFromInline let slots: UnsafeMutablePointer<Histogram<UInt64>>
    @usableFromInline let generations = PaddedAtomicCells(count: 2, initialValue: 0)
    private let writerTaken = Atomic<Bool>(false)
    /// What this recorder measures, for reports.
    public let name: String

    public init(name: String) {
        self.name = name
        slots = .allocate(capacity: 2)
        slots.initialize(repeating: Self.makeHistogram(), count: 2)
    }

    deinit {
        slots.deinitialize(count: 2)
        slots.deallocate()
    }

    /// An empty histogram with the recorder's range and 3 significant digits.
    public static func makeHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: highestTrackable, numberOfSignificantValueDigits: .three)
    }

    /// Cells of `generations`: the generation the monitor asked for, and the one the writer handed over.
    @usableFromInline static var requested: Int { 0 }
    @usableFromInline static var acknowledged: Int { 1 }

    /// The writing endpoint; once per recorder.
    public func makeWriter() throws(EngineError) -> LatencyWriter {
        if writerTaken.exchange(true, ordering: .relaxed) {
            throw .wiring("latency recorder '\(name)' already has a writer")
        }
        return LatencyWriter(recorder: self)
    }

    /// Monitor side: asks the writer for its interval histogram and, once handed over within
    /// `timeoutNanoseconds`, adds it to `total` and returns it (then resets the slot).
    /// Returns `nil` if the writer did not answer in time or `writerFinished()` says it
    /// never will (its thread has ended; use `collectRemaining` after joining it).
    public func collectInterval(
        into total: inout Histogram<UInt64>, timeoutNanoseconds: UInt64 = 200_000_000,
        writerFinished: () -> Bool = { false }
    ) -> Histogram<UInt64>? {
        let generation = generations.load(Self.requested, ordering: .relaxed) &+ 1
        generations.store(Self.requested, generation, ordering: .releasing)
        let start = ContinuousClock.now
        while generations.load(Self.acknowledged, ordering: .acquiring) != generation {
            if writerFinished() || ContinuousClock.now - start > .nanoseconds(Int64(timeoutNanoseconds)) {
                // Withdraw the request; the writer may still answer it later, which is harmless:
                // the slot it leaves is collected by the next successful request or at the end.
                return nil
            }
            pg_sleep_briefly()
        }
        let oldSlot = (generation &- 1) & 1
        let interval = slots[oldSlot]
        total.add(interval)
        slots[oldSlot].reset()
        return interval
    }

    /// Monitor side, after the writer's thread has ended: everything not yet collected.
    public func collectRemaining(into total: inout Histogram<UInt64>) -> Histogram<UInt64> {
        var remaining = Self.makeHistogram()
        for index in 0..<2 {
            remaining.add(slots[index])
            slots[index].reset()
        }
        total.add(remaining)
        return remaining
    }
}

/// Sleeps about 100 µs (monitor-side polling only).
@usableFromInline
func pg_sleep_briefly() {
    #if canImport(Glibc)
        var request = timespec(tv_sec: 0, tv_nsec: 100_000)
        nanosleep(&request, nil)
    #endif
}

#if canImport(Glibc)
    import Glibc
#endif

/// The hot thread's side of a `LatencyRecorder`. Owned by one thread.
public struct LatencyWriter: ~Copyable, @unchecked Sendable {
    @usableFromInline let recorder: LatencyRecorder
    @usableFromInline let slots: UnsafeMutablePointer<Histogram<UInt64>>
    @usableFromInline let generations: PaddedAtomicCells
    @usableFromInline var active = 0
    @usableFromInline var seenGeneration = 0

    init(recorder: LatencyRecorder) {
        self.recorder = recorder
        slots = recorder.slots
        generations = recorder.generations
    }

    /// Records one latency in nanoseconds (clamped to `LatencyRecorder.highestTrackable`).
    @inlinable
    public mutating func record(_ nanoseconds: UInt64) {
        slots[active].record(Swift.min(nanoseconds, LatencyRecorder.highestTrackable))
    }

    /// Hands the current histogram to the monitor if it asked. Call at batch ends and when idle.
    @inlinable
    public mutating func serviceCollection() {
        let generation = generations.load(LatencyRecorder.requested, ordering: .acquiring)
        if generation != seenGeneration {
            seenGeneration = generation
            active = generation & 1
            generations.store(LatencyRecorder.acknowledged, generation, ordering: .releasing)
        }
    }
}
