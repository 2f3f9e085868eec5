import PeregrineEVM
import PeregrineMempool
import Testing

/// The back-run search against brute force on small constructed pools, where every input can
/// be tried.
struct BackrunSearchTests {
    static let weth = SwapSimulator.weth
    static let tokenA = EVMAddress(first: 0xA, second: 0, third: 0)
    static let tokenB = EVMAddress(first: 0xB, second: 0, third: 0)

    static func pool(_ x: EVMAddress, _ rx: UInt128, _ y: EVMAddress, _ ry: UInt128, _ venue: Venue, _ id: UInt64)
        -> ConstantProductPool
    {
        let pair = TokenPair(x, y)
        return ConstantProductPool(
            address: EVMAddress(first: 0xFEED, second: id, third: 0), token0: pair.token0, token1: pair.token1,
            reserve0: pair.token0 == x ? rx : ry, reserve1: pair.token0 == x ? ry : rx, venue: venue)
    }

    /// The best input by trying all of them (smallest input on ties) and its profit.
    static func bruteForce(_ search: BackrunSearch, _ cycle: ArbitrageCycle, _ pools: PoolBook, limit: UInt128)
        -> (amountIn: UInt128, profit: Int128)
    {
        var best: (UInt128, Int128) = (0, 0)
        var amountIn: UInt128 = 1
        while amountIn <= limit {
            if let out = search.output(of: cycle, amountIn: amountIn, pools: pools) {
                let profit = Int128(out) - Int128(amountIn)
                if profit > best.1 { best = (amountIn, profit) }
            }
            amountIn += 1
        }
        return best
    }

