import PeregrineEVM

/// What happened to one pending transaction in the analyzer.
@frozen
public enum AnalysisResult: Equatable, Sendable {
    /// Seen before (by the Bloom filter; rarely a false positive).
    case duplicate
    /// Refused by a rule: not to an allowed router, below the minimum value or gas price, or a
    /// fee cap below the next block's base fee (it cannot be mined there).
    case filtered
    /// Not a Router02 swap the decoder accepts.
    case undecodable(SwapDecodeError)
    /// The swap would revert against the current pools.
    case reverts(SwapRevert)
    /// Decoded and simulated; no profitable back-run after gas.
    case noOpportunity(SwapIntent)
    case opportunity(SwapIntent, Opportunity)
}

/// Filter rules for pending transactions.
public struct MempoolRules: Sendable {
    /// Routers whose transactions are analysed (Router02 by default).
    public var routers: [EVMAddress]
    /// Least ETH value (wei) for swaps paying with ETH; 0 accepts all.
    public var minimumValue: UInt256
    /// Least gas price (wei) a transaction pays: its fee cap, or the base fee and its tip when
    /// less (`PendingTransaction.effectiveGasPrice`).
    public var minimumGasPrice: UInt128

    public init(
        routers: [EVMAddress] = [uniswapV2Router02], minimumValue: UInt256 = .zero, minimumGasPrice: UInt128 = 0
    ) {
        self.routers = routers
        self.minimumValue = minimumValue
        self.minimumGasPrice = minimumGasPrice
    }
}

/// The mempool pipeline's logic for one pending transaction: de-duplicate (Bloom filter),
/// filter (rules), decode (Router02), simulate the swap on the pools, search for the best
/// back-run on the moved pools, then put the pools back (a pending swap is not mined; every
/// transaction is analysed against the confirmed state). No allocation per transaction.
public struct MempoolAnalyzer: ~Copyable {
    public var pools: PoolBook
    public var rules: MempoolRules
    public var search: BackrunSearch
    public var seen: BloomFilter
    /// Base fee of the next block, wei: our back-run pays it and the victim's tip (at most its
    /// fee cap), and a victim whose fee cap is below it is filtered.
    public var baseFee: UInt128
    /// The least timestamp of the next block (Unix s; 0 unknown): a swap whose deadline is
    /// before it reverts (`EXPIRED`).
    public var nextTimestamp: UInt64 = 0

    public init(
        pools: PoolBook, rules: MempoolRules = MempoolRules(), search: BackrunSearch = BackrunSearch(),
        seen: consuming BloomFilter, baseFee: UInt128 = 0
    ) {
        self.pools = pools
        self.rules = rules
        self.search = search
        self.seen = seen
        self.baseFee = baseFee
    }

    /// The call our back-run makes for `opportunity` (found by this analyzer, on its pools).
    /// Borrows the pools: no copy, no reference counting (an initialiser would take them owned).
    @inlinable
    public func backrunCall(for opportunity: Opportunity) -> BackrunCall {
        BackrunCall(opportunity, pools: pools, search: search)
    }

    /// Analyses `transaction`, whose calldata is `calldata`.
    public mutating func analyze(_ transaction: PendingTransaction, calldata: UnsafeRawBufferPointer) -> AnalysisResult
    {
        // Not mined in the next block, so nothing to back-run there; not marked as seen, so a
        // lower base fee later lets it in.
        if transaction.gasPrice < baseFee { return .filtered }
        if seen.insert(transaction.hash) { return .duplicate }
        var allowed = false
        for router in rules.routers where router == transaction.to { allowed = true }
        // The price it pays per gas (its fee cap, or less: the base fee and its tip).
        guard allowed, transaction.effectiveGasPrice(baseFee: baseFee) >= rules.minimumGasPrice else {
            return .filtered
        }
        let intent: SwapIntent
        do { intent = try RouterDecoder.decode(calldata, value: transaction.value) } catch {
            return .undecodable(error)
        }
        if !intent.function.paysWithETH && transaction.value != .zero { return .reverts(.nonPayable) }
        if intent.function.paysWithETH && transaction.value < rules.minimumValue { return .filtered }
        // Keep the pools the swap will move, apply it, search, restore.
        var touched = (0, 0, 0, 0)
        let blank = ConstantProductPool(address: .zero, token0: .zero, token1: .zero, reserve0: 0, reserve1: 0)
        var saved = (blank, blank, blank, blank)
        let hops = Swift.min(intent.path.hops, 4)
        for hop in 0..<hops {
            guard let index = pools.index(intent.path[hop], intent.path[hop + 1]) else {
                return .reverts(.unknownPool(hop: hop))
            }
            withUnsafeMutableBytes(of: &touched) { $0.storeBytes(of: index, toByteOffset: hop * 8, as: Int.self) }
            withUnsafeMutableBytes(of: &saved) {
                $0.storeBytes(
                    of: pools[index], toByteOffset: hop * MemoryLayout<ConstantProductPool>.stride,
                    as: ConstantProductPool.self)
            }
        }
        do {
            _ = try SwapSimulator.simulate(
                intent, pools: &pools, timestamp: nextTimestamp > 0 ? nextTimestamp : nil, commit: true)
        } catch { return .reverts(error) }
        let best = search.best(
            touching: touched, touchedCount: hops, pools: pools, victim: transaction.hash,
            gasPrice: transaction.effectiveGasPrice(baseFee: baseFee))
        var hop = hops
        while hop > 0 {
            hop -= 1
            let index = withUnsafeBytes(of: touched) { $0.load(fromByteOffset: hop * 8, as: Int.self) }
            pools[index] = withUnsafeBytes(of: saved) {
                $0.load(fromByteOffset: hop * MemoryLayout<ConstantProductPool>.stride, as: ConstantProductPool.self)
            }
        }
        if let best { return .opportunity(intent, best) }
        return .noOpportunity(intent)
    }
}
