import PeregrineCore
import PeregrineEVM
import PeregrineEngine
import PeregrineMempool
import PeregrineModel

/// Signed pending transactions from a NATS subject, one per message (the bytes, or their 0x-hex
/// text), for `peregrine mempool run --source nats://…`; the message `HEAD BLOCK BASEFEE` is a
/// new chain head (the block just mined and the next block's base fee per gas in wei), and the
/// message `END` ends the input. It
/// subscribes when made (at set-up, before any thread starts, so nothing published after the
/// run says it is ready is missed). Core NATS, at most once: the journal holds what arrived.
public final class NATSPendingFeed: @unchecked Sendable {
    let connection: NATSConnection
    let subscription: NATSSubscription
    public let pools: PendingFeed
    public let url: String
    public let subject: String

    /// Connects and subscribes; `pools` are written (with its chain head) before any transaction.
    public init(url: String, subject: String, pools: PendingFeed) throws(NATSError) {
        connection = try NATSConnection(NATSConnectionOptions(url: url, name: "peregrine-mempool"))
        subscription = try connection.subscribe(subject, pendingMessages: 1 << 20, pendingBytes: 1 << 30)
        try connection.flush()
        self.pools = pools
        self.url = url
        self.subject = subject
    }

    /// Publishes the synthetic signed transactions (`SyntheticSwapFlow`, seed 3: those of
    /// `mempool run --source synthetic` with the same `unique` and `tokens`), `count` of them
    /// in order (repeating the `unique` distinct ones), at `rate` per second (0: as fast as the
    /// client sends), as bytes or 0x-hex text, then `END`. Returns the distinct count.
    public static func publishSynthetic(
        url: String, subject: String, count: Int, unique: Int, tokens: Int, rate: Double, hex: Bool
    ) throws -> Int {
        let flow = SyntheticSwapFlow(count: Swift.min(count, unique), tokenCount: tokens, seed: 3, signed: true)
        let connection = try NATSConnection(NATSConnectionOptions(url: url, name: "peregrine-mempool-publisher"))
        let clock = CycleClock.calibrate()
        let start = clock.now()
        let interval = rate > 0 ? 1e9 / rate : 0
        try flow.arena.withUnsafeBytes { arena in
            for index in 0..<count {
                let transaction = flow.transactions[index % flow.transactions.count]
                let raw = UnsafeRawBufferPointer(
                    rebasing: arena[transaction.rawOffset..<(transaction.rawOffset + transaction.rawLength)])
                if rate > 0 {
                    let due = start &+ CycleClock.saturatingNanoseconds(seconds: Double(index) * interval / 1e9)
                    while clock.now() < due {}
                }
                if hex {
                    try Array(hexString(raw).utf8).withUnsafeBytes { try connection.publish(subject, $0) }
                } else {
                    try connection.publish(subject, raw)
                }
            }
        }
        try NATSInputFeed.endOfInput.withUnsafeBytes { try connection.publish(subject, $0) }
        try connection.flush()
        return flow.transactions.count
    }
}

/// A `NATSPendingFeed` as events: the chain head and pools, then each message decoded on this
/// thread (RLP, Keccak-256 and the sender's ECDSA recovery, about 40 µs; it allocates) into a
/// pending-transaction record with its sender, stamped with its arrival, or a chain head
/// (`HEAD BLOCK BASEFEE`), in the order sent, until `count` transactions or `END`. A message
/// that is not a signed transaction, or one no node would take (`DecodedTransaction.problem`:
/// another chain, a signature out of range, a tip above the fee cap; or a signature that
/// recovers no sender), is counted and skipped (the first is named in the summary). Clock
/// ticks while idle.
public struct NATSPendingSource: ~Copyable, EventSource {
    let feed: NATSPendingFeed
    let count: Int
    let batchLimit: Int
    let tickIntervalNanoseconds: UInt64
    /// The chain the transactions must be for (`--chain-id`).
    let chainID: UInt64
    /// Recovers each transaction's sender (on this thread).
    let recovery: SenderRecovery
    var preamble = PendingPreamble()
    var lastPublished: UInt64
    var finished = false
    var received = 0
    var accepted = 0
    var malformed = 0
    var firstMalformed: String?
    var tooLarge = 0
    var heads = 0
    var _failure: String?
    /// The next record, decoded, waiting for room in the ring; or the next chain head.
    var waiting: [UInt8] = []
    var waitingHead: ChainHead?
    var hexScratch: [UInt8] = []
    var _counts = SourceCounts()
    public var counts: SourceCounts { _counts }

