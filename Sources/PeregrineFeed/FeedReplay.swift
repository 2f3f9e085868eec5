import PeregrineBook
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
    public private(set) var statistics = FeedStatistics()
    var lastSequence: Int64 = -1
    var lastTimestamp: Int64 = .min
    var inSnapshot = false
    var eventID: Int64 = .min
    /// The order-level mirror: every order, and order counts per level.
    var orders: [UInt64: (side: Side, price: Int64, size: Int64)] = [:]
    var bidLevelOrders: [Int64: Int] = [:]
    var askLevelOrders: [Int64: Int] = [:]
    var bidOrderCount = 0
    var askOrderCount = 0
    var scanner = FlatJSONObject()
    /// When set, every change is also captured as an engine event (for `peregrine run
    /// --source`): level updates, trades and quotes.
    var capturing = false
    var captured: [EventPayload] = []
    var reader: MappedLines?
    /// Fields per CSV row, from the header (`checkHeader`).
    var expectedFields = 0
    /// A torn last line found by `replay`: reported, not applied.
    public private(set) var tornTail: FeedTornTail?

    public init(format: FeedFormat, priceIncrement: Increment, sizeIncrement: Increment) throws(FeedError) {
        self.format = format
        self.priceIncrement = priceIncrement
        self.sizeIncrement = sizeIncrement
        // One book: a dense window of 2^20 ticks (16 MB) holds a coarse grid's whole day; a fine
        // grid's levels go to the sorted stores.
        do { book = try L2Book(instrument: InstrumentID(0), windowSize: 1 << 20) } catch {
            throw FeedError(line: 0, "\(error)")
        }
    }

    /// The price and size grids of `path`: the most decimals in its price and size fields over
    /// its first `sampleLines` lines.
    public static func detectScale(format: FeedFormat, path: String, sampleLines: Int = 1_000) throws(FeedError)
        -> (price: Increment, size: Increment)
    {
        var lines = try MappedLines(path: path)
        var price = GridWitness()
        var size = GridWitness()
        var seen = 0
        while seen < sampleLines, let line = lines.next() {
            seen += 1
            switch format {
            case .binanceDepth:
                let row = CSVRow(line)
                guard row.count >= 8, row[0].first != UInt8(ascii: "s") else { continue }
                price.note(row[6], line: seen)
                size.note(row[7], line: seen)
            case .tardisQuotes:
                let row = CSVRow(line)
                guard row.count >= 8, row[0].first != UInt8(ascii: "e") || !row[2].isEmpty && row[2].integerValue != nil
                else { continue }
                price.note(row[5], line: seen)
                price.note(row[6], line: seen)
                size.note(row[4], line: seen)
                size.note(row[7], line: seen)
            case .tardisTrades:
                let row = CSVRow(line)
                guard row.count >= 8, row[2].integerValue != nil else { continue }
                price.note(row[6], line: seen)
                size.note(row[7], line: seen)
            case .truefxQuotes:
                let row = CSVRow(line)
                guard row.count >= 3, row[0].first != UInt8(ascii: "t") else { continue }
                price.note(row[1], line: seen)
                price.note(row[2], line: seen)
            case .bybitOrderBook:
                var pairs = BybitPairs(line)
                while let (priceBytes, sizeBytes) = pairs.next() {
                    price.note(priceBytes, line: seen)
                    size.note(sizeBytes, line: seen)
                }
            case .tardisL2:
                let row = CSVRow(line)
                guard row.count >= 8, row[2].integerValue != nil else { continue }
                price.note(row[6], line: seen)
                size.note(row[7], line: seen)
            case .tardisSnapshot:
                var cursor = CSVCursor(line)
                var index = 0
                while let field = cursor.next() {
                    if index == 2, field.integerValue == nil { break }  // the header
                    if index >= 4 {
                        if (index - 4) % 2 == 0 {
                            price.note(field, line: seen)
                        } else {
                            size.note(field, line: seen)
                        }
                    }
                    index += 1
                }
            case .l3JSONLines:
                var object = FlatJSONObject()
                guard (try? object.parse(line)) != nil else { continue }
                if let value = object.value("price") { price.note(value.bytes, line: seen) }
                if let value = object.value("size") { size.note(value.bytes, line: seen) }
            }
        }
        return (try price.increment(named: "price", path: path), try size.increment(named: "size", path: path))
    }

    /// The most decimals seen in one kind of field, and the first value that had them.
    struct GridWitness {
        var decimals = 0
        var line = 0
        var value = ""

        mutating func note(_ field: UnsafeBufferPointer<UInt8>, line: Int) {
            let places = field.decimalPlaces
            guard places > decimals else { return }
            decimals = places
            self.line = line
            value = String(decoding: field.prefix(64), as: UTF8.self)
        }

        /// The grid: one unit of the last decimal seen; a value finer than 18 decimals is named.
        func increment(named name: String, path: String) throws(FeedError) -> Increment {
            do { return try Increment(units: 1, decimals: decimals) } catch {
                throw FeedError(
                    line: line,
                    "\(name) '\(value)' has \(decimals) decimals; at most 18 are supported (give --tick-size or "
                        + "--lot-size to read the file on a coarser grid)", file: path)
            }
        }
    }

    /// Replays `path`, calling `checkpoint` every `checkpointEvery` messages (0: never) and
    /// `progress` with the fraction read every 2^20 lines.
    public mutating func replay(
        path: String, checkpointEvery: Int = 0, checkpoint: (FeedCheckpoint) -> Void = { _ in },
        progress: (Double) -> Void = { _ in }
    ) throws(FeedError) {
        var lines = try MappedLines(path: path)
        while let line = lines.next() {
            if lines.lineNumber & 0xF_FFFF == 0 { progress(lines.progress) }
            switch try admit(line, number: lines.lineNumber, terminated: lines.lastLineTerminated, path: path) {
            case .skip: continue
            case .torn: break
            case .apply:
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
    }

    enum Admission { case apply, skip, torn }

    /// What to do with a line before any of it is applied: the header is checked and
    /// skipped, a line of the wrong shape throws, and a last line without a line break that is
    /// not a complete record is recorded as the torn tail.
    mutating func admit(_ line: UnsafeBufferPointer<UInt8>, number: Int, terminated: Bool, path: String)
        throws(FeedError) -> Admission
    {
        if number == 1, format.header != nil || format == .tardisSnapshot {
            do { try checkHeader(line) } catch { throw FeedError(line: 1, error.message, file: path) }
            return .skip
        }
        if line.isEmpty { return .skip }
        do throws(FeedError) {
            if terminated { try checkShape(line) } else { try validateRecord(line) }
        } catch {
            guard !terminated else { throw FeedError(line: number, error.message, file: path) }
            tornTail = FeedTornTail(path: path, line: number, bytes: line.count, reason: error.message)
            return .torn
        }
        return .apply
    }

    mutating func endMessage(checkpointEvery: Int, _ checkpoint: (FeedCheckpoint) -> Void) {
        statistics.messages += 1
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
            let bids = book.depth(.buy, levels: 10)
            let asks = book.depth(.sell, levels: 10)
            return FeedCheckpoint(
                message: statistics.messages, bid: top.bid, ask: top.ask, bidLevels: book.levelCount(.buy),
                askLevels: book.levelCount(.sell),
                bidNotional: bids.reduce(into: Notional()) { $0.add($1.price, $1.quantity) },
                askNotional: asks.reduce(into: Notional()) { $0.add($1.price, $1.quantity) },
                bidOrders: bidOrderCount, askOrders: askOrderCount)
        }
        return FeedCheckpoint(
            message: statistics.messages, bid: top.bid, ask: top.ask, bidLevels: top.bid == nil ? 0 : 1,
            askLevels: top.ask == nil ? 0 : 1,
            bidNotional: top.bid.map { Notional($0.price, $0.quantity) } ?? Notional(),
            askNotional: top.ask.map { Notional($0.price, $0.quantity) } ?? Notional())
    }

    public var bestBidOffer: BestBidOffer {
        format.isBook ? book.bestBidOffer : BestBidOffer(bid: quoteBid, ask: quoteAsk)
    }

    /// Book levels of `side`, best first (L2 formats).
    public func depth(_ side: Side, levels: Int) -> [BookLevel] { book.depth(side, levels: levels) }

    public var bookCounters: BookCounters { book.counters }

    // MARK: Formats

    func price(_ bytes: UnsafeBufferPointer<UInt8>) throws(FeedError) -> Price {
        do { return try Price(utf8: bytes, tickSize: priceIncrement) } catch { throw FeedError(line: 0, "\(error)") }
    }

    func size(_ bytes: UnsafeBufferPointer<UInt8>) throws(FeedError) -> Quantity {
        do { return try Quantity(utf8: bytes, lotSize: sizeIncrement) } catch { throw FeedError(line: 0, "\(error)") }
    }

    /// The integer in `field` of a Tardis CSV row (8 fields or more); nil for the header row,
    /// whose field reads `name`.
    @inline(__always)
    func tardisInteger(_ row: borrowing CSVRow, field: Int, named name: String) throws(FeedError) -> Int64? {
        guard row.count == expectedFields else { throw fieldsMismatch(row.count) }
        guard let value = row[field].integerValue else {
            if row.text(field) == name { return nil }
            throw FeedError(line: 0, "\(name) '\(row.text(field))' is not an integer")
        }
        return value
    }

    /// Applies one line; true when it ends a message.
    mutating func apply(_ line: UnsafeBufferPointer<UInt8>) throws(FeedError) -> Bool {
        switch format {
        case .binanceDepth: return try applyBinance(line)
        case .bybitOrderBook: return try applyBybit(line)
        case .tardisQuotes:
            let row = CSVRow(line)
            guard let timestamp = try tardisInteger(row, field: 2, named: "timestamp") else { return false }
            statistics.rows += 1
            noteTimestamp(timestamp)
            quoteAsk = row[5].isEmpty ? nil : BookLevel(price: try price(row[5]), quantity: try size(row[4]))
            quoteBid = row[6].isEmpty ? nil : BookLevel(price: try price(row[6]), quantity: try size(row[7]))
            captureQuote()
            return true
        case .tardisTrades:
            let row = CSVRow(line)
            guard let timestamp = try tardisInteger(row, field: 2, named: "timestamp") else { return false }
            statistics.rows += 1
            noteTimestamp(timestamp)
            let tradePrice = try price(row[6])
            let tradeSize = try size(row[7])
            statistics.trades += 1
            statistics.tradedSize &+= tradeSize.lots
            if capturing {
                captured.append(
                    .trade(
                        Trade(
                            price: tradePrice, quantity: tradeSize, aggressor: row[5].equals("sell") ? .sell : .buy,
                            tradeID: UInt64(statistics.trades))))
            }
            return true
        case .tardisL2: return try applyTardisL2(line)
        case .tardisSnapshot: return try applyTardisSnapshot(line)
        case .l3JSONLines: return try applyOrderLevel(line)
        case .truefxQuotes:
            let row = CSVRow(line)
            guard row.count == expectedFields else { throw fieldsMismatch(row.count) }
            if row.text(0) == "timestamp" { return false }
            statistics.rows += 1
            quoteBid = BookLevel(price: try price(row[1]), quantity: .zero)
            quoteAsk = BookLevel(price: try price(row[2]), quantity: .zero)
            captureQuote()
            return true
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

    mutating func applyBinance(_ line: UnsafeBufferPointer<UInt8>) throws(FeedError) -> Bool {
        let row = CSVRow(line)
        guard row.count == expectedFields else { throw fieldsMismatch(row.count) }
        guard let lastUpdate = row[3].integerValue, let previous = row[8].integerValue else {
            if row.text(0) == "symbol" { return false }
            throw FeedError(line: 0, "update ids '\(row.text(3))', '\(row.text(8))' are not integers")
        }
        statistics.rows += 1
        if lastUpdate != eventID {
            let isSnapshot = row[5].equals("snap")
            if isSnapshot, !inSnapshot { clearBook() }
            if !isSnapshot, lastSequence >= 0, previous != lastSequence { statistics.gaps += 1 }
            if lastSequence >= 0, lastUpdate < lastSequence { statistics.outOfOrder += 1 }
            inSnapshot = isSnapshot
            eventID = lastUpdate
            lastSequence = lastUpdate
        }
        let side = try Self.side(row[4], bid: "b", ask: "a")
        applyLevel(LevelUpdate(side: side, price: try price(row[6]), quantity: try size(row[7])))
        return false
    }

    /// The side a field names, spelt `bid` / `ask` by the format.
    static func side(_ field: UnsafeBufferPointer<UInt8>, bid: StaticString, ask: StaticString) throws(FeedError)
        -> Side
    {
        if field.equals(bid) { return .buy }
        if field.equals(ask) { return .sell }
        throw FeedError(line: 0, "side '\(String(decoding: field, as: UTF8.self))' is not \(bid) or \(ask)")
    }

    /// Applies a level update to the mirror (and captures it).
    mutating func applyLevel(_ update: LevelUpdate) {
        book.apply(update)
        if capturing { captured.append(.levelUpdate(update)) }
    }

    /// Empties the mirror; captured as a removal of every level it held.
    mutating func clearBook() {
        if capturing {
            for side in [Side.buy, .sell] {
                for level in book.depth(side, levels: .max) {
                    captured.append(.levelUpdate(LevelUpdate(side: side, price: level.price, quantity: .zero)))
                }
            }
        }
        book.clear()
    }

    /// Whether a row begins another message (Binance: a new last_update_id; Tardis L2: a new
    /// local_timestamp).
    func startsNewEvent(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        let row = CSVRow(line)
        guard row.count >= 8, let key = row[3].integerValue else { return false }
        return key != eventID
    }

    mutating func applyTardisL2(_ line: UnsafeBufferPointer<UInt8>) throws(FeedError) -> Bool {
        let row = CSVRow(line)
        guard let local = try tardisInteger(row, field: 3, named: "local_timestamp") else { return false }
        statistics.rows += 1
        let isSnapshot = row[4].equals("true")
        if local != eventID {
            if isSnapshot, !inSnapshot { clearBook() }
            if local < eventID { statistics.outOfOrder += 1 }
            inSnapshot = isSnapshot
            eventID = local
        }
        let side = try Self.side(row[5], bid: "bid", ask: "ask")
        applyLevel(LevelUpdate(side: side, price: try price(row[6]), quantity: try size(row[7])))
        return false
    }

    mutating func applyTardisSnapshot(_ line: UnsafeBufferPointer<UInt8>) throws(FeedError) -> Bool {
        var cursor = CSVCursor(line)
        var index = 0
        var pendingPrice: UnsafeBufferPointer<UInt8>? = nil
        var timestamp: Int64? = nil
        while let field = cursor.next() {
            if index == 2 {
                guard let value = field.integerValue else {
                    if field.equals("timestamp") { return false }
                    throw FeedError(line: 0, "timestamp '\(String(decoding: field, as: UTF8.self))' is not an integer")
                }
                timestamp = value
                clearBook()
            } else if index >= 4 {
                // asks[i].price, asks[i].amount, bids[i].price, bids[i].amount, ...
                if (index - 4) % 2 == 0 {
                    pendingPrice = field
                } else if let priceBytes = pendingPrice, !priceBytes.isEmpty, !field.isEmpty {
                    let side: Side = (index - 4) % 4 == 1 ? .sell : .buy
                    applyLevel(LevelUpdate(side: side, price: try price(priceBytes), quantity: try size(field)))
                }
            }
            index += 1
        }
        guard let timestamp else { throw FeedError(line: 0, "expected a timestamp in field 3") }
        statistics.rows += 1
        noteTimestamp(timestamp)
        return true
    }

    mutating func applyOrderLevel(_ line: UnsafeBufferPointer<UInt8>) throws(FeedError) -> Bool {
        try scanner.parse(line)
        guard let seqValue = scanner.value("seq"), seqValue.kind == .number, let seq = seqValue.bytes.integerValue
        else {
            throw FeedError(line: 0, "missing integer \"seq\"")
        }
        guard let idValue = scanner.value("order_id"), idValue.kind == .number, let id = idValue.bytes.integerValue,
            id >= 0
        else { throw FeedError(line: 0, "missing non-negative integer \"order_id\"") }
        guard let op = scanner.value("op"), op.kind == .string else { throw FeedError(line: 0, "missing \"op\"") }
        statistics.rows += 1
        if lastSequence >= 0, seq != lastSequence + 1 {
            if seq <= lastSequence { statistics.outOfOrder += 1 } else { statistics.gaps += 1 }
        }
        lastSequence = Swift.max(lastSequence, seq)
        let orderID = UInt64(id)
        if op.bytes.equals("delete") {
            guard let old = orders.removeValue(forKey: orderID) else {
                statistics.unknownOrders += 1
                return true
            }
            changeLevel(old.side, old.price, by: -old.size, orders: -1)
            return true
        }
        guard op.bytes.equals("add") || op.bytes.equals("update") else {
            throw FeedError(
                line: 0, "unknown op '\(String(decoding: op.bytes, as: UTF8.self))' (use add, update or delete)")
        }
        guard let sideValue = scanner.value("side"), sideValue.kind == .string,
            sideValue.bytes.equals("bid") || sideValue.bytes.equals("ask")
        else { throw FeedError(line: 0, "\"side\" must be \"bid\" or \"ask\"") }
        let side: Side = sideValue.bytes.equals("bid") ? .buy : .sell
        guard let priceValue = scanner.value("price"), let sizeValue = scanner.value("size") else {
            throw FeedError(line: 0, "an add or update needs \"price\" and \"size\"")
        }
        let newPrice = try price(priceValue.bytes).ticks
        let newSize = try size(sizeValue.bytes).lots
        let isAdd = op.bytes.equals("add")
        if let old = orders[orderID] {
            if isAdd { statistics.unknownOrders += 1 }
            changeLevel(old.side, old.price, by: -old.size, orders: -1)
        } else if !isAdd {
            statistics.unknownOrders += 1
        }
        orders[orderID] = (side, newPrice, newSize)
        changeLevel(side, newPrice, by: newSize, orders: 1)
        return true
    }

    /// Adjusts the aggregated level at `price` by `delta` size and `count` orders.
    mutating func changeLevel(_ side: Side, _ price: Int64, by delta: Int64, orders count: Int) {
        let current = book.quantity(at: Price(ticks: price), side: side).lots
        applyLevel(
            LevelUpdate(
                side: side, price: Price(ticks: price), quantity: Quantity(lots: Swift.max(0, current &+ delta))))
        if side == .buy {
            let remaining = bidLevelOrders[price, default: 0] + count
            bidLevelOrders[price] = remaining > 0 ? remaining : nil
            bidOrderCount += count
        } else {
            let remaining = askLevelOrders[price, default: 0] + count
            askLevelOrders[price] = remaining > 0 ? remaining : nil
            askOrderCount += count
        }
    }

    /// Orders at `price` on `side` (order-level formats).
    public func orderCount(_ side: Side, at price: Price) -> Int {
        (side == .buy ? bidLevelOrders[price.ticks] : askLevelOrders[price.ticks]) ?? 0
    }

    mutating func applyBybit(_ line: UnsafeBufferPointer<UInt8>) throws(FeedError) -> Bool {
        let message = BybitMessage(line)
        guard let kind = message.type else { throw FeedError(line: 0, "no \"type\" (snapshot or delta)") }
        statistics.rows += 1
        if kind == .snapshot { clearBook() }
        var pairs = BybitPairs(line)
        while let (priceBytes, sizeBytes) = pairs.next() {
            applyLevel(LevelUpdate(side: pairs.side, price: try price(priceBytes), quantity: try size(sizeBytes)))
        }
        if let update = message.updateID(searchingFrom: pairs.position) {
            if kind == .delta, lastSequence >= 0, update != lastSequence + 1 { statistics.gaps += 1 }
            lastSequence = update
        }
        return true
    }
}

extension FeedReplay {
    /// Runs every file in order (a Binance snapshot file, then its update files).
    public mutating func replay(
        paths: [String], checkpointEvery: Int = 0, checkpoint: (FeedCheckpoint) -> Void = { _ in },
        progress: (String, Double) -> Void = { _, _ in }
    ) throws(FeedError) {
        for (index, path) in paths.enumerated() {
            try replay(path: path, checkpointEvery: checkpointEvery, checkpoint: checkpoint) { progress(path, $0) }
            progress(path, 1)
            // Only the last file may end torn: going on to the next file would apply it across
            // the gap.
            if let torn = tornTail, index < paths.count - 1 {
                throw FeedError(
                    line: torn.line,
                    "torn last line (\(torn.bytes) bytes) in a file that is not the last: \(torn.reason)",
                    file: torn.path)
            }
        }
    }
}

extension FeedReplay {
    /// Starts reading `path` line by line with `nextChanges` (for a pipeline source).
    public mutating func open(path: String) throws(FeedError) {
        reader = try MappedLines(path: path)
        capturing = true
        captured.reserveCapacity(4_096)
    }

    /// Reads the next line of the file opened with `open` and returns the engine events its
    /// changes make (possibly none, for a header); nil at the end of the file. The returned
    /// buffer is reused by the next call.
    public mutating func nextChanges() throws(FeedError) -> [EventPayload]? {
        captured.removeAll(keepingCapacity: true)
        guard var lines = reader.take() else { return nil }
        guard let line = lines.next() else {
            reader = consume lines
            return nil
        }
        let number = lines.lineNumber
        let path = lines.path
        let terminated = lines.lastLineTerminated
        reader = consume lines
        switch try admit(line, number: number, terminated: terminated, path: path) {
        case .skip: return captured
        case .torn:
            throw FeedError(
                line: number, tornTail.map { "torn last line (\($0.bytes) bytes): \($0.reason)" } ?? "torn", file: path)
        case .apply: break
        }
        do throws(FeedError) {
            if try apply(line) { endMessage(checkpointEvery: 0) { _ in } }
        } catch {
            throw FeedError(line: number, error.message, file: path)
        }
        return captured
    }
}
