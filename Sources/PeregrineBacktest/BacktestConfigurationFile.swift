import PeregrineEngine
import PeregrineModel
import TOMLKit

#if canImport(Glibc)
    import Glibc
#endif

/// A backtest described in TOML: a `[backtest]` section with the flags' settings, and the
/// engine's `[[strategy]]`, `[[instrument]]` and `[[risk]]` tables (docs/backtesting.md).
///
/// ```toml
/// [backtest]
/// data = ["tardis-trades:trades.csv.gz", "tardis-quotes:quotes.csv.gz"]  # trades first
/// from = "2020-02-22T00:00:00Z"
/// order_latency = 500             # µs, or "latency.csv"
/// queue_model = "power:2"
/// taker_fee_bps = "4"
/// ```
public enum BacktestConfigurationFile {
    /// The keys `[backtest]` takes.
    public static let keys = [
        "data", "from", "to", "feed_latency", "order_latency", "response_latency", "queue_model", "maker_fee_bps",
        "taker_fee_bps", "tick_size", "lot_size", "capital", "equity_interval_ms",
    ]

    /// The sections a backtest reads; the others (a live run's `[source]`, `[journal]`,
    /// `[trading]`…) are checked as `peregrine run` checks them, and not used.
    static let usedSections: Set<String> = ["backtest", "strategy", "instrument", "risk", "profile"]

    /// Reads `text` (of the file `path`, when given) into `settings` (strategies, instruments and
    /// risk rules through the engine's configuration file reader). Throws a usage error naming
    /// the key, or the file and line of text that is not TOML. Returns the sections it checked
    /// but does not use, sorted, for a warning.
    @discardableResult
    public static func apply(_ text: String, path: String? = nil, to settings: inout BacktestSettings)
        throws(BacktestError) -> [String]
    {
        let configuration: EngineConfiguration
        do { configuration = try ConfigurationFile.resolve(fileText: text, filePath: path) } catch {
            throw .usage("\(error)")
        }
        settings.configurationFile = (path, text)
        settings.strategies += configuration.strategies
        settings.instruments += configuration.instrumentDefinitions
        settings.risk += configuration.risk
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch {
            throw .usage("the configuration file is not valid TOML: \(error)")
        }
        let unused = table.keys.filter { !usedSections.contains($0) }.sorted()
        guard let section = table["backtest"] else { return unused }
        guard let backtest = section.table else {
            throw .usage(Self.named("backtest", in: text, path: path) + ": write it as a section, [backtest]")
        }
        for (key, value) in backtest {
            // What a message names the key by: where the file writes it, and the key.
            let origin = Self.named("backtest.\(key)", in: text, path: path)
            guard keys.contains(key) else {
                throw .usage("\(origin): unknown key; known: \(keys.joined(separator: ", "))")
            }
            var textValue = value.string ?? value.int.map { "\($0)" }
            if textValue == nil, let number = value.double {
                guard let decimal = ConfigurationFile.decimalText(number) else {
                    throw .usage("\(origin) \(number): \(ConfigurationFile.inexactNumberAdvice(number))")
                }
                textValue = decimal
            }
            switch key {
            case "data":
                guard let array = value.array else {
                    throw .usage("\(origin): write a list of FORMAT:FILE strings")
                }
                // Each entry is named at the line it starts on.
                let lines = ConfigurationFile.elementLines(ofArray: "backtest.data", in: text)
                for (index, element) in array.enumerated() {
                    guard let spec = element.string else {
                        throw .usage("\(origin): \(element) is not a FORMAT:FILE string")
                    }
                    var named = origin
                    if let lines, lines.count == array.count {
                        named = ConfigurationFile.location(line: lines[index], path: path) + ": backtest.data"
                    }
                    settings.data.append(try DataSpec(spec, origin: named))
                }
            default:
                var given = textValue
                if given == nil { given = try Self.timeText(value, key: key, origin: origin) }
                guard let given else { throw .usage("\(origin): \(value) is not a string or number") }
                try BacktestOption.apply(key, given, to: &settings, origin: origin)
            }
        }
        return unused
    }

    /// A TOML date or date-time written unquoted as `from` or `to` (`from = 2020-02-22T00:10:00Z`),
    /// as the text the flag takes (`2020-02-22T00:10:00.000000000Z`): a date is its midnight and
    /// a local date-time UTC, as the flag reads them; an offset other than zero is refused. nil
    /// for another key or value.
    static func timeText(_ value: TOMLValueConvertible, key: String, origin: String) throws(BacktestError)
        -> String?
    {
        guard key == "from" || key == "to" else { return nil }
        func digits(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: Swift.max(0, width - text.count)) + text
        }
        func day(_ date: TOMLDate) -> String {
            digits(date.year, 4) + "-" + digits(date.month, 2) + "-" + digits(date.day, 2)
        }
        if let date = value.date { return day(date) }
        guard let moment = value.dateTime else { return nil }
        if let offset = moment.offset, offset.offset != 0 {
            throw .usage("\(origin) \(value): write the time in UTC, ending in Z (2020-02-22T00:10:00Z)")
        }
        let time = moment.time
        return day(moment.date) + "T" + digits(time.hour, 2) + ":" + digits(time.minute, 2) + ":"
            + digits(time.second, 2) + "." + digits(time.nanoSecond, 9) + "Z"
    }

    /// `setting` (`backtest.KEY`) as a message names it: after the file and line that write it
    /// (`bt.toml:4: backtest.queue_model`), when found.
    static func named(_ setting: String, in text: String, path: String?) -> String {
        guard let location = ConfigurationFile.location(of: setting, in: text, path: path) else { return setting }
        return "\(location): \(setting)"
    }
}

