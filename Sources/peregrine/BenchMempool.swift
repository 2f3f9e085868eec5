import ArgumentParser
import PeregrineBench

struct BenchMempool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mempool",
        abstract: "Analyse a synthetic stream of pending swaps on one thread: latency per transaction and throughput.",
        discussion: """
            Each pending Router02 swap goes through the whole analysis: Bloom-filter de-duplication, rules, \
            decode, simulation on the pools, back-run search over the moved pools (two-pool cross-venue and \
            three-pool cycles), restore. Latency is per transaction (clock read around each); throughput is \
            over the whole run without per-transaction clocks.
            """)

    @Option(parsing: .unconditional, help: "Pending transactions in the synthetic stream (cycled through).")
    var transactions: Int = 200_000

    @Option(parsing: .unconditional, help: "Tokens paired with WETH (half of the pairs also on a second venue).")
    var tokens: Int = 256

    @Option(parsing: .unconditional, help: "Transactions analysed per measurement.")
    var count: Int = 2_000_000

    func validate() throws {
        guard (1...10_000_000).contains(transactions) else {
            throw ValidationError("--transactions must be 1 to 10000000")
        }
        guard (2...100_000).contains(tokens) else { throw ValidationError("--tokens must be 2 to 100000") }
        guard (1...1_000_000_000).contains(count) else { throw ValidationError("--count must be 1 to 1000000000") }
    }

    func run() throws {
        try MempoolBenchmark(
            transactions: transactions, tokens: tokens, count: count, developmentKey: MempoolRun.developmentKey
        ).run { print($0) }
    }
}
