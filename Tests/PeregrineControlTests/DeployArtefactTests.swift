import Foundation
import Testing

@testable import PeregrineControl

/// `deploy/` checked by the real tools: promtool (config, rules, rule unit tests),
/// kubernetes-validate (manifests), the engine's own `config check` (the pod's TOML), and
/// the dashboard's JSON against the metric families the engine exports.
struct DeployArtefactTests {
    static let deploy = Tools.repository.appendingPathComponent("deploy")

    @Test func prometheusConfigurationAndRulesPassPromtool() throws {
        let configuration = try Tools.run(
            "promtool", ["check", "config", Self.deploy.appendingPathComponent("prometheus/prometheus.yml").path])
        #expect(configuration.status == 0, "\(configuration.output)\(configuration.error)")
        let rules = try Tools.run(
            "promtool", ["check", "rules", Self.deploy.appendingPathComponent("prometheus/alerts.yml").path])
        #expect(rules.status == 0, "\(rules.output)\(rules.error)")
        #expect((rules.output + rules.error).contains("SUCCESS: 12 rules found"))
    }

    /// Each alert fires on a struggling engine with its exact labels and text, and stays
    /// silent on a healthy one (deploy/prometheus/alerts-test.yml).
    @Test func alertRulesPassTheirUnitTests() throws {
        let result = try Tools.run(
            "promtool", ["test", "rules", Self.deploy.appendingPathComponent("prometheus/alerts-test.yml").path])
        #expect(result.status == 0, "\(result.output)\(result.error)")
        #expect((result.output + result.error).contains("SUCCESS"))
    }

