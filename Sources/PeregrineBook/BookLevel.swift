import PeregrineModel

/// One aggregated price level: a price and the total quantity resting there.
@frozen
public struct BookLevel: Hashable, Sendable, BitwiseCopyable, CustomStringConvertible {
    public var price: Price
    public var quantity: Quantity

    @inlinable public init(price: Price, quantity: Quantity) {
        self.price = price
        self.quantity = quantity
    }

    public var description: String { "\(price.ticks)x\(quantity.lots)" }
}

/// The best bid and best offer of a book; either side may be missing.
@frozen
public struct BestBidOffer: Hashable, Sendable, BitwiseCopyable {
    public var bid: BookLevel?
    public var ask: BookLevel?

    @inlinable public init(bid: BookLevel?, ask: BookLevel?) {
        self.bid = bid
        self.ask = ask
    }

    /// Ask minus bid in ticks, when both sides exist.
    @inlinable public var spread: Int64? {
        guard let bid, let ask else { return nil }
        return ask.price.ticks &- bid.price.ticks
    }
}

/// What applying one level update did to a book.
@frozen
public enum LevelUpdateOutcome: Equatable, Sendable, BitwiseCopyable {
    /// The level was set or removed (a removal of a level not held changes nothing).
    case applied
    /// A new level beyond the book's ceiling of levels per side: refused, counted.
    case refusedAtCeiling
}

/// Counters a book keeps about the updates it applied.
@frozen
public struct BookCounters: Equatable, Sendable, BitwiseCopyable {
    public var updates: Int = 0
    /// New levels refused because a side held its most levels (`L2Book.maxLevelsPerSide`).
    public var refusedAtCeiling: Int = 0

    @inlinable public init() {}
}
