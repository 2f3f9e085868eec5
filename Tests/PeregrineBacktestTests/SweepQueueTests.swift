import Foundation
import PeregrineBacktest
import PeregrineRisk
import PeregrineStrategy
import PeregrineTestSupport
import Testing

/// Sweeps across machines: the job message, a worker's checks, and a sweep over a real
/// nats-server with two workers, one killed mid-job.
@Suite struct SweepQueueTests {
    static func object(_ json: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    static func withoutTiming(_ line: String) throws -> NSDictionary {
        var object = try object(line)
        object["timing"] = nil
        return NSDictionary(dictionary: object)
    }

    /// A job read back from its message runs to the sweep's own row; a worker whose copy of a
    /// file differs refuses the job, naming the file.
    @Test func aWorkerRunsTheJobOfAMessageAndRefusesAnotherCopyOfTheData() throws {
        var settings = try SweepTests.settings(fast: "2,4", slow: "10,20")
        settings.orderLatency = .constant(entry: 250_000, response: 100_000)
        settings.feedLatency = .local
        settings.to = 1_582_340_000_000_000_000
        let plan = try SweepPlan(settings)
        let job = plan.jobs[3]
        let message = try SweepJobMessage(job, of: plan)
        let decoded = try SweepJobMessage(json: Array(message.json.utf8))
        #expect(decoded.job == job.hash)
        #expect(decoded.parameters.map(\.value) == ["4", "20"])
        #expect(decoded.settings.strategies == job.strategies)
        #expect(decoded.settings.to == settings.to)
        let runner = SweepJobRunner(worker: "test")
        guard case .result(let hash, let line) = runner.run(Array(message.json.utf8)) else {
            Issue.record("the job did not run")
            return
        }
        #expect(hash == job.hash)
        let local = try Sweep.run(plan, threads: 1, output: nil, ranking: try SweepRanking("sharpe"))
        let row = try #require(local.rows.first { $0.job == job.hash })
        #expect(try Self.withoutTiming(line) == (try Self.withoutTiming(row.line)))
        // Another copy of the quotes (its SHA-256 in the message differs).
        var object = try Self.object(message.json)
        var inputs = try #require(object["inputs"] as? [[String: String]])
        inputs[0]["sha256"] = String(repeating: "0", count: 64)
        object["inputs"] = inputs
        let altered = try JSONSerialization.data(withJSONObject: object)
        guard case .refused(let refusedJob, let reason) = SweepJobRunner(worker: "other").run(Array(altered)) else {
            Issue.record("another copy of the data was not refused")
            return
        }
        #expect(refusedJob == job.hash)
        #expect(reason.contains("quotes_2020-02-22.csv on worker other is not the sweep's copy"), "\(reason)")
        // A message of another version is refused, naming its job.
        object["version"] = 2
        guard
            case .refused(let versionJob, let versionReason) = runner.run(
                Array(try JSONSerialization.data(withJSONObject: object)))
        else {
            Issue.record("another version was not refused")
            return
        }
        #expect(versionJob == job.hash)
        #expect(versionReason.contains("version 2 is not supported"), "\(versionReason)")
    }

    /// Bad data in the sweep's own copy of a file fails the job on the worker for good (every
    /// worker would find it): it had been given back for another worker, again and again.
    @Test func badDataInTheSweepsCopyFailsTheJob() throws {
        let directory = try SweepTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let quotes = directory.appendingPathComponent("quotes.csv").path
        let source = try String(contentsOfFile: Fixtures.path(SweepTests.quotesFile), encoding: .utf8)
        try source.write(toFile: quotes, atomically: true, encoding: .utf8)
        var settings = BacktestSettings()
        settings.data = [try DataSpec("tardis-quotes:" + quotes)]
        settings.strategies = [
            StrategySpec(name: "golden-cross", parameters: [("fast", "2,4"), ("slow", "10"), ("quantity", "0.01")])
        ]
        let plan = try SweepPlan(settings)
        let message = try SweepJobMessage(plan.jobs[0], of: plan)
        // The file becomes bad at its line 50, and the message names that copy (its SHA-256).
        var lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var fields = lines[49].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[6] = "0"
        lines[49] = fields.joined(separator: ",")
        try lines.joined(separator: "\n").write(toFile: quotes, atomically: true, encoding: .utf8)
        var object = try Self.object(message.json)
        var inputs = try #require(object["inputs"] as? [[String: String]])
        inputs[0]["sha256"] = try BacktestRunTests.sha256sum(quotes)
        object["inputs"] = inputs
        let named = try JSONSerialization.data(withJSONObject: object)
        guard case .failed(let job, let line) = SweepJobRunner(worker: "w").run(Array(named)) else {
            Issue.record("bad data in the sweep's copy did not fail the job")
            return
        }
        #expect(job == plan.jobs[0].hash)
        let failure = try Self.object(line)
        #expect(
            (failure["error"] as? String)?.contains("\(quotes):50: bid_price '0' is not positive") == true, "\(line)")
        #expect(failure["worker"] as? String == "w")
    }

