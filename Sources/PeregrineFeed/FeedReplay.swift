import PeregrineBook
import PeregrineCodec
import PeregrineModel

/// The market-data file formats `peregrine feed replay` reads.
public enum FeedFormat: String, CaseIterable, Sendable {
    /// Binance (USDⓈ-M) depth snapshot and update CSV: symbol,timestamp,first_update_id,
    /// last_update_id,side,update_type,price,qty,pu.
    case binanceDepth = "binance-depth"
    /// Bybit v5 `orderbook.N` websocket messages, one JSON object per line (snapshot/delta).
    case bybitOrderBook = "bybit-ob"
    /// Tardis `quotes` CSV: exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount.
    case tardisQuotes = "tardis-quotes"
    /// Tardis `trades` CSV: exchange,symbol,timestamp,local_timestamp,id,side,price,amount.
    case tardisTrades = "tardis-trades"
    /// TrueFX quotes CSV: timestamp,bid,ask (no sizes).
    case truefxQuotes = "truefx-quotes"
    /// Tardis `incremental_book_L2` CSV: exchange,symbol,timestamp,local_timestamp,is_snapshot,
    /// side,price,amount; rows sharing a local_timestamp are one message.
    case tardisL2 = "tardis-l2"
    /// Tardis `book_snapshot_N` CSV: exchange,symbol,timestamp,local_timestamp, then
    /// asks[i].price,asks[i].amount,bids[i].price,bids[i].amount for each level.
    case tardisSnapshot = "tardis-snapshot"
    /// Order-level JSON lines: {"seq":N,"op":"add"|"update"|"delete","order_id":N,
    /// "side":"bid"|"ask","price":"decimal","size":"decimal"}.
    case l3JSONLines = "l3-jsonl"

    var isBook: Bool { self != .tardisQuotes && self != .tardisTrades && self != .truefxQuotes }

    /// Rows that share a key form one message (Binance: last_update_id; Tardis L2:
    /// local_timestamp).
    var groupsRows: Bool { self == .binanceDepth || self == .tardisL2 }
}

/// One checkpoint line of a replay.
public struct FeedCheckpoint: Equatable, Sendable {
    public var message: Int
    public var bid: BookLevel?
    public var ask: BookLevel?
    public var bidLevels: Int
    public var askLevels: Int
    /// Σ price × size over the top 10 levels, in ticks × lots.
    public var bidNotional: Notional
    public var askNotional: Notional
    /// Orders per side (order-level formats; 0 otherwise).
    public var bidOrders = 0
    public var askOrders = 0
}

/// What a replay counted.
public struct FeedStatistics: Equatable, Sendable {
    public var messages = 0
    public var rows = 0
    /// Messages whose sequence did not follow on from the previous one.
    public var gaps = 0
    /// Messages older than the one before them.
    public var outOfOrder = 0
    /// Messages after which the best bid was at or above the best ask (mirrored as given).
    public var crossed = 0
    /// Messages after which one side of the book was empty.
    public var oneSided = 0
    public var trades = 0
    public var tradedSize: Int64 = 0
    /// Order-level messages about an order the mirror does not hold (delete or update of an
    /// unknown id), or an add of an id it already holds: applied as well as can be, counted.
    public var unknownOrders = 0
}

