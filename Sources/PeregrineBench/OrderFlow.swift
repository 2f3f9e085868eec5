import PeregrineBook
import PeregrineCore
import PeregrineModel

/// A realistic mixed order flow for one instrument, for benchmarks and load tests.
///
/// It is recorded against a private order book as it is generated, so every cancel and
/// replace names an order that is live at that point, and replaying `prefill` then
/// `commands` into a fresh book built from `spec` reproduces the same book exactly.
///
/// - `prefill` builds the starting book: `restingOrders` passive orders, 60% within 50
///   ticks of the touch and 40% spread evenly over `levels` ticks on each side.
/// - `commands`, in the proportions of `Mix.standard`: passive limit adds near the touch
///   (70% within 10 ticks behind it, some inside the spread, 30% anywhere in the depth);
///   cancels (80% of recently added orders, 20% of any live order, as market makers cancel
///   mostly what they just quoted); aggressive IOC limits and market orders that cross the
///   spread; replaces (60% size down, 20% size up, 20% price moves of one tick).
/// - Sizes are 1–100 lots, 1,000 accounts (self-trade prevention rarely applies).
///
/// Generation allocates and is slow (about 1 µs per command); replay is what is measured.
public struct OrderFlow: Sendable {
    /// Shares of each command kind, in percent.
    public struct Mix: Equatable, Sendable {
        public var add: Int
        public var cancel: Int
        public var aggressive: Int
        public var replace: Int

        public static let standard = Mix(add: 50, cancel: 35, aggressive: 10, replace: 5)
    }

    public let spec: InstrumentSpec
    public let prefill: [OrderCommand]
    public let commands: [OrderCommand]
    /// How many commands of each kind `commands` holds.
    public let counts: Mix
    /// Resting orders and occupied levels (bid, ask) after the prefill and at the end.
    public let restingAtStart: Int
    public let levelsAtStart: (bids: Int, asks: Int)
    public let restingAtEnd: Int

    public static let midPrice: Int64 = 1_000_000

    /// The instrument every flow trades (prices around `midPrice`).
    public static func spec(restingOrders: Int) -> InstrumentSpec {
        InstrumentSpec(
            instrument: InstrumentID(0),
            orderCapacity: Swift.min(InstrumentSpec.maxOrderCapacity, Swift.max(1_024, restingOrders * 2)))
    }

    public init(seed: UInt64, restingOrders: Int, levels: Int, commands count: Int, mix: Mix = .standard)
        throws(BookError)
    {
        spec = Self.spec(restingOrders: restingOrders)
        var recorder = try Recorder(spec: spec, seed: seed)
        var prefill: [OrderCommand] = []
        prefill.reserveCapacity(restingOrders)
        for index in 0..<restingOrders {
            let side: Side = index % 2 == 0 ? .buy : .sell
            let distance =
                recorder.roll(10) < 6 ? 1 + Int64(recorder.roll(50)) : 1 + Int64(recorder.roll(Swift.max(levels, 1)))
            let price = side == .buy ? Self.midPrice - distance : Self.midPrice + distance
            prefill.append(recorder.add(side, price: price))
        }
        self.prefill = prefill
        restingAtStart = recorder.book.restingOrderCount
        levelsAtStart = (recorder.book.levelCount(.buy), recorder.book.levelCount(.sell))
        var commands: [OrderCommand] = []
        commands.reserveCapacity(count)
        var counts = Mix(add: 0, cancel: 0, aggressive: 0, replace: 0)
        for _ in 0..<count {
            let roll = recorder.roll(100)
            if roll < mix.add {
                counts.add += 1
                commands.append(recorder.passiveAdd(levels: levels))
            } else if roll < mix.add + mix.cancel, let cancel = recorder.cancel() {
                counts.cancel += 1
                commands.append(cancel)
            } else if roll < mix.add + mix.cancel + mix.aggressive {
                counts.aggressive += 1
                commands.append(recorder.aggressive())
            } else if let replace = recorder.replace() {
                counts.replace += 1
                commands.append(replace)
            } else {
                counts.add += 1
                commands.append(recorder.passiveAdd(levels: levels))
            }
        }
        self.commands = commands
        self.counts = counts
        restingAtEnd = recorder.book.restingOrderCount
    }
}

/// Generates commands while keeping a private book and the set of live order ids.
private struct Recorder: ~Copyable {
    var book: OrderBook
    var random: SplitMix64
    var nextID: UInt64 = 1
    var live: [UInt64] = []
    var livePosition: [UInt64: Int] = [:]
    var owners: [UInt64: UInt32] = [:]
    var recent = [UInt64](repeating: 0, count: 4_096)
    var recentCount = 0

    init(spec: InstrumentSpec, seed: UInt64) throws(BookError) {
        book = try OrderBook(spec: spec)
        random = SplitMix64(seed: seed)
    }

