import PeregrineCore
import PeregrineJournal
import PeregrineModel
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A journal frame: many events in one JetStream message (one message per event reaches only
/// ~60K messages/s on loopback; frames are what make millions of events per second possible).
///
/// ```
///  0  magic "PGJF"
///  4  format version   u16 (1)
///  6  header size      u16 (32)
///  8  frame index      u64  0, 1, 2, … in stream order (finds the ack slot; continuity check)
/// 16  first sequence   i64  journal sequence of the first event; the rest follow on
/// 24  event count      u32  1 … maxEventsPerFrame
/// 28  CRC-32C          u32  over bytes 0..<28 and the events
/// 32  events           count × the 64-byte Event wire encoding
/// ```
/// The message id (`Nats-Msg-Id`) is the first sequence in decimal and the writer's
/// incarnation (a random number per writer), so a frame one writer publishes again (after a
/// lost ack or a reconnect) is dropped by the server's duplicate window, while another
/// writer's frame of the same first sequence is not taken for it: it meets the expected last
/// sequence and is refused (an engine started at the same moment as another on an empty
/// stream had been answered "duplicate", and acted on events no journal held).
public enum JournalFrame {
    public static let magic: UInt32 = 0x464A_4750  // "PGJF" little-endian
    public static let version: UInt16 = 1
    public static let headerSize = 32
    /// 1,023 events: a frame stays under 64 KiB.
    public static let maxEvents = 1_023

    public struct Header: Equatable, Sendable {
        public var frameIndex: UInt64
        public var firstSequence: Int64
        public var count: Int

        public init(frameIndex: UInt64, firstSequence: Int64, count: Int) {
            self.frameIndex = frameIndex
            self.firstSequence = firstSequence
            self.count = count
        }
    }

    /// Writes the header for the `count` events already at `bytes[32...]`.
    static func seal(_ bytes: UnsafeMutableRawBufferPointer, frameIndex: UInt64, firstSequence: Int64, count: Int) {
        bytes.storeBytes(of: magic.littleEndian, toByteOffset: 0, as: UInt32.self)
        bytes.storeBytes(of: version.littleEndian, toByteOffset: 4, as: UInt16.self)
        bytes.storeBytes(of: UInt16(headerSize).littleEndian, toByteOffset: 6, as: UInt16.self)
        bytes.storeBytes(of: frameIndex.littleEndian, toByteOffset: 8, as: UInt64.self)
        bytes.storeBytes(of: firstSequence.littleEndian, toByteOffset: 16, as: Int64.self)
        bytes.storeBytes(of: UInt32(count).littleEndian, toByteOffset: 24, as: UInt32.self)
        let raw = UnsafeRawBufferPointer(bytes)
        var crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<28]))
        crc = CRC32C.checksum(
            UnsafeRawBufferPointer(rebasing: raw[headerSize..<(headerSize + count * Event.encodedSize)]),
            continuing: crc)
        bytes.storeBytes(of: crc.littleEndian, toByteOffset: 28, as: UInt32.self)
    }

    /// A whole frame of `events` (1 … 1,023), for publishers of input frames.
    public static func encode(_ events: ArraySlice<Event>, frameIndex: UInt64, firstSequence: Int64) -> [UInt8] {
        let count = Swift.min(events.count, maxEvents)
        var bytes = [UInt8](repeating: 0, count: headerSize + count * Event.encodedSize)
        bytes.withUnsafeMutableBytes { raw in
            for (index, event) in events.prefix(count).enumerated() {
                let at = headerSize + index * Event.encodedSize
                try? event.encode(into: UnsafeMutableRawBufferPointer(rebasing: raw[at..<(at + Event.encodedSize)]))
            }
            seal(raw, frameIndex: frameIndex, firstSequence: firstSequence, count: count)
        }
        return bytes
    }

    /// Decodes events `first ..< count` (`header.count` when nil) of a frame checked by `header(of:streamSequence:)`
    /// and hands each to `body` with its sequence (a tight loop without captured state, so no
    /// exclusivity checks per event).
    @inline(__always)
    public static func forEachEvent(
        in bytes: UnsafeRawBufferPointer, header: Header, from first: Int = 0, count: Int? = nil,
        _ body: (Event, Int64) throws(JetStreamJournalError) -> Void
    ) throws(JetStreamJournalError) {
        var index = first
        let end = Swift.min(count ?? header.count, header.count)
        while index < end {
            let offset = headerSize &+ index &* Event.encodedSize
            let sequence = header.firstSequence &+ Int64(index)
            let event: Event
            do {
                event = try Event(
                    decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset &+ Event.encodedSize)]))
            } catch { throw .badEvent(sequence: sequence, reason: "\(error)") }
            try body(event, sequence)
            index &+= 1
        }
    }

    /// Checks a frame's header, length and checksum.
    public static func header(of bytes: UnsafeRawBufferPointer, streamSequence: UInt64) throws(JetStreamJournalError)
        -> Header
    {
        func bad(_ reason: String) -> JetStreamJournalError {
            .corruptFrame(streamSequence: streamSequence, reason: reason)
        }
        guard bytes.count >= headerSize else { throw bad("\(bytes.count) bytes, shorter than the 32-byte header") }
        guard UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self)) == magic else {
            throw bad("not a Peregrine journal frame (magic)")
        }
        let frameVersion = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt16.self))
        guard frameVersion == version else { throw bad("format version \(frameVersion), this build reads \(version)") }
        let count = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt32.self)))
        guard (1...maxEvents).contains(count), bytes.count == headerSize + count * Event.encodedSize else {
            throw bad("\(count) events do not match \(bytes.count) bytes")
        }
        var crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<28]))
        crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[headerSize...]), continuing: crc)
        guard crc == UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 28, as: UInt32.self)) else {
            throw bad("checksum mismatch")
        }
        return Header(
            frameIndex: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
            firstSequence: Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: Int64.self)), count: count)
    }
}