/// Replays market-data files into a mirror book: an L2 book that applies the feed exactly as
/// given (it never matches, and a crossed or one-sided moment is counted, not corrected), or
/// the best bid and offer for quote files. Streams each file through a memory map with
/// constant memory and no allocation per row. Prices and sizes load exactly on the given
/// grids; a value with more decimals stops the replay with its line.
public struct FeedReplay: ~Copyable {
    public let format: FeedFormat
    public let priceIncrement: Increment
    public let sizeIncrement: Increment
    var book: L2Book
    var quoteBid: BookLevel?
    var quoteAsk: BookLevel?
    public internal(set) var statistics = FeedStatistics()
    var lastSequence: Int64 = -1
    var lastTimestamp: Int64 = .min
    var inSnapshot = false
    /// The first message whose updates are numbered (Binance depth, Bybit): kept to check it
    /// against the end of the file before it in a list (`startsWithGap(after:)`).
    var firstNumbered: NumberedMessage?
    /// The exchange and receive times of the first row of the Tardis L2 snapshot under way.
    var snapshotTimes: (exchange: UInt64, local: UInt64) = (0, 0)
    var eventID: Int64 = .min
    /// The order-level mirror (order-level formats; `book` serves the others).
    var mirror: OrderLevelMirror
    var scanner = FlatJSONObject()
    /// Set for a decoder (`FeedReplay.decoder`, for `peregrine run --source`): every change is
    /// captured as an engine event (level updates, clear-book events, trades and quotes) and
    /// no L2 book is kept, because the engine's book applies them: the feed is decoded once.
    let capturing: Bool
    var captured: [EventPayload] = []
    /// When the venue stamped the row last applied, in nanoseconds since the Unix epoch (0 when
    /// the format has no such time): what `nextChanges` returns is stamped with it.
    public internal(set) var rowExchangeTimestamp: UInt64 = 0
    /// When the recorder received that row, ns since the Unix epoch: the format's receive time
    /// (Tardis `local_timestamp`), or the exchange time for formats without one.
    public internal(set) var rowLocalTimestamp: UInt64 = 0
    var reader: MappedLines?
    /// The line of the file read last (1 for the first), 0 before any.
    public var lineNumber: Int { mutating get { reader?.lineNumber ?? 0 } }
    /// Fields per CSV row, from the header (`checkFirstLine`).
    var expectedFields = 0
    /// The symbol every row of the file names (formats with a symbol column): set by the
    /// first row (`noteSymbol`).
    var symbol: [UInt8]? = nil
    /// The exchange every row names (Tardis formats' first column): set by the first row
    /// (`noteExchange`).
    var exchange: [UInt8]? = nil
    /// A torn last line found by `replay`: reported, not applied.
    public private(set) var tornTail: FeedTornTail?
    /// Whether the file read by `nextChanges` (`open`) has ended on a line without a line
    /// break (applied: a torn one throws). A recorder's file ends with one, and a cut that leaves
    /// a shorter number (`5.612` cut to `5.6`) still parses, so it is said
    /// (`unterminatedWarning`).
    public var endedWithoutLineBreak: Bool { mutating get { !(reader?.lastLineTerminated ?? true) } }

    /// The warning for line `line` of `path`, the last, read without a line break.
    public static func unterminatedWarning(_ path: String, line: Int) -> String {
        "\(path):\(line): the last line ends without a line break: it was read as a whole row, but a file cut short "
            + "there would read the same if a number lost digits (exchange recordings end with a line break): check "
            + "the file is whole"
    }

    /// A replay of `format` on the given grids, holding at most `maxLevelsPerSide` levels a side
    /// (a new level beyond stops the replay with a `FeedError` naming the line).
    public init(
        format: FeedFormat, priceIncrement: Increment, sizeIncrement: Increment,
        maxLevelsPerSide: Int = L2Book.defaultMaxLevelsPerSide
    ) throws(FeedError) {
        try self.init(
            format: format, priceIncrement: priceIncrement, sizeIncrement: sizeIncrement,
            maxLevelsPerSide: maxLevelsPerSide, capturing: false)
    }

    /// A decoder of `format` for the engine: `open` a file, then `nextChanges` gives each line's
    /// events. It keeps no L2 book (an order-level format keeps the order mirror that turns
    /// orders into level totals), so the book and its statistics (crossed, one-sided) are the
    /// engine's.
    public static func decoder(format: FeedFormat, priceIncrement: Increment, sizeIncrement: Increment)
        throws(FeedError) -> FeedReplay
    {
        try FeedReplay(
            format: format, priceIncrement: priceIncrement, sizeIncrement: sizeIncrement,
            maxLevelsPerSide: L2Book.defaultMaxLevelsPerSide, capturing: true)
    }

