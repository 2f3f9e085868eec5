import PeregrineCore
import PeregrineEVM
import PeregrineModel

/// The call our back-run makes: `backrun(tokenIn, amountIn, minimumOut, pools)` on the
/// executor (`BackrunCalldata`), with the pools' addresses, so the sink can sign it without
/// the analysis' pools.
@frozen
public struct BackrunCall: Equatable, Sendable, BitwiseCopyable {
    public var tokenIn: EVMAddress
    public var amountIn: UInt128
    /// The input plus the gas cost: the back-run reverts rather than lose.
    public var minimumOut: UInt128
    public var pools: (EVMAddress, EVMAddress, EVMAddress)
    public var hops: Int
    public var gasLimit: UInt64

    @inlinable
    public init(
        tokenIn: EVMAddress, amountIn: UInt128, minimumOut: UInt128, pools: (EVMAddress, EVMAddress, EVMAddress),
        hops: Int, gasLimit: UInt64
    ) {
        self.tokenIn = tokenIn
        self.amountIn = amountIn
        self.minimumOut = minimumOut
        self.pools = pools
        self.hops = hops
        self.gasLimit = gasLimit
    }

    /// The address of hop `index`'s pool (0 ..< hops).
    public func pool(_ index: Int) -> EVMAddress {
        switch index {
        case 0: return pools.0
        case 1: return pools.1
        default: return pools.2
        }
    }

    public static func == (left: BackrunCall, right: BackrunCall) -> Bool {
        left.tokenIn == right.tokenIn && left.amountIn == right.amountIn && left.minimumOut == right.minimumOut
            && left.pools.0 == right.pools.0 && left.pools.1 == right.pools.1 && left.pools.2 == right.pools.2
            && left.hops == right.hops && left.gasLimit == right.gasLimit
    }
}

/// One victim and our back-run behind it, in a bundle: what the bundle sink needs to sign our
/// transaction and send both (the victim's signed bytes travel with it). A fixed-size value
/// (2.3 KB) that crosses a ring inline.
@frozen
public struct BundleLeg: Sendable, BitwiseCopyable {
    /// Room for a victim's signed bytes: more than a record can hold after its header.
    public static let victimCapacity = 2_048

    public var bundleID: UInt64
    /// Our transaction's number (1, 2, … over the run).
    public var backrunID: UInt64
    public var victimHash: TransactionHash
    /// The victim's sender and nonce, when it came signed (zero otherwise: a traced
    /// transaction's nonce is unknown): a transaction of the same sender and nonce replaces it.
    public var from: EVMAddress
    public var nonce: UInt64
    /// Journal sequence and ingress time (engine ns) of the victim's record.
    public var sequence: Int64
    public var arrival: UInt64
    public var targetBlock: UInt64
    /// Our fee caps: the victim's, so our transaction is ordered the same and pays the gas
    /// the profit was net of.
    public var maxFeePerGas: UInt128
    public var maxPriorityFeePerGas: UInt128
    public var call: BackrunCall
    /// Wei after gas.
    public var netProfit: Int128
    /// 0 when the source had no signed bytes (a block's traces): such a bundle cannot be sent.
    public var victimLength: Int
    public var victim: InlineArray<2048, UInt8>

    /// An all-zero leg (storage before use).
    public static var empty: BundleLeg {
        BundleLeg(
            bundleID: 0, backrunID: 0, victimHash: TransactionHash(0, 0, 0, 0), from: .zero, nonce: 0, sequence: 0,
            arrival: 0,
            targetBlock: 0, maxFeePerGas: 0, maxPriorityFeePerGas: 0,
            call: BackrunCall(
                tokenIn: .zero, amountIn: 0, minimumOut: 0, pools: (.zero, .zero, .zero), hops: 0, gasLimit: 0),
            netProfit: 0, victimLength: 0, victim: InlineArray(repeating: 0))
    }

