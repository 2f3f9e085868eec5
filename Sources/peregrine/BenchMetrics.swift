import ArgumentParser
import PeregrineBench
import PeregrineControl
import PeregrineEngine
import PeregrineStrategy

struct BenchMetrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Pipeline throughput with the metrics server on and off, in the same process.",
        discussion: """
            Each round runs the pipeline twice at the maximum rate (synthetic source, no journal, status every \
            second): once without the control plane, once with it serving on 127.0.0.1 and scraped every \
            --scrape-interval seconds, as Prometheus would. The order alternates between rounds so both see the \
            same machine; the figure is the median of the per-round ratios (on / off).
            """)

    @Option(parsing: .unconditional, help: "Rounds (each runs off and on once).")
    var rounds: Int = 5

    @Option(parsing: .unconditional, help: "Seconds per run.")
    var duration: Double = 3

    @Option(parsing: .unconditional, help: "Seconds between scrapes of /metrics while the metrics server is on.")
    var scrapeInterval: Double = 1

    @Option(help: "Stage-to-thread mapping: shared or dedicated.")
    var topology: String = "shared"

    @Flag(help: "Print one JSON object instead of the lines (each round's events/s off and on, the medians).")
    var json = false

    func validate() throws {
        guard (1...100).contains(rounds) else { throw ValidationError("--rounds must be 1 to 100") }
        guard duration > 0, duration <= 600 else { throw ValidationError("--duration must be above 0 and at most 600") }
        guard scrapeInterval >= 0.01, scrapeInterval <= 3_600 else {
            throw ValidationError("--scrape-interval must be 0.01 to 3600 seconds")
        }
        guard ["shared", "dedicated"].contains(topology) else {
            throw ValidationError("--topology must be shared or dedicated")
        }
    }

    func run() throws {
        var configuration = EngineConfiguration()
        configuration.rate = .unlimited
        configuration.durationSeconds = duration
        configuration.journalDirectory = nil
        configuration.statusIntervalSeconds = 1
        configuration.topology = topology == "shared" ? .shared : .dedicated
        if !json {
            print(
                "metrics benchmark: \(rounds) rounds of \(decimal(duration)) s per run, max rate, no journal, \(topology) topology, scrape every \(decimal(scrapeInterval)) s"
            )
        }
        let result = try MetricsBenchmark.run(
            configuration: configuration, rounds: rounds, scrapeIntervalSeconds: scrapeInterval,
            custom: IdleStrategy.self
        ) { index, round in
            guard !json else { return }
            print(
                "round \(index + 1): metrics off \(millions(round.off))M events/s · on \(millions(round.on))M events/s · on/off \(decimal(round.ratio, places: 3))"
            )
        }
        let median = { (values: [Double]) in values.sorted()[values.count / 2] }
        let ratio = median(result.rounds.map(\.ratio))
        let publishing = Double(result.observerNanoseconds) / Double(Swift.max(result.observerCalls, 1))
        let scrape = Double(result.scrapeNanoseconds) / Double(Swift.max(result.scrapes, 1))
        let perSecond =
            Double(result.observerNanoseconds + result.scrapeNanoseconds) / Swift.max(result.metricsSeconds, 1e-9) / 1e6
        if json {
            try JSONOutput.print([
                "rounds": result.rounds.map { ["off_events_per_second": $0.off, "on_events_per_second": $0.on] },
                "median_off_events_per_second": median(result.rounds.map(\.off)),
                "median_on_events_per_second": median(result.rounds.map(\.on)), "median_on_off_ratio": ratio,
                "scrapes": result.scrapes, "duration_seconds": duration, "scrape_interval_seconds": scrapeInterval,
                "topology": topology, "publishing_us_per_status_interval": publishing / 1e3,
                "scrape_us": scrape / 1e3, "control_plane_ms_per_second": perSecond,
            ])
            return
        }
        print(
            "median throughput: metrics off \(millions(median(result.rounds.map(\.off))))M events/s · on \(millions(median(result.rounds.map(\.on))))M events/s"
        )
        print(
            "median of per-round on/off: \(decimal(ratio, places: 3)) (\(decimal((ratio - 1) * 100, places: 1))%), \(result.scrapes) scrapes answered"
        )
        print(
            "control-plane work off the hot threads: \(decimal(publishing / 1e3)) µs per status interval (publishing), \(decimal(scrape / 1e3)) µs per scrape (wall, request to last byte); \(decimal(perSecond, places: 2)) ms per second of run (\(decimal(perSecond / 10, places: 2))% of one core)"
        )
    }
}
