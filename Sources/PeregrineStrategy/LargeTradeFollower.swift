import PeregrineBook
import PeregrineCore
import PeregrineModel

/// The built-in example strategy: when a trade of at least `minimumQuantity` prints, follow
/// it with a transaction on the aggressor's side, at the trade price, for `followQuantity`,
/// unless the book's spread is wider than `maximumSpreadTicks` (a thin book is not followed).
///
/// Transaction ids are this strategy's own counter, so the same input always yields the same
/// transactions.
public struct LargeTradeFollower: Strategy, Sendable {
    public let minimumQuantity: Quantity
    public let followQuantity: Quantity
    public let maximumSpreadTicks: Int64
    @usableFromInline var nextTransactionID: UInt64 = 1

    public init(minimumQuantity: Quantity, followQuantity: Quantity, maximumSpreadTicks: Int64 = 50) {
        self.minimumQuantity = minimumQuantity
        self.followQuantity = followQuantity
        self.maximumSpreadTicks = maximumSpreadTicks
    }

    @inlinable
    public mutating func onEvent<Sink: TransactionSink & ~Copyable>(
        _ event: Event, books: borrowing BookSet, sink: inout Sink
    ) {
        guard case .trade(let trade) = event.payload, trade.quantity >= minimumQuantity else { return }
        if let spread = books.bestBidOffer(event.instrument)?.spread, spread > maximumSpreadTicks {
            return
        }
        let transaction = Transaction(
            id: nextTransactionID, instrument: event.instrument, side: trade.aggressor,
            price: trade.price, quantity: followQuantity, origin: .strategy)
        if sink.emit(transaction) {
            nextTransactionID &+= 1
        }
    }

    public var parameters: String {
        "large-trade-follower min-lots=\(minimumQuantity.lots) follow-lots=\(followQuantity.lots) "
            + "max-spread-ticks=\(maximumSpreadTicks)"
    }

    public func combineState(into hasher: inout StateHasher) {
        hasher.combine(nextTransactionID)
    }

    public func encodeState(into encoder: inout SnapshotEncoder) { encoder.write(nextTransactionID) }

    public mutating func restoreState(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        nextTransactionID = try decoder.read(UInt64.self, "next transaction id")
    }
}