/// One backtest setting given as text (a flag or a `[backtest]` key).
public enum BacktestOption {
    /// Applies `key` (the TOML key; flags use the same names with dashes) with `value`.
    public static func apply(_ key: String, _ value: String, to settings: inout BacktestSettings, origin: String)
        throws(BacktestError)
    {
        switch key {
        case "from", "to":
            guard let time = UTCTime.parse(value) else {
                throw .usage(
                    "\(origin) \(value): \(UTCTime.problemPrefix(value))write a UTC time such as "
                        + "2020-02-22T00:10:00Z, or ns since the epoch (19 digits for recent times, e.g. "
                        + "1582330200000000000)")
            }
            if key == "from" { settings.from = time } else { settings.to = time }
        case "feed_latency":
            if value == "local" {
                settings.feedLatency = .local
            } else if let micros = microseconds(value) {
                settings.feedLatency = micros == 0 ? .none : .constant(nanoseconds: micros)
            } else {
                throw .usage(
                    "\(origin) \(value): use local (each row's receive time) or a whole number of µs from 0 to 3600000000"
                )
            }
        case "order_latency", "response_latency":
            if let micros = microseconds(value) {
                var entry: UInt64 = 0
                var response: UInt64 = 0
                if case .constant(let oldEntry, let oldResponse) = settings.orderLatency {
                    entry = oldEntry
                    response = oldResponse
                } else if case .measured = settings.orderLatency {
                    throw .usage("\(origin) \(value): a latency file already gives both latencies")
                }
                if key == "order_latency" { entry = micros } else { response = micros }
                settings.orderLatency =
                    entry == 0 && response == 0 ? .none : .constant(entry: entry, response: response)
            } else if key == "response_latency" {
                // A file gives both latencies: it goes to order_latency alone.
                throw .usage(
                    "\(origin) \(value): use a whole number of µs from 0 to 3600000000 (a latency CSV file gives "
                        + "both latencies: name it with \(origin.hasPrefix("--") ? "--order-latency" : "backtest.order_latency"))"
                )
            } else if access(value, F_OK) != 0 {
                // Not a latency and not a file (a number that is not one, `100us`): say what a
                // latency is.
                let file =
                    value.allSatisfy({ $0.isASCII && ($0.isNumber || ".-+eE".contains($0)) }) ? "" : " (no such file)"
                throw .usage(
                    "\(origin) \(value): use a whole number of µs from 0 to 3600000000, or a latency CSV file\(file)")
            } else if case .constant = settings.orderLatency {
                // (Flags replace a configuration's latencies before they are applied.)
                throw .usage(
                    "\(origin) \(value): a latency file gives both latencies, and a response latency was given too: "
                        + "give the file alone, or both latencies as numbers")
            } else {
                do { settings.orderLatency = .measured(try LatencyTable(path: value)) } catch {
                    throw .usage("\(origin): \(error)")
                }
            }
        case "queue_model":
            guard let model = QueueModel(value) else {
                throw .usage("\(origin) \(value): use risk-averse, power:N (N > 0) or log")
            }
            settings.queueModel = model
        case "maker_fee_bps", "taker_fee_bps":
            guard (try? FeeRate(basisPoints: value)) != nil else {
                throw .usage(
                    "\(origin) \(value): use a decimal number of basis points with at most 4 decimals, from -10000 "
                        + "to 10000 (negative: a rebate)")
            }
            settings.feesGiven = true
            if key == "maker_fee_bps" {
                settings.makerFeeBasisPoints = value
            } else {
                settings.takerFeeBasisPoints = value
            }
        case "tick_size", "lot_size":
            guard let increment = try? Increment(value) else {
                throw .usage("\(origin) \(value): use a positive decimal such as 0.01")
            }
            if key == "tick_size" {
                settings.tickSize = increment
                settings.tickSizeOrigin = origin
            } else {
                settings.lotSize = increment
                settings.lotSizeOrigin = origin
            }
        case "capital":
            guard let amount = ExactAmount(value), amount.value > 0 else {
                throw .usage("\(origin) \(value): use a positive decimal amount of the quote currency")
            }
            settings.capital = value
        case "equity_interval_ms":
            guard let milliseconds = UInt64(value), (1...86_400_000).contains(milliseconds) else {
                throw .usage("\(origin) \(value): use 1 to 86400000 ms")
            }
            settings.equityInterval = milliseconds * 1_000_000
        default: throw .usage("\(origin): unknown setting")
        }
    }

    /// The largest latency in µs, given as a flag, a `[backtest]` key or a latency file's row:
    /// an hour.
    static let maximumLatencyMicroseconds: UInt64 = 3_600_000_000

    /// A latency in µs (an integer) as ns; nil if `text` is not one.
    static func microseconds(_ text: String) -> UInt64? {
        guard let micros = UInt64(text), micros <= maximumLatencyMicroseconds else { return nil }
        return micros * 1_000
    }
}
