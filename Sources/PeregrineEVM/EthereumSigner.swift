import CSecp256k1

/// Why a key could not be used or a signature could not be made or checked.
public enum SigningError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The key is not 32 bytes of hex, or is zero or not below the curve order.
    case invalidPrivateKey(String)
    /// libsecp256k1 refused (should not happen with a valid key; reported rather than trapped).
    case signingFailed
    /// The signature does not recover to a public key (r or s out of range, wrong parity).
    case invalidSignature

    public var description: String {
        switch self {
        case .invalidPrivateKey(let why): return "signing key: \(why)"
        case .signingFailed: return "libsecp256k1 could not sign the transaction"
        case .invalidSignature: return "the signature does not recover to a public key"
        }
    }
}

/// Signs Ethereum transactions with one secp256k1 key (libsecp256k1, RFC 6979 deterministic
/// nonces, low-s signatures), and recovers senders from signatures.
///
/// Owns its libsecp256k1 context and a copy of the key, which it wipes when it goes away.
/// Signing takes about 40 µs and allocates the transaction's bytes: it runs on the bundle
/// sink, never on the analysis path. Thread-safe: every stored property is immutable after
/// `init`, and libsecp256k1 allows concurrent signing and recovery on a context that is not
/// being randomized or destroyed.
public final class EthereumSigner: @unchecked Sendable {
    let context: OpaquePointer
    /// The key, in memory this signer owns and wipes.
    let secret: UnsafeMutablePointer<UInt8>
    /// The address of the key: the last 20 bytes of Keccak-256 of the uncompressed public key.
    public let address: EVMAddress

    /// A signer for `privateKeyHex` (64 hex digits, `0x` optional).
    public convenience init(privateKeyHex: String) throws(SigningError) {
        var text = Substring(privateKeyHex.filter { !$0.isWhitespace })
        if text.hasPrefix("0x") || text.hasPrefix("0X") { text = text.dropFirst(2) }
        let digits = Array(text.utf8)
        guard digits.count == 64 else {
            throw .invalidPrivateKey("expected 64 hex digits (32 bytes), got \(digits.count) characters")
        }
        var key = [UInt8](repeating: 0, count: 32)
        for index in 0..<32 {
            guard let high = hexNibble(digits[2 * index]), let low = hexNibble(digits[2 * index + 1]) else {
                throw .invalidPrivateKey("not hexadecimal")
            }
            key[index] = high << 4 | low
        }
        try self.init(privateKey: key)
    }

    /// A signer for the 32-byte `privateKey`.
    public init(privateKey: [UInt8]) throws(SigningError) {
        guard privateKey.count == 32 else { throw .invalidPrivateKey("expected 32 bytes, got \(privateKey.count)") }
        guard let context = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE)) else { throw .signingFailed }
        guard secp256k1_ec_seckey_verify(context, privateKey) == 1 else {
            secp256k1_context_destroy(context)
            throw .invalidPrivateKey("zero or not below the secp256k1 group order")
        }
        var publicKey = secp256k1_pubkey()
        guard secp256k1_ec_pubkey_create(context, &publicKey, privateKey) == 1 else {
            secp256k1_context_destroy(context)
            throw .signingFailed
        }
        self.context = context
        secret = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)
        secret.initialize(from: privateKey, count: 32)
        address = Self.address(of: publicKey, context: context)
    }

    deinit {
        secret.update(repeating: 0, count: 32)
        secret.deallocate()
        secp256k1_context_destroy(context)
    }

    /// Signs `transaction` for its chain: the bytes to submit and their hash.
    public func sign(_ transaction: EIP1559Transaction) throws(SigningError) -> SignedTransaction {
        let digest = transaction.signingHash.bytes
        var signature = secp256k1_ecdsa_recoverable_signature()
        let signed = secp256k1_ecdsa_sign_recoverable(context, &signature, digest, secret, nil, nil)
        guard signed == 1 else { throw .signingFailed }
        var compact = [UInt8](repeating: 0, count: 64)
        var recoveryID: Int32 = 0
        _ = secp256k1_ecdsa_recoverable_signature_serialize_compact(context, &compact, &recoveryID, &signature)
        let r = compact.withUnsafeBytes { UInt256(bigEndianBytes: UnsafeRawBufferPointer(rebasing: $0[0..<32])) }
        let s = compact.withUnsafeBytes { UInt256(bigEndianBytes: UnsafeRawBufferPointer(rebasing: $0[32..<64])) }
        return SignedTransaction(raw: transaction.encoded(yParity: UInt8(recoveryID), r: r, s: s))
    }

    /// The address that signed `decoded` (whose bytes are `raw`).
    public func recoverSender(of decoded: DecodedTransaction, raw: UnsafeRawBufferPointer) throws(SigningError)
        -> EVMAddress
    {
        try Self.recoverSender(of: decoded, raw: raw, context: context)
    }

    static func recoverSender(of decoded: DecodedTransaction, raw: UnsafeRawBufferPointer, context: OpaquePointer)
        throws(SigningError) -> EVMAddress
    {
        guard decoded.yParity <= 1 else { throw .invalidSignature }
        let compact = decoded.r.bigEndianBytes + decoded.s.bigEndianBytes
        let digest = decoded.signingHash(raw: raw).bytes
        var signature = secp256k1_ecdsa_recoverable_signature()
        var publicKey = secp256k1_pubkey()
        let parsed = secp256k1_ecdsa_recoverable_signature_parse_compact(
            context, &signature, compact, Int32(decoded.yParity))
        guard parsed == 1 else { throw .invalidSignature }
        let recovered = secp256k1_ecdsa_recover(context, &publicKey, &signature, digest)
        guard recovered == 1 else { throw .invalidSignature }
        return Self.address(of: publicKey, context: context)
    }

    static func address(of publicKey: secp256k1_pubkey, context: OpaquePointer) -> EVMAddress {
        var key = publicKey
        var serialized = [UInt8](repeating: 0, count: 65)
        var length = 65
        _ = secp256k1_ec_pubkey_serialize(context, &serialized, &length, &key, UInt32(SECP256K1_EC_UNCOMPRESSED))
        // Drop the 0x04 prefix: the address hashes the 64 bytes of x and y.
        return EVMAddress(
            lastTwentyBytesOf: serialized.withUnsafeBytes { Keccak256.hash(UnsafeRawBufferPointer(rebasing: $0[1...])) }
        )
    }
}

/// Recovers the senders of signed transactions (ECDSA public-key recovery, about 40 µs each,
/// allocation-free but for the key's serialisation), with a libsecp256k1 context of its own and
/// no key. Thread-safe, as `EthereumSigner` is.
public final class SenderRecovery: @unchecked Sendable {
    let context: OpaquePointer

    public init() throws(SigningError) {
        guard let context = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE)) else { throw .signingFailed }
        self.context = context
    }

    deinit { secp256k1_context_destroy(context) }

    /// The address that signed `decoded` (whose bytes are `raw`); throws when the signature
    /// recovers no key (a node would refuse the transaction).
    public func sender(of decoded: DecodedTransaction, raw: UnsafeRawBufferPointer) throws(SigningError) -> EVMAddress {
        try EthereumSigner.recoverSender(of: decoded, raw: raw, context: context)
    }
}
