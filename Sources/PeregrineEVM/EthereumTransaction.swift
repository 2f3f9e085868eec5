/// Recursive Length Prefix encoding (Ethereum's serialization), the subset transactions need:
/// byte strings, unsigned integers (big-endian, no leading zeros) and lists. Used off the hot
/// path (building and signing our transactions), so it appends to arrays.
public enum RLP {
    /// Appends `bytes` as an RLP string.
    public static func appendString(_ bytes: some Collection<UInt8>, to out: inout [UInt8]) {
        if bytes.count == 1, let byte = bytes.first, byte < 0x80 {
            out.append(byte)
            return
        }
        appendLength(bytes.count, offset: 0x80, to: &out)
        out.append(contentsOf: bytes)
    }

    /// Appends `value` as an RLP integer (0 is the empty string).
    public static func appendUInt(_ value: UInt256, to out: inout [UInt8]) {
        appendString(value.minimalBigEndianBytes, to: &out)
    }

    /// Appends a 20-byte address.
    public static func appendAddress(_ address: EVMAddress, to out: inout [UInt8]) {
        appendString(address.bytes, to: &out)
    }

    /// Appends a list whose items' encodings are `payload`.
    public static func appendList(payload: [UInt8], to out: inout [UInt8]) {
        appendLength(payload.count, offset: 0xC0, to: &out)
        out.append(contentsOf: payload)
    }

    /// A string or list header: short form below 56 bytes, long form above.
    static func appendLength(_ length: Int, offset: UInt8, to out: inout [UInt8]) {
        if length < 56 {
            out.append(offset + UInt8(length))
            return
        }
        let lengthBytes = UInt256(UInt128(length)).minimalBigEndianBytes
        out.append(offset + 55 + UInt8(lengthBytes.count))
        out.append(contentsOf: lengthBytes)
    }
}

extension UInt256 {
    /// The 32 big-endian bytes.
    public var bigEndianBytes: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 32)
        for index in 0..<16 {
            bytes[index] = UInt8(truncatingIfNeeded: high >> (120 - 8 * UInt128(index)))
            bytes[16 + index] = UInt8(truncatingIfNeeded: low >> (120 - 8 * UInt128(index)))
        }
        return bytes
    }

    /// The big-endian bytes without leading zeros (empty for zero), as RLP integers are written.
    public var minimalBigEndianBytes: [UInt8] {
        Array(bigEndianBytes.drop { $0 == 0 })
    }

    /// Reads up to 32 big-endian bytes.
    init(bigEndianBytes bytes: UnsafeRawBufferPointer) {
        var value = UInt256.zero
        for byte in bytes {
            value = UInt256(high: value.high << 8 | value.low >> 120, low: value.low << 8 | UInt128(byte))
        }
        self = value
    }
}

extension EVMAddress {
    /// The 20 bytes, big-endian.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(20)
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: first >> shift)) }
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: second >> shift)) }
        for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: third >> shift)) }
        return out
    }

    /// The address in the last 20 of 32 bytes (a public key's Keccak-256 digest, a CREATE2
    /// address's).
    public init(lastTwentyBytesOf hash: TransactionHash) {
        first = hash.words.1 << 32 | hash.words.2 >> 32
        second = hash.words.2 << 32 | hash.words.3 >> 32
        third = UInt32(truncatingIfNeeded: hash.words.3)
    }
}

extension TransactionHash {
    /// The 32 bytes, big-endian.
    public var bytes: [UInt8] {
        UInt256(
            high: UInt128(words.0) << 64 | UInt128(words.1), low: UInt128(words.2) << 64 | UInt128(words.3)
        ).bigEndianBytes
    }
}

/// An EIP-1559 (type 2) transaction before signing: what our back-runs are.
public struct EIP1559Transaction: Equatable, Sendable {
    public var chainID: UInt64
    public var nonce: UInt64
    public var maxPriorityFeePerGas: UInt128
    public var maxFeePerGas: UInt128
    public var gasLimit: UInt64
    public var to: EVMAddress
    public var value: UInt256
    public var data: [UInt8]

    public init(
        chainID: UInt64, nonce: UInt64, maxPriorityFeePerGas: UInt128, maxFeePerGas: UInt128, gasLimit: UInt64,
        to: EVMAddress, value: UInt256 = .zero, data: [UInt8]
    ) {
        self.chainID = chainID
        self.nonce = nonce
        self.maxPriorityFeePerGas = maxPriorityFeePerGas
        self.maxFeePerGas = maxFeePerGas
        self.gasLimit = gasLimit
        self.to = to
        self.value = value
        self.data = data
    }

