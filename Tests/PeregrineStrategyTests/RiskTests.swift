import PeregrineBook
import PeregrineCore
import PeregrineModel
import PeregrineRisk
import PeregrineStrategy
import Testing

/// The order management with risk limits, driven by hand: orders through a `StrategyContext`
/// (as a strategy sends them), venue reports applied directly, marks set as the engine would.
final class RiskHarness {
    let trading: UnsafeMutablePointer<TradingState>
    let books: UnsafeMutablePointer<InstrumentBooks>
    var time: UInt64 = 1_000

    /// Strategy 1 trades instruments 0 and 1 (HOST0: tick 0.01, lot 0.001 in USD; HOST1: tick
    /// 0.5, lot 0.01 in USD), strategy 2 instrument 2 (in EUR), under `rules`.
    init(_ rules: [RiskRule]) throws {
        let definitions = [
            InstrumentDefinition.synthetic(InstrumentID(0), hosted: true),
            InstrumentDefinition(
                id: InstrumentID(1), symbol: "HOST1", venue: "hosted", tickSize: try Increment("0.5"),
                lotSize: try Increment("0.01")),
            InstrumentDefinition(
                id: InstrumentID(2), symbol: "EURX", venue: "hosted", tickSize: try Increment("0.01"),
                lotSize: try Increment("0.001"), quoteCurrency: "EUR"),
        ]
        let layouts = [
            StrategyLayout(
                id: StrategyID(1), account: AccountID(1001), instruments: [InstrumentID(0), InstrumentID(1)]),
            StrategyLayout(id: StrategyID(2), account: AccountID(1002), instruments: [InstrumentID(2)]),
        ]
        let limits = try RiskLimits.resolve(
            rules: rules, instruments: definitions,
            strategies: layouts.map { (id: $0.id.rawValue, instruments: $0.instruments) })
        trading = .allocate(capacity: 1)
        trading.initialize(
            to: TradingState(
                strategies: layouts, rules: definitions.map(\.rules), orderCapacity: 64, timerCapacity: 8,
                venueOrderCapacity: 64, risk: limits))
        books = .allocate(capacity: 1)
        books.initialize(to: InstrumentBooks(levels: try BookSet(count: 3), venue: nil))
        trading.pointee.beginEvent(time: time)
    }

    deinit {
        trading.deinitialize(count: 1)
        trading.deallocate()
        books.deinitialize(count: 1)
        books.deallocate()
    }

    /// A new event at `time` ns after the last (UTC `utc` when given).
    func advance(by nanoseconds: UInt64 = 1_000, utc: UInt64 = 0) {
        time += nanoseconds
        trading.pointee.beginEvent(time: time, exchangeTime: utc)
    }

    func mark(_ instrument: UInt32, _ bid: Int64, _ ask: Int64) {
        trading.pointee.updateMark(InstrumentID(instrument), bid: Price(ticks: bid), ask: Price(ticks: ask))
    }

    /// Sends an order as strategy `slot` would; the reason it was refused, or `.none` when it
    /// left for its venue (then accepted by it, unless `accept` is false).
    @discardableResult
    func submit(
        slot: Int = 0, _ instrument: UInt32, _ side: Side, price: Int64, lots: Int64, type: OrderType = .limit,
        stop: Int64 = 0, accept: Bool = true
    ) -> (id: OrderID?, reason: ExecutionReason) {
        var context = StrategyContext(state: trading, books: UnsafePointer(books), slot: slot)
        let id: OrderID?
        switch type {
        case .market: id = context.submitMarket(InstrumentID(instrument), side, quantity: Quantity(lots: lots))
        case .stopMarket:
            id = context.submitStop(
                InstrumentID(instrument), side, stopPrice: Price(ticks: stop), quantity: Quantity(lots: lots))
        case .stopLimit:
            id = context.submitStop(
                InstrumentID(instrument), side, stopPrice: Price(ticks: stop), limit: Price(ticks: price),
                quantity: Quantity(lots: lots))
        case .limit:
            id = context.submitLimit(
                InstrumentID(instrument), side, price: Price(ticks: price), quantity: Quantity(lots: lots))
        }
        if let update = trading.pointee.nextUpdate(), update.report.kind == .rejected {
            #expect(update.order.id == id && update.order.state == .rejected)
            return (id, update.report.reason)
        }
        while let (command, routed) = trading.pointee.nextCommand() {
            if accept {
                trading.pointee.apply(
                    ExecutionReport(
                        kind: .accepted, instrument: routed, orderID: command.orderID, account: command.account,
                        side: command.side, price: command.price, quantity: command.quantity,
                        leavesQuantity: command.quantity))
                _ = trading.pointee.nextUpdate()
            }
        }
        return (id, .none)
    }

    /// The venue fills `lots` of order `id` at `price` (as the aggressor).
    func fill(_ id: OrderID?, price: Int64, lots: Int64, tradeID: UInt64) {
        guard let id, let order = trading.pointee.openOrder(id) else {
            Issue.record("no open order \(String(describing: id))")
            return
        }
        let leaves = order.leaves.lots - lots
        trading.pointee.apply(
            ExecutionReport(
                kind: leaves == 0 ? .filled : .partiallyFilled, instrument: order.instrument, orderID: id,
                account: AccountID(1001), side: order.side, price: Price(ticks: price), quantity: Quantity(lots: lots),
                leavesQuantity: Quantity(lots: leaves), tradeID: tradeID, isAggressor: true))
        while trading.pointee.nextUpdate() != nil {}
    }

    /// Cancels every open order of every strategy, the venue confirming each.
    func cancelEverything() {
        _ = trading.pointee.cancelOpenOrders()
        while let (command, instrument) = trading.pointee.nextCommand() {
            let order = trading.pointee.openOrder(command.orderID)
            trading.pointee.apply(
                ExecutionReport(
                    kind: .cancelled, reason: .requested, instrument: instrument, orderID: command.orderID,
                    account: command.account, side: order?.side ?? .buy, price: order?.price ?? Price(ticks: 0),
                    quantity: order?.leaves ?? .zero, leavesQuantity: .zero))
        }
        while trading.pointee.nextUpdate() != nil {}
    }

