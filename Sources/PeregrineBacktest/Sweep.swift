import Foundation
import PeregrineCodec
import PeregrineCore
import PeregrineStrategy
import Synchronization

/// One result of a sweep as it is kept in the output: its job, its swept values, its scalar
/// figures (as text) and its line in the output's format.
public struct SweepRow: Sendable {
    public var job: String
    public var parameters: [(name: String, value: String)]
    /// The report's scalar figures (`SweepOutput.reportFields`, in that order) as text; nil
    /// when absent or null. An array rather than a dictionary: a sweep keeps every row until
    /// it ranks them, and a dictionary of the same figures took several times the memory.
    var figures: [String?]
    /// The row as written: a JSON line (no newline) or a CSV line.
    public var line: String
    /// The report's warnings about the data (`BacktestResult.warnings`; none read back from a
    /// CSV line, which does not keep them).
    public var warnings: [String] = []

    /// The row of a finished job from its JSON line (`jsonLine(job:result:)`).
    init(job: SweepJob, jsonLine: String, csvColumns: [String]?) throws(BacktestError) {
        guard let object = Self.object(jsonLine) else {
            throw .output("the result of job \(job.hash) is not valid JSON: \(jsonLine.prefix(200))")
        }
        self.init(
            job: job.hash, object: object, jsonLine: jsonLine, names: job.parameters.map(\.name), csvColumns: csvColumns
        )
    }

