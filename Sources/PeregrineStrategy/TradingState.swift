import PeregrineBook
import PeregrineCore
import PeregrineModel
import PeregrineRisk

/// Why the engine refused a strategy's command before it reached a venue (`submit` returns
/// nil, `cancel`/`replace` false; `StrategyContext.lastRefusal` says which).
@frozen
public enum OrderRefusal: UInt8, Hashable, Sendable, BitwiseCopyable, CaseIterable, CustomStringConvertible {
    case none = 0
    /// The instrument is not one of the strategy's.
    case notStrategyInstrument = 1
    /// Quantity not positive or below the instrument's minimum.
    case belowMinimumQuantity = 2
    /// Price × quantity below the instrument's minimum notional.
    case belowMinimumNotional = 3
    /// The strategy already sent `TradingState.maxCommandsPerEvent` commands for this event.
    case eventLimit = 4
    /// The engine's open-order table is full.
    case tooManyOpenOrders = 5
    /// A cancel or replace of an order that is not the strategy's open order, or that already
    /// has a cancel or replace in flight.
    case notCancellable = 6
    /// A limit, stop or replace price that is not positive.
    case invalidPrice = 7

    public var description: String {
        switch self {
        case .none: return "none"
        case .notStrategyInstrument: return "not-strategy-instrument"
        case .belowMinimumQuantity: return "below-minimum-quantity"
        case .belowMinimumNotional: return "below-minimum-notional"
        case .eventLimit: return "event-limit"
        case .tooManyOpenOrders: return "too-many-open-orders"
        case .notCancellable: return "not-cancellable"
        case .invalidPrice: return "invalid-price"
        }
    }
}

/// How one strategy sits in the engine: its id, account and instruments, and the order updates
/// it takes (set up once).
public struct StrategyLayout: Equatable, Sendable {
    public var id: StrategyID
    public var account: AccountID
    public var instruments: [InstrumentID]
    /// Its type's `Strategy.orderUpdates`: updates of its orders it has no callback for are not
    /// queued unless an output exports them.
    public var orderUpdates: OrderUpdateInterest
    public init(
        id: StrategyID, account: AccountID, instruments: [InstrumentID], orderUpdates: OrderUpdateInterest = .all
    ) {
        self.id = id
        self.account = account
        self.instruments = instruments
        self.orderUpdates = orderUpdates
    }

}

/// Counters of the order management, for reports and metrics.
public struct TradingCounters: Equatable, Sendable {
    /// New orders sent, cancels sent, replaces sent.
    public var submitted = 0
    public var cancelsSent = 0
    public var replacesSent = 0
    /// Commands refused before a venue, by reason (`OrderRefusal.rawValue` index).
    public var refused: [Int] = Array(repeating: 0, count: OrderRefusal.allCases.count)
    /// Orders that ended filled, cancelled, rejected.
    public var filled = 0
    public var cancelled = 0
    public var rejected = 0
    /// Fill reports applied.
    public var fills = 0
    /// Reports ignored: duplicates or out of order for the order's state, or for an order the
    /// engine does not hold (already final).
    public var duplicateReports = 0
    public var unknownReports = 0
    public var timersFired = 0
    /// Order updates that found the update queue full (never expected: it is sized for the
    /// worst case; a run with any is reported incomplete).
    public var lostUpdates = 0
    /// Every refusal, whatever the reason.
    public var totalRefused = 0
    /// Every risk reject, whatever the reason (`riskRejected` summed, kept as it grows).
    public var totalRiskRejected = 0
    /// New orders an outside venue did not answer within the acknowledgement timeout.
    public var ackTimeouts = 0
    /// Reconciliation with an outside venue: status requests sent, open orders the venue no
    /// longer held (closed as cancelled), and orders whose open quantity there differed.
    public var statusRequests = 0
    public var reconciledClosed = 0
    public var reconciliationMismatches = 0
    /// Orders and replaces the pre-trade risk refused (each answered with a reject update), by
    /// reason (index `reason.rawValue − 40`: `ExecutionReason.riskReasons` order).
    public var riskRejected: [Int] = Array(repeating: 0, count: ExecutionReason.riskReasons.count)
    public init() {}

    /// Risk rejects by reason, for reports (reasons with none left out).
    public var riskRejectsByReason: [(reason: ExecutionReason, count: Int)] {
        ExecutionReason.riskReasons.enumerated().compactMap { index, reason in
            riskRejected[index] > 0 ? (reason, riskRejected[index]) : nil
        }
    }

    /// Commands refused before a venue by reason, for reports (reasons with none left out).
    public var refusedByReason: [(reason: OrderRefusal, count: Int)] {
        OrderRefusal.allCases.compactMap { reason in
            let index = Int(reason.rawValue)
            guard reason != .none, index < refused.count, refused[index] > 0 else { return nil }
            return (reason, refused[index])
        }
    }
}

/// What a position's open orders add to it if they fill: lots per side, notional, count. Kept
/// for the pre-trade checks as orders open, fill, change and close (never recomputed per check).
/// A replace in flight counts at the larger of its old and new quantity and price.
@frozen
public struct OpenExposure: Hashable, Sendable, BitwiseCopyable {
    public var buyLots: Int64 = 0
    public var sellLots: Int64 = 0
    /// Σ 2 × price × open lots of orders with a price, ticks × lots.
    public var twicePricedNotional: Int128 = 0
    /// Open lots of market orders (valued at the mark).
    public var unpricedLots: Int64 = 0
    public var orders: Int32 = 0

    @inlinable public init() {}

    /// What `order` adds while it is open (nothing once it is final).
    @inlinable @inline(__always)
    public init(_ order: OwnOrder) {
        guard order.state.isOpen else { return }
        var lots = order.leaves.lots
        var price =
            order.type == .market ? 0 : order.type == .stopMarket ? order.stopPrice.ticks : order.price.ticks
        if order.state == .pendingReplace {
            lots = Swift.max(lots, order.pendingQuantity.lots &- order.filled.lots)
            price = Swift.max(price, order.pendingPrice.ticks)
        }
        if order.side == .buy { buyLots = lots } else { sellLots = lots }
        if price > 0 { twicePricedNotional = Int128(price) &* 2 &* Int128(lots) } else { unpricedLots = lots }
        orders = 1
    }

    /// Moves from what `before` added to what `after` adds.
    @inlinable @inline(__always)
    mutating func replace(_ before: OpenExposure, with after: OpenExposure) {
        buyLots &+= after.buyLots &- before.buyLots
        sellLots &+= after.sellLots &- before.sellLots
        twicePricedNotional &+= after.twicePricedNotional &- before.twicePricedNotional
        unpricedLots &+= after.unpricedLots &- before.unpricedLots
        orders &+= after.orders &- before.orders
    }
}

/// Everything the engine keeps about its strategies' trading, on the logic thread: their
/// open orders (the order state machine), positions and P&L per strategy and instrument,
/// timers, the commands they sent during the current callback, and the order updates waiting
/// to be delivered to them.
///
/// Every table is allocated once in `init` (sizes from the settings); nothing allocates
/// per event. Single-threaded. Deterministic: iteration is in submission order.
public struct TradingState: ~Copyable {
    // MARK: Strategies and their instruments

    @usableFromInline struct Slot: BitwiseCopyable {
        @usableFromInline var id: StrategyID
        @usableFromInline var account: AccountID
        @usableFromInline var firstInstrument: Int32
        @usableFromInline var instrumentCount: Int32
        @usableFromInline var nextSequence: UInt64
        /// Commands left for the current event (reset when `eventNumber` moves on).
        @usableFromInline var commandsLeft: Int32
        @usableFromInline var budgetEvent: UInt64
        @usableFromInline var openCount: Int32
    }

    @usableFromInline let slots: UnsafeMutablePointer<Slot>
    public let strategyCount: Int
    /// Every strategy's instruments, one after another; a position per entry.
    @usableFromInline let instruments: UnsafeMutablePointer<InstrumentID>
    @usableFromInline let positions: UnsafeMutablePointer<Position>
    public let positionCount: Int
    /// Each position's open orders, oldest first (order table slots, -1 for none).
    @usableFromInline let listHead: UnsafeMutablePointer<Int32>
    @usableFromInline let listTail: UnsafeMutablePointer<Int32>
    /// Strategies subscribed to each instrument: `subscribed[first[i] ..< first[i+1]]`.
    @usableFromInline let subscriberStart: UnsafeMutablePointer<Int32>
    @usableFromInline let subscribers: UnsafeMutablePointer<Int32>
    @usableFromInline let instrumentLimit: Int
    @usableFromInline let rules: UnsafeMutablePointer<InstrumentRules>

    // MARK: Orders

    @usableFromInline let orders: UnsafeMutablePointer<OwnOrder>
    @usableFromInline let nextInList: UnsafeMutablePointer<Int32>
    @usableFromInline let previousInList: UnsafeMutablePointer<Int32>
    @usableFromInline var freeHead: Int32
    @usableFromInline var orderIndex: OrderIDMap
    public let orderCapacity: Int
    @usableFromInline var openOrderCount = 0

    // MARK: Commands and updates in flight

    @usableFromInline struct PendingCommand: BitwiseCopyable {
        @usableFromInline var command: OrderCommand
        @usableFromInline var instrument: InstrumentID
        @inlinable init(command: OrderCommand, instrument: InstrumentID) {
            self.command = command
            self.instrument = instrument
        }
    }
    @usableFromInline let pending: UnsafeMutablePointer<PendingCommand>
    @usableFromInline var pendingHead = 0
    @usableFromInline var pendingCount = 0
    /// Commands one round of routing holds (a strategy's callbacks, or the session end's cancels).
    public static var pendingCapacity: Int { 1_024 }

    @usableFromInline let updates: UnsafeMutablePointer<OrderUpdate>
    @usableFromInline let updateCapacity: Int
    @usableFromInline var updateHead = 0
    @usableFromInline var updateCount = 0
    /// Per position: the order updates its strategy takes (`StrategyLayout.orderUpdates`).
    @usableFromInline let updateInterest: UnsafeMutablePointer<OrderUpdateInterest>

    // MARK: Timers

