import PeregrineBook
import PeregrineCore
import PeregrineMempool
import PeregrineModel
import PeregrineStrategy
import PeregrineSys

/// A ring producer whose items never wait or drop at the push: an item that finds the ring
/// full waits, in order, in a buffer reserved at set-up, until `pushWaiting` moves it (the buffer
/// doubles if more wait). Allocation-free while the reserve holds; holds no reference (a plain
/// buffer, not an array), so reaching it through a pointer costs no retain.
@usableFromInline
struct OverflowingProducer<Element: BitwiseCopyable>: ~Copyable {
    @usableFromInline var producer: SPSCProducer<Element>
    /// Items waiting for room: `waiting[start ..< count]`, oldest first.
    @usableFromInline var waiting: UnsafeMutablePointer<Element>
    @usableFromInline var capacity: Int
    @usableFromInline var count = 0
    @usableFromInline var start = 0

    init(_ producer: consuming SPSCProducer<Element>, reserve: Int) {
        self.producer = producer
        capacity = Swift.max(reserve, 1)
        waiting = .allocate(capacity: capacity)
    }

    @inlinable deinit { waiting.deallocate() }

    /// Pushes `item`, or queues it behind those already waiting; returns whether it waits.
    @inlinable
    mutating func push(_ item: Element) -> Bool {
        if start == count, producer.tryPush(item) { return false }
        if count == capacity { grow() }
        waiting[count] = item
        count &+= 1
        return true
    }

    @usableFromInline @inline(never)
    mutating func grow() {
        let larger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
        larger.update(from: waiting, count: count)
        waiting.deallocate()
        waiting = larger
        capacity *= 2
    }

    /// Moves waiting items to the ring, oldest first, as far as they fit; true when none is
    /// left waiting.
    @inlinable
    mutating func pushWaiting() -> Bool {
        while start < count {
            guard producer.tryPush(waiting[start]) else { return false }
            start &+= 1
        }
        count = 0
        start = 0
        return true
    }
}

/// A sealed bundle's leg or its seal, as it crosses the bundle ring (legs first, then the seal).
@frozen
public enum BundleOutput: Sendable, BitwiseCopyable {
    case leg(BundleLeg)
    case seal(BundleSeal)
}

/// The live logic stage's outputs: four rings to the sink (outcomes, venue orders, reports, bundles). Outcomes always find room (the
/// stage reserves it before each batch). An execution report or a venue order that finds its
/// ring full waits, in order (`OverflowingProducer`); the stage moves it to the ring after the
/// event, running its "while blocked" action (drain the co-located sink, or wait for it) until
/// it fits, so nothing is dropped and no closure is kept. Every output is folded into the
/// output hash as it leaves.
public struct RingOutputs: ~Copyable, OutputSink {
    @usableFromInline var outcomes: SPSCProducer<Outcome>
    @usableFromInline var orders: OverflowingProducer<VenueOrder>
    @usableFromInline var reports: OverflowingProducer<ExecutionReport>
    @usableFromInline var bundles: OverflowingProducer<BundleOutput>
    /// Updates of the strategies' orders, for the export (only when one is written).
    @usableFromInline var updates: OverflowingProducer<StrategyOrderEvent>
    @usableFromInline let exportsUpdates: Bool
    public var hasher: OutputHasher
    /// Whether an output of any kind waits for room (one flag, read once per event).
    @usableFromInline var _hasWaitingOutputs = false
    @usableFromInline var _reportCount = 0
    public var reportCount: Int { _reportCount }

    init(
        outcomes: consuming SPSCProducer<Outcome>, orders: consuming SPSCProducer<VenueOrder>,
        reports: consuming SPSCProducer<ExecutionReport>, bundles: consuming SPSCProducer<BundleOutput>,
        updates: consuming SPSCProducer<StrategyOrderEvent>, exportsUpdates: Bool, hasher: OutputHasher
    ) {
        self.outcomes = outcomes
        self.updates = OverflowingProducer(updates, reserve: exportsUpdates ? Self.orderOverflowReserve : 0)
        self.exportsUpdates = exportsUpdates
        self.bundles = OverflowingProducer(bundles, reserve: Self.bundleOverflowReserve)
        self.orders = OverflowingProducer(orders, reserve: Self.orderOverflowReserve)
        self.reports = OverflowingProducer(reports, reserve: Self.overflowReserve)
        self.hasher = hasher
    }

    /// Reports one event may leave waiting without an allocation (a sweep through more
    /// resting orders than the report ring and this hold grows the array once).
    public static let overflowReserve = 4_096
    /// Venue orders that may wait without an allocation.
    public static let orderOverflowReserve = 256
    /// Bundle legs and seals that may wait without an allocation (two full bundles).
    public static let bundleOverflowReserve = 18

    /// Whether reports or orders are waiting for room in their rings.
    @inlinable
    public var hasWaitingOutputs: Bool { _hasWaitingOutputs }

