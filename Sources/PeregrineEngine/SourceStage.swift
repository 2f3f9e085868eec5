import PeregrineCore
import PeregrineModel

/// The source stage: steps its `EventSource` into the inbound ring until the source is
/// exhausted or a stop is asked for, then publishes the session-end marker (which makes the
/// logic flush what it holds) as the last event of the run.
public struct SourceStage<Source: EventSource & ~Copyable>: ~Copyable, Stage {
    @usableFromInline var source: Source
    @usableFromInline var writer: InboundWriter
    @usableFromInline let wiring: Pipeline.Wiring
    @usableFromInline var sessionEnded = false

    @usableFromInline
    init(source: consuming Source, producer: consuming SequencedProducer<Event>, wiring: Pipeline.Wiring) {
        self.source = source
        writer = InboundWriter(producer)
        self.wiring = wiring
        wiring.admin.setOpen(true)
    }

    @inlinable
    public mutating func poll(now: UInt64, whileBlocked: () -> Void) -> Int {
        if wiring.admin.hasPending, !sessionEnded { return sequenceAdminCommand(now: now) }
        if !wiring.control.stopRequested && !source.isExhausted {
            let handled = source.step(now: now, into: &writer)
            publishCounters()
            return handled
        }
        if sessionEnded || wiring.control.journalFailed { return 0 }
        guard writer.claim(exactly: 1) else { return 0 }
        writer.write(
            Event(
                timestamp: now, exchangeTimestamp: WallClock.nanoseconds(), instrument: InstrumentID(0),
                payload: .timer(TimerFire(timerID: TimerFire.sessionEnd, deadline: now))))
        writer.publish()
        sessionEnded = true
        publishCounters()
        return 1
    }

    /// Writes the operator's waiting command as an admin event, stamped with the wall clock
    /// (its exchange time: UTC for the loss limits' trading day).
    @usableFromInline @inline(never)
    mutating func sequenceAdminCommand(now: UInt64) -> Int {
        guard writer.claim(exactly: 1) else { return 0 }
        guard let command = wiring.admin.take() else {
            // Nothing after all (cannot happen: only this thread takes): a clock tick fills the claim.
            writer.write(.clockTick(at: now))
            writer.publish()
            return 1
        }
        writer.write(
            Event(
                timestamp: now, exchangeTimestamp: WallClock.nanoseconds(), instrument: InstrumentID(0),
                payload: .admin(command)))
        writer.publish()
        return 1
    }

    @inlinable
    mutating func publishCounters() {
        let counts = source.counts
        let counters = wiring.counters
        counters.publish(.sourceEmitted, counts.emitted &+ (sessionEnded ? 1 : 0))
        counters.publish(.sourceDropped, counts.dropped)
        counters.publish(.sourceFullWaits, counts.fullWaits)
        counters.publish(.sourceTicks, counts.ticks)
    }

    public mutating func isDone() -> Bool { sessionEnded || wiring.control.journalFailed }

    public mutating func finish() {
        wiring.admin.setOpen(false)
        publishCounters()
        if let summary = source.summary { wiring.results.recordedSummary = summary }
        if let failure = source.failure { wiring.results.sourceFailure = failure }
        if let losses = source.losses { wiring.results.sourceLosses = losses }
        if let unread = source.unread { wiring.results.sourceUnread = unread }
        wiring.control.sourceFinished(lastSequence: writer.publishedSequence)
    }

    public var wakeSignal: WakeSignal { wiring.inbound.wakeSignal }
}

/// Sources of one type stepped in turn on one thread (several recorded files, say), into one
/// sequence.
public struct SourceGroup<Source: EventSource>: EventSource {
    @usableFromInline var sources: [Source]

    public init(_ sources: [Source]) { self.sources = sources }

    @inlinable
    public mutating func step<Writer: EventWriter & ~Copyable>(now: UInt64, into writer: inout Writer) -> Int {
        var handled = 0
        for index in sources.indices where !sources[index].isExhausted {
            handled &+= sources[index].step(now: now, into: &writer)
        }
        return handled
    }

    @inlinable public var isExhausted: Bool { sources.allSatisfy(\.isExhausted) }
    public var counts: SourceCounts { sources.reduce(SourceCounts()) { $0 + $1.counts } }

    public var summary: String? {
        let lines = sources.compactMap(\.summary)
        return lines.isEmpty ? nil : lines.joined(separator: "; ")
    }

    public var failure: String? { sources.lazy.compactMap(\.failure).first }

    public var unread: String? {
        let lines = sources.compactMap(\.unread)
        return lines.isEmpty ? nil : lines.joined(separator: "; ")
    }

    public var losses: String? {
        let lines = sources.compactMap(\.losses)
        return lines.isEmpty ? nil : lines.joined(separator: "; ")
    }
}

/// The configuration's recorded files, one source per spec, merged in turn.
public struct RecordedSourcesPlan: SourcePlan {
    public var specs: [RecordedSourceSpec]

    public init(_ specs: [RecordedSourceSpec]) { self.specs = specs }

    public func open(_ context: SourceContext) throws(EngineError) -> SourceGroup<RecordedSource> {
        var sources: [RecordedSource] = []
        for spec in specs { sources.append(try spec.open(context)) }
        return SourceGroup(sources)
    }

    public var description: String { specs.map(\.description).joined(separator: " + ") }
    public var exhaustedReason: String { "end of the files" }
}
