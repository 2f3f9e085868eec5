import PeregrineCore
import PeregrineEVM
import PeregrineMempool
import PeregrineModel

/// Pending transactions made ready at set-up, as records: the synthetic Router02 flow (signed
/// once, at set-up), or a mined block's Router02 transactions rebuilt from its traces (no
/// signatures), with the pools they trade on and the chain head they follow. Immutable and
/// shared with the source thread.
public final class PendingFeed: Sendable {
    /// Every transaction's record, back to back, and where each is.
    let records: [UInt8]
    let ranges: [Range<Int>]
    let recordType: RecordType
    /// The pools' records, written before any transaction.
    public let poolRecords: [[UInt8]]
    /// The block the first transactions follow, and the next block's base fee.
    public let headBlock: UInt64
    public let baseFeeWei: UInt64
    /// The least timestamp of the block the transactions are for (Unix s; 0 unknown).
    public let nextTimestamp: UInt64
    /// What it holds, for the report (transactions over `RecordAssembler.capacity` bytes,
    /// left out, are counted in it).
    public let label: String

    public var transactionCount: Int { ranges.count }

    init(
        transactions: [PendingTransaction], arena: [UInt8], signed: Bool, pools: PoolBook, headBlock: UInt64,
        baseFeeWei: UInt64, nextTimestamp: UInt64 = 0, label: String
    ) {
        var records: [UInt8] = []
        var ranges: [Range<Int>] = []
        var tooLarge = 0
        arena.withUnsafeBytes { arena in
            for transaction in transactions {
                let record = PendingRecord.encode(transaction, arena: arena, signed: signed)
                guard record.count <= RecordAssembler.capacity else {
                    tooLarge += 1
                    continue
                }
                ranges.append(records.count..<(records.count + record.count))
                records += record
            }
        }
        self.records = records
        self.ranges = ranges
        recordType = signed ? .signedTransaction : .tracedTransaction
        poolRecords = pools.pools.map(PoolRecord.encode)
        self.headBlock = headBlock
        self.baseFeeWei = baseFeeWei
        self.nextTimestamp = nextTimestamp
        self.label =
            label + (tooLarge > 0 ? " (\(tooLarge) over \(RecordAssembler.capacity) bytes left out)" : "")
    }

    /// Only the pools and the chain head (a source whose transactions arrive later: NATS).
    public static func pools(_ pools: PoolBook, headBlock: UInt64, label: String) -> PendingFeed {
        PendingFeed(
            transactions: [], arena: [], signed: true, pools: pools, headBlock: headBlock, baseFeeWei: 0, label: label)
    }

    /// The synthetic flow: `unique` Router02 swaps over `tokens` tokens' pools, signed for
    /// `chainID` (the chain our back-runs are signed for: a bundle is one chain's).
    public static func synthetic(unique: Int, tokens: Int, headBlock: UInt64, chainID: UInt64 = 1) -> PendingFeed {
        let flow = SyntheticSwapFlow(count: unique, tokenCount: tokens, seed: 3, signed: true, chainID: chainID)
        return PendingFeed(
            transactions: flow.transactions, arena: flow.arena, signed: true, pools: flow.pools, headBlock: headBlock,
            baseFeeWei: 0,
            label:
                "synthetic, \(flow.pools.pools.count) pools over \(tokens) tokens, \(flow.transactions.count) signed transactions"
        )
    }

    /// A block's Router02 transactions, pending against its pairs' first reserves in the block,
    /// following its parent (`headBlock` nil: the block's own number − 1), with the block's base
    /// fee as the next block's.
    public static func block(_ inspection: BlockInspection, path: String, headBlock: UInt64?) -> PendingFeed {
        PendingFeed(
            transactions: inspection.pending, arena: inspection.calldata, signed: false, pools: inspection.pools,
            headBlock: headBlock ?? UInt64(clamping: inspection.blockNumber) &- (inspection.blockNumber > 0 ? 1 : 0),
            baseFeeWei: inspection.baseFeePerGas, nextTimestamp: inspection.blockTimestamp,
            label:
                "block \(inspection.blockNumber) (\(path)): \(inspection.pending.count) Router02 transactions, \(inspection.pools.pools.count) pairs"
        )
    }
}

/// A `PendingFeed` as events: the chain head, the pools, then each transaction's record when it
/// is due at `rate` (its timestamp is when it was due, so a source behind schedule does not hide
/// the delay), repeating the feed `count` transactions long, one block per pass (a new chain
/// head: what is still pending is analysed again for the next block). A record's events are
/// written in one claim, so a full ring delays a whole record, never splits it. Clock ticks
/// while idle. No allocation per step.
public struct PendingTransactionSource: ~Copyable, EventSource {
    @usableFromInline let feed: PendingFeed
    @usableFromInline let count: Int
    @usableFromInline let intervalNanoseconds: Double
    @usableFromInline let startTime: UInt64
    @usableFromInline let tickIntervalNanoseconds: UInt64
    @usableFromInline let batchLimit: Int
    @usableFromInline var preamble = PendingPreamble()
    @usableFromInline var sent = 0
    @usableFromInline var lastPublished: UInt64
    @usableFromInline var _counts = SourceCounts()
    public var counts: SourceCounts { _counts }

    init(feed: PendingFeed, count: Int, rate: Double, context: SourceContext) {
        self.feed = feed
        self.count = count
        intervalNanoseconds = rate > 0 ? 1e9 / rate : 0
        startTime = context.startTime
        lastPublished = context.startTime
        tickIntervalNanoseconds = UInt64(context.configuration.tickIntervalMicroseconds) * 1_000
        batchLimit = context.configuration.batchLimit
    }

