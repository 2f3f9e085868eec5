import Foundation
import NIOCore
import NIOHTTP1
import PeregrineCore
import PeregrineModel
import PeregrineStrategy
import Synchronization
import Testing

@testable import PeregrineControl
@testable import PeregrineEngine

/// The control plane in-process: exact metric values from known pipeline figures, and the
/// readiness rules.
@Suite(.serialized)
struct ControlPlaneTests {
    static func status(
        counters: [PipelineCounters.Counter: Int], elapsed: Double, endToEnd: [UInt64] = [],
        rejects: [ExecutionReason: Int] = [:], journalWritable: Bool = true, orderLatency: [UInt64] = [],
        bundleLatency: [UInt64] = []
    ) -> PipelineStatus {
        var histogram = LatencyRecorder.makeHistogram()
        for value in endToEnd { histogram.record(value) }
        var orders = LatencyRecorder.makeHistogram()
        for value in orderLatency { orders.record(value) }
        var bundles = LatencyRecorder.makeHistogram()
        for value in bundleLatency { bundles.record(value) }
        var status = PipelineStatus(
            counters: counters, ringOccupancy: 0.25, journalLagEvents: 7, journalWritable: journalWritable,
            rejectsByReason: rejects, endToEnd: endToEnd.isEmpty ? nil : histogram,
            orderLatency: orderLatency.isEmpty ? nil : orders, journalLatency: nil, elapsedSeconds: elapsed)
        status.bundleLatency = bundleLatency.isEmpty ? nil : bundles
        return status
    }

