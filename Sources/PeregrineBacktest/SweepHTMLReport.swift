/// A sweep's results as one self-contained HTML page (no script, no network): for a
/// two-parameter sweep a heatmap of the ranking metric (first parameter across, second down),
/// then the ranking table. The layout is fixed so that a test can find the heatmap.
public enum SweepHTMLReport {
    public static let width = 1_200
    public static let headerHeight = 150
    /// The heatmap's plot area (inside its axes), in page pixels.
    public static let heatmap = (left: 140, top: headerHeight + 40, width: 900, height: 480)
    /// The most rows the ranking table shows.
    public static let tableRows = 200

    public static func render(_ plan: SweepPlan, _ outcome: Sweep.Outcome, ranking: SweepRanking) -> String {
        let escape = BacktestHTMLReport.escape
        // (Cut to the page's width in the header; whole in its tooltip.)
        let dataText = plan.base.settings.data.map(\.text).joined(separator: " ")
        var html =
            BacktestHTMLReport.head(
                title: "Peregrine sweep", width: width, headerHeight: headerHeight,
                style: """
                    td,th{border:1px solid #dde;padding:3px 8px;text-align:right}
                    header div{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
                    """)
                + """
                <header><h1 title="\(escape(plan.base.settings.strategies.map(\.name).joined(separator: "; ")))">Peregrine sweep · \(escape(plan.base.settings.strategies.map(\.name).joined(separator: "; ")))</h1>
                <div>\(plan.jobs.count) job\(plan.jobs.count == 1 ? "" : "s") (\(outcome.ran) run, \(outcome.resumed) already done, \(outcome.failed.count) failed\(skippedText(plan))) · ranked by \(escape(ranking.metric)) (\(ranking.ascending ? "lowest" : "highest") first)</div>\(warningsLine(outcome))
                <div>\(escape(strategiesText(plan)))</div>
                <div title="\(escape(dataText))">data: \(escape(dataText))</div>
                <div>Peregrine \(escape(Provenance.version)) (\(escape(Provenance.commit)))</div></header>

                """
        if plan.dimensions.count == 2 { html += heatmapSVG(plan, outcome.rows, ranking: ranking) }
        html += "<table><tr><th>rank</th>"
        for dimension in plan.dimensions { html += "<th>\(escape(dimension.name))</th>" }
        let figures =
            [ranking.metric]
            + ["net_pnl", "sharpe", "max_drawdown", "trades", "return"].filter { $0 != ranking.metric }
        for figure in figures { html += "<th>\(escape(figure))</th>" }
        html += "</tr>\n"
        let shown = Array(outcome.rows.prefix(tableRows))
        // Each exact figure's column (money, volume) with its decimals to the same place, padded
        // with zeros, so that the points line up down the column; ratios, rounded for people,
        // are shown as they are (zeros would claim digits they do not have).
        let columns = figures.map { figure in
            let cells = shown.map { $0.displayed(figure) }
            return SweepRow.ratios.contains(figure) ? cells : alignedDecimals(cells)
        }
        for (rank, row) in shown.enumerated() {
            html += rank == 0 ? "<tr style=\"font-weight:bold\"><td>1</td>" : "<tr><td>\(rank + 1)</td>"
            for dimension in plan.dimensions {
                let value = row.parameters.first { $0.name == dimension.name }?.value ?? ""
                html += "<td>\(escape(value))</td>"
            }
            for column in columns { html += "<td>\(escape(column[rank]))</td>" }
            html += "</tr>\n"
        }
        html += "</table>\n"
        html += BacktestHTMLReport.warningsSection(outcome.warnings)
        html += "</body></html>\n"
        return html
    }

    /// `texts` (a column's cells: a decimal, then perhaps a unit after a space, such as
    /// `-2.0269 USDT`: an exact decimal) with zeros after the decimals of those that have fewer than
    /// the most any has, so that every decimal shows as many places; other cells as they are.
    static func alignedDecimals(_ texts: [String]) -> [String] {
        func parts(_ text: String) -> (number: Substring, fraction: Int, rest: Substring)? {
            let end = text.firstIndex { !($0.isNumber || $0 == "." || $0 == "-") } ?? text.endIndex
            let number = text[..<end]
            guard number.contains(where: \.isNumber), number.filter({ $0 == "." }).count <= 1 else { return nil }
            let fraction = number.firstIndex(of: ".").map { number.distance(from: $0, to: number.endIndex) - 1 } ?? 0
            return (number, fraction, text[end...])
        }
        let places = texts.compactMap { parts($0)?.fraction }.max() ?? 0
        guard places > 0 else { return texts }
        return texts.map { text in
            guard let (number, fraction, rest) = parts(text), fraction < places else { return text }
            return number + (fraction == 0 ? "." : "") + String(repeating: "0", count: places - fraction) + rest
        }
    }