    init(feed: NATSPendingFeed, count: Int, context: SourceContext, recovery: SenderRecovery) {
        self.feed = feed
        self.count = count
        self.recovery = recovery
        batchLimit = context.configuration.batchLimit
        chainID = context.configuration.mempool?.chainID ?? 1
        tickIntervalNanoseconds = UInt64(context.configuration.tickIntervalMicroseconds) * 1_000
        lastPublished = context.startTime
    }

    public var isExhausted: Bool { (finished || accepted >= count) && waiting.isEmpty && waitingHead == nil }

    public mutating func step<Writer: EventWriter & ~Copyable>(now: UInt64, into writer: inout Writer) -> Int {
        var handled = 0
        if !preamble.isDone(feed.pools) {
            handled = preamble.step(feed.pools, now: now, limit: batchLimit, into: &writer, counts: &_counts)
            guard preamble.isDone(feed.pools) else { return handled }
            lastPublished = now
        }
        while handled < batchLimit {
            if waiting.isEmpty, waitingHead == nil {
                guard !finished, accepted < count, receive() else { break }
            }
            if let head = waitingHead {
                guard PendingTransactionSource.writeHead(head, timestamp: now, into: &writer, counts: &_counts) else {
                    return handled
                }
                waitingHead = nil
                heads &+= 1
                handled &+= 1
                lastPublished = now
                continue
            }
            let written = waiting.withUnsafeBytes {
                PendingTransactionSource.writeRecord(
                    $0, type: .signedTransaction, timestamp: now, into: &writer, counts: &_counts)
            }
            guard written > 0 else { return handled }
            waiting.removeAll(keepingCapacity: true)
            accepted &+= 1
            handled &+= written
            lastPublished = now
        }
        if handled == 0, !finished,
            SyntheticSource.tickIfIdle(
                now: now, lastPublished: &lastPublished, interval: tickIntervalNanoseconds, counts: &_counts,
                into: &writer)
        {
            return 1
        }
        return handled
    }

    /// Takes messages until one is a transaction (its record in `waiting`) or a chain head
    /// (`waitingHead`); false when none is there.
    mutating func receive() -> Bool {
        while waiting.isEmpty, waitingHead == nil, !finished {
            var got = false
            do {
                got = try feed.subscription.next(timeoutMilliseconds: 0) { message in
                    if message.bytes.elementsEqual(NATSInputFeed.endOfInput) {
                        finished = true
                        return
                    }
                    received &+= 1
                    accept(message.bytes)
                }
            } catch {
                _failure = "\(error)"
                finished = true
            }
            if !got { return false }
        }
        return !waiting.isEmpty || waitingHead != nil
    }

    /// Whether `message` is a chain head, `HEAD BLOCK BASEFEE [TIMESTAMP]` (decimal integers:
    /// the block just mined, the next block's base fee per gas in wei, and that block's timestamp
    /// in Unix seconds, so swaps past their deadline are known to revert): true when it starts with `HEAD`,
    /// and then it is in `waitingHead`, or refused (counted) when it is not one.
    mutating func takeChainHead(_ message: UnsafeRawBufferPointer) -> Bool {
        guard message.starts(with: Self.headPrefix) else { return false }
        // A line break or spaces after it are not part of it (as after a hex transaction).
        var text = Substring(String(decoding: message, as: UTF8.self))
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        let fields = text.split(separator: " ", omittingEmptySubsequences: false)
        func digits(_ field: Substring) -> Bool { !field.isEmpty && field.allSatisfy { ("0"..."9").contains($0) } }
        if fields.count == 3 || fields.count == 4, fields.dropFirst().allSatisfy(digits), let block = UInt64(fields[1]),
            block <= 1 << 62, let baseFee = UInt64(fields[2]),
            let timestamp = fields.count == 4 ? UInt64(fields[3]).flatMap({ $0 < 1 << 62 ? $0 : nil }) : 0
        {
            // The next block comes at least a second after this one.
            waitingHead = ChainHead(
                blockNumber: block, baseFeeWei: baseFee, nextTimestamp: timestamp > 0 ? timestamp + 1 : 0)
        } else {
            let shown = text.prefix(80).unicodeScalars.map {
                $0.properties.isWhitespace && $0 != " " ? "\\u{\(String($0.value, radix: 16))}" : String($0)
            }.joined()
            refuse(
                "'\(shown)' is not HEAD BLOCK BASEFEE [TIMESTAMP] (decimal integers: the block, up to 2^62, the "
                    + "base fee in wei, below 2^64, and optionally the block's timestamp in Unix seconds)")
        }
        return true
    }