    init(
        format: FeedFormat, priceIncrement: Increment, sizeIncrement: Increment, maxLevelsPerSide: Int,
        capturing: Bool
    ) throws(FeedError) {
        guard maxLevelsPerSide >= 1 else {
            throw FeedError(line: 0, "the most levels per side must be at least 1 (got \(maxLevelsPerSide))")
        }
        // One book: a dense window of 2^20 ticks (8 MB a side) holds a coarse grid's whole day; a
        // fine grid's levels go to the sorted stores. The order-level mirror has its own, and a
        // decoder uses none. Only an order-level format fills the mirror: the others' is the
        // smallest (a 2 MB order table for nothing cost every backtest about a millisecond).
        let orderLevel = format == .l3JSONLines
        let made = try Self.makeBook(
            windowSize: orderLevel || capturing ? 64 : 1 << 20, maxLevelsPerSide: maxLevelsPerSide)
        self.capturing = capturing
        self.format = format
        self.priceIncrement = priceIncrement
        self.sizeIncrement = sizeIncrement
        book = made
        mirror = OrderLevelMirror(
            windowSize: orderLevel ? 1 << 16 : 64, maxLevelsPerSide: maxLevelsPerSide,
            orderCapacity: orderLevel ? 1 << 16 : 16)
    }

    static func makeBook(windowSize: Int, maxLevelsPerSide: Int) throws(FeedError) -> L2Book {
        do {
            return try L2Book(instrument: InstrumentID(0), windowSize: windowSize, maxLevelsPerSide: maxLevelsPerSide)
        } catch { throw FeedError(line: 0, "\(error)") }
    }

    /// Replays `path`, calling `checkpoint` every `checkpointEvery` messages (0: never) and
    /// `progress` with the fraction read every 2^20 lines. Returns the last line's number when
    /// it was applied without a line break (`unterminatedWarning`), else nil.
    @discardableResult
    public mutating func replay(
        path: String, checkpointEvery: Int = 0, checkpoint: (FeedCheckpoint) -> Void = { _ in },
        progress: (Double) -> Void = { _ in }
    ) throws(FeedError) -> Int? {
        var lines = try MappedLines(path: path)
        var unterminated: Int? = nil
        while let line = lines.next() {
            if lines.lineNumber & 0xF_FFFF == 0 { progress(lines.progress) }
            let admission: Admission
            do { admission = try admit(line, number: lines.lineNumber, terminated: lines.lastLineTerminated) } catch {
                throw FeedError(line: error.line, error.message, file: path)
            }
            switch admission {
            case .skip: continue
            case .torn:
                tornTail?.path = path
            case .apply:
                if !lines.lastLineTerminated { unterminated = lines.lineNumber }
                if format.groupsRows, eventID != .min, startsNewEvent(line) {
                    endMessage(checkpointEvery: checkpointEvery, checkpoint)
                }
                let ended: Bool
                do throws(FeedError) {
                    ended = try apply(line)
                } catch {
                    throw FeedError(line: lines.lineNumber, error.message, file: path)
                }
                if ended { endMessage(checkpointEvery: checkpointEvery, checkpoint) }
                continue
            }
            break
        }
        if format.groupsRows, eventID != .min {
            endMessage(checkpointEvery: checkpointEvery, checkpoint)
            eventID = .min
        }
        // A Tardis file's snapshot ends with it: the next file's replaces the book again.
        if format == .tardisL2 { inSnapshot = false }
        return unterminated
    }

    enum Admission { case apply, skip, torn }

    /// What to do with a line before any of it is applied: the header is checked and
    /// skipped, a line of the wrong shape throws, and a last line without a line break that is
    /// not a complete record is recorded as the torn tail. Errors and `tornTail` name no file:
    /// the caller adds its path (read only then: no reference counting per line).
    @inline(__always)
    mutating func admit(_ line: UnsafeBufferPointer<UInt8>, number: Int, terminated: Bool)
        throws(FeedError) -> Admission
    {
        if number == 1, let fields = try Self.checkFirstLine(line, format: format) {
            expectedFields = fields
            return .skip
        }
        if line.isEmpty { return .skip }
        do throws(FeedError) {
            if terminated {
                try Self.checkShape(line, format: format, fields: expectedFields)
            } else {
                try validateRecord(line)
            }
        } catch {
            guard !terminated else { throw FeedError(line: number, error.message) }
            tornTail = FeedTornTail(path: "", line: number, bytes: line.count, reason: error.message)
            return .torn
        }
        return .apply
    }

    mutating func endMessage(checkpointEvery: Int, _ checkpoint: (FeedCheckpoint) -> Void) {
        statistics.messages += 1
        if capturing { return }
        let top = bestBidOffer
        if let bid = top.bid, let ask = top.ask {
            if bid.price >= ask.price { statistics.crossed += 1 }
        } else if format != .tardisTrades {
            statistics.oneSided += 1
        }
        if checkpointEvery > 0, statistics.messages % checkpointEvery == 0 { checkpoint(currentCheckpoint) }
    }