    @usableFromInline struct TimerEntry: BitwiseCopyable {
        @usableFromInline var deadline: UInt64
        @usableFromInline var id: UInt64
        @usableFromInline var tag: UInt64
        @usableFromInline var slot: Int32
        @inlinable init(deadline: UInt64, id: UInt64, tag: UInt64, slot: Int32) {
            self.deadline = deadline
            self.id = id
            self.tag = tag
            self.slot = slot
        }
        /// Earlier deadline first; equal deadlines in the order they were scheduled.
        @inlinable func isBefore(_ other: TimerEntry) -> Bool {
            deadline != other.deadline ? deadline < other.deadline : id < other.id
        }
    }
    @usableFromInline let timers: UnsafeMutablePointer<TimerEntry>
    public let timerCapacity: Int
    @usableFromInline var timerCount = 0
    @usableFromInline var nextTimerID: UInt64 = 1
    @usableFromInline var timersEvent: UInt64 = .max
    @usableFromInline var timersFiredThisEvent = 0

    // MARK: Risk

    /// Per position: the strategy's limits there, whether any is on, and its open orders' exposure.
    @usableFromInline let limits: UnsafeMutablePointer<InstrumentLimits>
    @usableFromInline let limited: UnsafeMutablePointer<Bool>
    @usableFromInline let exposures: UnsafeMutablePointer<OpenExposure>
    /// Per position: its quote currency (index) and currency units per unit of its money.
    @usableFromInline let positionCurrency: UnsafeMutablePointer<Int32>
    @usableFromInline let positionFactor: UnsafeMutablePointer<Int128>
    /// Per position: currency units per *two* ticks × lots (`factor × 10^8 ÷ 2`), saturated.
    @usableFromInline let twiceTickLotFactor: UnsafeMutablePointer<Int128>
    /// Per strategy: its order-rate throttle.
    @usableFromInline let throttles: UnsafeMutablePointer<TokenBucket>
    /// Per strategy and currency: limits (`RiskLimits.off`: none), the day's starting P&L.
    @usableFromInline let currencyCount: Int
    @usableFromInline let exposureLimits: UnsafeMutablePointer<Int128>
    @usableFromInline let lossLimits: UnsafeMutablePointer<Int128>
    @usableFromInline let dayBaselines: UnsafeMutablePointer<Int128>
    /// Per strategy: its P&L changed since its loss was last checked.
    @usableFromInline let lossDirty: UnsafeMutablePointer<Bool>
    /// Per instrument: twice the last mid in ticks (0: none yet).
    @usableFromInline let marks: UnsafeMutablePointer<Int64>
    /// Whether any check needs marks, whether any strategy has a loss limit, an exposure limit.
    public let needsMarks: Bool
    public let hasLossLimits: Bool
    @usableFromInline let hasExposureLimits: Bool
    /// The currencies (for reports) and the decimals of their units.
    public let currencies: [String]
    public let currencyDecimals: [Int]
    @usableFromInline var _killSwitch = KillSwitch()
    public var killSwitch: KillSwitch { _killSwitch }
    /// UTC from the events: the last exchange time seen and the event time it came at.
    @usableFromInline var utcAnchor: UInt64 = 0
    @usableFromInline var utcAnchorTime: UInt64 = 0
    /// The UTC day (days since 1970-01-01) the loss limits count from (-1: none yet).
    @usableFromInline var tradingDay: Int64 = -1

    // MARK: Orders waiting for an outside venue's answer

    /// New orders sent to outside venues, oldest first: the event time by which the venue must
    /// have answered and the order's id (a ring of `orderCapacity`: deadlines only grow).
    @usableFromInline let ackDeadlines: UnsafeMutablePointer<(deadline: UInt64, id: UInt64)>
    @usableFromInline var ackHead = 0
    @usableFromInline var ackCount = 0

    // MARK: Time and counters

    /// Event time of the event being handled, engine ns.
    @usableFromInline var _time: UInt64 = 0
    public var time: UInt64 { _time }
    @usableFromInline var eventNumber: UInt64 = 0
    /// Whether the strategies have been started (and not stopped since).
    @usableFromInline var _started = false
    public var started: Bool { _started }
    @usableFromInline var _counters = TradingCounters()
    public var counters: TradingCounters { _counters }
    @usableFromInline var _revision: UInt64 = 0
    /// The reason of the last command the risk checks refused (read right after: not state).
    @usableFromInline var lastRiskRejection = ExecutionReason.none
    /// A number that moves whenever an open order or a position changes: a report applied (or
    /// found its order), an order, cancel or replace sent, an order timed out, a restore. Two
    /// equal readings mean no order and no position changed in between, so a strategy may skip
    /// work that depends on nothing else. O(1).
    @inlinable public var revision: UInt64 { _revision }
    @usableFromInline var _acknowledgements: UInt64 = 0
    /// How many reports applied so far only acknowledged a command as sent: a new order
    /// accepted from `pendingNew` (not while a cancel or replace is in flight), a replace done at
    /// the price and quantity asked; not one the kill switch answered with a cancel. Each moved
    /// `revision` by one, so when `revision` moved by exactly as much as this since two readings,
    /// every change in between was such an acknowledgement (of any strategy's command). O(1).
    @inlinable public var acknowledgements: UInt64 { _acknowledgements }

    /// The most commands (new, cancel, replace) one strategy may send while handling one event:
    /// a guard against a runaway loop, not a risk limit.
    public static let maxCommandsPerEvent: Int32 = 64

    /// - Parameters:
    ///   - strategies: each strategy's id, account and instruments, in slot order.
    ///   - rules: each instrument's rules, indexed by instrument id (missing ones: `.free`).
    ///   - orderCapacity: the most open orders of all strategies together.
    ///   - venueOrderCapacity: the most orders one venue book holds (bounds how many fills one
    ///     command can make, so the update queue never overflows).
    ///   - risk: the resolved risk limits, laid out like `strategies` (nil: none; the kill
    ///     switch works either way).
    public init(
        strategies: [StrategyLayout], rules: [InstrumentRules], orderCapacity: Int, timerCapacity: Int,
        venueOrderCapacity: Int, risk: RiskLimits? = nil
    ) {
        strategyCount = strategies.count
        slots = .allocate(capacity: Swift.max(strategies.count, 1))
        let flat = strategies.flatMap(\.instruments)
        positionCount = flat.count
        instruments = .allocate(capacity: Swift.max(flat.count, 1))
        instruments.initialize(from: flat, count: flat.count)
        positions = .allocate(capacity: Swift.max(flat.count, 1))
        positions.initialize(repeating: Position(), count: flat.count)
        listHead = .allocate(capacity: Swift.max(flat.count, 1))
        listHead.initialize(repeating: -1, count: Swift.max(flat.count, 1))
        listTail = .allocate(capacity: Swift.max(flat.count, 1))
        listTail.initialize(repeating: -1, count: Swift.max(flat.count, 1))
        updateInterest = .allocate(capacity: Swift.max(flat.count, 1))
        updateInterest.initialize(
            from: strategies.flatMap { layout in layout.instruments.map { _ in layout.orderUpdates } },
            count: flat.count)
        var first: Int32 = 0
        for (index, layout) in strategies.enumerated() {
            (slots + index).initialize(
                to: Slot(
                    id: layout.id, account: layout.account, firstInstrument: first,
                    instrumentCount: Int32(layout.instruments.count), nextSequence: 1, commandsLeft: 0,
                    budgetEvent: .max, openCount: 0))
            first += Int32(layout.instruments.count)
        }
        let limit = Swift.max(Int(flat.map(\.rawValue).max() ?? 0) + 1, rules.count)
        instrumentLimit = limit
        self.rules = .allocate(capacity: limit)
        self.rules.initialize(repeating: .free, count: limit)
        for (index, rule) in rules.enumerated() { self.rules[index] = rule }
        // Subscribers per instrument, in slot order.
        subscriberStart = .allocate(capacity: limit + 1)
        var lists = Array(repeating: [Int32](), count: limit)
        for (index, layout) in strategies.enumerated() {
            for instrument in Set(layout.instruments).sorted() { lists[Int(instrument.rawValue)].append(Int32(index)) }
        }
        let total = lists.reduce(0) { $0 + $1.count }
        subscribers = .allocate(capacity: Swift.max(total, 1))
        var offset: Int32 = 0
        for (index, list) in lists.enumerated() {
            subscriberStart[index] = offset
            for slot in list {
                subscribers[Int(offset)] = slot
                offset += 1
            }
        }
        subscriberStart[limit] = offset

        self.orderCapacity = Swift.max(orderCapacity, 1)
        orders = .allocate(capacity: self.orderCapacity)
        orders.initialize(
            repeating: OwnOrder(
                id: OrderID(0), instrument: InstrumentID(0), strategy: StrategyID(0),
                command: .cancel(OrderID(0), account: AccountID(0)), submittedAt: 0, positionIndex: -1),
            count: self.orderCapacity)
        nextInList = .allocate(capacity: self.orderCapacity)
        previousInList = .allocate(capacity: self.orderCapacity)
        for index in 0..<self.orderCapacity {
            nextInList[index] = index + 1 < self.orderCapacity ? Int32(index + 1) : -1
            previousInList[index] = -1
        }
        freeHead = 0
        orderIndex = OrderIDMap(minimumCapacity: self.orderCapacity)
        pending = .allocate(capacity: Self.pendingCapacity)
        // One command's reports for the strategies' orders: each open order can be filled and
        // cancelled, and an aggressive order can take every order resting in a venue book; and
        // a callback's risk rejects, two a command at most (`submitBoth`'s refused pairs).
        updateCapacity =
            strategies.isEmpty ? 1 : 2 * self.orderCapacity + venueOrderCapacity + 2 * Int(Self.maxCommandsPerEvent)
        updates = .allocate(capacity: updateCapacity)
        self.timerCapacity = Swift.max(timerCapacity, 1)
        timers = .allocate(capacity: self.timerCapacity)
        timers.initialize(repeating: TimerEntry(deadline: 0, id: 0, tag: 0, slot: 0), count: self.timerCapacity)

        let risk =
            risk
            ?? RiskLimits.unlimited(strategies: strategies.map { (id: $0.id.rawValue, instruments: $0.instruments) })
        let positionSlots = Swift.max(flat.count, 1)
        limits = .allocate(capacity: positionSlots)
        limits.initialize(repeating: .none, count: positionSlots)
        limited = .allocate(capacity: positionSlots)
        limited.initialize(repeating: false, count: positionSlots)
        exposures = .allocate(capacity: positionSlots)
        exposures.initialize(repeating: OpenExposure(), count: positionSlots)
        positionCurrency = .allocate(capacity: positionSlots)
        positionCurrency.initialize(repeating: 0, count: positionSlots)
        positionFactor = .allocate(capacity: positionSlots)
        positionFactor.initialize(repeating: 0, count: positionSlots)
        twiceTickLotFactor = .allocate(capacity: positionSlots)
        twiceTickLotFactor.initialize(repeating: 0, count: positionSlots)
        for index in 0..<Swift.min(flat.count, risk.instrumentLimits.count) {
            limits[index] = risk.instrumentLimits[index]
            limited[index] = risk.instrumentLimits[index].isActive
            positionCurrency[index] = risk.positionCurrency[index]
            positionFactor[index] = risk.positionFactor[index]
            let (twice, overflow) = risk.positionFactor[index].multipliedReportingOverflow(
                by: Money.unitsPerTickLot / 2)
            twiceTickLotFactor[index] = overflow ? .max : twice
        }
        throttles = .allocate(capacity: Swift.max(strategies.count, 1))
        throttles.initialize(repeating: .unlimited, count: Swift.max(strategies.count, 1))
        for (index, throttle) in risk.throttles.prefix(strategies.count).enumerated() { throttles[index] = throttle }
        currencyCount = risk.currencies.count
        currencies = risk.currencies
        currencyDecimals = risk.currencyDecimals
        let cells = Swift.max(strategies.count * risk.currencies.count, 1)
        exposureLimits = .allocate(capacity: cells)
        exposureLimits.initialize(repeating: RiskLimits.off, count: cells)
        lossLimits = .allocate(capacity: cells)
        lossLimits.initialize(repeating: RiskLimits.off, count: cells)
        for index in 0..<Swift.min(risk.exposureLimits.count, cells) {
            exposureLimits[index] = risk.exposureLimits[index]
            lossLimits[index] = risk.lossLimits[index]
        }
        dayBaselines = .allocate(capacity: cells)
        dayBaselines.initialize(repeating: 0, count: cells)
        lossDirty = .allocate(capacity: Swift.max(strategies.count, 1))
        lossDirty.initialize(repeating: false, count: Swift.max(strategies.count, 1))
        ackDeadlines = .allocate(capacity: self.orderCapacity)
        ackDeadlines.initialize(repeating: (0, 0), count: self.orderCapacity)
        marks = .allocate(capacity: limit)
        marks.initialize(repeating: 0, count: limit)
        needsMarks = risk.needsMarks
        hasLossLimits = risk.hasLossLimits
        hasExposureLimits = risk.exposureLimits.contains { $0 != RiskLimits.off }
    }

