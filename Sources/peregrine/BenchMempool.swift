import ArgumentParser
import Foundation
import PeregrineBench
import PeregrineEngine

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

    @Flag(help: "Print one JSON object instead of the lines (latency in ns, throughput in transactions/s).")
    var json = false

    func validate() throws {
        guard (1...10_000_000).contains(transactions) else {
            throw ValidationError("--transactions must be 1 to 10000000")
        }
        guard (2...100_000).contains(tokens) else { throw ValidationError("--tokens must be 2 to 100000") }
        guard (1...1_000_000_000).contains(count) else { throw ValidationError("--count must be 1 to 1000000000") }
    }

    func run() throws {
        let result = try MempoolBenchmark(
            transactions: transactions, tokens: tokens, count: count, developmentKey: MempoolRun.developmentKey
        ).run()
        func percentile(_ value: Double) -> String { value == value.rounded() ? "p\(Int(value))" : "p\(value)" }
        if json {
            var latency: [String: Any] = ["max": result.latencyMaxNanoseconds]
            for (value, nanoseconds) in result.latencyPercentiles { latency[percentile(value)] = nanoseconds }
            try JSONOutput.print([
                "transactions_analysed": result.count, "stream_transactions": transactions, "pools": result.pools,
                "tokens": result.tokens,
                "outcomes": Dictionary(
                    uniqueKeysWithValues: result.outcomes.map {
                        ($0.key.replacingOccurrences(of: " ", with: "_"), $0.value)
                    }),
                "latency_ns": latency,
                "transactions_per_second": result.transactionsPerSecond, "opportunities": result.opportunities,
                "bundle_sink": result.bundle.map { bundle -> Any in
                    [
                        "backruns": bundle.backruns, "backrun_ns": bundle.nanosecondsEach,
                        "request_bytes": bundle.requestBytes,
                    ]
                } ?? NSNull(),
                "signed_intake": [
                    "decode_ns": result.signedDecodeNanoseconds, "keccak256_ns": result.keccakNanoseconds,
                    "bytes": result.signedBytes,
                ],
            ])
            return
        }
        print(
            "mempool benchmark: \(result.count) pending swaps over \(result.pools) pools (\(result.tokens) tokens), one thread"
        )
        print(
            "outcomes: "
                + result.outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: " · "))
        print(
            "latency per transaction: "
                + result.latencyPercentiles.map { "\(percentile($0.percentile)) \($0.nanoseconds) ns" }
                .joined(separator: "  ") + "  max \(result.latencyMaxNanoseconds) ns")
        print(
            "throughput: \(decimal(result.transactionsPerSecond / 1e6, places: 2))M transactions/s on one core (\(result.opportunities) opportunities)"
        )
        if let bundle = result.bundle {
            print(
                "bundle sink: build + sign + eth_sendBundle JSON \(decimal(bundle.nanosecondsEach / 1_000, places: 1)) µs per back-run (\(Int(1e9 / Swift.max(bundle.nanosecondsEach, 1))) bundles/s on one core, \(bundle.requestBytes) bytes per request)"
            )
        }
        print(
            "signed intake: decode of a signed transaction (\(result.signedBytes) bytes) \(Int(result.signedDecodeNanoseconds)) ns, of which Keccak-256 \(Int(result.keccakNanoseconds)) ns"
        )
    }
}
