import ArgumentParser
import PeregrineBench
import PeregrineEngine
import PeregrineStrategy

#if canImport(Glibc)
    import Glibc
#endif

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure parts of the engine on this machine.",
        subcommands: [
            BenchMatching.self, BenchJournal.self, BenchJetStream.self, BenchMetrics.self, BenchMempool.self,
            BenchSignatures.self,
        ])
}

struct BenchMatching: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matching",
        abstract: "Drive one order book with a realistic mixed command stream on one thread.",
        discussion: """
            The stream is about 50% passive limit adds near the touch, 35% cancels (mostly of recent orders), \
            10% aggressive IOC/market orders that cross, and 5% replaces, over a book prefilled with --orders \
            resting orders across at least --levels price levels per side. It is generated and recorded first \
            (not timed), then replayed: once timed as a whole for throughput, once with every command timed \
            for latency percentiles, then passive add/cancel pairs are timed in the resulting book.
            """)

    @Option(parsing: .unconditional, help: "Resting orders in the book before the stream starts.")
    var orders: Int = 100_000

    @Option(parsing: .unconditional, help: "Price levels per side the prefill spreads orders over.")
    var levels: Int = 2_000

    @Option(parsing: .unconditional, help: "Commands in the measured stream.")
    var commands: Int = 5_000_000

    @Option(
        parsing: .unconditional,
        help: "Times the throughput run is repeated (with and without lookahead, alternating); medians are shown.")
    var rounds: Int = 3

    @Option(parsing: .unconditional, help: "Seed of the generated stream (same seed, same stream and same final book).")
    var seed: UInt64 = 1

    @Flag(
        help:
            "Print one JSON object instead of the lines: throughput, latency percentiles in ns (all and by command kind), the final book and its state hash."
    )
    var json = false

    func validate() throws {
        guard (1...4_000_000).contains(orders) else { throw ValidationError("--orders must be 1 to 4000000") }
        guard (1...30_000).contains(levels) else { throw ValidationError("--levels must be 1 to 30000") }
        guard orders >= 2 * levels else {
            throw ValidationError(
                "--orders \(orders) cannot fill --levels \(levels) a side: give at least \(2 * levels) orders (one a level, "
                    + "each side) or fewer levels")
        }
        guard (1...100_000_000).contains(commands) else { throw ValidationError("--commands must be 1 to 100000000") }
        guard (1...99).contains(rounds) else { throw ValidationError("--rounds must be 1 to 99") }
    }

    func run() throws {
        if !json { print("generating \(commands) commands over \(orders) resting orders (seed \(seed)) ...") }
        let flow = try OrderFlow(seed: seed, restingOrders: orders, levels: levels, commands: commands)
        let mix = flow.counts
        if json {
            let result = try MatchingBenchmark.run(flow: flow, rounds: rounds)
            let names = ["p50", "p99", "p99.9", "p99.99", "max"]
            var byKind: [String: Any] = [:]
            for kind in CommandKind.allCases {
                byKind["\(kind)"] = Dictionary(uniqueKeysWithValues: zip(names, result.latencyByKind[kind.rawValue]))
            }
            try JSONOutput.print([
                "seed": seed, "commands": result.commands, "rounds": rounds,
                "book_at_start": [
                    "resting_orders": flow.restingAtStart, "bid_levels": flow.levelsAtStart.bids,
                    "ask_levels": flow.levelsAtStart.asks,
                ],
                "stream": ["add": mix.add, "cancel": mix.cancel, "aggressive": mix.aggressive, "replace": mix.replace],
                "commands_per_second": result.commandsPerSecond,
                "commands_per_second_without_lookahead": result.commandsPerSecondWithoutLookahead,
                "trades": result.trades, "reports": result.reports,
                "latency_ns": Dictionary(uniqueKeysWithValues: zip(names, result.latency)),
                "latency_ns_by_kind": byKind, "timer_overhead_ns": result.timerOverhead,
                "passive_add_median_ns": result.passiveAddMedian,
                "passive_cancel_median_ns": result.passiveCancelMedian,
                "book_at_end": [
                    "resting_orders": result.restingAtEnd, "bid_levels": result.levelsAtEnd.bids,
                    "ask_levels": result.levelsAtEnd.asks,
                ],
                "state_hash": hexHash(result.stateHash),
            ])
            return
        }
        func share(_ count: Int) -> String { percent(Double(count) / Double(Swift.max(commands, 1))) }
        print(
            "book at start: \(flow.restingAtStart) resting orders, \(flow.levelsAtStart.bids) bid and "
                + "\(flow.levelsAtStart.asks) ask levels")
        print(
            "stream: \(share(mix.add)) add, \(share(mix.cancel)) cancel, \(share(mix.aggressive)) aggressive, "
                + "\(share(mix.replace)) replace")
        let result = try MatchingBenchmark.run(flow: flow, rounds: rounds)
        let nanosecondsPerCommand = result.seconds * 1e9 / Double(result.commands)
        print(
            "throughput (median of \(rounds)): \(millions(result.commandsPerSecond))M commands/s on one thread "
                + "(\(decimal(nanosecondsPerCommand)) ns/command; \(result.trades) trades, \(result.reports) reports); "
                + "without lookahead prefetch \(millions(result.commandsPerSecondWithoutLookahead))M/s")
        let names = ["p50", "p99", "p99.9", "p99.99", "max"]
        let latency = zip(names, result.latency).map { "\($0) \(nanoseconds($1))" }.joined(separator: "  ")
        print("latency per command: \(latency)  (includes \(result.timerOverhead) ns of clock reads)")
        for kind in CommandKind.allCases {
            let values = result.latencyByKind[kind.rawValue]
            print(
                "  \(kind): p50 \(nanoseconds(values[0]))  p99 \(nanoseconds(values[1]))  p99.9 \(nanoseconds(values[2]))"
            )
        }
        print(
            "passive order: add median \(result.passiveAddMedian) ns, cancel median \(result.passiveCancelMedian) ns")
        print(
            "book at end: \(result.restingAtEnd) resting orders, \(result.levelsAtEnd.bids) bid and "
                + "\(result.levelsAtEnd.asks) ask levels; state hash \(hexHash(result.stateHash))")
    }

}

