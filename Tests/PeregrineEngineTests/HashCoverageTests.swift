import PeregrineBook
import PeregrineCore
import PeregrineEVM
import PeregrineMempool
import PeregrineModel
import Testing

@testable import PeregrineEngine
@testable import PeregrineStrategy

/// Every field that reaches the state or output hash changes it. Comparing a run with its own
/// replay cannot show a field left out (both sides leave it out), so each test here builds two
/// values that differ in one field only, and checks that every stored field is either varied
/// or listed as deliberately not hashed, so a new field cannot slip past unhashed.
@Suite("Hash coverage")
struct HashCoverageTests {
    /// One value per field of `base`, each differing from it in that field only.
    struct Variants<T> {
        var base: T
        var variants: [(field: String, value: T)] = []

        init(_ base: T) { self.base = base }

        mutating func vary(_ field: String, _ change: (inout T) -> Void) {
            var value = base
            change(&value)
            variants.append((field, value))
        }

        /// Checks the hash of each variant against the base, and that the variants plus
        /// `excluded` name every stored property of `T`.
        func expectEveryFieldHashed(
            excluded: Set<String> = [], _ hash: (T) -> UInt64, sourceLocation: SourceLocation = #_sourceLocation
        ) {
            let stored = Set(Mirror(reflecting: base).children.compactMap(\.label))
            let covered = Set(variants.map(\.field)).union(excluded)
            #expect(covered == stored, "fields neither varied nor excluded", sourceLocation: sourceLocation)
            let baseHash = hash(base)
            for (field, value) in variants {
                #expect(
                    hash(value) != baseHash, "changing \(field) leaves the hash unchanged",
                    sourceLocation: sourceLocation)
            }
        }
    }

    static func outputHash(_ body: (inout OutputHasher) -> Void) -> UInt64 {
        var hasher = OutputHasher()
        body(&hasher)
        return hasher.value
    }

    @Test func everyOutcomeFieldReachesTheOutputHash() {
        var outcomes = Variants(
            Outcome(
                sequence: 7, ingressTimestamp: 1_000, instrument: InstrumentID(2), kind: .trade, bestBidTicks: 100,
                bestAskTicks: 101, ordersSubmitted: 1, reportsEmitted: 2))
        outcomes.vary("sequence") { $0.sequence = 8 }
        outcomes.vary("bestBidTicks") { $0.bestBidTicks = 99 }
        outcomes.vary("bestAskTicks") { $0.bestAskTicks = 102 }
        outcomes.vary("instrument") { $0.instrument = InstrumentID(3) }
        outcomes.vary("kind") { $0.kind = .quote }
        outcomes.vary("ordersSubmitted") { $0.ordersSubmitted = 2 }
        outcomes.vary("reportsEmitted") { $0.reportsEmitted = 3 }
        // The ingress timestamp is a latency stamp (the source's clock when the event
        // arrived), not an output of the logic.
        outcomes.expectEveryFieldHashed(excluded: ["ingressTimestamp"]) { outcome in
            Self.outputHash { $0.fold(outcome) }
        }
    }

    @Test func everyExecutionReportFieldReachesTheOutputHash() {
        var reports = Variants(
            ExecutionReport(
                kind: .partiallyFilled, reason: .none, instrument: InstrumentID(1), orderID: OrderID(10),
                account: AccountID(3), side: .buy, price: Price(ticks: 500), quantity: Quantity(lots: 4),
                leavesQuantity: Quantity(lots: 6), tradeID: 9, contraOrderID: OrderID(11),
                contraAccount: AccountID(5), isAggressor: true))
        reports.vary("orderID") { $0.orderID = OrderID(12) }
        reports.vary("contraOrderID") { $0.contraOrderID = OrderID(13) }
        reports.vary("price") { $0.price = Price(ticks: 501) }
        reports.vary("quantity") { $0.quantity = Quantity(lots: 5) }
        reports.vary("leavesQuantity") { $0.leavesQuantity = Quantity(lots: 7) }
        reports.vary("tradeID") { $0.tradeID = 10 }
        reports.vary("account") { $0.account = AccountID(4) }
        reports.vary("contraAccount") { $0.contraAccount = AccountID(6) }
        reports.vary("instrument") { $0.instrument = InstrumentID(2) }
        reports.vary("kind") { $0.kind = .filled }
        reports.vary("reason") { $0.reason = .selfTradePrevention }
        reports.vary("side") { $0.side = .sell }
        reports.vary("isAggressor") { $0.isAggressor = false }
        reports.expectEveryFieldHashed { report in Self.outputHash { $0.fold(report) } }
    }

    static let order = VenueOrder(
        command: .limit(
            OrderID(5), account: AccountID(7), .buy, price: Price(ticks: 200), quantity: Quantity(lots: 3),
            timeInForce: .immediateOrCancel),
        instrument: InstrumentID(1), sequence: 40, decidedAt: 1_000)

    @Test func everyVenueOrderFieldReachesTheOutputHash() {
        var orders = Variants(Self.order)
        orders.vary("command") { $0.command.orderID = OrderID(6) }
        orders.vary("decidedAt") { $0.decidedAt = 1_001 }
        orders.vary("sequence") { $0.sequence = 41 }
        orders.vary("instrument") { $0.instrument = InstrumentID(2) }
        orders.expectEveryFieldHashed { order in Self.outputHash { $0.fold(order) } }

        var commands = Variants(Self.order.command)
        commands.vary("action") { $0.action = .replace }
        commands.vary("orderID") { $0.orderID = OrderID(6) }
        commands.vary("account") { $0.account = AccountID(8) }
        commands.vary("side") { $0.side = .sell }
        commands.vary("type") { $0.type = .stopLimit }
        commands.vary("timeInForce") { $0.timeInForce = .fillOrKill }
        commands.vary("price") { $0.price = Price(ticks: 201) }
        commands.vary("stopPrice") { $0.stopPrice = Price(ticks: 1) }
        commands.vary("quantity") { $0.quantity = Quantity(lots: 4) }
        commands.expectEveryFieldHashed { command in
            var order = Self.order
            order.command = command
            return Self.outputHash { $0.fold(order) }
        }
    }

    /// A bundle's legs and seals are outputs of the mempool logic: every field reaches the output hash.
    @Test func everyBundleLegAndSealFieldReachesTheOutputHash() {
        var base = BundleLeg.empty
        base.bundleID = 3
        base.victimLength = 4
        base.call.hops = 2
        var legs = Variants(base)
        legs.vary("bundleID") { $0.bundleID = 4 }
        legs.vary("backrunID") { $0.backrunID = 9 }
        legs.vary("victimHash") { $0.victimHash = TransactionHash(0, 0, 0, 1) }
        legs.vary("from") { $0.from = EVMAddress(first: 0, second: 0, third: 1) }
        legs.vary("nonce") { $0.nonce = 11 }
        legs.vary("sequence") { $0.sequence = 12 }
        legs.vary("arrival") { $0.arrival = 13 }
        legs.vary("targetBlock") { $0.targetBlock = 14 }
        legs.vary("maxFeePerGas") { $0.maxFeePerGas = 1 << 70 }
        legs.vary("maxPriorityFeePerGas") { $0.maxPriorityFeePerGas = 1 << 66 }
        legs.vary("call") { $0.call.amountIn = 1 << 80 }
        legs.vary("netProfit") { $0.netProfit = -(1 << 90) }
        legs.vary("victimLength") { $0.victimLength = 5 }
        legs.vary("victim") { $0.victim[3] = 7 }
        legs.expectEveryFieldHashed { leg in Self.outputHash { $0.fold(leg) } }

        var calls = Variants(base.call)
        calls.vary("tokenIn") { $0.tokenIn = EVMAddress(first: 0, second: 0, third: 1) }
        calls.vary("amountIn") { $0.amountIn = 1 << 100 }
        calls.vary("minimumOut") { $0.minimumOut = 1 << 65 }
        calls.vary("pools") { $0.pools.2 = EVMAddress(first: 1 << 60, second: 0, third: 0) }
        calls.vary("hops") { $0.hops = 3 }
        calls.vary("gasLimit") { $0.gasLimit = 150_000 }
        calls.expectEveryFieldHashed { call in
            var leg = base
            leg.call = call
            return Self.outputHash { $0.fold(leg) }
        }

        var seals = Variants(
            BundleSeal(bundleID: 1, legs: 2, targetBlock: 3, openedAt: 4, sealedAt: 5, sequence: 6))
        seals.vary("bundleID") { $0.bundleID = 7 }
        seals.vary("legs") { $0.legs = 1 }
        seals.vary("targetBlock") { $0.targetBlock = 8 }
        seals.vary("openedAt") { $0.openedAt = 9 }
        seals.vary("sealedAt") { $0.sealedAt = 10 }
        seals.vary("sequence") { $0.sequence = 11 }
        seals.expectEveryFieldHashed { seal in Self.outputHash { $0.fold(seal) } }
    }

    static func l2Hash(_ updates: [LevelUpdate]) throws -> UInt64 {
        var book = try L2Book(instrument: InstrumentID(0))
        for update in updates { _ = book.apply(update) }
        var hasher = StateHasher()
        book.combineState(into: &hasher)
        return hasher.value
    }

    @Test func everyLevelOfAnL2BookReachesTheStateHash() throws {
        let base = [
            LevelUpdate(side: .buy, price: Price(ticks: 999), quantity: Quantity(lots: 5)),
            LevelUpdate(side: .buy, price: Price(ticks: 998), quantity: Quantity(lots: 6)),
            LevelUpdate(side: .sell, price: Price(ticks: 1_001), quantity: Quantity(lots: 7)),
        ]
        let baseHash = try Self.l2Hash(base)
        var deeperQuantity = base
        deeperQuantity[1].quantity = Quantity(lots: 4)
        var otherPrice = base
        otherPrice[2].price = Price(ticks: 1_002)
        var otherSide = base
        otherSide[1] = LevelUpdate(side: .sell, price: Price(ticks: 1_003), quantity: Quantity(lots: 6))
        let extraLevel = base + [LevelUpdate(side: .sell, price: Price(ticks: 1_010), quantity: Quantity(lots: 1))]
        for (name, updates) in [
            ("a deeper level's quantity", deeperQuantity), ("an ask's price", otherPrice),
            ("a level's side", otherSide), ("one more level", extraLevel),
        ] {
            #expect(try Self.l2Hash(updates) != baseHash, "\(name) leaves the book hash unchanged")
        }
    }

    static func orderBookHash(_ commands: [OrderCommand]) throws -> UInt64 {
        var book = try OrderBook(
            spec: InstrumentSpec(
                instrument: InstrumentID(0), orderCapacity: 64))
        var sink = ExecutionReportCollector()
        for command in commands { book.process(command, sink: &sink) }
        return book.stateHash()
    }

    @Test func everyFieldOfARestingOrderReachesTheStateHash() throws {
        func limit(
            id: UInt64 = 1, account: UInt32 = 7, side: Side = .buy, price: Int64 = 100, quantity: Int64 = 10
        ) -> OrderCommand {
            .limit(
                OrderID(id), account: AccountID(account), side, price: Price(ticks: price),
                quantity: Quantity(lots: quantity), timeInForce: .goodTillCancel)
        }
        func stop(stopPrice: Int64 = 120, limitPrice: Int64 = 125, timeInForce: TimeInForce = .goodTillCancel)
            -> OrderCommand
        {
            .stopLimit(
                OrderID(4), account: AccountID(7), .buy, stopPrice: Price(ticks: stopPrice),
                price: Price(ticks: limitPrice), quantity: Quantity(lots: 1), timeInForce: timeInForce)
        }
        let baseHash = try Self.orderBookHash([limit(), stop()])
        let variants: [(String, [OrderCommand])] = [
            ("order id", [limit(id: 2), stop()]),
            ("account", [limit(account: 8), stop()]),
            ("side", [limit(side: .sell), stop()]),
            ("price", [limit(price: 101), stop()]),
            ("open quantity", [limit(quantity: 11), stop()]),
            ("filled quantity", [limit(quantity: 14), limit(id: 3, account: 9, side: .sell, quantity: 4), stop()]),
            ("stop price", [limit(), stop(stopPrice: 121)]),
            ("stop order's limit price", [limit(), stop(limitPrice: 126)]),
            ("time in force", [limit(), stop(timeInForce: .immediateOrCancel)]),
            (
                "order type",
                [
                    limit(),
                    .stopMarket(
                        OrderID(4), account: AccountID(7), .buy, stopPrice: Price(ticks: 120),
                        quantity: Quantity(lots: 1)),
                ]
            ),
            ("time priority", [stop(), limit()]),
        ]
        for (field, commands) in variants {
            #expect(try Self.orderBookHash(commands) != baseHash, "the \(field) leaves the book hash unchanged")
        }
    }
}

