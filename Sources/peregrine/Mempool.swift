import ArgumentParser
import Histogram
import PeregrineCore
import PeregrineEngine
import PeregrineMempool
import PeregrineModel

#if canImport(Glibc)
    import Glibc
#endif

struct MempoolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mempool", abstract: "Pending transactions: analyse swaps, find back-runs, inspect mined blocks.",
        subcommands: [MempoolRun.self, MempoolInspect.self], defaultSubcommand: MempoolRun.self)
}

struct MempoolRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Analyse a stream of pending transactions and report what was found.",
        discussion: """
            --source synthetic: a deterministic stream of Router02 swaps over Uniswap V2 and Sushiswap pools \
            (see docs/mempool.md). --source FILE: a block's traces JSON (the shape of \
            ../shared/data/eth_block_*_traces_receipts.json); its Router02 transactions are replayed as pending \
            against the pairs' reserves at their first getReserves() in the block. Each transaction is \
            de-duplicated, filtered, decoded, simulated and searched for a back-run; latency is from arrival \
            (when it is due at --rate) to the end of its analysis.
            """)

    @Option(help: "synthetic, or a block traces JSON file.")
    var source: String = "synthetic"

    @Option(help: "Pending transactions per second (0: as fast as they can be analysed).")
    var rate: Double = 100_000

    @Option(help: "Transactions to analyse (synthetic source; a file is replayed once).")
    var count: Int = 1_000_000

    @Option(help: "Tokens paired with WETH in the synthetic pools.")
    var tokens: Int = 256

    @Option(help: "Least gas price in gwei for a transaction to be analysed.")
    var minGasGwei: UInt64 = 0

    @Option(help: "Seconds between status lines.")
    var statusInterval: Double = 1

    func validate() throws {
        guard rate >= 0, rate <= 1e9 else { throw ValidationError("--rate must be 0 to 1000000000") }
        guard (1...1_000_000_000).contains(count) else { throw ValidationError("--count must be 1 to 1000000000") }
        guard (2...100_000).contains(tokens) else { throw ValidationError("--tokens must be 2 to 100000") }
        guard statusInterval > 0 else { throw ValidationError("--status-interval must be above 0") }
    }

    func run() throws {
        let transactions: [PendingTransaction]
        let arena: [UInt8]
        let pools: PoolBook
        let total: Int
        let label: String
        if source == "synthetic" {
            let flow = SyntheticSwapFlow(count: Swift.min(count, 200_000), tokenCount: tokens, seed: 3)
            (transactions, arena, pools, total) = (flow.transactions, flow.arena, flow.pools, count)
            label = "synthetic, \(flow.pools.pools.count) pools over \(tokens) tokens"
        } else {
            let block: BlockInspection
            do { block = try BlockInspection(contentsOf: source) } catch {
                printError("error: \(error)")
                throw ExitCode(2)
            }
            (transactions, arena, pools, total) = (block.pending, block.calldata, block.pools, block.pending.count)
            label =
                "block \(block.blockNumber) (\(source)): \(block.pending.count) Router02 transactions, \(block.pools.pools.count) pairs"
        }
        guard !transactions.isEmpty else {
            printError("error: no pending transactions in \(source)")
            throw ExitCode(2)
        }
        StopSignal.installHandlers()
        let clock = CycleClock.calibrate()
        var analyzer = MempoolAnalyzer(
            pools: pools, rules: MempoolRules(minimumGasPrice: UInt128(minGasGwei) * 1_000_000_000),
            seen: try BloomFilter(capacity: Swift.max(total, 1_000), falsePositiveRate: 0.0001))
        var latency = Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        var counts = [String: Int]()
        var profitWei = UInt256.zero
        let start = clock.now()
        let interval = rate > 0 ? 1e9 / rate : 0
        var nextStatus = start &+ UInt64(statusInterval * 1e9)
        var analysed = 0
        print("mempool: \(label); rate \(rate > 0 ? "\(Int(rate))/s" : "max")")
        while analysed < total, StopSignal.received == 0 {
            let index = analysed % transactions.count
            var transaction = transactions[index]
            if source == "synthetic" { transaction.hash.words.3 = UInt64(analysed) }  // fresh hashes when cycling
            // Arrival: when the transaction is due at --rate (at the maximum rate, now).
            let due = rate > 0 ? start &+ UInt64(Double(analysed) * interval) : clock.now()
            while clock.now() < due {}
            let result = arena.withUnsafeBytes { raw in
                analyzer.analyze(
                    transaction,
                    calldata: UnsafeRawBufferPointer(
                        rebasing: raw[
                            transaction.calldataOffset..<(transaction.calldataOffset + transaction.calldataLength)]))
            }
            let now = clock.now()
            latency.record(now &- Swift.min(due, now))
            analysed += 1
            switch result {
            case .opportunity(_, let opportunity):
                counts["opportunity", default: 0] += 1
                profitWei = profitWei.addingReportingOverflow(UInt256(UInt128(opportunity.netProfit))).partialValue
            case .noOpportunity: counts["no opportunity", default: 0] += 1
            case .reverts: counts["reverts", default: 0] += 1
            case .duplicate: counts["duplicate", default: 0] += 1
            case .filtered: counts["filtered", default: 0] += 1
            case .undecodable: counts["undecodable", default: 0] += 1
            }
            if now >= nextStatus {
                nextStatus = now &+ UInt64(statusInterval * 1e9)
                let seconds = Double(now &- start) / 1e9
                print(
                    "[\(decimal(seconds))s] analysed \(analysed) (\(Int(Double(analysed) / seconds))/s) · opportunities \(counts["opportunity"] ?? 0) · p50 \(latency.valueAtPercentile(50)) ns p99 \(latency.valueAtPercentile(99)) ns"
                )
                fflush(nil)
            }
        }
        let seconds = Double(clock.now() &- start) / 1e9
        let decoded = (counts["opportunity"] ?? 0) + (counts["no opportunity"] ?? 0) + (counts["reverts"] ?? 0)
        print("=== peregrine mempool: final report ===")
        print("source            \(label)")
        print(
            "transactions      \(analysed) seen in \(decimal(seconds, places: 2)) s (\(Int(Double(analysed) / seconds))/s)"
        )
        print(
            "filtered          \(counts["duplicate"] ?? 0) duplicate · \(counts["filtered"] ?? 0) by rules · \(counts["undecodable"] ?? 0) not a Router02 swap"
        )
        print("decoded swaps     \(decoded) · \(counts["reverts"] ?? 0) would revert")
        print("opportunities     \(counts["opportunity"] ?? 0) · net profit \(profitWei) wei after gas")
        print(
            "latency           arrival → analysed: p50 \(latency.valueAtPercentile(50)) ns p99 \(latency.valueAtPercentile(99)) ns p99.9 \(latency.valueAtPercentile(99.9)) ns max \(latency.max) ns"
        )
    }
}