    /// Calls `body` with the victim's signed bytes (empty when there are none).
    public func withVictimBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: victim) { try body(UnsafeRawBufferPointer(rebasing: $0[..<victimLength])) }
    }

    /// Adds every field to `hasher` (the output hash; the state hash of an open bundle).
    public func combine(into hasher: inout StateHasher) {
        for value in [bundleID, backrunID, victimHash.words.0, victimHash.words.1, victimHash.words.2] {
            hasher.combine(value)
        }
        hasher.combine(victimHash.words.3)
        hasher.combine(from.first)
        hasher.combine(from.second)
        hasher.combine(from.third)
        hasher.combine(nonce)
        hasher.combine(sequence)
        hasher.combine(arrival)
        hasher.combine(targetBlock)
        combine128(maxFeePerGas, &hasher)
        combine128(maxPriorityFeePerGas, &hasher)
        hasher.combine(call.tokenIn.first)
        hasher.combine(call.tokenIn.second)
        hasher.combine(call.tokenIn.third)
        combine128(call.amountIn, &hasher)
        combine128(call.minimumOut, &hasher)
        for hop in 0..<3 {
            let pool = call.pool(hop)
            hasher.combine(pool.first)
            hasher.combine(pool.second)
            hasher.combine(pool.third)
        }
        hasher.combine(call.hops)
        hasher.combine(call.gasLimit)
        combine128(UInt128(bitPattern: netProfit), &hasher)
        hasher.combine(victimLength)
        withVictimBytes { bytes in
            for byte in bytes { hasher.combine(byte) }
        }
    }
}

extension BundleLeg {
    /// Writes every field (a snapshot of an open bundle).
    public func encode(into encoder: inout SnapshotEncoder) {
        for value in [bundleID, backrunID, victimHash.words.0, victimHash.words.1, victimHash.words.2] {
            encoder.write(value)
        }
        encoder.write(victimHash.words.3)
        encoder.write(from.first)
        encoder.write(from.second)
        encoder.write(from.third)
        encoder.write(nonce)
        encoder.write(sequence)
        encoder.write(arrival)
        encoder.write(targetBlock)
        encoder.write(maxFeePerGas)
        encoder.write(maxPriorityFeePerGas)
        for address in [call.tokenIn, call.pools.0, call.pools.1, call.pools.2] {
            encoder.write(address.first)
            encoder.write(address.second)
            encoder.write(address.third)
        }
        encoder.write(call.amountIn)
        encoder.write(call.minimumOut)
        encoder.write(Int64(call.hops))
        encoder.write(call.gasLimit)
        encoder.write(netProfit)
        encoder.write(Int64(victimLength))
        withVictimBytes { bytes in bytes.forEach { encoder.write($0) } }
    }

    /// Reads what `encode` wrote.
    public init(decoding decoder: inout SnapshotDecoder) throws(SnapshotError) {
        self = .empty
        bundleID = try decoder.read(UInt64.self, "bundle id")
        backrunID = try decoder.read(UInt64.self, "back-run id")
        victimHash = TransactionHash(
            try decoder.read(UInt64.self, "victim hash"), try decoder.read(UInt64.self, "victim hash"),
            try decoder.read(UInt64.self, "victim hash"), try decoder.read(UInt64.self, "victim hash"))
        from = EVMAddress(
            first: try decoder.read(UInt64.self, "victim sender"),
            second: try decoder.read(UInt64.self, "victim sender"),
            third: try decoder.read(UInt32.self, "victim sender"))
        nonce = try decoder.read(UInt64.self, "victim nonce")
        sequence = try decoder.read(Int64.self, "victim sequence")
        arrival = try decoder.read(UInt64.self, "victim arrival")
        targetBlock = try decoder.read(UInt64.self, "target block")
        maxFeePerGas = try decoder.read(UInt128.self, "fee cap")
        maxPriorityFeePerGas = try decoder.read(UInt128.self, "tip cap")
        func address() throws(SnapshotError) -> EVMAddress {
            EVMAddress(
                first: try decoder.read(UInt64.self, "address"), second: try decoder.read(UInt64.self, "address"),
                third: try decoder.read(UInt32.self, "address"))
        }
        call.tokenIn = try address()
        call.pools = (try address(), try address(), try address())
        call.amountIn = try decoder.read(UInt128.self, "amount in")
        call.minimumOut = try decoder.read(UInt128.self, "minimum out")
        let hops = try decoder.read(Int64.self, "hops")
        guard (0...3).contains(hops) else { throw .invalid(field: "hops", value: hops) }
        call.hops = Int(hops)
        call.gasLimit = try decoder.read(UInt64.self, "gas limit")
        netProfit = try decoder.read(Int128.self, "net profit")
        let length = try decoder.read(Int64.self, "victim length")
        guard (0...Int64(Self.victimCapacity)).contains(length) else {
            throw .invalid(field: "victim length", value: length)
        }
        victimLength = Int(length)
        for index in 0..<victimLength { victim[index] = try decoder.read(UInt8.self, "victim byte") }
    }
}