    deinit {
        slots.deallocate()
        instruments.deallocate()
        positions.deallocate()
        listHead.deallocate()
        listTail.deallocate()
        updateInterest.deallocate()
        subscriberStart.deallocate()
        subscribers.deallocate()
        rules.deallocate()
        orders.deallocate()
        nextInList.deallocate()
        previousInList.deallocate()
        pending.deallocate()
        updates.deallocate()
        timers.deallocate()
        limits.deallocate()
        limited.deallocate()
        exposures.deallocate()
        positionCurrency.deallocate()
        positionFactor.deallocate()
        twiceTickLotFactor.deallocate()
        throttles.deallocate()
        exposureLimits.deallocate()
        lossLimits.deallocate()
        dayBaselines.deallocate()
        lossDirty.deallocate()
        marks.deallocate()
        ackDeadlines.deallocate()
    }

    // MARK: Engine side

    /// Starts an event at `time` (`exchangeTime`: its UTC stamp, 0 when it has none): every
    /// strategy gets its command budget back; with loss limits, a new UTC day starts their count.
    @inlinable
    public mutating func beginEvent(time: UInt64, exchangeTime: UInt64 = 0) {
        _time = time
        eventNumber &+= 1
        if hasLossLimits { advanceDay(exchangeTime: exchangeTime) }
    }

    /// Marks the strategies started or stopped.
    public mutating func setStarted(_ started: Bool) { _started = started }

    /// The slots of the strategies trading `instrument`, in slot order.
    @inlinable
    public func subscribers(of instrument: InstrumentID) -> Range<Int> {
        let raw = Int(instrument.rawValue)
        guard raw < instrumentLimit else { return 0..<0 }
        return Int(subscriberStart[raw])..<Int(subscriberStart[raw &+ 1])
    }

    /// The slot at `index` of a `subscribers(of:)` range.
    @inlinable
    public func subscriber(at index: Int) -> Int { Int(subscribers[index]) }

    /// The next command a strategy sent, oldest first.
    @inlinable
    public mutating func nextCommand() -> (command: OrderCommand, instrument: InstrumentID)? {
        guard pendingCount > 0 else { return nil }
        let entry = pending[pendingHead]
        pendingCount &-= 1
        // An emptied queue starts again at its first slot: the few slots in use stay in the
        // cache rather than the whole ring going through it.
        pendingHead = pendingCount == 0 ? 0 : (pendingHead &+ 1) & (Self.pendingCapacity &- 1)
        return (entry.command, entry.instrument)
    }

    /// Whether an order update waits to be delivered.
    @inlinable public var hasUpdates: Bool { updateCount > 0 }

    /// Whether a command a strategy sent waits to be routed.
    @inlinable public var hasCommands: Bool { pendingCount > 0 }

    /// The next order update to deliver, oldest first.
    @inlinable
    public mutating func nextUpdate() -> OrderUpdate? {
        guard updateCount > 0 else { return nil }
        let update = updates[updateHead]
        updateCount &-= 1
        // An emptied queue starts again at its first slot (the queue empties after every event):
        // the slots in use stay in the cache, where going round the whole ring (about 15 MB with the
        // default capacities) touched memory no event had used yet, a page fault each 4 KB.
        updateHead &+= 1
        if updateHead == updateCapacity || updateCount == 0 { updateHead = 0 }
        return update
    }

    /// The slot of the strategy with id `id`.
    @inlinable
    public func slot(of id: StrategyID) -> Int? {
        for index in 0..<strategyCount where slots[index].id == id { return index }
        return nil
    }

    /// The most timers that fire in one event: a timer that re-arms itself at or before the
    /// event's time fires again at the next event, so a loop of them cannot hang the logic.
    public static let maxTimersPerEvent = 1_024

    /// The next timer due at `time` or before (at most `maxTimersPerEvent` per event), removed
    /// from the schedule, with its strategy's slot.
    @inlinable
    public mutating func nextDueTimer() -> (slot: Int, timer: TimerFired)? {
        if timersEvent != eventNumber {
            timersEvent = eventNumber
            timersFiredThisEvent = 0
        }
        guard timerCount > 0, timers[0].deadline <= _time, timersFiredThisEvent < Self.maxTimersPerEvent else {
            return nil
        }
        timersFiredThisEvent &+= 1
        let entry = timers[0]
        removeTimer(at: 0)
        _counters.timersFired &+= 1
        return (Int(entry.slot), TimerFired(id: entry.id, tag: entry.tag, deadline: entry.deadline))
    }

    /// The earliest timer deadline (engine ns), nil when no timer is set.
    @inlinable
    public var nextTimerDeadline: UInt64? { timerCount > 0 ? timers[0].deadline : nil }

