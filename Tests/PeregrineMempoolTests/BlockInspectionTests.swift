import Foundation
import PeregrineEVM
import PeregrineEngine
import PeregrineMempool
import PeregrineTestSupport
import Testing

/// `mempool inspect` on real blocks: the sandwich mev-inspect-py expects in block 12775690, and
/// every Router02 swap of both blocks' CSVs among the swaps found in the traces.
struct BlockInspectionTests {
    static func path(_ name: String) -> String { Fixtures.path(name) }

    @Test func findsTheExpectedSandwichOfBlock12775690() throws {
        let block = try BlockInspection(contentsOf: Self.path("eth_block_12775690_traces_receipts.json"))
        #expect(block.blockNumber == 12_775_690)
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.path("eth_block_12775690_sandwich_expected.json")))
        let expected = try #require((try JSONSerialization.jsonObject(with: data) as? [[String: Any]])?.first)
        let sandwiches = block.sandwiches()
        #expect(sandwiches.count == 1)
        let found = try #require(sandwiches.first)

        func check(_ swap: MinedSwap, _ json: [String: Any]) {
            #expect(swap.transactionHash == json["transaction_hash"] as? String)
            #expect(swap.transactionPosition == json["transaction_position"] as? Int)
            #expect(swap.traceAddress == json["trace_address"] as? [Int])
            #expect(swap.pool.description == json["contract_address"] as? String)
            #expect(swap.from.description == json["from_address"] as? String)
            #expect(swap.to.description == json["to_address"] as? String)
            #expect(swap.tokenIn.description == json["token_in_address"] as? String)
            #expect(swap.tokenOut.description == json["token_out_address"] as? String)
            #expect(swap.amountIn.description == (json["token_in_amount"] as? NSNumber)?.stringValue)
            #expect(swap.amountOut.description == (json["token_out_amount"] as? NSNumber)?.stringValue)
        }
        #expect(found.sandwicher.description == expected["sandwicher_address"] as? String)
        check(found.frontrun, try #require(expected["frontrun_swap"] as? [String: Any]))
        check(found.backrun, try #require(expected["backrun_swap"] as? [String: Any]))
        let victims = try #require(expected["sandwiched_swaps"] as? [[String: Any]])
        #expect(found.victims.count == victims.count)
        for (swap, json) in zip(found.victims, victims) { check(swap, json) }
        #expect(found.profit.description == (expected["profit_amount"] as? NSNumber)?.stringValue)
    }

    @Test(arguments: ["12775690", "13370850"])
    func everyRouterSwapOfTheCSVIsFound(block number: String) throws {
        let block = try BlockInspection(contentsOf: Self.path("eth_block_\(number)_traces_receipts.json"))
        let rows = try Fixtures.csvRows("eth_block_\(number)_uniswapv2_router02_swaps.csv").filter {
            $0["status"] == "success"
        }
        #expect(rows.count > 0)
        for row in rows {
            let matches = block.swaps.filter {
                $0.transactionHash == row["tx_hash"] && $0.pool.description == row["pair"]
                    && $0.to.description == row["swap_recipient"]
                    && $0.amountOut.description == (row["amount0_out"] == "0" ? row["amount1_out"] : row["amount0_out"])
            }
            #expect(matches.count >= 1, "\(row["tx_hash"] ?? "") \(row["pair"] ?? "")")
        }
    }

    /// The CREATE2 address of a pair, checked against the well-known USDC/WETH pairs of both
    /// factories; in block 12775690 USDC/WETH traded on Uniswap V2 and on another fork, and
    /// each pool keeps its own reserves (they had been one pool).
    @Test func eachPoolOfAPairIsItsOwnVenue() throws {
        let usdc = try #require(EVMAddress(hex: "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"))
        let weth = try #require(EVMAddress(hex: "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"))
        let pair = TokenPair(usdc, weth)
        #expect(
            BlockInspection.pairAddress(
                factory: BlockInspection.uniswapV2Factory, initCodeHash: BlockInspection.uniswapV2InitCode, pair
            ).description == "0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc")
        #expect(
            BlockInspection.pairAddress(
                factory: BlockInspection.sushiswapFactory, initCodeHash: BlockInspection.sushiswapInitCode, pair
            ).description == "0x397ff1542f962076d0bfe58ea045ffa2d347aca0")
        let block = try BlockInspection(contentsOf: Self.path("eth_block_12775690_traces_receipts.json"))
        let pools = block.pools.pools.filter { TokenPair($0.token0, $0.token1) == pair }
        #expect(
            pools.map(\.address.description).sorted() == [
                "0x20e95253e54490d8d30ea41574b24f741ee70201", "0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc",
            ])
        #expect(
            pools.first { $0.venue == .uniswapV2 }?.address.description == "0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc")
        #expect(pools.first { $0.venue != .uniswapV2 }?.venue.rawValue == 2)
        #expect(Set(block.pools.pools.map(\.address)).count == block.pools.pools.count)
    }

    /// A field that does not read is an error naming the trace (or receipt), the field and its
    /// value; it had been read as zero or as no bytes, and the run went on with exit 0.
    @Test func aFieldThatDoesNotReadIsNamed() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.path("eth_block_12775690_traces_receipts.json")))
        let original = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let traces = try #require(original["traces"] as? [[String: Any]])
        let call = try #require(traces.firstIndex { ($0["type"] as? String) == "call" })
        let hash = try #require(traces[call]["transaction_hash"] as? String)
        func refusal(_ change: (inout [String: Any]) -> Void) throws -> String? {
            var block = original
            change(&block)
            do {
                _ = try BlockInspection(json: try JSONSerialization.data(withJSONObject: block))
                return nil
            } catch { return "\(error)" }
        }
        func changeCall(_ body: @escaping (inout [String: Any]) -> Void) -> (inout [String: Any]) -> Void {
            { block in
                var all = block["traces"] as? [[String: Any]] ?? []
                body(&all[call])
                block["traces"] = all
            }
        }
        func setAction(_ key: String, _ value: Any) -> (inout [String: Any]) -> Void {
            changeCall { trace in
                var action = trace["action"] as? [String: Any] ?? [:]
                action[key] = value
                trace["action"] = action
            }
        }
        #expect(
            try refusal { $0["block_number"] = "abc" }
                == "bad block traces file: \"block_number\" is 'abc', not a block number")
        let prefix = "bad block traces file: trace \(call) (transaction \(hash)): "
        #expect(try refusal(setAction("input", "0xzz")) == prefix + "action.input is '0xzz', not 0x-hex bytes")
        #expect(
            try refusal(setAction("value", "0xnothex")) == prefix + "action.value is '0xnothex', not a 0x-hex amount")
        #expect(try refusal(setAction("from", "0x12")) == prefix + "action.from is '0x12', not an address")
        #expect(
            try refusal(changeCall { $0["result"] = ["output": "0xzz"] })
                == prefix + "result.output is '0xzz', not 0x-hex bytes")
        let receiptHash = try #require(
            (original["receipts"] as? [[String: Any]])?.first?["transaction_hash"] as? String)
        #expect(
            try refusal { block in
                var receipts = block["receipts"] as? [[String: Any]] ?? []
                receipts[0]["effective_gas_price"] = "garbage"
                block["receipts"] = receipts
            }
                == "bad block traces file: the receipt of \(receiptHash): effective_gas_price is 'garbage', not a wei amount"
        )
        #expect(
            try refusal { $0["base_fee_per_gas"] = "lots" }
                == "bad block traces file: \"base_fee_per_gas\" is 'lots', not a wei amount (an integer below 2^64)")
        #expect(
            try refusal { $0["base_fee_per_gas"] = -1 }
                == "bad block traces file: \"base_fee_per_gas\" is -1, not a wei amount (an integer below 2^64)")
        #expect(
            try refusal { $0["base_fee_per_gas"] = true }
                == "bad block traces file: \"base_fee_per_gas\" is true, not a wei amount (an integer below 2^64)")
        // A block from London on has a base fee; this one, before it, needs none.
        #expect(
            try refusal {
                $0["base_fee_per_gas"] = NSNull()
                $0["block_number"] = 13_370_850
            }
                == "bad block traces file: \"base_fee_per_gas\" is missing: block 13370850 is from London (12965000) "
                + "on, so it has one (give 0 for a chain without it)")
        #expect(try refusal { $0["base_fee_per_gas"] = NSNull() } == nil)
        #expect(try refusal { $0.removeValue(forKey: "base_fee_per_gas") } == nil)
        #expect(try refusal { $0["base_fee_per_gas"] = "0x1324f8d3f4" } == nil)
        // A hash that is not 32 bytes; a Router02 transaction without its receipt's gas price
        // (it would have been priced at no gas); a swapped pair whose getReserves() output is
        // cut short or past uint112 (its pool had been left out, its victims "would revert").
        #expect(
            try refusal(changeCall { $0["transaction_hash"] = "0xabc" })?.hasSuffix(
                "transaction_hash is '0xabc', not a 32-byte hash") == true)
        let routerTransaction = try #require(
            traces.first {
                ($0["trace_address"] as? [Int])?.isEmpty == true
                    && ($0["action"] as? [String: Any])?["to"] as? String
                        == "0x7a250d5630b4cf539739df2c5dacb4c659f2488d"
            }?["transaction_hash"] as? String)
        #expect(
            try refusal { $0.removeValue(forKey: "receipts") }
                == "bad block traces file: transaction \(routerTransaction) calls Router02 but no receipt gives its "
                + "effective_gas_price: the file needs the block's receipts")
        let reserves = try #require(
            traces.firstIndex {
                ($0["action"] as? [String: Any])?["input"] as? String == "0x0902f1ac" && !($0["error"] is String)
                    && (($0["result"] as? [String: Any])?["output"] as? String)?.count ?? 0 > 130
            })
        func setReservesOutput(_ output: String) -> (inout [String: Any]) -> Void {
            { block in
                var all = block["traces"] as? [[String: Any]] ?? []
                all[reserves]["result"] = ["output": output]
                block["traces"] = all
            }
        }
        #expect(try refusal(setReservesOutput("0x1234"))?.contains("returned 2 bytes, not the reserves") == true)
        let huge = "0x" + "0001" + String(repeating: "0", count: 60) + String(repeating: "0", count: 63) + "1"
        #expect(try refusal(setReservesOutput(huge))?.contains("returned reserves past uint112") == true)
        #expect(try refusal { _ in } == nil)
        // The block's timestamp, when given, is a positive integer of Unix seconds.
        for bad: Any in [true, -5, 0, "1625598724", 1.5] {
            #expect(
                try refusal { $0["block_timestamp"] = bad }?.hasPrefix("bad block traces file: \"block_timestamp\" is ")
                    == true, "\(bad)")
        }
        #expect(try refusal { $0["block_timestamp"] = 1_625_598_724 } == nil)
    }

    /// The block's base fee (London, EIP-1559) is read: the next block's for its transactions
    /// replayed as pending.
    @Test func theBaseFeeIsRead() throws {
        let london = try BlockInspection(contentsOf: Fixtures.path("eth_block_13370850_traces_receipts.json"))
        #expect(london.baseFeePerGas == 82_225_759_220)
        let before = try BlockInspection(contentsOf: Fixtures.path("eth_block_12775690_traces_receipts.json"))
        #expect(before.baseFeePerGas == 0)
        // Its timestamp, when the file has one, bounds its swaps' deadlines.
        #expect(before.blockTimestamp == 1_625_598_724 && london.blockTimestamp == 0)
        #expect(PendingFeed.block(before, path: "b", headBlock: nil).nextTimestamp == 1_625_598_724)
    }

    @Test func malformedFilesAreRefused() {
        #expect(throws: BlockInspectionError.malformed("no \"traces\" array")) {
            try BlockInspection(json: Data("{\"block_number\": 1}".utf8))
        }
        #expect(throws: BlockInspectionError.self) { try BlockInspection(json: Data("[1,".utf8)) }
        #expect(throws: BlockInspectionError.self) { try BlockInspection(contentsOf: "/nonexistent/block.json") }
    }
}
