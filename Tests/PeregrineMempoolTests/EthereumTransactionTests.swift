import Foundation
import PeregrineEVM
import PeregrineMempool
import PropertyBased
import Testing

/// Keccak-256, RLP, signing and decoding of Ethereum transactions, checked against published
/// vectors and against transactions signed by eth-account 0.14 (Python) with the same key.
struct EthereumTransactionTests {
    /// The private key of the EIP-155 example (0x46 repeated).
    static let key = "0x" + String(repeating: "46", count: 32)
    static let keyAddress = EVMAddress(hex: "0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f")

    static func bytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count - 1, by: 2).map { index in
            let text = String(decoding: digits[index...index + 1], as: UTF8.self)
            return UInt8(text, radix: 16) ?? 0
        }
    }

    static func digest(_ bytes: [UInt8]) -> String {
        String(Keccak256.hash(bytes).description.dropFirst(2))
    }

    @Test func hexTextDecodes() {
        func decode(_ text: String) -> [UInt8]? {
            var bytes: [UInt8] = [9, 9]
            let ok = Array(text.utf8).withUnsafeBytes { decodeHex($0, into: &bytes) }
            return ok ? bytes : nil
        }
        #expect(decode("0x00fFa1") == [0x00, 0xFF, 0xA1])
        #expect(decode(" 0X02f8\n") == [0x02, 0xF8])
        #expect(decode("0x") == [])
        #expect(decode("0x0") == nil)
        #expect(decode("0xzz") == nil)
        #expect(decode("02f8") == nil)
        #expect(decode("") == nil)
        let bytes = (0...255).map { UInt8($0) }
        #expect(decode(hexString(bytes)) == bytes)
    }

    @Test func keccakMatchesPublishedDigests() {
        #expect(Self.digest([]) == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
        #expect(Self.digest(Array("abc".utf8)) == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45")
        // Around the 136-byte rate: the padding byte shares the last byte, fills a block, or starts a new one.
        let expected = [
            135: "cbdfd9dee5faad3818d6b06f95a219fd290b0e1706f6a82e5a595b9ce9faca62",
            136: "7ce759f1ab7f9ce437719970c26b0a66ff11fe3e38e17df89cf5d29c7d7f807e",
            137: "ac73d4fae68b8453f764007c1a20ce95994187861f0c3227a3a8e99a73a3b1db",
            300: "4699841dafd5e26cca72b05a41d38c96b4b468e5a6cbf694cbebe77dacdf6528",
        ]
        for (length, digest) in expected {
            #expect(Self.digest((0..<length).map { UInt8($0 % 251) }) == digest, "length \(length)")
        }
        #expect(BackrunCalldata.selector == [0xc8, 0xf6, 0x41, 0xcc])
    }

    static let backrunLike = EIP1559Transaction(
        chainID: 1, nonce: 7, maxPriorityFeePerGas: 2_000_000_000, maxFeePerGas: 100_000_000_000, gasLimit: 210_000,
        to: EVMAddress(hex: "0x000000000000000000000000000000000000beef") ?? .zero, data: Array(0..<70))
    /// eth-account's `sign_transaction` of the same fields with the same key.
    static let backrunLikeRaw =
        "02f8b30107847735940085174876e8008303345094000000000000000000000000000000000000beef80b846000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445c001a0fca90f48fb846090f311c1a09d1d502b7b31f7f128ed77b8057c4a1111699ebca024b33756d11bd27b62620fe5206741cfd040cbc0735d2f9da22fc64d601b4795"

    @Test func signsEIP1559ExactlyAsEthAccount() throws {
        let signer = try EthereumSigner(privateKeyHex: Self.key)
        #expect(signer.address == Self.keyAddress)
        let signed = try signer.sign(Self.backrunLike)
        #expect(signed.rawHex == "0x" + Self.backrunLikeRaw)
        #expect(signed.hash.description == "0xf9e602d749e9a47823a3c34349ff319b0a52bc7a459a5781515378a907f0f996")
    }

    @Test func decodesAndRecoversSignedTransactions() throws {
        let signer = try EthereumSigner(privateKeyHex: Self.key)
        let raw = Self.bytes(Self.backrunLikeRaw)
        let decoded = try raw.withUnsafeBytes { try DecodedTransaction(raw: $0, baseOffset: 1000) }
        #expect(decoded.type == 2)
        #expect(decoded.chainID == 1)
        #expect(decoded.pending.nonce == 7)
        #expect(decoded.pending.maxPriorityFee == 2_000_000_000)
        #expect(decoded.pending.gasPrice == 100_000_000_000)
        #expect(decoded.pending.gasLimit == 210_000)
        #expect(decoded.pending.to == Self.backrunLike.to)
        #expect(decoded.pending.value == .zero)
        #expect(
            decoded.pending.hash.description == "0xf9e602d749e9a47823a3c34349ff319b0a52bc7a459a5781515378a907f0f996")
        #expect(decoded.pending.calldataLength == 70)
        #expect(Array(raw[(decoded.pending.calldataOffset - 1000)...].prefix(70)) == Array(0..<70))
        let sender = try raw.withUnsafeBytes { try signer.recoverSender(of: decoded, raw: $0) }
        #expect(sender == Self.keyAddress)

        // The EIP-155 example: a legacy transaction with chain id 1 in v.
        let legacy = Self.bytes(
            "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
        )
        let old = try legacy.withUnsafeBytes { try DecodedTransaction(raw: $0) }
        #expect(old.type == 0)
        #expect(old.chainID == 1)
        #expect(old.pending.nonce == 9)
        #expect(old.pending.gasPrice == 20_000_000_000)
        #expect(old.pending.maxPriorityFee == 20_000_000_000)
        #expect(old.pending.gasLimit == 21_000)
        #expect(old.pending.value == UInt256(1_000_000_000_000_000_000))
        #expect(old.pending.to == EVMAddress(hex: "0x3535353535353535353535353535353535353535"))
        #expect(old.pending.calldataLength == 0)
        #expect(old.pending.hash.description == "0x33469b22e9f636356c4160a87eb19df52b7412e8eac32a4a55ffe88ea8350788")
        #expect(try legacy.withUnsafeBytes { try signer.recoverSender(of: old, raw: $0) } == Self.keyAddress)
        // The same without a key of its own.
        let recovery = try SenderRecovery()
        #expect(try raw.withUnsafeBytes { try recovery.sender(of: decoded, raw: $0) } == Self.keyAddress)
        #expect(try legacy.withUnsafeBytes { try recovery.sender(of: old, raw: $0) } == Self.keyAddress)
    }

    /// A signature within its ranges whose r is no point's x on the curve recovers no key: such
    /// a transaction is refused, as a node refuses it. About half of all r are such.
    @Test func aSignatureThatRecoversNoKeyIsRefused() throws {
        let recovery = try SenderRecovery()
        let unrecoverable = try #require(
            (1...64).lazy.map { UInt256(UInt128($0)) }.compactMap { r -> [UInt8]? in
                let raw = Self.backrunLike.encoded(yParity: 0, r: r, s: UInt256(1))
                guard let decoded = try? raw.withUnsafeBytes({ try DecodedTransaction(raw: $0) }) else { return nil }
                return (try? raw.withUnsafeBytes { try recovery.sender(of: decoded, raw: $0) }) == nil ? raw : nil
            }.first)
        let decoded = try unrecoverable.withUnsafeBytes { try DecodedTransaction(raw: $0) }
        #expect(decoded.problem(chainID: 1) == nil)  // nothing else wrong with it
        #expect(throws: SigningError.invalidSignature) {
            try unrecoverable.withUnsafeBytes { try recovery.sender(of: decoded, raw: $0) }
        }
    }

    /// What no node would take, named without recovering the signer: another chain, a
    /// y-parity other than 0 or 1, r or s outside their range, a high s (EIP-2), a tip above
    /// the fee cap.
    @Test func aTransactionNoNodeWouldTakeIsNamed() throws {
        func problem(_ transaction: EIP1559Transaction, yParity: UInt8, r: UInt256, s: UInt256, chain: UInt64 = 1)
            throws -> String?
        {
            try transaction.encoded(yParity: yParity, r: r, s: s).withUnsafeBytes {
                try DecodedTransaction(raw: $0).problem(chainID: chain)
            }
        }
        let n = try #require(UInt256(hex: "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"))
        let halfN = try #require(UInt256(hex: "0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0"))
        let one = UInt256(1)
        let signed = Self.bytes(Self.backrunLikeRaw)
        #expect(try signed.withUnsafeBytes { try DecodedTransaction(raw: $0).problem(chainID: 1) } == nil)
        #expect(
            try signed.withUnsafeBytes { try DecodedTransaction(raw: $0).problem(chainID: 5) }
                == "chain id 1, not 5 (--chain-id)")
        let tx = Self.backrunLike
        #expect(try problem(tx, yParity: 1, r: one, s: halfN) == nil)  // the edges are valid
        #expect(try problem(tx, yParity: 7, r: one, s: one) == "y-parity 7, not 0 or 1")
        #expect(try problem(tx, yParity: 0, r: UInt256(0), s: one) == "signature r 0 outside 1 … n − 1")
        #expect(try problem(tx, yParity: 0, r: n, s: one)?.hasPrefix("signature r ") == true)
        #expect(try problem(tx, yParity: 0, r: one, s: UInt256(0)) == "signature s 0 outside 1 … n / 2 (EIP-2)")
        let highS = UInt256(high: halfN.high, low: halfN.low + 1)
        #expect(try problem(tx, yParity: 0, r: one, s: highS)?.hasSuffix("outside 1 … n / 2 (EIP-2)") == true)
        var tipAboveCap = tx
        tipAboveCap.maxPriorityFeePerGas = tx.maxFeePerGas + 1
        #expect(
            try problem(tipAboveCap, yParity: 0, r: one, s: one)
                == "tip 100000000001 wei above the fee cap 100000000000 wei")
    }

    @Test func refusesMalformedBytesWithTypedErrors() throws {
        let raw = Self.bytes(Self.backrunLikeRaw)
        func decode(_ bytes: [UInt8]) -> RawTransactionError? {
            do {
                _ = try bytes.withUnsafeBytes { try DecodedTransaction(raw: $0) }
                return nil
            } catch { return error as? RawTransactionError }
        }
        #expect(decode([]) == .empty)
        #expect(decode([0x01] + raw.dropFirst()) == .unsupportedType(0x01))
        #expect(decode(raw + [0]) == .trailingBytes(count: 1))
        #expect(decode(Array(raw.prefix(100))) == .truncated(at: 1))
        #expect(decode([0x02, 0xC2, 0x81, 0x05]) == .nonCanonical(at: 2))  // 0x05 must be written bare
        #expect(decode([0x02, 0xC3, 0x01, 0x02, 0x03]) == .wrongFieldCount(3, expected: 12))
        #expect(decode([0xC0]) == .wrongFieldCount(0, expected: 9))
        #expect(decode([0xB8, 0x01, 0x00]) == .unsupportedType(0xB8))
        #expect(decode([0xF8, 0x05, 1, 2, 3, 4, 5]) == .nonCanonical(at: 0))  // long form for 5 bytes
        let bad = try EthereumSigner(privateKeyHex: Self.key)
        #expect(throws: SigningError.invalidPrivateKey("zero or not below the secp256k1 group order")) {
            _ = try EthereumSigner(privateKey: [UInt8](repeating: 0, count: 32))
        }
        #expect(throws: SigningError.self) { _ = try EthereumSigner(privateKeyHex: "0x1234") }
        _ = bad
    }

    /// Fuzz: corruptions and truncations of a valid transaction decode or throw a typed error,
    /// never trap; any prefix of it is refused.
    @Test func corruptedBytesNeverTrap() async {
        let raw = Self.bytes(Self.backrunLikeRaw)
        await propertyCheck(
            count: 20_000, input: Gen.int(in: 0...(raw.count - 1)).array(of: 1...4), Gen.uint8(in: 0...255),
            Gen.int(in: 0...raw.count)
        ) { positions, byte, length in
            var bytes = raw
            for position in positions { bytes[position] = byte }
            bytes = Array(bytes.prefix(length))
            do {
                let decoded = try bytes.withUnsafeBytes { try DecodedTransaction(raw: $0) }
                #expect(decoded.pending.calldataOffset + decoded.pending.calldataLength <= bytes.count)
            } catch {
                #expect(error is RawTransactionError)
            }
        }
        await propertyCheck(count: 2_000, input: Gen.int(in: 0...(raw.count - 1))) { length in
            #expect(throws: RawTransactionError.self) {
                _ = try Array(raw.prefix(length)).withUnsafeBytes { try DecodedTransaction(raw: $0) }
            }
        }
    }

    /// A back-run of a found opportunity: ABI layout of the executor call, gas and fees from
    /// the victim, signed by our key, in an `eth_sendBundle` request after the victim.
    @Test func backrunBundleRequest() throws {
        let flow = SyntheticSwapFlow(count: 0, tokenCount: 8, seed: 1)
        var cycle = ArbitrageCycle()
        let weth = SwapSimulator.weth
        let token = flow.tokens[0]
        guard let uniswap = flow.pools.index(weth, token), let sushi = flow.pools.index(weth, token, venue: .sushiswap)
        else {
            Issue.record("synthetic pools missing")
            return
        }
        cycle.append(pool: uniswap, tokenIn: weth)
        cycle.append(pool: sushi, tokenIn: token)
        let victim = TransactionHash(1, 2, 3, 4)
        let opportunity = Opportunity(
            victim: victim, cycle: cycle, amountIn: 5_000_000_000_000_000_000,
            amountOut: 5_100_000_000_000_000_000, gasCost: 3_000_000_000_000_000,
            netProfit: 97_000_000_000_000_000)
        var leg = BundleLeg.empty
        leg.call = BackrunCall(opportunity, pools: flow.pools, search: BackrunSearch())
        leg.maxFeePerGas = 90_000_000_000
        leg.maxPriorityFeePerGas = 3_000_000_000
        let executor = EVMAddress(hex: "0x00000000000000000000000000000000000e8ec0") ?? .zero
        var settings = MempoolSettings()
        settings.executor = executor
        settings.nonce = 42
        let assembler = BundleRequestWriter(
            signer: try EthereumSigner(privateKeyHex: Self.key), settings: settings, delivery: nil)
        let signed = try assembler.backrun(for: leg)
        let decoded = try signed.raw.withUnsafeBytes { try DecodedTransaction(raw: $0) }
        #expect(decoded.pending.to == executor)
        #expect(decoded.pending.nonce == 42)
        #expect(decoded.pending.gasPrice == 90_000_000_000)
        #expect(decoded.pending.maxPriorityFee == 3_000_000_000)
        #expect(decoded.pending.gasLimit == (60_000 + 2 * 50_000) * 125 / 100)
        #expect(decoded.pending.hash == signed.hash)
        #expect(
            try signed.raw.withUnsafeBytes { try assembler.signer.recoverSender(of: decoded, raw: $0) }
                == Self.keyAddress)
        let data = Array(
            signed.raw[
                decoded.pending.calldataOffset..<(decoded.pending.calldataOffset + decoded.pending.calldataLength)])
        #expect(data.count == 4 + 32 * 7)
        #expect(Array(data.prefix(4)) == BackrunCalldata.selector)
        func word(_ index: Int) -> [UInt8] { Array(data[(4 + 32 * index)..<(4 + 32 * index + 32)]) }
        #expect(word(0) == [UInt8](repeating: 0, count: 12) + weth.bytes)
        #expect(word(1) == UInt256(5_000_000_000_000_000_000).bigEndianBytes)
        #expect(word(2) == UInt256(5_003_000_000_000_000_000).bigEndianBytes)  // input + gas: never at a loss
        #expect(word(3) == UInt256(128).bigEndianBytes)
        #expect(word(4) == UInt256(2).bigEndianBytes)
        #expect(word(5) == [UInt8](repeating: 0, count: 12) + flow.pools[uniswap].address.bytes)
        #expect(word(6) == [UInt8](repeating: 0, count: 12) + flow.pools[sushi].address.bytes)

        let victimRaw = Self.bytes(Self.backrunLikeRaw)
        let line = BundleRequestWriter.request(id: 9, transactions: [victimRaw, signed.raw], blockNumber: 12_775_691)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(json["jsonrpc"] as? String == "2.0")
        #expect(json["id"] as? Int == 9)
        #expect(json["method"] as? String == "eth_sendBundle")
        let params = try #require((json["params"] as? [[String: Any]])?.first)
        #expect(params["txs"] as? [String] == ["0x" + Self.backrunLikeRaw, signed.rawHex])
        #expect(params["blockNumber"] as? String == "0xc2f10b")
        #expect((params["revertingTxHashes"] as? [String])?.isEmpty == true)
    }
}
