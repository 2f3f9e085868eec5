import Foundation
import PeregrineCore
import Testing

@testable import PeregrineControl

#if canImport(Glibc)
    import Glibc
#endif

/// `peregrine run` under real operations tools: curl and `promtool check metrics` on a live
/// scrape, a real Prometheus server scraping it, and `/readyz` during a long recovery.
@Suite(.serialized)
struct OperationsTests {
    /// Polls `url` until it answers `status` (or `seconds` pass); returns the last answer.
    static func await(
        _ url: String, status: Int, seconds: Double, while process: Background
    ) throws -> (status: Int, body: String) {
        let deadline = Date().addingTimeInterval(seconds)
        var answer = (status: 0, body: "")
        while Date() < deadline && process.process.isRunning {
            answer = try Tools.get(url)
            if answer.status == status { return answer }
            usleep(100_000)
        }
        return answer
    }

    @Test func aLiveScrapePassesPromtoolAndCarriesEveryFamily() throws {
        let port = LoopbackPort.free()
        // Risk limits on the market maker (strategy 1), so the risk families carry values.
        let config = NSTemporaryDirectory() + "peregrine-scrape-\(UUID().uuidString).toml"
        try """
        [[risk]]
        strategy = 1
        max_gross_exposure = "1000000"
        max_daily_loss = "1000000"
        max_orders_per_second = "100000"
        [[risk]]
        instrument = "HOST4"
        max_position = "0.005"
        """.write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let engine = try Background(
            Tools.peregrine.path,
            [
                "run", "--config", config, "--rate", "50000", "--duration", "20", "--no-journal", "--metrics-port",
                "\(port)", "--status-interval", "0.5", "--order-flow", "30", "--strategy", "market-maker",
                "--strategy", "large-trade-follower",
            ])
        defer { engine.stop() }
        let ready = try Self.await("http://127.0.0.1:\(port)/readyz", status: 200, seconds: 15, while: engine)
        #expect(ready.status == 200, "stderr: \(engine.standardError)")
        usleep(1_500_000)  // at least two status intervals
        let scrape = try Tools.get("http://127.0.0.1:\(port)/metrics")
        #expect(scrape.status == 200)
        let lint = try Tools.run("promtool", ["check", "metrics"], input: scrape.body)
        #expect(lint.status == 0, "promtool: \(lint.output)\(lint.error)")
        #expect(lint.output.isEmpty && lint.error.isEmpty, "promtool: \(lint.output)\(lint.error)")

        let text = scrape.body
        // Without a journal nothing is durable: that gauge is absent.
        for family in ControlPlane.help.keys.sorted() + ["peregrine_latency_seconds"]
        where family != "peregrine_journal_durable_sequence" {
            #expect(text.contains("# TYPE \(family) "), "missing \(family)")
        }
        #expect(!text.contains("peregrine_journal_durable_sequence"))
        let value = { (series: String) in ControlPlaneTests.sample(text, series) ?? -1 }
        let source = value("peregrine_events_total{stage=\"source\"}")
        let journal = value("peregrine_events_total{stage=\"journal\"}")
        let logic = value("peregrine_events_total{stage=\"logic\"}")
        let sink = value("peregrine_events_total{stage=\"sink\"}")
        #expect(source >= journal && journal >= logic && logic >= sink && sink > 10_000)
        #expect(value("peregrine_throughput_events_per_second") > 10_000)
        #expect(value("peregrine_ready") == 1)
        #expect(value("peregrine_drops_total{reason=\"ring_full\"}") == 0)
        #expect(value("peregrine_execution_reports_total{stage=\"sink\"}") > 0)
        // The blind synthetic order flow cancels ids that already filled: venue rejects by reason.
        #expect(value("peregrine_rejects_total{reason=\"order_unknown_order_id\"}") > 0)
        let count = value("peregrine_latency_seconds_count{stage=\"end_to_end\"}")
        #expect(count > 10_000 && count <= sink)
        #expect(value("peregrine_latency_seconds_bucket{stage=\"end_to_end\",le=\"+Inf\"}") == count)
        #expect(value("peregrine_latency_seconds_count{stage=\"journal\"}") > 0)
        #expect(value("peregrine_process_resident_memory_bytes") > 1_000_000)
        // The follower's orders are for market-data instruments: they go out as venue orders.
        let orders = value("peregrine_orders_total{stage=\"logic\"}")
        let out = value("peregrine_orders_total{stage=\"venue_out\"}")
        #expect(out > 0 && out <= orders)  // read after the logic count, published before it
        #expect(value("peregrine_orders_total{stage=\"sink\"}") <= orders)
        #expect(value("peregrine_latency_seconds_count{stage=\"order\"}") > 0)
        // The market maker keeps quoting HOST4 past its 5-lot limit: refused by position.
        #expect(value("peregrine_risk_rejects_total{reason=\"max_position\"}") > 0)
        #expect(value("peregrine_risk_rejects_total{reason=\"kill_switch\"}") == 0)
        #expect(value("peregrine_kill_switch") == 0)
        #expect(value("peregrine_risk_day_loss_limit{strategy=\"1\",currency=\"USD\"}") == 1_000_000)
        #expect(value("peregrine_risk_gross_exposure{strategy=\"1\",currency=\"USD\"}") > 0)
        #expect(engine.stop() == 0)
        #expect(engine.standardOutput.contains("lossless          yes"))
    }

