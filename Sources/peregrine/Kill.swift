import ArgumentParser
import PeregrineControl
import PeregrineEngine
import PeregrineStrategy

/// `peregrine kill`: trips (or resets) a running engine's kill switch through its control plane.
struct Kill: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kill",
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

    @Option(parsing: .unconditional, help: "Control-plane port (default: the configuration's, else 9464).")
    var port: Int?

    @Option(help: "The admin token (default: the configuration's [control] admin_token).")
    var token: String?

    @Flag(help: "Print the engine's risk state (GET /risk) as JSON when done.")
    var json = false

    func run() throws {
        let configuration: EngineConfiguration
        do {
            configuration = try loadConfiguration(file: config, profile: nil)
            // The same checks as `run` and `config check` (an admin token too short, say).
            try validateConfiguration(configuration, file: config)
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
        if let port, !(1...65_535).contains(port) {
            printError("error: invalid --port '\(port)': use 1 to 65535")
            throw ExitCode(2)
        }
        let address = host ?? (configuration.metricsAddress == "0.0.0.0" ? "127.0.0.1" : configuration.metricsAddress)
        let port = port ?? configuration.metricsPort
        guard (1...65_535).contains(port) else {
            printError(
                "error: the control plane is off (port 0); give --port or run the engine with [metrics] port set")
            throw ExitCode(2)
        }
        guard let token = token ?? configuration.adminToken else {
            printError(
                "error: no admin token: give --token, or --config with [control] admin_token, or set PEREGRINE_CONTROL_ADMIN_TOKEN"
            )
            throw ExitCode(2)
        }
        do {
            let risk = try ControlClient.killSwitch(reset ? .reset : .kill, host: address, port: port, token: token)
            if json {
                print(risk, terminator: "")
            } else {
                print(
                    reset
                        ? "kill switch reset: orders are accepted again"
                        : "kill switch tripped: open orders cancelled, new orders refused")
            }
        } catch {
            let hint =
                error.description.hasPrefix("cannot reach") ? " — is the engine running with its control plane on?" : ""
            printError("error: \(error)\(hint)")
            throw ExitCode(1)
        }
    }
}
