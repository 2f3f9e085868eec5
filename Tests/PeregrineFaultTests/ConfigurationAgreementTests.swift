import Foundation
import PeregrineTestSupport
import PropertyBased
import Testing

/// `peregrine config check` and `peregrine run --validate-only` go through one parser and one
/// range check per setting: on random values (inf, nan, huge, negative, fractional, wrong
/// types) from a TOML file, the environment or a flag they accept and refuse the same ones,
/// with the same message or the same resolved configuration.
@Suite("Configuration agreement")
struct ConfigurationAgreementTests {
    struct Key: Sendable, CustomStringConvertible {
        var section: String
        var name: String
        var flag: String
        var description: String { "\(section).\(name)" }
    }

    static let keys: [Key] = [
        Key(section: "source", name: "rate", flag: "--rate"),
        Key(section: "source", name: "duration", flag: "--duration"),
        Key(section: "source", name: "max_events", flag: "--max-events"),
        Key(section: "source", name: "instruments", flag: "--instruments"),
        Key(section: "source", name: "burst", flag: "--burst"),
        Key(section: "source", name: "order_flow", flag: "--order-flow"),
        Key(section: "source", name: "seed", flag: "--seed"),
        Key(section: "journal", name: "segment_mb", flag: "--segment-mb"),
        Key(section: "journal", name: "snapshot_every", flag: "--snapshot-every"),
        Key(section: "journal", name: "sync_events", flag: "--sync-events"),
        Key(section: "journal", name: "sync_interval_us", flag: "--sync-interval-us"),
        Key(section: "monitor", name: "status_interval", flag: "--status-interval"),
        Key(section: "metrics", name: "port", flag: "--metrics-port"),
        Key(section: "venue", name: "orders", flag: "--venue-orders"),
    ]

    /// Values as a user would type them; in TOML they are written bare (so `abc` and `"x"`
    /// also try the file's own syntax and types).
    static let values = [
        "inf", "-inf", "nan", "1e300", "-1", "0", "1", "0.5", "16", "64", "1000", "100000", "315360001",
        "86401", "9223372036854775807", "18446744073709551616", "abc", "true", "\"10\"", "0x10", "1_000",
    ]

    /// Numbers written the way only TOML reads them.
    static let tomlOnlySyntax: Set<String> = ["0x10", "1_000"]

    static func check(key: Key, value: String, origin: String) throws -> (PeregrineCLI.Result, PeregrineCLI.Result) {
        let directory = Faults.scratch("agree")
        defer { Faults.remove(directory) }
        let file = directory + "/peregrine.toml"
        switch origin {
        case "toml":
            try "[\(key.section)]\n\(key.name) = \(value)\n".write(toFile: file, atomically: true, encoding: .utf8)
            return (
                try Faults.run(["config", "check", file]), try Faults.run(["run", "--validate-only", "--config", file])
            )
        case "env":
            try "".write(toFile: file, atomically: true, encoding: .utf8)
            let environment = ["PEREGRINE_\(key.section.uppercased())_\(key.name.uppercased())": value]
            return (
                try Faults.run(["config", "check", file], environment: environment),
                try Faults.run(["run", "--validate-only", "--config", file], environment: environment)
            )
        default:
            // The flag against the same value in a file: the same verdict, and when accepted the
            // same configuration.
            try "[\(key.section)]\n\(key.name) = \(value)\n".write(toFile: file, atomically: true, encoding: .utf8)
            return (
                try Faults.run(["config", "check", file]),
                try Faults.run(["run", "--validate-only", "\(key.flag)=\(value)"])
            )
        }
    }

    @Test func configCheckAndRunAgreeOnRandomValues() async {
        await propertyCheck(
            count: 200, input: Gen.int(in: 0...(Self.keys.count - 1)).map { Self.keys[$0] },
            Gen.int(in: 0...(Self.values.count - 1)).map { Self.values[$0] },
            Gen.int(in: 0...2).map { ["toml", "env", "flag"][$0] }
        ) { key, value, origin in
            let (check, run) = try Self.check(key: key, value: value, origin: origin)
            let context =
                "\(origin) \(key) = \(value): check \(check.status) \(check.error) / run \(run.status) \(run.error)"
            if origin == "flag", Self.tomlOnlySyntax.contains(value) {
                // TOML's own number syntax is not always a flag's: refused on the command line,
                // or (a hexadecimal Double) read as the same number.
                #expect(run.status == 2 || (run.status == check.status && run.output == check.output), "\(context)")
                return
            }
            #expect(check.status == run.status, "\(context)")
            #expect(check.status == 0 || check.status == 2, "\(context)")
            if check.status == 0 {
                #expect(check.output == run.output, "\(context)")
            } else if origin != "flag" {
                #expect(check.error == run.error, "\(context)")
            }
        }
    }

    /// The rows that trapped or slipped through before: each refused, by both, from each origin.
    @Test(arguments: ["toml", "env", "flag"])
    func nonFiniteAndHugeDurationsAreRefusedEverywhere(origin: String) throws {
        for (key, value) in [
            (Self.keys[1], "inf"), (Self.keys[1], "nan"), (Self.keys[1], "1.85e10"), (Self.keys[11], "inf"),
            (Self.keys[11], "0"), (Self.keys[0], "0.5"),
        ] {
            let (check, run) = try Self.check(key: key, value: value, origin: origin)
            #expect(check.status == 2 && run.status == 2, "\(origin) \(key) = \(value)")
        }
    }
}