    /// The combinations left out (`--skip-invalid`), as the terminal's table counts them; the
    /// first refusals in its tooltip.
    static func skippedText(_ plan: SweepPlan) -> String {
        guard plan.skipped > 0 else { return "" }
        let examples = BacktestHTMLReport.escape(plan.skippedExamples.joined(separator: "\n"))
        return
            ", <span title=\"\(examples)\">\(plan.skipped) combination\(plan.skipped == 1 ? "" : "s") refused, left out</span>"
    }

    /// The header's line naming the warnings about the data, listed at the end of the page.
    static func warningsLine(_ outcome: Sweep.Outcome) -> String {
        outcome.warnings.isEmpty
            ? "" : "<div class=\"warn\">\(BacktestHTMLReport.warningsNote(outcome.warnings.count))</div>"
    }

    /// Each strategy with its parameters (a swept one as its values) and the fees: what every
    /// job shares and what it varies.
    static func strategiesText(_ plan: SweepPlan) -> String {
        let strategies = plan.base.settings.strategies.enumerated().map { index, strategy in
            ([strategy.name]
                + strategy.parameters.map { parameter in
                    guard let swept = plan.dimensions.first(where: { $0.strategy == index && $0.key == parameter.key })
                    else { return "\(parameter.key)=\(parameter.value)" }
                    let values = swept.values
                    guard values.count > 8, let first = values.first, let last = values.last else {
                        return "\(parameter.key)=\(values.joined(separator: ","))"
                    }
                    return "\(parameter.key)=\(first)…\(last) (\(values.count) values)"
                }).joined(separator: " ")
        }
        let settings = plan.base.settings
        return strategies.joined(separator: "; ")
            + " · fees (bps, instruments without reference data): maker \(settings.makerFeeBasisPoints), taker "
            + settings.takerFeeBasisPoints
    }

    /// The metrics whose sign is their meaning (a loss or a gain): coloured on a scale centred on
    /// zero, so that a sweep in which every combination lost is red throughout.
    static let zeroCentred: Set<String> = ["net_pnl", "realised_pnl", "unrealised_pnl", "return", "sharpe", "sortino"]

