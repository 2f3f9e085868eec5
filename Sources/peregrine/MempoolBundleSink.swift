import Histogram
import PeregrineCore
import PeregrineMempool
import PeregrineModel
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The bundle sink of `peregrine mempool run`: on its own thread, takes sealed bundles (victim
/// and back-run handles) and the back-run orders behind them off two rings, signs our
/// back-runs, and writes one `eth_sendBundle` request per bundle. Signing (about 40 µs) stays
/// off the analysis thread; the rings are bounded, so a slow sink holds the analysis back
/// (counted as stalls) instead of growing memory.
final class MempoolBundleSink: Sendable {
    struct Totals: Sendable {
        var bundlesSent = 0
        var backrunsSigned = 0
        /// Bundles not sent because the source has no signed bytes for a victim (block traces).
        var bundlesWithoutVictimBytes = 0
        var signingFailures = 0
        var writeFailures = 0
        /// Victim arrival → its bundle written, ns.
        var latency = Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    }

    struct OutputError: Error, CustomStringConvertible {
        var path: String
        var description: String { "cannot open \(path) for writing bundles" }
    }

    let bundles: SPSCRing<Bundle>
    let orders: SPSCRing<BackrunOrder>
    private let finished = Atomic<Bool>(false)
    private let totals = Mutex(Totals())
    private let assembler: BundleAssembler
    private let transactions: [PendingTransaction]
    private let arena: [UInt8]
    private let clock: CycleClock
    /// The output path, `-` for standard output, nil to sign and count only.
    private let output: String?

    init(
        assembler: BundleAssembler, transactions: [PendingTransaction], arena: [UInt8], output: String?,
        clock: CycleClock
    ) throws(CoreError) {
        bundles = try SPSCRing<Bundle>(capacity: 1024)
        orders = try SPSCRing<BackrunOrder>(capacity: 16_384)
        self.assembler = assembler
        self.transactions = transactions
        self.arena = arena
        self.output = output
        self.clock = clock
    }

    /// Opens the output and starts the thread.
    func start() throws -> PinnedThread {
        var file: UnsafeMutablePointer<FILE>? = nil
        if let output {
            file = output == "-" ? fdopen(1, "w") : fopen(output, "w")
            guard file != nil else { throw OutputError(path: output) }
            if output == "-" { setvbuf(file, nil, _IOLBF, 0) }
        }
        let handle = FileHandleBox(file: file, closeAtEnd: output != "-")
        return try PinnedThread.start(name: "bundle-sink") { self.run(handle) }
    }

    /// Tells the thread to stop once both rings are drained.
    func finish() { finished.store(true, ordering: .releasing) }

    /// What the sink did (read after joining its thread).
    var result: Totals { totals.withLock { $0 } }

    private func run(_ handle: FileHandleBox) {
        guard var bundleConsumer = try? bundles.makeConsumer(), var orderConsumer = try? orders.makeConsumer()
        else { return }
        var local = Totals()
        var requestID: UInt64 = 0
        while true {
            guard let bundle = bundleConsumer.tryPop() else {
                if finished.load(ordering: .acquiring) && bundles.approximateCount == 0 { break }
                usleep(50)
                continue
            }
            var raws: [[UInt8]] = []
            var arrivals: [UInt64] = []
            var targetBlock: UInt64 = 0
            var complete = true
            for index in 0..<bundle.count {
                guard let handleTransaction = bundle.transaction(at: index) else { continue }
                switch handleTransaction.origin {
                case .observed:
                    let victim = transactions[Int(handleTransaction.id)]
                    if victim.rawLength == 0 {
                        complete = false
                    } else {
                        raws.append(Array(arena[victim.rawOffset..<(victim.rawOffset + victim.rawLength)]))
                    }
                case .strategy:
                    // Orders arrive in the order their back-runs were added to bundles.
                    var order = orderConsumer.tryPop()
                    while order == nil {
                        usleep(1)
                        order = orderConsumer.tryPop()
                    }
                    guard let order, order.id == handleTransaction.id else {
                        complete = false
                        continue
                    }
                    targetBlock = order.targetBlock
                    arrivals.append(order.arrival)
                    guard complete else { continue }
                    do {
                        raws.append(try assembler.backrun(for: order).raw)
                        local.backrunsSigned += 1
                    } catch {
                        local.signingFailures += 1
                        complete = false
                    }
                }
            }
            guard complete else {
                local.bundlesWithoutVictimBytes += 1
                continue
            }
            requestID &+= 1
            if let file = handle.file {
                let line = BundleAssembler.request(id: requestID, transactions: raws, blockNumber: targetBlock) + "\n"
                if fputs(line, file) < 0 { local.writeFailures += 1 }
            }
            local.bundlesSent += 1
            let now = clock.now()
            for arrival in arrivals { local.latency.record(now &- Swift.min(arrival, now)) }
        }
        if let file = handle.file {
            fflush(file)
            if handle.closeAtEnd { fclose(file) }
        }
        let final = local
        totals.withLock { $0 = final }
    }
}

/// A C stream handed to the sink thread, which alone uses it.
private struct FileHandleBox: @unchecked Sendable {
    var file: UnsafeMutablePointer<FILE>?
    var closeAtEnd: Bool
}
