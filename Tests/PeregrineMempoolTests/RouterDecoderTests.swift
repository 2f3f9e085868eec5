import PeregrineEVM
import PeregrineMempool
import PropertyBased
import Testing

/// The Router02 decoder on hand-made and random calldata: exact values, every typed
/// rejection, and no trap on any input.
struct RouterDecoderTests {
    /// ABI-encodes a swap call the way Solidity does (head words, then the path).
    static func encode(
        _ function: RouterSwapFunction, amountA: UInt256, amountB: UInt256, path: [EVMAddress], to: EVMAddress,
        deadline: UInt256
    ) -> [UInt8] {
        var bytes = withUnsafeBytes(of: function.rawValue.bigEndian) { Array($0) }
        func word(_ value: UInt256) {
            withUnsafeBytes(of: value.high.bigEndian) { bytes += $0 }
            withUnsafeBytes(of: value.low.bigEndian) { bytes += $0 }
        }
        func address(_ value: EVMAddress) {
            bytes += [UInt8](repeating: 0, count: 12)
            withUnsafeBytes(of: value.first.bigEndian) { bytes += $0 }
            withUnsafeBytes(of: value.second.bigEndian) { bytes += $0 }
            withUnsafeBytes(of: value.third.bigEndian) { bytes += $0 }
        }
        let headWords = function.paysWithETH ? 4 : 5
        word(amountA)
        if !function.paysWithETH { word(amountB) }
        word(UInt256(UInt128(headWords * 32)))
        address(to)
        word(deadline)
        word(UInt256(UInt128(path.count)))
        for token in path { address(token) }
        return bytes
    }

    static func decode(_ bytes: [UInt8], value: UInt256 = .zero) throws -> SwapIntent {
        try bytes.withUnsafeBytes { raw throws(SwapDecodeError) in try RouterDecoder.decode(raw, value: value) }
    }

    static let tokenA = EVMAddress(first: 1, second: 2, third: 3)
    static let tokenB = EVMAddress(first: 0xffff_ffff_ffff_ffff, second: 0, third: 0xdead_beef)
    static let tokenC = EVMAddress(first: 7, second: 8, third: 9)
    static let user = EVMAddress(first: 0x1234, second: 0x5678, third: 0x9abc)

    @Test(arguments: RouterSwapFunction.allCases)
    func eachFunctionDecodesItsArguments(function: RouterSwapFunction) throws {
        let path = [Self.tokenA, Self.tokenB, Self.tokenC]
        let bytes = Self.encode(
            function, amountA: UInt256(1_000), amountB: UInt256(2_000), path: path, to: Self.user,
            deadline: UInt256(1_700_000_000))
        let intent = try Self.decode(bytes, value: UInt256(5_000))
        #expect(intent.function == function)
        #expect(intent.path.count == 3 && intent.path[0] == Self.tokenA && intent.path[2] == Self.tokenC)
        #expect(intent.recipient == Self.user)
        #expect(intent.deadline == 1_700_000_000)
        switch (function.paysWithETH, function.isExactInput) {
        case (true, true):  // (amountOutMin, …) with the value as input
            #expect(intent.amountSpecified == UInt256(5_000) && intent.amountLimit == UInt256(1_000))
        case (true, false):  // (amountOut, …) paying at most the value
            #expect(intent.amountSpecified == UInt256(1_000) && intent.amountLimit == UInt256(5_000))
        case (false, _):
            #expect(intent.amountSpecified == UInt256(1_000) && intent.amountLimit == UInt256(2_000))
        }
    }

