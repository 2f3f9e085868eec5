import Crypto
import Foundation
import PeregrineEVM
import PeregrineMempool
import Testing

struct SignatureVerificationTests {
    /// 300 signed messages; every 7th has a flipped message byte, every 11th a flipped signature
    /// byte, every 13th a key that is not a curve point: exactly those fail, on 1 and on 2 threads.
    @Test func verdictsMatchTamperingExactly() throws {
        var batch = SignatureBatch()
        var expected: [Bool] = []
        for index in 0..<300 {
            let key = Curve25519.Signing.PrivateKey()
            var message = Array("transfer \(index) lamports to account \(index * 31)".utf8)
            var signature = Array(try key.signature(for: message))
            var publicKey = Array(key.publicKey.rawRepresentation)
            var valid = true
            if index % 7 == 3 {
                message[0] ^= 1
                valid = false
            }
            if index % 11 == 5 {
                signature[10] ^= 0x80
                valid = false
            }
            if index % 13 == 6 {
                publicKey = [UInt8](repeating: 0xFF, count: 32)
                valid = false
            }
            batch.append(message: message, publicKey: publicKey, signature: signature)
            expected.append(valid)
        }
        #expect(SignatureVerifier.verify(batch, threads: 1) == expected)
        #expect(SignatureVerifier.verify(batch, threads: 2) == expected)
        #expect(expected.filter { !$0 }.count > 60)
    }

    /// RFC 8032 test vector 1 (empty message).
    @Test func rfc8032Vector() {
        func bytes(_ hex: String) -> [UInt8] {
            stride(from: 0, to: hex.count, by: 2).map {
                let start = hex.index(hex.startIndex, offsetBy: $0)
                return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16) ?? 0
            }
        }
        var batch = SignatureBatch()
        batch.append(
            message: [], publicKey: bytes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"),
            signature: bytes(
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
            ))
        #expect(SignatureVerifier.verify(batch) == [true])
    }
}
