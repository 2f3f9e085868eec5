import PeregrineCodec
import PeregrineCore
import PeregrineEngine
import PeregrineModel

/// What outside venues send on the shard's subject `NAME.in.K.reports`: execution reports
/// about the orders the engine sent on `NAME.out.K.orders` — a message of any number of 64-byte
/// reports (`ExecutionReport`'s wire form) — or `HELLO <venue>` when a venue (re)starts, which
/// makes the engine re-query its open orders there (`RecordType.venueHello`); the engine does
/// the same for every outside venue when it restarts from its journal and when its connection
/// comes back. Each report enters the journaled sequence as a record (two chunk events and its end,
/// consecutive), so the logic, a replay and a recovery apply it at the same point. A message
/// whose length is not a whole number of reports, or a report that does not decode, is counted
/// and skipped (the first reason is kept for the report). Owned by the source thread.
public final class NATSVenueReportsFeed {
    let subscription: NATSSubscription
    let connection: NATSConnection
    /// A report, or a venue's hello (its name).
    @usableFromInline enum Message {
        case report(ExecutionReport)
        case hello(String)
    }
    static let helloPrefix = Array("HELLO".utf8)
    var pending = PendingBuffer<Message>(capacity: 1_024)
    var decoder = EventJSONDecoder()
    public private(set) var hellos = 0
    /// Reconnects of the reports connection seen so far: after one, reports may have been
    /// lost while it was down, so the engine re-queries every outside order (as for a hello
    /// with no venue name).
    var reconnectsSeen = 0
    public private(set) var reconnects = 0
    /// Whether the engine re-queried its open orders as it started, after recovering from its
    /// journal: reports sent while it was down were lost (core NATS keeps nothing).
    public private(set) var queriedAtRestart = false
    public private(set) var received = 0
    public private(set) var rejected = 0
    public private(set) var firstRejection: String?

    public init(settings: NATSSettings) throws(NATSError) {
        connection = try NATSConnection(
            NATSConnectionOptions(url: settings.url, name: "peregrine-venue-reports-\(settings.shard)"))
        subscription = try connection.subscribe(
            settings.venueReportsSubject, pendingMessages: 65_536, pendingBytes: 256 << 20)
        try connection.flush()
    }

    /// A hello with no venue name first, so the engine re-queries every order it holds open
    /// at an outside venue (called when the run continues a journal).
    func queryOpenOrders() {
        pending.append(.hello(""))
        queriedAtRestart = true
    }

    /// Reports ready: at least `wanted` unless nothing more has arrived.
    @usableFromInline
    func fill(_ wanted: Int) {
        pending.compact()
        let reconnected = connection.events.reconnects.load(ordering: .relaxed)
        if reconnected != reconnectsSeen {
            reconnectsSeen = reconnected
            reconnects += 1
            pending.append(.hello(""))
        }
        while pending.count < wanted {
            let received = (try? subscription.next(timeoutMilliseconds: 0) { accept($0.bytes) }) ?? false
            if !received { return }
        }
    }

    func accept(_ bytes: UnsafeRawBufferPointer) {
        if bytes.starts(with: Self.helloPrefix) {
            let name = String(decoding: bytes.dropFirst(Self.helloPrefix.count), as: UTF8.self).trimmingPrefix(" ")
            guard name.utf8.count <= 64 else {
                reject("a hello naming a venue of more than 64 bytes")
                return
            }
            pending.append(.hello(String(name)))
            hellos += 1
            return
        }
        if bytes.first == UInt8(ascii: "{") {
            acceptJSONLines(bytes.assumingMemoryBound(to: UInt8.self))
            return
        }
        guard bytes.count % ExecutionReport.encodedSize == 0, !bytes.isEmpty else {
            reject("a message of \(bytes.count) bytes is not a whole number of 64-byte reports")
            return
        }
        for offset in stride(from: 0, to: bytes.count, by: ExecutionReport.encodedSize) {
            do {
                pending.append(
                    .report(
                        try ExecutionReport(
                            decoding: UnsafeRawBufferPointer(
                                rebasing: bytes[offset..<(offset + ExecutionReport.encodedSize)]))))
                received += 1
            } catch {
                reject("report \(received + rejected + 1): \(error)")
            }
        }
    }

    /// Reports as JSON lines (`EventJSONDecoder.decodeReport`), one per line.
    func acceptJSONLines(_ text: UnsafeBufferPointer<UInt8>) {
        var start = 0
        while start < text.count {
            let end = text[start...].firstIndex(of: UInt8(ascii: "\n")) ?? text.count
            var line = UnsafeBufferPointer(rebasing: text[start..<end])
            if line.last == UInt8(ascii: "\r") { line = UnsafeBufferPointer(rebasing: line.dropLast()) }
            start = end + 1
            if line.isEmpty { continue }
            do {
                pending.append(.report(try decoder.decodeReport(line)))
                received += 1
            } catch {
                reject("\(String(decoding: line.prefix(200), as: UTF8.self)): \(error.message)")
            }
        }
    }

