import PeregrineCore
import PeregrineEngine
import PeregrineJournal
import PeregrineModel
import PeregrineStrategy

/// The distributed journal: the shard's JetStream stream (`PEREGRINE_JOURNAL_K`), whose
/// description holds the logic settings it was written with. Recovery replays the whole
/// stream; the writer it leaves is handed to the journal thread. A class because recovery and
/// the journal thread share that writer (one after the other, never at once).
public final class JetStreamJournalPlan: JournalPlan, @unchecked Sendable {
    public let settings: NATSSettings
    /// Made by `recover`, taken by `open`.
    var writer: JetStreamJournalWriter?

    public init(settings: NATSSettings) { self.settings = settings }

    /// The durability point of a JetStream journal: an event is durable once the frame holding
    /// it is acknowledged (stored by the stream's replicas); no `fdatasync` policy applies.
    public func durability(_ configuration: EngineConfiguration) -> String {
        "acknowledged by JetStream (the frame holding an event stored by the stream)"
    }

    public func recover<S: Strategy>(configuration: EngineConfiguration, custom: S.Type) throws(EngineError)
        -> Recovered<S>?
    {
        let logicSettings = try LogicSettings(configuration, custom: custom)
        let jetStream: JetStream
        /// The stream's settings when another revision wrote it (the change accepted), read
        /// before this build writes its own into the stream's description.
        var otherRevision: LogicSettings? = nil
        do {
            let connection = try NATSConnection(
                NATSConnectionOptions(url: settings.url, name: "peregrine-shard-\(settings.shard)"))
            jetStream = try connection.jetStream()
            if let state = try jetStream.streamState(settings.journalStream), state.messages > 0,
                let text = state.description
            {
                let stored = try settings.storedLogic(description: text)
                if let difference = logicSettings.difference(from: stored) {
                    throw EngineError.settings(
                        .differs(origin: "stream \(settings.journalStream)", difference: difference))
                }
                // Every start replays the stream from its first record: all of it must be this
                // revision's, or its replay accepted (the stream is then this revision's).
                if stored.exactFrom > 0 {
                    guard configuration.acceptLogicChange else {
                        throw EngineError.recovery(
                            .otherLogicRevisionInStream(
                                stream: "\(settings.url) stream \(settings.journalStream)",
                                writtenBy: stored.revisionText))
                    }
                    otherRevision = stored
                }
            }
            try JetStreamJournalWriter.refuseForeign(
                jetStream: jetStream, settings: settings.journalStreamSettings(logic: logicSettings))
            try jetStream.addOrUpdateStream(settings.journalStreamSettings(logic: logicSettings))
        } catch let error as EngineError {
            throw error
        } catch let error as JetStreamJournalError {
            throw .part("JetStream journal \(settings.url) stream \(settings.journalStream)", error)
        } catch let error as NATSError {
            throw .part("JetStream journal at \(settings.url)", error)
        } catch {
            throw .wiring("unexpected \(error)")
        }
        let recovered = try Self.recover(
            jetStream: jetStream, settings: settings, configuration: configuration, custom: custom,
            stored: otherRevision)
        let writer: JetStreamJournalWriter
        do {
            writer = try JetStreamJournalWriter(
                jetStream: jetStream, settings: settings.journalStreamSettings(logic: logicSettings),
                subject: settings.journalSubject, window: settings.window, maxEventsPerFrame: settings.frameEvents,
                ackWaitMilliseconds: settings.ackWaitMilliseconds)
        } catch {
            throw .part("JetStream journal \(settings.url) stream \(settings.journalStream)", error)
        }
        if writer.nextSequence != recovered.summary.nextSequence {
            throw .recovery(
                .grewDuringRecovery(
                    journal: "\(settings.url) stream \(settings.journalStream) (shard \(settings.shard))",
                    from: recovered.summary.nextSequence, to: writer.nextSequence))
        }
        self.writer = writer
        return recovered
    }

    /// Rebuilds the logic from a JetStream journal stream: every event from the stream's first
    /// through `through`, in order, with each frame's checksum and continuity checked (a frame
    /// missing or out of place throws). The stream must start at sequence 0 (no snapshots live
    /// in the stream). Outputs from `printFrom` on go to `printer`; order updates to
    /// `orderEvents`. `stored`: the logic settings the stream was written with, when known; the
    /// records another revision wrote are then in the summary (`otherRevision`).
    public static func recover<S: Strategy>(
        jetStream: JetStream, settings: NATSSettings, configuration: EngineConfiguration, custom: S.Type,
        through: Int64 = .max, printFrom: Int64 = 0, printer: ((String) -> Void)? = nil,
        orderEvents: OrderEventWriter? = nil, stored: LogicSettings? = nil
    ) throws(EngineError) -> Recovered<S> {
        let start = JournalReplay.monotonicSeconds()
        var logic = try JournalReplay.journalsLogic(
            configuration: configuration, custom: custom,
            origin: "\(settings.url) stream \(settings.journalStream) (its logic settings)")
        var outputs = HashingOutputs()
        outputs.orderEvents = orderEvents
        outputs.print(to: printer, instruments: configuration.resolvedInstruments)
        let summary: JetStreamJournalReader.Summary
        do {
            let tail = try JetStreamJournalReader.tail(jetStream: jetStream, stream: settings.journalStream)
            guard tail.firstSequence == 0 else {
                throw JetStreamJournalError.discontinuity(streamSequence: 1, expected: 0, found: tail.firstSequence)
            }
            summary = try JetStreamJournalReader.read(
                jetStream: jetStream, stream: settings.journalStream, subject: settings.journalSubject,
                through: through
            ) { event, sequence in
                outputs.printer = sequence >= printFrom ? printer : nil
                logic.handle(event, sequence: sequence, outputs: &outputs)
            }
        } catch {
            throw .part("JetStream journal \(settings.url) stream \(settings.journalStream)", error)
        }
        var replay = ReplaySummary(
            directory: "\(settings.url) stream \(settings.journalStream)", records: summary.events,
            replayed: summary.events, segments: summary.frames,
            nextSequence: summary.events == 0 ? 0 : summary.nextSequence,
            tornTail: nil, repairedBytes: 0, seconds: JournalReplay.monotonicSeconds() - start, snapshot: nil,
            stateHash: logic.stateHash(), outputHash: outputs.hasher.value, outcomes: outputs.outcomes,
            orders: outputs.orders, reports: outputs.reportCount, fills: outputs.fills)
        // Records another revision wrote (every start replays the whole stream): said by
        // `replay`, and by a run that accepted the change.
        replay.otherRevision = stored?.otherRevisionRecords(from: 0, end: replay.nextSequence)
        return Recovered(logic: logic, hasher: outputs.hasher, summary: replay)
    }

