import CNATS
import PeregrineCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

// The one file that calls the NATS C client (libnats). Everything above it sees Swift types,
// typed errors and byte buffers; C callbacks are top-level functions that only touch atomics.

/// A NATS or JetStream failure, with the client's status and the server's text.
public struct NATSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was being done ("connect to nats://…", "add stream J").
    public var operation: String
    /// The client's status name (e.g. "No Server Available", "Timeout").
    public var status: String
    /// The client's last error text, which carries the server's message when there is one.
    public var detail: String
    /// JetStream's error code (e.g. 10058 stream name in use), 0 when none.
    public var jetStreamCode: Int
    /// Nothing answered a JetStream request (a server without JetStream, or a cluster that
    /// stayed without a leader).
    public var noResponders = false

    public var description: String {
        var text = "NATS: \(operation) failed: \(status)"
        if !detail.isEmpty && detail != status { text += " (\(detail))" }
        if jetStreamCode != 0 { text += " [JetStream error \(jetStreamCode)]" }
        if noResponders {
            text +=
                ": nothing answered for JetStream: is the server started with JetStream (nats-server -js)? "
                + "(A cluster is asked again for 30 s, while it may be electing a leader.)"
        }
        return text
    }

    init(_ operation: String, _ status: natsStatus, code: jsErrCode = jsErrCode(rawValue: 0)) {
        self.operation = operation
        self.status = String(cString: natsStatus_GetText(status))
        var last = NATS_OK
        if let text = nats_GetLastError(&last) { detail = String(cString: text) } else { detail = "" }
        jetStreamCode = Int(code.rawValue)
        noResponders = status == NATS_NO_RESPONDERS || code == JSNotEnabledErr
    }

    init(operation: String, status: String, detail: String = "") {
        self.operation = operation
        self.status = status
        self.detail = detail
        jetStreamCode = 0
    }
}

/// Connection events, counted by the client's callbacks (which run on its threads).
public final class NATSConnectionEvents: Sendable {
    public let disconnects = Atomic<Int>(0)
    public let reconnects = Atomic<Int>(0)
    public let asyncErrors = Atomic<Int>(0)
    init() {}
}

private func onDisconnected(_ connection: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    guard let closure else { return }
    Unmanaged<NATSConnectionEvents>.fromOpaque(closure).takeUnretainedValue().disconnects.add(1, ordering: .relaxed)
}

private func onReconnected(_ connection: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    guard let closure else { return }
    Unmanaged<NATSConnectionEvents>.fromOpaque(closure).takeUnretainedValue().reconnects.add(1, ordering: .relaxed)
}

/// The last callback the client makes for a connection: drops the reference the callbacks held.
private func onClosed(_ connection: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    guard let closure else { return }
    Unmanaged<NATSConnectionEvents>.fromOpaque(closure).release()
}

private func onAsyncError(
    _ connection: OpaquePointer?, _ subscription: OpaquePointer?, _ status: natsStatus,
    _ closure: UnsafeMutableRawPointer?
) {
    guard let closure else { return }
    Unmanaged<NATSConnectionEvents>.fromOpaque(closure).takeUnretainedValue().asyncErrors.add(1, ordering: .relaxed)
}

/// How to reach the servers and what to do when they go away.
public struct NATSConnectionOptions: Sendable {
    /// `nats://host:port`; several, comma-separated, for a cluster.
    public var url: String
    public var name: String
    /// Reconnect forever (-1) or this many times.
    public var maxReconnects: Int
    public var reconnectWaitMilliseconds: Int64
    /// Bytes the client buffers while disconnected; publishes beyond it fail (and are retried).
    public var reconnectBufferBytes: Int
    public var connectTimeoutMilliseconds: Int64

    public init(
        url: String, name: String = "peregrine", maxReconnects: Int = -1, reconnectWaitMilliseconds: Int64 = 250,
        reconnectBufferBytes: Int = 64 << 20, connectTimeoutMilliseconds: Int64 = 2_000
    ) {
        self.url = url
        self.name = name
        self.maxReconnects = maxReconnects
        self.reconnectWaitMilliseconds = reconnectWaitMilliseconds
        self.reconnectBufferBytes = reconnectBufferBytes
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
    }
}

/// A connection to a NATS server or cluster, reconnecting by itself. Thread-safe (the C
/// client locks internally); closed and freed when the last reference goes.
public final class NATSConnection: @unchecked Sendable {
    let handle: OpaquePointer
    public let events: NATSConnectionEvents
    public let url: String

