import PeregrineBook
import PeregrineCodec
import PeregrineCore
import PeregrineModel

/// `peregrine match`: JSON-lines order commands in, JSON-lines execution reports out, for one
/// instrument's matching engine starting from an empty book (see docs/match.md).
///
/// Every positive price on the tick grid is accepted (no band); `Options` adds the venue rules
/// a user may want: a price collar, what a stop already in the market does, the most levels
/// per side. Malformed lines throw a `FeedError` with their line number and change nothing.
public struct MatchSession: ~Copyable {
    public struct Options: Sendable {
        /// Prices are integer ticks when nil; decimal numbers or strings on this grid when set.
        public var tickSize: Increment?
        /// Quantities are integer lots when nil; decimals on this grid when set.
        public var lotSize: Increment?
        /// The most price levels per side; an order opening one more is rejected.
        public var maxLevelsPerSide = InstrumentSpec.defaultMaxLevelsPerSide
        /// Reject a limit price more than this many bps from the last trade (nil: no collar).
        public var priceCollarBasisPoints: Int64?
        /// What a stop order whose stop price the last trade has reached does.
        public var stopInMarket = StopInMarketPolicy.reject
        /// Orders the book can hold at once.
        public var orderCapacity = 1 << 18
        public var selfTrade = SelfTradePrevention.cancelNewest

        public init(tickSize: Increment? = nil, lotSize: Increment? = nil) {
            self.tickSize = tickSize
            self.lotSize = lotSize
        }
    }

    public let options: Options
    /// The book, on the heap once made: reached through a pointer so that processing a
    /// command never moves the book value (an optional stored inline would be copied out and
    /// back around each mutation).
    var storage: UnsafeMutablePointer<OrderBook>?
    var scanner = FlatJSONObject()
    public private(set) var commands = 0

    static let instrument = InstrumentID(0)
    static let knownKeys: [StaticString] = [
        "op", "id", "side", "type", "tif", "post_only", "price", "stop_price", "qty", "account",
    ]

    public init(options: Options) { self.options = options }

    deinit {
        if let storage {
            storage.deinitialize(count: 1)
            storage.deallocate()
        }
    }

    /// Parses and runs one line (without its newline; blank lines are skipped), writing its
    /// reports to `output`.
    public mutating func process(
        line: UnsafeBufferPointer<UInt8>, number: Int, output: inout JSONLinesWriter
    ) throws(FeedError) {
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
        var command: OrderCommand
        let accountGiven: Bool
        do throws(FeedError) {
            try scanner.parse(line)
            command = try parse(scanner)
            accountGiven = scanner.value("account") != nil
        } catch {
            throw FeedError(line: number, error.message)
        }
        commands += 1
        if command.action != .new, !accountGiven, let owner = storage?.pointee.account(ofOrder: command.orderID) {
            // No account on a cancel or replace: it acts for the order's owner.
            command.account = owner
        }
        if storage == nil { try makeBook(line: number) }
        run(command, output: &output)
    }

    /// The book's rules.
    var spec: InstrumentSpec {
        InstrumentSpec(
            instrument: Self.instrument, orderCapacity: options.orderCapacity,
            selfTradePolicy: SelfTradePolicy(default: options.selfTrade), maxLevelsPerSide: options.maxLevelsPerSide,
            priceCollarBasisPoints: options.priceCollarBasisPoints, stopInMarket: options.stopInMarket)
    }

    /// Checks the options before any line is read: throws the rule a book built with them
    /// would break (so a bad option is refused up front, not on every line).
    public func validateOptions() throws(FeedError) {
        do { try spec.validate() } catch { throw FeedError(line: 0, "\(error)") }
    }

    mutating func makeBook(line: Int) throws(FeedError) {
        let made: OrderBook
        do { made = try OrderBook(spec: spec) } catch { throw FeedError(line: line, "cannot build the book: \(error)") }
        let pointer = UnsafeMutablePointer<OrderBook>.allocate(capacity: 1)
        pointer.initialize(to: made)
        storage = pointer
    }

    mutating func run(_ command: OrderCommand, output: inout JSONLinesWriter) {
        withUnsafeMutablePointer(to: &output) { pointer in
            var sink = ReportWriter(output: pointer, tickSize: options.tickSize, lotSize: options.lotSize)
            storage?.pointee.process(command, sink: &sink)
        }
    }