@inlinable
func combine128(_ value: UInt128, _ hasher: inout StateHasher) {
    hasher.combine(UInt64(truncatingIfNeeded: value >> 64))
    hasher.combine(UInt64(truncatingIfNeeded: value))
}

/// A bundle sealed: its legs were sent just before it, in order.
@frozen
public struct BundleSeal: Equatable, Sendable, BitwiseCopyable {
    public var bundleID: UInt64
    public var legs: Int
    public var targetBlock: UInt64
    /// Event time of its first victim, and of the event that sealed it (engine ns).
    public var openedAt: UInt64
    public var sealedAt: UInt64
    /// Journal sequence of the event that sealed it.
    public var sequence: Int64

    public init(bundleID: UInt64, legs: Int, targetBlock: UInt64, openedAt: UInt64, sealedAt: UInt64, sequence: Int64) {
        self.bundleID = bundleID
        self.legs = legs
        self.targetBlock = targetBlock
        self.openedAt = openedAt
        self.sealedAt = sealedAt
        self.sequence = sequence
    }

    public func combine(into hasher: inout StateHasher) {
        hasher.combine(bundleID)
        hasher.combine(legs)
        hasher.combine(targetBlock)
        hasher.combine(openedAt)
        hasher.combine(sealedAt)
        hasher.combine(sequence)
    }
}

/// Where the mempool logic sends sealed bundles: each leg, then the seal.
public protocol BundleSink: ~Copyable {
    mutating func bundleLeg(_ leg: borrowing BundleLeg)
    mutating func bundleSealed(_ seal: BundleSeal)
}

/// What the mempool logic counted.
public struct MempoolCounters: Equatable, Sendable {
    /// Pending transactions analysed, and what became of them.
    public var transactions = 0
    public var duplicates = 0
    public var filtered = 0
    public var undecodable = 0
    public var reverts = 0
    public var noOpportunity = 0
    public var opportunities = 0
    /// Records whose chunks did not make them up, or whose bytes did not decode.
    public var malformedRecords = 0
    public var pools = 0
    public var chainHeads = 0
    public var bundles = 0
    /// Open legs taken out of their bundle because their victim was replaced (the same sender
    /// and nonce, fees bumped as the network requires).
    public var replacedVictims = 0
    /// Net profit after gas of every opportunity, wei (saturating).
    public var profitWei: UInt128 = 0

    public init() {}

    var all: [Int] {
        [
            transactions, duplicates, filtered, undecodable, reverts, noOpportunity, opportunities, malformedRecords,
            pools, chainHeads, bundles, replacedVictims,
        ]
    }
}

