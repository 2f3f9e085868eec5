import PeregrineBook
import PeregrineCore
import PeregrineEngine
import PeregrineModel
import PeregrineRisk
import PeregrineStrategy
import Testing

/// Each built-in strategy's decisions on scripted data.
@Suite("Built-in strategies")
struct BuiltInStrategyTests {
    static func logic(
        _ strategies: [StrategySpec], instruments: Int = 1, orderFlow: Int = 0, risk: [RiskRule] = []
    ) throws -> EngineLogic<IdleStrategy> {
        var configuration = EngineConfiguration()
        configuration.instruments = instruments
        configuration.orderFlowPercent = orderFlow
        configuration.venueOrderCapacity = 64
        configuration.strategies = strategies
        configuration.risk = risk
        return try EngineLogic(configuration: configuration, custom: IdleStrategy.self)
    }

    static func flow(_ id: UInt64, _ side: Side, _ price: Int64, _ lots: Int64, ioc: Bool = false) -> Event {
        Event(
            timestamp: id * 1_000, instrument: InstrumentID(1),
            payload: .order(
                .limit(
                    OrderID(id), account: AccountID(side == .buy ? 7 : 8), side, price: Price(ticks: price),
                    quantity: Quantity(lots: lots), timeInForce: ioc ? .immediateOrCancel : .goodTillCancel)))
    }

    static func quote(_ instrument: UInt32, bid: Int64, ask: Int64, time: UInt64) -> Event {
        Event(
            timestamp: time, instrument: InstrumentID(instrument),
            payload: .quote(
                Quote(
                    bidPrice: Price(ticks: bid), bidQuantity: Quantity(lots: 5), askPrice: Price(ticks: ask),
                    askQuantity: Quantity(lots: 5))))
    }

    static func level(_ instrument: UInt32, _ side: Side, _ price: Int64, _ lots: Int64, time: UInt64) -> Event {
        Event(
            timestamp: time, instrument: InstrumentID(instrument),
            payload: .levelUpdate(LevelUpdate(side: side, price: Price(ticks: price), quantity: Quantity(lots: lots))))
    }

    /// fast 2, slow 3 on the hosted book's mid (twice the mid: 200, 200, 200, 201, 200, 200):
    /// equal sums leave the target at 0; 401 × 3 > 601 × 2 makes it +1 (a market buy of 1 at the
    /// ask, 101); 400 × 3 < 601 × 2 makes it −1 (one market sell of 2 at the bid, 99, where two
    /// orders of 1 lot rest: two fills).
    /// A quantity is described as its plain decimal, however it was written (the reports'
    /// provenance and a sweep's identity read the description).
    @Test func aQuantityIsDescribedAsItsPlainDecimal() throws {
        for (written, described) in [("00.0010", "0.001"), (".002", "0.002"), ("3.", "3"), ("0.001", "0.001")] {
            let logic = try Self.logic(
                [StrategySpec(name: "golden-cross", parameters: [("quantity", written)])], orderFlow: 10)
            #expect(logic.strategyDescriptions.count == 1)
            #expect(logic.strategyDescriptions.first?.contains(" quantity=\(described)") == true, "\(written)")
        }
    }

