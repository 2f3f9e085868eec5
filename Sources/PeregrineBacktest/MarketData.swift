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
    /// Where it was given, as messages name it: `--data`, or the configuration file's line and
    /// `backtest.data`. Not part of what the data is (equality and hashing leave it out).
    public var origin = "--data"

    public init(format: FeedFormat?, symbol: String? = nil, paths: [String]) {
        self.format = format
        self.symbol = symbol
        self.paths = paths
    }

    public static func == (lhs: DataSpec, rhs: DataSpec) -> Bool {
        lhs.format == rhs.format && lhs.symbol == rhs.symbol && lhs.paths == rhs.paths
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(format)
        hasher.combine(symbol)
        hasher.combine(paths)
    }

    /// The format name of converted files.
    public static let convertedFormat = "events"

    /// Parses `FORMAT[@SYMBOL]:FILE[,FILE…]`, given by `origin`.
    public init(_ text: String, origin: String = "--data") throws(BacktestError) {
        self.origin = origin
        guard let colon = text.firstIndex(of: ":") else {
            throw .usage("\(origin) \(text): write FORMAT[@SYMBOL]:FILE[,FILE…], e.g. tardis-quotes:quotes.csv.gz")
        }
        let head = text[..<colon].split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(head[0])
        if name == Self.convertedFormat {
            format = nil
        } else if let known = FeedFormat(rawValue: name) {
            format = known
        } else {
            throw .usage(
                "\(origin) \(text): unknown format '\(name)'; use one of "
                    + (FeedFormat.allCases.map(\.rawValue) + [Self.convertedFormat]).joined(separator: ", "))
        }
        // An empty name (`FORMAT@:FILE`, a shell variable left unset) is a symbol left out by
        // mistake: said, not read as none.
        if head.count == 2, head[1].isEmpty {
            throw .usage(
                "\(origin) \(text): the symbol after '@' is empty: give it (FORMAT@SYMBOL:FILE), or drop the '@' "
                    + "for the file's own")
        }
        symbol = head.count == 2 ? String(head[1]) : nil
        if format == nil, symbol != nil {
            throw .usage(
                "\(origin) \(text): a converted file names its instruments (from its data convert); "
                    + "drop the @SYMBOL, or give the symbol when converting")
        }
        let list = text[text.index(after: colon)...]
        guard !list.isEmpty else { throw .usage("\(origin) \(text): name at least one file after the ':'") }
        // An empty name (`a.csv,,b.csv`, a trailing comma) is a file left out by mistake, or a
        // comma in a name: said, not skipped.
        paths = list.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard !paths.contains("") else {
            throw .usage(
                "\(origin) \(text): the list of files has an empty name (two commas in a row, or one at an end): "
                    + "remove the extra comma (a file whose name holds a comma cannot be given here: rename it)")
        }
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

    /// A value to read an event into.
    static var placeholder: MarketDataEvent { MarketDataEvent(event: .clockTick(at: 0, exchangeTimestamp: 0), time: 0) }
}

