import Foundation
import PeregrineEngine
import PeregrineModel

/// The self-contained HTML report of a backtest: the key figures, then one plot per row — each
/// instrument's bid and ask with the fills, the equity, the drawdown, the positions and the
/// distribution of per-interval P&L — then the instruments, settings and provenance. Inline SVG,
/// no script and nothing from the network; series are down-sampled by min/max per pixel column
/// (`DownSampledSeries`), so the file stays small for any run.
///
/// The layout is fixed (a 1200-pixel page; a 220-pixel header; each plot a 300-pixel row: a
/// 28-pixel title above a 272-pixel SVG) so tools and tests can find each plot.
public enum BacktestHTMLReport {
    public static let width = 1_200
    public static let headerHeight = 220
    public static let rowHeight = 300
    public static let titleHeight = 28
    /// The plot area inside each SVG: margins left, right, top, bottom.
    public static let margins = (left: 100, right: 20, top: 12, bottom: 32)

    /// The plot titles, in page order.
    public static func plotTitles(_ result: BacktestResult) -> [String] {
        result.instruments.map { "\($0.definition.symbol): bid, ask and fills (\($0.definition.quoteCurrency))" } + [
            result.currency.map { "Equity (\($0))" } ?? "Equity: none (several quote currencies)",
            result.currency.map { "Drawdown (\($0), below the equity's peak)" } ?? "Drawdown",
            "Position (each instrument's base units, after each fill: "
                + result.instruments.map { instrument in
                    let symbol = instrument.definition.symbol
                    return baseUnit(instrument.definition).map { "\($0) for \(symbol)" } ?? "units of \(symbol)"
                }
                .joined(separator: ", ") + ")",
            result.currency.map {
                "Distribution of the equity's change per sampling interval (\($0); intervals without change left out)"
            } ?? "Distribution of the equity's change per sampling interval (intervals without change left out)",
        ]
    }

    /// The unit of `definition`'s quantities as people name it: the symbol without its quote
    /// currency (`BTC` of `BTCUSDT`, `ETH` of `ETH-USD`); nil where the symbol does not end in it.
    static func baseUnit(_ definition: InstrumentDefinition) -> String? {
        let symbol = definition.symbol
        let quote = definition.quoteCurrency
        guard !quote.isEmpty, symbol.uppercased().hasSuffix(quote.uppercased()) else { return nil }
        var base = symbol.dropLast(quote.count)
        while let last = base.last, last == "-" || last == "_" || last == "/" { base = base.dropLast() }
        return base.isEmpty ? nil : String(base)
    }

