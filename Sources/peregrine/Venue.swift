import ArgumentParser
import Logging
import PeregrineControl
import PeregrineEngine
import PeregrineNATS

/// `peregrine venue`: a simulated exchange behind an engine's gateway subjects on NATS.
struct Venue: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "venue",
        abstract: "Run a simulated exchange that answers an engine's orders over NATS.",
        discussion: """
            Takes the engine's orders from NAME.out.K.orders and other participants' orders from NAME.venue.K.flow \
            (JSON lines, the engine's instrument ids), matches them (a matching engine per instrument, journaled like \
            any run), and answers the engine's orders on NAME.in.K.reports. At start it says HELLO there: the engine \
            re-queries the orders it has open (a restarted venue recovers its books from its journal first). \
            docs/nats.md has the message formats. Stops on SIGINT/SIGTERM or after --duration.
            """)

    @Option(help: "NATS server URL(s), comma-separated.")
    var nats: String

    @Option(help: "The engine's shard, K/N as its run was given.")
    var shard: String = "0/1"

    @Option(help: "The engine's subject prefix (its --nats-prefix).")
    var natsPrefix: String = "peregrine"

    @Option(
        help:
            "This venue's name in its hello (the engine re-queries orders in instruments of that venue; default: all).")
    var venueName: String = ""

    @Option(parsing: .unconditional, help: "The engine's instruments this venue trades: 0 to N-1.")
    var instruments: Int = 4

    @Option(help: "Journal directory (recovered at start: the books survive a restart; default ./venue-data).")
    var journal: String?

    @Flag(help: "Run without a journal (a restart starts with empty books).")
    var noJournal = false

    @Flag(
        help:
            "Replay journal records an older build (another logic revision) wrote with this build's logic, and go on from that state (docs/journal.md, \"Upgrading the engine\")."
    )
    var acceptLogicChange = false

    @Option(parsing: .unconditional, help: "Seconds to run (0: until SIGINT/SIGTERM).")
    var duration: Double = 0

    @Option(
        parsing: .unconditional, help: "Port of the venue's own control plane (/metrics, /healthz, /readyz); 0: off.")
    var metricsPort: Int = 9465

    @Option(parsing: .unconditional, help: "Seconds between status lines.")
    var statusInterval: Double = 1

    func run() throws {
        guard let (index, count) = NATSSettings.parseShard(shard), count >= 1 else {
            printError("error: invalid --shard '\(shard)': use K/N with 0 <= K < N")
            throw ExitCode(2)
        }
        _ = count
        guard (1...4_096).contains(instruments) else {
            printError("error: invalid --instruments \(instruments): use 1 to 4096")
            throw ExitCode(2)
        }
        // As `run` checks its own (nothing started): the prefix, the URL, one journal setting.
        guard NATSSettings.isPrefix(natsPrefix) else {
            printError(
                "error: invalid --nats-prefix '\(natsPrefix)': use letters, digits, - and _ (the engine's prefix)")
            throw ExitCode(2)
        }
        guard NATSSettings.isServerURL(nats) else {
            printError("error: invalid --nats '\(nats)': a server URL such as nats://127.0.0.1:4222")
            throw ExitCode(2)
        }
        if noJournal, journal != nil {
            printError("error: give either --journal DIR or --no-journal, not both")
            throw ExitCode(2)
        }
        let settings = VenueSettings(
            url: nats, shard: index, enginePrefix: natsPrefix, venueName: venueName, instruments: instruments)
        var base: EngineConfiguration
        do {
            base = try loadConfiguration(
                file: nil, profile: nil,
                flags: [
                    .init(key: "source.duration", value: "\(duration)", origin: "--duration"),
                    .init(key: "metrics.port", value: "\(metricsPort)", origin: "--metrics-port"),
                    .init(key: "monitor.status_interval", value: "\(statusInterval)", origin: "--status-interval"),
                ])
            base.journalDirectory = noJournal ? nil : journal ?? "./venue-data"
            base.acceptLogicChange = acceptLogicChange
            try settings.configuration(base).validate()
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
        StopSignal.installHandlers()
        let logger = LogSetup.bootstrap(level: base.logLevel)
        let controlPlane =
            base.metricsPort > 0
            ? ControlPlane(
                port: base.metricsPort, address: base.metricsAddress, logger: Logger(label: "peregrine.control"))
            : nil
        defer { controlPlane?.stop() }
        let report: EngineReport
        do {
            report = try VenueService.run(
                settings: settings, base: base, observer: controlPlane, logger: logger,
                status: { print($0) })
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        print(report.formatted)
        if !report.isLossless { throw ExitCode(1) }
    }
}
