import Foundation
import PeregrineBacktest
import PeregrineNATS
import PeregrineStrategy
import PeregrineTestSupport
import Testing

/// A sweep across machines asked to stop (SIGINT, SIGTERM) while it waits for its results.
@Suite struct SweepQueueStopTests {
    /// With no worker running, the stop ends the wait: the sweep throws as incomplete (exit 1 in
    /// the CLI), and its two jobs stay queued for workers.
    @Test func aStoppedSweepAcrossMachinesIsIncompleteAndLeavesItsJobsQueued() throws {
        let server = try NATSServerProcess(name: "sweep-stop")
        defer { server.stop() }
        var settings = BacktestSettings()
        settings.data = [
            try DataSpec("tardis-quotes:" + Fixtures.path("tardis_binance-futures_BTCUSDT_quotes_2020-02-22.csv"))
        ]
        settings.strategies = [
            StrategySpec(name: "golden-cross", parameters: [("fast", "2,4"), ("slow", "10"), ("quantity", "0.01")])
        ]
        let plan = try SweepPlan(settings)
        var queue = SweepQueue(url: server.url)
        queue.prefix = "STOPTEST"
        #expect(
            throws: BacktestError.data(
                "stopped by SIGINT after 0 of 2 results; the jobs not answered stay queued for the workers, and the "
                    + "same command collects their results: the sweep is incomplete, no ranking or page was written")
        ) { _ = try queue.run(plan, output: nil, ranking: try SweepRanking("sharpe"), stopRequested: { "SIGINT" }) }
        let connection = try NATSConnection(NATSConnectionOptions(url: server.url))
        #expect(try connection.jetStream().streamState("STOPTEST_JOBS")?.messages == 2)
    }
}
