import PeregrineBook
import PeregrineCore
import PeregrineModel

/// A trading strategy hosted by the engine's logic.
///
/// The engine calls a strategy on the logic thread, one callback at a time, always with a
/// `StrategyContext` through which it reads the books, its orders, positions and the event
/// time, and submits, cancels and replaces orders and schedules timers. Every callback has a
/// default that does nothing, so a strategy writes only the ones it needs.
///
/// Order of calls for one input event: `onStart` (once, before the first event of a session);
/// the timers that event's time has reached (`onTimer`, earliest first); the event applied to
/// its instrument's book, then the updates of the strategy's orders that it caused (a flow
/// order filling a resting one); the market-data callback (`onBook`, `onQuote`, `onTrade`) to
/// each strategy trading the instrument, in configuration order; then each order it submitted
/// goes to its venue, and the updates that come back (`onOrderAccepted` … `onOrderReplaced`) are
/// delivered, which may submit more (at most `TradingState.maxCommandsPerEvent` commands per
/// strategy per event). At the session's end: `onStop`, then every open order is cancelled
/// (unless the engine is told to keep them).
///
/// Implementations must be deterministic (no wall clock, no randomness not seeded from state,
/// no unordered iteration reaching a decision) and list every field they keep between events
/// in `visitState`, which serves state hashes, snapshots and restore: so a replay of the
/// journal, or a restart from a snapshot, reproduces every decision. The engine holds its
/// strategies as generic parameters and enum-dispatched built-ins: calls are static and
/// inlined; a callback must not allocate on its per-event path.
public protocol Strategy {
    /// The name `--strategy` and `[[strategy]] name` select it by.
    static var name: String { get }

    /// Which instruments it trades when its configuration names none.
    static var defaultInstruments: DefaultInstruments { get }

    /// The market-data callbacks it implements (default: all). The engine does not call the
    /// others: a strategy that only follows trades may say `[.trades]` and is not called for
    /// every book change. Saying less than it implements silences those callbacks.
    static var marketData: MarketDataInterest { get }

    /// The order-update callbacks it implements (default: all). The engine does not call the
    /// others, and does not queue an update no one takes (the backtest keeps only fills): a
    /// market maker that follows fills, cancels and rejects says `[.fills, .cancelled,
    /// .rejected]` and its orders' acceptances and replaces cost nothing more than their
    /// bookkeeping. Saying less than it implements silences those callbacks.
    static var orderUpdates: OrderUpdateInterest { get }

    /// Builds the strategy from its configuration: read every parameter from
    /// `configuration.parameters` (unknown keys are refused after `init` returns).
    init(_ configuration: StrategyConfiguration) throws(StrategyConfigurationError)

    mutating func onStart(_ context: inout StrategyContext)
    mutating func onStop(_ context: inout StrategyContext)
    /// The instrument's book changed (a level update, a cleared book, an order on a hosted book).
    mutating func onBook(_ instrument: InstrumentID, _ context: inout StrategyContext)
    mutating func onQuote(_ quote: Quote, instrument: InstrumentID, _ context: inout StrategyContext)
    mutating func onTrade(_ trade: Trade, instrument: InstrumentID, _ context: inout StrategyContext)
    mutating func onOrderAccepted(_ update: OrderUpdate, _ context: inout StrategyContext)
    /// A new order, or a cancel or replace of one, was rejected: `update.report.reason` says why
    /// (`update.order.state` is `rejected` for a new order, the order's state otherwise: still
    /// open, `pendingNew` included when a replace of an order not yet accepted is refused).
    mutating func onOrderRejected(_ update: OrderUpdate, _ context: inout StrategyContext)
    /// A fill, partial (`update.order.state == .partiallyFilled`) or final (`.filled`).
    mutating func onOrderFilled(_ update: OrderUpdate, _ context: inout StrategyContext)
    mutating func onOrderCancelled(_ update: OrderUpdate, _ context: inout StrategyContext)
    mutating func onOrderReplaced(_ update: OrderUpdate, _ context: inout StrategyContext)
    mutating func onTimer(_ timer: TimerFired, _ context: inout StrategyContext)
    /// The mempool analysis found a back-run opportunity (engines running `mempool run`).
    mutating func onOpportunity(_ opportunity: MempoolOpportunity, _ context: inout StrategyContext)

    /// Visits every field the strategy keeps between events (see `StateVisitor`).
    mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError)
}

