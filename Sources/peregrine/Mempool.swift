import ArgumentParser
import Foundation
import Logging
import PeregrineControl
import PeregrineEVM
import PeregrineEngine
import PeregrineJournal
import PeregrineMempool
import PeregrineModel
import PeregrineNATS
import PeregrineStrategy

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
        abstract: "Run the engine on pending transactions: analyse swaps, find back-runs, send bundles.",
        discussion: """
            The engine's pipeline with a pending-transaction source: each transaction is journaled (with --journal DIR) \
            as a record of events before the logic analyses it (de-duplicate, filter, decode, simulate, search for a \
            back-run); bundles seal on event time and are signed and written as eth_sendBundle requests by the sink, \
            so `peregrine replay --journal DIR --bundles-out FILE` writes the same requests, byte for byte. \
            --source synthetic: a deterministic stream of Router02 swaps over Uniswap V2 and Sushiswap pools (see \
            docs/mempool.md). --source FILE: a block's traces JSON (the shape of \
            Tests/Fixtures/eth_block_*_traces_receipts.json); its Router02 transactions are replayed as pending \
            against the pairs' reserves at their first getReserves() in the block. --source nats://HOST:PORT: signed \
            transactions from the subject --subject, one per message (the bytes, or 0x-hex text), against the pools \
            of --pools, until --count transactions or the message END (`peregrine mempool publish` sends the \
            synthetic ones).
            """)

    @Option(help: "synthetic, a block traces JSON file, or nats://HOST:PORT.")
    var source: String = "synthetic"

    @Option(help: "Subject of pending transactions (NATS source).")
    var subject: String = "peregrine.mempool.pending"

    @Option(
        help:
            "Journal directory: every pending transaction is appended here before the logic acts on it; replay it with `peregrine replay --journal DIR`."
    )
    var journal: String?

    @Flag(
        help:
            "Replay journal records an older build (another logic revision) wrote with this build's logic, and go on from that state (docs/journal.md, \"Upgrading the engine\")."
    )
    var acceptLogicChange = false

    @Option(
        help:
            "When journaled transactions count as durable: none (OS page cache), batch (fdatasync every millisecond), every (fdatasync before the logic sees them, so no bundle leaves before its inputs are on disk)."
    )
    var durability: String = "batch"

    @Option(help: "Pools a NATS source's transactions trade on: synthetic (as --tokens), or a block traces JSON file.")
    var pools: String = "synthetic"

    @Option(parsing: .unconditional, help: "Pending transactions per second (0: as fast as the pipeline takes them).")
    var rate: Double = 100_000

    @Option(
        parsing: .unconditional, help: "Transactions to analyse (synthetic and NATS sources; a file is replayed once).")
    var count: Int = 1_000_000

    @Option(
        parsing: .unconditional,
        help:
            "Distinct signed synthetic transactions (about 40 µs each to sign at start); the stream repeats them, one block per pass."
    )
    var unique: Int = 20_000

    @Option(parsing: .unconditional, help: "Tokens paired with WETH in the synthetic pools.")
    var tokens: Int = 256

    @Option(parsing: .unconditional, help: "Least gas price in gwei for a transaction to be analysed.")
    var minGasGwei: UInt64 = 0

    @Option(
        parsing: .unconditional,
        help:
            "Least net profit after gas, in ETH (a decimal, up to 18 places, to 1000000000), for a back-run to be bundled."
    )
    var minProfitEth: String = "0.1"

    @Option(
        help:
            "Where eth_sendBundle requests go: a file (appended to) or - for standard output (one JSON line each), or nats://HOST:PORT (one message each on --bundles-subject)."
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

    @Option(parsing: .unconditional, help: "Chain id our back-runs are signed for.")
    var chainId: UInt64 = 1

    @Option(parsing: .unconditional, help: "Our account's next nonce.")
    var nonce: UInt64 = 0

    @Option(
        parsing: .unconditional,
        help: "Block the bundles target (default: the recorded block's successor; synthetic: 1, then one per pass).")
    var targetBlock: UInt64?

    @Option(
        parsing: .unconditional, help: "Transactions per bundle (victim and back-run pairs are never split): 2 to 16.")
    var bundleSize: Int = 2

    @Option(
        parsing: .unconditional,
        help: "Microseconds of event time after its first transaction when a bundle that is not full is sealed.")
    var bundleTimeoutUs: Double = 100

    @Option(help: "Stage-to-thread mapping: shared (2 hot threads; signing shares the logic's) or dedicated.")
    var topology: String = "shared"

    @Option(help: "How idle hot threads wait: spin, yield or park.")
    var wait: String = "yield"

    @Option(parsing: .unconditional, help: "Port of the metrics and health HTTP server (0: off).")
    var metricsPort: Int = 0

    @Option(parsing: .unconditional, help: "Seconds between status lines.")
    var statusInterval: Double = 1

    func validate() throws {
        guard rate == 0 || EngineConfiguration.rateRange.contains(rate) else {
            throw ValidationError("--rate must be 0 (as fast as possible) or 1 to 1000000000")
        }
        guard (1...1_000_000_000).contains(count) else { throw ValidationError("--count must be 1 to 1000000000") }
        guard (1...1_000_000).contains(unique) else { throw ValidationError("--unique must be 1 to 1000000") }
        guard (2...100_000).contains(tokens) else { throw ValidationError("--tokens must be 2 to 100000") }
        guard source == "synthetic" || source.hasPrefix("nats://") || FileIO.isRegularFile(source) else {
            throw ValidationError("--source \(source): no such file (give synthetic, a block JSON file or nats://…)")
        }
        for (flag, url) in [("--source", source), ("--bundles-out", bundlesOut ?? "")] where url.hasPrefix("nats://") {
            let address = url.dropFirst("nats://".count)
            let host = address.prefix { $0 != ":" && $0 != "/" }
            let port = address.dropFirst(host.count).dropFirst().prefix { $0 != "/" }
            guard !host.isEmpty, address.dropFirst(host.count).first != ":" || (UInt16(port).map { $0 > 0 } ?? false)
            else { throw ValidationError("\(flag) \(url): give nats://HOST:PORT (a port 1 to 65535)") }
        }
        guard (2...Bundle.capacity).contains(bundleSize) else { throw ValidationError("--bundle-size must be 2 to 16") }
        guard bundleTimeoutUs >= 0.001, bundleTimeoutUs <= 60e6 else {
            throw ValidationError("--bundle-timeout-us must be 0.001 to 60000000")
        }
        guard let executorAddress = EVMAddress(hex: executor) else {
            throw ValidationError("--executor must be 0x and 40 hex digits")
        }
        guard executorAddress != .zero else {
            throw ValidationError(
                "--executor \(executor): our back-runs call the executor contract; the zero address runs no code, so "
                    + "nothing would check their minimum output")
        }
        guard chainId > 0 else { throw ValidationError("--chain-id 0: give the chain's id (1 for mainnet; EIP-155)") }
        guard EngineConfiguration.statusIntervalRange.contains(statusInterval) else {
            throw ValidationError("--status-interval must be \(EngineConfiguration.statusIntervalAllowed.dropFirst(4))")
        }
        guard let wei = Self.wei(eth: minProfitEth), wei <= 1_000_000_000 * Self.weiPerEth else {
            throw ValidationError(
                "--min-profit-eth \(minProfitEth): give ETH as a decimal of at most 18 places, 0 to 1000000000")
        }
        // Block numbers and nonces count up from these (one block per synthetic pass, one nonce
        // per back-run of a bundle): far below where they would wrap.
        guard targetBlock.map({ $0 >= 1 && $0 <= 1 << 62 }) ?? true else {
            throw ValidationError("--target-block must be 1 to 4611686018427387904 (2^62)")
        }
        guard nonce <= 1 << 62 else { throw ValidationError("--nonce must be 0 to 4611686018427387904 (2^62)") }
        guard pools == "synthetic" || FileIO.isRegularFile(pools) else {
            throw ValidationError("--pools \(pools): no such file (give synthetic or a block JSON file)")
        }
        guard pools == "synthetic" || source.hasPrefix("nats://") else {
            throw ValidationError(
                "--pools is for a NATS source (a block file or the synthetic source has its own pools)")
        }
        if let bundlesOut, bundlesOut != "-", !bundlesOut.hasPrefix("nats://") {
            guard !FileIO.isDirectory(bundlesOut) else {
                throw ValidationError("--bundles-out \(bundlesOut) is a directory: give a file")
            }
            let parent = (bundlesOut as NSString).deletingLastPathComponent
            guard FileIO.isDirectory(parent.isEmpty ? "." : parent) else {
                throw ValidationError("--bundles-out \(bundlesOut): no directory \(parent)")
            }
        }
        guard ["none", "batch", "every"].contains(durability) else {
            throw ValidationError("--durability must be none, batch or every")
        }
        guard Topology(rawValue: topology) != nil else {
            throw ValidationError("--topology must be shared or dedicated")
        }
        guard ["spin", "yield", "park"].contains(wait) else {
            throw ValidationError("--wait must be spin, yield or park")
        }
        guard (0...65_535).contains(metricsPort) else { throw ValidationError("--metrics-port must be 0 to 65535") }
    }

    static let weiPerEth: UInt128 = 1_000_000_000_000_000_000

    /// `text` ETH in wei, exactly: digits with at most 18 after a point; nil otherwise (a sign,
    /// an exponent, more places than wei has, or more than 10^20 ETH).
    static func wei(eth text: String) -> UInt128? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count == 2 ? parts[1] : ""
        guard !(whole.isEmpty && fraction.isEmpty), whole.count <= 20, fraction.count <= 18,
            (whole + fraction).allSatisfy({ $0.isASCII && $0.isNumber })
        else { return nil }
        let places = String(fraction) + String(repeating: "0", count: 18 - fraction.count)
        guard let units = UInt128(whole.isEmpty ? "0" : String(whole)), let small = UInt128(places) else { return nil }
        return units * weiPerEth + small
    }

    /// Anvil's and Hardhat's account 0: public knowledge, for trying the pipeline only.
    static let developmentKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

    /// The first bytes of the pending-transaction journal older builds wrote (`--journal FILE`).
    static let oldJournalMagic = Array("PGMEMPL1".utf8)

    func run() throws {
        if source != "synthetic", !source.hasPrefix("nats://"), Self.startsWith(source, Self.oldJournalMagic) {
            printError(
                "error: \(source) is a pending-transaction journal written by an older peregrine (PGMEMPL1); pending "
                    + "transactions are now journaled in the engine's journal. Replay that file with the build that "
                    + "wrote it, or record the feed again with `peregrine mempool run --source nats://… --journal DIR` "
                    + "and replay it with `peregrine replay --journal DIR --bundles-out FILE`")
            throw ExitCode(2)
        }
        if let journal, Self.startsWith(journal, Self.oldJournalMagic) {
            printError(
                "error: --journal \(journal) is a pending-transaction journal written by an older peregrine (PGMEMPL1); "
                    + "this build journals into a directory (--journal DIR). Replay that file with the build that wrote "
                    + "it, or give a new directory")
            throw ExitCode(2)
        }
        let signer: EthereumSigner
        do { signer = try Self.signer(keyFile: signingKeyFile) } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
        let configuration = makeConfiguration()
        do { try configuration.validate() } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
        let settings = configuration.mempool ?? MempoolSettings()
        let outputs = BundleRequestOutputs(
            signer: signer, settings: settings, destination: bundleOutputLabel, delivery: bundleDelivery)
        StopSignal.installHandlers()
        let logger = LogSetup.bootstrap(level: configuration.logLevel)
        let controlPlane =
            metricsPort > 0
            ? ControlPlane(port: metricsPort, address: "127.0.0.1", logger: Logger(label: "peregrine.control")) : nil
        defer { controlPlane?.stop() }
        let status = { (line: String) in
            say(line)
            fflush(nil)
        }
        let report: EngineReport
        do {
            if source.hasPrefix("nats://") {
                let pools = try Self.pools(self.pools, tokens: tokens)
                let feed: NATSPendingFeed
                do {
                    feed = try NATSPendingFeed(
                        url: source, subject: subject,
                        pools: PendingFeed.pools(
                            pools, headBlock: (targetBlock ?? 1) &- 1,
                            label: "\(pools.pools.count) pools (\(self.pools))"))
                } catch {
                    printError("error: \(error)")
                    throw ExitCode(1)
                }
                let plan = NATSPendingPlan(feed: feed, count: count)
                announce(plan.description, signer: signer)  // subscribed: whoever waits for this line may publish
                report = try run(configuration, source: plan, outputs: outputs, logger: logger, controlPlane, status)
            } else {
                let feed: PendingFeed
                let started = Date()
                if source == "synthetic" {
                    feed = PendingFeed.synthetic(
                        unique: Swift.min(count, unique), tokens: tokens, headBlock: (targetBlock ?? 1) &- 1,
                        chainID: chainId)
                } else {
                    let inspection = try BlockInspection(contentsOf: source)
                    guard !inspection.pending.isEmpty else {
                        printError("error: no pending transactions (Router02 calls) in \(source)")
                        throw ExitCode(1)
                    }
                    feed = PendingFeed.block(inspection, path: source, headBlock: targetBlock.map { $0 &- 1 })
                }
                let plan = PendingTransactionPlan(
                    feed: feed, count: source == "synthetic" ? count : feed.transactionCount, rate: rate)
                announce(
                    plan.description + " (set up in \(decimal(Date().timeIntervalSince(started), places: 2)) s)",
                    signer: signer)
                report = try run(configuration, source: plan, outputs: outputs, logger: logger, controlPlane, status)
            }
        } catch let error as ExitCode {
            throw error
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        say(report.formatted)
        let totals = outputs.totals.value
        var line =
            "bundle requests   \(grouped(totals.requests)) "
            + (bundlesOut == nil ? "built, written nowhere (no --bundles-out)" : "written (\(totals.destination))")
            + " · \(grouped(totals.backrunsSigned)) back-runs signed"
        if totals.withoutVictimBytes > 0 {
            line +=
                " · \(grouped(totals.withoutVictimBytes)) not sent: the source has no signed bytes for their victims"
        }
        if totals.failures > 0 {
            line += " · \(grouped(totals.failures)) failed (first: \(totals.firstFailure ?? ""))"
        }
        say(line)
        if totals.failures > 0 || !report.isLossless { throw ExitCode(1) }
    }

    func announce(_ source: String, signer: EthereumSigner) {
        say("mempool: \(source); signing as \(signer.address)")
        if signingKeyFile == nil {
            say("mempool: signing with the public development key: pass --signing-key-file for bundles of your own")
        }
        fflush(nil)
    }

    func say(_ line: String) { printForPeople(line, bundlesOut: bundlesOut) }

    func run<Plan: SourcePlan>(
        _ configuration: EngineConfiguration, source: Plan, outputs: BundleRequestOutputs, logger: Logger,
        _ controlPlane: ControlPlane?, _ status: (String) -> Void
    ) throws(EngineError) -> EngineReport {
        if let directory = configuration.journalDirectory {
            return try Pipeline.run(
                configuration: configuration, source: source, journal: FileJournalPlan(directory: directory),
                outputs: outputs, custom: IdleStrategy.self, observer: controlPlane, logger: logger, status: status)
        }
        return try Pipeline.run(
            configuration: configuration, source: source, journal: NoJournal(), outputs: outputs,
            custom: IdleStrategy.self, observer: controlPlane, logger: logger, status: status)
    }

    func makeConfiguration() -> EngineConfiguration {
        var configuration = EngineConfiguration()
        configuration.instruments = 1
        configuration.durationSeconds = nil
        configuration.metricsPort = metricsPort
        configuration.statusIntervalSeconds = statusInterval
        configuration.topology = Topology(rawValue: topology) ?? .shared
        switch wait {
        case "spin": configuration.waitStrategy = .spin
        case "park": configuration.waitStrategy = .park
        default: configuration.waitStrategy = .yield
        }
        configuration.journalDirectory = journal
        configuration.acceptLogicChange = acceptLogicChange
        switch durability {
        case "none": configuration.durability = .none
        case "every": configuration.durability = .every
        default: configuration.durability = .batch(intervalMicroseconds: 1_000, events: 65_536)
        }
        var settings = MempoolSettings()
        // Per block: the distinct transactions one pass can bring.
        let perBlock = source == "synthetic" ? Swift.min(count, unique) : count
        settings.bloomCapacity = Swift.min(Swift.max(perBlock, 1_000), 4_000_000)
        settings.minimumGasPriceGwei = minGasGwei
        settings.minimumProfitWei = Self.wei(eth: minProfitEth) ?? settings.minimumProfitWei
        settings.bundleSize = bundleSize
        // validate() bounds it to 0.001 ... 6e7 µs: the conversion cannot trap.
        settings.bundleTimeoutNanoseconds = UInt64((bundleTimeoutUs * 1_000).rounded())
        settings.executor = EVMAddress(hex: executor) ?? settings.executor
        settings.chainID = chainId
        settings.nonce = nonce
        configuration.mempool = settings
        return configuration
    }

    /// The signer: the key in `keyFile`, or the public development key.
    static func signer(keyFile: String?) throws(MempoolRunError) -> EthereumSigner {
        var text = developmentKey
        if let keyFile {
            do { text = try String(contentsOfFile: keyFile, encoding: .utf8) } catch {
                throw MempoolRunError("cannot read the signing key file \(keyFile): \(error.localizedDescription)")
            }
        }
        do { return try EthereumSigner(privateKeyHex: text) } catch {
            throw MempoolRunError("\(keyFile ?? "the development key"): \(error)")
        }
    }

    var bundleDelivery: (@Sendable () throws -> BundleDelivery)? {
        guard let bundlesOut else { return nil }
        if bundlesOut.hasPrefix("nats://") {
            let subject = bundlesSubject
            return { try NATSBundleDelivery(url: bundlesOut, subject: subject) }
        }
        return { try FileBundleDelivery(path: bundlesOut, append: true) }
    }

    var bundleOutputLabel: String {
        guard let bundlesOut else { return "nowhere: no --bundles-out" }
        if bundlesOut.hasPrefix("nats://") { return "\(bundlesSubject) at \(bundlesOut)" }
        return bundlesOut == "-" ? "standard output" : bundlesOut
    }

    /// Whether the file at `path` starts with `prefix`.
    static func startsWith(_ path: String, _ prefix: [UInt8]) -> Bool {
        guard let file = fopen(path, "rb") else { return false }
        defer { fclose(file) }
        var head = [UInt8](repeating: 0, count: prefix.count)
        let read = head.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        return read == prefix.count && head == prefix
    }

    /// The pools a NATS source's transactions trade on: the synthetic market's, or a block's
    /// pairs at their first reserves in the block.
    static func pools(_ name: String, tokens: Int) throws -> PoolBook {
        if name == "synthetic" { return SyntheticSwapFlow(count: 1, tokenCount: tokens, seed: 3).pools }
        return try BlockInspection(contentsOf: name).pools
    }
}