    @Test func aPrometheusServerScrapesTheEngineAndAnswersAThroughputQuery() throws {
        let enginePort = LoopbackPort.free()
        let prometheusPort = LoopbackPort.free()
        let directory = try Tools.temporaryDirectory("prometheus")
        defer { try? FileManager.default.removeItem(at: directory) }
        // The deployment's own rules (recording and alerting) are loaded too.
        try FileManager.default.copyItem(
            at: DeployArtefactTests.deploy.appendingPathComponent("prometheus/alerts.yml"),
            to: directory.appendingPathComponent("alerts.yml"))
        let configuration = """
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files: ["alerts.yml"]
            scrape_configs:
              - job_name: peregrine
                static_configs:
                  - targets: ["127.0.0.1:\(enginePort)"]
            """
        let configurationFile = directory.appendingPathComponent("prometheus.yml")
        try configuration.write(to: configurationFile, atomically: true, encoding: .utf8)
        let engine = try Background(
            Tools.peregrine.path,
            [
                "run", "--rate", "20000", "--duration", "60", "--no-journal", "--metrics-port", "\(enginePort)",
                "--status-interval", "0.5",
            ])
        defer { engine.stop() }
        let prometheusPath = try #require(Tools.path("prometheus"), "prometheus not found; `make test` installs it")
        let prometheus = try Background(
            prometheusPath,
            [
                "--config.file=\(configurationFile.path)", "--storage.tsdb.path=\(directory.path)/data",
                "--web.listen-address=127.0.0.1:\(prometheusPort)",
            ])
        defer { prometheus.stop() }
        let query = "http://127.0.0.1:\(prometheusPort)/api/v1/query?query="
        var throughput = 0.0
        var rate = 0.0
        let deadline = Date().addingTimeInterval(45)
        while Date() < deadline && (throughput <= 0 || rate <= 0) && prometheus.process.isRunning {
            usleep(500_000)
            throughput = Self.firstValue(try Tools.get(query + "peregrine_throughput_events_per_second").body)
            rate = Self.firstValue(
                try Tools.get(query + "sum(rate(peregrine_events_total%7Bstage%3D%22sink%22%7D%5B5s%5D))").body)
        }
        #expect(throughput > 5_000, "prometheus: \(prometheus.standardError.suffix(2_000))")
        #expect(throughput < 40_000)
        #expect(rate > 5_000)
        let up = Self.firstValue(try Tools.get(query + "up%7Bjob%3D%22peregrine%22%7D").body)
        #expect(up == 1)

        // Every dashboard query parses and runs; the main panels have data.
        usleep(2_000_000)
        for (panel, expression) in try DeployArtefactTests.dashboardExpressions() {
            let encoded = expression.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let answer = try Tools.get(query + encoded)
            #expect(answer.status == 200 && answer.body.contains("\"status\":\"success\""), "\(panel): \(answer.body)")
            if ["End-to-end latency percentiles", "Throughput by stage", "Inbound ring occupancy", "Ready"].contains(
                panel)
            {
                #expect(answer.body.contains("\"value\":["), "\(panel) has no data: \(expression)")
            }
        }
        // The deployment's recording rules evaluate on the live engine (a 1-minute rate over
        // the few seconds scraped so far: positive, not yet the full rate).
        // The rule group runs every 5 s: wait for two evaluations with data.
        var recorded = 0.0
        var p99 = 0.0
        let rulesDeadline = Date().addingTimeInterval(30)
        while Date() < rulesDeadline && !(recorded > 0 && p99 > 0) {
            recorded = Self.firstValue(try Tools.get(query + "peregrine:throughput_events_per_second").body)
            p99 = Self.firstValue(try Tools.get(query + "peregrine:latency_end_to_end_p99_seconds").body)
            if !(recorded > 0 && p99 > 0) { usleep(500_000) }
        }
        #expect(recorded > 0)
        #expect(p99 > 0 && p99 < 1)
    }

