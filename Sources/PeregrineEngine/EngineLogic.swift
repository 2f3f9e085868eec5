import PeregrineBook
import PeregrineCore
import PeregrineMempool
import PeregrineModel
import PeregrineStrategy

/// A running hash of every output, in order: FNV-1a over each field (see
/// `StateHasher+Model.swift`). The value after event N is the engine's "output hash".
public struct OutputHasher: Sendable {
    public private(set) var hasher = StateHasher()
    public init() {}
    /// Continues from an earlier `value` (restored from a snapshot).
    public init(resumingAt value: UInt64) { hasher = StateHasher(resumingAt: value) }
    public var value: UInt64 { hasher.value }

    public mutating func fold(_ outcome: Outcome) {
        hasher.combine(outcome.sequence)
        hasher.combine(outcome.kind.rawValue)
        hasher.combine(outcome.instrument.rawValue)
        hasher.combine(outcome.bestBidTicks)
        hasher.combine(outcome.bestAskTicks)
        hasher.combine(outcome.ordersSubmitted)
        hasher.combine(outcome.reportsEmitted)
    }

    public mutating func fold(_ order: VenueOrder) { order.combine(into: &hasher) }

    public mutating func fold(_ report: ExecutionReport) { report.combine(into: &hasher) }

    public mutating func fold(_ leg: borrowing BundleLeg) { leg.combine(into: &hasher) }

    public mutating func fold(_ seal: BundleSeal) { seal.combine(into: &hasher) }
}

/// Collects the orders a strategy submits for one event (at most `Strategy.maxOrdersPerEvent`).
public struct OrderBatch: OrderSink {
    @usableFromInline var commands: InlineArray<16, OrderCommand>
    @usableFromInline var instruments: InlineArray<16, InstrumentID>
    @usableFromInline var count = 0
    @usableFromInline var refused = 0

    @inlinable
    init() {
        commands = InlineArray(repeating: .cancel(OrderID(0), account: AccountID(0)))
        instruments = InlineArray(repeating: InstrumentID(0))
    }

    @inlinable
    public mutating func submit(_ command: OrderCommand, instrument: InstrumentID) -> Bool {
        guard count < 16 else {
            refused &+= 1
            return false
        }
        commands[count] = command
        instruments[count] = instrument
        count &+= 1
        return true
    }
}

/// The engine's logic: everything the logic thread does with one input event, with no rings,
/// clocks or threads, so that the live run, `peregrine replay` and recovery run exactly the
/// same code. A pure function of the journaled events: time is the events' timestamps.
///
/// Per event: apply the event to its instrument's one book (`InstrumentBooks`: market data to
/// an L2 book, an order command to the hosted venue's order book); run the strategy; match
/// each order it submits for a hosted instrument there and then, and send each other one out
/// as a `VenueOrder`; then one `Outcome`. Allocation-free per event. Single-threaded.
public struct EngineLogic<S: Strategy>: ~Copyable {
    @usableFromInline var books: InstrumentBooks
    @usableFromInline var strategy: S
    /// The mempool analysis, used only when `hasMempool` (the settings have one). Not an
    /// optional: reaching into an optional noncopyable value moves it out and back (a copy of
    /// its bytes per event); an idle one costs a few kilobytes.
    @usableFromInline var mempool: MempoolLogic
    @usableFromInline let hasMempool: Bool
    /// Reused for every event (emptied, not rebuilt): the strategy's orders.
    @usableFromInline var batch = OrderBatch()
    @usableFromInline var _processed = 0
    @usableFromInline var _orders = 0
    @usableFromInline var _refusedOrders = 0
    @usableFromInline var _venueOrders = 0
    /// The sequence of the last event handled, -1 before the first.
    @usableFromInline var _lastSequence: Int64 = -1

    public var processed: Int { _processed }
    /// Orders the strategy submitted.
    public var orders: Int { _orders }
    /// Orders refused beyond `Strategy.maxOrdersPerEvent` in one event.
    public var refusedOrders: Int { _refusedOrders }
    /// Orders sent out for a venue this engine does not host.
    public var venueOrders: Int { _venueOrders }
    public var lastSequence: Int64 { _lastSequence }
    public var bookCounters: BookCounters { books.bookCounters }
    /// The hosted venue's counters (zero without order flow).
    public var venueCounters: MatchingCounters { books.venueCounters }
    /// The mempool analysis' counters (nil without one).
    @inlinable
    public var mempoolCounters: MempoolCounters? { hasMempool ? mempool.counters : nil }

    /// Runs `body` with the books (each instrument's one book).
    public func withBooks<R>(_ body: (borrowing InstrumentBooks) -> R) -> R { body(books) }