/// The mempool analysis as a part of the engine's logic: it rebuilds records from their
/// chunks, keeps the pools (pool records) and the chain head (chain-head events), analyses each
/// pending transaction (`MempoolAnalyzer`: Bloom de-duplication, rules, decode, simulate,
/// back-run search), and bundles each victim with our back-run. Bundles seal on event time:
/// full, or when an event (a clock tick included) comes `bundleTimeoutNanoseconds` after their
/// first victim, at a new chain head, or at the session's end. A pure function of the events, like the rest of the
/// logic; its whole state is in snapshots and the state hash.
///
/// Per event: no allocation, except a pool record for a pool not seen before (the pool index
/// grows). Single-threaded.
public struct MempoolLogic: ~Copyable {
    public let settings: MempoolSettings
    @usableFromInline var analyzer: MempoolAnalyzer
    @usableFromInline var assembler: RecordAssembler
    @usableFromInline var builder: BundleBuilder
    /// The open bundle's legs (at most 8: 16 transactions).
    @usableFromInline let legs: UnsafeMutablePointer<BundleLeg>
    @usableFromInline var legCount = 0
    /// The pools (indices) the open bundle's legs swap through: each victim's path and each
    /// back-run's cycle. A leg that would share one goes into a new bundle, since every leg is
    /// analysed on the pools as they are without the bundle's other legs, and a shared pool
    /// would not be as analysed when the bundle runs (a back-run reverting).
    @usableFromInline let openPools: UnsafeMutablePointer<Int>
    @usableFromInline var openPoolCount = 0
    /// Per open leg, how many of `openPools` are its own (each leg's follow the legs' before it).
    @usableFromInline let legPoolCounts: UnsafeMutablePointer<Int>
    @usableFromInline static let poolsPerLeg = 7
    @usableFromInline var targetBlock: UInt64 = 1
    @usableFromInline var baseFeeWei: UInt64 = 0
    @usableFromInline var nextBackrunID: UInt64 = 1
    @usableFromInline var _counters = MempoolCounters()

    @inlinable public var counters: MempoolCounters { _counters }
    /// The opportunity found last (valid for the event in which `counters.opportunities` grew;
    /// not part of the state: strategies hear of it within that event).
    @usableFromInline var _lastOpportunity: Opportunity?
    @inlinable public var lastOpportunity: Opportunity? { _lastOpportunity }
    @usableFromInline static let legCapacity = 8

    public init(settings: MempoolSettings) throws(MempoolSettings.Invalid) {
        try settings.validate()
        let builder: BundleBuilder
        do {
            builder = try BundleBuilder(
                maxTransactions: settings.bundleSize, timeoutNanoseconds: settings.bundleTimeoutNanoseconds)
        } catch { throw MempoolSettings.Invalid("\(error)") }
        let size = try settings.bloomFilterSize()
        let seen: BloomFilter
        do {
            seen = try BloomFilter(
                capacity: settings.bloomCapacity, falsePositiveRate: MempoolSettings.falsePositiveRate,
                blocks: size.blocks, bitsPerKey: size.bitsPerKey)
        } catch { throw MempoolSettings.Invalid("\(error)") }
        self.settings = settings
        self.builder = builder
        analyzer = MempoolAnalyzer(
            pools: PoolBook(),
            rules: MempoolRules(minimumGasPrice: UInt128(settings.minimumGasPriceGwei) * 1_000_000_000),
            search: BackrunSearch(minimumProfit: settings.minimumProfitWei), seen: seen)
        assembler = RecordAssembler()
        legs = UnsafeMutablePointer<BundleLeg>.allocate(capacity: Self.legCapacity)
        legs.initialize(repeating: .empty, count: Self.legCapacity)
        openPools = UnsafeMutablePointer<Int>.allocate(capacity: Self.legCapacity * Self.poolsPerLeg)
        openPools.initialize(repeating: 0, count: Self.legCapacity * Self.poolsPerLeg)
        legPoolCounts = UnsafeMutablePointer<Int>.allocate(capacity: Self.legCapacity)
        legPoolCounts.initialize(repeating: 0, count: Self.legCapacity)
    }

    deinit {
        legs.deallocate()
        openPools.deallocate()
        legPoolCounts.deallocate()
    }

