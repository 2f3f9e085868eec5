import Logging
import PeregrineCodec
import PeregrineCore
import PeregrineEngine
import PeregrineMempool
import PeregrineModel
import PeregrineStrategy

/// `peregrine venue --nats URL`: a simulated exchange behind an engine's gateway subjects. It
/// takes the engine's orders from `ENGINE.out.K.orders` and other participants' orders from
/// `ENGINE.venue.K.flow` (both JSON lines in the event form, instruments in the engine's ids),
/// matches them in a matching engine per instrument — the engine's logic with the instruments
/// hosted, journaled like any run — and answers the engine's orders on `ENGINE.in.K.reports`
/// (64-byte reports). At start it says `HELLO <venue>` there, so an engine reconciles the
/// orders it has open with it (a restarted venue recovers its books from its journal first).
public struct VenueSettings: Sendable {
    public var url: String
    public var shard: Int
    /// The engine's subject prefix (`--nats-prefix` of its run).
    public var enginePrefix: String
    /// The name in the hello (empty: the engine reconciles every outside instrument).
    public var venueName: String
    /// The engine's instruments this venue trades: 0 ..< instruments.
    public var instruments: Int

    public init(
        url: String, shard: Int = 0, enginePrefix: String = "peregrine", venueName: String = "", instruments: Int
    ) {
        self.url = url
        self.shard = shard
        // Subjects in lower case, as the engine's (`NATSSettings.usePrefix`): `KX` and `kx` are one.
        self.enginePrefix = enginePrefix.lowercased()
        self.venueName = venueName
        self.instruments = instruments
    }

    public var ordersSubject: String { "\(enginePrefix).out.\(shard).orders" }
    public var flowSubject: String { "\(enginePrefix).venue.\(shard).flow" }
    public var reportsSubject: String { "\(enginePrefix).in.\(shard).reports" }

    /// The venue's own engine configuration on top of `base` (journal, threads, metrics): the
    /// engine's instruments hosted (as ids `instruments ..< 2 × instruments`), no strategy.
    public func configuration(_ base: EngineConfiguration) -> EngineConfiguration {
        var configuration = base
        configuration.instruments = instruments
        configuration.orderFlowPercent = Swift.max(configuration.orderFlowPercent, 1)
        configuration.strategies = []
        configuration.risk = []
        return configuration
    }
}

/// The venue's input: the engine's orders and the flow, mapped to the venue's hosted ids.
public final class VenueOrderFeed: BufferedEventFeed {
    let connection: NATSConnection
    let orders: NATSSubscription
    let flow: NATSSubscription
    let offset: UInt32
    var pending = PendingBuffer<Event>(capacity: 4_096)
    var decoder = EventJSONDecoder()
    public private(set) var received = 0
    public private(set) var refused = 0
    public private(set) var firstRefusal: String?

    public init(settings: VenueSettings) throws(NATSError) {
        connection = try NATSConnection(
            NATSConnectionOptions(url: settings.url, name: "peregrine-venue-\(settings.shard)"))
        orders = try connection.subscribe(settings.ordersSubject, pendingMessages: 65_536, pendingBytes: 256 << 20)
        flow = try connection.subscribe(settings.flowSubject, pendingMessages: 65_536, pendingBytes: 256 << 20)
        try connection.flush()
        offset = UInt32(settings.instruments)
        // Ready: the engine reconciles what it has open here.
        let hello = Array(("HELLO " + settings.venueName).utf8)
        let sent = hello.withUnsafeBytes { bytes in
            Result { () throws(NATSError) in try connection.publish(settings.reportsSubject, bytes) }
        }
        try sent.get()
        try connection.flush()
    }

    @usableFromInline
    func fill(_ wanted: Int) {
        pending.compact()
        var progress = true
        while pending.count < wanted, progress {
            progress = false
            for subscription in [orders, flow] {
                let got = (try? subscription.next(timeoutMilliseconds: 0) { accept($0.bytes) }) ?? false
                progress = progress || got
            }
        }
    }

    func accept(_ bytes: UnsafeRawBufferPointer) {
        let text = bytes.assumingMemoryBound(to: UInt8.self)
        var start = 0
        while start < text.count {
            let end = text[start...].firstIndex(of: UInt8(ascii: "\n")) ?? text.count
            let line = UnsafeBufferPointer(rebasing: text[start..<end])
            start = end + 1
            if line.isEmpty { continue }
            do {
                var event = try decoder.decode(line, timestamp: 0)
                guard case .order = event.payload, event.instrument.rawValue < offset else {
                    refuse(
                        "not an order for instruments 0 to \(offset - 1): \(String(decoding: line.prefix(120), as: UTF8.self))"
                    )
                    continue
                }
                event.instrument = InstrumentID(event.instrument.rawValue + offset)
                pending.append(event)
                received += 1
            } catch {
                refuse("\(String(decoding: line.prefix(120), as: UTF8.self)): \(error.message)")
            }
        }
    }