/// Why the JetStream journal could not write or read.
public enum JetStreamJournalError: Error, Equatable, Sendable, CustomStringConvertible {
    case nats(NATSError)
    case corruptFrame(streamSequence: UInt64, reason: String)
    /// Frames or events out of order: the stream holds something other than one journal.
    case discontinuity(streamSequence: UInt64, expected: Int64, found: Int64)
    /// An event's bytes do not decode.
    case badEvent(sequence: Int64, reason: String)
    /// `append` was given a sequence that does not follow the previous one.
    case outOfOrder(expected: Int64, got: Int64)
    /// A stream of the journal's name that is not (only) a journal: left as it was.
    case foreignStream(stream: String, detail: String)

    public var description: String {
        switch self {
        case .nats(let error): return error.description
        case .corruptFrame(let at, let reason): return "journal stream message \(at) is not a valid frame: \(reason)"
        case .discontinuity(let at, let expected, let found):
            return
                "journal stream message \(at) starts at sequence \(found), expected \(expected): frames are missing or the stream holds another journal"
        case .badEvent(let sequence, let reason): return "journal event \(sequence) does not decode: \(reason)"
        case .outOfOrder(let expected, let got): return "journal append of sequence \(got), expected \(expected)"
        case .foreignStream(let stream, let detail): return "stream \(stream) is left as it was: \(detail)"
        }
    }
}

/// Where a journal stream ends.
public struct JetStreamJournalTail: Equatable, Sendable {
    /// One past the last journaled sequence (0 for an empty stream).
    public var nextSequence: Int64
    public var nextFrameIndex: UInt64
    /// The first journaled sequence still in the stream (limits may have removed older frames).
    public var firstSequence: Int64
    public var frames: UInt64
    /// The stream's last sequence (0 when nothing was ever stored): where the next frame goes.
    public var lastStreamSequence: UInt64
}

