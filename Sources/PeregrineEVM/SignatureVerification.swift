import Crypto
import Foundation
import Synchronization

/// One Ed25519-signed message (Solana-style transactions sign their message bytes): a 32-byte
/// public key and a 64-byte signature, inline; the message lives in the batch's arena.
@frozen
public struct SignedMessage: Sendable, BitwiseCopyable {
    public var publicKey: (UInt64, UInt64, UInt64, UInt64)
    public var signature: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
    public var messageOffset: Int
    public var messageLength: Int

    public init(publicKey: [UInt8], signature: [UInt8], messageOffset: Int, messageLength: Int) {
        var key: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &key) { $0.copyBytes(from: publicKey.prefix(32)) }
        var signatureBytes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &signatureBytes) { $0.copyBytes(from: signature.prefix(64)) }
        self.publicKey = key
        self.signature = signatureBytes
        self.messageOffset = messageOffset
        self.messageLength = messageLength
    }
}

/// A batch of signed messages and their message bytes.
public struct SignatureBatch: Sendable {
    public var items: [SignedMessage] = []
    public var arena: [UInt8] = []

    public init() {}

    /// Adds a message with its key and signature.
    public mutating func append(message: [UInt8], publicKey: [UInt8], signature: [UInt8]) {
        items.append(
            SignedMessage(
                publicKey: publicKey, signature: signature, messageOffset: arena.count, messageLength: message.count))
        arena += message
    }
}

/// The signature-verification stage: checks every Ed25519 signature of a batch with
/// swift-crypto (BoringSSL's Ed25519 on Linux), split across `threads` worker threads, and
/// returns one verdict per item. A malformed key is an invalid signature, never a trap.
/// Verification itself is the cost (tens of microseconds each); the stage allocates per
/// batch, not per signature on the caller's thread.
public enum SignatureVerifier {
    /// Verifies `items[range]`; writes verdicts into `verdicts` at the same indices.
    static func verify(
        _ batch: SignatureBatch, _ range: Range<Int>, into verdicts: UnsafeMutableBufferPointer<Bool>
    ) {
        batch.arena.withUnsafeBytes { arena in
            for index in range {
                let item = batch.items[index]
                let keyBytes = withUnsafeBytes(of: item.publicKey) { Data($0) }
                let signatureBytes = withUnsafeBytes(of: item.signature) { Data($0) }
                let message = UnsafeRawBufferPointer(
                    rebasing: arena[item.messageOffset..<(item.messageOffset + item.messageLength)])
                guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyBytes) else {
                    verdicts[index] = false
                    continue
                }
                verdicts[index] = key.isValidSignature(signatureBytes, for: message)
            }
        }
    }

    /// Verdicts for every item of `batch`, on `threads` threads (1: the caller's).
    public static func verify(_ batch: SignatureBatch, threads: Int = 1) -> [Bool] {
        var verdicts = [Bool](repeating: false, count: batch.items.count)
        let count = batch.items.count
        let workers = Swift.max(1, Swift.min(threads, count))
        verdicts.withUnsafeMutableBufferPointer { buffer in
            if workers == 1 {
                verify(batch, 0..<count, into: buffer)
                return
            }
            let shared = UnsafeSendableBuffer(buffer)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let lower = count * worker / workers
                let upper = count * (worker + 1) / workers
                verify(batch, lower..<upper, into: shared.buffer)
            }
        }
        return verdicts
    }
}

/// A buffer handed to worker threads that write disjoint ranges of it.
struct UnsafeSendableBuffer: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Bool>
    init(_ buffer: UnsafeMutableBufferPointer<Bool>) { self.buffer = buffer }
}