    /// After the last line: writes the `book` line.
    public mutating func finish(output: inout JSONLinesWriter) {
        if storage == nil {
            do { try makeBook(line: 0) } catch { return }
        }
        output.raw("{\"type\":\"book\",\"bids\":[")
        writeLevels(.buy, &output)
        output.raw("],\"asks\":[")
        writeLevels(.sell, &output)
        output.raw("],\"resting\":{")
        var first = true
        for side in [Side.buy, .sell] {
            for order in storage?.pointee.orders(side) ?? [] {
                if !first { output.raw(",") }
                first = false
                output.raw("\"")
                output.integer(order.orderID.rawValue)
                output.raw("\":")
                ReportWriter.quantity(order.leavesQuantity, options.lotSize, &output)
            }
        }
        output.raw("}")
        let stops = (storage?.pointee.pendingStops(.buy) ?? []) + (storage?.pointee.pendingStops(.sell) ?? [])
        if !stops.isEmpty {
            output.raw(",\"stops\":{")
            for (index, order) in stops.enumerated() {
                if index > 0 { output.raw(",") }
                output.raw("\"")
                output.integer(order.orderID.rawValue)
                output.raw("\":")
                ReportWriter.quantity(order.leavesQuantity, options.lotSize, &output)
            }
            output.raw("}")
        }
        output.raw("}")
        output.endLine()
        output.finish()
    }

    func writeLevels(_ side: Side, _ output: inout JSONLinesWriter) {
        var first = true
        storage?.pointee.forEachLevel(side) { level in
            if !first { output.raw(",") }
            first = false
            output.raw("[")
            ReportWriter.price(level.price, options.tickSize, &output)
            output.raw(",")
            ReportWriter.quantity(level.quantity, options.lotSize, &output)
            output.raw(",")
            output.integer(level.orderCount)
            output.raw("]")
        }
    }

    // MARK: Parsing

    typealias ParseFailure = FeedError

    @inline(__always)
    func parse(_ object: borrowing FlatJSONObject) throws(ParseFailure) -> OrderCommand {
        let unknown = object.unknownKeys(Self.knownKeys)
        guard unknown.isEmpty else { throw ParseFailure(line: 0, "unknown field '\(unknown[0])'") }
        guard let op = object.value("op"), op.kind == .string else {
            throw ParseFailure(line: 0, "missing \"op\" (new, cancel or replace)")
        }
        let id = OrderID(try unsigned(object, "id", required: true))
        let account = AccountID(
            UInt32(truncatingIfNeeded: try unsigned(object, "account", required: false, limit: UInt64(UInt32.max))))
        if op.bytes.equals("cancel") {
            return .cancel(id, account: account)
        }
        if op.bytes.equals("replace") {
            return .replace(
                id, account: account, price: try price(object, "price", required: true),
                quantity: try quantity(object, required: true))
        }
        guard op.bytes.equals("new") else {
            throw ParseFailure(
                line: 0, "unknown op '\(TextField.excerpt(op.bytes))' (use new, cancel or replace)")
        }
        guard let sideValue = object.value("side"), sideValue.kind == .string,
            sideValue.bytes.equals("buy") || sideValue.bytes.equals("sell")
        else { throw ParseFailure(line: 0, "\"side\" must be \"buy\" or \"sell\"") }
        let side: Side = sideValue.bytes.equals("buy") ? .buy : .sell
        var type = OrderType.limit
        if let value = object.value("type") {
            guard value.kind == .string else { throw ParseFailure(line: 0, "\"type\" must be a string") }
            if value.bytes.equals("limit") {
                type = .limit
            } else if value.bytes.equals("market") {
                type = .market
            } else if value.bytes.equals("stop_market") {
                type = .stopMarket
            } else if value.bytes.equals("stop_limit") {
                type = .stopLimit
            } else {
                throw ParseFailure(
                    line: 0,
                    "unknown type '\(TextField.excerpt(value.bytes))' (use limit, market, stop_market or stop_limit)"
                )
            }
        }
        var timeInForce: TimeInForce = type == .market || type == .stopMarket ? .immediateOrCancel : .goodTillCancel
        if let value = object.value("tif") {
            guard value.kind == .string else { throw ParseFailure(line: 0, "\"tif\" must be a string") }
            if value.bytes.equals("gtc") {
                timeInForce = .goodTillCancel
            } else if value.bytes.equals("ioc") {
                timeInForce = .immediateOrCancel
            } else if value.bytes.equals("fok") {
                timeInForce = .fillOrKill
            } else {
                throw ParseFailure(
                    line: 0, "unknown tif '\(TextField.excerpt(value.bytes))' (use gtc, ioc or fok)")
            }
        }
        if let value = object.value("post_only") {
            guard value.kind == .bool else { throw ParseFailure(line: 0, "\"post_only\" must be true or false") }
            if value.bytes.equals("true") {
                guard timeInForce == .goodTillCancel || type == .market || type.isStop else {
                    throw ParseFailure(line: 0, "post_only needs tif gtc")
                }
                timeInForce = .postOnly
            }
        }
        let lots = try quantity(object, required: true)
        let limitPrice =
            type == .limit || type == .stopLimit ? try price(object, "price", required: true) : Price(ticks: 0)
        let trigger = type.isStop ? try price(object, "stop_price", required: true) : Price(ticks: 0)
        return OrderCommand(
            action: .new, orderID: id, account: account, side: side, type: type, timeInForce: timeInForce,
            price: limitPrice, stopPrice: trigger, quantity: lots)
    }

