import Foundation
import PeregrineCore
import PeregrineEVM
import PeregrineEngine
import PeregrineJournal
import PeregrineMempool
import PeregrineModel
import PeregrineStrategy
import PeregrineTestSupport
import Testing

/// The mempool analysis inside the pipeline: pending transactions journaled as records, bundles
/// sealed on event time and signed in the sink, and a replay of the journal that writes the same
/// bundles, byte for byte, with the same hashes.
@Suite("Mempool pipeline", .serialized)
struct MempoolPipelineTests {
    static let key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

    static func configuration(journal: String, bundleSize: Int = 4) -> EngineConfiguration {
        var configuration = EngineConfiguration()
        configuration.instruments = 1
        configuration.durationSeconds = 120
        configuration.waitStrategy = .yield
        configuration.inboundRingSize = 4_096
        configuration.outboundRingSize = 4_096
        configuration.statusIntervalSeconds = 0.2
        configuration.journalDirectory = journal
        var mempool = MempoolSettings()
        mempool.minimumProfitWei = 0
        mempool.bundleSize = bundleSize
        mempool.bundleTimeoutNanoseconds = 20_000
        mempool.bloomCapacity = 5_000
        configuration.mempool = mempool
        return configuration
    }

    /// Runs `feed` journaled, bundles to a file; replays the journal writing bundles to another.
    static func runAndReplay(_ feed: PendingFeed, count: Int, rate: Double, bundleSize: Int = 4) throws -> (
        run: EngineReport, replay: ReplaySummary, live: [String], replayed: [String],
        totals: BundleRequestTotals.Figures,
        writer: BundleRequestWriter
    ) {
        let directory = NSTemporaryDirectory() + "peregrine-mempool-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let configuration = Self.configuration(journal: directory + "/journal", bundleSize: bundleSize)
        let signer = try EthereumSigner(privateKeyHex: Self.key)
        let livePath = directory + "/live.jsonl"
        let outputs = BundleRequestOutputs(
            signer: signer, settings: configuration.mempool ?? MempoolSettings(), destination: livePath,
            delivery: { try FileBundleDelivery(path: livePath) })
        let run = try Pipeline.run(
            configuration: configuration, source: PendingTransactionPlan(feed: feed, count: count, rate: rate),
            journal: FileJournalPlan(directory: directory + "/journal"), outputs: outputs, custom: IdleStrategy.self
        ) { _ in }

        let replayPath = directory + "/replay.jsonl"
        let stored = try JournalReplay.configuration(for: directory + "/journal", base: EngineConfiguration())
        // The journal keeps the settings with the Bloom filter's size fixed.
        #expect(stored.mempool == (try configuration.mempool?.resolved()))
        #expect(stored.mempool?.bloomSize != nil)
        var logic = try EngineLogic(configuration: stored, custom: IdleStrategy.self)
        var hashing = HashingOutputs()
        let writer = BundleRequestWriter(
            signer: signer, settings: stored.mempool ?? MempoolSettings(),
            delivery: try FileBundleDelivery(path: replayPath))
        hashing.bundleSink = writer
        let replay = try JournalReplay.replay(
            directory: directory + "/journal", into: &logic, outputs: &hashing, repair: false)
        writer.finish()
        let lines = { (path: String) in
            ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        return (run, replay, lines(livePath), lines(replayPath), outputs.totals.value, writer)
    }

    /// Signed synthetic swaps, three passes (three blocks), at a paced rate so bundles also
    /// seal on their timeout; the replay writes the same requests and ends in the same state.
    @Test func aSyntheticRunAndItsReplayWriteTheSameBundles() throws {
        let feed = PendingFeed.synthetic(unique: 1_000, tokens: 24, headBlock: 41)
        let result = try Self.runAndReplay(feed, count: 3_000, rate: 200_000)
        let run = result.run
        #expect(run.isLossless, "\(run.problems)")
        let mempool = try #require(run.mempool)
        #expect(mempool.transactions == 3_000 && mempool.chainHeads == 3 && mempool.malformedRecords == 0)
        #expect(mempool.pools == 36)
        // Each pass is a new block: the Bloom filter starts again, so nothing is a duplicate.
        #expect(mempool.duplicates == 0)
        #expect(mempool.opportunities > 30)
        #expect(run.bundlesSealed > 10 && run.bundlesSealed == run.bundlesAtSink)
        #expect(result.totals.requests == run.bundlesSealed && result.totals.failures == 0)
        #expect(result.totals.backrunsSigned == mempool.opportunities)
        #expect(result.live.count == run.bundlesSealed)
        #expect(result.replayed == result.live)
        #expect(result.replay.stateHash == run.stateHash && result.replay.outputHash == run.outputHash)
        // Bundles target the block after the head: 42, 43, 44.
        let targets = ["0x2a", "0x2b", "0x2c"].map { block in
            result.live.filter { $0.contains("\"blockNumber\":\"\(block)\"") }.count
        }
        #expect(targets.reduce(0, +) == result.live.count && targets.allSatisfy { $0 > 0 })
        #expect(run.bundleLatency.count == UInt64(mempool.opportunities))
        // Our back-runs in one bundle take consecutive nonces from the settings' (0).
        var checked = 0
        for line in result.live {
            let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let txs = try #require((json["params"] as? [[String: Any]])?.first?["txs"] as? [String])
            #expect(txs.count % 2 == 0)
            for (leg, index) in stride(from: 1, to: txs.count, by: 2).enumerated() {
                let hex = Array(txs[index].utf8.dropFirst(2))
                let bytes = stride(from: 0, to: hex.count, by: 2).map {
                    UInt8(String(decoding: hex[$0..<($0 + 2)], as: UTF8.self), radix: 16) ?? 0
                }
                let nonce = try bytes.withUnsafeBytes { try DecodedTransaction(raw: $0).pending.nonce }
                #expect(nonce == UInt64(leg))
                checked += 1
            }
        }
        #expect(checked == result.totals.backrunsSigned)
    }

    /// A mined block's Router02 transactions: the same analysis and hashes on replay; their
    /// bundles cannot be sent (traces have no signatures), which the writer counts.
    @Test func aBlockFileRunAndItsReplayAgree() throws {
        let inspection = try BlockInspection(contentsOf: Fixtures.path("eth_block_12775690_traces_receipts.json"))
        let feed = PendingFeed.block(inspection, path: "block 12775690", headBlock: nil)
        #expect(feed.headBlock == 12_775_689)
        let result = try Self.runAndReplay(feed, count: feed.transactionCount, rate: 0, bundleSize: 2)
        let run = result.run
        #expect(run.isLossless, "\(run.problems)")
        let mempool = try #require(run.mempool)
        #expect(mempool.transactions == inspection.pending.count && mempool.malformedRecords == 0)
        #expect(result.replay.stateHash == run.stateHash && result.replay.outputHash == run.outputHash)
        #expect(result.totals.requests == 0 && result.totals.withoutVictimBytes == run.bundlesSealed)
        #expect(result.live.isEmpty && result.replayed.isEmpty)
    }
}
