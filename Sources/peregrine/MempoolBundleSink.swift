import Histogram
import PeregrineCore
import PeregrineMempool
import PeregrineModel
import PeregrineNATS
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A back-run order with its victim's signed bytes, as the analysis thread hands it to the
/// bundle sink (a fixed-size value: the ring holds it inline, nothing is shared).
struct SinkOrder: BitwiseCopyable {
    /// Victims above this size are not bundled (counted); Router02 swaps are 300–600 bytes.
    static let victimCapacity = 1_536

    var order: BackrunOrder
    /// 0 when the source has no signed bytes (block traces).
    var victimLength: Int
    var victim: InlineArray<1536, UInt8>

    /// `raw` must hold at most `victimCapacity` bytes.
    init(order: BackrunOrder, raw: UnsafeRawBufferPointer) {
        self.order = order
        victimLength = Swift.min(raw.count, Self.victimCapacity)
        victim = InlineArray(repeating: 0)
        let length = victimLength
        withUnsafeMutableBytes(of: &victim) { bytes in
            bytes.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[..<length]))
        }
    }

    var victimBytes: [UInt8] {
        withUnsafeBytes(of: victim) { Array($0[..<victimLength]) }
    }
}

/// Where the bundle sink writes `eth_sendBundle` requests.
enum BundleOutput: Sendable {
    /// Sign and count only.
    case none
    /// One JSON line per bundle to a file, or to standard output for `-`.
    case file(String)
    /// One message per bundle (the JSON request) on a NATS subject.
    case nats(url: String, subject: String)
}

/// The bundle sink of `peregrine mempool run`: on its own thread, takes sealed bundles (victim
/// and back-run handles) and the back-run orders behind them (with the victims' signed bytes)
/// off two rings, signs our back-runs, and writes one `eth_sendBundle` request per bundle.
/// Signing (about 40 µs) stays off the analysis thread; the rings are bounded, so a slow sink
/// holds the analysis back (counted as stalls) instead of growing memory.
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
        var description: String
    }

    let bundles: SPSCRing<Bundle>
    let orders: SPSCRing<SinkOrder>
    private let finished = Atomic<Bool>(false)
    private let totals = Mutex(Totals())
    private let assembler: BundleAssembler
    private let clock: CycleClock
    private let output: BundleOutput

    init(assembler: BundleAssembler, output: BundleOutput, clock: CycleClock) throws(CoreError) {
        bundles = try SPSCRing<Bundle>(capacity: 1024)
        orders = try SPSCRing<SinkOrder>(capacity: 4_096)
        self.assembler = assembler
        self.output = output
        self.clock = clock
    }

    /// Opens the output (file, or NATS connection) and starts the thread.
    func start() throws -> PinnedThread {
        var destination = Destination(file: nil, closeAtEnd: false, nats: nil)
        switch output {
        case .none: break
        case .file(let path):
            destination.file = path == "-" ? fdopen(1, "w") : fopen(path, "w")
            guard destination.file != nil else {
                throw OutputError(description: "cannot open \(path) for writing bundles")
            }
            if path == "-" { setvbuf(destination.file, nil, _IOLBF, 0) }
            destination.closeAtEnd = path != "-"
        case .nats(let url, let subject):
            do {
                let connection = try NATSConnection(NATSConnectionOptions(url: url, name: "peregrine-bundles"))
                destination.nats = (connection, subject)
            } catch { throw OutputError(description: "bundles to NATS: \(error)") }
        }
        let opened = destination
        return try PinnedThread.start(name: "bundle-sink") { self.run(opened) }
    }

    /// Tells the thread to stop once both rings are drained.
    func finish() { finished.store(true, ordering: .releasing) }

    /// What the sink did (read after joining its thread).
    var result: Totals { totals.withLock { $0 } }

    private func run(_ destination: Destination) {
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
            var victimMissing = false
            // A victim's handle is followed by its back-run's; orders arrive in that order.
            var current: SinkOrder? = nil
            for index in 0..<bundle.count {
                guard let handleTransaction = bundle.transaction(at: index) else { continue }
                switch handleTransaction.origin {
                case .observed:
                    var order = orderConsumer.tryPop()
                    while order == nil {
                        usleep(1)
                        order = orderConsumer.tryPop()
                    }
                    current = order
                    guard let order, order.order.victimIndex == handleTransaction.id, order.victimLength > 0 else {
                        complete = false
                        victimMissing = true
                        continue
                    }
                    raws.append(order.victimBytes)
                case .strategy:
                    guard let order = current?.order, order.id == handleTransaction.id else {
                        complete = false
                        continue
                    }
                    current = nil
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
                if victimMissing { local.bundlesWithoutVictimBytes += 1 }
                continue
            }
            requestID &+= 1
            if destination.file != nil || destination.nats != nil {
                let request = BundleAssembler.request(id: requestID, transactions: raws, blockNumber: targetBlock)
                if let file = destination.file, fputs(request + "\n", file) < 0 { local.writeFailures += 1 }
                if let nats = destination.nats {
                    do {
                        try Array(request.utf8).withUnsafeBytes { try nats.connection.publish(nats.subject, $0) }
                    } catch {
                        local.writeFailures += 1
                    }
                }
            }
            local.bundlesSent += 1
            let now = clock.now()
            for arrival in arrivals { local.latency.record(now &- Swift.min(arrival, now)) }
        }
        if let file = destination.file {
            fflush(file)
            if destination.closeAtEnd { fclose(file) }
        }
        if let nats = destination.nats, (try? nats.connection.flush()) == nil { local.writeFailures += 1 }
        let final = local
        totals.withLock { $0 = final }
    }
}

/// The opened output, handed to the sink thread, which alone uses it.
private struct Destination: @unchecked Sendable {
    var file: UnsafeMutablePointer<FILE>?
    var closeAtEnd: Bool
    var nats: (connection: NATSConnection, subject: String)?
}
