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

    @Option(
        help:
            "Distinct signed synthetic transactions (about 40 µs each to sign at start); the stream repeats them, one block per pass."
    )
    var unique: Int = 20_000

    @Option(help: "Tokens paired with WETH in the synthetic pools.")
    var tokens: Int = 256

    @Option(help: "Least gas price in gwei for a transaction to be analysed.")
    var minGasGwei: UInt64 = 0

    @Option(help: "Least net profit after gas, in ETH, for a back-run to be bundled.")
    var minProfitEth: Double = 0.1

    @Option(help: "Where eth_sendBundle requests go, one JSON line each: a file, or - for standard output.")
    var bundlesOut: String?

    @Option(
        help:
            "File holding our signing key (64 hex digits). Without it, the well-known development key (Anvil's account 0) signs."
    )
    var signingKeyFile: String?

    @Option(help: "Our executor contract, which back-runs call (see docs/mempool.md).")
    var executor: String = "0x00000000000000000000000000000000000e8ec0"

    @Option(help: "Chain id our back-runs are signed for.")
    var chainId: UInt64 = 1

    @Option(help: "Our account's next nonce.")
    var nonce: UInt64 = 0

    @Option(
        help: "Block the bundles target (default: the recorded block's successor; synthetic: 1, then one per pass).")
    var targetBlock: UInt64?

    @Option(help: "Transactions per bundle (victim and back-run pairs are never split): 2 to 16.")
    var bundleSize: Int = 2

    @Option(help: "Microseconds after its first transaction when a bundle that is not full is sealed.")
    var bundleTimeoutUs: Double = 100

    @Option(help: "Seconds between status lines.")
    var statusInterval: Double = 1

    func validate() throws {
        guard rate >= 0, rate <= 1e9 else { throw ValidationError("--rate must be 0 to 1000000000") }
        guard (1...1_000_000_000).contains(count) else { throw ValidationError("--count must be 1 to 1000000000") }
        guard (1...1_000_000).contains(unique) else { throw ValidationError("--unique must be 1 to 1000000") }
        guard (2...100_000).contains(tokens) else { throw ValidationError("--tokens must be 2 to 100000") }
        guard (2...Bundle.capacity).contains(bundleSize) else { throw ValidationError("--bundle-size must be 2 to 16") }
        guard bundleTimeoutUs > 0, bundleTimeoutUs <= 60e6 else {
            throw ValidationError("--bundle-timeout-us must be above 0 and at most 60000000")
        }
        guard EVMAddress(hex: executor) != nil else {
            throw ValidationError("--executor must be 0x and 40 hex digits")
        }
        guard statusInterval > 0 else { throw ValidationError("--status-interval must be above 0") }
        guard minProfitEth >= 0, minProfitEth <= 1e9 else { throw ValidationError("--min-profit-eth must be 0 to 1e9") }
    }

    /// Anvil's and Hardhat's account 0: public knowledge, for trying the pipeline only.
    static let developmentKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

    func run() throws {
        let transactions: [PendingTransaction]
        let arena: [UInt8]
        let pools: PoolBook
        let total: Int
        let label: String
        var block: UInt64
        let synthetic = source == "synthetic"
        if synthetic {
            let clock = CycleClock.calibrate()
            let started = clock.now()
            let flow = SyntheticSwapFlow(count: Swift.min(count, unique), tokenCount: tokens, seed: 3, signed: true)
            (transactions, arena, pools, total) = (flow.transactions, flow.arena, flow.pools, count)
            label =
                "synthetic, \(flow.pools.pools.count) pools over \(tokens) tokens, \(transactions.count) signed transactions (signed in \(decimal(Double(clock.now() &- started) / 1e9, places: 2)) s)"
            block = targetBlock ?? 1
        } else {
            let inspection: BlockInspection
            do { inspection = try BlockInspection(contentsOf: source) } catch {
                printError("error: \(error)")
                throw ExitCode(2)
            }
            (transactions, arena, pools, total) = (
                inspection.pending, inspection.calldata, inspection.pools, inspection.pending.count
            )
            label =
                "block \(inspection.blockNumber) (\(source)): \(inspection.pending.count) Router02 transactions, \(inspection.pools.pools.count) pairs"
            block = targetBlock ?? UInt64(inspection.blockNumber) + 1
        }
        guard !transactions.isEmpty else {
            printError("error: no pending transactions in \(source)")
            throw ExitCode(2)
        }
        let signer: EthereumSigner
        do {
            if let signingKeyFile {
                let text: String
                do { text = try String(contentsOfFile: signingKeyFile, encoding: .utf8) } catch {
                    printError(
                        "error: cannot read the signing key file \(signingKeyFile): \(error.localizedDescription)")
                    throw ExitCode(2)
                }
                signer = try EthereumSigner(privateKeyHex: text)
            } else {
                signer = try EthereumSigner(privateKeyHex: Self.developmentKey)
            }
        } catch let error as SigningError {
            printError("error: \(error)")
            throw ExitCode(2)
        }
        let search = BackrunSearch(minimumProfit: UInt128(minProfitEth * 1e18))
        let sink = try MempoolBundleSink(
            assembler: BundleAssembler(
                signer: signer,
                settings: BackrunSettings(executor: EVMAddress(hex: executor) ?? .zero, chainID: chainId, nonce: nonce),
                search: search, pools: pools),
            transactions: transactions, arena: arena, output: bundlesOut, clock: CycleClock.calibrate())
        let sinkThread: PinnedThread
        do { sinkThread = try sink.start() } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
        var bundleProducer = try sink.bundles.makeProducer()
        var orderProducer = try sink.orders.makeProducer()
        var builder = try BundleBuilder(
            maxTransactions: bundleSize, timeoutNanoseconds: UInt64(bundleTimeoutUs * 1_000))
        var stalls = 0
        func ship(_ bundle: Bundle) {
            while !bundleProducer.tryPush(bundle) {
                stalls += 1
                sched_yield()
            }
        }

        StopSignal.installHandlers()
        let clock = CycleClock.calibrate()
        var analyzer = MempoolAnalyzer(
            pools: pools, rules: MempoolRules(minimumGasPrice: UInt128(minGasGwei) * 1_000_000_000), search: search,
            seen: try BloomFilter(
                capacity: Swift.max(Swift.min(total, transactions.count), 1_000), falsePositiveRate: 0.0001))
        var latency = Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        var counts = [String: Int]()
        var profitWei = UInt256.zero
        let start = clock.now()
        let interval = rate > 0 ? 1e9 / rate : 0
        var nextStatus = start &+ UInt64(statusInterval * 1e9)
        var analysed = 0
        var backrunID: UInt64 = 0
        print("mempool: \(label); rate \(rate > 0 ? "\(Int(rate))/s" : "max"); signing as \(signer.address)")
        if signingKeyFile == nil {
            print("mempool: signing with the public development key: pass --signing-key-file for bundles of your own")
        }
        while analysed < total, StopSignal.received == 0 {
            let index = analysed % transactions.count
            if index == 0 && analysed > 0 {
                // The next pass is the next block: what is still pending is analysed again for it.
                analyzer.seen.removeAll()
                block += 1
            }
            let transaction = transactions[index]
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
            var now = clock.now()
            latency.record(now &- Swift.min(due, now))
            analysed += 1
            switch result {
            case .opportunity(_, let opportunity):
                counts["opportunity", default: 0] += 1
                profitWei = profitWei.addingReportingOverflow(UInt256(UInt128(opportunity.netProfit))).partialValue
                // The victim and our back-run go into the same bundle.
                if builder.pendingCount + 2 > builder.maxTransactions, let sealed = builder.flush() { ship(sealed) }
                backrunID &+= 1
                let tipGwei = UInt16(clamping: transaction.maxPriorityFee / 1_000_000_000)
                while !orderProducer.tryPush(
                    BackrunOrder(
                        id: backrunID, victimIndex: UInt64(index), opportunity: opportunity, arrival: due,
                        targetBlock: block, maxFeePerGas: transaction.gasPrice,
                        maxPriorityFeePerGas: transaction.maxPriorityFee))
                {
                    stalls += 1
                    sched_yield()
                }
                func add(_ id: UInt64, _ origin: TransactionOrigin) {
                    let handle = Transaction(
                        id: id, instrument: InstrumentID(0), side: .buy, price: Price(ticks: 0), quantity: .zero,
                        origin: origin, priorityFee: tipGwei)
                    if let sealed = builder.add(handle, now: now) { ship(sealed) }
                }
                add(UInt64(index), .observed)
                add(backrunID, .strategy)
            case .noOpportunity: counts["no opportunity", default: 0] += 1
            case .reverts: counts["reverts", default: 0] += 1
            case .duplicate: counts["duplicate", default: 0] += 1
            case .filtered: counts["filtered", default: 0] += 1
            case .undecodable: counts["undecodable", default: 0] += 1
            }
            now = clock.now()
            if let sealed = builder.poll(now: now) { ship(sealed) }
            if now >= nextStatus {
                nextStatus = now &+ UInt64(statusInterval * 1e9)
                let seconds = Double(now &- start) / 1e9
                print(
                    "[\(decimal(seconds))s] analysed \(analysed) (\(Int(Double(analysed) / seconds))/s) · opportunities \(counts["opportunity"] ?? 0) · p50 \(latency.valueAtPercentile(50)) ns p99 \(latency.valueAtPercentile(99)) ns"
                )
                fflush(nil)
            }
        }
        if let sealed = builder.flush() { ship(sealed) }
        let seconds = Double(clock.now() &- start) / 1e9
        sink.finish()
        sinkThread.join()
        let bundles = sink.result
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
        var bundleLine =
            "bundles           \(bundles.bundlesSent) sent (\(bundlesOut.map { $0 == "-" ? "standard output" : $0 } ?? "not written: no --bundles-out")) · \(bundles.backrunsSigned) back-runs signed"
        if bundles.bundlesWithoutVictimBytes > 0 {
            bundleLine +=
                " · \(bundles.bundlesWithoutVictimBytes) not sent: the source has no signed bytes for their victims"
        }
        if bundles.signingFailures + bundles.writeFailures > 0 {
            bundleLine += " · \(bundles.signingFailures) signing and \(bundles.writeFailures) write failures"
        }
        print(bundleLine)
        print(
            "latency           arrival → analysed: p50 \(latency.valueAtPercentile(50)) ns p99 \(latency.valueAtPercentile(99)) ns p99.9 \(latency.valueAtPercentile(99.9)) ns max \(latency.max) ns"
        )
        if bundles.bundlesSent > 0 {
            let toBundle = bundles.latency
            print(
                "                  arrival → bundle written: p50 \(toBundle.valueAtPercentile(50)) ns p99 \(toBundle.valueAtPercentile(99)) ns max \(toBundle.max) ns (\(stalls) stalls on full rings)"
            )
        }
        if bundles.signingFailures + bundles.writeFailures > 0 { throw ExitCode(1) }
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
