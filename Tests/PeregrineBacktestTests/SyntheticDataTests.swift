import Foundation
import PeregrineModel
import PeregrineStrategy
import PeregrineTestSupport
import Testing

@testable import PeregrineBacktest

/// `peregrine data generate`: the synthetic market's books stay whole and uncrossed, its trades
/// print at the touch, the same settings give the same file, and backtests read it.
@Suite struct SyntheticDataTests {
    static func generate(_ settings: SyntheticData.Settings, in directory: URL, _ name: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        #expect(try SyntheticData.generate(settings, output: path) >= settings.events)
        return path
    }

    /// Replayed into books, every event leaves each book uncrossed, every message leaves each side
    /// `depth` levels on consecutive ticks, and each trade prints at the touch its aggressor
    /// takes, for no more than it shows.
    @Test func theBooksStayWholeAndUncrossedAndTradesPrintAtTheTouch() throws {
        let directory = try BacktestRunTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var settings = SyntheticData.Settings()
        settings.events = 300_000
        settings.instruments = 3
        settings.depth = 5
        settings.price = 40
        settings.seed = 11
        let file = try EventFile(path: try Self.generate(settings, in: directory, "s.pgev"))
        #expect(file.metadata.instruments.map(\.symbol) == ["SYN0", "SYN1", "SYN2"])
        #expect(file.metadata.sources.map(\.format) == ["synthetic"])
        #expect(file.metadata.sources.first?.path.hasPrefix("seed=11 events=300000 instruments=3 ") == true)
        // An independent model of the books: price → lots, per instrument and side.
        var bids = [[Int64: Int64]](repeating: [:], count: 3)
        var asks = [[Int64: Int64]](repeating: [:], count: 3)
        var trades = 0
        var lastTime: UInt64 = 0
        var previous: Event?
        /// At a message's end: 5 levels a side on consecutive ticks, the lowest bid at 1 or more.
        func checkWhole(_ index: Int) {
            let bidPrices = bids[index].keys.sorted(by: >)
            let askPrices = asks[index].keys.sorted()
            #expect(bidPrices.count == 5 && askPrices.count == 5, "\(bidPrices) \(askPrices)")
            #expect(bidPrices == (0..<Int64(bidPrices.count)).map { (bidPrices.first ?? 0) - $0 }, "\(bidPrices)")
            #expect(askPrices == (0..<Int64(askPrices.count)).map { (askPrices.first ?? 0) + $0 }, "\(askPrices)")
            #expect(bidPrices.allSatisfy { $0 >= 1 })
        }
        let records = file.records
        for index in 0..<file.count {
            let event = try records.event(at: index)
            let book = Int(event.instrument.rawValue)
            #expect(event.timestamp >= lastTime)
            lastTime = event.timestamp
            if let last = previous, last.timestamp != event.timestamp || last.instrument != event.instrument {
                checkWhole(Int(last.instrument.rawValue))
            }
            switch event.payload {
            case .levelUpdate(let update):
                let lots = update.quantity.lots > 0 ? update.quantity.lots : nil
                if update.side == .buy {
                    bids[book][update.price.ticks] = lots
                } else {
                    asks[book][update.price.ticks] = lots
                }
            case .trade(let trade):
                trades += 1
                let taken =
                    trade.aggressor == .buy ? asks[book].min { $0.key < $1.key } : bids[book].max { $0.key < $1.key }
                #expect(taken?.key == trade.price.ticks)
                #expect(trade.quantity.lots >= 1 && trade.quantity.lots <= (taken?.value ?? 0))
            default:
                Issue.record("unexpected event \(event)")
            }
            if let bid = bids[book].keys.max(), let ask = asks[book].keys.min() {
                #expect(bid < ask, "record \(index)")
            }
            previous = event
        }
        #expect(file.count >= 300_000 && file.count < 300_010)
        // About a quarter of the messages are trades (each with one or two book changes).
        #expect(trades > 40_000 && trades < 90_000, "\(trades)")
        #expect(lastTime > settings.start)
    }

