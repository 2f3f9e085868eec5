import Foundation
import PeregrineEVM
import PeregrineMempool
import PeregrineTestSupport
import Testing

/// Real Router02 transactions (Tests/Fixtures/eth_block_*_uniswapv2_router02_swaps.csv): the
/// decoder's path and amounts, and the simulator's outputs, against what happened on chain.
struct RouterSwapTests {
    static func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.utf8.dropFirst(2))
        return stride(from: 0, to: digits.count - 1, by: 2).map { index in
            func nibble(_ byte: UInt8) -> UInt8 { byte <= 57 ? byte - 48 : (byte | 0x20) - 87 }
            return nibble(digits[index]) << 4 | nibble(digits[index + 1])
        }
    }

    struct BadRow: Error, CustomStringConvertible {
        var description: String
    }

    static func field(_ row: [String: String], _ key: String) throws -> String {
        guard let value = row[key] else { throw BadRow(description: "no column \(key)") }
        return value
    }

    static func amount(_ row: [String: String], _ key: String) throws -> UInt128 {
        let text = try field(row, key)
        guard let value = UInt256(decimal: text)?.uint128 else { throw BadRow(description: "\(key) '\(text)'") }
        return value
    }

    static func address(_ row: [String: String], _ key: String) throws -> EVMAddress {
        let text = try field(row, key)
        guard let value = EVMAddress(hex: text) else { throw BadRow(description: "\(key) '\(text)'") }
        return value
    }

    struct Hop {
        var pool: ConstantProductPool
        var amountIn: UInt128
        var amountOut: UInt128
        var tokenIn: EVMAddress
        var balance0After: UInt128
        var balance1After: UInt128
    }

    /// The successful router transactions of a CSV, with their hops in order.
    static func transactions(_ file: String) throws -> [(row: [String: String], hops: [Hop])] {
        let rows = try Fixtures.csvRows(file)
        var order: [String] = []
        var byHash: [String: [[String: String]]] = [:]
        for row in rows where row["status"] == "success" {
            let hash = try field(row, "tx_hash")
            if byHash[hash] == nil { order.append(hash) }
            byHash[hash, default: []].append(row)
        }
        return try order.map { hash in
            let rows = (byHash[hash] ?? []).sorted { Int($0["hop"] ?? "") ?? 0 < Int($1["hop"] ?? "") ?? 0 }
            let hops = try rows.map { row throws -> Hop in
                let token0 = try Self.address(row, "token0")
                let token1 = try Self.address(row, "token1")
                let reserve0 = try Self.amount(row, "reserve0_before")
                let reserve1 = try Self.amount(row, "reserve1_before")
                let out0 = try Self.amount(row, "amount0_out")
                let out1 = try Self.amount(row, "amount1_out")
                let balance0 = try Self.amount(row, "balance0_after")
                let balance1 = try Self.amount(row, "balance1_after")
                let pool = ConstantProductPool(
                    address: try Self.address(row, "pair"), token0: token0, token1: token1,
                    reserve0: reserve0, reserve1: reserve1)
                // The input side is the one whose balance grew beyond what remained.
                if out1 > 0 {
                    return Hop(
                        pool: pool, amountIn: balance0 - (reserve0 - out0), amountOut: out1, tokenIn: token0,
                        balance0After: balance0, balance1After: balance1)
                }
                return Hop(
                    pool: pool, amountIn: balance1 - (reserve1 - out1), amountOut: out0, tokenIn: token1,
                    balance0After: balance0, balance1After: balance1)
            }
            return (rows[0], hops)
        }
    }

    /// The CSV rows of one transaction, in hop order.
    func rows(_ file: String, _ hash: String) throws -> [[String: String]] {
        try Fixtures.csvRows(file).filter { $0["tx_hash"] == hash }
    }

    static let files = [
        "eth_block_12775690_uniswapv2_router02_swaps.csv", "eth_block_13370850_uniswapv2_router02_swaps.csv",
    ]

    @Test(arguments: files)
    func decodedSwapsReproduceTheChain(file: String) throws {
        var exactInputHops = 0
        var exactOutputSwaps = 0
        for (row, hops) in try Self.transactions(file) {
            let calldata = Self.bytes(hex: try Self.field(row, "input"))
            let value = try #require(UInt256(decimal: try Self.field(row, "value_wei")))
            let intent = try calldata.withUnsafeBytes { raw throws(SwapDecodeError) in
                try RouterDecoder.decode(raw, value: value)
            }
            let hash = row["tx_hash"] ?? ""
            #expect(intent.function.description == row["method"], "\(hash)")
            // A fee-on-transfer token may swap through the same pair inside its own transfer
            // (auto-liquidity): those swaps come first; the router's are the last `hops` rows.
            #expect(
                intent.path.hops == hops.count
                    || (intent.function.supportsFeeOnTransfer && intent.path.hops < hops.count),
                "\(hash)")
            let routed = Array(hops.suffix(intent.path.hops))
            let lastRecipient = try Self.address(rows(file, hash).last ?? row, "swap_recipient")
            #expect(intent.function.paysOutETH || intent.recipient == lastRecipient, "\(hash)")
            for (index, hop) in routed.enumerated() {
                // The path names the pool's tokens, in the swap's direction.
                #expect(intent.path[index] == hop.tokenIn, "\(hash) hop \(index)")
                #expect(
                    TokenPair(intent.path[index], intent.path[index + 1]) == TokenPair(hop.pool.token0, hop.pool.token1)
                )
            }
            var pools = PoolBook()
            for hop in hops { pools.upsert(hop.pool) }
            let before = pools
            if intent.function.supportsFeeOnTransfer {
                // The token takes its fee on the way in: check each pair's output for what it received.
                for hop in hops {
                    let (reserveIn, reserveOut) = try #require(hop.pool.reserves(from: hop.tokenIn))
                    #expect(
                        try ConstantProduct.amountOut(in: hop.amountIn, reserveIn: reserveIn, reserveOut: reserveOut)
                            == hop.amountOut, "\(hash)")
                    exactInputHops += 1
                }
                continue
            }
            let amounts = try SwapSimulator.simulate(intent, pools: &pools)
            #expect(amounts[0] == hops[0].amountIn, "\(hash): input \(amounts[0]) vs \(hops[0].amountIn)")
            for (index, hop) in hops.enumerated() {
                #expect(amounts[index + 1] == hop.amountOut, "\(hash) hop \(index)")
                // The reserves move by the amounts (the pair's balances may also hold a
                // surplus over its reserves, which the chain's new reserves absorb).
                let pool = pools[try #require(pools.index(hop.pool.token0, hop.pool.token1))]
                let (reserveIn, reserveOut) = try #require(pool.reserves(from: hop.tokenIn))
                let (beforeIn, beforeOut) = try #require(hop.pool.reserves(from: hop.tokenIn))
                #expect(reserveIn == beforeIn + amounts[index] && reserveOut == beforeOut - amounts[index + 1])
            }
            if intent.function.isExactInput {
                exactInputHops += hops.count
                #expect(intent.amountSpecified == UInt256(hops[0].amountIn))
            } else {
                exactOutputSwaps += 1
                // The router charged exactly the input getAmountsIn computes.
                #expect(intent.amountSpecified == UInt256(hops[hops.count - 1].amountOut))
            }
            // A tighter slippage bound reverts and leaves the pools alone.
            var tight = intent
            var unchanged = before
            if intent.function.isExactInput {
                tight.amountLimit = UInt256(amounts[hops.count] + 1)
                #expect(throws: SwapRevert.insufficientOutputAmount) {
                    try SwapSimulator.simulate(tight, pools: &unchanged)
                }
            } else {
                tight.amountLimit = UInt256(amounts[0] - 1)
                #expect(throws: SwapRevert.excessiveInputAmount) {
                    try SwapSimulator.simulate(tight, pools: &unchanged)
                }
            }
            #expect(unchanged.pools == before.pools)
        }
        // Every successful row was checked: 4 exact-input hops and 2 exact-output swaps in
        // block 12775690; 16 and 1 in block 13370850 (plus one reverted transaction).
        let expected = file.contains("12775690") ? (4, 2) : (16, 1)
        #expect(exactInputHops == expected.0)
        #expect(exactOutputSwaps == expected.1)
    }
}
