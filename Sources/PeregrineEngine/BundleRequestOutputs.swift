import PeregrineBook
import PeregrineEVM
import PeregrineMempool
import PeregrineModel
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `eth_sendBundle` requests to a file, one JSON line each (`-`: standard output), line-buffered:
/// a request has left when `deliver` returns (one `write` per bundle), as a relay would have it.
/// `append`: a run adds to what an earlier run (one that crashed, say) sent, never erasing it.
public final class FileBundleDelivery: BundleDelivery {
    let file: UnsafeMutablePointer<FILE>
    public let label: String

    public init(path: String, append: Bool = false) throws(EngineError) {
        if path == "-" {
            guard let file = fdopen(dup(1), "w") else {
                throw .invalidSetting(name: "bundles-out", value: path, allowed: "standard output cannot be opened")
            }
            setvbuf(file, nil, _IOLBF, 0)
            self.file = file
            label = "standard output"
        } else {
            guard let file = fopen(path, append ? "a" : "w") else {
                throw .invalidSetting(
                    name: "bundles-out", value: path,
                    allowed: "a file that can be written (\(String(cString: strerror(errno))))")
            }
            setvbuf(file, nil, _IOLBF, 0)
            self.file = file
            label = path
        }
    }

    public func deliver(_ request: String) throws {
        guard fputs(request + "\n", file) >= 0 else { throw DeliveryError(errno: errno) }
    }

    public func finish() throws {
        let flushed = fflush(file) == 0
        let code = errno
        fclose(file)  // standard output is a duplicate descriptor: closing it closes only that
        guard flushed else { throw DeliveryError(errno: code) }
    }

    /// A delivery that could not be opened.
    struct Failure: Error, Sendable, CustomStringConvertible {
        var description: String
    }

    struct DeliveryError: Error, CustomStringConvertible {
        var errno: Int32
        var description: String { String(cString: strerror(errno)) }
    }
}

/// What the bundle sink did, for the final report (written once, when the sink closes).
public final class BundleRequestTotals: Sendable {
    public struct Figures: Equatable, Sendable {
        public var requests = 0
        public var backrunsSigned = 0
        public var withoutVictimBytes = 0
        public var failures = 0
        public var firstFailure: String?
        public var destination = ""
    }

    let figures = Mutex(Figures())
    public init() {}
    public var value: Figures { figures.withLock { $0 } }
}

/// The outputs of a mempool run: sealed bundles signed and sent as `eth_sendBundle`
/// requests (`BundleRequestWriter`) on the sink's thread; outcomes are counted and measured by
/// the sink stage and go no further. `open` runs on the sink thread (it opens the file or the
/// connection there).
public struct BundleRequestOutputs: OutputPlan {
    public let signer: EthereumSigner
    public let settings: MempoolSettings
    /// Opens where requests go (nil: sign and count only).
    public let delivery: (@Sendable () throws -> BundleDelivery)?
    public let totals = BundleRequestTotals()
    public let description: String

    public init(
        signer: EthereumSigner, settings: MempoolSettings, destination: String,
        delivery: (@Sendable () throws -> BundleDelivery)?
    ) {
        self.signer = signer
        self.settings = settings
        self.delivery = delivery
        description = "eth_sendBundle requests to \(destination), signed by \(signer.address)"
    }

    public func open() throws(EngineError) -> Sink {
        var opened: BundleDelivery? = nil
        if let delivery {
            do { opened = try delivery() } catch let error as EngineError { throw error } catch {
                throw .part("bundle output (\(description))", FileBundleDelivery.Failure(description: "\(error)"))
            }
        }
        return Sink(writer: BundleRequestWriter(signer: signer, settings: settings, delivery: opened), totals: totals)
    }

    /// Hands bundles to the writer; everything else is counted at the sink stage only.
    public struct Sink: OutputSink {
        let writer: BundleRequestWriter
        let totals: BundleRequestTotals
        var _reportCount = 0
        public var reportCount: Int { _reportCount }

        public mutating func outcome(_ outcome: Outcome) {}
        public mutating func order(_ order: VenueOrder) {}
        public mutating func accept(_ report: ExecutionReport) { _reportCount &+= 1 }
        public mutating func bundleLeg(_ leg: borrowing BundleLeg) { writer.bundleLeg(leg) }
        public mutating func bundleSealed(_ seal: BundleSeal) { writer.bundleSealed(seal) }

        public mutating func close() {
            writer.finish()
            let writer = writer
            totals.figures.withLock {
                $0 = BundleRequestTotals.Figures(
                    requests: writer.requests, backrunsSigned: writer.backrunsSigned,
                    withoutVictimBytes: writer.withoutVictimBytes, failures: writer.failures,
                    firstFailure: writer.firstFailure, destination: writer.label)
            }
        }
    }
}