    public func open(_ context: JournalContext) throws(EngineError) -> JetStreamJournal {
        guard let writer else { throw .wiring("the JetStream journal was opened before recovery") }
        self.writer = nil
        return JetStreamJournal(
            writer: writer,
            shutdownLimitNanoseconds: CycleClock.saturatingNanoseconds(seconds: settings.shutdownAckSeconds))
    }

    public var description: String { "JetStream stream \(settings.journalStream) on \(settings.url)" }

    public func reportLines(_ report: EngineReport) -> [String] {
        let journal = report.journal
        var lines = [
            "journal           JetStream stream \(settings.journalStream) on \(settings.url) (R\(settings.replicas), "
                + "\(settings.storage)); durable = acknowledged by JetStream",
            "journal writes    \(grouped(journal.bytesWritten)) bytes in \(grouped(journal.frames)) frames · "
                + "\(grouped(journal.republishes)) republished · connection lost \(journal.disconnects) time(s), "
                + "back \(journal.reconnects) · " + JournalFormat.durableText(next: journal.durableSequence),
        ]
        if let recovery = report.recovery {
            lines.append(
                "recovery          replayed \(grouped(recovery.replayed)) events from \(recovery.segments) frame(s) in "
                    + "\(LatencySummary.decimal(recovery.seconds * 1_000)) ms; continuing at sequence \(recovery.nextSequence)"
            )
        }
        return lines
    }
}

/// The journal stage's backend in distributed mode: events go into frames published to
/// JetStream (as far as the publish window allows; a full window leaves them in the ring,
/// which holds the source back), and are durable once JetStream has acknowledged their frame
/// and every frame before it.
public struct JetStreamJournal: ~Copyable, JournalBackend {
    @usableFromInline let writer: JetStreamJournalWriter
    /// Finds frames removed from the stream behind the writer's back.
    @usableFromInline let watch: JournalStreamWatch
    let shutdownLimitNanoseconds: UInt64
    /// When the durable sequence last moved during a shutdown, and where it was.
    var stallStartedAt: UInt64 = 0
    var stallDurable: Int64 = -1

    init(writer: JetStreamJournalWriter, shutdownLimitNanoseconds: UInt64) {
        self.writer = writer
        self.shutdownLimitNanoseconds = shutdownLimitNanoseconds
        watch = JournalStreamWatch(jetStream: writer.jetStream, stream: writer.settings.name)
    }

    deinit { watch.stop() }

    @inlinable
    public mutating func append(_ event: Event, sequence: Int64) throws(JournalError) -> Bool {
        do { return try writer.append(event, sequence: sequence) } catch { throw .replicated(error.description) }
    }

    /// Publishes a partly filled frame once the ring is drained (full frames went out already).
    @inlinable
    public mutating func commit(now: UInt64, drained: Bool) throws(JournalError) {
        if drained { writer.flush() }
    }

    @inlinable
    public mutating func durableSequence(now: UInt64) throws(JournalError) -> Int64 {
        let durable = writer.pollAcks()
        if let failure = writer.permanentFailure ?? watch.failure { throw .replicated(failure) }
        return durable
    }

    /// After a stop: when JetStream has acknowledged nothing new for the shutdown limit while
    /// events wait (the server is away), gives up with an error naming what is not durable.
    public mutating func stopping(now: UInt64) throws(JournalError) {
        if stallStartedAt == 0 || writer.durableSequence != stallDurable {
            stallStartedAt = now
            stallDurable = writer.durableSequence
            return
        }
        if writer.durableSequence < writer.nextSequence, now &- stallStartedAt >= shutdownLimitNanoseconds {
            throw .replicated(
                "stopping, and JetStream acknowledged nothing for \(shutdownLimitNanoseconds / 1_000_000_000) s: events "
                    + "from sequence \(writer.durableSequence) on are not durable and were not acted on "
                    + "(last publish failure: \(writer.lastFailure ?? "none"))")
        }
    }

    public mutating func close(now: UInt64) throws(JournalError) { writer.flush() }

    public var appendLimit: Int { .max }

    public var statistics: JournalStatistics {
        var statistics = JournalStatistics()
        statistics.bytesWritten = writer.bytesPublished
        statistics.durableSequence = writer.durableSequence
        statistics.frames = writer.framesPublished
        statistics.republishes = writer.republishes
        statistics.disconnects = writer.jetStream.connection.events.disconnects.load(ordering: .relaxed)
        statistics.reconnects = writer.jetStream.connection.events.reconnects.load(ordering: .relaxed)
        return statistics
    }
}
