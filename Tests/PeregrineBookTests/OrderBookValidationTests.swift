import PeregrineBook
import PeregrineCore
import PeregrineModel
import Testing

@Suite("Order book: validation")
struct OrderBookValidationTests {
    /// Sends `command` to a venue holding one resting order on each side, expects exactly one
    /// reject with `reason`, and that nothing about the book changed.
    private func expectRejected(
        _ command: OrderCommand, _ reason: ExecutionReason, venue makeVenue: () throws -> Venue = { try Venue() },
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        var venue = try makeVenue()
        venue.seed(limit(1, .buy, 5, at: 95), limit(2, .sell, 5, at: 105))
        let before = venue.book.stateHash()
        let counters = venue.book.counters
        let reports = venue.send(command)
        #expect(reports == [rejected(command, reason)], sourceLocation: sourceLocation)
        #expect(venue.book.stateHash() == before, sourceLocation: sourceLocation)
        #expect(venue.book.counters.rejected == counters.rejected + 1, sourceLocation: sourceLocation)
    }

    @Test func zeroAndNegativeQuantitiesAreRejected() throws {
        try expectRejected(limit(10, .buy, 0, at: 100), .invalidQuantity)
        try expectRejected(limit(10, .buy, -3, at: 100), .invalidQuantity)
        try expectRejected(market(10, .sell, 0), .invalidQuantity)
        try expectRejected(stopMarket(10, .sell, -1, stop: 90), .invalidQuantity)
    }

    @Test func aQuantityOffTheLotGridOrAboveTheMaximumIsRejected() throws {
        try expectRejected(limit(10, .buy, 15, at: 100), .invalidQuantity, venue: { try Venue(lotSize: 10) })
        try expectRejected(limit(10, .buy, 1_000_000_000_001, at: 100), .invalidQuantity)
    }

    @Test func aPriceOffTheTickGridIsRejected() throws {
        try expectRejected(limit(10, .buy, 1, at: 102), .priceOffTickGrid, venue: { try Venue(tickSize: 5) })
        try expectRejected(
            stopLimit(10, .buy, 1, stop: 110, at: 111), .priceOffTickGrid, venue: { try Venue(tickSize: 5) })
        try expectRejected(stopMarket(10, .buy, 1, stop: 113), .priceOffTickGrid, venue: { try Venue(tickSize: 5) })
    }

    @Test func aPriceNotPositiveOrAbove2To62IsRejected() throws {
        try expectRejected(limit(10, .buy, 1, at: (1 << 62) + 1), .priceOutOfRange)
        try expectRejected(limit(10, .buy, 1, at: .max), .priceOutOfRange)
        try expectRejected(limit(10, .sell, 1, at: 0), .priceOutOfRange)
        try expectRejected(limit(10, .sell, 1, at: -5), .priceOutOfRange)
        try expectRejected(limit(10, .sell, 1, at: .min), .priceOutOfRange)
        try expectRejected(stopMarket(10, .buy, 1, stop: -20_000), .priceOutOfRange)
    }

    @Test func aDuplicateLiveOrderIDIsRejected() throws {
        try expectRejected(limit(1, .buy, 1, at: 90), .duplicateOrderID)
        try expectRejected(stopMarket(2, .buy, 1, stop: 110), .duplicateOrderID)
    }

    @Test func anOrderIDMayBeReusedOnceItsOrderIsGone() throws {
        var venue = try Venue()
        venue.seed(limit(1, .buy, 5, at: 95), cancel(1))
        let reports = venue.send(limit(1, .buy, 5, at: 95))
        #expect(reports == [accepted(1, .buy, 5, at: 95)])
    }

    @Test func aCancelOfAnUnknownIDIsRejected() throws {
        try expectRejected(cancel(77), .unknownOrderID)
    }

    @Test func aCancelFromAnotherAccountIsRejected() throws {
        try expectRejected(cancel(1, account: 9), .notOrderOwner)
    }

