import PeregrineModel
import PeregrineRisk
import PeregrineStrategy

/// Why a backtest could not run (`usage`: exit 2, nothing started) or did not finish (`data`,
/// `output`: exit 1, no report claims success).
public enum BacktestError: Error, Equatable, Sendable, CustomStringConvertible {
    case usage(String)
    case data(String)
    case output(String)

    public var description: String {
        switch self {
        case .usage(let message), .data(let message), .output(let message): return message
        }
    }

    public var isUsage: Bool {
        if case .usage = self { return true }
        return false
    }
}

/// The delay before a strategy sees a recorded event: none, each row's receive time (`local`),
/// or a constant.
public enum FeedLatency: Hashable, Sendable, CustomStringConvertible {
    case none
    case local
    case constant(nanoseconds: UInt64)

    public var description: String {
        switch self {
        case .none: return "none"
        case .local: return "local"
        case .constant(let nanoseconds): return "\(nanoseconds / 1_000) µs"
        }
    }
}

/// Everything a backtest needs besides its strategies' code.
public struct BacktestSettings: Sendable {
    /// The configuration file read into these settings (`BacktestConfigurationFile.apply`), for
    /// messages: a refused strategy it defines is named at its line. Not a setting: it does not
    /// travel with a sweep's jobs.
    public var configurationFile: (path: String?, text: String)?
    public var data: [DataSpec] = []
    public var strategies: [StrategySpec] = []
    /// Reference data by symbol (`[[instrument]]`); an instrument without one takes the data's
    /// grids, one lot as its minimum, the fees below and a quote currency from its symbol.
    public var instruments: [InstrumentDefinition] = []
    /// Grids for every instrument without reference data (nil: detected from its files).
    public var tickSize: Increment?
    public var lotSize: Increment?
    /// Where each grid was given, as messages name it: its flag, or its key in a configuration
    /// file with the file and line (`run.toml:4: backtest.tick_size`).
    public var tickSizeOrigin = "--tick-size"
    public var lotSizeOrigin = "--lot-size"

    /// The grids given for instruments without reference data, as messages name them:
    /// `--tick-size 0.5`, `run.toml:4: backtest.lot_size 0.001`.
    var givenGrids: [String] {
        [tickSize.map { "\(tickSizeOrigin) \($0)" }, lotSize.map { "\(lotSizeOrigin) \($0)" }].compactMap { $0 }
    }
    /// Fees in basis points for instruments without reference data (at most 4 decimals).
    public var makerFeeBasisPoints = "0"
    public var takerFeeBasisPoints = "0"
    /// Whether either fee was given (a flag or a `[backtest]` key), 0 included: an instrument
    /// with reference data then says that its table's fees stand.
    public var feesGiven = false
    /// Whether fees were given in basis points: `feesGiven`, or either fee not 0.
    public var namesFees: Bool { feesGiven || makerFeeBasisPoints != "0" || takerFeeBasisPoints != "0" }
    /// Exchange-time window, ns since the epoch: events before `from` only build the books,
    /// the run ends at `to`.
    public var from: UInt64?
    public var to: UInt64?
    public var feedLatency = FeedLatency.none
    public var orderLatency = OrderLatency.none
    public var queueModel = QueueModel.riskAverse
    /// Capital in the quote currency, for returns.
    public var capital = "100000"
    /// How often equity is sampled (exchange time, ns).
    public var equityInterval: UInt64 = 1_000_000_000
    /// Pre-trade risk rules, as in live runs.
    public var risk: [RiskRule] = []
    /// Whether text inputs are parsed on a second thread (`pg-backtest-data`) while the
    /// simulation runs; off for sweep jobs, which take one core each. Converted files are always
    /// read on the backtest's own thread. Results do not depend on it.
    public var parseOnSecondThread = true
    /// Whether, without feed latency, the simulated venue and the strategies' logic share one
    /// book per instrument (each level update applied once) instead of keeping two. Results do
    /// not depend on it (a test runs both ways).
    public var shareBooks = true
    /// Where the data files' SHA-256 are kept by their identity across runs (`DigestCache`);
    /// nil: every run hashes its inputs.
    public var digestCache: DigestCache?

    public init() {}

    /// Every file a backtest of these settings reads: the data and a measured latency table.
    public var inputPaths: [String] {
        var paths = data.flatMap(\.paths)
        if case .measured(let table) = orderLatency { paths.append(table.path) }
        return paths
    }
}