    static let headPrefix = Array("HEAD ".utf8)

    mutating func accept(_ message: UnsafeRawBufferPointer) {
        if takeChainHead(message) { return }
        if message.first == UInt8(ascii: "0") || message.first == 0x20 {
            guard decodeHex(message, into: &hexScratch) else {
                refuse("not 0x-hex text")
                return
            }
            let scratch = hexScratch
            scratch.withUnsafeBytes { decode($0) }
        } else {
            decode(message)
        }
    }

    mutating func decode(_ raw: UnsafeRawBufferPointer) {
        let decoded: DecodedTransaction
        do { decoded = try DecodedTransaction(raw: raw) } catch {
            refuse("\(error)")
            return
        }
        // A transaction no node would take never lands: bundling it would waste the bundle.
        if let problem = decoded.problem(chainID: chainID) {
            refuse(problem)
            return
        }
        var pending = decoded.pending
        // Its sender, recorded with it (a signature that recovers no key: no node takes it).
        guard let sender = try? recovery.sender(of: decoded, raw: raw) else {
            refuse("its signature recovers no sender")
            return
        }
        pending.from = sender
        let record = PendingRecord.encode(
            pending, payload: raw,
            calldata: pending.calldataOffset..<(pending.calldataOffset + pending.calldataLength))
        guard record.count <= RecordAssembler.capacity else {
            tooLarge &+= 1
            return
        }
        waiting = record
    }

    mutating func refuse(_ reason: String) {
        malformed &+= 1
        if firstMalformed == nil { firstMalformed = "message \(received): \(reason)" }
    }

    public var summary: String? {
        "\(grouped(received)) messages from \(feed.subject) at \(feed.url): \(grouped(accepted)) pending transactions"
            + (malformed > 0
                ? " · \(grouped(malformed)) malformed messages refused (first: \(firstMalformed ?? ""))" : "")
            + (tooLarge > 0 ? " · \(grouped(tooLarge)) over \(RecordAssembler.capacity) bytes left out" : "")
            + (heads > 0 ? " · \(grouped(heads)) chain heads" : "")
    }

    public var failure: String? { _failure }
}

/// The plan for `NATSPendingSource` (its feed is subscribed already).
public struct NATSPendingPlan: SourcePlan {
    public let feed: NATSPendingFeed
    public let count: Int

    public init(feed: NATSPendingFeed, count: Int) {
        self.feed = feed
        self.count = count
    }

    public func open(_ context: SourceContext) throws(EngineError) -> NATSPendingSource {
        let recovery: SenderRecovery
        do { recovery = try SenderRecovery() } catch {
            throw .wiring("no secp256k1 context for sender recovery: \(error)")
        }
        return NATSPendingSource(feed: feed, count: count, context: context, recovery: recovery)
    }

    public var description: String {
        "\(feed.subject) at \(feed.url) (signed transactions as sent), \(feed.pools.label)"
    }

    public var exhaustedReason: String { "END or the transaction count" }
}

/// `eth_sendBundle` requests as NATS messages, one per bundle, on `subject` (core NATS).
public final class NATSBundleDelivery: BundleDelivery {
    let connection: NATSConnection
    let subject: String
    public let label: String

    public init(url: String, subject: String) throws(NATSError) {
        connection = try NATSConnection(NATSConnectionOptions(url: url, name: "peregrine-bundles"))
        self.subject = subject
        label = "\(subject) at \(url)"
    }

    public func deliver(_ request: String) throws {
        try Array(request.utf8).withUnsafeBytes { try connection.publish(subject, $0) }
    }

    public func finish() throws { try connection.flush() }
}