    @Test func aFullOrderPoolRejectsOrdersThatMightRestButNotImmediateOnes() throws {
        var venue = try Venue(capacity: 2)
        venue.seed(limit(1, .buy, 5, at: 95), limit(2, .sell, 5, at: 105))
        let resting = limit(3, .buy, 1, at: 96)
        let restingReports = venue.send(resting)
        #expect(restingReports == [rejected(resting, .orderPoolFull)])
        let stop = stopMarket(4, .buy, 1, stop: 110)
        let stopReports = venue.send(stop)
        #expect(stopReports == [rejected(stop, .orderPoolFull)])
        let immediate = venue.send(limit(5, .buy, 2, at: 105, account: 2, .immediateOrCancel))
        #expect(tradeList(immediate) == [[1, 5, 2, 2, 105]])
        venue.seed(cancel(1))
        let afterCancel = venue.send(resting)
        #expect(afterCancel == [accepted(3, .buy, 1, at: 96)])
    }

    @Test func postOnlyMarketAndStopOrdersAreUnsupported() throws {
        try expectRejected(market(10, .buy, 1, .postOnly), .unsupportedOrder)
        try expectRejected(stopLimit(10, .buy, 1, stop: 110, at: 111, .postOnly), .unsupportedOrder)
    }

    @Test func aCommandForAnInstrumentWithoutABookIsRejected() throws {
        var engine = try MatchingEngine(specs: [
            InstrumentSpec(instrument: InstrumentID(3), orderCapacity: 8)
        ])
        var sink = ExecutionReportCollector()
        let command = limit(1, .buy, 1, at: 50)
        engine.process(command, instrument: InstrumentID(4), sink: &sink)
        engine.process(command, instrument: InstrumentID(70_000), sink: &sink)
        engine.process(command, instrument: InstrumentID(3), sink: &sink)
        #expect(sink.reports.map(\.reason) == [.unknownInstrument, .unknownInstrument, .none])
        #expect(sink.reports[0].instrument == InstrumentID(4))
        #expect(sink.reports[2].kind == .accepted)
        #expect(engine.unknownInstrumentCommands == 2)
        #expect(engine.counters.accepted == 1)
    }

    /// A spec that fails after others have built their books: the error is thrown and the books
    /// already built are torn down (before, the failing slot was skipped and `deinit` then
    /// deinitialised memory that held no book).
    @Test func aMatchingEngineWithOneBadSpecThrowsAndFreesTheBooksBuilt() throws {
        var bad = InstrumentSpec(instrument: InstrumentID(9), orderCapacity: 8)
        bad.windowTicks = 1
        let specs = [
            InstrumentSpec(instrument: InstrumentID(1), orderCapacity: 8),
            InstrumentSpec(instrument: InstrumentID(2), orderCapacity: 8), bad,
        ]
        #expect(throws: BookError.invalidSpec(instrument: InstrumentID(9), "window of 1 ticks must be 64 to 4194304")) {
            _ = try MatchingEngine(specs: specs)
        }
        // Duplicates and out-of-range ids are still refused before any book is built.
        #expect(throws: BookError.duplicateInstrument(InstrumentID(1))) {
            _ = try MatchingEngine(specs: [specs[0], specs[1], specs[0]])
        }
        let engine = try MatchingEngine(specs: Array(specs.prefix(2)))
        #expect(engine.count == 2)
    }

    @Test func invalidSpecsAreRefusedWithTheRuleThatFailed() throws {
        func problem(_ spec: InstrumentSpec) -> String? {
            do {
                _ = try OrderBook(spec: spec)
                return nil
            } catch {
                return error.description
            }
        }
        let base = InstrumentSpec(instrument: InstrumentID(1), orderCapacity: 8)
        var spec = base
        spec.tickSize = 0
        #expect(problem(spec) == "instrument #1: tick size 0 must be positive")
        spec = base
        spec.windowTicks = 1 << 30
        #expect(problem(spec) == "instrument #1: window of 1073741824 ticks must be 64 to 4194304")
        spec = base
        spec.maxLevelsPerSide = 0
        #expect(problem(spec) == "instrument #1: most levels per side 0 must be at least 1")
        spec = base
        spec.priceCollarBasisPoints = 0
        #expect(problem(spec) == "instrument #1: price collar of 0 bps must be 1 to 1000000")
        spec = base
        spec.orderCapacity = 0
        #expect(problem(spec) == "instrument #1: order capacity 0 must be 1 to 8388608")
        spec = base
        spec.maxOrderQuantity = Quantity(lots: Int64.max / 4)
        #expect(problem(spec)?.contains("2^62") == true)
        #expect(problem(base) == nil)
    }
}