/// Every part of the engine's state reaches its state hash: each counter, the books, the
/// strategy and the venue, changed one at a time in a logic that has run a little.
@Suite("Engine state hash coverage")
struct EngineStateHashCoverageTests {
    /// A market maker on the hosted instruments (orders, positions) and a follower on the
    /// market-data ones, after 2,000 events with a timer scheduled.
    static func logic() throws -> EngineLogic<IdleStrategy> {
        var configuration = EngineConfiguration()
        configuration.strategies = [StrategySpec(name: "market-maker")] + PipelineTests.follower
        configuration.instruments = 2
        configuration.orderFlowPercent = 30
        configuration.venueOrderCapacity = 1_024
        var market = SyntheticMarket(instruments: 2, seed: 11, orderFlowPercent: 30)
        var logic = try EngineLogic(configuration: configuration, custom: IdleStrategy.self)
        var outputs = HashingOutputs()
        for sequence in 0..<2_000 {
            logic.handle(market.next(timestamp: UInt64(sequence) * 5_000), sequence: Int64(sequence), outputs: &outputs)
        }
        _ = logic.trading.pointee.schedule(at: 50_000_000, tag: 7, slot: 0)
        return logic
    }

    @Test func everyPartOfTheEngineStateReachesTheStateHash() throws {
        let base = try Self.logic().stateHash()
        let changes: [(String, (inout EngineLogic<IdleStrategy>) -> Void)] = [
            ("last sequence", { $0._lastSequence += 1 }),
            ("processed", { $0._processed += 1 }),
            ("orders", { $0._orders += 1 }),
            ("venue orders", { $0._venueOrders += 1 }),
            (
                "a book level",
                {
                    $0.books.pointee.apply(
                        LevelUpdate(side: .buy, price: Price(ticks: 1), quantity: Quantity(lots: 3)),
                        to: InstrumentID(0))
                }
            ),
            ("a strategy's order numbering", { $0.trading.pointee.slots[0].nextSequence += 1 }),
            (
                "a position",
                {
                    $0.trading.pointee.positions[0].apply(
                        side: .buy, price: Price(ticks: 5), quantity: Quantity(lots: 1), fee: .zero)
                }
            ),
            (
                "an open order",
                { logic in
                    let index = Int(logic.trading.pointee.listHead[0])
                    #expect(index >= 0)
                    logic.trading.pointee.orders[index].fees.units += 1
                }
            ),
            ("a timer", { $0.trading.pointee.timers[0].tag += 1 }),
            ("a trading counter", { $0.trading.pointee._counters.duplicateReports += 1 }),
            ("a risk reject counter", { $0.trading.pointee._counters.riskRejected[2] += 1 }),
            ("the kill switch", { _ = $0.trading.pointee.tripKillSwitch(.operatorCommand) }),
            ("a mark", { $0.trading.pointee.marks[0] &+= 1 }),
            ("the trading day", { $0.trading.pointee.tradingDay &+= 1 }),
            ("the UTC anchor", { $0.trading.pointee.utcAnchor &+= 1 }),
            ("a throttle", { $0.trading.pointee.throttles[0].updatedAt &+= 1 }),
            ("the strategy", { $0.strategies.pointee.marketMakers.base[0].bids[0] &+= 1 }),
            (
                "the venue",
                { logic in
                    var sink = ExecutionReportCollector()
                    logic.books.pointee.process(
                        .limit(
                            OrderID(77_777), account: AccountID(1), .buy, price: Price(ticks: 1_000_000 - 30_000),
                            quantity: Quantity(lots: 1)),
                        instrument: InstrumentID(2), sink: &sink)
                    #expect(sink.reports.first?.kind == .accepted)
                }
            ),
        ]
        for (part, change) in changes {
            var logic = try Self.logic()
            #expect(logic.stateHash() == base)
            change(&logic)
            #expect(logic.stateHash() != base, "changing \(part) leaves the state hash unchanged")
        }
    }
}