    /// One cell per combination, coloured from red (worst) through yellow to green (best) over
    /// the sweep's range, or, for a metric of `zeroCentred`, from red (the largest loss) through
    /// yellow (zero) to green (the largest gain); a combination without a result is grey.
    static func heatmapSVG(_ plan: SweepPlan, _ rows: [SweepRow], ranking: SweepRanking) -> String {
        let escape = BacktestHTMLReport.escape
        let across = plan.dimensions[0]
        let down = plan.dimensions[1]
        var values: [String: Double] = [:]
        for row in rows {
            guard let x = row.parameters.first(where: { $0.name == across.name })?.value,
                let y = row.parameters.first(where: { $0.name == down.name })?.value,
                let value = row.value(of: ranking.metric), value.isFinite
            else { continue }
            values[x + "\u{1F}" + y] = value
        }
        let low = values.values.min() ?? 0
        let high = values.values.max() ?? 0
        let (colourLow, colourHigh) = colourRange(ranking.metric, low: low, high: high)
        let colour = { (value: Double) in
            colourFor(value, low: colourLow, high: colourHigh, ascending: ranking.ascending)
        }
        // A money figure's currency, when every row has the same one: in the title and on the
        // scale (the cells keep to their numbers, for room).
        let currencies = Set(rows.compactMap { $0.field("currency") })
        let unit = SweepRow.money.contains(ranking.metric) && currencies.count == 1 ? currencies.first : nil
        let scaleText = { (value: Double) in
            SweepRow.text(value, of: ranking.metric) + (unit.map { " " + $0 } ?? "")
        }
        let frame = heatmap
        let height = frame.height + 120
        let cellWidth = Double(frame.width) / Double(across.values.count)
        let cellHeight = Double(frame.height) / Double(down.values.count)
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\">"
        let top = frame.top - headerHeight
        svg +=
            "<text x=\"20\" y=\"24\" font-size=\"14\" font-weight=\"bold\">\(escape(ranking.metric))\(escape(unit.map { " (\($0))" } ?? "")) by \(escape(across.name)) (across) and \(escape(down.name)) (down)</text>"
        for (column, x) in across.values.enumerated() {
            for (line, y) in down.values.enumerated() {
                let left = Double(frame.left) + Double(column) * cellWidth
                let upper = Double(top) + Double(line) * cellHeight
                let fill = values[x + "\u{1F}" + y].map(colour) ?? "#bbbbbb"
                svg +=
                    "<rect x=\"\(fixed(left))\" y=\"\(fixed(upper))\" width=\"\(fixed(cellWidth + 0.5))\" height=\"\(fixed(cellHeight + 0.5))\" fill=\"\(fill)\"/>"
                // The value itself, where the cell has room for it.
                if let value = values[x + "\u{1F}" + y], cellHeight >= 16 {
                    let text = SweepRow.text(value, of: ranking.metric)
                    if cellWidth >= Double(text.count) * 6.5 + 6 {
                        svg +=
                            "<text x=\"\(fixed(left + cellWidth / 2))\" y=\"\(fixed(upper + cellHeight / 2 + 4))\" text-anchor=\"middle\" font-size=\"11\" fill=\"#1d2330\">\(escape(text))</text>"
                    }
                }
            }
        }
        svg +=
            "<rect x=\"\(frame.left)\" y=\"\(top)\" width=\"\(frame.width)\" height=\"\(frame.height)\" fill=\"none\" stroke=\"#556\"/>"
        // The best combination (the ranking's first with a value), outlined and named.
        if let best = rows.first(where: { $0.value(of: ranking.metric)?.isFinite == true }),
            let x = best.parameters.first(where: { $0.name == across.name })?.value,
            let y = best.parameters.first(where: { $0.name == down.name })?.value,
            let column = across.values.firstIndex(of: x), let line = down.values.firstIndex(of: y),
            let value = best.value(of: ranking.metric)
        {
            let left = Double(frame.left) + Double(column) * cellWidth
            let upper = Double(top) + Double(line) * cellHeight
            svg +=
                "<rect class=\"best\" x=\"\(fixed(left + 1.5))\" y=\"\(fixed(upper + 1.5))\" width=\"\(fixed(Swift.max(cellWidth - 3, 1)))\" height=\"\(fixed(Swift.max(cellHeight - 3, 1)))\" fill=\"none\" stroke=\"#1d2330\" stroke-width=\"3\"/>"
            svg +=
                "<text x=\"\(frame.left + frame.width)\" y=\"24\" text-anchor=\"end\" font-size=\"12\">best (outlined): \(escape(across.name))=\(escape(x)) \(escape(down.name))=\(escape(y)), \(escape(scaleText(value)))</text>"
        }
        // Labels: at most about 20 per axis.
        let everyX = Swift.max(1, across.values.count / 20)
        for (column, x) in across.values.enumerated() where column % everyX == 0 {
            let centre = Double(frame.left) + (Double(column) + 0.5) * cellWidth
            svg +=
                "<text x=\"\(fixed(centre))\" y=\"\(top + frame.height + 16)\" text-anchor=\"middle\" font-size=\"11\" fill=\"#556\">\(escape(x))</text>"
        }
        let everyY = Swift.max(1, down.values.count / 20)
        for (line, y) in down.values.enumerated() where line % everyY == 0 {
            let centre = Double(top) + (Double(line) + 0.5) * cellHeight
            svg +=
                "<text x=\"\(frame.left - 8)\" y=\"\(fixed(centre + 4))\" text-anchor=\"end\" font-size=\"11\" fill=\"#556\">\(escape(y))</text>"
        }
        svg +=
            "<text x=\"\(frame.left + frame.width / 2)\" y=\"\(top + frame.height + 36)\" text-anchor=\"middle\" font-size=\"12\">\(escape(across.name))</text>"
        svg +=
            "<text x=\"20\" y=\"\(top + frame.height / 2)\" font-size=\"12\">\(escape(down.name))</text>"
        // The scale (none when no cell has a value: every one grey).
        let scaleLeft = frame.left + frame.width + 30
        guard !values.isEmpty else {
            return svg
                + "<text x=\"\(scaleLeft)\" y=\"\(top + 10)\" font-size=\"11\" fill=\"#556\">no values</text></svg>\n"
        }
        for step in 0..<50 {
            let value = high - (high - low) * Double(step) / 49
            svg +=
                "<rect x=\"\(scaleLeft)\" y=\"\(top + step * frame.height / 50)\" width=\"18\" height=\"\(frame.height / 50 + 1)\" fill=\"\(colour(value))\"/>"
        }
        svg +=
            "<text x=\"\(scaleLeft + 24)\" y=\"\(top + 10)\" font-size=\"11\" fill=\"#556\">\(escape(scaleText(high)))</text>"
        svg +=
            "<text x=\"\(scaleLeft + 24)\" y=\"\(top + frame.height)\" font-size=\"11\" fill=\"#556\">\(escape(scaleText(low)))</text>"
        return svg + "</svg>\n"
    }

    /// The values at the ends of the colour scale for `metric`'s values from `low` to `high`:
    /// those, or for a metric of `zeroCentred` the largest magnitude either side of zero.
    static func colourRange(_ metric: String, low: Double, high: Double) -> (low: Double, high: Double) {
        guard zeroCentred.contains(metric) else { return (low, high) }
        let reach = Swift.max(Swift.abs(low), Swift.abs(high))
        return (-reach, reach)
    }

    /// Red (worst) → yellow → green (best).
    static func colourFor(_ value: Double, low: Double, high: Double, ascending: Bool) -> String {
        var share = high > low ? (value - low) / (high - low) : 0.5
        if !share.isFinite { share = 0.5 }
        share = Swift.min(Swift.max(share, 0), 1)
        if ascending { share = 1 - share }
        let red = share < 0.5 ? 215 : Int(215 - (share - 0.5) * 2 * 175)
        let green = share < 0.5 ? Int(48 + share * 2 * 150) : Int(198 - (share - 0.5) * 2 * 40)
        let blue = 48
        return "rgb(\(red),\(green),\(blue))"
    }

    static func fixed(_ value: Double) -> String { BacktestHTMLReport.fixed(value, 1) }
}