    @Test func goldenCrossHoldsTheRegimeOfItsAverages() throws {
        var logic = try Self.logic(
            [StrategySpec(name: "golden-cross", parameters: [("fast", "2"), ("slow", "3"), ("quantity", "0.001")])],
            orderFlow: 10)
        var outputs = RecordingOutputs()
        let events = [
            Self.flow(1, .buy, 99, 10), Self.flow(2, .sell, 101, 10), Self.flow(3, .buy, 99, 1),
            Self.flow(4, .buy, 99, 1), Self.flow(5, .buy, 100, 2), Self.flow(6, .sell, 100, 2, ioc: true),
            Self.flow(7, .sell, 99, 10, ioc: true),
        ]
        for (sequence, event) in events.enumerated() {
            logic.handle(event, sequence: Int64(sequence), outputs: &outputs)
            if sequence == 3 { #expect(logic.orders == 0) }
        }
        let own = outputs.reports.filter { $0.orderID.isStrategyOrder && $0.isFill }
        #expect(own.map(\.side) == [.buy, .sell, .sell])
        #expect(own.map(\.price.ticks) == [101, 99, 99] && own.map(\.quantity.lots) == [1, 1, 1])
        #expect(own.map(\.kind) == [.filled, .partiallyFilled, .filled])
        #expect(logic.orders == 2)
        logic.withTrading { trading in
            let position = trading.position(slot: 0, instrument: InstrumentID(1)) ?? Position()
            #expect(position.net == -1 && position.realised == Money(tickLots: -2))
            #expect(position.averageEntry == Price(ticks: 99))
        }
    }

    /// window 3, entry 1.0: mids (twice) 200, 200, 200 have no spread (z 0); 210 has z =
    /// (3 × 210 − 610) ÷ sqrt(3 × 124,100 − 610²) = 20 ÷ √200 ≈ 1.41 > 1: short 1 (a market
    /// sell, sent out: instrument 0 is traded elsewhere).
    @Test func meanReversionSellsAStretchedMid() throws {
        var logic = try Self.logic(
            [
                StrategySpec(
                    name: "mean-reversion", parameters: [("window", "3"), ("entry", "1"), ("quantity", "0.001")])
            ])
        var outputs = RecordingOutputs()
        for (sequence, (bid, ask)) in [(99, 101), (99, 101), (100, 100), (104, 106)].enumerated() {
            logic.handle(
                Self.quote(0, bid: Int64(bid), ask: Int64(ask), time: UInt64(sequence)), sequence: Int64(sequence),
                outputs: &outputs)
            if sequence == 2 { #expect(outputs.orders.isEmpty) }
        }
        #expect(outputs.orders.count == 1)
        let command = try #require(outputs.orders.first?.command)
        #expect(command.type == .market && command.side == .sell && command.quantity.lots == 1)
        #expect(outputs.orders.first?.sequence == 3)
    }

    /// Instrument 0 bids 100 while instrument 1 offers 99 (3 lots shown): the 1-tick edge on 3
    /// lots beats both legs' taker fees, so it buys 3 at 99 on instrument 1 and sells 3 at 100 on
    /// instrument 0, both IOC; with a minimum edge of 1 tick, it does nothing.
    @Test func crossVenueArbitrageTakesBothSidesWhenTheEdgePays() throws {
        let book = [
            Self.level(0, .buy, 100, 5, time: 1), Self.level(0, .sell, 101, 5, time: 2),
            Self.level(1, .buy, 98, 5, time: 3), Self.level(1, .sell, 99, 3, time: 4),
        ]
        // Both legs or neither: a throttle with room for one order sends none (the second leg
        // refused takes the first back), one with room for two sends both.
        let cases: [(String, [RiskRule], Int)] = [
            ("0", [], 2), ("1", [], 0), ("0", [RiskRule(maxOrdersPerSecond: "1", orderBurst: 1)], 0),
            ("0", [RiskRule(maxOrdersPerSecond: "1", orderBurst: 2)], 2),
        ]
        for (minimumEdge, risk, expected) in cases {
            var logic = try Self.logic(
                [
                    StrategySpec(
                        name: "cross-venue-arbitrage", instruments: [InstrumentID(0), InstrumentID(1)],
                        parameters: [("quantity", "10"), ("min-edge", minimumEdge)])
                ], instruments: 2, risk: risk)
            var outputs = RecordingOutputs()
            for (sequence, event) in book.enumerated() {
                logic.handle(event, sequence: Int64(sequence), outputs: &outputs)
            }
            #expect(outputs.orders.count == expected)
            guard expected == 2 else { continue }
            #expect(outputs.orders.map(\.instrument) == [InstrumentID(1), InstrumentID(0)])
            #expect(outputs.orders.map(\.command.side) == [.buy, .sell])
            #expect(outputs.orders.map(\.command.price.ticks) == [99, 100])
            #expect(
                outputs.orders.allSatisfy {
                    $0.command.quantity.lots == 3 && $0.command.timeInForce == .immediateOrCancel
                })
        }
    }

    /// The arbitrage compares ticks and lots across its two instruments: two grids would mix
    /// them (legs of unequal size, an "edge" between prices on different ticks), so another
    /// tick or lot on either is refused, naming both grids; one grid (finer than the synthetic
    /// one on both) runs.
    @Test func theArbitrageRefusesTwoInstrumentsOnDifferentGrids() throws {
        let spec = StrategySpec(name: "cross-venue-arbitrage", instruments: [InstrumentID(0), InstrumentID(1)])
        func configuration(tick: String, lot: String) throws -> EngineConfiguration {
            var configuration = EngineConfiguration()
            configuration.instruments = 2
            configuration.strategies = [spec]
            let first = InstrumentDefinition.synthetic(InstrumentID(0), hosted: false)
            var second = InstrumentDefinition.synthetic(InstrumentID(1), hosted: false)
            second.tickSize = try Increment(tick)
            second.lotSize = try Increment(lot)
            configuration.instrumentDefinitions = [first, second]
            return configuration
        }
        for (tick, lot, grid) in [("0.1", "0.001", "tick 0.1 and lot 0.001"), ("0.01", "0.1", "tick 0.01 and lot 0.1")]
        {
            #expect(throws: EngineError.self) {
                _ = try EngineLogic(configuration: configuration(tick: tick, lot: lot), custom: IdleStrategy.self)
            }
            do {
                _ = try EngineLogic(configuration: configuration(tick: tick, lot: lot), custom: IdleStrategy.self)
            } catch {
                #expect(
                    "\(error)".contains(
                        "strategy cross-venue-arbitrage: it compares prices in ticks and sizes in lots, so its two "
                            + "instruments must be on one grid, but instrument 0 has tick 0.01 and lot 0.001, "
                            + "instrument 1 has \(grid)"))
            }
        }
        _ = try EngineLogic(configuration: configuration(tick: "0.01", lot: "0.001"), custom: IdleStrategy.self)
    }

    /// A trade of 600 lots (at least 500) is followed with an IOC buy of 10 at its price; one of
    /// 400 is not, nor is one in a book whose spread is wider than 50 ticks.
    @Test func theFollowerFollowsLargeTradesInTightBooks() throws {
        var logic = try Self.logic([StrategySpec(name: "large-trade-follower")], instruments: 2)
        var outputs = RecordingOutputs()
        let events = [
            Self.level(0, .buy, 990, 5, time: 1), Self.level(0, .sell, 1_010, 5, time: 2),
            Self.level(1, .buy, 900, 5, time: 3), Self.level(1, .sell, 1_100, 5, time: 4),
            Event(
                timestamp: 5, instrument: InstrumentID(0),
                payload: .trade(
                    Trade(price: Price(ticks: 1_010), quantity: Quantity(lots: 400), aggressor: .buy, tradeID: 1))),
            Event(
                timestamp: 6, instrument: InstrumentID(0),
                payload: .trade(
                    Trade(price: Price(ticks: 1_010), quantity: Quantity(lots: 600), aggressor: .buy, tradeID: 2))),
            Event(
                timestamp: 7, instrument: InstrumentID(1),
                payload: .trade(
                    Trade(price: Price(ticks: 1_100), quantity: Quantity(lots: 900), aggressor: .buy, tradeID: 3))),
        ]
        for (sequence, event) in events.enumerated() {
            logic.handle(event, sequence: Int64(sequence), outputs: &outputs)
        }
        #expect(outputs.orders.count == 1)
        let order = try #require(outputs.orders.first)
        #expect(order.instrument == InstrumentID(0) && order.sequence == 5)
        #expect(order.command.side == .buy && order.command.price.ticks == 1_010 && order.command.quantity.lots == 10)
        #expect(order.command.timeInForce == .immediateOrCancel)
    }
}

