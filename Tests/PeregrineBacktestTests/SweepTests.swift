import Foundation
import PeregrineModel
import PeregrineStrategy
import PeregrineTestSupport
import Testing

@testable import PeregrineBacktest

/// Parameter sweeps: the values ranges name, random draws, every row equal to its backtest run
/// alone, resuming after SIGKILL, and the HTML page with its heatmap.
@Suite struct SweepTests {
    static let quotesFile = "tardis_binance-futures_BTCUSDT_quotes_2020-02-22.csv"
    static let quotes = "tardis-quotes:" + Fixtures.path(quotesFile)
    static let trades = "tardis-trades:" + Fixtures.path("tardis_binance-futures_BTCUSDT_trades_2020-02-22.csv")

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("peregrine-sweep-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func settings(fast: String, slow: String) throws -> BacktestSettings {
        var settings = BacktestSettings()
        settings.data = [try DataSpec(quotes), try DataSpec(trades)]
        settings.strategies = [
            StrategySpec(name: "golden-cross", parameters: [("fast", fast), ("slow", slow), ("quantity", "0.01")])
        ]
        settings.takerFeeBasisPoints = "4"
        return settings
    }

    static func object(_ json: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    @Test func rangesAndListsNameTheirValues() throws {
        #expect(try SweepDimension.values(of: "10:50:10", origin: "t") == ["10", "20", "30", "40", "50"])
        #expect(try SweepDimension.values(of: "0.1:0.3", origin: "t") == ["0.1", "0.2", "0.3"])
        #expect(try SweepDimension.values(of: "1:2:0.5", origin: "t") == ["1", "1.5", "2"])
        #expect(try SweepDimension.values(of: "1:10:4", origin: "t") == ["1", "5", "9"])
        #expect(try SweepDimension.values(of: "100,200,400", origin: "t") == ["100", "200", "400"])
        let huge = "170141183460469231731687303715884105727"
        for bad in [
            "5:1", "1:2:0", "1:2:-1", "a:b", "1,,2", "1,2:3", "1:2:3:4", "-\(huge):\(huge)",
            "0.1:1\(huge)", "0:2000000",
        ] {
            #expect(throws: BacktestError.self, "\(bad)") { _ = try SweepDimension.values(of: bad, origin: "t") }
        }
        // The largest number is one value, not an overflow.
        #expect(try SweepDimension.values(of: "\(huge):\(huge)", origin: "t") == [huge])
    }

    /// A job is the same job however its parameters are written: in another order, or a
    /// decimal with other trailing zeros (a resumed sweep runs nothing twice).
    @Test func aJobsIdentityIsItsParametersValues() throws {
        var written = try Self.settings(fast: "5,10", slow: "30")
        written.strategies[0].parameters = [("quantity", "0.0100"), ("slow", "30"), ("fast", "5,10")]
        let plain = try SweepPlan(try Self.settings(fast: "5,10", slow: "30"))
        let other = try SweepPlan(written)
        #expect(plain.jobs.map(\.hash) == other.jobs.map(\.hash))
        #expect(Set(plain.jobs.map(\.hash)).count == 2)
        // So is the capital (the default, 100000).
        written.capital = "0100000.00"
        #expect(try SweepPlan(written).jobs.map(\.hash) == plain.jobs.map(\.hash))
        written.capital = "100000.01"
        #expect(Set(try SweepPlan(written).jobs.map(\.hash)).isDisjoint(with: plain.jobs.map(\.hash)))
        // A different value is a different job.
        let different = try SweepPlan(try Self.settings(fast: "5,10", slow: "31"))
        #expect(Set(different.jobs.map(\.hash)).isDisjoint(with: plain.jobs.map(\.hash)))
        // A value without its leading zero is its value (it had read as 0: another job's figures
        // taken for it on a resume), and a default written out (slow is 30 by default, the id is
        // the strategy's place, its account 1000 + id) is the job without it.
        var bare = try Self.settings(fast: "5,10", slow: "30")
        bare.strategies[0].parameters = [("fast", "5,10"), ("quantity", ".01")]
        #expect(try SweepPlan(bare).jobs.map(\.hash) == plain.jobs.map(\.hash))
        bare.strategies[0].parameters += [("account", "1001")]
        bare.strategies[0].id = 1
        #expect(try SweepPlan(bare).jobs.map(\.hash) == plain.jobs.map(\.hash))
        #expect(try SweepDimension.values(of: ".2:0.4:.1", origin: "t") == ["0.2", "0.3", "0.4"])
        #expect(throws: BacktestError.usage("t: .01 is in the list twice (the same job would run twice)")) {
            _ = try SweepDimension.values(of: "0.010,.01", origin: "t")
        }
        #expect(try SweepDimension.values(of: ".01,.02", origin: "t") == [".01", ".02"])
    }

