import PeregrineCodec
import PeregrineFeed
import PeregrineModel

/// One `--data` argument: `FORMAT[@SYMBOL]:FILE[,FILE…]`, a recorded format of
/// `peregrine feed replay` (docs/feed.md) or `events` (a file `peregrine data convert` wrote).
/// The symbol names the instrument; without one it is read from the file (Tardis and Binance
/// rows, Bybit messages) or taken from the file name.
public struct DataSpec: Hashable, Sendable {
    /// The recorded format, nil for a converted file.
    public var format: FeedFormat?
    public var symbol: String?
    public var paths: [String]

    public init(format: FeedFormat?, symbol: String? = nil, paths: [String]) {
        self.format = format
        self.symbol = symbol
        self.paths = paths
    }

    /// The format name of converted files.
    public static let convertedFormat = "events"

    /// Parses `FORMAT[@SYMBOL]:FILE[,FILE…]`.
    public init(_ text: String) throws(BacktestError) {
        guard let colon = text.firstIndex(of: ":") else {
            throw .usage("--data \(text): write FORMAT[@SYMBOL]:FILE[,FILE…], e.g. tardis-quotes:quotes.csv.gz")
        }
        let head = text[..<colon].split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(head[0])
        if name == Self.convertedFormat {
            format = nil
        } else if let known = FeedFormat(rawValue: name) {
            format = known
        } else {
            throw .usage(
                "--data \(text): unknown format '\(name)'; use one of "
                    + (FeedFormat.allCases.map(\.rawValue) + [Self.convertedFormat]).joined(separator: ", "))
        }
        symbol = head.count == 2 && !head[1].isEmpty ? String(head[1]) : nil
        paths = text[text.index(after: colon)...].split(separator: ",").map(String.init)
        guard !paths.isEmpty else { throw .usage("--data \(text): name at least one file after the ':'") }
    }

    public var text: String {
        (format?.rawValue ?? Self.convertedFormat) + (symbol.map { "@\($0)" } ?? "") + ":"
            + paths.joined(separator: ",")
    }
}

/// One event of the merged market data, with the times the backtest runs on.
public struct MarketDataEvent: Sendable, BitwiseCopyable {
    /// The event: its instrument, its payload, `exchangeTimestamp` the venue's time and
    /// `timestamp` the recorder's receive time (the exchange time for formats without one).
    public var event: Event
    /// The exchange time the merge orders by, ns: never earlier than the file's previous row
    /// (a row stamped earlier, or unstamped, counts as at the previous row's time).
    public var time: UInt64
}

/// A recorded or converted file read row by row into events for one backtest instrument.
final class DataFileStream {
    let path: String
    let format: FeedFormat?
    let instrument: InstrumentID
    /// The decoder of a recorded file (an idle one for a converted file): mutated in place.
    var replay: FeedReplay
    var converted: EventFileReader?
    /// The current row's events and the next one to hand out.
    @exclusivity(unchecked) var payloads: [EventPayload] = []
    @exclusivity(unchecked) var next = 0
    @exclusivity(unchecked) var exchangeTime: UInt64 = 0
    @exclusivity(unchecked) var localTime: UInt64 = 0
    @exclusivity(unchecked) var time: UInt64 = 0
    /// Instrument ids of a converted file, mapped to the backtest's.
    let instrumentMap: [InstrumentID]
    @exclusivity(unchecked) var finished = false
    /// Quote rows skipped for an empty price on a side.
    var skippedQuotes = 0

    init(
        path: String, format: FeedFormat?, instrument: InstrumentID, priceIncrement: Increment,
        sizeIncrement: Increment, instrumentMap: [InstrumentID] = []
    ) throws(FeedError) {
        self.path = path
        self.format = format
        self.instrument = instrument
        self.instrumentMap = instrumentMap
        var decoder = try FeedReplay.decoder(
            format: format ?? .tardisQuotes, priceIncrement: priceIncrement, sizeIncrement: sizeIncrement)
        if format != nil {
            try decoder.open(path: path)
        } else {
            let reader = try EventFileReader(path: path)
            skippedQuotes = reader.metadata.skippedQuoteRows
            converted = consume reader
        }
        replay = decoder
        payloads.reserveCapacity(64)
    }

