import PeregrineEngine
import PeregrineMempool
import PeregrineModel
import PeregrineStrategy

/// The engine's logic with the mempool analysis, fed the events a pending-transaction source
/// writes for `count` signed synthetic swaps: for the package benchmark and the runtime-call
/// counts, which drive it one transaction (its record's events) at a time. Set-up allocates
/// and signs (about 40 µs a transaction); `handle` does not allocate.
public struct MempoolLogicWorkload: ~Copyable {
    public var logic: EngineLogic<IdleStrategy>
    public var outputs = HashingOutputs()
    /// Every transaction's record events, and where each transaction's are.
    public let events: [Event]
    public let transactions: [Range<Int>]
    @usableFromInline var sequence: Int64 = 0
    @usableFromInline var cursor = 0
    @usableFromInline let head = Event(
        timestamp: 5, instrument: InstrumentID(0), payload: .chainHead(ChainHead(blockNumber: 1, baseFeeWei: 0)))

    /// The logic has taken the pools already; back-runs worth 0.01 ETH are bundled.
    public init(count: Int) throws {
        let flow = SyntheticSwapFlow(count: count, tokenCount: 256, seed: 3, signed: true)
        var configuration = EngineConfiguration()
        configuration.instruments = 1
        var settings = MempoolSettings()
        settings.minimumProfitWei = 10_000_000_000_000_000
        settings.bloomCapacity = Swift.max(count, 1)
        configuration.mempool = settings
        logic = try EngineLogic(configuration: configuration, custom: IdleStrategy.self)
        var events: [Event] = []
        var ranges: [Range<Int>] = []
        flow.arena.withUnsafeBytes { arena in
            for (index, transaction) in flow.transactions.enumerated() {
                let first = events.count
                PendingRecord.encode(transaction, arena: arena, signed: true).withUnsafeBytes {
                    forEachRecordEvent($0, type: .signedTransaction, timestamp: 10 + UInt64(index) * 1_000) {
                        events.append($0)
                    }
                }
                ranges.append(first..<events.count)
            }
        }
        self.events = events
        transactions = ranges
        for pool in flow.pools.pools {
            PoolRecord.encode(pool).withUnsafeBytes {
                forEachRecordEvent($0, type: .pool, timestamp: 1) { event in
                    logic.handle(event, sequence: sequence, outputs: &outputs)
                    sequence &+= 1
                }
            }
        }
    }

    /// Hands the logic the next transaction's events (a new chain head first at the start of
    /// each pass, so no transaction is a duplicate).
    @inlinable
    public mutating func handleNextTransaction() {
        let index = cursor % transactions.count
        if index == 0 {
            logic.handle(head, sequence: sequence, outputs: &outputs)
            sequence &+= 1
        }
        cursor &+= 1
        for position in transactions[index] {
            logic.handle(events[position], sequence: sequence, outputs: &outputs)
            sequence &+= 1
        }
    }
}
