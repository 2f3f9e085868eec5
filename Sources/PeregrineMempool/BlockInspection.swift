import Foundation
import PeregrineEVM

/// A Uniswap V2-style pair swap found in a mined block's traces.
public struct MinedSwap: Equatable, Sendable {
    public var transactionHash: String
    public var transactionPosition: Int
    public var traceAddress: [Int]
    /// The pair.
    public var pool: EVMAddress
    /// The caller of `swap()` and the recipient of its output.
    public var from: EVMAddress
    public var to: EVMAddress
    public var tokenIn: EVMAddress
    public var tokenOut: EVMAddress
    /// What was transferred into the pair just before the swap in the same transaction (0 when
    /// no such transfer is in the traces).
    public var amountIn: UInt256
    public var amountOut: UInt256
}

/// A sandwich: a front-run and a back-run by the same account around victims' swaps in the
/// same pool and direction.
public struct Sandwich: Equatable, Sendable {
    public var sandwicher: EVMAddress
    public var frontrun: MinedSwap
    public var victims: [MinedSwap]
    public var backrun: MinedSwap
    /// Back-run output minus front-run input, in the front-run's input token (0 if negative).
    public var profit: UInt256
}

/// A cyclic arbitrage: one transaction's swaps chain tokens back to the first one.
public struct MinedArbitrage: Equatable, Sendable {
    public var swaps: [MinedSwap]
    public var profitToken: EVMAddress
    public var profit: UInt256
}

/// Why a block file cannot be inspected.
public enum BlockInspectionError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(String)
    case malformed(String)

    public var description: String {
        switch self {
        case .unreadable(let text): return "cannot read the block file: \(text)"
        case .malformed(let text): return "bad block traces file: \(text)"
        }
    }
}

/// Reads a block's Parity-style `trace_block` output (the JSON shape of the files in
/// `shared/data/eth_block_*_traces_receipts.json`) and finds its Uniswap V2 swaps, the
/// sandwiches among them and cyclic arbitrages — the way mev-inspect-py audits history.
/// Offline tool code: it uses Foundation's JSON parser and allocates freely.
public struct BlockInspection: Sendable {
    public var blockNumber: Int
    /// The block's base fee per gas (`base_fee_per_gas`), wei; 0 before London (EIP-1559) or
    /// when the file does not give it.
    public var baseFeePerGas: UInt64 = 0
    /// The block's timestamp (Unix s; 0 when the file has none): the transactions in it ran at
    /// it, so a swap whose deadline is before it reverts.
    public var blockTimestamp: UInt64 = 0
    public var swaps: [MinedSwap]

    static let swapSelector = "0x022c0d9f"
    static let reservesSelector = "0x0902f1ac"
    static let balanceOfSelector = "0x70a08231"
    static let transferSelector = "0xa9059cbb"
    static let transferFromSelector = "0x23b872dd"

    /// Uniswap V2's factory and its pairs' init code hash (`UniswapV2Library.pairFor`), and
    /// SushiSwap's: a pool at the address either would create for its tokens is that venue's.
    public static let uniswapV2Factory = EVMAddress(hex: "0x5C69bEe701ef814a2B6a3EDD4B1652CB9cc5aA6f") ?? .zero
    public static let uniswapV2InitCode =
        TransactionHash(hex: "0x96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f")
        ?? TransactionHash(0, 0, 0, 0)
    public static let sushiswapFactory = EVMAddress(hex: "0xC0AEe478e3658e2610c5F7A4A2E1777cE9e4f2Ac") ?? .zero
    public static let sushiswapInitCode =
        TransactionHash(hex: "0xe18a34eb0e04b04f7a0ac29a6e80748dca96319b42c54d679cb821dca90c6303")
        ?? TransactionHash(0, 0, 0, 0)

    /// The address `factory` creates the pair of `pair`'s tokens at (CREATE2 with the salt
    /// keccak256(token0 ‖ token1), as `UniswapV2Library.pairFor` computes it).
    public static func pairAddress(factory: EVMAddress, initCodeHash: TransactionHash, _ pair: TokenPair) -> EVMAddress
    {
        let salt = Keccak256.hash(pair.token0.bytes + pair.token1.bytes)
        return EVMAddress(
            lastTwentyBytesOf: Keccak256.hash([0xff] + factory.bytes + salt.bytes + initCodeHash.bytes))
    }