    /// Fraction of the file read.
    var progress: Double { converted?.progress ?? replay.progress }

    /// Loads the next row that has events; false at the end of the file.
    func advance() throws(FeedError) -> Bool {
        if converted != nil { return try advanceConverted() }
        // Drop the previous row's events first: the decoder then reuses its buffer in place.
        payloads = []
        next = 0
        while !finished {
            guard let changes = try replay.nextChanges() else {
                finished = true
                return false
            }
            let exchange = replay.rowExchangeTimestamp
            let local = replay.rowLocalTimestamp
            // A quote row with an empty price on either side is skipped entirely.
            if changes.count == 1, case .quote(let quote) = changes[0],
                quote.bidPrice.ticks <= 0 || quote.askPrice.ticks <= 0
            {
                skippedQuotes += 1
                continue
            }
            guard !changes.isEmpty else { continue }
            payloads = changes
            exchangeTime = exchange
            localTime = local == 0 ? exchange : local
            time = Swift.max(time, exchange)
            return true
        }
        return false
    }

    /// The current event of a converted file (one event per record: no payload array).
    @exclusivity(unchecked) var convertedEvent: Event?

    func advanceConverted() throws(FeedError) -> Bool {
        guard !finished, var reader = converted.take() else { return false }
        let event: Event?
        do throws(FeedError) {
            event = try reader.next()
        } catch {
            converted = consume reader
            throw error
        }
        converted = consume reader
        guard let event else {
            finished = true
            return false
        }
        var mapped = event
        let raw = Int(event.instrument.rawValue)
        mapped.instrument = raw < instrumentMap.count ? instrumentMap[raw] : event.instrument
        convertedEvent = mapped
        time = Swift.max(time, event.exchangeTimestamp)
        return true
    }

    /// The next event of the current row.
    func take() -> MarketDataEvent {
        if let event = convertedEvent {
            convertedEvent = nil
            return MarketDataEvent(event: event, time: time)
        }
        let payload = payloads[next]
        next += 1
        return MarketDataEvent(
            event: Event(
                timestamp: localTime, exchangeTimestamp: exchangeTime, instrument: instrument, payload: payload),
            time: time)
    }

    var hasEvent: Bool { convertedEvent != nil || next < payloads.count }
}

/// Every input file merged into one stream by exchange time; ties go to the file given first,
/// then to the earlier line. Each file streams (a memory map, or a gzip file inflated to a
/// temporary file): memory does not grow with the data.
public final class MarketDataStream {
    let streams: [DataFileStream]
    /// A bad row stops the stream: this names the file, line and value.
    public private(set) var failure: FeedError?
    /// The only stream, when there is one (no merge needed).
    let single: DataFileStream?

    init(streams: [DataFileStream]) throws(FeedError) {
        single = streams.count == 1 ? streams[0] : nil
        self.streams = streams
        for stream in streams { _ = try stream.advance() }
    }

    /// The next event, or nil at the end of every file (or at a bad row: see `failure`).
    func next() -> MarketDataEvent? {
        if let single { return nextOf(single) }
        var best: DataFileStream? = nil
        for stream in streams where stream.hasEvent {
            if let chosen = best, chosen.time <= stream.time { continue }
            best = stream
        }
        guard let best else { return nil }
        return nextOf(best)
    }

    /// The next event of `best`, loading its next row when this one is done.
    func nextOf(_ best: DataFileStream) -> MarketDataEvent? {
        guard best.hasEvent else { return nil }
        let event = best.take()
        if !best.hasEvent {
            do throws(FeedError) {
                _ = try best.advance()
            } catch {
                failure = FeedError(line: error.line, error.message, file: error.file ?? best.path)
                for stream in streams {
                    stream.payloads.removeAll()
                    stream.convertedEvent = nil
                }
            }
        }
        return event
    }

    /// Fraction of the input read (by the files' bytes).
    public var progress: Double {
        streams.isEmpty ? 1 : streams.reduce(0) { $0 + $1.progress } / Double(streams.count)
    }

    /// Quote rows skipped for an empty price on a side.
    public var skippedQuotes: Int { streams.reduce(0) { $0 + $1.skippedQuotes } }
}