    /// Applies a venue's report about a strategy's order: the state machine, fill accounting
    /// and the position; queues the update for the strategy when it takes that kind of update
    /// (`Strategy.orderUpdates`) or `exporting` includes it (what the outputs export). A report
    /// that does not fit the order's state (a duplicate, one out of order) or names an order the
    /// engine no longer holds is counted and ignored. With `refusingOtherInstrument`, a report
    /// that names another instrument than its open order's is not applied and the answer is
    /// false (the caller counts it as malformed); otherwise true.
    @inlinable
    @discardableResult
    public mutating func apply(
        _ report: ExecutionReport, refusingOtherInstrument: Bool = false, exporting: OrderUpdateInterest = .all
    ) -> Bool {
        let found = orderIndex.find(report.orderID.rawValue)
        guard found >= 0 else {
            _counters.unknownReports &+= 1
            return true
        }
        let index = Int(found)
        _revision &+= 1
        // The order is changed where it lies (copying it in and out cost more than the rest).
        let order = orders + index
        if refusingOtherInstrument, order.pointee.instrument != report.instrument { return false }
        let before = OpenExposure(order.pointee)
        let previousState = order.pointee.state
        var fee = Money.zero
        /// A cancel the kill switch sent (it marked the order), answered: the switch's.
        var bySwitch = false
        /// The report only acknowledges the command in flight, as sent (`acknowledgements`).
        var acknowledges = false
        switch report.kind {
        case .accepted:
            guard order.pointee.state.isOpen, !order.pointee.acknowledged else { return ignore() }
            order.pointee.acknowledged = true
            // A cancel or replace sent before the acceptance stays in flight.
            if order.pointee.state == .pendingNew {
                order.pointee.state = .accepted
                acknowledges = true
            }
        case .rejected:
            guard order.pointee.state.isOpen else { return ignore() }
            if !order.pointee.acknowledged {
                // The new order itself was refused (whatever was sent after it).
                order.pointee.state = .rejected
                order.pointee.leaves = .zero
            } else if order.pointee.state == .pendingCancel || order.pointee.state == .pendingReplace {
                order.pointee.state = order.pointee.workingState
            } else {
                return ignore()
            }
            order.pointee.reason = report.reason
        case .partiallyFilled, .filled:
            guard order.pointee.state.isOpen, report.tradeID > order.pointee.lastTradeID || report.tradeID == 0,
                report.quantity.lots > 0,
                report.quantity.lots <= order.pointee.leaves.lots
            else { return ignore() }
            order.pointee.acknowledged = true
            let instrument = Int(order.pointee.instrument.rawValue)
            let rule = rules[instrument < instrumentLimit ? instrument : 0]
            fee = (report.isAggressor ? rule.takerFee : rule.makerFee).fee(
                price: report.price, quantity: report.quantity)
            if report.tradeID != 0 { order.pointee.lastTradeID = report.tradeID }
            order.pointee.filled.lots &+= report.quantity.lots
            order.pointee.leaves = report.leavesQuantity
            order.pointee.fillCost &+= Int128(report.price.ticks) &* Int128(report.quantity.lots)
            order.pointee.fees += fee
            if report.kind == .filled || report.leavesQuantity.lots == 0 {
                order.pointee.state = .filled
            } else if order.pointee.state != .pendingCancel && order.pointee.state != .pendingReplace {
                order.pointee.state = .partiallyFilled
            }
            positions[Int(order.pointee.positionIndex)].apply(
                side: order.pointee.side, price: report.price, quantity: report.quantity, fee: fee)
            _counters.fills &+= 1
            if hasLossLimits, let slot = slot(of: order.pointee.strategy) { lossDirty[slot] = true }
        case .cancelled:
            guard order.pointee.state.isOpen else { return ignore() }
            order.pointee.state = .cancelled
            // The venue cancelled it as asked; the kill switch asked, not the strategy.
            bySwitch = order.pointee.reason == .killSwitch && report.reason == .requested
            if !bySwitch { order.pointee.reason = report.reason }
            order.pointee.leaves = .zero
        case .replaced:
            guard order.pointee.state.isOpen, order.pointee.acknowledged else { return ignore() }
            acknowledges =
                order.pointee.state == .pendingReplace && report.price == order.pointee.pendingPrice
                && report.quantity == order.pointee.pendingQuantity
            order.pointee.price = report.price
            order.pointee.quantity = report.quantity
            order.pointee.leaves = report.leavesQuantity
            order.pointee.state = order.pointee.workingState
        case .triggered:
            guard order.pointee.state.isOpen else { return ignore() }
        case .status:
            guard order.pointee.state.isOpen else { return ignore() }
            if report.reason == .unknownOrderID {
                // The venue holds no such order (lost on the way, or gone while we could not
                // hear): it is closed here too.
                order.pointee.state = .cancelled
                order.pointee.reason = .unknownOrderID
                order.pointee.leaves = .zero
                _counters.reconciledClosed &+= 1
            } else if order.pointee.state == .pendingReplace || order.pointee.state == .pendingCancel {
                // The venue answers in the order it was sent: a replace or cancel it had taken
                // would have been answered before this status. It was lost (the venue was
                // down): the order works as it was (a tripped kill switch cancels it again,
                // below; its strategy may too).
                order.pointee.acknowledged = true
                order.pointee.state = order.pointee.workingState
                if order.pointee.reason == .killSwitch { order.pointee.reason = .none }
            } else if report.leavesQuantity != order.pointee.leaves {
                // It filled (or changed) where we could not hear: the fills are unknown, so the
                // order is left as it is and counted.
                _counters.reconciliationMismatches &+= 1
                return true
            } else {
                order.pointee.acknowledged = true
                if order.pointee.state == .pendingNew { order.pointee.state = .accepted }
            }
        }
        // Killed: an order that became working only now (a new order a venue accepted late,
        // a replace it answered) is cancelled like the others were when the switch tripped.
        // (A refused cancel is not sent again: a venue that keeps refusing it would loop.)
        if _killSwitch.isTripped, order.pointee.canRest,
            order.pointee.state == .accepted || order.pointee.state == .partiallyFilled,
            report.kind == .accepted || report.kind == .replaced || report.kind == .status
                || (report.kind == .rejected && previousState == .pendingReplace),
            pendingCount < Self.pendingCapacity, let slot = slot(of: order.pointee.strategy)
        {
            order.pointee.state = .pendingCancel
            order.pointee.reason = .killSwitch
            push(.cancel(order.pointee.id, account: slots[slot].account), instrument: order.pointee.instrument)
            _counters.cancelsSent &+= 1
            acknowledges = false
        }
        if acknowledges { _acknowledgements &+= 1 }
        let position = Int(order.pointee.positionIndex)
        exposures[position].replace(before, with: OpenExposure(order.pointee))
        let open = order.pointee.state.isOpen
        if !open { finish(index) }
        if updateInterest[position].union(exporting).wants(OrderUpdateInterest(report.kind, open: open)) {
            enqueue(order.pointee, report, fee: fee, reason: bySwitch ? .killSwitch : nil)
        }
        return true
    }

    /// Counts a report that does not fit its order's state (applied, in `apply`'s terms).
    @inlinable
    mutating func ignore() -> Bool {
        _counters.duplicateReports &+= 1
        return true
    }

    /// Queues the update of `order` (as it is now) by `report` (with `reason` for its reason,
    /// when given), written field by field into its queue slot (building the update first
    /// copied the order once more).
    @inlinable @inline(__always)
    mutating func enqueue(_ order: OwnOrder, _ report: ExecutionReport, fee: Money, reason: ExecutionReason? = nil) {
        guard updateCount < updateCapacity else {
            _counters.lostUpdates &+= 1
            return
        }
        var tail = updateHead &+ updateCount
        if tail >= updateCapacity { tail &-= updateCapacity }
        updates[tail].order = order
        updates[tail].report = report
        if let reason { updates[tail].report.reason = reason }
        updates[tail].fee = fee
        updateCount &+= 1
    }

    /// Takes a final order out of the table and its strategy's list.
    @inlinable
    mutating func finish(_ index: Int) {
        // Read where it lies (a copy of the order just written would wait for those writes).
        let order = orders + index
        switch order.pointee.state {
        case .filled: _counters.filled &+= 1
        case .cancelled: _counters.cancelled &+= 1
        default: _counters.rejected &+= 1
        }
        release(index, slot: self.slot(of: order.pointee.strategy) ?? 0)
    }

    /// Takes the order at table index `index` (of the strategy in `slot`) out of the id map,
    /// its position's list and the open counts, and frees its entry.
    @inlinable
    mutating func release(_ index: Int, slot: Int) {
        let order = orders + index
        orderIndex.remove(order.pointee.id.rawValue)
        let list = Int(order.pointee.positionIndex)
        let previous = previousInList[index]
        let next = nextInList[index]
        if previous >= 0 { nextInList[Int(previous)] = next } else { listHead[list] = next }
        if next >= 0 { previousInList[Int(next)] = previous } else { listTail[list] = previous }
        slots[slot].openCount &-= 1
        openOrderCount &-= 1
        nextInList[index] = freeHead
        previousInList[index] = -1
        freeHead = Int32(index)
    }

    // MARK: Strategy side (through `StrategyContext`)

    /// The position index of `instrument` for the strategy in `slot`, or -1.
    @inlinable @inline(__always)
    func positionIndex(slot: Int, instrument: InstrumentID) -> Int32 {
        let entry = slots[slot]
        var index = entry.firstInstrument
        let end = entry.firstInstrument &+ entry.instrumentCount
        while index < end {
            if instruments[Int(index)] == instrument { return index }
            index &+= 1
        }
        return -1
    }

    @inlinable
    mutating func takeBudget(slot: Int) -> Bool {
        if slots[slot].budgetEvent != eventNumber {
            slots[slot].budgetEvent = eventNumber
            slots[slot].commandsLeft = Self.maxCommandsPerEvent
        }
        guard slots[slot].commandsLeft > 0, pendingCount < Self.pendingCapacity else { return false }
        slots[slot].commandsLeft &-= 1
        return true
    }

    @inlinable
    mutating func push(_ command: OrderCommand, instrument: InstrumentID) {
        var tail = pendingHead &+ pendingCount
        tail &= Self.pendingCapacity &- 1
        pending[tail] = PendingCommand(command: command, instrument: instrument)
        pendingCount &+= 1
    }

    @inlinable
    mutating func refuse(_ refusal: OrderRefusal) -> OrderRefusal {
        _counters.refused[Int(refusal.rawValue)] &+= 1
        _counters.totalRefused &+= 1
        return refusal
    }

    /// Commands refused before a venue (read without copying the counters): those refused
    /// outright (`OrderRefusal`) and those the risk checks rejected.
    @inlinable public var refusedCommands: Int { _counters.totalRefused &+ _counters.totalRiskRejected }

    /// Records a new order for the strategy in `slot` and queues it for its venue; returns its
    /// id, or the refusal.
    @inlinable
    mutating func submit(_ request: OrderCommand, instrument: InstrumentID, slot: Int) -> Result<
        OrderID, OrderRefusalError
    > {
        let position = positionIndex(slot: slot, instrument: instrument)
        guard position >= 0 else { return .failure(OrderRefusalError(refuse(.notStrategyInstrument))) }
        let raw = Int(instrument.rawValue)
        let rule = raw < instrumentLimit ? rules[raw] : .free
        guard request.quantity.lots > 0, request.quantity.lots >= rule.minimumQuantity.lots else {
            return .failure(OrderRefusalError(refuse(.belowMinimumQuantity)))
        }
        if request.type != .market {
            let price = request.type == .stopMarket ? request.stopPrice : request.price
            guard price.ticks > 0, request.type != .stopLimit || request.stopPrice.ticks > 0 else {
                return .failure(OrderRefusalError(refuse(.invalidPrice)))
            }
            if rule.minimumNotional.units > 0,
                Money(tickLots: Int128(price.ticks) &* Int128(request.quantity.lots)) < rule.minimumNotional
            {
                return .failure(OrderRefusalError(refuse(.belowMinimumNotional)))
            }
        }
        guard freeHead >= 0 else { return .failure(OrderRefusalError(refuse(.tooManyOpenOrders))) }
        guard takeBudget(slot: slot) else { return .failure(OrderRefusalError(refuse(.eventLimit))) }
        let strategy = slots[slot].id
        let id = OrderID.strategyOrder(strategy, sequence: slots[slot].nextSequence)
        slots[slot].nextSequence &+= 1
        var command = request
        command.action = .new
        command.orderID = id
        command.account = slots[slot].account
        let risk = riskCheck(
            command, priceTicks: Self.checkedPrice(command), totalLots: command.quantity.lots,
            addedLots: command.quantity.lots, isNew: true, instrument: instrument, position: Int(position), slot: slot)
        if risk != .none {
            refuseByRisk(
                OwnOrder(
                    id: id, instrument: instrument, strategy: strategy, command: command, submittedAt: _time,
                    positionIndex: position),
                report: .rejection(of: command, instrument: instrument, reason: risk), newOrder: true)
            return .success(id)
        }
        let index = Int(freeHead)
        freeHead = nextInList[index]
        orders[index] = OwnOrder(
            id: id, instrument: instrument, strategy: strategy, command: command, submittedAt: _time,
            positionIndex: position)
        link(index, list: Int(position))
        exposures[Int(position)].replace(OpenExposure(), with: OpenExposure(orders[index]))
        slots[slot].openCount &+= 1
        openOrderCount &+= 1
        orderIndex.insert(id.rawValue, slot: Int32(index))
        push(command, instrument: instrument)
        _counters.submitted &+= 1
        _revision &+= 1
        return .success(id)
    }

