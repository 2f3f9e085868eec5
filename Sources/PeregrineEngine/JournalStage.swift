import PeregrineCore
import PeregrineJournal
import PeregrineModel
import PeregrineNATS

/// The journal stage: consumer 0 of the inbound ring. It appends each available batch to the
/// journal with one write (group commit), syncs as the durability policy says, and only then
/// finishes the batch — so the logic stage, which depends on this consumer, acts only on
/// durable events (the durability point). Without a journal it passes events on.
///
/// A journal error stops the stage for good: it finishes nothing more, records the error and
/// the pipeline shuts down with it in the report (accepted events are never silently lost).
public struct JournalStage: ~Copyable {
    @usableFromInline var consumer: SequencedConsumer<Event>
    @usableFromInline let batchLimit: Int
    @usableFromInline var writer: JournalWriter?
    /// The replicated journal (distributed mode) instead of `writer`: events are released to
    /// the logic when JetStream has acknowledged the frames holding them.
    let jetStream: JetStreamJournalWriter?
    /// The last ring sequence handed to `jetStream` (it may run ahead of what is released).
    var appendedThrough = -1
    /// When the durable sequence last moved during a shutdown, and where it was.
    var stallStartedAt: UInt64 = 0
    var stallDurable: Int64 = -1
    @usableFromInline let policy: DurabilityPolicy
    /// Journal sequence of ring sequence 0.
    @usableFromInline let baseSequence: Int64
    @usableFromInline var lastSync: UInt64
    /// Small batches wait until this long after the previous write (see
    /// `EngineConfiguration.journalCoalesceMicroseconds`).
    let coalesceNanoseconds: UInt64
    /// When the previous write finished, and how long it took: a small batch waits until
    /// twice that long after it (at most `coalesceNanoseconds`), so writes take at most about
    /// half of this thread's time and low rates are not delayed at all.
    var lastWriteEnd: UInt64 = 0
    var lastWriteDuration: UInt64 = 0
    let clock: CycleClock?
    /// Batches of at least this many events are written at once.
    static let fullBatch = 64
    /// Syncs for the `batch` policy, off this thread.
    let syncer: BackgroundSyncer?
    var reportedSegments = 0
    @usableFromInline var _passed: Int = 0
    public var passed: Int { _passed }
    @usableFromInline var _batches: Int = 0
    public var batches: Int { _batches }
    public private(set) var failure: JournalError?
    /// Per batch, from the oldest event's ingress until the batch is released to the logic
    /// (the journal stage's latency; one sample per batch, so its worst event).
    @usableFromInline var latency: LatencyWriter?

    public init(
        consumer: consuming SequencedConsumer<Event>, writer: consuming JournalWriter?, policy: DurabilityPolicy,
        baseSequence: Int64, batchLimit: Int, coalesceNanoseconds: UInt64 = 0, syncer: BackgroundSyncer? = nil,
        clock: CycleClock? = nil, latency: consuming LatencyWriter? = nil, jetStream: JetStreamJournalWriter? = nil,
        now: UInt64
    ) {
        self.jetStream = jetStream
        self.latency = latency
        self.coalesceNanoseconds = coalesceNanoseconds
        self.clock = clock
        self.syncer = syncer
        self.consumer = consumer
        self.writer = writer
        self.policy = policy
        self.baseSequence = baseSequence
        self.batchLimit = batchLimit
        lastSync = now
        durableSequence = baseSequence
        refreshStatistics()
    }

    /// Journals one available batch and passes it on; returns how many events (0 when idle
    /// or failed). Under the `batch` policy an idle call still syncs when the interval is up.
    public mutating func poll(now: UInt64) -> Int {
        if failure != nil { return 0 }
        if let jetStream { return pollReplicated(jetStream) }
        guard let range = consumer.available(limit: batchLimit) else {
            syncIfDue(now: now, force: false)
            return 0
        }
        let window = Swift.min(coalesceNanoseconds, lastWriteDuration &* 2)
        if range.count < Self.fullBatch, now &- lastWriteEnd < window, writer != nil {
            return 0  // let a few more arrive; written on a later poll, within the coalescing window
        }
        do throws(JournalError) {
            if writer != nil {
                var sequence = range.first
                while sequence <= range.last {
                    try writer?.append(consumer.element(sequence), sequence: baseSequence &+ Int64(sequence))
                    sequence &+= 1
                }
                try writer?.commit()
                if let clock {
                    lastWriteEnd = clock.now()
                    lastWriteDuration = lastWriteEnd &- now
                }
                switch policy {
                case .every: try sync(now: now)
                case .batch(let interval, let events):
                    if let syncer {
                        let segments = writer?.segmentsCreated ?? 0
                        syncer.committed(
                            through: writer?.committedSequence ?? 0, descriptor: writer?.descriptor ?? -1,
                            segmentChanged: segments != reportedSegments)
                        reportedSegments = segments
                        if let failure = syncer.lastFailure { throw failure }
                    } else {
                        let unsynced = Int((writer?.committedSequence ?? 0) - (writer?.syncedSequence ?? 0))
                        if unsynced >= events || now &- lastSync >= UInt64(interval) &* 1_000 { try sync(now: now) }
                    }
                case .none: break
                }
            }
        } catch {
            failure = error
            return 0
        }
        if let clock {
            let released = clock.now()
            latency?.record(released &- consumer.element(range.first).timestamp)
        }
        consumer.finish(range)
        _passed &+= range.count
        _batches &+= 1
        refreshStatistics()
        return range.count
    }

