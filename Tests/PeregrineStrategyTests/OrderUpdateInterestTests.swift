import PeregrineBook
import PeregrineCore
import PeregrineModel
import PeregrineStrategy
import Testing

/// `Strategy.orderUpdates` and the outputs' `exporting`: which order updates the trading state
/// queues, and which callbacks a strategy is given.
@Suite struct OrderUpdateInterestTests {
    /// A strategy that takes fills and cancels alone, and counts every order callback.
    struct FillsAndCancels: Strategy {
        static let name = "fills-and-cancels"
        static var orderUpdates: OrderUpdateInterest { [.fills, .cancelled] }
        var calls: [String] = []
        init(_ configuration: StrategyConfiguration) throws(StrategyConfigurationError) {}
        mutating func onOrderAccepted(_ update: OrderUpdate, _ context: inout StrategyContext) {
            calls.append("accepted")
        }
        mutating func onOrderRejected(_ update: OrderUpdate, _ context: inout StrategyContext) {
            calls.append("rejected")
        }
        mutating func onOrderFilled(_ update: OrderUpdate, _ context: inout StrategyContext) {
            calls.append("filled \(update.report.quantity.lots)")
        }
        mutating func onOrderCancelled(_ update: OrderUpdate, _ context: inout StrategyContext) {
            calls.append("cancelled")
        }
        mutating func onOrderReplaced(_ update: OrderUpdate, _ context: inout StrategyContext) {
            calls.append("replaced")
        }
    }

    /// Trading state for one strategy on instrument 0 that takes `interest`.
    final class Harness {
        let trading: UnsafeMutablePointer<TradingState>
        let books: UnsafeMutablePointer<InstrumentBooks>

        init(_ interest: OrderUpdateInterest) throws {
            trading = .allocate(capacity: 1)
            trading.initialize(
                to: TradingState(
                    strategies: [
                        StrategyLayout(
                            id: StrategyID(1), account: AccountID(1001), instruments: [InstrumentID(0)],
                            orderUpdates: interest)
                    ],
                    rules: [InstrumentDefinition.synthetic(InstrumentID(0), hosted: false).rules], orderCapacity: 16,
                    timerCapacity: 4, venueOrderCapacity: 16))
            books = .allocate(capacity: 1)
            books.initialize(to: InstrumentBooks(levels: try BookSet(count: 1), venue: nil))
            trading.pointee.beginEvent(time: 1_000)
        }

        deinit {
            trading.deinitialize(count: 1)
            trading.deallocate()
            books.deinitialize(count: 1)
            books.deallocate()
        }

        /// A buy of `lots` at 100 ticks, sent (its command taken off the queue).
        func submit(lots: Int64) -> OrderID? {
            var context = StrategyContext(state: trading, books: UnsafePointer(books), slot: 0)
            let id = context.submitLimit(
                InstrumentID(0), .buy, price: Price(ticks: 100), quantity: Quantity(lots: lots))
            while trading.pointee.nextCommand() != nil {}
            return id
        }

        /// Applies a report of `kind` for order `id`, exporting `exporting`; the kinds of the
        /// updates it queued.
        func apply(
            _ kind: ExecutionKind, _ id: OrderID, price: Int64 = 100, lots: Int64 = 0, leaves: Int64,
            tradeID: UInt64 = 0, exporting: OrderUpdateInterest
        ) -> [ExecutionKind] {
            trading.pointee.apply(
                ExecutionReport(
                    kind: kind, instrument: InstrumentID(0), orderID: id, account: AccountID(1001), side: .buy,
                    price: Price(ticks: price), quantity: Quantity(lots: lots), leavesQuantity: Quantity(lots: leaves),
                    tradeID: tradeID),
                exporting: exporting)
            var kinds: [ExecutionKind] = []
            while let update = trading.pointee.nextUpdate() { kinds.append(update.report.kind) }
            return kinds
        }
    }

