import PeregrineCodec
import PeregrineFeed
import PeregrineModel

/// Which recorded files `peregrine run --source FORMAT:FILE,...` replays, for which
/// instrument: they are read on that instrument's grid (its tick and lot in the configuration).
public struct RecordedSourceSpec: Equatable, Sendable {
    public var format: FeedFormat
    public var paths: [String]
    /// The instrument the events are for (0 unless given).
    public var instrument: InstrumentID

    public init(format: FeedFormat, paths: [String], instrument: InstrumentID = InstrumentID(0)) {
        self.format = format
        self.paths = paths
        self.instrument = instrument
    }

    /// Parses `FORMAT[@INSTRUMENT]:FILE[,FILE...]` (INSTRUMENT: a number, 0 to 4294967295).
    public static func parse(_ text: String) -> RecordedSourceSpec? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let head = text[..<colon].split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        guard let format = FeedFormat(rawValue: String(head[0])) else { return nil }
        var instrument = InstrumentID(0)
        if head.count == 2 {
            guard let number = UInt32(head[1]) else { return nil }
            instrument = InstrumentID(number)
        }
        let paths = text[text.index(after: colon)...].split(separator: ",").map(String.init)
        return paths.isEmpty ? nil : RecordedSourceSpec(format: format, paths: paths, instrument: instrument)
    }

    /// The text `parse` reads.
    public var text: String {
        format.rawValue + (instrument.rawValue == 0 ? "" : "@\(instrument.rawValue)") + ":"
            + paths.joined(separator: ",")
    }
}

/// The recorded files as a source, file after file, as fast as the ring accepts: each
/// line's changes to the venue's book (level updates, and a clear-book event before a
/// snapshot that replaces it), trades and quotes, for the spec's instrument, each with the
/// exchange timestamp of the line it came from. The files are decoded once, here: the only
/// book they build is the engine's. Owned by the source thread.
public struct RecordedSource: EventSource {
    @usableFromInline let feed: RecordedFeed
    @usableFromInline let instrument: InstrumentID
    @usableFromInline let batchLimit: Int
    /// The files, for the report.
    let paths: [String]
    @usableFromInline var _counts = SourceCounts()
    public var counts: SourceCounts { _counts }

    public init(spec: RecordedSourceSpec, grid: (price: Increment, size: Increment), batchLimit: Int)
        throws(FeedError)
    {
        feed = try RecordedFeed(spec: spec, grid: grid)
        instrument = spec.instrument
        self.batchLimit = batchLimit
        paths = spec.paths
    }

    @inlinable public var isExhausted: Bool { feed.finished && feed.available == 0 }

    /// Writes the next recorded changes, as many as fit (at most a batch), stamped `now` (the
    /// ingress time) and with their exchange time.
    @inlinable
    public mutating func step<Writer: EventWriter & ~Copyable>(now: UInt64, into writer: inout Writer) -> Int {
        feed.fill(batchLimit)
        let wanted = Swift.min(feed.available, batchLimit)
        if wanted == 0 { return 0 }
        let count = writer.claim(upTo: wanted)
        if count == 0 {
            _counts.fullWaits &+= 1
            return 0
        }
        for _ in 0..<count {
            _counts.emitted &+= 1
            let change = feed.take()
            writer.write(
                Event(
                    timestamp: now, exchangeTimestamp: change.exchangeTimestamp, instrument: instrument,
                    payload: change.payload))
        }
        writer.publish()
        return count
    }

    public var summary: String? {
        let statistics = feed.statistics
        return "read \(statistics.rows) rows (\(statistics.messages) messages): gaps \(statistics.gaps), out of order "
            + "\(statistics.outOfOrder)"
            + (feed.failure.map { "; stopped early: \($0)" } ?? "")
    }

    public var failure: String? { feed.failure.map { "\($0)" } }

    /// The files when the run stopped before their end (not after a failure: said as one).
    public var unread: String? {
        guard !isExhausted, feed.failure == nil else { return nil }
        return "\(paths.joined(separator: ", ")) not read to the end (stopped after \(feed.statistics.rows) rows)"
    }
}

extension RecordedSourceSpec: SourcePlan {
    /// Opens the files to be read on their instrument's grid (the configuration's definition
    /// of it).
    public func open(_ context: SourceContext) throws(EngineError) -> RecordedSource {
        guard let definition = context.configuration.resolvedInstruments.first(where: { $0.id == instrument }) else {
            throw .invalidSetting(name: "source", value: text, allowed: "name an instrument of this run")
        }
        do {
            return try RecordedSource(
                spec: self, grid: (definition.tickSize, definition.lotSize),
                batchLimit: context.configuration.batchLimit)
        } catch {
            throw .feed(error)
        }
    }

    public var description: String {
        "recorded \(format.rawValue)" + (instrument.rawValue == 0 ? "" : " as instrument \(instrument.rawValue)") + ": "
            + paths.joined(separator: ", ") + ", as fast as accepted"
    }

    public var exhaustedReason: String { "end of the files" }
}

/// One change read from a recorded file, with the exchange time of its line (ns since the
/// Unix epoch; 0 when the format has none).
public struct RecordedChange: Sendable, BitwiseCopyable {
    public var payload: EventPayload
    public var exchangeTimestamp: UInt64
}

/// The recorded files as a stream of engine event payloads, file after file. Owned by the
/// source thread.
public final class RecordedFeed {
    @usableFromInline var replay: FeedReplay
    @usableFromInline let paths: [String]
    @usableFromInline var nextPath = 1
    @usableFromInline var pending = PendingBuffer<RecordedChange>(capacity: 4_096)
    @usableFromInline var finished = false
    public private(set) var failure: FeedError?

    /// The files of `spec`, read on `grid` (its instrument's tick and lot).
    public init(spec: RecordedSourceSpec, grid: (price: Increment, size: Increment)) throws(FeedError) {
        guard let first = spec.paths.first else { throw FeedError(line: 0, "no file given") }
        replay = try FeedReplay.decoder(format: spec.format, priceIncrement: grid.price, sizeIncrement: grid.size)
        paths = spec.paths
        try replay.open(path: first)
    }

    /// Payloads ready to publish (at least `wanted` unless the files are done).
    @usableFromInline
    func fill(_ wanted: Int) {
        pending.compact()
        while !finished, pending.count < wanted {
            do throws(FeedError) {
                if let changes = try replay.nextChanges() {
                    let exchangeTimestamp = replay.rowExchangeTimestamp
                    for payload in changes {
                        pending.append(RecordedChange(payload: payload, exchangeTimestamp: exchangeTimestamp))
                    }
                } else if nextPath < paths.count {
                    try replay.open(path: paths[nextPath])
                    nextPath += 1
                } else {
                    finished = true
                }
            } catch {
                failure = error
                finished = true
            }
        }
    }

    @usableFromInline var available: Int { pending.count }

    @usableFromInline
    func take() -> RecordedChange { pending.take() }

    public var statistics: FeedStatistics { replay.statistics }
}
