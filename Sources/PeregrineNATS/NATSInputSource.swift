import PeregrineCodec
import PeregrineCore
import PeregrineEngine
import PeregrineFeed
import PeregrineModel

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
public final class NATSInputFeed: BufferedEventFeed {
    public static let endOfInput: [UInt8] = Array("END".utf8)

    let subscription: NATSSubscription
    let connection: NATSConnection
    let shard: Int
    let shardCount: Int
    var pending = PendingBuffer<Event>(capacity: 4_096)
    @usableFromInline var finished = false
    public private(set) var failure: String?
    public private(set) var framesReceived = 0
    public private(set) var jsonLinesReceived = 0
    public private(set) var jsonLinesRejected = 0
    /// The first JSON line refused, with the reason (nil when none was).
    public private(set) var firstRejection: String?
    var jsonDecoder = EventJSONDecoder()
    /// Events received for instruments another shard owns.
    public private(set) var foreignEvents = 0
    /// Admin commands and outside venues' records refused on the input subject: they come only
    /// through the control plane (with its token) and `NAME.in.K.reports`.
    public private(set) var privilegedRefused = 0

    /// Whether `event` may only come from the engine's own paths: an operator's command, or the
    /// end of a venue report or hello record (its chunks alone are then dropped as cut short).
    static func isPrivileged(_ event: Event) -> Bool {
        switch event.payload {
        case .admin: return true
        case .recordEnd(let end): return end.type == .executionReport || end.type == .venueHello
        default: return false
        }
    }

    public init(settings: NATSSettings) throws(NATSError) {
        connection = try NATSConnection(
            NATSConnectionOptions(url: settings.url, name: "peregrine-input-\(settings.shard)"))
        subscription = try connection.subscribe(
            settings.inputSubject, pendingMessages: 65_536, pendingBytes: 256 << 20)
        try connection.flush()
        shard = settings.shard
        shardCount = settings.shardCount
    }

