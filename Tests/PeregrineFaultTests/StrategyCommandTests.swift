import Foundation
import PeregrineTestSupport
import Testing

/// `peregrine run` with strategies, through the binary: the acceptance run (a market maker on
/// the hosted venue's 8 instruments against 30% order flow) reports its orders by state and
/// every position, its replay gives the same hashes and the same fills file; mistakes in
/// strategy options are usage errors (exit 2) naming the key and what is allowed.
@Suite("Strategy commands")
struct StrategyCommandTests {
    @Test func aMarketMakerRunReportsItsPositionsAndReplaysToTheSameHashes() throws {
        let journal = Faults.scratch("strategy-run")
        defer {
            Faults.remove(journal)
            Faults.remove(journal + ".csv")
            Faults.remove(journal + "-replay.csv")
        }
        let run = try Faults.run([
            "run", "--strategy", "market-maker", "--instruments", "8", "--order-flow", "30", "--rate", "200000",
            "--max-events", "100000", "--journal", journal, "--metrics-port", "0", "--wait", "yield",
            "--fills-out", journal + ".csv",
        ])
        #expect(run.status == 0, "\(run.error)")
        #expect(run.output.contains("strategy orders   "))
        #expect(run.output.contains("open orders       0 pending-new · 0 accepted · 0 partially-filled"))
        for instrument in 8..<16 {
            #expect(
                run.output.contains("position          s1 market-maker HOST\(instrument): net "), "HOST\(instrument)")
        }
        #expect(run.output.contains("orders and fills  "))
        try Faults.expectReplayMatches(run, journal: journal)
        let replay = try Faults.run(["replay", "--journal", journal, "--fills-out", journal + "-replay.csv"])
        #expect(replay.status == 0, "\(replay.error)")
        let live = try String(contentsOfFile: journal + ".csv", encoding: .utf8)
        #expect(live.split(separator: "\n").count > 100)
        #expect(try String(contentsOfFile: journal + "-replay.csv", encoding: .utf8) == live)
    }

    @Test func strategyMistakesAreUsageErrors() throws {
        let cases: [([String], String)] = [
            (
                ["--strategy", "market-taker"],
                "error: unknown strategy 'market-taker': use one of market-maker, golden-cross, mean-reversion, "
                    + "cross-venue-arbitrage, large-trade-follower, idle"
            ),
            (
                ["--strategy", "market-maker", "--param", "spread=3"],
                "error: strategy market-maker has no parameter 'spread': it takes id, instruments, account, half-spread, size, skew, "
                    + "max-position, requote, post-only, join-touch"
            ),
            (
                ["--strategy", "golden-cross", "--param", "fast=40"],
                "error: strategy golden-cross: fast=40 is not allowed: use an integer from 1 to 30 (at most slow)"
            ),
            (
                ["--strategy", "market-maker", "--param", "size=0.01"],
                "error: strategy market-maker: size=0.01 is not allowed: use a whole number of lots from 1 to "
                    + "1000000000000 (a lot is the instrument's lot size, 0.001: 10 lots are 0.010)"
            ),
            (["--param", "size=1"], "error: invalid param 'size=1': give --strategy NAME before its --param options"),
            (
                ["--strategy", "cross-venue-arbitrage"],
                "error: strategy cross-venue-arbitrage: it trades exactly two instruments of one asset; 4 given"
            ),
        ]
        for (arguments, message) in cases {
            let run = try Faults.run(["run", "--no-journal", "--duration", "1", "--metrics-port", "0"] + arguments)
            #expect(run.status == 2, "\(arguments): \(run.error)")
            #expect(run.error.contains(message), "\(arguments): \(run.error)")
            #expect(!run.output.contains("final report"))
        }
    }
}