/// The hashes of a small fixed run, pinned: a change of what is hashed (or of what the logic
/// does) changes them, so it has to be a deliberate, visible change of these constants.
@Suite("Pinned hashes")
struct PinnedHashTests {
    @Test func aFixedSeedRunHasTheseHashes() throws {
        var configuration = EngineConfiguration()
        configuration.strategies = [StrategySpec(name: "market-maker")] + PipelineTests.follower
        configuration.instruments = 4
        configuration.orderFlowPercent = 30
        configuration.venueOrderCapacity = 4_096
        var market = SyntheticMarket(instruments: 4, seed: 7, orderFlowPercent: 30)
        var logic = try EngineLogic(configuration: configuration, custom: IdleStrategy.self)
        var outputs = HashingOutputs()
        for sequence in 0..<20_000 {
            let event = market.next(timestamp: UInt64(sequence) * 5_000)
            logic.handle(event, sequence: Int64(sequence), outputs: &outputs)
        }
        #expect(outputs.outcomes == 20_000)
        // These hashes are logic revision 4's (revisions 2 to 4 left them as revision 1's: no
        // kill switch, no risk rule and no golden cross here). A change that moves them on purpose replays old
        // journals differently: raise `LogicSettings.currentRevision` and pin both here
        // (docs/journal.md, "Upgrading the engine").
        #expect(LogicSettings.currentRevision == 4)
        #expect(hexHash(logic.stateHash()) == "f6094da3894778f2")
        #expect(hexHash(outputs.hasher.value) == "75993c21a43b5119")
        #expect(outputs.reportCount == 8_309)
        #expect(outputs.orders == 66)
    }
}
