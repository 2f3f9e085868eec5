/// Where a transaction came from.
@frozen
public enum TransactionOrigin: UInt8, Hashable, Sendable, BitwiseCopyable, CaseIterable {
    /// Seen pending in a mempool or feed.
    case observed = 0
    /// Created by this engine (a back-run).
    case strategy = 1
}

/// A chain transaction as it moves through the hot path: 32 bytes, trivially copyable. (Orders
/// for a venue are `OrderCommand`s, never transactions.)
///
/// It is a compact handle, not the signed payload: `id` identifies the full transaction
/// (the first 8 bytes of its hash for one seen pending, an engine-assigned number for one this
/// engine created), and the rest is what the mempool analysis and the bundle builder decide on.
///
/// ```
///  0       8       16      24   28 29 30   32
///  │ id    │ price │ qty   │inst│sd│or│prio│
/// ```
@frozen
public struct Transaction: Hashable, Sendable, BitwiseCopyable {
    public var id: UInt64
    public var price: Price
    public var quantity: Quantity
    public var instrument: InstrumentID
    public var side: Side
    public var origin: TransactionOrigin
    /// Priority fee in gwei (saturating at 65,535), used to order bundles.
    public var priorityFee: UInt16

    @inlinable
    public init(
        id: UInt64, instrument: InstrumentID, side: Side, price: Price, quantity: Quantity,
        origin: TransactionOrigin, priorityFee: UInt16 = 0
    ) {
        self.id = id
        self.price = price
        self.quantity = quantity
        self.instrument = instrument
        self.side = side
        self.origin = origin
        self.priorityFee = priorityFee
    }

    /// An all-zero transaction, used to fill unused inline storage.
    public static let empty = Transaction(
        id: 0, instrument: InstrumentID(0), side: .buy, price: Price(ticks: 0),
        quantity: .zero, origin: .observed)
}
