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
        hasher.combine(outcome.transactionsEmitted)
        hasher.combine(outcome.reportsEmitted)
    }

    public mutating func fold(_ bundle: Bundle) { bundle.combine(into: &hasher) }

    public mutating func fold(_ report: ExecutionReport) { report.combine(into: &hasher) }
}

/// Collects the transactions a strategy emits for one event (at most `Bundle.capacity`).
public struct TransactionBatch: TransactionSink {
    @usableFromInline var transactions: InlineArray<16, Transaction>
    @usableFromInline var count = 0
    @usableFromInline var refused = 0

    @inlinable
    init() {
        transactions = InlineArray(
            repeating: Transaction(
                id: 0, instrument: InstrumentID(0), side: .buy, price: Price(ticks: 0), quantity: .zero,
                origin: .strategy))
    }

    @inlinable
    public mutating func emit(_ transaction: Transaction) -> Bool {
        guard count < Bundle.capacity else {
            refused &+= 1
            return false
        }
        transactions[count] = transaction
        count &+= 1
        return true
    }
}

/// The engine's logic: everything the logic thread does with one input event, with no rings,
/// clocks or threads, so that the live run, `peregrine replay` and recovery run exactly the
/// same code. A pure function of the journaled events: time is the events' timestamps.
///
/// Per event: seal the open bundle if its timeout has passed; apply the event (L2 book
/// update, or an order command to the matching engine); run the strategy and add what it
/// emits to the bundle builder; flush on a session-end timer; then one `Outcome`.
/// Allocation-free per event. Single-threaded.
public struct EngineLogic<S: Strategy>: ~Copyable {
    @usableFromInline var books: BookSet
    @usableFromInline var strategy: S
    @usableFromInline var builder: BundleBuilder
    @usableFromInline var venue: MatchingEngine?
    /// Reused for every event (emptied, not rebuilt): the strategy's transactions.
    @usableFromInline var batch = TransactionBatch()
    @usableFromInline var _processed = 0
    @usableFromInline var _transactions = 0
    @usableFromInline var _refusedTransactions = 0
    @usableFromInline var _bundles = 0
    /// The sequence of the last event handled, -1 before the first.
    @usableFromInline var _lastSequence: Int64 = -1

    public var processed: Int { _processed }
    public var transactions: Int { _transactions }
    public var refusedTransactions: Int { _refusedTransactions }
    public var bundles: Int { _bundles }
    public var lastSequence: Int64 { _lastSequence }
    /// Transactions waiting in the open bundle.
    public var pendingTransactions: Int { builder.pendingCount }
    public var bookCounters: BookCounters { books.counters }
    /// Runs `body` with `instrument`'s L2 book, or returns nil when it has none.
    public func withBook<R>(_ instrument: InstrumentID, _ body: (borrowing L2Book) -> R) -> R? {
        books.withBook(instrument, body)
    }
    /// The matching engine's counters (zero without order flow).
    public var venueCounters: MatchingCounters {
        switch venue {
        case .some(let engine): return engine.counters
        case .none: return MatchingCounters()
        }
    }

    /// The most bundles one event can seal: a timed-out one, those the strategy's at most 16
    /// transactions fill, and a session-end flush.
    public var bundlesPerEvent: Int { (Bundle.capacity + builder.maxTransactions - 1) / builder.maxTransactions + 2 }

    public init(configuration: EngineConfiguration, strategy: S) throws(EngineError) {
        let books = try Self.makeBooks(configuration)
        let builder = try Self.makeBuilder(configuration)
        let venue = try Self.makeVenue(configuration)
        self.books = books
        self.builder = builder
        self.venue = venue
        self.strategy = strategy
    }

    static func makeBooks(_ configuration: EngineConfiguration) throws(EngineError) -> BookSet {
        do { return try BookSet(count: configuration.instruments) } catch {
            throw .book(error)
        }
    }