struct MempoolInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List the Uniswap V2 sandwiches and cyclic arbitrages in a mined block's traces.")

    @Option(help: "A block traces JSON file (the shape of ../shared/data/eth_block_*_traces_receipts.json).")
    var block: String

    func run() throws {
        let inspection: BlockInspection
        do { inspection = try BlockInspection(contentsOf: block) } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
        let sandwiches = inspection.sandwiches()
        let arbitrages = inspection.arbitrages()
        print(
            "block \(inspection.blockNumber): \(inspection.swaps.count) Uniswap V2-style swaps, \(sandwiches.count) sandwich(es), \(arbitrages.count) arbitrage(s)"
        )
        for sandwich in sandwiches {
            print(
                "sandwich by \(sandwich.sandwicher) in pool \(sandwich.frontrun.pool), profit \(sandwich.profit) of \(sandwich.frontrun.tokenIn)"
            )
            print(
                "  front-run  \(sandwich.frontrun.transactionHash) (position \(sandwich.frontrun.transactionPosition))")
            for victim in sandwich.victims {
                print("  victim     \(victim.transactionHash) (position \(victim.transactionPosition))")
            }
            print("  back-run   \(sandwich.backrun.transactionHash) (position \(sandwich.backrun.transactionPosition))")
        }
        for arbitrage in arbitrages {
            let first = arbitrage.swaps[0]
            print(
                "arbitrage \(first.transactionHash) (position \(first.transactionPosition)): \(arbitrage.swaps.count) swaps, profit \(arbitrage.profit) of \(arbitrage.profitToken)"
            )
        }
    }
}