    /// The list items before the signature (the access list is empty).
    var unsignedItems: [UInt8] {
        var items = [UInt8]()
        RLP.appendUInt(UInt256(UInt128(chainID)), to: &items)
        RLP.appendUInt(UInt256(UInt128(nonce)), to: &items)
        RLP.appendUInt(UInt256(maxPriorityFeePerGas), to: &items)
        RLP.appendUInt(UInt256(maxFeePerGas), to: &items)
        RLP.appendUInt(UInt256(UInt128(gasLimit)), to: &items)
        RLP.appendAddress(to, to: &items)
        RLP.appendUInt(value, to: &items)
        RLP.appendString(data, to: &items)
        RLP.appendList(payload: [], to: &items)
        return items
    }

    /// What is signed: Keccak-256 of `0x02 ‖ rlp([chainId, nonce, tip, feeCap, gas, to, value, data, accessList])`.
    public var signingHash: TransactionHash {
        var payload: [UInt8] = [0x02]
        RLP.appendList(payload: unsignedItems, to: &payload)
        return Keccak256.hash(payload)
    }

    /// The signed transaction's bytes (`0x02 ‖ rlp([..., yParity, r, s])`), as `eth_sendRawTransaction`
    /// and `eth_sendBundle` take them.
    public func encoded(yParity: UInt8, r: UInt256, s: UInt256) -> [UInt8] {
        var items = unsignedItems
        RLP.appendUInt(UInt256(UInt128(yParity)), to: &items)
        RLP.appendUInt(r, to: &items)
        RLP.appendUInt(s, to: &items)
        var raw: [UInt8] = [0x02]
        RLP.appendList(payload: items, to: &raw)
        return raw
    }
}

/// A signed transaction: its bytes and its hash (Keccak-256 of the bytes).
public struct SignedTransaction: Equatable, Sendable {
    public var raw: [UInt8]
    public var hash: TransactionHash

    public init(raw: [UInt8]) {
        self.raw = raw
        hash = Keccak256.hash(raw)
    }

    /// `0x` and the bytes in lowercase hex.
    public var rawHex: String { hexString(raw) }
}

/// `0x` and `bytes` in lowercase hex.
public func hexString(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = [48, 120]
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 15)])
    }
    return String(decoding: text, as: UTF8.self)
}

/// Decodes `0x`-prefixed hex text (either case, surrounding whitespace ignored) into `bytes`,
/// replacing what it held (its capacity is reused); false if the text is not that.
public func decodeHex(_ text: UnsafeRawBufferPointer, into bytes: inout [UInt8]) -> Bool {
    bytes.removeAll(keepingCapacity: true)
    var start = 0
    var end = text.count
    func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }
    while start < end, isSpace(text[start]) { start += 1 }
    while end > start, isSpace(text[end - 1]) { end -= 1 }
    guard end - start >= 2, text[start] == UInt8(ascii: "0"), text[start + 1] | 0x20 == UInt8(ascii: "x"),
        (end - start) % 2 == 0
    else { return false }
    func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
    var index = start + 2
    while index < end {
        guard let high = nibble(text[index]), let low = nibble(text[index + 1]) else { return false }
        bytes.append(high << 4 | low)
        index += 2
    }
    return true
}

/// Why a signed transaction's bytes were refused.
public enum RawTransactionError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    /// An RLP item runs past the end, or its header is cut short.
    case truncated(at: Int)
    /// An RLP length not written in its shortest form, or a one-byte string below 0x80 with a header.
    case nonCanonical(at: Int)
    /// A type byte this decoder does not know (0x02 EIP-1559 and legacy are supported).
    case unsupportedType(UInt8)
    case expectedList(at: Int)
    case expectedString(field: String)
    case wrongFieldCount(Int, expected: Int)
    /// An integer field wider than its type (`to` must be 0 or 20 bytes).
    case fieldTooLong(field: String, bytes: Int)
    case trailingBytes(count: Int)

    public var description: String {
        switch self {
        case .empty: return "transaction bytes are empty"
        case .truncated(let at): return "RLP item at byte \(at) runs past the end of the transaction"
        case .nonCanonical(let at): return "RLP item at byte \(at) is not in canonical form"
        case .unsupportedType(let type):
            return "transaction type 0x\(String(type, radix: 16)) is not supported (use legacy or 0x02)"
        case .expectedList(let at): return "expected an RLP list at byte \(at)"
        case .expectedString(let field): return "field \(field) must be an RLP string, not a list"
        case .wrongFieldCount(let count, let expected): return "transaction has \(count) fields, expected \(expected)"
        case .fieldTooLong(let field, let bytes): return "field \(field) has \(bytes) bytes, more than its type holds"
        case .trailingBytes(let count): return "\(count) bytes follow the transaction"
        }
    }
}