    /// `line` parsed as a JSON object, nil when it is not one. The bytes go to the parser as a
    /// copy: `Data(line.utf8)` kept each line's storage alive for as long as the row (about
    /// 3 KB a job, however the row was written).
    static func object(_ line: String) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(Array(line.utf8))) as? [String: Any]
    }

    /// A finished job's JSON line: `{"job", "params", every field of the backtest's report}`.
    static func jsonLine(job: SweepJob, result: BacktestResult) -> String {
        var out = JSONText(compact: true)
        out.open()
        out.field("job", string: job.hash)
        out.key("params")
        out.open()
        for (name, value) in job.parameters { out.field(name, string: value) }
        out.close()
        result.writeFields(into: &out)
        out.close()
        return out.text
    }

    /// Reads a JSON line back (its parameters in the order of `parameterNames`, else by name;
    /// the row written as CSV with `csvColumns`); nil when it is not a sweep row.
    public init?(jsonLine: String, parameterNames: [String]? = nil, csvColumns: [String]? = nil) {
        guard let object = Self.object(jsonLine),
            let job = object["job"] as? String, let params = object["params"] as? [String: Any]
        else { return nil }
        self.init(
            job: job, object: object, jsonLine: jsonLine, names: parameterNames ?? params.keys.sorted(),
            csvColumns: csvColumns)
    }

    init(job: String, object: [String: Any], jsonLine: String, names: [String], csvColumns: [String]?) {
        self.job = job
        let params = object["params"] as? [String: Any] ?? [:]
        parameters = names.map { ($0, Self.text(params[$0]) ?? "") }
        let timing = object["timing"] as? [String: Any] ?? [:]
        figures = SweepOutput.reportFields.map { Self.text(object[$0]) ?? Self.text(timing[$0]) }
        warnings = (object["warnings"] as? [Any] ?? []).compactMap(Self.text)
        if let csvColumns {
            let values = parameters
            let figures = figures
            line = csvColumns.map { column in
                if column == "job" { return Self.csvField(job) }
                if let index = names.firstIndex(of: column) { return Self.csvField(values[index].value) }
                return Self.csvField(Self.figureIndex[column].flatMap { figures[$0] } ?? "")
            }.joined(separator: ",")
        } else {
            // A copy made here: a job's line was made on its job's thread, among that job's
            // transient memory, whose pages it would keep resident (40,000 jobs: 248 MB
            // without the copy, 186 MB with it).
            line = jsonLine.withCString { String(cString: $0) }
        }
    }

    /// Reads a CSV line back under `header` (fields plain or quoted, RFC 4180, as a spreadsheet
    /// or pandas saves them; kept unquoted, as the sweep writes them); nil when it has another
    /// number of fields, no job, or a field no sweep writes (with a comma or a quote in it).
    public init?(csvLine: String, header: [String], parameterNames: [String]) {
        guard let values = Self.csvFields(csvLine), values.count == header.count,
            let jobColumn = header.firstIndex(of: "job"), !values[jobColumn].isEmpty
        else { return nil }
        job = values[jobColumn]
        var texts: [String: String] = [:]
        for (column, value) in zip(header, values) where !value.isEmpty { texts[column] = value }
        parameters = parameterNames.map { ($0, texts[$0] ?? "") }
        figures = SweepOutput.reportFields.map { texts[$0] }
        line = csvLine.contains("\"") ? values.joined(separator: ",") : csvLine
    }

    /// The fields of one CSV line, each plain or in double quotes (`""` a quote inside them);
    /// nil when a quote is left open or text follows a closing one, or a field holds a comma or
    /// a quote (no sweep writes one: `csvField`).
    public static func csvFields(_ line: String) -> [String]? {
        guard line.contains("\"") else {
            return line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        var fields: [String] = []
        var rest = line[...]
        while true {
            var field = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                while true {
                    guard let quote = rest.firstIndex(of: "\"") else { return nil }
                    field += rest[..<quote]
                    rest = rest[rest.index(after: quote)...]
                    guard rest.first == "\"" else { break }
                    field += "\""
                    rest = rest.dropFirst()
                }
                guard rest.isEmpty || rest.first == "," else { return nil }
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                field = String(rest[..<end])
                rest = rest[end...]
            }
            guard !field.contains(where: { $0 == "," || $0 == "\"" }) else { return nil }
            fields.append(field)
            guard rest.first == "," else { return fields }
            rest = rest.dropFirst()
        }
    }

    /// The report's figure `name` (one of `SweepOutput.reportFields`) as text, nil when absent.
    public func field(_ name: String) -> String? { Self.figureIndex[name].flatMap { figures[$0] } }

    /// The row's job and its report's figures present, by name (built on each call).
    public var fields: [String: String] {
        var fields = ["job": job]
        for (name, text) in zip(SweepOutput.reportFields, figures) { if let text { fields[name] = text } }
        return fields
    }

    static let figureIndex = Dictionary(
        SweepOutput.reportFields.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })

    /// The row with `parameters` (its job's in this sweep: a row resumed from an output written
    /// with other texts of the same values, `0.010` for `0.01`, or before a parameter fixed then
    /// was swept) in its fields and in its line, a JSON line's `params` object or a CSV line's
    /// columns under `csvColumns`.
    func with(parameters: [(name: String, value: String)], csvColumns: [String]?) -> SweepRow {
        // Most rows have them already: the row (and its line's storage) is shared, not copied.
        if parameters.elementsEqual(self.parameters, by: { $0.name == $1.name && $0.value == $1.value }) {
            return self
        }
        var row = self
        row.parameters = parameters
        if let csvColumns {
            var values = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard values.count == csvColumns.count else { return row }
            for (name, value) in parameters {
                if let index = csvColumns.firstIndex(of: name), name != "job" { values[index] = Self.csvField(value) }
            }
            row.line = values.joined(separator: ",")
        } else if let start = line.range(of: #""params":{"#),
            let end = line[start.upperBound...].firstIndex(of: "}")
        {
            // The params object holds parameter texts alone (no brace in them): replaced whole.
            var out = JSONText(compact: true)
            out.open()
            for (name, value) in parameters { out.field(name, string: value) }
            out.close()
            row.line =
                String(line[..<start.lowerBound]) + #""params":"# + out.text
                + String(line[line.index(after: end)...])
        }
        return row
    }

    static func text(_ value: Any?) -> String? {
        switch value {
        case let string as String: return string
        // Without an exponent, as the report writes it (a CSV of `1.2e-05` read as text in a sheet).
        case let number as NSNumber: return PlainDecimal.expanded(number.stringValue)
        default: return nil
        }
    }

    /// CSV fields never need quoting here (no commas, quotes or newlines in figures); anything
    /// else is dropped rather than misread.
    static func csvField(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "" : text
    }

    /// The value of `metric`, nil when absent or not a number.
    public func value(of metric: String) -> Double? { field(metric).flatMap(Double.init) }

    /// `figure` for people: a ratio (a double) to 4 decimals, as a percentage where the
    /// backtest's summary shows one (a return of 0.0123 is "1.23%"), a money figure (exact) with
    /// its currency, anything else as the report has it; "-" when absent.
    public func displayed(_ figure: String) -> String {
        guard let text = field(figure) else { return "-" }
        if Self.ratios.contains(figure), let value = Double(text) { return Self.text(value, of: figure) }
        if Self.money.contains(figure), let currency = field("currency") { return text + " " + currency }
        return text
    }

    /// A ratio for people (`text(_:)`); a fraction (`fractions`) as a percentage, and
    /// `max_drawdown_pct` (a percentage already) with its sign.
    static func text(_ value: Double, of figure: String) -> String {
        if fractions.contains(figure) { return text(value * 100) + "%" }
        return figure == "max_drawdown_pct" ? text(value) + "%" : text(value)
    }

    /// To 4 decimals, or to 3 significant digits when 4 decimals would show fewer (below
    /// 0.01: returns of -5.77e-06 and -6.34e-06 are not both -0.0006%).
    static func text(_ value: Double) -> String {
        guard value != 0, value.isFinite, Swift.abs(value) < 0.01 else { return BacktestHTMLReport.fixed(value, 4) }
        // Three significant digits in fixed notation (0.0000896, not 8.96e-05).
        let exponent = Swift.max(log10(Swift.abs(value)).rounded(.down), -40)
        return String(format: "%.*f", 2 - Int(exponent), value)
    }

    static let ratios: Set<String> = [
        "return", "sharpe", "sortino", "max_drawdown_pct", "win_rate", "fill_ratio", "mean_time_in_queue_ms",
        "time_in_market", "elapsed_seconds", "events_per_second",
    ]
    /// The ratios the report gives as fractions of 1, which people read as percentages.
    static let fractions: Set<String> = ["return", "win_rate", "fill_ratio", "time_in_market"]
    static let money: Set<String> = [
        "net_pnl", "realised_pnl", "unrealised_pnl", "fees", "max_drawdown", "turnover", "capital",
    ]
}