    /// Records two new orders for the strategy in `slot` as one: both are queued for their
    /// venues, or neither is. When the second is refused, the first (queued last, so not sent
    /// yet) is withdrawn as if never submitted: its throttle token and command are given back,
    /// and the revision is as before. Returns true when both were queued; false when a risk
    /// rule refused one: the first (answered with a reject update; the second is not tried),
    /// or the second (both answered with a reject update of its reason; one risk reject
    /// counted); the refusal when one was refused outright (nothing queued, no update).
    @inlinable
    mutating func submitBoth(
        _ first: OrderCommand, instrument firstInstrument: InstrumentID, _ second: OrderCommand,
        instrument secondInstrument: InstrumentID, slot: Int
    ) -> Result<Bool, OrderRefusalError> {
        let throttle = throttles[slot]
        let revision = _revision
        let firstID: OrderID
        switch submit(first, instrument: firstInstrument, slot: slot) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let id): firstID = id
        }
        // Refused by a risk rule: its reject is queued, and the second is not sent.
        let found = orderIndex.find(firstID.rawValue)
        guard found >= 0 else { return .success(false) }
        let outcome = submit(second, instrument: secondInstrument, slot: slot)
        if case .success(let id) = outcome, orderIndex.find(id.rawValue) >= 0 { return .success(true) }
        // The first's command is the last queued (the second's never was).
        let tail = (pendingHead &+ pendingCount &- 1) & (Self.pendingCapacity &- 1)
        let index = Int(found)
        guard pendingCount > 0, pending[tail].command.orderID == firstID else {
            // Cannot happen: nothing is queued between the two (a refused second leg queues an
            // update, never a command).
            assertionFailure("the first leg's command is not the last queued")
            return outcome.map { _ in false }
        }
        let command = pending[tail].command
        let order = orders[index]
        pendingCount &-= 1
        exposures[Int(order.positionIndex)].replace(OpenExposure(order), with: OpenExposure())
        release(index, slot: slot)
        _counters.submitted &-= 1
        slots[slot].commandsLeft &+= 1
        throttles[slot] = throttle
        // The orders and positions are as they were: so is the revision.
        _revision = revision
        switch outcome {
        case .failure(let refusal): return .failure(refusal)
        case .success:
            // Answered with the refused leg's reason, and not counted again (one refusal).
            enqueueRejection(
                order, .rejection(of: command, instrument: firstInstrument, reason: lastRiskRejection), newOrder: true)
            return .success(false)
        }
    }

    /// The pre-trade checks `submit` runs on a new order `command` for `instrument` from the
    /// strategy in `slot`, as it would run them now (a pass takes a throttle token, as the
    /// order would): `.none` when it may go, else the reason it would be refused. For tools and
    /// benchmarks; strategies just submit. Allocation-free.
    @inlinable
    public mutating func preTradeCheck(_ command: OrderCommand, instrument: InstrumentID, slot: Int) -> ExecutionReason
    {
        let position = positionIndex(slot: slot, instrument: instrument)
        guard position >= 0 else { return .unknownInstrument }
        return riskCheck(
            command, priceTicks: Self.checkedPrice(command), totalLots: command.quantity.lots,
            addedLots: command.quantity.lots, isNew: true, instrument: instrument, position: Int(position), slot: slot)
    }

    /// The price the checks see: the limit price, the stop price of a stop-market order, 0 for
    /// a market order.
    @inlinable
    static func checkedPrice(_ command: OrderCommand) -> Int64 {
        command.type == .market ? 0 : command.type == .stopMarket ? command.stopPrice.ticks : command.price.ticks
    }

    /// Answers a refused order or replace with a reject update (`order` as the strategy will
    /// see it), and counts it. (Never inlined: rare, and its code would sit in the middle of
    /// every order's path.)
    @inlinable @inline(never)
    mutating func refuseByRisk(_ order: OwnOrder, report: ExecutionReport, newOrder: Bool) {
        // A new order never held: counted with the risk rejects, not among the orders
        // submitted or ended (new = filled + cancelled + rejected + open holds).
        _counters.riskRejected[Int(report.reason.rawValue &- ExecutionReason.killSwitch.rawValue)] &+= 1
        _counters.totalRiskRejected &+= 1
        lastRiskRejection = report.reason
        enqueueRejection(order, report, newOrder: newOrder)
    }

    /// Queues the reject update `report` of `order`, a new order that never left (`newOrder`:
    /// shown `rejected`, nothing left) or an order whose replace was refused (shown as it is,
    /// open: a replace may be refused on an order still `pendingNew`).
    @inlinable
    mutating func enqueueRejection(_ order: OwnOrder, _ report: ExecutionReport, newOrder: Bool) {
        var order = order
        if newOrder {
            order.state = .rejected
            order.reason = report.reason
            order.leaves = .zero
        }
        enqueue(order, report, fee: .zero)
    }

    /// What the risk checks need of an order being replaced (its fields, not the whole order).
    @usableFromInline
    struct ReplacedOrder {
        @usableFromInline var filledLots: Int64
        @usableFromInline var leavesLots: Int64
        @usableFromInline var priceTicks: Int64
        @inlinable init(filledLots: Int64, leavesLots: Int64, priceTicks: Int64) {
            self.filledLots = filledLots
            self.leavesLots = leavesLots
            self.priceTicks = priceTicks
        }
    }

    /// The pre-trade checks of an order (or a replace) for position `position` of the strategy
    /// in `slot`, in order: kill switch, order quantity, order notional, price collar, open
    /// orders (new orders only), position, gross exposure, throttle (last, so an order refused
    /// for another reason takes no token). `.none` when it may go. Allocation-free; O(1) but
    /// the gross exposure, O(the strategy's instruments).
    ///
    /// Inlined is only the test whether any check applies (most orders of a backtest or of an
    /// unlimited strategy meet none): the checks themselves are a separate function, so that
    /// their code does not spread every order's path over more cache lines.
    @inlinable @inline(__always)
    mutating func riskCheck(
        _ command: OrderCommand, priceTicks: Int64, totalLots: Int64, addedLots: Int64, isNew: Bool,
        instrument: InstrumentID, position: Int, slot: Int, replacing: ReplacedOrder? = nil
    ) -> ExecutionReason {
        if _killSwitch.isTripped { return .killSwitch }
        guard limited[position] || hasExposureLimits || throttles[slot].isActive else { return .none }
        return limitChecks(
            command, priceTicks: priceTicks, totalLots: totalLots, addedLots: addedLots, isNew: isNew,
            instrument: instrument, position: position, slot: slot, replacing: replacing)
    }

    /// `riskCheck` past the kill switch, when a limit, an exposure limit or a throttle applies.
    @inlinable @inline(never)
    mutating func limitChecks(
        _ command: OrderCommand, priceTicks: Int64, totalLots: Int64, addedLots: Int64, isNew: Bool,
        instrument: InstrumentID, position: Int, slot: Int, replacing: ReplacedOrder?
    ) -> ExecutionReason {
        if limited[position] {
            let limit = limits[position]
            let twiceMark = marks[Int(instrument.rawValue)]
            // An order's size is what it may still trade: for a replace, its new quantity less
            // what has filled (a quote that filled in part can be moved at its size).
            let tradableLots = replacing.map { Swift.max(totalLots &- $0.filledLots, 0) } ?? totalLots
            guard RiskChecks.orderQuantity(lots: tradableLots, limit: limit.maxOrderLots) else {
                return .maxOrderQuantity
            }
            if limit.maxOrderNotional.units != .max {
                let notional = RiskChecks.twiceNotional(
                    priceTicks: priceTicks, lots: tradableLots, twiceMark: twiceMark)
                guard RiskChecks.orderNotional(twiceNotional: notional, limitTwiceTickLots: limit.maxOrderTwiceTickLots)
                else {
                    return .maxOrderNotional
                }
            }
            if limit.collarBasisPoints >= 0 {
                guard
                    RiskChecks.priceCollar(
                        priceTicks: priceTicks, twiceMark: twiceMark, basisPoints: limit.collarBasisPoints),
                    command.type != .stopLimit
                        || RiskChecks.priceCollar(
                            priceTicks: command.stopPrice.ticks, twiceMark: twiceMark,
                            basisPoints: limit.collarBasisPoints)
                else { return .riskPriceCollar }
            }
            if isNew {
                guard RiskChecks.openOrders(open: exposures[position].orders, limit: limit.maxOpenOrders) else {
                    return .maxOpenOrders
                }
            }
            if limit.maxPositionLots != .max, addedLots > 0 {
                let open = command.side == .buy ? exposures[position].buyLots : exposures[position].sellLots
                guard
                    RiskChecks.position(
                        side: command.side, lots: addedLots, net: positions[position].net, openSameSide: open,
                        limit: limit.maxPositionLots)
                else { return .maxPosition }
            }
        }
        if hasExposureLimits {
            let cell = slot &* currencyCount &+ Int(positionCurrency[position])
            if exposureLimits[cell] != RiskLimits.off {
                let twiceMark = marks[Int(instrument.rawValue)]
                // A new order adds its notional; a replace what its new quantity and price add
                // over its current ones (a price raised at the same quantity adds too).
                let added: Int128
                if let order = replacing {
                    let open = RiskChecks.product(
                        Swift.max(totalLots &- order.filledLots, 0), Swift.max(priceTicks, 0))
                    let current = RiskChecks.product(order.leavesLots, Swift.max(order.priceTicks, 0))
                    added = (open &- current) &* 2
                } else {
                    guard
                        let notional = RiskChecks.twiceNotional(
                            priceTicks: priceTicks, lots: addedLots, twiceMark: twiceMark)
                    else { return .maxGrossExposure }
                    added = notional
                }
                if added > 0 {
                    let total = Self.saturatingAdd(
                        grossExposure(slot: slot, currency: positionCurrency[position]),
                        Self.currencyUnits(twiceTickLots: added, factor: twiceTickLotFactor[position]))
                    guard RiskChecks.grossExposure(total, limit: exposureLimits[cell]) else {
                        return .maxGrossExposure
                    }
                }
            }
        }
        if throttles[slot].isActive, !throttles[slot].take(at: _time) { return .orderThrottle }
        return .none
    }

    /// Twice an amount in ticks × lots as currency units (× the position's
    /// `twiceTickLotFactor`), saturating.
    @inlinable
    static func currencyUnits(twiceTickLots: Int128, factor: Int128) -> Int128 {
        RiskChecks.saturatingProduct(twiceTickLots, factor)
    }

    @inlinable
    static func saturatingAdd(_ left: Int128, _ right: Int128) -> Int128 {
        let (sum, overflow) = left.addingReportingOverflow(right)
        return overflow ? (right > 0 ? .max : .min) : sum
    }

    /// Gross exposure of the strategy in `slot` in one currency, in its units: Σ over its
    /// instruments quoted in it of |position| × mark + open order notional (market orders at
    /// the mark). A position in an instrument with no mark yet counts at its cost.
    @inlinable @inline(__always)
    public func grossExposure(slot: Int, currency: Int32) -> Int128 {
        var total: Int128 = 0
        let first = Int(slots[slot].firstInstrument)
        for position in first..<(first &+ Int(slots[slot].instrumentCount)) where positionCurrency[position] == currency
        {
            let held = positions[position]
            let exposure = exposures[position]
            let mark = marks[Int(instruments[position].rawValue)]
            let value =
                mark > 0
                ? RiskChecks.product(Int64(clamping: held.net.magnitude), mark)
                : held.openCost.magnitude > UInt128(Int128.max / 4)
                    ? Int128.max / 4 : Int128(held.openCost.magnitude) &* 2
            let twice = Self.saturatingAdd(
                Self.saturatingAdd(value, exposure.twicePricedNotional),
                RiskChecks.product(exposure.unpricedLots, mark))
            total = Self.saturatingAdd(
                total, Self.currencyUnits(twiceTickLots: twice, factor: twiceTickLotFactor[position]))
        }
        return total
    }

    /// Appends order `index` to the open orders of position `list`.
    @inlinable
    mutating func link(_ index: Int, list: Int) {
        let tail = listTail[list]
        previousInList[index] = tail
        nextInList[index] = -1
        if tail >= 0 { nextInList[Int(tail)] = Int32(index) } else { listHead[list] = Int32(index) }
        listTail[list] = Int32(index)
    }

    /// The table index of the strategy's open order `id` that can take a cancel or replace.
    @inlinable @inline(__always)
    func cancellableIndex(_ id: OrderID, slot: Int) -> Int? {
        let found = orderIndex.find(id.rawValue)
        guard found >= 0 else { return nil }
        let order = orders[Int(found)]
        guard order.strategy == slots[slot].id else { return nil }
        switch order.state {
        case .pendingNew, .accepted, .partiallyFilled: return Int(found)
        default: return nil
        }
    }

    @inlinable
    mutating func cancel(_ id: OrderID, slot: Int) -> OrderRefusal {
        guard let index = cancellableIndex(id, slot: slot) else { return refuse(.notCancellable) }
        guard takeBudget(slot: slot) else { return refuse(.eventLimit) }
        orders[index].state = .pendingCancel
        push(.cancel(id, account: slots[slot].account), instrument: orders[index].instrument)
        _counters.cancelsSent &+= 1
        _revision &+= 1
        return .none
    }

    @inlinable
    mutating func replace(_ id: OrderID, price: Price, quantity: Quantity, slot: Int) -> OrderRefusal {
        guard let index = cancellableIndex(id, slot: slot), orders[index].type == .limit else {
            return refuse(.notCancellable)
        }
        guard price.ticks > 0 else { return refuse(.invalidPrice) }
        let raw = Int(orders[index].instrument.rawValue)
        let rule = raw < instrumentLimit ? rules[raw] : .free
        // The new total must leave at least the minimum open, worth at least the minimum notional.
        let open = quantity.lots &- orders[index].filled.lots
        guard open > 0, open >= rule.minimumQuantity.lots else { return refuse(.belowMinimumQuantity) }
        if rule.minimumNotional.units > 0, Money(tickLots: Int128(price.ticks) &* Int128(open)) < rule.minimumNotional {
            return refuse(.belowMinimumNotional)
        }
        guard takeBudget(slot: slot) else { return refuse(.eventLimit) }
        // The order's fields are read where it lies: copying it whole, right after it was
        // written, waits for those writes (a copy's wide loads cannot take them in flight).
        let order = orders + index
        let instrument = order.pointee.instrument
        let position = Int(order.pointee.positionIndex)
        var command = OrderCommand.replace(id, account: slots[slot].account, price: price, quantity: quantity)
        command.side = order.pointee.side
        command.type = order.pointee.type
        let risk = riskCheck(
            command, priceTicks: price.ticks, totalLots: quantity.lots, addedLots: open &- order.pointee.leaves.lots,
            isNew: false, instrument: instrument, position: position, slot: slot,
            replacing: ReplacedOrder(
                filledLots: order.pointee.filled.lots, leavesLots: order.pointee.leaves.lots,
                priceTicks: order.pointee.price.ticks))
        if risk != .none {
            refuseByRisk(
                order.pointee, report: .rejection(of: command, instrument: instrument, reason: risk), newOrder: false)
            return .none
        }
        let before = OpenExposure(order.pointee)
        order.pointee.state = .pendingReplace
        order.pointee.pendingPrice = price
        order.pointee.pendingQuantity = quantity
        exposures[position].replace(before, with: OpenExposure(order.pointee))
        push(.replace(id, account: slots[slot].account, price: price, quantity: quantity), instrument: instrument)
        _counters.replacesSent &+= 1
        _revision &+= 1
        return .none
    }

    /// Calls `body` with each open order of the strategy in `slot` (instrument by instrument in
    /// its configuration order, oldest first), until it returns false.
    @inlinable
    public func forEachOpenOrder(slot: Int, _ body: (OwnOrder) -> Bool) {
        let first = Int(slots[slot].firstInstrument)
        for list in first..<(first &+ Int(slots[slot].instrumentCount)) {
            guard forEachOpenOrder(list: list, body) else { return }
        }
    }

    /// Calls `body` with each open order of the strategy in `slot` in `instrument`, oldest
    /// first, until it returns false.
    @inlinable
    public func forEachOpenOrder(slot: Int, instrument: InstrumentID, _ body: (OwnOrder) -> Bool) {
        let list = positionIndex(slot: slot, instrument: instrument)
        if list >= 0 { _ = forEachOpenOrder(list: Int(list), body) }
    }

    /// Walks one position's open orders; false when `body` stopped it.
    @inlinable
    func forEachOpenOrder(list: Int, _ body: (OwnOrder) -> Bool) -> Bool {
        var index = listHead[list]
        while index >= 0 {
            let next = nextInList[Int(index)]
            if !body(orders[Int(index)]) { return false }
            index = next
        }
        return true
    }

    /// The net position in lots of the strategy in `slot` in `instrument` (0 when it does not trade it).
    @inlinable @inline(__always)
    public func netPosition(slot: Int, instrument: InstrumentID) -> Int64 {
        let index = positionIndex(slot: slot, instrument: instrument)
        return index >= 0 ? positions[Int(index)].net : 0
    }

    /// The strategy's order `id` while it is open.
    @inlinable @inline(__always)
    public func openOrder(_ id: OrderID) -> OwnOrder? {
        let found = orderIndex.find(id.rawValue)
        return found >= 0 ? orders[Int(found)] : nil
    }

    /// The open orders of the strategy in `slot`.
    @inlinable
    public func openOrderCount(slot: Int) -> Int { Int(slots[slot].openCount) }

    /// Every open order of every strategy.
    public var openOrders: Int { openOrderCount }

    /// The position of the strategy in `slot` in `instrument`, or nil when it does not trade it.
    @inlinable @inline(__always)
    public func position(slot: Int, instrument: InstrumentID) -> Position? {
        let index = positionIndex(slot: slot, instrument: instrument)
        return index >= 0 ? positions[Int(index)] : nil
    }

    /// The strategy in `slot`: its id, account and instruments.
    public func layout(slot: Int) -> StrategyLayout {
        let entry = slots[slot]
        return StrategyLayout(
            id: entry.id, account: entry.account,
            instruments: (0..<Int(entry.instrumentCount)).map { instruments[Int(entry.firstInstrument) + $0] })
    }

    /// The instruments of the strategy in `slot`: how many, and the k-th.
    @inlinable
    public func instrumentCount(slot: Int) -> Int { Int(slots[slot].instrumentCount) }
    @inlinable
    public func instrument(slot: Int, _ k: Int) -> InstrumentID {
        instruments[Int(slots[slot].firstInstrument) &+ k]
    }

    /// Schedules a timer for the strategy in `slot`; nil when the schedule is full.
    @inlinable
    mutating func schedule(at deadline: UInt64, tag: UInt64, slot: Int) -> UInt64? {
        guard timerCount < timerCapacity else { return nil }
        let id = nextTimerID
        nextTimerID &+= 1
        var index = timerCount
        timerCount &+= 1
        let entry = TimerEntry(deadline: deadline, id: id, tag: tag, slot: Int32(slot))
        while index > 0 {
            let parent = (index &- 1) >> 1
            guard entry.isBefore(timers[parent]) else { break }
            timers[index] = timers[parent]
            index = parent
        }
        timers[index] = entry
        return id
    }

    /// Cancels the strategy's timer `id`; false if it already fired or is not the strategy's.
    /// O(timers).
    @inlinable
    mutating func cancelTimer(_ id: UInt64, slot: Int) -> Bool {
        for index in 0..<timerCount where timers[index].id == id && Int(timers[index].slot) == slot {
            removeTimer(at: index)
            return true
        }
        return false
    }

    @inlinable
    mutating func removeTimer(at position: Int) {
        timerCount &-= 1
        guard position < timerCount else { return }
        let moved = timers[timerCount]
        // Sift the last entry into the hole, up or down.
        var index = position
        while index > 0 {
            let parent = (index &- 1) >> 1
            guard moved.isBefore(timers[parent]) else { break }
            timers[index] = timers[parent]
            index = parent
        }
        while true {
            let left = index &* 2 &+ 1
            guard left < timerCount else { break }
            let right = left &+ 1
            let child = right < timerCount && timers[right].isBefore(timers[left]) ? right : left
            guard timers[child].isBefore(moved) else { break }
            timers[index] = timers[child]
            index = child
        }
        timers[index] = moved
    }

    /// Timers scheduled and not yet fired.
    public var scheduledTimers: Int { timerCount }

    /// Queues a cancel for open orders of every strategy that have none in flight and can rest
    /// (`OwnOrder.canRest`: the venue ends the others itself) (at the session's end, or the kill
    /// switch's trip), outside the per-event allowance, as many as the command queue takes;
    /// returns how many. Call until it returns 0, routing the queue in between. With
    /// `includingReplaces` (the session's end, after which no answer is heard) an order with a
    /// replace in flight is cancelled too: the venue takes the cancel after the replace;
    /// otherwise it is cancelled once the replace is answered (the kill switch's trip). While
    /// the kill switch's trip the orders are marked (`reason` `killSwitch`), and the
    /// updates of their cancels say so rather than the venue's `requested`.
    public mutating func cancelOpenOrders(includingReplaces: Bool = false) -> Int {
        var queued = 0
        let bySwitch = _killSwitch.isTripped && !includingReplaces
        for slot in 0..<strategyCount {
            let first = Int(slots[slot].firstInstrument)
            for list in first..<(first + Int(slots[slot].instrumentCount)) {
                var index = listHead[list]
                while index >= 0, pendingCount < Self.pendingCapacity {
                    let order = orders[Int(index)]
                    let replacing =
                        includingReplaces && order.state == .pendingReplace
                        && order.strategy == slots[slot].id
                    if order.canRest, order.state != .pendingCancel,
                        let found = replacing ? Int(index) : cancellableIndex(order.id, slot: slot)
                    {
                        orders[found].state = .pendingCancel
                        if bySwitch { orders[found].reason = .killSwitch }
                        push(.cancel(order.id, account: slots[slot].account), instrument: order.instrument)
                        _counters.cancelsSent &+= 1
                        _revision &+= 1
                        queued &+= 1
                    }
                    index = nextInList[Int(index)]
                }
            }
        }
        return queued
    }

    /// Queues a status request for the open orders in the instruments `isVenueInstrument`
    /// accepts (an outside venue restarted: reconciliation), after skipping the first `skip` of
    /// them (asked for in an earlier round), as many as the command queue takes; returns how
    /// many. Their answers (`status` reports) confirm, close or flag each one.
    public mutating func requestStatus(skipping skip: Int = 0, where isVenueInstrument: (InstrumentID) -> Bool) -> Int {
        var queued = 0
        var skipped = 0
        for list in 0..<positionCount where isVenueInstrument(instruments[list]) {
            var index = listHead[list]
            while index >= 0, pendingCount < Self.pendingCapacity {
                let order = orders[Int(index)]
                if skipped < skip {
                    skipped &+= 1
                } else if let slot = slot(of: order.strategy) {
                    push(.status(order.id, account: slots[slot].account), instrument: order.instrument)
                    queued &+= 1
                }
                index = nextInList[Int(index)]
            }
        }
        _counters.statusRequests &+= queued
        return queued
    }

    /// Whether commands are waiting to be routed.
    @inlinable public var hasPendingCommands: Bool { pendingCount > 0 }

    /// Open orders by state, for reports.
    public func openOrdersByState() -> [OrderState: Int] {
        var counts: [OrderState: Int] = [:]
        for slot in 0..<strategyCount {
            forEachOpenOrder(slot: slot) { order in
                counts[order.state, default: 0] += 1
                return true
            }
        }
        return counts
    }
}