/// Writes journal events to a JetStream stream as frames, published asynchronously with at
/// most `window` frames awaiting their acks. An event is durable when the frame holding it
/// and every frame before it are acknowledged by JetStream (`durableSequence`). Frames whose
/// publish fails or whose ack does not come within the ack wait are published again, with the
/// same message id, once the connection is up. Each frame is published expecting the stream
/// sequence of the frame before it, so when a frame is lost in flight (a server restart) the
/// frames after it are refused until it has been published again: a lost frame is never
/// overtaken, and the stream holds no gap. The stream must hold this journal alone (the
/// reader refuses anything else in it). Used by one thread.
///
/// Memory is fixed at `window` × 64 KiB, allocated once; `append` copies 64 bytes into the
/// open frame and allocates nothing (a publish allocates inside the C client, once per frame).
public final class JetStreamJournalWriter {
    public let jetStream: JetStream
    public let settings: StreamSettings
    public let subject: String
    public let window: Int
    public let maxEventsPerFrame: Int
    /// This writer's part of each frame's message id (`JournalFrame`).
    public let incarnation = UInt64.random(in: 1...UInt64.max)
    let ackSlots: PublishAckSlots
    let buffer: UnsafeMutableRawPointer
    let frameBytes: Int
    /// Per slot: the frame's first sequence and event count, and when it was (re)published.
    var slotFirst: [Int64]
    var slotCount: [Int]
    var slotNeedsPublish: [Bool]
    /// Frames [oldestUnacked, nextFrameIndex) are published and awaiting acks.
    var oldestUnacked: UInt64
    /// Frame `firstFrameIndex` (the first this writer publishes) goes after stream sequence
    /// `firstStreamSequence − 1`, the next after it, and so on.
    let firstFrameIndex: UInt64
    let firstStreamSequence: UInt64
    public private(set) var nextFrameIndex: UInt64
    /// The open frame (slot nextFrameIndex % window).
    var openCount = 0
    var openFirst: Int64 = 0
    /// The next sequence `append` expects.
    public private(set) var nextSequence: Int64
    /// One past the last event acknowledged by JetStream (with everything before it).
    public private(set) var durableSequence: Int64
    public private(set) var framesPublished = 0
    public private(set) var republishes = 0
    public private(set) var bytesPublished = 0
    /// The last publish failure, for reports.
    public private(set) var lastFailure: String?
    /// Set when the stream refuses frames in a way publishing again cannot mend (it is gone,
    /// or full under a limit set outside the engine): the journal cannot be written.
    public private(set) var permanentFailure: String?
    /// Times in a row the oldest frame not stored, with every frame before it stored, was
    /// refused on the expected last sequence: the stream's last message is not this engine's.
    var foreignLastInARow = 0

    /// Opens (creating or updating) the stream and finds where the journal ends.
    public init(
        jetStream: JetStream, settings: StreamSettings, subject: String, window: Int = 64,
        maxEventsPerFrame: Int = JournalFrame.maxEvents, ackWaitMilliseconds: Int64 = 2_000
    ) throws(JetStreamJournalError) {
        self.jetStream = jetStream
        self.settings = settings
        self.subject = subject
        self.window = Swift.max(1, window)
        self.maxEventsPerFrame = Swift.min(Swift.max(1, maxEventsPerFrame), JournalFrame.maxEvents)
        try Self.refuseForeign(jetStream: jetStream, settings: settings)
        do {
            try jetStream.addOrUpdateStream(settings)
            ackSlots = try jetStream.enableAsyncPublish(
                maxPending: self.window, ackWaitMilliseconds: ackWaitMilliseconds)
        } catch { throw .nats(error) }
        let tail = try JetStreamJournalReader.tail(jetStream: jetStream, stream: settings.name)
        nextSequence = tail.nextSequence
        durableSequence = tail.nextSequence
        nextFrameIndex = tail.nextFrameIndex
        oldestUnacked = tail.nextFrameIndex
        firstFrameIndex = tail.nextFrameIndex
        firstStreamSequence = tail.lastStreamSequence + 1
        frameBytes = JournalFrame.headerSize + self.maxEventsPerFrame * Event.encodedSize
        buffer = UnsafeMutableRawPointer.allocate(byteCount: self.window * frameBytes, alignment: 64)
        slotFirst = [Int64](repeating: 0, count: self.window)
        slotCount = [Int](repeating: 0, count: self.window)
        slotNeedsPublish = [Bool](repeating: false, count: self.window)
    }

    deinit { buffer.deallocate() }

