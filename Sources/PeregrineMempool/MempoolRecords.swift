import PeregrineCore
import PeregrineEVM
import PeregrineModel

/// The bytes of a pending-transaction record (`RecordType.signedTransaction` or
/// `.tracedTransaction`): the fields the analysis reads, decoded once by the source, then the
/// transaction's bytes. Little-endian integers, big-endian addresses, hashes and `value` (as
/// on the chain):
///
/// ```
///   0  hash (32)            32  from (20; zero when not recovered)   52  to (20)
///  72  value (32)          104  fee cap, wei (u128)                 120  tip cap, wei (u128)
/// 136  gas limit (u64)     144  nonce (u64)
/// 152  calldata offset (u32) and 156 length (u32), within the payload
/// 160  payload: the signed bytes as sent (signed) or the calldata alone (traced)
/// ```
public enum PendingRecord {
    public static let headerSize = 160

    /// The record of `transaction`, whose payload (signed bytes, or calldata) is `payload` and
    /// whose calldata is `calldata` within it.
    public static func encode(
        _ transaction: PendingTransaction, payload: UnsafeRawBufferPointer, calldata: Range<Int>
    ) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: headerSize + payload.count)
        bytes.withUnsafeMutableBytes { out in
            storeHash(transaction.hash, out, 0)
            storeAddress(transaction.from, out, 32)
            storeAddress(transaction.to, out, 52)
            out.storeBytes(of: transaction.value.high.bigEndian, toByteOffset: 72, as: UInt128.self)
            out.storeBytes(of: transaction.value.low.bigEndian, toByteOffset: 88, as: UInt128.self)
            out.storeBytes(of: transaction.gasPrice.littleEndian, toByteOffset: 104, as: UInt128.self)
            out.storeBytes(of: transaction.maxPriorityFee.littleEndian, toByteOffset: 120, as: UInt128.self)
            out.storeBytes(of: transaction.gasLimit.littleEndian, toByteOffset: 136, as: UInt64.self)
            out.storeBytes(of: transaction.nonce.littleEndian, toByteOffset: 144, as: UInt64.self)
            out.storeBytes(
                of: UInt32(truncatingIfNeeded: calldata.lowerBound).littleEndian, toByteOffset: 152, as: UInt32.self)
            out.storeBytes(
                of: UInt32(truncatingIfNeeded: calldata.count).littleEndian, toByteOffset: 156, as: UInt32.self)
            UnsafeMutableRawBufferPointer(rebasing: out[headerSize...]).copyMemory(from: payload)
        }
        return bytes
    }

    /// The record of `transaction`, whose bytes are in `arena` (`rawOffset`, `rawLength` and
    /// `calldataOffset`, `calldataLength` into it): its signed bytes as the payload when
    /// `signed`, else its calldata alone (a traced transaction).
    public static func encode(_ transaction: PendingTransaction, arena: UnsafeRawBufferPointer, signed: Bool)
        -> [UInt8]
    {
        let payload =
            signed
            ? transaction.rawOffset..<(transaction.rawOffset + transaction.rawLength)
            : transaction.calldataOffset..<(transaction.calldataOffset + transaction.calldataLength)
        let calldataStart = transaction.calldataOffset - payload.lowerBound
        var pending = transaction
        if !signed { pending.rawLength = 0 }
        return encode(
            pending, payload: UnsafeRawBufferPointer(rebasing: arena[payload]),
            calldata: calldataStart..<(calldataStart + transaction.calldataLength))
    }

    /// The transaction in `record`, with its calldata and signed bytes (`rawOffset`,
    /// `rawLength`; length 0 for a traced one) as offsets into `record`; nil when the calldata
    /// lies outside the payload. Allocation-free.
    @inlinable
    public static func decode(_ record: UnsafeRawBufferPointer, type: RecordType) -> PendingTransaction? {
        guard record.count >= headerSize else { return nil }
        let payloadLength = record.count &- headerSize
        let offset = Int(UInt32(littleEndian: record.loadUnaligned(fromByteOffset: 152, as: UInt32.self)))
        let length = Int(UInt32(littleEndian: record.loadUnaligned(fromByteOffset: 156, as: UInt32.self)))
        guard offset <= payloadLength, length <= payloadLength &- offset else { return nil }
        let signed = type == .signedTransaction
        return PendingTransaction(
            hash: loadHash(record, 0), from: loadAddress(record, 32), to: loadAddress(record, 52),
            value: UInt256(bigEndianWordAt: 72, of: record),
            gasPrice: UInt128(littleEndian: record.loadUnaligned(fromByteOffset: 104, as: UInt128.self)),
            maxPriorityFee: UInt128(littleEndian: record.loadUnaligned(fromByteOffset: 120, as: UInt128.self)),
            gasLimit: UInt64(littleEndian: record.loadUnaligned(fromByteOffset: 136, as: UInt64.self)),
            nonce: UInt64(littleEndian: record.loadUnaligned(fromByteOffset: 144, as: UInt64.self)),
            calldataOffset: headerSize &+ offset, calldataLength: length, rawOffset: signed ? headerSize : 0,
            rawLength: signed ? payloadLength : 0)
    }

    @inlinable
    static func loadHash(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> TransactionHash {
        TransactionHash(
            UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)),
            UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset &+ 8, as: UInt64.self)),
            UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset &+ 16, as: UInt64.self)),
            UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset &+ 24, as: UInt64.self)))
    }

    static func storeHash(_ hash: TransactionHash, _ bytes: UnsafeMutableRawBufferPointer, _ offset: Int) {
        bytes.storeBytes(of: hash.words.0.bigEndian, toByteOffset: offset, as: UInt64.self)
        bytes.storeBytes(of: hash.words.1.bigEndian, toByteOffset: offset + 8, as: UInt64.self)
        bytes.storeBytes(of: hash.words.2.bigEndian, toByteOffset: offset + 16, as: UInt64.self)
        bytes.storeBytes(of: hash.words.3.bigEndian, toByteOffset: offset + 24, as: UInt64.self)
    }

    @inlinable
    static func loadAddress(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> EVMAddress {
        EVMAddress(
            first: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)),
            second: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset &+ 8, as: UInt64.self)),
            third: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset &+ 16, as: UInt32.self)))
    }

    static func storeAddress(_ address: EVMAddress, _ bytes: UnsafeMutableRawBufferPointer, _ offset: Int) {
        bytes.storeBytes(of: address.first.bigEndian, toByteOffset: offset, as: UInt64.self)
        bytes.storeBytes(of: address.second.bigEndian, toByteOffset: offset + 8, as: UInt64.self)
        bytes.storeBytes(of: address.third.bigEndian, toByteOffset: offset + 16, as: UInt32.self)
    }
}