    /// Handles one event; sends each bundle it seals to `sink`.
    @inlinable
    public mutating func handle<Sink: BundleSink & ~Copyable>(_ event: Event, sequence: Int64, sink: inout Sink) {
        switch event.payload {
        case .recordChunk(let chunk):
            if assembler.append(chunk, index: event.instrument.rawValue) { _counters.malformedRecords &+= 1 }
        case .recordEnd(let end): finishRecord(end, event: event, sequence: sequence, sink: &sink)
        case .chainHead(let head):
            abandonRecord()
            _counters.chainHeads &+= 1
            // The open bundle is for the block before this head: sealed now, for that block,
            // so no bundle mixes two blocks (or holds a victim twice after the Bloom reset).
            if let sealed = builder.flush() { emit(sealed, at: event.timestamp, sequence: sequence, sink: &sink) }
            // A new block: what is still pending is analysed again, for the block after it.
            targetBlock = head.blockNumber &+ 1
            baseFeeWei = head.baseFeeWei
            analyzer.baseFee = UInt128(head.baseFeeWei)
            analyzer.nextTimestamp = head.nextTimestamp
            analyzer.seen.removeAll()
        case .timer(let timer) where timer.timerID == TimerFire.sessionEnd:
            abandonRecord()
            if let sealed = builder.flush() { emit(sealed, at: event.timestamp, sequence: sequence, sink: &sink) }
        default: abandonRecord()
        }
        if let sealed = builder.poll(now: event.timestamp) {
            emit(sealed, at: event.timestamp, sequence: sequence, sink: &sink)
        }
    }

    /// A record's events are consecutive: any other event cuts an unfinished one short.
    @inlinable
    mutating func abandonRecord() {
        if assembler.abandon() { _counters.malformedRecords &+= 1 }
    }

    @inlinable
    mutating func finishRecord<Sink: BundleSink & ~Copyable>(
        _ end: RecordEnd, event: Event, sequence: Int64, sink: inout Sink
    ) {
        guard let record = assembler.finish(end) else {
            _counters.malformedRecords &+= 1
            return
        }
        switch end.type {
        case .pool:
            guard let pool = PoolRecord.decode(record) else {
                _counters.malformedRecords &+= 1
                return
            }
            _counters.pools &+= 1
            analyzer.pools.upsert(pool)
        case .signedTransaction, .tracedTransaction:
            guard let transaction = PendingRecord.decode(record, type: end.type) else {
                _counters.malformedRecords &+= 1
                return
            }
            // A traced transaction (a mined block's) has no nonce: it replaces nothing, and
            // nothing replaces it.
            analyse(
                transaction, signed: end.type == .signedTransaction, record: record, event: event, sequence: sequence,
                sink: &sink)
        case .executionReport, .venueHello: break  // the engine's, not the mempool's
        }
    }

    @inlinable
    mutating func analyse<Sink: BundleSink & ~Copyable>(
        _ transaction: PendingTransaction, signed: Bool, record: UnsafeRawBufferPointer, event: Event, sequence: Int64,
        sink: inout Sink
    ) {
        _counters.transactions &+= 1
        if signed, legCount > 0, transaction.from != .zero { withdrawReplaced(by: transaction) }
        let calldata = UnsafeRawBufferPointer(
            rebasing: record[transaction.calldataOffset..<(transaction.calldataOffset &+ transaction.calldataLength)])
        switch analyzer.analyze(transaction, calldata: calldata) {
        case .duplicate: _counters.duplicates &+= 1
        case .filtered: _counters.filtered &+= 1
        case .undecodable: _counters.undecodable &+= 1
        case .reverts: _counters.reverts &+= 1
        case .noOpportunity: _counters.noOpportunity &+= 1
        case .opportunity(let intent, let opportunity):
            _counters.opportunities &+= 1
            _lastOpportunity = opportunity
            let (profit, overflow) = _counters.profitWei.addingReportingOverflow(
                UInt128(clamping: opportunity.netProfit))
            _counters.profitWei = overflow ? .max : profit
            // The victim and our back-run go into the same bundle: the open one unless it is
            // full or one of its legs swaps through a pool this leg does.
            var legPools = (0, 0, 0, 0, 0, 0, 0)
            var legPoolCount = 0
            var shared = false
            withUnsafeMutableBytes(of: &legPools) { raw in
                let pools = raw.bindMemory(to: Int.self)
                func note(_ index: Int) {
                    for open in 0..<openPoolCount where openPools[open] == index { shared = true }
                    pools[legPoolCount] = index
                    legPoolCount &+= 1
                }
                for hop in 0..<Swift.min(intent.path.hops, 4) {
                    if let index = analyzer.pools.index(intent.path[hop], intent.path[hop &+ 1]) { note(index) }
                }
                for hop in 0..<Swift.min(opportunity.cycle.count, 3) { note(opportunity.cycle.pool(hop)) }
            }
            if builder.pendingCount &+ 2 > builder.maxTransactions || shared, let sealed = builder.flush() {
                emit(sealed, at: event.timestamp, sequence: sequence, sink: &sink)
            }
            // At most 8 legs of 7 pools are open (a bundle holds 16 transactions).
            if legCount < Self.legCapacity {
                withUnsafeBytes(of: legPools) { raw in
                    for index in raw.bindMemory(to: Int.self).prefix(legPoolCount) {
                        openPools[openPoolCount] = index
                        openPoolCount &+= 1
                    }
                }
                legPoolCounts[legCount] = legPoolCount
            }
            addLeg(
                transaction, signed: signed, opportunity: opportunity, record: record, event: event, sequence: sequence)
            let tipGwei = UInt16(clamping: transaction.maxPriorityFee / 1_000_000_000)
            let backrunID = nextBackrunID
            nextBackrunID &+= 1
            _ = builder.add(handle(transaction.hash.words.0, .observed, tipGwei), now: event.timestamp)
            if let sealed = builder.add(handle(backrunID, .strategy, tipGwei), now: event.timestamp) {
                emit(sealed, at: event.timestamp, sequence: sequence, sink: &sink)
            }
        }
    }