    /// Bad data found reading the inputs once for the jobs is explained as a backtest's is: a
    /// price off a tick that was given says where the grid came from.
    @Test func dataOffTheGridGivenIsExplainedAsInABacktest() throws {
        var settings = try Self.settings(fast: "5,10", slow: "30")
        settings.tickSize = try Increment("0.02")
        let plan = try SweepPlan(settings)
        var said = ""
        do { _ = try plan.base.sharingData() } catch { said = "\(error)" }
        #expect(
            said.hasSuffix(
                "bid_price '9681.83' is not a multiple of the increment 0.02 (BTCUSDT's tick 0.02 and lot 0.001: "
                    + "--tick-size 0.02 given; is the data on a finer grid?)"), "\(said)")
        var alone = settings
        alone.strategies[0].parameters[0].value = "5"
        var ranAlone = ""
        do { _ = try Backtest.run(try BacktestPlan(alone)) } catch { ranAlone = "\(error)" }
        #expect(said == ranAlone)
    }

    /// A row keeps the report's figures (top-level and `timing`'s) by name, and the same
    /// figures when it is written as a CSV line and read back; nested objects are not figures.
    @Test func aRowKeepsItsFiguresThroughTheCSVLine() throws {
        let line =
            #"{"job":"j1","params":{"fast":"5","slow":"30"},"report":"peregrine-backtest","format_version":3,"#
            + #""net_pnl":"-0.4164","sharpe":-1.478007203856447,"kill_switch":null,"first_event":"#
            + #""2022-11-01T00:00:00.000000000Z","instruments":[{"net_pnl":"9"}],"warnings":["w1"],"#
            + #""timing":{"elapsed_seconds":0.5,"events_per_second":4000000.25}}"#
        let columns = ["job", "fast", "slow"] + SweepOutput.reportFields
        let row = try #require(SweepRow(jsonLine: line, parameterNames: ["fast", "slow"], csvColumns: columns))
        let expected = [
            "job": "j1", "report": "peregrine-backtest", "format_version": "3", "net_pnl": "-0.4164",
            "sharpe": "-1.478007203856447", "first_event": "2022-11-01T00:00:00.000000000Z", "elapsed_seconds": "0.5",
            "events_per_second": "4000000.25",
        ]
        #expect(row.fields == expected)
        #expect(row.field("net_pnl") == "-0.4164")
        #expect(row.field("kill_switch") == nil)
        #expect(row.value(of: "sharpe") == -1.478007203856447)
        #expect(row.warnings == ["w1"])
        #expect(row.parameters.map(\.value) == ["5", "30"])
        let back = try #require(
            SweepRow(csvLine: row.line, header: columns, parameterNames: ["fast", "slow"]))
        #expect(back.fields == expected)
        #expect(back.parameters.map(\.value) == ["5", "30"])
        #expect(back.line == row.line)
    }

    /// The sweep's table and page show ratios rounded and money with its currency.
    @Test func figuresAreShownForPeople() throws {
        let row = try #require(
            SweepRow(
                jsonLine:
                    #"{"job":"a","params":{},"sharpe":112.14704584429724,"return":0.00033664550000000006,"net_pnl":"33.66455","currency":"USDT","trades":76042}"#
            ))
        #expect(row.displayed("sharpe") == "112.1470")
        // Fractions as percentages, as the backtest's summary shows them; below 0.0005, 3
        // significant digits: 4 decimals would keep one, or none (2.36e-06 was "0.0").
        #expect(row.displayed("return") == "0.0337%")
        let tiny = try #require(
            SweepRow(
                jsonLine:
                    #"{"job":"b","params":{},"return":2.3577e-06,"win_rate":0.5,"fill_ratio":0.123456,"time_in_market":1,"max_drawdown_pct":1.5,"sharpe":0.0001234}"#
            ))
        #expect(tiny.displayed("return") == "0.000236%")
        #expect(tiny.displayed("win_rate") == "50.0000%")
        #expect(tiny.displayed("fill_ratio") == "12.3456%")
        #expect(tiny.displayed("time_in_market") == "100.0000%")
        #expect(tiny.displayed("max_drawdown_pct") == "1.5000%")
        #expect(tiny.displayed("sharpe") == "0.000123")
        // Two small returns stay apart (4 decimals of their percentages read -0.0006% twice).
        let close = try #require(SweepRow(jsonLine: #"{"job":"c","params":{},"return":-5.77e-06,"sortino":0.0045}"#))
        #expect(close.displayed("return") == "-0.000577%")
        #expect(close.displayed("sortino") == "0.00450")
        // In fixed notation however small (it had read 8.96e-05%).
        let tinier = try #require(SweepRow(jsonLine: #"{"job":"d","params":{},"return":8.96e-07,"sharpe":-2.7e-07}"#))
        #expect(tinier.displayed("return") == "0.0000896%")
        #expect(tinier.displayed("sharpe") == "-0.000000270")
        #expect(row.displayed("net_pnl") == "33.66455 USDT")
        #expect(row.displayed("trades") == "76042")
        #expect(row.displayed("sortino") == "-")
    }

    /// A CSV row writes a report's small doubles without an exponent (a sheet or a reader of text
    /// that takes `2.3577e-06` for a word).
    @Test func aCSVRowWritesDoublesWithoutAnExponent() throws {
        let row = try #require(
            SweepRow(
                jsonLine: #"{"job":"b","params":{"fast":"2"},"return":2.3577e-06,"sharpe":-2.7e-07,"trades":3}"#,
                parameterNames: ["fast"], csvColumns: ["job", "fast", "return", "sharpe", "trades"]))
        #expect(row.line == "b,2,0.0000023577,-0.00000027,3")
    }

    @Test func randomSamplesAreDistinctAndTheSameForASeed() throws {
        let first = SweepPlan.draw(20, sizes: [10, 100], seed: 7)
        #expect(first == SweepPlan.draw(20, sizes: [10, 100], seed: 7))
        #expect(first != SweepPlan.draw(20, sizes: [10, 100], seed: 8))
        #expect(Set(first).count == 20)
        #expect(first.allSatisfy { $0.count == 2 && (0..<10).contains($0[0]) && (0..<100).contains($0[1]) })
        #expect(SweepPlan.draw(10, sizes: [2, 2], seed: 1) == [[0, 0], [0, 1], [1, 0], [1, 1]])
        // Each dimension is drawn on its own: with 5 dimensions of 100,001 values (a space past
        // 2^64), every dimension's draws still spread over its whole range.
        let wide = SweepPlan.draw(400, sizes: [Int](repeating: 100_001, count: 5), seed: 11)
        for dimension in 0..<5 {
            let values = wide.map { $0[dimension] }
            #expect(values.contains { $0 < 25_000 } && values.contains { $0 > 75_000 })
        }
        let plan = try SweepPlan(try Self.settings(fast: "1:20", slow: "30:60:10"), samples: 6, seed: 3)
        #expect(plan.jobs.count == 6)
        #expect(Set(plan.jobs.map(\.hash)).count == 6)
        for job in plan.jobs {
            let fast = try #require(Int(job.parameters[0].value))
            let slow = try #require(Int(job.parameters[1].value))
            #expect((1...20).contains(fast) && [30, 40, 50, 60].contains(slow))
        }
    }

    /// A sweep keeps the lot found in the data (every job runs on the grid it would run on
    /// alone): a quantity finer than it is refused, whichever job comes first, with what to do.
    @Test func aQuantityFinerThanTheDataIsRefusedWithTheWayOut() throws {
        for values in ["0.01,0.0005", "0.0005,0.01"] {
            var settings = try Self.settings(fast: "3", slow: "10")
            settings.strategies[0].parameters = [("fast", "3"), ("slow", "10"), ("quantity", values)]
            do {
                _ = try SweepPlan(settings)
                Issue.record("\(values): the sweep was not refused")
            } catch {
                #expect("\(error)".contains("quantity=0.0005 is not allowed"))
                #expect("\(error)".contains("pass --lot-size for a finer one"))
            }
            settings.lotSize = try Increment("0.0001")
            let plan = try SweepPlan(settings)
            #expect(plan.jobs.count == 2)
            #expect(plan.base.instruments.map(\.lotSize) == [try Increment("0.0001")])
        }
    }

    /// A combination the strategy refuses (fast above slow) refuses the sweep, saying how to
    /// leave such ones out; with `skippingInvalid` they are left out and counted, even the first
    /// (whose data plan is then made without it), and the others are the jobs they would be.
    @Test func refusedCombinationsAreLeftOutWhenAsked() throws {
        let settings = try Self.settings(fast: "15,5", slow: "10,20")
        let refusal =
            "fast=15 slow=10: strategy golden-cross: fast=15 is not allowed: use an integer from 1 to 10 (at most slow)"
        do {
            _ = try SweepPlan(settings)
            Issue.record("the sweep was not refused")
        } catch {
            #expect("\(error)" == refusal + " (--skip-invalid leaves such combinations out and runs the others)")
        }
        // A refusal every combination has (a parameter no dimension sweeps or bounds) is said
        // once, without a combination's values or --skip-invalid.
        for (quantity, reason) in [
            ("0", ""), ("0.0001", " (a sweep keeps the lot found in the data: pass --lot-size for a finer one)"),
        ] {
            var unswept = try Self.settings(fast: "5,6", slow: "10,20")
            unswept.strategies[0].parameters[2].value = quantity
            let error = try #require(throws: BacktestError.self) { try SweepPlan(unswept) }
            #expect(
                "\(error)"
                    == "strategy golden-cross: quantity=\(quantity) is not allowed: use a positive quantity in the "
                    + "instrument's units on its lot grid of 0.001 (at most 10^12 lots)\(reason) (in every combination)"
            )
        }
        let plan = try SweepPlan(settings, skippingInvalid: true)
        #expect(plan.jobs.map { $0.parameters.map(\.value) } == [["15", "20"], ["5", "10"], ["5", "20"]])
        #expect(plan.jobs.map(\.index) == [1, 2, 3])
        #expect(plan.skipped == 1 && plan.skippedExamples == [refusal])
        #expect(plan.base.settings.strategies == plan.jobs[0].strategies)
        // The same jobs as in a sweep without the refused one.
        let valid = try SweepPlan(try Self.settings(fast: "15,5", slow: "20"))
        #expect(valid.skipped == 0)
        #expect(valid.jobs.map(\.hash) == [plan.jobs[0].hash, plan.jobs[2].hash])
        let outcome = try Sweep.run(plan, threads: 2, output: nil, ranking: try SweepRanking("net_pnl"))
        #expect(outcome.ran == 3 && outcome.failed.isEmpty)
        let row = try #require(outcome.rows.first { $0.parameters.map(\.value) == ["15", "20"] })
        var figures = try Self.object(row.line)
        let alone = try Backtest.run(try BacktestPlan(try Self.settings(fast: "15", slow: "20")))
        var expected = try Self.object(alone.json)
        for key in ["job", "params", "timing"] { figures[key] = nil }
        expected["timing"] = nil
        #expect(NSDictionary(dictionary: figures).isEqual(to: expected))
        #expect(alone.trades > 0)
        // None left: refused, naming the first.
        do {
            _ = try SweepPlan(try Self.settings(fast: "15,20", slow: "10"), skippingInvalid: true)
            Issue.record("a sweep of refused combinations alone was not refused")
        } catch {
            #expect(
                "\(error)"
                    == "every one of the 2 combinations is refused (--skip-invalid leaves none), the first: fast=15: "
                    + "strategy golden-cross: fast=15 is not allowed: use an integer from 1 to 10 (at most slow)")
        }
    }

    /// A refusal of every value (a misspelt parameter) is said without a combination's values,
    /// and is not told to leave combinations out;
    /// a default refused beside a swept value says it is the default; a sweep of nothing is
    /// sent to `backtest`.
    @Test func refusalsSayWhatHelps() throws {
        var misspelt = try Self.settings(fast: "5,10", slow: "20")
        misspelt.strategies[0].parameters.append(("slwo", "30"))
        #expect(throws: BacktestError.self) { _ = try SweepPlan(misspelt) }
        do { _ = try SweepPlan(misspelt) } catch {
            #expect(
                "\(error)"
                    == "strategy golden-cross has no parameter 'slwo': it takes id, instruments, account, slow, fast, quantity"
            )
        }
        misspelt.strategies[0].parameters = [("fast", "5"), ("slow", "20,30"), ("quantity", "0.01"), ("slow", "40")]
        do { _ = try SweepPlan(misspelt) } catch {
            #expect("\(error)".hasSuffix("strategy golden-cross: parameter 'slow' is given twice"), "\(error)")
        }
        var reverting = try Self.settings(fast: "5", slow: "20")
        reverting.strategies = [
            StrategySpec(name: "mean-reversion", parameters: [("entry", "0.1:0.3:0.1"), ("quantity", "0.01")])
        ]
        #expect(throws: BacktestError.self) { _ = try SweepPlan(reverting) }
        do { _ = try SweepPlan(reverting) } catch {
            #expect(
                "\(error)"
                    == "entry=0.1: strategy mean-reversion: exit=0.5 is not allowed: use a decimal from 0.000 to 0.100, "
                    + "at most 3 decimals (at most entry); 0.5 is its default: give exit (--skip-invalid leaves such "
                    + "combinations out and runs the others)")
        }
        do {
            _ = try SweepPlan(try Self.settings(fast: "5", slow: "20"))
            Issue.record("a sweep of one job was not refused")
        } catch {
            #expect(
                "\(error)"
                    == "nothing to sweep: give a parameter a list (--param slow=100,200) or a range (--param "
                    + "fast=10:50:10), or run peregrine backtest")
        }
    }

    /// A 4 × 4 grid on two threads: each row is the backtest with those parameters run alone
    /// (from the text files, on its own), field for field outside `timing`.
    @Test func everyRowEqualsTheBacktestRunAlone() throws {
        let warnings = try Self.checkRowsEqualTheBacktestsAlone(data: [Self.quotes, Self.trades]).warnings
        // The fixture's quotes end two hours before its trades: said once for the sweep, as
        // its backtests say it.
        #expect(warnings.count == 1)
        #expect(warnings.first?.hasPrefix("BTCUSDT: its book last changed at 2020-02-22 00:03:47.061 UTC") == true)
    }

    /// The same with fees given in basis points beside an `[[instrument]]` table (whose fees
    /// the instrument keeps; the plan's note says so): every job runs on the shared plan.
    @Test func everyRowEqualsTheBacktestRunAloneWithFeesBesideATable() throws {
        var table = InstrumentDefinition(
            id: InstrumentID(0), symbol: "BTCUSDT", venue: "backtest", tickSize: try Increment("0.01"),
            lotSize: try Increment("0.001"))
        table.takerFee = FeeRate(perHundredMillion: 25_000)
        _ = try Self.checkRowsEqualTheBacktestsAlone(data: [Self.quotes, Self.trades]) { $0.instruments = [table] }
    }

    /// Ranked by a figure no row has (volume, per instrument, with two instruments): said, and
    /// the rows stay in the sweep's order; by one they have, nothing is said.
    @Test func rankingByAFigureNoRowHasIsSaid() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var settings = try Self.settings(fast: "2,4", slow: "10")
        let file = Fixtures.path(Self.quotesFile)
        let copy = directory.appendingPathComponent("bbb.csv").path
        try FileManager.default.copyItem(atPath: file, toPath: copy)
        settings.data = [try DataSpec("tardis-quotes@AAA:" + file), try DataSpec("tardis-quotes@BBB:" + copy)]
        let plan = try SweepPlan(settings)
        let byVolume = try Sweep.run(plan, threads: 1, output: nil, ranking: try SweepRanking("volume"))
        #expect(byVolume.failed.isEmpty && byVolume.rows.count == 2)
        #expect(byVolume.rows.map(\.job) == plan.jobs.map(\.hash))
        #expect(
            byVolume.rankingWarning
                == "--rank-by volume: no result of this sweep has it (with several instruments the figures per "
                + "instrument, volume, position and max_position, are null, and with several quote currencies the "
                + "money ratios), so the rows stay in the sweep's order")
        #expect(byVolume.warnings.last == byVolume.rankingWarning)
        #expect(try Sweep.run(plan, threads: 1, output: nil, ranking: try SweepRanking("trades")).rankingWarning == nil)
    }

    /// The same with a gzip input that has quote rows with an empty price (skipped) and a
    /// `--from`/`--to` window cutting the data mid-file.
    @Test func everyRowEqualsTheBacktestRunAloneWithAWindowGzipAndSkippedRows() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = try String(contentsOfFile: Fixtures.path(Self.quotesFile), encoding: .utf8)
        var lines = source.split(separator: "\n").map(String.init)
        for index in stride(from: 40, to: lines.count, by: 97) {
            var fields = lines[index].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            fields[6] = ""  // the bid price
            lines[index] = fields.joined(separator: ",")
        }
        let path = directory.appendingPathComponent("quotes.csv").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try BacktestRunTests.gzip([path]) == 0)
        let times = lines.dropFirst().compactMap { Int($0.split(separator: ",")[2]) }
        let from = times[times.count / 4] * 1_000
        let to = times[times.count * 3 / 4] * 1_000
        let skipped = try Self.checkRowsEqualTheBacktestsAlone(data: ["tardis-quotes:" + path + ".gz", Self.trades]) {
            $0.from = UInt64(from)
            $0.to = UInt64(to)
        }.skipped
        #expect(skipped > 0)
    }

    /// With rows stamped before a row above them: the sweep and each of its rows warn as the
    /// backtest alone does, naming the text file's line (not the sweep's shared temporary file
    /// and its record), and in the same order as the other warnings.
    @Test func everyRowEqualsTheBacktestRunAloneWithRowsStampedBack() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var lines = try String(contentsOfFile: Fixtures.path(Self.quotesFile), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        var fields = lines[100].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[2] = String((Int(lines[99].split(separator: ",")[2]) ?? 0) - 3_000)
        lines[100] = fields.joined(separator: ",")
        let path = directory.appendingPathComponent("quotes.csv").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let warnings = try Self.checkRowsEqualTheBacktestsAlone(data: ["tardis-quotes:" + path, Self.trades]).warnings
        #expect(warnings.count == 2)
        #expect(warnings.first?.hasPrefix("\(path):101: 1 row is stamped before one above, by up to 3.000 ms") == true)
        #expect(warnings.last?.hasPrefix("BTCUSDT: its book last changed at") == true)
    }

    /// Runs a 4 × 4 golden-cross grid and checks each row against the backtest run alone (its
    /// warnings too); the skipped quote rows and the warnings it reported.
    static func checkRowsEqualTheBacktestsAlone(
        data: [String], configure: (inout BacktestSettings) -> Void = { _ in }
    ) throws -> (skipped: Int, warnings: [String]) {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        func settings(fast: String, slow: String) throws -> BacktestSettings {
            var settings = try Self.settings(fast: fast, slow: slow)
            settings.data = try data.map { try DataSpec($0) }
            configure(&settings)
            return settings
        }
        let plan = try SweepPlan(try settings(fast: "2:8:2", slow: "10,20,40,80"))
        #expect(plan.jobs.count == 16)
        #expect(plan.dimensions.map(\.name) == ["fast", "slow"])
        let path = directory.appendingPathComponent("sweep.jsonl").path
        let outcome = try Sweep.run(
            plan, threads: 2, output: try SweepOutput(path: path, parameterNames: ["fast", "slow"]),
            ranking: try SweepRanking("net_pnl"))
        #expect(outcome.ran == 16 && outcome.resumed == 0 && outcome.failed.isEmpty)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == 16)
        // Ranked: net P&L never rises down the file.
        let pnl = try lines.map { try #require(Double(try Self.object($0)["net_pnl"] as? String ?? "")) }
        #expect(pnl == pnl.sorted(by: >))
        var trades = Set<Int>()
        var skipped = 0
        for line in lines {
            var row = try Self.object(line)
            let params = try #require(row["params"] as? [String: String])
            let fast = try #require(params["fast"])
            let slow = try #require(params["slow"])
            let alone = try Backtest.run(try BacktestPlan(try settings(fast: fast, slow: slow)))
            var expected = try Self.object(alone.json)
            for key in ["job", "params", "timing"] { row[key] = nil }
            expected["timing"] = nil
            #expect(NSDictionary(dictionary: row).isEqual(to: expected), "fast=\(fast) slow=\(slow)")
            trades.insert(alone.trades)
            skipped = alone.skippedQuotes
            #expect(outcome.warnings == alone.warnings)
        }
        // The parameters matter: the jobs did not all trade alike.
        #expect(trades.count > 4)
        return (skipped, outcome.warnings)
    }

    /// A CSV row of the sweep without its timing (the last two columns).
    static func withoutTiming(_ line: String) -> String {
        line.split(separator: ",", omittingEmptySubsequences: false).dropLast(2).joined(separator: ",")
    }

    /// A CSV output cut after five rows, mid-row, is resumed: the five are kept, the others run.
    @Test func aCSVOutputCutShortIsResumed() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let plan = try SweepPlan(try Self.settings(fast: "2:8:2", slow: "10,20,40,80"))
        let path = directory.appendingPathComponent("sweep.csv").path
        let ranking = try SweepRanking("sharpe")
        _ = try Sweep.run(
            plan, threads: 2, output: try SweepOutput(path: path, parameterNames: ["fast", "slow"]), ranking: ranking)
        let full = try String(contentsOfFile: path, encoding: .utf8)
        let lines = full.split(separator: "\n").map(String.init)
        #expect(lines.count == 17)
        #expect(lines[0].hasPrefix("job,fast,slow,report,format_version,events,trades,"))
        let cut = lines.prefix(6).joined(separator: "\n") + "\n" + lines[6].prefix(90)
        try cut.write(toFile: path, atomically: true, encoding: .utf8)
        let output = try SweepOutput(path: path, parameterNames: ["fast", "slow"])
        #expect(output.existing.count == 5)
        // A CSV by its name in any case; never a compressed name (it is read back).
        #expect(try SweepOutput(path: directory.appendingPathComponent("UP.CSV").path, parameterNames: []).isCSV)
        let compressed = directory.appendingPathComponent("sweep.csv.gz").path
        #expect(
            throws: BacktestError.usage(
                "--out \(compressed): a sweep's results are written uncompressed: name a .jsonl or .csv file")
        ) { _ = try SweepOutput(path: compressed, parameterNames: []) }
        #expect(!FileManager.default.fileExists(atPath: compressed))
        // A CSV of another sweep's columns is refused, saying this sweep's.
        let other = directory.appendingPathComponent("other.csv").path
        try "job,window,report\n".write(toFile: other, atomically: true, encoding: .utf8)
        #expect(
            throws: BacktestError.usage(
                "--out \(other):1: its columns are not this sweep's (job, fast, slow, then the report's figures): "
                    + "'job,window,report'; choose another file")
        ) { _ = try SweepOutput(path: other, parameterNames: ["fast", "slow"]) }
        let resumed = try Sweep.run(plan, threads: 2, output: output, ranking: ranking)
        #expect(resumed.resumed == 5 && resumed.ran == 11)
        let again = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(again.count == 17)
        // The same rows, timing aside (the last two columns).
        #expect(Set(again.map(Self.withoutTiming)) == Set(lines.map(Self.withoutTiming)))
    }

    /// A CSV output saved again by a spreadsheet or pandas (every field quoted, lines ending CR
    /// LF; the last row gone, and a header-only file) is read as the sweep wrote it: the rows
    /// kept are the same, only the missing job runs, and the ranked rewrite is plain again.
    @Test func aCSVOutputSavedWithQuotesIsResumed() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let plan = try SweepPlan(try Self.settings(fast: "2,4", slow: "10,20"))
        let path = directory.appendingPathComponent("sweep.csv").path
        let ranking = try SweepRanking("sharpe")
        _ = try Sweep.run(
            plan, threads: 1, output: try SweepOutput(path: path, parameterNames: ["fast", "slow"]), ranking: ranking)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == 5)
        let quoted = { (line: String) in
            line.split(separator: ",", omittingEmptySubsequences: false).map { "\"\($0)\"" }.joined(separator: ",")
        }
        try (lines.prefix(4).map(quoted).joined(separator: "\r\n") + "\r\n").write(
            toFile: path, atomically: true, encoding: .utf8)
        let output = try SweepOutput(path: path, parameterNames: ["fast", "slow"])
        #expect(output.existing.map(\.line) == Array(lines[1...3]))
        let resumed = try Sweep.run(plan, threads: 1, output: output, ranking: ranking)
        #expect(resumed.resumed == 3 && resumed.ran == 1)
        let again = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(again.count == 5 && again[0] == lines[0])
        #expect(Set(again.map(Self.withoutTiming)) == Set(lines.map(Self.withoutTiming)))
        // Saved as a spreadsheet's "CSV UTF-8", with a byte order mark: read the same.
        try ("\u{FEFF}" + lines.prefix(4).joined(separator: "\n") + "\n").write(
            toFile: path, atomically: true, encoding: .utf8)
        #expect(
            try SweepOutput(path: path, parameterNames: ["fast", "slow"]).existing.map(\.line) == Array(lines[1...3]))
        // The header alone, quoted: read as the header (not written twice).
        try (quoted(lines[0]) + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        _ = try SweepOutput(path: path, parameterNames: ["fast", "slow"])
        #expect(try String(contentsOfFile: path, encoding: .utf8) == quoted(lines[0]) + "\n")
        // Quoting that no sweep writes (a comma in a field, a quote left open) is no result.
        #expect(SweepRow.csvFields(#""a","b""c",d"#) == nil)
        #expect(SweepRow.csvFields(#""a,b",c"#) == nil)
        #expect(SweepRow.csvFields(#""a"x,b"#) == nil)
        #expect(SweepRow.csvFields(#""ab"#) == nil)
        #expect(SweepRow.csvFields(#""a",,"","b""#) == ["a", "", "", "b"])
        #expect(SweepRow.csvFields("a,,b,") == ["a", "", "b", ""])
    }

    /// A stop asked for (SIGINT, SIGTERM) starts no job after it: those running finish and are
    /// written, the sweep throws as incomplete naming how many of how many finished, and the
    /// same sweep run again goes on from them.
    @Test func aStoppedSweepIsIncompleteAndResumes() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let plan = try SweepPlan(try Self.settings(fast: "2:8:2", slow: "10,20,40,80"))
        let path = directory.appendingPathComponent("sweep.jsonl").path
        let ranking = try SweepRanking("sharpe")
        var message = ""
        // Asked before the jobs start (no stop), then (the input is too short to be asked
        // while it is read) while the first job runs.
        var asked = 0
        do {
            _ = try Sweep.run(
                plan, threads: 1, output: try SweepOutput(path: path, parameterNames: ["fast", "slow"]),
                ranking: ranking,
                stopRequested: {
                    asked += 1
                    return asked > 1 ? "SIGINT" : nil
                })
        } catch { message = "\(error)" }
        #expect(asked == 2)
        // The one thread had taken at most one job when the stop was seen.
        let rows = (try? String(contentsOfFile: path, encoding: .utf8))?.split(separator: "\n").count ?? 0
        #expect(rows <= 1)
        let kept = rows > 0 ? " (kept in \(path): the same command goes on from them)" : ""
        #expect(
            message == "stopped by SIGINT after \(rows) of 16 jobs\(kept); the sweep is incomplete: no ranking or page "
                + "was written")
        let resumed = try Sweep.run(
            plan, threads: 2, output: try SweepOutput(path: path, parameterNames: ["fast", "slow"]), ranking: ranking)
        #expect(resumed.resumed == rows && resumed.ran == 16 - rows)
    }

    /// A stop seen while the last jobs ran, which then finished (a race no test can stage: the
    /// message alone), says that every job ran and only the ranking is missing; with jobs left,
    /// how many of how many gave a row.
    @Test func aStopAfterTheLastJobsRanSaysEveryJobRan() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("sweep.jsonl").path
        let output = try SweepOutput(path: path, parameterNames: ["fast"])
        let tail = "; the sweep is incomplete: no ranking or page was written"
        #expect(
            "\(Sweep.stopped(by: "SIGINT", finished: 15, ran: 16, of: 16, output: output))"
                == "stopped by SIGINT after all 16 jobs had run (kept in \(path): the same command ranks them)" + tail)
        #expect(
            "\(Sweep.stopped(by: "SIGTERM", finished: 3, ran: 4, of: 16, output: output))"
                == "stopped by SIGTERM after 3 of 16 jobs (kept in \(path): the same command goes on from them)" + tail)
        #expect(
            "\(Sweep.stopped(by: "SIGINT", finished: 0, of: 2, output: nil))"
                == "stopped by SIGINT after 0 of 2 jobs" + tail)
    }

    /// A stop asked for while the jobs are planned (asked every 1,024 jobs), or while the rows
    /// already in `--out` are read (every 1,024 lines), ends the sweep before any job, leaving
    /// the output as it was; so does one when every job was done before.
    @Test func aStopWhileTheSweepIsPlannedOrItsOutputReadRunsNothing() throws {
        let message = "stopped by SIGINT before any job ran; the sweep is incomplete: no ranking or page was written"
        var asked = 0
        #expect(throws: BacktestError.data(message)) {
            try SweepPlan(
                try Self.settings(fast: "1:2", slow: "10:609"),
                stopRequested: {
                    asked += 1
                    return "SIGINT"
                })
        }
        #expect(asked == 1)
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("sweep.jsonl").path
        let rows = (0..<1_100).map { index in
            #"{"job":"j\#(index)","params":{"fast":"2"},"report":"peregrine-backtest","format_version":"#
                + "\(BacktestResult.formatVersion)}"
        }
        let text = rows.joined(separator: "\n") + "\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        asked = 0
        #expect(throws: BacktestError.data(message)) {
            try SweepOutput(
                path: path, parameterNames: ["fast"],
                stopRequested: {
                    asked += 1
                    return "SIGINT"
                })
        }
        #expect(asked == 1)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == text)
        // Every job done already: the stop comes before the ranking, which would rewrite --out.
        let plan = try SweepPlan(try Self.settings(fast: "2,4", slow: "10"))
        let done = directory.appendingPathComponent("done.jsonl").path
        _ = try Sweep.run(
            plan, threads: 1, output: try SweepOutput(path: done, parameterNames: ["fast"]),
            ranking: try SweepRanking("sharpe"))
        let written = try String(contentsOfFile: done, encoding: .utf8)
        #expect(throws: BacktestError.data(message)) {
            try Sweep.run(
                plan, threads: 1, output: try SweepOutput(path: done, parameterNames: ["fast"]),
                ranking: try SweepRanking("trades"), stopRequested: { "SIGINT" })
        }
        #expect(try String(contentsOfFile: done, encoding: .utf8) == written)
    }

    /// A stop asked for while a text input is converted for the jobs (asked every 65,536
    /// events) ends the sweep there, before any job: no row, nothing written, and the same
    /// message as a stop between jobs.
    @Test func aStopWhileTheInputsAreConvertedRunsNoJob() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // 70,000 quote rows: the conversion is asked once, at its 65,536th event.
        let quotes = try GeneratedQuotes.write(rows: 70_000, in: directory)
        var settings = BacktestSettings()
        settings.data = [try DataSpec("tardis-quotes:" + quotes)]
        settings.lotSize = try Increment("0.001")
        settings.strategies = [
            StrategySpec(name: "golden-cross", parameters: [("fast", "2,4"), ("slow", "10"), ("quantity", "0.01")])
        ]
        let plan = try SweepPlan(settings)
        let path = directory.appendingPathComponent("sweep.jsonl").path
        var asked = 0
        var message = ""
        do {
            _ = try Sweep.run(
                plan, threads: 2, output: try SweepOutput(path: path, parameterNames: ["fast"]),
                ranking: try SweepRanking("sharpe"),
                stopRequested: {
                    asked += 1
                    return asked > 1 ? "SIGTERM" : nil
                })
        } catch { message = "\(error)" }
        // Once before the jobs, once at the 65,536th event: no job asked after it.
        #expect(asked == 2)
        #expect(
            message == "stopped by SIGTERM after 0 of 2 jobs; the sweep is incomplete: no ranking or page was written")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "")
    }

    /// A CSV row does not keep its warnings, but the plan's (an inverse contract in the data)
    /// are the sweep's all the same: also when every row is resumed from the file.
    @Test func aResumedCSVSweepStillWarnsAboutTheData() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var settings = try Self.settings(fast: "2,4", slow: "10")
        let bitmex = Fixtures.path("tardis_bitmex_XBTUSD_trades_2020-03-01.csv")
        settings.data.append(try DataSpec("tardis-trades:" + bitmex))
        settings.lotSize = try Increment("0.001")
        let plan = try SweepPlan(settings)
        #expect(plan.base.warnings.count == 1)
        let inverse = try #require(plan.base.warnings.first)
        #expect(inverse.hasPrefix("XBTUSD on bitmex (\(bitmex)) is an inverse contract"))
        let path = directory.appendingPathComponent("sweep.csv").path
        let ranking = try SweepRanking("sharpe")
        let first = try Sweep.run(
            plan, threads: 1, output: try SweepOutput(path: path, parameterNames: ["fast", "slow"]), ranking: ranking)
        #expect(first.ran == 2)
        #expect(first.warnings.first == inverse)
        let resumed = try Sweep.run(
            plan, threads: 1, output: try SweepOutput(path: path, parameterNames: ["fast", "slow"]), ranking: ranking)
        #expect(resumed.ran == 0 && resumed.resumed == 2)
        #expect(resumed.rows.allSatisfy { $0.warnings.isEmpty })
        // (USDT and USD: no row has a Sharpe ratio, which is said too.)
        let unranked = try #require(resumed.rankingWarning)
        #expect(unranked.hasPrefix("--rank-by sharpe: no result of this sweep has it"))
        #expect(resumed.warnings == plan.base.warnings + [unranked])
    }

    /// A file whose last line is not the start of a result is refused, and left as it was.
    @Test func anOutputEndingInSomethingElseIsRefusedAndKept() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("notes.jsonl").path
        try "{\"a\":1}".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: BacktestError.self) { _ = try SweepOutput(path: path, parameterNames: ["fast"]) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "{\"a\":1}")
    }

    /// Blank lines (a file edited by hand) hold no result and stop nothing.
    @Test func blankLinesInAnOutputAreSkipped() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("edited.jsonl").path
        let ranking = try SweepRanking("net_pnl")
        let plan = try SweepPlan(try Self.settings(fast: "5,10", quantity: "0.01"))
        _ = try Sweep.run(
            plan, threads: 1, output: try SweepOutput(path: path, parameterNames: ["fast"]), ranking: ranking)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        try (lines[0] + "\n\n" + lines[1] + "\n \n").write(toFile: path, atomically: true, encoding: .utf8)
        let output = try SweepOutput(path: path, parameterNames: ["fast"])
        #expect(output.existing.count == 2)
        let resumed = try Sweep.run(plan, threads: 1, output: output, ranking: ranking)
        #expect(resumed.ran == 0 && resumed.resumed == 2)
        #expect(
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
                .count == 3)
    }

    /// A sweep stopped by bad data (a cut gzip file) removes the HTML page an earlier sweep left
    /// there (it would pass for this one's; exit 1, a note says so) and keeps its `--out` file (a
    /// run again resumes from it); a usage error (exit 2, nothing started) removes nothing.
    @Test func aFailedSweepRemovesAnEarlierPageAndKeepsItsResults() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("quotes.csv").path
        try FileManager.default.copyItem(atPath: Fixtures.path(Self.quotesFile), toPath: copy)
        #expect(try BacktestRunTests.gzip([copy]) == 0)
        let compressed = try Data(contentsOf: URL(fileURLWithPath: copy + ".gz"))
        let cut = directory.appendingPathComponent("cut.csv.gz").path
        try compressed.prefix(compressed.count / 2).write(to: URL(fileURLWithPath: cut))
        let page = directory.appendingPathComponent("sweep.html").path
        let out = directory.appendingPathComponent("sweep.jsonl").path
        try "stale".write(toFile: page, atomically: true, encoding: .utf8)
        try "".write(toFile: out, atomically: true, encoding: .utf8)
        let arguments = [
            "sweep", "--data", "tardis-quotes:" + cut, "--strategy", "golden-cross", "--param", "fast=2,3", "--param",
            "slow=5", "--param", "quantity=0.001", "--out", out, "--report-html", page,
        ]
        let usage = try PeregrineCLI.run(
            arguments.map {
                $0 == "slow=5" ? "slow=x" : ($0 == "tardis-quotes:" + cut ? "tardis-quotes:" + copy + ".gz" : $0)
            })
        #expect(usage.status == 2)
        #expect(usage.error.contains("slow=x is not allowed"), "\(usage.error)")
        #expect(FileManager.default.fileExists(atPath: page))
        let failed = try PeregrineCLI.run(arguments)
        #expect(failed.status == 1)
        #expect(failed.error.contains("\(cut) is not a complete gzip file"), "\(failed.error)")
        #expect(failed.error.contains("note: removed \(page): the run failed"), "\(failed.error)")
        #expect(!FileManager.default.fileExists(atPath: page))
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "")
        // A bad NATS option is a usage error found before the data is read (it removes nothing).
        try "stale".write(toFile: page, atomically: true, encoding: .utf8)
        let nats = try PeregrineCLI.run(arguments + ["--nats", "nats://127.0.0.1:1", "--ack-wait", "0"])
        #expect(nats.status == 2)
        #expect(nats.error.contains("--ack-wait must be from 1 to 86400 s"), "\(nats.error)")
        #expect(FileManager.default.fileExists(atPath: page))
    }

    /// A sweep killed (SIGKILL) part-way is resumed by the same command: the finished jobs are
    /// not run again and every job is in the result once.
    @Test func aSweepKilledPartWayResumesWithoutRerunningFinishedJobs() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("sweep.jsonl").path
        let arguments = [
            "sweep", "--data", Self.quotes, "--data", Self.trades, "--strategy", "market-maker", "--param",
            "half-spread=0:5", "--param", "size=1:8", "--param", "max-position=40", "--jobs", "1", "--out", out,
            "--top", "0",
        ]
        let process = Process()
        process.executableURL = PeregrineCLI.binary
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        func completeLines() -> Int {
            guard let data = FileManager.default.contents(atPath: out) else { return 0 }
            return data.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
        }
        while completeLines() < 3, process.isRunning { usleep(2_000) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        let finished = completeLines()
        #expect(finished >= 3 && finished < 48)
        let resumed = try PeregrineCLI.run(arguments)
        #expect(resumed.status == 0, "\(resumed.error)")
        let summary = try #require(resumed.line(startingWith: "=== peregrine sweep ==="))
        #expect(summary.contains("48 jobs: \(48 - finished) run, \(finished) already done, 0 failed"), "\(summary)")
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 48)
        let jobs = try lines.map { try #require(try Self.object(String($0))["job"] as? String) }
        #expect(Set(jobs).count == 48)
        // Run again: nothing left to do (the JSON summary for scripts says so).
        let again = try PeregrineCLI.run(Array(arguments.dropLast(2)) + ["--top", "2", "--json"])
        #expect(again.status == 0, "\(again.error)")
        let summary2 = try Self.object(again.output)
        #expect(summary2["jobs"] as? Int == 48 && summary2["ran"] as? Int == 0)
        #expect(summary2["already_done"] as? Int == 48)
        #expect((summary2["failed"] as? [Any])?.isEmpty == true)
        let best = try #require(summary2["best"] as? [[String: Any]])
        #expect(best.count == 2)
        #expect(best.allSatisfy { ($0["params"] as? [String: String])?.keys.sorted() == ["half-spread", "size"] })
        // Each best row is its line in the output, as written.
        let ranked = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").prefix(2)
        #expect(
            again.output.contains("\"best\":[" + ranked.joined(separator: ",") + "]"), "\(again.output.prefix(300))")
    }

    @Test func aBadOutputLineIsRefusedNamingIt() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("sweep.jsonl").path
        try "{\"job\":\"a\",\"params\":{},\"report\":\"peregrine-backtest\",\"format_version\":3}\nnot json\n".write(
            toFile: out, atomically: true, encoding: .utf8)
        #expect(
            throws: BacktestError.usage("--out \(out):2: not a sweep result: 'not json'"),
            performing: { _ = try SweepOutput(path: out, parameterNames: ["fast"]) })
    }

    /// A metric whose sign is its meaning is coloured about zero: a sweep in which every
    /// combination lost is red to yellow, its best no longer green (the range's top had been).
    /// A count is coloured over its range. The table's decimals line up.
    @Test func theHeatmapColoursLossesRedAndTheTableAlignsDecimals() {
        #expect(SweepHTMLReport.colourRange("net_pnl", low: -5, high: -1) == (-5, 5))
        #expect(SweepHTMLReport.colourRange("sharpe", low: -0.5, high: 2) == (-2, 2))
        #expect(SweepHTMLReport.colourRange("trades", low: 3, high: 9) == (3, 9))
        // The best of an all-losing sweep: red's full 215, green short of it (orange).
        #expect(SweepHTMLReport.colourFor(-1, low: -5, high: 5, ascending: false) == "rgb(215,168,48)")
        #expect(SweepHTMLReport.colourFor(-5, low: -5, high: 5, ascending: false) == "rgb(215,48,48)")
        #expect(SweepHTMLReport.colourFor(5, low: -5, high: 5, ascending: false) == "rgb(40,158,48)")
        #expect(
            SweepHTMLReport.alignedDecimals(["-2.0269 USDT", "-1.83332 USDT", "-", "3 USDT"])
                == ["-2.02690 USDT", "-1.83332 USDT", "-", "3.00000 USDT"])
        #expect(SweepHTMLReport.alignedDecimals(["10", "2"]) == ["10", "2"])
    }

    @Test func theHTMLPageHasANonBlankHeatmap() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let plan = try SweepPlan(try Self.settings(fast: "2:8:2", slow: "10,20,40,80"))
        let ranking = try SweepRanking("net_pnl")
        let outcome = try Sweep.run(plan, threads: 2, output: nil, ranking: ranking)
        let html = SweepHTMLReport.render(plan, outcome, ranking: ranking)
        #expect(!html.contains("<script") && !html.contains("https://"))
        // Money names its currency: in the heatmap's title, on its scale and with the best
        // combination, which is outlined and named, and the table's first row.
        #expect(html.contains("net_pnl (USDT) by fast (across) and slow (down)"), "\(html)")
        #expect(html.components(separatedBy: " USDT</text>").count - 1 == 3, "\(html)")
        let first = try #require(outcome.rows.first)
        let fast = try #require(first.parameters.first { $0.name == "fast" }?.value)
        let slow = try #require(first.parameters.first { $0.name == "slow" }?.value)
        let value = try #require(first.value(of: "net_pnl"))
        #expect(
            html.contains(
                ">best (outlined): fast=\(fast) slow=\(slow), \(SweepRow.text(value, of: "net_pnl")) USDT</text>"),
            "\(html)")
        #expect(html.components(separatedBy: "<rect class=\"best\"").count - 1 == 1)
        // A ratio's cell is its rounded text, not padded to another's decimals.
        let sharpe = try #require(first.value(of: "sharpe"))
        #expect(html.contains("<td>\(SweepRow.text(sharpe, of: "sharpe"))</td>"), "\(html)")
        #expect(html.contains("<tr style=\"font-weight:bold\"><td>1</td><td>\(fast)</td><td>\(slow)</td>"))
        let page = directory.appendingPathComponent("sweep.html")
        try html.write(to: page, atomically: true, encoding: .utf8)
        let png = directory.appendingPathComponent("sweep.png").path
        let frame = SweepHTMLReport.heatmap
        let (status, _, log) = try HTMLReportTests.run(
            try HTMLReportTests.chromium(),
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr",
                "--v=0", "--window-size=\(SweepHTMLReport.width),\(frame.top + frame.height + 200)",
                "--screenshot=\(png)", page.absoluteString,
            ])
        #expect(status == 0)
        let consoleLines = log.split(separator: "\n").filter { $0.contains("CONSOLE") || $0.contains("Uncaught") }
        #expect(consoleLines.isEmpty, "console: \(consoleLines)")
        let region =
            "\(frame.left + 2),\(frame.top + 2),\(frame.left + frame.width - 2),\(frame.top + frame.height - 2)"
        let script = HTMLReportTests.repository.appendingPathComponent("scripts/png-regions.py").path
        let (checked, output, problems) = try HTMLReportTests.run("/usr/bin/env", ["python3", script, png, region])
        #expect(checked == 0, "\(problems)")
        let fields = Dictionary(
            uniqueKeysWithValues: output.split(separator: " ").dropFirst().compactMap { field -> (String, String)? in
                let parts = field.split(separator: "=", maxSplits: 1).map {
                    $0.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                return parts.count == 2 ? (parts[0], parts[1]) : nil
            })
        // Coloured cells over the whole area, in several colours (16 results, not one).
        #expect((Int(fields["saturated"] ?? "") ?? 0) >= frame.width * frame.height / 2, "\(output)")
        #expect((Int(fields["colours"] ?? "") ?? 0) >= 8, "\(output)")
    }
}