    /// Every setting survives the message: it reads back as the same text.
    @Test func everySettingTravelsInTheMessage() throws {
        let directory = try SweepTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let latency = directory.appendingPathComponent("latency.csv").path
        try "timestamp,entry_us,response_us\n1582329600000000,300,120\n1582340000000000,500,90\n".write(
            toFile: latency, atomically: true, encoding: .utf8)
        var settings = try SweepTests.settings(fast: "2,3", slow: "10")
        for (key, value) in [
            ("from", "2020-02-22T00:05:00Z"), ("to", "1582340000000000000"), ("feed_latency", "125"),
            ("order_latency", latency), ("queue_model", "power:2.5"), ("maker_fee_bps", "-0.25"),
            ("taker_fee_bps", "4.5"), ("capital", "25000.5"), ("equity_interval_ms", "250"),
        ] {
            try BacktestOption.apply(key, value, to: &settings, origin: key)
        }
        settings.risk = [try RiskRule(settingsText: "strategy=7 max_position=0.5 max_orders_per_second=20")]
        settings.strategies[0].id = 7
        let plan = try SweepPlan(settings)
        let message = try SweepJobMessage(plan.jobs[1], of: plan)
        let decoded = try SweepJobMessage(json: Array(message.json.utf8))
        #expect(decoded.json == message.json)
        #expect(decoded.settings.from == settings.from && decoded.settings.to == settings.to)
        // An early-1970 time (synthetic data) travels too: as UTC text, not as a small integer.
        var early = settings
        early.from = 3_000_000
        let earlyPlan = try SweepPlan(early)
        let earlyMessage = try SweepJobMessage(earlyPlan.jobs[0], of: earlyPlan)
        #expect(try SweepJobMessage(json: Array(earlyMessage.json.utf8)).settings.from == 3_000_000)
        #expect(decoded.settings.feedLatency == .constant(nanoseconds: 125_000))
        #expect(decoded.settings.orderLatency == settings.orderLatency)
        #expect(decoded.settings.queueModel == settings.queueModel)
        #expect(decoded.settings.equityInterval == 250_000_000)
        #expect(decoded.settings.capital == "25000.5")
        #expect(decoded.settings.feesGiven && decoded.settings.takerFeeBasisPoints == "4.5")
        // Fees not given travel as not given (a table's fees then stand without a note).
        var withoutFees = try SweepTests.settings(fast: "2,3", slow: "10")
        withoutFees.takerFeeBasisPoints = "0"
        let plain = try SweepPlan(withoutFees)
        let plainMessage = try SweepJobMessage(plain.jobs[0], of: plain)
        #expect(!plainMessage.json.contains("fee_bps"))
        #expect(try !SweepJobMessage(json: Array(plainMessage.json.utf8)).settings.feesGiven)
        #expect(decoded.settings.risk.map(\.settingsText) == settings.risk.map(\.settingsText))
        #expect(decoded.settings.strategies == plan.jobs[1].strategies)
        // And the job runs on a worker to the identity the sweep gave it.
        guard case .result(let hash, _) = SweepJobRunner(worker: "w").run(Array(message.json.utf8)) else {
            Issue.record("the job did not run")
            return
        }
        #expect(hash == plan.jobs[1].hash)
    }

