import PeregrineBook
import PeregrineModel

/// The simulated venue's stop orders, and the last trade price of each instrument. A reference,
/// so that the venue's value stays small (its non-mutating methods work on a copy of it).
/// Single-threaded, as the venue.
final class StopOrders {
    /// Stops waiting for their stop price, in the order they came.
    @exclusivity(unchecked) var waiting: [PendingStop] = []
    /// Stops the message going now triggered, in trigger order, waiting to enter at its end.
    @exclusivity(unchecked) var triggered: [PendingStop] = []
    /// Per instrument, the price of the last recorded trade (0 before any): a plain buffer,
    /// written on every recorded trade without an array's uniqueness check.
    let lastTradeTicks: UnsafeMutableBufferPointer<Int64>

    init(instruments: Int) {
        lastTradeTicks = .allocate(capacity: instruments)
        lastTradeTicks.initialize(repeating: 0)
    }

    deinit { lastTradeTicks.deallocate() }
}

/// Stop orders at the simulated venue (`SimulatedVenue`'s "Stop orders").
extension SimulatedVenue {
    /// Where the pending stop with this id is in `stops`, if one is.
    @inline(__always)
    func stopIndex(of orderID: OrderID) -> Int? { stopOrders.waiting.firstIndex { $0.command.orderID == orderID } }

    /// The pending stop a cancel or replace names: its index; -1 after rejecting the command
    /// (another account's stop: `not-order-owner`); nil when no stop of the instrument has its id
    /// (the command is for a resting order, or for none).
    mutating func ownedStop<Sink: ExecutionReportSink & ~Copyable>(
        _ command: OrderCommand, _ instrument: InstrumentID, sink: inout Sink
    ) -> Int? {
        guard let index = stopIndex(of: command.orderID), stopOrders.waiting[index].instrument == instrument else {
            return nil
        }
        guard stopOrders.waiting[index].command.account == command.account else {
            reject(command, instrument, .notOrderOwner, sink: &sink)
            return -1
        }
        return index
    }

    /// Whether the recorded market has reached a stop at `stop` on `side`: the last recorded
    /// trade at or through it, or the touch there now (a buy stop: the best ask at or above it;
    /// a sell stop: the best bid at or below it). Inlined: called from a mutating method, a call
    /// would copy the venue for it.
    @inline(__always)
    func stopReached(_ instrument: InstrumentID, _ side: Side, _ stop: Int64) -> Bool {
        let last = stopOrders.lastTradeTicks[Int(instrument.rawValue)]
        if last > 0, side == .buy ? last >= stop : last <= stop { return true }
        guard let touch = best(instrument, side == .buy ? .sell : .buy) else { return false }
        return side == .buy ? touch.price.ticks >= stop : touch.price.ticks <= stop
    }

    /// Triggers the instrument's stops the market reached: buy stops at or below `buysAt`
    /// (lowest first), then sell stops at or above `sellsAt` (highest first), first in first
    /// out within a stop price. Each reports `triggered` at its trigger price and waits in
    /// `triggered` for the end of the message. (0 for a side: none of that side triggers.)
    /// Allocates only when one triggers; never inlined: it runs only while stops wait.
    @inline(never)
    mutating func triggerStops<Sink: ExecutionReportSink & ~Copyable>(
        _ instrument: InstrumentID, buysAt: Int64, sellsAt: Int64, sink: inout Sink
    ) {
        // Most calls trigger nothing: a scan of the stops where they lie first.
        guard stopOrders.waiting.contains(where: { Self.reaches($0, instrument, buysAt: buysAt, sellsAt: sellsAt) })
        else { return }
        var reached = stopOrders.waiting.indices.filter {
            Self.reaches(stopOrders.waiting[$0], instrument, buysAt: buysAt, sellsAt: sellsAt)
        }
        // Buys before sells; buys by stop price up, sells down; ties in the order they came.
        let stops = stopOrders.waiting
        reached.sort { left, right in
            let leftBuy = stops[left].command.side == .buy
            let rightBuy = stops[right].command.side == .buy
            if leftBuy != rightBuy { return leftBuy }
            let leftStop = stops[left].command.stopPrice.ticks
            let rightStop = stops[right].command.stopPrice.ticks
            if leftStop != rightStop { return leftBuy ? leftStop < rightStop : leftStop > rightStop }
            return left < right
        }
        for index in reached {
            let stop = stops[index]
            let price = stop.command.side == .buy ? buysAt : sellsAt
            sink.accept(
                ExecutionReport(
                    kind: .triggered, instrument: instrument, orderID: stop.command.orderID,
                    account: stop.command.account, side: stop.command.side, price: Price(ticks: price),
                    quantity: stop.command.quantity, leavesQuantity: stop.command.quantity))
            stopOrders.triggered.append(stop)
        }
        for index in reached.sorted(by: >) { stopOrders.waiting.remove(at: index) }
    }

    /// Whether `stop` (of any instrument) is `instrument`'s and reached: a buy stop at or below
    /// `buysAt`, a sell stop at or above `sellsAt` (0: that side is not reached).
    @inline(__always)
    static func reaches(_ stop: PendingStop, _ instrument: InstrumentID, buysAt: Int64, sellsAt: Int64) -> Bool {
        guard stop.instrument == instrument else { return false }
        let price = stop.command.stopPrice.ticks
        return stop.command.side == .buy ? buysAt > 0 && price <= buysAt : sellsAt > 0 && price >= sellsAt
    }

    /// The end of a message of `instrument` (or of any event, which is its own message): the
    /// stops its touch reached trigger, and every stop triggered during it enters the book, one
    /// by one in trigger order, as a market (stop-market) or limit (stop-limit) order. The
    /// backtest calls it when stops wait (`hasStops`). Never inlined: rare, and its code would
    /// sit in the backtest's loop.
    @inline(never)
    public mutating func settleStops<Sink: ExecutionReportSink & ~Copyable>(
        _ instrument: InstrumentID, time: UInt64, sink: inout Sink
    ) {
        if !stopOrders.waiting.isEmpty, Int(instrument.rawValue) < quotes.count {
            let ask = best(instrument, .sell)?.price.ticks ?? 0
            let bid = best(instrument, .buy)?.price.ticks ?? 0
            triggerStops(instrument, buysAt: ask, sellsAt: bid, sink: &sink)
        }
        guard !stopOrders.triggered.isEmpty else { return }
        let entering = stopOrders.triggered
        stopOrders.triggered.removeAll(keepingCapacity: true)
        hasStops = !stopOrders.waiting.isEmpty
        for stop in entering {
            let command = stop.command
            let order: OrderCommand =
                command.type == .stopLimit
                ? .limit(
                    command.orderID, account: command.account, command.side, price: command.price,
                    quantity: command.quantity, timeInForce: command.timeInForce)
                : .market(command.orderID, account: command.account, command.side, quantity: command.quantity)
            enter(order, stop.instrument, time: time, sink: &sink, triggered: true)
        }
    }

}