/// How a sweep's results are ranked: by one of the report's numeric figures, best first (the
/// highest, or the lowest for drawdowns, fees and rejects); ties and missing values go by job order.
public struct SweepRanking: Sendable, Equatable {
    public let metric: String

    public static let metrics = [
        "sharpe", "sortino", "net_pnl", "return", "realised_pnl", "unrealised_pnl", "max_drawdown", "max_drawdown_pct",
        "win_rate", "fill_ratio", "trades", "volume", "turnover", "fees", "position", "max_position", "closing_fills",
        "mean_time_in_queue_ms", "time_in_market", "orders_sent", "orders_rejected", "fills_aggressive",
        "fills_passive", "events",
    ]
    static let lowerIsBetter: Set<String> = ["max_drawdown", "max_drawdown_pct", "fees", "orders_rejected"]

    public init(_ metric: String) throws(BacktestError) {
        guard Self.metrics.contains(metric) else {
            throw .usage("--rank-by \(metric): use one of \(Self.metrics.joined(separator: ", "))")
        }
        self.metric = metric
    }

    public var ascending: Bool { Self.lowerIsBetter.contains(metric) }

    /// `rows` best first; `order` gives each job's place in the sweep (rows of other sweeps last).
    /// Each row's figure and place are read once, not at every comparison.
    public func ranked(_ rows: [SweepRow], order: [String: Int]) -> [SweepRow] {
        let keys = rows.enumerated().map { offset, row in
            (value: row.value(of: metric), place: order[row.job] ?? Int.max, offset: offset)
        }
        return keys.sorted { left, right in
            switch (left.value, right.value) {
            case (let x?, let y?) where x != y: return ascending ? x < y : x > y
            case (.some, nil): return true
            case (nil, .some): return false
            default: return left.place != right.place ? left.place < right.place : left.offset < right.offset
            }
        }.map { rows[$0.offset] }
    }
}

