import Foundation
import PeregrineCodec
import PeregrineCore
import PeregrineEngine
import PeregrineModel
import PeregrineNATS
import PeregrineStrategy
import PeregrineTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A scripted trader: on a trade print (the test's go signal) it buys 15 at market; once that
/// has filled it offers 8 at 9.95; once some of the offer has filled it cancels the rest.
/// Decisions depend only on its own orders, so a hosted venue and an outside one over NATS,
/// given the same orders in the same order, must give it the same fills.
struct ScriptedTrader: Strategy, Sendable {
    static let name = "scripted-trader"
    var step: Int64 = 0

    init(_ configuration: StrategyConfiguration) throws(StrategyConfigurationError) {}

    mutating func onTrade(_ trade: Trade, instrument: InstrumentID, _ context: inout StrategyContext) {
        guard step == 0 else { return }
        step = context.submitMarket(instrument, .buy, quantity: Quantity(lots: 15)) != nil ? 1 : -1
    }

    mutating func onOrderFilled(_ update: OrderUpdate, _ context: inout StrategyContext) {
        if step == 1, update.order.side == .buy, update.order.state == .filled {
            step =
                context.submitLimit(
                    update.order.instrument, .sell, price: Price(ticks: 995), quantity: Quantity(lots: 8)) != nil
                ? 2 : -2
        } else if step == 2, update.order.side == .sell, update.order.state == .partiallyFilled {
            step = context.cancel(update.order.id) ? 3 : -3
        }
    }

    mutating func onOrderCancelled(_ update: OrderUpdate, _ context: inout StrategyContext) {
        if step == 3 { step = 4 }
    }

    mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try visitor.visit(&step, "step")
    }
}

/// The engine against `peregrine venue` over a real nats-server, and against its own hosted
/// venue, for the same flow: the same fills, position, fees and P&L; the venue restarted while
/// the trader's offer rests is reconciled (the engine re-queries the offer, the venue's
/// recovered book still holds it, and it fills after the restart).
@Suite(.serialized)
struct VenueServiceTests {
    /// The engine's prefix reads in lower case, as the engine's own (`KX` and `kx` are one): a
    /// venue given `KX` listens where an engine given `KX` publishes.
    @Test func theEnginesPrefixIsReadInLowerCase() {
        let venue = VenueSettings(url: "nats://127.0.0.1:4222", shard: 2, enginePrefix: "KX", instruments: 1)
        var engine = NATSSettings(url: "nats://127.0.0.1:4222")
        engine.usePrefix("KX")
        #expect(venue.ordersSubject == "kx.out.2.orders" && venue.reportsSubject == "kx.in.2.reports")
        #expect(venue.ordersSubject.hasPrefix(engine.subjectPrefix + "."))
    }

    /// Messages on a subject, collected by a thread until stopped.
    final class Listener: @unchecked Sendable {
        let subscription: NATSSubscription
        let lock = NSLock()
        var messages: [[UInt8]] = []
        var running = true

        init(_ connection: NATSConnection, _ subject: String) throws {
            subscription = try connection.subscribe(subject)
            try connection.flush()
            Thread { [self] in
                while lock.withLock({ running }) {
                    _ = try? subscription.next(timeoutMilliseconds: 20) { message in
                        let bytes = Array(message.bytes)
                        lock.withLock { messages.append(bytes) }
                    }
                }
            }.start()
        }