    @Test func malformedCalldataIsATypedRejection() throws {
        let valid = Self.encode(
            .swapExactTokensForTokens, amountA: UInt256(1), amountB: UInt256(1), path: [Self.tokenA, Self.tokenB],
            to: Self.user, deadline: UInt256(1))
        #expect(throws: SwapDecodeError.tooShort(length: 3, needed: 4)) { try Self.decode([0x38, 0xed, 0x17]) }
        #expect(throws: SwapDecodeError.unknownSelector(0xa905_9cbb)) {
            try Self.decode([0xa9, 0x05, 0x9c, 0xbb] + valid.dropFirst(4))
        }
        #expect(throws: SwapDecodeError.tooShort(length: 100, needed: 164)) {
            try Self.decode(Array(valid.prefix(100)))
        }
        // The path's length word cut off.
        #expect(throws: SwapDecodeError.badOffset(160)) { try Self.decode(Array(valid.prefix(180))) }
        // The path offset pointing into the head, and far past the end.
        var intoHead = valid
        intoHead[4 + 64 + 31] = 0x20
        #expect(throws: SwapDecodeError.badOffset(0x20)) { try Self.decode(intoHead) }
        var pastEnd = valid
        pastEnd[4 + 64 + 20] = 0x01
        #expect(throws: SwapDecodeError.badOffset(valid.count - 4)) { try Self.decode(pastEnd) }
        // A path length beyond the data, too short and too long.
        var longLength = valid
        longLength[4 + 160 + 31] = 3
        #expect(throws: SwapDecodeError.badOffset(164)) { try Self.decode(longLength) }
        let one = Self.encode(
            .swapExactTokensForTokens, amountA: UInt256(1), amountB: UInt256(1), path: [Self.tokenA], to: Self.user,
            deadline: UInt256(1))
        #expect(throws: SwapDecodeError.pathTooShort(1)) { try Self.decode(one) }
        let six = Self.encode(
            .swapExactTokensForTokens, amountA: UInt256(1), amountB: UInt256(1),
            path: Array(repeating: Self.tokenA, count: 6), to: Self.user, deadline: UInt256(1))
        #expect(throws: SwapDecodeError.pathTooLong(6)) { try Self.decode(six) }
        // Non-zero upper bytes in the recipient and in a path address.
        var dirtyRecipient = valid
        dirtyRecipient[4 + 96] = 1
        #expect(throws: SwapDecodeError.dirtyAddress(offset: 100)) { try Self.decode(dirtyRecipient) }
        var dirtyToken = valid
        dirtyToken[4 + 192 + 5] = 1
        #expect(throws: SwapDecodeError.dirtyAddress(offset: 196)) { try Self.decode(dirtyToken) }
        #expect(
            SwapDecodeError.unknownSelector(0xa905_9cbb).description == "unknown selector 0xa9059cbb")
    }

    @Test func randomSwapsRoundTrip() async {
        let address = zip(
            Gen.uint64(in: 0...UInt64.max), Gen.uint64(in: 0...UInt64.max), Gen.uint32(in: 0...UInt32.max)
        ).map { EVMAddress(first: $0, second: $1, third: $2) }
        let word = zip(Gen.uint64(in: 0...UInt64.max), Gen.uint64(in: 0...UInt64.max), Gen.uint64(in: 0...3)).map {
            UInt256(high: UInt128($2) << 126, low: UInt128($0) << 64 | UInt128($1))
        }
        let function = Gen.int(in: 0...(RouterSwapFunction.allCases.count - 1)).map { RouterSwapFunction.allCases[$0] }
        await propertyCheck(
            count: 2_000, input: function, word, word, address.array(of: 2...5), address, word
        ) { function, amountA, amountB, path, to, deadline in
            let bytes = Self.encode(
                function, amountA: amountA, amountB: amountB, path: path, to: to, deadline: deadline)
            let intent = try Self.decode(bytes, value: amountB)
            #expect(intent.function == function)
            #expect(intent.path.count == path.count)
            for index in 0..<path.count { #expect(intent.path[index] == path[index]) }
            #expect(intent.recipient == to)
            #expect(intent.deadline == deadline.saturatingUInt64)
            #expect(intent.amountSpecified == (function.paysWithETH && function.isExactInput ? amountB : amountA))
        }
    }

    /// Fuzz: random bytes behind each selector, and random corruptions of valid calldata,
    /// decode or throw a typed error, never trap; a decoded path always has 2 to 5 tokens.
    @Test func randomBytesNeverTrap() async {
        let function = Gen.int(in: 0...(RouterSwapFunction.allCases.count - 1)).map { RouterSwapFunction.allCases[$0] }
        await propertyCheck(count: 20_000, input: function, Gen.uint8(in: 0...255).array(of: 0...400)) {
            function, tail in
            let bytes = withUnsafeBytes(of: function.rawValue.bigEndian) { Array($0) } + tail
            do {
                let intent = try Self.decode(bytes)
                #expect((2...5).contains(intent.path.count))
            } catch {
                #expect(error is SwapDecodeError)
            }
        }
        let valid = Self.encode(
            .swapExactTokensForTokens, amountA: UInt256(9), amountB: UInt256(1),
            path: [Self.tokenA, Self.tokenB, Self.tokenC], to: Self.user, deadline: UInt256(1))
        await propertyCheck(
            count: 20_000, input: Gen.int(in: 4...(valid.count - 1)).array(of: 1...4), Gen.uint8(in: 0...255),
            Gen.int(in: 4...valid.count)
        ) { positions, byte, length in
            var bytes = valid
            for position in positions { bytes[position] = byte }
            bytes = Array(bytes.prefix(length))
            do {
                let intent = try Self.decode(bytes)
                #expect((2...5).contains(intent.path.count))
            } catch {
                #expect(error is SwapDecodeError)
            }
        }
    }
}

struct SyntheticSwapFlowTests {
    /// Every synthetic swap decodes back to what was encoded and simulates without reverting
    /// against the pools it was priced on; the mix is as documented.
    @Test func syntheticSwapsDecodeAndSimulate() throws {
        let flow = SyntheticSwapFlow(count: 20_000, tokenCount: 32, seed: 7)
        var pools = flow.pools
        var byFunction: [RouterSwapFunction: Int] = [:]
        for index in 0..<flow.transactions.count {
            let value = flow.transactions[index].value
            let intent = try flow.withCalldata(of: index) { raw in try RouterDecoder.decode(raw, value: value) }
            byFunction[intent.function, default: 0] += 1
            let amounts = try SwapSimulator.simulate(intent, pools: &pools, commit: false)
            #expect(amounts[0] > 0 && amounts[amounts.count - 1] > 0)
            #expect(RouterEncoder.value(of: intent) == value)
        }
        #expect(byFunction.count == 5)
        let share = Double(byFunction[.swapExactETHForTokens] ?? 0) / 20_000
        #expect(share > 0.52 && share < 0.58)
        #expect(pools.pools == flow.pools.pools)
    }

    /// Signed for the chain asked (`mempool run --chain-id`: victims and back-runs of a bundle
    /// are one chain's), and otherwise the same transactions.
    @Test func signedSwapsAreTheChainsAsked() throws {
        for chain: UInt64 in [1, 5] {
            let flow = SyntheticSwapFlow(count: 50, tokenCount: 8, seed: 3, signed: true, chainID: chain)
            #expect(flow.transactions.count == 50)
            try flow.arena.withUnsafeBytes { arena in
                for transaction in flow.transactions {
                    let raw = UnsafeRawBufferPointer(
                        rebasing: arena[transaction.rawOffset..<(transaction.rawOffset + transaction.rawLength)])
                    let decoded = try DecodedTransaction(raw: raw)
                    #expect(decoded.chainID == chain)
                }
            }
        }
    }
}