    func trip(_ cause: KillCause, strategy: UInt16 = 0) -> Bool {
        trading.pointee.tripKillSwitch(cause, strategy: StrategyID(strategy))
    }
    func resetKill() -> Bool { trading.pointee.resetKillSwitch() }
    func nextBreach() -> Int? { trading.pointee.nextLossBreach() }
    func dayLoss(slot: Int = 0, currency: Int32 = 0) -> Int128 {
        trading.pointee.dayLoss(slot: slot, currency: currency)
    }
    var day: Int64 { trading.pointee.currentTradingDay }
    var kill: KillSwitch { trading.pointee.killSwitch }
    func exposure(slot: Int = 0, _ instrument: UInt32 = 0) -> OpenExposure? {
        trading.pointee.openExposure(slot: slot, instrument: InstrumentID(instrument))
    }
    func gross(slot: Int = 0, currency: Int32) -> Int128 {
        trading.pointee.grossExposure(slot: slot, currency: currency)
    }
    func twiceMark(_ instrument: UInt32) -> Int64 { trading.pointee.twiceMark(InstrumentID(instrument)) }
    func nextUpdate() -> OrderUpdate? { trading.pointee.nextUpdate() }
    func order(_ id: OrderID) -> OwnOrder? { trading.pointee.openOrder(id) }
    func replace(_ id: OrderID, price: Int64, lots: Int64) -> Bool {
        var context = StrategyContext(state: trading, books: UnsafePointer(books), slot: 0)
        return context.replace(id, price: Price(ticks: price), quantity: Quantity(lots: lots))
    }
    func cancelAllOpen() -> Int { trading.pointee.cancelOpenOrders() }
    func nextCommand() -> OrderCommand? { trading.pointee.nextCommand()?.command }
    var counters: TradingCounters { trading.pointee.counters }

    /// Sends a buy of `lots` on instrument 0 and a sell of `lots` (`secondLots` when given) on
    /// instrument 1 as strategy 0, both or neither (`submitBoth`); whether both left, and the
    /// refusal.
    func submitBoth(lots: Int64, secondLots: Int64? = nil) -> (both: Bool, refusal: OrderRefusal) {
        var context = StrategyContext(state: trading, books: UnsafePointer(books), slot: 0)
        let both = context.submitBoth(
            .limit(OrderID(0), account: AccountID(0), .buy, price: Price(ticks: 1_000), quantity: Quantity(lots: lots)),
            instrument: InstrumentID(0),
            .limit(
                OrderID(0), account: AccountID(0), .sell, price: Price(ticks: 2_000),
                quantity: Quantity(lots: secondLots ?? lots)),
            instrument: InstrumentID(1))
        return (both, context.lastRefusal)
    }

    /// The updates queued, as (order id, kind, reason, state).
    func updates() -> [(OrderID, ExecutionKind, ExecutionReason, OrderState)] {
        var all: [(OrderID, ExecutionKind, ExecutionReason, OrderState)] = []
        while let update = trading.pointee.nextUpdate() {
            all.append((update.order.id, update.report.kind, update.report.reason, update.order.state))
        }
        return all
    }

    var rejects: [ExecutionReason: Int] {
        Dictionary(uniqueKeysWithValues: trading.pointee.counters.riskRejectsByReason.map { ($0.reason, $0.count) })
    }
}

@Suite("Pre-trade risk")
struct RiskTests {
    @Test func maxOrderQuantityPassesAtTheLimitAndRefusesOneLotMore() throws {
        let harness = try RiskHarness([RiskRule(instrument: "HOST0", maxOrderQuantity: "0.005")])
        #expect(harness.submit(0, .buy, price: 1_000, lots: 5).reason == .none)
        let refused = harness.submit(0, .buy, price: 1_000, lots: 6)
        #expect(refused.reason == .maxOrderQuantity && refused.id != nil)
        // Instrument 1 has no limit; strategy 2 neither.
        #expect(harness.submit(1, .buy, price: 10, lots: 600).reason == .none)
        #expect(harness.rejects == [.maxOrderQuantity: 1])
        // Counted as a risk reject and refused before a venue, not among the orders submitted.
        #expect(harness.counters.submitted == 2 && harness.counters.rejected == 0)
        #expect(harness.trading.pointee.refusedCommands == 1)
    }

    /// A replace is checked on what its order could still trade, its new quantity less what
    /// has filled (found by a review, helper-139: checked on the whole quantity, a market
    /// maker's quote that had filled in part could not be moved at its size, and its stale
    /// rest filled). A bid of 5 lots (the limit) filled 3 moves with 5 left (8 in all); 6 left
    /// is refused; the notional likewise.
    @Test func aReplaceIsCheckedOnWhatItCouldStillTrade() throws {
        let harness = try RiskHarness([
            RiskRule(instrument: "HOST0", maxOrderQuantity: "0.005", maxOrderNotional: "0.05")
        ])
        let bid = harness.submit(0, .buy, price: 1_000, lots: 5)
        #expect(bid.reason == .none)
        harness.fill(bid.id, price: 1_000, lots: 3, tradeID: 1)
        let id = try #require(bid.id)
        func refusal() -> ExecutionReason? {
            guard let update = harness.nextUpdate(), update.report.kind == .rejected else { return nil }
            return update.report.reason
        }
        // 6 lots left: over the quantity limit.
        #expect(harness.replace(id, price: 999, lots: 9))
        #expect(refusal() == .maxOrderQuantity)
        // 5 lots left at 1,001 ticks: 0.05005 USD, over the notional limit (at 1,000 exactly on it).
        #expect(harness.replace(id, price: 1_001, lots: 8))
        #expect(refusal() == .maxOrderNotional)
        #expect(harness.nextCommand() == nil)
        #expect(harness.replace(id, price: 1_000, lots: 8))
        let command = try #require(harness.nextCommand())
        #expect(command.action == .replace && command.quantity.lots == 8 && command.price.ticks == 1_000)
        #expect(harness.rejects == [.maxOrderQuantity: 1, .maxOrderNotional: 1])
    }