    /// A value as an error quotes it: `'…'`, shortened (`TextField.excerpt`).
    static func shown(_ bytes: UnsafeBufferPointer<UInt8>) -> String { "'\(TextField.excerpt(bytes))'" }

    @inline(__always)
    func unsigned(
        _ object: borrowing FlatJSONObject, _ key: StaticString, required: Bool, limit: UInt64 = .max
    ) throws(ParseFailure) -> UInt64 {
        guard let value = object.value(key) else {
            if required { throw ParseFailure(line: 0, "missing \"\(key)\"") }
            return 0
        }
        guard value.kind == .number, !value.bytes.isEmpty else {
            throw ParseFailure(line: 0, "\"\(key)\" must be a non-negative integer, not \(Self.shown(value.bytes))")
        }
        var result: UInt64 = 0
        for byte in value.bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw ParseFailure(line: 0, "\"\(key)\" must be a non-negative integer, not \(Self.shown(value.bytes))")
            }
            let (times, overflow1) = result.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2, sum <= limit else {
                throw ParseFailure(line: 0, "\"\(key)\" is too large: \(Self.shown(value.bytes)) (at most \(limit))")
            }
            result = sum
        }
        return result
    }

    @inline(__always)
    func price(_ object: borrowing FlatJSONObject, _ key: StaticString, required: Bool) throws(ParseFailure) -> Price {
        guard let value = object.value(key), value.kind != .null else {
            if required { throw ParseFailure(line: 0, "missing \"\(key)\"") }
            return Price(ticks: 0)
        }
        if let tick = options.tickSize {
            guard value.kind == .number || value.kind == .string else {
                throw ParseFailure(line: 0, "\"\(key)\" must be a decimal number")
            }
            do { return try Price(utf8: value.bytes, tickSize: tick) } catch {
                throw ParseFailure(line: 0, "\"\(key)\": \(error)")
            }
        }
        guard value.kind == .number, let ticks = value.bytes.integerValue else {
            throw ParseFailure(
                line: 0,
                "\"\(key)\" must be an integer number of ticks from -2^63 to 2^63-1, not \(Self.shown(value.bytes)) "
                    + "(or give --tick-size for decimals)")
        }
        return Price(ticks: ticks)
    }

    @inline(__always)
    func quantity(_ object: borrowing FlatJSONObject, required: Bool) throws(ParseFailure) -> Quantity {
        guard let value = object.value("qty"), value.kind != .null else {
            if required { throw ParseFailure(line: 0, "missing \"qty\"") }
            return .zero
        }
        if value.bytes.first == UInt8(ascii: "-") {
            throw ParseFailure(line: 0, "\"qty\" must not be negative: \(Self.shown(value.bytes))")
        }
        if let lot = options.lotSize {
            guard value.kind == .number || value.kind == .string else {
                throw ParseFailure(line: 0, "\"qty\" must be a decimal number")
            }
            do { return try Quantity(utf8: value.bytes, lotSize: lot) } catch {
                throw ParseFailure(line: 0, "\"qty\": \(error)")
            }
        }
        guard value.kind == .number, let lots = value.bytes.integerValue else {
            throw ParseFailure(
                line: 0,
                "\"qty\" must be an integer number of lots, not \(Self.shown(value.bytes)) (or give --lot-size for decimals)"
            )
        }
        return Quantity(lots: lots)
    }
}

