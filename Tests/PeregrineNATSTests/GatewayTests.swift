import Foundation
import PeregrineCodec
import PeregrineModel
import PeregrineNATS
import PeregrineTestSupport
import Testing

/// The engine against a gateway over a real nats-server: its orders for an outside venue
/// leave on `NAME.out.K.orders`; a gateway (here a small one in the test) answers on
/// `NAME.in.K.reports`; the answers enter the journaled sequence, move the strategy's
/// positions, and a replay of the stream reproduces the run.
@Suite(.serialized)
struct GatewayTests {
    /// Answers every new order with an acceptance and a fill of all of it at its limit price,
    /// and every cancel with a cancellation, until stopped; counts what it answered.
    final class Gateway: @unchecked Sendable {
        let connection: NATSConnection
        let subscription: NATSSubscription
        let reportsSubject: String
        let lock = NSLock()
        var running = true
        var answered = 0
        var malformedSent = false
        var thread: Thread?

        init(url: String, shard: Int) throws {
            connection = try NATSConnection(NATSConnectionOptions(url: url))
            subscription = try connection.subscribe("peregrine.out.\(shard).orders")
            reportsSubject = "peregrine.in.\(shard).reports"
            try connection.flush()
            let thread = Thread { [self] in
                var decoder = EventJSONDecoder()
                var trade: UInt64 = 0
                while lock.withLock({ running }) {
                    _ = try? subscription.next(timeoutMilliseconds: 20) { message in
                        var out: [UInt8] = []
                        for line in Array(message.bytes).split(separator: UInt8(ascii: "\n")) {
                            guard
                                let event = Array(line).withUnsafeBufferPointer({
                                    try? decoder.decode($0, timestamp: 0)
                                }),
                                case .order(let command) = event.payload
                            else { continue }
                            var reports: [ExecutionReport] = []
                            func report(_ kind: ExecutionKind, quantity: Int64, leaves: Int64, trade: UInt64 = 0) {
                                reports.append(
                                    ExecutionReport(
                                        kind: kind, reason: kind == .cancelled ? .requested : .none,
                                        instrument: event.instrument, orderID: command.orderID,
                                        account: command.account, side: command.side, price: command.price,
                                        quantity: Quantity(lots: quantity), leavesQuantity: Quantity(lots: leaves),
                                        tradeID: trade, isAggressor: true))
                            }
                            switch command.action {
                            case .new:
                                trade += 1
                                report(.accepted, quantity: command.quantity.lots, leaves: command.quantity.lots)
                                report(.filled, quantity: command.quantity.lots, leaves: 0, trade: trade)
                            case .cancel: report(.cancelled, quantity: 0, leaves: 0)
                            case .replace, .status: continue
                            }
                            for item in reports {
                                if trade % 2 == 0 {
                                    var bytes = [UInt8](repeating: 0, count: 64)
                                    bytes.withUnsafeMutableBytes { try? item.encode(into: $0) }
                                    out += bytes
                                } else {
                                    // Every other order is answered in JSON lines (its own message).
                                    let line =
                                        "{\"type\":\"report\",\"instrument\":\(item.instrument.rawValue),\"kind\":\"\(item.kind)\","
                                        + "\"order_id\":\(item.orderID.rawValue),\"side\":\"\(item.side)\",\"price\":\(item.price.ticks),"
                                        + "\"quantity\":\(item.quantity.lots),\"leaves\":\(item.leavesQuantity.lots),"
                                        + "\"trade_id\":\(item.tradeID),\"aggressor\":\(item.isAggressor),\"reason\":\"\(item.reason)\"}"
                                    try? Array(line.utf8).withUnsafeBytes { try connection.publish(reportsSubject, $0) }
                                }
                            }
                            lock.withLock { answered += reports.count }
                        }
                        guard !out.isEmpty else { return }
                        try? out.withUnsafeBytes { try connection.publish(reportsSubject, $0) }
                        // Once, a message that is not whole reports: refused and counted.
                        if !lock.withLock({ malformedSent }) {
                            try? [UInt8](repeating: 1, count: 10).withUnsafeBytes {
                                try connection.publish(reportsSubject, $0)
                            }
                            lock.withLock { malformedSent = true }
                        }
                    }
                }
            }
            thread.start()
            self.thread = thread
        }

