import Foundation
import PeregrineEVM
import PeregrineEngine
import PeregrineMempool
import PeregrineNATS
import PeregrineTestSupport
import Testing

/// `peregrine mempool run` with pending transactions from a NATS subject and bundles to one:
/// the same transactions give the same bundles, byte for byte, as the in-memory synthetic run,
/// and the run's journal replays to them again, with the same hashes.
@Suite(.serialized)
struct MempoolOverNATSTests {
    /// The EIP-155 example (a legacy transfer, not to the router: filtered), as 0x-hex text.
    static let legacyTransferHex =
        "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"

    /// Starts the CLI with `arguments` and waits for its first line of output, printed once the
    /// engine has subscribed (up to 60 s): the process, its output and that line.
    static func start(_ arguments: [String]) throws -> (Process, Pipe, String) {
        let engine = Process()
        engine.executableURL = PeregrineCLI.binary
        engine.arguments = arguments
        let output = Pipe()
        engine.standardOutput = output
        engine.standardError = FileHandle.nullDevice
        try engine.run()
        var text = ""
        let deadline = Date().addingTimeInterval(60)
        while !text.contains("\n"), Date() < deadline {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        return (engine, output, text)
    }

    @Test func bundlesFromANATSFeedEqualTheSyntheticRun() throws {
        let (url, server) = try JetStreamJournalTests.server()
        defer { _ = server }
        let common = [
            "--unique", "3000", "--status-interval", "100", "--nonce", "5", "--min-profit-eth", "0.01",
        ]
        let reference = FileManager.default.temporaryDirectory.appendingPathComponent("bundles-ref-\(getpid()).jsonl")
        defer { try? FileManager.default.removeItem(at: reference) }
        let synthetic = try PeregrineCLI.run(
            ["mempool", "run", "--count", "3000", "--rate", "0", "--bundles-out", reference.path] + common)
        #expect(synthetic.status == 0, "\(synthetic.error)")
        let expected = try String(contentsOf: reference, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(expected.count > 100)

        let journal = FileManager.default.temporaryDirectory.appendingPathComponent("pending-journal-\(getpid())")
        defer { try? FileManager.default.removeItem(at: journal) }
        let pending = "mempool\(getpid()).pending"
        let bundlesSubject = "mempool\(getpid()).bundles"
        let connection = try NATSConnection(NATSConnectionOptions(url: url))
        let bundles = try connection.subscribe(bundlesSubject, pendingMessages: 1 << 16, pendingBytes: 1 << 28)
        try connection.flush()

        let (engine, output, firstLine) = try Self.start(
            [
                "mempool", "run", "--source", url, "--subject", pending, "--count", "100000", "--bundles-out", url,
                "--bundles-subject", bundlesSubject, "--journal", journal.path,
            ] + common)
        var text = firstLine
        #expect(text.hasPrefix("mempool: \(pending) at \(url)"))

        // Not hex, then a legacy transfer as hex text, then the synthetic stream as bytes.
        try Array("0xzz".utf8).withUnsafeBytes { try connection.publish(pending, $0) }
        try Array(Self.legacyTransferHex.utf8).withUnsafeBytes { try connection.publish(pending, $0) }
        // A swap signed for another chain (5, not --chain-id 1): no node would take it.
        let otherChain = try EthereumSigner(
            privateKeyHex: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
        ).sign(
            EIP1559Transaction(
                chainID: 5, nonce: 0, maxPriorityFeePerGas: 1_000_000_000, maxFeePerGas: 50_000_000_000,
                gasLimit: 300_000, to: uniswapV2Router02, data: [0x7f, 0xf3, 0x6a, 0xb5]))
        try otherChain.raw.withUnsafeBytes { try connection.publish(pending, $0) }
        // A swap whose signature (within its ranges) recovers no key: no node would take it.
        let recovery = try SenderRecovery()
        let swap = EIP1559Transaction(
            chainID: 1, nonce: 0, maxPriorityFeePerGas: 1_000_000_000, maxFeePerGas: 50_000_000_000,
            gasLimit: 300_000, to: uniswapV2Router02, data: [0x7f, 0xf3, 0x6a, 0xb5])
        let unrecoverable = try #require(
            (1...64).lazy.map { swap.encoded(yParity: 0, r: UInt256(UInt128($0)), s: UInt256(1)) }.first { raw in
                guard let decoded = try? raw.withUnsafeBytes({ try DecodedTransaction(raw: $0) }) else { return false }
                return (try? raw.withUnsafeBytes { try recovery.sender(of: decoded, raw: $0) }) == nil
            })
        try unrecoverable.withUnsafeBytes { try connection.publish(pending, $0) }
        try connection.flush()
        let publish = try PeregrineCLI.run([
            "mempool", "publish", "--nats", url, "--subject", pending, "--count", "3000", "--unique", "3000",
        ])
        #expect(publish.status == 0, "\(publish.error)")
        #expect(publish.output == "published 3000 signed transactions (3000 distinct) and END to \(pending)\n")
        text += String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        engine.waitUntilExit()
        #expect(engine.terminationStatus == 0, "\(text)")
        #expect(
            text.contains(
                "source read       3,004 messages from \(pending) at \(url): 3,001 pending transactions · "
                    + "3 malformed messages refused (first: message 1: not 0x-hex text)"), "\(text)")
        #expect(
            text.contains(
                "mempool           3,001 pending transactions analysed · 0 duplicate · 1 by rules · 0 not a Router02 swap"
            ),
            "\(text)")
        #expect(
            text.contains("bundle requests   \(grouped(expected.count)) written (\(bundlesSubject) at \(url))"),
            "\(text)")
        #expect(text.contains("lossless          yes"), "\(text)")

        var received: [String] = []
        while try bundles.next(
            timeoutMilliseconds: 1_000, { received.append(String(decoding: $0.bytes, as: UTF8.self)) })
        {}
        #expect(received.count == expected.count)
        #expect(received == expected)

        // The journal holds every transaction as it arrived (END and the malformed message are not
        // transactions); its replay writes the same bundles and ends with the same hashes.
        let replayed = FileManager.default.temporaryDirectory.appendingPathComponent("bundles-replay-\(getpid()).jsonl")
        defer { try? FileManager.default.removeItem(at: replayed) }
        let replay = try PeregrineCLI.run(
            ["replay", "--journal", journal.path, "--bundles-out", replayed.path, "--signing-key-file", "/dev/null"])
        #expect(replay.status == 2 && replay.error.contains("/dev/null"), "\(replay.error)")
        let again = try PeregrineCLI.run(["replay", "--journal", journal.path, "--bundles-out", replayed.path])
        #expect(again.status == 0, "\(again.error)")
        for prefix in ["state hash:", "output hash:"] {
            let live = text.split(separator: "\n").first { $0.hasPrefix(prefix) }
            let replay = again.output.split(separator: "\n").first { $0.hasPrefix(prefix) }
            #expect(live != nil && live == replay, "\(prefix)")
        }
        #expect(again.output.contains("bundle requests   \(expected.count) written (\(replayed.path))"))
        #expect(try String(contentsOf: replayed, encoding: .utf8).split(separator: "\n").map(String.init) == expected)
    }

    /// `HEAD BLOCK BASEFEE` messages are chain heads, in order with the transactions: the base
    /// fee filters victims whose fee cap is below it and prices the back-runs, the bundles target
    /// the block after the head, and the journal holds the head (its replay agrees); a head's
    /// block timestamp makes swaps past their deadline revert.
    @Test func chainHeadsFromNATSCarryTheBaseFee() throws {
        let (url, server) = try JetStreamJournalTests.server()
        defer { _ = server }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("nats-heads-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let pending = "heads\(getpid()).pending"
        let common = ["--unique", "3000", "--status-interval", "100", "--min-profit-eth", "0.01"]
        func run(_ name: String, heads: [String]) throws -> (output: String, bundles: [String]) {
            let bundles = scratch.appendingPathComponent("\(name).jsonl")
            let (engine, output, firstLine) = try Self.start(
                [
                    "mempool", "run", "--source", url, "--subject", pending, "--count", "100000", "--bundles-out",
                    bundles.path, "--journal", scratch.appendingPathComponent(name).path,
                ] + common)
            var text = firstLine
            let connection = try NATSConnection(NATSConnectionOptions(url: url))
            for head in heads { try Array(head.utf8).withUnsafeBytes { try connection.publish(pending, $0) } }
            try connection.flush()
            let publish = try PeregrineCLI.run([
                "mempool", "publish", "--nats", url, "--subject", pending, "--count", "3000", "--unique", "3000",
            ])
            #expect(publish.status == 0, "\(publish.error)")
            text += String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            engine.waitUntilExit()
            #expect(engine.terminationStatus == 0, "\(text)")
            let lines = (try? String(contentsOf: bundles, encoding: .utf8))?.split(separator: "\n").map(String.init)
            return (text, lines ?? [])
        }
        let free = try run("free", heads: [])
        // Refused: a field not a number, a sign. Taken: a head with a line break after it.
        let priced = try run("priced", heads: ["HEAD 7 x", "HEAD 8 +5", "HEAD 20000000 20000000000\n"])
        // Fee caps under 20 gwei are filtered: counted from the transactions themselves.
        let flow = SyntheticSwapFlow(count: 3_000, tokenCount: 256, seed: 3, signed: true)
        let below = flow.transactions.filter { $0.gasPrice < 20_000_000_000 }.count
        #expect(below > 100)
        #expect(free.output.contains("· 0 by rules ·"), "\(free.output)")
        #expect(priced.output.contains("· \(grouped(below)) by rules ·"), "\(priced.output)")
        #expect(
            priced.output.contains(
                "source read       3,003 messages from \(pending) at \(url): 3,000 pending transactions · 2 malformed "
                    + "messages refused (first: message 1: 'HEAD 7 x' is not HEAD BLOCK BASEFEE"), "\(priced.output)")
        #expect(priced.output.contains("· 1 chain heads"), "\(priced.output)")
        // Dearer gas: fewer bundles, each for the block after the head (0x1312d01 = 20,000,001).
        #expect(free.bundles.count > priced.bundles.count && !priced.bundles.isEmpty)
        #expect(priced.bundles.allSatisfy { $0.contains("\"blockNumber\":\"0x1312d01\"") }, "\(priced.bundles[0])")
        #expect(!free.bundles.contains { $0.contains("\"blockNumber\":\"0x1312d01\"") })
        // The journal holds the head: its replay writes the same bundles.
        let replayed = scratch.appendingPathComponent("replayed.jsonl")
        let again = try PeregrineCLI.run([
            "replay", "--journal", scratch.appendingPathComponent("priced").path, "--bundles-out", replayed.path,
        ])
        #expect(again.status == 0, "\(again.error)")
        #expect(
            try String(contentsOf: replayed, encoding: .utf8).split(separator: "\n").map(String.init) == priced.bundles)
        // A head with its block's timestamp: the next block comes at least a second later, past
        // the synthetic swaps' deadline (1,900,000,000): every one reverts, nothing is bundled.
        // Five fields are not a head.
        let expired = try run("expired", heads: ["HEAD 20000000 0 1900000000 5", "HEAD 20000000 0 1900000000"])
        #expect(expired.output.contains("· 3,000 would revert ·"), "\(expired.output)")
        #expect(expired.output.contains("1 malformed messages refused"), "\(expired.output)")
        #expect(expired.bundles.isEmpty)
    }
}
