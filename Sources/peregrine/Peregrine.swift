import ArgumentParser
import PeregrineModel
import PeregrineStrategy

@main
struct Peregrine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peregrine",
        abstract: "A low-latency, event-sourced trading engine core.",
        subcommands: [
            Run.self, Replay.self, JournalCommand.self, Match.self, FeedCommand.self, ConfigCommand.self, Bench.self,
            MempoolCommand.self, NATSCommand.self,
        ])

    /// The strategy `run` hosts and `replay` re-runs: they must be the same for a replay to
    /// reproduce a run.
    static let strategy = LargeTradeFollower(minimumQuantity: Quantity(lots: 500), followQuantity: Quantity(lots: 10))
}
