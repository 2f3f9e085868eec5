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
    case recordChunk = 8
    case recordEnd = 9
    case chainHead = 10
    case admin = 11
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

/// 36 bytes of a record too large for one event (a pending transaction's bytes, a pool): a
/// record is its chunks in order, then the `RecordEnd` that says what they are, how many bytes
/// they hold and their checksum. A source writes a record's events in one claim, so they are
/// consecutive in the journal; the last chunk is padded with zeros. A chunk event's
/// instrument is its index in the record (0 starts one). 36 bytes, not 40: the
/// bytes after it are where `EventPayload` keeps its case in the spare bits of an
/// `OrderCommand`'s enums, so the event stays 60 bytes with no tag byte (a 40-byte chunk cost
/// the whole pipeline a fifth of its events per second, measured).
@frozen
public struct RecordChunk: Hashable, Sendable, BitwiseCopyable {
    /// Bytes in a chunk.
    public static let capacity = 36
    /// The 36 bytes, in order (in memory order: little-endian words).
    public var words: (UInt64, UInt64, UInt64, UInt64, UInt32)

    /// A chunk holding `bytes` (at most 36; the rest is zero).
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer) {
        words = (0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { storage in
            storage.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes.prefix(Self.capacity)))
        }
    }

    /// Calls `body` with the 36 bytes.
    @inlinable
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: words) { try body($0) }
    }

    @inlinable
    public static func == (left: RecordChunk, right: RecordChunk) -> Bool {
        left.words.0 == right.words.0 && left.words.1 == right.words.1 && left.words.2 == right.words.2
            && left.words.3 == right.words.3 && left.words.4 == right.words.4
    }

    public func hash(into hasher: inout Hasher) {
        withBytes { hasher.combine(bytes: $0) }
    }
}

/// What the chunks before a `RecordEnd` are.
@frozen
public enum RecordType: UInt8, Hashable, Sendable, CaseIterable, BitwiseCopyable {
    /// A pending transaction's signed bytes, as the network sent them (EIP-2718).
    case signedTransaction = 1
    /// A pending transaction rebuilt from a mined block's traces: its fields and calldata,
    /// without a signature (`TracedTransaction` in PeregrineMempool).
    case tracedTransaction = 2
    /// A constant-product pool and its reserves (`PoolRecord` in PeregrineMempool).
    case pool = 3
    /// An outside venue's execution report about one of the strategies' orders, as a gateway
    /// sent it back (`ExecutionReport`'s 64-byte wire form).
    case executionReport = 4
    /// An outside venue (re)started and asks the engine to reconcile: the record is its name
    /// (UTF-8; empty: every outside venue). The engine sends a status request for each open
    /// order it has there.
    case venueHello = 5
}

/// The end of a record: the `length` bytes of the chunks just before it (in
/// `ceil(length / 36)` chunks), whose CRC-32C is `checksum`.
@frozen
public struct RecordEnd: Hashable, Sendable, BitwiseCopyable {
    public var type: RecordType
    public var length: UInt32
    public var checksum: UInt32

    @inlinable public init(type: RecordType, length: UInt32, checksum: UInt32) {
        self.type = type
        self.length = length
        self.checksum = checksum
    }

    /// Chunks a record of `length` bytes takes.
    @inlinable public static func chunks(forLength length: Int) -> Int {
        (length + RecordChunk.capacity - 1) / RecordChunk.capacity
    }
}

/// A new chain head: the block that was mined last, and the base fee of the next one.
/// Pending transactions after it are analysed for the next block.
@frozen
public struct ChainHead: Hashable, Sendable, BitwiseCopyable {
    public var blockNumber: UInt64
    /// Base fee per gas of the next block, in wei.
    public var baseFeeWei: UInt64
    /// The least timestamp (Unix seconds) the next block can have: a swap whose deadline is
    /// before it reverts there (`EXPIRED`). 0: unknown (no deadline is checked).
    public var nextTimestamp: UInt64

    @inlinable public init(blockNumber: UInt64, baseFeeWei: UInt64, nextTimestamp: UInt64 = 0) {
        self.blockNumber = blockNumber
        self.baseFeeWei = baseFeeWei
        self.nextTimestamp = nextTimestamp
    }
}

/// What an operator asked the engine to do (`POST /kill`, `peregrine kill`): an input like any
/// other, journaled, so a replay or a recovery does it at the same point of the sequence.
@frozen
public enum AdminAction: UInt8, Hashable, Sendable, CaseIterable, BitwiseCopyable, CustomStringConvertible {
    /// Trip the kill switch: cancel every open order and refuse new ones until a reset.
    case kill = 1
    /// Reset the kill switch: orders are accepted again.
    case reset = 2

    public var description: String {
        switch self {
        case .kill: return "kill"
        case .reset: return "reset"
        }
    }
}

/// An operator's command and the number the control plane gave its request.
@frozen
public struct AdminCommand: Hashable, Sendable, BitwiseCopyable {
    public var action: AdminAction
    public var requestID: UInt64

    @inlinable public init(_ action: AdminAction, requestID: UInt64) {
        self.action = action
        self.requestID = requestID
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
    case recordChunk(RecordChunk)
    case recordEnd(RecordEnd)
    case chainHead(ChainHead)
    case admin(AdminCommand)

    /// The payload's kind. Always inlined: read once per event by the logic (out of line it
    /// was a call per event).
    @inlinable @inline(__always)
    public var kind: EventKind {
        switch self {
        case .levelUpdate: return .levelUpdate
        case .trade: return .trade
        case .quote: return .quote
        case .transaction: return .transaction
        case .timer: return .timer
        case .order: return .order
        case .clearBook: return .clearBook
        case .recordChunk: return .recordChunk
        case .recordEnd: return .recordEnd
        case .chainHead: return .chainHead
        case .admin: return .admin
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

extension Event {
    /// A clock tick at engine time `now` (`exchangeTimestamp`: the wall clock, or 0).
    @inlinable
    public static func clockTick(at now: UInt64, exchangeTimestamp: UInt64 = 0) -> Event {
        Event(
            timestamp: now, exchangeTimestamp: exchangeTimestamp, instrument: InstrumentID(0),
            payload: .timer(TimerFire(timerID: TimerFire.tick, deadline: now)))
    }
}