@Suite("Order book: determinism and views")
struct OrderBookDeterminismTests {
    @Test func theSameCommandsGiveTheSameReportsAndState() throws {
        var first = try Venue(capacity: 4_096)
        var second = try Venue(capacity: 4_096)
        var random = SplitMix64(seed: 99)
        var allFirst: [ExecutionReport] = []
        var allSecond: [ExecutionReport] = []
        for id in 1...5_000 {
            let side: Side = random.next(below: 2) == 0 ? .buy : .sell
            let command: OrderCommand
            switch random.next(below: 10) {
            case 0..<6:
                command = limit(
                    UInt64(id), side, Int64(1 + random.next(below: 9)), at: Int64(95 + random.next(below: 11)),
                    account: UInt32(random.next(below: 4)))
            case 6..<9:
                command = cancel(UInt64(1 + random.next(below: UInt64(id))), account: UInt32(random.next(below: 4)))
            default: command = market(UInt64(id), side, Int64(1 + random.next(below: 20)))
            }
            allFirst += first.send(command)
            allSecond += second.send(command)
        }
        #expect(allFirst == allSecond)
        #expect(allFirst.count > 5_000)
        #expect(first.book.stateHash() == second.book.stateHash())
        #expect(first.book.checksum() == second.book.checksum())
    }

    @Test func theStateHashSeesQueueOrderNotOnlyLevels() throws {
        var first = try Venue()
        var second = try Venue()
        first.seed(limit(1, .buy, 5, at: 99), limit(2, .buy, 5, at: 99))
        second.seed(limit(2, .buy, 5, at: 99), limit(1, .buy, 5, at: 99))
        #expect(first.bids() == second.bids())
        #expect(first.book.checksum() == second.book.checksum())
        #expect(first.book.stateHash() != second.book.stateHash())
    }

    @Test func theChecksumIsCRC32OfTheTopLevelsBidThenAsk() throws {
        var check = CRC32()
        Array("123456789".utf8).withUnsafeBytes { check.update($0) }
        #expect(check.value == 0xCBF4_3926)

        var venue = try Venue()
        #expect(venue.book.checksum() == 0)
        venue.seed(limit(1, .buy, 5, at: 99), limit(2, .buy, 7, at: 98), limit(3, .sell, 4, at: 101))
        var expected = CRC32()
        for value: Int64 in [99, 5, 101, 4, 98, 7] { expected.update(value) }
        #expect(venue.book.checksum(depth: 2) == expected.value)
        var top = CRC32()
        for value: Int64 in [99, 5, 101, 4] { top.update(value) }
        #expect(venue.book.checksum(depth: 1) == top.value)
    }

    @Test func theMarketByOrderViewListsEveryOrderInPriority() throws {
        var venue = try Venue()
        venue.seed(
            limit(1, .sell, 5, at: 101), limit(2, .sell, 3, at: 100, account: 4), limit(3, .sell, 2, at: 101),
            limit(4, .buy, 1, at: 100, account: 2))
        let asks = venue.book.orders(.sell)
        #expect(asks.map(\.orderID.rawValue) == [2, 1, 3])
        #expect(asks.map(\.leavesQuantity.lots) == [2, 5, 2])
        #expect(asks.map(\.filledQuantity.lots) == [1, 0, 0])
        #expect(asks[0].account == AccountID(4))
        #expect(asks[1].priority < asks[2].priority)
        #expect(venue.book.levelCount(.sell) == 2)
        #expect(venue.asks() == [level(100, 2), level(101, 7, orders: 2)])
    }
}