/// A signed transaction decoded from its bytes: the pending-transaction fields, the signature,
/// and where its parts lie in the bytes (the calldata is a slice of them; nothing is copied).
public struct DecodedTransaction: Equatable, Sendable {
    /// `from` is zero: recovering the sender costs an ECDSA recovery (`SenderRecovery`).
    public var pending: PendingTransaction
    /// 0 for a legacy transaction without EIP-155 replay protection.
    public var chainID: UInt64
    public var type: UInt8
    public var yParity: UInt8
    public var r: UInt256
    public var s: UInt256
    /// The bytes of the fields that are signed (all before the signature), within the raw bytes.
    var signedFields: Range<Int>

    /// Decodes `raw` (`0x02 ‖ rlp(...)`, or a legacy `rlp([nonce, gasPrice, gas, to, value, data, v, r, s])`);
    /// offsets in the result are relative to `raw` plus `baseOffset` (the raw bytes' place in an arena).
    public init(raw: UnsafeRawBufferPointer, baseOffset: Int = 0) throws(RawTransactionError) {
        guard let first = raw.first else { throw .empty }
        var reader = RLPReader(bytes: raw, position: 0)
        let type: UInt8
        if first >= 0xC0 {
            type = 0
        } else if first == 0x02 {
            type = 2
            reader.position = 1
        } else {
            throw .unsupportedType(first)
        }
        let list = try reader.listBody()
        guard list.upperBound == raw.count else { throw .trailingBytes(count: raw.count - list.upperBound) }
        var fields = [Range<Int>]()  // string bodies; -1 ..< -1 for a list
        var ends = [Int]()
        while reader.position < list.upperBound {
            let item = try reader.item()
            fields.append(item.isList ? -1 ..< -1 : item.body)
            ends.append(reader.position)
            if fields.count > 12 { break }
        }
        let expected = type == 2 ? 12 : 9
        guard fields.count == expected, reader.position == list.upperBound else {
            throw .wrongFieldCount(fields.count, expected: expected)
        }
        let names =
            type == 2
            ? [
                "chainId", "nonce", "maxPriorityFeePerGas", "maxFeePerGas", "gas", "to", "value", "data", "accessList",
                "yParity", "r", "s",
            ]
            : ["nonce", "gasPrice", "gas", "to", "value", "data", "v", "r", "s"]
        func integer(_ index: Int, maxBytes: Int) throws(RawTransactionError) -> UInt256 {
            let range = fields[index]
            guard range.lowerBound >= 0 else { throw .expectedString(field: names[index]) }
            guard range.count <= maxBytes else { throw .fieldTooLong(field: names[index], bytes: range.count) }
            return UInt256(bigEndianBytes: UnsafeRawBufferPointer(rebasing: raw[range]))
        }
        func address(_ index: Int) throws(RawTransactionError) -> EVMAddress {
            let range = fields[index]
            guard range.lowerBound >= 0 else { throw .expectedString(field: names[index]) }
            guard range.count == 20 || range.isEmpty else {
                throw .fieldTooLong(field: names[index], bytes: range.count)
            }
            if range.isEmpty { return .zero }
            var word = [UInt8](repeating: 0, count: 12)
            word += raw[range]
            return word.withUnsafeBytes { EVMAddress(abiWordAt: 0, of: $0) } ?? .zero
        }
        let base = type == 2 ? 1 : 0  // the nonce's index: legacy lists have no chainId first
        let nonce = try integer(base, maxBytes: 8)
        let gasPrice: UInt256
        let tip: UInt256
        if type == 2 {
            tip = try integer(2, maxBytes: 16)
            gasPrice = try integer(3, maxBytes: 16)
        } else {
            gasPrice = try integer(1, maxBytes: 16)
            tip = gasPrice
        }
        let gasIndex = type == 2 ? 4 : 2
        let gas = try integer(gasIndex, maxBytes: 8)
        let to = try address(gasIndex + 1)
        let value = try integer(gasIndex + 2, maxBytes: 32)
        let data = fields[gasIndex + 3]
        guard data.lowerBound >= 0 else { throw .expectedString(field: "data") }
        if type == 2 {
            guard fields[8].lowerBound < 0 else { throw .expectedList(at: 0) }
            chainID = UInt64(try integer(0, maxBytes: 8).low)
            yParity = UInt8(truncatingIfNeeded: try integer(9, maxBytes: 1).low)
            signedFields = list.lowerBound..<ends[8]
        } else {
            let v = try integer(6, maxBytes: 8).low
            if v == 27 || v == 28 {
                chainID = 0
                yParity = UInt8(v - 27)
            } else if v >= 35 {
                chainID = UInt64((v - 35) / 2)
                yParity = UInt8((v - 35) % 2)
            } else {
                throw .fieldTooLong(field: "v", bytes: 8)
            }
            signedFields = list.lowerBound..<ends[5]
        }
        r = try integer(expected - 2, maxBytes: 32)
        s = try integer(expected - 1, maxBytes: 32)
        self.type = type
        pending = PendingTransaction(
            hash: Keccak256.hash(raw), from: .zero, to: to, value: value, gasPrice: gasPrice.low,
            maxPriorityFee: tip.low, gasLimit: UInt64(gas.low), nonce: UInt64(nonce.low),
            calldataOffset: baseOffset + data.lowerBound, calldataLength: data.count)
    }