// MARK: Outside venues: acknowledgement timeouts

extension TradingState {
    /// Expects an answer to new order `id` (just sent to an outside venue) by event time
    /// `deadline`. Deadlines must not decrease (the engine adds a constant timeout to event time).
    @inlinable
    public mutating func expectAnswer(to id: OrderID, by deadline: UInt64) {
        if ackCount == orderCapacity { compactAckDeadlines() }
        guard ackCount < orderCapacity else { return }
        var tail = ackHead &+ ackCount
        if tail >= orderCapacity { tail &-= orderCapacity }
        ackDeadlines[tail] = (deadline, id.rawValue)
        ackCount &+= 1
    }

    /// Drops the entries of orders already answered or closed (the ring is full: rare, O(capacity)).
    @usableFromInline
    mutating func compactAckDeadlines() {
        var kept = 0
        for offset in 0..<ackCount {
            var index = ackHead &+ offset
            if index >= orderCapacity { index &-= orderCapacity }
            let entry = ackDeadlines[index]
            let found = orderIndex.find(entry.id)
            guard found >= 0, !orders[Int(found)].acknowledged else { continue }
            var target = ackHead &+ kept
            if target >= orderCapacity { target &-= orderCapacity }
            ackDeadlines[target] = entry
            kept &+= 1
        }
        ackCount = kept
    }

