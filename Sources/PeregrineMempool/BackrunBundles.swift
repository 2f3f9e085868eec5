import PeregrineEVM

extension BackrunCall {
    /// Our gas limit: the search's estimate × 125%.
    public static let gasHeadroomPercent: UInt128 = 125

    /// The call for `opportunity`, whose cycle runs through `pools`. The minimum out is the
    /// input plus the gas cost: the back-run reverts (and the bundle is dropped) rather than lose.
    @inlinable
    public init(_ opportunity: Opportunity, pools: borrowing PoolBook, search: BackrunSearch) {
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
