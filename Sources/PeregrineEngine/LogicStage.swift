import PeregrineBook
import PeregrineCore
import PeregrineMempool
import PeregrineModel
import PeregrineStrategy
import PeregrineSys

/// Sends a strategy's transactions to the bundle builder, and sealed bundles to the bundle
/// ring. Space in the ring is reserved before each batch, so `emit` never has to wait.
public struct BundleOutput: ~Copyable, TransactionSink {
    @usableFromInline var builder: BundleBuilder
    @usableFromInline var producer: SPSCProducer<Bundle>
    @usableFromInline var now: UInt64 = 0
    @usableFromInline var emittedThisEvent = 0
    @usableFromInline var _transactions = 0
    @usableFromInline var _rejected = 0
    @usableFromInline var _bundles = 0
    public var transactions: Int { _transactions }
    public var rejected: Int { _rejected }
    public var bundles: Int { _bundles }

    @inlinable
    public mutating func emit(_ transaction: Transaction) -> Bool {
        guard emittedThisEvent < Bundle.capacity else {
            _rejected &+= 1
            return false
        }
        emittedThisEvent &+= 1
        _transactions &+= 1
        if let sealed = builder.add(transaction, now: now) { push(sealed) }
        return true
    }

    @inlinable
    mutating func push(_ bundle: Bundle) {
        // Cannot fail: the logic stage reserved room for every bundle its batch can seal.
        _ = producer.tryPush(bundle)
        _bundles &+= 1
    }
}

/// The logic stage: consumer 1 of the inbound ring (after the journal). For every event it
/// updates the books, runs the strategy, feeds the bundle builder, and sends an `Outcome` to
/// the sink; at batch ends it seals a timed-out bundle.
///
/// Single-threaded owner of books, strategy and builder. Before each batch it makes sure the
/// outbound rings have room for everything the batch can produce; if not, it calls
/// `whileBlocked` (the shared topology drains the sink there; the dedicated one waits).
/// No allocation per event.
/// Where the logic stage's matching engine sends execution reports: the report ring to the
/// sink. When the ring is full it runs the batch's "while blocked" action (which drains the
/// sink on a shared thread, or waits for it) until there is room: reports are never dropped.
public struct ReportOutput: ~Copyable, ExecutionReportSink {
    @usableFromInline var producer: SPSCProducer<ExecutionReport>
    /// Set for the length of one batch (see `LogicStage.poll`).
    @usableFromInline var whileFull: (() -> Void)?
    @usableFromInline var emittedThisEvent = 0
    @usableFromInline var _reports = 0
    public var reports: Int { _reports }

    @inlinable
    init(producer: consuming SPSCProducer<ExecutionReport>) {
        self.producer = producer
        whileFull = nil
    }

    @inlinable
    public mutating func accept(_ report: ExecutionReport) {
        while !producer.tryPush(report) {
            if let whileFull { whileFull() } else { pg_cpu_relax() }
        }
        emittedThisEvent &+= 1
        _reports &+= 1
    }
}

public struct LogicStage<S: Strategy>: ~Copyable {
    @usableFromInline var consumer: SequencedConsumer<Event>
    @usableFromInline var books: BookSet
    @usableFromInline var strategy: S
    @usableFromInline var output: BundleOutput
    @usableFromInline var outcomes: SPSCProducer<Outcome>
    /// The venue: order commands go to its books; nil when the run has no order flow.
    @usableFromInline var venue: MatchingEngine?
    @usableFromInline var reports: ReportOutput
    @usableFromInline let clock: CycleClock
    @usableFromInline let batchLimit: Int
    /// Bundles one event can seal at worst: its transactions at the configured bundle size,
    /// plus the one a timeout seals.
    @usableFromInline let bundlesPerEvent: Int
    @usableFromInline var _processed: Int = 0
    public var processed: Int { _processed }

    public init(
        consumer: consuming SequencedConsumer<Event>, books: consuming BookSet, strategy: S,
        builder: BundleBuilder, bundles: consuming SPSCProducer<Bundle>, outcomes: consuming SPSCProducer<Outcome>,
        venue: consuming MatchingEngine?, reports: consuming SPSCProducer<ExecutionReport>, clock: CycleClock,
        batchLimit: Int
    ) {
        self.venue = venue
        self.reports = ReportOutput(producer: reports)
        self.consumer = consumer
        self.books = books
        self.strategy = strategy
        self.output = BundleOutput(builder: builder, producer: bundles)
        self.outcomes = outcomes
        self.clock = clock
        self.batchLimit = batchLimit
        bundlesPerEvent = (Bundle.capacity + builder.maxTransactions - 1) / builder.maxTransactions + 1
    }

