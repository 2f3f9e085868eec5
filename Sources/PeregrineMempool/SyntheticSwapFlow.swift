import PeregrineCore
import PeregrineEVM

/// A synthetic mempool: Uniswap V2 pools of WETH against `tokenCount` tokens, Sushiswap pools
/// for half of those pairs priced within ±0.3% of Uniswap's (inside the fee band: no arbitrage
/// until a swap moves a price), and a stream of pending Router02
/// swaps against the Uniswap pools — 55% exact ETH in, 20% exact tokens to ETH,
/// 10% two-hop token to token through WETH, 10% exact output, 5% fee-on-transfer — of
/// 0.0001% to 1% of the first pool's reserve (mostly small: (r² + 1) ppm for r uniform in
/// 0 ..< 100) with 0.5% slippage. Deterministic for a seed.
///
/// The calldata of every transaction sits in one byte arena (`calldata(of:)` is a slice of
/// it), so consuming the flow allocates nothing.
///
/// With `signed`, every transaction is a real EIP-1559 transaction signed by one of
/// `senderCount` synthetic senders (keys: Keccak-256 of "peregrine synthetic sender N"), with
/// per-sender nonces; its bytes sit in the arena (`rawOffset`), its hash is their Keccak-256
/// and its calldata is the slice inside them. Signing costs about 40 µs per transaction.
public struct SyntheticSwapFlow: Sendable {
    public private(set) var pools = PoolBook()
    public private(set) var tokens: [EVMAddress] = []
    public private(set) var transactions: [PendingTransaction] = []
    public private(set) var arena: [UInt8] = []

    /// Runs `body` over transaction `index`'s calldata (a slice of the arena; no copy).
    @inlinable
    public func withCalldata<R>(of index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let pending = transactions[index]
        return try arena.withUnsafeBytes { raw in
            try body(
                UnsafeRawBufferPointer(
                    rebasing: raw[pending.calldataOffset..<(pending.calldataOffset + pending.calldataLength)]))
        }
    }

