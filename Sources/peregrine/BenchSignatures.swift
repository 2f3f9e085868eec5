import ArgumentParser
import PeregrineBench

struct BenchSignatures: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sigverify",
        abstract: "Ed25519 batch signature verification (swift-crypto): verifications per second, per core.")

    @Option(parsing: .unconditional, help: "Signed messages in the batch.")
    var count: Int = 20_000

    @Option(parsing: .unconditional, help: "Message size in bytes (a Solana transaction message is a few hundred).")
    var messageBytes: Int = 256

    func validate() throws {
        guard (1...10_000_000).contains(count) else { throw ValidationError("--count must be 1 to 10000000") }
        guard (0...65_536).contains(messageBytes) else { throw ValidationError("--message-bytes must be 0 to 65536") }
    }

    func run() throws {
        try SignatureBenchmark(count: count, messageBytes: messageBytes).run { print($0) }
    }
}
