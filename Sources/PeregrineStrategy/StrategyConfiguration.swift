import PeregrineModel

/// One strategy as the user asked for it: `--strategy NAME --param key=value …` or a TOML
/// `[[strategy]]` table. Resolved into a `StrategyConfiguration` when the engine is built.
public struct StrategySpec: Equatable, Sendable {
    public var name: String
    /// Its number (orders carry it); nil: its position in the list, from 1.
    public var id: UInt16?
    /// The instruments it trades; empty: the engine's default (every hosted instrument, or
    /// every market-data instrument without a hosted venue).
    public var instruments: [InstrumentID]
    /// `key=value` pairs in the order given.
    public var parameters: [(key: String, value: String)]

    public init(
        name: String, id: UInt16? = nil, instruments: [InstrumentID] = [], parameters: [(String, String)] = []
    ) {
        self.name = name
        self.id = id
        self.instruments = instruments
        self.parameters = parameters.map { (key: $0.0, value: $0.1) }
    }

    /// Reads a strategy's description (`StrategySet.descriptions`: `NAME id=ID instruments=A,B
    /// key=value …`) back into a spec that builds the same strategy. A malformed word is kept
    /// as a parameter, so building refuses it by name.
    public init(description text: String) {
        let words = text.split(separator: " ").map(String.init)
        name = words.first ?? ""
        id = nil
        instruments = []
        parameters = []
        for word in words.dropFirst() {
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            let key = parts.first ?? word
            let value = parts.count == 2 ? parts[1] : ""
            if key == "id", let number = UInt16(value) {
                id = number
            } else if key == "instruments",
                case let numbers = value.split(separator: ",").compactMap({ UInt32($0) }),
                numbers.count == value.split(separator: ",").count
            {
                instruments = numbers.map { InstrumentID($0) }
            } else {
                parameters.append((key: key, value: value))
            }
        }
    }

    public static func == (lhs: StrategySpec, rhs: StrategySpec) -> Bool {
        lhs.name == rhs.name && lhs.id == rhs.id && lhs.instruments == rhs.instruments
            && lhs.parameters.map(\.key) == rhs.parameters.map(\.key)
            && lhs.parameters.map(\.value) == rhs.parameters.map(\.value)
    }
}

extension Array where Element == StrategySpec {
    /// Each strategy's id: the one given, or its position in the list from 1, or when another
    /// strategy was given that id, the next one after it that none was given (nor took).
    public var resolvedIDs: [UInt16] {
        var taken = Set(compactMap(\.id))
        return enumerated().map { position, spec in
            if let id = spec.id { return id }
            var id = UInt16(truncatingIfNeeded: position + 1)
            while taken.contains(id) || id == 0 { id &+= 1 }
            taken.insert(id)
            return id
        }
    }
}

/// What a strategy is built from: its id, account, instruments and parameters.
public struct StrategyConfiguration: Sendable {
    public let name: String
    public let id: StrategyID
    public let account: AccountID
    public let instruments: [InstrumentID]
    /// Each instrument's lot size, in `instruments` order (what `StrategyParameters.lots`
    /// converts decimal quantities with).
    public let lotSizes: [Increment]
    /// Each instrument's tick size, in `instruments` order.
    public let tickSizes: [Increment]
    public let parameters: StrategyParameters

    /// `lotSizes` and `tickSizes` default to the synthetic instruments' 0.001 and 0.01 for
    /// every instrument.
    public init(
        name: String, id: StrategyID, account: AccountID, instruments: [InstrumentID], lotSizes: [Increment]? = nil,
        tickSizes: [Increment]? = nil, parameters: StrategyParameters
    ) {
        self.name = name
        self.id = id
        self.account = account
        self.instruments = instruments
        let synthetic = InstrumentDefinition.synthetic(InstrumentID(0), hosted: false)
        self.lotSizes = lotSizes ?? Array(repeating: synthetic.lotSize, count: instruments.count)
        self.tickSizes = tickSizes ?? Array(repeating: synthetic.tickSize, count: instruments.count)
        self.parameters = parameters
        parameters.lotSizes = self.lotSizes
    }
}

