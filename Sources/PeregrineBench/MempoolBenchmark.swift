import Histogram
import PeregrineCore
import PeregrineEVM
import PeregrineEngine
import PeregrineMempool
import Synchronization

/// `peregrine bench mempool`: a synthetic stream of pending swaps analysed on one thread
/// (latency per transaction, throughput), then the bundle sink's signing and the intake of
/// signed bytes. Returns its figures; the command prints them as lines or JSON.
public struct MempoolBenchmark: Sendable {
    public var transactions: Int
    public var tokens: Int
    public var count: Int
    /// The key the back-runs are signed with (a development key: never funded).
    public var developmentKey: String

    public init(transactions: Int, tokens: Int, count: Int, developmentKey: String) {
        self.transactions = transactions
        self.tokens = tokens
        self.count = count
        self.developmentKey = developmentKey
    }

    /// What the benchmark measured.
    public struct Result: Sendable {
        /// Transactions analysed per measurement, the pools and tokens they swap through.
        public var count: Int
        public var pools: Int
        public var tokens: Int
        /// How the latency pass's transactions ended, by outcome ("no opportunity", …).
        public var outcomes: [String: Int]
        /// Per transaction, ns: percentile (50, 99, 99.9) → value.
        public var latencyPercentiles: [(percentile: Double, nanoseconds: UInt64)]
        public var latencyMaxNanoseconds: UInt64
        /// The throughput pass: seconds for `count` transactions, and the opportunities found.
        public var throughputSeconds: Double
        public var opportunities: Int
        /// The bundle sink: back-runs built, signed and written, ns each, and bytes per request
        /// (nil when the stream held no opportunity).
        public var bundle: (backruns: Int, nanosecondsEach: Double, requestBytes: Int)?
        /// A signed transaction's decode, ns, of which Keccak-256, and its size in bytes.
        public var signedDecodeNanoseconds: Double
        public var keccakNanoseconds: Double
        public var signedBytes: Int

        /// Transactions analysed per second in the throughput pass.
        public var transactionsPerSecond: Double { Double(count) / Swift.max(throughputSeconds, 1e-9) }
    }