    @Test func theSameSettingsGiveTheSameFileAndAnotherSeedAnother() throws {
        let directory = try BacktestRunTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var settings = SyntheticData.Settings()
        settings.events = 50_000
        let first = try Data(contentsOf: URL(fileURLWithPath: try Self.generate(settings, in: directory, "a.pgev")))
        let again = try Data(contentsOf: URL(fileURLWithPath: try Self.generate(settings, in: directory, "b.pgev")))
        settings.seed = 2
        let other = try Data(contentsOf: URL(fileURLWithPath: try Self.generate(settings, in: directory, "c.pgev")))
        #expect(first == again)
        #expect(first != other)
    }

    /// A backtest reads the file as any converted file: every event, the market maker trading.
    @Test func aBacktestRunsOnIt() throws {
        let directory = try BacktestRunTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var settings = SyntheticData.Settings()
        settings.events = 100_000
        let path = try Self.generate(settings, in: directory, "m.pgev")
        var backtest = BacktestSettings()
        backtest.data = [try DataSpec("events:" + path)]
        backtest.strategies = [
            StrategySpec(
                name: "market-maker", parameters: [("half-spread", "0"), ("skew", "0"), ("max-position", "1000")])
        ]
        let result = try Backtest.run(try BacktestPlan(backtest))
        #expect(UInt64(result.events) == (try EventFile(path: path)).count)
        #expect(result.trades > 1_000)
        #expect(result.warnings == [])
    }