    /// Refuses a stream of the journal's name that someone else made, before anything in it
    /// changes (the stream is updated to the journal's settings next): one taking other
    /// subjects too, or holding a message that is not a frame at either end.
    public static func refuseForeign(jetStream: JetStream, settings: StreamSettings) throws(JetStreamJournalError) {
        let existing: StreamState?
        do { existing = try jetStream.streamState(settings.name) } catch { throw .nats(error) }
        guard let existing else { return }
        let others = existing.subjects.filter { !settings.subjects.contains($0) }
        if !others.isEmpty {
            throw .foreignStream(
                stream: settings.name,
                detail: "it also takes \(others.joined(separator: ", ")): it is not only this engine's journal; "
                    + "give another --nats-prefix, or remove those subjects from it")
        }
        if existing.messages > 0 { _ = try JetStreamJournalReader.tail(jetStream: jetStream, stream: settings.name) }
    }

    /// Frames published and not yet acknowledged.
    public var framesInFlight: Int { Int(nextFrameIndex - oldestUnacked) }

    /// Whether `append` has room: in the open frame, or a free slot for a new one.
    public var canAppend: Bool { openCount > 0 ? openCount < maxEventsPerFrame : framesInFlight < window }

    /// Adds `event` (journal `sequence`, one past the previous) to the open frame; publishes
    /// the frame when it is full. Returns false (and takes nothing) when the window is full.
    public func append(_ event: Event, sequence: Int64) throws(JetStreamJournalError) -> Bool {
        guard sequence == nextSequence else { throw .outOfOrder(expected: nextSequence, got: sequence) }
        guard canAppend else { return false }
        let slot = Int(nextFrameIndex % UInt64(window))
        if openCount == 0 { openFirst = sequence }
        let at = buffer + slot * frameBytes + JournalFrame.headerSize + openCount * Event.encodedSize
        do { try event.encode(into: UnsafeMutableRawBufferPointer(start: at, count: Event.encodedSize)) } catch {
            throw .badEvent(sequence: sequence, reason: error.description)
        }
        openCount += 1
        nextSequence += 1
        if openCount == maxEventsPerFrame { sealAndPublish() }
        return true
    }

    /// Publishes the open frame if it holds anything (called when the input is caught up).
    public func flush() {
        if openCount > 0 { sealAndPublish() }
    }

    func sealAndPublish() {
        let slot = Int(nextFrameIndex % UInt64(window))
        let bytes = UnsafeMutableRawBufferPointer(start: buffer + slot * frameBytes, count: frameBytes)
        JournalFrame.seal(bytes, frameIndex: nextFrameIndex, firstSequence: openFirst, count: openCount)
        slotFirst[slot] = openFirst
        slotCount[slot] = openCount
        ackSlots.cells.store(slot, -1, ordering: .releasing)
        slotNeedsPublish[slot] = !publish(slot: slot, frameIndex: nextFrameIndex)
        nextFrameIndex += 1
        openCount = 0
    }

    /// Publishes the frame in `slot`; false when the client refused it (retried later).
    func publish(slot: Int, frameIndex: UInt64) -> Bool {
        let length = JournalFrame.headerSize + slotCount[slot] * Event.encodedSize
        do {
            try jetStream.publishAsync(
                subject, UnsafeRawBufferPointer(start: buffer + slot * frameBytes, count: length),
                messageID: "\(slotFirst[slot])-\(incarnation)", tag: frameIndex,
                expectedLastSequence: firstStreamSequence + (frameIndex - firstFrameIndex) - 1)
            framesPublished += 1
            bytesPublished += length
            return true
        } catch {
            lastFailure = error.description
            return false
        }
    }

    /// Reads the acks that arrived: advances `durableSequence` over the acknowledged frames in
    /// order and publishes again the frames that failed (when the connection is up), in order.
    /// A failed frame behind one still awaiting its ack waits: it was refused because that one
    /// had not been stored, and is published again after it. Returns the new durable sequence.
    @discardableResult
    public func pollAcks() -> Int64 {
        var frame = oldestUnacked
        let connected = jetStream.connection.isConnected
        var behindPending = false
        while frame < nextFrameIndex {
            let slot = Int(frame % UInt64(window))
            let state = slotNeedsPublish[slot] ? false : ackSlots.state(of: frame)
            if state == true {
                if frame == oldestUnacked {
                    foreignLastInARow = 0
                    oldestUnacked += 1
                    durableSequence = slotFirst[slot] + Int64(slotCount[slot])
                }
            } else if state == nil {
                behindPending = true
            } else if connected && !behindPending {
                if !slotNeedsPublish[slot] {
                    lastFailure = ackSlots.lastFailureText
                    notePermanent()
                    if frame == oldestUnacked { noteForeignLast(frame: frame) }
                }
                ackSlots.cells.store(slot, -1, ordering: .releasing)
                republishes += 1
                slotNeedsPublish[slot] = !publish(slot: slot, frameIndex: frame)
            }
            frame += 1
        }
        return durableSequence
    }