extension SweepTests {
    static func settings(fast: String, quantity: String) throws -> BacktestSettings {
        var settings = BacktestSettings()
        settings.data = [try DataSpec(quotes)]
        settings.strategies = [
            StrategySpec(name: "golden-cross", parameters: [("fast", fast), ("slow", "50"), ("quantity", quantity)])
        ]
        return settings
    }

    /// A resumed row shows this sweep's parameters (in its outcome and in the output), whatever
    /// texts of the same values the earlier sweep wrote, and when a parameter fixed then is
    /// swept now; a job written twice is one row.
    @Test func resumedRowsShowThisSweepsParameters() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ranking = try SweepRanking("net_pnl")
        for csv in [false, true] {
            let path = directory.appendingPathComponent(csv ? "texts.csv" : "texts.jsonl").path
            let written = try SweepPlan(try Self.settings(fast: "5,10", quantity: "0.010,0.020"))
            _ = try Sweep.run(
                written, threads: 2, output: try SweepOutput(path: path, parameterNames: ["fast", "quantity"]),
                ranking: ranking)
            let plan = try SweepPlan(try Self.settings(fast: "5,10", quantity: "0.01,0.02"))
            let resumed = try Sweep.run(
                plan, threads: 2, output: try SweepOutput(path: path, parameterNames: ["fast", "quantity"]),
                ranking: ranking)
            #expect(resumed.ran == 0 && resumed.resumed == 4)
            #expect(
                Set(resumed.rows.map { $0.parameters.map(\.value).joined(separator: " ") })
                    == ["5 0.01", "5 0.02", "10 0.01", "10 0.02"])
            let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            if csv {
                #expect(lines.dropFirst().allSatisfy { $0.contains(",0.01,") || $0.contains(",0.02,") }, "\(lines)")
            } else {
                #expect(lines.allSatisfy { $0.contains(#""quantity":"0.01""#) || $0.contains(#""quantity":"0.02""#) })
            }
        }
        // Fixed, then swept (JSON lines: a CSV output refuses other columns).
        let path = directory.appendingPathComponent("fixed.jsonl").path
        _ = try Sweep.run(
            try SweepPlan(try Self.settings(fast: "5,10", quantity: "0.01")), threads: 2,
            output: try SweepOutput(path: path, parameterNames: ["fast"]), ranking: ranking)
        var text = try String(contentsOfFile: path, encoding: .utf8)
        // A job written twice (two outputs joined).
        text += text.split(separator: "\n")[0] + "\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let swept = try Sweep.run(
            try SweepPlan(try Self.settings(fast: "5,10", quantity: "0.01,0.02")), threads: 2,
            output: try SweepOutput(path: path, parameterNames: ["fast", "quantity"]), ranking: ranking)
        #expect(swept.ran == 2 && swept.resumed == 2)
        #expect(swept.rows.count == 4)
        #expect(
            Set(swept.rows.map { $0.parameters.map(\.value).joined(separator: " ") })
                == ["5 0.01", "5 0.02", "10 0.01", "10 0.02"])
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4)
        #expect(lines.allSatisfy { $0.contains(#""quantity":"#) })
    }

    /// A damaged converted input stops the sweep with one error before any job runs.
    @Test func aDamagedConvertedInputStopsTheSweepOnce() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let converted = directory.appendingPathComponent("day.pgev").path
        _ = try DataConversion.convert([try DataSpec(Self.quotes)], output: converted)
        let handle = try #require(FileHandle(forUpdatingAtPath: converted))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size / 2)
        try handle.write(contentsOf: Data([0xff, 0xfe]))
        try handle.close()
        var settings = try Self.settings(fast: "5,10", quantity: "0.01")
        settings.data = [try DataSpec("events:" + converted)]
        let path = directory.appendingPathComponent("out.jsonl").path
        do {
            _ = try Sweep.run(
                try SweepPlan(settings), threads: 2, output: try SweepOutput(path: path, parameterNames: ["fast"]),
                ranking: try SweepRanking("net_pnl"))
            Issue.record("the sweep ran on a damaged file")
        } catch {
            guard case .data(let message) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(message.hasPrefix(converted + ": record "), "\(message)")
            #expect(message.contains("fails its checksum"), "\(message)")
        }
        #expect((try? String(contentsOfFile: path, encoding: .utf8)) ?? "" == "")
        // From the command line: exit 1, one error, and no empty output left where none was.
        let cli = directory.appendingPathComponent("cli.jsonl").path
        let run = try PeregrineCLI.run([
            "sweep", "--data", "events:" + converted, "--strategy", "golden-cross", "--param", "fast=5,10",
            "--param", "slow=50", "--out", cli,
        ])
        #expect(run.status == 1, "\(run.error)")
        #expect(run.error.components(separatedBy: "fails its checksum").count == 2, "\(run.error)")
        #expect(!FileManager.default.fileExists(atPath: cli))
    }
}