    public init(_ options: NATSConnectionOptions) throws(NATSError) {
        var opts: OpaquePointer? = nil
        var status = natsOptions_Create(&opts)
        guard status == NATS_OK, let opts else { throw NATSError("create connection options", status) }
        defer { natsOptions_Destroy(opts) }
        let events = NATSConnectionEvents()
        // Retained for the callbacks, which run on the client's threads and may outlive this
        // object; released by `onClosed`, the last of them (or below if connecting fails).
        let closure = Unmanaged.passRetained(events).toOpaque()
        let servers = options.url.split(separator: ",").map { String($0).filter { !$0.isWhitespace } }
        if servers.count > 1 {
            status = withCStrings(servers) { natsOptions_SetServers(opts, $0.baseAddress, Int32($0.count)) }
        } else {
            status = natsOptions_SetURL(opts, options.url)
        }
        if status == NATS_OK { status = natsOptions_SetName(opts, options.name) }
        if status == NATS_OK { status = natsOptions_SetMaxReconnect(opts, Int32(clamping: options.maxReconnects)) }
        if status == NATS_OK { status = natsOptions_SetReconnectWait(opts, options.reconnectWaitMilliseconds) }
        if status == NATS_OK {
            status = natsOptions_SetReconnectBufSize(opts, Int32(clamping: options.reconnectBufferBytes))
        }
        if status == NATS_OK { status = natsOptions_SetTimeout(opts, options.connectTimeoutMilliseconds) }
        if status == NATS_OK { status = natsOptions_SetDisconnectedCB(opts, onDisconnected, closure) }
        if status == NATS_OK { status = natsOptions_SetReconnectedCB(opts, onReconnected, closure) }
        if status == NATS_OK { status = natsOptions_SetErrorHandler(opts, onAsyncError, closure) }
        if status == NATS_OK { status = natsOptions_SetClosedCB(opts, onClosed, closure) }
        guard status == NATS_OK else {
            Unmanaged<NATSConnectionEvents>.fromOpaque(closure).release()
            throw NATSError("set connection options for \(options.url)", status)
        }
        var connection: OpaquePointer? = nil
        status = natsConnection_Connect(&connection, opts)
        guard status == NATS_OK, let connection else {
            Unmanaged<NATSConnectionEvents>.fromOpaque(closure).release()
            throw NATSError("connect to \(options.url)", status)
        }
        handle = connection
        self.events = events
        url = options.url
    }

    deinit { natsConnection_Destroy(handle) }

    /// How many servers the client knows: those given and those the server told it of (a
    /// cluster's other members). 1 for a lone server.
    public var knownServers: Int {
        var list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
        var count: Int32 = 0
        guard natsConnection_GetServers(handle, &list, &count) == NATS_OK, let list else { return 1 }
        for index in 0..<Int(count) { free(list[index]) }
        free(list)
        return Int(count)
    }

    /// Whether the connection is up now (false while reconnecting).
    public var isConnected: Bool { natsConnection_Status(handle) == NATS_CONN_STATUS_CONNECTED }

    /// Publishes `bytes` on `subject` (core NATS: at most once).
    public func publish(_ subject: String, _ bytes: UnsafeRawBufferPointer) throws(NATSError) {
        let status = natsConnection_Publish(handle, subject, bytes.baseAddress, Int32(bytes.count))
        guard status == NATS_OK else { throw NATSError("publish to \(subject)", status) }
    }

    /// Sends everything buffered and waits for the server's reply.
    public func flush(timeoutMilliseconds: Int64 = 5_000) throws(NATSError) {
        let status = natsConnection_FlushTimeout(handle, timeoutMilliseconds)
        guard status == NATS_OK else { throw NATSError("flush", status) }
    }

    /// A synchronous subscription to `subject` (wildcards allowed) holding at most
    /// `pendingMessages` / `pendingBytes` undelivered (beyond that the client drops and reports
    /// a slow consumer, counted in `events.asyncErrors`).
    public func subscribe(_ subject: String, pendingMessages: Int = 65_536, pendingBytes: Int = 64 << 20)
        throws(NATSError) -> NATSSubscription
    {
        var subscription: OpaquePointer? = nil
        let status = natsConnection_SubscribeSync(&subscription, handle, subject)
        guard status == NATS_OK, let subscription else { throw NATSError("subscribe to \(subject)", status) }
        _ = natsSubscription_SetPendingLimits(
            subscription, Int32(clamping: pendingMessages), Int32(clamping: pendingBytes))
        return NATSSubscription(handle: subscription, connection: self)
    }

    /// A JetStream context on this connection; `maxPendingAcks` bounds asynchronous publishes.
    public func jetStream(waitMilliseconds: Int64 = 5_000) throws(NATSError) -> JetStream {
        try JetStream(connection: self, waitMilliseconds: waitMilliseconds)
    }
}

/// One received message's bytes and, for JetStream, its stream sequence.
public struct NATSMessage {
    public let bytes: UnsafeRawBufferPointer
    public let subject: String?
    /// The message's sequence in its stream (0 for core NATS messages).
    public let streamSequence: UInt64
}

/// A synchronous subscription (core NATS or a JetStream pull consumer).
public final class NATSSubscription: @unchecked Sendable {
    let handle: OpaquePointer
    let connection: NATSConnection

    init(handle: OpaquePointer, connection: NATSConnection) {
        self.handle = handle
        self.connection = connection
    }