/// Writes execution reports as JSON lines (one `fill` line per trade, from the aggressor's
/// report).
struct ReportWriter: ExecutionReportSink {
    /// The caller's writer, borrowed for one command (no copy of its buffer).
    let pointer: UnsafeMutablePointer<JSONLinesWriter>
    var output: JSONLinesWriter {
        _read { yield pointer.pointee }
        nonmutating _modify { yield &pointer.pointee }
    }

    init(output pointer: UnsafeMutablePointer<JSONLinesWriter>, tickSize: Increment?, lotSize: Increment?) {
        self.pointer = pointer
        self.tickSize = tickSize
        self.lotSize = lotSize
    }
    let tickSize: Increment?
    let lotSize: Increment?

    mutating func accept(_ report: ExecutionReport) {
        switch report.kind {
        case .partiallyFilled, .filled:
            guard report.isAggressor else { return }
            output.raw("{\"type\":\"fill\",\"taker\":")
            output.integer(report.orderID.rawValue)
            output.raw(",\"maker\":")
            output.integer(report.contraOrderID.rawValue)
            output.raw(",\"price\":")
            Self.price(report.price, tickSize, &output)
            output.raw(",\"qty\":")
            Self.quantity(report.quantity, lotSize, &output)
            output.raw(",\"taker_remaining\":")
            Self.quantity(report.leavesQuantity, lotSize, &output)
            output.raw(",\"trade\":")
            output.integer(report.tradeID)
            output.raw("}")
        case .rejected:
            output.raw("{\"type\":\"reject\",\"id\":")
            output.integer(report.orderID.rawValue)
            output.raw(",\"reason\":")
            output.string(report.reason.description)
            output.raw("}")
        case .cancelled:
            output.raw("{\"type\":\"cancel\",\"id\":")
            output.integer(report.orderID.rawValue)
            output.raw(",\"remaining\":")
            Self.quantity(report.quantity, lotSize, &output)
            output.raw(",\"reason\":")
            output.string(report.reason.description)
            output.raw("}")
        case .accepted:
            output.raw("{\"type\":\"accepted\",\"id\":")
            output.integer(report.orderID.rawValue)
            output.raw(",\"side\":")
            output.raw(report.side == .buy ? "\"buy\"" : "\"sell\"")
            output.raw(",\"price\":")
            Self.price(report.price, tickSize, &output)
            output.raw(",\"qty\":")
            Self.quantity(report.quantity, lotSize, &output)
            output.raw("}")
        case .replaced:
            output.raw("{\"type\":\"replaced\",\"id\":")
            output.integer(report.orderID.rawValue)
            output.raw(",\"price\":")
            Self.price(report.price, tickSize, &output)
            output.raw(",\"qty\":")
            Self.quantity(report.quantity, lotSize, &output)
            output.raw(",\"remaining\":")
            Self.quantity(report.leavesQuantity, lotSize, &output)
            output.raw("}")
        case .triggered:
            output.raw("{\"type\":\"triggered\",\"id\":")
            output.integer(report.orderID.rawValue)
            output.raw(",\"price\":")
            Self.price(report.price, tickSize, &output)
            output.raw("}")
        case .status:
            // `peregrine match` takes no status requests; a report of this kind is not written.
            return
        }
        output.endLine()
    }

    static func price(_ price: Price, _ tickSize: Increment?, _ output: inout JSONLinesWriter) {
        if let tickSize { output.decimal(price.ticks, increment: tickSize) } else { output.integer(price.ticks) }
    }

    static func quantity(_ quantity: Quantity, _ lotSize: Increment?, _ output: inout JSONLinesWriter) {
        if let lotSize { output.decimal(quantity.lots, increment: lotSize) } else { output.integer(quantity.lots) }
    }
}