extension SweepTests {
    /// A sweep whose every job fails (money past 128 bits on a grid this fine) exits 1 listing
    /// them, and leaves no `--out` it made behind empty (a header alone, for a CSV), nor a
    /// `--report-html` page; an `--out` that was there before is kept.
    @Test func aSweepWhoseJobsAllFailLeavesNoEmptyOutput() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let arguments = [
            "sweep", "--data", Self.quotes, "--strategy", "golden-cross", "--param", "fast=2,3", "--param", "slow=5",
            "--param", "quantity=1", "--tick-size", "0.000000000001", "--lot-size", "0.000000000001", "--out",
        ]
        for name in ["new.csv", "new.jsonl"] {
            let out = directory.appendingPathComponent(name).path
            let run = try PeregrineCLI.run(arguments + [out])
            #expect(run.status == 1, "\(run.error)")
            #expect(run.error.components(separatedBy: "passed the 128 bits").count == 3, "\(run.error)")
            #expect(run.output.contains("2 jobs: 0 run, 0 already done, 2 failed"), "\(run.output)")
            #expect(!FileManager.default.fileExists(atPath: out), "\(name)")
        }
        let kept = directory.appendingPathComponent("kept.jsonl").path
        try "".write(toFile: kept, atomically: true, encoding: .utf8)
        // Nor a page of nothing: the one an earlier sweep left goes too.
        let page = directory.appendingPathComponent("sweep.html").path
        try "<html>an earlier sweep's</html>".write(toFile: page, atomically: true, encoding: .utf8)
        let run = try PeregrineCLI.run(arguments + [kept, "--report-html", page])
        #expect(run.status == 1, "\(run.error)")
        #expect(try String(contentsOfFile: kept, encoding: .utf8) == "")
        #expect(!FileManager.default.fileExists(atPath: page))
    }

    /// Rows of another sweep found twice in `--out` (two outputs joined) are kept once too.
    @Test func anotherSweepsRowsWrittenTwiceAreKeptOnce() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("joined.jsonl").path
        let ranking = try SweepRanking("net_pnl")
        _ = try Sweep.run(
            try SweepPlan(try Self.settings(fast: "2,4", quantity: "0.01")), threads: 2,
            output: try SweepOutput(path: path, parameterNames: ["fast"]), ranking: ranking)
        let once = try String(contentsOfFile: path, encoding: .utf8)
        try (once + once).write(toFile: path, atomically: true, encoding: .utf8)
        let other = try Sweep.run(
            try SweepPlan(try Self.settings(fast: "6,8", quantity: "0.01")), threads: 2,
            output: try SweepOutput(path: path, parameterNames: ["fast"]), ranking: ranking)
        #expect(other.rows.count == 2 && other.otherRows.count == 2)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4)
        #expect(Set(lines.map { try? Self.object(String($0))["job"] as? String }).count == 4)
    }

    /// `--skip-invalid` from the command line: the note names the refused combination, the
    /// table and the JSON summary count it.
    @Test func theCommandLineCountsTheCombinationsLeftOut() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let arguments = [
            "sweep", "--data", Self.quotes, "--strategy", "golden-cross", "--param", "fast=2,30", "--param", "slow=20",
            "--param", "quantity=0.01", "--out", directory.appendingPathComponent("sweep.jsonl").path,
        ]
        let refused = try PeregrineCLI.run(arguments)
        #expect(refused.status == 2)
        #expect(refused.error.contains("error: fast=30: strategy golden-cross: fast=30 is not allowed"))
        let table = try PeregrineCLI.run(arguments + ["--skip-invalid"])
        #expect(table.status == 0, "\(table.error)")
        #expect(
            table.error.contains(
                "note: 1 of 2 combinations left out (--skip-invalid), refused by the strategies: fast=30: "
                    + "strategy golden-cross: fast=30 is not allowed: use an integer from 1 to 20 (at most slow)\n"))
        #expect(
            table.line(startingWith: "=== peregrine sweep === ")?.hasPrefix(
                "1 job: 1 run, 0 already done, 0 failed (1 combination refused, left out) · ") == true,
            "\(table.output)")
        let json = try PeregrineCLI.run(arguments + ["--skip-invalid", "--json"])
        #expect(json.status == 0, "\(json.error)")
        let summary = try Self.object(json.output)
        #expect(summary["jobs"] as? Int == 1 && summary["already_done"] as? Int == 1)
        #expect(summary["skipped_invalid"] as? Int == 1)
        // The HTML report counts it too, the refusal in its tooltip.
        let html = directory.appendingPathComponent("sweep.html").path
        let page = try PeregrineCLI.run(arguments + ["--skip-invalid", "--report-html", html])
        #expect(page.status == 0, "\(page.error)")
        let text = try String(contentsOfFile: html, encoding: .utf8)
        #expect(
            text.contains(
                "1 job (0 run, 1 already done, 0 failed, <span title=\"fast=30: strategy golden-cross: fast=30 is not "
                    + "allowed: use an integer from 1 to 20 (at most slow)\">1 combination refused, left out</span>) · "
            ),
            "\(text.prefix(2_000))")
    }

    /// With a CSV output, `--json`'s best rows are the rows' figures with their parameters
    /// under "params" alone, resumed and new alike.
    @Test func theBestRowsOfACSVSweepHaveOneShape() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("sweep.csv").path
        let base = [
            "sweep", "--data", Self.quotes, "--strategy", "golden-cross", "--param", "slow=20", "--out", out, "--json",
        ]
        let first = try PeregrineCLI.run(base + ["--param", "fast=2,4", "--param", "quantity=0.010,0.020"])
        #expect(first.status == 0, "\(first.error)")
        let second = try PeregrineCLI.run(base + ["--param", "fast=2,4,6", "--param", "quantity=0.01,0.02"])
        #expect(second.status == 0, "\(second.error)")
        let summary = try Self.object(second.output)
        #expect(summary["ran"] as? Int == 2 && summary["already_done"] as? Int == 4)
        let best = try #require(summary["best"] as? [[String: Any]])
        #expect(best.count == 6)
        for row in best {
            #expect(row["fast"] == nil && row["quantity"] == nil, "\(row.keys.sorted())")
            let quantity = (row["params"] as? [String: String])?["quantity"]
            #expect(quantity == "0.01" || quantity == "0.02", "\(row)")
            #expect(row["job"] is String && row["net_pnl"] is String)
        }
        #expect(Set(best.map { $0.keys.count }).count == 1)
    }
}