    /// Handles one batch of available events; returns how many (0 when none is available).
    @inlinable
    public mutating func poll(whileBlocked: () -> Void) -> Int {
        guard let available = consumer.available(limit: batchLimit) else { return 0 }
        var limit = reservableEvents(wanted: available.count)
        while limit == 0 {
            whileBlocked()
            limit = reservableEvents(wanted: available.count)
        }
        let range = SequenceRange(first: available.first, count: limit)
        output.now = clock.now()
        withoutActuallyEscaping(whileBlocked) { blocked in
            reports.whileFull = blocked
            var sequence = range.first
            while sequence <= range.last {
                handle(consumer.element(sequence), sequence: sequence)
                sequence &+= 1
            }
            reports.whileFull = nil
        }
        consumer.finish(range)
        if let sealed = output.builder.poll(now: output.now) { output.push(sealed) }
        _processed &+= range.count
        return range.count
    }

    /// How many of `wanted` events the outbound rings have room for, for their outcomes and
    /// the bundles they can seal.
    @inlinable
    mutating func reservableEvents(wanted: Int) -> Int {
        var outcomeRoom = outcomes.knownFreeCapacity
        if outcomeRoom < wanted { outcomeRoom = outcomes.refreshFreeCapacity() }
        var bundleRoom = output.producer.knownFreeCapacity
        if bundleRoom < wanted &* bundlesPerEvent { bundleRoom = output.producer.refreshFreeCapacity() }
        return Swift.min(wanted, outcomeRoom, Swift.max(bundleRoom &- 1, 0) / bundlesPerEvent)
    }

    @inlinable
    mutating func handle(_ event: Event, sequence: Int) {
        reports.emittedThisEvent = 0
        let top: BestBidOffer?
        switch event.payload {
        case .levelUpdate(let update):
            books.apply(update, to: event.instrument)
            top = books.bestBidOffer(event.instrument)
        case .order(let command):
            venue?.process(command, instrument: event.instrument, sink: &reports)
            top = venue?.bestBidOffer(event.instrument)
        default:
            top = books.bestBidOffer(event.instrument)
        }
        output.emittedThisEvent = 0
        strategy.onEvent(event, books: books, sink: &output)
        let outcome = Outcome(
            sequence: Int64(sequence), ingressTimestamp: event.timestamp, instrument: event.instrument,
            kind: event.payload.kind, bestBidTicks: top?.bid?.price.ticks ?? Outcome.noPrice,
            bestAskTicks: top?.ask?.price.ticks ?? Outcome.noPrice,
            transactionsEmitted: UInt8(truncatingIfNeeded: output.emittedThisEvent),
            reportsEmitted: UInt16(clamping: reports.emittedThisEvent))
        // Cannot fail: room was reserved for the whole batch.
        _ = outcomes.tryPush(outcome)
    }

    /// Seals the open bundle if it has timed out at `now`; for idle loops. Returns whether
    /// a bundle was sealed.
    @inlinable
    public mutating func sealTimedOutBundle(now: UInt64, whileBlocked: () -> Void) -> Bool {
        guard output.builder.deadline.map({ now >= $0 }) ?? false else { return false }
        while output.producer.refreshFreeCapacity() == 0 { whileBlocked() }
        if let sealed = output.builder.poll(now: now) {
            output.push(sealed)
            return true
        }
        return false
    }

    /// Seals whatever the builder holds (shutdown).
    public mutating func flushBundles(whileBlocked: () -> Void) {
        while output.producer.refreshFreeCapacity() == 0 { whileBlocked() }
        if let sealed = output.builder.flush() { output.push(sealed) }
    }

    /// Whether every event the journal has passed has been handled.
    @inlinable public mutating func isCaughtUp() -> Bool { consumer.isCaughtUp() }

    @inlinable public var transactions: Int { output.transactions }
    @inlinable public var rejectedTransactions: Int { output.rejected }
    @inlinable public var bundles: Int { output.bundles }
    /// The books' counters (updates, out-of-ladder rejects, re-centrings).
    public var bookCounters: BookCounters { books.counters }
    /// What the venue's books have done (zero without order flow).
    public var venueCounters: MatchingCounters {
        switch venue {
        case .some(let engine): return engine.counters
        case .none: return MatchingCounters()
        }
    }
    @inlinable public var reportsEmitted: Int { reports.reports }
}