        func stop() { lock.withLock { running = false } }
    }

    static func line(_ prefix: String, in output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix(prefix) }.map(String.init)
    }

    @Test func aGatewaysAnswersMoveThePositionsAndReplayTheSame() throws {
        let (url, server) = try JetStreamJournalTests.server()
        defer { _ = server }
        let index = Int(getpid() % 500) + 500
        let gateway = try Gateway(url: url, shard: index)
        defer { gateway.stop() }
        let run = try PeregrineCLI.run([
            "run", "--nats", url, "--shard", "\(index)/1000", "--metrics-port", "0", "--rate", "20000", "--duration",
            "2", "--strategy", "large-trade-follower", "--param", "min-quantity=100",
        ])
        gateway.stop()
        #expect(run.status == 0, "\(run.output)\(run.error)")
        let answered = gateway.lock.withLock { gateway.answered }
        #expect(answered > 10, "the gateway answered \(answered) reports")
        // Every report the gateway sent before the session end was journaled and applied.
        let reports = try #require(Self.line("venue reports", in: run.output), "\(run.output)")
        let applied =
            Int(reports.split(separator: " ").dropFirst(2).first?.replacingOccurrences(of: ",", with: "") ?? "") ?? -1
        #expect(applied > 10 && applied <= answered, "\(reports)")
        #expect(
            run.output.contains("venue reports and 0 hellos from NATS, 1 refused (first: a message of 10 bytes"),
            "\(run.output)")
        let fills = run.output.split(separator: "\n").filter { $0.hasPrefix("position") }.compactMap { line in
            line.split(separator: "·").first { $0.contains("fills") }.flatMap {
                Int($0.split(separator: " ").first { Int($0) != nil } ?? "")
            }
        }
        #expect(fills.reduce(0, +) > 5, "\(run.output)")
        let replay = try PeregrineCLI.run(["replay", "--nats", url, "--shard", "\(index)/1000"])
        #expect(replay.status == 0, "\(replay.error)")
        #expect(replay.stateHash == run.stateHash && replay.outputHash == run.outputHash)
        let jetStream = try NATSConnection(NATSConnectionOptions(url: url)).jetStream()
        try jetStream.deleteStream("PEREGRINE_JOURNAL_\(index)")
    }
}

extension GatewayTests {
    /// A gateway that keeps the orders it accepted and answers new orders (accepted), replaces
    /// (replaced), cancels (cancelled) and status requests (the order as held, or unknown).
    final class BookKeepingGateway: @unchecked Sendable {
        let connection: NATSConnection
        let subscription: NATSSubscription
        let lock = NSLock()
        var running = true
        var held: [UInt64: (price: Int64, quantity: Int64)] = [:]

        init(url: String) throws {
            connection = try NATSConnection(NATSConnectionOptions(url: url))
            subscription = try connection.subscribe("peregrine.out.0.orders")
            try connection.flush()
            Thread { [self] in
                var decoder = EventJSONDecoder()
                while lock.withLock({ running }) {
                    _ = try? subscription.next(timeoutMilliseconds: 20) { message in
                        var out: [UInt8] = []
                        for line in Array(message.bytes).split(separator: UInt8(ascii: "\n")) {
                            guard
                                let event = Array(line).withUnsafeBufferPointer({
                                    try? decoder.decode($0, timestamp: 0)
                                }),
                                case .order(let command) = event.payload
                            else { continue }
                            let id = command.orderID.rawValue
                            var report = ExecutionReport(
                                kind: .accepted, instrument: event.instrument, orderID: command.orderID,
                                account: command.account, side: command.side, price: command.price,
                                quantity: command.quantity, leavesQuantity: command.quantity)
                            lock.withLock {
                                switch command.action {
                                case .new: held[id] = (command.price.ticks, command.quantity.lots)
                                case .replace:
                                    report.kind = held[id] == nil ? .rejected : .replaced
                                    report.reason = held[id] == nil ? .unknownOrderID : .none
                                    if held[id] != nil { held[id] = (command.price.ticks, command.quantity.lots) }
                                case .cancel:
                                    report.kind = held.removeValue(forKey: id) == nil ? .rejected : .cancelled
                                    report.reason = report.kind == .rejected ? .unknownOrderID : .requested
                                    report.leavesQuantity = .zero
                                case .status:
                                    report.kind = .status
                                    if let order = held[id] {
                                        report.price = Price(ticks: order.price)
                                        report.quantity = Quantity(lots: order.quantity)
                                        report.leavesQuantity = Quantity(lots: order.quantity)
                                    } else {
                                        report.reason = .unknownOrderID
                                        report.quantity = .zero
                                        report.leavesQuantity = .zero
                                    }
                                }
                            }
                            var bytes = [UInt8](repeating: 0, count: 64)
                            bytes.withUnsafeMutableBytes { try? report.encode(into: $0) }
                            out += bytes
                        }
                        guard !out.isEmpty else { return }
                        try? out.withUnsafeBytes { try connection.publish("peregrine.in.0.reports", $0) }
                    }
                }
            }.start()
        }

