import PeregrineCore
import PeregrineModel

/// Groups transactions into bundles: a bundle is sealed when it holds `maxTransactions`
/// (size trigger) or when `timeoutNanoseconds` have passed since its first transaction
/// (timeout trigger), whichever comes first.
///
/// Time is passed in by the caller (engine nanoseconds), so the builder is a pure value:
/// the logic stage gives it the clock's time, a replay gives it the journaled time.
/// No allocation: the open bundle is stored inline.
public struct BundleBuilder: Sendable {
    /// Error for a configuration the builder cannot honour.
    public enum ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
        case invalidMaxTransactions(Int)

        public var description: String {
            switch self {
            case .invalidMaxTransactions(let value):
                return "bundle size \(value) is not allowed: use 1 to \(Bundle.capacity)"
            }
        }
    }

    public let maxTransactions: Int
    public let timeoutNanoseconds: UInt64
    @usableFromInline var open: Bundle
    @usableFromInline var nextBundleID: UInt64

    /// A builder sealing at `maxTransactions` (1 ... 16) or `timeoutNanoseconds`.
    public init(maxTransactions: Int = 16, timeoutNanoseconds: UInt64 = 100_000, firstBundleID: UInt64 = 1)
        throws(ConfigurationError)
    {
        guard (1...Bundle.capacity).contains(maxTransactions) else {
            throw .invalidMaxTransactions(maxTransactions)
        }
        self.maxTransactions = maxTransactions
        self.timeoutNanoseconds = timeoutNanoseconds
        nextBundleID = firstBundleID
        open = Bundle(id: firstBundleID)
    }

    /// The id the open bundle will be sealed with.
    @inlinable public var openBundleID: UInt64 { open.id }

    /// Number of transactions in the open bundle.
    @inlinable public var pendingCount: Int { open.count }

    /// When the open bundle will time out, if it holds anything.
    @inlinable
    public var deadline: UInt64? {
        open.isEmpty ? nil : open.openedAt &+ timeoutNanoseconds
    }

    /// Adds `transaction` at time `now`; returns the sealed bundle if this filled it.
    @inlinable
    public mutating func add(_ transaction: Transaction, now: UInt64) -> Bundle? {
        if open.isEmpty { open.openedAt = now }
        _ = open.append(transaction)
        if open.count >= maxTransactions { return seal() }
        return nil
    }

    /// Takes the transaction with `id` and `origin` out of the open bundle (which keeps its id
    /// and deadline); `false` when it holds none.
    @inlinable
    public mutating func remove(id: UInt64, origin: TransactionOrigin) -> Bool {
        open.remove(id: id, origin: origin)
    }

    /// Whether the open bundle has timed out at `now` (then `poll` seals it).
    @inlinable @inline(__always)
    func isDue(now: UInt64) -> Bool { !open.isEmpty && now &- open.openedAt >= timeoutNanoseconds }

    /// Returns the open bundle, sealed, if it has timed out at `now`. Always inlined: called
    /// once per event, and out of line it would copy a whole optional bundle (over 500 bytes)
    /// back to its caller even when there is none.
    @inlinable @inline(__always)
    public mutating func poll(now: UInt64) -> Bundle? {
        guard isDue(now: now) else { return nil }
        return seal()
    }

    /// Seals and returns whatever the open bundle holds (at shutdown); `nil` when empty.
    @inlinable
    public mutating func flush() -> Bundle? {
        open.isEmpty ? nil : seal()
    }

    @inlinable
    mutating func seal() -> Bundle {
        let sealed = open
        nextBundleID &+= 1
        open = Bundle(id: nextBundleID)
        return sealed
    }

    /// Adds the open bundle and the next bundle id to `hasher`.
    public func combineState(into hasher: inout StateHasher) {
        hasher.combine(nextBundleID)
        open.combine(into: &hasher)
    }

    /// Writes the open bundle and the next bundle id.
    public func encodeState(into encoder: inout SnapshotEncoder) {
        encoder.write(nextBundleID)
        encoder.write(open.id)
        encoder.write(open.openedAt)
        encoder.write(Int64(open.count))
        open.forEach { transaction in
            encoder.write(transaction.id)
            encoder.write(transaction.instrument.rawValue)
            encoder.write(transaction.side.rawValue)
            encoder.write(transaction.price.ticks)
            encoder.write(transaction.quantity.lots)
            encoder.write(transaction.origin.rawValue)
            encoder.write(transaction.priorityFee)
        }
    }

    /// Loads what `encodeState` wrote (the size and timeout stay this builder's).
    public mutating func restoreState(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        nextBundleID = try decoder.read(UInt64.self, "next bundle id")
        var bundle = Bundle(id: try decoder.read(UInt64.self, "bundle id"))
        bundle.openedAt = try decoder.read(UInt64.self, "bundle opened at")
        let count = try decoder.readCount("bundle transactions", minimumItemBytes: 32)
        guard count <= maxTransactions else { throw .invalid(field: "bundle transactions", value: Int64(count)) }
        for _ in 0..<count {
            let id = try decoder.read(UInt64.self, "transaction id")
            let instrument = InstrumentID(try decoder.read(UInt32.self, "transaction instrument"))
            let sideRaw = try decoder.read(UInt8.self, "transaction side")
            let price = Price(ticks: try decoder.read(Int64.self, "transaction price"))
            let quantity = Quantity(lots: try decoder.read(Int64.self, "transaction quantity"))
            let originRaw = try decoder.read(UInt8.self, "transaction origin")
            let fee = try decoder.read(UInt16.self, "priority fee")
            guard let side = Side(rawValue: sideRaw) else { throw .invalid(field: "side", value: Int64(sideRaw)) }
            guard let origin = TransactionOrigin(rawValue: originRaw) else {
                throw .invalid(field: "origin", value: Int64(originRaw))
            }
            _ = bundle.append(
                Transaction(
                    id: id, instrument: instrument, side: side, price: price, quantity: quantity, origin: origin,
                    priorityFee: fee))
        }
        open = bundle
    }
}