    func refuse(_ reason: String) {
        refused += 1
        if firstRefusal == nil { firstRefusal = reason }
    }

    @usableFromInline var available: Int { pending.count }
    @usableFromInline func take() -> Event { pending.take() }
    /// A venue runs until stopped.
    @usableFromInline var hasEnded: Bool { false }
}

/// The venue's input as a source (ticks while idle, like the synthetic market).
public struct VenueOrderSource: ~Copyable, EventSource {
    @usableFromInline let feed: VenueOrderFeed
    @usableFromInline var stepper: BufferedFeedStepper
    public var counts: SourceCounts { stepper.counts }

    init(feed: VenueOrderFeed, context: SourceContext) {
        self.feed = feed
        stepper = BufferedFeedStepper(context)
    }

    @inlinable public var isExhausted: Bool { false }

    @inlinable
    public mutating func step<Writer: EventWriter & ~Copyable>(now: UInt64, into writer: inout Writer) -> Int {
        stepper.step(feed, now: now, into: &writer)
    }

    public var summary: String? {
        "\(feed.received) orders from NATS"
            + (feed.refused > 0 ? ", \(feed.refused) refused (first: \(feed.firstRefusal ?? ""))" : "")
    }
}

public struct VenueOrderPlan: SourcePlan {
    public var settings: VenueSettings
    public init(settings: VenueSettings) { self.settings = settings }

    public func open(_ context: SourceContext) throws(EngineError) -> VenueOrderSource {
        do { return VenueOrderSource(feed: try VenueOrderFeed(settings: settings), context: context) } catch {
            throw .part("venue input \(settings.url)", error)
        }
    }

    public var description: String { "NATS subjects \(settings.ordersSubject) + \(settings.flowSubject)" }
    public var exhaustedReason: String { "stopped" }
}

/// The venue's outputs: the reports about the engine's orders (ids with the strategy bit), mapped
/// back to the engine's instrument ids, one message per sink batch on `ENGINE.in.K.reports`.
/// The flow's reports stay in the venue's journal.
public final class VenueReportPublisher: OutputSink {
    let connection: NATSConnection
    let subject: String
    let offset: UInt32
    var buffer: [UInt8] = []
    public private(set) var reportCount = 0
    public private(set) var published = 0

    init(settings: VenueSettings) throws(NATSError) {
        connection = try NATSConnection(
            NATSConnectionOptions(url: settings.url, name: "peregrine-venue-reports-\(settings.shard)"))
        subject = settings.reportsSubject
        offset = UInt32(settings.instruments)
        buffer.reserveCapacity(64 * 4_096)
    }

    public func outcome(_ outcome: Outcome) {}
    public func order(_ order: VenueOrder) {}
    public func bundleLeg(_ leg: borrowing BundleLeg) {}
    public func bundleSealed(_ seal: BundleSeal) {}

    public func accept(_ report: ExecutionReport) {
        reportCount += 1
        guard report.orderID.isStrategyOrder else { return }
        var mapped = report
        mapped.instrument = InstrumentID(report.instrument.rawValue &- offset)
        var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { bytes in
            try? mapped.encode(into: bytes)
            buffer.append(contentsOf: bytes)
        }
        published += 1
    }

    public func flush() {
        guard !buffer.isEmpty else { return }
        try? buffer.withUnsafeBytes { try connection.publish(subject, $0) }
        buffer.removeAll(keepingCapacity: true)
    }

    public func close() {
        flush()
        try? connection.flush()
    }
}

public struct VenueReportPlan: OutputPlan {
    public var settings: VenueSettings
    public init(settings: VenueSettings) { self.settings = settings }

    public func open() throws(EngineError) -> VenueReportPublisher {
        do { return try VenueReportPublisher(settings: settings) } catch {
            throw .part("venue reports \(settings.url)", error)
        }
    }

    public var description: String { "NATS subject \(settings.reportsSubject)" }
}

/// Runs the venue until stopped (SIGINT/SIGTERM, or the configured duration), journaled to
/// `base.journalDirectory` (none: not journaled).
public enum VenueService {
    public static func run(
        settings: VenueSettings, base: EngineConfiguration, clock: CycleClock = .calibrate(),
        observer: (any PipelineObserver)? = nil, logger: Logger = Logger(label: "peregrine.venue"),
        status: (String) -> Void = { print($0) }
    ) throws(EngineError) -> EngineReport {
        let configuration = settings.configuration(base)
        if let directory = configuration.journalDirectory {
            return try Pipeline.run(
                configuration: configuration, source: VenueOrderPlan(settings: settings),
                journal: FileJournalPlan(directory: directory), outputs: VenueReportPlan(settings: settings),
                custom: IdleStrategy.self, clock: clock, observer: observer, logger: logger, status: status)
        }
        return try Pipeline.run(
            configuration: configuration, source: VenueOrderPlan(settings: settings), journal: NoJournal(),
            outputs: VenueReportPlan(settings: settings), custom: IdleStrategy.self, clock: clock, observer: observer,
            logger: logger, status: status)
    }
}