    static func makeBuilder(_ configuration: EngineConfiguration) throws(EngineError) -> BundleBuilder {
        do {
            return try BundleBuilder(
                maxTransactions: configuration.bundleSize,
                timeoutNanoseconds: UInt64(configuration.bundleTimeoutMicroseconds) * 1_000)
        } catch {
            throw .invalidSetting(name: "bundle-size", value: "\(configuration.bundleSize)", allowed: error.description)
        }
    }

    static func makeVenue(_ configuration: EngineConfiguration) throws(EngineError) -> MatchingEngine? {
        guard configuration.orderFlowPercent > 0 else { return nil }
        do {
            return try MatchingEngine(
                specs: SyntheticMarket.venueSpecs(
                    instruments: configuration.instruments, orderCapacity: configuration.venueOrderCapacity))
        } catch {
            throw .book(error)
        }
    }

    /// Handles the event with journal sequence `sequence`, sending outputs to `outputs`.
    @inlinable
    public mutating func handle<Outputs: OutputSink & ~Copyable>(
        _ event: Event, sequence: Int64, outputs: inout Outputs
    ) {
        let now = event.timestamp
        if let sealed = builder.poll(now: now) { emit(sealed, to: &outputs) }
        let reportsBefore = outputs.reportCount
        let top: BestBidOffer?
        switch event.payload {
        case .levelUpdate(let update):
            books.apply(update, to: event.instrument)
            top = books.bestBidOffer(event.instrument)
        case .order(let command):
            venue?.process(command, instrument: event.instrument, sink: &outputs)
            top = venue?.bestBidOffer(event.instrument)
        case .clearBook:
            books.clear(event.instrument)
            top = books.bestBidOffer(event.instrument)
        default:
            top = books.bestBidOffer(event.instrument)
        }
        batch.count = 0
        batch.refused = 0
        strategy.onEvent(event, books: books, sink: &batch)
        _refusedTransactions &+= batch.refused
        for index in 0..<batch.count {
            _transactions &+= 1
            if let sealed = builder.add(batch.transactions[index], now: now) { emit(sealed, to: &outputs) }
        }
        if case .timer(let timer) = event.payload, timer.timerID == TimerFire.sessionEnd,
            let sealed = builder.flush()
        {
            emit(sealed, to: &outputs)
        }
        outputs.outcome(
            Outcome(
                sequence: sequence, ingressTimestamp: event.timestamp, instrument: event.instrument,
                kind: event.payload.kind, bestBidTicks: top?.bid?.price.ticks ?? Outcome.noPrice,
                bestAskTicks: top?.ask?.price.ticks ?? Outcome.noPrice,
                transactionsEmitted: UInt8(truncatingIfNeeded: batch.count),
                reportsEmitted: UInt16(clamping: outputs.reportCount &- reportsBefore)))
        _processed &+= 1
        _lastSequence = sequence
    }

    @inlinable
    mutating func emit<Outputs: OutputSink & ~Copyable>(_ bundle: Bundle, to outputs: inout Outputs) {
        _bundles &+= 1
        outputs.bundle(bundle)
    }

    static var snapshotMagic: UInt32 { 0x4C45_4750 }  // "PGEL"
    /// 2: L2 books hold every level (no ladder position) since 2026-11-29; a version-1 payload
    /// (ladder books) is still read: its levels are loaded as they were held.
    /// 3: matching books have no price band (the last trade is a price, not a band index);
    /// versions 1 and 2 are still read, their band index turned into a price.
    static var snapshotVersion: UInt16 { 3 }

    /// Writes the whole logic state and the output hash so far (a snapshot's payload).
    /// Call between events. O(state).
    public func encodeState(outputHash: UInt64, into encoder: inout SnapshotEncoder) {
        encoder.write(Self.snapshotMagic)
        encoder.write(Self.snapshotVersion)
        encoder.write(_lastSequence)
        for value in [_processed, _transactions, _refusedTransactions, _bundles] { encoder.write(Int64(value)) }
        encoder.write(outputHash)
        books.encodeState(into: &encoder)
        builder.encodeState(into: &encoder)
        strategy.encodeState(into: &encoder)
        switch venue {
        case .some(let engine):
            encoder.write(true)
            engine.encodeState(into: &encoder)
        case .none:
            encoder.write(false)
        }
    }

