import ArgumentParser
import PeregrineBook
import PeregrineCodec
import PeregrineFeed
import PeregrineModel
import PeregrineVenue

#if canImport(Glibc)
    import Glibc
#endif

struct Match: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match",
        abstract: "Run a JSON-lines order flow through one instrument's matching engine; print JSON-lines reports.",
        discussion: """
            Each input line is one command: {"op":"new","id":N,"side":"buy"|"sell","type":"limit"|"market"|\
            "stop_market"|"stop_limit","tif":"gtc"|"ioc"|"fok","post_only":bool,"price":P,"stop_price":S,"qty":Q,\
            "account":A}, {"op":"cancel","id":N,"account":A} or {"op":"replace","id":N,"price":P,"qty":Q,"account":A} \
            (qty: the new total, filled part included). Output, in execution order: fill, accepted, reject, cancel, \
            replaced and triggered lines, then one book line with every level and resting order. Every positive \
            price on the tick grid is accepted. A malformed line is reported on stderr with its number and skipped \
            (exit status 1 at the end); --strict stops there, with exit status 1. See docs/match.md.
            """)

    @Option(help: "The command file (- for standard input).")
    var commands: String

    @Option(help: "Tick size: prices are decimals on this grid (e.g. 0.01) instead of integer ticks.")
    var tickSize: String?

    @Option(help: "Lot size: quantities are decimals on this grid instead of integer lots.")
    var lotSize: String?

    @Option(help: "Self-trade prevention for every account: cancel-newest, cancel-oldest, cancel-both or allow.")
    var selfTrade: String = "cancel-newest"

    @Option(
        parsing: .unconditional,
        help: "The most price levels per side; an order that would open one more is rejected (level-ceiling).")
    var maxLevelsPerSide: Int = InstrumentSpec.defaultMaxLevelsPerSide

    @Option(
        parsing: .unconditional,
        help: """
            Venue price collar: reject a limit price more than N basis points from the last trade price \
            (outside-price-collar). No trade yet: no collar. Default: no collar.
            """)
    var priceCollarBps: Int64?

    @Option(
        help: """
            A stop order whose stop price the last trade has already reached: reject it \
            (stop-would-trigger-immediately) or trigger it on entry.
            """)
    var stopInMarket: String = StopInMarketPolicy.reject.rawValue

    @Option(parsing: .unconditional, help: .hidden)
    var bandLevels: Int?

    @Option(
        parsing: .unconditional, help: "Orders the book can hold at once (resting plus pending stops): 1 to 4611686.")
    var maxOrders: Int = 1 << 18

    @Flag(help: "Stop at the first malformed line with exit status 1.")
    var strict = false

    func run() throws {
        var options = MatchSession.Options()
        do {
            options.tickSize = try tickSize.map { (text) throws(ModelError) in try Increment(text) }
            options.lotSize = try lotSize.map { (text) throws(ModelError) in try Increment(text) }
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
        guard let mode = SelfTradePrevention.allCases.first(where: { $0.description == selfTrade }) else {
            printError(
                "error: invalid self-trade '\(selfTrade)': use cancel-newest, cancel-oldest, cancel-both or allow")
            throw ExitCode(2)
        }
        options.selfTrade = mode
        if bandLevels != nil {
            printError("note: --band-levels is ignored: books have no price band since 2026-11-29 (see docs/match.md)")
        }
        guard let stopPolicy = StopInMarketPolicy(rawValue: stopInMarket) else {
            printError("error: invalid stop-in-market '\(stopInMarket)': use reject or trigger")
            throw ExitCode(2)
        }
        // The book's totals (an order of up to 10^12 lots times the orders it holds) stay
        // below 2^62: that bounds the orders as well as the book's own ceiling does.
        let mostOrders = Swift.min(
            InstrumentSpec.maxOrderCapacity, Int((Int64.max / 2 - 1) / InstrumentSpec.defaultMaxOrderLots))
        guard (1...mostOrders).contains(maxOrders) else {
            printError("error: invalid max-orders '\(maxOrders)': use 1 to \(mostOrders)")
            throw ExitCode(2)
        }
        options.maxLevelsPerSide = maxLevelsPerSide
        options.priceCollarBasisPoints = priceCollarBps
        options.stopInMarket = stopPolicy
        options.orderCapacity = maxOrders
        var output = JSONLinesWriter { bytes in bytes.withUnsafeBytes { writeFully(1, $0) } }
        var session = MatchSession(options: options)
        do { try session.validateOptions() } catch {
            printError("error: invalid options: \(error.message)")
            throw ExitCode(2)
        }
        var malformed = 0
        func handle(_ bytes: UnsafeBufferPointer<UInt8>, _ number: Int) throws {
            do throws(FeedError) {
                try session.process(line: bytes, number: number, output: &output)
            } catch {
                malformed += 1
                output.finish()
                // A file's line is named FILE:N, standard input's line N.
                var named = error
                if commands != "-" { named.file = commands }
                printError("\(named)")
                if strict { throw ExitCode(1) }
            }
        }
        if commands == "-" {
            // Standard input: read line by line.
            guard let file = fdopen(0, "r") else { throw ExitCode(2) }
            var line: UnsafeMutablePointer<CChar>? = nil
            var capacity = 0
            defer { free(line) }
            var number = 0
            while true {
                let length = getline(&line, &capacity, file)
                guard length >= 0, let line else { break }
                number += 1
                var count = length
                if count > 0, line[count - 1] == 0x0A { count -= 1 }
                try handle(
                    UnsafeBufferPointer(
                        start: UnsafeRawPointer(line).assumingMemoryBound(to: UInt8.self), count: count),
                    number)
            }
        } else {
            // A file: through a memory map, no copy of any line.
            var lines: MappedLines
            do { lines = try MappedLines(path: commands) } catch {
                printError("error: \(error.message)")
                throw ExitCode(2)
            }
            while let line = lines.next() { try handle(line, lines.lineNumber) }
        }
        session.finish(output: &output)
        if malformed > 0 {
            printError("\(malformed) malformed line(s) skipped")
            throw ExitCode(1)
        }
    }
}
