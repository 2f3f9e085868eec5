import PeregrineEVM

#if canImport(Glibc)
    import Glibc
#endif

/// An arbitrage cycle of 2 or 3 pools that starts and ends with the same token: hop i swaps
/// `tokenIn(i)` in pool `pool(i)`.
@frozen
public struct ArbitrageCycle: Equatable, Sendable, BitwiseCopyable {
    @usableFromInline var pools: (Int32, Int32, Int32)
    @usableFromInline var tokens: (EVMAddress, EVMAddress, EVMAddress)
    public var count: Int

    @inlinable
    public init() {
        pools = (0, 0, 0)
        tokens = (.zero, .zero, .zero)
        count = 0
    }

    @inlinable
    public mutating func append(pool: Int, tokenIn: EVMAddress) {
        withUnsafeMutableBytes(of: &pools) {
            $0.storeBytes(of: Int32(truncatingIfNeeded: pool), toByteOffset: count &* 4, as: Int32.self)
        }
        withUnsafeMutableBytes(of: &tokens) {
            $0.storeBytes(of: tokenIn, toByteOffset: count &* MemoryLayout<EVMAddress>.stride, as: EVMAddress.self)
        }
        count &+= 1
    }

    @inlinable
    public func pool(_ hop: Int) -> Int {
        Int(withUnsafeBytes(of: pools) { $0.load(fromByteOffset: hop &* 4, as: Int32.self) })
    }

    @inlinable
    public func tokenIn(_ hop: Int) -> EVMAddress {
        withUnsafeBytes(of: tokens) {
            $0.load(fromByteOffset: hop &* MemoryLayout<EVMAddress>.stride, as: EVMAddress.self)
        }
    }

    /// The same pools the other way round, from the same start token: hop i of the result is
    /// pool n−1−i, entered with the token that pool put out going forward.
    @inlinable
    public func reversed() -> ArbitrageCycle {
        var result = ArbitrageCycle()
        for hop in 0..<count {
            result.append(pool: pool(count &- 1 &- hop), tokenIn: tokenIn((count &- hop) % count))
        }
        return result
    }

    public static func == (lhs: ArbitrageCycle, rhs: ArbitrageCycle) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for hop in 0..<lhs.count where lhs.pool(hop) != rhs.pool(hop) || lhs.tokenIn(hop) != rhs.tokenIn(hop) {
            return false
        }
        return true
    }
}

/// A back-run found after a pending swap: the cycle, the optimal input, what comes back, and
/// the profit in the start token net of the estimated gas cost (wei when the start token is WETH).
@frozen
public struct Opportunity: Equatable, Sendable, BitwiseCopyable {
    public var victim: TransactionHash
    public var cycle: ArbitrageCycle
    public var amountIn: UInt128
    public var amountOut: UInt128
    public var gasCost: UInt128
    /// `amountOut − amountIn − gasCost` (positive for an emitted opportunity).
    public var netProfit: Int128

    @inlinable
    public init(
        victim: TransactionHash, cycle: ArbitrageCycle, amountIn: UInt128, amountOut: UInt128, gasCost: UInt128,
        netProfit: Int128
    ) {
        self.victim = victim
        self.cycle = cycle
        self.amountIn = amountIn
        self.amountOut = amountOut
        self.gasCost = gasCost
        self.netProfit = netProfit
    }
}

/// Finds the most profitable back-run cycle through the pools a pending swap moved: two-pool
/// cycles across venues for the same pair, and three-pool cycles through the start token.
///
/// The optimal input: a chain of constant-product swaps is, in real numbers, one Möbius map
/// f(x) = A·x / (B + C·x), whose profit f(x) − x peaks at x* = (√(A·B) − B) / C (the closed
/// form). Around x* the exact on-chain integer profit (hop by hop, rounded down as the pairs
/// do) is searched: `refineWindow` inputs either side, which finds the integer optimum to
/// within 2 units of profit when every token of the cycle has as many decimals as the start
/// token (a token of few decimals, such as USDC's 6, leaves it up to about 10^8 wei short on
/// real pools; docs/mempool.md); or, with `exhaustive`, every input whose real
/// profit is within 1 of the peak, which finds the exact integer optimum (the smallest input
/// achieving it). No allocation.
public struct BackrunSearch: Sendable {
    /// The token cycles start and end with.
    public var startToken: EVMAddress
    /// Gas of the back-run transaction: base plus per hop.
    public var gasBase: UInt128
    public var gasPerHop: UInt128
    /// Inputs tried either side of the closed-form optimum.
    public var refineWindow: Int
    /// Search the whole near-optimal band (tests and offline analysis; slower).
    public var exhaustive: Bool
    /// Cycles evaluated at most per pending swap (bounds the latency).
    public var maxCycles: Int
    /// Least net profit (after gas, in the start token) for a back-run to be worth a bundle.
    public var minimumProfit: UInt128

