import Foundation
import PeregrineStrategy
import PeregrineTestSupport
import Testing

@testable import PeregrineBacktest

#if canImport(Glibc)
    import Glibc
#endif

/// The backtest commands' handling of their files and arguments, found by an audit: damaged
/// converted files, outputs that a rename would replace, standard output, outputs checked
/// before the run, strict times, files named twice, and a sweep's repeated values and rows of
/// another report.
@Suite struct BacktestCLITests {
    static let quotes = "tardis_binance-futures_BTCUSDT_quotes_2020-02-22.csv"
    static let golden = [
        "--strategy", "golden-cross", "--param", "fast=5", "--param", "slow=20", "--param", "quantity=0.001",
    ]

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("peregrine-cli-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static var data: [String] { ["--data", "tardis-quotes:" + Fixtures.path(quotes)] }

    /// Runs `peregrine arguments` with standard output going to `output` (a path); its status
    /// and standard error.
    static func run(_ arguments: [String], standardOutput output: String) throws -> (status: Int32, error: String) {
        let process = Process()
        process.executableURL = PeregrineCLI.binary
        process.arguments = arguments
        guard let handle = FileHandle(forWritingAtPath: output) else { throw CocoaError(.fileNoSuchFile) }
        process.standardOutput = handle
        let error = Pipe()
        process.standardError = error
        try process.run()
        let text = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: text, as: UTF8.self))
    }

    /// On a terminal (a pseudo-terminal from `script`), the backtest draws a progress bar with an
    /// ETA on standard error, every 65,536 events and at the end: the first drawing on the
    /// cursor's line (the command above it stays), each later one over the one before; without
    /// a terminal it draws none.
    @Test func aProgressBarWithAnETAOnATerminal() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var text = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
        for row in 0..<140_000 {
            let time = 1_600_000_000_000_000 + row * 1_000
            text += "test,TEST,\(time),\(time),1,\(101 + row % 7),\(99 + row % 7),1\n"
        }
        let path = directory.appendingPathComponent("quotes.csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        // Each word quoted for the shell `script` runs the command with (/bin/sh).
        let quoted = [PeregrineCLI.binary.path, "backtest", "--data", "tardis-quotes:" + path, "--strategy", "idle"]
            .map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", quoted.joined(separator: " "), "/dev/null"]
        process.environment = ProcessInfo.processInfo.environment.merging(["SHELL": "/bin/sh"]) { $1 }
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let screen = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(screen)")
        // Three drawings (at 65,536 and 131,072 events, and at the end), each a line.
        let drawings = screen.components(separatedBy: "\r\n").filter { $0.contains(" s elapsed · ETA ") }
        #expect(drawings.count == 3, "\(drawings)")
        let up = "\u{1B}[1A\r\u{1B}[2K"
        #expect(drawings.first?.hasPrefix("[#") == true, "\(drawings)")
        #expect(drawings.dropFirst().allSatisfy { $0.hasPrefix(up + "[") }, "\(drawings)")
        #expect(drawings.last?.hasPrefix(up + "[" + String(repeating: "#", count: 30) + "] 100% · ") == true)
        #expect(drawings.last?.hasSuffix("ETA 0 s") == true, "\(drawings)")
        #expect(screen.contains("events            140000"))
        // Not on a terminal: no bar.
        let piped = try PeregrineCLI.run(["backtest", "--data", "tardis-quotes:" + path, "--strategy", "idle"])
        #expect(piped.status == 0)
        #expect(!piped.error.contains("ETA"))
    }

    /// `data convert --json` and `data generate --json`: one JSON object on standard output,
    /// with the events, the instruments' grids as decimals and the output named.
    @Test func convertAndGenerateSayWhatTheyWroteAsJSON() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let converted = directory.appendingPathComponent("q.pgev").path
        let convert = try PeregrineCLI.run(["data", "convert"] + Self.data + ["-o", converted, "--json"])
        #expect(convert.status == 0, "\(convert.error)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(convert.output.utf8)) as? [String: Any])
        #expect(object["events"] as? Int == 9_999)
        #expect(object["output"] as? String == converted)
        #expect(object["warnings"] as? [String] == [])
        let instruments = try #require(object["instruments"] as? [[String: String]])
        #expect(instruments == [["symbol": "BTCUSDT", "tick_size": "0.01", "lot_size": "0.001"]])
        #expect((object["elapsed_seconds"] as? Double ?? -1) >= 0)
        let generated = directory.appendingPathComponent("s.pgev").path
        let generate = try PeregrineCLI.run([
            "data", "generate", "--events", "1000", "--seed", "9", "--instruments", "2", "-o", generated, "--json",
        ])
        #expect(generate.status == 0, "\(generate.error)")
        let made = try #require(try JSONSerialization.jsonObject(with: Data(generate.output.utf8)) as? [String: Any])
        #expect((made["events"] as? Int ?? 0) >= 1_000)
        #expect(made["seed"] as? Int == 9)
        #expect(made["output"] as? String == generated)
        #expect((made["instruments"] as? [[String: String]])?.map { $0["symbol"] } == ["SYN0", "SYN1"])
        // Its JSON lost (standard output full): exit 1, and the file it names is not left behind.
        let lost = directory.appendingPathComponent("lost.pgev").path
        let full = try Self.run(["data", "convert"] + Self.data + ["-o", lost, "--json"], standardOutput: "/dev/full")
        #expect(full.status == 1)
        #expect(full.error.contains("error: standard output could not be written"), "\(full.error)")
        #expect(!FileManager.default.fileExists(atPath: lost))
        // A file already at the output path stays as it was, with the summary lost or its JSON,
        // whether it is an earlier conversion or the conversion's own converted input; a
        // generated one too. A text input is never the output (its rows would be lost), nor is
        // standard output as `-`.
        let earlier = try Data(contentsOf: URL(fileURLWithPath: generated))
        let text = directory.appendingPathComponent("own-input.csv").path
        try Data(
            ("exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
                + "binance-futures,BTCUSDT,1582329601096000,1582329603502092,0.84,9682,9681.92,0.67\n").utf8
        ).write(to: URL(fileURLWithPath: text))
        let source = try Data(contentsOf: URL(fileURLWithPath: text))
        let overText = try PeregrineCLI.run(["data", "convert", "--data", "tardis-quotes:" + text, "-o", text])
        #expect(overText.status == 2)
        #expect(
            overText.error.contains("--output \(text) is one of the input files: write it elsewhere"),
            "\(overText.error)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: text)) == source)
        let dash = try PeregrineCLI.run(["data", "convert", "--data", "tardis-quotes:" + text, "-o", "-"])
        #expect(dash.status == 2)
        #expect(dash.error.contains("--output -: a converted file is binary and is not written to standard output"))
        for last in [["--json"], []] {
            for (arguments, path, before) in [
                (["data", "convert"] + Self.data + ["-o", generated], generated, earlier),
                (["data", "convert", "--data", "events:" + generated, "-o", generated], generated, earlier),
                (["data", "generate", "--events", "100", "-o", generated], generated, earlier),
            ] {
                let lostSummary = try Self.run(arguments + last, standardOutput: "/dev/full")
                #expect(lostSummary.status == 1, "\(arguments + last)")
                #expect(
                    lostSummary.error.contains(
                        "error: standard output could not be written: No space left on device; \(path) was left as it "
                            + "was"), "\(lostSummary.error)")
                #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "\(arguments + last)")
                let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                #expect(!names.contains { $0.contains(".partial-") }, "\(names)")
            }
        }
    }

    @Test func aDamagedConvertedFileIsBadData() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pristine = directory.appendingPathComponent("pristine.pgev").path
        #expect(try PeregrineCLI.run(["data", "convert"] + Self.data + ["-o", pristine]).status == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: pristine))
        let file = directory.appendingPathComponent("q.pgev").path
        // The metadata (an instrument's reference data: its grid, its symbol) is checksummed;
        // bytes after the last record, or a record missing, are damage too. Each is exit 1.
        var metadata = bytes
        metadata[64 + 11] ^= 0x01
        var extra = bytes
        extra.append(Data(repeating: 0, count: 80))
        // Found while the plan is made, before the run: a report an earlier run left is removed
        // all the same (it would pass for this run's).
        let report = directory.appendingPathComponent("report.json").path
        for (damaged, message) in [
            (metadata, "its metadata fails its checksum"), (extra, "80 bytes after its last record"),
            (bytes.prefix(bytes.count - 80), "truncated: its header promises 9999 records"),
            (bytes.prefix(100), "truncated: its header promises 9999 records"),
        ] {
            try damaged.write(to: URL(fileURLWithPath: file))
            try #"{"trades": 7}"#.write(toFile: report, atomically: true, encoding: .utf8)
            let run = try PeregrineCLI.run(
                ["backtest", "--data", "events:" + file, "--report-json", report] + Self.golden)
            #expect(run.status == 1, "\(message): \(run.error)")
            #expect(run.error.contains(message), "\(run.error)")
            #expect(!FileManager.default.fileExists(atPath: report), "\(message)")
        }
        // An output that is one of the inputs is refused (exit 2: the outputs are checked before
        // the plan reads the data) and left as it was.
        try bytes.prefix(100).write(to: URL(fileURLWithPath: file))
        let clash = try PeregrineCLI.run(["backtest", "--data", "events:" + file, "--report-json", file] + Self.golden)
        #expect(clash.status == 2, "\(clash.error)")
        #expect(clash.error.contains("--report-json \(file) is one of the input files"), "\(clash.error)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == bytes.prefix(100))
        // The message survives standard error redirected to an output: that file is not removed.
        let logged = directory.appendingPathComponent("run.log").path
        _ = FileManager.default.createFile(atPath: logged, contents: nil)
        let process = Process()
        process.executableURL = PeregrineCLI.binary
        process.arguments = ["backtest", "--data", "events:" + file, "--report-json", "/dev/stderr"] + Self.golden
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logged))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
        #expect(try String(contentsOfFile: logged, encoding: .utf8).contains("truncated: its header promises"))
    }

    /// A run that fails part-way (bad data mid-file) removes the CSVs it began, but not the
    /// file standard output and standard error are redirected to when a CSV names it too: the
    /// error message goes there (the run had removed it, message and all).
    /// An output the process may not write (a file without write permission, or a new one in
    /// such a directory) is refused before anything runs (exit 2), in a backtest and a sweep
    /// alike: a sweep had run every job before finding its HTML report could not be written.
    /// (Run as `nobody` when the tests run as root, for whom permissions do not hold.)
    @Test func anOutputThatCannotBeWrittenIsRefusedBeforeTheRun() throws {
        let directory = try Self.temporaryDirectory()
        let locked = directory.appendingPathComponent("locked")
        try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: false)
        let readOnly = locked.appendingPathComponent("report.json").path
        try "{}".write(toFile: readOnly, atomically: false, encoding: .utf8)
        #expect(chmod(readOnly, 0o444) == 0 && chmod(locked.path, 0o555) == 0)
        defer {
            chmod(locked.path, 0o755)
            try? FileManager.default.removeItem(at: directory)
        }
        let unprivileged = PeregrineCLI.Constraints(unprivileged: true)
        let newFile = locked.appendingPathComponent("x.html").path
        let results = directory.appendingPathComponent("results.jsonl").path
        #expect(chmod(directory.path, 0o777) == 0)
        for (arguments, says) in [
            (
                ["backtest"] + Self.data + Self.golden + ["--report-html", newFile],
                "--report-html \(newFile) cannot be written: its directory \(locked.path): Permission denied"
            ),
            (
                ["backtest"] + Self.data + Self.golden + ["--report-json", readOnly],
                "--report-json \(readOnly) cannot be written: Permission denied"
            ),
            (
                ["sweep"] + Self.data
                    + [
                        "--strategy", "golden-cross", "--param", "fast=2,5", "--param", "slow=20", "--param",
                        "quantity=0.001", "--out", results, "--report-html", newFile,
                    ],
                "--report-html \(newFile) cannot be written: its directory \(locked.path): Permission denied"
            ),
        ] {
            let run = try PeregrineCLI.run(arguments, constraints: unprivileged)
            #expect(run.status == 2, "\(arguments): \(run.error)")
            #expect(run.error.contains(says), "\(run.error)")
            #expect(
                !FileManager.default.fileExists(atPath: newFile) && !FileManager.default.fileExists(atPath: results))
        }
        #expect(try String(contentsOfFile: readOnly, encoding: .utf8) == "{}")
    }

    @Test func aFailedRunKeepsTheFileItsMessagesGoTo() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var rows = try String(contentsOfFile: Fixtures.path(Self.quotes), encoding: .utf8).split(separator: "\n")
            .prefix(101).map(String.init)
        var fields = try #require(rows.last).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[5] = "9682.O1"
        rows.append(fields.joined(separator: ","))
        let quotes = directory.appendingPathComponent("quotes.csv").path
        try (rows.joined(separator: "\n") + "\n").write(toFile: quotes, atomically: true, encoding: .utf8)
        let logged = directory.appendingPathComponent("run.log").path
        let other = directory.appendingPathComponent("other.csv").path
        for (flag, otherFlag) in [("--fills-csv", "--equity-csv"), ("--equity-csv", "--fills-csv")] {
            _ = FileManager.default.createFile(atPath: logged, contents: nil)
            let process = Process()
            process.executableURL = PeregrineCLI.binary
            process.arguments =
                ["backtest", "--data", "tardis-quotes:" + quotes, flag, logged, otherFlag, other] + Self.golden
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logged))
            process.standardOutput = log
            process.standardError = log
            try process.run()
            process.waitUntilExit()
            try log.close()
            #expect(process.terminationStatus == 1, "\(flag)")
            let text = try String(contentsOfFile: logged, encoding: .utf8)
            #expect(text.contains("quotes.csv:102"), "\(flag): \(text)")
            #expect(text.contains("9682.O1"), "\(flag): \(text)")
            // The other CSV, a file of its own, is removed.
            #expect(!FileManager.default.fileExists(atPath: other), "\(flag)")
        }
    }

    @Test func outputsReplacedByARenameFollowLinksAndRefuseDevices() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fifo = directory.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        for arguments in [
            ["data", "convert"] + Self.data + ["-o", fifo],
            ["sweep"] + Self.data + Self.golden.dropLast(4) + ["--param", "slow=20,30", "--out", fifo],
        ] {
            let run = try PeregrineCLI.run(arguments)
            #expect(run.status == 2, "\(run.error)")
            #expect(run.error.contains("\(fifo) is not a regular file"), "\(run.error)")
            var status = stat()
            #expect(lstat(fifo, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO)
        }
        // Through a link, the file it leads to is replaced; the link stays.
        let target = directory.appendingPathComponent("target.pgev").path
        let link = directory.appendingPathComponent("link.pgev").path
        #expect(FileManager.default.createFile(atPath: target, contents: Data()))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        #expect(try PeregrineCLI.run(["data", "convert"] + Self.data + ["-o", link]).status == 0)
        #expect(try EventFile(path: target).count == 9_999)
        let results = directory.appendingPathComponent("results.jsonl").path
        let resultsLink = directory.appendingPathComponent("results-link.jsonl").path
        #expect(FileManager.default.createFile(atPath: results, contents: Data()))
        try FileManager.default.createSymbolicLink(atPath: resultsLink, withDestinationPath: results)
        let sweep = try PeregrineCLI.run(
            ["sweep"] + Self.data + [
                "--strategy", "golden-cross", "--param", "fast=5", "--param", "slow=20,30",
                "--param", "quantity=0.001", "--out", resultsLink,
            ])
        #expect(sweep.status == 0, "\(sweep.error)")
        for path in [link, resultsLink] {
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: path).isEmpty == false)
        }
        #expect(try String(contentsOfFile: results, encoding: .utf8).split(separator: "\n").count == 2)
        // A path that does not exist yet is written as it is, and so is the file a link to a
        // file not there yet names; a link into a missing directory, or a loop, is refused.
        let absent = directory.appendingPathComponent("absent.pgev").path
        #expect(try OutputFile.renameTarget(absent, flag: "--out") == absent)
        let ahead = directory.appendingPathComponent("ahead").path
        try FileManager.default.createSymbolicLink(atPath: ahead, withDestinationPath: "later.pgev")
        #expect(try OutputFile.renameTarget(ahead, flag: "--out") == directory.path + "/later.pgev")
        let converted = try PeregrineCLI.run(["data", "convert"] + Self.data + ["-o", ahead])
        #expect(converted.status == 0, "\(converted.error)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: ahead) == "later.pgev")
        #expect(FileManager.default.fileExists(atPath: directory.path + "/later.pgev"))
        let dangling = directory.appendingPathComponent("dangling").path
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: "/nonexistent/x")
        let loop = directory.appendingPathComponent("loop").path
        try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: "loop")
        for link in [dangling, loop] {
            #expect(throws: BacktestError.usage("--out \(link) is a link to nothing: name a file")) {
                _ = try OutputFile.renameTarget(link, flag: "--out")
            }
        }
    }

    /// A conversion and a sweep's ranked rewrite write under a new name of their own beside
    /// the output, then rename it: an input named as a fixed temporary name had been, a user's
    /// file and a link there are never written, and a failure leaves nothing behind.
    @Test func outputsAreWrittenThroughAFileOfTheirOwn() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        let fixture = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(Self.quotes)))
        try fixture.write(to: URL(fileURLWithPath: path("o.pgev.partial")))
        let converted = try PeregrineCLI.run([
            "data", "convert", "--data", "tardis-quotes:" + path("o.pgev.partial"), "-o", path("o.pgev"),
        ])
        #expect(converted.status == 0, "\(converted.error)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path("o.pgev.partial"))) == fixture)
        #expect(try EventFile(path: path("o.pgev")).count == 9_999)
        try Data("mine\n".utf8).write(to: URL(fileURLWithPath: path("p.pgev.partial")))
        try Data("kept\n".utf8).write(to: URL(fileURLWithPath: path("kept.txt")))
        try FileManager.default.createSymbolicLink(
            atPath: path("q.pgev.partial"), withDestinationPath: path("kept.txt"))
        try Data("mine\n".utf8).write(to: URL(fileURLWithPath: path("r.csv.partial")))
        for name in ["p.pgev", "q.pgev"] {
            let run = try PeregrineCLI.run(["data", "convert"] + Self.data + ["-o", path(name)])
            #expect(run.status == 0, "\(run.error)")
            var status = stat()
            #expect(lstat(path(name), &status) == 0 && status.st_mode & S_IFMT == S_IFREG)
            #expect(status.st_mode & 0o777 == 0o644)
            #expect(try EventFile(path: path(name)).count == 9_999)
        }
        let sweep = try PeregrineCLI.run(
            ["sweep"] + Self.data + Self.golden.dropLast(4) + [
                "--param", "slow=20,30", "--param", "quantity=0.001", "--out", path("r.csv"),
            ])
        #expect(sweep.status == 0, "\(sweep.error)")
        #expect(try String(contentsOfFile: path("r.csv"), encoding: .utf8).split(separator: "\n").count == 3)
        for name in ["p.pgev.partial", "r.csv.partial", "kept.txt"] {
            #expect(
                try String(contentsOfFile: path(name), encoding: .utf8) == (name == "kept.txt" ? "kept\n" : "mine\n"))
        }
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: path("q.pgev.partial")) == path("kept.txt"))
        // Bad data in the middle: exit 1, and neither the output nor a file of its own is left.
        var lines = String(decoding: fixture, as: UTF8.self).split(separator: "\n").map(String.init)
        var fields = lines[5000].split(separator: ",").map(String.init)
        fields[5] = "x" + fields[5]
        lines[5000] = fields.joined(separator: ",")
        try (lines.joined(separator: "\n") + "\n").write(toFile: path("bad.csv"), atomically: true, encoding: .utf8)
        let failed = try PeregrineCLI.run([
            "data", "convert", "--data", "tardis-quotes:" + path("bad.csv"), "-o", path("s.pgev"),
        ])
        #expect(failed.status == 1)
        #expect(failed.error.contains("\(path("bad.csv")):5001"), "\(failed.error)")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == [
                "bad.csv", "kept.txt", "o.pgev", "o.pgev.partial", "p.pgev", "p.pgev.partial", "q.pgev",
                "q.pgev.partial", "r.csv", "r.csv.partial",
            ])
    }

    /// A partial file that a run killed part-way left (SIGKILL: nothing of that run could remove
    /// it) is removed by the next run writing the same name, once no process has the id in its
    /// name or a lock on it and it was last written a minute or more ago; a live process's, a
    /// locked one, a fresh one, one named without an id and another name's stay.
    @Test func aKilledRunsPartialFileIsRemovedByTheNextRun() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        // The id of a process that has ended and been waited for.
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        let dead = ended.processIdentifier
        let stale = "f.csv.partial-\(dead)-1a2b"
        let kept = [
            "f.csv.partial-\(dead)-3c4d",  // written 10 s ago
            "f.csv.partial-\(getppid())-5e6f",  // its process lives
            "f.csv.partial-7g8h",  // no id
            "g.csv.partial-\(dead)-1a2b",  // another name's
            "f.csv.partial-\(dead)-9i0j",  // locked: a writer in another PID namespace
        ]
        for name in [stale] + kept {
            try "1,cut\n".write(toFile: path(name), atomically: true, encoding: .utf8)
            let age: TimeInterval = name == kept[0] ? 10 : 120
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSinceNow: -age)], ofItemAtPath: path(name))
        }
        let writer = open(path(kept[4]), O_RDONLY)
        #expect(writer >= 0 && flock(writer, LOCK_EX | LOCK_NB) == 0)
        defer { close(writer) }
        let output = try StagedOutput(path("f.csv"), flag: "--fills-csv")
        #expect(output.isStaged)
        try output.commit()
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == (kept + ["f.csv"]).sorted())
        // This run's own partial file is named with its id, and locked until it is renamed.
        let next = try StagedOutput(path("f.csv"), flag: "--fills-csv")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        let own = names.filter { $0.hasPrefix("f.csv.partial-\(getpid())-") }
        #expect(own.count == 1, "\(names)")
        let probe = open(path(own.first ?? ""), O_RDONLY)
        #expect(probe >= 0 && flock(probe, LOCK_EX | LOCK_NB) != 0)
        try next.finish()
        #expect(flock(probe, LOCK_EX | LOCK_NB) != 0)
        try next.publish()
        #expect(flock(probe, LOCK_EX | LOCK_NB) == 0)
        close(probe)
    }

    /// A backtest's outputs are written under names of their own beside them and renamed into
    /// place once complete: until then the file at the name is as it was (a run killed part-way
    /// had left a fills CSV cut at a line end, reading whole), a file's mode and a link are kept,
    /// and a run that fails leaves no partial file.
    @Test func aBacktestsOutputsAppearWholeOrNotAtAll() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        // The staging itself: nothing at the name until the commit; an abandoned one leaves nothing.
        try "old\n".write(toFile: path("f.csv"), atomically: true, encoding: .utf8)
        chmod(path("f.csv"), 0o640)
        let output = try StagedOutput(path("f.csv"), flag: "--fills-csv")
        #expect(output.isStaged)
        fputs("new\n", output.file)
        fflush(output.file)
        #expect(try String(contentsOfFile: path("f.csv"), encoding: .utf8) == "old\n")
        let partial = try #require(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).first { $0.hasPrefix("f.csv.partial-") }
        )
        #expect(try String(contentsOfFile: path(partial), encoding: .utf8) == "new\n")
        try output.commit()
        #expect(try String(contentsOfFile: path("f.csv"), encoding: .utf8) == "new\n")
        var status = stat()
        #expect(stat(path("f.csv"), &status) == 0 && status.st_mode & 0o777 == 0o640)
        let abandoned = try StagedOutput(path("f.csv"), flag: "--fills-csv")
        fputs("lost\n", abandoned.file)
        abandoned.abandon()
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["f.csv"])
        #expect(try String(contentsOfFile: path("f.csv"), encoding: .utf8) == "new\n")
        // Devices are written in place; so is a file a rename would change more than the
        // contents of: one with another hard link (both names see the new contents), one owned
        // by another user (it keeps its owner).
        #expect(try !StagedOutput("/dev/null", flag: "--equity-csv").isStaged)
        try "linked\n".write(toFile: path("h.csv"), atomically: true, encoding: .utf8)
        #expect(link(path("h.csv"), path("h2.csv")) == 0)
        let linked = try StagedOutput(path("h.csv"), flag: "--fills-csv")
        #expect(!linked.isStaged)
        fputs("both\n", linked.file)
        try linked.commit()
        #expect(try String(contentsOfFile: path("h2.csv"), encoding: .utf8) == "both\n")
        try "theirs\n".write(toFile: path("o.csv"), atomically: true, encoding: .utf8)
        if geteuid() == 0, chown(path("o.csv"), 65_534, 65_534) == 0 {
            let owned = try StagedOutput(path("o.csv"), flag: "--fills-csv")
            #expect(!owned.isStaged)
            owned.abandon()
            var owner = stat()
            #expect(stat(path("o.csv"), &owner) == 0 && owner.st_uid == 65_534)
        }
        for name in ["h.csv", "h2.csv", "o.csv"] { try FileManager.default.removeItem(atPath: path(name)) }
        // A run: its CSVs and reports complete, through a link to the file.
        try FileManager.default.createSymbolicLink(atPath: path("link.csv"), withDestinationPath: path("f.csv"))
        let run = try PeregrineCLI.run(
            ["backtest"] + Self.data + Self.golden + [
                "--fills-csv", path("link.csv"), "--equity-csv", path("e.csv"), "--report-json", path("r.json"),
            ])
        #expect(run.status == 0, "\(run.error)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: path("link.csv")) == path("f.csv"))
        let fills = try String(contentsOfFile: path("f.csv"), encoding: .utf8).split(separator: "\n")
        let report = try String(contentsOfFile: path("r.json"), encoding: .utf8)
        #expect(
            fills.first == "time,instrument,side,price,quantity,liquidity,fee,position,order_id,strategy,venue_time")
        #expect(report.contains("\"trades\": \(fills.count - 1),"), "\(report.prefix(300))")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == [
                "e.csv", "f.csv", "link.csv", "r.json",
            ])
        // Bad data mid-file: exit 1, the outputs removed (as before) and no partial file left.
        var lines = try String(contentsOfFile: Fixtures.path(Self.quotes), encoding: .utf8).split(separator: "\n")
        lines[5000] = "x" + lines[5000]
        try (lines.joined(separator: "\n") + "\n").write(toFile: path("bad.csv"), atomically: true, encoding: .utf8)
        let failed = try PeregrineCLI.run(
            ["backtest", "--data", "tardis-quotes:" + path("bad.csv")] + Self.golden + [
                "--fills-csv", path("f.csv"), "--equity-csv", path("e.csv"), "--report-json", path("r.json"),
            ])
        #expect(failed.status == 1)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["bad.csv", "link.csv"])
        // Held for the reports (as the command holds them): a run's CSVs are written whole but
        // left under their partial names, the earlier files at their names, until published with
        // the reports; dropped unpublished (the command failed making its reports), they go and
        // the earlier files stay.
        try FileManager.default.removeItem(atPath: path("bad.csv"))
        try FileManager.default.removeItem(atPath: path("link.csv"))
        try "earlier fills\n".write(toFile: path("f.csv"), atomically: true, encoding: .utf8)
        try "earlier report\n".write(toFile: path("r.json"), atomically: true, encoding: .utf8)
        var settings = BacktestSettings()
        settings.data = [try DataSpec("tardis-quotes:" + Fixtures.path(Self.quotes))]
        settings.strategies = [
            StrategySpec(name: "golden-cross", parameters: [("fast", "5"), ("slow", "20"), ("quantity", "0.001")])
        ]
        func heldRun(publishing: Bool) throws -> [String] {
            let staging = StagedOutputs()
            let result = try Backtest.run(
                try BacktestPlan(settings), outputs: BacktestOutputFiles(fillsCSV: path("f.csv"), staging: staging))
            try OutputFile.write(result.json, to: path("r.json"), flag: "--report-json", staging: staging)
            let held = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            #expect(try String(contentsOfFile: path("f.csv"), encoding: .utf8) == "earlier fills\n")
            #expect(try String(contentsOfFile: path("r.json"), encoding: .utf8) == "earlier report\n")
            if publishing { try staging.publish() }
            return held
        }
        let held = try heldRun(publishing: false)
        #expect(held.count == 4 && held.filter { $0.contains(".partial-") }.count == 2, "\(held)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["f.csv", "r.json"])
        #expect(try String(contentsOfFile: path("f.csv"), encoding: .utf8) == "earlier fills\n")
        _ = try heldRun(publishing: true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["f.csv", "r.json"])
        #expect(try String(contentsOfFile: path("f.csv"), encoding: .utf8) == fills.joined(separator: "\n") + "\n")
        #expect(try String(contentsOfFile: path("r.json"), encoding: .utf8).contains("\"trades\": \(fills.count - 1),"))
    }

    /// A converted file cut short while a backtest reads it through its memory map (SIGBUS on
    /// the next page past its new end) fails the run, exit 1 with a message, and removes its
    /// partial outputs: not a crash (status 135) leaving `NAME.partial-…` behind. The run is
    /// stopped (SIGSTOP) once the file is mapped, the file cut, and the run resumed: the reading
    /// then meets the cut whatever the machine's speed.
    @Test func aFileCutShortWhileItIsReadFailsTheRunWithoutACrash() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("syn.pgev").path
        let generated = try PeregrineCLI.run(["data", "generate", "--events", "300000", "-o", path])
        #expect(generated.status == 0, "\(generated.error)")
        let fills = directory.appendingPathComponent("fills.csv").path
        let process = Process()
        process.executableURL = PeregrineCLI.binary
        process.arguments = [
            "backtest", "--data", "events:" + path, "--strategy", "market-maker", "--fills-csv", fills,
            "--no-digest-cache",
        ]
        let error = Pipe()
        process.standardError = error
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        // Polled until the file is mapped (at most a minute: a test that fails rather than hangs).
        var mapped = false
        for _ in 0..<60_000 where !mapped {
            let maps = (try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)) ?? ""
            if maps.contains(path) { mapped = true } else { usleep(1_000) }
        }
        #expect(mapped)
        kill(pid, SIGSTOP)
        #expect(truncate(path, 0) == 0)
        kill(pid, SIGCONT)
        let text = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 1, "\(text)")
        #expect(
            text.contains(
                "error: a file this command was reading through a memory map (an input, a converted file or a journal) "
                    + "was cut short while it read it (SIGBUS): nothing it was writing is kept"), "\(text)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["syn.pgev"])
    }

    /// Names a converted file's metadata cannot hold as they are (it splits its lines at spaces)
    /// are refused before anything is written (exit 2), never misread later: an instrument
    /// named with a space (as `FORMAT@NAME` or a file's name may give it) and an input path
    /// with a line break.
    @Test func namesAConvertedFileCannotKeepAreRefused() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("out.pgev").path
        for name in ["BTC USDT", "BTCUSDT quote=EUR"] {
            let run = try PeregrineCLI.run([
                "data", "convert", "--data", "tardis-quotes@\(name):" + Fixtures.path(Self.quotes), "-o", output,
            ])
            #expect(run.status == 2)
            #expect(
                run.error.contains(
                    "--output \(output): the instrument named '\(name)' cannot be kept in a converted file, which names "
                        + "an instrument by one word: name it without spaces with --data FORMAT@NAME:FILE"),
                "\(run.error)")
        }
        let broken = directory.appendingPathComponent("two\nlines.csv").path
        try FileManager.default.copyItem(atPath: Fixtures.path(Self.quotes), toPath: broken)
        let run = try PeregrineCLI.run(["data", "convert", "--data", "tardis-quotes:" + broken, "-o", output])
        #expect(run.status == 2)
        #expect(
            run.error.contains("has a line break, which a converted file cannot keep: rename the file"), "\(run.error)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["two\nlines.csv"])
        // What can be kept reads back as written.
        let kept = try PeregrineCLI.run([
            "data", "convert", "--data", "tardis-quotes@BTC-USDT.perp:" + Fixtures.path(Self.quotes), "-o", output,
        ])
        #expect(kept.status == 0, "\(kept.error)")
        #expect(try EventFile(path: output).metadata.instruments.map(\.symbol) == ["BTC-USDT.perp"])
    }

    @Test func standardOutputCarriesOnlyTheReportAndItsFailureIsOne() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out.json").path
        for extra in [
            ["--report-json", "/dev/stdout"], ["--report-json", "/dev/stdout", "--json"], ["--report-json", out],
        ] {
            #expect(FileManager.default.createFile(atPath: out, contents: Data()))
            let run = try Self.run(["backtest"] + Self.data + Self.golden + extra, standardOutput: out)
            #expect(run.status == 0, "\(run.error)")
            let report = try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: out)))
            #expect((report as? [String: Any])?["trades"] as? Int == 409, "\(extra)")
            // The summary went to standard error instead.
            #expect(run.error.contains("=== peregrine backtest ===") == !extra.contains("--json"), "\(extra)")
        }
        // Standard output appended to (`>>`) keeps what was there: an output written there goes
        // through standard output's own open file, not /dev/stdout opened again and emptied.
        for flag in ["--report-json", "--fills-csv"] {
            try "before\n".write(toFile: out, atomically: false, encoding: .utf8)
            let command =
                ([PeregrineCLI.binary.path, "backtest"] + Self.data + Self.golden + [flag, "/dev/stdout"])
                .map { "'\($0)'" }.joined(separator: " ") + " >> '\(out)'"
            let shell = Process()
            shell.executableURL = URL(fileURLWithPath: "/bin/sh")
            shell.arguments = ["-c", command]
            shell.standardError = FileHandle.nullDevice
            try shell.run()
            shell.waitUntilExit()
            #expect(shell.terminationStatus == 0, "\(flag)")
            let text = try String(contentsOfFile: out, encoding: .utf8)
            #expect(text.hasPrefix(flag == "--fills-csv" ? "before\ntime," : "before\n{"), "\(text.prefix(80))")
            if flag == "--report-json" {
                let report = try JSONSerialization.jsonObject(with: Data(text.dropFirst("before\n".count).utf8))
                #expect((report as? [String: Any])?["trades"] as? Int == 409)
            } else {
                #expect(text.split(separator: "\n").count == 1 + 1 + 409, "\(text.prefix(200))")
            }
        }
        // --json with another output on standard output is refused; /dev/null takes several.
        let clash = try Self.run(
            ["backtest"] + Self.data + Self.golden + ["--json", "--fills-csv", "/dev/stdout"], standardOutput: out)
        #expect(clash.status == 2)
        #expect(
            clash.error.contains("--json prints the report on standard output, where --fills-csv"), "\(clash.error)")
        let discarded = try Self.run(
            ["backtest"] + Self.data + Self.golden + [
                "--json", "--fills-csv", "/dev/null", "--equity-csv", "/dev/null",
            ],
            standardOutput: "/dev/null")
        #expect(discarded.status == 0, "\(discarded.error)")
        // A sweep's page on standard output is all that goes there; a file renamed into place
        // cannot be standard output.
        let page = try Self.run(
            ["sweep"] + Self.data + [
                "--strategy", "golden-cross", "--param", "fast=5", "--param", "slow=20,30", "--param", "quantity=0.001",
                "--report-html", "/dev/stdout",
            ], standardOutput: out)
        #expect(page.status == 0, "\(page.error)")
        #expect(try String(contentsOfFile: out, encoding: .utf8).hasPrefix("<!doctype html>"))
        #expect(page.error.contains("=== peregrine sweep ==="))
        let converted = try Self.run(["data", "convert"] + Self.data + ["-o", "/dev/stdout"], standardOutput: out)
        #expect(converted.status == 2)
        #expect(converted.error.contains("--output /dev/stdout is standard output"), "\(converted.error)")
        // The report lost on standard output fails the run: the files written with it are removed.
        let report = directory.appendingPathComponent("full.json").path
        let fills = directory.appendingPathComponent("full-fills.csv").path
        for last in [["--json"], []] {
            let full = try Self.run(
                ["backtest"] + Self.data + Self.golden + ["--report-json", report, "--fills-csv", fills] + last,
                standardOutput: "/dev/full")
            #expect(full.status == 1)
            #expect(
                full.error.contains("error: standard output could not be written: No space left on device"),
                "\(full.error)")
            #expect(full.error.contains("note: removed \(report): the run failed"), "\(full.error)")
            #expect(!FileManager.default.fileExists(atPath: report) && !FileManager.default.fileExists(atPath: fills))
        }
        // A sweep's page goes the same way; its --out is kept (the same command ranks it again).
        let sweepPage = directory.appendingPathComponent("sweep.html").path
        let sweepOut = directory.appendingPathComponent("sweep.jsonl").path
        let sweep = try Self.run(
            ["sweep"] + Self.data + [
                "--strategy", "golden-cross", "--param", "fast=5", "--param", "slow=20,30", "--param", "quantity=0.001",
                "--report-html", sweepPage, "--out", sweepOut,
            ], standardOutput: "/dev/full")
        #expect(sweep.status == 1)
        #expect(sweep.error.contains("error: standard output could not be written"), "\(sweep.error)")
        #expect(!FileManager.default.fileExists(atPath: sweepPage))
        #expect(try String(contentsOfFile: sweepOut, encoding: .utf8).split(separator: "\n").count == 2)
    }

    @Test func outputsAreCheckedBeforeTheRun() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let report = directory.appendingPathComponent("r.json").path
        let same = try PeregrineCLI.run(
            ["backtest"] + Self.data + Self.golden + [
                "--report-json", report, "--fills-csv", directory.path + "/./r.json",
            ])
        #expect(same.status == 2)
        #expect(same.error.contains("is the same file as --report-json \(report)"), "\(same.error)")
        let missing = directory.appendingPathComponent("no/r.html").path
        let run = try PeregrineCLI.run(["backtest"] + Self.data + Self.golden + ["--report-html", missing])
        #expect(run.status == 2)
        #expect(run.error.contains("its directory \(directory.path)/no does not exist"), "\(run.error)")
        #expect(!FileManager.default.fileExists(atPath: report))
        // A file where its directory should be is not "missing".
        let quotesFile = Fixtures.path(Self.quotes)
        let underFile = try PeregrineCLI.run(
            ["backtest"] + Self.data + Self.golden + ["--report-html", quotesFile + "/r.html"])
        #expect(underFile.status == 2)
        #expect(
            underFile.error.contains(
                "--report-html \(quotesFile)/r.html: its directory \(quotesFile) is not a directory"),
            "\(underFile.error)")
        // An empty name, and a link to a file in a missing directory: refused before the run,
        // and a file an earlier run left at another output stays.
        let earlier = directory.appendingPathComponent("kept.csv").path
        try "earlier\n".write(toFile: earlier, atomically: true, encoding: .utf8)
        let empty = try PeregrineCLI.run(
            ["backtest"] + Self.data + Self.golden + ["--report-html", "", "--fills-csv", earlier])
        #expect(empty.status == 2)
        #expect(empty.error.contains("--report-html is given an empty name: name a file"), "\(empty.error)")
        let link = directory.appendingPathComponent("link.json").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "no/r.json")
        let dangling = try PeregrineCLI.run(
            ["backtest"] + Self.data + Self.golden + ["--report-json", link, "--fills-csv", earlier])
        #expect(dangling.status == 2)
        #expect(
            dangling.error.contains(
                "--report-json \(link) is a link to \(directory.path)/no/r.json, whose directory \(directory.path)/no "
                    + "does not exist"), "\(dangling.error)")
        #expect(try String(contentsOfFile: earlier, encoding: .utf8) == "earlier\n")
    }

    /// A configuration file shared with live runs: its other sections are checked (a bad value
    /// is refused, exit 2) and said to be unused (a warning), never silently ignored.
    @Test func sectionsABacktestDoesNotUseAreWarnedAbout() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("shared.toml").path
        try "[trading]\norders = 1\nkeep_orders = true\n[journal]\nsegment_mb = 8\n".write(
            toFile: config, atomically: true, encoding: .utf8)
        let run = try PeregrineCLI.run(
            ["backtest", "--config", config, "--to", "2020-02-22T00:00:10Z"] + Self.data + Self.golden)
        #expect(run.status == 0, "\(run.error)")
        #expect(
            run.error.contains(
                "warning: \(config): [journal], [trading] are checked but not used by a backtest (it reads [backtest], "
                    + "[[strategy]], [[instrument]] and [[risk]]; limit orders with [[risk]] max_open_orders)"),
            "\(run.error)")
        try "[trading]\norders = -1\n".write(toFile: config, atomically: true, encoding: .utf8)
        let bad = try PeregrineCLI.run(["backtest", "--config", config] + Self.data + Self.golden)
        #expect(bad.status == 2, "\(bad.error)")
    }

    @Test func timesAndFilesAreReadStrictly() throws {
        for time in ["2020-02-30T00:00:00Z", "2020-02-22T00:01:60Z", "2020-02-22T00:01:00ZZ", "2020-02-22T24:00:00Z"] {
            #expect(UTCTime.parse(time) == nil, "\(time)")
        }
        // The reason: a field's value, an integer too small to be ns, or (no reason) no time's shape.
        for time in [
            "2020-02-30", "2020-02-22T00:01:60Z", "2020-02-22T24:00", "2020-13-01", "1960-01-01", "2300-01-01",
        ] {
            #expect(UTCTime.reading(time) == .noSuchTime, "\(time)")
        }
        #expect(UTCTime.reading("1582329660") == .smallInteger)
        for time in ["yesterday", "2020-02-22T00:01:00ZZ", "2020-02-22T00:00:00.1234567890", "2020/02/22"] {
            #expect(UTCTime.reading(time) == .unreadable && UTCTime.problemPrefix(time).isEmpty, "\(time)")
        }
        let dayAfter = try PeregrineCLI.run(["backtest"] + Self.data + Self.golden + ["--from", "2020-02-30"])
        #expect(dayAfter.status == 2)
        #expect(
            dayAfter.error.contains(
                "error: --from 2020-02-30: no such date or time in ns since 1970 (a month past 12, a day past its "
                    + "month's end, hour 24, minute or second 60, a year before 1970 or past 2262): write a UTC time "
                    + "such as 2020-02-22T00:10:00Z"), "\(dayAfter.error)")
        #expect(UTCTime.parse("2020-02-22T00:01:00.5Z") == 1_582_329_660_500_000_000)
        // Seconds (or ms, µs) written as an integer are not taken for ns in 1970.
        #expect(UTCTime.parse("1582329660") == nil)
        #expect(UTCTime.parse("1582329660000000") == nil)
        #expect(UTCTime.parse("1582329660000000000") == 1_582_329_660_000_000_000)
        // ns as far as a date goes (2262-04-11T23:47:16.854775807Z), not past it.
        #expect(UTCTime.parse("9223372036854775807") == 9_223_372_036_854_775_807)
        #expect(UTCTime.parse("2262-04-11T23:47:16.854775807Z") == 9_223_372_036_854_775_807)
        for past in ["9223372036854775808", "18446744073709551615", "2262-04-11T23:47:16.854775808Z"] {
            #expect(UTCTime.parse(past) == nil && UTCTime.reading(past) == .noSuchTime, "\(past)")
        }
        #expect(UTCTime.parse("2020-02-22") == 1_582_329_600_000_000_000)
        #expect(UTCTime.parse("2020-02-22 00:01:00.5") == 1_582_329_660_500_000_000)
        #expect(UTCTime.parse("2020-02-29T23:59:59Z") == 1_583_020_799_000_000_000)
        let backwards = try PeregrineCLI.run(
            ["backtest"] + Self.data + Self.golden + ["--from", "2020-02-22T00:05:00Z", "--to", "2020-02-22T00:01:00Z"])
        #expect(backwards.status == 2)
        #expect(
            backwards.error.contains(
                "the start 2020-02-22T00:05:00.000000000Z is not before the end 2020-02-22T00:01:00.000000000Z (--from "
                    + "and --to, or [backtest] from and to): nothing would run"), "\(backwards.error)")
        // A window past the data simulates nothing: the run fails and writes no report.
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let report = directory.appendingPathComponent("r.json").path
        let past = try PeregrineCLI.run(
            ["backtest"] + Self.data + Self.golden + ["--from", "2021-01-01", "--report-json", report])
        #expect(past.status == 1, "\(past.error)")
        #expect(
            past.error.contains(
                "error: no event at or after --from: nothing was simulated (9999 events before --from built the "
                    + "books): check --from and --to against the data's times"), "\(past.error)")
        #expect(!past.error.contains("warning: no event"), "\(past.error)")
        #expect(!FileManager.default.fileExists(atPath: report))
        let twice = try PeregrineCLI.run(["backtest"] + Self.data + Self.data + Self.golden)
        #expect(twice.status == 2)
        #expect(twice.error.contains("is given twice (it would be read twice)"), "\(twice.error)")
        // A one-value option given twice: which was meant is unknown (the last had won silently).
        for repeated in [
            ["--taker-fee-bps", "2", "--taker-fee-bps", "3"], ["--capital=5", "--capital", "6"],
            ["--report-json", "/dev/null", "--report-json", "/dev/null"],
        ] {
            let again = try PeregrineCLI.run(["backtest"] + Self.data + Self.golden + repeated)
            #expect(again.status == 2)
            #expect(
                again.error.contains("\(repeated[0].split(separator: "=")[0]) is given more than once: give it once"),
                "\(again.error)")
        }
        // So in `data convert` and `data generate` (the first output had gone unwritten), its
        // short name counted with its long one; nothing is written.
        let firstOutput = NSTemporaryDirectory() + "peregrine-repeated-\(getpid()).pgev"
        for arguments in [
            ["data", "convert"] + Self.data + ["-o", firstOutput, "--output=/dev/null"],
            ["data", "convert"] + Self.data + ["--tick-size", "0.01", "--tick-size", "0.001", "-o", firstOutput],
            ["data", "generate", "--events", "10", "-o", firstOutput, "-o", "/dev/null"],
            ["data", "generate", "--seed", "1", "--seed", "2", "-o", firstOutput],
        ] {
            let again = try PeregrineCLI.run(arguments)
            #expect(again.status == 2, "\(arguments)")
            let flag =
                arguments.contains("--tick-size") ? "--tick-size" : arguments.contains("--seed") ? "--seed" : "--output"
            #expect(again.error.contains("\(flag) is given more than once: give it once"), "\(again.error)")
            #expect(!FileManager.default.fileExists(atPath: firstOutput))
        }
        // A negative value is named as given (it had been taken for a missing value), and a fee
        // refused names its option.
        for (flag, value, says) in [
            ("--capital", "-5", "use a positive decimal amount of the quote currency"),
            ("--tick-size", "-0.01", "use a positive decimal such as 0.01"),
            ("--equity-interval-ms", "-1", "use 1 to 86400000 ms"),
            ("--order-latency", "-1", "use a whole number of µs from 0 to 3600000000"),
            ("--feed-latency", "-3", "use local (each row's receive time) or a whole number of µs"),
            ("--taker-fee-bps", "1.23456", "use a decimal number of basis points with at most 4 decimals"),
        ] {
            let run = try PeregrineCLI.run(["backtest"] + Self.data + Self.golden + [flag, value])
            #expect(run.status == 2)
            #expect(run.error.contains("error: \(flag) \(value): \(says)"), "\(run.error)")
        }
        // Data that is not a regular file (a directory, a device: it cannot be mapped) is a usage
        // error before anything runs, as for `feed replay` (it was bad data, exit 1).
        for path in [NSTemporaryDirectory(), "/dev/zero"] {
            for (command, rest) in [(["backtest"], Self.golden), (["data", "convert"], ["-o", "never.pgev"])] {
                let run = try PeregrineCLI.run(command + ["--data", "tardis-quotes:" + path] + rest)
                #expect(run.status == 2, "\(command) \(path): \(run.error)")
                #expect(run.error.contains("\(path) is not a regular file (a pipe, a device or a directory)"))
            }
        }
    }

    /// A latency that is a number but not whole µs up to an hour is refused as such (it was
    /// opened as a file), and so is a latency file's hexadecimal value (`0x10` was 16 µs); a
    /// converted file takes no @SYMBOL (it was ignored). All before the run: exit 2.
    @Test func latenciesAndSymbolsAreReadStrictly() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // A value that is neither a latency nor a file says what a latency is; a named pipe is
        // refused, not waited on for a writer (it hung in open).
        let unit = try PeregrineCLI.run(["backtest"] + Self.data + Self.golden + ["--order-latency", "100us"])
        #expect(unit.status == 2)
        #expect(
            unit.error.contains(
                "--order-latency 100us: use a whole number of µs from 0 to 3600000000, or a latency CSV file (no such file)"
            ), "\(unit.error)")
        let pipe = directory.appendingPathComponent("latency.fifo").path
        #expect(mkfifo(pipe, 0o600) == 0)
        for arguments in [["--order-latency", pipe], ["--data", "tardis-trades:" + pipe]] {
            let run = try PeregrineCLI.run(
                ["backtest"] + Self.data + Self.golden + arguments, constraints: .init(timeoutSeconds: 60))
            #expect(run.status == 2, "\(arguments): \(run.error)")
            #expect(run.error.contains("\(pipe)") && run.error.contains("not a regular file"), "\(run.error)")
        }
        for (flag, value) in [
            ("--order-latency", "1.5"), ("--order-latency", "3600000001"), ("--response-latency", "0.5"),
            ("--feed-latency", "2.5"),
        ] {
            let run = try PeregrineCLI.run(["backtest"] + Self.data + Self.golden + [flag, value])
            #expect(run.status == 2, "\(flag) \(value)")
            #expect(run.error.contains("\(flag) \(value): "), "\(run.error)")
            #expect(run.error.contains("a whole number of µs from 0 to 3600000000"), "\(run.error)")
        }
        let latency = directory.appendingPathComponent("latency.csv").path
        for (value, accepted) in [("0x10", false), ("nan", false), ("1e-05", true), ("12.5", true)] {
            try "timestamp,entry_us,response_us\n1582329600000000,\(value),5\n".write(
                toFile: latency, atomically: true, encoding: .utf8)
            let run = try PeregrineCLI.run(["backtest"] + Self.data + Self.golden + ["--order-latency", latency])
            #expect(run.status == (accepted ? 0 : 2), "\(value): \(run.error)")
            if !accepted { #expect(run.error.contains("\(latency):2: entry_us '\(value)' is not a number")) }
        }
        // The file gives both latencies: not as --response-latency (it had been taken, and an
        // --order-latency beside it dropped), nor beside a response latency.
        let asResponse = try PeregrineCLI.run(
            ["backtest"] + Self.data + Self.golden + ["--order-latency", "10", "--response-latency", latency])
        #expect(asResponse.status == 2)
        #expect(
            asResponse.error.contains(
                "--response-latency \(latency): use a whole number of µs from 0 to 3600000000 (a latency CSV file "
                    + "gives both latencies: name it with --order-latency)"), "\(asResponse.error)")
        let withResponse = try PeregrineCLI.run(
            ["backtest"] + Self.data + Self.golden + ["--order-latency", latency, "--response-latency", "50"])
        #expect(withResponse.status == 2)
        #expect(withResponse.error.contains("a latency file already gives both latencies"), "\(withResponse.error)")
        let config = directory.appendingPathComponent("backtest.toml").path
        try "[backtest]\nresponse_latency = 50\norder_latency = \"\(latency)\"\n".write(
            toFile: config, atomically: true, encoding: .utf8)
        // (Either key may be read first: either way, refused.)
        let inConfig = try PeregrineCLI.run(["backtest"] + Self.data + Self.golden + ["--config", config])
        #expect(inConfig.status == 2)
        #expect(
            inConfig.error.contains(
                "backtest.order_latency \(latency): a latency file gives both latencies, and a response latency was "
                    + "given too")
                || inConfig.error.contains("backtest.response_latency 50: a latency file already gives both latencies"),
            "\(inConfig.error)")
        // A file as a flag replaces the configuration's numbers.
        try "[backtest]\norder_latency = 500\nresponse_latency = 50\n".write(
            toFile: config, atomically: true, encoding: .utf8)
        let replaced = try PeregrineCLI.run(
            ["backtest"] + Self.data + Self.golden + ["--config", config, "--order-latency", latency, "--json"])
        #expect(replaced.status == 0, "\(replaced.error)")
        #expect(replaced.output.contains("\"order_latency\": \"measured (\(latency), 1 row)\""), "\(replaced.output)")
        // Rows whose times the data never reaches (ms for µs): warned about.
        try "timestamp,entry_us,response_us\n1582329600000,100,5\n1582329700000,200,5\n".write(
            toFile: latency, atomically: true, encoding: .utf8)
        let elsewhen = try PeregrineCLI.run(
            ["backtest"] + Self.data + Self.golden + ["--order-latency", latency, "--json"])
        #expect(elsewhen.status == 0, "\(elsewhen.error)")
        #expect(
            elsewhen.output.contains(
                "--order-latency \(latency): its rows cover 1970-01-19 07:32:09.600–1970-01-19 07:32:09.700 UTC and "
                    + "the data 2020-02-22 "), "\(elsewhen.output)")
        #expect(
            elsewhen.output.contains("no time in common: every order took its last row's latencies"),
            "\(elsewhen.output)")
        let converted = directory.appendingPathComponent("q.pgev").path
        let convert = try PeregrineCLI.run(["data", "convert"] + Self.data + ["-o", converted])
        #expect(convert.status == 0, "\(convert.error)")
        let named = try PeregrineCLI.run(["backtest", "--data", "events@OTHER:" + converted] + Self.golden)
        #expect(named.status == 2)
        #expect(named.error.contains("a converted file names its instruments"), "\(named.error)")
        // A converted file named as text: the way to pass it, not its binary header quoted.
        let asText = try PeregrineCLI.run(["backtest", "--data", "tardis-quotes:" + converted] + Self.golden)
        #expect(asText.status == 2)
        #expect(
            asText.error.contains(
                "--data tardis-quotes:\(converted): \(converted) is a converted event file (peregrine data convert): "
                    + "pass it as events:\(converted)"), "\(asText.error)")
        #expect(!asText.error.contains("PGEVENTS"))
        // Text named as a converted file: the way to pass it, as a usage error too (it had been
        // exit 1, as bad data).
        let quotes = Fixtures.path(Self.quotes)
        let asConverted = try PeregrineCLI.run(["backtest", "--data", "events:" + quotes] + Self.golden)
        #expect(asConverted.status == 2)
        #expect(
            asConverted.error.contains(
                "--data events:\(quotes): \(quotes) is not a converted event file (it does not begin with PGEVENTS): "
                    + "give its format, FORMAT:\(quotes), or convert it with peregrine data convert"),
            "\(asConverted.error)")
        // Text of another format (Bybit's messages) named as Tardis quotes: refused at its first
        // line (bad data, exit 1) while the plan scans its grid, before anything read from its
        // lines is used (the lot had been "refined" for a symbol taken from a JSON field).
        let bybit = Fixtures.path("bybit_XRPUSDT_orderbook500_2024-12-01.jsonl")
        let otherFormat = try PeregrineCLI.run(
            [
                "backtest", "--data", "tardis-quotes:" + bybit, "--strategy", "golden-cross", "--param", "fast=10",
                "--param", "slow=30", "--param", "quantity=0.01",
            ])
        #expect(otherFormat.status == 1)
        #expect(
            otherFormat.error.hasPrefix(
                "error: \(bybit):1: not a tardis-quotes file: expected the header "
                    + "'exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount', found "
                    + "'{\"topic\":\"orderbook.500.XRPUSDT\""), "\(otherFormat.error)")
        #expect(!otherFormat.error.contains("note:"), "\(otherFormat.error)")
        let replayed = try PeregrineCLI.run(["feed", "replay", "--format", "tardis-quotes", converted])
        #expect(replayed.status == 2)
        #expect(
            replayed.error.contains(
                "error: \(converted) is a converted event file (peregrine data convert), not tardis-quotes text: "
                    + "backtest it with --data events:\(converted)"), "\(replayed.error)")
        // A negative fee (a maker's rebate) follows its flag as a value.
        let rebate = try PeregrineCLI.run(
            ["backtest"] + Self.data + Self.golden + ["--maker-fee-bps", "-0.5", "--taker-fee-bps", "-1", "--json"])
        #expect(rebate.status == 0, "\(rebate.error)")
        #expect(rebate.output.contains("\"maker_fee\": \"-0.00005\""), "\(rebate.output)")
        #expect(rebate.output.contains("\"taker_fee\": \"-0.0001\""), "\(rebate.output)")
    }

    @Test func aSweepRefusesARepeatedValueAndResultsOfAnotherReport() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("results.jsonl").path
        let arguments =
            ["sweep"] + Self.data + [
                "--strategy", "golden-cross", "--param", "fast=5", "--param", "slow=20,20,30", "--param",
                "quantity=0.001", "--out", out,
            ]
        let repeated = try PeregrineCLI.run(arguments)
        #expect(repeated.status == 2)
        #expect(repeated.error.contains("20 is in the list twice"), "\(repeated.error)")
        #expect(throws: BacktestError.self) { _ = try SweepDimension.values(of: "0.01,0.010", origin: "t") }
        #expect(throws: BacktestError.self) { _ = try SweepDimension.values(of: "20,+20", origin: "t") }
        try
            "{\"job\":\"abc\",\"params\":{\"slow\":\"20\"},\"report\":\"peregrine-backtest\",\"format_version\":1,\"sharpe\":1e9}\n"
            .write(toFile: out, atomically: false, encoding: .utf8)
        let older = try PeregrineCLI.run(arguments.map { $0 == "slow=20,20,30" ? "slow=20,30" : $0 })
        #expect(older.status == 2)
        #expect(older.error.contains(":1: a result of report 'peregrine-backtest' format 1"), "\(older.error)")
        // A NATS URL that is not one is a usage error, before anything runs (it had been exit 1
        // from the connection, an empty --out left behind).
        let fresh = directory.appendingPathComponent("fresh.jsonl").path
        for url in ["not a url", "nats://127.0.0.1:99999", "http://127.0.0.1:4222", "nats://"] {
            let bad = try PeregrineCLI.run(
                arguments.map { $0 == out ? fresh : ($0 == "slow=20,20,30" ? "slow=20,30" : $0) } + ["--nats", url])
            #expect(bad.status == 2, "\(url): \(bad.error)")
            #expect(
                bad.error.contains("--nats \(url): give a server URL such as nats://127.0.0.1:4222"), "\(bad.error)")
            #expect(!FileManager.default.fileExists(atPath: fresh))
        }
        // A negative number of seconds is the option's value, refused as such (not "Missing
        // value"), before anything connects.
        for (command, message) in [
            (
                arguments.map { $0 == out ? fresh : ($0 == "slow=20,20,30" ? "slow=20,30" : $0) }
                    + ["--idle-timeout", "-1"], "--idle-timeout must be 0 or more"
            ),
            (["worker", "--nats", "nats://127.0.0.1:4222", "--idle-exit", "-1"], "--idle-exit must be 0 or more"),
            (
                ["worker", "--nats", "nats://127.0.0.1:4222", "--ack-wait", "-1"],
                "--ack-wait must be from 1 to 86400 s"
            ),
            // The queue's options are checked without --nats too, as the others are.
            (
                arguments.map { $0 == out ? fresh : ($0 == "slow=20,20,30" ? "slow=20,30" : $0) } + [
                    "--ack-wait", "0",
                ],
                "--ack-wait must be from 1 to 86400 s"
            ),
            (
                arguments.map { $0 == out ? fresh : ($0 == "slow=20,20,30" ? "slow=20,30" : $0) }
                    + ["--queue-prefix", "a b"],
                "--queue-prefix a b: use ASCII letters, digits and single _ inside, from a letter"
            ),
        ] {
            let bad = try PeregrineCLI.run(command)
            #expect(bad.status == 2, "\(command): \(bad.error)")
            #expect(bad.error.contains("error: " + message), "\(bad.error)")
            #expect(!FileManager.default.fileExists(atPath: fresh))
        }
        // The same reading for the engine, replay and the publisher: a usage error, exit 2.
        for command in [
            ["run", "--duration", "1", "--metrics-port", "0", "--nats"], ["replay", "--nats"],
            ["nats", "publish", "--nats"],
        ] {
            let bad = try PeregrineCLI.run(command + ["nats://127.0.0.1:notaport"])
            #expect(bad.status == 2, "\(command): \(bad.error)")
            #expect(bad.error.contains("nats://127.0.0.1:notaport"), "\(bad.error)")
        }
    }
}