/// Which market-data callbacks a strategy wants.
public struct MarketDataInterest: OptionSet, Sendable, BitwiseCopyable {
    public let rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// `onBook`. (Computed constants: a stored static is reached through its lazy
    /// initialiser on every read.)
    @inlinable public static var books: MarketDataInterest { MarketDataInterest(rawValue: 1) }
    /// `onQuote`.
    @inlinable public static var quotes: MarketDataInterest { MarketDataInterest(rawValue: 2) }
    /// `onTrade`.
    @inlinable public static var trades: MarketDataInterest { MarketDataInterest(rawValue: 4) }
    @inlinable public static var all: MarketDataInterest {
        MarketDataInterest(rawValue: books.rawValue | quotes.rawValue | trades.rawValue)
    }
}

/// Which order-update callbacks a strategy wants (`Strategy.orderUpdates`), and which updates
/// an output exports (`OutputSink.orderUpdates`).
public struct OrderUpdateInterest: OptionSet, Sendable, BitwiseCopyable {
    public let rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// `onOrderAccepted`.
    @inlinable public static var accepted: OrderUpdateInterest { OrderUpdateInterest(rawValue: 1) }
    /// `onOrderRejected`.
    @inlinable public static var rejected: OrderUpdateInterest { OrderUpdateInterest(rawValue: 2) }
    /// `onOrderFilled` (partial and final fills).
    @inlinable public static var fills: OrderUpdateInterest { OrderUpdateInterest(rawValue: 4) }
    /// `onOrderCancelled` (also for an order its venue no longer holds, found by reconciliation).
    @inlinable public static var cancelled: OrderUpdateInterest { OrderUpdateInterest(rawValue: 8) }
    /// `onOrderReplaced`.
    @inlinable public static var replaced: OrderUpdateInterest { OrderUpdateInterest(rawValue: 16) }
    /// Updates no callback takes (a stop order triggered, a venue's status confirming an
    /// order): for exports.
    @inlinable public static var uncalled: OrderUpdateInterest { OrderUpdateInterest(rawValue: 32) }
    @inlinable public static var all: OrderUpdateInterest { OrderUpdateInterest(rawValue: 63) }

    /// The interest an update needs: of a report of `kind` leaving its order open or not.
    @inlinable @inline(__always)
    public init(_ kind: ExecutionKind, open: Bool) {
        switch kind {
        case .accepted: self = .accepted
        case .rejected: self = .rejected
        case .partiallyFilled, .filled: self = .fills
        case .cancelled: self = .cancelled
        case .replaced: self = .replaced
        case .triggered: self = .uncalled
        case .status: self = open ? .uncalled : .cancelled
        }
    }

    /// Whether an update needing `needed` (one kind's interest) is wanted.
    @inlinable @inline(__always)
    public func wants(_ needed: OrderUpdateInterest) -> Bool { rawValue & needed.rawValue != 0 }
}

/// The instruments a strategy trades when its configuration names none.
public enum DefaultInstruments: Sendable {
    /// Every instrument of the hosted venue, or every market-data instrument without one.
    case hostedOrMarketData
    /// Every market-data instrument (trades and quotes print there).
    case marketData
}

extension Strategy {
    public static var defaultInstruments: DefaultInstruments { .hostedOrMarketData }
    public static var marketData: MarketDataInterest { .all }
    @inlinable public static var orderUpdates: OrderUpdateInterest { .all }
    @inlinable public mutating func onStart(_ context: inout StrategyContext) {}
    @inlinable public mutating func onStop(_ context: inout StrategyContext) {}
    @inlinable public mutating func onBook(_ instrument: InstrumentID, _ context: inout StrategyContext) {}
    @inlinable public mutating func onQuote(_ quote: Quote, instrument: InstrumentID, _ context: inout StrategyContext)
    {}
    @inlinable public mutating func onTrade(_ trade: Trade, instrument: InstrumentID, _ context: inout StrategyContext)
    {}
    @inlinable public mutating func onOrderAccepted(_ update: OrderUpdate, _ context: inout StrategyContext) {}
    @inlinable public mutating func onOrderRejected(_ update: OrderUpdate, _ context: inout StrategyContext) {}
    @inlinable public mutating func onOrderFilled(_ update: OrderUpdate, _ context: inout StrategyContext) {}
    @inlinable public mutating func onOrderCancelled(_ update: OrderUpdate, _ context: inout StrategyContext) {}
    @inlinable public mutating func onOrderReplaced(_ update: OrderUpdate, _ context: inout StrategyContext) {}
    @inlinable public mutating func onTimer(_ timer: TimerFired, _ context: inout StrategyContext) {}
    @inlinable
    public mutating func onOpportunity(_ opportunity: MempoolOpportunity, _ context: inout StrategyContext) {}
    @inlinable
    public mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {}
}