/// A mistake in `mempool run`'s set-up (exit 2).
struct MempoolRunError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

struct MempoolInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List the Uniswap V2 sandwiches and cyclic arbitrages in a mined block's traces.",
        discussion: """
            A profit in WETH is shown in ETH (18 decimals, exact); in another token, in that token's base units \
            (its decimals are not in the traces). --json prints one object for scripts, amounts as exact decimal \
            strings.
            """)

    @Option(help: "A block traces JSON file (the shape of Tests/Fixtures/eth_block_*_traces_receipts.json).")
    var block: String

    @Flag(help: "Print one JSON object (the block, its sandwiches and arbitrages) instead of the listing.")
    var json = false

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
        if json {
            print(Self.json(inspection, sandwiches, arbitrages))
            return
        }
        print(
            "block \(inspection.blockNumber): \(inspection.swaps.count) Uniswap V2-style swaps, \(sandwiches.count) sandwich(es), \(arbitrages.count) arbitrage(s)"
        )
        for sandwich in sandwiches {
            print(
                "sandwich by \(sandwich.sandwicher) in pool \(sandwich.frontrun.pool), profit "
                    + Self.amount(sandwich.profit, of: sandwich.frontrun.tokenIn))
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
                "arbitrage \(first.transactionHash) (position \(first.transactionPosition)): \(arbitrage.swaps.count) swaps, profit "
                    + Self.amount(arbitrage.profit, of: arbitrage.profitToken))
        }
    }

    /// `units` of `token` for people: ETH for WETH (18 decimals, exact), else base units.
    static func amount(_ units: UInt256, of token: EVMAddress) -> String {
        if let ether = ether(units, of: token) { return "\(ether) ETH (WETH \(token))" }
        return "\(units) base units of \(token)"
    }

    /// `units` of WETH as ETH with 18 decimals, exactly (`ethText`); nil for another token (or
    /// past 2^128 wei).
    static func ether(_ units: UInt256, of token: EVMAddress) -> String? {
        guard token == SwapSimulator.weth, let wei = units.uint128 else { return nil }
        return ethText(wei)
    }

    /// The inspection as one JSON object: amounts as exact decimal strings (base units, and ETH
    /// for WETH).
    static func json(_ inspection: BlockInspection, _ sandwiches: [Sandwich], _ arbitrages: [MinedArbitrage]) -> String
    {
        func transaction(_ swap: MinedSwap) -> [String: Any] {
            ["hash": swap.transactionHash, "position": swap.transactionPosition]
        }
        func profit(_ units: UInt256, _ token: EVMAddress) -> [String: Any] {
            var object: [String: Any] = ["token": "\(token)", "base_units": "\(units)"]
            if let ether = ether(units, of: token) { object["eth"] = ether }
            return object
        }
        let object: [String: Any] = [
            "block": inspection.blockNumber, "swaps": inspection.swaps.count,
            "sandwiches": sandwiches.map { sandwich -> [String: Any] in
                [
                    "sandwicher": "\(sandwich.sandwicher)", "pool": "\(sandwich.frontrun.pool)",
                    "profit": profit(sandwich.profit, sandwich.frontrun.tokenIn),
                    "frontrun": transaction(sandwich.frontrun), "victims": sandwich.victims.map(transaction),
                    "backrun": transaction(sandwich.backrun),
                ]
            },
            "arbitrages": arbitrages.map { arbitrage -> [String: Any] in
                [
                    "transaction": arbitrage.swaps.first.map(transaction) ?? [:], "swaps": arbitrage.swaps.count,
                    "profit": profit(arbitrage.profit, arbitrage.profitToken),
                ]
            },
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
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

    @Option(parsing: .unconditional, help: "Transactions to publish.")
    var count: Int = 100_000

    @Option(parsing: .unconditional, help: "Distinct signed transactions (the stream repeats them).")
    var unique: Int = 20_000

    @Option(parsing: .unconditional, help: "Tokens paired with WETH in the synthetic pools.")
    var tokens: Int = 256

    @Option(parsing: .unconditional, help: "Transactions per second (0: as fast as the client sends).")
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
        let distinct = try NATSPendingFeed.publishSynthetic(
            url: nats, subject: subject, count: count, unique: unique, tokens: tokens, rate: rate, hex: hex)
        print("published \(count) signed transactions (\(distinct) distinct) and END to \(subject)")
    }
}
