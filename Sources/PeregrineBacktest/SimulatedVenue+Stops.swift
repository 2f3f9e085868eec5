import PeregrineBook
import PeregrineModel

/// The simulated venue's stop orders, and the last trade price of each instrument. A reference,
/// so that the venue's value stays small (its non-mutating methods work on a copy of it).
/// Single-threaded, as the venue.
final class StopOrders {
    /// Stops waiting for their stop price, in the order they came.
    @exclusivity(unchecked) var waiting: [PendingStop] = []
    /// Stops that triggered, in trigger order, waiting to enter: at the end of their instrument's
    /// book message (the one whose touch or fill through an order triggered them, or the next
    /// after the recorded trade that did), or right after the entering order whose trade did
    /// (with the former when one of those is before them).
    @exclusivity(unchecked) var triggered: [PendingStop] = []
    /// While stops wait: the side and price of each fill of the resting orders a book change
    /// reached (`SimulatedVenue.fillThrough`), to trigger stops in the sweep's order.
    @exclusivity(unchecked) var sweep: [(side: Side, price: Int64)] = []
    /// Per instrument, the price of the last trade (0 before any): recorded, an entering order's
    /// taking, or a resting order's fill when the book moved through it. A plain buffer, written
    /// on every trade without an array's uniqueness check.
    let lastTradeTicks: UnsafeMutableBufferPointer<Int64>

    /// No stop waits and none has triggered without entering yet.
    var isEmpty: Bool { waiting.isEmpty && triggered.isEmpty }

    init(instruments: Int) {
        lastTradeTicks = .allocate(capacity: instruments)
        lastTradeTicks.initialize(repeating: 0)
    }

    deinit { lastTradeTicks.deallocate() }
}

/// Stop orders at the simulated venue (`SimulatedVenue`'s "Stop orders").
extension SimulatedVenue {
    /// Where the stop with this id is (waiting, or triggered and not entered yet), if one is.
    @inline(__always)
    func findStop(_ orderID: OrderID) -> (triggered: Bool, index: Int)? {
        if let index = stopOrders.waiting.firstIndex(where: { $0.command.orderID == orderID }) { return (false, index) }
        if let index = stopOrders.triggered.firstIndex(where: { $0.command.orderID == orderID }) {
            return (true, index)
        }
        return nil
    }

    /// The stop at `location` (`findStop`).
    func stop(at location: (triggered: Bool, index: Int)) -> PendingStop {
        location.triggered ? stopOrders.triggered[location.index] : stopOrders.waiting[location.index]
    }

    /// The stop a cancel, replace or status names, if it is one of the instrument's: its
    /// location; nil when no stop of the instrument has its id (the command is for a resting
    /// order, or for none). Another account's stop is refused (`not-order-owner`) and `refused`
    /// set.
    mutating func ownedStop<Sink: ExecutionReportSink & ~Copyable>(
        _ command: OrderCommand, _ instrument: InstrumentID, refused: inout Bool, sink: inout Sink
    ) -> (triggered: Bool, index: Int)? {
        guard let location = findStop(command.orderID), stop(at: location).instrument == instrument else { return nil }
        guard stop(at: location).command.account == command.account else {
            reject(command, instrument, .notOrderOwner, sink: &sink)
            refused = true
            return nil
        }
        return location
    }

    /// Takes the stop at `location` away (cancelled).
    mutating func removeStop(at location: (triggered: Bool, index: Int)) -> PendingStop {
        let stop =
            location.triggered
            ? stopOrders.triggered.remove(at: location.index) : stopOrders.waiting.remove(at: location.index)
        hasStops = !stopOrders.isEmpty
        return stop
    }

