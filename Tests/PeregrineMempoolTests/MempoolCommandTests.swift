import Foundation
import PeregrineEVM
import PeregrineEngine
import PeregrineMempool
import PeregrineTestSupport
import Testing

/// `peregrine mempool` end to end (the binary built next to the test bundle).
struct MempoolCommandTests {
    static func run(_ arguments: [String]) throws -> PeregrineCLI.Result {
        try PeregrineCLI.run(arguments)
    }

    @Test func inspectListsTheSandwichOfBlock12775690() throws {
        let path = Fixtures.path("eth_block_12775690_traces_receipts.json")
        let result = try Self.run(["mempool", "inspect", "--block", path])
        #expect(result.status == 0, "\(result.error)")
        let lines = result.output.split(separator: "\n").map(String.init)
        #expect(lines.first == "block 12775690: 19 Uniswap V2-style swaps, 1 sandwich(es), 0 arbitrage(s)")
        #expect(
            lines.contains(
                "  front-run  0x91a3abe5f3b806426542252820ba0ab6d56c098fdef6864ecaf4d352f64217a0 (position 2)"))
        #expect(
            lines.contains(
                "  back-run   0xc300d1ff79d3901b58dc56489fc7d083a6c13d422bfc1425a0579379300c95a2 (position 7)"))
        #expect(lines.filter { $0.hasPrefix("  victim") }.count == 4)
        // WETH profits in ETH, exactly (mev-inspect-py's 49991481915322274 wei).
        #expect(
            lines.contains(
                "sandwich by 0x000000000027d2efc283613d0c3e24a8b430c4d8 in pool "
                    + "0xefb47fcfcad4f96c83d4ca676842fb03ef20a477, profit 0.049991481915322274 ETH "
                    + "(WETH 0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2)"), "\(result.output)")
        // --json: the same, for scripts; the arbitrage of block 13370850 too.
        let json = try Self.run(["mempool", "inspect", "--block", path, "--json"])
        #expect(json.status == 0, "\(json.error)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        #expect(object["block"] as? Int == 12_775_690 && object["swaps"] as? Int == 19)
        let sandwich = try #require((object["sandwiches"] as? [[String: Any]])?.first)
        #expect(
            sandwich["profit"] as? [String: String] == [
                "token": "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", "base_units": "49991481915322274",
                "eth": "0.049991481915322274",
            ])
        #expect((sandwich["victims"] as? [[String: Any]])?.map { $0["position"] as? Int } == [3, 4, 5, 6])
        let other = try Self.run([
            "mempool", "inspect", "--block", Fixtures.path("eth_block_13370850_traces_receipts.json"), "--json",
        ])
        let arbitrage = try #require(
            ((try JSONSerialization.jsonObject(with: Data(other.output.utf8)) as? [String: Any])?["arbitrages"]
                as? [[String: Any]])?.first)
        #expect(arbitrage["swaps"] as? Int == 3)
        #expect((arbitrage["profit"] as? [String: String])?["eth"] == "0.016688920428787560")
        #expect((arbitrage["transaction"] as? [String: Any])?["position"] as? Int == 12)
        let missing = try Self.run(["mempool", "inspect", "--block", "/nonexistent.json"])
        #expect(missing.status == 2 && missing.error.hasPrefix("error: cannot open /nonexistent.json: no such file"))
    }

    /// A block's Router02 transactions replayed as pending: all decode; the one that reverted on
    /// chain (block 13370850) reverts in simulation too.
    @Test func runReplaysABlocksRouterTransactions() throws {
        let path = Fixtures.path("eth_block_13370850_traces_receipts.json")
        let result = try Self.run(["mempool", "--source", path, "--rate", "0"])
        #expect(result.status == 0, "\(result.error)")
        #expect(
            result.output.contains(
                "mempool           15 pending transactions analysed · 0 duplicate · 0 by rules · "
                    + "0 not a Router02 swap · 1 would revert · 0 malformed records"))
        #expect(result.output.contains("source read       15 pending transactions sent, 1 chain head, 26 pools"))
        #expect(result.output.contains("lossless          yes"))
        #expect(
            result.output.contains(
                "durability point  traded away: no journal, so the inputs of the bundles sent are not recorded"))
        // Journaled but never synced while running: the report says what was traded away.
        let journal = FileManager.default.temporaryDirectory.appendingPathComponent("mempool-none-\(getpid())")
        defer { try? FileManager.default.removeItem(at: journal) }
        let unsynced = try Self.run([
            "mempool", "--source", path, "--rate", "0", "--journal", journal.path, "--durability", "none",
        ])
        #expect(unsynced.status == 0, "\(unsynced.error)")
        #expect(
            unsynced.output.contains(
                "durability point  traded away: bundles left once their inputs were written to the OS page cache, "
                    + "never synced while running; a power cut can lose the inputs of bundles already sent "
                    + "(--durability none)"))
        // The head the block's transactions follow carries the block's base fee.
        let inspect = try Self.run(["journal", "inspect", journal.path])
        #expect(inspect.output.contains("chain head 13370849 base fee 82225759220 wei"), "\(inspect.output)")
        // Ten passes over 2,000 transactions: ten blocks, each analysing them all again.
        let synthetic = try Self.run([
            "mempool", "--count", "20000", "--unique", "2000", "--rate", "0", "--status-interval", "100",
        ])
        #expect(synthetic.status == 0)
        #expect(
            synthetic.output.contains(
                "mempool           20,000 pending transactions analysed · 0 duplicate · 0 by rules · "
                    + "0 not a Router02 swap · 0 would revert · 0 malformed records"))
        #expect(synthetic.output.contains("pools, 10 chain heads"))
    }

    /// A pending-transaction journal of an older build is refused, saying how to go on.
    /// Set-up mistakes are usage errors (exit 2) before anything runs, naming the option.
    @Test func setUpMistakesAreRefusedBeforeAnythingRuns() throws {
        let base = ["mempool", "run", "--count", "10", "--unique", "10", "--rate", "0"]
        for (arguments, message) in [
            (["--bundles-out", NSTemporaryDirectory()], "is a directory: give a file"),
            (["--bundles-out", "/nonexistent-directory/bundles.jsonl"], "no directory /nonexistent-directory"),
            (["--pools", "/nonexistent.json"], "--pools /nonexistent.json: no such file"),
            (["--pools", Fixtures.path("eth_block_13370850_traces_receipts.json")], "--pools is for a NATS source"),
            (["--nonce", "18446744073709551615"], "--nonce must be 0 to 4611686018427387904"),
            (["--target-block", "18446744073709551614"], "--target-block must be 1 to 4611686018427387904"),
            (["--min-profit-eth", "1e-19"], "--min-profit-eth 1e-19: give ETH as a decimal of at most 18 places"),
            (["--min-profit-eth", "0.0000000000000000001"], "give ETH as a decimal of at most 18 places"),
            // A negative number is the option's value (not "Missing value").
            (["--min-profit-eth", "-1"], "--min-profit-eth -1: give ETH as a decimal of at most 18 places"),
            (["--chain-id", "0"], "error: --chain-id 0: give the chain's id"),
            (["--source", "nats://"], "--source nats://: give nats://HOST:PORT"),
            (["--bundles-out", "nats://:4222"], "--bundles-out nats://:4222: give nats://HOST:PORT"),
            (["--source", "nats://127.0.0.1:99999"], "--source nats://127.0.0.1:99999: give nats://HOST:PORT"),
            (["--source", "nats://127.0.0.1:abc"], "give nats://HOST:PORT (a port 1 to 65535)"),
            (
                ["--executor", "0x0000000000000000000000000000000000000000"],
                "error: --executor 0x0000000000000000000000000000000000000000: our back-runs call"
            ),
        ] {
            let result = try Self.run(base + arguments)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.error.contains(message), "\(arguments): \(result.error)")
            #expect(result.output.isEmpty, "\(arguments)")
        }
    }

    /// `--bundles-out -`: standard output holds the bundles' JSON lines and nothing else.
    /// The lines of `output`, checked to be `eth_sendBundle` requests and more than two.
    static func bundleRequests(_ output: String) throws -> [Substring] {
        let lines = output.split(separator: "\n")
        #expect(lines.count > 2)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["method"] as? String == "eth_sendBundle", "\(line)")
        }
        return lines
    }

    @Test func bundlesOnStandardOutputAreAloneThere() throws {
        let result = try Self.run([
            "mempool", "run", "--count", "40", "--unique", "20", "--rate", "0", "--min-profit-eth", "0",
            "--bundles-out", "-",
        ])
        #expect(result.status == 0, "\(result.error)")
        let lines = try Self.bundleRequests(result.output)
        #expect(result.error.contains("bundle requests   \(lines.count) written (standard output)"), "\(result.error)")
    }

    /// `replay --bundles-out -` as well: the bundles' JSON lines alone on standard output, the
    /// summary on standard error; `--to` past the end is said; `--from` needs `--print`.
    @Test func aReplaysBundlesOnStandardOutputAreAloneThere() throws {
        let journal = NSTemporaryDirectory() + "replay-stdout-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: journal) }
        let run = try Self.run([
            "mempool", "run", "--count", "40", "--unique", "20", "--rate", "0", "--min-profit-eth", "0",
            "--journal", journal,
        ])
        #expect(run.status == 0, "\(run.error)")
        let replay = try Self.run(["replay", "--journal", journal, "--bundles-out", "-", "--to", "99999999"])
        #expect(replay.status == 0, "\(replay.error)")
        let lines = try Self.bundleRequests(replay.output)
        #expect(
            replay.error.contains("state hash: ") && replay.error.contains("bundle requests   \(lines.count) written"))
        #expect(replay.error.contains("warning: --to 99999999 is past the journal's last sequence"))
        let from = try Self.run(["replay", "--journal", journal, "--from", "5"])
        #expect(from.status == 2 && from.error.contains("--from says where --print starts"))
        let both = try Self.run(["replay", "--journal", journal, "--print", "--bundles-out", "-"])
        #expect(both.status == 2 && both.error.contains("would both write standard output"))
    }

    @Test func anOldPendingJournalIsRefused() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("old-\(getpid()).pgmp")
        defer { try? FileManager.default.removeItem(at: path) }
        try Data("PGMEMPL1".utf8 + [UInt8](repeating: 0, count: 56)).write(to: path)
        let result = try Self.run(["mempool", "run", "--source", path.path])
        #expect(result.status == 2)
        #expect(
            result.error.hasPrefix(
                "error: \(path.path) is a pending-transaction journal written by an older peregrine (PGMEMPL1)"))
        #expect(result.error.contains("peregrine replay --journal DIR --bundles-out FILE"))
    }

    /// Bundles from the synthetic stream: one `eth_sendBundle` line per bundle; each holds a
    /// victim exactly as the source signed it (hash = Keccak-256 of its bytes, a Router02 swap)
    /// followed by our back-run to the executor, signed by the development key for block 1.
    @Test func runWritesSignedBackrunBundles() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("bundles-\(getpid()).jsonl")
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try Self.run([
            "mempool", "--count", "3000", "--unique", "3000", "--rate", "0", "--status-interval", "100",
            "--bundles-out", output.path, "--nonce", "5", "--min-profit-eth", "0.01",
        ])
        #expect(result.status == 0, "\(result.error)")
        let opportunities = try #require(
            result.output.split(separator: "\n").first { $0.hasPrefix("opportunities") }?.split(separator: " ")
                .dropFirst().first.flatMap { Int($0.replacingOccurrences(of: ",", with: "")) })
        #expect(opportunities > 100)
        #expect(
            result.output.contains("bundles           \(grouped(opportunities)) sealed by this run (on event time)"))
        #expect(
            result.output.contains(
                "bundle requests   \(grouped(opportunities)) written (\(output.path)) · \(grouped(opportunities)) back-runs signed"
            ))
        let lines = try String(contentsOf: output, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == opportunities)
        let developer = try EthereumSigner(
            privateKeyHex: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
        let executor = EVMAddress(hex: "0x00000000000000000000000000000000000e8ec0")
        var victims = Set<String>()
        for (number, line) in lines.enumerated() {
            let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(json["method"] as? String == "eth_sendBundle")
            #expect(json["id"] as? Int == number + 1)
            let params = try #require((json["params"] as? [[String: Any]])?.first)
            #expect(params["blockNumber"] as? String == "0x1")
            let txs = try #require(params["txs"] as? [String])
            #expect(txs.count == 2)
            let raws = txs.map { EthereumTransactionTests.bytes(String($0.dropFirst(2))) }
            let victim = try raws[0].withUnsafeBytes { try DecodedTransaction(raw: $0) }
            let backrun = try raws[1].withUnsafeBytes { try DecodedTransaction(raw: $0) }
            #expect(victim.pending.to == uniswapV2Router02)
            #expect(victim.pending.hash == Keccak256.hash(raws[0]))
            victims.insert(victim.pending.hash.description)
            #expect(backrun.pending.to == executor)
            #expect(backrun.pending.nonce == 5)
            #expect(backrun.pending.maxPriorityFee == victim.pending.maxPriorityFee)
            #expect(backrun.pending.gasPrice == victim.pending.gasPrice)
            if number < 20 {  // recovery costs 70 µs: check a sample
                #expect(
                    try raws[1].withUnsafeBytes { try developer.recoverSender(of: backrun, raw: $0) }
                        == developer.address)
            }
        }
        #expect(victims.count == lines.count)  // one bundle per victim, none twice
    }
}