/// A recorded or converted file read row by row into events for one backtest instrument.
final class DataFileStream {
    let path: String
    let format: FeedFormat?
    let instrument: InstrumentID
    /// The decoder of a recorded file (an idle one for a converted file): mutated in place.
    @exclusivity(unchecked) var replay: FeedReplay
    /// A converted file (shared with every other reader of it), its records and the next one
    /// to read.
    let converted: EventFile?
    let records: EventFileRecords?
    @exclusivity(unchecked) var record: UInt64 = 0
    /// The end of the records from `record` whose checksums have been checked.
    @exclusivity(unchecked) var verifiedEnd: UInt64 = 0
    /// The current row's events and the next one to hand out.
    @exclusivity(unchecked) var payloads: [EventPayload] = []
    @exclusivity(unchecked) var next = 0
    @exclusivity(unchecked) var exchangeTime: UInt64 = 0
    @exclusivity(unchecked) var localTime: UInt64 = 0
    @exclusivity(unchecked) var time: UInt64 = 0
    /// The least exchange time a row stamped back is counted at (`stepBacks`): 0 where an
    /// exchange time of 0 is a time the data gave (1970: a time in the wrong unit, or missing),
    /// 1 where it means none (a Bybit message without `ts`, which runs at the time above it), as
    /// in a converted file with such a source, or one whose sources this build cannot tell.
    let stampedFrom: UInt64
    /// Instrument ids of a converted file, mapped to the backtest's.
    let instrumentMap: [InstrumentID]
    /// Whether `instrumentMap` changes any id (not when the file's ids are the backtest's).
    let remapsInstruments: Bool
    /// The file's instrument ids are below it (`instrumentMap`'s count; no limit without a map).
    let instrumentLimit: Int
    @exclusivity(unchecked) var finished = false
    /// Quote rows skipped for an empty price on a side.
    @exclusivity(unchecked) var skippedQuotes = 0
    /// The sequence gaps counted before the row read last (`sequenceGapWarning`), and whether
    /// that row, making no event, ended the reading at `--to`.
    @exclusivity(unchecked) var gapsBeforeRow = 0
    @exclusivity(unchecked) var stoppedAtTo = false
    /// The last line of a text file, when the reading ended on it without a line break, a row
    /// applied (0: not so).
    @exclusivity(unchecked) var unterminatedLine = 0
    /// The first exchange time a row of a text file gave (0: none yet).
    @exclusivity(unchecked) var firstExchangeTime: UInt64 = 0
    /// The file before it in its `--data` list (`PlannedFile.followsInList`), and the merge time
    /// of its first numbered message (nil: none read yet): `listGapWarning`.
    var previousInList: DataFileStream?
    @exclusivity(unchecked) var firstNumberedTime: UInt64?

    /// A text file whose first time falls before 2000 (Tardis, Binance and Bybit recordings
    /// start in the 2010s): its times are likely in another unit than the format's (ms where µs
    /// are read), which no single row shows (each is in range and in order), so it is said.
    var earlyTimeWarning: String? {
        guard records == nil, let format, format != .truefxQuotes, format != .l3JSONLines, firstExchangeTime > 0,
            firstExchangeTime < 946_684_800_000_000_000
        else { return nil }
        let unit = format == .binanceDepth || format == .bybitOrderBook ? "ms" : "µs"
        return "\(path): its first row's time is \(UTCTime.text(firstExchangeTime)), before 2000: are its times in "
            + "another unit than the \(unit) since 1970 the \(format.rawValue) format has (seconds or ms, say)? The "
            + "run's times, latencies and equity samples follow them"
    }
    /// Rows stamped before a row above them (merged at the latest time above); rows without a
    /// time (`stampedFrom`) are not counted.
    @exclusivity(unchecked) var stepBacks = TimeStepBacks()
    /// Whether `stepBacks` is warned about (`PlannedFile.warnsOfStepBacks`).
    var warnsOfStepBacks = true
    /// `--to`: a row stamped back runs at the latest time above it, so from there on it does not
    /// run and is not counted (whether read ahead or not: text and converted files count alike);
    /// a text row from there on that makes no event (a quote row skipped, an empty message)
    /// ends the file's reading, so nothing after it is counted or refused.
    var until = UInt64.max

    init(
        path: String, format: FeedFormat?, instrument: InstrumentID, priceIncrement: Increment,
        sizeIncrement: Increment, converted: EventFile? = nil, instrumentMap: [InstrumentID] = []
    ) throws(FeedError) {
        self.path = path
        self.format = format
        self.instrument = instrument
        self.instrumentMap = instrumentMap
        remapsInstruments = instrumentMap.enumerated().contains { $0.offset != Int($0.element.rawValue) }
        instrumentLimit = instrumentMap.isEmpty ? Int.max : instrumentMap.count
        var decoder = try FeedReplay.decoder(
            format: format ?? .tardisQuotes, priceIncrement: priceIncrement, sizeIncrement: sizeIncrement)
        if let format {
            try decoder.open(path: path)
            self.converted = nil
            records = nil
            stampedFrom = format == .bybitOrderBook ? 1 : 0
        } else {
            let file: EventFile
            if let converted { file = converted } else { file = try EventFile(path: path) }
            // (A file converted again lists the converted file and that file's own sources.)
            let sources = file.metadata.sources.filter { $0.format != DataSpec.convertedFormat }.map {
                FeedFormat(rawValue: $0.format)
            }
            stampedFrom = !sources.isEmpty && sources.allSatisfy { $0 != nil && $0 != .bybitOrderBook } ? 0 : 1
            skippedQuotes = file.metadata.skippedQuoteRows
            self.converted = file
            records = file.records
        }
        replay = decoder
        payloads.reserveCapacity(64)
    }