    /// `count` transactions over `tokenCount` tokens paired with WETH.
    public init(
        count: Int, tokenCount: Int = 64, seed: UInt64 = 1, signed: Bool = false, senderCount: Int = 256,
        chainID: UInt64 = 1
    ) {
        var random = SplitMix64(seed: seed)
        let weth = SwapSimulator.weth
        for index in 0..<Swift.max(2, tokenCount) {
            tokens.append(EVMAddress(first: 0x1000 + UInt64(index), second: random.next(), third: UInt32(index)))
        }
        for (index, token) in tokens.enumerated() {
            let wethReserve = UInt128(random.next() % 50_000 + 100) * 1_000_000_000_000_000_000
            let tokenReserve = wethReserve * UInt128(random.next() % 5_000 + 1)
            let pair = TokenPair(weth, token)
            pools.upsert(
                ConstantProductPool(
                    address: EVMAddress(first: 0xBEEF, second: UInt64(index), third: 1), token0: pair.token0,
                    token1: pair.token1, reserve0: pair.token0 == weth ? wethReserve : tokenReserve,
                    reserve1: pair.token0 == weth ? tokenReserve : wethReserve))
        }
        // A second venue for every other pair.
        for (index, token) in tokens.enumerated() where index % 2 == 0 {
            guard let uniswap = pools.index(weth, token) else { continue }
            let (wethReserve, tokenReserve) = pools[uniswap].reserves(from: weth) ?? (1, 1)
            let depth = UInt128(random.next() % 150 + 25)  // 25% … 175% of Uniswap's depth
            // Price ×0.997 … ×1.003: inside the two pools' fee band, so only a pending swap's
            // move opens a back-run.
            let skew = UInt128(random.next() % 60 + 9_970)
            let sushiWeth = wethReserve * depth / 100
            let sushiToken = tokenReserve * depth / 100 * skew / 10_000
            let pair = TokenPair(weth, token)
            pools.upsert(
                ConstantProductPool(
                    address: EVMAddress(first: 0x5005, second: UInt64(index), third: 2), token0: pair.token0,
                    token1: pair.token1, reserve0: pair.token0 == weth ? sushiWeth : sushiToken,
                    reserve1: pair.token0 == weth ? sushiToken : sushiWeth, venue: .sushiswap))
        }
        var senders: [EthereumSigner] = []
        if signed {
            for index in 0..<Swift.max(1, senderCount) {
                let key = Keccak256.hash(Array("peregrine synthetic sender \(index)".utf8)).bytes
                // A Keccak digest is below the group order except with probability 2^-128.
                if let signer = try? EthereumSigner(privateKey: key) { senders.append(signer) }
            }
        }
        var nonces = [UInt64](repeating: 0, count: senders.count)
        transactions.reserveCapacity(count)
        arena.reserveCapacity(count * 260)
        for index in 0..<count {
            let token = tokens[Int(random.next() % UInt64(tokens.count))]
            let other = tokens[Int(random.next() % UInt64(tokens.count))]
            let roll = random.next() % 100
            // Mostly small: (r² + 1) ppm of the reserve, r uniform below 100 (0.0001% … 1%).
            let r = random.next() % 100
            let fraction = UInt128(r * r + 1)  // parts per million of the input reserve
            var path = SwapPath()
            let function: RouterSwapFunction
            switch roll {
            case 0..<55:
                function = .swapExactETHForTokens
                _ = path.append(weth)
                _ = path.append(token)
            case 55..<75:
                function = .swapExactTokensForETH
                _ = path.append(token)
                _ = path.append(weth)
            case 75..<85:
                function = .swapExactTokensForTokens
                _ = path.append(token)
                _ = path.append(weth)
                _ = path.append(
                    other == token ? tokens[((tokens.firstIndex(of: token) ?? 0) + 1) % tokens.count] : other)
            case 85..<95:
                function = .swapETHForExactTokens
                _ = path.append(weth)
                _ = path.append(token)
            default:
                function = .swapExactETHForTokensSupportingFeeOnTransferTokens
                _ = path.append(weth)
                _ = path.append(token)
            }
            // Amounts from the first pool's reserves.
            let poolIndex = pools.index(path[0], path[1]) ?? 0
            let (reserveIn, reserveOut) = pools[poolIndex].reserves(from: path[0]) ?? (1, 1)
            var intent = SwapIntent(
                function: function, path: path, amountSpecified: .zero, amountLimit: .zero,
                recipient: EVMAddress(first: 0xCAFE, second: random.next(), third: 7), deadline: 1_900_000_000)
            if function.isExactInput {
                let amountIn = reserveIn * fraction / 1_000_000
                intent.amountSpecified = UInt256(amountIn)
                var expected = amountIn
                var hopIn = path[0]
                for hop in 0..<path.hops {
                    let index = pools.index(path[hop], path[hop + 1]) ?? 0
                    let (rIn, rOut) = pools[index].reserves(from: hopIn) ?? (1, 1)
                    expected = (try? ConstantProduct.amountOut(in: expected, reserveIn: rIn, reserveOut: rOut)) ?? 0
                    hopIn = path[hop + 1]
                }
                intent.amountLimit = UInt256(expected - expected / 200)
            } else {
                let amountOut = reserveOut * fraction / 1_000_000
                intent.amountSpecified = UInt256(amountOut)
                let needed =
                    (try? ConstantProduct.amountIn(out: amountOut, reserveIn: reserveIn, reserveOut: reserveOut)) ?? 0
                intent.amountLimit = UInt256(needed + needed / 200)
            }
            let gasPrice = UInt128(random.next() % 200 + 1) * 1_000_000_000
            if !senders.isEmpty {
                var calldata = [UInt8]()
                RouterEncoder.append(intent, to: &calldata)
                let sender = Int(random.next() % UInt64(senders.count))
                let unsigned = EIP1559Transaction(
                    chainID: chainID, nonce: nonces[sender],
                    // The tip never above the fee cap (a node refuses such a transaction).
                    maxPriorityFeePerGas: Swift.min(UInt128(random.next() % 3 + 1) * 1_000_000_000, gasPrice),
                    maxFeePerGas: gasPrice, gasLimit: 300_000, to: uniswapV2Router02,
                    value: RouterEncoder.value(of: intent),
                    data: calldata)
                nonces[sender] += 1
                let rawOffset = arena.count
                guard let signedTransaction = try? senders[sender].sign(unsigned),
                    var decoded = try? signedTransaction.raw.withUnsafeBytes({
                        try DecodedTransaction(raw: $0, baseOffset: rawOffset)
                    })
                else { continue }
                arena += signedTransaction.raw
                decoded.pending.from = senders[sender].address
                decoded.pending.rawOffset = rawOffset
                decoded.pending.rawLength = signedTransaction.raw.count
                transactions.append(decoded.pending)
                continue
            }
            let offset = arena.count
            RouterEncoder.append(intent, to: &arena)
            transactions.append(
                PendingTransaction(
                    hash: TransactionHash(random.next(), random.next(), random.next(), UInt64(index)),
                    from: EVMAddress(first: 0xF00D, second: random.next(), third: 3), to: uniswapV2Router02,
                    value: RouterEncoder.value(of: intent), gasPrice: gasPrice,
                    gasLimit: 300_000, nonce: random.next() % 1_000, calldataOffset: offset,
                    calldataLength: arena.count - offset))
        }
    }
}
