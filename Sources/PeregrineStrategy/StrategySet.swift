import PeregrineCore
import PeregrineModel

/// Strategies of one type, in memory allocated once.
@usableFromInline
struct StrategySlots<S: Strategy>: ~Copyable {
    @usableFromInline let base: UnsafeMutablePointer<S>
    @usableFromInline let count: Int

    init(_ items: [S]) {
        count = items.count
        base = .allocate(capacity: Swift.max(items.count, 1))
        base.initialize(from: items, count: items.count)
    }

    @inlinable deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }
}

/// The strategies one engine runs, in configuration order: the built-ins and any number of one
/// outside type `Custom` (from a package that depends on Peregrine; `IdleStrategy` when none).
///
/// Dispatch is static: each slot names its type (a small enum) and its place among that
/// type's strategies, and `deliver` switches on it, so every call is to a concrete type, inlined
/// and specialised, with no existential and no allocation. Built once at set-up; single-threaded.
public struct StrategySet<Custom: Strategy>: ~Copyable {
    @usableFromInline
    enum Kind: UInt8, BitwiseCopyable {
        case marketMaker, largeTradeFollower, goldenCross, meanReversion, crossVenueArbitrage, custom
    }

    @usableFromInline
    struct Entry: BitwiseCopyable {
        @usableFromInline var kind: Kind
        @usableFromInline var index: Int
        @usableFromInline var interest: MarketDataInterest = .all
    }

    @usableFromInline let entries: UnsafeMutablePointer<Entry>
    /// How many strategies run.
    public let count: Int
    @usableFromInline let marketMakers: StrategySlots<MarketMaker>
    @usableFromInline let followers: StrategySlots<LargeTradeFollower>
    @usableFromInline let goldenCrosses: StrategySlots<GoldenCross>
    @usableFromInline let meanReversions: StrategySlots<MeanReversion>
    @usableFromInline let arbitrages: StrategySlots<CrossVenueArbitrage>
    @usableFromInline let customs: StrategySlots<Custom>
    /// Each strategy's id, account and instruments, in slot order.
    public let layouts: [StrategyLayout]
    /// Each strategy's name and every parameter as used (defaults included), in slot order:
    /// stored with the journal's logic settings.
    public let descriptions: [String]

    /// The names of the built-in strategies.
    public static var builtInNames: [String] {
        [
            MarketMaker.name, GoldenCross.name, MeanReversion.name, CrossVenueArbitrage.name,
            LargeTradeFollower.name,
        ]
    }

    /// The names `specs` may use: the built-ins and `Custom`'s.
    public static var names: [String] {
        Custom.self == IdleStrategy.self ? builtInNames + [IdleStrategy.name] : builtInNames + [Custom.name]
    }

