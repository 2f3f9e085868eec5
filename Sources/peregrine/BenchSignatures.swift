import ArgumentParser
import PeregrineBench
import PeregrineEngine

struct BenchSignatures: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sigverify",
        abstract: "Ed25519 batch signature verification (swift-crypto): verifications per second, per core.")

    @Option(parsing: .unconditional, help: "Signed messages in the batch.")
    var count: Int = 20_000

    @Option(parsing: .unconditional, help: "Message size in bytes (a Solana transaction message is a few hundred).")
    var messageBytes: Int = 256

    @Flag(help: "Print one JSON object instead of the lines (a run per thread count: verifications/s, µs each).")
    var json = false

    func validate() throws {
        guard (1...10_000_000).contains(count) else { throw ValidationError("--count must be 1 to 10000000") }
        guard (0...65_536).contains(messageBytes) else { throw ValidationError("--message-bytes must be 0 to 65536") }
    }

    func run() throws {
        let result = try SignatureBenchmark(count: count, messageBytes: messageBytes).run()
        func rate(_ run: SignatureBenchmark.Run) -> Double { Double(result.count) / Swift.max(run.seconds, 1e-9) }
        if json {
            try JSONOutput.print([
                "signatures": result.count, "message_bytes": result.messageBytes,
                "runs": result.runs.map { run in
                    [
                        "threads": run.threads, "seconds": run.seconds, "valid": run.valid,
                        "verifications_per_second": rate(run),
                        "verifications_per_second_per_core": rate(run) / Double(run.threads),
                        "verification_us": run.seconds * 1e6 / Double(result.count),
                    ] as [String: Any]
                },
            ])
            return
        }
        print("signature benchmark: \(result.count) Ed25519 signatures over \(result.messageBytes)-byte messages")
        for run in result.runs {
            print(
                "\(run.threads) thread(s): \(Int(rate(run))) verifications/s (\(Int(rate(run) / Double(run.threads)))/s per core), \(decimal(run.seconds * 1e6 / Double(result.count), places: 1)) µs each; \(run.valid) valid"
            )
        }
    }
}