    public init(
        startToken: EVMAddress = SwapSimulator.weth, gasBase: UInt128 = 60_000, gasPerHop: UInt128 = 50_000,
        refineWindow: Int = 4, exhaustive: Bool = false, maxCycles: Int = 32, minimumProfit: UInt128 = 0
    ) {
        self.minimumProfit = minimumProfit
        self.startToken = startToken
        self.gasBase = gasBase
        self.gasPerHop = gasPerHop
        self.refineWindow = refineWindow
        self.exhaustive = exhaustive
        self.maxCycles = maxCycles
    }

    /// The exact output of `cycle` for `amountIn` (nil when a hop cannot be done).
    @inlinable
    public func output(of cycle: ArbitrageCycle, amountIn: UInt128, pools: PoolBook) -> UInt128? {
        var amount = amountIn
        for hop in 0..<cycle.count {
            guard let (reserveIn, reserveOut) = pools[cycle.pool(hop)].reserves(from: cycle.tokenIn(hop)),
                let out = try? ConstantProduct.amountOut(in: amount, reserveIn: reserveIn, reserveOut: reserveOut)
            else { return nil }
            amount = out
        }
        return amount
    }

    /// The best cycle through the pools at `touched` (pool indices), for a swap `victim`, with
    /// gas at `gasPrice` per unit; nil when none is profitable after gas.
    public func best(
        touching touched: (Int, Int, Int, Int), touchedCount: Int, pools: PoolBook, victim: TransactionHash,
        gasPrice: UInt128
    ) -> Opportunity? {
        // The best so far and the cycles evaluated, passed down (not captured: a captured
        // mutable local would cost a dynamic exclusivity check per call).
        var state = (best: Opportunity?.none, evaluated: 0)
        func consider(_ cycle: ArbitrageCycle, _ state: inout (best: Opportunity?, evaluated: Int)) {
            guard state.evaluated < maxCycles else { return }
            state.evaluated &+= 1
            let gas = (gasBase &+ gasPerHop &* UInt128(cycle.count)) &* gasPrice
            // Skip the exact search when even the real-valued peak (an upper bound, with a
            // margin for rounding) cannot pay for the gas or beat the best so far.
            let threshold =
                Swift.max(
                    fastDouble(minimumProfit), fastDouble(UInt128(truncatingIfNeeded: state.best?.netProfit ?? 0)))
                + fastDouble(gas)
            guard let (amountIn, amountOut) = optimum(of: cycle, pools: pools, atLeast: threshold) else { return }
            let net =
                Int128(truncatingIfNeeded: amountOut) &- Int128(truncatingIfNeeded: amountIn)
                &- Int128(truncatingIfNeeded: gas)
            if net > 0, net >= Int128(truncatingIfNeeded: minimumProfit), net > (state.best?.netProfit ?? 0) {
                state.best = Opportunity(
                    victim: victim, cycle: cycle, amountIn: amountIn, amountOut: amountOut, gasCost: gas, netProfit: net
                )
            }
        }
        let start = startToken
        for slot in 0..<touchedCount {
            let touchedPool = withUnsafeBytes(of: touched) { $0.load(fromByteOffset: slot &* 8, as: Int.self) }
            let pool = pools[touchedPool]
            if pool.token0 == start || pool.token1 == start {
                let middle = pool.other(than: start)
                // Two pools of the same pair on different venues, both directions.
                var other = pools.firstOfPair(start, middle)
                while other >= 0 {
                    if other != touchedPool {
                        var forward = ArbitrageCycle()
                        forward.append(pool: touchedPool, tokenIn: start)
                        forward.append(pool: other, tokenIn: middle)
                        consider(forward, &state)
                        consider(forward.reversed(), &state)
                    }
                    other = pools.nextOfSamePair(other)
                }
                // Three pools: start → middle (touched) → third → start, and the reverse.
                var next = pools.firstHolding(middle)
                while next >= 0 {
                    let third = pools[next].other(than: middle)
                    if next != touchedPool && third != start {
                        var closing = pools.firstOfPair(third, start)
                        while closing >= 0 {
                            var forward = ArbitrageCycle()
                            forward.append(pool: touchedPool, tokenIn: start)
                            forward.append(pool: next, tokenIn: middle)
                            forward.append(pool: closing, tokenIn: third)
                            consider(forward, &state)
                            consider(forward.reversed(), &state)
                            closing = pools.nextOfSamePair(closing)
                        }
                    }
                    next = pools.nextHolding(middle, after: next)
                }
            } else {
                // The touched pool trades two other tokens: start → a → b → start, both ways.
                let a = pool.token0
                let b = pool.token1
                var into = pools.firstOfPair(start, a)
                while into >= 0 {
                    var out = pools.firstOfPair(b, start)
                    while out >= 0 {
                        var forward = ArbitrageCycle()
                        forward.append(pool: into, tokenIn: start)
                        forward.append(pool: touchedPool, tokenIn: a)
                        forward.append(pool: out, tokenIn: b)
                        consider(forward, &state)
                        consider(forward.reversed(), &state)
                        out = pools.nextOfSamePair(out)
                    }
                    into = pools.nextOfSamePair(into)
                }
            }
        }
        return state.best
    }