    /// The oldest frame not stored (every frame before it is) was refused on the expected last
    /// sequence: the stream's last message is not the frame before it, so something else wrote
    /// to the stream since (another engine on this shard, or a publish to its subject), and no
    /// publish can mend that. Three such refusals in a row (each after the frame was published
    /// again) stop the journal, naming the stream; a frame stored resets the count.
    func noteForeignLast(frame: UInt64) {
        guard permanentFailure == nil else { return }
        guard (lastFailure ?? "").lowercased().contains("wrong last sequence") else {
            foreignLastInARow = 0
            return
        }
        foreignLastInARow += 1
        guard foreignLastInARow >= 3 else { return }
        permanentFailure =
            "stream \(settings.name) holds a message this engine did not write (its frame \(frame) was refused three "
            + "times: \(lastFailure ?? "")): another engine writes it (two engines on one shard?), or something published "
            + "to \(subject); stop the other writer, then restart this engine (it recovers what the stream holds)"
    }

    /// The stream refused five publishes in a row (nothing stored between) in a way publishing
    /// again cannot mend: it does not answer (deleted), or it is full under a limit set outside
    /// the engine (`max_bytes` or `max_msgs` with `discard: new`). The first refusal is named
    /// (the frames after it fail on the expected last sequence).
    func notePermanent() {
        guard permanentFailure == nil, let failure = ackSlots.unmendedRefusal(after: 5) else { return }
        permanentFailure =
            failure.lowercased().contains("no responders")
            ? "stream \(settings.name) does not answer (\(failure)): it was deleted, or its server lost JetStream; "
                + "the journal cannot be written"
            : "stream \(settings.name) refuses new frames (\(failure)): a limit set outside the engine (max_bytes "
                + "or max_msgs with discard new) is reached; raise or remove it"
    }

    /// Publishes the open frame and waits (up to `timeoutMilliseconds`) until everything
    /// appended is acknowledged; returns whether it all was.
    public func drain(timeoutMilliseconds: Int64) -> Bool {
        flush()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(timeoutMilliseconds))
        while pollAcks() < nextSequence {
            if clock.now >= deadline { return false }
            usleep(200)
        }
        return true
    }
}

/// Watches a journal stream from a thread of its own (`pg-journal-watch`): every `interval`
/// it reads the stream's state and notes when frames were removed, or will be, by something set
/// outside the writer (a limit with `discard: old`, a maximum age, a purge, deleted messages):
/// publishing cannot see it, and the journal would no longer hold every event from the first,
/// which recovery replays. The journal thread reads `failure` (an atomic flag first: no lock
/// per poll). A read that fails (the server away) is tried again at the next interval.
@usableFromInline
final class JournalStreamWatch: Sendable {
    let stream: String
    let removed = Atomic<Bool>(false)
    let stopped = Atomic<Bool>(false)
    let message = Mutex<String?>(nil)
    let thread = Mutex<PinnedThread?>(nil)

    init(jetStream writers: JetStream, stream: String, interval: Duration = .seconds(1)) {
        self.stream = stream
        // Its own context, whose requests wait at most a second: a stop joins this thread, so
        // a request to a server that is down does not hold the stop for the writer's 5 s.
        let jetStream = (try? writers.connection.jetStream(waitMilliseconds: 1_000)) ?? writers
        let started = try? PinnedThread.start(name: "pg-journal-watch") { [self] in
            let clock = ContinuousClock()
            var next = clock.now
            while !stopped.load(ordering: .acquiring) {
                if clock.now >= next {
                    check(jetStream)
                    next = clock.now + interval
                }
                usleep(20_000)
            }
        }
        thread.withLock { $0 = started }
    }

