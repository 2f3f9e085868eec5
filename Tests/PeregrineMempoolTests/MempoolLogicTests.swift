import PeregrineCore
import PeregrineEVM
import PeregrineMempool
import PeregrineModel
import Testing

/// Collects what the mempool logic sends: each leg and seal, in order.
struct RecordingBundles: BundleSink {
    var legs: [BundleLeg] = []
    var seals: [BundleSeal] = []
    /// Output hash of everything, in order.
    var hasher = StateHasher()

    mutating func bundleLeg(_ leg: borrowing BundleLeg) {
        legs.append(copy leg)
        leg.combine(into: &hasher)
    }

    mutating func bundleSealed(_ seal: BundleSeal) {
        seals.append(seal)
        seal.combine(into: &hasher)
    }
}

/// The events a source writes for a signed synthetic flow: a chain head, its pools, then each
/// transaction as a record, `gap` ns apart.
func mempoolEvents(_ flow: SyntheticSwapFlow, gap: UInt64 = 10_000) -> [Event] {
    var events: [Event] = [
        Event(timestamp: 1, instrument: InstrumentID(0), payload: .chainHead(ChainHead(blockNumber: 99, baseFeeWei: 7)))
    ]
    for pool in flow.pools.pools {
        PoolRecord.encode(pool).withUnsafeBytes {
            forEachRecordEvent($0, type: .pool, timestamp: 2) { events.append($0) }
        }
    }
    flow.arena.withUnsafeBytes { arena in
        for (index, transaction) in flow.transactions.enumerated() {
            PendingRecord.encode(transaction, arena: arena, signed: true).withUnsafeBytes {
                forEachRecordEvent($0, type: .signedTransaction, timestamp: 10 + UInt64(index) * gap) {
                    events.append($0)
                }
            }
        }
    }
    return events
}

struct MempoolLogicTests {
    static let flow = SyntheticSwapFlow(count: 600, tokenCount: 16, seed: 11, signed: true)

    /// The logic run over `flow`'s events to the session's end: its counters, and what it sent.
    static func bundles(of flow: SyntheticSwapFlow, _ settings: MempoolSettings) throws -> (
        MempoolCounters, RecordingBundles
    ) {
        var logic = try MempoolLogic(settings: settings)
        var sink = RecordingBundles()
        let events = mempoolEvents(flow)
        for (index, event) in events.enumerated() { logic.handle(event, sequence: Int64(index), sink: &sink) }
        logic.handle(
            Event(
                timestamp: .max / 2, instrument: InstrumentID(0),
                payload: .timer(TimerFire(timerID: TimerFire.sessionEnd, deadline: 0))),
            sequence: Int64(events.count), sink: &sink)
        return (logic.counters, sink)
    }