    /// Whether the market has reached a stop at `stop` on `side`: the last trade (recorded, an
    /// entering order's taking, or a fill through a resting order) at or through it, or the touch there now (a buy stop: the best ask
    /// at or above it; a sell stop: the best bid at or below it). Inlined: called from a
    /// mutating method, a call would copy the venue for it.
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
    /// `triggered` to enter: at the end of the book message (`settleStops`), or, `byEntering`
    /// (the trade of an order entering at the venue reached them), right after that order
    /// (`enterStopsTriggeredByEntering`). (0 for a side: none of that side triggers.)
    /// Allocates only when one triggers; never inlined: it runs only while stops wait.
    @inline(never)
    mutating func triggerStops<Sink: ExecutionReportSink & ~Copyable>(
        _ instrument: InstrumentID, buysAt: Int64, sellsAt: Int64, byEntering: Bool = false, sink: inout Sink
    ) {
        // Most calls trigger nothing: a scan of the stops where they lie first.
        guard stopOrders.waiting.contains(where: { Self.reaches($0, instrument, buysAt: buysAt, sellsAt: sellsAt) })
        else { return }
        var reached = stopOrders.waiting.indices.filter {
            Self.reaches(stopOrders.waiting[$0], instrument, buysAt: buysAt, sellsAt: sellsAt)
        }
        // Buys before sells; buys by stop price up, sells down; ties in the order they came.
        // (Read through the reference: a copy of the array would be copied again by the removals.)
        let orders = stopOrders
        reached.sort { left, right in
            let leftBuy = orders.waiting[left].command.side == .buy
            let rightBuy = orders.waiting[right].command.side == .buy
            if leftBuy != rightBuy { return leftBuy }
            let leftStop = orders.waiting[left].command.stopPrice.ticks
            let rightStop = orders.waiting[right].command.stopPrice.ticks
            if leftStop != rightStop { return leftBuy ? leftStop < rightStop : leftStop > rightStop }
            return left < right
        }
        for index in reached {
            var stop = orders.waiting[index]
            stop.triggeredByEntering = byEntering
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

    /// Triggers the stops the fills of a sweep through resting orders reached
    /// (`stopOrders.sweep`, then emptied), in the sweep's order: bids from the highest, offers
    /// from the lowest, each at its price. Never inlined: it runs only while stops wait.
    @inline(never)
    mutating func triggerStopsOfSweep<Sink: ExecutionReportSink & ~Copyable>(
        _ instrument: InstrumentID, sink: inout Sink
    ) {
        let fills = stopOrders.sweep.sorted { left, right in
            if left.side != right.side { return left.side == .buy }
            return left.side == .buy ? left.price > right.price : left.price < right.price
        }
        stopOrders.sweep.removeAll(keepingCapacity: true)
        for fill in fills { triggerStops(instrument, buysAt: fill.price, sellsAt: fill.price, sink: &sink) }
    }

    /// Whether `stop` (of any instrument) is `instrument`'s and reached: a buy stop at or below
    /// `buysAt`, a sell stop at or above `sellsAt` (0: that side is not reached).
    @inline(__always)
    static func reaches(_ stop: PendingStop, _ instrument: InstrumentID, buysAt: Int64, sellsAt: Int64) -> Bool {
        guard stop.instrument == instrument else { return false }
        let price = stop.command.stopPrice.ticks
        return stop.command.side == .buy ? buysAt > 0 && price <= buysAt : sellsAt > 0 && price >= sellsAt
    }

    /// The end of a message, `event` its last event (any other event is a message of its own).
    /// When it changed the instrument's book: the stops its touch reached trigger, and the
    /// instrument's triggered stops enter; after a recorded trade, the stops it triggered wait
    /// for the next book message, which shows what the trade took (entered at once, they would
    /// take the levels it went through, at better prices than its own). They enter one by one
    /// in trigger order, as market (stop-market) or limit (stop-limit) orders; the stops their
    /// own trades reach follow (`enterStopsTriggeredByEntering`). The backtest calls it
    /// when stops wait (`hasStops`). Never inlined: rare, and its code would sit in the
    /// backtest's loop.
    @inline(never)
    public mutating func settleStops<Sink: ExecutionReportSink & ~Copyable>(
        after event: Event, time: UInt64, sink: inout Sink
    ) {
        let instrument = event.instrument
        let index = Int(instrument.rawValue)
        guard index < quotes.count else { return }
        let bookChanged: Bool
        switch event.payload {
        case .levelUpdate, .clearBook: bookChanged = !quotes[index].active
        case .quote: bookChanged = quotes[index].active
        default: bookChanged = false
        }
        guard bookChanged else { return }
        if !stopOrders.waiting.isEmpty {
            let ask = best(instrument, .sell)?.price.ticks ?? 0
            let bid = best(instrument, .buy)?.price.ticks ?? 0
            triggerStops(instrument, buysAt: ask, sellsAt: bid, sink: &sink)
        }
        guard stopOrders.triggered.contains(where: { $0.instrument == instrument }) else { return }
        let entering = stopOrders.triggered.filter { $0.instrument == instrument }
        stopOrders.triggered.removeAll { $0.instrument == instrument }
        hasStops = !stopOrders.isEmpty
        for stop in entering { enter(stop.entering, stop.instrument, time: time, sink: &sink, triggered: true) }
        enterStopsTriggeredByEntering(instrument, time: time, sink: &sink)
    }

    /// Enters the instrument's stops that the trades of an order entering at the venue
    /// triggered (`PendingStop.triggeredByEntering`), one by one in trigger order, right after
    /// that order, as the hosted matching engine does; the stops their own trades reach join
    /// the back and enter in turn. What the orders before them took is remembered as consumed,
    /// so they take what it left. Trigger order is kept: while a stop a recorded trade
    /// triggered earlier waits for the book's next message, those behind it wait too, and all
    /// enter at that message's end, in the order they triggered (or, that stop cancelled, at
    /// the cancel). Never inlined: it runs only while stops wait.
    @inline(never)
    mutating func enterStopsTriggeredByEntering<Sink: ExecutionReportSink & ~Copyable>(
        _ instrument: InstrumentID, time: UInt64, sink: inout Sink
    ) {
        while let position = stopOrders.triggered.firstIndex(where: { $0.instrument == instrument }),
            stopOrders.triggered[position].triggeredByEntering
        {
            let stop = stopOrders.triggered.remove(at: position)
            hasStops = !stopOrders.isEmpty
            enter(stop.entering, instrument, time: time, sink: &sink, triggered: true)
        }
    }
}