    /// The value of one sample line (`name{labels} value`) in an exposition.
    static func sample(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test func countersGaugesAndHistogramsCarryTheMonitorsFigures() throws {
        let plane = ControlPlane(port: 0)
        plane.recovered(nil)
        plane.interval(
            Self.status(
                counters: [
                    .sourceEmitted: 1_000, .journalPassed: 990, .logicProcessed: 980, .sinkOutcomes: 970,
                    .sourceDropped: 3, .journalBytes: 79_200, .sinkSignals: 12,
                ],
                elapsed: 1, endToEnd: [500, 500, 500, 1_500, 1_500, 7_000_000],
                rejects: [.unknownOrderID: 4]))
        plane.interval(
            Self.status(
                counters: [
                    .sourceEmitted: 3_000, .journalPassed: 2_990, .logicProcessed: 2_980, .sinkOutcomes: 2_970,
                    .sourceDropped: 3, .sourceTicks: 40, .journalBytes: 239_200, .sinkSignals: 20, .logicOrders: 25,
                    .logicRefusedOrders: 2, .logicVenueOrders: 21, .sinkVenueOrders: 20,
                ],
                elapsed: 2, endToEnd: [15_000], rejects: [.unknownOrderID: 9, .postOnlyWouldTake: 1],
                orderLatency: [800, 3_000], bundleLatency: [40_000, 300_000_000]))
        let text = plane.metricsText()
        #expect(Self.sample(text, "peregrine_events_total{stage=\"source\"}") == 3_000)
        #expect(Self.sample(text, "peregrine_events_total{stage=\"journal\"}") == 2_990)
        #expect(Self.sample(text, "peregrine_events_total{stage=\"logic\"}") == 2_980)
        #expect(Self.sample(text, "peregrine_events_total{stage=\"sink\"}") == 2_970)
        #expect(Self.sample(text, "peregrine_drops_total{reason=\"ring_full\"}") == 3)
        #expect(Self.sample(text, "peregrine_idle_ticks_total") == 40)
        #expect(Self.sample(text, "peregrine_journal_written_bytes_total") == 239_200)
        #expect(Self.sample(text, "peregrine_signals_total") == 20)
        #expect(Self.sample(text, "peregrine_rejects_total{reason=\"order_unknown_order_id\"}") == 9)
        #expect(Self.sample(text, "peregrine_rejects_total{reason=\"order_post_only_would_take\"}") == 1)
        // (2,970 − 970) events in the second second.
        #expect(Self.sample(text, "peregrine_throughput_events_per_second") == 2_000)
        #expect(Self.sample(text, "peregrine_ring_occupancy_ratio{ring=\"inbound\"}") == 0.25)
        #expect(Self.sample(text, "peregrine_journal_lag_events") == 7)
        #expect(Self.sample(text, "peregrine_ready") == 1)
        let bucket = { (le: String) in
            Self.sample(text, "peregrine_latency_seconds_bucket{stage=\"end_to_end\",le=\"\(le)\"}")
        }
        #expect(bucket("1e-06") == 3)
        #expect(bucket("2e-06") == 5)
        #expect(bucket("1e-05") == 5)
        #expect(bucket("2e-05") == 6)
        #expect(bucket("0.005") == 6)
        #expect(bucket("0.01") == 7)
        #expect(bucket("+Inf") == 7)
        #expect(Self.sample(text, "peregrine_latency_seconds_count{stage=\"end_to_end\"}") == 7)
        let sum = try #require(Self.sample(text, "peregrine_latency_seconds_sum{stage=\"end_to_end\"}"))
        #expect(abs(sum - 0.0070185) < 0.00001)  // HdrHistogram keeps 3 significant digits
        #expect(Self.sample(text, "peregrine_latency_seconds_count{stage=\"journal\"}") == 0)
        #expect(Self.sample(text, "peregrine_orders_total{stage=\"logic\"}") == 25)
        #expect(Self.sample(text, "peregrine_orders_total{stage=\"venue_out\"}") == 21)
        #expect(Self.sample(text, "peregrine_orders_total{stage=\"sink\"}") == 20)
        // Refusals before a venue are the strategies' by reason, from the board (none attached here).
        #expect(!text.contains("orders_per_event"))
        #expect(Self.sample(text, "peregrine_latency_seconds_count{stage=\"order\"}") == 2)
        #expect(Self.sample(text, "peregrine_latency_seconds_bucket{stage=\"order\",le=\"1e-06\"}") == 1)
        // A mempool run's victim → bundle latency, with a tail past 100 ms.
        #expect(Self.sample(text, "peregrine_latency_seconds_count{stage=\"bundle\"}") == 2)
        #expect(Self.sample(text, "peregrine_latency_seconds_bucket{stage=\"bundle\",le=\"5e-05\"}") == 1)
        #expect(Self.sample(text, "peregrine_latency_seconds_bucket{stage=\"bundle\",le=\"0.2\"}") == 1)
        #expect(Self.sample(text, "peregrine_latency_seconds_bucket{stage=\"bundle\",le=\"0.5\"}") == 2)
        let lint = try Tools.run("promtool", ["check", "metrics"], input: text)
        #expect(lint.status == 0, "promtool: \(lint.output)\(lint.error)")
        #expect(lint.output.isEmpty && lint.error.isEmpty, "promtool: \(lint.output)\(lint.error)")
    }

    /// A scrape reads the pipeline's counters and the strategies' refusals by reason where the
    /// threads left them, between status intervals; an interval's snapshot taken before a
    /// scrape counts nothing twice.
    @Test func aScrapeReadsTheCountersBetweenIntervals() throws {
        let plane = ControlPlane(port: 0)
        let counters = PipelineCounters()
        let board = TradingBoard()
        plane.attach(admin: AdminMailbox(), trading: board, counters: counters)
        plane.recovered(nil)
        counters.publish(.sourceEmitted, 500)
        counters.publish(.logicOrders, 7)
        var snapshot = TradingSnapshot()
        snapshot.counters.refused[Int(OrderRefusal.eventLimit.rawValue)] = 3
        snapshot.counters.refused[Int(OrderRefusal.notCancellable.rawValue)] = 2
        board.publish(snapshot)
        var text = plane.metricsText()
        #expect(Self.sample(text, "peregrine_events_total{stage=\"source\"}") == 500)
        #expect(Self.sample(text, "peregrine_orders_total{stage=\"logic\"}") == 7)
        #expect(Self.sample(text, "peregrine_rejects_total{reason=\"strategy_event_limit\"}") == 3)
        #expect(Self.sample(text, "peregrine_rejects_total{reason=\"strategy_not_cancellable\"}") == 2)
        #expect(Self.sample(text, "peregrine_rejects_total{reason=\"strategy_invalid_price\"}") == 0)
        plane.interval(Self.status(counters: [.sourceEmitted: 400, .logicOrders: 5], elapsed: 1))
        text = plane.metricsText()
        #expect(Self.sample(text, "peregrine_events_total{stage=\"source\"}") == 500)
        #expect(Self.sample(text, "peregrine_orders_total{stage=\"logic\"}") == 7)
        counters.publish(.sourceEmitted, 900)
        plane.interval(Self.status(counters: [.sourceEmitted: 800], elapsed: 2))
        text = plane.metricsText()
        #expect(Self.sample(text, "peregrine_events_total{stage=\"source\"}") == 900)
        snapshot.counters.refused[Int(OrderRefusal.eventLimit.rawValue)] = 10
        board.publish(snapshot)
        #expect(Self.sample(plane.metricsText(), "peregrine_rejects_total{reason=\"strategy_event_limit\"}") == 10)
    }

    /// (The HTTP side, against the engine's process, is in `OperationsTests`.)
    @Test func readinessWaitsForRecoveryAndDropsWhenTheJournalFails() throws {
        let plane = ControlPlane(port: 0)
        #expect(plane.readiness() == (false, "{\"ready\":false,\"reason\":\"recovering the journal\"}\n"))
        #expect(Self.sample(plane.metricsText(), "peregrine_ready") == 0)
        plane.recovered(nil)
        #expect(plane.readiness() == (true, "{\"ready\":true}\n"))
        #expect(Self.sample(plane.metricsText(), "peregrine_ready") == 1)
        plane.interval(Self.status(counters: [:], elapsed: 1, journalWritable: false))
        #expect(plane.readiness() == (false, "{\"ready\":false,\"reason\":\"the journal stopped accepting writes\"}\n"))
        #expect(Self.sample(plane.metricsText(), "peregrine_ready") == 0)
    }

    @Test func reasonsAreEscapedAsJSON() {
        #expect(TextField.json("journal error: \"x\\y\"\n\u{1}") == "\"journal error: \\\"x\\\\y\\\"\\n\\u0001\"")
    }
}

/// `POST /kill` and `/reset` on a real listening control plane: the token, the loopback rule,
/// and a command reaching the source side of the mailbox in order.
@Suite(.serialized)
struct AdminCommandTests {
    /// A control plane on a free loopback port, its mailbox open, and a thread standing in for
    /// the source: it takes each command and marks it sequenced, recording what it took.
    final class Engine: @unchecked Sendable {
        var plane: ControlPlane
        var port: Int
        let admin = AdminMailbox()
        let lock = NSLock()
        var taken: [AdminCommand] = []
        var running = true
        var thread: Thread?

