import PeregrineEVM

extension BackrunCall {
    /// Our gas limit: the search's estimate × 125%.
    public static let gasHeadroomPercent: UInt128 = 125

    /// The call for `opportunity`, whose cycle runs through `pools`. The minimum out is the
    /// input plus the gas cost: the back-run reverts (and the bundle is dropped) rather than lose.
    @inlinable
    public init(_ opportunity: Opportunity, pools: PoolBook, search: BackrunSearch) {
        let cycle = opportunity.cycle
        var addresses = (EVMAddress.zero, EVMAddress.zero, EVMAddress.zero)
        if cycle.count > 0 { addresses.0 = pools[cycle.pool(0)].address }
        if cycle.count > 1 { addresses.1 = pools[cycle.pool(1)].address }
        if cycle.count > 2 { addresses.2 = pools[cycle.pool(2)].address }
        let estimate = search.gasBase &+ search.gasPerHop &* UInt128(cycle.count)
        let (minimum, overflow) = opportunity.amountIn.addingReportingOverflow(opportunity.gasCost)
        self.init(
            tokenIn: cycle.tokenIn(0), amountIn: opportunity.amountIn, minimumOut: overflow ? .max : minimum,
            pools: addresses, hops: cycle.count,
            gasLimit: UInt64(clamping: estimate &* Self.gasHeadroomPercent / 100))
    }
}

/// The calldata of a back-run: `backrun(address tokenIn, uint256 amountIn, uint256 minAmountOut,
/// address[] pools)`. The executor swaps `amountIn` of `tokenIn` through `pools` in order
/// (each pool's other token is the next input) and reverts unless at least `minAmountOut`
/// of `tokenIn` comes back.
public enum BackrunCalldata {
    public static let signature = "backrun(address,uint256,uint256,address[])"
    /// The first 4 bytes of Keccak-256 of the signature.
    public static let selector: [UInt8] = Array(Keccak256.hash(Array(signature.utf8)).bytes.prefix(4))

    /// The ABI encoding of `call`.
    public static func encode(_ call: BackrunCall) -> [UInt8] {
        var data = selector
        func word(_ value: UInt256) { data += value.bigEndianBytes }
        func word(_ address: EVMAddress) { data += [UInt8](repeating: 0, count: 12) + address.bytes }
        word(call.tokenIn)
        word(UInt256(call.amountIn))
        word(UInt256(call.minimumOut))
        word(UInt256(4 * 32))  // offset of the pools array
        word(UInt256(UInt128(call.hops)))
        for hop in 0..<call.hops { word(call.pool(hop)) }
        return data
    }
}

// The CLI's own mempool run (Sources/peregrine/Mempool.swift) still uses the three types below;
// they go when `peregrine mempool run` becomes the engine (issue 16, docs/plans/mempool-in-the-pipeline.md).

/// A back-run the analysis found, handed to the bundle sink: what to build and whom it follows.
/// Trivially copyable (it crosses threads on a ring).
@frozen
public struct BackrunOrder: Sendable, BitwiseCopyable {
    /// The id of our transaction in the bundle (`Transaction.id`, origin `.strategy`).
    public var id: UInt64
    /// The victim's place in the source (`Transaction.id` of the victim, origin `.observed`).
    public var victimIndex: UInt64
    public var opportunity: Opportunity
    /// Engine time (ns) at which the victim arrived.
    public var arrival: UInt64
    /// The block the bundle targets.
    public var targetBlock: UInt64
    /// Effective fee caps of the victim: ours pays the same, so it is ordered the same and the
    /// gas in `opportunity.gasCost` is what it costs.
    public var maxFeePerGas: UInt128
    public var maxPriorityFeePerGas: UInt128

    public init(
        id: UInt64, victimIndex: UInt64, opportunity: Opportunity, arrival: UInt64, targetBlock: UInt64,
        maxFeePerGas: UInt128, maxPriorityFeePerGas: UInt128
    ) {
        self.targetBlock = targetBlock
        self.id = id
        self.victimIndex = victimIndex
        self.opportunity = opportunity
        self.arrival = arrival
        self.maxFeePerGas = maxFeePerGas
        self.maxPriorityFeePerGas = maxPriorityFeePerGas
    }
}

/// What our back-run transactions are sent to and signed for.
public struct BackrunSettings: Sendable {
    /// Our executor contract, called with `backrun(address,uint256,uint256,address[])`
    /// (see docs/mempool.md for the interface it must implement).
    public var executor: EVMAddress
    public var chainID: UInt64
    /// Our account's next nonce: every bundle for the same block uses it (only one can land).
    public var nonce: UInt64
    /// Gas limit = estimate × `gasHeadroomPercent` / 100.
    public var gasHeadroomPercent: UInt64

    public init(executor: EVMAddress, chainID: UInt64 = 1, nonce: UInt64 = 0, gasHeadroomPercent: UInt64 = 125) {
        self.executor = executor
        self.chainID = chainID
        self.nonce = nonce
        self.gasHeadroomPercent = gasHeadroomPercent
    }
}

/// Turns sealed bundles into `eth_sendBundle` requests: victims as the source signed them,
/// each followed by our signed back-run. Runs on the bundle sink thread (signing allocates
/// and takes about 40 µs).
public struct BundleAssembler: Sendable {
    public let signer: EthereumSigner
    public var settings: BackrunSettings
    public var search: BackrunSearch
    public let pools: PoolBook

    public init(signer: EthereumSigner, settings: BackrunSettings, search: BackrunSearch, pools: PoolBook) {
        self.signer = signer
        self.settings = settings
        self.search = search
        self.pools = pools
    }

    /// Our signed back-run for `order`.
    public func backrun(for order: BackrunOrder) throws(SigningError) -> SignedTransaction {
        let hops = UInt128(order.opportunity.cycle.count)
        let estimate = search.gasBase &+ search.gasPerHop &* hops
        let limit = estimate &* UInt128(settings.gasHeadroomPercent) / 100
        let transaction = EIP1559Transaction(
            chainID: settings.chainID, nonce: settings.nonce, maxPriorityFeePerGas: order.maxPriorityFeePerGas,
            maxFeePerGas: order.maxFeePerGas, gasLimit: UInt64(truncatingIfNeeded: limit), to: settings.executor,
            data: BackrunCalldata.encode(BackrunCall(order.opportunity, pools: pools, search: search)))
        return try signer.sign(transaction)
    }

    /// One JSON-RPC `eth_sendBundle` request (a line of JSON) for `transactions` (signed bytes,
    /// in order) targeting `blockNumber`.
    public static func request(id: UInt64, transactions: [[UInt8]], blockNumber: UInt64) -> String {
        let txs = transactions.map { "\"\(hexString($0))\"" }.joined(separator: ",")
        return
            "{\"jsonrpc\":\"2.0\",\"id\":\(id),\"method\":\"eth_sendBundle\",\"params\":[{\"txs\":[\(txs)],\"blockNumber\":\"0x\(String(blockNumber, radix: 16))\",\"revertingTxHashes\":[]}]}"
    }
}