    @Test(arguments: [
        (UInt128(100_000), UInt128(300_000), UInt128(120_000), UInt128(330_000)),
        (UInt128(50_000), UInt128(5_000_000), UInt128(80_000), UInt128(7_000_000)),
        (UInt128(1_000_000), UInt128(1_000_000), UInt128(700_000), UInt128(900_000)),
    ])
    func twoPoolOptimumMatchesBruteForce(r1: UInt128, t1: UInt128, r2: UInt128, t2: UInt128) throws {
        var pools = PoolBook()
        let uni = pools.upsert(Self.pool(Self.weth, r1, Self.tokenA, t1, .uniswapV2, 1))
        let sushi = pools.upsert(Self.pool(Self.weth, r2, Self.tokenA, t2, .sushiswap, 2))
        let search = BackrunSearch(gasBase: 0, gasPerHop: 0, exhaustive: true)
        let best = try #require(
            search.best(
                touching: (uni, 0, 0, 0), touchedCount: 1, pools: pools, victim: TransactionHash(1, 2, 3, 4),
                gasPrice: 0))
        #expect(best.cycle.count == 2)
        #expect(Set([best.cycle.pool(0), best.cycle.pool(1)]) == [uni, sushi])
        let brute = Self.bruteForce(search, best.cycle, pools, limit: Swift.min(r1, r2))
        #expect(best.amountIn == brute.amountIn)
        #expect(best.netProfit == brute.profit)
        // The other direction is no better.
        var reverse = ArbitrageCycle()
        reverse.append(pool: best.cycle.pool(1), tokenIn: Self.weth)
        reverse.append(pool: best.cycle.pool(0), tokenIn: Self.tokenA)
        #expect(Self.bruteForce(search, reverse, pools, limit: Swift.min(r1, r2)).profit <= brute.profit)
        // The fast window finds a profit within 2 of the optimum.
        let fast = try #require(
            BackrunSearch(gasBase: 0, gasPerHop: 0).best(
                touching: (uni, 0, 0, 0), touchedCount: 1, pools: pools, victim: TransactionHash(1, 2, 3, 4),
                gasPrice: 0))
        #expect(fast.netProfit >= brute.profit - 2)
    }

    @Test func threePoolOptimumMatchesBruteForce() throws {
        var pools = PoolBook()
        // WETH → A → B → WETH is mispriced by about 10%.
        let wa = pools.upsert(Self.pool(Self.weth, 200_000, Self.tokenA, 400_000, .uniswapV2, 1))
        pools.upsert(Self.pool(Self.tokenA, 300_000, Self.tokenB, 600_000, .uniswapV2, 2))
        pools.upsert(Self.pool(Self.tokenB, 500_000, Self.weth, 280_000, .uniswapV2, 3))
        let search = BackrunSearch(gasBase: 0, gasPerHop: 0, exhaustive: true)
        let best = try #require(
            search.best(
                touching: (wa, 0, 0, 0), touchedCount: 1, pools: pools, victim: TransactionHash(0, 0, 0, 9), gasPrice: 0
            ))
        #expect(best.cycle.count == 3)
        #expect(best.cycle.tokenIn(0) == Self.weth && best.cycle.tokenIn(1) == Self.tokenA)
        let brute = Self.bruteForce(search, best.cycle, pools, limit: 200_000)
        #expect(best.amountIn == brute.amountIn)
        #expect(best.netProfit == brute.profit)
        #expect(best.amountOut == UInt128(Int128(best.amountIn) + brute.profit))
    }

    /// A drained first pool (a victim's swap emptied its WETH side): the best input is larger
    /// than that pool's WETH reserve, and the search still finds it.
    @Test func theOptimumMayExceedTheFirstPoolsReserve() throws {
        var pools = PoolBook()
        let drained = pools.upsert(Self.pool(Self.weth, 1_000, Self.tokenA, 1_000_000, .uniswapV2, 1))
        pools.upsert(Self.pool(Self.weth, 1_000_000, Self.tokenA, 1_000_000, .sushiswap, 2))
        let best = try #require(
            BackrunSearch(gasBase: 0, gasPerHop: 0, exhaustive: true).best(
                touching: (drained, 0, 0, 0), touchedCount: 1, pools: pools, victim: TransactionHash(2, 2, 2, 2),
                gasPrice: 0))
        #expect(best.cycle.pool(0) == drained && best.cycle.tokenIn(0) == Self.weth)
        let brute = Self.bruteForce(Self.search, best.cycle, pools, limit: 200_000)
        #expect(brute.amountIn > 1_000)
        #expect(best.amountIn == brute.amountIn)
        #expect(best.netProfit == brute.profit)
    }

    static let search = BackrunSearch(gasBase: 0, gasPerHop: 0, exhaustive: true)

    @Test func gasAndBalancedPoolsLeaveNothing() throws {
        var pools = PoolBook()
        let uni = pools.upsert(Self.pool(Self.weth, 100_000, Self.tokenA, 300_000, .uniswapV2, 1))
        pools.upsert(Self.pool(Self.weth, 120_000, Self.tokenA, 330_000, .sushiswap, 2))
        let gross = try #require(
            BackrunSearch(gasBase: 0, gasPerHop: 0, exhaustive: true).best(
                touching: (uni, 0, 0, 0), touchedCount: 1, pools: pools, victim: TransactionHash(1, 1, 1, 1),
                gasPrice: 0))
        // Gas of exactly the gross profit leaves nothing; one less leaves 1.
        let gross128 = UInt128(gross.netProfit)
        let all = BackrunSearch(gasBase: gross128, gasPerHop: 0, exhaustive: true).best(
            touching: (uni, 0, 0, 0), touchedCount: 1, pools: pools, victim: TransactionHash(1, 1, 1, 1), gasPrice: 1)
        #expect(all == nil)
        let almost = try #require(
            BackrunSearch(gasBase: gross128 - 1, gasPerHop: 0, exhaustive: true).best(
                touching: (uni, 0, 0, 0), touchedCount: 1, pools: pools, victim: TransactionHash(1, 1, 1, 1),
                gasPrice: 1))
        #expect(almost.netProfit == 1 && almost.gasCost == gross128 - 1 && almost.amountIn == gross.amountIn)
        // Same price on both venues: no cycle profits.
        var balanced = PoolBook()
        let a = balanced.upsert(Self.pool(Self.weth, 100_000, Self.tokenA, 300_000, .uniswapV2, 1))
        balanced.upsert(Self.pool(Self.weth, 200_000, Self.tokenA, 600_000, .sushiswap, 2))
        #expect(
            BackrunSearch(gasBase: 0, gasPerHop: 0, exhaustive: true).best(
                touching: (a, 0, 0, 0), touchedCount: 1, pools: balanced, victim: TransactionHash(1, 1, 1, 1),
                gasPrice: 0) == nil)
    }
}