    public init(configuration: EngineConfiguration, strategy: S) throws(EngineError) {
        let levels: BookSet
        do { levels = try BookSet(count: configuration.instruments) } catch { throw .book(error) }
        let venue = try Self.makeVenue(configuration)
        let mempool = try Self.makeMempool(configuration)
        hasMempool = configuration.mempool != nil
        books = InstrumentBooks(levels: levels, venue: venue)
        self.strategy = strategy
        self.mempool = mempool
    }

    static func makeMempool(_ configuration: EngineConfiguration) throws(EngineError) -> MempoolLogic {
        let settings = configuration.mempool ?? .idle
        do { return try MempoolLogic(settings: settings) } catch {
            throw .invalidSetting(name: "mempool", value: "\(settings)", allowed: error.description)
        }
    }

    /// The hosted venue's books, one per instrument of `configuration.hostedInstruments`.
    static func makeVenue(_ configuration: EngineConfiguration) throws(EngineError) -> MatchingEngine? {
        let hosted = configuration.hostedInstruments
        guard !hosted.isEmpty else { return nil }
        do {
            return try MatchingEngine(
                specs: hosted.map {
                    InstrumentSpec(
                        instrument: InstrumentID(UInt32(truncatingIfNeeded: $0)),
                        orderCapacity: configuration.venueOrderCapacity)
                })
        } catch {
            throw .book(error)
        }
    }

    /// Handles the event with journal sequence `sequence`, sending outputs to `outputs`.
    @inlinable
    public mutating func handle<Outputs: OutputSink & ~Copyable>(
        _ event: Event, sequence: Int64, outputs: inout Outputs
    ) {
        let reportsBefore = outputs.reportCount
        switch event.payload {
        case .levelUpdate(let update): books.apply(update, to: event.instrument)
        case .order(let command): books.process(command, instrument: event.instrument, sink: &outputs)
        case .clearBook: books.clear(event.instrument)
        default: break
        }
        if hasMempool { handleMempool(event, sequence: sequence, outputs: &outputs) }
        batch.count = 0
        batch.refused = 0
        strategy.onEvent(event, books: books, orders: &batch)
        _refusedOrders &+= batch.refused
        for index in 0..<batch.count {
            _orders &+= 1
            route(
                batch.commands[index], instrument: batch.instruments[index], event: event, sequence: sequence,
                outputs: &outputs)
        }
        let top = books.bestBidOffer(event.instrument)
        outputs.outcome(
            Outcome(
                sequence: sequence, ingressTimestamp: event.timestamp, instrument: event.instrument,
                kind: event.payload.kind, bestBidTicks: top?.bid?.price.ticks ?? Outcome.noPrice,
                bestAskTicks: top?.ask?.price.ticks ?? Outcome.noPrice,
                ordersSubmitted: UInt8(truncatingIfNeeded: batch.count),
                reportsEmitted: UInt16(clamping: outputs.reportCount &- reportsBefore)))
        _processed &+= 1
        _lastSequence = sequence
    }

    /// The mempool analysis of one event. Never inlined: its code and its 2 KB bundle-leg
    /// temporaries would otherwise sit in every event's path (measured: 22% fewer events/s
    /// through the pipeline without a mempool).
    @inlinable @inline(never)
    mutating func handleMempool<Outputs: OutputSink & ~Copyable>(
        _ event: Event, sequence: Int64, outputs: inout Outputs
    ) {
        mempool.handle(event, sequence: sequence, sink: &outputs)
    }

    /// Matches an order for a hosted instrument; sends any other out for its venue.
    @inlinable
    mutating func route<Outputs: OutputSink & ~Copyable>(
        _ command: OrderCommand, instrument: InstrumentID, event: Event, sequence: Int64, outputs: inout Outputs
    ) {
        if books.isHosted(instrument) {
            books.process(command, instrument: instrument, sink: &outputs)
            return
        }
        _venueOrders &+= 1
        outputs.order(
            VenueOrder(command: command, instrument: instrument, sequence: sequence, decidedAt: event.timestamp))
    }

    static var snapshotMagic: UInt32 { 0x4C45_4750 }  // "PGEL"
    /// 5 (2026-11-29): the mempool analysis' state follows the strategy's (a flag, then
    /// `MempoolLogic`'s state); version 4, without it, is read as a logic without one.
    /// 4 (2026-11-29): strategies submit orders (no transaction bundles); each instrument has
    /// one book (the hosted venue's instruments follow the market-data ones). Versions 1 to 3
    /// held a bundle builder and another numbering of the venue's books: they are refused (a
    /// recovery skips such a snapshot and replays the journal, whose settings are refused in
    /// turn if they are of that build).
    static var snapshotVersion: UInt16 { 5 }