    @Test func maxOrderNotionalIsExactAndValuesMarketOrdersAtTheMark() throws {
        // 10 USD: a tick × lot of HOST0 is 0.01 × 0.001 = 10^-5 USD, so 10^6 ticks × lots.
        let harness = try RiskHarness([RiskRule(instrument: "HOST0", maxOrderNotional: "10")])
        #expect(harness.submit(0, .buy, price: 10_000, lots: 100).reason == .none)  // exactly 10.00
        #expect(harness.submit(0, .buy, price: 10_001, lots: 100).reason == .maxOrderNotional)  // one tick more
        #expect(harness.submit(0, .buy, price: 10_000, lots: 101).reason == .maxOrderNotional)  // one lot more
        // A market order: no mark yet, cannot be valued; then at the mid.
        #expect(harness.submit(0, .sell, price: 0, lots: 10, type: .market).reason == .maxOrderNotional)
        harness.mark(0, 9_999, 10_001)
        #expect(harness.submit(0, .sell, price: 0, lots: 100, type: .market).reason == .none)
        harness.mark(0, 10_000, 10_001)  // mid 10,000.5: 100 lots are 10.0005 USD
        #expect(harness.submit(0, .sell, price: 0, lots: 100, type: .market).reason == .maxOrderNotional)
    }