        /// A request with a timeout long enough for a machine busy with other tests.
        static func send(_ method: HTTPMethod, port: Int, _ path: String, headers: [(String, String)] = []) throws
            -> ControlClient.Response
        {
            try ControlClient.send(
                method, host: "127.0.0.1", port: port, path: path, headers: headers, timeoutSeconds: 60)
        }

        init(token: String?, takes: Bool = true) {
            // A free port can be taken by another test's server before this one binds it:
            // then another port (up to five tries). Only this plane's own listening counts
            // (another server on the port would answer /healthz too).
            port = LoopbackPort.free()
            plane = ControlPlane(port: port, adminToken: token)
            for _ in 1..<5 where !plane.awaitListening(timeoutSeconds: 60) {
                plane.stop()
                port = LoopbackPort.free()
                plane = ControlPlane(port: port, adminToken: token)
            }
            if !plane.awaitListening(timeoutSeconds: 60) {
                Issue.record("no control plane could listen (last tried 127.0.0.1:\(port))")
            }
            plane.attach(admin: admin, trading: TradingBoard(), counters: PipelineCounters())
            admin.setOpen(true)
            guard takes else { return }
            let thread = Thread { [self] in
                while lock.withLock({ running }) {
                    if admin.hasPending, let command = admin.take() {
                        lock.withLock { taken.append(command) }
                    }
                    usleep(200)
                }
            }
            thread.start()
            self.thread = thread
        }

