import PeregrineBook
import PeregrineCore
import PeregrineModel
import Testing

/// Each instrument has one book: market data moves the L2 books of instruments 0 and 1, orders
/// move the hosted venue's books of instruments 2 and 3, and the views read whichever book the
/// instrument has.
@Suite("Instrument books")
struct InstrumentBooksTests {
    static func books(hosted: Bool) throws -> InstrumentBooks {
        let venue =
            hosted
            ? try MatchingEngine(specs: [2, 3].map { InstrumentSpec(instrument: InstrumentID($0), orderCapacity: 64) })
            : nil
        return InstrumentBooks(levels: try BookSet(count: 2), venue: venue)
    }

    static func level(_ price: Int64, _ lots: Int64) -> BookLevel {
        BookLevel(price: Price(ticks: price), quantity: Quantity(lots: lots))
    }

    @Test func marketDataAndOrdersEachMoveTheirInstrumentsOneBook() throws {
        var books = try Self.books(hosted: true)
        var reports = ExecutionReportCollector()
        books.apply(LevelUpdate(side: .buy, price: Price(ticks: 100), quantity: Quantity(lots: 5)), to: InstrumentID(0))
        books.process(
            .limit(OrderID(1), account: AccountID(1), .sell, price: Price(ticks: 205), quantity: Quantity(lots: 3)),
            instrument: InstrumentID(2), sink: &reports)
        books.process(
            .limit(OrderID(2), account: AccountID(2), .sell, price: Price(ticks: 205), quantity: Quantity(lots: 4)),
            instrument: InstrumentID(2), sink: &reports)
        #expect(reports.reports.map(\.kind) == [.accepted, .accepted])
        #expect(!books.isHosted(InstrumentID(0)) && books.isHosted(InstrumentID(2)) && !books.isHosted(InstrumentID(4)))
        #expect(books.bestBidOffer(InstrumentID(0)) == BestBidOffer(bid: Self.level(100, 5), ask: nil))
        #expect(books.bestBidOffer(InstrumentID(2)) == BestBidOffer(bid: nil, ask: Self.level(205, 7)))
        #expect(books.depth(InstrumentID(2), .sell, levels: 5) == [Self.level(205, 7)])
        #expect(books.depth(InstrumentID(0), .buy, levels: 5) == [Self.level(100, 5)])
        #expect(books.bestBidOffer(InstrumentID(4)) == nil && books.depth(InstrumentID(4), .buy, levels: 5).isEmpty)

        // Market data for a hosted instrument has no L2 book to move: counted, the venue's book
        // unchanged. An order for a market-data instrument is rejected by the venue.
        books.apply(LevelUpdate(side: .buy, price: Price(ticks: 204), quantity: Quantity(lots: 9)), to: InstrumentID(2))
        #expect(books.withLevels { $0.unknownInstrumentUpdates } == 1)
        #expect(books.bestBidOffer(InstrumentID(2))?.bid == nil)
        books.process(
            .limit(OrderID(3), account: AccountID(1), .buy, price: Price(ticks: 100), quantity: Quantity(lots: 1)),
            instrument: InstrumentID(0), sink: &reports)
        #expect(reports.reports.last?.kind == .rejected && reports.reports.last?.reason == .unknownInstrument)
        #expect(books.unknownInstrumentCommands == 1)

        // A clear empties an L2 book.
        books.clear(InstrumentID(0))
        #expect(books.bestBidOffer(InstrumentID(0)) == BestBidOffer(bid: nil, ask: nil))
    }

    @Test func withoutAHostedVenueEveryOrderIsRejectedWithAReport() throws {
        var books = try Self.books(hosted: false)
        var reports = ExecutionReportCollector()
        books.process(
            .limit(OrderID(9), account: AccountID(4), .buy, price: Price(ticks: 10), quantity: Quantity(lots: 2)),
            instrument: InstrumentID(1), sink: &reports)
        #expect(reports.reports.count == 1)
        #expect(reports.reports.first?.kind == .rejected && reports.reports.first?.reason == .unknownInstrument)
        #expect(reports.reports.first?.orderID == OrderID(9) && reports.reports.first?.account == AccountID(4))
        #expect(books.unknownInstrumentCommands == 1 && !books.hasVenue)
        #expect(books.venueCounters == MatchingCounters())

        // The count is state: hashed, and carried through a snapshot.
        var before = StateHasher()
        var fresh = try Self.books(hosted: false)
        fresh.combineState(into: &before)
        var after = StateHasher()
        books.combineState(into: &after)
        #expect(before.value != after.value)
        var encoder = SnapshotEncoder()
        books.encodeState(into: &encoder)
        var decoder = SnapshotDecoder(encoder.bytes)
        try fresh.restoreState(from: &decoder)
        #expect(decoder.isAtEnd && fresh.unknownInstrumentCommands == 1)
        var restored = StateHasher()
        fresh.combineState(into: &restored)
        #expect(restored.value == after.value)
        // A snapshot with a hosted venue does not load into books without one.
        let hosted = try Self.books(hosted: true)
        var withVenue = SnapshotEncoder()
        hosted.encodeState(into: &withVenue)
        var other = try Self.books(hosted: false)
        var venueDecoder = SnapshotDecoder(withVenue.bytes)
        #expect(throws: SnapshotError.mismatch("snapshot has a hosted venue; this run has no order flow")) {
            try other.restoreState(from: &venueDecoder)
        }
    }
}
