import PeregrineFeed
import PeregrineModel
import PeregrineNATS

/// Input events from a shard's NATS subject (`peregrine.in.K`), for `peregrine run --nats URL
/// --shard K/N --nats-input`. A message is an event frame (`JournalFrame`: header, then
/// 64-byte events; the frame's first sequence is the publisher's source sequence), or JSON
/// lines (`EventJSON`, one event per line; a message whose first byte is `{`), and the message
/// `END` ends the input. Events of instruments owned by another shard are counted and skipped.
/// A corrupt frame stops the input (the publisher is broken); a JSON line that does not
/// decode is counted and skipped, and the first such error is kept for the report.
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
    public private(set) var jsonLinesReceived = 0
    public private(set) var jsonLinesRejected = 0
    /// The first JSON line refused, with the reason (nil when none was).
    public private(set) var firstRejection: String?
    var jsonDecoder = EventJSONDecoder()
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
        if bytes.first == UInt8(ascii: "{") {
            acceptJSONLines(bytes.assumingMemoryBound(to: UInt8.self))
            return
        }
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

    func acceptJSONLines(_ bytes: UnsafeBufferPointer<UInt8>) {
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            var line = UnsafeBufferPointer(rebasing: bytes[start..<end])
            if line.last == UInt8(ascii: "\r") { line = UnsafeBufferPointer(rebasing: line.dropLast()) }
            start = end + 1
            if line.isEmpty { continue }
            jsonLinesReceived += 1
            do {
                let event = try jsonDecoder.decode(line, timestamp: 0)
                if NATSSettings.shard(of: event.instrument, count: shardCount) == shard {
                    pending.append(event)
                } else {
                    foreignEvents += 1
                }
            } catch {
                jsonLinesRejected += 1
                if firstRejection == nil {
                    firstRejection = "\(String(decoding: line.prefix(200), as: UTF8.self)): \(error.message)"
                }
            }
        }
    }

    var available: Int { pending.count - pendingIndex }

    func take() -> Event {
        defer { pendingIndex += 1 }
        return pending[pendingIndex]
    }
}