struct BenchJournal: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Append, read back and replay a journal of synthetic market events.",
        discussion: """
            Appends --events events (group commit of --batch events per write) with durability none, then batch \
            (fdatasync every --sync-interval-us), reads the second journal back checking every checksum, replays \
            the logic over it (what recovery does without a snapshot), and measures CRC-32C. The journals are \
            written under --directory and removed afterwards.
            """)

    @Option(parsing: .unconditional, help: "Events to append.")
    var events: Int = 10_000_000

    @Option(parsing: .unconditional, help: "Events per write (group commit).")
    var batch: Int = 256

    @Option(parsing: .unconditional, help: "Sync interval of the batch policy, µs.")
    var syncIntervalUs: Int = 1_000

    @Option(help: "Where to write the journals (removed afterwards).")
    var directory: String = "./bench-journal"

    @Flag(help: "Print one JSON object instead of the lines (rates in events/s, CRC-32C in bytes/s).")
    var json = false

    func validate() throws {
        guard (1...1_000_000_000).contains(events) else { throw ValidationError("--events must be 1 to 1000000000") }
        guard (1...65_536).contains(batch) else { throw ValidationError("--batch must be 1 to 65536") }
    }

    func run() throws {
        let path = directory + "/run-\(getpid())"
        // A directory this run made goes too (rmdir: only while empty).
        let made = access(directory, F_OK) != 0
        defer {
            removeTree(path)
            if made { rmdir(directory) }
        }
        let result = try JournalBenchmark.run(
            directory: path, events: events, batch: batch, syncIntervalMicroseconds: syncIntervalUs,
            custom: IdleStrategy.self)
        if json {
            try JSONOutput.print([
                "events": result.events, "batch": batch, "sync_interval_us": syncIntervalUs,
                "append_none_events_per_second": result.appendNone,
                "append_batch_events_per_second": result.appendBatch, "syncs_batch": result.syncsBatch,
                "read_events_per_second": result.read, "replay_events_per_second": result.replay,
                "replay_seconds": result.replaySeconds,
                "crc32c_instruction_bytes_per_second": result.crcHardwareBytesPerSecond,
                "crc32c_table_bytes_per_second": result.crcTableBytesPerSecond,
            ])
            return
        }
        print("journal benchmark: \(result.events) events of 64 bytes (80-byte records), \(batch) per write, \(path)")
        print("append, durability none:   \(millions(result.appendNone))M events/s")
        print(
            "append, durability batch:  \(millions(result.appendBatch))M events/s (fdatasync every \(syncIntervalUs) µs: \(result.syncsBatch) syncs)"
        )
        print("read back (checksums, decode): \(millions(result.read))M events/s")
        print(
            "replay (logic over the journal, as recovery): \(millions(result.replay))M events/s, \(decimal(result.replaySeconds, places: 2)) s for \(result.events) events"
        )
        print(
            "CRC-32C: instruction \(decimal(result.crcHardwareBytesPerSecond / 1e9, places: 2)) GB/s, table \(decimal(result.crcTableBytesPerSecond / 1e9, places: 2)) GB/s"
        )
    }

    func removeTree(_ path: String) {
        _ = system("rm -rf '\(path)'")
    }
}
