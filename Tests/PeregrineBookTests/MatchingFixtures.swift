import PeregrineBook
import PeregrineModel

/// A small venue for scenario tests: one book on instrument 7, tick 1, lot 1, room for 64
/// orders; self-trade prevention cancel-newest, no collar, stops in the market rejected, unless
/// told.
struct Venue: ~Copyable {
    static let instrument = InstrumentID(7)
    var book: OrderBook

    init(
        tickSize: Int64 = 1, lotSize: Int64 = 1, capacity: Int = 64,
        selfTrade: SelfTradePolicy = SelfTradePolicy(default: .cancelNewest),
        maxLevels: Int = InstrumentSpec.defaultMaxLevelsPerSide, collar: Int64? = nil,
        stopInMarket: StopInMarketPolicy = .reject
    ) throws {
        book = try OrderBook(
            spec: InstrumentSpec(
                instrument: Self.instrument, tickSize: tickSize, lotSize: lotSize, orderCapacity: capacity,
                selfTradePolicy: selfTrade, maxLevelsPerSide: maxLevels, priceCollarBasisPoints: collar,
                stopInMarket: stopInMarket))
    }

    /// Processes one command and returns its reports.
    mutating func send(_ command: OrderCommand) -> [ExecutionReport] {
        var sink = ExecutionReportCollector()
        book.process(command, sink: &sink)
        return sink.reports
    }

    /// Processes commands whose reports the test does not look at.
    mutating func seed(_ commands: OrderCommand...) {
        for command in commands { _ = send(command) }
    }

    func bids() -> [DepthLevel] { book.depth(.buy) }
    func asks() -> [DepthLevel] { book.depth(.sell) }
    func orderIDs(_ side: Side) -> [UInt64] { book.orders(side).map(\.orderID.rawValue) }
}

// MARK: Commands

func limit(
    _ id: UInt64, _ side: Side, _ quantity: Int64, at price: Int64, account: UInt32 = 1,
    _ timeInForce: TimeInForce = .goodTillCancel
) -> OrderCommand {
    .limit(
        OrderID(id), account: AccountID(account), side, price: Price(ticks: price), quantity: Quantity(lots: quantity),
        timeInForce: timeInForce)
}

func market(
    _ id: UInt64, _ side: Side, _ quantity: Int64, account: UInt32 = 2, _ timeInForce: TimeInForce = .immediateOrCancel
) -> OrderCommand {
    .market(
        OrderID(id), account: AccountID(account), side, quantity: Quantity(lots: quantity), timeInForce: timeInForce)
}

func stopMarket(_ id: UInt64, _ side: Side, _ quantity: Int64, stop: Int64, account: UInt32 = 3) -> OrderCommand {
    .stopMarket(
        OrderID(id), account: AccountID(account), side, stopPrice: Price(ticks: stop),
        quantity: Quantity(lots: quantity))
}

func stopLimit(
    _ id: UInt64, _ side: Side, _ quantity: Int64, stop: Int64, at price: Int64, account: UInt32 = 3,
    _ timeInForce: TimeInForce = .goodTillCancel
) -> OrderCommand {
    .stopLimit(
        OrderID(id), account: AccountID(account), side, stopPrice: Price(ticks: stop), price: Price(ticks: price),
        quantity: Quantity(lots: quantity), timeInForce: timeInForce)
}

func cancel(_ id: UInt64, account: UInt32 = 1) -> OrderCommand { .cancel(OrderID(id), account: AccountID(account)) }

func replace(_ id: UInt64, _ quantity: Int64, at price: Int64, account: UInt32 = 1) -> OrderCommand {
    .replace(OrderID(id), account: AccountID(account), price: Price(ticks: price), quantity: Quantity(lots: quantity))
}

// MARK: Expected reports

private func report(
    _ kind: ExecutionKind, reason: ExecutionReason = .none, _ id: UInt64, _ account: UInt32, _ side: Side,
    price: Int64, quantity: Int64, leaves: Int64, trade: UInt64 = 0, contra: UInt64 = 0, contraAccount: UInt32 = 0,
    aggressor: Bool = false
) -> ExecutionReport {
    ExecutionReport(
        kind: kind, reason: reason, instrument: Venue.instrument, orderID: OrderID(id), account: AccountID(account),
        side: side, price: Price(ticks: price), quantity: Quantity(lots: quantity),
        leavesQuantity: Quantity(lots: leaves),
        tradeID: trade, contraOrderID: OrderID(contra), contraAccount: AccountID(contraAccount), isAggressor: aggressor)
}