    /// Two workers on a real nats-server, one SIGKILLed while it runs a job: the sweep still
    /// gets every job's result exactly once, each equal to the local sweep's.
    /// A job a worker gives back (its copy of the data differs) reaches another worker a few
    /// seconds later: the delay had been sent as 5,000,000 s (the client takes milliseconds),
    /// so the job never came back and the sweep waited in vain.
    @Test func aJobGivenBackByAWorkerReachesAnother() throws {
        let directory = try SweepTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = try String(contentsOfFile: Fixtures.path(SweepTests.quotesFile), encoding: .utf8)
        var altered = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var fields = altered[10].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[7] = fields[7] == "1" ? "2" : "1"
        altered[10] = fields.joined(separator: ",")
        let sweepSide = directory.appendingPathComponent("a")
        let otherSide = directory.appendingPathComponent("b")
        for (folder, text) in [(sweepSide, source), (otherSide, altered.joined(separator: "\n"))] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try text.write(toFile: folder.appendingPathComponent("quotes.csv").path, atomically: true, encoding: .utf8)
        }
        let server = try NATSServerProcess(name: "giveback")
        defer { server.stop() }
        func start(_ arguments: [String], in folder: URL, log: String) throws -> Process {
            let path = directory.appendingPathComponent(log).path
            #expect(FileManager.default.createFile(atPath: path, contents: nil))
            let process = Process()
            process.executableURL = PeregrineCLI.binary
            process.arguments = arguments
            process.currentDirectoryURL = folder
            process.standardOutput = FileHandle.nullDevice
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try process.run()
            return process
        }
        let sweep = try start(
            [
                "sweep", "--data", "tardis-quotes:quotes.csv", "--strategy", "golden-cross", "--param", "fast=2,4",
                "--param", "slow=10", "--param", "quantity=0.01", "--nats", server.url, "--ack-wait", "2", "--out",
                "out.jsonl", "--idle-timeout", "60",
            ], in: sweepSide, log: "sweep.log")
        // The worker with the other copy refuses a job, then stops.
        let other = try start(
            ["worker", "--nats", server.url, "--name", "other", "--ack-wait", "2"], in: otherSide, log: "other.log")
        let otherLog = directory.appendingPathComponent("other.log").path
        while other.isRunning, !(try String(contentsOfFile: otherLog, encoding: .utf8)).contains("given back") {
            usleep(5_000)
        }
        kill(other.processIdentifier, SIGKILL)
        other.waitUntilExit()
        #expect(try String(contentsOfFile: otherLog, encoding: .utf8).contains("is not the sweep's copy"))
        // The worker with the sweep's copy runs both jobs, the one given back among them.
        // It runs until the sweep has both results (no idle timer: the job given back returns
        // 5 s after the refusal, and how long the first job took must not decide the test).
        let right = try start(
            ["worker", "--nats", server.url, "--name", "right", "--ack-wait", "2"], in: sweepSide, log: "right.log")
        defer {
            if right.isRunning { right.terminate() }
            right.waitUntilExit()
        }
        sweep.waitUntilExit()
        #expect(
            sweep.terminationStatus == 0,
            "\((try? String(contentsOfFile: directory.appendingPathComponent("sweep.log").path, encoding: .utf8)) ?? "")"
        )
        right.terminate()
        right.waitUntilExit()
        #expect(right.terminationStatus == 0)
        let rightLog = try String(contentsOfFile: directory.appendingPathComponent("right.log").path, encoding: .utf8)
        #expect(rightLog.contains("(delivery 2)"), "\(rightLog)")
        let rows = try String(contentsOfFile: sweepSide.appendingPathComponent("out.jsonl").path, encoding: .utf8)
            .split(separator: "\n")
        #expect(rows.count == 2)
    }

    @Test func aSweepWithAWorkerKilledMidJobGivesTheLocalResultsOnce() throws {
        let directory = try SweepTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Long jobs (about half a second each in a debug build): the fixture's quotes 10 times over.
        let source = try String(contentsOfFile: Fixtures.path(SweepTests.quotesFile), encoding: .utf8)
        let rows = source.split(separator: "\n").map(String.init)
        var lines = [rows[0]]
        let first = try #require(Int(rows[1].split(separator: ",")[2]))
        let last = try #require(Int(rows[rows.count - 1].split(separator: ",")[2]))
        for copy in 0..<10 {
            let shift = copy * (last - first + 1_000)
            for row in rows.dropFirst() {
                var fields = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                for column in [2, 3] { fields[column] = String((Int(fields[column]) ?? 0) + shift) }
                lines.append(fields.joined(separator: ","))
            }
        }
        let quotes = directory.appendingPathComponent("quotes.csv").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: quotes, atomically: true, encoding: .utf8)
        let server = try NATSServerProcess(name: "sweep")
        defer { server.stop() }
        func worker(_ name: String, idleExit: Int = 0) throws -> (Process, String) {
            let log = directory.appendingPathComponent("\(name).log").path
            #expect(FileManager.default.createFile(atPath: log, contents: nil))
            let process = Process()
            process.executableURL = PeregrineCLI.binary
            process.arguments = [
                "worker", "--nats", server.url, "--name", name, "--ack-wait", "2", "--idle-exit", String(idleExit),
            ]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            try process.run()
            return (process, log)
        }
        let arguments = [
            "sweep", "--data", "tardis-quotes:" + quotes, "--strategy", "golden-cross", "--param", "fast=2,4",
            "--param", "slow=10,20,40,80", "--param", "quantity=0.01", "--taker-fee-bps", "4",
        ]
        let out = directory.appendingPathComponent("nats.jsonl").path
        let sweep = Process()
        sweep.executableURL = PeregrineCLI.binary
        sweep.arguments = arguments + ["--nats", server.url, "--ack-wait", "2", "--out", out, "--idle-timeout", "120"]
        sweep.standardOutput = FileHandle.nullDevice
        sweep.standardError = FileHandle.nullDevice
        try sweep.run()
        let (victim, victimLog) = try worker("victim")
        // Kill the first worker once it has started a job.
        while victim.isRunning,
            !(try String(contentsOfFile: victimLog, encoding: .utf8)).contains("job started")
        {
            usleep(5_000)
        }
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        #expect(victim.terminationReason == .uncaughtSignal)
        // The survivor stops by itself once the queue has been empty for 3 s.
        let (survivor, survivorLog) = try worker("survivor", idleExit: 3)
        defer {
            if survivor.isRunning { survivor.terminate() }
            survivor.waitUntilExit()
        }
        sweep.waitUntilExit()
        #expect(sweep.terminationStatus == 0)
        survivor.waitUntilExit()
        #expect(survivor.terminationStatus == 0)
        #expect(try String(contentsOfFile: survivorLog, encoding: .utf8).contains("no job for 3 s: stopping"))
        // The killed worker's job was delivered again, to the survivor.
        #expect(try String(contentsOfFile: survivorLog, encoding: .utf8).contains("(delivery 2)"))
        let local = directory.appendingPathComponent("local.jsonl").path
        let alone = try PeregrineCLI.run(arguments + ["--out", local, "--top", "0"])
        #expect(alone.status == 0, "\(alone.error)")
        func table(_ path: String) throws -> [String: NSDictionary] {
            var byJob: [String: NSDictionary] = [:]
            for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
                let row = try Self.withoutTiming(String(line))
                let job = try #require(row["job"] as? String)
                #expect(byJob[job] == nil, "job \(job) twice")
                byJob[job] = row
            }
            return byJob
        }
        let overNATS = try table(out)
        let expected = try table(local)
        #expect(overNATS.count == 8 && expected.count == 8)
        #expect(overNATS == expected)
        // Run again into another file: every result comes from the results stream, nothing is
        // queued or run again.
        let again = directory.appendingPathComponent("again.jsonl").path
        let rerun = try PeregrineCLI.run(
            arguments + ["--nats", server.url, "--out", again, "--top", "0", "--idle-timeout", "30"])
        #expect(rerun.status == 0, "\(rerun.error)")
        #expect(rerun.line(startingWith: "=== peregrine sweep ===")?.contains("8 jobs: 0 run, 8 already done") == true)
        #expect(try table(again) == expected)
    }
}