/// A strategy that decides on each mid of its instruments: a quote event, or any change of a
/// two-sided book. It implements `sample`; `onBook` and `onQuote` come from here.
public protocol MidSampling: Strategy {
    /// Its instruments, in configuration order (`sample` gets the index).
    var instruments: [InstrumentID] { get }
    /// One mid of `instruments[index]`.
    mutating func sample(_ mid: MidPrice, _ index: Int, _ context: inout StrategyContext)
}

extension MidSampling {
    @inlinable
    public static var marketData: MarketDataInterest { [.books, .quotes] }

    @inlinable
    public mutating func onBook(_ instrument: InstrumentID, _ context: inout StrategyContext) {
        guard let index = instruments.firstIndex(of: instrument), let mid = context.mid(instrument) else { return }
        sample(mid, index, &context)
    }

    @inlinable
    public mutating func onQuote(_ quote: Quote, instrument: InstrumentID, _ context: inout StrategyContext) {
        // A one-sided quote (a missing side is price 0) has no mid.
        guard let index = instruments.firstIndex(of: instrument), quote.bidPrice.ticks > 0, quote.askPrice.ticks > 0
        else { return }
        sample(MidPrice(bid: quote.bidPrice, ask: quote.askPrice), index, &context)
    }
}

/// One callback with its argument (order updates apart: see `OrderUpdate.deliver`): how the
/// engine hands a strategy anything, so that one `deliver` serves every strategy type (a
/// switch the compiler specialises per type). At most 80 bytes, cheap to pass.
@frozen
public enum StrategyCall: Sendable {
    case start
    case stop
    case book(InstrumentID)
    case quote(Quote, InstrumentID)
    case trade(Trade, InstrumentID)
    case timer(TimerFired)
    case opportunity(MempoolOpportunity)

    /// The interest a strategy needs to be given this call (none for calls every strategy gets).
    @inlinable
    public var interest: MarketDataInterest {
        switch self {
        case .book: return .books
        case .quote: return .quotes
        case .trade: return .trades
        case .start, .stop, .timer, .opportunity: return []
        }
    }

    /// Calls the callback of `strategy` that this call names.
    @inlinable
    public func deliver<S: Strategy>(to strategy: inout S, _ context: inout StrategyContext) {
        switch self {
        case .start: strategy.onStart(&context)
        case .stop: strategy.onStop(&context)
        case .book(let instrument): strategy.onBook(instrument, &context)
        case .quote(let quote, let instrument): strategy.onQuote(quote, instrument: instrument, &context)
        case .trade(let trade, let instrument): strategy.onTrade(trade, instrument: instrument, &context)
        case .timer(let timer): strategy.onTimer(timer, &context)
        case .opportunity(let opportunity): strategy.onOpportunity(opportunity, &context)
        }
    }
}

extension OrderUpdate {
    /// Calls the callback of `strategy` for this update's kind, if `S.orderUpdates` has it.
    @inlinable
    public func deliver<S: Strategy>(to strategy: inout S, _ context: inout StrategyContext) {
        guard S.orderUpdates.wants(OrderUpdateInterest(report.kind, open: order.state.isOpen)) else { return }
        switch report.kind {
        case .accepted: strategy.onOrderAccepted(self, &context)
        case .rejected: strategy.onOrderRejected(self, &context)
        case .partiallyFilled, .filled: strategy.onOrderFilled(self, &context)
        case .cancelled: strategy.onOrderCancelled(self, &context)
        case .replaced: strategy.onOrderReplaced(self, &context)
        case .triggered: break
        // Reconciliation: an order its venue no longer holds ends cancelled (reason
        // `unknown-order-id`); one it confirms needs no callback.
        case .status: if !order.state.isOpen { strategy.onOrderCancelled(self, &context) }
        }
    }
}

/// A back-run opportunity the mempool analysis found, as strategies see it.
@frozen
public struct MempoolOpportunity: Hashable, Sendable, BitwiseCopyable {
    /// The first 8 bytes of the victim transaction's hash, big-endian.
    public var victimHashPrefix: UInt64
    /// Wei in, wei out of the back-run, the gas it costs, and what is left (out − in − gas).
    public var amountIn: UInt128
    public var amountOut: UInt128
    public var gasCost: UInt128
    public var netProfit: Int128

    @inlinable
    public init(victimHashPrefix: UInt64, amountIn: UInt128, amountOut: UInt128, gasCost: UInt128, netProfit: Int128) {
        self.victimHashPrefix = victimHashPrefix
        self.amountIn = amountIn
        self.amountOut = amountOut
        self.gasCost = gasCost
        self.netProfit = netProfit
    }
}

/// A strategy that does nothing: the custom slot's type when no outside strategy is used.
public struct IdleStrategy: Strategy, Sendable {
    public static let name = "idle"
    public init() {}
    public init(_ configuration: StrategyConfiguration) {}
}