    deinit {
        _ = natsSubscription_Unsubscribe(handle)
        natsSubscription_Destroy(handle)
    }

    /// Messages the client dropped for this subscription (its pending limits reached: a slow
    /// consumer). Core NATS does not send them again.
    public var dropped: Int64 {
        var count: Int64 = 0
        _ = natsSubscription_GetDropped(handle, &count)
        return count
    }

    /// Calls `body` with the next message, waiting up to `timeoutMilliseconds`; false on timeout.
    public func next(timeoutMilliseconds: Int64, _ body: (NATSMessage) -> Void) throws(NATSError) -> Bool {
        var message: OpaquePointer? = nil
        let status = natsSubscription_NextMsg(&message, handle, timeoutMilliseconds)
        if status == NATS_TIMEOUT { return false }
        guard status == NATS_OK, let message else { throw NATSError("receive", status) }
        defer { natsMsg_Destroy(message) }
        body(Self.view(message, withSequence: false))
        return true
    }

    /// Fetches up to `batch` messages of a pull consumer (waiting up to `timeoutMilliseconds`)
    /// and calls `body` for each in stream order; returns how many (0 on timeout).
    public func fetch(batch: Int, timeoutMilliseconds: Int64, _ body: (NATSMessage) throws(NATSError) -> Void)
        throws(NATSError) -> Int
    {
        var list = natsMsgList()
        var code = jsErrCode(rawValue: 0)
        let status = natsSubscription_Fetch(&list, handle, Int32(clamping: batch), timeoutMilliseconds, &code)
        if status == NATS_TIMEOUT { return 0 }
        guard status == NATS_OK else { throw NATSError("fetch from a pull consumer", status, code: code) }
        defer { natsMsgList_Destroy(&list) }
        let count = Int(list.Count)
        guard let messages = list.Msgs else { return 0 }
        for index in 0..<count {
            guard let message = messages[index] else { continue }
            try body(Self.view(message, withSequence: true))
        }
        return count
    }

    /// Fetches one message of a pull consumer that acknowledges explicitly, waiting up to
    /// `timeoutMilliseconds`; nil on timeout. The message is the caller's until acknowledged.
    public func fetchOne(timeoutMilliseconds: Int64) throws(NATSError) -> NATSOwnedMessage? {
        var list = natsMsgList()
        var code = jsErrCode(rawValue: 0)
        let status = natsSubscription_Fetch(&list, handle, 1, timeoutMilliseconds, &code)
        if status == NATS_TIMEOUT { return nil }
        guard status == NATS_OK else { throw NATSError("fetch from a pull consumer", status, code: code) }
        defer { natsMsgList_Destroy(&list) }
        guard list.Count > 0, let messages = list.Msgs, let message = messages[0] else { return nil }
        messages[0] = nil  // now ours: the list no longer destroys it
        return NATSOwnedMessage(handle: message)
    }

    static func view(_ message: OpaquePointer, withSequence: Bool) -> NATSMessage {
        let length = Int(natsMsg_GetDataLength(message))
        let bytes = UnsafeRawBufferPointer(start: natsMsg_GetData(message), count: length)
        var sequence: UInt64 = 0
        if withSequence {
            var meta: UnsafeMutablePointer<jsMsgMetaData>? = nil
            if natsMsg_GetMetaData(&meta, message) == NATS_OK, let meta {
                sequence = meta.pointee.Sequence.Stream
                jsMsgMetaData_Destroy(meta)
            }
        }
        let subject = natsMsg_GetSubject(message).map { String(cString: $0) }
        return NATSMessage(bytes: bytes, subject: subject, streamSequence: sequence)
    }
}

/// A JetStream message held until it is acknowledged (`ack`), given back for redelivery
/// (`nak`), or kept from redelivery while its work goes on (`inProgress`, which restarts the
/// consumer's ack wait). `inProgress` may be called from another thread than the others.
public final class NATSOwnedMessage: @unchecked Sendable {
    let handle: OpaquePointer

    init(handle: OpaquePointer) { self.handle = handle }

    deinit { natsMsg_Destroy(handle) }

    /// The payload (valid while this message lives).
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: natsMsg_GetData(handle), count: Int(natsMsg_GetDataLength(handle)))
    }

    /// How many times the server has delivered it (1 the first time).
    public var deliveries: UInt64 {
        var meta: UnsafeMutablePointer<jsMsgMetaData>? = nil
        guard natsMsg_GetMetaData(&meta, handle) == NATS_OK, let meta else { return 0 }
        defer { jsMsgMetaData_Destroy(meta) }
        return meta.pointee.NumDelivered
    }

    /// Acknowledges it and waits for the server to confirm (the message is then gone).
    public func ack() throws(NATSError) {
        var code = jsErrCode(rawValue: 0)
        let status = natsMsg_AckSync(handle, nil, &code)
        guard status == NATS_OK else { throw NATSError("acknowledge a message", status, code: code) }
    }

    public func inProgress() throws(NATSError) {
        let status = natsMsg_InProgress(handle, nil)
        guard status == NATS_OK else { throw NATSError("extend a message's ack wait", status) }
    }

    /// Gives it back, to be delivered again (to any consumer) after `delayMilliseconds`.
    public func nak(delayMilliseconds: Int64) throws(NATSError) {
        // (The client takes milliseconds and writes the server's nanoseconds itself: 5 s had been
        // sent as 5,000,000 s, so a job given back was never delivered again.)
        let status = natsMsg_NakWithDelay(handle, delayMilliseconds, nil)
        guard status == NATS_OK else { throw NATSError("give a message back", status) }
    }
}