extension BuiltInStrategyTests {
    /// A market maker with a strong skew (100 ticks per `size` of inventory) long 10 lots would
    /// put its ask 98 ticks under the market's best bid; it stops one tick above it instead, so
    /// the post-only quote rests (replaced, not rejected).
    @Test func theMarketMakersSkewNeverCrossesTheMarket() throws {
        var logic = try Self.logic(
            [StrategySpec(name: "market-maker", parameters: [("skew", "100")])], orderFlow: 10)
        var outputs = RecordingOutputs()
        for (sequence, event) in [
            Self.flow(1, .buy, 1_000, 10), Self.flow(2, .sell, 1_010, 10), Self.flow(3, .sell, 1_003, 10, ioc: true),
        ].enumerated() {
            logic.handle(event, sequence: Int64(sequence), outputs: &outputs)
        }
        let own = outputs.reports.filter { $0.orderID.isStrategyOrder }
        // Quotes 1,003 / 1,007; the bid fills; a new bid goes to 903 (1,005 − 2 − 100), and the
        // ask moves to 1,001 (the market's bid 1,000 + 1), not to 907, 93 ticks under that bid.
        #expect(own.map(\.kind) == [.accepted, .accepted, .filled, .accepted, .replaced])
        #expect(own[3].side == .buy && own[3].price.ticks == 903)
        #expect(own[4].side == .sell && own[4].price.ticks == 1_001)
        #expect(logic.tradingCounters.rejected == 0)
    }
}
