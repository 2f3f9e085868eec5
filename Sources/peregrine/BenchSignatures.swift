import ArgumentParser
import Crypto
import PeregrineCore
import PeregrineMempool

struct BenchSignatures: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sigverify",
        abstract: "Ed25519 batch signature verification (swift-crypto): verifications per second, per core.")

    @Option(help: "Signed messages in the batch.")
    var count: Int = 20_000

    @Option(help: "Message size in bytes (a Solana transaction message is a few hundred).")
    var messageBytes: Int = 256

    func validate() throws {
        guard (1...10_000_000).contains(count) else { throw ValidationError("--count must be 1 to 10000000") }
        guard (0...65_536).contains(messageBytes) else { throw ValidationError("--message-bytes must be 0 to 65536") }
    }

    func run() throws {
        var batch = SignatureBatch()
        var random = SplitMix64(seed: 5)
        let keys = (0..<64).map { _ in Curve25519.Signing.PrivateKey() }
        for index in 0..<count {
            let message = (0..<messageBytes).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let key = keys[index % keys.count]
            batch.append(
                message: message, publicKey: Array(key.publicKey.rawRepresentation),
                signature: Array(try key.signature(for: message)))
        }
        let clock = CycleClock.calibrate()
        print("signature benchmark: \(count) Ed25519 signatures over \(messageBytes)-byte messages")
        for threads in [1, 2] {
            let start = clock.now()
            let verdicts = SignatureVerifier.verify(batch, threads: threads)
            let seconds = Double(clock.now() &- start) / 1e9
            let valid = verdicts.filter { $0 }.count
            print(
                "\(threads) thread(s): \(Int(Double(count) / seconds)) verifications/s (\(Int(Double(count) / seconds / Double(threads)))/s per core), \(decimal(seconds * 1e6 / Double(count), places: 1)) µs each; \(valid) valid"
            )
        }
    }
}