/// Where a stream keeps its messages.
public enum StreamStorage: String, Sendable, CaseIterable {
    case file
    case memory
}

/// When a stream lets go of its messages: by its limits (age, bytes), or once a consumer has
/// acknowledged them (a work queue: each message goes to one consumer).
public enum StreamRetention: String, Sendable {
    case limits
    case workQueue
}

/// A JetStream stream's configuration (what the engine's `[nats]` section sets).
public struct StreamSettings: Equatable, Sendable {
    public var name: String
    public var retention = StreamRetention.limits
    public var subjects: [String]
    public var replicas: Int
    public var storage: StreamStorage
    /// 0: no limit.
    public var maxAgeSeconds: Int64
    public var maxBytes: Int64
    /// How long the server remembers message ids to drop re-published duplicates.
    public var duplicateWindowSeconds: Int64
    /// Free text kept with the stream (the engine stores its logic settings here).
    public var description: String?

    public init(
        name: String, subjects: [String], replicas: Int = 1, storage: StreamStorage = .file, maxAgeSeconds: Int64 = 0,
        maxBytes: Int64 = 0, duplicateWindowSeconds: Int64 = 120, description: String? = nil
    ) {
        self.description = description
        self.name = name
        self.subjects = subjects
        self.replicas = replicas
        self.storage = storage
        self.maxAgeSeconds = maxAgeSeconds
        self.maxBytes = maxBytes
        self.duplicateWindowSeconds = duplicateWindowSeconds
    }
}

/// What a stream holds now.
public struct StreamState: Equatable, Sendable {
    public var messages: UInt64
    public var bytes: UInt64
    public var firstSequence: UInt64
    public var lastSequence: UInt64
    public var replicas: Int
    public var description: String?
    /// Messages deleted from inside the stream (by sequence, or by limits in between).
    public var deletedMessages: UInt64 = 0
    /// What in the stream's configuration removes stored messages without refusing new ones (a
    /// maximum age; a message or byte limit with `discard: old`): nil when nothing does.
    public var removingLimits: String? = nil
    /// The subjects the stream takes.
    public var subjects: [String] = []
}

/// The server's answer to one publish.
public struct PublishAck: Equatable, Sendable {
    public var streamSequence: UInt64
    /// The server had this message id already and did not store it again.
    public var duplicate: Bool
}

/// Acknowledgements of asynchronous publishes, written by the client's callback thread into
/// one atomic cell per slot and read by the publisher: `slot = tag % slots`, value
/// `tag << 2 | state` (1 stored, 2 failed). The publisher keeps at most `slots` publishes in
/// flight, so a slot is never reused before its ack is read.
public final class PublishAckSlots: Sendable {
    public let slots: Int
    let cells: PaddedAtomicCells
    /// The last failure's status text (for reports), set by the callback.
    let lastFailure = Mutex<String>("")
    /// Refusals publishing again cannot mend (the stream gone, or full), in a row since a
    /// publish was last stored, and the first one's text.
    let refusalsInARow = Atomic<Int>(0)
    let firstRefusal = Mutex<String>("")

    /// Whether `failure` is one publishing again cannot mend: no stream answers (deleted), or
    /// it is full under a limit with `discard: new`.
    static func cannotBeMended(_ failure: String) -> Bool {
        let text = failure.lowercased()
        return text.contains("no responders") || text.contains("maximum bytes") || text.contains("maximum messages")
            || text.contains("insufficient resources")
    }

    /// The first refusal publishing again cannot mend, once `count` of them came in a row with
    /// nothing stored between: nil before.
    public func unmendedRefusal(after count: Int) -> String? {
        refusalsInARow.load(ordering: .acquiring) >= count ? firstRefusal.withLock { $0 } : nil
    }

    public init(slots: Int) {
        self.slots = slots
        cells = PaddedAtomicCells(count: slots, initialValue: -1)
    }

    /// The state of publish `tag`: nil while in flight, true stored, false failed.
    public func state(of tag: UInt64) -> Bool? {
        let value = cells.load(Int(tag % UInt64(slots)), ordering: .acquiring)
        guard value >= 0, UInt64(value) >> 2 == tag else { return nil }
        return value & 3 == 1
    }

    public var lastFailureText: String { lastFailure.withLock { $0 } }

