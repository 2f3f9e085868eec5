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
}