    /// Loads what `encodeState` wrote into this fresh logic (built with the same settings);
    /// returns the output hash to continue from.
    public mutating func restoreState(from decoder: inout SnapshotDecoder) throws(SnapshotError) -> OutputHasher {
        let magic = try decoder.read(UInt32.self, "magic")
        let version = try decoder.read(UInt16.self, "version")
        guard magic == Self.snapshotMagic, (1...Self.snapshotVersion).contains(version) else {
            throw .mismatch("not an engine-logic snapshot of versions 1 to \(Self.snapshotVersion)")
        }
        _lastSequence = try decoder.read(Int64.self, "last sequence")
        _processed = Int(try decoder.read(Int64.self, "processed"))
        _transactions = Int(try decoder.read(Int64.self, "transactions"))
        _refusedTransactions = Int(try decoder.read(Int64.self, "refused transactions"))
        _bundles = Int(try decoder.read(Int64.self, "bundles"))
        let hasher = OutputHasher(resumingAt: try decoder.read(UInt64.self, "output hash"))
        try books.restoreState(from: &decoder, version: version)
        try builder.restoreState(from: &decoder)
        try strategy.restoreState(from: &decoder)
        let hasVenue = try decoder.readBool("venue")
        let configured = venue != nil
        guard hasVenue == configured else {
            throw .mismatch(
                hasVenue
                    ? "snapshot has a matching engine; this run has no order flow" : "snapshot has no matching engine")
        }
        if hasVenue, let books = venue?.count {
            let legacy = version < 3 ? SyntheticMarket.legacyVenueBandLows(instruments: books) : nil
            try venue?.restoreState(from: &decoder, legacyBandLows: legacy)
        }
        guard decoder.isAtEnd else {
            throw .invalid(field: "trailing bytes", value: Int64(decoder.bytes.count - decoder.offset))
        }
        return hasher
    }

    /// A fingerprint of the whole logic state: the L2 books, the matching engine, the open
    /// bundle, the strategy and the counters. Equal on every machine for equal states.
    public func stateHash() -> UInt64 {
        var hasher = StateHasher()
        hasher.combine(_lastSequence)
        hasher.combine(_processed)
        hasher.combine(_transactions)
        hasher.combine(_refusedTransactions)
        hasher.combine(_bundles)
        books.combineState(into: &hasher)
        builder.combineState(into: &hasher)
        strategy.combineState(into: &hasher)
        switch venue {
        case .some(let engine): hasher.combine(engine.stateHash())
        case .none: hasher.combine(0 as UInt64)
        }
        return hasher.value
    }
}

/// Outputs that are only counted and hashed: for replay and recovery.
public struct HashingOutputs: OutputSink {
    public var hasher = OutputHasher()
    public private(set) var outcomes = 0
    public private(set) var bundles = 0
    public private(set) var bundleTransactions = 0
    public private(set) var reportCount = 0
    public private(set) var fills = 0
    /// Called with each output when set (for `peregrine replay --print`).
    public var printer: ((String) -> Void)?

    public init(hasher: OutputHasher = OutputHasher()) { self.hasher = hasher }

    public mutating func outcome(_ outcome: Outcome) {
        outcomes += 1
        hasher.fold(outcome)
    }

    public mutating func bundle(_ bundle: Bundle) {
        bundles += 1
        bundleTransactions += bundle.count
        hasher.fold(bundle)
        printer?("bundle \(bundle.id) opened \(bundle.openedAt) transactions \(bundle.count)")
    }

    public mutating func accept(_ report: ExecutionReport) {
        reportCount += 1
        if report.isFill { fills += 1 }
        hasher.fold(report)
        printer?("report \(report.instrument) \(report)")
    }
}