/// A sweep's output file: JSON lines, or CSV when its name ends in `.csv`. Finished results are
/// appended (and flushed) as they come, so a sweep stopped at any point, even by SIGKILL, is
/// resumed from it; at the end the file is rewritten ranked (through a temporary file and a
/// rename).
public final class SweepOutput {
    public let path: String
    /// The file `path` names or leads to (a link's file): what is read, appended to and
    /// replaced by the ranked rewrite.
    let target: String
    public let isCSV: Bool
    /// The CSV columns: job, the swept parameters, then the report's scalar fields.
    public let columns: [String]?
    let parameterNames: [String]
    /// The rows found in the file when it was opened, in file order.
    public private(set) var existing: [SweepRow] = []
    let file: UnsafeMutablePointer<FILE>

    /// The report's top-level scalar fields and `timing`'s, in report order (the CSV columns).
    public static let reportFields = [
        "report", "format_version", "events", "trades", "volume", "turnover", "position", "max_position",
        "realised_pnl", "unrealised_pnl", "fees", "net_pnl", "currency", "capital", "return", "sharpe", "sortino",
        "max_drawdown", "max_drawdown_pct", "win_rate", "closing_fills", "fill_ratio", "mean_time_in_queue_ms",
        "time_in_market", "orders_sent", "orders_rejected", "fills_aggressive", "fills_passive", "first_event",
        "last_event", "equity_samples", "warm_up_events", "skipped_quote_rows", "elapsed_seconds", "events_per_second",
    ]

