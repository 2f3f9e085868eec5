import PeregrineCodec
import PeregrineFeed
import PeregrineModel

/// How long an order takes to reach the venue (entry) and its reports to come back (response).
///
/// `none` is instant; `constant` is fixed; `measured` interpolates a CSV of
/// `timestamp,entry_us,response_us` rows (timestamp in µs since the epoch, rising) linearly in
/// time, holding the first and last rows' values outside them, the way hftbacktest's
/// `IntpOrderLatency` does. Latencies are never negative. An order meets the book as it is at
/// `sent + entry`; its reports reach the strategy `response` after the venue sent them. Orders
/// (and reports) keep their order: one never overtakes another.
public enum OrderLatency: Hashable, Sendable, CustomStringConvertible {
    case none
    case constant(entry: UInt64, response: UInt64)
    case measured(LatencyTable)

    public var description: String {
        switch self {
        case .none: return "none"
        case .constant(let entry, let response): return "entry \(entry / 1_000) µs, response \(response / 1_000) µs"
        case .measured(let table):
            return "measured (\(table.path), \(table.times.count) row\(table.times.count == 1 ? "" : "s"))"
        }
    }

    /// The latency file, as the report's provenance lists it beside the data (nil without one).
    public var inputFile: InputFile? {
        guard case .measured(let table) = self else { return nil }
        return InputFile(path: table.path, format: "order-latency", sha256: table.sha256)
    }

    /// The entry latency of an order sent at `time` (ns).
    public func entry(at time: UInt64) -> UInt64 {
        switch self {
        case .none: return 0
        case .constant(let entry, _): return entry
        case .measured(let table): return table.value(at: time, column: \.entries)
        }
    }

    /// The response latency of a report the venue sent at `time` (ns).
    public func response(at time: UInt64) -> UInt64 {
        switch self {
        case .none: return 0
        case .constant(_, let response): return response
        case .measured(let table): return table.value(at: time, column: \.responses)
        }
    }
}

/// Latencies measured over time: rows of time (ns) with entry and response latencies (ns).
public struct LatencyTable: Hashable, Sendable {
    public let path: String
    /// The file's SHA-256 (hex), for the report's provenance.
    public let sha256: String
    public let times: [UInt64]
    public let entries: [UInt64]
    public let responses: [UInt64]

