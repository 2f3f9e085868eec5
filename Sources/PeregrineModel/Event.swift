/// The kinds of market event, with their wire codes.
@frozen
public enum EventKind: UInt8, Sendable, CaseIterable, BitwiseCopyable {
    case levelUpdate = 1
    case trade = 2
    case quote = 3
    case transaction = 4
    case timer = 5
    case order = 6
    case clearBook = 7
}

/// A price level of a level-2 book set to a new total quantity (zero removes the level).
@frozen
public struct LevelUpdate: Hashable, Sendable, BitwiseCopyable {
    public var price: Price
    public var quantity: Quantity
    public var side: Side

    @inlinable public init(side: Side, price: Price, quantity: Quantity) {
        self.side = side
        self.price = price
        self.quantity = quantity
    }
}

/// A trade printed by a venue.
@frozen
public struct Trade: Hashable, Sendable, BitwiseCopyable {
    public var price: Price
    public var quantity: Quantity
    public var tradeID: UInt64
    /// The side of the order that took liquidity.
    public var aggressor: Side

    @inlinable public init(price: Price, quantity: Quantity, aggressor: Side, tradeID: UInt64) {
        self.price = price
        self.quantity = quantity
        self.aggressor = aggressor
        self.tradeID = tradeID
    }
}

/// A venue's best bid and offer.
@frozen
public struct Quote: Hashable, Sendable, BitwiseCopyable {
    public var bidPrice: Price
    public var bidQuantity: Quantity
    public var askPrice: Price
    public var askQuantity: Quantity

    @inlinable
    public init(bidPrice: Price, bidQuantity: Quantity, askPrice: Price, askQuantity: Quantity) {
        self.bidPrice = bidPrice
        self.bidQuantity = bidQuantity
        self.askPrice = askPrice
        self.askQuantity = askQuantity
    }
}

/// A timer firing, injected into the event stream so logic sees time as an input.
@frozen
public struct TimerFire: Hashable, Sendable, BitwiseCopyable {
    public var timerID: UInt64
    /// The deadline the timer was set for, in engine nanoseconds.
    public var deadline: UInt64

    @inlinable public init(timerID: UInt64, deadline: UInt64) {
        self.timerID = timerID
        self.deadline = deadline
    }
}

/// What an event carries: one of the market event kinds, stored inline.
@frozen
public enum EventPayload: Hashable, Sendable, BitwiseCopyable {
    case levelUpdate(LevelUpdate)
    case trade(Trade)
    case quote(Quote)
    case transaction(Transaction)
    case timer(TimerFire)
    case order(OrderCommand)
    /// The venue replaced its book of the event's instrument: every level goes; the level
    /// updates that follow with the same exchange time are the snapshot that replaces them.
    case clearBook

    /// The payload's kind.
    @inlinable
    public var kind: EventKind {
        switch self {
        case .levelUpdate: return .levelUpdate
        case .trade: return .trade
        case .quote: return .quote
        case .transaction: return .transaction
        case .timer: return .timer
        case .order: return .order
        case .clearBook: return .clearBook
        }
    }
}

/// One input event: a fixed-size trivial value (64 bytes, one cache line, checked in tests)
/// that lives inline in ring slots and is journaled as is. The instrument is stored after the
/// payload so that the largest payload (a 40-byte `OrderCommand`) still fits the line.
///
/// `timestamp` is the ingress time in engine nanoseconds (CLOCK_MONOTONIC timeline), which is
/// also how logic sees time. `exchangeTimestamp` is when the venue stamped the event, in
/// nanoseconds since the Unix epoch, as recorded (0 when the source has none: synthetic
/// events, commands).
@frozen
public struct Event: Hashable, Sendable, BitwiseCopyable {
    public var timestamp: UInt64
    public var exchangeTimestamp: UInt64
    public var payload: EventPayload
    public var instrument: InstrumentID

    @inlinable
    public init(timestamp: UInt64, exchangeTimestamp: UInt64 = 0, instrument: InstrumentID, payload: EventPayload) {
        self.timestamp = timestamp
        self.exchangeTimestamp = exchangeTimestamp
        self.instrument = instrument
        self.payload = payload
    }
}

extension TimerFire {
    /// `timerID` of a clock tick: time passes for the logic while no other
    /// event arrives. The source sends ticks when it is idle; they are journaled like any event.
    public static let tick: UInt64 = 0
    /// `timerID` of the end of a session: the last event a source sends, journaled, so that what a
    /// strategy does at the end of a session is an input too (issue 17: cancel open orders).
    public static let sessionEnd: UInt64 = 1
}