    /// The book's state now.
    public var currentCheckpoint: FeedCheckpoint {
        let top = bestBidOffer
        if format.isBook {
            let bids = depth(.buy, levels: 10)
            let asks = depth(.sell, levels: 10)
            return FeedCheckpoint(
                message: statistics.messages, bid: top.bid, ask: top.ask, bidLevels: levelCount(.buy),
                askLevels: levelCount(.sell),
                bidNotional: bids.reduce(into: Notional()) { $0.add($1.price, $1.quantity) },
                askNotional: asks.reduce(into: Notional()) { $0.add($1.price, $1.quantity) },
                bidOrders: mirror.orderCount(.buy), askOrders: mirror.orderCount(.sell))
        }
        return FeedCheckpoint(
            message: statistics.messages, bid: top.bid, ask: top.ask, bidLevels: top.bid == nil ? 0 : 1,
            askLevels: top.ask == nil ? 0 : 1,
            bidNotional: top.bid.map { Notional($0.price, $0.quantity) } ?? Notional(),
            askNotional: top.ask.map { Notional($0.price, $0.quantity) } ?? Notional())
    }

    /// The best bid and offer now. (Always inlined: as a call from a mutating method it had the
    /// compiler copy 512 bytes of the replay's state, once per message.)
    @inline(__always)
    public var bestBidOffer: BestBidOffer {
        if format == .l3JSONLines { return BestBidOffer(bid: mirror.best(.buy), ask: mirror.best(.sell)) }
        return format.isBook ? book.bestBidOffer : BestBidOffer(bid: quoteBid, ask: quoteAsk)
    }

    /// Book levels of `side`, best first (L2 formats).
    public func depth(_ side: Side, levels: Int) -> [BookLevel] {
        format == .l3JSONLines ? mirror.depth(side, levels: levels) : book.depth(side, levels: levels)
    }

    /// Levels held on `side` (book formats).
    public func levelCount(_ side: Side) -> Int {
        format == .l3JSONLines ? mirror.levelCount(side) : book.levelCount(side)
    }

    public var bookCounters: BookCounters { book.counters }

    // MARK: Formats

    /// A market data price on the file's grid, above zero (as every order's price at the
    /// venues; a price of zero or below would be traded against) and within `Price.maxTicks`,
    /// read from the field `column` (named in the error, with `hint` when not positive).
    @inline(__always)
    func price(_ bytes: UnsafeBufferPointer<UInt8>, _ column: StaticString, hint: StaticString = "")
        throws(FeedError) -> Price
    {
        try Self.price(bytes, column, hint: hint, tick: priceIncrement)
    }

    /// `price(_:_:hint:)` on the grid of `tick`. (Static: the parsers' methods reading the
    /// replay's state had the compiler copy 512 bytes of it per row.)
    @inline(__always)
    static func price(_ bytes: UnsafeBufferPointer<UInt8>, _ column: StaticString, hint: StaticString, tick: Increment)
        throws(FeedError) -> Price
    {
        let price: Price
        do { price = try Price(utf8: bytes, tickSize: tick) } catch { throw named(error, column) }
        guard Price.inRange(price.ticks) else { throw priceOutOfRange(bytes, column, tick: tick) }
        guard price.ticks > 0 else { throw notPositive(bytes, column, hint: hint) }
        return price
    }

    @inline(never)
    static func notPositive(_ bytes: UnsafeBufferPointer<UInt8>, _ column: StaticString, hint: StaticString)
        -> FeedError
    {
        FeedError(line: 0, "\(column) '\(TextField.excerpt(bytes))' is not positive\(hint)")
    }

    @inline(never)
    static func priceOutOfRange(_ bytes: UnsafeBufferPointer<UInt8>, _ column: StaticString, tick: Increment)
        -> FeedError
    {
        FeedError(
            line: 0,
            "\(column) '\(TextField.excerpt(bytes))' is beyond the price range at tick size \(tick): "
                + "\(Price.rangeRule), so that the sum of two prices is exact; "
                + "use a coarser tick size")
    }