/// The bytes of a pool record (`RecordType.pool`): a constant-product pool and its reserves,
/// which the analysis adds to its pools (or updates, for a pool it has).
///
/// ```
///  0 address (20)   20 token0 (20)   40 token1 (20)   60 reserve0 (u128)   76 reserve1 (u128)
/// 92 venue (u8: 0 Uniswap V2, 1 Sushiswap)
/// ```
public enum PoolRecord {
    public static let size = 93

    public static func encode(_ pool: ConstantProductPool) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        bytes.withUnsafeMutableBytes { out in
            PendingRecord.storeAddress(pool.address, out, 0)
            PendingRecord.storeAddress(pool.token0, out, 20)
            PendingRecord.storeAddress(pool.token1, out, 40)
            out.storeBytes(of: pool.reserve0.littleEndian, toByteOffset: 60, as: UInt128.self)
            out.storeBytes(of: pool.reserve1.littleEndian, toByteOffset: 76, as: UInt128.self)
            out[92] = pool.venue.rawValue
        }
        return bytes
    }

    /// The pool in `record`; nil when it is not 93 bytes, a reserve is above 2^112 − 1 or the
    /// tokens are not in the pair's order.
    public static func decode(_ record: UnsafeRawBufferPointer) -> ConstantProductPool? {
        guard record.count == size else { return nil }
        let pool = ConstantProductPool(
            address: PendingRecord.loadAddress(record, 0), token0: PendingRecord.loadAddress(record, 20),
            token1: PendingRecord.loadAddress(record, 40),
            reserve0: UInt128(littleEndian: record.loadUnaligned(fromByteOffset: 60, as: UInt128.self)),
            reserve1: UInt128(littleEndian: record.loadUnaligned(fromByteOffset: 76, as: UInt128.self)),
            venue: Venue(rawValue: record[92]))
        guard pool.reserve0 <= ConstantProduct.maxReserve, pool.reserve1 <= ConstantProduct.maxReserve,
            TokenPair(pool.token0, pool.token1).token0 == pool.token0
        else { return nil }
        return pool
    }
}