    /// The profit-maximising input of `cycle` and its output, before gas; nil when no input
    /// makes a profit.
    /// `atLeast`: skip (nil) when the real-valued peak profit is below this (gas, or the best
    /// so far); the exact search runs only for cycles that can matter.
    public func optimum(of cycle: ArbitrageCycle, pools: PoolBook, atLeast: Double = 0) -> (
        amountIn: UInt128, amountOut: UInt128
    )? {
        // The Möbius coefficients of the chain, normalised so B stays 1.
        var a = 1.0
        var c = 0.0
        for hop in 0..<cycle.count {
            guard let (reserveIn, reserveOut) = pools[cycle.pool(hop)].reserves(from: cycle.tokenIn(hop)),
                reserveIn > 0, reserveOut > 0
            else { return nil }
            let rIn = fastDouble(reserveIn)
            let rOut = fastDouble(reserveOut)
            // A' = 997·rOut·A, B' = 1000·rIn·B, C' = 1000·rIn·C + 997·A; then divide by B'.
            let scale = 1000 * rIn
            (a, c) = (997 * rOut * a / scale, c + 997 * a / scale)
        }
        guard a > 1, c > 0 else { return nil }  // f'(0) = A/B ≤ 1: no input makes a profit
        let peak = ((a).squareRoot() - 1) / c
        guard peak.isFinite, peak >= 1 else { return nil }
        // f(x*) − x* = (√A − 1)² / C; rounding costs at most one unit per hop.
        let realProfit = (a.squareRoot() - 1) * (a.squareRoot() - 1) / c
        guard realProfit * (1 + 1e-9) + 1 >= atLeast else { return nil }
        // An input may exceed the first pool's reserve (a drained pool); only uint112 bounds it.
        let center = fastUInt128(Swift.min(peak.rounded(), fastDouble(ConstantProduct.maxReserve)))
        // The integer profit (one rounding per hop) is within `count` of the real one, so the
        // integer optimum lies where the real profit is within count + 1 of its peak:
        // |x − x*| ≤ √(2(count + 1)/|f''(x*)|), with f''(x*) = −2C/√A (B = 1).
        let halfWidth = (Double(cycle.count + 1) * a.squareRoot() / c).squareRoot() * 1.2 + 2
        let band = exhaustive ? Int(Swift.min(halfWidth, 4_000_000)) : refineWindow
        let low = center > UInt128(band) ? center - UInt128(band) : 1
        let high = center &+ UInt128(band)
        var bestIn: UInt128 = 0
        var bestOut: UInt128 = 0
        var bestProfit: Int128 = 0
        var amountIn = Swift.max(low, 1)
        while amountIn <= high {
            if let out = output(of: cycle, amountIn: amountIn, pools: pools) {
                let profit = Int128(truncatingIfNeeded: out) &- Int128(truncatingIfNeeded: amountIn)
                if profit > bestProfit {
                    bestProfit = profit
                    bestIn = amountIn
                    bestOut = out
                }
            }
            amountIn &+= 1
        }
        return bestProfit > 0 ? (bestIn, bestOut) : nil
    }
}

/// `value` as a Double (nearest or one ulp off): the standard library's generic conversion
/// from `UInt128` is not specialised and costs ~100 ns.
@inlinable
func fastDouble(_ value: UInt128) -> Double {
    Double(UInt64(truncatingIfNeeded: value >> 64)) * 0x1p64 + Double(UInt64(truncatingIfNeeded: value))
}

/// A non-negative finite `value` below 2^128, truncated to an integer.
@inlinable
func fastUInt128(_ value: Double) -> UInt128 {
    guard value >= 1 else { return 0 }
    if value < 0x1p64 { return UInt128(UInt64(value)) }
    let high = (value / 0x1p64).rounded(.down)
    guard high < 0x1p64 else { return .max }
    let low = Swift.max(0, value - high * 0x1p64)
    return UInt128(UInt64(high)) << 64 | UInt128(UInt64(Swift.min(low, 0x1p64 - 1)))
}