    @Test func aPendingRecordCarriesTheDecodedFieldsAndTheSignedBytes() throws {
        let flow = Self.flow
        try flow.arena.withUnsafeBytes { arena in
            for transaction in flow.transactions.prefix(50) {
                let raw = UnsafeRawBufferPointer(
                    rebasing: arena[transaction.rawOffset..<(transaction.rawOffset + transaction.rawLength)])
                let start = transaction.calldataOffset - transaction.rawOffset
                let record = PendingRecord.encode(
                    transaction, payload: raw, calldata: start..<(start + transaction.calldataLength))
                #expect(record.count == PendingRecord.headerSize + raw.count)
                let decoded = try #require(
                    record.withUnsafeBytes { PendingRecord.decode($0, type: .signedTransaction) })
                var expected = transaction
                expected.rawOffset = PendingRecord.headerSize
                expected.calldataOffset = PendingRecord.headerSize + start
                #expect(decoded == expected)
                #expect(Array(record[decoded.rawOffset..<(decoded.rawOffset + decoded.rawLength)]) == Array(raw))
                // The decoder agrees with the bytes themselves.
                let again = try DecodedTransaction(raw: raw).pending
                #expect(again.hash == decoded.hash && again.value == decoded.value && again.to == decoded.to)
                let traced = try #require(record.withUnsafeBytes { PendingRecord.decode($0, type: .tracedTransaction) })
                #expect(traced.rawLength == 0)
            }
        }
        // A calldata range outside the payload is refused.
        var bad = PendingRecord.encode(
            flow.transactions[0], payload: UnsafeRawBufferPointer(start: nil, count: 0), calldata: 0..<0)
        bad[156] = 1
        #expect(bad.withUnsafeBytes { PendingRecord.decode($0, type: .tracedTransaction) } == nil)
    }

    @Test func poolRecordsRoundTripAndRefuseImpossibleReserves() throws {
        for pool in Self.flow.pools.pools {
            let bytes = PoolRecord.encode(pool)
            #expect(bytes.count == 93)
            #expect(bytes.withUnsafeBytes { PoolRecord.decode($0) } == pool)
        }
        var pool = Self.flow.pools.pools[0]
        pool.reserve0 = ConstantProduct.maxReserve + 1
        #expect(PoolRecord.encode(pool).withUnsafeBytes { PoolRecord.decode($0) } == nil)
    }

    @Test func theAssemblerChecksLengthChunksAndChecksum() throws {
        let bytes = (0..<100).map { UInt8($0) }
        var events: [Event] = []
        bytes.withUnsafeBytes { forEachRecordEvent($0, type: .pool, timestamp: 5) { events.append($0) } }
        #expect(events.count == 4)
        guard case .recordEnd(let end) = events[3].payload else {
            Issue.record("no record end")
            return
        }
        #expect(end.length == 100 && end.checksum == bytes.withUnsafeBytes { CRC32C.checksum($0) })
        func assemble(_ chunks: [Event], _ end: RecordEnd) -> [UInt8]? {
            var assembler = RecordAssembler()
            for event in chunks {
                if case .recordChunk(let chunk) = event.payload {
                    _ = assembler.append(chunk, index: event.instrument.rawValue)
                }
            }
            return assembler.finish(end).map { Array($0) }
        }
        #expect(assemble(Array(events[0..<3]), end) == bytes)
        #expect(assemble(Array(events[0..<2]), end) == nil)
        #expect(assemble(Array(events[0..<3]) + [events[0]], end) == nil)
        #expect(assemble([events[0], events[2], events[1]], end) == nil)  // out of order: spoilt
        #expect(assemble([events[2], events[0], events[1], events[2]], end) == bytes)  // chunk 0 starts it
        var wrong = end
        wrong.checksum ^= 1
        #expect(assemble(Array(events[0..<3]), wrong) == nil)
        // Past the capacity: refused, and the next record starts clean.
        var assembler = RecordAssembler()
        for index in 0..<60 {
            _ = assembler.append(RecordChunk(UnsafeRawBufferPointer(start: nil, count: 0)), index: UInt32(index))
        }
        #expect(assembler.finish(RecordEnd(type: .pool, length: 2_400, checksum: 0)) == nil)
        #expect(assembler.length == 0)
    }

    /// A record cut short (a run killed between its chunks, then a new run's events) is dropped
    /// and counted; the records after it are whole.
    @Test func aRecordCutShortIsDroppedAndTheNextOnesAreWhole() throws {
        var settings = MempoolSettings()
        settings.minimumProfitWei = 0
        let events = mempoolEvents(Self.flow)
        // The pools and the first transaction's record but its last chunk and its end.
        let firstTransaction = try #require(
            events.indices.first { index in
                if case .recordEnd(let end) = events[index].payload { return end.type == .signedTransaction }
                return false
            })
        let firstChunk = try #require((0..<firstTransaction).last { events[$0].instrument.rawValue == 0 })
        for cut in [firstTransaction - 1, firstChunk + 1] {
            var logic = try MempoolLogic(settings: settings)
            var sink = RecordingBundles()
            var sequence: Int64 = 0
            for event in events[..<cut] {
                logic.handle(event, sequence: sequence, sink: &sink)
                sequence += 1
            }
            // The restarted source's stream: a chain head, then everything again.
            for event in events {
                logic.handle(event, sequence: sequence, sink: &sink)
                sequence += 1
            }
            #expect(logic.counters.malformedRecords == 1, "cut at \(cut)")
            #expect(logic.counters.transactions == Self.flow.transactions.count)
            #expect(logic.counters.pools == 2 * Self.flow.pools.pools.count)
        }
    }

    /// A new chain head seals the open bundle for the block it was opened for: no bundle mixes
    /// two blocks, and the victims after the head target the next block.
    /// A chain head's next-block timestamp is the router's `block.timestamp`: a swap whose
    /// deadline (the synthetic flow's: 1,900,000,000) is before it reverts (`EXPIRED`), one at it
    /// does not; without one (0) no deadline is checked.
    @Test func swapsPastTheirDeadlineRevertAtTheNextBlock() throws {
        var settings = MempoolSettings()
        settings.minimumProfitWei = 0
        func counters(nextTimestamp: UInt64) throws -> MempoolCounters {
            var events = mempoolEvents(Self.flow)
            events[0].payload = .chainHead(ChainHead(blockNumber: 99, baseFeeWei: 7, nextTimestamp: nextTimestamp))
            var logic = try MempoolLogic(settings: settings)
            var sink = RecordingBundles()
            for (index, event) in events.enumerated() { logic.handle(event, sequence: Int64(index), sink: &sink) }
            return logic.counters
        }
        let unknown = try counters(nextTimestamp: 0)
        #expect(unknown.opportunities > 5 && unknown.reverts == 0)
        let atDeadline = try counters(nextTimestamp: 1_900_000_000)
        #expect(atDeadline == unknown)
        let past = try counters(nextTimestamp: 1_900_000_001)
        #expect(past.reverts == unknown.transactions - unknown.filtered && past.opportunities == 0)
    }

    @Test func aChainHeadSealsTheOpenBundle() throws {
        var settings = MempoolSettings()
        settings.minimumProfitWei = 0
        settings.bundleSize = 16
        settings.bundleTimeoutNanoseconds = 60_000_000_000
        var events = mempoolEvents(Self.flow)
        let middle = events.count / 2 + 5
        let end = try #require(
            events[middle...].firstIndex { if case .recordEnd = $0.payload { return true } else { return false } })
        events.insert(
            Event(
                timestamp: events[middle].timestamp, instrument: InstrumentID(0),
                payload: .chainHead(ChainHead(blockNumber: 100, baseFeeWei: 7))),
            at: end + 1)
        var logic = try MempoolLogic(settings: settings)
        var sink = RecordingBundles()
        for (index, event) in events.enumerated() { logic.handle(event, sequence: Int64(index), sink: &sink) }
        #expect(sink.seals.count >= 2)
        var legIndex = 0
        for seal in sink.seals {
            let legs = sink.legs[legIndex..<(legIndex + seal.legs)]
            #expect(legs.allSatisfy { $0.targetBlock == seal.targetBlock && $0.bundleID == seal.bundleID })
            legIndex += seal.legs
        }
        #expect(Set(sink.legs.map(\.targetBlock)) == [100, 101])
    }

    /// The logic finds what the analyzer finds, bundles every opportunity with its victim's
    /// bytes, and seals on event time.
    @Test func everyOpportunityIsBundledWithItsVictim() throws {
        let flow = Self.flow
        var settings = MempoolSettings()
        settings.minimumProfitWei = 0
        settings.bundleSize = 4
        settings.bundleTimeoutNanoseconds = 25_000
        let (counters, sink) = try Self.bundles(of: flow, settings)

        var analyzer = MempoolAnalyzer(
            pools: flow.pools, search: BackrunSearch(minimumProfit: 0),
            seen: try BloomFilter(
                capacity: settings.bloomCapacity, falsePositiveRate: MempoolSettings.falsePositiveRate),
            baseFee: 7)
        var victims: [TransactionHash] = []
        for index in flow.transactions.indices {
            let transaction = flow.transactions[index]
            if case .opportunity = flow.withCalldata(of: index, { analyzer.analyze(transaction, calldata: $0) }) {
                victims.append(transaction.hash)
            }
        }
        #expect(counters.transactions == flow.transactions.count)
        #expect(counters.pools == flow.pools.pools.count && counters.malformedRecords == 0)
        #expect(counters.opportunities == victims.count && victims.count > 5)
        #expect(sink.legs.map(\.victimHash) == victims)
        #expect(sink.seals.reduce(0) { $0 + $1.legs } == victims.count)
        #expect(sink.legs.map(\.backrunID) == Array(1...UInt64(victims.count)))
        #expect(sink.legs.allSatisfy { $0.targetBlock == 100 && $0.call.hops >= 2 })
        flow.arena.withUnsafeBytes { arena in
            for leg in sink.legs {
                guard let transaction = flow.transactions.first(where: { $0.hash == leg.victimHash }) else { continue }
                let raw = Array(arena[transaction.rawOffset..<(transaction.rawOffset + transaction.rawLength)])
                #expect(leg.withVictimBytes { Array($0) } == raw)
            }
        }
        // Legs precede their seal; a bundle holds at most 2 pairs and seals full, on time, or
        // for the next leg, which shares a pool with it.
        var legIndex = 0
        for seal in sink.seals {
            #expect((1...2).contains(seal.legs))
            let legs = sink.legs[legIndex..<(legIndex + seal.legs)]
            for leg in legs { #expect(leg.bundleID == seal.bundleID) }
            legIndex += seal.legs
            let next = legIndex < sink.legs.count ? sink.legs[legIndex] : nil
            let sharedWithNext =
                try next.map { next in
                    try !legs.reduce(into: Set<EVMAddress>()) { $0.formUnion(try Self.pools(of: $1, flow)) }
                        .isDisjoint(with: Self.pools(of: next, flow))
                } ?? false
            #expect(
                seal.legs == 2 || seal.sealedAt - seal.openedAt >= 25_000 || seal.sealedAt == .max / 2
                    || sharedWithNext)
        }
    }

    /// The pools `leg` swaps through: its victim's path and its back-run's cycle.
    static func pools(of leg: BundleLeg, _ flow: SyntheticSwapFlow) throws -> Set<EVMAddress> {
        let index = try #require(flow.transactions.firstIndex { $0.hash == leg.victimHash })
        let intent = try flow.withCalldata(of: index) {
            try RouterDecoder.decode($0, value: flow.transactions[index].value)
        }
        var pools = Set((0..<leg.call.hops).map { leg.call.pool($0) })
        for hop in 0..<intent.path.hops {
            pools.insert(flow.pools[try #require(flow.pools.index(intent.path[hop], intent.path[hop + 1]))].address)
        }
        return pools
    }

    /// Large bundles of a flow over few tokens, run as a builder runs them: from the pools as
    /// they were, each victim then its back-run, in order. No two legs of a bundle share a
    /// pool, so every victim goes through and every back-run gets back its `minimumOut`.
    @Test func aBundleRunsAsAnalysed() throws {
        let flow = SyntheticSwapFlow(count: 1_500, tokenCount: 6, seed: 5, signed: true)
        var settings = MempoolSettings()
        settings.minimumProfitWei = 0
        settings.bundleSize = 16
        settings.bundleTimeoutNanoseconds = 60_000_000_000
        let (_, sink) = try Self.bundles(of: flow, settings)
        #expect(sink.legs.count > 20)
        #expect(sink.seals.contains { $0.legs > 1 })
        // Sealed early for a shared pool: the flow has more legs than full bundles need.
        #expect(sink.seals.count > (sink.legs.count + 7) / 8)
        let byHash = Dictionary(flow.transactions.indices.map { (flow.transactions[$0].hash, $0) }) { a, _ in a }
        var legIndex = 0
        var backruns = 0
        for seal in sink.seals {
            var pools = flow.pools
            for leg in sink.legs[legIndex..<(legIndex + seal.legs)] {
                let index = try #require(byHash[leg.victimHash])
                let transaction = flow.transactions[index]
                let intent = try flow.withCalldata(of: index) {
                    try RouterDecoder.decode($0, value: transaction.value)
                }
                #expect(throws: Never.self) { _ = try SwapSimulator.simulate(intent, pools: &pools, commit: true) }
                var token = leg.call.tokenIn
                var amount = leg.call.amountIn
                for hop in 0..<leg.call.hops {
                    let pool = try #require(pools.pools.firstIndex { $0.address == leg.call.pool(hop) })
                    let (reserveIn, reserveOut) = try #require(pools[pool].reserves(from: token))
                    let out = try ConstantProduct.amountOut(in: amount, reserveIn: reserveIn, reserveOut: reserveOut)
                    try pools[pool].apply(tokenIn: token, amountIn: amount, amountOut: out)
                    token = pools[pool].other(than: token)
                    amount = out
                }
                #expect(token == leg.call.tokenIn)
                #expect(amount >= leg.call.minimumOut, "back-run \(leg.backrunID) in bundle \(seal.bundleID)")
                backruns += 1
            }
            legIndex += seal.legs
        }
        #expect(backruns == sink.legs.count)
    }

    /// `transaction`'s record events at `timestamp`: its fields and signed bytes (in `arena`).
    /// (`signed` false: as a mined block's traced transaction, without its bytes or nonce.)
    static func recordEvents(
        _ transaction: PendingTransaction, arena: [UInt8], at timestamp: UInt64, signed: Bool = true
    ) -> [Event] {
        var events: [Event] = []
        arena.withUnsafeBytes { arena in
            PendingRecord.encode(transaction, arena: arena, signed: signed).withUnsafeBytes {
                forEachRecordEvent($0, type: signed ? .signedTransaction : .tracedTransaction, timestamp: timestamp) {
                    events.append($0)
                }
            }
        }
        return events
    }

    /// A transaction of `victim`'s sender and nonce, signed with the sender's synthetic key, at
    /// the fee caps given (a plain transfer: no swap to analyse), in an arena of its own.
    static func replacement(of victim: PendingTransaction, feeCap: UInt128, tip: UInt128) throws -> (
        PendingTransaction, [UInt8]
    ) {
        let signer = try #require(
            (0..<256).lazy.compactMap { index in
                try? EthereumSigner(privateKey: Keccak256.hash(Array("peregrine synthetic sender \(index)".utf8)).bytes)
            }.first { $0.address == victim.from })
        let signed = try signer.sign(
            EIP1559Transaction(
                chainID: 1, nonce: victim.nonce, maxPriorityFeePerGas: tip, maxFeePerGas: feeCap, gasLimit: 21_000,
                to: EVMAddress(first: 0xBEEF, second: 1, third: 2), value: UInt256(1), data: []))
        var decoded = try signed.raw.withUnsafeBytes { try DecodedTransaction(raw: $0) }
        decoded.pending.from = signer.address
        decoded.pending.rawOffset = 0
        decoded.pending.rawLength = signed.raw.count
        return (decoded.pending, signed.raw)
    }

    /// A victim replaced while its bundle is open (the same sender and nonce, both fee caps
    /// bumped by 10% or more) leaves the bundle with our back-run, and frees its pools: a later
    /// victim on one of them joins the same bundle instead of sealing it. A replacement bid
    /// below the network's price bump, or a resend of the victim itself, changes nothing.
    @Test func aReplacedVictimLeavesTheOpenBundleAndFreesItsPools() throws {
        let flow = Self.flow
        var settings = MempoolSettings()
        settings.minimumProfitWei = 0
        settings.bundleSize = 16
        settings.bundleTimeoutNanoseconds = 60_000_000_000
        // The flow's chain head and pools, without its transactions.
        let poolEvents = mempoolEvents(flow).filter {
            switch $0.payload {
            case .recordEnd(let end): end.type == .pool
            default: false
            }
        }
        #expect(poolEvents.count == flow.pools.pools.count)
        var head = mempoolEvents(flow)
        let lastPool = try #require(
            head.lastIndex { if case .recordEnd(let end) = $0.payload { end.type == .pool } else { false } })
        head.removeSubrange((lastPool + 1)...)
        /// The logic over the head, `transactions` and the session's end; with `restoringAfter`,
        /// a snapshot taken after that many transactions and restored into a new logic.
        func run(
            _ transactions: [(PendingTransaction, [UInt8])], restoringAfter: Int? = nil, signed: Bool = true
        ) throws -> (MempoolCounters, RecordingBundles) {
            var logic = try MempoolLogic(settings: settings)
            var sink = RecordingBundles()
            var events = head
            var cut = events.count
            for (index, (transaction, arena)) in transactions.enumerated() {
                events += Self.recordEvents(transaction, arena: arena, at: 100 + UInt64(index), signed: signed)
                if index + 1 == restoringAfter { cut = events.count }
            }
            events.append(
                Event(
                    timestamp: 1_000, instrument: InstrumentID(0),
                    payload: .timer(TimerFire(timerID: TimerFire.sessionEnd, deadline: 0))))
            for (index, event) in events.enumerated() {
                if restoringAfter != nil, index == cut {
                    var encoder = SnapshotEncoder()
                    logic.encodeState(into: &encoder)
                    var decoder = SnapshotDecoder(encoder.bytes)
                    var restored = try MempoolLogic(settings: settings)
                    try restored.restoreState(from: &decoder)
                    #expect(decoder.isAtEnd)
                    logic = restored
                }
                logic.handle(event, sequence: Int64(index), sink: &sink)
            }
            return (logic.counters, sink)
        }
        let arena = flow.arena
        func victim(_ index: Int) -> (PendingTransaction, [UInt8]) { (flow.transactions[index], arena) }
        // Two victims whose legs share a pool: the second seals the first's bundle.
        var opportunities: [Int] = []
        for index in flow.transactions.indices {
            let (counters, _) = try run([victim(index)])
            if counters.opportunities == 1 { opportunities.append(index) }
            if opportunities.count == 12 { break }
        }
        var pair: (Int, Int)? = nil
        search: for first in opportunities {
            for second in opportunities
            where second > first && flow.transactions[second].from != flow.transactions[first].from {
                let (_, sink) = try run([victim(first), victim(second)])
                if sink.seals.count == 2 {
                    pair = (first, second)
                    break search
                }
            }
        }
        let (first, second) = try #require(pair)
        let victimTransaction = flow.transactions[first]
        let cap = victimTransaction.gasPrice
        let tip = victimTransaction.maxPriorityFee
        let bumped = try Self.replacement(of: victimTransaction, feeCap: cap * 110 / 100, tip: tip * 110 / 100)

        let (replaced, withReplacement) = try run([victim(first), bumped, victim(second)])
        #expect(replaced.replacedVictims == 1 && replaced.opportunities == 2)
        #expect(withReplacement.seals.map(\.bundleID) == [1] && withReplacement.seals.map(\.legs) == [1])
        #expect(withReplacement.legs.map(\.victimHash) == [flow.transactions[second].hash])
        #expect(withReplacement.legs.map(\.backrunID) == [2])

        // The same across a snapshot of the open bundle, before and after the replacement.
        for restoringAfter in [1, 2] {
            let (counters, sink) = try run([victim(first), bumped, victim(second)], restoringAfter: restoringAfter)
            #expect(counters == replaced && sink.hasher.value == withReplacement.hasher.value)
        }

        // Replaced with nothing after it: the bundle is empty, and nothing is sealed.
        let (alone, nothing) = try run([victim(first), bumped])
        #expect(alone.replacedVictims == 1 && nothing.seals.isEmpty && nothing.legs.isEmpty)

        // Below the price bump (one wei short on either cap), or the victim itself again: it stays.
        for (shortCap, shortTip) in [(cap * 110 / 100 - 1, tip * 110 / 100), (cap * 110 / 100, tip * 110 / 100 - 1)] {
            let underpriced = try Self.replacement(of: victimTransaction, feeCap: shortCap, tip: shortTip)
            let (kept, sink) = try run([victim(first), underpriced, victim(second)])
            #expect(kept.replacedVictims == 0 && sink.seals.map(\.legs) == [1, 1])
            #expect(sink.legs.map(\.victimHash) == [victimTransaction.hash, flow.transactions[second].hash])
        }
        // Traced transactions (a mined block's) carry no nonce: one never replaces another.
        let (traced, tracedSink) = try run([victim(first), bumped], signed: false)
        #expect(traced.replacedVictims == 0 && tracedSink.legs.map(\.victimHash) == [victimTransaction.hash])
        #expect(tracedSink.legs.map(\.from) == [.zero])
        let (again, sink) = try run([victim(first), victim(first)])
        #expect(
            again.replacedVictims == 0 && again.duplicates == 1
                && sink.legs.map(\.victimHash) == [victimTransaction.hash])
    }

    /// A snapshot taken anywhere (mid-record, mid-bundle) restores a logic that goes on
    /// exactly as the one that never stopped: same outputs, same state hash.
    @Test func aSnapshotAnywhereContinuesIdentically() throws {
        var settings = MempoolSettings()
        settings.minimumProfitWei = 0
        settings.bundleSize = 6
        settings.bloomCapacity = 2_000
        let events = mempoolEvents(Self.flow, gap: 3_000)
        var whole = try MempoolLogic(settings: settings)
        var wholeSink = RecordingBundles()
        for (index, event) in events.enumerated() { whole.handle(event, sequence: Int64(index), sink: &wholeSink) }
        var wholeHash = StateHasher()
        whole.combineState(into: &wholeHash)

        for cut in [events.count / 3 + 1, events.count / 2, events.count - 2] {
            var first = try MempoolLogic(settings: settings)
            var sink = RecordingBundles()
            for index in 0..<cut { first.handle(events[index], sequence: Int64(index), sink: &sink) }
            var encoder = SnapshotEncoder()
            first.encodeState(into: &encoder)
            var second = try MempoolLogic(settings: settings)
            var decoder = SnapshotDecoder(encoder.bytes)
            try second.restoreState(from: &decoder)
            #expect(decoder.isAtEnd)
            var before = StateHasher()
            first.combineState(into: &before)
            var after = StateHasher()
            second.combineState(into: &after)
            #expect(before.value == after.value)
            for index in cut..<events.count { second.handle(events[index], sequence: Int64(index), sink: &sink) }
            var hash = StateHasher()
            second.combineState(into: &hash)
            #expect(hash.value == wholeHash.value)
            #expect(sink.hasher.value == wholeSink.hasher.value)
            #expect(sink.seals == wholeSink.seals)
        }
    }

    @Test func settingsReadTheirOwnTextAndRefuseMistakes() throws {
        var settings = MempoolSettings()
        settings.bloomCapacity = 123
        settings.minimumProfitWei = 5
        settings.executor = try #require(EVMAddress(hex: "0x00000000000000000000000000000000000e8ec1"))
        #expect(try MempoolSettings.parse(settings.description) == settings)
        #expect(
            settings.description
                == "bloom=123 min-gas-gwei=0 min-profit-wei=5 bundle-size=2 bundle-timeout-ns=100000 "
                + "executor=0x00000000000000000000000000000000000e8ec1 chain-id=1 nonce=0")
        // Resolved, the settings carry the Bloom filter's size, and read it back.
        let resolved = try settings.resolved()
        let size = try BloomFilter.size(capacity: 123, falsePositiveRate: MempoolSettings.falsePositiveRate)
        #expect(resolved.bloomSize == MempoolSettings.BloomSize(blocks: size.blocks, bitsPerKey: size.bitsPerKey))
        #expect(
            resolved.description.hasPrefix(
                "bloom=123 bloom-blocks=\(size.blocks) bloom-k=\(size.bitsPerKey) min-gas-gwei=0"))
        #expect(try MempoolSettings.parse(resolved.description) == resolved)
        #expect(throws: MempoolSettings.Invalid("bloom-blocks and bloom-k go together")) {
            try MempoolSettings.parse(
                resolved.description.replacingOccurrences(of: " bloom-k=\(size.bitsPerKey)", with: ""))
        }
        // A stored size is used as it is, whatever this machine would derive.
        var stored = resolved
        stored.bloomSize = MempoolSettings.BloomSize(blocks: 7, bitsPerKey: 3)
        var logic = try MempoolLogic(settings: stored)
        var encoder = SnapshotEncoder()
        logic.encodeState(into: &encoder)
        var other = try MempoolLogic(settings: resolved)
        var decoder = SnapshotDecoder(encoder.bytes)
        #expect(throws: SnapshotError.self) { try other.restoreState(from: &decoder) }
        _ = logic
        #expect(throws: MempoolSettings.Invalid("missing nonce")) {
            try MempoolSettings.parse(settings.description.replacingOccurrences(of: " nonce=0", with: ""))
        }
        #expect(throws: MempoolSettings.Invalid("bundle-size=17: use 2 to 16")) {
            try MempoolSettings.parse(
                settings.description.replacingOccurrences(of: "bundle-size=2", with: "bundle-size=17"))
        }
        #expect(throws: MempoolSettings.Invalid("chain-id=x: use a whole number")) {
            try MempoolSettings.parse(settings.description.replacingOccurrences(of: "chain-id=1", with: "chain-id=x"))
        }
    }
}