    func record(tag: UInt64, stored: Bool) {
        cells.store(Int(tag % UInt64(slots)), Int(tag << 2 | (stored ? 1 : 2)), ordering: .releasing)
    }
}

/// The header every asynchronously published message carries so the ack callback can find
/// its slot: `Peregrine-Tag`.
let tagHeader = "Peregrine-Tag"

private func onPublishAck(
    _ context: OpaquePointer?, _ message: OpaquePointer?, _ ack: UnsafeMutablePointer<jsPubAck>?,
    _ failure: UnsafeMutablePointer<jsPubAckErr>?, _ closure: UnsafeMutableRawPointer?
) {
    defer { natsMsg_Destroy(message) }
    guard let closure, let message else { return }
    let slots = Unmanaged<PublishAckSlots>.fromOpaque(closure).takeUnretainedValue()
    var value: UnsafePointer<CChar>? = nil
    guard natsMsgHeader_Get(message, tagHeader, &value) == NATS_OK, let value,
        let tag = UInt64(String(cString: value))
    else { return }
    if ack != nil {
        slots.refusalsInARow.store(0, ordering: .relaxed)
        slots.record(tag: tag, stored: true)
    } else {
        if let failure {
            let text = String(cString: natsStatus_GetText(failure.pointee.Err))
            let detail = failure.pointee.ErrText.map { String(cString: $0) } ?? ""
            let shown = detail.isEmpty || detail == text ? text : "\(text): \(detail)"
            slots.lastFailure.withLock { $0 = shown }
            if PublishAckSlots.cannotBeMended(shown) {
                if slots.refusalsInARow.add(1, ordering: .relaxed).oldValue == 0 {
                    slots.firstRefusal.withLock { $0 = shown }
                }
            }
        }
        slots.record(tag: tag, stored: false)
    }
}

/// A JetStream context: stream management, publishing (synchronous, and asynchronous with
/// acks reported to `ackSlots`), direct reads and pull consumers.
public final class JetStream: @unchecked Sendable {
    let handle: OpaquePointer
    public let connection: NATSConnection
    public let waitMilliseconds: Int64
    /// Where asynchronous publishes' acks land (set with `enableAsyncPublish`).
    public private(set) var ackSlots: PublishAckSlots?
    private var asyncContext: OpaquePointer?
    private var asyncAckWaitMilliseconds: Int64 = 2_000
    /// How long idempotent API requests (stream info, consumer creation) are retried while a
    /// clustered JetStream cannot answer: for seconds after a node is lost, requests time out
    /// or report the system unavailable until a new meta or stream leader is elected.
    public var settleMilliseconds: Int64 = 30_000

    init(connection: NATSConnection, waitMilliseconds: Int64) throws(NATSError) {
        var options = jsOptions()
        jsOptions_Init(&options)
        options.Wait = waitMilliseconds
        var context: OpaquePointer? = nil
        let status = natsConnection_JetStream(&context, connection.handle, &options)
        guard status == NATS_OK, let context else { throw NATSError("open a JetStream context", status) }
        handle = context
        self.connection = connection
        self.waitMilliseconds = waitMilliseconds
    }

    deinit {
        jsCtx_Destroy(handle)
        if let asyncContext { jsCtx_Destroy(asyncContext) }
        if let ackSlots { Unmanaged.passUnretained(ackSlots).release() }
    }

    /// Creates the stream, or updates it to `settings` when it exists; returns its state.
    @discardableResult
    public func addOrUpdateStream(_ settings: StreamSettings) throws(NATSError) -> StreamState {
        var config = jsStreamConfig()
        jsStreamConfig_Init(&config)
        var info: UnsafeMutablePointer<jsStreamInfo>? = nil
        var code = jsErrCode(rawValue: 0)
        // The C strings are the description, the name, then the subjects.
        let status = withCStrings([settings.description ?? "", settings.name] + settings.subjects) {
            strings -> natsStatus in
            if settings.description != nil { config.Description = strings[0] }
            config.Name = strings[1]
            config.Subjects = UnsafeMutablePointer(strings.baseAddress.map { $0 + 2 })
            config.SubjectsLen = Int32(strings.count - 2)
            config.Replicas = Int64(settings.replicas)
            config.Storage = settings.storage == .file ? js_FileStorage : js_MemoryStorage
            config.MaxAge = settings.maxAgeSeconds * 1_000_000_000
            config.MaxBytes = settings.maxBytes > 0 ? settings.maxBytes : -1
            config.Duplicates = settings.duplicateWindowSeconds * 1_000_000_000
            config.Retention = settings.retention == .workQueue ? js_WorkQueuePolicy : js_LimitsPolicy
            var status = js_AddStream(&info, handle, &config, nil, &code)
            if status != NATS_OK && code == JSStreamNameExistErr {
                code = jsErrCode(rawValue: 0)
                status = js_UpdateStream(&info, handle, &config, nil, &code)
            }
            return status
        }
        guard status == NATS_OK, let info else { throw NATSError("add stream \(settings.name)", status, code: code) }
        defer { jsStreamInfo_Destroy(info) }
        return Self.state(info)
    }

