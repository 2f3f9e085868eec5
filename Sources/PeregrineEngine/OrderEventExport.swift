import PeregrineCore
import PeregrineJournal
import PeregrineModel
import PeregrineStrategy

#if canImport(Glibc)
    import Glibc
#endif

/// One update of a strategy's order with the event that caused it: what the orders and fills
/// export writes (`--fills-out`). A trivial value, so it crosses a ring to the sink.
@frozen
public struct StrategyOrderEvent: Sendable, BitwiseCopyable {
    /// The journal sequence and timestamp (engine ns) of the input event that caused it.
    public var sequence: Int64
    public var time: UInt64
    public var update: OrderUpdate

    @inlinable
    public init(sequence: Int64, time: UInt64, update: OrderUpdate) {
        self.sequence = sequence
        self.time = time
        self.update = update
    }
}

/// The format of the orders and fills export, from the file name: CSV for `.csv`, JSON lines
/// otherwise (`.jsonl`, `.json`).
public enum OrderEventFormat: String, Sendable {
    case csv
    case jsonLines = "jsonl"

    public init(path: String) { self = path.hasSuffix(".csv") ? .csv : .jsonLines }
}

/// Writes every update of the strategies' orders, one line each, in the instruments' units
/// (prices and quantities as decimals, fees in the quote currency): `--fills-out FILE` on
/// `peregrine run` and `peregrine replay`, which write the same lines for the same journal.
///
/// Columns: `sequence, time_ns, strategy, strategy_name, order_id, instrument, side, type,
/// time_in_force, event, state, price, quantity, leaves, filled, average_fill_price,
/// liquidity, fee, reason, trade_id` (on a fill, price and quantity are the trade's). Buffered
/// (64 KB); written by the sink thread or the replay, never by the logic. Not thread-safe.
public final class OrderEventWriter: @unchecked Sendable {
    public let path: String
    public let format: OrderEventFormat
    let file: UnsafeMutablePointer<FILE>
    let definitions: [InstrumentID: InstrumentDefinition]
    let names: [UInt16: String]
    public private(set) var lines = 0
    public private(set) var failure: String?

    static let columns = [
        "sequence", "time_ns", "strategy", "strategy_name", "order_id", "instrument", "side", "type", "time_in_force",
        "event", "state", "price", "quantity", "leaves", "filled", "average_fill_price", "liquidity", "fee", "reason",
        "trade_id",
    ]

    /// Opens (truncates) `path`; `definitions` give the units, `strategies` the names by id.
    public init(path: String, definitions: [InstrumentDefinition], strategies: [(UInt16, String)]) throws(EngineError) {
        guard let file = FileIO.openOutput(path) else {
            throw .invalidSetting(
                name: "fills-out", value: path, allowed: "cannot be written: \(String(cString: strerror(errno)))")
        }
        setvbuf(file, nil, _IOFBF, 1 << 16)
        self.path = path
        self.file = file
        format = OrderEventFormat(path: path)
        var byID: [InstrumentID: InstrumentDefinition] = [:]
        for definition in definitions { byID[definition.id] = definition }
        self.definitions = byID
        names = Dictionary(strategies, uniquingKeysWith: { first, _ in first })
        if format == .csv { put(Self.columns.joined(separator: ",") + "\n") }
    }

    deinit { fclose(file) }

    func put(_ text: String) {
        guard failure == nil else { return }
        var line = text
        line.withUTF8 { bytes in
            if fwrite(bytes.baseAddress, 1, bytes.count, file) != bytes.count {
                failure = "write \(path): \(String(cString: strerror(errno)))"
            }
        }
    }

    /// Writes one update.
    public func write(_ event: StrategyOrderEvent) {
        let update = event.update
        let order = update.order
        let report = update.report
        let definition = definitions[order.instrument] ?? .synthetic(order.instrument, hosted: false)
        let price = { (price: Price) in price.formatted(tickSize: definition.tickSize) }
        let quantity = { (quantity: Quantity) in quantity.formatted(lotSize: definition.lotSize) }
        let fill = report.isFill
        // (column, value, whether JSON quotes it: text, and decimals kept exact as strings)
        let values: [(String, String, Bool)] = [
            ("sequence", "\(event.sequence)", false), ("time_ns", "\(event.time)", false),
            ("strategy", "\(order.strategy.rawValue)", false),
            ("strategy_name", names[order.strategy.rawValue] ?? "", true), ("order_id", "\(order.id.rawValue)", false),
            ("instrument", definition.symbol, true), ("side", "\(order.side)", true), ("type", "\(order.type)", true),
            ("time_in_force", "\(order.timeInForce)", true), ("event", "\(report.kind)", true),
            ("state", "\(order.state)", true), ("price", price(report.price), true),
            ("quantity", quantity(report.quantity), true), ("leaves", quantity(order.leaves), true),
            ("filled", quantity(order.filled), true),
            ("average_fill_price", order.averageFillPrice.map(price) ?? "", true),
            ("liquidity", fill ? (report.isAggressor ? "taker" : "maker") : "", true),
            ("fee", update.fee.formatted(tickSize: definition.tickSize, lotSize: definition.lotSize) ?? "", true),
            ("reason", report.reason == .none ? "" : "\(report.reason)", true),
            ("trade_id", fill ? "\(report.tradeID)" : "", false),
        ]
        switch format {
        case .csv:
            put(values.map { TextField.csv($0.1) }.joined(separator: ",") + "\n")
        case .jsonLines:
            let fields = values.compactMap { name, value, quoted -> String? in
                if value.isEmpty { return nil }
                return "\"\(name)\":"
                    + (quoted ? TextField.json(value) : value)
            }
            put("{" + fields.joined(separator: ",") + "}\n")
        }
        lines += 1
    }

    /// Flushes what is buffered; the first failure, if any, is kept in `failure`.
    public func flush() {
        if fflush(file) != 0, failure == nil { failure = "write \(path): \(String(cString: strerror(errno)))" }
    }
}