    /// The warning for a text file whose messages skipped sequence numbers in the rows read
    /// (`FeedStatistics.gaps`, as `feed replay` counts them), nil when none did. (A converted
    /// file's were said when it was converted.)
    var sequenceGapWarning: String? {
        // The row the reading stopped at, from `--to` on, does not run: its gap is not counted.
        let gaps = time >= until || stoppedAtTo ? gapsBeforeRow : replay.statistics.gaps
        guard records == nil, gaps > 0, let format else { return nil }
        let rule =
            switch format {
            case .binanceDepth: "its pu not the last update id before it"
            case .bybitOrderBook: "a delta whose u skips ahead"
            default: "a seq that skips ahead"
            }
        return "\(path): \(gaps) message\(gaps == 1 ? "" : "s") did not follow on from the one before (\(rule)): "
            + "the changes between are missing, so the book may differ from the venue's until the next snapshot, "
            + "and fills against it with it"
    }

    /// The warning for a text file whose first numbered message does not follow on from the
    /// last of the file before it in its list (the nearest with one) when both ran: the changes
    /// between the two files are missing. Nil otherwise, or when the run stopped before the
    /// end of that file or before this message (`--to`).
    var listGapWarning: String? {
        guard let ran = firstNumberedTime, ran < until, let format else { return nil }
        var previous = previousInList
        while let file = previous, !file.replay.readNumberedMessage { previous = file.previousInList }
        guard let previous, previous.finished, !previous.stoppedAtTo, previous.time < until,
            replay.startsWithGap(after: previous.replay)
        else { return nil }
        let rule = format == .binanceDepth ? "its pu is not the last update id of" : "its u skips past the last of"
        return "\(path): its first message does not follow on from \(previous.path), the file before it in its list "
            + "(\(rule) that file): the changes between the two files are missing, so the book may differ from the "
            + "venue's until the next snapshot, and fills against it with it"
    }

    /// Fraction of the file read.
    var progress: Double {
        if let records { return records.count == 0 ? 1 : Double(record) / Double(records.count) }
        return replay.progress
    }

    /// Loads the next row that has events; false at the end of the file.
    func advance() throws(FeedError) -> Bool {
        if let records { return try advance(records) }
        // Drop the previous row's events first: the decoder then reuses its buffer in place.
        payloads = []
        next = 0
        while !finished {
            gapsBeforeRow = replay.statistics.gaps
            guard let changes = try replay.nextChanges() else {
                finished = true
                if replay.statistics.rows > 0, replay.endedWithoutLineBreak { unterminatedLine = replay.lineNumber }
                return false
            }
            // Order-level rows carry no time: each is stamped with its line number (a message
            // of its own, in file order; `BacktestPlan` runs such a file alone).
            let exchange =
                format == .l3JSONLines ? UInt64(truncatingIfNeeded: replay.lineNumber) : replay.rowExchangeTimestamp
            let local = format == .l3JSONLines ? exchange : replay.rowLocalTimestamp
            // A quote row with an empty price on either side is skipped entirely.
            let skipped =
                changes.count == 1
                && {
                    guard case .quote(let quote) = changes[0] else { return false }
                    return quote.bidPrice.ticks <= 0 || quote.askPrice.ticks <= 0
                }()
            if skipped || changes.isEmpty {
                // (A row that makes an event from `until` on is handed out: the reader stops there.)
                if Swift.max(time, exchange) >= until {
                    finished = true
                    stoppedAtTo = true
                    return false
                }
                if skipped { skippedQuotes += 1 }
                continue
            }
            // A Bybit message without `ts` runs at the latest time above it: the first has none.
            if exchange == 0, time == 0, format == .bybitOrderBook {
                throw FeedError(
                    line: replay.lineNumber,
                    "a message without a time (\"ts\" missing or 0) before any with one: its exchange time is "
                        + "unknown (give it the \"ts\" of the message after it, or start the file at a message that "
                        + "has one)")
            }
            payloads = changes
            if firstExchangeTime == 0 { firstExchangeTime = exchange }
            exchangeTime = exchange
            localTime = local == 0 ? exchange : local
            if stepsBack(exchange) { stepBacks.note(exchange, before: time, at: replay.lineNumber) }
            time = Swift.max(time, exchange)
            if firstNumberedTime == nil, previousInList != nil, replay.readNumberedMessage { firstNumberedTime = time }
            return true
        }
        return false
    }