    public var isExhausted: Bool { sent >= count }

    public var summary: String? {
        "\(grouped(sent)) pending transactions sent, \(preamble.heads) chain head\(preamble.heads == 1 ? "" : "s"), \(preamble.pools) pools"
    }

    public mutating func step<Writer: EventWriter & ~Copyable>(now: UInt64, into writer: inout Writer) -> Int {
        var handled = 0
        // The chain head, then the pools, before any transaction.
        if !preamble.isDone(feed) {
            handled = preamble.step(feed, now: now, limit: batchLimit, into: &writer, counts: &_counts)
            guard preamble.isDone(feed) else { return handled }
            lastPublished = now
        }
        while sent < count, handled < batchLimit, feed.transactionCount > 0 {
            let due =
                intervalNanoseconds > 0
                ? startTime &+ CycleClock.saturatingNanoseconds(seconds: Double(sent) * intervalNanoseconds / 1e9)
                : now
            guard due <= now else { break }
            let index = sent % feed.transactionCount
            if index == 0 && sent > 0 && preamble.heads <= sent / feed.transactionCount {
                // The next pass is the next block.
                guard
                    Self.writeHead(
                        ChainHead(
                            blockNumber: feed.headBlock &+ UInt64(preamble.heads), baseFeeWei: feed.baseFeeWei,
                            nextTimestamp: feed.nextTimestamp),
                        timestamp: due, into: &writer, counts: &_counts)
                else { return handled }
                preamble.heads &+= 1
                handled &+= 1
            }
            let range = feed.ranges[index]
            let written = feed.records.withUnsafeBytes {
                Self.writeRecord(
                    UnsafeRawBufferPointer(rebasing: $0[range]), type: feed.recordType, timestamp: due, into: &writer,
                    counts: &_counts)
            }
            guard written > 0 else { return handled }
            sent &+= 1
            handled &+= written
            lastPublished = due
        }
        if handled == 0,
            SyntheticSource.tickIfIdle(
                now: now, lastPublished: &lastPublished, interval: tickIntervalNanoseconds, counts: &_counts,
                into: &writer)
        {
            return 1
        }
        return handled
    }

    /// Writes a record's events in one claim; returns how many (0 when the ring is full,
    /// counted as a full-ring wait).
    @inlinable
    public static func writeRecord<Writer: EventWriter & ~Copyable>(
        _ bytes: UnsafeRawBufferPointer, type: RecordType, timestamp: UInt64, into writer: inout Writer,
        counts: inout SourceCounts
    ) -> Int {
        let events = RecordEnd.chunks(forLength: bytes.count) &+ 1
        guard writer.claim(exactly: events) else {
            counts.fullWaits &+= 1
            return 0
        }
        forEachRecordEvent(bytes, type: type, timestamp: timestamp) { writer.write($0) }
        writer.publish()
        counts.emitted &+= events
        return events
    }

    /// Writes a chain head; false when the ring is full.
    @inlinable
    public static func writeHead<Writer: EventWriter & ~Copyable>(
        _ head: ChainHead, timestamp: UInt64, into writer: inout Writer, counts: inout SourceCounts
    ) -> Bool {
        guard writer.claim(exactly: 1) else {
            counts.fullWaits &+= 1
            return false
        }
        writer.write(Event(timestamp: timestamp, instrument: InstrumentID(0), payload: .chainHead(head)))
        writer.publish()
        counts.emitted &+= 1
        return true
    }
}

/// What a pending-transaction source writes before any transaction: the feed's chain head,
/// then its pools.
public struct PendingPreamble: Sendable {
    /// Chain heads written (the first is the feed's; the synthetic flow adds one per pass).
    public var heads = 0
    public var pools = 0

    public init() {}

    public func isDone(_ feed: PendingFeed) -> Bool { heads > 0 && pools == feed.poolRecords.count }

    /// Writes what is left of it, at most `limit` events' worth of records; returns the events written.
    public mutating func step<Writer: EventWriter & ~Copyable>(
        _ feed: PendingFeed, now: UInt64, limit: Int, into writer: inout Writer, counts: inout SourceCounts
    ) -> Int {
        var handled = 0
        if heads == 0 {
            guard
                PendingTransactionSource.writeHead(
                    ChainHead(
                        blockNumber: feed.headBlock, baseFeeWei: feed.baseFeeWei, nextTimestamp: feed.nextTimestamp),
                    timestamp: now, into: &writer,
                    counts: &counts)
            else { return 0 }
            heads = 1
            handled = 1
        }
        while pools < feed.poolRecords.count, handled < limit {
            let written = feed.poolRecords[pools].withUnsafeBytes {
                PendingTransactionSource.writeRecord($0, type: .pool, timestamp: now, into: &writer, counts: &counts)
            }
            guard written > 0 else { return handled }
            pools &+= 1
            handled &+= written
        }
        return handled
    }
}

/// The plan for `PendingTransactionSource`: `count` transactions of `feed` at `rate` per
/// second (0: as fast as the ring takes them).
public struct PendingTransactionPlan: SourcePlan {
    public let feed: PendingFeed
    public let count: Int
    public let rate: Double

    public init(feed: PendingFeed, count: Int, rate: Double) {
        self.feed = feed
        self.count = count
        self.rate = rate
    }

    public func open(_ context: SourceContext) throws(EngineError) -> PendingTransactionSource {
        PendingTransactionSource(feed: feed, count: count, rate: rate, context: context)
    }

    public var description: String {
        "\(feed.label); \(grouped(count)) pending transactions at "
            + (rate > 0 ? "\(grouped(Int(rate)))/s" : "max rate")
    }

    public var exhaustedReason: String { "every pending transaction sent" }
}