    /// Whether some order's answer is due at the current event time.
    /// (An answer that arrives at the deadline itself is in time.)
    @inlinable public var hasDueAnswers: Bool { hasAnswersDue(at: _time) }

    /// Whether an order's answer is overdue at engine time `time`.
    @inlinable public func hasAnswersDue(at time: UInt64) -> Bool {
        ackCount > 0 && ackDeadlines[ackHead].deadline < time
    }

    /// Handles the orders whose answer was due by now: each one its venue has still not
    /// acknowledged gets a cancel (queued) and a `noAnswer` reject update for its strategy; it
    /// stays open until the venue answers the cancel. Returns how many timed out.
    public mutating func timeOutUnansweredOrders() -> Int {
        var timedOut = 0
        while ackCount > 0, ackDeadlines[ackHead].deadline < _time, pendingCount < Self.pendingCapacity {
            let id = ackDeadlines[ackHead].id
            ackHead &+= 1
            if ackHead == orderCapacity { ackHead = 0 }
            ackCount &-= 1
            let found = orderIndex.find(id)
            guard found >= 0 else { continue }
            let index = Int(found)
            let order = orders[index]
            // Unacknowledged (a replace may be in flight on it too) and not already being cancelled.
            guard order.state.isOpen, order.state != .pendingCancel, !order.acknowledged,
                let slot = slot(of: order.strategy)
            else { continue }
            orders[index].state = .pendingCancel
            push(.cancel(order.id, account: slots[slot].account), instrument: order.instrument)
            _counters.cancelsSent &+= 1
            _counters.ackTimeouts &+= 1
            _revision &+= 1
            timedOut &+= 1
            var command = OrderCommand.limit(
                order.id, account: slots[slot].account, order.side, price: order.price, quantity: order.quantity)
            command.type = order.type
            enqueue(
                orders[index], .rejection(of: command, instrument: order.instrument, reason: .noAnswer), fee: .zero)
        }
        return timedOut
    }

    mutating func visitAckDeadlines<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        var count = Int64(ackCount)
        try visitor.visit(&count, "answers expected")
        if visitor.isRestoring {
            guard count >= 0, count <= Int64(orderCapacity) else {
                throw .invalid(field: "answers expected", value: count)
            }
            ackHead = 0
            ackCount = Int(count)
        }
        for offset in 0..<ackCount {
            var index = ackHead &+ offset
            if index >= orderCapacity { index &-= orderCapacity }
            try visitor.visit(&ackDeadlines[index].deadline, "answer deadline")
            try visitor.visit(&ackDeadlines[index].id, "answer order")
        }
    }
}

// MARK: Risk: marks, the day's P&L, the kill switch

extension TradingState {
    /// Records `instrument`'s mid after its book changed (nothing when a side is empty: the
    /// last mark stays). The engine calls it only when `needsMarks`.
    @inlinable
    public mutating func updateMark(_ instrument: InstrumentID, bid: Price?, ask: Price?) {
        let raw = Int(instrument.rawValue)
        guard raw < instrumentLimit, let bid, let ask else { return }
        let twice = bid.ticks &+ ask.ticks
        guard twice != marks[raw], twice > 0 else { return }
        marks[raw] = twice
        if hasLossLimits {
            for index in subscribers(of: instrument) { lossDirty[Int(subscribers[index])] = true }
        }
    }

    /// Twice the last mid of `instrument` in ticks (0: none yet).
    @inlinable
    public func twiceMark(_ instrument: InstrumentID) -> Int64 {
        let raw = Int(instrument.rawValue)
        return raw < instrumentLimit ? marks[raw] : 0
    }

    /// UTC of the event at `_time`: its exchange stamp, or the last one plus the event time
    /// since; a new UTC day re-bases every strategy's day P&L. Until the first UTC stamp the
    /// day is not known: the losses from the start count toward the day that stamp names
    /// (the first day is not started again when it becomes known).
    @usableFromInline
    mutating func advanceDay(exchangeTime: UInt64) {
        if exchangeTime != 0 {
            utcAnchor = exchangeTime
            utcAnchorTime = _time
        }
        guard utcAnchor != 0 else { return }
        let utc = utcAnchor &+ (_time > utcAnchorTime ? _time &- utcAnchorTime : 0)
        // Only forward: an event stamped earlier (recorded data between wall-clock ticks) does
        // not start an older day again.
        let day = Int64(utc / Self.nanosecondsPerDay)
        guard day > tradingDay else { return }
        let first = tradingDay < 0
        tradingDay = day
        if !first { rebaseDay() }
    }