    /// Builds every strategy of `specs`. `hosted` and `marketData` are the engine's instruments
    /// (a strategy's instruments must be among them; with none named it takes its default).
    /// Throws for an unknown name, a repeated id, an unknown instrument, an unknown, repeated
    /// or out-of-range parameter. `lotSizes` and `tickSizes` give instruments' grids (the
    /// synthetic 0.001 and 0.01 for one not given): quantity parameters in the instruments'
    /// units convert with the lots.
    public init(
        specs: [StrategySpec], hosted: [InstrumentID], marketData: [InstrumentID],
        lotSizes: [InstrumentID: Increment] = [:], tickSizes: [InstrumentID: Increment] = [:]
    ) throws(StrategyConfigurationError) {
        var entries: [Entry] = []
        var layouts: [StrategyLayout] = []
        var descriptions: [String] = []
        var marketMakers: [MarketMaker] = []
        var followers: [LargeTradeFollower] = []
        var goldenCrosses: [GoldenCross] = []
        var meanReversions: [MeanReversion] = []
        var arbitrages: [CrossVenueArbitrage] = []
        var customs: [Custom] = []
        let known = Set(hosted + marketData)
        var ids = Set<UInt16>()
        let resolvedIDs = specs.resolvedIDs
        for (position, spec) in specs.enumerated() {
            guard Self.names.contains(spec.name), Self.isWord(spec.name) else {
                throw .unknownStrategy(name: spec.name, allowed: Self.names)
            }
            // Names, keys and values are stored as `name key=value …` in the logic settings.
            for (key, value) in spec.parameters where !Self.isWord(key) || !Self.isWord(value, isValue: true) {
                throw .invalidParameter(
                    strategy: spec.name, key: key, value: value,
                    allowed: "a key and value without spaces, '=' (in the key) or ';'")
            }
            let id = resolvedIDs[position]
            guard ids.insert(id).inserted else { throw .duplicateID(id) }
            var seen = Set<String>()
            for (key, _) in spec.parameters where !seen.insert(key).inserted {
                throw .duplicateParameter(strategy: spec.name, key: key)
            }
            let parameters = StrategyParameters(strategy: spec.name, given: spec.parameters)
            let account = try parameters.integer("account", default: 1_000 + Int64(id), in: 1...Int64(UInt32.max))
            let defaults: [InstrumentID]
            let type = Self.type(named: spec.name)
            switch type.defaultInstruments {
            case .hostedOrMarketData: defaults = hosted.isEmpty ? marketData : hosted
            case .marketData: defaults = marketData
            }
            let instruments = spec.instruments.isEmpty ? defaults : spec.instruments
            guard !instruments.isEmpty else {
                throw .invalidInstruments(strategy: spec.name, reason: "it has no instruments to trade: name some")
            }
            guard Set(instruments).count == instruments.count else {
                throw .invalidInstruments(strategy: spec.name, reason: "an instrument is named twice")
            }
            if let unknown = instruments.first(where: { !known.contains($0) }) {
                throw .invalidInstruments(
                    strategy: spec.name,
                    reason: "instrument \(unknown.rawValue) is not one of this engine's "
                        + "(market data \(Self.rangeText(marketData)), hosted \(Self.rangeText(hosted)))")
            }
            let configuration = StrategyConfiguration(
                name: spec.name, id: StrategyID(id), account: AccountID(UInt32(account)), instruments: instruments,
                lotSizes: instruments.map {
                    lotSizes[$0] ?? InstrumentDefinition.synthetic($0, hosted: false).lotSize
                },
                tickSizes: instruments.map {
                    tickSizes[$0] ?? InstrumentDefinition.synthetic($0, hosted: false).tickSize
                }, parameters: parameters)
            switch spec.name {
            case MarketMaker.name:
                entries.append(Entry(kind: .marketMaker, index: marketMakers.count))
                marketMakers.append(try MarketMaker(configuration))
            case LargeTradeFollower.name:
                entries.append(Entry(kind: .largeTradeFollower, index: followers.count))
                followers.append(try LargeTradeFollower(configuration))
            case GoldenCross.name:
                entries.append(Entry(kind: .goldenCross, index: goldenCrosses.count))
                goldenCrosses.append(try GoldenCross(configuration))
            case MeanReversion.name:
                entries.append(Entry(kind: .meanReversion, index: meanReversions.count))
                meanReversions.append(try MeanReversion(configuration))
            case CrossVenueArbitrage.name:
                entries.append(Entry(kind: .crossVenueArbitrage, index: arbitrages.count))
                arbitrages.append(try CrossVenueArbitrage(configuration))
            default:
                entries.append(Entry(kind: .custom, index: customs.count))
                customs.append(try Custom(configuration))
            }
            entries[entries.count - 1].interest = type.marketData
            if let unread = parameters.unreadKeys.first {
                // (`id` and `instruments` are read before the strategy's own parameters.)
                throw .unknownParameter(
                    strategy: spec.name, key: unread, allowed: ["id", "instruments"] + parameters.resolved.map(\.key))
            }
            layouts.append(
                StrategyLayout(
                    id: StrategyID(id), account: AccountID(UInt32(account)), instruments: instruments,
                    orderUpdates: type.orderUpdates))
            descriptions.append(
                ([spec.name, "id=\(id)", "instruments=" + instruments.map { "\($0.rawValue)" }.joined(separator: ",")]
                    + parameters.resolved.map { "\($0.key)=\($0.value)" }).joined(separator: " "))
        }
        count = entries.count
        self.entries = .allocate(capacity: Swift.max(entries.count, 1))
        self.entries.initialize(from: entries, count: entries.count)
        self.marketMakers = StrategySlots(marketMakers)
        self.followers = StrategySlots(followers)
        self.goldenCrosses = StrategySlots(goldenCrosses)
        self.meanReversions = StrategySlots(meanReversions)
        self.arbitrages = StrategySlots(arbitrages)
        self.customs = StrategySlots(customs)
        self.layouts = layouts
        self.descriptions = descriptions
    }