    /// The size in `bytes`, read from the field `column` (named in the error).
    @inline(__always)
    func size(_ bytes: UnsafeBufferPointer<UInt8>, _ column: StaticString) throws(FeedError) -> Quantity {
        do { return try Quantity(utf8: bytes, lotSize: sizeIncrement) } catch { throw Self.named(error, column) }
    }

    /// A level of `side` read from its price and size fields of a snapshot or message that
    /// names its levels' columns by position: an error about either ("a level's price …") goes
    /// through `naming`, which names the field.
    @inline(__always)
    func level(
        _ side: Side, price priceBytes: UnsafeBufferPointer<UInt8>, size sizeBytes: UnsafeBufferPointer<UInt8>,
        naming: (FeedError) -> FeedError
    ) throws(FeedError) -> LevelUpdate {
        do throws(FeedError) {
            return LevelUpdate(
                side: side, price: try price(priceBytes, "a level's price"),
                quantity: try size(sizeBytes, "a level's size"))
        } catch {
            throw naming(error)
        }
    }

    /// A value's error, naming its column (out of line: the parsers' paths stay short).
    @inline(never)
    static func named(_ error: ModelError, _ column: StaticString) -> FeedError {
        FeedError(line: 0, "\(column) \(error)")
    }

    /// Applies one line; true when it ends a message. A line that throws is not counted among
    /// the rows read (the formats count a row before its last checks).
    mutating func apply(_ line: UnsafeBufferPointer<UInt8>) throws(FeedError) -> Bool {
        let rows = statistics.rows
        do throws(FeedError) {
            switch format {
            case .binanceDepth: return try applyBinance(line)
            case .bybitOrderBook: return try applyBybit(line)
            case .tardisQuotes: return try applyTardisQuote(line)
            case .tardisTrades: return try applyTardisTrade(line)
            case .truefxQuotes: return try applyTrueFXQuote(line)
            case .tardisL2: return try applyTardisL2(line)
            case .tardisSnapshot: return try applyTardisSnapshot(line)
            case .l3JSONLines: return try applyOrderLevel(line)
            }
        } catch {
            statistics.rows = rows
            throw error
        }
    }

    mutating func captureQuote() {
        guard capturing else { return }
        captured.append(
            .quote(
                Quote(
                    bidPrice: quoteBid?.price ?? Price(ticks: 0), bidQuantity: quoteBid?.quantity ?? .zero,
                    askPrice: quoteAsk?.price ?? Price(ticks: 0), askQuantity: quoteAsk?.quantity ?? .zero)))
    }

    mutating func noteTimestamp(_ timestamp: Int64) {
        if timestamp < lastTimestamp { statistics.outOfOrder += 1 }
        lastTimestamp = max(lastTimestamp, timestamp)
    }

    /// Records the row's exchange time, given in `unitNanoseconds` units since the Unix epoch.
    /// A time before 1970 or past 2262 (beyond 64-bit nanoseconds) is bad data.
    mutating func noteExchangeTime(_ value: Int64, unitNanoseconds: Int64) throws(FeedError) {
        rowExchangeTimestamp = try Self.nanoseconds(value, unit: unitNanoseconds, field: "timestamp")
        rowLocalTimestamp = rowExchangeTimestamp
    }

    /// Records a Tardis row's `local_timestamp` field (µs) as its receive time; one that is
    /// not an integer, or is before 1970 or past 2262, is bad data (a replay checks it too).
    mutating func noteTardisLocalTime(_ field: UnsafeBufferPointer<UInt8>) throws(FeedError) {
        guard let micros = field.integerValue else {
            throw FeedError(
                line: 0, "local_timestamp '\(TextField.excerpt(field))' is not a 64-bit integer")
        }
        try noteTardisLocalTime(micros)
    }

    /// Records a Tardis `local_timestamp` (µs) read already.
    mutating func noteTardisLocalTime(_ micros: Int64) throws(FeedError) {
        let nanoseconds = try Self.nanoseconds(micros, unit: 1_000, field: "local_timestamp")
        if capturing { rowLocalTimestamp = nanoseconds }
    }

    /// `value` units of `unit` ns since 1970 as nanoseconds; an error naming `field` when it is
    /// negative or beyond 64-bit nanoseconds.
    @inline(__always)
    static func nanoseconds(_ value: Int64, unit: Int64, field: String) throws(FeedError) -> UInt64 {
        let (nanoseconds, overflow) = value.multipliedReportingOverflow(by: unit)
        guard !overflow, nanoseconds >= 0 else { throw timeOutOfRange(value, unit: unit, field: field) }
        return UInt64(nanoseconds)
    }

