import PeregrineCore
import PeregrineModel
import Testing

@testable import PeregrineBook

@Suite("Order book internals: layout and id table")
struct OrderBookInternalsTests {
    @Test func anOrderSlotIsOneCacheLine() {
        #expect(MemoryLayout<OrderSlot>.size == 64)
        #expect(MemoryLayout<OrderSlot>.stride == 64)
    }

    @Test func aPriceLevelIs24Bytes() {
        #expect(MemoryLayout<PriceLevel>.stride == 24)
    }

    @Test func theOrderPoolIsCacheLineAligned() {
        let pool = OrderPool(capacity: 3)
        #expect(UInt(bitPattern: pool.slots) % 64 == 0)
        #expect(pool.capacity == 3)
    }

    @Test func theIDTableAgreesWithADictionaryThroughHeavyChurn() {
        // 64 live ids at most in a 128-entry table, drawn from sequential, strided and
        // high-bit-prefixed ids so that probe runs collide, wrap and get shifted back.
        var map = OrderIDMap(minimumCapacity: 64)
        var reference: [UInt64: Int32] = [:]
        var random = SplitMix64(seed: 7)
        let families: [(UInt64) -> UInt64] = [{ $0 }, { $0 &* 128 }, { (1 << 40) | $0 }, { $0 &* 0x1_0000_0001 }]
        for step in 0..<200_000 {
            let key = families[Int(random.next(below: 4))](random.next(below: 300))
            if let slot = reference[key] {
                #expect(map.find(key) == slot)
                if random.next(below: 2) == 0 {
                    map.remove(key)
                    reference[key] = nil
                }
            } else {
                #expect(map.find(key) == -1)
                if reference.count < 64 {
                    map.insert(key, slot: Int32(step % 1_000))
                    reference[key] = Int32(step % 1_000)
                }
            }
        }
        for (key, slot) in reference { #expect(map.find(key) == slot) }
    }
}

/// The matching engine's price ladders follow a market that trends far from where it opened.
@Suite("Order book internals: windows that follow the touch")
struct OrderBookWindowTests {
    /// Whether `side`'s best level lies in its ladder's window.
    static func touchIsInWindow(_ book: borrowing OrderBook, _ side: Side) -> Bool {
        let ladder = book.resting(side)
        guard let best = ladder.pointee.best else { return false }
        return ladder.pointee.store.windowSlot(ladder.pointee.store.price(at: best)) != nil
    }