func accepted(_ id: UInt64, _ side: Side, _ quantity: Int64, at price: Int64, account: UInt32 = 1) -> ExecutionReport {
    report(.accepted, id, account, side, price: price, quantity: quantity, leaves: quantity)
}

/// One side of a trade: `filled` when `leaves` is 0, `partiallyFilled` otherwise.
func fill(
    _ id: UInt64, _ side: Side, _ quantity: Int64, at price: Int64, leaves: Int64, trade: UInt64,
    against contra: UInt64, account: UInt32, contraAccount: UInt32, aggressor: Bool
) -> ExecutionReport {
    report(
        leaves == 0 ? .filled : .partiallyFilled, id, account, side, price: price, quantity: quantity, leaves: leaves,
        trade: trade, contra: contra, contraAccount: contraAccount, aggressor: aggressor)
}

/// Both reports of one trade, taker first.
func trade(
    _ trade: UInt64, taker: (id: UInt64, account: UInt32, side: Side, leaves: Int64),
    maker: (id: UInt64, account: UInt32, leaves: Int64), _ quantity: Int64, at price: Int64
) -> [ExecutionReport] {
    [
        fill(
            taker.id, taker.side, quantity, at: price, leaves: taker.leaves, trade: trade, against: maker.id,
            account: taker.account, contraAccount: maker.account, aggressor: true),
        fill(
            maker.id, taker.side.opposite, quantity, at: price, leaves: maker.leaves, trade: trade, against: taker.id,
            account: maker.account, contraAccount: taker.account, aggressor: false),
    ]
}

func cancelled(
    _ id: UInt64, _ side: Side, _ quantity: Int64, at price: Int64, account: UInt32 = 1,
    _ reason: ExecutionReason = .requested
) -> ExecutionReport {
    report(.cancelled, reason: reason, id, account, side, price: price, quantity: quantity, leaves: 0)
}

func rejected(_ command: OrderCommand, _ reason: ExecutionReason) -> ExecutionReport {
    ExecutionReport(
        kind: .rejected, reason: reason, instrument: Venue.instrument, orderID: command.orderID,
        account: command.account, side: command.side, price: command.price, quantity: command.quantity,
        leavesQuantity: .zero)
}

func replaced(_ id: UInt64, _ side: Side, total: Int64, leaves: Int64, at price: Int64, account: UInt32 = 1)
    -> ExecutionReport
{
    report(.replaced, id, account, side, price: price, quantity: total, leaves: leaves)
}

func triggered(_ id: UInt64, _ side: Side, _ quantity: Int64, byTradeAt price: Int64, account: UInt32 = 3)
    -> ExecutionReport
{
    report(.triggered, id, account, side, price: price, quantity: quantity, leaves: quantity)
}

func level(_ price: Int64, _ quantity: Int64, orders: Int = 1) -> DepthLevel {
    DepthLevel(price: Price(ticks: price), quantity: Quantity(lots: quantity), orderCount: orders)
}

/// Each trade as [trade id, aggressor order, resting order, quantity, price], read from the
/// aggressor's reports, checking that every aggressor report is followed by its resting twin.
func tradeList(_ reports: [ExecutionReport]) -> [[Int64]] {
    var trades: [[Int64]] = []
    for (position, report) in reports.enumerated() where report.isFill && report.isAggressor {
        let twin = position + 1 < reports.count ? reports[position + 1] : nil
        let paired =
            twin?.isFill == true && twin?.isAggressor == false && twin?.tradeID == report.tradeID
            && twin?.orderID == report.contraOrderID && twin?.quantity == report.quantity
        trades.append([
            Int64(report.tradeID), Int64(report.orderID.rawValue), Int64(report.contraOrderID.rawValue),
            report.quantity.lots, report.price.ticks, paired ? 1 : 0,
        ])
    }
    return trades.map { Array($0.prefix(5)) + ($0[5] == 1 ? [] : [-1]) }
}