    @inline(never)
    static func timeOutOfRange(_ value: Int64, unit: Int64, field: String) -> FeedError {
        let name = unit == 1 ? "ns" : unit == 1_000 ? "µs" : unit == 1_000_000 ? "ms" : "×\(unit) ns"
        return FeedError(
            line: 0, "\(field) \(value) (\(name) since 1970-01-01) is out of range: a time from 1970 to 2262")
    }

    /// The side a field names, spelt `bid` / `ask` by the format.
    static func side(_ field: UnsafeBufferPointer<UInt8>, bid: StaticString, ask: StaticString) throws(FeedError)
        -> Side
    {
        if field.equals(bid) { return .buy }
        if field.equals(ask) { return .sell }
        throw FeedError(line: 0, "side '\(TextField.excerpt(field))' is not \(bid) or \(ask)")
    }

    /// A field of two values: true for `true`, false for `false`; anything else is bad data
    /// (a snapshot read as an update, or the reverse, would change the book silently).
    @inline(__always)
    static func flag(
        _ field: UnsafeBufferPointer<UInt8>, _ column: StaticString, true yes: StaticString, false no: StaticString
    )
        throws(FeedError) -> Bool
    {
        if field.equals(no) { return false }
        if field.equals(yes) { return true }
        throw neither(field, column, yes, no)
    }

    @inline(never)
    static func neither(
        _ field: UnsafeBufferPointer<UInt8>, _ column: StaticString, _ yes: StaticString, _ no: StaticString
    )
        -> FeedError
    {
        FeedError(line: 0, "\(column) '\(TextField.excerpt(field))' is not \(yes) or \(no)")
    }

    /// Applies a level update to the mirror, or captures it (a decoder).
    mutating func applyLevel(_ update: LevelUpdate) throws(FeedError) {
        if capturing {
            captured.append(.levelUpdate(update))
            return
        }
        guard book.apply(update) == .applied else {
            throw FeedError(
                line: 0,
                "a new \(update.side == .buy ? "bid" : "ask") level at "
                    + "\(update.price.formatted(tickSize: priceIncrement)) would pass the mirror's ceiling of "
                    + "\(book.maxLevelsPerSide) levels a side (raise --max-levels-per-side)")
        }
    }

    /// Empties the mirror, or captures a clear-book event (a decoder): the venue replaces its
    /// book with the snapshot that follows.
    mutating func clearBook() {
        if capturing {
            captured.append(.clearBook)
            return
        }
        book.clear()
    }

    /// Whether a row begins another message (Binance: a new last_update_id; Tardis L2: a new
    /// local_timestamp, but for a snapshot row in a run of them: the run is one message).
    func startsNewEvent(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        let row = CSVRow(line)
        guard row.count >= 8, let key = row[3].integerValue else { return false }
        if format == .tardisL2, inSnapshot, row[4].equals("true") { return false }
        return key != eventID
    }

}

extension FeedReplay {
    /// Runs every file in order (a Binance snapshot file, then its update files). Returns the
    /// warnings for the files whose last line was applied without a line break.
    @discardableResult
    public mutating func replay(
        paths: [String], checkpointEvery: Int = 0, checkpoint: (FeedCheckpoint) -> Void = { _ in },
        progress: (String, Double) -> Void = { _, _ in }
    ) throws(FeedError) -> [String] {
        var warnings: [String] = []
        for (index, path) in paths.enumerated() {
            let unterminated = try replay(path: path, checkpointEvery: checkpointEvery, checkpoint: checkpoint) {
                progress(path, $0)
            }
            if let unterminated { warnings.append(Self.unterminatedWarning(path, line: unterminated)) }
            progress(path, 1)
            // Only the last file may end torn: going on to the next file would apply it across
            // the gap.
            if let torn = tornTail, index < paths.count - 1 {
                throw FeedError(
                    line: torn.line,
                    "torn last line (\(torn.bytes) bytes, no line break) in a file that is not the last: \(torn.reason)",
                    file: torn.path)
            }
        }
        return warnings
    }
}