    /// A market maker's book of 10 levels a side, 5 lots each, with a bid at 1 and an ask at
    /// 1,000,000 that stay (so no side ever empties), walked 20,000 ticks up and back through
    /// windows of 64 ticks: each step a taker lifts the best ask (or hits the best bid), the
    /// mid moves a tick, the maker quotes the new level and cancels its deepest on the other
    /// side. Every report is checked against the reference book; after each step, whether each
    /// side's best lies in its window. Returns the steps the best bid and ask were in their
    /// windows and the windows' moves.
    static func walk(following: Bool) throws -> (bids: Int, asks: Int, steps: Int, moves: Int) {
        let spec = InstrumentSpec(
            instrument: InstrumentID(1), tickSize: 1, lotSize: 1, orderCapacity: 1_000, windowTicks: 64)
        var book = try OrderBook(spec: spec)
        if !following {
            for index in 0..<4 { (book.ladders + index).pointee.store.state.pointee.followsTouch = false }
        }
        var reference = ReferenceOrderBook(spec: spec)
        var sink = ExecutionReportCollector()
        var nextID: UInt64 = 1
        var ids: [Int64: UInt64] = [:]
        var mismatches = 0
        func send(_ command: OrderCommand) {
            sink.reports.removeAll(keepingCapacity: true)
            book.process(command, sink: &sink)
            if sink.reports != reference.process(command) { mismatches += 1 }
        }
        func quote(_ side: Side, at price: Int64, account: UInt32 = 1) {
            ids[price] = nextID
            send(
                .limit(
                    OrderID(nextID), account: AccountID(account), side, price: Price(ticks: price),
                    quantity: Quantity(lots: 5), timeInForce: .goodTillCancel))
            nextID += 1
        }
        func take(_ side: Side) {
            send(
                .market(
                    OrderID(nextID), account: AccountID(2), side, quantity: Quantity(lots: 5),
                    timeInForce: .immediateOrCancel))
            nextID += 1
        }
        func withdraw(at price: Int64) {
            guard let id = ids.removeValue(forKey: price) else { return }
            send(.cancel(OrderID(id), account: AccountID(1)))
        }
        var mid: Int64 = 1_000
        for level in 1...10 {
            quote(.buy, at: mid - Int64(level))
            quote(.sell, at: mid + Int64(level))
        }
        quote(.buy, at: 1, account: 3)
        quote(.sell, at: 1_000_000, account: 3)
        var inWindow = (bids: 0, asks: 0)
        let steps = 40_000
        for step in 0..<steps {
            if step < steps / 2 {
                take(.buy)
                ids[mid + 1] = nil
                mid += 1
                quote(.buy, at: mid - 1)
                quote(.sell, at: mid + 10)
                withdraw(at: mid - 11)
            } else {
                take(.sell)
                ids[mid - 1] = nil
                mid -= 1
                quote(.sell, at: mid + 1)
                quote(.buy, at: mid - 10)
                withdraw(at: mid + 11)
            }
            if Self.touchIsInWindow(book, .buy) { inWindow.bids += 1 }
            if Self.touchIsInWindow(book, .sell) { inWindow.asks += 1 }
        }
        #expect(mismatches == 0)
        #expect(book.bestBidOffer.bid?.price.ticks == 999 && book.bestBidOffer.ask?.price.ticks == 1_001)
        #expect(book.orders(.buy).count == 11 && book.orders(.sell).count == 11)
        return (inWindow.bids, inWindow.asks, steps, book.windowMoves)
    }

    @Test func aTrendingMarketKeepsItsTouchInTheWindows() throws {
        let followed = try Self.walk(following: true)
        // In the window at 39,593 of the 40,000 steps: a move waits for changes outside it to pay
        // for it. About one move per 48 ticks a side (the three quarters of 64 put ahead).
        #expect(followed.bids * 100 >= followed.steps * 98 && followed.asks * 100 >= followed.steps * 98, "\(followed)")
        #expect(followed.moves > 1_000 && followed.moves < 2_000, "\(followed)")
        // Fixed where they opened, the windows hold the touch only near 1,000 (going and coming).
        let fixed = try Self.walk(following: false)
        #expect(fixed.bids < 200 && fixed.asks < 200 && fixed.moves == 0, "\(fixed)")
    }

    /// A maker's one quote requoted by replace a tick at a time, with a stale bid far below
    /// (2026-12-04's review): a replace takes the quote out of the window before it rests
    /// again, and the stale level, alone, is not followed, so the window stays at the quote.
    @Test func aLoneRequotedQuoteKeepsItsWindow() throws {
        let spec = InstrumentSpec(instrument: InstrumentID(1), tickSize: 1, lotSize: 1, orderCapacity: 100)
        var book = try OrderBook(spec: spec)
        var sink = ExecutionReportCollector()
        book.process(
            .limit(OrderID(1), account: AccountID(1), .buy, price: Price(ticks: 50_000), quantity: Quantity(lots: 5)),
            sink: &sink)
        book.process(
            .limit(OrderID(2), account: AccountID(2), .buy, price: Price(ticks: 100), quantity: Quantity(lots: 5)),
            sink: &sink)
        var inWindow = 0
        for step in 1...1_000 {
            sink.reports.removeAll()
            book.process(
                .replace(
                    OrderID(1), account: AccountID(1), price: Price(ticks: 50_000 + Int64(step)),
                    quantity: Quantity(lots: 5)),
                sink: &sink)
            #expect(sink.reports.map(\.kind) == [.replaced])
            if Self.touchIsInWindow(book, .buy) { inWindow += 1 }
        }
        #expect(inWindow == 1_000 && book.windowMoves == 0, "\(inWindow) in the window, \(book.windowMoves) moves")
        #expect(book.bestBidOffer.bid?.price.ticks == 51_000 && book.orders(.buy).count == 2)
    }
}