    /// Why the journal no longer holds (or soon will not hold) every frame; nil while it does.
    @usableFromInline
    var failure: String? {
        guard removed.load(ordering: .acquiring) else { return nil }
        return message.withLock { $0 }
    }

    /// The stream's first sequence and deleted count when the watch first read it: what the
    /// journal held as recovered (a stream purged before this run starts after its purge).
    let baseline = Mutex<(first: UInt64, deleted: UInt64)?>(nil)

    func check(_ jetStream: JetStream) {
        // Asked once (no waiting out an election): a stop waits for this thread.
        guard !removed.load(ordering: .relaxed), let state = try? jetStream.streamState(stream, settling: false)
        else { return }
        let start = baseline.withLock { baseline in
            // (An empty new stream's first sequence reads 0: its first frame is 1.)
            if baseline == nil { baseline = (Swift.max(state.firstSequence, 1), state.deletedMessages) }
            return baseline ?? (1, 0)
        }
        guard let reason = Self.removal(state, stream: stream, first: start.first, deleted: start.deleted) else {
            return
        }
        message.withLock { $0 = reason }
        removed.store(true, ordering: .releasing)
    }

    /// What removes frames from the journal stream in `state`, said for the user; nil for
    /// nothing. `first` and `deleted` are the stream's first sequence and deleted count when
    /// the run began (the engine sets no limit on a journal stream and never purges it).
    static func removal(_ state: StreamState, stream: String, first: UInt64, deleted: UInt64) -> String? {
        if let limits = state.removingLimits {
            return "stream \(stream) removes stored frames (\(limits)), a limit set outside the engine: the journal "
                + "would no longer hold every event, which recovery replays from the first; remove the limit and "
                + "size the server's storage for the journal"
        }
        if state.firstSequence > first || state.deletedMessages > deleted {
            return "stream \(stream) lost frames: its first is now stream sequence \(state.firstSequence) (\(first) "
                + "when this run began) and \(state.deletedMessages) were deleted inside it (\(deleted) then): a purge, "
                + "a message deleted, or a limit with discard old set outside the engine; the journal no longer holds "
                + "every event"
        }
        return nil
    }

    /// Stops the thread and waits for it.
    func stop() {
        stopped.store(true, ordering: .releasing)
        let running = thread.withLock { thread in
            defer { thread = nil }
            return thread
        }
        running?.join()
    }
}

/// Reads a journal stream back: its tail, and its events in order from a sequence, with
/// every frame's checksum and the continuity of frames and sequences checked.
public enum JetStreamJournalReader {
    /// What a read found.
    public struct Summary: Equatable, Sendable {
        public var events = 0
        public var frames = 0
        public var firstSequence: Int64 = 0
        /// One past the last event read.
        public var nextSequence: Int64 = 0
    }

    /// Where the journal in `stream` ends (an empty or missing stream ends at 0).
    public static func tail(jetStream: JetStream, stream: String) throws(JetStreamJournalError) -> JetStreamJournalTail
    {
        let state: StreamState?
        do { state = try jetStream.streamState(stream) } catch { throw .nats(error) }
        guard let state, state.messages > 0 else {
            return JetStreamJournalTail(
                nextSequence: 0, nextFrameIndex: 0, firstSequence: 0, frames: 0,
                lastStreamSequence: state?.lastSequence ?? 0)
        }
        let last = try header(jetStream: jetStream, stream: stream, sequence: state.lastSequence)
        let first = try header(jetStream: jetStream, stream: stream, sequence: state.firstSequence)
        return JetStreamJournalTail(
            nextSequence: last.firstSequence + Int64(last.count), nextFrameIndex: last.frameIndex + 1,
            firstSequence: first.firstSequence, frames: state.messages, lastStreamSequence: state.lastSequence)
    }

    static func header(jetStream: JetStream, stream: String, sequence: UInt64) throws(JetStreamJournalError)
        -> JournalFrame.Header
    {
        let result: Result<JournalFrame.Header, JetStreamJournalError>?
        do {
            result = try jetStream.message(stream: stream, sequence: sequence) { message in
                Result { () throws(JetStreamJournalError) in
                    try JournalFrame.header(of: message.bytes, streamSequence: sequence)
                }
            }
        } catch { throw .nats(error) }
        guard let result else { throw .corruptFrame(streamSequence: sequence, reason: "message not found") }
        return try result.get()
    }