    @inlinable
    func handle(_ id: UInt64, _ origin: TransactionOrigin, _ tipGwei: UInt16) -> Transaction {
        Transaction(
            id: id, instrument: InstrumentID(0), side: .buy, price: Price(ticks: 0), quantity: .zero, origin: origin,
            priorityFee: tipGwei)
    }

    /// A pending transaction of an open leg's victim's sender and nonce, with both fee caps
    /// raised as the network requires of a replacement (above the victim's and by 10% or more:
    /// geth's and the other clients' price bump), replaces the victim, which will not be mined:
    /// the leg (the victim and our back-run) leaves the open bundle, which keeps its id and
    /// deadline, and its pools are free for the legs that follow. A lower bid is refused by the
    /// network, so the victim stays. O(legs), no allocation.
    @inlinable
    mutating func withdrawReplaced(by transaction: PendingTransaction) {
        var index = 0
        var poolStart = 0
        while index < legCount {
            let leg = legs + index
            guard leg.pointee.from == transaction.from, leg.pointee.nonce == transaction.nonce,
                leg.pointee.victimHash != transaction.hash,
                Self.bumps(transaction.gasPrice, over: leg.pointee.maxFeePerGas),
                Self.bumps(transaction.maxPriorityFee, over: leg.pointee.maxPriorityFeePerGas)
            else {
                poolStart &+= legPoolCounts[index]
                index &+= 1
                continue
            }
            _ = builder.remove(id: leg.pointee.victimHash.words.0, origin: .observed)
            _ = builder.remove(id: leg.pointee.backrunID, origin: .strategy)
            let pools = legPoolCounts[index]
            for pool in poolStart..<(openPoolCount &- pools) { openPools[pool] = openPools[pool &+ pools] }
            openPoolCount &-= pools
            for later in index..<(legCount &- 1) {
                legs[later] = legs[later &+ 1]
                legPoolCounts[later] = legPoolCounts[later &+ 1]
            }
            legCount &-= 1
            _counters.replacedVictims &+= 1
        }
    }

    /// Whether `offered` is a fee the network takes to replace a transaction that offered
    /// `current`: higher, and at least 110% of it (rounded down, as geth computes it).
    @inlinable
    static func bumps(_ offered: UInt128, over current: UInt128) -> Bool {
        let (scaled, overflow) = current.multipliedReportingOverflow(by: 110)
        return !overflow && offered > current && offered >= scaled / 100
    }

