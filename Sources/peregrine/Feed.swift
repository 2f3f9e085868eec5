import ArgumentParser
import PeregrineBacktest
import PeregrineBook
import PeregrineCodec
import PeregrineEngine
import PeregrineFeed
import PeregrineJournal
import PeregrineModel

#if canImport(Glibc)
    import Glibc
#endif

struct FeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feed", abstract: "Read recorded market-data files.", subcommands: [FeedReplayCommand.self])
}

struct FeedReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay market-data files into a mirror book and print CSV checkpoints.",
        discussion: """
            Formats: binance-depth (snapshot then update CSV files), bybit-ob (orderbook.N JSON lines), \
            tardis-l2 (incremental_book_L2), tardis-snapshot (book_snapshot_N), tardis-quotes, tardis-trades, \
            truefx-quotes, l3-jsonl (order-level: add/update/delete). Prices and sizes load exactly on a decimal grid detected \
            from every line of every file (or given with --tick-size and --lot-size); with a given grid, a value \
            with more decimals stops the replay naming its file and line. Checkpoint columns: message, best bid price and size, best ask price and size, bid \
            and ask level counts, and Σ price × size over the top 10 levels per side, as exact decimals.
            """)

    @Option(help: "File format: \(FeedFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: String

    @Argument(help: "Files, replayed in order into one book.")
    var files: [String]

    @Option(parsing: .unconditional, help: "Print a checkpoint every N messages (0: only the final one).")
    var checkpointEvery: Int = 0

    @Option(help: "Price grid, e.g. 0.01 (default: detected).")
    var tickSize: String?

    @Option(help: "Size grid, e.g. 0.001 (default: detected).")
    var lotSize: String?

    @Option(
        parsing: .unconditional,
        help: """
            The most price levels the mirror holds per side; a new level beyond stops the replay with exit status \
            1, naming the line.
            """)
    var maxLevelsPerSide: Int = L2Book.defaultMaxLevelsPerSide

    @Flag(
        help: """
            Accept a torn last line (no line break, not a complete record: a recording cut short): it is reported \
            and not applied either way; without this flag the replay then exits 1.
            """)
    var allowTornTail = false

    func validate() throws {
        guard maxLevelsPerSide >= 1 else {
            throw ValidationError("--max-levels-per-side must be at least 1 (got \(maxLevelsPerSide))")
        }
        guard checkpointEvery >= 0 else {
            throw ValidationError(
                "--checkpoint-every must be 0 (final checkpoint only) or more (got \(checkpointEvery))")
        }
    }

    func run() throws {
        guard let feedFormat = FeedFormat(rawValue: format) else {
            printError(
                "error: invalid format '\(format)': use \(FeedFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            throw ExitCode(2)
        }
        guard !files.isEmpty else {
            printError("error: give at least one file")
            throw ExitCode(2)
        }
        for file in files where !FileIO.isRegularFile(file) {
            printError(
                "error: cannot open \(file): "
                    + (FileIO.exists(file) ? "not a regular file" : "No such file or directory"))
            throw ExitCode(2)
        }
        // A recording cut to nothing would pass for a complete one with no rows.
        for file in files where FileIO.isEmptyFile(file) {
            printError("error: \(file) is empty (0 bytes): nothing to replay")
            throw ExitCode(2)
        }
        for file in files where EventFileFormat.isConverted(file) {
            printError(
                "error: \(file) is a converted event file (peregrine data convert), not \(format) text: "
                    + "backtest it with --data events:\(file)")
            throw ExitCode(2)
        }
        var givenTick: Increment? = nil
        var givenLot: Increment? = nil
        for (flag, text) in [("tick-size", tickSize), ("lot-size", lotSize)] {
            guard let text else { continue }
            do {
                let increment = try Increment(text)
                if flag == "tick-size" { givenTick = increment } else { givenLot = increment }
            } catch {
                printError("error: invalid --\(flag) '\(text)': \(error)")
                throw ExitCode(2)
            }
        }
        let start = ContinuousClock.now
        var incomplete = false
        var notionalOverflow = false
        do throws(FeedError) {
            // Both grids given: no detection pass.
            var detected: (price: Increment, size: Increment)
            if let givenTick, let givenLot {
                detected = (givenTick, givenLot)
            } else {
                detected = try FeedReplay.detectScale(
                    format: feedFormat, paths: files, price: givenTick, size: givenLot)
            }
            var replay = try FeedReplay(
                format: feedFormat, priceIncrement: detected.price, sizeIncrement: detected.size,
                maxLevelsPerSide: maxLevelsPerSide)
            let orderLevel = feedFormat == .l3JSONLines
            print(
                "message,bid_price,bid_size,ask_price,ask_size,bid_levels,ask_levels,bid_top10_notional,ask_top10_notional"
                    + (orderLevel ? ",bid_orders,ask_orders" : ""))
            let priceGrid = detected.price
            let sizeGrid = detected.size
            let stdoutIsTerminal = isatty(1) != 0
            func show(_ checkpoint: FeedCheckpoint) {
                var fields: [String] = ["\(checkpoint.message)"]
                for level in [checkpoint.bid, checkpoint.ask] {
                    fields.append(level.map { $0.price.formatted(tickSize: priceGrid) } ?? "")
                    fields.append(level.map { $0.quantity.formatted(lotSize: sizeGrid) } ?? "")
                }
                fields.append("\(checkpoint.bidLevels)")
                fields.append("\(checkpoint.askLevels)")
                for notional in [checkpoint.bidNotional, checkpoint.askNotional] {
                    guard let text = notional.formatted(tickSize: priceGrid, lotSize: sizeGrid) else {
                        notionalOverflow = true
                        fields.append("overflow")
                        continue
                    }
                    fields.append(text)
                }
                if orderLevel {
                    fields.append("\(checkpoint.bidOrders)")
                    fields.append("\(checkpoint.askOrders)")
                }
                print(fields.joined(separator: ","))
                // On the terminal the bar is on: the bar's next drawing goes below this line.
                if stdoutIsTerminal { ProgressBar.wrotePastIt() }
            }
            let terminal = isatty(2) != 0
            let unterminated = try replay.replay(
                paths: files, checkpointEvery: checkpointEvery, checkpoint: { show($0) }
            ) {
                path, fraction in
                guard terminal else { return }
                ProgressBar.draw("\(ProgressBar.bar(fraction)) \(Int(ProgressBar.clamp(fraction) * 100))% \(path)")
            }
            let stats = replay.statistics
            // As the backtest: files without a row (a header alone, or a `.gz` that inflates to
            // nothing) are no replay, though no row was wrong.
            guard stats.rows > 0 else {
                let named =
                    "no rows to replay: \(files.joined(separator: ", ")) " + (files.count == 1 ? "holds" : "hold")
                throw FeedError(
                    line: 0,
                    replay.tornTail.map { "\(named) none but a torn last line, not applied: \($0)" }
                        ?? "\(named) none (empty, or a header alone?)")
            }
            // The final checkpoint, unless the last periodic one was it already.
            if checkpointEvery == 0 || stats.messages == 0 || stats.messages % checkpointEvery != 0 {
                show(replay.currentCheckpoint)
            }
            if let torn = replay.tornTail {
                printError((allowTornTail ? "warning: " : "error: ") + "\(torn); not applied")
            }
            for warning in unterminated { printError("warning: " + warning) }
            let seconds = (ContinuousClock.now - start).seconds
            printError(
                "replayed \(stats.messages) messages (\(stats.rows) rows) from \(files.count) file(s) in "
                    + "\(decimal(seconds * 1_000)) ms (\(millions(Double(stats.rows) / max(seconds, 1e-9)))M rows/s); "
                    + "gaps \(stats.gaps), out of order \(stats.outOfOrder), crossed \(stats.crossed), one-sided "
                    + "\(stats.oneSided)\(stats.trades > 0 ? ", trades \(stats.trades)" : "")"
                    + (stats.unknownOrders > 0
                        ? ", \(stats.unknownOrders) messages about unknown or duplicate orders" : "")
                    + "; price grid "
                    + "\(detected.price), size grid \(detected.size)")
            if replay.tornTail != nil, !allowTornTail {
                printError("the replay is incomplete: pass --allow-torn-tail to accept a torn last line")
                incomplete = true
            }
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        if notionalOverflow {
            printError("error: a top-10 notional went past 128 bits (printed as 'overflow')")
            throw ExitCode(1)
        }
        if incomplete { throw ExitCode(1) }
    }
}
