import Foundation
import PeregrineBuildInfo
import PeregrineTestSupport
import Testing

/// One exit-status convention for every command (README, "Exit status"): 0 the work was done;
/// 1 it failed or was incomplete; 2 usage or configuration error, nothing started. One row per
/// error class of each command; later commands add rows.
@Suite("Exit statuses")
struct ExitCodeTests {
    struct Row: CustomStringConvertible, Sendable {
        var arguments: [String]
        var status: Int32
        /// A fragment standard error must contain (empty: not checked, for status 0).
        var says: String
        var environment: [String: String] = [:]
        var description: String { arguments.joined(separator: " ") }
    }

    /// Files the rows refer to, made once.
    static let files: [String: String] = {
        let directory = Faults.scratch("exit")
        func write(_ name: String, _ text: String) -> String {
            let path = directory + "/" + name
            try? text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        try? FileManager.default.createDirectory(atPath: directory + "/empty", withIntermediateDirectories: true)
        return [
            "dir": directory + "/empty",
            "missing": directory + "/missing",
            "emptyFile": write("zero.csv", ""),
            "headerOnly": write("header.csv", "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"),
            "tornOnly": write(
                "torn.csv",
                "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\nbinance,BTC,17000,17000,1,bu"),
            "badTOML": write("bad.toml", "[source\nrate = 1\n"),
            "unknownKey": write("unknown.toml", "[source]\nspeed = 1\n"),
            "badParameter": write(
                "parameter.toml",
                "# a golden cross\n[[strategy]]\nname = \"golden-cross\"\nfast = 5\nslow = 2\nquantity = \"1\"\n"),
            "commands": write("commands.jsonl", "{\"op\":\"new\",\"id\":1,\"side\":\"buy\",\"price\":100,\"qty\":5}\n"),
            "malformed": write("malformed.jsonl", "{\"op\":\"new\",\"id\":1,\n"),
            "twiceKeyed": write(
                "twice.jsonl",
                "{\"op\":\"new\",\"id\":1,\"side\":\"buy\",\"price\":100,\"qty\":1,\"type\":\"limit\",\"type\":\"market\"}\n"
            ),
            "tooFine": write(
                "fine.csv",
                "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\nx,BTC,1,1,1,buy,100.1234567890123456789,1\n"
            ),
            "zerosPastEighteen": write(
                "zeros.csv",
                "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\nx,BTC,1,1,1,buy,100.5000000000000000000,1\n"
            ),
            "tornBybit": write(
                "torn.jsonl",
                "{\"type\":\"snapshot\",\"data\":{\"b\":[[\"1.5\",\"2\"]],\"a\":[[\"1.6\",\"3\"]],\"u\":1}}\n{\"type\":\"delta\",\"data\":{\"b\":[[\"1.4"
            ),
            "badGrid": write(
                "grid.csv",
                "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
                    + (0..<1_200).map { "x,BTC,\($0),\($0),\($0),buy,100.5,1\n" }.joined()
                    + "x,BTC,9999,9999,1,buy,100.25,1\n"),
        ]
    }()

    static func file(_ name: String) -> String { files[name] ?? "/nonexistent" }

    static let rows: [Row] = [
        // run
        Row(arguments: ["run", "--bogus"], status: 2, says: "Unknown option '--bogus'"),
        Row(arguments: ["run", "--rate", "fast"], status: 2, says: "--rate"),
        // An export that could not be written: refused before anything starts (and by
        // --validate-only), not a set-up failure after the journal took an event.
        Row(
            arguments: ["run", "--no-journal", "--max-events", "10", "--fills-out", "/nonexistent-dir/f.csv"],
            status: 2,
            says: "invalid fills-out '/nonexistent-dir/f.csv': its directory /nonexistent-dir does not exist"),
        Row(
            arguments: ["run", "--validate-only", "--no-journal", "--fills-out", "/tmp"], status: 2,
            says: "invalid fills-out '/tmp': it is a directory: give a file path"),
        Row(arguments: ["run", "--ring-size", "1000"], status: 2, says: "invalid --ring-size '1000'"),
        Row(arguments: ["run", "--duration", "inf"], status: 2, says: "invalid --duration 'inf'"),
        Row(arguments: ["run", "--duration", "-1"], status: 2, says: "invalid --duration '-1':"),
        Row(
            arguments: ["run", "--max", "--rate", "5"], status: 2,
            says: "invalid --rate '5': give either --rate or --max"),
        Row(arguments: ["run", "--status-interval", "1e300"], status: 2, says: "invalid --status-interval"),
        Row(arguments: ["run", "--rate", "0.5"], status: 2, says: "invalid --rate '0.5': use events per second, 1 to"),
        Row(arguments: ["run", "--config", file("dir")], status: 2, says: "not a regular file"),
        Row(arguments: ["run", "--config", file("missing")], status: 2, says: "No such file or directory"),
        Row(
            arguments: ["run", "--config", file("badTOML")], status: 2,
            says: "\(file("badTOML")):1: invalid TOML '[source': Error while parsing table header: expected ']'"),
        Row(
            arguments: ["backtest", "--config", file("badTOML")], status: 2,
            says: "\(file("badTOML")):1: invalid TOML '[source': Error while parsing table header: expected ']'"),
        Row(arguments: ["run", "--config", file("unknownKey")], status: 2, says: "invalid source.speed"),
        Row(arguments: ["run", "--source", "bybit-ob:" + file("missing")], status: 2, says: "no such file"),
        // A recording cut to nothing had replayed as a complete one (exit 0, "lossless yes").
        Row(
            arguments: [
                "run", "--source", "tardis-trades:" + file("emptyFile"), "--no-journal", "--metrics-port", "0",
            ],
            status: 2, says: "the file is empty (0 bytes): give a recorded market-data file"),
        Row(
            arguments: ["feed", "replay", "--format", "tardis-trades", file("emptyFile")], status: 2,
            says: "zero.csv is empty (0 bytes): nothing to replay"),
        // Nor is a file without a row (it had replayed 0 messages with exit 0).
        Row(
            arguments: ["feed", "replay", "--format", "tardis-trades", file("headerOnly")], status: 1,
            says: "error: no rows to replay: \(file("headerOnly")) holds none (empty, or a header alone?)"),
        Row(
            arguments: ["feed", "replay", "--format", "tardis-trades", file("tornOnly")], status: 1,
            says: "error: no rows to replay: \(file("tornOnly")) holds none but a torn last line, not applied: "
                + "\(file("tornOnly")):2: torn last line (28 bytes, no line break): 6 field(s); the header has 8"),
        Row(arguments: ["run", "--journal", "d", "--no-journal"], status: 2, says: "not both"),
        // The event limit counts the synthetic market's events: a recorded file had been read
        // to its end with the limit taken and not applied.
        Row(
            arguments: [
                "run", "--source", "bybit-ob:" + file("tornBybit"), "--max-events", "100", "--no-journal",
                "--metrics-port", "0",
            ],
            status: 2,
            says:
                "invalid max-events '100': it limits the synthetic source; a recorded source (--source) runs to the end "
                + "of its files"),
        // A journal directory that is a file (or under one): refused before anything starts.
        Row(
            arguments: ["run", "--journal", file("emptyFile"), "--metrics-port", "0"], status: 2,
            says: "invalid journal '\(file("emptyFile"))': it is a file, not a directory"),
        Row(
            arguments: ["run", "--journal", file("emptyFile") + "/journal", "--metrics-port", "0"], status: 2,
            says: "invalid journal '\(file("emptyFile"))/journal': \(file("emptyFile")) is a file, not a directory"),
        Row(
            arguments: ["run", "--source", "bybit-ob:" + file("tornBybit"), "--no-journal", "--metrics-port", "0"],
            status: 1, says: "torn last line"),
        Row(
            arguments: ["feed", "replay", "--format", "tardis-trades", "--tick-size", "0.1", file("badGrid")],
            status: 1, says: "grid.csv:1202: price '100.25' has more than 1 decimal places"),
        Row(arguments: ["mempool", "--source", file("missing")], status: 2, says: "no such file"),
        Row(arguments: ["mempool", "--status-interval", "inf"], status: 2, says: "--status-interval must be"),
        Row(arguments: ["mempool", "--rate", "1e-300"], status: 2, says: "--rate must be 0"),
        Row(arguments: ["mempool", "inspect", "--block", file("missing")], status: 2, says: "cannot open"),
        Row(arguments: ["mempool", "inspect", "--block", file("commands")], status: 1, says: "error: "),
        Row(
            arguments: ["nats", "publish", "--nats", "nats://127.0.0.1:1", "--events", "10"], status: 1,
            says: "No server available"),
        Row(arguments: ["run", "--no-journal", "--durability", "every"], status: 2, says: "applies to a journal"),
        Row(arguments: ["run", "--sync-events", "0"], status: 2, says: "invalid --sync-events '0'"),
        Row(arguments: ["run", "--nats-input"], status: 2, says: "need --nats URL"),
        // Nor the NATS input (review helper-142): checked before anything connects.
        Row(
            arguments: [
                "run", "--nats", "nats://127.0.0.1:1", "--nats-input", "--max-events", "5", "--validate-only",
                "--metrics-port", "0",
            ],
            status: 2,
            says: "invalid max-events '5': it limits the synthetic source; the NATS input runs until its END message"),
        // The stream is the journal: a journal directory's settings beside --nats were ignored.
        Row(
            arguments: ["run", "--nats", "nats://127.0.0.1:1", "--no-journal"], status: 2,
            says: "invalid nats '--no-journal': with --nats the JetStream stream is the journal"),
        Row(
            arguments: ["run", "--nats", "nats://127.0.0.1:1", "--snapshot-every", "1000"], status: 2,
            says: "drop --snapshot-every, or drop --nats"),
        // The venue checks its NATS settings as `run` does, before connecting.
        Row(
            arguments: ["venue", "--nats", "nats://127.0.0.1:1", "--nats-prefix", "a.b"], status: 2,
            says: "invalid --nats-prefix 'a.b'"),
        Row(arguments: ["venue", "--nats", "bogus"], status: 2, says: "invalid --nats 'bogus'"),
        Row(
            arguments: ["venue", "--nats", "nats://127.0.0.1:1", "--journal", "d", "--no-journal"], status: 2,
            says: "give either --journal DIR or --no-journal, not both"),
        Row(arguments: ["run", "--shard", "0/2"], status: 2, says: "need --nats URL"),
        Row(
            arguments: ["run", "--validate-only"], status: 2, says: "invalid PEREGRINE_JOURNAL_BOGUS",
            environment: ["PEREGRINE_JOURNAL_BOGUS": "1"]),
        Row(
            arguments: ["run", "--validate-only"], status: 2, says: "invalid PEREGRINE_SOURCE_DURATION 'inf'",
            environment: ["PEREGRINE_SOURCE_DURATION": "inf"]),
        Row(arguments: ["run", "--validate-only"], status: 0, says: ""),
        // replay and journal
        Row(arguments: ["replay"], status: 2, says: "give --journal DIR or --nats URL"),
        Row(
            arguments: ["replay", "--journal", file("dir"), "--to", "-1"], status: 2,
            says: "--to -1: give a sequence of 0 or more"),
        Row(
            arguments: ["replay", "--journal", file("missing")], status: 1, says: "is not a journal: no such directory"),
        Row(arguments: ["replay", "--journal", file("dir")], status: 1, says: "no journal segments"),
        Row(arguments: ["journal", "verify", file("missing")], status: 1, says: "is not a journal: no such directory"),
        Row(arguments: ["journal", "verify", file("dir")], status: 1, says: "no journal segments"),
        Row(arguments: ["journal", "stats", file("missing")], status: 1, says: "is not a journal"),
        Row(
            arguments: ["journal", "inspect", file("dir"), "--limit=-1"], status: 2, says: "--limit must be 1 or more"),
        Row(arguments: ["journal", "frobnicate"], status: 2, says: "Unexpected argument 'frobnicate'"),
        // config
        Row(arguments: ["config", "check", "/dev/zero"], status: 2, says: "not a regular file"),
        Row(
            arguments: ["config", "check", file("badTOML")], status: 2,
            says: "\(file("badTOML")):1: invalid TOML '[source': Error while parsing table header: expected ']'"),
        Row(arguments: ["config", "show", "--profile", "nope"], status: 2, says: "invalid profile 'nope'"),
        // A refusal of what the file writes is named at its line.
        Row(
            arguments: ["config", "check", file("unknownKey")], status: 2,
            says: "\(file("unknownKey")):2: invalid source.speed '1': unknown key; known in [source]:"),
        Row(
            arguments: ["config", "check", file("badParameter")], status: 2,
            says: "\(file("badParameter")):4: strategy golden-cross: fast=5 is not allowed: use an integer from 1 to 2 "
                + "(at most slow)"),
        Row(
            arguments: ["run", "--validate-only", "--config", file("badParameter")], status: 2,
            says: "\(file("badParameter")):4: strategy golden-cross: fast=5 is not allowed"),
        Row(arguments: ["config", "show"], status: 0, says: ""),
        // match
        Row(arguments: ["match", "--commands", file("missing")], status: 2, says: "cannot open"),
        Row(arguments: ["match", "--commands", file("dir")], status: 2, says: "not a regular file"),
        Row(
            arguments: ["feed", "replay", "--format", "bybit-ob", file("commands"), "--checkpoint-every=-1"], status: 2,
            says: "--checkpoint-every must be 0"),
        Row(
            arguments: ["match", "--commands", file("commands"), "--max-orders", "4611687"], status: 2,
            says: "invalid max-orders '4611687': use 1 to 4611686"),
        Row(
            arguments: ["match", "--commands", file("commands"), "--stop-in-market", "maybe"], status: 2,
            says: "invalid stop-in-market 'maybe': use reject or trigger"),
        Row(
            arguments: ["match", "--commands", file("commands"), "--price-collar-bps", "0"], status: 2,
            says: "price collar of 0 bps must be 1 to 1000000"),
        Row(
            arguments: ["match", "--commands", file("commands"), "--max-levels-per-side", "0"], status: 2,
            says: "most levels per side 0 must be at least 1"),
        Row(
            arguments: ["feed", "replay", "--format", "bybit-ob", file("commands"), "--max-levels-per-side", "0"],
            status: 2, says: "--max-levels-per-side must be at least 1"),
        Row(
            arguments: ["match", "--commands", file("malformed"), "--strict"], status: 1,
            says: "\(file("malformed")):1: "),
        Row(arguments: ["match", "--commands", file("malformed")], status: 1, says: "1 malformed line(s) skipped"),
        Row(
            arguments: ["match", "--commands", file("twiceKeyed"), "--strict"], status: 1,
            says: "the key \"type\" is given twice"),
        Row(arguments: ["match", "--commands", file("commands")], status: 0, says: ""),
        // feed
        Row(
            arguments: ["feed", "replay", "--format", "nope", file("commands")], status: 2,
            says: "invalid format 'nope'"),
        Row(arguments: ["feed", "replay", "--format", "bybit-ob", file("missing")], status: 2, says: "cannot open"),
        Row(
            arguments: ["feed", "replay", "--format", "bybit-ob", "--tick-size", "1e-30", file("commands")], status: 2,
            says: "invalid --tick-size '1e-30'"),
        Row(
            arguments: ["feed", "replay", "--format", "tardis-trades", file("tooFine")], status: 1,
            says:
                "fine.csv:2: price '100.1234567890123456789' has 19 decimals; at most 18 are supported: no grid holds "
                + "it exactly"),
        Row(
            arguments: ["feed", "replay", "--format", "tardis-trades", file("zerosPastEighteen")], status: 1,
            says: "zeros.csv:2: price '100.5000000000000000000' has 19 decimals; at most 18 are supported (give "
                + "--tick-size to read the file on a coarser grid)"),
        Row(
            arguments: [
                "feed", "replay", "--format", "tardis-trades", "--tick-size", "0.1", file("zerosPastEighteen"),
            ],
            status: 0, says: ""),
        // bench
        Row(arguments: ["bench", "matching", "--orders", "0"], status: 2, says: "--orders must be 1 to 4000000"),
        Row(
            arguments: ["bench", "matching", "--orders", "10", "--levels", "100"], status: 2,
            says: "--orders 10 cannot fill --levels 100 a side: give at least 200 orders"),
        // Refused before connecting (no server at this URL): JetStream would refuse some only
        // once the stream existed.
        Row(
            arguments: ["bench", "jetstream", "--nats", "nats://127.0.0.1:1", "--replicas", "0"], status: 2,
            says: "--replicas must be 1 to 5"),
        Row(
            arguments: ["bench", "jetstream", "--nats", "nats://127.0.0.1:1", "--window", "0"], status: 2,
            says: "--window must be 1 to 65536 frames"),
        Row(
            arguments: ["bench", "jetstream", "--nats", "nats://127.0.0.1:1", "--fetch-batch", "0"], status: 2,
            says: "--fetch-batch must be 1 to 65536 frames"),
        // No command, or a group without its subcommand: the help on standard error, nothing ran.
        Row(arguments: [], status: 2, says: "USAGE: peregrine <subcommand>"),
        Row(arguments: ["journal"], status: 2, says: "USAGE: peregrine journal <subcommand>"),
        Row(arguments: ["--help"], status: 0, says: ""),
        Row(arguments: ["journal", "--help"], status: 0, says: ""),
        Row(arguments: ["help", "run"], status: 0, says: ""),
    ]

    /// `--version` names the release and the commit, on standard output, and exits 0.
    @Test func versionNamesTheReleaseAndCommit() throws {
        let result = try Faults.run(["--version"])
        #expect(result.status == 0, "stderr: \(result.error)")
        #expect(result.output == "peregrine \(BuildInfo.version) (commit \(BuildInfo.commit))\n")
    }

    /// An export that fails as it is written (a full disk): exit 1, and the report says the
    /// updates were not all written (not "written to").
    @Test func aFailedExportIsReportedAsNotWritten() throws {
        let result = try Faults.run([
            "run", "--no-journal", "--rate", "20000", "--max-events", "3000", "--order-flow", "30", "--strategy",
            "market-maker", "--metrics-port", "0", "--fills-out", "/dev/full",
        ])
        #expect(result.status == 1, "stderr: \(result.error)")
        #expect(
            result.output.contains("updates for /dev/full, not all written: write /dev/full: No space left on device"))
        #expect(!result.output.contains("written to /dev/full"))
    }

    @Test(arguments: rows)
    func everyErrorClassHasItsStatusAndSaysWhy(row: Row) throws {
        let result = try Faults.run(row.arguments, environment: row.environment)
        #expect(result.status == row.status, "\(row): status \(result.status), stderr \(result.error)")
        if !row.says.isEmpty {
            #expect(result.error.contains(row.says), "\(row): stderr lacks '\(row.says)': \(result.error)")
        }
    }
}