    /// The current event of a converted file (one event per record: no payload array).
    @exclusivity(unchecked) var convertedEvent: Event?

    func advance(_ records: EventFileRecords) throws(FeedError) -> Bool {
        guard let next = try read(records) else { return false }
        convertedEvent = next.event
        return true
    }

    /// Reads the next record of a converted file into `slot` as the backtest's event (its
    /// instrument mapped, its merge time), checking its checksum unless the hashing thread has;
    /// false at the end. No allocation.
    @inline(__always)
    func read(_ records: EventFileRecords, into slot: UnsafeMutablePointer<MarketDataEvent>) throws(FeedError)
        -> Bool
    {
        guard record < records.count else {
            finished = true
            converted?.readersDone()
            return false
        }
        if record >= verifiedEnd {
            // Records the hashing thread has checked ahead (it is told how far this reader has
            // got every `readerStride` records), else a window checked here.
            converted?.reached(record)
            verifiedEnd = Swift.min(
                converted?.verifiedAhead.load(ordering: .acquiring) ?? 0, record &+ EventFile.readerStride)
            if verifiedEnd <= record { verifiedEnd = records.verified(from: record) }
            guard verifiedEnd > record else { throw records.damaged(record).named(path: path) }
        }
        do throws(EventFileRecords.RecordError) { slot.pointee.event = try records.event(at: record) } catch {
            throw error.named(path: path)
        }
        record &+= 1
        let raw = Int(slot.pointee.event.instrument.rawValue)
        // An instrument the file does not list: a record no conversion writes (its checksum
        // holds, so the file was made so): refused, not ignored.
        if raw >= instrumentLimit { throw unlistedInstrument(raw) }
        if remapsInstruments { slot.pointee.event.instrument = instrumentMap[raw] }
        let exchange = slot.pointee.event.exchangeTimestamp
        if stepsBack(exchange) { noteStepBack(exchange) }
        time = Swift.max(time, exchange)
        slot.pointee.time = time
        return true
    }

    /// The record just read names instrument `raw`, which the file does not list.
    @inline(never)
    func unlistedInstrument(_ raw: Int) -> FeedError {
        EventFileRecords.RecordError(
            index: record &- 1,
            problem: "names instrument \(raw), which is not among the file's \(instrumentMap.count) instruments: "
                + "the file is damaged (convert it again)"
        ).named(path: path)
    }

    /// Whether a row (or a message's records) stamped `exchange` steps back and runs: stamped
    /// (from `stampedFrom`), before the latest time above it, which is before `--to`.
    @inline(__always)
    func stepsBack(_ exchange: UInt64) -> Bool { exchange < time && exchange >= stampedFrom && time < until }

    /// Notes the `records` just read, stamped `exchange`, as stepping back (out of line: it is
    /// rare).
    @inline(never)
    func noteStepBack(_ exchange: UInt64, records: Int = 1) {
        stepBacks.note(
            exchange, before: time, at: Int(truncatingIfNeeded: record &- UInt64(truncatingIfNeeded: records)),
            rows: records)
    }