    /// The command: written and said (exit 0), then a backtest of it; bad settings exit 2.
    @Test func theCommandWritesTheFileOrRefusesItsSettings() throws {
        let directory = try BacktestRunTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("g.pgev").path
        let run = try PeregrineCLI.run([
            "data", "generate", "--events", "20000", "--seed", "3", "--instruments", "2", "--interval-us", "250.5",
            "--price", "2500.5", "--start", "2024-05-01T12:00:00Z", "-o", path,
        ])
        #expect(run.status == 0, "\(run.error)")
        #expect(run.output.hasPrefix("generated 20000 events of SYN0, SYN1 (tick 0.01, lot 0.001) into \(path) in "))
        let file = try EventFile(path: path)
        #expect(
            file.metadata.sources.first?.path
                == "seed=3 events=20000 instruments=2 start=2024-05-01T12:00:00.000000000Z interval-ns=250500 "
                + "price-ticks=250050 depth=20 tick=0.01 lot=0.001")
        let first = try file.records.event(at: 0)
        #expect(first.exchangeTimestamp == 1_714_564_800_000_000_000)
        if case .levelUpdate(let update) = first.payload {
            #expect(update.side == .buy && update.price.ticks == 250_050)
        } else {
            Issue.record("the first event is \(first)")
        }
        let backtest = try PeregrineCLI.run(["backtest", "--data", "events:" + path, "--strategy", "golden-cross"])
        #expect(backtest.status == 0, "\(backtest.error)")
        for (arguments, message) in [
            (["--price", "100.001"], "--price 100.001: use a positive decimal on the 0.01 grid"),
            (["--interval-us", "0"], "--interval-us 0: use a positive number of µs"),
            (["--start", "2024-13-01"], "--start 2024-13-01: no such date or time in ns since 1970 (a month past 12"),
            (["--start", "soon"], "--start soon: use a UTC time such as 2026-01-01T00:00:00Z"),
            (["--instruments", "0"], "--instruments 0: use 1 to 64"),
            (["--tick-size", "0"], "--tick-size 0: use a positive decimal such as 0.01"),
            (["--lot-size", "1e-3"], "--lot-size 1e-3: use a positive decimal such as 0.001"),
            (["--tick-size", "0.5", "--price", "100.3"], "--price 100.3: use a positive decimal on the 0.5 grid"),
            // A negative number is the option's value, named as such (not "Missing value").
            (["--price", "-1"], "--price -1: use a positive decimal on the 0.01 grid"),
            (["--depth", "-2"], "--depth -2: use 1 to 1,000"),
            (["--events", "-5"], "The value '-5' is invalid for '--events <events>'"),
        ] {
            let bad = try PeregrineCLI.run(["data", "generate", "-o", path + ".bad"] + arguments)
            #expect(bad.status == 2, "\(arguments)")
            #expect(bad.error.contains("error: " + message), "\(bad.error)")
            #expect(!FileManager.default.fileExists(atPath: path + ".bad"))
        }
    }

    /// Another grid: the instruments carry it, prices start on it, and a backtest reads them
    /// there (its fills in the grid's decimals).
    @Test func theGridIsTheOneAskedFor() throws {
        let directory = try BacktestRunTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("grid.pgev").path
        let run = try PeregrineCLI.run([
            "data", "generate", "--events", "20000", "--tick-size", "0.5", "--lot-size", "1", "--price", "50",
            "--depth", "5", "-o", path,
        ])
        #expect(run.status == 0, "\(run.error)")
        #expect(run.output.hasPrefix("generated 20000 events of SYN0 (tick 0.5, lot 1) into \(path) in "))
        let file = try EventFile(path: path)
        #expect(file.metadata.instruments.map { "\($0.symbol) \($0.tickSize) \($0.lotSize)" } == ["SYN0 0.5 1"])
        #expect(file.metadata.sources.first?.path.hasSuffix("price-ticks=100 depth=5 tick=0.5 lot=1") == true)
        let first = try file.records.event(at: 0)
        if case .levelUpdate(let update) = first.payload {
            #expect(update.side == .buy && update.price.ticks == 100)
        } else {
            Issue.record("the first event is \(first)")
        }
        let fills = directory.appendingPathComponent("grid-fills.csv").path
        let backtest = try PeregrineCLI.run([
            "backtest", "--data", "events:" + path, "--strategy", "market-maker", "--param", "half-spread=0",
            "--fills-csv", fills,
        ])
        #expect(backtest.status == 0, "\(backtest.error)")
        let rows = try String(contentsOfFile: fills, encoding: .utf8).split(separator: "\n").dropFirst()
        #expect(rows.count > 10)
        // Prices on the 0.5 grid, quantities whole lots of 1 (the market maker's 10).
        for row in rows.prefix(50) {
            let fields = row.split(separator: ",")
            #expect(fields[3].hasSuffix(".0") || fields[3].hasSuffix(".5"), "\(row)")
            #expect(Int(fields[4]).map { $0 >= 1 && $0 <= 10 } == true, "\(row)")
        }
    }

    @Test func badSettingsAreRefusedAndNothingIsWritten() throws {
        let directory = try BacktestRunTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("x.pgev").path
        for (change, message) in [
            ({ (s: inout SyntheticData.Settings) in s.events = 0 }, "--events 0: use 1 to 10,000,000,000"),
            ({ (s: inout SyntheticData.Settings) in s.instruments = 65 }, "--instruments 65: use 1 to 64"),
            ({ (s: inout SyntheticData.Settings) in s.depth = 0 }, "--depth 0: use 1 to 1,000"),
            ({ (s: inout SyntheticData.Settings) in s.price = 20 }, "--price 0.20: use more than the depth's 20 ticks"),
            // The latest message could pass 2262 (Int64.max ns): refused before anything is written.
            (
                { (s: inout SyntheticData.Settings) in
                    s.start = UTCTime.parse("2262-04-11T00:00:00Z") ?? 0
                    s.events = 4_000_000
                    s.interval = 3_600_000_000_000
                },
                "--start 2262-04-11T00:00:00.000000000Z with --events 4000000 at --interval-us 3600000000 may run past "
                    + "2262-04-11T23:47:16.854775807Z"
            ),
        ] {
            var settings = SyntheticData.Settings()
            change(&settings)
            #expect(throws: BacktestError.self) { try SyntheticData.generate(settings, output: path) }
            do {
                _ = try SyntheticData.generate(settings, output: path)
            } catch {
                #expect(error.isUsage)
                #expect(error.description.hasPrefix(message), "\(error)")
            }
            #expect(!FileManager.default.fileExists(atPath: path))
        }
        // An output in a directory that does not exist: a usage error, as for `data convert`.
        let nowhere = directory.appendingPathComponent("missing/x.pgev").path
        #expect(
            throws: BacktestError.usage(
                "--output \(nowhere): its directory \(directory.appendingPathComponent("missing").path) does not exist"),
            performing: { _ = try SyntheticData.generate(SyntheticData.Settings(), output: nowhere) })
    }
}