    /// Opens (or creates) `path`, reading the rows already there. A last line cut short (a
    /// sweep killed mid-write) is dropped; any other line that is not a row is an error naming
    /// it (exit 2), as is a CSV written for other parameters. `stopRequested` is asked every
    /// 1,024 lines read: a stop throws (`Sweep.stoppedBeforeJobs`), the file untouched.
    public init(path: String, parameterNames: [String], stopRequested: () -> String? = { nil }) throws(BacktestError) {
        // Read back to resume, and rewritten ranked: never compressed.
        if path.lowercased().hasSuffix(".gz") {
            throw .usage("--out \(path): a sweep's results are written uncompressed: name a .jsonl or .csv file")
        }
        self.path = path
        // Rewritten ranked at the end through a rename: a regular file (or a link to one) only.
        target = try OutputFile.renameTarget(path, flag: "--out")
        self.parameterNames = parameterNames
        isCSV = path.lowercased().hasSuffix(".csv")
        let header = ["job"] + parameterNames + Self.reportFields
        columns = isCSV ? header : nil
        var descriptor = open(target, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        created = descriptor >= 0
        if !created { descriptor = open(target, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) }
        guard descriptor >= 0 else {
            throw .usage("--out \(path): cannot be opened: \(String(cString: strerror(errno)))")
        }
        // One sweep at a time writes a file.
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw .usage("--out \(path): another sweep is writing it")
        }
        var bytes: [UInt8] = []
        /// The CSV header is there (checked: plain or quoted).
        var headerPresent = false
        do throws(BacktestError) {
            bytes = try Self.readAll(descriptor, path: path)
            var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
            // After the last newline: nothing, or a line cut short by a killed sweep (dropped).
            let tail = lines.removeLast()
            if !tail.isEmpty, !Self.isTornRow(Array(tail), afterLines: lines.count, header: header, csv: isCSV) {
                throw .usage(
                    "--out \(path): its last line is not a sweep result ('\(String(decoding: tail.prefix(80), as: UTF8.self))'); "
                        + "choose another file")
            }
            for (offset, raw) in lines.enumerated() {
                if offset & 1_023 == 1_023, let reason = stopRequested() { throw Sweep.stoppedBeforeJobs(reason) }
                let number = offset + 1
                // (A line ending CR LF, as a spreadsheet on Windows saves it, is read without the CR.)
                var line = String(decoding: raw.last == 0x0D ? raw.dropLast() : raw, as: UTF8.self)
                // (A spreadsheet's "CSV UTF-8" begins with a byte order mark.)
                if number == 1, line.hasPrefix("\u{FEFF}") { line.removeFirst() }
                // A blank line (a file edited by hand) holds no result; the rewrite drops it.
                if line.allSatisfy(\.isWhitespace), !(isCSV && number == 1) { continue }
                if isCSV, number == 1 {
                    guard SweepRow.csvFields(line) == header else {
                        throw .usage(
                            "--out \(path):1: its columns are not this sweep's (job, "
                                + (parameterNames.isEmpty ? "" : parameterNames.joined(separator: ", ") + ", ")
                                + "then the report's figures): '\(line.prefix(120))'; choose another file")
                    }
                    headerPresent = true
                    continue
                }
                let row =
                    isCSV
                    ? SweepRow(csvLine: line, header: header, parameterNames: parameterNames) : SweepRow(jsonLine: line)
                guard let row else {
                    throw .usage("--out \(path):\(number): not a sweep result: '\(line.prefix(120))'")
                }
                // A result of another report (or of another format version) is not this
                // build's: it would be taken as a job done, its figures ranked with these.
                let version = "\(BacktestResult.formatVersion)"
                guard row.field("report") == "peregrine-backtest", row.field("format_version") == version else {
                    throw .usage(
                        "--out \(path):\(number): a result of report '\(row.field("report") ?? "?")' format "
                            + "\(row.field("format_version") ?? "?") (this build writes peregrine-backtest format "
                            + "\(version)): choose another file")
                }
                existing.append(row)
            }
            let keep = bytes.count - tail.count
            guard ftruncate(descriptor, off_t(keep)) == 0, lseek(descriptor, 0, SEEK_END) >= 0 else {
                throw .output("--out \(path): cannot be written: \(String(cString: strerror(errno)))")
            }
        } catch {
            close(descriptor)
            throw error
        }
        guard let file = fdopen(descriptor, "a") else {
            close(descriptor)
            throw .output("--out \(path): cannot be written: \(String(cString: strerror(errno)))")
        }
        self.file = file
        if isCSV, !headerPresent {
            try append(header.joined(separator: ","))
        }
    }

    /// Whether `tail` (bytes after the last newline) is the start of a row or header a killed
    /// sweep did not finish writing.
    static func isTornRow(_ tail: [UInt8], afterLines: Int, header: [String], csv: Bool) -> Bool {
        if csv {
            let headerBytes = Array(header.joined(separator: ",").utf8)
            if afterLines == 0 { return headerBytes.starts(with: tail) }
            let hex = tail.prefix(64)
            return hex.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
                && (tail.count <= 64 || tail[64] == UInt8(ascii: ","))
        }
        let start = Array("{\"job\":\"".utf8)
        return tail.count <= start.count ? start.starts(with: tail) : tail.starts(with: start)
    }