        /// Reports received so far (hello messages left out).
        var reports: [ExecutionReport] {
            lock.withLock { messages }.filter { !$0.starts(with: Array("HELLO".utf8)) }.flatMap { bytes in
                stride(from: 0, to: bytes.count, by: 64).compactMap { offset in
                    bytes.withUnsafeBytes {
                        try? ExecutionReport(decoding: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + 64)]))
                    }
                }
            }
        }
        var hellos: Int { lock.withLock { messages.filter { $0.starts(with: Array("HELLO".utf8)) }.count } }

        /// Waits (up to 60 s) until `condition` holds.
        func await(_ what: String, _ condition: (Listener) -> Bool) {
            let deadline = Date().addingTimeInterval(60)
            while !condition(self), Date() < deadline { usleep(5_000) }
            if !condition(self) { Issue.record("timed out waiting for \(what)") }
        }

        func stop() { lock.withLock { running = false } }
    }

    /// The flow: offers of 10 at 10.00, 10.01, 10.02 and bids of 10 at 9.90 and 9.89 (account 7).
    static func flow(_ instrument: UInt32) -> [String] {
        [(1, "sell", 1_000), (2, "sell", 1_001), (3, "sell", 1_002), (4, "buy", 990), (5, "buy", 989)].map {
            "{\"type\":\"order\",\"instrument\":\(instrument),\"action\":\"new\",\"order_id\":\($0.0),\"account\":7,"
                + "\"side\":\"\($0.1)\",\"order_type\":\"limit\",\"tif\":\"GTC\",\"price\":\($0.2),\"quantity\":10}"
        }
    }

    /// The flow's buyer lifting 5 of the trader's offer at 9.95.
    static func lift(_ instrument: UInt32) -> String {
        "{\"type\":\"order\",\"instrument\":\(instrument),\"action\":\"new\",\"order_id\":6,\"account\":7,"
            + "\"side\":\"buy\",\"order_type\":\"limit\",\"tif\":\"IOC\",\"price\":995,\"quantity\":5}"
    }

    static func go(_ instrument: UInt32) -> String {
        "{\"type\":\"trade\",\"instrument\":\(instrument),\"price\":1000,\"quantity\":1,\"aggressor\":\"buy\",\"trade_id\":1}"
    }

    static func publish(_ connection: NATSConnection, _ subject: String, _ lines: [String]) throws {
        let bytes = Array(lines.joined(separator: "\n").utf8)
        try bytes.withUnsafeBytes { try connection.publish(subject, $0) }
        try connection.flush()
    }

    /// Runs the engine (subjects `hostedINDEX.*` or `venueINDEX.*`, input from NATS, the trader
    /// on the hosted instrument 1 or the outside instrument 0) on a thread; returns a handle to
    /// wait for its report.
    final class EngineRun: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        var report: Result<EngineReport, any Error>?
        /// The open orders of the latest status (a tenth of a second apart), by state.
        let observer = OpenOrders()

        final class OpenOrders: PipelineObserver, @unchecked Sendable {
            let lock = NSLock()
            var byState: [OrderState: Int]?
            func recovered(_ summary: ReplaySummary?) {}
            func finished(_ report: EngineReport) {}
            func interval(_ status: PipelineStatus) {
                guard let trading = status.trading else { return }
                lock.lock()
                byState = trading.openOrders
                lock.unlock()
            }
            var latest: [OrderState: Int]? {
                lock.lock()
                defer { lock.unlock() }
                return byState
            }
        }

        init(url: String, index: Int, hosted: Bool) {
            var configuration = EngineConfiguration()
            configuration.instruments = 1
            configuration.orderFlowPercent = hosted ? 1 : 0  // hosted: instrument 1 is the engine's own venue
            configuration.metricsPort = 0
            configuration.statusIntervalSeconds = 0.1
            configuration.strategies = [
                StrategySpec(name: ScriptedTrader.name, instruments: [InstrumentID(hosted ? 1 : 0)])
            ]
            let prefix = hosted ? "hosted\(index)" : "venue\(index)"
            // One shard (every instrument is its own); the prefix keeps the test's subjects and
            // stream apart from others'.
            let nats = NATSSettings(
                url: url, shard: 0, shardCount: 1, subjectPrefix: prefix, streamPrefix: prefix.uppercased(),
                consumeInput: true)
            let settings = configuration
            Thread { [self] in
                do {
                    report = .success(
                        try DistributedPipeline.run(
                            configuration: settings, nats: nats, custom: ScriptedTrader.self,
                            observer: observer, status: { _ in }))
                } catch { report = .failure(error) }
                done.signal()
            }.start()
        }

        /// Waits (up to 60 s) until the engine's status shows `count` open orders: what it was sent
        /// has been applied (so an END sent after the last one cannot overtake it).
        func awaitOpenOrders(_ count: Int) {
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                if let open = observer.latest, open.values.reduce(0, +) == count { return }
                usleep(20_000)
            }
            Issue.record(
                "the engine's status never showed \(count) open orders (last: \(String(describing: observer.latest)))")
        }

        func wait() throws -> EngineReport {
            guard done.wait(timeout: .now() + 120) == .success, let report else {
                throw ReportMissing()
            }
            return try report.get()
        }
        struct ReportMissing: Error {}
    }

    /// `peregrine venue` as a process.
    static func venue(url: String, index: Int, journal: String) throws -> Process {
        let process = Process()
        process.executableURL = PeregrineCLI.binary
        process.arguments = [
            "venue", "--nats", url, "--shard", "0/1", "--nats-prefix", "venue\(index)", "--instruments", "1",
            "--journal", journal, "--metrics-port", "0",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// What the trader ended with: its position line's figures from its fills (the unrealised
    /// P&L is left out: it marks to the instrument's book, which the hosted engine holds and the
    /// outside one only sees through market data, none here).
    static func outcome(_ report: EngineReport) -> [String] {
        (report.trading?.lines ?? []).map {
            "net \($0.net) avg \($0.averageEntry) realised \($0.realised) fees \($0.fees) fills \($0.fills) "
                + "volume \($0.volume)"
        }
    }

    @Test func theVenueOverNATSGivesTheHostedVenuesFillsAndARestartIsReconciled() throws {
        let (url, server) = try JetStreamJournalTests.server()
        defer { _ = server }
        let index = Int(getpid() % 400) + 100
        let connection = try NATSConnection(NATSConnectionOptions(url: url))

        // 1. Hosted: the flow and the signals go to the engine's own input, in order.
        let hostedInput = "hosted\(index).in.0"
        let hostedReports = try Listener(connection, "hosted\(index).out.0.reports")
        let hosted = EngineRun(url: url, index: index, hosted: true)
        // The engine subscribes once it runs; publish until its first report shows it took the flow.
        let deadline = Date().addingTimeInterval(60)
        while hostedReports.reports.isEmpty, Date() < deadline {
            try Self.publish(connection, hostedInput, [Self.flow(1)[0]])
            usleep(100_000)
        }
        try Self.publish(connection, hostedInput, Array(Self.flow(1).dropFirst()) + [Self.go(1)])
        hostedReports.await("the hosted offer") { listener in
            listener.reports.contains { $0.orderID.isStrategyOrder && $0.side == .sell && $0.kind == .accepted }
        }
        try Self.publish(connection, hostedInput, [Self.lift(1)])
        hostedReports.await("the hosted cancel") { listener in
            listener.reports.contains { $0.orderID.isStrategyOrder && $0.kind == .cancelled }
        }
        try Self.publish(connection, hostedInput, ["END"])
        let hostedReport = try hosted.wait()
        hostedReports.stop()

        // 2. Outside: `peregrine venue` takes the flow on the engine's orders subject (one
        // subject, so the venue sees it before the engine's orders), answers on in.K.reports.
        let journal = NSTemporaryDirectory() + "peregrine-venue-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: journal) }
        let ordersSubject = "venue\(index).out.0.orders"
        let venueReports = try Listener(connection, "venue\(index).in.0.reports")
        var venue = try Self.venue(url: url, index: index, journal: journal)
        venueReports.await("the venue's hello") { $0.hellos == 1 }
        let outside = EngineRun(url: url, index: index, hosted: false)
        let engineInput = "venue\(index).in.0"
        try Self.publish(connection, ordersSubject, Self.flow(0))
        // The engine is up once a probe through its input reaches the trader: the go signal
        // repeated until the trader's market buy is answered.
        while !venueReports.reports.contains(where: { $0.orderID.isStrategyOrder }),
            Date() < deadline.addingTimeInterval(60)
        {
            try Self.publish(connection, engineInput, [Self.go(0)])
            usleep(100_000)
        }
        venueReports.await("the venue's offer") { listener in
            listener.reports.contains { $0.orderID.isStrategyOrder && $0.side == .sell && $0.kind == .accepted }
        }
        outside.awaitOpenOrders(1)
        // The venue dies with the offer resting and comes back from its journal: it says hello,
        // the engine asks for its open offer, and the venue confirms it.
        kill(venue.processIdentifier, SIGKILL)
        venue.waitUntilExit()
        venue = try Self.venue(url: url, index: index, journal: journal)
        venueReports.await("the restarted venue's status answer") { listener in
            listener.hellos == 2 && listener.reports.contains { $0.kind == .status && $0.leavesQuantity.lots == 8 }
        }
        try Self.publish(connection, ordersSubject, [Self.lift(0)])
        venueReports.await("the venue's cancel") { listener in
            listener.reports.contains { $0.orderID.isStrategyOrder && $0.kind == .cancelled }
        }
        // The engine takes the cancel on another subscription than END: END goes once it has.
        outside.awaitOpenOrders(0)
        try Self.publish(connection, engineInput, ["END"])
        let outsideReport = try outside.wait()
        venueReports.stop()
        kill(venue.processIdentifier, SIGINT)
        venue.waitUntilExit()

        // The same fills, position, fees and P&L.
        let expected = Self.outcome(hostedReport)
        // Bought 10 at 10.00 and 5 at 10.01 (taker), sold 5 at 9.95 (maker): long 0.010.
        #expect(
            expected == ["net 0.010 avg 10.00 realised -0.00027 fees 0.000064995 fills 3 volume 0.020"], "\(expected)")
        #expect(Self.outcome(outsideReport) == expected)
        let counters = try #require(outsideReport.trading?.counters)
        #expect(
            counters.statusRequests == 1 && counters.reconciledClosed == 0 && counters.reconciliationMismatches == 0)
        #expect(outsideReport.trading?.openOrders.isEmpty == true && hostedReport.trading?.openOrders.isEmpty == true)
        let jetStream = try connection.jetStream()
        try jetStream.deleteStream("HOSTED\(index)_JOURNAL_0")
        try jetStream.deleteStream("VENUE\(index)_JOURNAL_0")
    }
}