    @inlinable static var nanosecondsPerDay: UInt64 { 86_400_000_000_000 }

    /// The UTC day (days since 1970-01-01) the loss limits count from; -1 before the first
    /// event with a UTC stamp.
    public var currentTradingDay: Int64 { tradingDay }

    /// Every strategy's day P&L counts from now.
    @usableFromInline
    mutating func rebaseDay() {
        for slot in 0..<strategyCount {
            for currency in 0..<currencyCount {
                dayBaselines[slot &* currencyCount &+ currency] = pnl(slot: slot, currency: Int32(currency))
            }
        }
    }

    /// Net P&L (realised + unrealised at the marks − fees) of the strategy in `slot` in one
    /// currency, in its units. A position with no mark yet counts no unrealised P&L.
    public func pnl(slot: Int, currency: Int32) -> Int128 {
        var total: Int128 = 0
        let first = Int(slots[slot].firstInstrument)
        for position in first..<(first + Int(slots[slot].instrumentCount)) where positionCurrency[position] == currency
        {
            let held = positions[position]
            var money = held.realised - held.fees
            let twiceMark = marks[Int(instruments[position].rawValue)]
            if twiceMark > 0 {
                money += held.unrealised(
                    bid: Price(ticks: twiceMark >> 1), ask: Price(ticks: twiceMark &- twiceMark >> 1))
            }
            let (units, overflow) = money.units.multipliedReportingOverflow(by: positionFactor[position])
            total = Self.saturatingAdd(total, overflow ? (money.units < 0 ? .min : .max) : units)
        }
        return total
    }

    /// The loss of the strategy in `slot` since the day began, in one currency's units
    /// (negative: a gain).
    public func dayLoss(slot: Int, currency: Int32) -> Int128 {
        dayBaselines[slot * currencyCount + Int(currency)] &- pnl(slot: slot, currency: currency)
    }

    /// The first strategy whose P&L changed since it was last looked at and whose loss today
    /// passed its maximum in some currency (nil when none). Clears what it looked at.
    public mutating func nextLossBreach() -> Int? {
        guard hasLossLimits else { return nil }
        for slot in 0..<strategyCount where lossDirty[slot] {
            lossDirty[slot] = false
            for currency in 0..<currencyCount {
                let limit = lossLimits[slot * currencyCount + currency]
                if limit != RiskLimits.off, dayLoss(slot: slot, currency: Int32(currency)) > limit { return slot }
            }
        }
        return nil
    }

    /// Trips the kill switch at the current event time; false when it already was. The engine
    /// then cancels every open order (`cancelOpenOrders`).
    public mutating func tripKillSwitch(_ cause: KillCause, strategy: StrategyID = StrategyID(0)) -> Bool {
        _killSwitch.trip(cause, strategy: strategy.rawValue, at: _time)
    }

    /// Resets the kill switch; the loss limits count again from the P&L now. False when it was
    /// not tripped.
    public mutating func resetKillSwitch() -> Bool {
        guard _killSwitch.reset() else { return false }
        if hasLossLimits { rebaseDay() }
        return true
    }

    /// The gross exposure and daily loss limits of the strategy in `slot` in one currency
    /// (`RiskLimits.off`: none).
    public func riskLimits(slot: Int, currency: Int32) -> (exposure: Int128, loss: Int128) {
        let cell = slot * currencyCount + Int(currency)
        return (exposureLimits[cell], lossLimits[cell])
    }

    /// The open orders' exposure in position `index` (tests and reports).
    public func openExposure(slot: Int, instrument: InstrumentID) -> OpenExposure? {
        let index = positionIndex(slot: slot, instrument: instrument)
        return index >= 0 ? exposures[Int(index)] : nil
    }

    /// Risk state that carries over: the kill switch, marks, the day and its baselines, the
    /// throttles.
    mutating func visitRisk<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try _killSwitch.visitState(&visitor)
        try visitor.visitCount(instrumentLimit, "marks")
        for index in 0..<instrumentLimit { try visitor.visit(&marks[index], "mark") }
        try visitor.visit(&utcAnchor, "utc anchor")
        try visitor.visit(&utcAnchorTime, "utc anchor time")
        try visitor.visit(&tradingDay, "trading day")
        try visitor.visitCount(strategyCount * currencyCount, "day baselines")
        for index in 0..<(strategyCount * currencyCount) { try visitor.visit(&dayBaselines[index], "day baseline") }
        for slot in 0..<strategyCount {
            try throttles[slot].visitState(&visitor)
            try visitor.visit(&lossDirty[slot], "loss dirty")
        }
    }
}

/// A refusal, as the error of `submit`'s result.
public struct OrderRefusalError: Error, Hashable, Sendable {
    public var refusal: OrderRefusal
    @inlinable public init(_ refusal: OrderRefusal) { self.refusal = refusal }
}

extension TradingState {
    /// Every field that carries over between events, for state hashes, snapshots and restore:
    /// counters, each strategy's order numbering, positions, open orders (in each strategy's
    /// order) and timers. Not the event time and the per-event command allowances, which each
    /// event sets afresh. Call between events (no command or update in flight).
    public mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        if visitor.isRestoring { _revision &+= 1 }
        try visitor.visit(&_started, "trading started")
        try visitor.visit(&nextTimerID, "next timer id")
        var counts =
            [
                _counters.submitted, _counters.cancelsSent, _counters.replacesSent, _counters.filled,
                _counters.cancelled,
                _counters.rejected, _counters.fills, _counters.duplicateReports, _counters.unknownReports,
                _counters.timersFired, _counters.lostUpdates, _counters.ackTimeouts, _counters.statusRequests,
                _counters.reconciledClosed, _counters.reconciliationMismatches,
            ].map { Int64($0) } + _counters.refused.map { Int64($0) } + _counters.riskRejected.map { Int64($0) }
        for index in counts.indices { try visitor.visit(&counts[index], "trading counter \(index)") }
        if visitor.isRestoring {
            guard counts.allSatisfy({ $0 >= 0 }) else { throw .invalid(field: "trading counter", value: -1) }
            let values = counts.map { Int($0) }
            (_counters.submitted, _counters.cancelsSent, _counters.replacesSent) = (values[0], values[1], values[2])
            (_counters.filled, _counters.cancelled, _counters.rejected) = (values[3], values[4], values[5])
            (_counters.fills, _counters.duplicateReports, _counters.unknownReports) = (values[6], values[7], values[8])
            (_counters.timersFired, _counters.lostUpdates, _counters.ackTimeouts) = (values[9], values[10], values[11])
            (_counters.statusRequests, _counters.reconciledClosed) = (values[12], values[13])
            _counters.reconciliationMismatches = values[14]
            _counters.refused = Array(values[15..<(15 + OrderRefusal.allCases.count)])
            _counters.riskRejected = Array(values[(15 + OrderRefusal.allCases.count)...])
            _counters.totalRefused = _counters.refused.reduce(0, +)
            _counters.totalRiskRejected = _counters.riskRejected.reduce(0, +)
        }
        try visitor.visitCount(strategyCount, "strategies")
        for slot in 0..<strategyCount { try visitor.visit(&slots[slot].nextSequence, "strategy order sequence") }
        try visitor.visitCount(positionCount, "positions")
        for index in 0..<positionCount { try positions[index].visitState(&visitor) }
        try visitOrders(&visitor)
        try visitTimers(&visitor)
        try visitRisk(&visitor)
        try visitAckDeadlines(&visitor)
    }

    mutating func visitOrders<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        var count = Int64(openOrderCount)
        try visitor.visit(&count, "open orders")
        guard visitor.isRestoring else {
            for list in 0..<positionCount {
                var index = listHead[list]
                while index >= 0 {
                    try orders[Int(index)].visitState(&visitor)
                    index = nextInList[Int(index)]
                }
            }
            return
        }
        guard count >= 0, count <= Int64(orderCapacity) else { throw .invalid(field: "open orders", value: count) }
        guard openOrderCount == 0 else { throw .mismatch("orders restored into a table that holds some") }
        for _ in 0..<Int(count) {
            let index = Int(freeHead)
            var order = orders[index]
            try order.visitState(&visitor)
            guard let slot = self.slot(of: order.strategy), order.state.isOpen,
                order.id.isStrategyOrder, order.id.strategy == order.strategy,
                order.id.rawValue & (1 << 40 - 1) < slots[slot].nextSequence,
                order.positionIndex >= slots[slot].firstInstrument,
                order.positionIndex < slots[slot].firstInstrument &+ slots[slot].instrumentCount,
                instruments[Int(order.positionIndex)] == order.instrument,
                orderIndex.find(order.id.rawValue) < 0
            else { throw .invalid(field: "open order", value: Int64(bitPattern: order.id.rawValue)) }
            freeHead = nextInList[index]
            orders[index] = order
            link(index, list: Int(order.positionIndex))
            exposures[Int(order.positionIndex)].replace(OpenExposure(), with: OpenExposure(order))
            slots[slot].openCount &+= 1
            openOrderCount &+= 1
            orderIndex.insert(order.id.rawValue, slot: Int32(index))
        }
    }

    mutating func visitTimers<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        var count = Int64(timerCount)
        try visitor.visit(&count, "timers")
        if visitor.isRestoring {
            guard count >= 0, count <= Int64(timerCapacity) else { throw .invalid(field: "timers", value: count) }
            timerCount = Int(count)
        }
        for index in 0..<timerCount {
            try visitor.visit(&timers[index].deadline, "timer deadline")
            try visitor.visit(&timers[index].id, "timer id")
            try visitor.visit(&timers[index].tag, "timer tag")
            try visitor.visit(&timers[index].slot, "timer strategy")
            guard timers[index].slot >= 0, Int(timers[index].slot) < strategyCount else {
                throw .invalid(field: "timer strategy", value: Int64(timers[index].slot))
            }
            guard timers[index].id < nextTimerID, index == 0 || !timers[index].isBefore(timers[(index &- 1) >> 1])
            else { throw .invalid(field: "timer", value: Int64(bitPattern: timers[index].id)) }
        }
    }
}