/// A strategy's `key=value` parameters. A strategy reads each one it knows, with its default
/// and range; the engine then refuses any key nobody read, naming the keys the strategy knows.
/// The values read (defaults included) form the strategy's canonical description, stored with
/// the journal's logic settings. Set-up only (a class, so reads are recorded through copies).
public final class StrategyParameters: @unchecked Sendable {
    let strategy: String
    var given: [(key: String, value: String)]
    /// Every key read, with its value as used, in the order read.
    public private(set) var resolved: [(key: String, value: String)] = []
    /// The lot sizes of the strategy's instruments (set by `StrategyConfiguration`): what a
    /// refused count of lots is explained with.
    var lotSizes: [Increment] = []

    public init(strategy: String, given: [(key: String, value: String)]) {
        self.strategy = strategy
        self.given = given
    }

    func take(_ key: String) -> String? {
        guard let index = given.firstIndex(where: { $0.key == key }) else { return nil }
        return given.remove(at: index).value
    }

    /// An integer in `range` (`default` when not given); a value refused says what it counts
    /// (`unit`) and any further rule (`note`).
    public func integer(
        _ key: String, default value: Int64, in range: ClosedRange<Int64>, counting unit: IntegerUnit? = nil,
        note: String? = nil
    ) throws(StrategyConfigurationError) -> Int64 {
        let text = take(key)
        let bounds = "from \(range.lowerBound) to \(range.upperBound)"
        let allowed =
            (unit.map { "a whole number of \($0.rawValue) \(bounds) (\($0.meaning(lotSizes: lotSizes)))" }
                ?? "an integer \(bounds)")
            + (note.map { " (\($0))" } ?? "")
        let result: Int64
        if let text {
            guard let parsed = Int64(text), range.contains(parsed) else {
                throw .invalidParameter(strategy: strategy, key: key, value: text, allowed: allowed)
            }
            result = parsed
        } else {
            guard range.contains(value) else {
                throw .invalidParameter(
                    strategy: strategy, key: key, value: "\(value)",
                    allowed: allowed + "; \(value) is its default: give \(key)")
            }
            result = value
        }
        resolved.append((key, "\(result)"))
        return result
    }

    /// A decimal with at most `decimals` places, in units of 10^-decimals, in `range` (in those
    /// units); `default` is decimal text. "2.5" with 3 decimals is 2500.
    public func fixed(
        _ key: String, default value: String, decimals: Int, in range: ClosedRange<Int64>, note: String? = nil
    ) throws(StrategyConfigurationError) -> Int64 {
        let given = take(key)
        let text = given ?? value
        let scale = (try? Increment(units: 1, decimals: decimals)) ?? (try? Increment("1"))
        let bounds = { (units: Int64) in
            scale.map { Price(ticks: units).formatted(tickSize: $0) } ?? "\(units)"
        }
        let allowed =
            "a decimal from \(bounds(range.lowerBound)) to \(bounds(range.upperBound)), at most \(decimals) decimals"
            + (note.map { " (\($0))" } ?? "") + (given == nil ? "; \(value) is its default: give \(key)" : "")
        guard let scale, let units = try? Price(text, tickSize: scale).ticks, range.contains(units) else {
            throw .invalidParameter(strategy: strategy, key: key, value: text, allowed: allowed)
        }
        resolved.append((key, Price(ticks: units).formatted(tickSize: scale)))
        return units
    }