    /// The whole file behind `descriptor`.
    static func readAll(_ descriptor: Int32, path: String) throws(BacktestError) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .output("--out \(path): cannot be read: \(String(cString: strerror(errno)))")
            }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
        }
    }

    deinit { fclose(file) }

    /// Appends a line and flushes it to the kernel (it survives the process being killed).
    public func append(_ line: String) throws(BacktestError) {
        guard fputs(line + "\n", file) >= 0, fflush(file) == 0 else {
            throw .output("--out \(path): the write failed: \(String(cString: strerror(errno)))")
        }
        if line != columns?.joined(separator: ",") { holdsRows = true }
    }

    /// Whether this sweep created the file, and whether a row went into it.
    let created: Bool
    private(set) var holdsRows = false

    /// Removes the file when this sweep created it and wrote no row to it (a sweep stopped
    /// before its first job leaves no empty output behind).
    public func discardIfUnused() {
        guard created, !holdsRows else { return }
        unlink(target)
    }

    /// Rewrites the file with `rows` in this order.
    public func rewrite(_ rows: [SweepRow]) throws(BacktestError) {
        // A new file of its own beside the target (never one that exists: a link, a user's file).
        guard let (descriptor, partial) = UniqueFile.create(prefix: target + ".partial-") else {
            throw .output("--out \(path): cannot write a file beside it: \(String(cString: strerror(errno)))")
        }
        guard fchmod(descriptor, 0o644) == 0, let out = fdopen(descriptor, "w") else {
            let failure = errno
            close(descriptor)
            unlink(partial)
            throw .output("--out \(path): cannot write (through \(partial)): \(String(cString: strerror(failure)))")
        }
        // Row by row through the stream's buffer (the whole text at once took as much memory
        // again as the rows).
        var written = columns.map { fputs($0.joined(separator: ",") + "\n", out) >= 0 } ?? true
        for row in rows where written { written = fputs(row.line, out) >= 0 && fputc(0x0A, out) != EOF }
        let flushed = fflush(out) == 0 && fsync(fileno(out)) == 0
        let closed = fclose(out) == 0
        guard flushed, closed, written, rename(partial, target) == 0 else {
            unlink(partial)
            throw .output("--out \(path): the ranked rewrite failed: \(String(cString: strerror(errno)))")
        }
    }
}

/// `peregrine sweep` on one machine: the jobs run on `threads` threads (`pg-sweep-N`), one
/// backtest per thread at a time, each on the data the plan maps once; results are appended to
/// the output as they finish. A job already in the output (by its hash) is not run again.
public enum Sweep {
    /// What a sweep did.
    public struct Outcome: Sendable {
        /// This sweep's rows (resumed and new), ranked.
        public var rows: [SweepRow]
        /// Rows of other sweeps found in the output (kept there, ranked after this sweep's).
        public var otherRows: [SweepRow]
        public var ran: Int
        public var resumed: Int
        public var failed: [(job: SweepJob, error: BacktestError)]
        /// The plan's warnings about the data's instruments (`BacktestPlan.warnings`: every
        /// job's begin with them, and a CSV row read back does not keep them).
        public var planWarnings: [String]
        /// The warnings about the data, each once: the plan's, then those of this sweep's rows
        /// in the order the rows are ranked (they come from the data and the window, so jobs
        /// mostly share them).
        public var warnings: [String] {
            var seen = Set<String>()
            return (planWarnings + rows.flatMap(\.warnings) + (rankingWarning.map { [$0] } ?? [])).filter {
                seen.insert($0).inserted
            }
        }
        /// Said when no row of this sweep has the figure it is ranked by: the ranking is the
        /// sweep's order.
        public var rankingWarning: String?

