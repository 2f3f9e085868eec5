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
    public static let margins = (left: 80, right: 20, top: 12, bottom: 32)

    /// The plot titles, in page order.
    public static func plotTitles(_ result: BacktestResult) -> [String] {
        result.instruments.map { "\($0.definition.symbol): bid, ask and fills" } + [
            result.currency.map { "Equity (\($0))" } ?? "Equity: none (several quote currencies)", "Drawdown",
            "Position", "Distribution of P&L per equity interval",
        ]
    }

    /// A page's start up to `<body>`: the shared look, then `style`.
    static func head(title: String, width: Int, headerHeight: Int, style: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        body{margin:0;background:#fff;color:#1d2330;font:13px/1.4 sans-serif;width:\(width)px}
        header{height:\(headerHeight)px;overflow:hidden;box-sizing:border-box;padding:14px 20px;border-bottom:1px solid #dde}
        h1{font-size:18px;margin:0 0 8px}
        svg{display:block}
        table{border-collapse:collapse;margin:12px 20px}
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
                        .figures{display:grid;grid-template-columns:repeat(6,1fr);gap:4px 14px}
                    .figures div{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
                    .figures b{display:block;font-size:11px;color:#667;font-weight:normal}
                    section.plot{height:\(rowHeight)px;margin:0;overflow:hidden}
                    section.plot h2{height:\(titleHeight)px;line-height:\(titleHeight)px;margin:0;padding-left:20px;font-size:14px}
                    td,th{border:1px solid #dde;padding:3px 8px;text-align:left}
                    """) + """
                <header><h1>Peregrine backtest · \(escape(result.strategies.joined(separator: "; ")))</h1><div class="figures">

                """
        let currency = result.currency ?? ""
        let figures: [(String, String)] = [
            ("net P&L", "\(result.netPnL?.description ?? "-") \(currency)"),
            ("fees", "\(result.fees?.description ?? "-") \(currency)"),
            ("return", result.returnOnCapital.map(percent) ?? "-"),
            ("Sharpe", fixed(result.sharpe, 3)), ("Sortino", fixed(result.sortino, 3)),
            ("max drawdown", result.maxDrawdown.map { "\($0) (\(fixed(result.maxDrawdownPercent, 3))%)" } ?? "-"),
            ("trades", "\(result.trades)"), ("orders sent", "\(result.venue.newOrders)"),
            ("fill ratio", percent(result.fillRatio)), ("win rate", percent(result.winRate)),
            ("time in market", percent(result.timeInMarket)),
            ("mean time in queue", "\(fixed(result.meanTimeInQueueMilliseconds, 3)) ms"),
            ("events", "\(result.events)"),
            ("from", result.events > 0 ? UTCTime.text(result.firstTime) : "-"),
            ("to", result.events > 0 ? UTCTime.text(result.lastTime) : "-"),
            ("capital", "\(result.capital) \(currency)"),
            ("queue model", result.settings.queueModel.description),
            ("latency", "feed \(result.settings.feedLatency); orders \(result.settings.orderLatency)"),
        ]
        for (name, value) in figures { html += "<div><b>\(escape(name))</b>\(escape(value))</div>\n" }
        html += "</div></header>\n"
        let titles = plotTitles(result)
        var plots: [String] = []
        for (index, instrument) in result.instruments.enumerated() {
            plots.append(priceChart(charts, index, instrument.definition))
        }
        plots.append(lineChart([series(charts.equity)], colours: ["#2456c8"], fill: false))
        plots.append(lineChart([series(charts.drawdown)], colours: ["#c83a24"], fill: true))
        plots.append(
            lineChart(
                result.instruments.indices.map { index in
                    series(charts.positions[index]).map {
                        $0.scaled(by: result.instruments[index].definition.lotSize)
                    }
                }, colours: palette, fill: false,
                decimals: result.instruments.map(\.definition.lotSize.decimals).max() ?? 2))
        plots.append(histogram(result.equitySamples))
        for (title, plot) in zip(titles, plots) {
            html += "<section class=\"plot\"><h2>\(escape(title))</h2>\(plot)</section>\n"
        }
        html += detailsTable(result)
        html += "</body></html>\n"
        return html
    }

    static let palette = ["#2456c8", "#c83a24", "#2a9d4b", "#a45ac8", "#d48a1a", "#1aa3b8"]
    static var plotHeight: Int { rowHeight - titleHeight }

    /// A series as (time, min, max, last) points.
    struct Points {
        var times: [Double]
        var minimums: [Double]
        var maximums: [Double]

        func scaled(by lotSize: Increment) -> Points {
            let unit = Double(lotSize.units) / pow10(lotSize.decimals)
            return Points(times: times, minimums: minimums.map { $0 * unit }, maximums: maximums.map { $0 * unit })
        }
    }

    static func pow10(_ exponent: Int) -> Double {
        var value = 1.0
        for _ in 0..<Swift.max(exponent, 0) { value *= 10 }
        return value
    }

    static func series(_ series: DownSampledSeries) -> Points? {
        guard !series.buckets.isEmpty else { return nil }
        return Points(
            times: series.buckets.map { Double($0.time) }, minimums: series.buckets.map(\.minimum),
            maximums: series.buckets.map(\.maximum))
    }

    /// Maps data to the plot area.
    struct Frame {
        var minX: Double
        var maxX: Double
        var minY: Double
        var maxY: Double

        init(_ points: [Points]) {
            minX = points.compactMap { $0.times.first }.min() ?? 0
            maxX = points.compactMap { $0.times.last }.max() ?? 1
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

    /// `value` rounded to `decimals` for people ("-" when not finite; a small loss is 0, not
    /// -0.0): the HTML reports', the sweep's table and the commands' summaries.
    public static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "-" }
        let scale = pow10(decimals)
        // A small negative figure rounds to 0, not to "-0.0".
        let rounded = (value * scale).rounded() / scale + 0
        var text = "\(rounded)"
        if text.hasSuffix(".0"), decimals == 0 { text.removeLast(2) }
        return text
    }

    /// A fraction as a percentage for people, to 3 decimals ("-" when not finite).
    public static func percent(_ value: Double) -> String { value.isFinite ? fixed(value * 100, 3) + "%" : "-" }

    /// Axes, grid and labels around the plot area.
    static func axes(
        _ frame: Frame, xFormat: ((Double) -> String)? = nil, yFormat: (Double) -> String
    ) -> String {
        // Times: of day, or with the date when the plot spans a day or more.
        let spansDays = frame.maxX - frame.minX >= 86_400e9
        let label = { (time: Double) -> String in
            if let xFormat { return xFormat(time) }
            return spansDays ? dateLabel(time) : timeLabel(time)
        }
        var svg = ""
        let left = Double(margins.left)
        let right = Double(width - margins.right)
        let top = Double(margins.top)
        let bottom = Double(plotHeight - margins.bottom)
        svg +=
            "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(right - left)\" height=\"\(bottom - top)\" fill=\"#f7f8fb\" stroke=\"#c9cdd8\"/>"
        for step in 0...4 {
            let value = frame.minY + (frame.maxY - frame.minY) * Double(step) / 4
            let y = frame.y(value)
            svg += "<line x1=\"\(left)\" x2=\"\(right)\" y1=\"\(number(y))\" y2=\"\(number(y))\" stroke=\"#e3e6ee\"/>"
            svg +=
                "<text x=\"\(left - 6)\" y=\"\(number(y + 4))\" text-anchor=\"end\" font-size=\"11\" fill=\"#556\">\(escape(yFormat(value)))</text>"
            let time = frame.minX + (frame.maxX - frame.minX) * Double(step) / 4
            let x = frame.x(time)
            let anchor = step == 0 ? "start" : (step == 4 ? "end" : "middle")
            svg +=
                "<text x=\"\(number(x))\" y=\"\(number(bottom + 18))\" text-anchor=\"\(anchor)\" font-size=\"11\" fill=\"#556\">\(escape(label(time)))</text>"
        }
        return svg
    }

    /// A time axis label: the UTC time of day to the millisecond.
    static func timeLabel(_ time: Double) -> String {
        time >= 0 && time < 1.8e19 ? String(UTCTime.text(UInt64(time)).dropFirst(11).prefix(12)) : ""
    }

    /// A time axis label for a plot of a day or more: the UTC date and the time to the minute.
    static func dateLabel(_ time: Double) -> String {
        time >= 0 && time < 1.8e19 ? String(UTCTime.text(UInt64(time)).prefix(16).map { $0 == "T" ? " " : $0 }) : ""
    }

    static func svg(_ body: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(plotHeight)\" viewBox=\"0 0 \(width) \(plotHeight)\">"
            + body + "</svg>"
    }

    /// One path through each bucket's minimum and maximum (a band where a pixel holds many).
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

    /// A plot without data (no equity over several quote currencies, one sample): a note, not
    /// empty axes.
    static var nothingToPlot: String {
        svg(
            "<text x=\"\(width / 2)\" y=\"\(plotHeight / 2)\" text-anchor=\"middle\" font-size=\"13\" "
                + "fill=\"#556\">nothing to plot</text>")
    }

    static func lineChart(_ all: [Points?], colours: [String], fill: Bool, decimals: Int = 2) -> String {
        let present = all.compactMap { $0 }
        guard !present.isEmpty else { return nothingToPlot }
        let frame = Frame(present)
        var body = axes(frame) { fixed($0, decimals) }
        let zero = frame.y(0)
        if zero >= Double(margins.top), zero <= Double(plotHeight - margins.bottom) {
            body +=
                "<line x1=\"\(margins.left)\" x2=\"\(width - margins.right)\" y1=\"\(number(zero))\" y2=\"\(number(zero))\" stroke=\"#8a90a0\" stroke-dasharray=\"4 3\"/>"
        }
        for (index, points) in all.enumerated() {
            guard let points else { continue }
            let colour = colours[index % colours.count]
            let line = path(points, frame)
            if fill, let first = points.times.first, let last = points.times.last {
                body +=
                    "<path d=\"\(line)L\(number(frame.x(last))) \(number(zero))L\(number(frame.x(first))) \(number(zero))Z\" fill=\"\(colour)\" fill-opacity=\"0.25\" stroke=\"none\"/>"
            }
            body += "<path d=\"\(line)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.4\"/>"
        }
        return svg(body)
    }

    static func priceChart(_ charts: BacktestCharts, _ index: Int, _ definition: InstrumentDefinition) -> String {
        let tick = Double(definition.tickSize.units) / pow10(definition.tickSize.decimals)
        let toPrice = { (points: Points) in
            Points(
                times: points.times, minimums: points.minimums.map { $0 * tick },
                maximums: points.maximums.map { $0 * tick })
        }
        let bids = series(charts.bids[index]).map(toPrice)
        let asks = series(charts.asks[index]).map(toPrice)
        let buys = series(charts.buys[index]).map(toPrice)
        let sells = series(charts.sells[index]).map(toPrice)
        let frame = Frame([bids, asks, buys, sells].compactMap { $0 })
        var body = axes(frame) { fixed($0, definition.tickSize.decimals) }
        if let bids {
            body += "<path d=\"\(path(bids, frame))\" fill=\"none\" stroke=\"#2a9d4b\" stroke-width=\"1.1\"/>"
        }
        if let asks {
            body += "<path d=\"\(path(asks, frame))\" fill=\"none\" stroke=\"#c83a24\" stroke-width=\"1.1\"/>"
        }
        for (points, colour, up) in [(buys, "#1c6b34", true), (sells, "#8f2012", false)] {
            guard let points else { continue }
            for marker in points.times.indices {
                let x = frame.x(points.times[marker])
                let y = frame.y(points.maximums[marker])
                let tip = up ? y - 5 : y + 5
                let base = up ? y + 3 : y - 3
                body +=
                    "<path d=\"M\(number(x)) \(number(tip))L\(number(x - 4)) \(number(base))L\(number(x + 4)) \(number(base))Z\" fill=\"\(colour)\"/>"
            }
        }
        return svg(body)
    }

    /// A histogram of the equity's change per sampling interval (40 bins).
    static func histogram(_ equity: [Double]) -> String {
        var changes: [Double] = []
        for index in equity.indices.dropFirst() { changes.append(equity[index] - equity[index - 1]) }
        guard !changes.isEmpty else { return nothingToPlot }
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
        var frame = Frame([Points(times: [low, low + span], minimums: [0], maximums: [Double(counts.max() ?? 0)])])
        // Counts: the axis runs a tenth above the tallest bar (room for the label at its top
        // right) to a multiple of 4, so that its quarter lines are whole counts.
        let tallest = Swift.max(counts.max() ?? 0, 1)
        frame.minY = 0
        frame.maxY = Double((tallest + tallest / 10 + 4) / 4 * 4)
        var body = axes(frame, xFormat: { fixed($0, 4) }) { fixed($0, 0) }
        let barWidth = (frame.x(low + span) - frame.x(low)) / Double(bins)
        for (bin, count) in counts.enumerated() where count > 0 {
            let x = frame.x(low + span * Double(bin) / Double(bins))
            let y = frame.y(Double(count))
            body +=
                "<rect x=\"\(number(x))\" y=\"\(number(y))\" width=\"\(number(Swift.max(barWidth - 1, 1)))\" height=\"\(number(frame.y(0) - y))\" fill=\"#2456c8\"/>"
        }
        body +=
            "<text x=\"\(width - margins.right)\" y=\"\(margins.top + 14)\" text-anchor=\"end\" font-size=\"11\" fill=\"#556\">\(changes.count) intervals</text>"
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
        html += "</table><table><tr><th>input</th><th>format</th><th>SHA-256</th></tr>"
        for input in result.inputs {
            html += "<tr><td>\(escape(input.path))</td><td>\(escape(input.format))</td><td>\(input.sha256)</td></tr>"
        }
        html +=
            "</table><table><tr><th>Peregrine</th><td>\(escape(Provenance.version)) (\(escape(Provenance.commit)))</td></tr>"
        html += "<tr><th>strategies</th><td>\(escape(result.strategies.joined(separator: "; ")))</td></tr></table>\n"
        return html
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
