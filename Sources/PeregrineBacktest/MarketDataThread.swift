import PeregrineCodec
import PeregrineCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The merged market data decoded on a thread of its own (`pg-backtest-data`) and handed to the
/// backtest through a lock-free ring: parsing text (or checking and decoding a converted file)
/// runs on the second core while the simulation runs on the first. The order is the merge's
/// (one producer, one consumer), so results do not depend on it.
final class MarketDataThread: MarketDataSource, @unchecked Sendable {
    let ring: SPSCRing<MarketDataEvent>
    @exclusivity(unchecked) var consumer: SPSCConsumer<MarketDataEvent>
    let thread: PinnedThread
    let shared = Shared()

    /// What the decoding thread tells the backtest.
    final class Shared: Sendable {
        let done = Atomic<Bool>(false)
        /// Set by the backtest when it stops reading (its time window ended): the thread stops.
        let stop = Atomic<Bool>(false)
        let failure = Mutex<FeedError?>(nil)
        let skipped = Atomic<Int>(0)
        let dataWarnings = Mutex<[String]>([])
        let progressBits = Atomic<UInt64>(0)
    }
    /// Events popped from the ring but not handed out yet (a batch).
    @exclusivity(unchecked) var batch: [MarketDataEvent] = []
    @exclusivity(unchecked) var position = 0

    /// Events handed over at once (a quarter of the ring).
    static let batchSize = 1 << 12
    /// The longest the backtest sleeps waiting for a batch (a wake-up can be missed in a narrow
    /// race: see `WakeSignal`).
    static let parkNanoseconds: UInt64 = 200_000

    /// A box moving the (single-owner) stream to the decoding thread.
    struct Handoff: @unchecked Sendable { let stream: MarketDataStream }

    /// Starts decoding `stream`; the thread stops before the first event at or after `until`
    /// (exchange time), so what it counted does not depend on how far ahead it ran.
    init(_ stream: MarketDataStream, until: UInt64? = nil) throws(BacktestError) {
        do {
            ring = try SPSCRing<MarketDataEvent>(capacity: 1 << 14)
            consumer = try ring.makeConsumer()
        } catch {
            throw .usage("cannot make the market-data ring: \(error)")
        }
        batch.reserveCapacity(Self.batchSize)
        let handoff = Handoff(stream: stream)
        let ring = ring
        let shared = shared
        do {
            thread = try PinnedThread.start(name: "pg-backtest-data") {
                Self.produce(handoff.stream, until: until, ring: ring, shared: shared)
            }
        } catch {
            throw .usage("cannot start the market-data thread: \(error)")
        }
    }

    deinit {
        shared.stop.store(true, ordering: .releasing)
        thread.join()
    }

    static func produce(_ stream: MarketDataStream, until: UInt64?, ring: SPSCRing<MarketDataEvent>, shared: Shared) {
        defer {
            // The reading is over (also when `until` cut it): the hashing need not wait for it.
            stream.finish()
            shared.done.store(true, ordering: .releasing)
        }
        guard var producer = try? ring.makeProducer() else {
            shared.failure.withLock { $0 = FeedError(line: 0, "cannot attach to the market-data ring") }
            return
        }
        // Events go over in batches: one release store, and at most one wake-up of the
        // backtest, per batch.
        let batch = UnsafeMutableBufferPointer<MarketDataEvent>.allocate(capacity: Self.batchSize)
        defer { batch.deallocate() }
        var pending = 0
        func flush() -> Bool {
            var sent = 0
            while sent < pending {
                sent += producer.tryPush(contentsOf: UnsafeBufferPointer(rebasing: batch[sent..<pending]))
                if sent < pending {
                    if shared.stop.load(ordering: .acquiring) { return false }
                    sched_yield()
                }
            }
            pending = 0
            return true
        }
        while true {
            pending = stream.fill(batch, until: until)
            let full = pending == batch.count
            guard flush() else { return }
            shared.progressBits.store(stream.progress.bitPattern, ordering: .relaxed)
            if !full { break }
        }
        shared.progressBits.store(Double(1).bitPattern, ordering: .relaxed)
        shared.skipped.store(stream.skippedQuotes, ordering: .relaxed)
        let dataWarnings = stream.dataWarnings
        shared.dataWarnings.withLock { $0 = dataWarnings }
        if let error = stream.failure { shared.failure.withLock { $0 = error } }
    }

    /// Reads the next event into `slot`; false at the end (or at a bad row: see `failure`).
    /// Sleeps on the ring's wake signal (at most `parkNanoseconds` at a time) while the
    /// decoding thread is behind.
    func next(into slot: UnsafeMutablePointer<MarketDataEvent>) -> Bool {
        if position < batch.count {
            slot.pointee = batch[position]
            position &+= 1
            return true
        }
        while true {
            batch.removeAll(keepingCapacity: true)
            position = 0
            let finished = shared.done.load(ordering: .acquiring)
            consumer.drain(limit: Self.batchSize) { batch.append($0) }
            if !batch.isEmpty {
                slot.pointee = batch[0]
                position = 1
                return true
            }
            if finished { return false }
            // The decoding thread is behind (parsing is slower than simulating): sleep until it
            // publishes its next batch, leaving the core to the hashing thread.
            consumer.wakeSignal.park(timeoutNanoseconds: Self.parkNanoseconds)
        }
    }

    /// Waits for the decoding thread to reach the end of the data or `until` (draining what it
    /// still sends); call before reading `failure` and `skippedQuotes`.
    func finish() {
        while !shared.done.load(ordering: .acquiring) {
            // It may be waiting for room in the ring: make some.
            consumer.drain { _ in }
            sched_yield()
        }
        thread.join()
    }

    /// A bad row that stopped the decoding, once it has stopped.
    var failure: FeedError? { shared.failure.withLock { $0 } }
    var skippedQuotes: Int { shared.skipped.load(ordering: .relaxed) }
    var dataWarnings: [String] { shared.dataWarnings.withLock { $0 } }
    var progress: Double { Double(bitPattern: shared.progressBits.load(ordering: .relaxed)) }
}
