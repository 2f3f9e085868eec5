import Foundation
import PeregrineCore
import PeregrineTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The kill switch end to end, through the CLI: `peregrine kill` against a running engine (a
/// wrong token refused), the run's report, a replay of its journal, a restart that is still
/// killed, and `peregrine kill --reset`. A market maker on the hosted venue, which answers every
/// cancel (orders for outside venues wait for the NATS gateway's answers).
@Suite(.serialized)
struct KillSwitchTests {
    /// `peregrine run` in the background until SIGINT; its output collected.
    final class Engine: @unchecked Sendable {
        let process = Process()
        let output: PipeCollector

        init(_ arguments: [String]) throws {
            process.executableURL = PeregrineCLI.binary
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            output = PipeCollector(pipe)
            try process.run()
        }

        /// Stops it with SIGINT; its exit status and whole output (to the pipe's end).
        func interrupt() -> PeregrineCLI.Result {
            kill(process.processIdentifier, SIGINT)
            process.waitUntilExit()
            output.waitForEnd()
            return PeregrineCLI.Result(status: process.terminationStatus, output: output.text, error: "")
        }
    }

    static let token = "kill-switch-test-token-0123"

    /// Waits until the engine's control plane answers (a wrong token is refused with 401).
    static func awaitControlPlane(port: Int, engine: Engine) throws {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, engine.process.isRunning {
            let probe = try Faults.run(["kill", "--port", "\(port)", "--token", "not-the-token-at-all"])
            if probe.error.contains("HTTP 401") {
                #expect(probe.status == 1)
                return
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        Issue.record("the control plane on port \(port) never answered")
    }

    /// Runs an admin command, again while the engine answers that it is still starting (its
    /// control plane answers before recovery has finished; under load that can take a while).
    static func command(_ arguments: [String]) throws -> PeregrineCLI.Result {
        let deadline = Date().addingTimeInterval(60)
        while true {
            let result = try Faults.run(arguments)
            guard result.error.contains("not taking commands (starting"), Date() < deadline else { return result }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    /// GET `path` on the engine's control plane (curl), "" when it does not answer.
    static func get(port: Int, _ path: String) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "--max-time", "10", "http://127.0.0.1:\(port)\(path)"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "" }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Waits (up to 60 s) until `condition` holds for GET `path`.
    static func await(port: Int, _ path: String, _ what: String, _ condition: (String) -> Bool) {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if condition(get(port: port, path)) { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Issue.record("timed out waiting for \(what)")
    }

    /// The kill-switch rejects `/risk` shows (-1 when none are listed).
    static func killRejects(_ risk: String) -> Int {
        guard let range = risk.range(of: "\"kill-switch\":") else { return -1 }
        return Int(risk[range.upperBound...].prefix { $0.isNumber }) ?? -1
    }

    static func value(_ result: PeregrineCLI.Result, _ prefix: String) -> String {
        result.output.split(separator: "\n").first { $0.hasPrefix(prefix) }.map(String.init) ?? ""
    }

    /// The first number on the report line starting with `prefix` (e.g. "strategy orders").
    static func firstNumber(_ result: PeregrineCLI.Result, _ prefix: String) -> Int {
        let line = value(result, prefix).dropFirst(prefix.count)
        let digits = line.drop { !$0.isNumber }.prefix { $0.isNumber || $0 == "," }
        return Int(digits.replacingOccurrences(of: ",", with: "")) ?? -1
    }

    @Test func killedByTheCLIReplayedAndStillKilledAfterARestartUntilReset() throws {
        let journal = Faults.scratch("kill-switch")
        let config = journal + ".toml"
        defer {
            Faults.remove(journal)
            Faults.remove(config)
        }
        let port = LoopbackPort.free()
        try """
        [control]
        admin_token = "\(Self.token)"
        [metrics]
        port = \(port)
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let arguments =
            [
                "run", "--config", config, "--journal", journal, "--rate", "20000", "--order-flow", "30",
                "--status-interval", "0.2", "--wait", "yield", "--strategy", "market-maker",
            ]

        // 1. Killed while it runs.
        let first = try Engine(arguments + ["--duration", "0"])
        try Self.awaitControlPlane(port: port, engine: first)
        Thread.sleep(forTimeInterval: 0.3)
        let kill = try Self.command(["kill", "--config", config])
        #expect(kill.status == 0, "\(kill.error)")
        #expect(kill.output == "kill switch tripped: open orders cancelled, new orders refused\n")
        // The market maker keeps trying: its orders are refused.
        Self.await(port: port, "/risk", "refused orders") { Self.killRejects($0) > 0 }
        let killed = first.interrupt()
        #expect(killed.status == 0, "\(killed.output)")
        #expect(Self.value(killed, "kill switch").hasPrefix("kill switch       TRIPPED (operator) · 1 trips, 0 resets"))
        #expect(
            Self.value(killed, "open orders")
                == "open orders       0 pending-new · 0 accepted · 0 partially-filled · 0 pending-cancel · 0 pending-replace"
        )
        #expect(
            Self.firstNumber(killed, "risk rejects") > 0 && Self.value(killed, "risk rejects").hasSuffix("kill-switch"))
        let orders = Self.firstNumber(killed, "strategy orders")
        #expect(orders > 0)
        // The journal holds the command: a replay gives the same state and outputs.
        try Faults.expectReplayMatches(killed, journal: journal)

        // 2. A restart recovers the switch: no new order leaves.
        let second = try Engine(arguments + ["--duration", "0"])
        try Self.awaitControlPlane(port: port, engine: second)
        let before = Self.firstNumber(killed, "risk rejects")
        Self.await(port: port, "/risk", "refusals after the restart") { Self.killRejects($0) > before }
        let restarted = second.interrupt()
        #expect(restarted.status == 0, "\(restarted.output)")
        #expect(Self.value(restarted, "kill switch").hasPrefix("kill switch       TRIPPED (operator) · 1 trips"))
        #expect(Self.firstNumber(restarted, "strategy orders") == orders)
        #expect(Self.firstNumber(restarted, "risk rejects") > Self.firstNumber(killed, "risk rejects"))

        // 3. Reset: orders leave again.
        let third = try Engine(arguments + ["--duration", "0"])
        try Self.awaitControlPlane(port: port, engine: third)
        let reset = try Self.command(["kill", "--reset", "--config", config])
        #expect(reset.status == 0, "\(reset.error)")
        #expect(reset.output == "kill switch reset: orders are accepted again\n")
        // Quotes rest again.
        Self.await(port: port, "/metrics", "resting quotes") { metrics in
            metrics.split(separator: "\n").contains {
                $0.hasPrefix("peregrine_open_orders{state=\"accepted\"} ") && !$0.hasSuffix(" 0.0")
            }
        }
        // The trip and the reset are counters: seen by Prometheus even when both fall between
        // two scrapes (the state gauge alone would show nothing of them).
        Self.await(port: port, "/metrics", "the switch's counters") { metrics in
            let lines = Set(metrics.split(separator: "\n").map(String.init))
            // (With a journal, its durable position is published: past what the first runs wrote.)
            let durable = lines.first { $0.hasPrefix("peregrine_journal_durable_sequence ") }
                .flatMap { Double($0.dropFirst("peregrine_journal_durable_sequence ".count)) }
            return lines.contains("peregrine_kill_switch_trips_total 1")
                && lines.contains("peregrine_kill_switch_resets_total 1") && lines.contains("peregrine_kill_switch 0.0")
                && (durable ?? 0) > 1_000
        }
        let resumed = third.interrupt()
        #expect(resumed.status == 0)
        #expect(Self.value(resumed, "kill switch") == "kill switch       reset · 1 trips, 1 resets")
        #expect(Self.firstNumber(resumed, "strategy orders") > orders)
        try Faults.expectReplayMatches(resumed, journal: journal)

        // 4. No engine: the CLI says it cannot reach it.
        let nobody = try Faults.run(["kill", "--config", config])
        #expect(nobody.status == 1 && nobody.error.contains("cannot reach 127.0.0.1:\(port)"), "\(nobody.error)")
        let noToken = try Faults.run(["kill", "--port", "\(port)"])
        #expect(noToken.status == 2 && noToken.error.contains("no admin token"))
        // A configuration `run` would refuse, or a port out of range: usage errors, nothing sent.
        let shortToken = NSTemporaryDirectory() + "kill-short-token-\(getpid()).toml"
        try "[control]\nadmin_token = \"short\"\n[metrics]\nport = \(port)\n".write(
            toFile: shortToken, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: shortToken) }
        let refused = try Faults.run(["kill", "--config", shortToken])
        #expect(refused.status == 2 && refused.error.contains("invalid control.admin_token"), "\(refused.error)")
        let badPort = try Faults.run(["kill", "--port", "99999", "--token", "abcdefghijklmnop0123"])
        #expect(badPort.status == 2 && badPort.error.contains("invalid --port '99999': use 1 to 65535"))
    }

    /// With an admin token set, an engine whose control-plane port is taken does not start
    /// (its kill switch would be out of reach); without one it runs on.
    @Test func aTakenControlPortStopsAnEngineWithAnAdminToken() throws {
        let held = HeldPort(port: LoopbackPort.free())
        defer { held.close() }
        #expect(held.isHeld)
        let port = held.port
        let config = NSTemporaryDirectory() + "taken-port-\(getpid()).toml"
        try "[control]\nadmin_token = \"abcdefghijklmnop0123\"\n".write(
            toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let common = ["run", "--no-journal", "--duration", "1", "--metrics-port", "\(port)"]
        let refused = try Faults.run(common + ["--config", config])
        #expect(refused.status == 1, "\(refused.output)")
        #expect(
            refused.error.contains(
                "cannot listen on 127.0.0.1:\(port): 127.0.0.1:\(port) is in use (Address already in use): another "
                    + "process listens on it") && refused.output.isEmpty, "\(refused.error)")
        let runsOn = try Faults.run(common)
        #expect(runsOn.status == 0 && runsOn.output.contains("lossless          yes"), "\(runsOn.error)")
        #expect(runsOn.output.contains("journal           none (this run has no journal): nothing is durable"))
        // The warning says why, without NIO's description of the system call.
        #expect(
            runsOn.error.contains(
                "metrics and health server failed: 127.0.0.1:\(port) is in use (Address already in use)")
                && !runsOn.error.contains("bind(descriptor"), "\(runsOn.error)")
    }
}