    /// Writes the whole logic state and the output hash so far (a snapshot's payload).
    /// Call between events. O(state).
    public func encodeState(outputHash: UInt64, into encoder: inout SnapshotEncoder) {
        encoder.write(Self.snapshotMagic)
        encoder.write(Self.snapshotVersion)
        encoder.write(_lastSequence)
        for value in [_processed, _orders, _refusedOrders, _venueOrders] { encoder.write(Int64(value)) }
        encoder.write(outputHash)
        books.encodeState(into: &encoder)
        strategy.encodeState(into: &encoder)
        encoder.write(hasMempool)
        if hasMempool { mempool.encodeState(into: &encoder) }
    }

    /// Loads what `encodeState` wrote into this fresh logic (built with the same settings);
    /// returns the output hash to continue from.
    public mutating func restoreState(from decoder: inout SnapshotDecoder) throws(SnapshotError) -> OutputHasher {
        let magic = try decoder.read(UInt32.self, "magic")
        guard magic == Self.snapshotMagic else { throw .mismatch("not an engine-logic snapshot") }
        let version = try decoder.read(UInt16.self, "version")
        guard version == Self.snapshotVersion || version == 4 else {
            throw .mismatch(
                "an engine-logic snapshot of version \(version); this build reads version \(Self.snapshotVersion) "
                    + (version < Self.snapshotVersion
                        ? "(an older build wrote it: use that build, or start a new journal)"
                        : "(a newer build wrote it: use that build)"))
        }
        _lastSequence = try decoder.read(Int64.self, "last sequence")
        _processed = Int(try decoder.read(Int64.self, "processed"))
        _orders = Int(try decoder.read(Int64.self, "orders"))
        _refusedOrders = Int(try decoder.read(Int64.self, "refused orders"))
        _venueOrders = Int(try decoder.read(Int64.self, "venue orders"))
        let hasher = OutputHasher(resumingAt: try decoder.read(UInt64.self, "output hash"))
        try books.restoreState(from: &decoder)
        try strategy.restoreState(from: &decoder)
        let hasMempool = version >= 5 ? try decoder.readBool("mempool") : false
        guard hasMempool == self.hasMempool else {
            throw .mismatch(
                hasMempool ? "it holds a mempool analysis; these settings have none" : "it holds no mempool analysis")
        }
        if hasMempool { try mempool.restoreState(from: &decoder) }
        guard decoder.isAtEnd else {
            throw .invalid(field: "trailing bytes", value: Int64(decoder.bytes.count - decoder.offset))
        }
        return hasher
    }

    /// A fingerprint of the whole logic state: every book, the strategy and the counters.
    /// Equal on every machine for equal states.
    public func stateHash() -> UInt64 {
        var hasher = StateHasher()
        hasher.combine(_lastSequence)
        hasher.combine(_processed)
        hasher.combine(_orders)
        hasher.combine(_refusedOrders)
        hasher.combine(_venueOrders)
        books.combineState(into: &hasher)
        strategy.combineState(into: &hasher)
        if hasMempool { mempool.combineState(into: &hasher) }
        return hasher.value
    }
}

/// Outputs that are only counted and hashed: for replay and recovery.
public struct HashingOutputs: OutputSink {
    public var hasher = OutputHasher()
    public private(set) var outcomes = 0
    public private(set) var orders = 0
    public private(set) var reportCount = 0
    public private(set) var fills = 0
    /// Called with each output when set (for `peregrine replay --print`).
    public var printer: ((String) -> Void)?
    /// Called with each sealed bundle's legs and seal when set (for `peregrine replay --bundles-out`).
    public var bundleSink: BundleRequestWriter?

    public init(hasher: OutputHasher = OutputHasher()) { self.hasher = hasher }

    public mutating func outcome(_ outcome: Outcome) {
        outcomes += 1
        hasher.fold(outcome)
    }

    public mutating func order(_ order: VenueOrder) {
        orders += 1
        hasher.fold(order)
        let command = order.command
        printer?(
            "order \(order.instrument) \(command.action) \(command.orderID) \(command.side) \(command.quantity)@\(command.price) "
                + "\(command.type) \(command.timeInForce) (event \(order.sequence))")
    }

    public mutating func accept(_ report: ExecutionReport) {
        reportCount += 1
        if report.isFill { fills += 1 }
        hasher.fold(report)
        printer?("report \(report.instrument) \(report)")
    }

    public mutating func bundleLeg(_ leg: borrowing BundleLeg) {
        hasher.fold(leg)
        bundleSink?.bundleLeg(leg)
        printer?(
            "bundle \(leg.bundleID) leg: victim \(leg.victimHash) (event \(leg.sequence)), back-run \(leg.backrunID) "
                + "net \(leg.netProfit) wei")
    }

    public mutating func bundleSealed(_ seal: BundleSeal) {
        hasher.fold(seal)
        bundleSink?.bundleSealed(seal)
        printer?(
            "bundle \(seal.bundleID) sealed: \(seal.legs) legs for block \(seal.targetBlock) (event \(seal.sequence))")
    }
}