    @Test func kubernetesManifestsPassStrictValidation() throws {
        let directory = Self.deploy.appendingPathComponent("kubernetes")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }
            .sorted()
        #expect(
            files == ["configmap.yaml", "pdb.yaml", "service.yaml", "statefulset.yaml"],
            "an autoscaler would start engines beside the ones that trade (docs/operations.md, \"Scaling\")")
        let result = try Tools.run(
            "kubernetes-validate", ["--strict"] + files.map { directory.appendingPathComponent($0).path })
        #expect(result.status == 0, "\(result.output)\(result.error)")
        let log = result.output + result.error
        for kind in [
            "statefulset/peregrine", "service/peregrine-metrics", "poddisruptionbudget/peregrine",
            "configmap/peregrine-config",
        ] {
            #expect(log.contains("passed for resource \(kind)"), "\(log)")
        }
    }

    /// The TOML the ConfigMap mounts is a valid engine configuration for a pod.
    @Test func thePodConfigurationPassesConfigCheck() throws {
        let python = try #require(Tools.path("python3"))
        let venvPython = Tools.repository.appendingPathComponent(".build/tools-venv/bin/python3").path
        let extract = try Tools.run(
            FileManager.default.isExecutableFile(atPath: venvPython) ? venvPython : python,
            [
                "-c", "import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))['data']['peregrine.toml'])",
                Self.deploy.appendingPathComponent("kubernetes/configmap.yaml").path,
            ])
        #expect(extract.status == 0, "\(extract.error)")
        let directory = try Tools.temporaryDirectory("pod-config")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("peregrine.toml")
        try extract.output.write(to: file, atomically: true, encoding: .utf8)
        let check = try Tools.run(Tools.peregrine.path, ["config", "check", file.path])
        #expect(check.status == 0, "\(check.output)\(check.error)")
        #expect(check.output.contains("address = \"0.0.0.0\"\nport = 9464\n"))
        #expect(check.output.contains("duration = 0.0\n"))
        #expect(check.output.contains("directory = \"/var/lib/peregrine/journal\"\n"))
    }

    /// Every PromQL expression of the dashboard, with its variables filled in.
    static func dashboardExpressions() throws -> [(panel: String, expression: String)] {
        let data = try Data(contentsOf: deploy.appendingPathComponent("grafana/peregrine-dashboard.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        var expressions: [(String, String)] = []
        for panel in panels {
            let title = try #require(panel["title"] as? String)
            for target in try #require(panel["targets"] as? [[String: Any]]) {
                let expression = try #require(target["expr"] as? String)
                expressions.append(
                    (
                        title,
                        expression.replacing("$__rate_interval", with: "5s").replacing("$job", with: ".*")
                            .replacing("$instance", with: ".*")
                    ))
            }
        }
        return expressions
    }

    @Test func theDashboardShowsLatencyThroughputDropsAndRingsFromExportedMetrics() throws {
        let expressions = try Self.dashboardExpressions()
        let titles = Set(expressions.map(\.panel))
        for title in [
            "End-to-end latency percentiles", "Throughput by stage", "Drops and rejects", "Inbound ring occupancy",
            "Kill switch", "Risk rejects by reason", "Net P&L by strategy and instrument", "Positions",
            "Day loss against its limit", "Gross exposure against its limit",
        ] {
            #expect(titles.contains(title))
        }
        let latency = expressions.filter { $0.panel == "End-to-end latency percentiles" }.map(\.expression)
        for quantile in ["0.5", "0.99", "0.999"] {
            #expect(latency.contains { $0.hasPrefix("histogram_quantile(\(quantile), ") })
        }
        // Every metric name used is one the engine exports.
        let exported = Set(ControlPlane.help.keys).union([
            "peregrine_latency_seconds_bucket", "peregrine_latency_seconds_sum", "peregrine_latency_seconds_count",
        ])
        let pattern = /peregrine_[a-z_]+/
        for (panel, expression) in expressions {
            for match in expression.matches(of: pattern) {
                #expect(exported.contains(String(match.output)), "\(panel): \(match.output) is not exported")
            }
        }
    }

    @Test func theContainerfileBuildsTheCLIAndServesTheControlPort() throws {
        let text = try String(
            contentsOf: Self.deploy.appendingPathComponent("Containerfile"), encoding: .utf8)
        let lines = text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
        #expect(lines.filter { $0.hasPrefix("FROM ") }.count == 2)
        #expect(lines.contains("EXPOSE 9464"))
        #expect(lines.contains("ENTRYPOINT [\"/usr/local/bin/peregrine\"]"))
        #expect(lines.contains("USER 10001:10001"))
        // Files it copies exist, and with them every directory the package's manifest needs.
        var copied: Set<String> = []
        for line in lines where line.hasPrefix("COPY ") && !line.contains("--from") {
            let source = String(line.split(separator: " ")[1])
            copied.insert(source)
            #expect(
                FileManager.default.fileExists(atPath: Tools.repository.appendingPathComponent(source).path),
                "\(source)")
        }
        #expect(copied.isSuperset(of: ["Package.swift", "Plugins", "Sources", "Tests"]), "\(copied)")
    }

    /// The image's stages install what the package needs: the build stage every Debian package
    /// Package.swift's system-library targets name, and the runtime stage the package of every
    /// shared library the binary links that is not the Swift runtime (linked in statically there).
    @Test func theContainerfileInstallsTheLibrariesTheBinaryNeeds() throws {
        let text = try String(contentsOf: Self.deploy.appendingPathComponent("Containerfile"), encoding: .utf8)
        let stages = text.components(separatedBy: "\nFROM ").dropFirst()  // the comments before the first
        #expect(stages.count == 2)
        let (build, runtime) = (stages.first ?? "", stages.last ?? "")
        let manifest = try String(
            contentsOf: Tools.repository.appendingPathComponent("Package.swift"), encoding: .utf8)
        let providers = manifest.matches(of: /\.apt\(\["([^"]+)"\]\)/).map { String($0.output.1) }
        #expect(providers.count >= 3, "\(providers)")
        for package in providers { #expect(build.contains(" \(package)"), "the build stage lacks \(package)") }

        func run(_ tool: String, _ arguments: [String]) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [tool] + arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        let swiftRuntime =
            /^(libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime|libc\.|libm\.|ld-linux|linux-vdso)/
        let libraries = try run("ldd", [Tools.peregrine.path]).split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(whereSeparator: \.isWhitespace)
            guard fields.count >= 3, fields[1] == "=>", !String(fields[0]).contains(swiftRuntime) else { return nil }
            return String(fields[2])
        }
        #expect(libraries.contains { $0.contains("libnats") } && libraries.contains { $0.contains("libsecp256k1") })
        for library in libraries {
            // `dpkg -S PATH` answers "package:arch: PATH" (the library may sit under /lib or /usr/lib).
            let resolved = try run("readlink", ["-f", library]).trimmingCharacters(in: .whitespacesAndNewlines)
            let owner = try run("dpkg", ["-S", library]) + run("dpkg", ["-S", resolved])
            let package = owner.split(separator: "\n").first.map { String($0.prefix { $0 != ":" }) } ?? ""
            #expect(!package.isEmpty, "no Debian package holds \(library)")
            #expect(runtime.contains(" \(package)"), "the runtime stage lacks \(package) (\(library))")
        }
    }
}
