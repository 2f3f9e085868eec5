import Crypto
import PeregrineCore
import PeregrineEVM
import PeregrineEngine

/// `peregrine bench sigverify`: Ed25519 batch signature verification (swift-crypto) on one and
/// two threads. Returns its figures; the command prints them as lines or JSON.
public struct SignatureBenchmark: Sendable {
    public var count: Int
    public var messageBytes: Int

    public init(count: Int, messageBytes: Int) {
        self.count = count
        self.messageBytes = messageBytes
    }

    /// One verification of the whole batch on `threads` threads.
    public struct Run: Sendable {
        public var threads: Int
        public var seconds: Double
        /// Signatures found valid (every one: the batch is signed correctly).
        public var valid: Int
    }

    /// The batch's size and one run on one thread, then one on two.
    public struct Result: Sendable {
        public var count: Int
        public var messageBytes: Int
        public var runs: [Run]
    }

    public func run() throws -> Result {
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
        var runs: [Run] = []
        for threads in [1, 2] {
            let start = clock.now()
            let verdicts = SignatureVerifier.verify(batch, threads: threads)
            let seconds = Double(clock.now() &- start) / 1e9
            runs.append(Run(threads: threads, seconds: seconds, valid: verdicts.filter { $0 }.count))
        }
        return Result(count: count, messageBytes: messageBytes, runs: runs)
    }
}