    /// A quantity as a decimal in the instruments' units (`"0.5"` BTC), converted to lots of
    /// each of `lotSizes`: it must be positive, a whole number of every instrument's lots, and
    /// at most 10^12 lots. The default is one lot of the first instrument.
    public func lots(_ key: String, lotSizes: [Increment]) throws(StrategyConfigurationError) -> [Int64] {
        let first = lotSizes.first ?? InstrumentDefinition.synthetic(InstrumentID(0), hosted: false).lotSize
        let text = take(key) ?? Quantity(lots: 1).formatted(lotSize: first)
        var result: [Int64] = []
        for lotSize in lotSizes {
            guard let quantity = try? Quantity(text, lotSize: lotSize), (1...1_000_000_000_000).contains(quantity.lots)
            else {
                if let finer = try? Increment(text), finer.decimals > lotSize.decimals {
                    throw .quantityFinerThanLot(
                        strategy: strategy, key: key, value: text, decimals: finer.decimals, lotSize: lotSize)
                }
                throw .invalidParameter(
                    strategy: strategy, key: key, value: text, allowed: StrategyConfigurationError.quantityRule(lotSize)
                )
            }
            result.append(quantity.lots)
        }
        // Described as its plain decimal (`.010` as `0.01`, `1.` as `1`), so that a strategy's
        // description says one value one way: `Increment` reads a positive decimal so.
        resolved.append((key, (try? Increment(text))?.description ?? text))
        return result
    }

    /// Keys given that no read asked for.
    public var unreadKeys: [String] { given.map(\.key) }
}

/// A strategy configuration the engine cannot run. Exit status 2: nothing started.
public enum StrategyConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownStrategy(name: String, allowed: [String])
    case unknownParameter(strategy: String, key: String, allowed: [String])
    case invalidParameter(strategy: String, key: String, value: String, allowed: String)
    case duplicateParameter(strategy: String, key: String)
    case duplicateID(UInt16)
    case invalidInstruments(strategy: String, reason: String)
    case invalid(strategy: String, reason: String)
    /// A positive quantity with more decimals (`decimals`) than the instrument's lot grid.
    case quantityFinerThanLot(strategy: String, key: String, value: String, decimals: Int, lotSize: Increment)

    public var description: String {
        switch self {
        case .unknownStrategy(let name, let allowed):
            return "unknown strategy '\(name)': use one of \(allowed.joined(separator: ", "))"
        case .unknownParameter(let strategy, let key, let allowed):
            return "strategy \(strategy) has no parameter '\(key)': it takes "
                + (allowed.isEmpty ? "none" : allowed.joined(separator: ", "))
        case .invalidParameter(let strategy, let key, let value, let allowed):
            return "strategy \(strategy): \(key)=\(value) is not allowed: use \(allowed)"
        case .duplicateParameter(let strategy, let key):
            return "strategy \(strategy): parameter '\(key)' is given twice"
        case .duplicateID(let id):
            return "two strategies have id \(id): give each its own id"
        case .invalidInstruments(let strategy, let reason):
            return "strategy \(strategy): \(reason)"
        case .invalid(let strategy, let reason):
            return "strategy \(strategy): \(reason)"
        case .quantityFinerThanLot(let strategy, let key, let value, _, let lotSize):
            return Self.invalidParameter(
                strategy: strategy, key: key, value: value, allowed: Self.quantityRule(lotSize)
            )
            .description
        }
    }

    /// What a quantity parameter must be on `lotSize`.
    static func quantityRule(_ lotSize: Increment) -> String {
        "a positive quantity in the instrument's units on its lot grid of \(lotSize) (at most 10^12 lots)"
    }
}

/// What an integer parameter counts, for the message that refuses a value.
public enum IntegerUnit: String, Sendable {
    case lots, ticks

    /// What one of them is, with the instruments' lot sizes (`lotSizes`, when known).
    public func meaning(lotSizes: [Increment] = []) -> String {
        switch self {
        case .lots:
            guard let lot = lotSizes.first else { return "a lot is the instrument's lot size" }
            guard lotSizes.allSatisfy({ $0 == lot }) else {
                return "a lot is each instrument's lot size: "
                    + lotSizes.map { "\($0)" }.joined(separator: ", ")
            }
            return "a lot is the instrument's lot size, \(lot): 10 lots are "
                + Quantity(lots: 10).formatted(lotSize: lot)
        case .ticks: return "a tick is the instrument's price step"
        }
    }
}