    /// Moves waiting reports and orders to their rings, oldest first, as far as they fit;
    /// true when none is left waiting.
    @inlinable
    public mutating func pushWaitingOutputs() -> Bool {
        _hasWaitingOutputs =
            !(reports.pushWaiting() && orders.pushWaiting() && bundles.pushWaiting()
            && updates.pushWaiting())
        return !_hasWaitingOutputs
    }

    @inlinable
    public mutating func outcome(_ outcome: Outcome) {
        hasher.fold(outcome)
        _ = outcomes.tryPush(outcome)  // cannot fail: room was reserved for the batch
    }

    @inlinable
    public mutating func order(_ order: VenueOrder) {
        hasher.fold(order)
        if orders.push(order) { _hasWaitingOutputs = true }
    }

    @inlinable
    public mutating func orderUpdate(sequence: Int64, time: UInt64, _ update: OrderUpdate) {
        guard exportsUpdates else { return }
        if updates.push(StrategyOrderEvent(sequence: sequence, time: time, update: update)) {
            _hasWaitingOutputs = true
        }
    }

    @inlinable
    public mutating func accept(_ report: ExecutionReport) {
        hasher.fold(report)
        _reportCount &+= 1
        if reports.push(report) { _hasWaitingOutputs = true }
    }

    @inlinable
    public mutating func bundleLeg(_ leg: borrowing BundleLeg) {
        hasher.fold(leg)
        if bundles.push(.leg(copy leg)) { _hasWaitingOutputs = true }
    }

    @inlinable
    public mutating func bundleSealed(_ seal: BundleSeal) {
        hasher.fold(seal)
        if bundles.push(.seal(seal)) { _hasWaitingOutputs = true }
    }
}

/// The logic stage: consumer 1 of the inbound ring (it sees only what the journal stage has
/// passed), running `EngineLogic` on each event and sending its outputs to the sink's rings.
/// Events carry ring sequences; `baseSequence` turns them into journal sequences.
public struct LogicStage<S: Strategy>: ~Copyable {
    @usableFromInline var consumer: SequencedConsumer<Event>
    @usableFromInline var logic: EngineLogic<S>
    @usableFromInline var outputs: RingOutputs
    @usableFromInline let baseSequence: Int64
    @usableFromInline let batchLimit: Int
    /// The logic's counters when this run started (recovery replays count too): the stage
    /// reports this run's part.
    @usableFromInline let processedBefore: Int
    @usableFromInline let ordersBefore: Int
    @usableFromInline let refusedBefore: Int
    @usableFromInline let venueOrdersBefore: Int
    @usableFromInline let transactionsBefore: Int
    @usableFromInline let opportunitiesBefore: Int
    @usableFromInline let bundlesBefore: Int
    @usableFromInline let hasMempool: Bool
    /// When the strategies' positions were last published for the monitor (`poll`'s clock).
    @usableFromInline var tradingPublishedAt: UInt64 = 0
    @usableFromInline let snapshots: SnapshotTaker?
    @usableFromInline let wiring: Pipeline.Wiring
    /// The pipeline's control, unretained (`wiring` keeps it alive): read in idle loops
    /// without retain and release.
    @usableFromInline unowned(unsafe) let control: PipelineControl

    @usableFromInline
    init(
        consumer: consuming SequencedConsumer<Event>, logic: consuming EngineLogic<S>, baseSequence: Int64,
        outcomes: consuming SPSCProducer<Outcome>, orders: consuming SPSCProducer<VenueOrder>,
        reports: consuming SPSCProducer<ExecutionReport>, bundles: consuming SPSCProducer<BundleOutput>,
        updates: consuming SPSCProducer<StrategyOrderEvent>, exportsUpdates: Bool, hasher: OutputHasher,
        batchLimit: Int,
        snapshots: SnapshotTaker? = nil, wiring: Pipeline.Wiring
    ) {
        self.wiring = wiring
        control = wiring.control
        self.snapshots = snapshots
        self.consumer = consumer
        processedBefore = logic.processed
        ordersBefore = logic.orders
        refusedBefore = logic.refusedOrders
        venueOrdersBefore = logic.venueOrders
        let counters = logic.mempoolCounters
        hasMempool = counters != nil
        let mempool = counters ?? MempoolCounters()
        transactionsBefore = mempool.transactions
        opportunitiesBefore = mempool.opportunities
        bundlesBefore = mempool.bundles
        self.logic = logic
        self.baseSequence = baseSequence
        self.outputs = RingOutputs(
            outcomes: outcomes, orders: orders, reports: reports, bundles: bundles, updates: updates,
            exportsUpdates: exportsUpdates, hasher: hasher)
        self.batchLimit = batchLimit
    }

