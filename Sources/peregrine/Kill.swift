import ArgumentParser
import NIOHTTP1
import PeregrineControl
import PeregrineEngine

#if canImport(Glibc)
    import Glibc
#endif

/// `peregrine kill`: trips (or resets) a running engine's kill switch through its control plane.
struct Kill: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Trip (or with --reset, reset) a running engine's kill switch.",
        discussion: """
            Sends POST /kill (or /reset) to the engine's control plane with its admin token, then waits until the \
            engine has applied it (GET /risk). The command is journaled, so a replay does the same. Tripping cancels \
            every open order and refuses new ones until a reset. The address, port and token come from --config (the \
            engine's file: [metrics] address and port, [control] admin_token), the environment \
            (PEREGRINE_CONTROL_ADMIN_TOKEN, PEREGRINE_METRICS_PORT) or these flags. Exit 0 once the engine confirms, \
            1 when it cannot be reached, refuses, or does not confirm within 5 s, 2 for a usage error.
            """)

    @Flag(help: "Reset the kill switch instead of tripping it.")
    var reset = false

    @Option(help: "The engine's TOML configuration (for its control-plane address, port and admin token).")
    var config: String?

    @Option(help: "Control-plane address (default: the configuration's, else 127.0.0.1).")
    var host: String?

    @Option(help: "Control-plane port (default: the configuration's, else 9464).")
    var port: Int?

    @Option(help: "The admin token (default: the configuration's [control] admin_token).")
    var token: String?

    @Flag(help: "Print the engine's risk state (GET /risk) as JSON when done.")
    var json = false

    func run() throws {
        let configuration: EngineConfiguration
        do { configuration = try loadConfiguration(file: config, profile: nil) } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
        let address = host ?? (configuration.metricsAddress == "0.0.0.0" ? "127.0.0.1" : configuration.metricsAddress)
        let port = port ?? configuration.metricsPort
        guard (1...65_535).contains(port) else {
            printError("error: the control plane is off (port 0); give --port or run the engine with [metrics] port set")
            throw ExitCode(2)
        }
        guard let token = token ?? configuration.adminToken else {
            printError(
                "error: no admin token: give --token, or --config with [control] admin_token, or set PEREGRINE_CONTROL_ADMIN_TOKEN")
            throw ExitCode(2)
        }
        let action = reset ? "reset" : "kill"
        do {
            let answer = try ControlClient.send(
                .POST, host: address, port: port, path: "/\(action)", headers: [("Authorization", "Bearer \(token)")])
            guard answer.status == 200 else {
                printError("error: the engine refused \(action) (HTTP \(answer.status)): \(answer.body)")
                throw ExitCode(1)
            }
            // Wait until the logic has applied it.
            let wanted = "\"tripped\":\(!reset)"
            for _ in 0..<50 {
                let risk = try ControlClient.send(.GET, host: address, port: port, path: "/risk")
                if risk.status == 200, risk.body.contains(wanted) {
                    if json {
                        print(risk.body, terminator: "")
                    } else {
                        print(reset ? "kill switch reset: orders are accepted again" : "kill switch tripped: open orders cancelled, new orders refused")
                    }
                    return
                }
                usleep(100_000)
            }
            printError("error: \(action) was journaled but the engine did not show it applied within 5 s (GET /risk)")
            throw ExitCode(1)
        } catch let failure as ControlClient.Failure {
            printError("error: \(failure) — is the engine running with its control plane on (\(address):\(port))?")
            throw ExitCode(1)
        }
    }
}