    /// Writes the open bundle's next leg in place (the victim's bytes copied once).
    @inlinable
    mutating func addLeg(
        _ transaction: PendingTransaction, signed: Bool, opportunity: Opportunity, record: UnsafeRawBufferPointer,
        event: Event, sequence: Int64
    ) {
        guard legCount < Self.legCapacity else { return }
        let leg = legs + legCount
        leg.pointee.bundleID = builder.openBundleID
        leg.pointee.backrunID = nextBackrunID
        leg.pointee.victimHash = transaction.hash
        // Without signed bytes the nonce is unknown: no sender, so no replacement matches.
        leg.pointee.from = signed ? transaction.from : .zero
        leg.pointee.nonce = signed ? transaction.nonce : 0
        leg.pointee.sequence = sequence
        leg.pointee.arrival = event.timestamp
        leg.pointee.targetBlock = targetBlock
        leg.pointee.maxFeePerGas = transaction.gasPrice
        leg.pointee.maxPriorityFeePerGas = transaction.maxPriorityFee
        leg.pointee.call = analyzer.backrunCall(for: opportunity)
        leg.pointee.netProfit = opportunity.netProfit
        let length = transaction.rawLength
        leg.pointee.victimLength = length
        withUnsafeMutableBytes(of: &leg.pointee.victim) { victim in
            victim.copyMemory(
                from: UnsafeRawBufferPointer(
                    rebasing: record[transaction.rawOffset..<(transaction.rawOffset &+ length)]))
        }
        legCount &+= 1
    }

    @inlinable
    mutating func emit<Sink: BundleSink & ~Copyable>(
        _ bundle: Bundle, at now: UInt64, sequence: Int64, sink: inout Sink
    ) {
        for index in 0..<legCount { sink.bundleLeg(legs[index]) }
        sink.bundleSealed(
            BundleSeal(
                bundleID: bundle.id, legs: legCount, targetBlock: legCount > 0 ? legs[0].targetBlock : targetBlock,
                openedAt: bundle.openedAt, sealedAt: now, sequence: sequence))
        _counters.bundles &+= 1
        legCount = 0
        openPoolCount = 0
    }

    // MARK: - State

    /// Adds the whole state to `hasher`: counters, chain head, pools, the Bloom filter, the
    /// open bundle and its legs, and a record being put together.
    public func combineState(into hasher: inout StateHasher) {
        for value in _counters.all { hasher.combine(value) }
        combine128(_counters.profitWei, &hasher)
        hasher.combine(targetBlock)
        hasher.combine(baseFeeWei)
        hasher.combine(analyzer.nextTimestamp)
        hasher.combine(nextBackrunID)
        hasher.combine(analyzer.pools.pools.count)
        for pool in analyzer.pools.pools {
            for address in [pool.address, pool.token0, pool.token1] {
                hasher.combine(address.first)
                hasher.combine(address.second)
                hasher.combine(address.third)
            }
            combine128(pool.reserve0, &hasher)
            combine128(pool.reserve1, &hasher)
            hasher.combine(pool.venue.rawValue)
        }
        analyzer.seen.combineState(into: &hasher)
        builder.combineState(into: &hasher)
        hasher.combine(legCount)
        for index in 0..<legCount { legs[index].combine(into: &hasher) }
        hasher.combine(openPoolCount)
        for index in 0..<openPoolCount { hasher.combine(openPools[index]) }
        for index in 0..<legCount { hasher.combine(legPoolCounts[index]) }
        hasher.combine(assembler.length)
        assembler.withHeldBytes { bytes in
            for byte in bytes { hasher.combine(byte) }
        }
    }

    /// Writes the whole state (a snapshot's part).
    public func encodeState(into encoder: inout SnapshotEncoder) {
        for value in _counters.all { encoder.write(Int64(value)) }
        encoder.write(_counters.profitWei)
        encoder.write(targetBlock)
        encoder.write(baseFeeWei)
        encoder.write(analyzer.nextTimestamp)
        encoder.write(nextBackrunID)
        encoder.write(Int64(analyzer.pools.pools.count))
        for pool in analyzer.pools.pools { PoolRecord.encode(pool).forEach { encoder.write($0) } }
        analyzer.seen.encodeState(into: &encoder)
        builder.encodeState(into: &encoder)
        encoder.write(Int64(legCount))
        for index in 0..<legCount { legs[index].encode(into: &encoder) }
        encoder.write(Int64(openPoolCount))
        for index in 0..<openPoolCount { encoder.write(Int64(openPools[index])) }
        for index in 0..<legCount { encoder.write(Int64(legPoolCounts[index])) }
        encoder.write(Int64(assembler.length))
        assembler.withHeldBytes { bytes in
            encoder.write(Int64(bytes.count))
            bytes.forEach { encoder.write($0) }
        }
    }