        /// The outcome of `plan` with `rows` (this sweep's and any other's) ranked, written
        /// ranked to `output`.
        public init(
            ranking: SweepRanking, plan: SweepPlan, rows: [SweepRow], output: SweepOutput?, ran: Int, resumed: Int,
            failed: [(job: SweepJob, error: BacktestError)]
        ) throws(BacktestError) {
            let order = Dictionary(plan.jobs.map { ($0.hash, $0.index) }, uniquingKeysWith: { first, _ in first })
            // This sweep's rows show its jobs' parameters, however an earlier sweep wrote them.
            let jobs = Dictionary(plan.jobs.map { ($0.hash, $0) }, uniquingKeysWith: { first, _ in first })
            var seen = Set<String>()
            let own = rows.compactMap { row in
                // Each job once (an output joined from two files may hold one twice).
                jobs[row.job].flatMap {
                    seen.insert(row.job).inserted
                        ? row.with(parameters: $0.parameters, csvColumns: output?.columns) : nil
                }
            }
            self.rows = ranking.ranked(own, order: order)
            if !own.isEmpty, !own.contains(where: { $0.value(of: ranking.metric) != nil }) {
                rankingWarning =
                    "--rank-by \(ranking.metric): no result of this sweep has it (with several instruments "
                    + "the figures per instrument, volume, position and max_position, are null, and with several "
                    + "quote currencies the money ratios), so the rows stay in the sweep's order"
            }
            otherRows = ranking.ranked(
                rows.filter { order[$0.job] == nil && seen.insert($0.job).inserted }, order: [:])
            try output?.rewrite(self.rows + otherRows)
            planWarnings = plan.base.warnings
            self.ran = ran
            self.resumed = resumed
            self.failed = failed.sorted { $0.job.index < $1.job.index }
        }
    }

    /// What the sweep's threads share: the next job to take and the results they finished.
    final class SharedProgress: Sendable {
        let next = Atomic<Int>(0)
        let finished = Mutex<[(Int, Result<String, BacktestError>)]>([])

        let stopped = Atomic<Bool>(false)

        /// The next job to run, nil when there is none left or the sweep stopped.
        func take(below count: Int) -> Int? {
            guard !stopped.load(ordering: .relaxed) else { return nil }
            let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
            return index < count ? index : nil
        }

        /// No job is taken after this.
        func stop() { stopped.store(true, ordering: .relaxed) }

        /// How many jobs were taken, of `count` (each taken job finishes).
        func taken(of count: Int) -> Int { Swift.min(next.load(ordering: .relaxed), count) }
    }

    /// The error of a sweep stopped by `reason` (SIGINT, SIGTERM) once its jobs had started: `finished` of its
    /// `count` jobs gave a row and `ran` (those and the failed ones) had run. A stop seen while
    /// the last jobs ran, which then finished, says so: only the ranking and page are missing.
    public static func stopped(by reason: String, finished: Int, ran: Int? = nil, of count: Int, output: SweepOutput?)
        -> BacktestError
    {
        let kept =
            finished > 0 ? output.map { " (kept in \($0.path): the same command goes on from them)" } ?? "" : ""
        if count > 0, (ran ?? finished) >= count {
            let rows = output.map { " (kept in \($0.path): the same command ranks them)" } ?? ""
            return .data(
                "stopped by \(reason) after all \(count) jobs had run\(rows); the sweep is incomplete: no ranking or "
                    + "page was written")
        }
        return .data(
            "stopped by \(reason) after \(finished) of \(count) jobs\(kept); the sweep is incomplete: no ranking or "
                + "page was written")
    }

    /// The error of a sweep stopped by `reason` while it was planned or its output read.
    public static func stoppedBeforeJobs(_ reason: String) -> BacktestError {
        .data("stopped by \(reason) before any job ran; the sweep is incomplete: no ranking or page was written")
    }

    /// The threads a sweep uses by default: the CPUs this process may run on.
    public static var defaultThreads: Int { Swift.max(1, PinnedThread.availableCPUCount) }

    /// The most threads a sweep takes (each runs a whole backtest).
    public static let maximumThreads = 256

