import PeregrineCore
import PeregrineJournal
import PeregrineModel

/// The journal stage: consumer 0 of the inbound ring. It appends each available batch to its
/// backend (group commit), commits it, and finishes in the ring only what the backend
/// reports durable — so the logic stage, which depends on this consumer, acts only on durable
/// events (the durability point).
///
/// A journal error stops the stage for good: it finishes nothing more, records the error and
/// the pipeline shuts down with it in the report (accepted events are never silently lost).
public struct JournalStage<Backend: JournalBackend & ~Copyable>: ~Copyable {
    @usableFromInline var consumer: SequencedConsumer<Event>
    @usableFromInline var backend: Backend
    /// Journal sequence of ring sequence 0.
    @usableFromInline let baseSequence: Int64
    /// The last ring sequence appended (it may run ahead of what is released).
    @usableFromInline var appendedThrough: Int
    /// Small batches wait until this long after the previous write (see
    /// `EngineConfiguration.journalCoalesceMicroseconds`).
    @usableFromInline let coalesceNanoseconds: UInt64
    /// When the previous commit finished, and how long it took: a small batch waits until
    /// twice that long after it (at most `coalesceNanoseconds`), so writes take at most about
    /// half of this thread's time and low rates are not delayed at all.
    @usableFromInline var lastWriteEnd: UInt64 = 0
    @usableFromInline var lastWriteDuration: UInt64 = 0
    @usableFromInline let clock: CycleClock
    /// Batches of at least this many events are written at once.
    @usableFromInline static var fullBatch: Int { 64 }
    @usableFromInline var _passed: Int = 0
    public var passed: Int { _passed }
    @usableFromInline var _batches: Int = 0
    public var batches: Int { _batches }
    @usableFromInline var failure: JournalError?
    @usableFromInline var _durableSequence: Int64
    /// Per batch, from the oldest event's ingress until the batch is released to the logic
    /// (the journal stage's latency; one sample per batch, so its worst event).
    @usableFromInline var latency: LatencyWriter
    @usableFromInline let wiring: Pipeline.Wiring
    /// The pipeline's control, unretained (`wiring` keeps it alive): read in idle loops
    /// without retain and release.
    @usableFromInline unowned(unsafe) let control: PipelineControl

    @usableFromInline
    init(
        consumer: consuming SequencedConsumer<Event>, backend: consuming Backend, baseSequence: Int64,
        coalesceNanoseconds: UInt64 = 0, clock: CycleClock, latency: consuming LatencyWriter, wiring: Pipeline.Wiring
    ) {
        self.wiring = wiring
        control = wiring.control
        self.consumer = consumer
        self.backend = backend
        self.baseSequence = baseSequence
        self.coalesceNanoseconds = coalesceNanoseconds
        self.clock = clock
        self.latency = latency
        appendedThrough = -1
        _durableSequence = baseSequence
    }

    /// Appends what is available (as much as the backend takes), commits it, and releases to
    /// the logic what is durable; returns how many events were released (0 when idle or failed).
    @inlinable
    public mutating func journal(now: UInt64) -> Int {
        if failure != nil { return 0 }
        var committedAt: UInt64 = 0
        do throws(JournalError) {
            if let range = consumer.available(limit: backend.appendLimit) {
                let first = Swift.max(range.first, appendedThrough &+ 1)
                let waiting = range.last &- first &+ 1
                let window = Swift.min(coalesceNanoseconds, lastWriteDuration &* 2)
                let coalescing =
                    backend.coalescesWrites && waiting < Self.fullBatch && now &- lastWriteEnd < window
                if waiting > 0 && !coalescing {
                    appendedThrough = try backend.append(
                        consumer, first: first, last: range.last, baseSequence: baseSequence)
                    try backend.commit(now: now, drained: appendedThrough == range.last)
                    committedAt = clock.now()
                    lastWriteEnd = committedAt
                    lastWriteDuration = committedAt &- now
                }
            }
            _durableSequence = try backend.durableSequence(now: now)
        } catch {
            failure = error
            return 0
        }
        let releasable = Int(_durableSequence &- baseSequence) &- 1 &- consumer.sequence
        guard releasable > 0 else { return 0 }
        let range = SequenceRange(first: consumer.sequence &+ 1, count: releasable)
        let released = committedAt != 0 ? committedAt : clock.now()
        latency.record(released &- consumer.element(range.first).timestamp)
        consumer.finish(range)
        _passed &+= range.count
        _batches &+= 1
        return range.count
    }

    /// Called while idle after a stop: lets the backend give up on events it cannot make
    /// durable in time (they were never released to the logic).
    @usableFromInline
    mutating func stopping(now: UInt64) {
        guard failure == nil else { return }
        do throws(JournalError) { try backend.stopping(now: now) } catch { failure = error }
    }

    /// Makes everything appended durable, whatever the policy (clean shutdown).
    public mutating func close(now: UInt64) {
        do throws(JournalError) {
            try backend.close(now: now)
            if failure == nil { _durableSequence = try backend.durableSequence(now: now) }
        } catch {
            if failure == nil { failure = error }
        }
    }

    /// Hands the latency histogram to the monitor if it asked (batch ends and idle).
    @inlinable
    public mutating func serviceCollection() { latency.serviceCollection() }

    /// The last ring sequence passed on.
    @inlinable public var sequence: Int { consumer.sequence }

    /// One past the last durable journal sequence.
    @inlinable public var durableSequence: Int64 { _durableSequence }

    /// The backend's figures, with the stage's batch count.
    public var statistics: JournalStatistics {
        var statistics = backend.statistics
        statistics.batches = _batches
        statistics.durableSequence = _durableSequence
        return statistics
    }
}

extension JournalStage: Stage where Backend: ~Copyable {
    @inlinable
    public mutating func poll(now: UInt64, whileBlocked: () -> Void) -> Int {
        let passed = journal(now: now)
        if passed == 0, control.stopRequested { stopping(now: now) }
        serviceCollection()
        wiring.counters.publish(.journalPassed, _passed)
        wiring.counters.publish(.journalDurable, Int(_durableSequence))
        if passed > 0 { wiring.counters.publish(.journalBytes, backend.bytesWritten) }
        if failure != nil { recordFailure() }
        return passed
    }

    /// Records the first failure and stops the pipeline with it.
    @usableFromInline
    mutating func recordFailure() {
        guard let failure, !wiring.control.journalFailed else { return }
        wiring.results.journalError = failure
        wiring.control.failJournal()
    }

    public mutating func isDone() -> Bool {
        if control.journalFailed { return true }
        guard let last = control.sourceFinalSequence else { return false }
        return sequence >= last
    }

    public mutating func finish() {
        close(now: wiring.clock.now())
        recordFailure()
        let statistics = self.statistics
        wiring.counters.publish(.journalPassed, _passed)
        wiring.counters.publish(.journalDurable, Int(statistics.durableSequence))
        wiring.counters.publish(.journalBytes, statistics.bytesWritten)
        wiring.results.journal = statistics
        wiring.control.finishJournal()
    }

    public var wakeSignal: WakeSignal { wiring.inbound.wakeSignal }
}