    func reject(_ reason: String) {
        rejected += 1
        if firstRejection == nil { firstRejection = reason }
    }

    @usableFromInline var available: Int { pending.count }
    @usableFromInline func take() -> Message { pending.take() }
}

/// A source plus the venues' reports: each step steps the source, then writes the reports that
/// arrived as records (whole records only: a claim cut short is filled with clock ticks, so a
/// record's events stay consecutive). Exhausted when the source is: the reports follow the
/// session, they do not keep it alive.
public struct SourceWithVenueReports<Primary: EventSource & ~Copyable>: ~Copyable, EventSource {
    @usableFromInline var primary: Primary
    @usableFromInline let feed: NATSVenueReportsFeed
    @usableFromInline var written = 0
    @usableFromInline var _counts = SourceCounts()

    /// Events per report: two chunks (64 bytes) and the end.
    @inlinable static var eventsPerReport: Int { 3 }

    public init(_ primary: consuming Primary, feed: NATSVenueReportsFeed) {
        self.primary = primary
        self.feed = feed
    }

    @inlinable
    public mutating func step<Writer: EventWriter & ~Copyable>(now: UInt64, into writer: inout Writer) -> Int {
        var handled = primary.isExhausted ? 0 : primary.step(now: now, into: &writer)
        feed.fill(256)
        let reports = feed.available
        guard reports > 0 else { return handled }
        let claimed = writer.claim(upTo: reports &* Self.eventsPerReport)
        guard claimed > 0 else {
            _counts.fullWaits &+= 1
            return handled
        }
        let whole = claimed / Self.eventsPerReport
        for _ in 0..<whole {
            switch feed.take() {
            case .report(let report): Self.writeRecord(report, now: now, into: &writer)
            case .hello(let venue): Self.writeHello(venue, now: now, into: &writer)
            }
        }
        for _ in 0..<(claimed &- whole &* Self.eventsPerReport) { writer.write(.clockTick(at: now)) }
        writer.publish()
        written &+= whole
        _counts.emitted &+= claimed
        handled &+= claimed
        return handled
    }

    @inlinable
    static func writeRecord<Writer: EventWriter & ~Copyable>(
        _ report: ExecutionReport, now: UInt64, into writer: inout Writer
    ) {
        report.forEachRecordEvent(timestamp: now) { writer.write($0) }
    }

    /// A venue's hello in the same three events as a report: clock ticks for the chunks a short
    /// name does not need, then its chunks and the end (with its real length).
    @usableFromInline
    static func writeHello<Writer: EventWriter & ~Copyable>(_ venue: String, now: UInt64, into writer: inout Writer) {
        let name = Array(venue.utf8.prefix(2 * RecordChunk.capacity))
        for _ in RecordEnd.chunks(forLength: name.count)..<2 { writer.write(.clockTick(at: now)) }
        name.withUnsafeBytes { record in
            forEachRecordEvent(
                record, type: .venueHello, timestamp: now, exchangeTimestamp: WallClock.nanoseconds()
            ) { writer.write($0) }
        }
    }

    @inlinable public var isExhausted: Bool { primary.isExhausted }
    public var counts: SourceCounts { primary.counts + _counts }

    public var summary: String? {
        let reports =
            "\(feed.received) venue reports and \(feed.hellos) hellos from NATS"
            + (feed.queriedAtRestart ? " (open orders re-queried at the restart)" : "")
            + (feed.reconnects > 0 ? " (\(feed.reconnects) reconnects: open orders re-queried)" : "")
            + (feed.rejected > 0 ? ", \(feed.rejected) refused (first: \(feed.firstRejection ?? ""))" : "")
        return primary.summary.map { $0 + "; " + reports } ?? reports
    }

    public var failure: String? { primary.failure }

    public var losses: String? { primary.losses }
}

/// The plan for `SourceWithVenueReports`.
public struct SourceWithVenueReportsPlan<Primary: SourcePlan>: SourcePlan {
    public var primary: Primary
    public var settings: NATSSettings

    public init(_ primary: Primary, settings: NATSSettings) {
        self.primary = primary
        self.settings = settings
    }

    public func open(_ context: SourceContext) throws(EngineError) -> SourceWithVenueReports<Primary.Source> {
        let feed: NATSVenueReportsFeed
        do { feed = try NATSVenueReportsFeed(settings: settings) } catch {
            throw .part("NATS venue reports \(settings.url)", error)
        }
        if context.startSequence > 0 { feed.queryOpenOrders() }
        return SourceWithVenueReports(try primary.open(context), feed: feed)
    }

    public var description: String { primary.description + " + venue reports on \(settings.venueReportsSubject)" }
    public var exhaustedReason: String { primary.exhaustedReason }
}