        func post(_ path: String, token: String?) throws -> ControlClient.Response {
            try Self.send(.POST, port: port, path, headers: token.map { [("Authorization", "Bearer \($0)")] } ?? [])
        }

        /// The commands taken, once `count` have been (the reply to a command leaves once it is
        /// taken, a moment before the taker notes it), or as they are after 60 s.
        func taken(count: Int) -> [AdminCommand] {
            let deadline = Date().addingTimeInterval(60)
            while lock.withLock({ taken.count }) < count, Date() < deadline { usleep(200) }
            return lock.withLock { taken }
        }

        func stop() {
            lock.withLock { running = false }
            plane.stop()
        }
    }

    static let token = "a-token-of-sixteen-or-more"

    @Test func aCommandNeedsTheTokenAndReachesTheSourceInOrder() throws {
        let engine = Engine(token: Self.token)
        defer { engine.stop() }
        let missing = try engine.post("/kill", token: nil)
        #expect(missing.status == 401 && missing.body.contains("missing or wrong token"))
        #expect(missing.headers["www-authenticate"] == "Bearer realm=\"peregrine\"")
        let wrong = try engine.post("/kill", token: "a-token-of-sixteen-or-morf")
        #expect(wrong.status == 401 && wrong.headers["www-authenticate"] == "Bearer realm=\"peregrine\"")
        #expect(engine.lock.withLock { engine.taken.isEmpty })
        let kill = try engine.post("/kill", token: Self.token)
        #expect(
            kill.status == 200 && kill.body.contains("\"action\":\"kill\"") && kill.body.contains("\"sequenced\":true"))
        let reset = try engine.post("/reset", token: Self.token)
        #expect(reset.status == 200 && reset.body.contains("\"action\":\"reset\""))
        let taken = engine.taken(count: 2)
        #expect(taken.map(\.action) == [.kill, .reset])
        #expect(taken.map(\.requestID) == [1, 2])
        // GET on the command's path is not a command.
        // Another method on a known path is 405 naming the one it takes; an unknown path 404.
        let get = try Engine.send(.GET, port: engine.port, "/kill")
        #expect(get.status == 405 && get.headers["allow"] == "POST", "\(get)")
        let delete = try Engine.send(.DELETE, port: engine.port, "/risk")
        #expect(delete.status == 405 && delete.headers["allow"] == "GET, HEAD", "\(delete)")
        let post = try Engine.send(.POST, port: engine.port, "/metrics")
        #expect(post.status == 405 && post.headers["allow"] == "GET, HEAD", "\(post)")
        #expect(try Engine.send(.GET, port: engine.port, "/nothing").status == 404)
        #expect(engine.lock.withLock { engine.taken.count } == 2)
        // The scheme's name is case-insensitive; another scheme is not a token.
        let lower = try Engine.send(
            .POST, port: engine.port, "/kill", headers: [("Authorization", "bearer \(Self.token)")])
        #expect(lower.status == 200, "\(lower.body)")
        let basic = try Engine.send(
            .POST, port: engine.port, "/kill", headers: [("Authorization", "Basic \(Self.token)")])
        #expect(basic.status == 401)
        #expect(engine.taken(count: 3).count == 3)
    }

    /// HEAD on each GET endpoint answers the GET's status without a body.
    @Test func headAnswersAsGetWithoutABody() throws {
        let engine = Engine(token: nil, takes: false)
        defer { engine.stop() }
        for path in ["/healthz", "/risk"] {
            let get = try Engine.send(.GET, port: engine.port, path)
            let head = try Engine.send(.HEAD, port: engine.port, path)
            #expect(head.status == 200 && head.body.isEmpty, "\(path)")
            // The GET's length, not 0 (RFC 9110).
            #expect(head.headers["content-length"] == "\(get.body.utf8.count)", "\(path)")
        }
        let metrics = try Engine.send(.HEAD, port: engine.port, "/metrics")
        #expect(metrics.status == 200 && metrics.body.isEmpty)
        let ready = try Engine.send(.GET, port: engine.port, "/readyz")
        let head = try Engine.send(.HEAD, port: engine.port, "/readyz")
        #expect(head.status == ready.status && head.body.isEmpty)
    }