    /// The stream's state; nil when there is no such stream. `settling`: asked again while a
    /// cluster elects a leader (up to `settleMilliseconds`); otherwise asked once.
    public func streamState(_ name: String, settling: Bool = true) throws(NATSError) -> StreamState? {
        var info: UnsafeMutablePointer<jsStreamInfo>? = nil
        let ask = { () -> (natsStatus, jsErrCode) in
            var code = jsErrCode(rawValue: 0)
            return (js_GetStreamInfo(&info, self.handle, name, nil, &code), code)
        }
        let (status, code) = settling ? retryingWhileSettling(ask) : ask()
        if status == NATS_NOT_FOUND || code == JSStreamNotFoundErr { return nil }
        guard status == NATS_OK, let info else { throw NATSError("read stream \(name)", status, code: code) }
        defer { jsStreamInfo_Destroy(info) }
        return Self.state(info)
    }

    /// Deletes the stream and everything in it (tests and tools).
    public func deleteStream(_ name: String) throws(NATSError) {
        var code = jsErrCode(rawValue: 0)
        let status = js_DeleteStream(handle, name, nil, &code)
        if status == NATS_NOT_FOUND || code == JSStreamNotFoundErr { return }
        guard status == NATS_OK else { throw NATSError("delete stream \(name)", status, code: code) }
    }