    @Test func updatesNoOneTakesAreNotQueuedButStillApplied() throws {
        let harness = try Harness([.fills, .cancelled])
        let id = try #require(harness.submit(lots: 10))
        // The acceptance is applied (the order is working) and queued for no one.
        #expect(harness.apply(.accepted, id, leaves: 10, exporting: .fills).isEmpty)
        #expect(harness.trading.pointee.openOrder(id)?.state == .accepted)
        #expect(harness.trading.pointee.openOrder(id)?.acknowledged == true)
        #expect(
            harness.apply(.partiallyFilled, id, lots: 4, leaves: 6, tradeID: 1, exporting: .fills) == [.partiallyFilled]
        )
        #expect(harness.trading.pointee.position(slot: 0, instrument: InstrumentID(0))?.net == 4)
        // A cancel: the strategy takes it, the outputs do not.
        #expect(harness.apply(.cancelled, id, leaves: 0, exporting: .fills) == [.cancelled])
        #expect(harness.trading.pointee.openOrder(id) == nil)
    }

    @Test func whatTheOutputsExportIsQueuedEvenWhenTheStrategyTakesNone() throws {
        let harness = try Harness([])
        let id = try #require(harness.submit(lots: 10))
        #expect(harness.apply(.accepted, id, leaves: 10, exporting: .all) == [.accepted])
        #expect(harness.apply(.replaced, id, lots: 10, leaves: 10, exporting: .fills).isEmpty)
        #expect(harness.apply(.filled, id, lots: 10, leaves: 0, tradeID: 7, exporting: .fills) == [.filled])
        #expect(harness.trading.pointee.counters.filled == 1)
    }

    @Test func aStrategyIsCalledOnlyForTheUpdatesItTakes() throws {
        let harness = try Harness(.all)
        let id = try #require(harness.submit(lots: 10))
        var strategy = try FillsAndCancels(
            StrategyConfiguration(
                name: FillsAndCancels.name, id: StrategyID(1), account: AccountID(1001),
                instruments: [InstrumentID(0)],
                parameters: StrategyParameters(strategy: FillsAndCancels.name, given: [])))
        // Queued for the outputs (`.all`), and given to the strategy only when it takes them.
        for (kind, lots, leaves, trade) in [
            (ExecutionKind.accepted, Int64(0), Int64(10), UInt64(0)), (.partiallyFilled, 3, 7, 1),
            (.replaced, 7, 7, 0), (.cancelled, 0, 0, 0),
        ] {
            harness.trading.pointee.apply(
                ExecutionReport(
                    kind: kind, instrument: InstrumentID(0), orderID: id, account: AccountID(1001), side: .buy,
                    price: Price(ticks: 100), quantity: Quantity(lots: lots), leavesQuantity: Quantity(lots: leaves),
                    tradeID: trade))
            while let update = harness.trading.pointee.nextUpdate() {
                var context = StrategyContext(
                    state: harness.trading, books: UnsafePointer(harness.books), slot: 0)
                update.deliver(to: &strategy, &context)
            }
        }
        #expect(strategy.calls == ["filled 3", "cancelled"])
    }

    /// `TradingState.revision` moves with every change of an order or a position, and only then:
    /// a strategy may skip work while it stays (the market maker does).
    @Test func theRevisionMovesWithEveryOrderOrPositionChange() throws {
        let harness = try Harness(.all)
        let trading = harness.trading
        var context = StrategyContext(state: trading, books: UnsafePointer(harness.books), slot: 0)
        let start = context.revision
        /// The context's revision, less `start`.
        func moved(_ context: borrowing StrategyContext) -> UInt64 { context.revision - start }
        #expect(trading.pointee.revision == start)
        let id = try #require(harness.submit(lots: 10))
        #expect(moved(context) == 1)
        // Reads and refused commands change nothing.
        _ = context.order(id)
        _ = context.netPosition(InstrumentID(0))
        let unknownCancelled = context.cancel(OrderID(rawValue: 999))
        let emptySubmitted = context.submitLimit(
            InstrumentID(0), .buy, price: Price(ticks: 100), quantity: .zero)
        #expect(!unknownCancelled && emptySubmitted == nil)
        #expect(moved(context) == 1)
        _ = harness.apply(.accepted, id, leaves: 10, exporting: .all)
        #expect(moved(context) == 2)
        _ = harness.apply(.partiallyFilled, id, lots: 4, leaves: 6, tradeID: 1, exporting: .all)
        #expect(moved(context) == 3)
        let replaced = context.replace(id, price: Price(ticks: 99), quantity: Quantity(lots: 10))
        #expect(replaced && moved(context) == 4)
        _ = harness.apply(.replaced, id, lots: 10, leaves: 6, exporting: .all)
        #expect(moved(context) == 5)
        let cancelled = context.cancel(id)
        #expect(cancelled && moved(context) == 6)
        _ = harness.apply(.cancelled, id, leaves: 0, exporting: .all)
        #expect(moved(context) == 7)
        // A report for an order the engine no longer holds changes nothing.
        _ = harness.apply(.cancelled, id, leaves: 0, exporting: .all)
        #expect(moved(context) == 7)
        #expect(trading.pointee.counters.unknownReports == 1)
        // The engine's own cancels (a session's end, the kill switch) move it too.
        let second = try #require(harness.submit(lots: 5))
        #expect(moved(context) == 8)
        #expect(trading.pointee.cancelOpenOrders() == 1)
        #expect(trading.pointee.openOrder(second)?.state == .pendingCancel)
        #expect(moved(context) == 9)
    }

    @Test func acknowledgementsCountOnlyCommandsAnsweredAsSent() throws {
        let harness = try Harness(.all)
        let trading = harness.trading
        var context = StrategyContext(state: trading, books: UnsafePointer(harness.books), slot: 0)
        /// How far the revision and the acknowledgements moved since `start`.
        func moved(since start: (UInt64, UInt64), _ context: borrowing StrategyContext) -> [UInt64] {
            [context.revision - start.0, context.acknowledgements - start.1]
        }
        let start = (context.revision, context.acknowledgements)
        let id = try #require(harness.submit(lots: 10))
        #expect(moved(since: start, context) == [1, 0])
        // A new order accepted: an acknowledgement; the same report again is not.
        _ = harness.apply(.accepted, id, leaves: 10, exporting: .all)
        #expect(moved(since: start, context) == [2, 1])
        _ = harness.apply(.accepted, id, leaves: 10, exporting: .all)
        #expect(moved(since: start, context) == [3, 1])
        // A fill is not.
        _ = harness.apply(.partiallyFilled, id, lots: 4, leaves: 6, tradeID: 1, exporting: .all)
        #expect(moved(since: start, context) == [4, 1])
        // A replace done as asked is; one done at another price (or quantity) is not.
        /// A replace to 98 or 99 ticks for 10 lots, answered at `price` for `lots`.
        func replace(to asked: Int64, answeredAt price: Int64, lots: Int64, _ context: inout StrategyContext) -> Bool {
            let sent = context.replace(id, price: Price(ticks: asked), quantity: Quantity(lots: 10))
            _ = harness.apply(.replaced, id, price: price, lots: lots, leaves: lots - 4, exporting: .all)
            return sent
        }
        #expect(replace(to: 99, answeredAt: 99, lots: 10, &context))
        #expect(moved(since: start, context) == [6, 2])
        #expect(replace(to: 98, answeredAt: 97, lots: 10, &context))
        #expect(moved(since: start, context) == [8, 2])
        #expect(replace(to: 98, answeredAt: 98, lots: 9, &context))
        #expect(moved(since: start, context) == [10, 2])
        // An acceptance that leaves a cancel in flight changes what the order waits on: not one.
        let second = try #require(harness.submit(lots: 5))
        let cancelSent = context.cancel(second)
        #expect(cancelSent)
        _ = harness.apply(.accepted, second, leaves: 5, exporting: .all)
        #expect(trading.pointee.openOrder(second)?.state == .pendingCancel)
        #expect(moved(since: start, context) == [13, 2])
    }

    @Test func eachReportKindNeedsOneInterest() {
        #expect(OrderUpdateInterest(.accepted, open: true) == .accepted)
        #expect(OrderUpdateInterest(.rejected, open: false) == .rejected)
        #expect(OrderUpdateInterest(.partiallyFilled, open: true) == .fills)
        #expect(OrderUpdateInterest(.filled, open: false) == .fills)
        #expect(OrderUpdateInterest(.cancelled, open: false) == .cancelled)
        #expect(OrderUpdateInterest(.replaced, open: true) == .replaced)
        #expect(OrderUpdateInterest(.triggered, open: true) == .uncalled)
        // Reconciliation: an order its venue no longer holds is delivered as cancelled.
        #expect(OrderUpdateInterest(.status, open: false) == .cancelled)
        #expect(OrderUpdateInterest(.status, open: true) == .uncalled)
        let fillsAndCancels: OrderUpdateInterest = [.fills, .cancelled]
        #expect(fillsAndCancels.wants(.cancelled))
        #expect(!fillsAndCancels.wants(.accepted))
        #expect(!OrderUpdateInterest([]).wants(.fills))
        #expect(
            ExecutionKind.allCases.allSatisfy { OrderUpdateInterest.all.wants(OrderUpdateInterest($0, open: true)) })
    }
}
