import PeregrineEVM

/// Why a simulated router swap would revert.
public enum SwapRevert: Error, Equatable, Sendable, CustomStringConvertible {
    /// Exact input: the output is below `amountOutMin` (`INSUFFICIENT_OUTPUT_AMOUNT`).
    case insufficientOutputAmount
    /// Exact output: the input needed is above `amountInMax` or the ETH sent (`EXCESSIVE_INPUT_AMOUNT`).
    case excessiveInputAmount
    /// An ETH function whose path does not start (or end) with WETH (`INVALID_PATH`).
    case invalidPath
    /// The block is past the deadline (`EXPIRED`).
    case expired
    /// ETH sent to a swap function that takes none (the router's non-payable functions).
    case nonPayable
    /// No pool for this hop in the pool book.
    case unknownPool(hop: Int)
    case amm(AMMError)

    public var description: String {
        switch self {
        case .insufficientOutputAmount: return "insufficient output amount (below amountOutMin)"
        case .excessiveInputAmount: return "excessive input amount (above amountInMax)"
        case .invalidPath: return "invalid path (ETH swaps start or end with WETH)"
        case .expired: return "expired (past the deadline)"
        case .nonPayable: return "ETH sent to a function that takes none (non-payable)"
        case .unknownPool(let hop): return "no known pool for hop \(hop)"
        case .amm(let error): return error.description
        }
    }
}

/// The amounts along a simulated swap's path: `amounts[0]` in, `amounts[i + 1]` out of hop i.
@frozen
public struct SwapAmounts: Equatable, Sendable, BitwiseCopyable {
    @usableFromInline var values: (UInt128, UInt128, UInt128, UInt128, UInt128)
    public var count: Int

    @inlinable
    public init(count: Int) {
        values = (0, 0, 0, 0, 0)
        self.count = count
    }

    /// The amounts as an array (for tests and printing).
    public var array: [UInt128] { (0..<count).map { self[$0] } }

    public static func == (lhs: SwapAmounts, rhs: SwapAmounts) -> Bool { lhs.array == rhs.array }

    @inlinable
    public subscript(index: Int) -> UInt128 {
        get { withUnsafeBytes(of: values) { $0.load(fromByteOffset: index &* 16, as: UInt128.self) } }
        set {
            withUnsafeMutableBytes(of: &values) {
                $0.storeBytes(of: newValue, toByteOffset: index &* 16, as: UInt128.self)
            }
        }
    }
}

/// Runs a decoded Router02 swap against pool reserves exactly as the router would: amounts
/// hop by hop (`getAmountsOut` forward for exact input, `getAmountsIn` backward for exact
/// output), the slippage check, and — when it would not revert and `commit` is true — the new
/// reserves. No allocation.
///
/// Fee-on-transfer tokens are simulated as if they took no fee (the fee is the token's own
/// business); the router's balance-based check is taken on the computed output.
public enum SwapSimulator {
    /// Wrapped ether on mainnet, which ETH swap paths must start or end with.
    public static let weth = EVMAddress(first: 0xc02a_aa39_b223_fe8d, second: 0x0a0e_5c4f_27ea_d908, third: 0x3c75_6cc2)

    public static func simulate(
        _ intent: SwapIntent, pools: inout PoolBook, timestamp: UInt64? = nil, commit: Bool = true,
        weth: EVMAddress = SwapSimulator.weth
    ) throws(SwapRevert) -> SwapAmounts {
        let path = intent.path
        let hops = path.hops
        if let timestamp, intent.deadline < timestamp { throw .expired }
        if intent.function.paysWithETH && path[0] != weth { throw .invalidPath }
        if intent.function.paysOutETH && path[hops] != weth { throw .invalidPath }
        var poolIndex = (0, 0, 0, 0)
        for hop in 0..<hops {
            guard let index = pools.index(path[hop], path[hop &+ 1]) else { throw .unknownPool(hop: hop) }
            withUnsafeMutableBytes(of: &poolIndex) { $0.storeBytes(of: index, toByteOffset: hop &* 8, as: Int.self) }
        }
        func pool(_ hop: Int) -> Int {
            withUnsafeBytes(of: poolIndex) { $0.load(fromByteOffset: hop &* 8, as: Int.self) }
        }

        var amounts = SwapAmounts(count: path.count)
        if intent.function.isExactInput {
            guard let amountIn = intent.amountSpecified.uint128 else { throw .amm(.overflow) }
            amounts[0] = amountIn
            for hop in 0..<hops {
                guard let (reserveIn, reserveOut) = pools[pool(hop)].reserves(from: path[hop]) else {
                    throw .unknownPool(hop: hop)
                }
                do {
                    amounts[hop &+ 1] = try ConstantProduct.amountOut(
                        in: amounts[hop], reserveIn: reserveIn, reserveOut: reserveOut)
                } catch { throw .amm(error) }
            }
            if UInt256(amounts[hops]) < intent.amountLimit { throw .insufficientOutputAmount }
        } else {
            guard let amountOut = intent.amountSpecified.uint128 else { throw .amm(.overflow) }
            amounts[hops] = amountOut
            var hop = hops
            while hop > 0 {
                hop &-= 1
                guard let (reserveIn, reserveOut) = pools[pool(hop)].reserves(from: path[hop]) else {
                    throw .unknownPool(hop: hop)
                }
                do {
                    amounts[hop] = try ConstantProduct.amountIn(
                        out: amounts[hop &+ 1], reserveIn: reserveIn, reserveOut: reserveOut)
                } catch { throw .amm(error) }
            }
            if UInt256(amounts[0]) > intent.amountLimit { throw .excessiveInputAmount }
        }
        if commit {
            // Checked first, then applied: a failing hop leaves every pool as it was.
            var updated = (pools[pool(0)], pools[pool(0)], pools[pool(0)], pools[pool(0)])
            for hop in 0..<hops {
                var next = pools[pool(hop)]
                // A path through the same pool twice sees its own earlier hop.
                for earlier in 0..<hop where pool(earlier) == pool(hop) {
                    next = withUnsafeBytes(of: updated) {
                        $0.load(
                            fromByteOffset: earlier &* MemoryLayout<ConstantProductPool>.stride,
                            as: ConstantProductPool.self)
                    }
                }
                do {
                    try next.apply(tokenIn: path[hop], amountIn: amounts[hop], amountOut: amounts[hop &+ 1])
                } catch { throw .amm(error) }
                withUnsafeMutableBytes(of: &updated) {
                    $0.storeBytes(
                        of: next, toByteOffset: hop &* MemoryLayout<ConstantProductPool>.stride,
                        as: ConstantProductPool.self)
                }
            }
            for hop in 0..<hops {
                pools[pool(hop)] = withUnsafeBytes(of: updated) {
                    $0.load(
                        fromByteOffset: hop &* MemoryLayout<ConstantProductPool>.stride, as: ConstantProductPool.self)
                }
            }
        }
        return amounts
    }
}
