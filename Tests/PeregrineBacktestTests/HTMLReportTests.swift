import Foundation
import PeregrineModel
import PeregrineStrategy
import PeregrineTestSupport
import Testing

@testable import PeregrineBacktest

/// The HTML report rendered by headless Chromium (Debian `chromium`; `make test` installs it):
/// no console errors, and every plot area has drawn data in it.
@Suite struct HTMLReportTests {
    static var repository: URL { Fixtures.directory.deletingLastPathComponent().deletingLastPathComponent() }

    static func chromium() throws -> String {
        for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw ReportTestError.missing(
            "headless Chromium is not installed: run `make test`, which installs Debian chromium")
    }

    enum ReportTestError: Error { case missing(String) }

    static let quotes = "tardis_binance-futures_BTCUSDT_quotes_2020-02-22.csv"
    static let trades = "tardis_binance-futures_BTCUSDT_trades_2020-02-22.csv"

    /// A market maker on the fixture's quotes and trades (it trades: every plot has data).
    static func marketMakerPlan() throws -> BacktestPlan {
        var settings = BacktestSettings()
        settings.data = [
            try DataSpec("tardis-quotes:" + Fixtures.path(quotes)),
            try DataSpec("tardis-trades:" + Fixtures.path(trades)),
        ]
        settings.strategies = [
            StrategySpec(
                name: "market-maker", parameters: [("half-spread", "1"), ("size", "5"), ("max-position", "50")])
        ]
        return try BacktestPlan(settings)
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> (Int32, String, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (
            process.terminationStatus, String(decoding: outputData, as: UTF8.self),
            String(decoding: errorData, as: UTF8.self)
        )
    }

    @Test func everyPlotHasDrawnContentAndTheConsoleIsClean() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("peregrine-html-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try Backtest.run(try Self.marketMakerPlan())
        let html = try BacktestHTMLReport.render(result)
        #expect(!html.contains("http://") || html.contains("xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(!html.contains("https://"))
        #expect(!html.contains("<script"))
        // Money figures carry their currency (the max drawdown's had none).
        let drawdown = try #require(result.maxDrawdown)
        let currency = try #require(result.currency)
        #expect(
            html.contains(
                "<b>max drawdown</b>\(drawdown) \(currency) · \(BacktestHTMLReport.percent(result.maxDrawdownPercent / 100))"
            ))
        // The header keeps its height: the title on one line (whole on hover), so that the
        // figures and the warnings' note below it are never cut off.
        #expect(
            html.contains("h1{font-size:18px;margin:0 0 8px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}")
        )
        #expect(
            html.contains("<header><h1 title=\"\(result.strategies.joined(separator: "; "))\">Peregrine backtest · "))
        #expect(html.contains("<b>net P&amp;L</b>"))
        // The title shows the strategies without the engine's own keys; the venue's rejections,
        // the ratios' basis (on hover and in the table) and each instrument's grid and fees.
        let shown = result.strategies.map(BacktestHTMLReport.shown).joined(separator: "; ")
        #expect(!shown.contains("id=") && !shown.contains("account=") && shown.hasPrefix("market-maker "))
        #expect(html.contains("\">Peregrine backtest · \(shown)</h1>"))
        #expect(html.contains("<b>rejected by the venue</b>"))
        #expect(html.contains(BacktestHTMLReport.ratioBasis(result)))
        let definition = try #require(result.instruments.first?.definition)
        #expect(
            html.contains(
                "<td>\(definition.symbol)</td><td>\(definition.tickSize) \(definition.quoteCurrency)</td><td>"
                    + "\(definition.lotSize)</td><td>\(BacktestHTMLReport.basisPoints(definition.makerFee))</td><td>"
                    + "\(BacktestHTMLReport.basisPoints(definition.takerFee))</td>"))
        #expect(BacktestHTMLReport.basisPoints(FeeRate(perHundredMillion: -2_500)) == "-0.25 bps")
        // The position's unit is named (the base of BTCUSDT, quoted in USDT), and the
        // histogram's count axis.
        #expect(definition.symbol == "BTCUSDT" && definition.quoteCurrency == "USDT")
        #expect(
            html.contains("<h2>Position (each instrument's base units, after each fill: BTC for BTCUSDT)</h2>"))
        #expect(html.contains(" rotate(-90)\" text-anchor=\"middle\" font-size=\"11\" fill=\"#556\">intervals</text>"))
        var other = definition
        other.symbol = "XBTZ20"
        #expect(BacktestHTMLReport.baseUnit(other) == nil)
        other.symbol = "ETH-USDT"
        #expect(BacktestHTMLReport.baseUnit(other) == "ETH")
        let page = directory.appendingPathComponent("report.html")
        try html.write(to: page, atomically: true, encoding: .utf8)
        let titles = BacktestHTMLReport.plotTitles(result)
        let height = BacktestHTMLReport.headerHeight + titles.count * BacktestHTMLReport.rowHeight + 100
        let png = directory.appendingPathComponent("report.png").path
        let (status, _, log) = try Self.run(
            try Self.chromium(),
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr",
                "--v=0", "--window-size=\(BacktestHTMLReport.width),\(height)", "--screenshot=\(png)",
                page.absoluteString,
            ])
        #expect(status == 0)
        let consoleLines = log.split(separator: "\n").filter { $0.contains("CONSOLE") || $0.contains("Uncaught") }
        #expect(consoleLines.isEmpty, "console: \(consoleLines)")
        #expect(FileManager.default.fileExists(atPath: png))
        // Each plot area, inside its axes (1 pixel in from the frame).
        let margins = BacktestHTMLReport.margins
        var regions: [String] = []
        for index in titles.indices {
            let top =
                BacktestHTMLReport.headerHeight + index * BacktestHTMLReport.rowHeight + BacktestHTMLReport.titleHeight
            let plotBottom = BacktestHTMLReport.rowHeight - BacktestHTMLReport.titleHeight - margins.bottom
            regions.append(
                "\(margins.left + 1),\(top + margins.top + 1),\(BacktestHTMLReport.width - margins.right - 1),"
                    + "\(top + plotBottom - 1)")
        }
        let script = Self.repository.appendingPathComponent("scripts/png-regions.py").path
        let (checked, output, problems) = try Self.run(
            "/usr/bin/env", ["python3", script, png, "--count", "1c6b34", "--count", "8f2012"] + regions)
        #expect(checked == 0, "\(problems)")
        let lines = output.split(separator: "\n")
        #expect(lines.count == titles.count)
        var pricePlots = 0
        for (title, line) in zip(titles, lines) {
            let fields = Dictionary(
                uniqueKeysWithValues: line.split(separator: " ").dropFirst().compactMap { field -> (String, String)? in
                    let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
                    return parts.count == 2 ? (parts[0], parts[1]) : nil
                })
            // Drawn data: coloured pixels, not only the greys of the frame, grid and labels.
            #expect((Int(fields["saturated"] ?? "") ?? 0) >= 200, "\(title): \(line)")
            #expect((Int(fields["colours"] ?? "") ?? 0) >= 3, "\(title): \(line)")
            // The price plot's fill markers (buy and sell triangles, about 20 pixels of their own
            // colour each, one of each in the legend) are drawn: five legends' worth of each.
            let markers = [fields["1c6b34"], fields["8f2012"]].map { Int($0 ?? "") ?? 0 }
            if title.contains("bid, ask and fills") {
                pricePlots += 1
                #expect(markers.allSatisfy { $0 >= 100 }, "\(title): \(line)")
            }
        }
        #expect(pricePlots == 1)
        #expect(result.instruments.first.map { $0.trades > 20 } == true)
    }

    /// A run that keeps no charts (what `peregrine backtest` does without `--report-html`, and
    /// every run of a sweep) reports the same figures, fills and equity, and is refused drawing.
    @Test func aRunWithoutChartsHasTheSameResultsAndIsNotDrawn() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("peregrine-charts-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let plan = try Self.marketMakerPlan()
        func outputs(_ name: String, charts: Bool) -> BacktestOutputFiles {
            BacktestOutputFiles(
                fillsCSV: directory.appendingPathComponent("\(name)-fills.csv").path,
                equityCSV: directory.appendingPathComponent("\(name)-equity.csv").path, charts: charts)
        }
        let drawn = try Backtest.run(plan, outputs: outputs("drawn", charts: true))
        let plain = try Backtest.run(plan, outputs: outputs("plain", charts: false))
        #expect(drawn.trades > 0)
        #expect(BacktestRunTests.withoutTiming(plain.json) == BacktestRunTests.withoutTiming(drawn.json))
        for file in ["fills", "equity"] {
            #expect(lines(directory, "drawn-\(file)").count > 1, "\(file)")
            #expect(lines(directory, "plain-\(file)") == lines(directory, "drawn-\(file)"), "\(file)")
        }
        // The drawn run kept the series: the bid line is drawn (`priceChart` draws it only from
        // a recorded series).
        let bidLine = "stroke=\"#2a9d4b\" stroke-width=\"1.1\""
        #expect(try BacktestHTMLReport.render(drawn).contains(bidLine))
        #expect(
            throws: BacktestError.usage(
                "the backtest kept no charts to draw: run it with BacktestOutputFiles(charts: true)")
        ) { try BacktestHTMLReport.render(plain) }
        // The command keeps them when `--report-html` asks for the page.
        let page = directory.appendingPathComponent("command.html").path
        let command = try PeregrineCLI.run([
            "backtest", "--data", "tardis-quotes:" + Fixtures.path(Self.quotes), "--data",
            "tardis-trades:" + Fixtures.path(Self.trades), "--strategy", "market-maker", "--param", "half-spread=1",
            "--param", "size=5", "--param", "max-position=50", "--report-html", page,
        ])
        #expect(command.status == 0, "\(command.error)")
        #expect((try? String(contentsOfFile: page, encoding: .utf8))?.contains(bidLine) == true)
    }

    /// The lines of `name`.csv in `directory` (none when it cannot be read).
    func lines(_ directory: URL, _ name: String) -> [Substring] {
        let text =
            (try? String(contentsOfFile: directory.appendingPathComponent(name + ".csv").path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n")
    }
}
