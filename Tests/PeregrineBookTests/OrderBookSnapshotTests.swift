import PeregrineBook
import PeregrineCore
import PeregrineModel
import Testing

@Suite("Order book snapshots")
struct OrderBookSnapshotTests {
    static let spec = InstrumentSpec(
        instrument: InstrumentID(1), orderCapacity: 10_000,
        selfTradePolicy: SelfTradePolicy(default: .cancelOldest))

    /// A random command stream (the reference test's generator, driven by the reference).
    static func commands(_ count: Int, seed: UInt64) -> [OrderCommand] {
        var reference = ReferenceOrderBook(spec: spec)
        var generator = CommandGenerator(seed: seed, tickSize: 1, lotSize: 1, spacing: 1, farEvery: 16)
        return (0..<count).map { _ in
            let command = generator.next(live: reference)
            _ = reference.process(command)
            return command
        }
    }

    @Test(arguments: [1_000, 25_000, 49_999])
    func snapshotPlusTailEqualsTheFullRun(_ split: Int) throws {
        let stream = Self.commands(50_000, seed: UInt64(split))
        var full = try OrderBook(spec: Self.spec)
        var fullReports = ExecutionReportCollector()
        for command in stream[..<split] { full.process(command, sink: &fullReports) }
        var encoder = SnapshotEncoder()
        full.encodeState(into: &encoder)

        var restored = try OrderBook(spec: Self.spec)
        var decoder = SnapshotDecoder(encoder.bytes)
        try restored.restoreState(from: &decoder)
        #expect(decoder.isAtEnd)
        #expect(restored.stateHash() == full.stateHash())
        #expect(restored.counters == full.counters)
        #expect(restored.orders(.buy) == full.orders(.buy) && restored.pendingStops(.sell) == full.pendingStops(.sell))

        var tailFull = ExecutionReportCollector()
        var tailRestored = ExecutionReportCollector()
        for command in stream[split...] {
            full.process(command, sink: &tailFull)
            restored.process(command, sink: &tailRestored)
        }
        #expect(tailFull.reports == tailRestored.reports)
        #expect(tailFull.reports.count > 0)
        #expect(restored.stateHash() == full.stateHash())
    }

    @Test func aTruncatedOrForeignSnapshotIsRefused() throws {
        var book = try OrderBook(spec: Self.spec)
        var sink = ExecutionReportCollector()
        for command in Self.commands(2_000, seed: 9) { book.process(command, sink: &sink) }
        var encoder = SnapshotEncoder()
        book.encodeState(into: &encoder)
        for cut in [0, 3, 40, encoder.bytes.count / 2, encoder.bytes.count - 1] {
            var fresh = try OrderBook(spec: Self.spec)
            var decoder = SnapshotDecoder(Array(encoder.bytes.prefix(cut)))
            #expect(throws: SnapshotError.self) { try fresh.restoreState(from: &decoder) }
        }
        var other = Self.spec
        other.instrument = InstrumentID(2)
        var foreign = try OrderBook(spec: other)
        var decoder = SnapshotDecoder(encoder.bytes)
        #expect(throws: SnapshotError.mismatch("snapshot holds instrument 1 where this engine has #2")) {
            try foreign.restoreState(from: &decoder)
        }
    }

    /// A book state from before books lost their band: the last trade was a band index. Written
    /// here byte by byte in that layout, it restores with the band's low price turned back in.
    @Test func aStateFromTheBandedBookRestores() throws {
        var encoder = SnapshotEncoder()
        encoder.write(UInt32(1))  // instrument
        encoder.write(UInt64(7))  // trade count
        encoder.write(UInt64(40))  // priority sequence
        encoder.write(Int64(2_768))  // last trade index: band low 997,232 + 2,768 = 1,000,000
        for counter in [10, 9, 1, 7, 70, 1, 0, 0, 0] { encoder.write(Int64(counter)) }
        // One resting bid at 999,990 (4 lots) and one pending sell stop at 999,000; no asks, no buy stops.
        for (count, orders) in [
            (1, [(UInt64(5), Int64(999_990), Int64(0))]), (0, []), (0, []),
            (1, [(UInt64(6), Int64(0), Int64(999_000))]),
        ] as [(Int64, [(UInt64, Int64, Int64)])] {
            encoder.write(count)
            for (id, price, stop) in orders {
                encoder.write(id)
                encoder.write(UInt32(1))
                encoder.write(stop == 0 ? Side.buy.rawValue : Side.sell.rawValue)
                encoder.write(stop == 0 ? OrderType.limit.rawValue : OrderType.stopMarket.rawValue)
                encoder.write(TimeInForce.goodTillCancel.rawValue)
                encoder.write(price)
                encoder.write(stop)
                encoder.write(Int64(4))
                encoder.write(Int64(0))
                encoder.write(UInt64(id))
            }
        }
        var book = try OrderBook(spec: Self.spec)
        var decoder = SnapshotDecoder(encoder.bytes)
        try book.restoreState(from: &decoder, legacyBandLow: 1_000_000 - 32_768 + 30_000)
        #expect(decoder.isAtEnd)
        #expect(book.lastTradePrice?.ticks == 1_000_000)
        #expect(book.depth(.buy) == [level(999_990, 4)] && book.pendingStops(.sell).map(\.stopPrice.ticks) == [999_000])
        #expect(book.counters.trades == 7 && book.counters.volume == 70)
        // It trades on: a sell at the bid prints at 999,990, above the sell stop's 999,000, which waits.
        var sink = ExecutionReportCollector()
        book.process(limit(20, .sell, 4, at: 999_990, account: 2), sink: &sink)
        #expect(book.lastTradePrice?.ticks == 999_990 && book.pendingStopCount == 1)
    }
}
