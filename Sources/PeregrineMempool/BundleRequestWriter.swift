import PeregrineEVM

/// Where `eth_sendBundle` requests go: a file, standard output, a NATS subject. Called on the
/// sink's thread only, once per bundle.
public protocol BundleDelivery: AnyObject {
    /// Sends one request (a line of JSON, without its newline).
    func deliver(_ request: String) throws
    /// Sends what is buffered and closes (at the end of the run).
    func finish() throws
    /// Where the requests go, for the report.
    var label: String { get }
}

/// Turns sealed bundles into `eth_sendBundle` requests: each victim as the network sent it,
/// followed by our back-run, signed here (about 40 µs each; it allocates), then one request
/// per bundle to `delivery`. Signing is deterministic (RFC 6979), so a replay with the same
/// key writes byte-identical requests. Off the hot path: the sink's thread, or a replay's.
public final class BundleRequestWriter {
    public let signer: EthereumSigner
    public let settings: MempoolSettings
    let delivery: BundleDelivery?
    var legs: [BundleLeg] = []

    /// Requests written, our back-runs signed, and bundles not sent: a victim without signed
    /// bytes (a block's traces), a signing or delivery failure (the first one is kept).
    public private(set) var requests = 0
    public private(set) var backrunsSigned = 0
    public private(set) var withoutVictimBytes = 0
    public private(set) var failures = 0
    public private(set) var firstFailure: String?

    /// `delivery` nil: sign and count only.
    public init(signer: EthereumSigner, settings: MempoolSettings, delivery: BundleDelivery?) {
        self.signer = signer
        self.settings = settings
        self.delivery = delivery
        legs.reserveCapacity(8)
    }

    public var label: String { delivery?.label ?? "not written: no --bundles-out" }

    public func bundleLeg(_ leg: borrowing BundleLeg) { legs.append(copy leg) }

    /// Signs and sends the bundle whose legs came before `seal`.
    public func bundleSealed(_ seal: BundleSeal) {
        defer { legs.removeAll(keepingCapacity: true) }
        guard legs.count == seal.legs, legs.allSatisfy({ $0.bundleID == seal.bundleID }) else {
            fail("bundle \(seal.bundleID): \(legs.count) legs arrived for a seal of \(seal.legs)")
            return
        }
        guard legs.allSatisfy({ $0.victimLength > 0 }) else {
            withoutVictimBytes += 1
            return
        }
        var transactions: [[UInt8]] = []
        for (index, leg) in legs.enumerated() {
            transactions.append(leg.withVictimBytes { Array($0) })
            do {
                transactions.append(try backrun(for: leg, nonceOffset: UInt64(index)).raw)
                backrunsSigned += 1
            } catch {
                fail("signing the back-run of bundle \(seal.bundleID): \(error)")
                return
            }
        }
        requests += 1
        let request = Self.request(id: seal.bundleID, transactions: transactions, blockNumber: seal.targetBlock)
        do { try delivery?.deliver(request) } catch { fail("writing bundle \(seal.bundleID): \(error)") }
    }

    /// Sends what the delivery buffers (at the end).
    public func finish() {
        do { try delivery?.finish() } catch { fail("finishing the bundle output: \(error)") }
    }

    func fail(_ reason: String) {
        failures += 1
        if firstFailure == nil { firstFailure = reason }
    }

    /// Our signed back-run for `leg`, the `nonceOffset`-th of its bundle: an EIP-1559 call of the
    /// executor, at the victim's fees, with nonce `settings.nonce + nonceOffset` (our
    /// transactions in one bundle take consecutive nonces; every bundle for a block starts at
    /// the same one, as only one of them can land).
    public func backrun(for leg: BundleLeg, nonceOffset: UInt64 = 0) throws(SigningError) -> SignedTransaction {
        try signer.sign(
            EIP1559Transaction(
                chainID: settings.chainID, nonce: settings.nonce &+ nonceOffset,
                maxPriorityFeePerGas: leg.maxPriorityFeePerGas,
                maxFeePerGas: leg.maxFeePerGas, gasLimit: leg.call.gasLimit, to: settings.executor,
                data: BackrunCalldata.encode(leg.call)))
    }

    /// One JSON-RPC `eth_sendBundle` request (a line of JSON) for `transactions` (signed bytes,
    /// in order) targeting `blockNumber`.
    public static func request(id: UInt64, transactions: [[UInt8]], blockNumber: UInt64) -> String {
        let txs = transactions.map { "\"\(hexString($0))\"" }.joined(separator: ",")
        return
            "{\"jsonrpc\":\"2.0\",\"id\":\(id),\"method\":\"eth_sendBundle\",\"params\":[{\"txs\":[\(txs)],\"blockNumber\":\"0x\(String(blockNumber, radix: 16))\",\"revertingTxHashes\":[]}]}"
    }
}