    /// A page's start up to `<body>`: the shared look, then `style`.
    static func head(title: String, width: Int, headerHeight: Int, style: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        body{margin:0;background:#fff;color:#1d2330;font:13px/1.4 sans-serif;max-width:\(width)px}
        header{height:\(headerHeight)px;overflow:hidden;box-sizing:border-box;padding:14px 20px;border-bottom:1px solid #dde}
        h1{font-size:18px;margin:0 0 8px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
        svg{display:block;width:100%;height:auto}
        table{border-collapse:collapse;margin:12px 20px}
        .warn{color:#a4420a;font-weight:bold}
        section.warnings{margin:12px 20px;color:#a4420a}
        section.warnings h2{font-size:14px;margin:0}
        \(style)
        </style></head><body>

        """
    }

    /// The report of `result`, which must have kept its charts (`BacktestOutputFiles.charts`).
    public static func render(_ result: BacktestResult) throws(BacktestError) -> String {
        guard let charts = result.charts else {
            throw .usage("the backtest kept no charts to draw: run it with BacktestOutputFiles(charts: true)")
        }
        var html =
            head(
                title: "Peregrine backtest", width: width, headerHeight: headerHeight,
                style: """
                        .figures{display:grid;grid-template-columns:repeat(6,1fr);grid-auto-flow:row dense;gap:4px 14px}
                    .figures div{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
                    .figures b{display:block;font-size:11px;color:#667;font-weight:normal}
                    section.plot{max-height:\(rowHeight)px;margin:0;overflow:hidden}
                    section.plot h2{height:\(titleHeight)px;line-height:\(titleHeight)px;margin:0;padding-left:20px;font-size:14px}
                    td,th{border:1px solid #dde;padding:3px 8px;text-align:left}
                    .warn{margin:8px 0 0}
                    """) + """
                <header><h1 title="\(escape(result.strategies.joined(separator: "; ")))">Peregrine backtest · \(escape(result.strategies.map(shown).joined(separator: "; ")))</h1><div class="figures">

                """
        let currency = result.currency ?? ""
        let figures: [(String, String)] = [
            ("net P&L", "\(result.netPnL?.description ?? "-") \(currency)"),
            ("fees", "\(result.fees?.description ?? "-") \(currency)"),
            ("return", result.returnOnCapital.map(percent) ?? "-"),
            ("Sharpe", fixed(result.sharpe, 3)), ("Sortino", fixed(result.sortino, 3)),
            (
                // The largest fall in money and the largest in percent of its peak: they may be
                // two falls, so neither is written as the other's share.
                "max drawdown",
                result.maxDrawdown.map { "\($0) \(currency) · \(percent(result.maxDrawdownPercent / 100))" } ?? "-"
            ),
            ("trades", "\(result.trades)"), ("orders sent", "\(result.venue.newOrders)"),
            ("fill ratio", percent(result.fillRatio)), ("win rate", percent(result.winRate)),
            ("time in market", percent(result.timeInMarket)),
            ("mean time in queue", result.meanTimeInQueueText),
            ("events", "\(result.events)"),
            ("from (UTC)", result.events > 0 ? shortTime(result.firstTime) : "-"),
            ("to (UTC)", result.events > 0 ? shortTime(result.lastTime) : "-"),
            ("capital", "\(result.capital) \(currency)"),
            ("queue model", result.settings.queueModel.description),
            ("latency", "feed \(result.settings.feedLatency); orders \(result.settings.orderLatency)"),
            (
                "refused by risk",
                result.refusals.riskRejections.isEmpty
                    ? "0"
                    : result.refusals.riskRejections.map { "\($0.count) \($0.reason)" }.joined(separator: " · ")
            ),
            ("kill switch", result.refusals.killSwitchTrip.map { "tripped at \($0)" } ?? "not tripped"),
            (
                "rejected by the venue",
                result.venue.rejections.isEmpty
                    ? "0" : result.venue.rejections.map { "\($0.count) \($0.reason)" }.joined(separator: " · ")
            ),
        ]
        // The ratios' basis, on hover (a few seconds annualised give ratios in the thousands).
        let basis = ratioBasis(result)
        // (A value cut by the ellipsis shows whole on hover. The longest take two columns: the
        // header keeps its height, one line of title, four of figures and the warnings' note.)
        let wide: Set = ["max drawdown", "latency"]
        for (name, value) in figures {
            let span = wide.contains(name) ? " style=\"grid-column:span 2\"" : ""
            let hover = name == "Sharpe" || name == "Sortino" ? "\(value) \(basis)" : value
            html += "<div\(span) title=\"\(escape(hover))\"><b>\(escape(name))</b>\(escape(value))</div>\n"
        }
        html += "</div>"
        // Warnings about the data: named in the header, listed after the plots (which keep
        // their places).
        if !result.warnings.isEmpty { html += "<p class=\"warn\">\(warningsNote(result.warnings.count))</p>" }
        html += "</header>\n"
        let titles = plotTitles(result)
        let positions = result.instruments.indices.map { index in
            series(charts.positions[index]).map { $0.scaled(by: unit(result.instruments[index].definition.lotSize)) }
        }
        let equity = series(charts.equity)
        let drawdown = series(charts.drawdown)
        var timed = positions + [equity, drawdown]
        for index in result.instruments.indices {
            timed += [charts.bids, charts.asks, charts.buys, charts.sells, charts.trades].map { series($0[index]) }
        }
        let xRange = timeRange(result, timed.compactMap { $0 })
        var plots: [String] = []
        if result.events == 0 {
            // Nothing was simulated (all data before --from): no time to plot.
            plots = Array(repeating: nothingToPlot, count: result.instruments.count + 4)
        } else {
            for (index, instrument) in result.instruments.enumerated() {
                plots.append(priceChart(charts, index, instrument.definition, xRange: xRange))
            }
            plots.append(timeChart([equity], xRange: xRange, colours: ["#2456c8"]))
            plots.append(timeChart([drawdown], xRange: xRange, colours: ["#c83a24"], fill: true))
            plots.append(
                timeChart(
                    positions, xRange: xRange, colours: palette, steps: true, initial: 0,
                    names: result.instruments.map(\.definition.symbol)))
            plots.append(histogram(result.equitySamples))
        }
        for (title, plot) in zip(titles, plots) {
            html += "<section class=\"plot\"><h2>\(escape(title))</h2>\(plot)</section>\n"
        }
        html += detailsTable(result)
        html += warningsSection(result.warnings)
        html += "</body></html>\n"
        return html
    }

    /// A strategy's description as the page's title shows it: without the engine's own keys
    /// (its id, instrument ids and account), which read as settings.
    static func shown(_ description: String) -> String {
        description.split(separator: " ").filter {
            !$0.hasPrefix("id=") && !$0.hasPrefix("instruments=") && !$0.hasPrefix("account=")
        }.joined(separator: " ")
    }

    /// What the Sharpe and Sortino ratios rest on (the page's and the terminal's words).
    public static func ratioBasis(_ result: BacktestResult) -> String {
        let interval = Double(result.settings.equityInterval) / 1e9
        return "(annualised from \(result.returnCount) return\(result.returnCount == 1 ? "" : "s"), sampled every "
            + "\(fixed(interval, 3)) s where the data has events)"
    }

    /// The header's words for `count` (> 0) warnings listed at the end of the page.
    static func warningsNote(_ count: Int) -> String {
        "\(count == 1 ? "A warning" : "\(count) warnings") about the data: see the end of the page"
    }

    /// The warnings about the data at the end of a page (nothing without any); the header
    /// names them in an element of class `warn`.
    static func warningsSection(_ warnings: [String]) -> String {
        guard !warnings.isEmpty else { return "" }
        return "<section class=\"warnings\"><h2>Warnings about the data</h2><ul>\n"
            + warnings.map { "<li>\(escape($0))</li>\n" }.joined() + "</ul></section>\n"
    }

    /// A time in the header: `2020-02-22 00:00:01.096` (UTC, to the millisecond).
    static func shortTime(_ time: UInt64) -> String {
        String(UTCTime.text(time).prefix(23).map { $0 == "T" ? " " : $0 })
    }

    static let palette = ["#2456c8", "#c83a24", "#2a9d4b", "#a45ac8", "#d48a1a", "#1aa3b8"]
    static var plotHeight: Int { rowHeight - titleHeight }

    /// A series as (time, min, max, last) points.
    struct Points {
        var times: [Double]
        var minimums: [Double]
        var maximums: [Double]
        var lasts: [Double]

        /// Every value times `factor` (ticks to prices, lots to base units).
        func scaled(by factor: Double) -> Points {
            Points(
                times: times, minimums: minimums.map { $0 * factor }, maximums: maximums.map { $0 * factor },
                lasts: lasts.map { $0 * factor })
        }
    }

    static func pow10(_ exponent: Int) -> Double {
        var value = 1.0
        for _ in 0..<Swift.max(exponent, 0) { value *= 10 }
        return value
    }

    /// One step of `increment` as a number (a tick's price, a lot's quantity).
    static func unit(_ increment: Increment) -> Double { Double(increment.units) / pow10(increment.decimals) }

    static func series(_ series: DownSampledSeries) -> Points? {
        let buckets = series.buckets
        guard !buckets.isEmpty else { return nil }
        return Points(
            times: buckets.map { Double($0.time) }, minimums: buckets.map(\.minimum),
            maximums: buckets.map(\.maximum), lasts: buckets.map(\.last))
    }

    /// The time every plot over time spans, so that they line up: the run's first to last
    /// event, and any point beyond them (a report landing after the last event); at least a
    /// millisecond, centred on a run of one moment.
    static func timeRange(_ result: BacktestResult, _ points: [Points]) -> ClosedRange<Double> {
        var low = result.events > 0 ? Double(result.firstTime) : Double.infinity
        var high = result.events > 0 ? Double(result.lastTime) : -Double.infinity
        for series in points {
            if let first = series.times.first { low = Swift.min(low, first) }
            if let last = series.times.last { high = Swift.max(high, last) }
        }
        guard low.isFinite, high.isFinite else { return 0...1e6 }
        if high - low < 1e6 {
            let middle = (low + high) / 2
            low = Swift.max(middle - 5e5, 0)
            high = low + 1e6
        }
        return low...high
    }

    /// Maps data to the plot area.
    struct Frame {
        var minX: Double
        var maxX: Double
        var minY: Double
        var maxY: Double

        /// Around `points` (over `xRange` when given), with a twentieth of the values' range
        /// above and below them.
        init(_ points: [Points], xRange: ClosedRange<Double>? = nil) {
            minX = xRange?.lowerBound ?? points.compactMap { $0.times.first }.min() ?? 0
            maxX = xRange?.upperBound ?? points.compactMap { $0.times.last }.max() ?? 1
            minY = points.compactMap { $0.minimums.min() }.min() ?? 0
            maxY = points.compactMap { $0.maximums.max() }.max() ?? 1
            if maxX <= minX { maxX = minX + 1 }
            if maxY <= minY {
                let pad = Swift.max(Swift.abs(minY) * 0.01, 1)
                minY -= pad
                maxY += pad
            } else {
                let pad = (maxY - minY) * 0.05
                minY -= pad
                maxY += pad
            }
        }

        func x(_ value: Double) -> Double {
            Double(margins.left) + (value - minX) / (maxX - minX) * Double(width - margins.left - margins.right)
        }

        func y(_ value: Double) -> Double {
            Double(margins.top) + (maxY - value) / (maxY - minY) * Double(plotHeight - margins.top - margins.bottom)
        }
    }

    static func number(_ value: Double) -> String { fixed(value, 1) }

    /// `value` rounded to `decimals` for people, every decimal shown and never in exponent
    /// notation ("-" when not finite; a small loss is 0, not -0.0): the HTML reports', the
    /// sweep's table and the commands' summaries.
    public static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "-" }
        let places = Swift.min(Swift.max(decimals, 0), 17)
        // Halves away from zero (2.5 is 3), as people round; printf alone would take them to
        // even. A small loss rounds to 0, not to "-0.00".
        let scale = pow10(places)
        let scaled = (value * scale).rounded()
        let rounded = !scaled.isFinite ? value : scaled == 0 ? 0 : scaled / scale
        return String(format: "%.*f", places, rounded)
    }

    /// A fraction as a percentage for people, to 3 decimals ("-" when not finite); one that
    /// those would round to 0 gets two significant digits instead (-0.000071%), so a tiny loss
    /// keeps its sign.
    public static func percent(_ value: Double) -> String {
        guard value.isFinite else { return "-" }
        let percentage = value * 100
        let magnitude = percentage.magnitude
        guard magnitude > 0, magnitude < 0.0005 else { return fixed(percentage, 3) + "%" }
        // Decimals up to the second significant digit (at most 17: smaller shows as 0).
        let leadingZeros = Int(exactly: -log10(magnitude).rounded(.down)) ?? 17
        return fixed(percentage, Swift.min(leadingZeros &+ 1, 17)) + "%"
    }

    /// Marks on a value axis: the multiples of a round step (1, 2 or 5 × 10^k) between `low`
    /// and `high`, two to seven of them, each labelled with the decimals the step needs (so
    /// that no two read alike). Labels longer than the left margin holds are written with a
    /// power of ten (`scientific`).
    static func valueTicks(_ low: Double, _ high: Double) -> [(Double, String)] {
        let span = high - low
        guard span > 0, span.isFinite, low.isFinite else { return low.isFinite ? [(low, fixed(low, 2))] : [] }
        let raw = span / 6
        var magnitude = 1.0
        var exponent = 0
        while magnitude * 10 <= raw, exponent < 300 {
            magnitude *= 10
            exponent += 1
        }
        while magnitude > raw, exponent > -300 {
            magnitude /= 10
            exponent -= 1
        }
        let multiple = [1.0, 2, 5, 10].first { $0 * magnitude >= raw } ?? 10
        if multiple == 10 { exponent += 1 }
        let step = multiple * magnitude
        // (At most 9: the shared `decimal`'s limit, past any grid's finest step here.)
        let decimals = Swift.min(Swift.max(0, -exponent), 9)
        var ticks: [(Double, String)] = []
        var index = (low / step).rounded(.up)
        while index * step <= high, ticks.count < 12 {
            let value = index * step
            // A step below the values' precision would repeat a value: one mark is enough.
            if let last = ticks.last, value <= last.0 { break }
            ticks.append((value, decimal(value, places: decimals)))
            index += 1
        }
        return scientific(ticks, stepExponent: exponent) ?? ticks
    }

    /// The longest value label the left margin holds (11-pixel digits in 100 pixels, less the
    /// gap before the frame).
    static let longestValueLabel = 14

    /// `ticks` relabelled as a mantissa and the power of ten of the largest ("1.2e14", "-3e15",
    /// "0"), with the decimals the step (10^`stepExponent` or more) needs, when a label is longer
    /// than `longestValueLabel` (values from about 10^14: they were cut at the page's left
    /// edge); nil when every label fits, or when the mantissas would not tell the marks apart.
    static func scientific(_ ticks: [(Double, String)], stepExponent: Int) -> [(Double, String)]? {
        guard ticks.contains(where: { $0.1.count > longestValueLabel }),
            let largest = ticks.map(\.0.magnitude).max(), largest.isFinite, largest > 0
        else { return nil }
        var power = Int(exactly: log10(largest).rounded(.down)) ?? 0
        // (log10 may land a hair below a power of ten.)
        if largest / pow(10, Double(power)) >= 10 { power += 1 }
        let places = Swift.min(Swift.max(power &- stepExponent, 0), 9)
        let scale = pow(10, Double(power))
        let labels = ticks.map { $0.0 == 0 ? "0" : decimal($0.0 / scale, places: places) + "e\(power)" }
        guard Set(labels).count == labels.count else { return nil }
        return zip(ticks, labels).map { ($0.0.0, $0.1) }
    }

    /// Marks on a time axis: the multiples of a round step (1 ms to a year, UTC), at most six
    /// steps apart in all (seven marks), labelled to the step's precision. The first label and
    /// any on another day than the one before carry the date.
    static func timeTicks(_ low: Double, _ high: Double) -> [(Double, String)] {
        let millisecond: UInt64 = 1_000_000
        let second = 1_000 * millisecond
        let minute = 60 * second
        let hour = 60 * minute
        let day = 24 * hour
        let steps =
            [1, 2, 5, 10, 20, 50, 100, 200, 500].map { $0 * millisecond } + [1, 2, 5, 10, 15, 30].map { $0 * second }
            + [1, 2, 5, 10, 15, 30].map { $0 * minute } + [1, 2, 3, 6, 12].map { $0 * hour }
            + [1, 2, 7, 14, 30, 91, 365].map { $0 * day }
        guard low >= 0, high < 9e18, high >= low else { return [] }
        let step = steps.first { (high - low) / Double($0) <= 6 } ?? 365 * day
        let start = UInt64(low)
        var time = (start / step + (start % step == 0 ? 0 : 1)) * step
        var ticks: [(Double, String)] = []
        var previousDay: UInt64? = nil
        while Double(time) <= high, ticks.count < 8 {
            let text = UTCTime.text(time)
            let date = time / day
            let clock =
                step >= day
                ? "" : String(text.dropFirst(11).prefix(step < second ? 12 : (step < minute ? 8 : 5)))
            let label =
                step >= day
                ? String(text.prefix(10))
                : (previousDay == nil
                    ? String(text.prefix(10)) + " " + clock + " UTC"
                    : (previousDay == date ? clock : String(text.dropFirst(5).prefix(5)) + " " + clock))
            ticks.append((Double(time), label))
            previousDay = date
            time &+= step
        }
        return ticks
    }

    /// The frame, grid and labelled marks around the plot area.
    static func axes(_ frame: Frame, xTicks: [(Double, String)], yTicks: [(Double, String)]) -> String {
        let left = Double(margins.left)
        let right = Double(width - margins.right)
        let top = Double(margins.top)
        let bottom = Double(plotHeight - margins.bottom)
        var svg =
            "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(right - left)\" height=\"\(bottom - top)\" fill=\"#f7f8fb\" stroke=\"#c9cdd8\"/>"
        for (value, label) in yTicks {
            let y = frame.y(value)
            svg += "<line x1=\"\(left)\" x2=\"\(right)\" y1=\"\(number(y))\" y2=\"\(number(y))\" stroke=\"#e3e6ee\"/>"
            svg +=
                "<text x=\"\(left - 6)\" y=\"\(number(y + 4))\" text-anchor=\"end\" font-size=\"11\" fill=\"#556\">\(escape(label))</text>"
        }
        for (value, label) in xTicks {
            let x = frame.x(value)
            svg +=
                "<line x1=\"\(number(x))\" x2=\"\(number(x))\" y1=\"\(bottom)\" y2=\"\(bottom + 4)\" stroke=\"#8a90a0\"/>"
            // Kept inside the page: a label near an end is anchored at that end.
            let half = Double(label.count) * 3.2
            let anchor = x - half < 4 ? "start" : (x + half > Double(width) - 4 ? "end" : "middle")
            svg +=
                "<text x=\"\(number(x))\" y=\"\(number(bottom + 18))\" text-anchor=\"\(anchor)\" font-size=\"11\" fill=\"#556\">\(escape(label))</text>"
        }
        return svg
    }

    /// How a legend shows a series.
    enum Swatch {
        case line, buyMarker, sellMarker, dot
    }

    /// A legend across the top left of the plot area: a swatch and a name per series.
    static func legend(_ items: [(name: String, colour: String, swatch: Swatch)]) -> String {
        guard !items.isEmpty else { return "" }
        let widths = items.map { 26 + Double($0.name.count) * 6.2 + 12 }
        var x = Double(margins.left) + 6
        let y = Double(margins.top) + 6
        var svg = ""
        // As many as fit across the plot (an ellipsis for the rest).
        let room = Double(width - margins.right) - x - 24
        var fitting = 0
        var used = 0.0
        while fitting < widths.count, used + widths[fitting] <= room {
            used += widths[fitting]
            fitting += 1
        }
        for (item, itemWidth) in zip(items.prefix(fitting), widths) {
            let middle = y + 9
            switch item.swatch {
            case .line:
                svg +=
                    "<line x1=\"\(number(x + 4))\" x2=\"\(number(x + 20))\" y1=\"\(number(middle))\" y2=\"\(number(middle))\" stroke=\"\(item.colour)\" stroke-width=\"2\"/>"
            case .buyMarker, .sellMarker:
                svg += marker(x: x + 12, y: middle, up: item.swatch == .buyMarker, colour: item.colour)
            case .dot:
                svg +=
                    "<circle cx=\"\(number(x + 12))\" cy=\"\(number(middle))\" r=\"2.5\" fill=\"\(item.colour)\"/>"
            }
            svg +=
                "<text x=\"\(number(x + 24))\" y=\"\(number(middle + 4))\" font-size=\"11\" fill=\"#1d2330\">\(escape(item.name))</text>"
            x += itemWidth
        }
        if fitting < items.count {
            svg +=
                "<text x=\"\(number(x + 4))\" y=\"\(number(y + 13))\" font-size=\"11\" fill=\"#1d2330\">… \(items.count - fitting) more</text>"
            x += 70
        }
        let start = Double(margins.left) + 6
        return
            "<rect x=\"\(number(start - 2))\" y=\"\(number(y))\" width=\"\(number(x - start + 2))\" height=\"18\" fill=\"#ffffff\" fill-opacity=\"0.85\" stroke=\"#dde\"/>"
            + svg
    }

    /// A fill's triangle: pointing up for a buy, down for a sell, its tip by the price.
    static func marker(x: Double, y: Double, up: Bool, colour: String) -> String {
        let tip = up ? y - 5 : y + 5
        let base = up ? y + 3 : y - 3
        return
            "<path d=\"M\(number(x)) \(number(tip))L\(number(x - 4)) \(number(base))L\(number(x + 4)) \(number(base))Z\" fill=\"\(colour)\"/>"
    }

    /// A note across the middle of the plot area.
    static func note(_ text: String) -> String {
        "<text x=\"\(width / 2)\" y=\"\(plotHeight / 2)\" text-anchor=\"middle\" font-size=\"13\" fill=\"#556\">"
            + escape(text) + "</text>"
    }

    static func svg(_ body: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(plotHeight)\" viewBox=\"0 0 \(width) \(plotHeight)\">"
            + body + "</svg>"
    }

    /// A line through each bucket's minimum and maximum (a band where a pixel holds many): a
    /// sampled series (equity, drawdown).
    static func path(_ points: Points, _ frame: Frame) -> String {
        var path = ""
        for index in points.times.indices {
            let x = number(frame.x(points.times[index]))
            path += (index == 0 ? "M" : "L") + "\(x) \(number(frame.y(points.maximums[index])))"
            if points.minimums[index] != points.maximums[index] {
                path += "L\(x) \(number(frame.y(points.minimums[index])))"
            }
        }
        return path
    }

    /// Steps: each value holds until the next change (a touch, a position), through each
    /// bucket's minimum and maximum at its time to its last value, and on to the frame's end;
    /// from `initial` at the frame's start when given (a position starts flat).
    static func stepPath(_ points: Points, _ frame: Frame, initial: Double? = nil) -> String {
        var path = ""
        if let initial, let first = points.times.first, first > frame.minX {
            path = "M\(number(frame.x(frame.minX))) \(number(frame.y(initial)))"
        }
        for index in points.times.indices {
            let x = number(frame.x(points.times[index]))
            let maximum = number(frame.y(points.maximums[index]))
            path += path.isEmpty ? "M\(x) \(maximum)" : "H\(x)V\(maximum)"
            path += "V\(number(frame.y(points.minimums[index])))V\(number(frame.y(points.lasts[index])))"
        }
        return path + "H\(number(frame.x(frame.maxX)))"
    }

    /// Dots at a short series' points (one or two, which a line may not show: a book that was
    /// two-sided for one moment at the run's end).
    static func dots(_ points: Points, _ frame: Frame, colour: String) -> String {
        guard points.times.count <= 2 else { return "" }
        return points.times.indices.map { index in
            "<circle cx=\"\(number(frame.x(points.times[index])))\" cy=\"\(number(frame.y(points.lasts[index])))\" r=\"3\" fill=\"\(colour)\"/>"
        }.joined()
    }

    /// A plot without data (no equity over several quote currencies, one sample): a note, not
    /// empty axes.
    static var nothingToPlot: String { svg(note("nothing to plot")) }

    /// Series over time, on the run's time axis: sampled (lines) or changing at events (steps
    /// from `initial`); filled down to zero when `fill`; a legend when `names` are given.
    static func timeChart(
        _ all: [Points?], xRange: ClosedRange<Double>, colours: [String], fill: Bool = false,
        steps: Bool = false, initial: Double? = nil, names: [String] = []
    ) -> String {
        let present = all.compactMap { $0 }
        guard !present.isEmpty else { return nothingToPlot }
        var frame = Frame(present, xRange: xRange)
        // Room above the values for the legend.
        if !names.isEmpty { frame.maxY += (frame.maxY - frame.minY) * 0.12 }
        if let initial {
            frame.minY = Swift.min(frame.minY, initial)
            frame.maxY = Swift.max(frame.maxY, initial)
        }
        var body = axes(
            frame, xTicks: timeTicks(frame.minX, frame.maxX), yTicks: valueTicks(frame.minY, frame.maxY))
        let zero = frame.y(0)
        if zero >= Double(margins.top), zero <= Double(plotHeight - margins.bottom) {
            body +=
                "<line x1=\"\(margins.left)\" x2=\"\(width - margins.right)\" y1=\"\(number(zero))\" y2=\"\(number(zero))\" stroke=\"#8a90a0\" stroke-dasharray=\"4 3\"/>"
        }
        var items: [(name: String, colour: String, swatch: Swatch)] = []
        for (index, points) in all.enumerated() {
            guard let points else { continue }
            let colour = colours[index % colours.count]
            let line = steps ? stepPath(points, frame, initial: initial) : path(points, frame)
            if fill, let first = points.times.first, let last = points.times.last {
                body +=
                    "<path d=\"\(line)L\(number(frame.x(last))) \(number(zero))L\(number(frame.x(first))) \(number(zero))Z\" fill=\"\(colour)\" fill-opacity=\"0.25\" stroke=\"none\"/>"
            }
            body += "<path d=\"\(line)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.4\"/>"
            body += dots(points, frame, colour: colour)
            if index < names.count { items.append((names[index], colour, .line)) }
        }
        return svg(body + legend(items))
    }

    /// An instrument's bid and ask (steps: the touch holds until it moves), the market's trades
    /// (grey), and the strategies' fills (triangles), on the run's time axis.
    static func priceChart(
        _ charts: BacktestCharts, _ index: Int, _ definition: InstrumentDefinition, xRange: ClosedRange<Double>
    ) -> String {
        let tick = unit(definition.tickSize)
        let bids = series(charts.bids[index])?.scaled(by: tick)
        let asks = series(charts.asks[index])?.scaled(by: tick)
        let buys = series(charts.buys[index])?.scaled(by: tick)
        let sells = series(charts.sells[index])?.scaled(by: tick)
        let trades = series(charts.trades[index])?.scaled(by: tick)
        let all = [bids, asks, buys, sells, trades].compactMap { $0 }
        guard !all.isEmpty else {
            return svg(note("no prices: \(definition.symbol) has no two-sided book and no trades"))
        }
        var frame = Frame(all, xRange: xRange)
        // Room above the prices for the legend.
        frame.maxY += (frame.maxY - frame.minY) * 0.12
        var body = axes(
            frame, xTicks: timeTicks(frame.minX, frame.maxX), yTicks: valueTicks(frame.minY, frame.maxY))
        var items: [(name: String, colour: String, swatch: Swatch)] = []
        if let trades {
            for bucket in trades.times.indices {
                let x = frame.x(trades.times[bucket])
                let high = frame.y(trades.maximums[bucket])
                let low = frame.y(trades.minimums[bucket])
                body +=
                    "<rect x=\"\(number(x - 1))\" y=\"\(number(high - 1))\" width=\"2\" height=\"\(number(low - high + 2))\" fill=\"#8a90a0\" fill-opacity=\"0.7\"/>"
            }
            items.append(("market trades", "#8a90a0", .dot))
        }
        if let bids {
            body += "<path d=\"\(stepPath(bids, frame))\" fill=\"none\" stroke=\"#2a9d4b\" stroke-width=\"1.1\"/>"
            body += dots(bids, frame, colour: "#2a9d4b")
            items.append(("bid", "#2a9d4b", .line))
        }
        if let asks {
            body += "<path d=\"\(stepPath(asks, frame))\" fill=\"none\" stroke=\"#c83a24\" stroke-width=\"1.1\"/>"
            body += dots(asks, frame, colour: "#c83a24")
            items.append(("ask", "#c83a24", .line))
        }
        for (points, colour, up) in [(buys, "#1c6b34", true), (sells, "#8f2012", false)] {
            guard let points else { continue }
            for fill in points.times.indices {
                body += marker(
                    x: frame.x(points.times[fill]), y: frame.y(points.maximums[fill]), up: up, colour: colour)
            }
            // (Fills within a pixel column are one mark: the fills CSV lists each.)
            items.append((up ? "buy fills (a mark per pixel)" : "sell fills", colour, up ? .buyMarker : .sellMarker))
        }
        if bids == nil, asks == nil { body += note("no two-sided book: the market's trades only") }
        return svg(body + legend(items))
    }

    /// A histogram of the equity's change per sampling interval (40 bins).
    static func histogram(_ equity: [Double]) -> String {
        var changes: [Double] = []
        var unchanged = 0
        for index in equity.indices.dropFirst() {
            let change = equity[index] - equity[index - 1]
            // (Intervals without change, most of them for a strategy mostly flat, would leave
            // the tails unseen beside one bar: counted, not drawn.)
            if change == 0 { unchanged += 1 } else { changes.append(change) }
        }
        guard !changes.isEmpty else {
            return unchanged == 0
                ? nothingToPlot : svg(note("the equity did not change in any of the \(unchanged) intervals"))
        }
        let low = changes.min() ?? 0
        let high = changes.max() ?? 0
        let bins = 40
        var counts = Array(repeating: 0, count: bins)
        let span = high > low ? high - low : 1
        for change in changes {
            let position = (change - low) / span * Double(bins)
            let bin = position.isFinite ? Swift.min(Swift.max(Int(position.rounded(.down)), 0), bins - 1) : 0
            counts[bin] += 1
        }
        let edges = [low, low + span]
        var frame = Frame([Points(times: edges, minimums: [0], maximums: [Double(counts.max() ?? 0)], lasts: [0])])
        // Counts: the axis runs a tenth above the tallest bar (room for the label at its top
        // right), to a whole number of marks.
        let tallest = Swift.max(counts.max() ?? 0, 1)
        frame.minY = 0
        frame.maxY = Double(tallest + tallest / 10 + 1)
        let counted = valueTicks(0, frame.maxY).filter { $0.0 == $0.0.rounded() }.map {
            ($0.0, decimal($0.0, places: 0))
        }
        var body = axes(frame, xTicks: valueTicks(low, low + span), yTicks: counted)
        let barWidth = (frame.x(low + span) - frame.x(low)) / Double(bins)
        for (bin, count) in counts.enumerated() where count > 0 {
            let x = frame.x(low + span * Double(bin) / Double(bins))
            let y = frame.y(Double(count))
            body +=
                "<rect x=\"\(number(x))\" y=\"\(number(y))\" width=\"\(number(Swift.max(barWidth - 1, 1)))\" height=\"\(number(frame.y(0) - y))\" fill=\"#2456c8\"/>"
        }
        // The count axis's name, up its left side.
        let middle = Double(margins.top) + (frame.y(0) - Double(margins.top)) / 2
        body +=
            "<text transform=\"translate(16,\(number(middle))) rotate(-90)\" text-anchor=\"middle\" font-size=\"11\" fill=\"#556\">intervals</text>"
        body +=
            "<text x=\"\(width - margins.right - 6)\" y=\"\(margins.top + 16)\" text-anchor=\"end\" font-size=\"11\" fill=\"#556\">\(changes.count) intervals with a change\(unchanged > 0 ? ", \(unchanged) without" : "")</text>"
        return svg(body)
    }

    static func detailsTable(_ result: BacktestResult) -> String {
        var html =
            "<table><tr><th>instrument</th><th>fills</th><th>volume</th><th>position</th><th>realised</th><th>unrealised</th><th>fees</th><th>net P&amp;L</th></tr>"
        for instrument in result.instruments {
            let cells = [
                instrument.definition.symbol, "\(instrument.trades)", instrument.volume.description,
                instrument.position.description, instrument.realised.description, instrument.unrealised.description,
                instrument.fees.description, instrument.netPnL.description + " " + instrument.definition.quoteCurrency,
            ]
            html += "<tr>" + cells.map { "<td>\(escape($0))</td>" }.joined() + "</tr>"
        }
        html +=
            "</table><table><tr><th>instrument</th><th>tick</th><th>lot</th><th>maker fee</th><th>taker fee</th></tr>"
        for instrument in result.instruments {
            let definition = instrument.definition
            let cells = [
                definition.symbol, "\(definition.tickSize) \(definition.quoteCurrency)", "\(definition.lotSize)",
                basisPoints(definition.makerFee), basisPoints(definition.takerFee),
            ]
            html += "<tr>" + cells.map { "<td>\(escape($0))</td>" }.joined() + "</tr>"
        }
        let settings = result.settings
        let rows: [(String, String)] = [
            ("from", settings.from.map(UTCTime.text) ?? "the data's start"),
            ("to", settings.to.map(UTCTime.text) ?? "the data's end"),
            ("equity sampled every", "\(fixed(Double(settings.equityInterval) / 1e9, 3)) s"),
            ("Sharpe · Sortino", "\(fixed(result.sharpe, 3)) · \(fixed(result.sortino, 3)) \(ratioBasis(result))"),
        ]
        html += "</table><table>"
        for (name, value) in rows { html += "<tr><th>\(escape(name))</th><td>\(escape(value))</td></tr>" }
        html += "</table><table><tr><th>input</th><th>format</th><th>SHA-256</th></tr>"
        for input in result.inputs {
            let format = input.format + (input.symbol.map { " (\($0))" } ?? "")
            html += "<tr><td>\(escape(input.path))</td><td>\(escape(format))</td><td>\(input.sha256)</td></tr>"
        }
        html +=
            "</table><table><tr><th>Peregrine</th><td>\(escape(Provenance.version)) (\(escape(Provenance.commit)))</td></tr>"
        html += "<tr><th>strategies</th><td>\(escape(result.strategies.joined(separator: "; ")))</td></tr></table>\n"
        return html
    }

    /// A fee rate in basis points (negative: a rebate).
    static func basisPoints(_ rate: FeeRate) -> String {
        Money.decimalText(Int128(rate.perHundredMillion), decimals: 4) + " bps"
    }

    static func escape(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            default: result.append(character)
            }
        }
        return result
    }
}
