// Runs one hot-path workload `count` times on one thread, for `Benchmarks/runtime-calls.sh`,
// which runs it under valgrind's callgrind at two counts and reports the difference per
// operation of calls to swift_retain, swift_release, swift_beginAccess and malloc: exact
// steady-state counts, set-up excluded. package-benchmark's retain counter cannot do this
// here (its runtime interposer is not in this machine's mirror, so it always reads 0).
//
// Usage: RuntimeCalls WORKLOAD COUNT. Set-up is the same for every COUNT; only the measured
// loop's length changes. The two control workloads must show their call per operation, so a
// counting method that stops working is noticed.
import PeregrineBench
import PeregrineBook
import PeregrineCore
import PeregrineEngine
import PeregrineJournal
import PeregrineMempool
import PeregrineModel
import PeregrineStrategy

#if canImport(Glibc)
    import Glibc
#endif

struct Item: BitwiseCopyable { var a, b, c, d: UInt64 }

/// Control: an object passed to a function the optimiser cannot see into, which keeps it.
final class Box {
    var value = 0
}
nonisolated(unsafe) var kept: Box? = nil
@inline(never) func keep(_ box: Box) { kept = box }

/// Control: an array that escapes to a global, so the optimiser cannot keep it on the stack.
nonisolated(unsafe) var keptArray: [Int] = []
@inline(never) func keep(_ array: [Int]) { keptArray = array }

@inline(never) func sink(_ value: UInt64) { if value == 0x5EED { print("") } }

func run(_ workload: String, _ count: Int) throws -> Bool {
    switch workload {
    case "control-malloc":
        for index in 0..<count {
            keep([index, index &+ 1, index &+ 2])  // one heap allocation each (and a free)
        }
        sink(UInt64(keptArray.count))
    case "control-retain":
        let box = Box()
        for index in 0..<count {
            box.value = index
            keep(box)  // stores a strong reference: a retain (and the old one's release)
        }
        sink(UInt64(kept?.value ?? 0))
    case "spsc-push-pop":
        let ring = try SPSCRing<Item>(capacity: 1_024)
        var producer = try ring.makeProducer()
        var consumer = try ring.makeConsumer()
        var sum: UInt64 = 0
        for index in 0..<count {
            let value = UInt64(index)
            _ = producer.tryPush(Item(a: value, b: value, c: value, d: value))
            sum &+= consumer.tryPop()?.a ?? 0
        }
        sink(sum)
    case "sequenced-claim-publish-poll":
        let ring = try SequencedRing<Item>(
            capacity: 1_024, consumers: [.init("journal"), .init("logic", dependsOn: [0])])
        var producer = try ring.makeProducer()
        var journal = try ring.makeConsumer(0)
        var logic = try ring.makeConsumer(1)
        var sum: UInt64 = 0
        for index in 0..<count {
            guard let claim = producer.tryClaim(1) else { return false }
            let value = UInt64(index)
            producer.write(Item(a: value, b: value, c: value, d: value), at: claim.first)
            producer.publish(claim)
            journal.poll(limit: 1) { item, _, _ in sum &+= item.a }
            logic.poll(limit: 1) { item, _, _ in sum &+= item.b }
        }
        sink(sum)
    case "engine-logic":
        // Books, the strategies (a market maker on the hosted instruments, trading against the
        // order flow: orders, replaces, fills, positions; a follower on the market-data ones),
        // the order management and the output hash.
        var market = SyntheticMarket(instruments: 4, seed: 3, orderFlowPercent: 30)
        let events = (0..<65_536).map { market.next(timestamp: UInt64($0) * 1_000) }
        var configuration = EngineConfiguration()
        configuration.orderFlowPercent = 30
        configuration.strategies = [StrategySpec(name: "market-maker"), StrategySpec(name: "large-trade-follower")]
        var logic = try EngineLogic(configuration: configuration, custom: IdleStrategy.self)
        var outputs = HashingOutputs()
        // Warm the books up to their steady size first, the same for every count.
        for (index, event) in events.enumerated() { logic.handle(event, sequence: Int64(index), outputs: &outputs) }
        for index in 0..<count {
            let sequence = Int64(events.count + index)
            logic.handle(events[index & (events.count - 1)], sequence: sequence, outputs: &outputs)
        }
        sink(outputs.hasher.value)
    case "mempool-logic":
        // One pending transaction per operation: its record's events (chunks and end) through
        // the engine's logic with the mempool analysis, bundles and the output hash.
        var workload = try MempoolLogicWorkload(count: 500)
        // Warm up: one whole pass, the same for every count.
        for _ in 0..<(count + workload.transactions.count) { workload.handleNextTransaction() }
        sink(workload.outputs.hasher.value)
    case "matching":
        let flow = try OrderFlow(seed: 1, restingOrders: 20_000, levels: 2_000, commands: 200_000)
        guard count <= flow.commands.count else { return false }
        var book = try OrderBook(spec: flow.spec)
        var counter = ReportCounter()
        for command in flow.prefill { book.process(command, sink: &counter) }
        for index in 0..<count { book.process(flow.commands[index], sink: &counter) }
        sink(UInt64(counter.reports))
    case "pipeline", "pipeline-journaled":
        // The whole pipeline on its threads (synthetic source, journal stage, logic, sink),
        // with order flow; callgrind runs the threads one at a time. No strategies: their
        // positions are published for the monitor by time (allocating, a few times a second,
        // which valgrind's slowness would turn into calls per event); `engine-logic` counts them.
        var configuration = EngineConfiguration()
        configuration.rate = .unlimited
        configuration.maxEvents = count
        configuration.durationSeconds = 3_600
        configuration.waitStrategy = .yield
        configuration.orderFlowPercent = 10
        configuration.statusIntervalSeconds = 86_400
        let directory = "/dev/shm/peregrine-runtime-calls-pipeline-\(getpid())"
        defer { _ = system("rm -rf \(directory)") }
        if workload == "pipeline-journaled" {
            // Written at every batch, synced by nobody: the syncer thread of the batch policy
            // works per interval of time, which valgrind stretches.
            configuration.journalDirectory = directory
            configuration.durability = .none
        }
        let report = try Pipeline.run(configuration: configuration, custom: IdleStrategy.self) { _ in }
        guard report.isLossless else { return false }
    case "journal-append":
        let directory = "/dev/shm/peregrine-runtime-calls-\(getpid())"
        defer { _ = system("rm -rf \(directory)") }
        var market = SyntheticMarket(instruments: 4, seed: 3)
        let events = (0..<4_096).map { market.next(timestamp: UInt64($0)) }
        var writer = try JournalWriter.open(
            directory: directory, nextSequence: 0, segmentBytes: 1 << 30, syncOnRoll: false)
        for index in 0..<count {
            try writer.append(events[index & 4_095], sequence: Int64(index))
            if index & 255 == 255 { try writer.commit() }
        }
        try writer.commit()
    default:
        return false
    }
    return true
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let count = Int(arguments[2]), count >= 0 else {
    print("usage: RuntimeCalls WORKLOAD COUNT")
    exit(2)
}
do {
    guard try run(arguments[1], count) else {
        print("unknown workload or count too large: \(arguments[1]) \(count)")
        exit(2)
    }
} catch {
    print("error: \(error)")
    exit(1)
}
