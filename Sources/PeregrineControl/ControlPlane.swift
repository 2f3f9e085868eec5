import Dispatch
import Hummingbird
import Logging
import Metrics
import NIOCore
import PeregrineEngine
import PeregrineModel
import PeregrineRisk
import PeregrineStrategy
import Prometheus
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The control plane: an HTTP server on 127.0.0.1 or the configured address (Hummingbird, on its own event-loop
/// threads and the `pg-control` thread, never a hot thread or Swift's shared pool) serving
///
/// - `/metrics`: the engine's metrics in the Prometheus text format, made through swift-metrics
///   with the swift-prometheus backend and updated by the monitor once per status interval;
/// - `/healthz`: 200 while the process is up;
/// - `/readyz`: 200 `{"ready":true}` once recovery has finished and while the journal is
///   writable, else 503 with the reason;
/// - `/risk`: the kill switch, risk rejects by reason, each strategy's day loss and gross
///   exposure (JSON);
/// - `POST /kill`, `POST /reset`: an operator's kill-switch command, which enters the journaled
///   sequence (`AdminMailbox`). Off unless an admin token is configured; the request must carry
///   it (`Authorization: Bearer TOKEN`) and come from loopback unless `admin_remote` is set.
///
/// It observes the pipeline (`PipelineObserver`); hot threads never touch it.
public final class ControlPlane: PipelineObserver, @unchecked Sendable {
    /// Seconds after which an idle connection (a partial request included) is closed.
    public static let idleTimeoutSeconds: Int64 = 10

    public let port: Int
    /// The address it listens on (loopback unless configured).
    public let address: String
    let logger: Logger
    let registry = PrometheusCollectorRegistry()
    let state = Mutex<(ready: Bool, reason: String)>((false, "recovering the journal"))
    let latency = Mutex(LatencyExport(stages: ["end_to_end", "journal", "order", "bundle"]))
    var serverTask: Task<Void, Never>?
    var serviceGroup: ServiceGroup?
    let serverDone = DispatchSemaphore(value: 0)
    /// Whether the server listens: nil while it starts, true once it accepts connections,
    /// false when it failed (e.g. the port is taken) or stopped.
    let listening = Mutex<Bool?>(nil)
    /// Why the server stopped or could not listen (its port taken, say), once it has.
    let failed = Mutex<String?>(nil)

    /// Counters by pipeline counter, and the last value published.
    let counters: [(PipelineCounters.Counter, Metrics.Counter)]
    let last = Mutex<[PipelineCounters.Counter: Int]>([:])
    let factory: DocumentedPrometheusFactory
    let ringOccupancy: Metrics.Gauge
    let journalLag: Metrics.Gauge
    let throughput: Metrics.Gauge
    let ready: Metrics.Gauge
    let residentBytes: Metrics.Gauge
    let cpuSeconds: Metrics.FloatingPointCounter
    let cpuPublished = Mutex<Double>(0)
    let previous = Mutex<(time: Double, out: Int)>((0, 0))
    /// Gauges by name and labels, made on first sight.
    let gauges = Mutex<[String: Metrics.Gauge]>([:])
    /// Whether the run has a journal (recovery said so).
    let journaled = Mutex(false)
    /// Counters of running totals the engine keeps (rejects, risk rejects, venue reports), by
    /// name and labels: the counter and the last total published.
    let totals = Mutex<[String: (counter: Metrics.Counter, last: Int)]>([:])
    /// The token admin commands need (nil: they are off), and whether they may come from
    /// addresses other than loopback.
    let adminToken: String?
    let adminRemote: Bool
    /// Where admin commands go, where the logic's latest trading state is, and the pipeline's
    /// counters, once a pipeline runs.
    let attachment = Mutex<(admin: AdminMailbox, trading: TradingBoard, counters: PipelineCounters)?>(nil)

    /// Help text of every metric, by name.
    static let help: [String: String] = [
        "peregrine_events_total":
            "Events that left each stage: source published, journal released, logic processed, sink received.",
        "peregrine_drops_total": "Events dropped, by reason.",
        "peregrine_idle_ticks_total":
            "Clock ticks the source sent while it had no input (among peregrine_events_total: subtract them for input events).",
        "peregrine_rejects_total":
            "Inputs refused, by reason (strategy_<reason>: strategy commands the engine refused before a venue, by reason, the risk checks' apart (peregrine_risk_rejects_total); order_<reason>: order commands by venue reject reason).",
        "peregrine_orders_total":
            "Orders the strategy submitted (stage logic), sent out for venues this engine does not host (stage venue_out), and received by the sink (stage sink).",
        "peregrine_signals_total":
            "Events on which the strategy acted: signals (it submitted at least one order).",
        "peregrine_execution_reports_total":
            "Execution reports from the matching engine, at the logic and at the sink.",
        "peregrine_fills_total": "Fill execution reports at the sink (two per trade).",
        "peregrine_mempool_transactions_total": "Pending transactions the mempool analysis handled.",
        "peregrine_mempool_opportunities_total": "Profitable back-runs the mempool analysis found.",
        "peregrine_bundles_total": "Bundles sealed by the logic (stage logic) and received by the sink (stage sink).",
        "peregrine_journal_durable_sequence":
            "One past the last journal sequence durable under the durability policy (absent without a journal).",
        "peregrine_journal_written_bytes_total": "Bytes written to the journal by this process.",
        "peregrine_ring_occupancy_ratio":
            "Fill of the inbound ring (published, not yet processed by the logic), 0 to 1.",
        "peregrine_journal_lag_events": "Events published on the inbound ring and not yet journaled.",
        "peregrine_throughput_events_per_second":
            "Events received by the sink per second over the last status interval, idle clock ticks included (a quiet source sends one each tick interval).",
        "peregrine_ready": "1 when recovery has finished, the sources run and the journal is writable, else 0.",
        "peregrine_process_resident_memory_bytes": "Resident memory of the engine process.",
        "peregrine_process_cpu_seconds_total": "User and system CPU time of the engine process.",
        "peregrine_position":
            "Net position of a strategy in an instrument, in the instrument's base units (positive long).",
        "peregrine_pnl":
            "P&L of a strategy in an instrument in its quote currency: realised, unrealised (marked to mid), net (after fees).",
        "peregrine_fees": "Fees a strategy paid in an instrument, in its quote currency (negative: rebates earned).",
        "peregrine_open_orders": "The strategies' open orders, by state.",
        "peregrine_risk_rejects_total": "Orders and replaces the pre-trade risk checks refused, by reason.",
        "peregrine_venue_reports_total":
            "Execution reports from outside venues (NAME.in.K.reports): applied, or malformed (refused).",
        "peregrine_venue_answer_timeouts_total":
            "New orders an outside venue did not answer within the acknowledgement timeout (cancelled).",
        "peregrine_kill_switch": "1 while the kill switch is tripped (new orders refused), else 0.",
        "peregrine_kill_switch_trips_total": "Times the kill switch tripped since the journal began.",
        "peregrine_kill_switch_resets_total":
            "Times an operator reset the tripped kill switch since the journal began.",
        "peregrine_risk_day_loss":
            "A strategy's loss since the UTC trading day began (negative: a gain), in the quote currency.",
        "peregrine_risk_day_loss_limit": "A strategy's maximum loss per trading day, in the quote currency.",
        "peregrine_risk_gross_exposure":
            "A strategy's gross exposure: sum of |position x mid| and open order notional, in the quote currency.",
        "peregrine_risk_gross_exposure_limit": "A strategy's maximum gross exposure, in the quote currency.",
    ]

    /// Serves on `address`:`port` (nothing when `port` is 0). Admin commands (`POST /kill`,
    /// `/reset`) need `adminToken`; they are taken from loopback only unless `adminRemote`.
    public init(
        port: Int, address: String = "127.0.0.1", adminToken: String? = nil, adminRemote: Bool = false,
        logger: Logger = Logger(label: "peregrine.control")
    ) {
        self.port = port
        self.address = address
        self.adminToken = adminToken
        self.adminRemote = adminRemote
        self.logger = logger
        let factory = DocumentedPrometheusFactory(registry: registry, help: Self.help)
        self.factory = factory
        let names: [(PipelineCounters.Counter, String, [(String, String)])] = [
            (.sourceEmitted, "peregrine_events_total", [("stage", "source")]),
            (.journalPassed, "peregrine_events_total", [("stage", "journal")]),
            (.logicProcessed, "peregrine_events_total", [("stage", "logic")]),
            (.sinkOutcomes, "peregrine_events_total", [("stage", "sink")]),
            (.sourceDropped, "peregrine_drops_total", [("reason", "ring_full")]),
            (.sourceTicks, "peregrine_idle_ticks_total", []),
            (.logicOrders, "peregrine_orders_total", [("stage", "logic")]),
            (.logicVenueOrders, "peregrine_orders_total", [("stage", "venue_out")]),
            (.sinkVenueOrders, "peregrine_orders_total", [("stage", "sink")]),
            (.sinkSignals, "peregrine_signals_total", []),
            (.logicReports, "peregrine_execution_reports_total", [("stage", "logic")]),
            (.sinkReports, "peregrine_execution_reports_total", [("stage", "sink")]),
            (.sinkFills, "peregrine_fills_total", []),
            (.logicTransactions, "peregrine_mempool_transactions_total", []),
            (.logicOpportunities, "peregrine_mempool_opportunities_total", []),
            (.logicBundles, "peregrine_bundles_total", [("stage", "logic")]),
            (.sinkBundles, "peregrine_bundles_total", [("stage", "sink")]),
            (.journalBytes, "peregrine_journal_written_bytes_total", []),
        ]
        counters = names.map { ($0.0, Metrics.Counter(label: $0.1, dimensions: $0.2, factory: factory)) }
        func gauge(_ name: String, _ dimensions: [(String, String)] = []) -> Metrics.Gauge {
            Metrics.Gauge(label: name, dimensions: dimensions, factory: factory)
        }
        ringOccupancy = gauge("peregrine_ring_occupancy_ratio", [("ring", "inbound")])
        journalLag = gauge("peregrine_journal_lag_events")
        throughput = gauge("peregrine_throughput_events_per_second")
        ready = gauge("peregrine_ready")
        residentBytes = gauge("peregrine_process_resident_memory_bytes")
        cpuSeconds = Metrics.FloatingPointCounter(label: "peregrine_process_cpu_seconds_total", factory: factory)
        ready.record(0)
        if port > 0 { start() }
    }

    /// The whole exposition: the registry's metrics, then the latency histograms.
    public func metricsText() -> String {
        publishProcess()
        // The strategies' state as the logic last left it (every 200 ms), and the pipeline's
        // counters as its threads last published them, not as the last status interval saw
        // them: there from the run's first moments, and as fresh as `/risk`.
        if let (trading, counters) = attachment.withLock({ $0.map { ($0.trading, $0.counters) } }) {
            if let snapshot = trading.snapshot { publish(snapshot) }
            publish(counters.snapshot())
        }
        return registry.emitToString() + latency.withLock { $0.text() }
    }

    func start() {
        let router = Router(context: ControlRequestContext.self)
        /// GET `path` answers `answer()`; HEAD the same status and headers without the body
        /// (monitors and load balancers probe with HEAD).
        func serve(_ path: String, _ answer: @escaping @Sendable () -> Response) {
            router.get(RouterPath(path)) { _, _ -> Response in answer() }
            // The GET's headers, Content-Length included, and no body (RFC 9110).
            router.head(RouterPath(path)) { _, _ -> Response in answer().createHeadResponse() }
        }
        serve("metrics") { [self] in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: metricsText())))
        }
        serve("healthz") {
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"up\"}\n")))
        }
        serve("readyz") { [self] in
            let (ready, body) = readiness()
            return Response(
                status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        serve("risk") { [self] in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: riskJSON())))
        }
        for action in AdminAction.allCases {
            router.post("\(action)") { [self] request, context -> Response in
                let (status, body) = await admin(
                    action, authorization: request.headers[.authorization], from: context.remoteAddress)
                var headers: HTTPFields = [.contentType: "application/json"]
                // A 401 names the scheme it wants (RFC 9110 §11.6.1).
                if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"peregrine\"" }
                return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
            }
        }
        // Another method on a known path is 405 with the methods it takes (RFC 9110 §15.5.6),
        // not 404: the path exists.
        let others: [HTTPRequest.Method] = [.get, .head, .post, .put, .delete, .patch, .options]
        func refuseOthers(_ path: String, allowed: [HTTPRequest.Method]) {
            let allow = allowed.map(\.rawValue).joined(separator: ", ")
            for method in others where !allowed.contains(method) {
                router.on(RouterPath(path), method: method) { _, _ -> Response in
                    Response(
                        status: .methodNotAllowed, headers: [.allow: allow, .contentType: "application/json"],
                        body: .init(
                            byteBuffer: ByteBuffer(string: "{\"error\":\"\(path) takes \(allow)\"}\n")))
                }
            }
        }
        for path in ["metrics", "healthz", "readyz", "risk"] { refuseOthers(path, allowed: [.get, .head]) }
        for action in AdminAction.allCases { refuseOthers("\(action)", allowed: [.post]) }
        // A connection idle for 10 s (a partial request included) is closed, so a client
        // that stalls cannot hold a connection open for ever.
        let app = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .seconds(Self.idleTimeoutSeconds))),
            configuration: .init(address: .hostname(address, port: port)),
            onServerRunning: { [self] _ in listening.withLock { $0 = true } }, logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        serviceGroup = group
        let logger = logger
        let done = serverDone
        // On the control thread: the server starts and answers whatever the shared pool is doing.
        if ControlExecutor.shared == nil {
            logger.warning(
                "no control thread could be started: the metrics and health server runs on Swift's shared pool and stalls while that is busy"
            )
        }
        serverTask = Task(executorPreference: ControlExecutor.shared) { [self] in
            do {
                try await group.run()
            } catch {
                // The port taken, say: `peregrine run` goes on without it unless an admin token
                // is set (then it stops before starting: the kill switch would be out of reach).
                let reason = Self.listenFailure(error, address: address, port: port)
                failed.withLock { $0 = reason }
                logger.warning("metrics and health server failed: \(reason)")
            }
            listening.withLock { $0 = false }
            done.signal()
        }
    }

    /// Why the server could not listen on `address:port`, and what to do, from `error` (NIO's
    /// `IOError` carries the errno; its own description repeats the system call's signature).
    static func listenFailure(_ error: any Error, address: String, port: Int) -> String {
        guard let io = error as? IOError else { return "\(address):\(port): \(error)" }
        let reason = String(cString: strerror(io.errnoCode))
        switch io.errnoCode {
        case EADDRINUSE:
            return "\(address):\(port) is in use (\(reason)): another process listens on it; give another "
                + "--metrics-port (or [metrics] port), or 0 to run without the server"
        case EACCES:
            return "\(address):\(port) may not be used by this user (\(reason)): ports below 1024 need privileges; "
                + "give another --metrics-port"
        case EADDRNOTAVAIL:
            return "\(address) is not an address of this machine (\(reason)): give another --metrics-address"
        default:
            return "\(address):\(port): \(reason) (errno \(io.errnoCode))"
        }
    }

    /// Waits until the server listens on `port` (true) or has failed or stopped (false), up
    /// to `timeoutSeconds`; false at once when there is no server (`port` 0). Blocks the caller.
    public func awaitListening(timeoutSeconds: Double) -> Bool {
        guard port > 0 else { return false }
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, min(timeoutSeconds, 86_400)) * 1e9)
        while DispatchTime.now().uptimeNanoseconds < deadline {
            if let state = listening.withLock({ $0 }) { return state }
            usleep(10_000)
        }
        return listening.withLock { $0 } ?? false
    }

    /// Why the server failed (its port taken, say: the address, the system's reason and what to
    /// do), nil while it runs or has not failed. Thread-safe.
    public var failure: String? { failed.withLock { $0 } }

    /// What `/readyz` answers: ready or not, and the JSON body (with the reason when not).
    public func readiness() -> (ready: Bool, body: String) {
        let (ready, reason) = state.withLock { $0 }
        return (ready, ready ? "{\"ready\":true}\n" : "{\"ready\":false,\"reason\":\(TextField.json(reason))}\n")
    }

    /// Stops the server gracefully (waits up to 2 s for it to close).
    public func stop() {
        guard let group = serviceGroup else { return }
        serviceGroup = nil
        Task(executorPreference: ControlExecutor.shared) { await group.triggerGracefulShutdown() }
        _ = serverDone.wait(timeout: .now() + 2)
    }

    // MARK: Admin commands

    /// Answers an admin command: checks where it comes from and its token, leaves it for the
    /// source and waits (up to 2 s) until it is in the sequence.
    func admin(_ action: AdminAction, authorization: String?, from remote: SocketAddress?) async -> (
        HTTPResponse.Status, String
    ) {
        func failure(_ status: HTTPResponse.Status, _ message: String) -> (HTTPResponse.Status, String) {
            (status, "{\"error\":\(TextField.json(message))}\n")
        }
        guard let adminToken else {
            return failure(
                .forbidden,
                "admin commands are off: set [control] admin_token in the configuration "
                    + "(or PEREGRINE_CONTROL_ADMIN_TOKEN) and restart")
        }
        guard adminRemote || Self.isLoopback(remote) else {
            return failure(
                .forbidden,
                "admin commands are taken from loopback only; set [control] admin_remote = true to allow other addresses"
            )
        }
        // The scheme's name is case-insensitive (RFC 9110); the token is compared as sent.
        guard let authorization, authorization.count > 7,
            authorization.prefix(7).lowercased() == "bearer ",
            Self.constantTimeEqual(String(authorization.dropFirst(7)), adminToken)
        else {
            return failure(.unauthorized, "missing or wrong token: send Authorization: Bearer <admin_token>")
        }
        guard let admin = attachment.withLock({ $0?.admin }), admin.isOpen else {
            return failure(.serviceUnavailable, "the engine is not taking commands (starting or stopping)")
        }
        var request: UInt64? = nil
        for _ in 0..<1_000 {
            request = admin.post(action)
            if request != nil || !admin.isOpen { break }
            try? await Task.sleep(for: .milliseconds(1))
        }
        guard let request else {
            return failure(.serviceUnavailable, "another admin command is still waiting; try again")
        }
        for _ in 0..<2_000 where !admin.isSequenced(request) {
            try? await Task.sleep(for: .milliseconds(1))
        }
        guard admin.isSequenced(request) else {
            return failure(.serviceUnavailable, "the engine did not take the command within 2 s (is it stopping?)")
        }
        logger.notice("admin command sequenced", metadata: ["action": "\(action)", "request": "\(request)"])
        return (.ok, "{\"action\":\"\(action)\",\"request\":\(request),\"sequenced\":true}\n")
    }

    static func isLoopback(_ address: SocketAddress?) -> Bool {
        guard let ip = address?.ipAddress else { return false }
        return ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
    }

    /// Compares without stopping at the first difference (a token guessed byte by byte learns
    /// nothing from the time taken).
    static func constantTimeEqual(_ left: String, _ right: String) -> Bool {
        let a = Array(left.utf8)
        let b = Array(right.utf8)
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }

    /// What `/risk` answers: the kill switch, risk rejects by reason, and each strategy's day
    /// loss and gross exposure with their limits (`"published": false` before the logic's first
    /// figures).
    public func riskJSON() -> String {
        guard let trading = attachment.withLock({ $0?.trading.snapshot }) else {
            return "{\"published\":false}\n"
        }
        let kill = trading.killSwitch
        var fields = [
            "\"published\":true",
            "\"kill_switch\":{\"tripped\":\(kill.isTripped),\"cause\":\"\(kill.cause)\",\"strategy\":\(kill.strategy),"
                + "\"trips\":\(kill.trips),\"resets\":\(kill.resets)}",
            "\"trading_day\":\(trading.tradingDay)",
        ]
        fields.append(
            "\"rejects\":{"
                + trading.counters.riskRejectsByReason.map { "\"\($0.reason)\":\($0.count)" }.joined(separator: ",")
                + "}")
        fields.append(
            "\"strategies\":["
                + trading.risk.map { line in
                    "{\"strategy\":\(line.strategyID),\"currency\":\(TextField.json(line.currency)),"
                        + "\"day_loss\":\"\(line.dayLoss)\",\"day_loss_limit\":\(line.dayLossLimit.map { "\"\($0)\"" } ?? "null"),"
                        + "\"gross_exposure\":\"\(line.grossExposure)\","
                        + "\"gross_exposure_limit\":\(line.grossExposureLimit.map { "\"\($0)\"" } ?? "null")}"
                }.joined(separator: ",") + "]")
        return "{" + fields.joined(separator: ",") + "}\n"
    }

    // MARK: PipelineObserver

    public func attach(admin: AdminMailbox, trading: TradingBoard, counters: PipelineCounters) {
        attachment.withLock { $0 = (admin, trading, counters) }
    }

    public func recovered(_ summary: ReplaySummary?) {
        journaled.withLock { $0 = summary != nil }
        setReady(true, "")
    }

    public func interval(_ status: PipelineStatus) {
        publish(status.counters)
        publishRejects(status.rejectsByReason)
        ringOccupancy.record(status.ringOccupancy)
        journalLag.record(status.journalLagEvents)
        // A position in the journal (it starts where recovery left it), not a count of this
        // process's events; nothing is durable without a journal.
        if journaled.withLock({ $0 }), let durable = status.counters[.journalDurable] {
            gauges.withLock { record("peregrine_journal_durable_sequence", [], Double(durable), in: &$0) }
        }
        let out = status.counters[.sinkOutcomes] ?? 0
        let rate = previous.withLock { previous -> Double in
            let seconds = status.elapsedSeconds - previous.time
            let value = seconds > 0 ? Double(out - previous.out) / seconds : 0
            previous = (status.elapsedSeconds, out)
            return value
        }
        throughput.record(rate)
        latency.withLock { export in
            export.add(status.endToEnd, stage: "end_to_end")
            export.add(status.journalLatency, stage: "journal")
            export.add(status.orderLatency, stage: "order")
            export.add(status.bundleLatency, stage: "bundle")
        }
        if !status.journalWritable { setReady(false, "the journal stopped accepting writes") }
        // (The trading state is published at each scrape, from the logic's board: `metricsText`.)
    }

    /// Positions, P&L, fees and open orders as gauges labelled by strategy and instrument.
    func publish(_ trading: TradingSnapshot) {
        gauges.withLock { gauges in
            func record(_ name: String, _ dimensions: [(String, String)], _ value: Double) {
                self.record(name, dimensions, value, in: &gauges)
            }
            for line in trading.lines {
                let labels = [
                    ("strategy", "\(line.strategyID)"), ("strategy_name", line.strategy), ("instrument", line.symbol),
                ]
                record("peregrine_position", labels, line.netValue)
                record("peregrine_pnl", labels + [("kind", "realised")], line.realisedValue)
                record("peregrine_pnl", labels + [("kind", "unrealised")], line.unrealisedValue)
                record("peregrine_pnl", labels + [("kind", "net")], line.netPnLValue)
                record("peregrine_fees", labels, line.feesValue)
            }
            for state in OrderState.allCases where state.isOpen {
                record("peregrine_open_orders", [("state", "\(state)")], Double(trading.openOrders[state] ?? 0))
            }
            record("peregrine_kill_switch", [], trading.killSwitch.isTripped ? 1 : 0)
            for line in trading.risk {
                let labels = [("strategy", "\(line.strategyID)"), ("currency", line.currency)]
                record("peregrine_risk_day_loss", labels, line.dayLossValue)
                record("peregrine_risk_gross_exposure", labels, line.grossExposureValue)
                if let limit = line.dayLossLimit.flatMap(Double.init) {
                    record("peregrine_risk_day_loss_limit", labels, limit)
                }
                if let limit = line.grossExposureLimit.flatMap(Double.init) {
                    record("peregrine_risk_gross_exposure_limit", labels, limit)
                }
            }
        }
        for (label, dimensions, count) in [
            ("peregrine_venue_reports_total", [("result", "applied")], trading.venueReports),
            ("peregrine_venue_reports_total", [("result", "malformed")], trading.malformedVenueReports),
            ("peregrine_venue_answer_timeouts_total", [], trading.counters.ackTimeouts),
            // Counters, so that a trip and its reset between two scrapes still show.
            ("peregrine_kill_switch_trips_total", [], Int(clamping: trading.killSwitch.trips)),
            ("peregrine_kill_switch_resets_total", [], Int(clamping: trading.killSwitch.resets)),
        ] {
            advance(label, dimensions, to: count)
        }
        for (index, reason) in ExecutionReason.riskReasons.enumerated() {
            advance(
                "peregrine_risk_rejects_total", [("reason", reason.riskLabel)], to: trading.counters.riskRejected[index]
            )
        }
        for reason in OrderRefusal.allCases where reason != .none {
            let index = Int(reason.rawValue)
            let count = index < trading.counters.refused.count ? trading.counters.refused[index] : 0
            advance("peregrine_rejects_total", [("reason", reason.metricLabel)], to: count)
        }
    }

    /// Sets the gauge `name{dimensions}` of `gauges` (made on first sight) to `value`.
    func record(
        _ name: String, _ dimensions: [(String, String)], _ value: Double, in gauges: inout [String: Metrics.Gauge]
    ) {
        let key = name + dimensions.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        let gauge = gauges[key] ?? Metrics.Gauge(label: name, dimensions: dimensions, factory: factory)
        gauges[key] = gauge
        gauge.record(value)
    }

    /// Moves the counter `label{dimensions}` up to `count`, a running total the engine keeps
    /// (made on first sight; a total that went down, after a restart, is not counted again).
    func advance(_ label: String, _ dimensions: [(String, String)], to count: Int) {
        let key = label + dimensions.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        totals.withLock { totals in
            let entry =
                totals[key] ?? (Metrics.Counter(label: label, dimensions: dimensions, factory: factory), 0)
            if count > entry.last { entry.counter.increment(by: Int64(count - entry.last)) }
            totals[key] = (entry.counter, Swift.max(count, entry.last))
        }
    }

    public func finished(_ report: EngineReport) {
        if let error = report.journalError {
            setReady(false, "journal error: \(error)")
        } else {
            setReady(false, "the run has ended")
        }
    }

    func setReady(_ isReady: Bool, _ reason: String) {
        let changed = state.withLock { state in
            defer { state = (isReady, reason) }
            return state.ready != isReady
        }
        if changed {
            logger.notice(isReady ? "ready" : "not ready", metadata: reason.isEmpty ? [:] : ["reason": "\(reason)"])
        }
        ready.record(isReady ? 1 : 0)
    }

    /// Moves each counter up to its total in `snapshot` (taken at a scrape or a status
    /// interval, in either order: a total below the one published already is not counted).
    func publish(_ snapshot: [PipelineCounters.Counter: Int]) {
        last.withLock { last in
            for (counter, metric) in counters {
                let value = snapshot[counter] ?? 0
                let published = last[counter] ?? 0
                if value > published {
                    metric.increment(by: Int64(value - published))
                    last[counter] = value
                }
            }
        }
    }

    func publishRejects(_ counts: [ExecutionReason: Int]) {
        for (reason, count) in counts {
            advance("peregrine_rejects_total", [("reason", reason.metricLabel)], to: count)
        }
    }

    func publishProcess() {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu =
            Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        cpuPublished.withLock { published in
            if cpu > published { cpuSeconds.increment(by: cpu - published) }
            published = Swift.max(published, cpu)
        }
        if let file = fopen("/proc/self/statm", "r") {
            var size = 0
            var resident = 0
            if fscanf_statm(file, &size, &resident) == 2 {
                residentBytes.record(resident * Int(sysconf(Int32(_SC_PAGESIZE))))
            }
            fclose(file)
        }
    }
}

/// Reads the first two numbers of /proc/self/statm (pages).
private func fscanf_statm(_ file: UnsafeMutablePointer<FILE>, _ size: inout Int, _ resident: inout Int) -> Int {
    var buffer = [CChar](repeating: 0, count: 128)
    guard fgets(&buffer, 128, file) != nil else { return 0 }
    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let fields = text.split(separator: " ")
    guard fields.count >= 2, let first = Int(fields[0]), let second = Int(fields[1]) else { return 0 }
    size = first
    resident = second
    return 2
}

extension ExecutionReason {
    /// The reason as a Prometheus label value: `order_` and the snake-cased name.
    var metricLabel: String { "order_" + description.replacing("-", with: "_") }
    /// A risk reason as a Prometheus label value: the snake-cased name.
    var riskLabel: String { description.replacing("-", with: "_") }
}

extension OrderRefusal {
    /// The reason as a Prometheus label value: `strategy_` and the snake-cased name.
    var metricLabel: String { "strategy_" + description.replacing("-", with: "_") }
}

/// A request's context on the control plane: Hummingbird's, plus the peer's address (admin
/// commands come from loopback only unless configured otherwise).
struct ControlRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