    /// Runs `request` again while it fails the way a cluster electing a leader fails (timeout,
    /// no responders, system unavailable), for up to `settleMilliseconds`; its last status.
    /// No responders from a lone server is final: a server started with JetStream answers its
    /// API from its first connection on (so only one without JetStream says nothing).
    private func retryingWhileSettling(_ request: () -> (natsStatus, jsErrCode)) -> (natsStatus, jsErrCode) {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(max(0, settleMilliseconds)))
        var pause: UInt32 = 50_000
        while true {
            let (status, code) = request()
            let settling =
                status == NATS_TIMEOUT || code == JSClusterNotAvailErr || code == JSClusterNotLeaderErr
                || (status == NATS_NO_RESPONDERS && connection.knownServers > 1)
            if !settling || clock.now >= deadline { return (status, code) }
            usleep(pause)
            pause = min(pause * 2, 1_000_000)
        }
    }

    static func state(_ info: UnsafeMutablePointer<jsStreamInfo>) -> StreamState {
        let state = info.pointee.State
        var result = StreamState(
            messages: state.Msgs, bytes: state.Bytes, firstSequence: state.FirstSeq, lastSequence: state.LastSeq,
            replicas: Int(info.pointee.Config?.pointee.Replicas ?? 1),
            description: info.pointee.Config?.pointee.Description.map { String(cString: $0) })
        result.deletedMessages = state.NumDeleted
        if let config = info.pointee.Config?.pointee {
            var limits: [String] = []
            let discardsOld = config.Discard == js_DiscardOld
            if config.MaxAge > 0 { limits.append("max_age \(config.MaxAge / 1_000_000) ms") }
            if discardsOld, config.MaxMsgs > 0 { limits.append("max_msgs \(config.MaxMsgs) with discard old") }
            if discardsOld, config.MaxBytes > 0 { limits.append("max_bytes \(config.MaxBytes) with discard old") }
            if discardsOld, config.MaxMsgsPerSubject > 0 {
                limits.append("max_msgs_per_subject \(config.MaxMsgsPerSubject) with discard old")
            }
            result.removingLimits = limits.isEmpty ? nil : limits.joined(separator: ", ")
            if let subjects = config.Subjects {
                result.subjects = (0..<Int(Swift.max(0, config.SubjectsLen))).compactMap {
                    subjects[$0].map { String(cString: $0) }
                }
            }
        }
        return result
    }

    /// Publishes and waits for the ack. `messageID` (header `Nats-Msg-Id`) lets the server drop
    /// a re-published duplicate.
    public func publish(_ subject: String, _ bytes: UnsafeRawBufferPointer, messageID: String? = nil)
        throws(NATSError) -> PublishAck
    {
        var options = jsPubOptions()
        jsPubOptions_Init(&options)
        var ack: UnsafeMutablePointer<jsPubAck>? = nil
        var code = jsErrCode(rawValue: 0)
        let status = withOptionalCString(messageID) { id in
            options.MsgId = id
            return js_Publish(&ack, handle, subject, bytes.baseAddress, Int32(bytes.count), &options, &code)
        }
        guard status == NATS_OK, let ack else { throw NATSError("publish to \(subject)", status, code: code) }
        defer { jsPubAck_Destroy(ack) }
        return PublishAck(streamSequence: ack.pointee.Sequence, duplicate: ack.pointee.Duplicate)
    }

    /// Sets up asynchronous publishing: at most `maxPending` publishes in flight, acks (or
    /// failures, including no ack within `ackWaitMilliseconds`) reported in `ackSlots`.
    public func enableAsyncPublish(maxPending: Int, ackWaitMilliseconds: Int64) throws(NATSError) -> PublishAckSlots {
        let slots = PublishAckSlots(slots: maxPending)
        var options = jsOptions()
        jsOptions_Init(&options)
        options.Wait = ackWaitMilliseconds
        options.PublishAsync.MaxPending = Int64(maxPending) + 1
        options.PublishAsync.AckHandler = onPublishAck
        options.PublishAsync.AckHandlerClosure = Unmanaged.passRetained(slots).toOpaque()
        var context: OpaquePointer? = nil
        let status = natsConnection_JetStream(&context, connection.handle, &options)
        guard status == NATS_OK, let context else {
            Unmanaged.passUnretained(slots).release()
            throw NATSError("open a JetStream context for asynchronous publishes", status)
        }
        asyncContext = context
        asyncAckWaitMilliseconds = ackWaitMilliseconds
        ackSlots = slots
        return slots
    }

    /// Publishes without waiting; the ack lands in `ackSlots` under `tag`. `messageID` as in
    /// `publish`. The bytes are copied.
    ///
    /// `expectedLastSequence` (when given; 0 for an empty stream) makes the server store the
    /// message only if the stream's last sequence is that one, and refuse it otherwise
    /// (JetStream error 10071): a publisher that pipelines can then never store a message after
    /// a gap, nor after another publisher's. The server checks the message id first, so a
    /// message published again after its ack was lost is still acknowledged as a duplicate.
    public func publishAsync(
        _ subject: String, _ bytes: UnsafeRawBufferPointer, messageID: String, tag: UInt64,
        expectedLastSequence: UInt64? = nil
    ) throws(NATSError) {
        guard let asyncContext else {
            throw NATSError(operation: "publish asynchronously", status: "enableAsyncPublish was not called")
        }
        var message: OpaquePointer? = nil
        var status = natsMsg_Create(&message, subject, nil, bytes.baseAddress, Int32(bytes.count))
        guard status == NATS_OK, let created = message else { throw NATSError("create a message", status) }
        status = natsMsgHeader_Set(created, tagHeader, String(tag))
        // The header itself, not the option: the client leaves out an expected 0 (an empty
        // stream), which the server checks when the header is there.
        if status == NATS_OK, let expectedLastSequence {
            status = natsMsgHeader_Set(created, "Nats-Expected-Last-Sequence", String(expectedLastSequence))
        }
        var options = jsPubOptions()
        jsPubOptions_Init(&options)
        // Without it a publish whose ack never comes (sent just before the server went away)
        // would stay pending forever; with it the ack handler reports a timeout.
        options.MaxWait = asyncAckWaitMilliseconds
        if status == NATS_OK {
            status = messageID.withCString { id in
                options.MsgId = id
                return js_PublishMsgAsync(asyncContext, &message, &options)
            }
        }
        natsMsg_Destroy(message)  // no effect when the library took it
        guard status == NATS_OK else { throw NATSError("publish to \(subject)", status) }
    }

    /// The message at `sequence` of `stream`; nil when there is none (deleted or beyond the end).
    public func message<R>(stream: String, sequence: UInt64, _ body: (NATSMessage) -> R) throws(NATSError) -> R? {
        var message: OpaquePointer? = nil
        var code = jsErrCode(rawValue: 0)
        let status = js_GetMsg(&message, handle, stream, sequence, nil, &code)
        if status == NATS_NOT_FOUND || code == JSNoMessageFoundErr { return nil }
        guard status == NATS_OK, let message else {
            throw NATSError("read message \(sequence) of \(stream)", status, code: code)
        }
        defer { natsMsg_Destroy(message) }
        let length = Int(natsMsg_GetDataLength(message))
        return body(
            NATSMessage(
                bytes: UnsafeRawBufferPointer(start: natsMsg_GetData(message), count: length), subject: nil,
                streamSequence: sequence))
    }

    /// Creates the durable consumer `durable` of a work-queue stream, or updates it, so that a
    /// message not acknowledged within `ackWaitMilliseconds` (its process died) is delivered
    /// again, at most `maxDeliveries` times. Each message goes to one of the processes pulling
    /// from it (`workQueueConsumer`).
    public func addOrUpdateWorkQueueConsumer(
        stream: String, subject: String, durable: String, ackWaitMilliseconds: Int64, maxDeliveries: Int
    ) throws(NATSError) {
        var config = jsConsumerConfig()
        jsConsumerConfig_Init(&config)
        var info: UnsafeMutablePointer<jsConsumerInfo>? = nil
        let (status, code) = withCStrings([durable, subject]) { strings in
            config.Durable = strings[0]
            config.FilterSubject = strings[1]
            config.DeliverPolicy = js_DeliverAll
            config.AckPolicy = js_AckExplicit
            config.AckWait = ackWaitMilliseconds * 1_000_000
            config.MaxDeliver = Int64(maxDeliveries)
            config.MaxAckPending = 10_000
            return retryingWhileSettling {
                var code = jsErrCode(rawValue: 0)
                var status = js_UpdateConsumer(&info, handle, stream, &config, nil, &code)
                if status != NATS_OK, status == NATS_NOT_FOUND || code == JSConsumerNotFoundErr {
                    code = jsErrCode(rawValue: 0)
                    status = js_AddConsumer(&info, handle, stream, &config, nil, &code)
                }
                return (status, code)
            }
        }
        if let info { jsConsumerInfo_Destroy(info) }
        guard status == NATS_OK else {
            throw NATSError("add or update the consumer \(durable) of \(stream)", status, code: code)
        }
    }

    /// The ack wait (ms) and most deliveries of `stream`'s consumer `durable`; nil when there is
    /// no such consumer.
    public func consumerLimits(stream: String, durable: String) throws(NATSError)
        -> (ackWaitMilliseconds: Int64, maxDeliveries: Int64)?
    {
        var info: UnsafeMutablePointer<jsConsumerInfo>? = nil
        let (status, code) = retryingWhileSettling {
            var code = jsErrCode(rawValue: 0)
            return (js_GetConsumerInfo(&info, handle, stream, durable, nil, &code), code)
        }
        defer { if let info { jsConsumerInfo_Destroy(info) } }
        if status == NATS_NOT_FOUND || code == JSConsumerNotFoundErr { return nil }
        guard status == NATS_OK, let config = info?.pointee.Config else {
            throw NATSError("read the consumer \(durable) of \(stream)", status, code: code)
        }
        return (config.pointee.AckWait / 1_000_000, config.pointee.MaxDeliver)
    }

    /// Whether `stream` holds a message on `subject` (its last one).
    public func hasMessage(stream: String, subject: String) throws(NATSError) -> Bool {
        var message: OpaquePointer? = nil
        var code = jsErrCode(rawValue: 0)
        let status = js_GetLastMsg(&message, handle, stream, subject, nil, &code)
        if let message { natsMsg_Destroy(message) }
        if status == NATS_NOT_FOUND || code == JSNoMessageFoundErr { return false }
        guard status == NATS_OK else { throw NATSError("read the last message on \(subject)", status, code: code) }
        return true
    }

    /// Pulls from the durable consumer `durable` of a work-queue stream (made first with
    /// `addOrUpdateWorkQueueConsumer`), shared by every process that names it: each message goes
    /// to one of them, which acknowledges it explicitly.
    public func workQueueConsumer(stream: String, subject: String, durable: String) throws(NATSError)
        -> NATSSubscription
    {
        var options = jsSubOptions()
        jsSubOptions_Init(&options)
        var subscription: OpaquePointer? = nil
        let (status, code) = withCStrings([stream, durable]) { strings in
            options.Stream = strings[0]
            options.Consumer = strings[1]
            return retryingWhileSettling {
                var code = jsErrCode(rawValue: 0)
                return (js_PullSubscribe(&subscription, handle, subject, strings[1], nil, &options, &code), code)
            }
        }
        guard status == NATS_OK, let subscription else {
            throw NATSError("pull from the work-queue consumer \(durable) of \(stream)", status, code: code)
        }
        return NATSSubscription(handle: subscription, connection: connection)
    }

    /// An ephemeral pull consumer on `stream` from stream sequence `startSequence`, without acks
    /// (a reader, not a work queue).
    public func pullSubscription(stream: String, subject: String, startSequence: UInt64) throws(NATSError)
        -> NATSSubscription
    {
        var options = jsSubOptions()
        jsSubOptions_Init(&options)
        var subscription: OpaquePointer? = nil
        let (status, code) = stream.withCString { streamName in
            options.Stream = streamName
            options.Config.DeliverPolicy = startSequence > 1 ? js_DeliverByStartSequence : js_DeliverAll
            options.Config.OptStartSeq = startSequence > 1 ? startSequence : 0
            options.Config.AckPolicy = js_AckNone
            // An ephemeral consumer left by a retried request is removed after a minute idle.
            options.Config.InactiveThreshold = 60_000_000_000
            return retryingWhileSettling {
                var code = jsErrCode(rawValue: 0)
                return (js_PullSubscribe(&subscription, handle, subject, nil, nil, &options, &code), code)
            }
        }
        guard status == NATS_OK, let subscription else {
            throw NATSError("create a pull consumer on \(stream)", status, code: code)
        }
        return NATSSubscription(handle: subscription, connection: connection)
    }
}

/// Calls `body` with C strings for `strings` (valid only inside it).
func withCStrings<R>(_ strings: [String], _ body: (UnsafeMutableBufferPointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { for copy in copies { free(copy) } }
    var pointers = copies.map { $0.map { UnsafePointer($0) } }
    return pointers.withUnsafeMutableBufferPointer { body($0) }
}

func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}
