import PeregrineModel
import PeregrineNATS

/// Input events from a shard's NATS subject (`peregrine.in.K`), for `peregrine run --nats URL
/// --shard K/N --nats-input`. Messages are event frames (`JournalFrame`: header, then 64-byte
/// events; the frame's first sequence is the publisher's source sequence), and the message
/// `END` ends the input. Events of instruments owned by another shard are counted and skipped.
///
/// Core NATS (at most once): the engine journals what it receives, so what it acted on is
/// replayable; a publisher that needs delivery across engine restarts puts a stream in front.
/// The client holds at most 65,536 messages (256 MiB) for a slow engine; beyond that the
/// server drops them and the client counts them as a slow-consumer error. Owned by the source
/// thread.
public final class NATSInputFeed {
    public static let endOfInput: [UInt8] = Array("END".utf8)

    let subscription: NATSSubscription
    let connection: NATSConnection
    let shard: Int
    let shardCount: Int
    var pending: [Event] = []
    var pendingIndex = 0
    public private(set) var finished = false
    public private(set) var failure: String?
    public private(set) var framesReceived = 0
    /// Events received for instruments another shard owns.
    public private(set) var foreignEvents = 0

    public init(settings: NATSSettings) throws(NATSError) {
        connection = try NATSConnection(
            NATSConnectionOptions(url: settings.url, name: "peregrine-input-\(settings.shard)"))
        subscription = try connection.subscribe(
            settings.inputSubject, pendingMessages: 65_536, pendingBytes: 256 << 20)
        try connection.flush()
        shard = settings.shard
        shardCount = settings.shardCount
        pending.reserveCapacity(4_096)
    }

    /// Events ready to publish: at least `wanted` unless nothing more has arrived.
    func fill(_ wanted: Int) {
        if pendingIndex == pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingIndex = 0
        }
        while !finished, pending.count - pendingIndex < wanted {
            do {
                let received = try subscription.next(timeoutMilliseconds: 0) { message in
                    if message.bytes.elementsEqual(Self.endOfInput) {
                        finished = true
                        return
                    }
                    accept(message.bytes)
                }
                if !received { return }
            } catch {
                failure = error.description
                finished = true
            }
        }
    }

    func accept(_ bytes: UnsafeRawBufferPointer) {
        do {
            let header = try JournalFrame.header(of: bytes, streamSequence: UInt64(framesReceived))
            framesReceived += 1
            try JournalFrame.forEachEvent(in: bytes, header: header) { event, _ in
                if NATSSettings.shard(of: event.instrument, count: shardCount) == shard {
                    pending.append(event)
                } else {
                    foreignEvents += 1
                }
            }
        } catch {
            failure = "input frame \(framesReceived): \(error)"
            finished = true
        }
    }

    var available: Int { pending.count - pendingIndex }

    func take() -> Event {
        defer { pendingIndex += 1 }
        return pending[pendingIndex]
    }
}