    /// Reads `timestamp,entry_us,response_us` rows (a header line is allowed); a bad row
    /// throws naming its line.
    public init(path: String) throws(FeedError) {
        var lines = try MappedLines(path: path)
        var times: [UInt64] = []
        var entries: [UInt64] = []
        var responses: [UInt64] = []
        var firstLine = true
        while let line = lines.next() {
            var text = String(decoding: line, as: UTF8.self)
            // (A spreadsheet's "CSV UTF-8" begins with a byte order mark.)
            if lines.lineNumber == 1, text.hasPrefix("\u{FEFF}") { text.removeFirst() }
            if text.isEmpty { continue }
            // (Line ends of CR alone, an old Mac's, leave the whole file one line.)
            if text.contains("\r") {
                throw FeedError(
                    line: lines.lineNumber,
                    "a carriage return (CR) inside the line: are the file's line ends CR alone? Write them as LF "
                        + "or CRLF",
                    file: path)
            }
            // A header names the columns in their order (columns are read by place: a header
            // naming others, or these in another order, would be read wrongly).
            defer { firstLine = false }
            if firstLine, let first = text.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) {
                let names = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.lowercased() }
                guard names == ["timestamp", "entry_us", "response_us"] else {
                    throw FeedError(
                        line: lines.lineNumber,
                        "the header '\(TextField.excerpt(text))' is not timestamp,entry_us,response_us: the columns "
                            + "are read in that order (µs since the epoch, then the entry and response latencies in "
                            + "µs); write that header, or none",
                        file: path)
                }
                continue
            }
            let fields = text.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 3 else {
                throw FeedError(
                    line: lines.lineNumber,
                    "'\(TextField.excerpt(text))' has \(fields.count) field\(fields.count == 1 ? "" : "s"): a row is "
                        + "timestamp,entry_us,response_us (µs since the epoch, then the entry and response latencies "
                        + "in µs)",
                    file: path)
            }
            guard let time = UInt64(fields[0]) else {
                throw FeedError(
                    line: lines.lineNumber,
                    "timestamp '\(TextField.excerpt(String(fields[0])))' is not a whole number of µs since the epoch (digits "
                        + "only)",
                    file: path)
            }
            /// Column `name`'s latency, or the error that says what is wrong with it.
            func latency(_ name: String, _ field: Substring) throws(FeedError) -> Double {
                guard let value = Self.micros(field) else {
                    throw FeedError(
                        line: lines.lineNumber,
                        "\(name) '\(TextField.excerpt(String(field)))' \(Self.microsProblem(field))", file: path)
                }
                return value
            }
            let entry = try latency("entry_us", fields[1])
            let response = try latency("response_us", fields[2])
            // Times as the data's: from 1970 to 2262 (64-bit signed ns).
            let (nanoseconds, overflow) = time.multipliedReportingOverflow(by: 1_000)
            guard !overflow, nanoseconds <= UInt64(Int64.max) else {
                throw FeedError(
                    line: lines.lineNumber,
                    "timestamp \(time) (µs since 1970-01-01) is out of range: a time from 1970 to 2262, in µs",
                    file: path)
            }
            if let last = times.last, nanoseconds < last {
                throw FeedError(
                    line: lines.lineNumber,
                    "timestamp \(time) goes back in time (before the row above's \(last / 1_000)): sort the rows by time",
                    file: path)
            }
            times.append(nanoseconds)
            entries.append(UInt64((entry * 1_000).rounded()))
            responses.append(UInt64((response * 1_000).rounded()))
        }
        guard !times.isEmpty else { throw FeedError(line: 0, "no latency rows", file: path) }
        do { sha256 = try BacktestPlan.sha256(of: path) ?? "" } catch {
            throw FeedError(line: 0, "\(error)", file: path)
        }
        self.path = path
        self.times = times
        self.entries = entries
        self.responses = responses
    }

    /// A latency field: a decimal number of µs (an exponent allowed, as `1e-05`) from 0 to
    /// 3,600,000,000 (an hour, the flags' and the configuration's limit); nil for anything else
    /// (hexadecimal, `nan`, `inf`, a sign other than an exponent's).
    static func micros(_ field: Substring) -> Double? {
        guard let first = field.first, first.isASCII, first.isNumber || first == ".",
            field.allSatisfy({ $0.isASCII && ($0.isNumber || ".eE+-".contains($0)) }), let value = Double(field),
            value.isFinite, value >= 0, value <= Double(BacktestOption.maximumLatencyMicroseconds)
        else { return nil }
        return value
    }

    /// Why `field` is not a latency (`micros` refused it), for people.
    static func microsProblem(_ field: Substring) -> String {
        let range = "a latency is a decimal number of µs from 0 to 3600000000 (an hour, as the flags take)"
        if field.isEmpty { return "is empty: \(range)" }
        let numeric = field.allSatisfy { $0.isASCII && ($0.isNumber || ".eE+-".contains($0)) }
        guard numeric, let value = Double(field), !value.isNaN else { return "is not a number: \(range)" }
        if field.hasPrefix("-") { return "is negative: \(range)" }
        if field.hasPrefix("+") { return "has a sign: \(range), written without one" }
        return "is more than an hour: \(range)"
    }

    /// The value of `column` at `time`, interpolated between the rows around it; at a time
    /// repeated by several rows, the last of them (approaching it, the line runs to the first).
    public func value(at time: UInt64, column: KeyPath<LatencyTable, [UInt64]>) -> UInt64 {
        let values = self[keyPath: column]
        guard let first = times.first, let last = times.last else { return 0 }
        // (At the first time itself, a row repeating it holds: the search below finds it.)
        if time < first { return values[0] }
        if time >= last { return values[values.count - 1] }
        var low = 0
        var high = times.count - 1
        while high - low > 1 {
            let middle = (low + high) / 2
            if times[middle] <= time { low = middle } else { high = middle }
        }
        let span = times[high] - times[low]
        guard span > 0 else { return values[high] }
        let fraction = Double(time - times[low]) / Double(span)
        let start = Double(values[low])
        let interpolated = start + (Double(values[high]) - start) * fraction
        return interpolated.isFinite && interpolated > 0 ? UInt64(interpolated.rounded()) : 0
    }
}