    /// Loads what `encodeState` wrote into this fresh logic (made with the same settings).
    public mutating func restoreState(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        var counters = MempoolCounters()
        func count(_ name: String) throws(SnapshotError) -> Int {
            let value = try decoder.read(Int64.self, name)
            guard value >= 0 else { throw .invalid(field: name, value: value) }
            return Int(value)
        }
        counters.transactions = try count("transactions")
        counters.duplicates = try count("duplicates")
        counters.filtered = try count("filtered")
        counters.undecodable = try count("undecodable")
        counters.reverts = try count("reverts")
        counters.noOpportunity = try count("no opportunity")
        counters.opportunities = try count("opportunities")
        counters.malformedRecords = try count("malformed records")
        counters.pools = try count("pool records")
        counters.chainHeads = try count("chain heads")
        counters.bundles = try count("bundles")
        counters.replacedVictims = try count("replaced victims")
        counters.profitWei = try decoder.read(UInt128.self, "profit")
        _counters = counters
        targetBlock = try decoder.read(UInt64.self, "target block")
        baseFeeWei = try decoder.read(UInt64.self, "base fee")
        analyzer.baseFee = UInt128(baseFeeWei)
        analyzer.nextTimestamp = try decoder.read(UInt64.self, "next block timestamp")
        nextBackrunID = try decoder.read(UInt64.self, "next back-run id")
        let poolCount = try decoder.readCount("pools", minimumItemBytes: PoolRecord.size)
        var pools = PoolBook()
        for _ in 0..<poolCount {
            var bytes = [UInt8](repeating: 0, count: PoolRecord.size)
            for index in 0..<PoolRecord.size { bytes[index] = try decoder.read(UInt8.self, "pool") }
            guard let pool = bytes.withUnsafeBytes({ PoolRecord.decode($0) }) else {
                throw .invalid(field: "pool", value: Int64(pools.pools.count))
            }
            pools.upsert(pool)
        }
        analyzer.pools = pools
        try analyzer.seen.restoreState(from: &decoder)
        try builder.restoreState(from: &decoder)
        let legs = try decoder.readCount("bundle legs", minimumItemBytes: 200)
        guard legs <= Self.legCapacity else { throw .invalid(field: "bundle legs", value: Int64(legs)) }
        for index in 0..<legs { self.legs[index] = try BundleLeg(decoding: &decoder) }
        legCount = legs
        let openPools = try decoder.readCount("bundle pools", minimumItemBytes: 8)
        guard openPools <= legs * Self.poolsPerLeg else {
            throw .invalid(field: "bundle pools", value: Int64(openPools))
        }
        for index in 0..<openPools {
            let pool = try decoder.read(Int64.self, "bundle pool")
            guard pool >= 0, pool < Int64(analyzer.pools.pools.count) else {
                throw .invalid(field: "bundle pool", value: pool)
            }
            self.openPools[index] = Int(pool)
        }
        openPoolCount = openPools
        var counted = 0
        for index in 0..<legs {
            let pools = try decoder.read(Int64.self, "leg pools")
            guard (0...Int64(Self.poolsPerLeg)).contains(pools) else {
                throw .invalid(field: "leg pools", value: pools)
            }
            legPoolCounts[index] = Int(pools)
            counted &+= Int(pools)
        }
        guard counted == openPools else { throw .invalid(field: "leg pools", value: Int64(counted)) }
        let length = try count("record length")
        let held = try decoder.readCount("record bytes")
        guard held <= RecordAssembler.capacity, held == Swift.min(length, RecordAssembler.capacity) else {
            throw .invalid(field: "record bytes", value: Int64(held))
        }
        var bytes = [UInt8](repeating: 0, count: held)
        for index in 0..<held { bytes[index] = try decoder.read(UInt8.self, "record byte") }
        bytes.withUnsafeBytes { assembler.restore(length: length, held: $0) }
    }
}