    /// The stream sequence of the frame holding journal `sequence` (binary search over frame
    /// headers, a few direct reads); the first frame when `sequence` is before it.
    static func seek(jetStream: JetStream, stream: String, sequence: Int64, state: StreamState)
        throws(JetStreamJournalError) -> UInt64
    {
        var low = state.firstSequence
        var high = state.lastSequence
        while low < high {
            let middle = low + (high - low + 1) / 2
            if try header(jetStream: jetStream, stream: stream, sequence: middle).firstSequence <= sequence {
                low = middle
            } else {
                high = middle - 1
            }
        }
        return low
    }

    /// Calls `body` with every event from journal `sequence` to `through` (or the end of the
    /// stream as it was when the read began, if that comes first), in order, with its journal
    /// sequence.
    @discardableResult
    public static func read(
        jetStream: JetStream, stream: String, subject: String, from sequence: Int64 = 0, through: Int64 = .max,
        fetchBatch: Int = 64, _ body: (Event, Int64) throws(JetStreamJournalError) -> Void
    ) throws(JetStreamJournalError) -> Summary {
        var summary = Summary()
        let state: StreamState?
        do { state = try jetStream.streamState(stream) } catch { throw .nats(error) }
        guard let state, state.messages > 0 else { return summary }
        let start = try seek(jetStream: jetStream, stream: stream, sequence: sequence, state: state)
        let subscription: NATSSubscription
        do {
            subscription = try jetStream.pullSubscription(stream: stream, subject: subject, startSequence: start)
        } catch { throw .nats(error) }
        var expectedSequence: Int64? = nil
        var expectedFrame: UInt64? = nil
        var streamSequence: UInt64 = start
        summary.firstSequence = sequence
        summary.nextSequence = sequence
        var idleFetches = 0
        var reachedEnd = false
        while streamSequence <= state.lastSequence && !reachedEnd {
            var failure: JetStreamJournalError? = nil
            let fetched: Int
            do {
                fetched = try subscription.fetch(
                    batch: fetchBatch, timeoutMilliseconds: 2_000
                ) { message throws(NATSError) in
                    guard failure == nil, !reachedEnd, message.streamSequence <= state.lastSequence else { return }
                    streamSequence = message.streamSequence + 1
                    do throws(JetStreamJournalError) {
                        let header = try JournalFrame.header(of: message.bytes, streamSequence: message.streamSequence)
                        if let expected = expectedSequence, header.firstSequence != expected {
                            throw .discontinuity(
                                streamSequence: message.streamSequence, expected: expected, found: header.firstSequence)
                        }
                        if let frame = expectedFrame, header.frameIndex != frame {
                            throw .corruptFrame(
                                streamSequence: message.streamSequence,
                                reason: "frame index \(header.frameIndex), expected \(frame)")
                        }
                        expectedSequence = header.firstSequence + Int64(header.count)
                        expectedFrame = header.frameIndex + 1
                        summary.frames += 1
                        let skip = Swift.max(0, Int(Swift.min(sequence - header.firstSequence, Int64(header.count))))
                        // Events of this frame up to `through`: all of them unless it ends here.
                        let last = header.firstSequence + Int64(header.count) - 1
                        let count =
                            last <= through ? header.count : Swift.max(0, Int(through - header.firstSequence + 1))
                        if last >= through { reachedEnd = true }
                        try JournalFrame.forEachEvent(in: message.bytes, header: header, from: skip, count: count, body)
                        if skip < count {
                            if summary.events == 0 { summary.firstSequence = header.firstSequence + Int64(skip) }
                            summary.events += count - skip
                            summary.nextSequence = header.firstSequence + Int64(count)
                        }
                    } catch {
                        failure = error
                    }
                }
            } catch { throw .nats(error) }
            if let failure { throw failure }
            if fetched == 0 {
                idleFetches += 1
                if idleFetches >= 3 {
                    throw .nats(
                        NATSError(
                            operation: "read stream \(stream)", status: "Timeout",
                            detail: "no messages after stream sequence \(streamSequence - 1) of \(state.lastSequence)"))
                }
            } else {
                idleFetches = 0
            }
        }
        return summary
    }
}