    /// Runs the jobs of `plan` not already in `output` (text inputs are converted once for them,
    /// `BacktestPlan.sharingData`); `progress` gets (jobs done, jobs to run) on the calling
    /// thread. A job that fails is listed in the outcome; an output that cannot be written
    /// stops the sweep (throws, what finished is in the file). When `stopRequested` (polled
    /// every 10 ms) names a reason, no job starts after it, those running finish and are
    /// written, and the sweep throws (`data`: incomplete).
    public static func run(
        _ plan: SweepPlan, threads: Int, output: SweepOutput?, ranking: SweepRanking,
        progress: ((Int, Int) -> Void)? = nil, stopRequested: () -> String? = { nil }
    ) throws(BacktestError) -> Outcome {
        let existing = output?.existing ?? []
        let done = Set(existing.map(\.job))
        let (pending, resumed) = plan.pending(excluding: done)
        let columns = output?.columns
        let shared = SharedProgress()
        // A stop before the jobs (while the plan was made, or the inputs are read: converted,
        // for text) ends the sweep before any job.
        if let reason = stopRequested() {
            throw pending.isEmpty
                ? stoppedBeforeJobs(reason) : stopped(by: reason, finished: 0, of: pending.count, output: output)
        }
        var stoppedReading: String?
        let base: BacktestPlan
        do {
            base =
                pending.isEmpty
                ? plan.base
                : try plan.base.sharingData(stopRequested: {
                    stoppedReading = stopRequested()
                    return stoppedReading
                })
        } catch {
            if let stoppedReading { throw stopped(by: stoppedReading, finished: 0, of: pending.count, output: output) }
            throw error
        }
        let jobs = pending
        var workers: [PinnedThread] = []
        var startFailure: BacktestError?
        for number in 0..<Swift.max(1, Swift.min(threads, maximumThreads, pending.count)) where !pending.isEmpty {
            do {
                workers.append(
                    try PinnedThread.start(name: "pg-sweep-\(number)") {
                        while true {
                            guard let index = shared.take(below: jobs.count) else { return }
                            let job = jobs[index]
                            // The row itself is built on the sweep's thread: what it keeps for the
                            // whole sweep is then not allocated among each job's transient memory,
                            // whose freed pages it would otherwise keep resident (memory grew by
                            // about 100 KB a job).
                            let outcome = Result { () throws(BacktestError) -> String in
                                let result = try Backtest.run(
                                    try base.with(strategies: job.strategies),
                                    outputs: BacktestOutputFiles(charts: false))
                                return SweepRow.jsonLine(job: job, result: result)
                            }
                            shared.finished.withLock { $0.append((index, outcome)) }
                        }
                    })
            } catch {
                startFailure = .output("cannot start sweep thread \(number): \(error)")
                break
            }
        }
        if workers.isEmpty, let startFailure { throw startFailure }
        var rows = existing
        var failed: [(job: SweepJob, error: BacktestError)] = []
        var count = 0
        var writeError: BacktestError?
        var stoppedBy: String?
        progress?(0, pending.count)
        // Jobs not taken when the sweep stops early (an output error, a stop asked for) never
        // finish.
        while count < pending.count,
            (writeError == nil && stoppedBy == nil) || count < shared.taken(of: pending.count)
        {
            if stoppedBy == nil, let reason = stopRequested() {
                stoppedBy = reason
                shared.stop()
            }
            let batch = shared.finished.withLock { items in
                defer { items.removeAll() }
                return items
            }
            if batch.isEmpty {
                usleep(10_000)
                continue
            }
            for (index, outcome) in batch {
                count += 1
                let row = outcome.flatMap { line in
                    Result { () throws(BacktestError) in
                        try SweepRow(job: pending[index], jsonLine: line, csvColumns: columns)
                    }
                }
                switch row {
                case .success(let row):
                    rows.append(row)
                    if writeError == nil, let output {
                        do { try output.append(row.line) } catch {
                            writeError = error
                            shared.stop()
                        }
                    }
                case .failure(let error):
                    failed.append((pending[index], error))
                }
            }
            progress?(count, pending.count)
        }
        for worker in workers { worker.join() }
        if let writeError { throw writeError }
        if let stoppedBy {
            throw stopped(by: stoppedBy, finished: count - failed.count, ran: count, of: pending.count, output: output)
        }
        return try Outcome(
            ranking: ranking, plan: plan, rows: rows, output: output, ran: pending.count - failed.count,
            resumed: resumed, failed: failed)
    }
}