    @Test func aPlaneWhosePortIsTakenSaysItDoesNotListen() throws {
        let engine = Engine(token: nil, takes: false)
        defer { engine.stop() }
        #expect(engine.plane.awaitListening(timeoutSeconds: 60))
        // Once it listens, no wait is needed (nor a sensible timeout).
        #expect(engine.plane.awaitListening(timeoutSeconds: 0))
        #expect(engine.plane.awaitListening(timeoutSeconds: .nan))
        let second = ControlPlane(port: engine.port)
        defer { second.stop() }
        #expect(!second.awaitListening(timeoutSeconds: 60))
        #expect(!ControlPlane(port: 0).awaitListening(timeoutSeconds: 60))
    }

    /// The plane's server runs on a thread of its own: it starts and answers while every thread
    /// of Swift's shared pool is blocked (as a test runner's synchronous tests block them).
    @Test func aPlaneListensAndAnswersWhileTheSharedPoolIsBlocked() throws {
        final class Blockers: Sendable {
            let released = Atomic<Bool>(false)
            let started = Atomic<Int>(0)
        }
        let blockers = Blockers()
        let threads = ProcessInfo.processInfo.activeProcessorCount + 1
        for _ in 0..<threads {
            Task.detached {
                blockers.started.add(1, ordering: .relaxed)
                while !blockers.released.load(ordering: .acquiring) { usleep(1_000) }
            }
        }
        defer { blockers.released.store(true, ordering: .releasing) }
        // Every thread the pool has is taken (it does not grow: the last blockers wait). When
        // this test runs on one of its threads, one blocker fewer starts; when other tests hold
        // threads, fewer still, and the pool is as full.
        let cores = threads - 1
        for _ in 0..<60_000 where blockers.started.load(ordering: .relaxed) < cores - 1 { usleep(1_000) }
        for _ in 0..<1_000 where blockers.started.load(ordering: .relaxed) < cores { usleep(1_000) }
        let plane = ControlPlane(port: LoopbackPort.free())
        defer { plane.stop() }
        #expect(plane.awaitListening(timeoutSeconds: 20))
        let health = try ControlClient.send(
            .GET, host: "127.0.0.1", port: plane.port, path: "/healthz", timeoutSeconds: 20)
        #expect(health.status == 200 && health.body == "{\"status\":\"up\"}\n")
        // A blocker still waits to start (they never finish): the pool was full throughout.
        #expect(blockers.started.load(ordering: .relaxed) < threads, "the shared pool was not full")
    }

    @Test func withoutATokenConfiguredCommandsAreOff() throws {
        let engine = Engine(token: nil)
        defer { engine.stop() }
        let answer = try engine.post("/kill", token: Self.token)
        #expect(answer.status == 403 && answer.body.contains("admin commands are off: set [control] admin_token"))
        #expect(engine.lock.withLock { engine.taken.isEmpty })
    }

    @Test func aClosedMailboxAnswersUnavailable() throws {
        let engine = Engine(token: Self.token)
        defer { engine.stop() }
        engine.admin.setOpen(false)
        let answer = try engine.post("/kill", token: Self.token)
        #expect(answer.status == 503 && answer.body.contains("not taking commands"))
    }

    @Test func onlyLoopbackPeersCountAsLocal() throws {
        #expect(ControlPlane.isLoopback(try SocketAddress(ipAddress: "127.0.0.1", port: 1)))
        #expect(ControlPlane.isLoopback(try SocketAddress(ipAddress: "127.8.9.1", port: 1)))
        #expect(ControlPlane.isLoopback(try SocketAddress(ipAddress: "::1", port: 1)))
        #expect(!ControlPlane.isLoopback(try SocketAddress(ipAddress: "10.0.0.1", port: 1)))
        #expect(!ControlPlane.isLoopback(try SocketAddress(ipAddress: "::2", port: 1)))
        #expect(!ControlPlane.isLoopback(nil))
        #expect(ControlPlane.constantTimeEqual("Bearer abc", "Bearer abc"))
        #expect(!ControlPlane.constantTimeEqual("Bearer abc", "Bearer abd"))
        #expect(!ControlPlane.constantTimeEqual("Bearer abc", "Bearer abcd"))
    }
}
