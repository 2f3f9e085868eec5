import ArgumentParser
import Histogram
import PeregrineCore
import PeregrineEVM
import PeregrineEngine
import PeregrineJournal
import PeregrineMempool
import PeregrineModel
import PeregrineNATS

#if canImport(Glibc)
    import Glibc
#endif

struct MempoolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mempool", abstract: "Pending transactions: analyse swaps, find back-runs, inspect mined blocks.",
        subcommands: [MempoolRun.self, MempoolInspect.self, MempoolPublish.self], defaultSubcommand: MempoolRun.self)
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
            (when it is due at --rate) to the end of its analysis. --source nats://HOST:PORT: signed transactions \
            from the subject --subject, one per message (the bytes, or 0x-hex text), analysed as they arrive \
            against the pools of --pools, until --count transactions or the message END \
            (`peregrine mempool publish` sends the synthetic ones).
            """)

    @Option(help: "synthetic, a block traces JSON file, or nats://HOST:PORT.")
    var source: String = "synthetic"

    @Option(help: "Subject of pending transactions (NATS source).")
    var subject: String = "peregrine.mempool.pending"

    @Option(
        name: .customLong("journal"),
        help:
            "NATS source: journal every message as it arrives to this file, for a replay with --source FILE (docs/mempool.md)."
    )
    var journalPath: String?

    @Option(help: "Pools a NATS source's transactions trade on: synthetic (as --tokens), or a block traces JSON file.")
    var pools: String = "synthetic"

    @Option(help: "Pending transactions per second (0: as fast as they can be analysed).")
    var rate: Double = 100_000

    @Option(help: "Transactions to analyse (synthetic and NATS sources; a file is replayed once).")
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

    @Option(
        help:
            "Where eth_sendBundle requests go: a file or - for standard output (one JSON line each), or nats://HOST:PORT (one message each on --bundles-subject)."
    )
    var bundlesOut: String?

    @Option(help: "Subject of the bundles (--bundles-out nats://…).")
    var bundlesSubject: String = "peregrine.mempool.bundles"

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
        guard rate == 0 || EngineConfiguration.rateRange.contains(rate) else {
            throw ValidationError("--rate must be 0 (as fast as possible) or 1 to 1000000000")
        }
        guard (1...1_000_000_000).contains(count) else { throw ValidationError("--count must be 1 to 1000000000") }
        guard (1...1_000_000).contains(unique) else { throw ValidationError("--unique must be 1 to 1000000") }
        guard (2...100_000).contains(tokens) else { throw ValidationError("--tokens must be 2 to 100000") }
        guard source == "synthetic" || source.hasPrefix("nats://") || FileIO.isRegularFile(source) else {
            throw ValidationError(
                "--source \(source): no such file (give synthetic, a block JSON file, a journal or nats://…)")
        }
        guard (2...Bundle.capacity).contains(bundleSize) else { throw ValidationError("--bundle-size must be 2 to 16") }
        guard bundleTimeoutUs > 0, bundleTimeoutUs <= 60e6 else {
            throw ValidationError("--bundle-timeout-us must be above 0 and at most 60000000")
        }
        guard EVMAddress(hex: executor) != nil else {
            throw ValidationError("--executor must be 0x and 40 hex digits")
        }
        guard EngineConfiguration.statusIntervalRange.contains(statusInterval) else {
            throw ValidationError("--status-interval must be \(EngineConfiguration.statusIntervalAllowed.dropFirst(4))")
        }
        guard journalPath == nil || source.hasPrefix("nats://") else {
            throw ValidationError("--journal records a NATS source; other sources are replayable as they are")
        }
        guard minProfitEth >= 0, minProfitEth <= 1e9 else { throw ValidationError("--min-profit-eth must be 0 to 1e9") }
    }

    /// Anvil's and Hardhat's account 0: public knowledge, for trying the pipeline only.
    static let developmentKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

    func run() throws {
        let clock = CycleClock.calibrate()
        let input: PendingInput
        do { input = try PendingInput(self, clock: clock) } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        var block = input.block
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
                search: search, pools: input.pools),
            output: bundleOutput, clock: clock)
        let sinkThread: PinnedThread
        do { sinkThread = try sink.start() } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        var bundleProducer = try sink.bundles.makeProducer()
        var orderProducer = try sink.orders.makeProducer()
        var builder = try BundleBuilder(
            maxTransactions: bundleSize,
            timeoutNanoseconds: CycleClock.saturatingNanoseconds(seconds: bundleTimeoutUs / 1e6))
        var stalls = 0
        func ship(_ bundle: Bundle) {
            while !bundleProducer.tryPush(bundle) {
                stalls += 1
                sched_yield()
            }
        }

        StopSignal.installHandlers()
        var analyzer = MempoolAnalyzer(
            pools: input.pools, rules: MempoolRules(minimumGasPrice: UInt128(minGasGwei) * 1_000_000_000),
            search: search,
            seen: try BloomFilter(capacity: input.bloomCapacity, falsePositiveRate: 0.0001))
        var latency = Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        var counts = [String: Int]()
        var profitWei = UInt256.zero
        let start = clock.now()
        var nextStatus = start &+ CycleClock.saturatingNanoseconds(seconds: statusInterval)
        var analysed = 0
        var backrunID: UInt64 = 0
        var victimsTooLarge = 0
        print("mempool: \(input.label); signing as \(signer.address)")
        if signingKeyFile == nil {
            print("mempool: signing with the public development key: pass --signing-key-file for bundles of your own")
        }
        fflush(nil)  // a NATS source is subscribed by now: tell whoever waits for this line

        /// Analyses one pending transaction that arrived at `due`; bundles what it opens.
        func analyse(
            _ transaction: PendingTransaction, calldata: UnsafeRawBufferPointer, raw: UnsafeRawBufferPointer,
            victimIndex: UInt64, due: UInt64, replaying: Bool = false
        ) {
            // Latency runs from arrival; a replay's arrivals are the journaled ones (for bundling),
            // its latency from when the record was read.
            let received = replaying ? clock.now() : due
            let result = analyzer.analyze(transaction, calldata: calldata)
            var now = clock.now()
            latency.record(now &- Swift.min(received, now))
            analysed += 1
            switch result {
            case .opportunity(_, let opportunity):
                counts["opportunity", default: 0] += 1
                profitWei = profitWei.addingReportingOverflow(UInt256(UInt128(opportunity.netProfit))).partialValue
                guard raw.count <= SinkOrder.victimCapacity else {
                    victimsTooLarge += 1
                    break
                }
                // The victim and our back-run go into the same bundle.
                if builder.pendingCount + 2 > builder.maxTransactions, let sealed = builder.flush() { ship(sealed) }
                backrunID &+= 1
                let order = SinkOrder(
                    order: BackrunOrder(
                        id: backrunID, victimIndex: victimIndex, opportunity: opportunity, arrival: received,
                        targetBlock: block, maxFeePerGas: transaction.gasPrice,
                        maxPriorityFeePerGas: transaction.maxPriorityFee),
                    raw: raw)
                while !orderProducer.tryPush(order) {
                    stalls += 1
                    sched_yield()
                }
                let tipGwei = UInt16(clamping: transaction.maxPriorityFee / 1_000_000_000)
                func add(_ id: UInt64, _ origin: TransactionOrigin) {
                    let handle = Transaction(
                        id: id, instrument: InstrumentID(0), side: .buy, price: Price(ticks: 0), quantity: .zero,
                        origin: origin, priorityFee: tipGwei)
                    // A bundle's timeout runs from its first victim's arrival.
                    if let sealed = builder.add(handle, now: due) { ship(sealed) }
                }
                add(victimIndex, .observed)
                add(backrunID, .strategy)
            case .noOpportunity: counts["no opportunity", default: 0] += 1
            case .reverts: counts["reverts", default: 0] += 1
            case .duplicate: counts["duplicate", default: 0] += 1
            case .filtered: counts["filtered", default: 0] += 1
            case .undecodable: counts["undecodable", default: 0] += 1
            }
            now = clock.now()
            // A replay runs on the journaled arrival times, so bundles seal as they did live.
            if let sealed = builder.poll(now: replaying ? due : now) { ship(sealed) }
            printStatus(now: now)
        }
        func printStatus(now: UInt64) {
            guard now >= nextStatus else { return }
            nextStatus = now &+ CycleClock.saturatingNanoseconds(seconds: statusInterval)
            let seconds = Double(now &- start) / 1e9
            print(
                "[\(decimal(seconds))s] analysed \(analysed) (\(Int(Double(analysed) / seconds))/s) · opportunities \(counts["opportunity"] ?? 0) · p50 \(latency.valueAtPercentile(50)) ns p99 \(latency.valueAtPercentile(99)) ns"
            )
            fflush(nil)
        }

        // NATS messages and their journal: one signed transaction each (its bytes, or 0x-hex text).
        var hexScratch: [UInt8] = []
        var received: UInt64 = 0
        var journalFailure: String? = nil
        var journalSummary: String? = nil
        func receive(_ message: UnsafeRawBufferPointer, arrival: UInt64, replaying: Bool) {
            received += 1
            func take(_ raw: UnsafeRawBufferPointer) {
                do {
                    let pending = try DecodedTransaction(raw: raw).pending
                    analyse(
                        pending,
                        calldata: UnsafeRawBufferPointer(
                            rebasing: raw[pending.calldataOffset..<(pending.calldataOffset + pending.calldataLength)]),
                        raw: raw, victimIndex: received, due: arrival, replaying: replaying)
                } catch {
                    counts["malformed", default: 0] += 1
                    if input.firstMalformed == nil { input.firstMalformed = "message \(received): \(error)" }
                }
            }
            if message.first == UInt8(ascii: "0") || message.first == 0x20 {
                if decodeHex(message, into: &hexScratch) {
                    hexScratch.withUnsafeBytes { take($0) }
                } else {
                    counts["malformed", default: 0] += 1
                    if input.firstMalformed == nil { input.firstMalformed = "message \(received): not 0x-hex text" }
                }
            } else {
                take(message)
            }
        }

        switch input.feed {
        case .recorded(let transactions, let arena):
            let interval = rate > 0 ? 1e9 / rate : 0
            while analysed < input.expected, StopSignal.received == 0 {
                let index = analysed % transactions.count
                if index == 0 && analysed > 0 {
                    // The next pass is the next block: what is still pending is analysed again for it.
                    analyzer.seen.removeAll()
                    block += 1
                }
                let transaction = transactions[index]
                // Arrival: when the transaction is due at --rate (at the maximum rate, now).
                let due =
                    rate > 0
                    ? start &+ CycleClock.saturatingNanoseconds(seconds: Double(analysed) * interval / 1e9)
                    : clock.now()
                while clock.now() < due {}
                arena.withUnsafeBytes { raw in
                    analyse(
                        transaction,
                        calldata: UnsafeRawBufferPointer(
                            rebasing: raw[
                                transaction.calldataOffset..<(transaction.calldataOffset + transaction.calldataLength)]),
                        raw: UnsafeRawBufferPointer(
                            rebasing: raw[transaction.rawOffset..<(transaction.rawOffset + transaction.rawLength)]),
                        victimIndex: UInt64(index), due: due)
                }
            }
        case .nats(let subscription):
            let journal: PendingJournalWriter?
            do {
                journal = try journalPath.map { path throws(PendingJournalError) in
                    try PendingJournalWriter(path: path, bloomCapacity: input.bloomCapacity, firstBlock: block)
                }
            } catch {
                printError("error: \(error)")
                throw ExitCode(1)
            }
            var ended = false
            while !ended, analysed < input.expected, StopSignal.received == 0 {
                let got: Bool
                do {
                    got = try subscription.next(timeoutMilliseconds: 50) { message in
                        let arrival = clock.now()
                        if message.bytes.elementsEqual(NATSInputFeed.endOfInput) {
                            ended = true
                            return
                        }
                        // Journaled ahead of the analysis, as it arrived.
                        do {
                            if try journal?.append(arrival: arrival, message.bytes) == false {
                                counts["not journaled (too large)", default: 0] += 1
                            }
                        } catch {
                            journalFailure = journalFailure ?? "\(error)"
                        }
                        receive(message.bytes, arrival: arrival, replaying: false)
                    }
                } catch {
                    printError("error: \(error)")
                    break
                }
                if !got {
                    do { try journal?.flush() } catch { journalFailure = journalFailure ?? error.description }
                    let now = clock.now()
                    if let sealed = builder.poll(now: now) { ship(sealed) }
                    printStatus(now: now)
                }
            }
            do { try journal?.close() } catch { journalFailure = journalFailure ?? error.description }
            if let journal, let journalPath {
                journalSummary = "\(journal.records) messages (\(journal.bytesWritten) bytes) to \(journalPath)"
            }
        case .journal(let journal):
            journal.bytes.withUnsafeBytes { bytes in
                for record in journal.records where StopSignal.received == 0 {
                    receive(
                        UnsafeRawBufferPointer(rebasing: bytes[record.offset..<(record.offset + record.length)]),
                        arrival: record.arrival, replaying: true)
                }
            }
        }
        if let sealed = builder.flush() { ship(sealed) }
        let seconds = Double(clock.now() &- start) / 1e9
        sink.finish()
        sinkThread.join()
        let bundles = sink.result
        let decoded = (counts["opportunity"] ?? 0) + (counts["no opportunity"] ?? 0) + (counts["reverts"] ?? 0)
        print("=== peregrine mempool: final report ===")
        print("source            \(input.label)")
        if let journalSummary { print("journal           \(journalSummary)") }
        if let journalFailure { print("journal failure   \(journalFailure)") }
        print(
            "transactions      \(analysed) seen in \(decimal(seconds, places: 2)) s (\(Int(Double(analysed) / Swift.max(seconds, 1e-9)))/s)"
                + (counts["malformed"].map {
                    " · \($0) malformed messages refused (first: \(input.firstMalformed ?? ""))"
                }
                    ?? "")
        )
        print(
            "filtered          \(counts["duplicate"] ?? 0) duplicate · \(counts["filtered"] ?? 0) by rules · \(counts["undecodable"] ?? 0) not a Router02 swap"
        )
        print("decoded swaps     \(decoded) · \(counts["reverts"] ?? 0) would revert")
        print(
            "opportunities     \(counts["opportunity"] ?? 0) · net profit \(profitWei) wei after gas"
                + (victimsTooLarge > 0
                    ? " · \(victimsTooLarge) not bundled: victim over \(SinkOrder.victimCapacity) bytes" : ""))
        var bundleLine =
            "bundles           \(bundles.bundlesSent) sent (\(bundleOutputLabel)) · \(bundles.backrunsSigned) back-runs signed"
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
        if bundles.signingFailures + bundles.writeFailures > 0 || journalFailure != nil { throw ExitCode(1) }
    }

    var bundleOutput: BundleOutput {
        guard let bundlesOut else { return .none }
        return bundlesOut.hasPrefix("nats://") ? .nats(url: bundlesOut, subject: bundlesSubject) : .file(bundlesOut)
    }

    var bundleOutputLabel: String {
        switch bundleOutput {
        case .none: return "not written: no --bundles-out"
        case .file(let path): return path == "-" ? "standard output" : path
        case .nats(let url, let subject): return "\(subject) at \(url)"
        }
    }
}

/// Where `peregrine mempool run` takes pending transactions from, with the pools they trade on.
final class PendingInput {
    enum Feed {
        /// Transactions in memory (synthetic, or a block's), replayed at --rate, one block per pass.
        case recorded([PendingTransaction], arena: [UInt8])
        /// Signed transactions from a NATS subject, as they arrive.
        case nats(NATSSubscription)
        /// The messages a NATS run journaled, with their arrival times.
        case journal(PendingJournal)
    }

    let feed: Feed
    let pools: PoolBook
    let label: String
    /// The first block the bundles target.
    let block: UInt64
    /// Transactions to analyse (the run ends there; a NATS source also ends at END).
    let expected: Int
    /// Capacity of the de-duplicating Bloom filter (a replay takes the journaled run's).
    let bloomCapacity: Int
    var firstMalformed: String?
    /// Kept open while the subscription is in use.
    private var connection: NATSConnection?

    struct SourceError: Error, CustomStringConvertible {
        var description: String
    }

    init(_ options: MempoolRun, clock: CycleClock) throws {
        let source = options.source
        if source.hasPrefix("nats://") {
            pools = try Self.pools(options.pools, tokens: options.tokens)
            let connection = try NATSConnection(NATSConnectionOptions(url: source, name: "peregrine-mempool"))
            let subscription = try connection.subscribe(
                options.subject, pendingMessages: 1 << 20, pendingBytes: 1 << 30)
            try connection.flush()
            self.connection = connection
            feed = .nats(subscription)
            label =
                "\(options.subject) at \(source) (signed transactions as sent), \(pools.pools.count) pools (\(options.pools))"
            block = options.targetBlock ?? 1
            expected = options.count
            bloomCapacity = Swift.max(options.count, 1_000)
        } else if source == "synthetic" {
            let started = clock.now()
            let flow = SyntheticSwapFlow(
                count: Swift.min(options.count, options.unique), tokenCount: options.tokens, seed: 3, signed: true)
            pools = flow.pools
            feed = .recorded(flow.transactions, arena: flow.arena)
            label =
                "synthetic, \(flow.pools.pools.count) pools over \(options.tokens) tokens, \(flow.transactions.count) signed transactions (signed in \(decimal(Double(clock.now() &- started) / 1e9, places: 2)) s); rate \(options.rate > 0 ? "\(Int(options.rate))/s" : "max")"
            block = options.targetBlock ?? 1
            expected = options.count
            bloomCapacity = Swift.max(Swift.min(options.count, flow.transactions.count), 1_000)
        } else if let journal = try Self.journal(source) {
            pools = try Self.pools(options.pools, tokens: options.tokens)
            feed = .journal(journal)
            label =
                "journal \(source): \(journal.records.count) messages as they arrived"
                + (journal.tornBytes > 0 ? " (\(journal.tornBytes) torn bytes at the end ignored)" : "")
                + ", \(pools.pools.count) pools (\(options.pools))"
            block = options.targetBlock ?? journal.firstBlock
            expected = journal.records.count
            bloomCapacity = journal.bloomCapacity
        } else {
            let inspection = try BlockInspection(contentsOf: source)
            guard !inspection.pending.isEmpty else {
                throw SourceError(description: "no pending transactions in \(source)")
            }
            pools = inspection.pools
            feed = .recorded(inspection.pending, arena: inspection.calldata)
            label =
                "block \(inspection.blockNumber) (\(source)): \(inspection.pending.count) Router02 transactions, \(inspection.pools.pools.count) pairs; rate \(options.rate > 0 ? "\(Int(options.rate))/s" : "max")"
            block = options.targetBlock ?? UInt64(inspection.blockNumber) + 1
            expected = inspection.pending.count
            bloomCapacity = Swift.max(expected, 1_000)
        }
    }

    /// The journal at `path`, or nil when the file is not one (it is then read as block traces).
    static func journal(_ path: String) throws -> PendingJournal? {
        guard let file = fopen(path, "rb") else { return nil }
        var magic = [UInt8](repeating: 0, count: PendingJournalWriter.magic.count)
        let count = magic.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        fclose(file)
        guard count == magic.count, PendingJournal.isJournal(magic) else { return nil }
        return try PendingJournal(path: path)
    }

    /// The pools a NATS source's transactions trade on: the synthetic market's, or a block's
    /// pairs at their first reserves in the block.
    static func pools(_ name: String, tokens: Int) throws -> PoolBook {
        if name == "synthetic" { return SyntheticSwapFlow(count: 1, tokenCount: tokens, seed: 3).pools }
        return try BlockInspection(contentsOf: name).pools
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
        guard FileIO.isRegularFile(block) else {
            printError("error: cannot open \(block): no such file")
            throw ExitCode(2)
        }
        do { inspection = try BlockInspection(contentsOf: block) } catch {
            printError("error: \(error)")
            throw ExitCode(1)
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

/// Publishes the synthetic signed transactions to a NATS subject, for `peregrine mempool run
/// --source nats://…` (and for trying a mempool feed by hand).
struct MempoolPublish: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish synthetic signed pending transactions to a NATS subject, one per message, then END.",
        discussion: """
            The transactions are those of `peregrine mempool run --source synthetic` with the same --count, --unique \
            and --tokens (EIP-1559, signed by 256 synthetic senders), in the same order: the stream repeats the \
            --unique distinct ones. Each message is a transaction's signed bytes, or with --hex its 0x-hex text.
            """)

    @Option(help: "NATS server URL.")
    var nats: String = "nats://127.0.0.1:4222"

    @Option(help: "Subject to publish on.")
    var subject: String = "peregrine.mempool.pending"

    @Option(help: "Transactions to publish.")
    var count: Int = 100_000

    @Option(help: "Distinct signed transactions (the stream repeats them).")
    var unique: Int = 20_000

    @Option(help: "Tokens paired with WETH in the synthetic pools.")
    var tokens: Int = 256

    @Option(help: "Transactions per second (0: as fast as the client sends).")
    var rate: Double = 0

    @Flag(help: "Send 0x-hex text instead of the bytes.")
    var hex = false

    func validate() throws {
        guard (1...1_000_000_000).contains(count) else { throw ValidationError("--count must be 1 to 1000000000") }
        guard (1...1_000_000).contains(unique) else { throw ValidationError("--unique must be 1 to 1000000") }
        guard (2...100_000).contains(tokens) else { throw ValidationError("--tokens must be 2 to 100000") }
        guard rate == 0 || EngineConfiguration.rateRange.contains(rate) else {
            throw ValidationError("--rate must be 0 (as fast as possible) or 1 to 1000000000")
        }
    }

    func run() throws {
        let flow = SyntheticSwapFlow(count: Swift.min(count, unique), tokenCount: tokens, seed: 3, signed: true)
        let connection = try NATSConnection(NATSConnectionOptions(url: nats, name: "peregrine-mempool-publisher"))
        let clock = CycleClock.calibrate()
        let start = clock.now()
        let interval = rate > 0 ? 1e9 / rate : 0
        try flow.arena.withUnsafeBytes { arena in
            for index in 0..<count {
                let transaction = flow.transactions[index % flow.transactions.count]
                let raw = UnsafeRawBufferPointer(
                    rebasing: arena[transaction.rawOffset..<(transaction.rawOffset + transaction.rawLength)])
                if rate > 0 {
                    let due = start &+ CycleClock.saturatingNanoseconds(seconds: Double(index) * interval / 1e9)
                    while clock.now() < due {}
                }
                if hex {
                    try Array(hexString(raw).utf8).withUnsafeBytes { try connection.publish(subject, $0) }
                } else {
                    try connection.publish(subject, raw)
                }
            }
        }
        try NATSInputFeed.endOfInput.withUnsafeBytes { try connection.publish(subject, $0) }
        try connection.flush()
        print("published \(count) signed transactions (\(flow.transactions.count) distinct) and END to \(subject)")
    }
}