    /// The next record of a converted file when it is a level update of the message at
    /// `instrument` (the file's id), `timestamp` and `exchangeTimestamp` whose checksum is known
    /// to match: its update, the record taken (the merge time stays: the exchange time is the
    /// message's). Nil otherwise, nothing taken: `read(_:into:)` reads the record as usual,
    /// checking and naming what is wrong. No allocation.
    @inline(__always)
    func takeLevelUpdate(
        _ records: EventFileRecords, instrument: UInt32, timestamp: UInt64, exchangeTimestamp: UInt64
    ) -> LevelUpdate? {
        guard record < verifiedEnd, record < records.count else { return nil }
        let frame = UnsafeRawBufferPointer(
            start: records.start + Int(truncatingIfNeeded: record) &* EventFileFormat.recordSize + 16,
            count: EventFileFormat.recordSize - 16)
        guard
            let update = Event.levelUpdate(
                in: frame, instrument: instrument, timestamp: timestamp, exchangeTimestamp: exchangeTimestamp)
        else { return nil }
        record &+= 1
        return update
    }

    /// The next record of a converted file as the backtest's event (its instrument mapped, its
    /// merge time); nil at the end.
    func read(_ records: EventFileRecords) throws(FeedError) -> MarketDataEvent? {
        var event = MarketDataEvent.placeholder
        return try read(records, into: &event) ? event : nil
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

/// A file's rows stamped before a row above them (in their exchange time): rows out of time
/// order, or a time in another unit (milliseconds in a file of microseconds). Such a row is
/// merged at the latest time above it (a file's time never goes back), which may be far from its
/// own; the backtest and `data convert` warn of them (`warning`). No allocation.
struct TimeStepBacks {
    /// How many rows stepped back.
    private(set) var count = 0
    /// The largest step back (ns).
    private(set) var largest: UInt64 = 0
    /// The first row that stepped back (its line, or a converted file's record index), its
    /// time, and the time it stepped back from.
    private(set) var first: (place: Int, time: UInt64, after: UInt64)? = nil

    /// Notes `rows` rows from `place` on stamped `time`, before `latest`, the latest time above
    /// them.
    mutating func note(_ time: UInt64, before latest: UInt64, at place: Int, rows: Int = 1) {
        count &+= rows
        largest = Swift.max(largest, latest &- time)
        if first == nil { first = (place, time, latest) }
    }

    /// The warning for `file` (`converted`: a converted file, its places record indices), nil
    /// when no row stepped back.
    func warning(file: String, converted: Bool) -> String? {
        guard let first else { return nil }
        let place = converted ? "\(file): record \(first.place)" : "\(file):\(first.place)"
        let rows = count == 1 ? "1 \(converted ? "event" : "row") is" : "\(count) \(converted ? "events" : "rows") are"
        return "\(place): \(rows) stamped before one above, by up to \(Self.duration(largest)) (the first at "
            + "\(UTCTime.text(first.time)), after \(UTCTime.text(first.after))); each counts as at the latest time "
            + "above it. Small steps are usually exchange times out of order in data sorted by receive time; "
            + "large ones, rows out of order or a time in another unit (milliseconds in a file of microseconds)"
    }

    /// `nanoseconds` in the largest unit that keeps it readable (ms, s or days).
    static func duration(_ nanoseconds: UInt64) -> String {
        let seconds = Double(nanoseconds) / 1e9
        if seconds >= 86_400 { return BacktestHTMLReport.fixed(seconds / 86_400, 1) + " days" }
        if seconds >= 1 { return BacktestHTMLReport.fixed(seconds, 3) + " s" }
        return BacktestHTMLReport.fixed(seconds * 1_000, 3) + " ms"
    }
}

/// Every input file merged into one stream by exchange time; ties go to the file given first,
/// then to the earlier line. Each file streams (a memory map, or a gzip file inflated to a
/// temporary file): memory does not grow with the data.
public final class MarketDataStream: MarketDataSource {
    let streams: [DataFileStream]
    /// A bad row stops the stream: this names the file, line and value.
    @exclusivity(unchecked) public private(set) var failure: FeedError?
    /// The first stream, the only one when `merging` is false (kept alive by `streams`;
    /// unmanaged so reading it costs no reference counting).
    let first: Unmanaged<DataFileStream>
    let merging: Bool
    /// The records of the only file when it is a converted one: read one by one, nothing staged.
    let direct: EventFileRecords?

    /// `following`: per stream, whether it follows the one before it in one `--data` list
    /// (`PlannedFile.followsInList`).
    init(streams: [DataFileStream], following: [Bool] = []) throws(FeedError) {
        guard let first = streams.first else { throw FeedError(line: 0, "no data files") }
        for (index, follows) in following.enumerated() where follows && index > 0 && index < streams.count {
            streams[index].previousInList = streams[index - 1]
        }
        self.first = Unmanaged.passUnretained(first)
        merging = streams.count > 1
        self.streams = streams
        direct = merging ? nil : first.records
        guard direct == nil else { return }
        for stream in streams {
            do throws(FeedError) { _ = try stream.advance() } catch {
                throw FeedError(line: error.line, error.message, file: error.file ?? stream.path)
            }
        }
    }

    /// Reads the next event into `slot`; false at the end of every file (or at a bad row: see
    /// `failure`). A single converted file's record is decoded straight into the slot.
    @inline(__always)
    func next(into slot: UnsafeMutablePointer<MarketDataEvent>) -> Bool {
        if let direct {
            return first._withUnsafeGuaranteedRef { (file) -> Bool in
                guard failure == nil else { return false }
                do throws(FeedError) { return try file.read(direct, into: slot) } catch {
                    failure = error
                    return false
                }
            }
        }
        guard let event = nextMerged() else { return false }
        slot.pointee = event
        return true
    }

    /// The next event before exchange time `until` (when given), or nil: at the end of every
    /// file, at a bad row (`failure`), or at the first event at or after `until`, which is left
    /// unread, and the rows after it unparsed (damage past `until` is never reached).
    func next(before until: UInt64?) -> MarketDataEvent? {
        if let until, direct == nil, let time = nextTextTime(), time >= until { return nil }
        guard let event = next() else { return nil }
        // (A converted file's records are read one at a time: the one past `until` alone.)
        if let until, event.time >= until { return nil }
        return event
    }

    /// The exchange time of the event `next()` gives next (text files, or several files),
    /// parsing a file's next row only when its current one is used up; nil at the end.
    func nextTextTime() -> UInt64? {
        for stream in streams { load(stream) }
        var best: UInt64? = nil
        for stream in streams where stream.hasEvent && best.map({ stream.time < $0 }) ?? true { best = stream.time }
        return best
    }

    /// The next event, or nil at the end of every file (or at a bad row: see `failure`).
    func next() -> MarketDataEvent? {
        var event = MarketDataEvent.placeholder
        return next(into: &event) ? event : nil
    }

    /// `next()` of text files, or of several files.
    @inline(never)
    func nextMerged() -> MarketDataEvent? {
        if !merging {
            return first._withUnsafeGuaranteedRef {
                load($0)
                return nextOf($0)
            }
        }
        var best: DataFileStream? = nil
        for stream in streams {
            load(stream)
            guard stream.hasEvent else { continue }
            if let chosen = best, chosen.time <= stream.time { continue }
            best = stream
        }
        guard let best else { return nil }
        return nextOf(best)
    }

    /// The next event of `best` (its next row is loaded when one is asked for: `load`).
    func nextOf(_ best: DataFileStream) -> MarketDataEvent? {
        guard best.hasEvent else { return nil }
        return best.take()
    }

    /// Loads `file`'s next row when its current one is used up (and it has more, and no file
    /// failed). Rows are parsed only as they are asked for: nothing past what the reader takes
    /// (with `--to`, the first row at or after it) is read, skipped or refused.
    @inline(__always)
    func load(_ file: DataFileStream) {
        if !file.hasEvent, !file.finished, failure == nil { advance(file) }
    }

    /// Loads `file`'s next row; a bad one stops every file (`failure` names it).
    func advance(_ file: DataFileStream) {
        do throws(FeedError) {
            _ = try file.advance()
        } catch {
            failure = FeedError(line: error.line, error.message, file: error.file ?? file.path)
            for stream in streams {
                stream.payloads.removeAll()
                stream.convertedEvent = nil
            }
        }
    }

    /// Writes the next events to `buffer` from its start, stopping before the first at or
    /// after exchange time `until` (left unread, as `next(before:)` leaves it); returns how
    /// many. Fewer than the buffer holds only at the end of the data, at `until` or at a bad
    /// row (`failure`). A single text file's rows are copied straight out of its decoder, not
    /// event by event through the merge.
    func fill(_ buffer: UnsafeMutableBufferPointer<MarketDataEvent>, until: UInt64?) -> Int {
        var count = 0
        guard !merging, direct == nil else {
            while count < buffer.count, let event = next(before: until) {
                buffer[count] = event
                count &+= 1
            }
            return count
        }
        return first._withUnsafeGuaranteedRef { (file) -> Int in
            while count < buffer.count {
                load(file)
                guard file.next < file.payloads.count else { break }
                let time = file.time
                if let until, time >= until { break }
                let local = file.localTime
                let exchange = file.exchangeTime
                let instrument = file.instrument
                file.payloads.withUnsafeBufferPointer { row in
                    var index = file.next
                    while index < row.count, count < buffer.count {
                        buffer[count] = MarketDataEvent(
                            event: Event(
                                timestamp: local, exchangeTimestamp: exchange, instrument: instrument,
                                payload: row[index]),
                            time: time)
                        index &+= 1
                        count &+= 1
                    }
                    file.next = index
                }
            }
            return count
        }
    }

    /// The reading is over (the stream is read on the caller's thread): the converted files'
    /// hashing need not wait for it.
    func finish() {
        for stream in streams { stream.converted?.readersDone() }
    }

    /// Fraction of the input read (by the files' bytes).
    public var progress: Double {
        streams.isEmpty ? 1 : streams.reduce(0) { $0 + $1.progress } / Double(streams.count)
    }

    /// Quote rows skipped for an empty price on a side.
    public var skippedQuotes: Int { streams.reduce(0) { $0 + $1.skippedQuotes } }
    /// The warnings about each file's data, in file order: rows stamped before a row above them
    /// (`TimeStepBacks`), a first message that does not follow on from the file before it in its
    /// list (`listGapWarning`), then messages that skipped sequence numbers (`sequenceGapWarning`).
    public var dataWarnings: [String] {
        streams.flatMap { stream in
            [
                stream.warnsOfStepBacks
                    ? stream.stepBacks.warning(file: stream.path, converted: stream.records != nil) : nil,
                stream.listGapWarning,
                stream.sequenceGapWarning,
                stream.unterminatedLine > 0
                    ? FeedReplay.unterminatedWarning(stream.path, line: stream.unterminatedLine) : nil,
                stream.earlyTimeWarning,
            ].compactMap { $0 }
        }
    }
}

/// The merged market data as the backtest reads it: on its own thread (`MarketDataStream`) or
/// decoded ahead on another (`MarketDataThread`).
protocol MarketDataSource: AnyObject {
    /// Reads the next event into `slot`; false at the end (or at a bad row: see `failure`).
    func next(into slot: UnsafeMutablePointer<MarketDataEvent>) -> Bool
    /// Stops the reading (waits for a decoding thread); call before `failure` and `skippedQuotes`.
    func finish()
    var failure: FeedError? { get }
    var skippedQuotes: Int { get }
    /// The warnings about each file's data (`MarketDataStream.dataWarnings`); after `finish`.
    var dataWarnings: [String] { get }
    var progress: Double { get }
}