    /// Handles the events available (at most `batchLimit`); returns how many. Reserves room
    /// for every outcome the batch produces first, running `whileBlocked` until there is room;
    /// after an event whose reports or orders did not all fit in their rings, runs it until
    /// they do.
    @inlinable
    public mutating func handleAvailable(whileBlocked: () -> Void) -> Int {
        guard let available = consumer.available(limit: batchLimit) else { return 0 }
        var limit = reservableEvents(wanted: available.count)
        while limit == 0 {
            whileBlocked()
            limit = reservableEvents(wanted: available.count)
        }
        let range = SequenceRange(first: available.first, count: limit)
        var sequence = range.first
        while sequence <= range.last {
            logic.handle(consumer.element(sequence), sequence: baseSequence &+ Int64(sequence), outputs: &outputs)
            if _slowPath(outputs.hasWaitingOutputs) {
                while !outputs.pushWaitingOutputs() { whileBlocked() }
            }
            sequence &+= 1
        }
        consumer.finish(range)
        snapshots?.maybeTake(logic, outputHash: outputs.hasher.value)
        return range.count
    }

    /// At a clean shutdown: a last snapshot (if snapshots are on), written before returning.
    @usableFromInline
    mutating func finishSnapshots() {
        snapshots?.takeFinal(logic, outputHash: outputs.hasher.value)
    }

    @inlinable
    mutating func reservableEvents(wanted: Int) -> Int {
        var outcomeRoom = outputs.outcomes.knownFreeCapacity
        if outcomeRoom < wanted { outcomeRoom = outputs.outcomes.refreshFreeCapacity() }
        return Swift.min(wanted, outcomeRoom)
    }

    /// Whether everything the journal stage has passed has been handled.
    @inlinable public mutating func isCaughtUp() -> Bool { consumer.isCaughtUp() }

    /// Events this run handled.
    @inlinable public var processed: Int { logic.processed &- processedBefore }
    @inlinable public var orders: Int { logic.orders &- ordersBefore }
    @inlinable public var refusedOrders: Int { logic.refusedOrders &- refusedBefore }
    @inlinable public var venueOrders: Int { logic.venueOrders &- venueOrdersBefore }
    @inlinable public var reportsEmitted: Int { outputs.reportCount }
    public var bookCounters: BookCounters { logic.bookCounters }
    public var venueCounters: MatchingCounters { logic.venueCounters }
    public var outputHash: UInt64 { outputs.hasher.value }
    public var lastSequence: Int64 { logic.lastSequence }
    public func stateHash() -> UInt64 { logic.stateHash() }
}

extension LogicStage: Stage {
    @inlinable
    public mutating func poll(now: UInt64, whileBlocked: () -> Void) -> Int {
        let processed = handleAvailable(whileBlocked: whileBlocked)
        if processed > 0 {
            publishCounters()
            if hasMempool { publishMempoolCounters() }
            if now &- tradingPublishedAt >= Self.tradingPublishInterval { publishTrading(now: now) }
        }
        return processed
    }

    @inlinable
    mutating func publishCounters() {
        let counters = wiring.counters
        counters.publish(.logicProcessed, processed)
        counters.publish(.logicOrders, orders)
        counters.publish(.logicRefusedOrders, refusedOrders)
        counters.publish(.logicVenueOrders, venueOrders)
        counters.publish(.logicReports, reportsEmitted)
    }

    /// Nanoseconds between two publications of the strategies' positions for the monitor.
    @inlinable static var tradingPublishInterval: UInt64 { 200_000_000 }

    /// The strategies' positions and orders, for the monitor (allocates: a few times a second).
    @usableFromInline @inline(never)
    mutating func publishTrading(now: UInt64) {
        tradingPublishedAt = now
        wiring.trading.publish(logic.tradingSnapshot(definitions: wiring.definitions))
    }

    /// The mempool's counters, published apart from the others (and only with a mempool): a
    /// call in `publishCounters` would cost it a retain per batch.
    @usableFromInline @inline(never)
    func publishMempoolCounters() {
        guard let mempool = logic.mempoolCounters else { return }
        let counters = wiring.counters
        counters.publish(.logicTransactions, mempool.transactions &- transactionsBefore)
        counters.publish(.logicOpportunities, mempool.opportunities &- opportunitiesBefore)
        counters.publish(.logicBundles, mempool.bundles &- bundlesBefore)
    }

    public mutating func isDone() -> Bool { control.journalFinished && isCaughtUp() }

    public mutating func finish() {
        if !wiring.control.journalFailed { finishSnapshots() }
        let results = wiring.results
        results.snapshotsWritten = snapshots?.written ?? 0
        results.snapshotFailure = snapshots?.lastFailure
        publishCounters()
        if hasMempool { publishMempoolCounters() }
        results.bookCounters = bookCounters
        results.venueCounters = venueCounters
        results.mempoolCounters = logic.mempoolCounters
        let trading = logic.tradingSnapshot(definitions: wiring.definitions)
        results.trading = trading
        // The board holds the final state too (`/metrics` and `/risk` read it after the end).
        wiring.trading.publish(trading)
        results.stateHash = stateHash()
        results.outputHash = outputHash
        results.lastSequence = lastSequence
        wiring.control.finishLogic()
    }

    public var wakeSignal: WakeSignal { wiring.inbound.wakeSignal }
    public var blockedSignal: WakeSignal { wiring.outcomes.wakeSignal }
}