    /// The distributed journal: hands every available event to the JetStream writer (as far as
    /// its window allows; a full window leaves them in the ring, which holds the source back),
    /// publishes a partial frame when caught up, then releases to the logic everything
    /// acknowledged so far.
    mutating func pollReplicated(_ jetStream: JetStreamJournalWriter) -> Int {
        do throws(JetStreamJournalError) {
            if let range = consumer.available(limit: .max) {
                var sequence = Swift.max(range.first, appendedThrough &+ 1)
                while sequence <= range.last {
                    guard try jetStream.append(consumer.element(sequence), sequence: baseSequence &+ Int64(sequence))
                    else { break }
                    appendedThrough = sequence
                    sequence &+= 1
                }
                if sequence > range.last { jetStream.flush() }
            }
        } catch {
            failure = .replicated(error.description)
            return 0
        }
        let durable = jetStream.pollAcks()
        durableSequence = durable
        bytesWritten = jetStream.bytesPublished
        let releasable = Int(durable &- baseSequence) &- 1 &- consumer.sequence
        guard releasable > 0 else { return 0 }
        let range = SequenceRange(first: consumer.sequence &+ 1, count: releasable)
        if let clock {
            latency?.record(clock.now() &- consumer.element(range.first).timestamp)
        }
        consumer.finish(range)
        _passed &+= range.count
        _batches &+= 1
        return range.count
    }

    /// After a stop: when JetStream has acknowledged nothing new for `limitNanoseconds` while
    /// events wait (the server is away), gives up with an error naming what is not durable,
    /// so a shutdown cannot hang. Those events were never released to the logic.
    mutating func enforceShutdownDeadline(now: UInt64, limitNanoseconds: UInt64) {
        guard let jetStream, failure == nil else { return }
        if stallStartedAt == 0 || jetStream.durableSequence != stallDurable {
            stallStartedAt = now
            stallDurable = jetStream.durableSequence
            return
        }
        if now &- stallStartedAt >= limitNanoseconds {
            failure = .replicated(
                "stopping, and JetStream acknowledged nothing for \(limitNanoseconds / 1_000_000_000) s: events from "
                    + "sequence \(jetStream.durableSequence) on are not durable and were not acted on "
                    + "(last publish failure: \(jetStream.lastFailure ?? "none"))")
        }
    }

    mutating func syncIfDue(now: UInt64, force: Bool) {
        guard failure == nil else { return }
        do throws(JournalError) {
            switch policy {
            case .batch where syncer != nil && !force: break
            case .batch(let interval, _) where force || now &- lastSync >= UInt64(interval) &* 1_000: try sync(now: now)
            case .none where force, .every where force: try sync(now: now)
            default: break
            }
        } catch {
            failure = error
        }
    }

    mutating func sync(now: UInt64) throws(JournalError) {
        try writer?.sync()
        lastSync = now
        refreshStatistics()
    }

    /// Syncs everything written (clean shutdown, whatever the policy) and stops the syncer.
    public mutating func close(now: UInt64) {
        jetStream?.flush()
        syncer?.stop()
        syncIfDue(now: now, force: true)
    }

    /// Hands the latency histogram to the monitor if it asked (batch ends and idle).
    public mutating func serviceCollection() {
        latency?.serviceCollection()
    }

    /// The last ring sequence passed on.
    @inlinable public var sequence: Int { consumer.sequence }

    /// Events journaled and durable under the policy (written for `none` and `batch`, synced
    /// for `every`), counted from the journal's start: one past the last durable sequence.
    public private(set) var durableSequence: Int64 = 0
    public private(set) var bytesWritten = 0
    public private(set) var syncs = 0
    public private(set) var segmentsCreated = 0

    mutating func refreshStatistics() {
        if let jetStream {
            durableSequence = jetStream.durableSequence
            bytesWritten = jetStream.bytesPublished
            return
        }
        let hasWriter = writer != nil
        guard hasWriter else {
            durableSequence = baseSequence &+ Int64(_passed)
            return
        }
        switch policy {
        case .every: durableSequence = writer?.syncedSequence ?? 0
        case .none, .batch: durableSequence = writer?.committedSequence ?? 0
        }
        bytesWritten = writer?.bytesWritten ?? 0
        syncs = (writer?.syncs ?? 0) + (syncer?.syncs ?? 0)
        segmentsCreated = writer?.segmentsCreated ?? 0
    }
}