extension FeedReplay {
    /// Starts reading `path` line by line with `nextChanges` (a `decoder`, for a pipeline source).
    public mutating func open(path: String) throws(FeedError) {
        guard capturing else {
            throw FeedError(
                line: 0, "open(path:) reads for the engine: make the replay with FeedReplay.decoder", file: path)
        }
        reader = try MappedLines(path: path)
        captured.reserveCapacity(4_096)
    }

    /// Fraction of the file opened with `open` read so far.
    public var progress: Double {
        switch reader {
        case .some(let lines): return lines.progress
        case .none: return 1
        }
    }

    /// Reads the next line of the file opened with `open` and returns the engine events its
    /// changes make (possibly none, for a header); nil at the end of the file. The returned
    /// buffer is reused by the next call.
    public mutating func nextChanges() throws(FeedError) -> [EventPayload]? {
        try nextRow() ? captured : nil
    }

    /// Reads the next line of the file opened with `open` into `captured`; false at the end.
    mutating func nextRow() throws(FeedError) -> Bool {
        captured.removeAll(keepingCapacity: true)
        rowExchangeTimestamp = 0
        rowLocalTimestamp = 0
        // The reader is used in place (moving it out and back costs a copy per line).
        guard let line = reader?.next() else {
            if format.groupsRows, eventID != .min {
                endMessage(checkpointEvery: 0) { _ in }
                eventID = .min
            }
            if format == .tardisL2 { inSnapshot = false }
            return false
        }
        let number = reader?.lineNumber ?? 0
        let terminated = reader?.lastLineTerminated ?? true
        // The path is read only for an error: no reference counting per line.
        let admission: Admission
        do { admission = try admit(line, number: number, terminated: terminated) } catch {
            throw FeedError(line: error.line, error.message, file: reader?.path)
        }
        switch admission {
        case .skip: return true
        case .torn:
            tornTail?.path = reader?.path ?? ""
            throw FeedError(
                line: number,
                tornTail.map { "torn last line (\($0.bytes) bytes, no line break): \($0.reason)" } ?? "torn",
                file: reader?.path)
        case .apply: break
        }
        if format.groupsRows, eventID != .min, startsNewEvent(line) { endMessage(checkpointEvery: 0) { _ in } }
        do throws(FeedError) {
            if try apply(line) { endMessage(checkpointEvery: 0) { _ in } }
        } catch {
            throw FeedError(line: number, error.message, file: reader?.path)
        }
        return true
    }
}

/// A message's update numbers (Binance depth: `first_update_id`, `last_update_id` and `pu`;
/// Bybit: `u` as first and last, no previous).
struct NumberedMessage {
    var snapshot: Bool
    var first: Int64
    var last: Int64
    var previous: Int64
}

extension FeedReplay {
    /// Whether `message` does not follow on from the message numbered `last` before it (a
    /// sequence gap, as `feed replay` counts them): a snapshot always follows on, as does the
    /// first message (`last` -1). Binance: its `pu` is not `last`, unless it spans the snapshot
    /// `last` numbers (`inSnapshot`: first ≤ last + 1 ≤ its last + 1), or goes back (out of
    /// order, counted as such). Bybit: a delta whose `u` skips past `last` + 1.
    static func isGap(_ message: NumberedMessage, format: FeedFormat, after last: Int64, inSnapshot: Bool) -> Bool {
        guard !message.snapshot, last >= 0 else { return false }
        if format == .bybitOrderBook { return message.last > last &+ 1 }
        let wentBack = message.last < last
        let spansSnapshot = inSnapshot && message.first <= last &+ 1 && message.last >= last
        return message.previous != last && !spansSnapshot && !wentBack
    }

    /// Whether this file's first numbered message does not follow on from where `previous`
    /// (the file before it in a list, read to its end) left off: the changes between the two
    /// files are missing. False when either has no numbered message, or for formats whose
    /// messages are not numbered across files (order-level files run alone).
    public func startsWithGap(after previous: borrowing FeedReplay) -> Bool {
        guard format == previous.format, format == .binanceDepth || format == .bybitOrderBook,
            let first = firstNumbered
        else { return false }
        return Self.isGap(first, format: format, after: previous.lastSequence, inSnapshot: previous.inSnapshot)
    }

    /// Whether a message with update numbers was read (`startsWithGap(after:)` has something
    /// to check against).
    public var readNumberedMessage: Bool { lastSequence >= 0 }
}