    @Test func priceCollarAgainstTheMidInBasisPoints() throws {
        let harness = try RiskHarness([RiskRule(instrument: "HOST0", priceCollarBasisPoints: "50")])
        // No mid, no collar.
        #expect(harness.submit(0, .buy, price: 1, lots: 1).reason == .none)
        harness.mark(0, 9_999, 10_001)  // mid 10,000: ±50 ticks
        #expect(harness.submit(0, .buy, price: 9_950, lots: 1).reason == .none)
        #expect(harness.submit(0, .buy, price: 9_949, lots: 1).reason == .riskPriceCollar)
        #expect(harness.submit(0, .sell, price: 10_050, lots: 1).reason == .none)
        #expect(harness.submit(0, .sell, price: 10_051, lots: 1).reason == .riskPriceCollar)
        // A stop-limit: both its prices.
        #expect(
            harness.submit(0, .buy, price: 10_040, lots: 1, type: .stopLimit, stop: 10_051).reason == .riskPriceCollar)
        #expect(harness.submit(0, .buy, price: 10_040, lots: 1, type: .stopLimit, stop: 10_050).reason == .none)
        // A mid half a tick off the grid: 10,000.5 ± 50.0025, so 9,951 passes and 9,950 does not.
        harness.mark(0, 10_000, 10_001)
        #expect(harness.submit(0, .buy, price: 9_951, lots: 1).reason == .none)
        #expect(harness.submit(0, .buy, price: 9_950, lots: 1).reason == .riskPriceCollar)
    }

    @Test func maxOpenOrdersCountsOrdersStillOpen() throws {
        let harness = try RiskHarness([RiskRule(strategy: 1, instrument: "HOST0", maxOpenOrders: 2)])
        let first = harness.submit(0, .buy, price: 1_000, lots: 1)
        #expect(harness.submit(0, .buy, price: 1_000, lots: 1).reason == .none)
        #expect(harness.submit(0, .sell, price: 1_100, lots: 1).reason == .maxOpenOrders)
        harness.fill(first.id, price: 1_000, lots: 1, tradeID: 1)  // one closes
        #expect(harness.submit(0, .sell, price: 1_100, lots: 1).reason == .none)
        #expect(harness.exposure()?.orders == 2)
    }

    @Test func maxPositionCountsOpenOrdersOnTheSameSideAsFilled() throws {
        let harness = try RiskHarness([RiskRule(instrument: "HOST0", maxPosition: "0.010")])  // 10 lots
        let buy = harness.submit(0, .buy, price: 1_000, lots: 6)
        #expect(buy.reason == .none)
        #expect(harness.submit(0, .buy, price: 999, lots: 5).reason == .maxPosition)  // 6 open + 5
        #expect(harness.submit(0, .buy, price: 999, lots: 4).reason == .none)  // exactly 10
        // Sells do not count the buys: short 10 is the limit on that side.
        #expect(harness.submit(0, .sell, price: 1_100, lots: 10).reason == .none)
        #expect(harness.submit(0, .sell, price: 1_100, lots: 1).reason == .maxPosition)
        // Filled: long 6, open buys 4 → still 10 on the buy side.
        harness.fill(buy.id, price: 1_000, lots: 6, tradeID: 1)
        #expect(harness.submit(0, .buy, price: 999, lots: 1).reason == .maxPosition)
        // The sell side now has room for 6 more: −(6 − 10 − 6) = 10.
        #expect(harness.submit(0, .sell, price: 1_100, lots: 6).reason == .none)
        #expect(harness.submit(0, .sell, price: 1_100, lots: 1).reason == .maxPosition)
        let exposure = try #require(harness.exposure())
        #expect(exposure.buyLots == 4 && exposure.sellLots == 16 && exposure.orders == 3)
    }

    @Test func grossExposureSumsTwoInstrumentsInTheirCurrency() throws {
        // 20 USD across HOST0 (10^-5 USD per tick × lot) and HOST1 (0.5 × 0.01 = 0.005 USD).
        let harness = try RiskHarness([RiskRule(strategy: 1, maxGrossExposure: ["USD": "20"])])
        harness.mark(0, 9_999, 10_001)  // HOST0 mid 100.00 USD
        harness.mark(1, 199, 201)  // HOST1 mid 100.00 USD (200 ticks of 0.5)
        // HOST0: buy 0.1 at 100.00 = 10 USD, filled (position 0.1 × mid 100 = 10 USD).
        let first = harness.submit(0, .buy, price: 10_000, lots: 100)
        harness.fill(first.id, price: 10_000, lots: 100, tradeID: 1)
        // HOST1: a sell of 0.09 at 100.00 = 9 USD open → 19 USD.
        #expect(harness.submit(1, .sell, price: 200, lots: 9).reason == .none)
        // Currencies in name order: EUR 0, USD 1 (units of 10^-13 USD).
        #expect(harness.gross(currency: 0) == 0)
        #expect(harness.gross(currency: 1) == 190_000_000_000_000)
        // 1 USD more is exactly 20: 0.01 of HOST1 at 100.00.
        #expect(harness.submit(1, .sell, price: 200, lots: 1).reason == .none)
        // One more lot of HOST0 (0.1 USD) is beyond.
        #expect(harness.submit(0, .buy, price: 10_000, lots: 1).reason == .maxGrossExposure)
        // The mark moves down: the long 0.1 is worth 9.9 USD, so 0.1 USD of room; the short
        // side's open orders count at their price (10 USD).
        harness.mark(0, 9_899, 9_901)
        #expect(harness.submit(0, .buy, price: 9_900, lots: 1).reason == .none)  // 0.099 USD: 19.999
        #expect(harness.submit(0, .buy, price: 9_900, lots: 1).reason == .maxGrossExposure)
        // Strategy 2 (EUR) has no limit.
        #expect(harness.submit(slot: 1, 2, .buy, price: 10_000, lots: 1_000_000).reason == .none)
        // A replace that raises the price at the same quantity adds notional: the HOST1 offer
        // of 9 at 100.00 repriced to 100.50 adds 0.045 USD, beyond the room left.
        let offer = try #require(harness.order(OrderID.strategyOrder(StrategyID(1), sequence: 2)))
        #expect(offer.quantity.lots == 9 && offer.price.ticks == 200)
        #expect(harness.replace(offer.id, price: 201, lots: 9))
        let refused = try #require(harness.nextUpdate())
        #expect(refused.report.kind == .rejected && refused.report.reason == .maxGrossExposure)
        // Lowering it takes room back: passes.
        #expect(harness.replace(offer.id, price: 199, lots: 9))
        #expect(harness.nextCommand()?.action == .replace)
    }

    @Test func theThrottleRefillsOnEventTime() throws {
        // 2 orders per second, a burst of 3.
        let harness = try RiskHarness([RiskRule(strategy: 1, maxOrdersPerSecond: "2", orderBurst: 3)])
        for _ in 0..<3 { #expect(harness.submit(0, .buy, price: 1_000, lots: 1).reason == .none) }
        #expect(harness.submit(0, .buy, price: 1_000, lots: 1).reason == .orderThrottle)
        // 0.5 s after them one token is back (refill 2/s); one nanosecond less is not enough.
        harness.advance(by: 499_999_999)
        #expect(harness.submit(0, .buy, price: 1_000, lots: 1).reason == .orderThrottle)
        harness.advance(by: 1)
        #expect(harness.submit(0, .buy, price: 1_000, lots: 1).reason == .none)
        #expect(harness.submit(0, .buy, price: 1_000, lots: 1).reason == .orderThrottle)
        // A refused order takes no token: after 0.5 s exactly one passes.
        harness.advance(by: 500_000_000)
        #expect(harness.submit(0, .buy, price: 1_000, lots: 1).reason == .none)
        // Strategy 2 is not throttled.
        for _ in 0..<10 { #expect(harness.submit(slot: 1, 2, .buy, price: 1_000, lots: 1).reason == .none) }
        #expect(harness.rejects == [.orderThrottle: 3])
        // The 3 refused orders count as refused before a venue, not among those submitted.
        #expect(harness.counters.submitted == 15 && harness.counters.rejected == 0)
        #expect(harness.trading.pointee.refusedCommands == 3)
    }

    /// `submitBoth`: two legs leave together or not at all. A second leg the throttle refuses
    /// takes the first back before it leaves (its token and command given back, both answered
    /// with a reject, one counted); a first leg a risk rule refuses sends no second; a second
    /// refused outright withdraws the first with no update.
    @Test func twoLegsLeaveTogetherOrNotAtAll() throws {
        // 2 orders per second, a burst of 3; orders on instrument 0 of at most 5 lots.
        let harness = try RiskHarness([
            RiskRule(strategy: 1, maxOrdersPerSecond: "2", orderBurst: 3),
            RiskRule(strategy: 1, instrument: "HOST0", maxOrderQuantity: "0.005"),
        ])
        #expect(harness.submitBoth(lots: 2) == (true, .none))
        var sent: [OrderCommand] = []
        while let command = harness.nextCommand() { sent.append(command) }
        #expect(sent.map(\.side) == [.buy, .sell] && sent.map(\.quantity.lots) == [2, 2])
        #expect(harness.updates().isEmpty)
        let revision = harness.trading.pointee.revision
        // One token left: the first leg takes it, the second is throttled, the first withdrawn.
        #expect(harness.submitBoth(lots: 3) == (false, .none))
        #expect(harness.nextCommand() == nil)
        let refused = harness.updates()
        #expect(refused.map { $0.1 } == [.rejected, .rejected])
        #expect(refused.map { $0.2 } == [.orderThrottle, .orderThrottle])
        #expect(refused.map { $0.3 } == [.rejected, .rejected])
        #expect(refused[0].0 != refused[1].0 && refused.allSatisfy { harness.order($0.0) == nil })
        // As before the pair: the same orders, the same revision, one refusal counted.
        #expect(harness.trading.pointee.revision == revision)
        #expect(harness.counters.submitted == 2 && harness.rejects == [.orderThrottle: 1])
        #expect(harness.trading.pointee.openOrderCount(slot: 0) == 2)
        #expect(harness.exposure(0)?.buyLots == 2 && harness.exposure(1)?.sellLots == 2)
        // The withdrawn leg's token is back: one order passes, the next is throttled.
        #expect(harness.submit(0, .buy, price: 1_000, lots: 1, accept: false).reason == .none)
        #expect(harness.submit(0, .buy, price: 1_000, lots: 1).reason == .orderThrottle)
        // A first leg over the order quantity: refused, and no second is sent.
        harness.advance(by: 2_000_000_000)
        #expect(harness.submitBoth(lots: 6) == (false, .none))
        #expect(harness.nextCommand() == nil)
        let single = harness.updates()
        #expect(single.count == 1 && single.first?.2 == .maxOrderQuantity && single.first?.3 == .rejected)
        // A second leg refused outright (no quantity): the first is withdrawn, nothing is
        // answered, nothing counted but the refusal.
        let before = harness.counters
        #expect(harness.submitBoth(lots: 1, secondLots: 0) == (false, .belowMinimumQuantity))
        #expect(harness.nextCommand() == nil && harness.updates().isEmpty)
        #expect(harness.counters.submitted == before.submitted)
        #expect(harness.trading.pointee.refusedCommands == before.totalRefused + before.totalRiskRejected + 1)
        #expect(harness.trading.pointee.openOrderCount(slot: 0) == 3)
        #expect(harness.exposure(0)?.buyLots == 3)
    }

    /// A replace the risk checks refuse on an order its venue has not accepted yet leaves the
    /// order open: its reject update says so (it had said `rejected`, and a strategy that
    /// forgets rejected orders lost a live one).
    @Test func aRefusedReplaceOfAnOrderNotYetAcceptedLeavesItOpen() throws {
        let harness = try RiskHarness([RiskRule(strategy: 1, instrument: "HOST0", maxOrderQuantity: "0.005")])
        let id = try #require(harness.submit(0, .buy, price: 1_000, lots: 2, accept: false).id)
        #expect(harness.order(id)?.state == .pendingNew)
        #expect(harness.replace(id, price: 1_001, lots: 9))
        #expect(harness.nextCommand() == nil)
        let updates = harness.updates()
        #expect(updates.count == 1 && updates.first?.0 == id)
        #expect(updates.first?.1 == .rejected && updates.first?.2 == .maxOrderQuantity)
        #expect(updates.first?.3 == .pendingNew)
        #expect(harness.order(id)?.state == .pendingNew && harness.order(id)?.price.ticks == 1_000)
        #expect(harness.rejects == [.maxOrderQuantity: 1])
        // A new order refused so is rejected.
        let refused = harness.submit(0, .buy, price: 1_000, lots: 9)
        #expect(refused.reason == .maxOrderQuantity)
        #expect(refused.id.map { harness.order($0) == nil } == true)
    }

    @Test func theDailyLossStartsAgainAtMidnightUTC() throws {
        // 1 USD a day. 2026-11-29 23:59:59 UTC, then midnight.
        let harness = try RiskHarness([RiskRule(strategy: 1, maxDailyLoss: ["*": "1"])])
        let day: UInt64 = 86_400_000_000_000
        let beforeMidnight: UInt64 = 20_786 * day + day - 1_000_000_000
        harness.advance(utc: beforeMidnight)
        harness.mark(0, 9_999, 10_001)
        let buy = harness.submit(0, .buy, price: 10_000, lots: 100)  // long 0.1 at 100.00
        harness.fill(buy.id, price: 10_000, lots: 100, tradeID: 1)
        #expect(harness.day == 20_786)
        // Down 0.9 USD (mid 91.00) and the taker fee of 0.004 USD (0.0004 × 10 USD): within the limit.
        harness.mark(0, 9_099, 9_101)
        #expect(harness.nextBreach() == nil)
        #expect(harness.dayLoss(currency: 1) == 9_040_000_000_000)  // 0.904 USD in 10^-13
        // Exactly 1 USD (mid 90.04) passes.
        harness.mark(0, 9_003, 9_005)
        #expect(harness.dayLoss(currency: 1) == 10_000_000_000_000)
        #expect(harness.nextBreach() == nil)
        // Midnight: the day starts again from here.
        harness.advance(by: 1_000_000_000)
        #expect(harness.day == 20_787)
        #expect(harness.dayLoss(currency: 1) == 0)
        // An event stamped the day before (recorded data among wall-clock ticks) does not start
        // that day again.
        harness.advance(by: 1, utc: beforeMidnight)
        #expect(harness.day == 20_787)
        // Down exactly 1 USD more since midnight (mid 80.04) passes; a tick lower trips.
        harness.mark(0, 8_003, 8_005)
        #expect(harness.nextBreach() == nil)
        harness.mark(0, 8_002, 8_004)
        #expect(harness.nextBreach() == 0)
        // Looked at: not reported again until the P&L moves.
        #expect(harness.nextBreach() == nil)
    }

    /// Events without a UTC stamp before the first one that has it (a synthetic or recorded
    /// source's first events, before the first wall-clock tick): the loss made then counts
    /// toward the day the first stamp names, which does not start the count again.
    @Test func aLossBeforeTheFirstUTCStampCountsTowardItsDay() throws {
        let harness = try RiskHarness([RiskRule(strategy: 1, maxDailyLoss: ["*": "1"])])
        harness.advance()
        #expect(harness.day == -1)
        harness.mark(0, 9_999, 10_001)
        let buy = harness.submit(0, .buy, price: 10_000, lots: 100)  // long 0.1 at 100.00
        harness.fill(buy.id, price: 10_000, lots: 100, tradeID: 1)
        harness.mark(0, 9_099, 9_101)  // down 0.9 USD and the fee of 0.004 USD
        harness.advance()
        #expect(harness.day == -1)
        #expect(harness.dayLoss(currency: 1) == 9_040_000_000_000)
        let day: UInt64 = 86_400_000_000_000
        harness.advance(utc: 20_786 * day + 5_000_000_000)
        #expect(harness.day == 20_786)
        #expect(harness.dayLoss(currency: 1) == 9_040_000_000_000)
        // 0.1 USD more (mid 90.00) is beyond the limit, counted from the start.
        harness.mark(0, 8_999, 9_001)
        #expect(harness.nextBreach() == 0)
        // The next day starts the count again.
        harness.advance(by: day)
        #expect(harness.day == 20_787)
        #expect(harness.dayLoss(currency: 1) == 0)
    }

    @Test func aTrippedKillSwitchRefusesOrdersAndReplacesUntilReset() throws {
        let harness = try RiskHarness([])
        let resting = harness.submit(0, .buy, price: 1_000, lots: 5)
        #expect(harness.trip(.operatorCommand))
        #expect(!harness.trip(.operatorCommand))
        #expect(harness.submit(0, .buy, price: 1_000, lots: 1).reason == .killSwitch)
        #expect(harness.submit(slot: 1, 2, .sell, price: 1_000, lots: 1).reason == .killSwitch)
        // A replace is answered with a reject; the order stays as it was.
        var context = StrategyContext(state: harness.trading, books: UnsafePointer(harness.books), slot: 0)
        #expect(context.replace(try #require(resting.id), price: Price(ticks: 1_001), quantity: Quantity(lots: 5)))
        let update = try #require(harness.nextUpdate())
        #expect(update.report.kind == .rejected && update.report.reason == .killSwitch)
        #expect(update.order.state == .accepted && update.order.price.ticks == 1_000)
        // A cancel still goes.
        #expect(context.cancel(try #require(resting.id)))
        #expect(harness.nextCommand()?.action == .cancel)
        #expect(harness.resetKill())
        #expect(harness.submit(0, .buy, price: 1_000, lots: 1).reason == .none)
        #expect(harness.kill.trips == 1 && harness.kill.resets == 1)
        #expect(harness.rejects == [.killSwitch: 3])
    }

    @Test func anOrderAVenueAcceptsAfterTheTripIsCancelledAtOnce() throws {
        let harness = try RiskHarness([])
        let late = harness.submit(0, .buy, price: 1_000, lots: 5, accept: false)
        #expect(late.reason == .none)
        #expect(harness.trip(.operatorCommand))
        // The engine cancels what it can when the switch trips; this one the venue has not
        // acknowledged yet (a cancel is sent for it too)...
        #expect(harness.trading.pointee.cancelOpenOrders() == 1)
        #expect(harness.nextCommand()?.action == .cancel)
        // ...and the venue refuses that cancel (it had not seen the order), then accepts the order.
        let id = try #require(late.id)
        harness.trading.pointee.apply(
            ExecutionReport(
                kind: .rejected, reason: .unknownOrderID, instrument: InstrumentID(0), orderID: id,
                account: AccountID(1001), side: .buy, price: Price(ticks: 1_000), quantity: Quantity(lots: 5),
                leavesQuantity: .zero))
        harness.trading.pointee.apply(
            ExecutionReport(
                kind: .accepted, instrument: InstrumentID(0), orderID: id, account: AccountID(1001), side: .buy,
                price: Price(ticks: 1_000), quantity: Quantity(lots: 5), leavesQuantity: Quantity(lots: 5)))
        // The refused cancel of a not-yet-acknowledged order reads as the new order's reject: it
        // ends rejected, and the later acceptance names an order no longer held.
        #expect(harness.counters.rejected == 1 && harness.counters.unknownReports == 1)
        // An order acknowledged after the trip, with no cancel of it refused, is cancelled at once.
        while harness.nextUpdate() != nil {}
        #expect(harness.resetKill())
        let second = harness.submit(0, .buy, price: 1_000, lots: 5, accept: false)
        #expect(harness.trip(.operatorCommand))
        harness.trading.pointee.apply(
            ExecutionReport(
                kind: .accepted, instrument: InstrumentID(0), orderID: try #require(second.id),
                account: AccountID(1001), side: .buy, price: Price(ticks: 1_000), quantity: Quantity(lots: 5),
                leavesQuantity: Quantity(lots: 5)))
        let cancel = try #require(harness.nextCommand())
        #expect(cancel.action == .cancel && cancel.orderID == second.id)
        let update = try #require(harness.nextUpdate())
        #expect(update.report.kind == .accepted && update.order.state == .pendingCancel)
    }

    @Test func aReplaceInFlightWhenTheSwitchTripsIsCancelledOnceItIsAnswered() throws {
        let harness = try RiskHarness([])
        let order = try #require(harness.submit(0, .buy, price: 1_000, lots: 5).id)  // accepted
        #expect(harness.replace(order, price: 1_001, lots: 5))
        #expect(harness.nextCommand()?.action == .replace)
        #expect(harness.trip(.operatorCommand))
        // The trip's cancels skip an order with a replace in flight...
        #expect(harness.cancelAllOpen() == 0)
        // ...and the venue refuses the replace: the order works again, so it is cancelled now.
        harness.trading.pointee.apply(
            ExecutionReport(
                kind: .rejected, reason: .postOnlyWouldTake, instrument: InstrumentID(0), orderID: order,
                account: AccountID(1001), side: .buy, price: Price(ticks: 1_001), quantity: Quantity(lots: 5),
                leavesQuantity: .zero))
        let cancel = try #require(harness.nextCommand())
        #expect(cancel.action == .cancel && cancel.orderID == order)
        #expect(harness.order(order)?.state == .pendingCancel)
    }

    /// A stop-market order waits at its venue until it triggers (its time in force,
    /// immediate-or-cancel, is what it does then): the trip's cancels and the session's end
    /// cancel it as a resting order. They had skipped it, so a stop could trigger after the
    /// switch tripped, or stay open after the session.
    @Test func aPendingStopMarketIsCancelledWhenTheSwitchTripsAndAtTheSessionEnd() throws {
        let harness = try RiskHarness([])
        let stop = try #require(harness.submit(0, .sell, price: 0, lots: 5, type: .stopMarket, stop: 900).id)
        let stopLimit = try #require(
            harness.submit(0, .buy, price: 1_100, lots: 2, type: .stopLimit, stop: 1_050).id)
        #expect(harness.order(stop)?.state == .accepted)
        #expect(harness.trip(.operatorCommand))
        #expect(harness.cancelAllOpen() == 2)
        #expect(harness.nextCommand()?.orderID == stop)
        #expect(harness.nextCommand()?.orderID == stopLimit)
        #expect(harness.order(stop)?.state == .pendingCancel)
        #expect(harness.resetKill())
        let another = try #require(harness.submit(0, .sell, price: 0, lots: 1, type: .stopMarket, stop: 800).id)
        #expect(harness.trading.pointee.cancelOpenOrders(includingReplaces: true) == 1)
        let cancel = try #require(harness.nextCommand())
        #expect(cancel.action == .cancel && cancel.orderID == another)
    }

    /// At the session's end no answer is heard: an order with a replace in flight is cancelled
    /// too (the venue takes the cancel after the replace), where the trip's cancels wait for it.
    @Test func theSessionEndCancelsAnOrderWithAReplaceInFlight() throws {
        let harness = try RiskHarness([])
        let order = try #require(harness.submit(0, .buy, price: 1_000, lots: 5).id)
        #expect(harness.replace(order, price: 1_001, lots: 5))
        #expect(harness.nextCommand()?.action == .replace)
        #expect(harness.cancelAllOpen() == 0)
        #expect(harness.trading.pointee.cancelOpenOrders(includingReplaces: true) == 1)
        let cancel = try #require(harness.nextCommand())
        #expect(cancel.action == .cancel && cancel.orderID == order)
        #expect(harness.order(order)?.state == .pendingCancel)
        #expect(harness.trading.pointee.cancelOpenOrders(includingReplaces: true) == 0)  // once
    }

    /// A status answer while a replace is in flight means the venue never took the replace (it
    /// answers in the order it was sent): the order works as it was, and a tripped switch then
    /// cancels it. It had stayed pending-replace for ever, its strategy unable to move it.
    @Test func aStatusAnswerResolvesALostReplace() throws {
        let harness = try RiskHarness([])
        let order = try #require(harness.submit(0, .buy, price: 1_000, lots: 5).id)
        #expect(harness.replace(order, price: 1_001, lots: 5))
        #expect(harness.nextCommand()?.action == .replace)
        #expect(harness.order(order)?.state == .pendingReplace)
        let status = ExecutionReport(
            kind: .status, instrument: InstrumentID(0), orderID: order, account: AccountID(1001), side: .buy,
            price: Price(ticks: 1_000), quantity: Quantity(lots: 5), leavesQuantity: Quantity(lots: 5))
        harness.trading.pointee.apply(status)
        #expect(harness.order(order)?.state == .accepted)
        #expect(harness.order(order)?.price.ticks == 1_000)
        #expect(harness.replace(order, price: 1_002, lots: 5))  // the strategy can move it again
        #expect(harness.nextCommand()?.action == .replace)
        // Lost again while the switch is tripped: the status answer cancels it.
        #expect(harness.trip(.operatorCommand))
        #expect(harness.cancelAllOpen() == 0)
        harness.trading.pointee.apply(status)
        let cancel = try #require(harness.nextCommand())
        #expect(cancel.action == .cancel && cancel.orderID == order)
        #expect(harness.order(order)?.state == .pendingCancel)
    }

    /// The same for a cancel: a status answer while the kill switch's cancel is in flight means
    /// the venue never took it; the order works again, and the switch cancels it again (it had
    /// stayed pending-cancel, working at the venue, with nothing to send the cancel again).
    @Test func aStatusAnswerResolvesALostCancel() throws {
        let harness = try RiskHarness([])
        let order = try #require(harness.submit(0, .buy, price: 1_000, lots: 5).id)
        #expect(harness.trip(.operatorCommand))
        #expect(harness.cancelAllOpen() == 1)
        #expect(harness.nextCommand()?.action == .cancel)
        #expect(harness.order(order)?.state == .pendingCancel && harness.order(order)?.reason == .killSwitch)
        let status = ExecutionReport(
            kind: .status, instrument: InstrumentID(0), orderID: order, account: AccountID(1001), side: .buy,
            price: Price(ticks: 1_000), quantity: Quantity(lots: 5), leavesQuantity: Quantity(lots: 5))
        harness.trading.pointee.apply(status)
        let again = try #require(harness.nextCommand())
        #expect(again.action == .cancel && again.orderID == order)
        #expect(harness.order(order)?.state == .pendingCancel && harness.order(order)?.reason == .killSwitch)
        // After a reset, the answer to the lost cancel: working again, unmarked, not cancelled again.
        let reset = harness.trading.pointee.resetKillSwitch()
        #expect(reset)
        harness.trading.pointee.apply(status)
        #expect(harness.order(order)?.state == .accepted && harness.order(order)?.reason == ExecutionReason.none)
        #expect(harness.nextCommand() == nil)
    }

    @Test func openExposureFollowsEveryOrderChange() throws {
        let harness = try RiskHarness([])
        let order = harness.submit(0, .buy, price: 1_000, lots: 10)
        func exposure() -> OpenExposure { harness.exposure() ?? OpenExposure() }
        #expect(exposure().buyLots == 10 && exposure().twicePricedNotional == 20_000)
        harness.fill(order.id, price: 999, lots: 4, tradeID: 1)
        #expect(exposure().buyLots == 6 && exposure().twicePricedNotional == 12_000)
        // A replace in flight counts at the larger of old and new.
        var context = StrategyContext(state: harness.trading, books: UnsafePointer(harness.books), slot: 0)
        #expect(context.replace(try #require(order.id), price: Price(ticks: 1_002), quantity: Quantity(lots: 14)))
        #expect(exposure().buyLots == 10 && exposure().twicePricedNotional == 2 * 1_002 * 10)
        harness.trading.pointee.apply(
            ExecutionReport(
                kind: .replaced, instrument: InstrumentID(0), orderID: try #require(order.id),
                account: AccountID(1001), side: .buy, price: Price(ticks: 1_002), quantity: Quantity(lots: 14),
                leavesQuantity: Quantity(lots: 10)))
        #expect(harness.nextUpdate()?.report.kind == .replaced)
        #expect(exposure().buyLots == 10 && exposure().twicePricedNotional == 2 * 1_002 * 10)
        let market = harness.submit(0, .sell, price: 0, lots: 3, type: .market, accept: false)
        #expect(market.reason == .none && exposure().sellLots == 3 && exposure().unpricedLots == 3)
        // The resting buy is cancelled; the market order never rests (no cancel is sent for
        // it): it counts until the venue ends it.
        harness.cancelEverything()
        #expect(exposure().buyLots == 0 && exposure().twicePricedNotional == 0)
        #expect(exposure().sellLots == 3 && exposure().unpricedLots == 3 && exposure().orders == 1)
        harness.trading.pointee.apply(
            ExecutionReport(
                kind: .cancelled, reason: .unfilledRemainder, instrument: InstrumentID(0),
                orderID: try #require(market.id), account: AccountID(1001), side: .sell, price: Price(ticks: 0),
                quantity: Quantity(lots: 3), leavesQuantity: .zero))
        #expect(exposure() == OpenExposure())
    }

    @Test func rulesAreRefusedWithTheKeyAndWhatIsAllowed() throws {
        func message(_ rule: RiskRule) -> String {
            do {
                _ = try RiskHarness([rule])
                return "accepted"
            } catch { return "\(error)" }
        }
        #expect(
            message(RiskRule(strategy: 9, maxOpenOrders: 1))
                == "risk[1].strategy = 9: no strategy has that id (ids: 1, 2)")
        // With no strategy at all the list is not left empty.
        #expect(
            throws: RiskConfigurationError("risk[1].strategy = 9: no strategy has that id (no strategy is configured)")
        ) {
            try RiskLimits.resolve(
                rules: [RiskRule(strategy: 9, maxOpenOrders: 1)],
                instruments: [.synthetic(InstrumentID(0), hosted: true)],
                strategies: [])
        }
        #expect(message(RiskRule(instrument: "BTC", maxOpenOrders: 1)).hasPrefix("risk[1].instrument = \"BTC\""))
        #expect(message(RiskRule(strategy: 2, instrument: "HOST0", maxOpenOrders: 1)).contains("does not trade it"))
        #expect(message(RiskRule(instrument: "HOST0", maxOrderQuantity: "0.0005")).contains("max_order_quantity"))
        #expect(
            message(RiskRule(instrument: "HOST0", maxDailyLoss: ["*": "1"])).contains("cannot set max_gross_exposure"))
        #expect(message(RiskRule(maxGrossExposure: ["GBP": "1"])).contains("no instrument is quoted in GBP"))
        #expect(message(RiskRule(instrument: "HOST0", priceCollarBasisPoints: "1.5")).contains("whole basis points"))
        #expect(message(RiskRule(maxOrdersPerSecond: "0")).contains("more than 0"))
        #expect(message(RiskRule(orderBurst: 3)).contains("needs max_orders_per_second"))
        // Out of range says the range (review helper-139: "use 0 or more" for 2^31, a bare "too large").
        #expect(
            message(RiskRule(maxOpenOrders: 2_147_483_648))
                == "risk[1].max_open_orders = 2147483648: use 0 to 2147483647")
        #expect(
            message(RiskRule(maxPosition: "999999999999999999999"))
                == "risk[1].max_position = \"999999999999999999999\": too large (at most 170141183460469231731)")
        // A rule not in force anywhere is checked all the same: a second rule of the same scope
        // (the first wins), and a general rule each strategy's own overrides.
        func message(_ rules: [RiskRule]) -> String {
            do {
                _ = try RiskHarness(rules)
                return "accepted"
            } catch { return "\(error)" }
        }
        #expect(
            message([RiskRule(maxPosition: "1"), RiskRule(maxPosition: "-1")])
                == "risk[2].max_position = \"-1\": not a non-negative decimal")
        #expect(
            message([RiskRule(maxDailyLoss: ["*": "1"]), RiskRule(maxDailyLoss: ["*": "abc"])])
                == "risk[2].max_daily_loss = \"abc\": not a non-negative decimal")
        #expect(
            message([
                RiskRule(priceCollarBasisPoints: "-5"), RiskRule(strategy: 1, priceCollarBasisPoints: "5"),
                RiskRule(strategy: 2, priceCollarBasisPoints: "5"),
            ]) == "risk[1].price_collar_bps = \"-5\": use whole basis points, 0 to 1000000")
        #expect(
            message([
                RiskRule(strategy: 2, instrument: "EURX", maxPosition: "1"),
                RiskRule(strategy: 2, instrument: "EURX", maxPosition: "0.0005"),
            ]).hasPrefix("risk[2].max_position = \"0.0005\": not a quantity of EURX (lot 0.001)"))
        #expect(message([RiskRule(maxOrdersPerSecond: "5"), RiskRule(maxOrdersPerSecond: "0")]).contains("risk[2]"))
        // A rule without an instrument, overridden by each strategy's own: its quantity is still
        // checked on the lot grid of every instrument it covers (review helper-139: it had been
        // read as any decimal).
        #expect(
            message([
                RiskRule(maxPosition: "0.0005"), RiskRule(strategy: 1, maxPosition: "1"),
                RiskRule(strategy: 2, maxPosition: "1"),
            ]).hasPrefix("risk[1].max_position = \"0.0005\": not a quantity of HOST0 (lot 0.001)"))
        #expect(
            message([
                RiskRule(strategy: 2, maxOrderQuantity: "0.0005"),
                RiskRule(strategy: 2, instrument: "EURX", maxOrderQuantity: "1"),
            ])
            .hasPrefix("risk[1].max_order_quantity = \"0.0005\": not a quantity of EURX (lot 0.001)"))
        // Settings text reads back to the same rule.
        let rule = RiskRule(
            strategy: 1, maxGrossExposure: ["USD": "10.5"], maxDailyLoss: ["*": "2"], maxOrdersPerSecond: "2.5",
            orderBurst: 4)
        #expect(try RiskRule(settingsText: rule.settingsText) == rule)
    }

    @Test func aRestoredStateKeepsTheSwitchTheThrottleAndTheDay() throws {
        let rules = [RiskRule(strategy: 1, maxDailyLoss: ["*": "1"], maxOrdersPerSecond: "1", orderBurst: 2)]
        let harness = try RiskHarness(rules)
        harness.advance(utc: 20_786 * 86_400_000_000_000)
        harness.mark(0, 9_999, 10_001)
        let order = harness.submit(0, .buy, price: 10_000, lots: 10)
        harness.fill(order.id, price: 10_000, lots: 5, tradeID: 1)
        #expect(harness.trip(.dailyLoss, strategy: 1))
        var encoder = EncodingVisitor(SnapshotEncoder())
        try harness.trading.pointee.visitState(&encoder)
        let restored = try RiskHarness(rules)
        var decoder = DecodingVisitor(SnapshotDecoder(encoder.encoder.bytes))
        try restored.trading.pointee.visitState(&decoder)
        var hashA = HashingVisitor(StateHasher())
        var hashB = HashingVisitor(StateHasher())
        try harness.trading.pointee.visitState(&hashA)
        try restored.trading.pointee.visitState(&hashB)
        #expect(hashA.hasher.value == hashB.hasher.value)
        let kill = restored.kill
        #expect(kill.isTripped && kill.cause == .dailyLoss && kill.strategy == 1)
        #expect(restored.day == 20_786)
        #expect(restored.exposure()?.buyLots == 5)
        #expect(restored.twiceMark(0) == 20_000)
        #expect(restored.submit(0, .buy, price: 10_000, lots: 1).reason == .killSwitch)
        #expect(restored.resetKill())
        // One token left of the burst of 2 (the first order took one).
        restored.time = harness.time
        #expect(restored.submit(0, .buy, price: 10_000, lots: 1).reason == .none)
        #expect(restored.submit(0, .buy, price: 10_000, lots: 1).reason == .orderThrottle)
    }
}
