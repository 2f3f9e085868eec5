import PeregrineEVM
import PeregrineMempool
import Testing

struct MempoolAnalyzerTests {
    @Test func syntheticFlowYieldsConsistentOpportunitiesAndLeavesPoolsAlone() throws {
        let flow = SyntheticSwapFlow(count: 5_000, tokenCount: 32, seed: 5)
        var analyzer = MempoolAnalyzer(
            pools: flow.pools, search: BackrunSearch(),
            seen: try BloomFilter(capacity: 100_000, falsePositiveRate: 0.0001))
        var opportunities = 0
        var noOpportunity = 0
        var other = 0
        for index in 0..<flow.transactions.count {
            let transaction = flow.transactions[index]
            let result = flow.withCalldata(of: index) { analyzer.analyze(transaction, calldata: $0) }
            switch result {
            case .opportunity(let intent, let opportunity):
                opportunities += 1
                // Re-derive it: the victim's swap applied to a copy, then the cycle at the input.
                var after = flow.pools
                _ = try SwapSimulator.simulate(intent, pools: &after)
                let search = BackrunSearch()
                #expect(
                    search.output(of: opportunity.cycle, amountIn: opportunity.amountIn, pools: after)
                        == opportunity.amountOut)
                let gas = (search.gasBase + search.gasPerHop * UInt128(opportunity.cycle.count)) * transaction.gasPrice
                #expect(opportunity.gasCost == gas)
                #expect(
                    opportunity.netProfit
                        == Int128(opportunity.amountOut) - Int128(opportunity.amountIn) - Int128(gas))
                #expect(opportunity.netProfit > 0 && opportunity.victim == transaction.hash)
                #expect(opportunity.cycle.tokenIn(0) == SwapSimulator.weth)
            case .noOpportunity: noOpportunity += 1
            default: other += 1
            }
        }
        #expect(opportunities > 10)
        #expect(noOpportunity > opportunities)
        #expect(other == 0)
        #expect(analyzer.pools.pools == flow.pools.pools)
        // Seen again: a duplicate.
        let again = flow.withCalldata(of: 0) { analyzer.analyze(flow.transactions[0], calldata: $0) }
        #expect(again == .duplicate)
    }

    @Test func rulesAndBadCalldata() throws {
        let flow = SyntheticSwapFlow(count: 10, tokenCount: 4, seed: 2)
        var analyzer = MempoolAnalyzer(
            pools: flow.pools, rules: MempoolRules(minimumGasPrice: 1_000_000_000),
            seen: try BloomFilter(capacity: 1_000, falsePositiveRate: 0.001))
        var other = flow.transactions[0]
        other.to = EVMAddress(first: 1, second: 1, third: 1)
        let notRouter = flow.withCalldata(of: 0) { analyzer.analyze(other, calldata: $0) }
        #expect(notRouter == .filtered)
        var cheap = flow.transactions[1]
        cheap.gasPrice = 1
        let lowGas = flow.withCalldata(of: 1) { analyzer.analyze(cheap, calldata: $0) }
        #expect(lowGas == .filtered)
        var garbage = flow.transactions[2]
        garbage.hash = TransactionHash(9, 9, 9, 9)
        let result = [UInt8](repeating: 0xAB, count: 40).withUnsafeBytes { analyzer.analyze(garbage, calldata: $0) }
        #expect(result == .undecodable(.unknownSelector(0xABAB_ABAB)))
    }
}
