import PeregrineBook
import PeregrineCore
import PeregrineModel
import Testing

/// Millions of random commands through `OrderBook` and `ReferenceOrderBook`, comparing every
/// report and, at checkpoints and at the end, the whole book.
@Suite("Order book against the reference model")
struct OrderBookReferenceTests {
    struct Setup: CustomTestStringConvertible, Sendable {
        var mode: SelfTradePrevention
        var tickSize: Int64
        var lotSize: Int64
        var capacity: Int
        var seed: UInt64
        /// Ticks between the levels the generator uses (a multiple of the tick size).
        var spacing: Int64 = 0
        /// One price in `farEvery` is up to 10^8 ticks from the mid (0: none).
        var farEvery = 0
        var collar: Int64? = nil
        var stopInMarket = StopInMarketPolicy.reject
        var maxLevels = InstrumentSpec.defaultMaxLevelsPerSide
        var windowTicks = InstrumentSpec.defaultWindowTicks
        /// The mid walks up and down between these levels (a market trending far, then back)
        /// instead of wandering between 30 and 180.
        var trend: ClosedRange<Int64>? = nil
        var testDescription: String {
            "\(mode) tick \(tickSize) lot \(lotSize) capacity \(capacity) spacing \(spacing == 0 ? tickSize : spacing)"
                + (farEvery > 0 ? " far 1/\(farEvery)" : "") + (collar.map { " collar \($0) bps" } ?? "")
                + " stops-in-market \(stopInMarket)"
                + (maxLevels < InstrumentSpec.defaultMaxLevelsPerSide ? " ≤\(maxLevels) levels" : "")
                + (windowTicks != InstrumentSpec.defaultWindowTicks ? " window \(windowTicks)" : "")
                + (trend.map { " trending \($0.lowerBound)...\($0.upperBound)" } ?? "")
        }
    }

    static let setups: [Setup] = [
        Setup(mode: .cancelNewest, tickSize: 1, lotSize: 1, capacity: 100_000, seed: 1),
        Setup(mode: .cancelOldest, tickSize: 1, lotSize: 1, capacity: 100_000, seed: 2),
        Setup(mode: .cancelBoth, tickSize: 1, lotSize: 1, capacity: 100_000, seed: 3),
        Setup(mode: .allow, tickSize: 1, lotSize: 1, capacity: 100_000, seed: 4),
        Setup(mode: .cancelNewest, tickSize: 5, lotSize: 10, capacity: 100_000, seed: 5),
        Setup(mode: .cancelOldest, tickSize: 1, lotSize: 1, capacity: 40, seed: 6),
        Setup(mode: .allow, tickSize: 2, lotSize: 1, capacity: 60, seed: 7),
        Setup(mode: .cancelBoth, tickSize: 1, lotSize: 5, capacity: 100_000, seed: 8),
        // Prices 30 × 10^6 ... 180 × 10^6 ticks (a span of 1.5 × 10^8): every level in the sorted stores.
        Setup(mode: .cancelNewest, tickSize: 1, lotSize: 1, capacity: 100_000, seed: 9, spacing: 1_000_000),
        Setup(mode: .cancelOldest, tickSize: 100, lotSize: 1, capacity: 100_000, seed: 10, spacing: 12_345_600),
        // A coarse book near the touch plus orders up to 10^8 ticks away that stay: window and
        // sorted store merged.
        Setup(mode: .cancelBoth, tickSize: 1, lotSize: 1, capacity: 100_000, seed: 11, farEvery: 8),
        Setup(mode: .cancelNewest, tickSize: 1, lotSize: 1, capacity: 100_000, seed: 12, collar: 400),
        Setup(
            mode: .allow, tickSize: 1, lotSize: 1, capacity: 100_000, seed: 13, spacing: 1_000_000, collar: 500,
            stopInMarket: .trigger),
        Setup(mode: .cancelNewest, tickSize: 1, lotSize: 1, capacity: 100_000, seed: 14, maxLevels: 6),
        // A market trending 20,000 ticks up and back through windows of 64 ticks (on a tick
        // grid, then on one of 5 ticks): the windows follow the touch (275 and 14,042 moves),
        // leaving orders behind in the sorted stores.
        Setup(
            mode: .cancelOldest, tickSize: 1, lotSize: 1, capacity: 100_000, seed: 15, windowTicks: 64,
            trend: 30...20_000),
        Setup(
            mode: .allow, tickSize: 5, lotSize: 1, capacity: 100_000, seed: 16, spacing: 5, windowTicks: 64,
            trend: 30...8_000),
    ]

    static let commandsPerSetup = 250_000