    public func run() throws -> Result {
        let flow = SyntheticSwapFlow(count: transactions, tokenCount: tokens, seed: 3)
        let clock = CycleClock.calibrate()
        var analyzer = MempoolAnalyzer(
            pools: flow.pools, seen: try BloomFilter(capacity: count * 2 + 1_000, falsePositiveRate: 0.001))
        var histogram = Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: 1_000_000_000, numberOfSignificantValueDigits: .three)
        var outcomes = [String: Int]()
        var serial: UInt64 = 0
        func next() -> (PendingTransaction, Int) {
            let index = Int(serial % UInt64(flow.transactions.count))
            var transaction = flow.transactions[index]
            serial &+= 1
            transaction.hash.words.3 = serial
            return (transaction, index)
        }
        // Latency per transaction.
        for _ in 0..<count {
            let (transaction, index) = next()
            let start = clock.now()
            let result = flow.withCalldata(of: index) { analyzer.analyze(transaction, calldata: $0) }
            histogram.record(clock.now() &- start)
            switch result {
            case .opportunity: outcomes["opportunity", default: 0] += 1
            case .noOpportunity: outcomes["no opportunity", default: 0] += 1
            case .reverts: outcomes["reverts", default: 0] += 1
            case .duplicate: outcomes["duplicate", default: 0] += 1
            case .filtered: outcomes["filtered", default: 0] += 1
            case .undecodable: outcomes["undecodable", default: 0] += 1
            }
        }
        // Throughput without per-transaction clocks.
        let start = clock.now()
        var found = 0
        for _ in 0..<count {
            let (transaction, index) = next()
            if case .opportunity = flow.withCalldata(of: index, { analyzer.analyze(transaction, calldata: $0) }) {
                found &+= 1
            }
        }
        let seconds = Double(clock.now() &- start) / 1e9
        let bundle = try benchBackrunSigning(flow: flow, clock: clock)
        let intake = benchSignedIntake(clock: clock)
        return Result(
            count: count, pools: flow.pools.pools.count, tokens: tokens, outcomes: outcomes,
            latencyPercentiles: [50, 99, 99.9].map { ($0, histogram.valueAtPercentile($0)) },
            latencyMaxNanoseconds: histogram.max, throughputSeconds: seconds, opportunities: found,
            bundle: bundle, signedDecodeNanoseconds: intake.decode,
            keccakNanoseconds: intake.keccak, signedBytes: intake.bytes)
    }

    /// What a live feed adds per transaction before the analysis: decoding its signed bytes
    /// into a `PendingTransaction`, of which Keccak-256 (the transaction hash) is most.
    func benchSignedIntake(clock: CycleClock) -> (decode: Double, keccak: Double, bytes: Int) {
        let flow = SyntheticSwapFlow(count: 2_000, tokenCount: tokens, seed: 5, signed: true)
        // 100 passes at the default count; fewer for a short run (one below 40,000).
        let rounds = Swift.min(100, Swift.max(1, count / 20_000))
        var check: UInt64 = 0
        var bytes = 0
        var start = clock.now()
        flow.arena.withUnsafeBytes { arena in
            for _ in 0..<rounds {
                for transaction in flow.transactions {
                    let raw = UnsafeRawBufferPointer(
                        rebasing: arena[transaction.rawOffset..<(transaction.rawOffset + transaction.rawLength)])
                    if let decoded = try? DecodedTransaction(raw: raw) { check &+= decoded.pending.nonce }
                    bytes &+= raw.count
                }
            }
        }
        let decodeNanoseconds = Double(clock.now() &- start) / Double(rounds * flow.transactions.count)
        start = clock.now()
        flow.arena.withUnsafeBytes { arena in
            for _ in 0..<rounds {
                for transaction in flow.transactions {
                    let raw = UnsafeRawBufferPointer(
                        rebasing: arena[transaction.rawOffset..<(transaction.rawOffset + transaction.rawLength)])
                    check &+= Keccak256.hash(raw).words.0
                }
            }
        }
        let keccakNanoseconds = Double(clock.now() &- start) / Double(rounds * flow.transactions.count)
        Self.keep(check)
        return (decodeNanoseconds, keccakNanoseconds, bytes / (rounds * flow.transactions.count))
    }

    /// Where `keep` stores: a store the optimiser must do, so the loops feeding it stay.
    static let kept = Atomic<UInt64>(0)

    /// Keeps `value`, so the loops that computed it are not optimised away.
    static func keep(_ value: UInt64) { kept.store(value, ordering: .relaxed) }

    /// What the bundle sink does per opportunity: build the back-run (executor calldata, EIP-1559
    /// fields), sign it with libsecp256k1, and write the eth_sendBundle request.
    func benchBackrunSigning(flow: SyntheticSwapFlow, clock: CycleClock) throws -> (
        backruns: Int, nanosecondsEach: Double, requestBytes: Int
    )? {
        var analyzer = MempoolAnalyzer(
            pools: flow.pools, seen: try BloomFilter(capacity: 100_000, falsePositiveRate: 0.001))
        var orders: [BundleLeg] = []
        for index in 0..<flow.transactions.count where orders.count < 2_000 {
            let transaction = flow.transactions[index]
            if case .opportunity(_, let opportunity) = flow.withCalldata(
                of: index, { analyzer.analyze(transaction, calldata: $0) })
            {
                var leg = BundleLeg.empty
                leg.backrunID = UInt64(orders.count)
                leg.call = BackrunCall(opportunity, pools: flow.pools, search: BackrunSearch())
                leg.maxFeePerGas = transaction.gasPrice
                leg.maxPriorityFeePerGas = transaction.maxPriorityFee
                orders.append(leg)
            }
        }
        guard !orders.isEmpty else { return nil }
        let assembler = BundleRequestWriter(
            signer: try EthereumSigner(privateKeyHex: developmentKey), settings: MempoolSettings(), delivery: nil)
        var bytes = 0
        let start = clock.now()
        for order in orders {
            let signed = try assembler.backrun(for: order)
            bytes &+=
                BundleRequestWriter.request(
                    id: order.backrunID, transactions: [signed.raw, signed.raw], blockNumber: 1
                )
                .utf8.count
        }
        let perBundle = Double(clock.now() &- start) / Double(orders.count)
        return (orders.count, perBundle, bytes / orders.count)
    }
}