    deinit { entries.deallocate() }

    /// Whether `text` stands as one word of a strategy's description (`name key=value …`, one
    /// line of the logic settings): no whitespace or `;`; a name or key is not empty and holds no
    /// `=` (a value may, and may be empty).
    static func isWord(_ text: String, isValue: Bool = false) -> Bool {
        (isValue || !text.isEmpty) && !text.contains(where: { $0.isWhitespace || $0 == ";" || (!isValue && $0 == "=") })
    }

    /// The strategy type `name` selects (the built-ins, else `Custom`): what it declares
    /// (set-up only).
    static func type(named name: String) -> any Strategy.Type {
        switch name {
        case MarketMaker.name: return MarketMaker.self
        case LargeTradeFollower.name: return LargeTradeFollower.self
        case GoldenCross.name: return GoldenCross.self
        case MeanReversion.name: return MeanReversion.self
        case CrossVenueArbitrage.name: return CrossVenueArbitrage.self
        default: return Custom.self
        }
    }

    /// Whether the strategy in `slot` wants `call` (market data it did not ask for is skipped).
    @inlinable
    public func wants(_ call: StrategyCall, slot: Int) -> Bool { entries[slot].interest.isSuperset(of: call.interest) }

    static func rangeText(_ instruments: [InstrumentID]) -> String {
        guard let first = instruments.first, let last = instruments.last else { return "none" }
        return first == last ? "\(first.rawValue)" : "\(first.rawValue)-\(last.rawValue)"
    }

    /// Hands `call` to the strategy in `slot`.
    @inlinable
    public mutating func deliver(_ call: StrategyCall, slot: Int, _ context: inout StrategyContext) {
        let entry = entries[slot]
        switch entry.kind {
        case .marketMaker: call.deliver(to: &marketMakers.base[entry.index], &context)
        case .largeTradeFollower: call.deliver(to: &followers.base[entry.index], &context)
        case .goldenCross: call.deliver(to: &goldenCrosses.base[entry.index], &context)
        case .meanReversion: call.deliver(to: &meanReversions.base[entry.index], &context)
        case .crossVenueArbitrage: call.deliver(to: &arbitrages.base[entry.index], &context)
        case .custom: call.deliver(to: &customs.base[entry.index], &context)
        }
    }

    /// Copies of the strategies of the outside type, in configuration order (allocates: for
    /// tests and tools).
    public var customStrategies: [Custom] { (0..<customs.count).map { customs.base[$0] } }

    /// Hands an order update to the strategy in `slot`.
    @inlinable
    public mutating func deliver(_ update: OrderUpdate, slot: Int, _ context: inout StrategyContext) {
        let entry = entries[slot]
        switch entry.kind {
        case .marketMaker: update.deliver(to: &marketMakers.base[entry.index], &context)
        case .largeTradeFollower: update.deliver(to: &followers.base[entry.index], &context)
        case .goldenCross: update.deliver(to: &goldenCrosses.base[entry.index], &context)
        case .meanReversion: update.deliver(to: &meanReversions.base[entry.index], &context)
        case .crossVenueArbitrage: update.deliver(to: &arbitrages.base[entry.index], &context)
        case .custom: update.deliver(to: &customs.base[entry.index], &context)
        }
    }

    /// Visits every strategy's state, in slot order.
    public mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try visitor.visitCount(count, "strategies")
        for slot in 0..<count {
            let entry = entries[slot]
            switch entry.kind {
            case .marketMaker: try marketMakers.base[entry.index].visitState(&visitor)
            case .largeTradeFollower: try followers.base[entry.index].visitState(&visitor)
            case .goldenCross: try goldenCrosses.base[entry.index].visitState(&visitor)
            case .meanReversion: try meanReversions.base[entry.index].visitState(&visitor)
            case .crossVenueArbitrage: try arbitrages.base[entry.index].visitState(&visitor)
            case .custom: try customs.base[entry.index].visitState(&visitor)
            }
        }
    }
}