    /// Events ready to publish: at least `wanted` unless nothing more has arrived.
    @usableFromInline
    func fill(_ wanted: Int) {
        pending.compact()
        while !finished, pending.count < wanted {
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
                if Self.isPrivileged(event) {
                    privilegedRefused += 1
                } else if NATSSettings.shard(of: event.instrument, count: shardCount) == shard {
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
                if Self.isPrivileged(event) {
                    privilegedRefused += 1
                } else if NATSSettings.shard(of: event.instrument, count: shardCount) == shard {
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

    @usableFromInline var available: Int { pending.count }

    @usableFromInline
    func take() -> Event { pending.take() }

    @usableFromInline var hasEnded: Bool { finished }
}

/// A feed whose events wait in a buffer until the source writes them.
@usableFromInline
protocol BufferedEventFeed: AnyObject {
    /// Takes what arrived, until at least `wanted` wait (or nothing more has).
    func fill(_ wanted: Int)
    var available: Int { get }
    func take() -> Event
    /// Whether the feed has ended (no tick is sent for a finished feed).
    var hasEnded: Bool { get }
}

/// How a buffered feed is stepped into the inbound ring: as many waiting events as fit (at most
/// a batch), each stamped with its ingress time, or an idle clock tick like the synthetic
/// market's when nothing waits.
@usableFromInline
struct BufferedFeedStepper {
    @usableFromInline let batchLimit: Int
    @usableFromInline let tickIntervalNanoseconds: UInt64
    @usableFromInline var lastPublished: UInt64
    @usableFromInline var counts = SourceCounts()

    init(_ context: SourceContext) {
        batchLimit = context.configuration.batchLimit
        tickIntervalNanoseconds = UInt64(context.configuration.tickIntervalMicroseconds) * 1_000
        lastPublished = context.startTime
    }

    @inlinable
    mutating func step<Feed: BufferedEventFeed, Writer: EventWriter & ~Copyable>(
        _ feed: Feed, now: UInt64, into writer: inout Writer
    ) -> Int {
        feed.fill(batchLimit)
        let wanted = Swift.min(feed.available, batchLimit)
        if wanted == 0 {
            if !feed.hasEnded,
                SyntheticSource.tickIfIdle(
                    now: now, lastPublished: &lastPublished, interval: tickIntervalNanoseconds, counts: &counts,
                    into: &writer)
            {
                return 1
            }
            return 0
        }
        let count = writer.claim(upTo: wanted)
        if count == 0 {
            counts.fullWaits &+= 1
            return 0
        }
        for _ in 0..<count {
            var event = feed.take()
            event.timestamp = now
            writer.write(event)
        }
        writer.publish()
        counts.emitted &+= count
        lastPublished = now
        return count
    }
}

/// The shard's input subject as a source: events as they arrive, as many as fit (at most a
/// batch), stamped with their ingress time; their instrument, payload and source sequence are
/// kept. Sends idle clock ticks like the synthetic market when nothing arrives.
public struct NATSInputSource: ~Copyable, EventSource {
    @usableFromInline let feed: NATSInputFeed
    @usableFromInline var stepper: BufferedFeedStepper
    public var counts: SourceCounts { stepper.counts }

    public init(settings: NATSSettings, context: SourceContext) throws(EngineError) {
        do { feed = try NATSInputFeed(settings: settings) } catch { throw .part("NATS input \(settings.url)", error) }
        stepper = BufferedFeedStepper(context)
    }

    @inlinable public var isExhausted: Bool { feed.finished && feed.available == 0 }

    @inlinable
    public mutating func step<Writer: EventWriter & ~Copyable>(now: UInt64, into writer: inout Writer) -> Int {
        stepper.step(feed, now: now, into: &writer)
    }

    public var summary: String? {
        "\(feed.framesReceived) frames and \(feed.jsonLinesReceived) JSON lines from NATS, "
            + "\(feed.foreignEvents) events of other shards skipped"
            + (feed.privilegedRefused > 0
                ? ", \(feed.privilegedRefused) admin commands or venue records refused (not this subject's)" : "")
            + (feed.jsonLinesRejected > 0
                ? ", \(feed.jsonLinesRejected) JSON lines refused (first: \(feed.firstRejection ?? ""))" : "")
            + (feed.failure.map { "; stopped: \($0)" } ?? "")
    }

    public var failure: String? { feed.failure }

    /// Core NATS sends each message at most once: what went while the connection was down, what
    /// the client dropped as a slow consumer, and events for another shard (a publisher that
    /// splits the instruments otherwise) are lost to this engine, which says so.
    public var losses: String? {
        var lines: [String] = []
        let disconnects = feed.connection.events.disconnects.load(ordering: .relaxed)
        if disconnects > 0 {
            lines.append(
                "the input connection to NATS dropped \(disconnects) time(s): what was published meanwhile is gone "
                    + "(core NATS does not send it again)")
        }
        let dropped = feed.subscription.dropped
        if dropped > 0 {
            lines.append("the NATS client dropped \(dropped) input messages it could not hold (a slow consumer)")
        }
        if feed.foreignEvents > 0 {
            lines.append(
                "\(feed.foreignEvents) input events are for instruments another shard owns: the publisher splits "
                    + "the instruments into another number of shards than this engine's --shard \(feed.shard)/"
                    + "\(feed.shardCount), and no engine takes them")
        }
        return lines.isEmpty ? nil : lines.joined(separator: "; ")
    }
}

/// The plan for `NATSInputSource`.
public struct NATSInputPlan: SourcePlan {
    public var settings: NATSSettings

    public init(settings: NATSSettings) { self.settings = settings }

    public func open(_ context: SourceContext) throws(EngineError) -> NATSInputSource {
        try NATSInputSource(settings: settings, context: context)
    }

    public var description: String {
        "NATS subject \(settings.inputSubject) (shard \(settings.shard) of \(settings.shardCount))"
    }

    public var exhaustedReason: String { "end of the input" }
}