    /// The first sample value of an instant-query answer (0 when there is none).
    static func firstValue(_ json: String) -> Double {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
            let data = object["data"] as? [String: Any], let results = data["result"] as? [[String: Any]],
            let sample = results.first?["value"] as? [Any], sample.count == 2, let text = sample[1] as? String
        else { return 0 }
        return Double(text) ?? 0
    }

    @Test func readyOnlyAfterRecoveryHasReplayedTheJournal() throws {
        let directory = try Tools.temporaryDirectory("readyz")
        defer { try? FileManager.default.removeItem(at: directory) }
        let journal = directory.appendingPathComponent("journal").path
        // 2M events and no snapshot: the next start replays them all (seconds in a debug build).
        let fill = try Tools.run(
            Tools.peregrine.path,
            [
                "run", "--max", "--max-events", "2000000", "--duration", "60", "--journal", journal,
                "--snapshot-every", "0", "--durability", "none", "--metrics-port", "0",
            ])
        #expect(fill.status == 0, "\(fill.output)\(fill.error)")
        let lastLine = try #require(fill.output.split(separator: "\n").first { $0.hasPrefix("last sequence") })
        let last = try #require(Int(lastLine.split(separator: " ")[2]))

        let port = LoopbackPort.free()
        let engine = try Background(
            Tools.peregrine.path,
            ["run", "--rate", "1000", "--duration", "1", "--journal", journal, "--metrics-port", "\(port)"])
        defer { engine.stop() }
        var answers: [(status: Int, body: String)] = []
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && engine.process.isRunning {
            let answer = try Tools.get("http://127.0.0.1:\(port)/readyz")
            if answer.status != 0 { answers.append(answer) }
            if answer.status == 200 { break }
            usleep(20_000)
        }
        #expect(engine.stop(terminate: false) == 0)
        let first = try #require(answers.first)
        #expect(first.status == 503)
        #expect(first.body == "{\"ready\":false,\"reason\":\"recovering the journal\"}\n")
        #expect(answers.last?.status == 200)
        #expect(answers.filter { $0.status == 200 }.count == 1)
        // The log says recovery replayed every event, before the engine said it was ready.
        let log = engine.standardError
        let recovered = try #require(log.range(of: "replayed=\(last + 1) "), "log: \(log)")
        let ready = try #require(log.range(of: "[PeregrineControl] ready"), "log: \(log)")
        #expect(recovered.lowerBound < ready.lowerBound)
    }
}