    @Test(arguments: setups)
    func everyReportAndTheFinalBookMatchTheReference(_ setup: Setup) throws {
        let spec = InstrumentSpec(
            instrument: InstrumentID(1), tickSize: setup.tickSize, lotSize: setup.lotSize,
            orderCapacity: setup.capacity,
            selfTradePolicy: SelfTradePolicy(default: setup.mode, overrides: [AccountID(3): .allow]),
            windowTicks: setup.windowTicks, maxLevelsPerSide: setup.maxLevels, priceCollarBasisPoints: setup.collar,
            stopInMarket: setup.stopInMarket)
        var book = try OrderBook(spec: spec)
        var reference = ReferenceOrderBook(spec: spec)
        var generator = CommandGenerator(
            seed: setup.seed, tickSize: setup.tickSize, lotSize: setup.lotSize,
            spacing: setup.spacing == 0 ? setup.tickSize : setup.spacing, farEvery: setup.farEvery, trend: setup.trend)
        var reasons: [ExecutionReason: Int] = [:]
        var sink = ExecutionReportCollector()
        var kinds: [ExecutionKind: Int] = [:]
        for index in 0..<Self.commandsPerSetup {
            let command = generator.next(live: reference)
            sink.reports.removeAll(keepingCapacity: true)
            book.process(command, sink: &sink)
            let expected = reference.process(command)
            guard sink.reports == expected else {
                Issue.record("command \(index) \(command): got\n\(sink.reports)\nexpected\n\(expected)")
                return
            }
            for report in expected {
                kinds[report.kind, default: 0] += 1
                reasons[report.reason, default: 0] += 1
            }
            if index % 5_000 == 0 {
                let same = Self.sameBook(book, reference)
                try #require(same, "books differ after command \(index)")
            }
        }
        let same = Self.sameBook(book, reference)
        #expect(same)
        // The stream must exercise every kind of report, or the comparison proves little.
        for kind in ExecutionKind.allCases {
            #expect((kinds[kind] ?? 0) > 100, "only \(kinds[kind] ?? 0) \(kind) reports")
        }
        // And every rule the setup turns on.
        if setup.collar != nil { #expect((reasons[.outsidePriceCollar] ?? 0) > 100) }
        if setup.maxLevels < InstrumentSpec.defaultMaxLevelsPerSide { #expect((reasons[.levelCeiling] ?? 0) > 100) }
        if setup.stopInMarket == .reject { #expect((reasons[.stopWouldTriggerImmediately] ?? 0) > 100) }
        #expect((reasons[.priceOutOfRange] ?? 0) > 100)
        // A trending market must have moved the windows many times: at least once per 4
        // windows of the trend's range. Near the touch alone, none move: the mid stays within
        // half the default window. (Far orders may move them too, when the levels near the
        // touch are gone; a grid sparser than a quarter of the window does not.)
        if let trend = setup.trend {
            let spacing = setup.spacing == 0 ? setup.tickSize : setup.spacing
            let least = Int((trend.upperBound - trend.lowerBound) * spacing) / (4 * setup.windowTicks)
            #expect(book.windowMoves >= least, "\(book.windowMoves) window moves")
        } else if setup.spacing <= setup.tickSize, setup.farEvery == 0 {
            #expect(book.windowMoves == 0)
        }
    }

    static func sameBook(_ book: borrowing OrderBook, _ reference: ReferenceOrderBook) -> Bool {
        func view(_ orders: [RestingOrder]) -> [[Int64]] {
            orders.map {
                [
                    Int64($0.orderID.rawValue), Int64($0.account.rawValue), $0.price.ticks, $0.stopPrice.ticks,
                    $0.leavesQuantity.lots, $0.filledQuantity.lots,
                ]
            }
        }
        func view(_ orders: [ReferenceOrderBook.Order]) -> [[Int64]] {
            orders.map { [Int64($0.id), Int64($0.account), $0.price, $0.stopPrice, $0.leaves, $0.filled] }
        }
        return view(book.orders(.buy)) == view(reference.bids) && view(book.orders(.sell)) == view(reference.asks)
            && view(book.pendingStops(.buy)) == view(reference.buyStops)
            && view(book.pendingStops(.sell)) == view(reference.sellStops)
            && book.lastTradePrice?.ticks == reference.lastTrade
    }
}

/// Random commands around a moving mid price: mostly limits near the touch, cancels and
/// replaces of live orders, some market, IOC, FOK, post-only and stop orders, and a few
/// invalid ones of every kind.
struct CommandGenerator {
    var random: SplitMix64
    let tickSize: Int64
    let lotSize: Int64
    let spacing: Int64
    let farEvery: Int
    /// Where level 0 is: far prices below the mid stay positive.
    let origin: Int64
    var nextID: UInt64 = 1
    var mid: Int64 = 100

    /// Where the mid trends between (nil: it wanders between 30 and 180), and which way it goes.
    let trend: ClosedRange<Int64>?
    var rising = true

    init(seed: UInt64, tickSize: Int64, lotSize: Int64, spacing: Int64, farEvery: Int, trend: ClosedRange<Int64>? = nil)
    {
        self.trend = trend
        random = SplitMix64(seed: seed)
        self.tickSize = tickSize
        self.lotSize = lotSize
        self.spacing = spacing
        self.farEvery = farEvery
        origin = farEvery > 0 ? 200_000_000 : 0
    }

    mutating func roll(_ bound: Int) -> Int { Int(random.next(below: UInt64(bound))) }

    mutating func price() -> Int64 {
        if roll(200) == 0 {
            return [0, 5, 1_000, -tickSize, origin + mid * spacing + 1, Int64.max, (1 << 62) + tickSize][roll(7)]
        }
        if farEvery > 0, roll(farEvery) == 0 {
            let away = Int64(1 + roll(100_000_000)) / tickSize * tickSize
            return origin + mid * spacing + (roll(2) == 0 ? away : -away)
        }
        return origin + (mid + Int64(roll(13)) - 6) * spacing
    }

    mutating func quantity() -> Int64 {
        if roll(300) == 0 { return [0, -lotSize, lotSize + 1, 2_000_000_000_000][roll(4)] }
        return Int64(1 + roll(8)) * lotSize
    }

    mutating func account() -> AccountID { AccountID(UInt32(roll(4))) }

    mutating func liveID(_ live: ReferenceOrderBook) -> (UInt64, UInt32) {
        let lists = [live.bids, live.asks, live.buyStops, live.sellStops]
        let all = lists.flatMap { $0 }
        if all.isEmpty || roll(40) == 0 { return (UInt64(roll(Int(nextID) + 5)), UInt32(roll(4))) }
        let order = all[roll(all.count)]
        return (order.id, roll(60) == 0 ? UInt32(roll(4)) : order.account)
    }

    mutating func next(live: ReferenceOrderBook) -> OrderCommand {
        if let trend {
            // A step of 0 to 2 levels the way it goes every 5 commands on average.
            if roll(5) == 0 { mid += (rising ? 1 : -1) * Int64(roll(3)) }
            if mid >= trend.upperBound { rising = false }
            if mid <= trend.lowerBound { rising = true }
        } else if roll(50) == 0 {
            mid = min(180, max(30, mid + Int64(roll(7)) - 3))
        }
        let side: Side = roll(2) == 0 ? .buy : .sell
        let newID = roll(100) == 0 ? UInt64(roll(Int(nextID))) : nextID
        nextID += 1
        switch roll(100) {
        case 0..<45:
            let timeInForce: TimeInForce = [
                .goodTillCancel, .goodTillCancel, .goodTillCancel, .immediateOrCancel,
                .fillOrKill, .postOnly,
            ][roll(6)]
            return .limit(
                OrderID(newID), account: account(), side, price: Price(ticks: price()),
                quantity: Quantity(lots: quantity()), timeInForce: timeInForce)
        case 45..<67:
            let (id, owner) = liveID(live)
            return .cancel(OrderID(id), account: AccountID(owner))
        case 67..<70:
            // A status request (reconciliation): for a live order, or one that is not.
            let (id, owner) = liveID(live)
            return .status(OrderID(roll(4) == 0 ? newID : id), account: AccountID(owner))
        case 70..<82:
            let (id, owner) = liveID(live)
            let total = roll(10) == 0 ? 0 : quantity()
            let samePrice = live.bids.first { $0.id == id }?.price ?? live.asks.first { $0.id == id }?.price
            let newPrice = roll(2) == 0 ? (samePrice ?? price()) : price()
            return .replace(
                OrderID(id), account: AccountID(owner), price: Price(ticks: newPrice), quantity: Quantity(lots: total))
        case 82..<88:
            let timeInForce: TimeInForce = [.immediateOrCancel, .fillOrKill, .goodTillCancel, .postOnly][roll(4)]
            return .market(
                OrderID(newID), account: account(), side, quantity: Quantity(lots: quantity()), timeInForce: timeInForce
            )
        case 88..<94:
            let away = Int64(roll(7)) * (side == .buy ? 1 : -1)
            let stop = (live.lastTrade.map { ($0 - origin) / spacing } ?? mid) + (roll(10) == 0 ? -away : away)
            return .stopMarket(
                OrderID(newID), account: account(), side, stopPrice: Price(ticks: origin + stop * spacing),
                quantity: Quantity(lots: quantity()))
        default:
            let away = Int64(roll(7)) * (side == .buy ? 1 : -1)
            let stop = (live.lastTrade.map { ($0 - origin) / spacing } ?? mid) + (roll(10) == 0 ? -away : away)
            let timeInForce: TimeInForce = [
                .goodTillCancel, .goodTillCancel, .immediateOrCancel, .fillOrKill, .postOnly,
            ][roll(5)]
            return .stopLimit(
                OrderID(newID), account: account(), side, stopPrice: Price(ticks: origin + stop * spacing),
                price: Price(ticks: origin + (stop + Int64(roll(5)) - 2) * spacing),
                quantity: Quantity(lots: quantity()),
                timeInForce: timeInForce)
        }
    }
}
