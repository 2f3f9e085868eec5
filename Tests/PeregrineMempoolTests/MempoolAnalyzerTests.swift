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

    /// The gas rule judges what a transaction pays (its fee cap, or the base fee and its tip
    /// when less), ETH sent to a non-payable swap function reverts, and a back-run whose profit
    /// is exactly the minimum is taken (the minimum is the least profit bundled).
    @Test func rulesJudgeWhatATransactionPaysAndDoes() throws {
        let flow = SyntheticSwapFlow(count: 3_000, tokenCount: 32, seed: 5, signed: true)
        func analyzer(minimumGas: UInt128 = 0, baseFee: UInt128 = 0, minimumProfit: UInt128 = 0) throws
            -> MempoolAnalyzer
        {
            MempoolAnalyzer(
                pools: flow.pools, rules: MempoolRules(minimumGasPrice: minimumGas),
                search: BackrunSearch(minimumProfit: minimumProfit),
                seen: try BloomFilter(capacity: 10_000, falsePositiveRate: 0.0001), baseFee: baseFee)
        }
        let gwei: UInt128 = 1_000_000_000
        // A fee cap of 3 gwei or more with a tip below 3: it pays its tip without a base fee.
        let index = try #require(
            flow.transactions.indices.first {
                flow.transactions[$0].gasPrice >= 6 * gwei && flow.transactions[$0].maxPriorityFee < 3 * gwei
            })
        let transaction = flow.transactions[index]
        var noBaseFee = try analyzer(minimumGas: 3 * gwei)
        #expect(flow.withCalldata(of: index) { noBaseFee.analyze(transaction, calldata: $0) } == .filtered)
        var withBaseFee = try analyzer(minimumGas: 3 * gwei, baseFee: 2 * gwei)
        #expect(flow.withCalldata(of: index) { withBaseFee.analyze(transaction, calldata: $0) } != .filtered)
        // ETH sent with a function that takes none.
        let tokenIn = try #require(
            flow.transactions.indices.first { index in
                let intent = try? flow.withCalldata(of: index) {
                    try RouterDecoder.decode($0, value: flow.transactions[index].value)
                }
                return intent.map { !$0.function.paysWithETH } ?? false
            })
        var paying = flow.transactions[tokenIn]
        paying.value = UInt256(1)
        var plain = try analyzer()
        #expect(flow.withCalldata(of: tokenIn) { plain.analyze(paying, calldata: $0) } == .reverts(.nonPayable))
        // The least profit bundled: exactly the minimum is taken, a wei more is not.
        var any = try analyzer()
        var found: (Int, Opportunity)? = nil
        for index in flow.transactions.indices where found == nil {
            if case .opportunity(_, let opportunity) = flow.withCalldata(
                of: index,
                {
                    any.analyze(flow.transactions[index], calldata: $0)
                })
            {
                found = (index, opportunity)
            }
        }
        let (victim, opportunity) = try #require(found)
        let net = UInt128(opportunity.netProfit)
        var atMinimum = try analyzer(minimumProfit: net)
        let taken = flow.withCalldata(of: victim) { atMinimum.analyze(flow.transactions[victim], calldata: $0) }
        guard case .opportunity(_, let same) = taken else {
            Issue.record("a profit equal to the minimum was not taken: \(taken)")
            return
        }
        #expect(same == opportunity)
        var aboveMinimum = try analyzer(minimumProfit: net + 1)
        let refused = flow.withCalldata(of: victim) { aboveMinimum.analyze(flow.transactions[victim], calldata: $0) }
        guard case .noOpportunity = refused else {
            Issue.record("a profit below the minimum was taken: \(refused)")
            return
        }
    }

    /// With a base fee, a back-run pays it and the victim's tip (at most the fee cap), and a
    /// victim whose fee cap is below it is filtered without being marked as seen.
    @Test func theBaseFeePricesTheBackrunAndFiltersVictimsBelowIt() throws {
        let flow = SyntheticSwapFlow(count: 3_000, tokenCount: 32, seed: 5, signed: true)
        let baseFee: UInt128 = 20_000_000_000
        var free = MempoolAnalyzer(
            pools: flow.pools, seen: try BloomFilter(capacity: 100_000, falsePositiveRate: 0.0001))
        var priced = MempoolAnalyzer(
            pools: flow.pools, seen: try BloomFilter(capacity: 100_000, falsePositiveRate: 0.0001), baseFee: baseFee)
        var filtered = 0
        var compared = 0
        for index in 0..<flow.transactions.count {
            let transaction = flow.transactions[index]
            let withoutFee = flow.withCalldata(of: index) { free.analyze(transaction, calldata: $0) }
            let withFee = flow.withCalldata(of: index) { priced.analyze(transaction, calldata: $0) }
            if transaction.gasPrice < baseFee {
                #expect(withFee == .filtered)
                filtered += 1
                continue
            }
            let search = BackrunSearch()
            let price = Swift.min(transaction.gasPrice, baseFee + transaction.maxPriorityFee)
            switch (withoutFee, withFee) {
            case (.opportunity(_, let cheap), .opportunity(_, let dear)):
                let gas = { (opportunity: Opportunity, price: UInt128) in
                    (search.gasBase + search.gasPerHop * UInt128(opportunity.cycle.count)) * price
                }
                #expect(cheap.gasCost == gas(cheap, transaction.maxPriorityFee))
                #expect(dear.gasCost == gas(dear, price))
                #expect(dear.netProfit == Int128(dear.amountOut) - Int128(dear.amountIn) - Int128(dear.gasCost))
                #expect(dear.netProfit <= cheap.netProfit)
                compared += 1
            case (.noOpportunity, .opportunity): Issue.record("transaction \(index): dearer gas found a profit")
            default: break
            }
        }
        // Fee caps are 1 to 200 gwei, uniformly: about a tenth below 20.
        #expect(filtered > 150 && filtered < 450, "\(filtered)")
        #expect(compared > 5, "\(compared)")
        // Filtered, not seen: with the base fee lowered it is analysed.
        let index = try #require(flow.transactions.indices.first { flow.transactions[$0].gasPrice < baseFee })
        var again = MempoolAnalyzer(
            pools: flow.pools, seen: try BloomFilter(capacity: 1_000, falsePositiveRate: 0.001), baseFee: baseFee)
        #expect(flow.withCalldata(of: index) { again.analyze(flow.transactions[index], calldata: $0) } == .filtered)
        again.baseFee = 0
        #expect(flow.withCalldata(of: index) { again.analyze(flow.transactions[index], calldata: $0) } != .filtered)
        #expect(flow.withCalldata(of: index) { again.analyze(flow.transactions[index], calldata: $0) } == .duplicate)
    }
}