        func stop() { lock.withLock { running = false } }
    }

    /// nats-server restarted under a market maker quoting an outside venue: the engine's reports
    /// connection comes back, and the engine re-queries every order it has open there; the
    /// gateway confirms those it holds and the engine closes those it does not (sent while the
    /// server was down).
    @Test func aReconnectReQueriesTheOpenOrders() throws {
        let server = try NATSServerProcess(name: "gateway-reconnect")
        let gateway = try BookKeepingGateway(url: server.url)
        defer { gateway.stop() }
        let (status, text) = try server.run(
            PeregrineCLI.binary,
            [
                "run", "--nats", server.url, "--shard", "0/1", "--metrics-port", "0", "--rate", "20000", "--duration",
                "6", "--strategy", "market-maker",
            ])
        gateway.stop()
        #expect(status == 0, "\(text)")
        #expect(text.contains("hellos from NATS (1 reconnects: open orders re-queried)"), "\(text)")
        let reconciliation = try #require(Self.line("reconciliation", in: text), "\(text)")
        let requests =
            reconciliation.split(separator: " ").compactMap { Int($0.replacingOccurrences(of: ",", with: "")) }.first
            ?? 0
        // The gateway's own connection comes back in its own time: requests sent before it did
        // are lost (core NATS), so how many it answered is not pinned; those it answered agree.
        #expect(requests > 0, "\(reconciliation)")
        #expect(reconciliation.hasSuffix("· 0 mismatched"), "\(reconciliation)")
        let replay = try PeregrineCLI.run(["replay", "--nats", server.url, "--shard", "0/1"])
        #expect(
            replay.stateHash == Self.line("state hash:", in: text).map { String($0.dropFirst("state hash: ".count)) })
    }
    /// The engine stopped with its market maker's quotes left at an outside venue
    /// (`--keep-orders`) and started again from its journal: it re-queries every order it
    /// recovered open there before anything else, and the gateway, which held them all the
    /// while, confirms each one.
    @Test func aRestartReQueriesTheOpenOrders() throws {
        let server = try NATSServerProcess(name: "gateway-restart")
        let gateway = try BookKeepingGateway(url: server.url)
        defer { gateway.stop() }
        let common = [
            "run", "--nats", server.url, "--shard", "0/1", "--metrics-port", "0", "--rate", "20000", "--duration", "2",
            "--strategy", "market-maker", "--keep-orders",
        ]
        let first = try PeregrineCLI.run(common)
        #expect(first.status == 0, "\(first.output) \(first.error)")
        #expect(!first.output.contains("re-queried at the restart"), "\(first.output)")
        let second = try PeregrineCLI.run(common)
        #expect(second.status == 0, "\(second.output) \(second.error)")
        #expect(second.output.contains("(open orders re-queried at the restart)"), "\(second.output)")
        let reconciliation = try #require(Self.line("reconciliation", in: second.output), "\(second.output)")
        let requests =
            reconciliation.split(separator: " ").compactMap { Int($0.replacingOccurrences(of: ",", with: "")) }.first
            ?? 0
        #expect(requests > 0, "\(reconciliation)")
        #expect(reconciliation.contains("· 0 orders the venue no longer held"), "\(reconciliation)")
        #expect(reconciliation.hasSuffix("· 0 mismatched"), "\(reconciliation)")
        let replay = try PeregrineCLI.run(["replay", "--nats", server.url, "--shard", "0/1"])
        #expect(replay.stateHash == second.stateHash, "\(replay.output)")
    }
}
