import Crypto
import PeregrineCore
import PeregrineEVM
import PeregrineEngine

/// `peregrine bench sigverify`: Ed25519 batch signature verification (swift-crypto) on one and
/// two threads. Prints its figures through `print` as it measures them.
public struct SignatureBenchmark: Sendable {
    public var count: Int
    public var messageBytes: Int

    public init(count: Int, messageBytes: Int) {
        self.count = count
        self.messageBytes = messageBytes
    }

    public func run(print: (String) -> Void) throws {
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