    /// The venue of the pool at `address` trading `pair`: Uniswap V2 or SushiSwap when it is
    /// where their factory puts the pair, otherwise another fork, numbered from 2 in the order
    /// met (`others`: the forks' pools of this pair seen before).
    static func venue(of address: EVMAddress, _ pair: TokenPair, others: Int) -> Venue {
        if address == pairAddress(factory: uniswapV2Factory, initCodeHash: uniswapV2InitCode, pair) {
            return .uniswapV2
        }
        if address == pairAddress(factory: sushiswapFactory, initCodeHash: sushiswapInitCode, pair) {
            return .sushiswap
        }
        return Venue(rawValue: UInt8(clamping: 2 + others))
    }

    struct Trace {
        var hash: String
        var position: Int
        var address: [Int]
        var from: EVMAddress
        var to: EVMAddress
        var input: [UInt8]
        var selector: String
        var failed: Bool
        var value: UInt256
        var output: [UInt8]
    }

    /// Reads the block file at `path`; an error names the file, and the trace or receipt and
    /// the field at fault.
    public init(contentsOf path: String) throws(BlockInspectionError) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable("\(path): \(error.localizedDescription)")
        }
        do { try self.init(json: data) } catch {
            if case .malformed(let text) = error { throw .malformed("\(path): \(text)") }
            throw error
        }
    }

    public init(json data: Data) throws(BlockInspectionError) {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw .malformed("invalid JSON (\(error.localizedDescription))")
        }
        guard let block = object as? [String: Any], let rawTraces = block["traces"] as? [[String: Any]] else {
            throw .malformed("no \"traces\" array")
        }
        guard let number = block["block_number"] as? Int, number >= 0 else {
            throw .malformed("\"block_number\" is \(Self.shown(block["block_number"])), not a block number")
        }
        blockNumber = number
        baseFeePerGas = try Self.baseFee(block["base_fee_per_gas"], block: number)
        if let timestamp = block["block_timestamp"], !(timestamp is NSNull) {
            // (JSON true and false arrive as NSNumbers of type char.)
            guard let number = timestamp as? NSNumber, String(cString: number.objCType) != "c",
                !(number is NSDecimalNumber), let seconds = UInt64(number.stringValue), seconds > 0
            else {
                throw .malformed("\"block_timestamp\" is \(Self.shown(timestamp)), not a time in Unix seconds")
            }
            blockTimestamp = seconds
        }
        var traces: [Trace] = []
        traces.reserveCapacity(rawTraces.count)
        for (index, raw) in rawTraces.enumerated() {
            // Calls only (not block and uncle rewards, creations or self-destructs).
            guard raw["type"] as? String == "call", let action = raw["action"] as? [String: Any] else { continue }
            guard let hash = raw["transaction_hash"] as? String, let position = raw["transaction_position"] as? Int,
                let address = raw["trace_address"] as? [Int]
            else { throw .malformed("trace \(index) lacks transaction_hash, transaction_position or trace_address") }
            func bad(_ field: String, _ value: Any?, _ what: String) -> BlockInspectionError {
                .malformed("trace \(index) (transaction \(hash)): \(field) is \(Self.shown(value)), not \(what)")
            }
            guard TransactionHash(hex: hash) != nil else { throw bad("transaction_hash", hash, "a 32-byte hash") }
            guard let from = (action["from"] as? String).flatMap({ EVMAddress(hex: $0) }) else {
                throw bad("action.from", action["from"], "an address")
            }
            guard let to = (action["to"] as? String).flatMap({ EVMAddress(hex: $0) }) else {
                throw bad("action.to", action["to"], "an address")
            }
            let inputText = action["input"] as? String ?? "0x"
            guard let input = Self.bytes(hex: inputText) else { throw bad("action.input", inputText, "0x-hex bytes") }
            guard let value = UInt256(hex: action["value"] as? String ?? "0x0") else {
                throw bad("action.value", action["value"], "a 0x-hex amount")
            }
            let outputText = (raw["result"] as? [String: Any])?["output"] as? String ?? "0x"
            guard let output = Self.bytes(hex: outputText) else {
                throw bad("result.output", outputText, "0x-hex bytes")
            }
            traces.append(
                Trace(
                    hash: hash, position: position, address: address, from: from, to: to, input: input,
                    selector: String(inputText.prefix(10)).lowercased(),
                    failed: !(raw["error"] is NSNull || raw["error"] == nil), value: value, output: output))
        }
        traces.sort { lhs, rhs in
            lhs.position != rhs.position
                ? lhs.position < rhs.position : lhs.address.lexicographicallyPrecedes(rhs.address)
        }
        swaps = Self.findSwaps(traces)
        var gasPrices: [String: UInt128] = [:]
        for receipt in block["receipts"] as? [[String: Any]] ?? [] {
            guard let hash = receipt["transaction_hash"] as? String, let price = receipt["effective_gas_price"] else {
                continue
            }
            if let number = price as? NSNumber, let value = UInt256(decimal: number.stringValue)?.uint128 {
                gasPrices[hash] = value
            } else if let text = price as? String, let value = (UInt256(hex: text) ?? UInt256(decimal: text))?.uint128 {
                gasPrices[hash] = value
            } else if !(price is NSNull) {
                throw .malformed(
                    "the receipt of \(hash): effective_gas_price is \(Self.shown(price)), not a wei amount")
            }
        }
        // The block's transactions to Router02, in order, as pending transactions: each with the
        // gas price its receipt says it paid (without it the back-run would be priced at no gas).
        for trace in traces where trace.address.isEmpty && trace.to == uniswapV2Router02 {
            guard let gasPrice = gasPrices[trace.hash] else {
                throw .malformed(
                    "transaction \(trace.hash) calls Router02 but no receipt gives its effective_gas_price: the file "
                        + "needs the block's receipts")
            }
            let offset = calldata.count
            calldata += trace.input
            pending.append(
                PendingTransaction(
                    hash: TransactionHash(hex: trace.hash) ?? TransactionHash(0, 0, 0, 0), from: trace.from,
                    to: trace.to, value: trace.value, gasPrice: gasPrice, calldataOffset: offset,
                    calldataLength: trace.input.count))
        }
        // Each swapped pair's reserves at its first getReserves() in the block, with its tokens.
        var seenPools = Set<EVMAddress>()
        // Each pool is its own: a pair traded on Uniswap V2 and on forks has a pool on each.
        var forks: [TokenPair: Int] = [:]
        for trace in traces where trace.selector == Self.reservesSelector && !trace.failed {
            guard !seenPools.contains(trace.to), let swap = swaps.first(where: { $0.pool == trace.to }) else {
                continue
            }
            // A swapped pair's reserves are what its victims are simulated on: never guessed.
            guard trace.output.count >= 64 else {
                throw .malformed(
                    "getReserves() of \(trace.to) in transaction \(trace.hash) returned \(trace.output.count) bytes, "
                        + "not the reserves (two 32-byte words at least)")
            }
            seenPools.insert(trace.to)
            let reserve0 = trace.output.withUnsafeBytes { UInt256(bigEndianWordAt: 0, of: $0) }
            let reserve1 = trace.output.withUnsafeBytes { UInt256(bigEndianWordAt: 32, of: $0) }
            let pair = TokenPair(swap.tokenIn, swap.tokenOut)
            let uint112 = UInt128(1) << 112
            guard let r0 = reserve0.uint128, let r1 = reserve1.uint128, r0 < uint112, r1 < uint112 else {
                throw .malformed(
                    "getReserves() of \(trace.to) in transaction \(trace.hash) returned reserves past uint112 "
                        + "(\(reserve0), \(reserve1)): not a Uniswap V2 pair's")
            }
            let venue = Self.venue(of: trace.to, pair, others: forks[pair, default: 0])
            if venue.rawValue >= 2 { forks[pair, default: 0] += 1 }
            pools.upsert(
                ConstantProductPool(
                    address: trace.to, token0: pair.token0, token1: pair.token1, reserve0: r0, reserve1: r1,
                    venue: venue))
        }
    }

    /// The block's top-level calls to Router02, as pending transactions (gas price from the
    /// receipts); their calldata is in `calldata`.
    public private(set) var pending: [PendingTransaction] = []
    public private(set) var calldata: [UInt8] = []
    /// The swapped pairs with their reserves at their first `getReserves()` in the block.
    public private(set) var pools = PoolBook()

    /// `0x` and an even number of hex digits as bytes; nil otherwise.
    static func bytes(hex: String) -> [UInt8]? {
        guard hex.hasPrefix("0x") || hex.hasPrefix("0X") else { return nil }
        let digits = Array(hex.utf8.dropFirst(2))
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index + 1 < digits.count {
            guard let high = hexNibble(digits[index]), let low = hexNibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    /// A JSON value as an error shows it: strings quoted, at most 80 characters.
    /// Mainnet's London block, from which every block has a base fee (EIP-1559).
    public static let londonBlock = 12_965_000

    /// The base fee of block `block` from its `base_fee_per_gas` (a JSON integer, or decimal or
    /// 0x-hex text, below 2^64): absent or null only before London.
    static func baseFee(_ value: Any?, block: Int) throws(BlockInspectionError) -> UInt64 {
        func refused(_ shown: String) -> BlockInspectionError {
            .malformed("\"base_fee_per_gas\" is \(shown), not a wei amount (an integer below 2^64)")
        }
        switch value {
        case nil, is NSNull:
            guard block < londonBlock else {
                throw .malformed(
                    "\"base_fee_per_gas\" is missing: block \(block) is from London (\(londonBlock)) on, "
                        + "so it has one (give 0 for a chain without it)")
            }
            return 0
        case let number as NSNumber:
            // JSON true and false arrive as NSNumbers of type char; an integer past 2^64 as a
            // decimal number whose text is rounded, so it is not quoted.
            guard String(cString: number.objCType) != "c" else { throw refused("\(number.boolValue)") }
            if number is NSDecimalNumber { throw refused("a number beyond 2^64") }
            guard let fee = UInt64(number.stringValue) else { throw refused(Self.shown(number)) }
            return fee
        case let text as String:
            guard let fee = (UInt256(hex: text) ?? UInt256(decimal: text))?.uint128.flatMap({ UInt64(exactly: $0) })
            else { throw refused(Self.shown(text)) }
            return fee
        case let other: throw refused(Self.shown(other))
        }
    }

    static func shown(_ value: Any?) -> String {
        guard let value, !(value is NSNull) else { return "missing" }
        let text = value is String ? "'\(value)'" : "\(value)"
        return text.count > 80 ? String(text.prefix(77)) + "…" : text
    }

    static func word(_ bytes: [UInt8], _ index: Int) -> UInt256? {
        let offset = 4 + index * 32
        guard bytes.count >= offset + 32 else { return nil }
        return bytes.withUnsafeBytes { UInt256(bigEndianWordAt: offset, of: $0) }
    }

    static func addressWord(_ bytes: [UInt8], _ index: Int) -> EVMAddress? {
        let offset = 4 + index * 32
        guard bytes.count >= offset + 32 else { return nil }
        return bytes.withUnsafeBytes { EVMAddress(abiWordAt: offset, of: $0) }
    }

    static func findSwaps(_ traces: [Trace]) -> [MinedSwap] {
        var swaps: [MinedSwap] = []
        for (index, trace) in traces.enumerated() where trace.selector == swapSelector && !trace.failed {
            // swap(uint amount0Out, uint amount1Out, address to, bytes data)
            guard let amount0Out = word(trace.input, 0), let amount1Out = word(trace.input, 1),
                let recipient = addressWord(trace.input, 2)
            else { continue }
            // The pair reads its balances (token0, then token1) inside swap().
            let children = traces[(index + 1)...].prefix {
                $0.hash == trace.hash && $0.address.starts(with: trace.address)
                    && $0.address.count > trace.address.count
            }
            let balanceReads = children.filter {
                $0.selector == balanceOfSelector && $0.from == trace.to && $0.address.count == trace.address.count + 1
            }
            guard balanceReads.count >= 2 else { continue }
            let token0 = balanceReads[balanceReads.startIndex].to
            let token1 = balanceReads[balanceReads.startIndex + 1].to
            let zeroOut = amount0Out == .zero
            let tokenIn = zeroOut ? token0 : token1
            let tokenOut = zeroOut ? token1 : token0
            // The transfer of the input into the pair: the last one before the swap in this transaction.
            var amountIn = UInt256.zero
            var earlier = index - 1
            while earlier >= 0 && traces[earlier].hash == trace.hash {
                let candidate = traces[earlier]
                if candidate.to == tokenIn && !candidate.failed {
                    if candidate.selector == transferSelector, addressWord(candidate.input, 0) == trace.to,
                        let amount = word(candidate.input, 1)
                    {
                        amountIn = amount
                        break
                    }
                    if candidate.selector == transferFromSelector, addressWord(candidate.input, 1) == trace.to,
                        let amount = word(candidate.input, 2)
                    {
                        amountIn = amount
                        break
                    }
                }
                earlier -= 1
            }
            swaps.append(
                MinedSwap(
                    transactionHash: trace.hash, transactionPosition: trace.position, traceAddress: trace.address,
                    pool: trace.to, from: trace.from, to: recipient, tokenIn: tokenIn, tokenOut: tokenOut,
                    amountIn: amountIn, amountOut: zeroOut ? amount1Out : amount0Out))
        }
        return swaps
    }

    /// Sandwiches: for each swap, a later swap by the same account in the same pool in the
    /// opposite direction, with at least one other account's swap in the same direction
    /// (in another transaction) between them.
    public func sandwiches() -> [Sandwich] {
        var found: [Sandwich] = []
        var used = Set<Int>()
        for (index, front) in swaps.enumerated() where !used.contains(index) {
            let sandwicher = front.to
            var victims: [MinedSwap] = []
            for later in (index + 1)..<swaps.count {
                let other = swaps[later]
                guard other.transactionHash != front.transactionHash, other.pool == front.pool else { continue }
                if other.tokenIn == front.tokenIn && other.tokenOut == front.tokenOut && other.to != sandwicher {
                    victims.append(other)
                } else if other.tokenIn == front.tokenOut && other.tokenOut == front.tokenIn
                    && (other.from == sandwicher || other.to == sandwicher)
                {
                    if !victims.isEmpty {
                        let profit =
                            other.amountOut > front.amountIn
                            ? UInt256.subtracting(other.amountOut, front.amountIn) : .zero
                        found.append(
                            Sandwich(
                                sandwicher: sandwicher, frontrun: front, victims: victims, backrun: other,
                                profit: profit))
                        used.insert(later)
                    }
                    break
                }
            }
        }
        return found
    }

    /// Cyclic arbitrages: transactions whose swaps (in trace order) chain each output token into
    /// the next input and end in the first input token, for a gain.
    public func arbitrages() -> [MinedArbitrage] {
        var byTransaction: [String: [MinedSwap]] = [:]
        var order: [String] = []
        for swap in swaps {
            if byTransaction[swap.transactionHash] == nil { order.append(swap.transactionHash) }
            byTransaction[swap.transactionHash, default: []].append(swap)
        }
        var found: [MinedArbitrage] = []
        for hash in order {
            guard let chain = byTransaction[hash], chain.count >= 2, let first = chain.first, let last = chain.last
            else { continue }
            var linked = true
            for index in 1..<chain.count where chain[index].tokenIn != chain[index - 1].tokenOut { linked = false }
            guard linked, last.tokenOut == first.tokenIn, last.amountOut > first.amountIn else { continue }
            found.append(
                MinedArbitrage(
                    swaps: chain, profitToken: first.tokenIn,
                    profit: UInt256.subtracting(last.amountOut, first.amountIn)))
        }
        return found
    }
}

extension UInt256 {
    /// `a − b` for a ≥ b.
    static func subtracting(_ a: UInt256, _ b: UInt256) -> UInt256 {
        let (low, borrow) = a.low.subtractingReportingOverflow(b.low)
        return UInt256(high: a.high &- b.high &- (borrow ? 1 : 0), low: low)
    }
}