    mutating func roll(_ bound: Int) -> Int { Int(random.next(below: UInt64(bound))) }

    mutating func submit(_ command: OrderCommand) -> OrderCommand {
        var sink = LiveOrderTracker()
        book.process(command, sink: &sink)
        for id in sink.gone { forget(id) }
        if command.action == .new, book.order(command.orderID) != nil {
            remember(command.orderID.rawValue, owner: command.account.rawValue)
        }
        return command
    }

    mutating func remember(_ id: UInt64, owner: UInt32) {
        livePosition[id] = live.count
        live.append(id)
        owners[id] = owner
        recent[recentCount & 4_095] = id
        recentCount += 1
    }

    mutating func forget(_ id: UInt64) {
        guard let position = livePosition.removeValue(forKey: id) else { return }
        let last = live.removeLast()
        if last != id {
            live[position] = last
            livePosition[last] = position
        }
        owners[id] = nil
    }

    mutating func newID() -> OrderID {
        defer { nextID += 1 }
        return OrderID(nextID)
    }

    mutating func account() -> AccountID { AccountID(UInt32(1 + roll(1_000))) }

    mutating func lots(_ most: Int = 100) -> Quantity { Quantity(lots: Int64(1 + roll(most))) }

    mutating func add(_ side: Side, price: Int64) -> OrderCommand {
        submit(.limit(newID(), account: account(), side, price: Price(ticks: price), quantity: lots()))
    }

    mutating func passiveAdd(levels: Int) -> OrderCommand {
        let side: Side = roll(2) == 0 ? .buy : .sell
        let top = book.bestBidOffer
        let bid = top.bid?.price.ticks ?? top.ask.map { $0.price.ticks - 2 } ?? OrderFlow.midPrice - 1
        let ask = top.ask?.price.ticks ?? top.bid.map { $0.price.ticks + 2 } ?? OrderFlow.midPrice + 1
        var price: Int64
        let style = roll(100)
        if style < 5, ask - bid > 1 {
            price = side == .buy ? bid + 1 : ask - 1  // improves the touch inside the spread
        } else {
            let behind = style < 75 ? Int64(roll(10)) : Int64(roll(Swift.max(levels, 1)))
            price = side == .buy ? bid - behind : ask + behind
        }
        price = side == .buy ? Swift.min(price, ask - 1) : Swift.max(price, bid + 1)
        return add(side, price: price)
    }

    mutating func pickLive() -> UInt64? {
        if live.isEmpty { return nil }
        if roll(10) < 8 {
            for back in 1...Swift.min(8, recentCount) {
                let id = recent[(recentCount - back) & 4_095]
                if livePosition[id] != nil, roll(3) != 0 { return id }
            }
        }
        return live[roll(live.count)]
    }

    mutating func cancel() -> OrderCommand? {
        guard let id = pickLive(), let owner = owners[id] else { return nil }
        return submit(.cancel(OrderID(id), account: AccountID(owner)))
    }

    mutating func aggressive() -> OrderCommand {
        let side: Side = roll(2) == 0 ? .buy : .sell
        let top = book.bestBidOffer
        if roll(5) == 0 || (side == .buy ? top.ask == nil : top.bid == nil) {
            return submit(.market(newID(), account: account(), side, quantity: lots(150)))
        }
        let through = Int64(roll(3))
        let price = side == .buy ? (top.ask?.price.ticks ?? 0) + through : (top.bid?.price.ticks ?? 0) - through
        return submit(
            .limit(
                newID(), account: account(), side, price: Price(ticks: price), quantity: lots(150),
                timeInForce: .immediateOrCancel))
    }

    mutating func replace() -> OrderCommand? {
        guard let id = pickLive(), let owner = owners[id], let order = book.order(OrderID(id)) else { return nil }
        let total = order.filledQuantity.lots + order.leavesQuantity.lots
        var price = order.price.ticks
        var quantity = total
        switch roll(10) {
        case 0..<6: quantity = Swift.max(order.filledQuantity.lots + 1, total - Int64(1 + roll(20)))
        case 6..<8: quantity = total + Int64(1 + roll(20))
        default:
            let top = book.bestBidOffer
            let step: Int64 = roll(2) == 0 ? 1 : -1
            price += step
            if order.side == .buy, let ask = top.ask?.price.ticks, price >= ask { price -= 2 }
            if order.side == .sell, let bid = top.bid?.price.ticks, price <= bid { price += 2 }
        }
        return submit(
            .replace(
                OrderID(id), account: AccountID(owner), price: Price(ticks: price), quantity: Quantity(lots: quantity)))
    }
}

/// Collects the ids of orders that left the book (filled or cancelled).
private struct LiveOrderTracker: ExecutionReportSink {
    var gone: [UInt64] = []

    mutating func accept(_ report: ExecutionReport) {
        if report.kind == .filled || report.kind == .cancelled { gone.append(report.orderID.rawValue) }
    }
}
