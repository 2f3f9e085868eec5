import PeregrineCodec
import PeregrineEngine
import PeregrineMempool
import PeregrineModel

/// Publishes the engine's outputs on the shard's subjects (`NAME.out.K.reports`,
/// `NAME.out.K.orders`, `NAME.out.K.signals`): one message per subject per sink batch,
/// so the cost is one client call per batch, not per item.
///
/// - reports: a sequence of 64-byte execution reports in their in-memory layout
///   (`ExecutionReport`, `@frozen`, little-endian on every platform Peregrine runs on)
/// - orders: the strategy's orders for venues this engine does not host, as JSON lines in the
///   event form (`EventJSON`, type `order`; `exchange_ts` is 0; the instrument is this
///   engine's id): what a gateway places
/// - signals: the 40-byte `Outcome` (in-memory layout) of every event on which the
///   strategy submitted orders: journal sequence, ingress time, best bid and ask after the
///   event, instrument, event kind, orders submitted
///
/// Core NATS: at most once, to whoever subscribes. The journal, not these subjects, is the
/// record. Used by the sink thread only; its buffers are allocated once and reused.
public final class NATSOutputPublisher: OutputSink {
    let connection: NATSConnection
    let reportsSubject: String
    let ordersSubject: String
    let signalsSubject: String
    var reportBuffer: [UInt8] = []
    /// Sent by `flush`, not by the writer (its threshold is never reached).
    var orderLines: JSONLinesWriter
    var signalBuffer: [UInt8] = []
    public private(set) var messages = 0
    public private(set) var failures = 0
    public private(set) var reportCount = 0

    public init(settings: NATSSettings) throws(NATSError) {
        connection = try NATSConnection(
            NATSConnectionOptions(url: settings.url, name: "peregrine-out-\(settings.shard)"))
        reportsSubject = settings.reportsSubject
        ordersSubject = settings.ordersSubject
        signalsSubject = settings.signalsSubject
        reportBuffer.reserveCapacity(64 * 4_096)
        orderLines = JSONLinesWriter(flushThreshold: .max) { _ in }
        signalBuffer.reserveCapacity(MemoryLayout<Outcome>.stride * 4_096)
    }

    /// Published when the strategy acted on the event (a signal: it submitted orders).
    public func outcome(_ outcome: Outcome) {
        guard outcome.ordersSubmitted > 0 else { return }
        withUnsafeBytes(of: outcome) { signalBuffer.append(contentsOf: $0) }
    }

    public func accept(_ report: ExecutionReport) {
        reportCount += 1
        var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { bytes in
            try? report.encode(into: bytes)
            reportBuffer.append(contentsOf: bytes)
        }
    }

    /// `run --nats` has no mempool analysis, so no bundle reaches these (a mempool run's
    /// bundles go through `BundleRequestOutputs`).
    public func bundleLeg(_ leg: borrowing BundleLeg) {}

    public func bundleSealed(_ seal: BundleSeal) {}

    public func order(_ order: VenueOrder) {
        EventJSON.write(
            Event(timestamp: order.decidedAt, instrument: order.instrument, payload: .order(order.command)),
            to: &orderLines)
    }

    /// Publishes what the batch collected.
    public func flush() {
        send(reportBuffer, reportsSubject)
        reportBuffer.removeAll(keepingCapacity: true)
        send(orderLines.buffer, ordersSubject)
        orderLines.clear()
        send(signalBuffer, signalsSubject)
        signalBuffer.removeAll(keepingCapacity: true)
    }

    func send(_ buffer: [UInt8], _ subject: String) {
        guard !buffer.isEmpty else { return }
        do {
            try buffer.withUnsafeBytes { try connection.publish(subject, $0) }
            messages += 1
        } catch {
            failures += 1
        }
    }

    /// Sends everything buffered to the server (at shutdown).
    public func close() {
        flush()
        try? connection.flush()
    }
}

/// The plan for `NATSOutputPublisher` (opened on the sink thread).
public struct NATSOutputPlan: OutputPlan {
    public var settings: NATSSettings

    public init(settings: NATSSettings) { self.settings = settings }

    public func open() throws(EngineError) -> NATSOutputPublisher {
        do { return try NATSOutputPublisher(settings: settings) } catch {
            throw .part("NATS outputs \(settings.url)", error)
        }
    }

    public var description: String { "NATS subjects \(settings.subjectPrefix).out.\(settings.shard).*" }
}