    /// secp256k1's group order n, and n / 2 (EIP-2: a valid `s` is at most that).
    static let curveOrder =
        UInt256(hex: "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141") ?? UInt256(0)
    static let halfCurveOrder =
        UInt256(hex: "0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0") ?? UInt256(0)

    /// Why no node would take this transaction for chain `chainID`, without recovering its
    /// signer: another chain (a legacy transaction without a chain id is taken), a y-parity
    /// other than 0 or 1, `r` or `s` outside 1 … n − 1, `s` above n / 2 (EIP-2), or a tip above
    /// the fee cap. Nil when none of these.
    public func problem(chainID expected: UInt64) -> String? {
        if chainID != 0 && chainID != expected { return "chain id \(chainID), not \(expected) (--chain-id)" }
        if yParity > 1 { return "y-parity \(yParity), not 0 or 1" }
        if r == UInt256(0) || !(r < Self.curveOrder) { return "signature r \(r) outside 1 … n − 1" }
        if s == UInt256(0) || Self.halfCurveOrder < s { return "signature s \(s) outside 1 … n / 2 (EIP-2)" }
        if pending.maxPriorityFee > pending.gasPrice {
            return "tip \(pending.maxPriorityFee) wei above the fee cap \(pending.gasPrice) wei"
        }
        return nil
    }

    /// The hash that was signed, rebuilt from the signed fields of `raw` (the bytes this was decoded from).
    public func signingHash(raw: UnsafeRawBufferPointer) -> TransactionHash {
        let fields = Array(raw[signedFields])
        var payload = [UInt8]()
        if type == 2 {
            payload.append(0x02)
            RLP.appendList(payload: fields, to: &payload)
        } else {
            var items = fields
            if chainID != 0 {
                RLP.appendUInt(UInt256(UInt128(chainID)), to: &items)
                items += [0x80, 0x80]
            }
            RLP.appendList(payload: items, to: &payload)
        }
        return Keccak256.hash(payload)
    }
}

/// Reads RLP items from bytes, checking every length against the end and canonical form.
struct RLPReader {
    let bytes: UnsafeRawBufferPointer
    var position: Int

    struct Item {
        var body: Range<Int>
        var isList: Bool
    }

    /// The next item; the position moves past it.
    mutating func item() throws(RawTransactionError) -> Item {
        let start = position
        guard position < bytes.count else { throw .truncated(at: start) }
        let prefix = bytes[position]
        position += 1
        let isList = prefix >= 0xC0
        let base: UInt8 = isList ? 0xC0 : 0x80
        let length: Int
        if !isList && prefix < 0x80 {
            return Item(body: start..<position, isList: false)
        } else if prefix - base < 56 {
            length = Int(prefix - base)
            if !isList && length == 1 {
                guard position < bytes.count else { throw .truncated(at: start) }
                guard bytes[position] >= 0x80 else { throw .nonCanonical(at: start) }
            }
        } else {
            let lengthOfLength = Int(prefix - base - 55)
            guard bytes.count - position >= lengthOfLength else { throw .truncated(at: start) }
            guard bytes[position] != 0, lengthOfLength <= 4 else { throw .nonCanonical(at: start) }
            var value = 0
            for _ in 0..<lengthOfLength {
                value = value << 8 | Int(bytes[position])
                position += 1
            }
            guard value >= 56 else { throw .nonCanonical(at: start) }
            length = value
        }
        guard bytes.count - position >= length else { throw .truncated(at: start) }
        let body = position..<(position + length)
        position += length
        return Item(body: body, isList: isList)
    }

    /// Reads a list header and returns its body; the position moves to the body's start.
    mutating func listBody() throws(RawTransactionError) -> Range<Int> {
        let start = position
        let list = try item()
        guard list.isList else { throw .expectedList(at: start) }
        position = list.body.lowerBound
        return list.body
    }
}
