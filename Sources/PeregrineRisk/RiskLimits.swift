import PeregrineModel

/// The risk rules resolved for the engine's strategies: every limit in the units the checks
/// compare (lots, ticks, money, currency units), laid out like the order management's
/// positions (each strategy's instruments in turn). Built once at set-up.
///
/// Amounts summed across instruments (gross exposure, the day's P&L) are in *currency units*:
/// 10^-D of the quote currency, D being the largest `tick decimals + lot decimals + 8` among
/// the instruments quoted in it, so every instrument's money (10^-8 tick × lot) converts exactly
/// by a whole factor.
public struct RiskLimits: Hashable, Sendable {
    /// Per position: the strategy's limits in that instrument.
    public var instrumentLimits: [InstrumentLimits]
    /// Per strategy: its order-rate throttle (`unlimited` when none).
    public var throttles: [TokenBucket]
    /// The quote currencies, and the decimals of each one's currency units.
    public var currencies: [String]
    public var currencyDecimals: [Int]
    /// Per position: its currency's index, and currency units per unit of the instrument's money.
    public var positionCurrency: [Int32]
    public var positionFactor: [Int128]
    /// Per strategy and currency (`slot × currencies + currency`): the most gross exposure and
    /// the most loss in a trading day, in currency units (`Int128.max`: off).
    public var exposureLimits: [Int128]
    public var lossLimits: [Int128]

    public static let off = Int128.max

    /// Whether any strategy has a daily loss limit (the logic then tracks the day's P&L).
    public var hasLossLimits: Bool { lossLimits.contains { $0 != Self.off } }
    /// Whether any check needs the instruments' marks (mids).
    public var needsMarks: Bool {
        hasLossLimits || exposureLimits.contains { $0 != Self.off }
            || instrumentLimits.contains { $0.collarBasisPoints >= 0 || $0.maxOrderNotional.units != .max }
    }

    /// No limit anywhere (the kill switch still works).
    public static func unlimited(strategies: [(id: UInt16, instruments: [InstrumentID])]) -> RiskLimits {
        let positions = strategies.reduce(0) { $0 + $1.instruments.count }
        return RiskLimits(
            instrumentLimits: Array(repeating: .none, count: positions),
            throttles: Array(repeating: .unlimited, count: strategies.count), currencies: [], currencyDecimals: [],
            positionCurrency: Array(repeating: 0, count: positions),
            positionFactor: Array(repeating: 0, count: positions),
            exposureLimits: [], lossLimits: [])
    }

    /// Resolves `rules` for `strategies` (each one's id and instruments, in slot order) trading
    /// `instruments`. Throws naming the rule (`risk[K]`, from 1), key and value when a rule names
    /// a strategy or instrument that is not there, sets a strategy limit on an instrument, or a
    /// value that is off the instrument's grid, negative or out of range.
    public static func resolve(
        rules: [RiskRule], instruments definitions: [InstrumentDefinition],
        strategies: [(id: UInt16, instruments: [InstrumentID])]
    ) throws(RiskConfigurationError) -> RiskLimits {
        var byID: [InstrumentID: InstrumentDefinition] = [:]
        for definition in definitions { byID[definition.id] = definition }
        // Currencies and their units.
        var decimalsByCurrency: [String: Int] = [:]
        for definition in definitions {
            let decimals = definition.tickSize.decimals + definition.lotSize.decimals + 8
            decimalsByCurrency[definition.quoteCurrency] = max(
                decimalsByCurrency[definition.quoteCurrency] ?? 0, decimals)
        }
        let currencies = decimalsByCurrency.keys.sorted()
        let currencyDecimals = currencies.map { decimalsByCurrency[$0] ?? 0 }
        var limits = RiskLimits.unlimited(strategies: strategies)
        limits.currencies = currencies
        limits.currencyDecimals = currencyDecimals
        limits.exposureLimits = Array(repeating: off, count: strategies.count * currencies.count)
        limits.lossLimits = limits.exposureLimits
        var position = 0
        for strategy in strategies {
            for instrument in strategy.instruments {
                if let definition = byID[instrument], let currency = currencies.firstIndex(of: definition.quoteCurrency)
                {
                    limits.positionCurrency[position] = Int32(currency)
                    limits.positionFactor[position] = try factor(definition, decimals: currencyDecimals[currency])
                }
                position += 1
            }
        }
        // Check each rule on its own first, so an error names it.
        let ids = Set(strategies.map(\.id))
        var ruleInstruments: [InstrumentID?] = []
        for (index, rule) in rules.enumerated() {
            let name = "risk[\(index + 1)]"
            if let strategy = rule.strategy, !ids.contains(strategy) {
                throw RiskConfigurationError(
                    "\(name).strategy = \(strategy): no strategy has that id "
                        + (strategies.isEmpty
                            ? "(no strategy is configured)"
                            : "(ids: " + strategies.map { "\($0.id)" }.joined(separator: ", ") + ")"))
            }
            var instrument: InstrumentID? = nil
            if let text = rule.instrument {
                guard
                    let found = definitions.first(where: { $0.symbol == text })?.id
                        ?? UInt32(text).flatMap({ byID[InstrumentID($0)]?.id })
                else {
                    throw RiskConfigurationError(
                        "\(name).instrument = \"\(text)\": no instrument has that symbol or id (symbols: "
                            + definitions.map(\.symbol).joined(separator: ", ") + ")")
                }
                instrument = found
                if rule.hasStrategyLimits {
                    throw RiskConfigurationError(
                        "\(name) names an instrument, so it cannot set max_gross_exposure, max_daily_loss, "
                            + "max_orders_per_second or order_burst (limits of a whole strategy): move them to a rule without one"
                    )
                }
                if let strategy = rule.strategy, let layout = strategies.first(where: { $0.id == strategy }),
                    !layout.instruments.contains(found)
                {
                    throw RiskConfigurationError(
                        "\(name).instrument = \"\(text)\": strategy \(strategy) does not trade it")
                }
            }
            if rule.orderBurst != nil && rule.maxOrdersPerSecond == nil {
                throw RiskConfigurationError("\(name).order_burst needs max_orders_per_second in the same rule")
            }
            // Every value, whether or not the rule ends up in force anywhere (a rule a more
            // specific one overrides, or one for an instrument no strategy trades): a typo is
            // refused, never silently unused.
            // A rule without an instrument covers each of its strategy's (or every strategy's):
            // its quantities must lie on each one's lot grid, in force there or not.
            let covered = strategies.filter { rule.strategy == nil || $0.id == rule.strategy }
                .flatMap(\.instruments).compactMap { byID[$0] }
            try checkValues(
                rule, name, instrument.flatMap { byID[$0] }, covering: covered, decimalsByCurrency, currencies)
            ruleInstruments.append(instrument)
        }
        // Instrument limits, field by field, the most specific rule first.
        position = 0
        for strategy in strategies {
            for instrument in strategy.instruments {
                let definition = byID[instrument] ?? .synthetic(instrument, hosted: true)
                func rule<T>(_ field: (RiskRule) -> T?) -> (value: T, index: Int)? {
                    let ranked = rules.indices.filter { index in
                        (rules[index].strategy == nil || rules[index].strategy == strategy.id)
                            && (ruleInstruments[index] == nil || ruleInstruments[index] == instrument)
                    }.sorted {
                        specificity(rules[$0], ruleInstruments[$0]) > specificity(rules[$1], ruleInstruments[$1])
                    }
                    for index in ranked { if let value = field(rules[index]) { return (value, index) } }
                    return nil
                }
                var entry = InstrumentLimits.none
                if let (text, index) = rule(\.maxOrderQuantity) {
                    entry.maxOrderLots = try lots(text, definition, "risk[\(index + 1)].max_order_quantity")
                }
                if let (text, index) = rule(\.maxOrderNotional) {
                    entry.maxOrderNotional = try money(text, definition, "risk[\(index + 1)].max_order_notional")
                }
                if let (text, index) = rule(\.priceCollarBasisPoints) {
                    entry.collarBasisPoints = try collar(text, "risk[\(index + 1)]")
                }
                if let (count, index) = rule(\.maxOpenOrders) {
                    entry.maxOpenOrders = try openOrders(count, "risk[\(index + 1)]")
                }
                if let (text, index) = rule(\.maxPosition) {
                    entry.maxPositionLots = try lots(text, definition, "risk[\(index + 1)].max_position")
                }
                limits.instrumentLimits[position] = entry
                position += 1
            }
        }
        // Strategy limits: the strategy's own rule, else the rule for every strategy.
        for (slot, strategy) in strategies.enumerated() {
            let ranked = rules.indices.filter { ruleInstruments[$0] == nil }.filter {
                rules[$0].strategy == nil || rules[$0].strategy == strategy.id
            }.sorted { (rules[$0].strategy != nil ? 1 : 0) > (rules[$1].strategy != nil ? 1 : 0) }
            let traded = Set(strategy.instruments.compactMap { byID[$0]?.quoteCurrency })
            if let index = ranked.first(where: { rules[$0].maxOrdersPerSecond != nil }),
                let text = rules[index].maxOrdersPerSecond
            {
                let milli = try milliOrdersPerSecond(text, "risk[\(index + 1)]")
                let burst = try orderBurst(rules[index].orderBurst ?? max(1, Int(milli / 1000)), "risk[\(index + 1)]")
                limits.throttles[slot] = TokenBucket(milliOrdersPerSecond: Int64(milli), burst: Int64(burst))
            }
            for (key, path) in [("max_gross_exposure", \RiskRule.maxGrossExposure), ("max_daily_loss", \.maxDailyLoss)]
            {
                // Per currency, the most specific rule that sets it.
                for currency in traded {
                    guard let currencyIndex = currencies.firstIndex(of: currency) else { continue }
                    for index in ranked {
                        let amounts = rules[index][keyPath: path]
                        guard let text = amounts[currency] ?? amounts["*"] else { continue }
                        let name = "risk[\(index + 1)].\(key)"
                        if amounts[currency] == nil, traded.count > 1 {
                            throw RiskConfigurationError(
                                "\(name) = \"\(text)\": strategy \(strategy.id) trades in "
                                    + traded.sorted().joined(separator: " and ")
                                    + "; give one amount per currency, e.g. { \(traded.sorted().map { "\($0) = \"…\"" }.joined(separator: ", ")) }"
                            )
                        }
                        let value = try currencyUnits(text, decimals: currencyDecimals[currencyIndex], name)
                        let cell = slot * currencies.count + currencyIndex
                        if key == "max_gross_exposure" {
                            limits.exposureLimits[cell] = value
                        } else {
                            limits.lossLimits[cell] = value
                        }
                        break
                    }
                }
            }
        }
        return limits
    }

    /// Checks every value of `rule` (named `name`, `risk[K]`) on its own: decimals, signs and
    /// ranges; quantities and notionals on the grid of `definition`, the instrument it names, if
    /// any (otherwise where it applies); currency amounts in a currency some instrument is quoted
    /// in, to its decimals.
    static func checkValues(
        _ rule: RiskRule, _ name: String, _ definition: InstrumentDefinition?,
        covering covered: [InstrumentDefinition], _ decimalsByCurrency: [String: Int], _ currencies: [String]
    ) throws(RiskConfigurationError) {
        for (key, text) in [("max_order_quantity", rule.maxOrderQuantity), ("max_position", rule.maxPosition)] {
            guard let text else { continue }
            if let definition {
                _ = try lots(text, definition, "\(name).\(key)")
            } else {
                _ = try currencyUnits(text, decimals: 18, "\(name).\(key)")
                for definition in covered { _ = try lots(text, definition, "\(name).\(key)") }
            }
        }
        if let text = rule.maxOrderNotional {
            if let definition {
                _ = try money(text, definition, "\(name).max_order_notional")
            } else {
                _ = try currencyUnits(
                    text, decimals: decimalsByCurrency.values.max() ?? 18, "\(name).max_order_notional")
            }
        }
        if let text = rule.priceCollarBasisPoints { _ = try collar(text, name) }
        if let count = rule.maxOpenOrders { _ = try openOrders(count, name) }
        if let text = rule.maxOrdersPerSecond { _ = try milliOrdersPerSecond(text, name) }
        if let burst = rule.orderBurst { _ = try orderBurst(burst, name) }
        for (key, amounts) in [("max_gross_exposure", rule.maxGrossExposure), ("max_daily_loss", rule.maxDailyLoss)] {
            for (currency, text) in amounts.sorted(by: { $0.key < $1.key }) {
                if currency == "*" {
                    _ = try currencyUnits(text, decimals: decimalsByCurrency.values.max() ?? 18, "\(name).\(key)")
                    continue
                }
                guard let decimals = decimalsByCurrency[currency] else {
                    throw RiskConfigurationError(
                        "\(name).\(key).\(currency): no instrument is quoted in \(currency) (currencies: "
                            + currencies.joined(separator: ", ") + ")")
                }
                _ = try currencyUnits(text, decimals: decimals, "\(name).\(key)")
            }
        }
    }

    static func collar(_ text: String, _ name: String) throws(RiskConfigurationError) -> Int64 {
        guard let points = Int64(text), points >= 0, points <= 1_000_000 else {
            throw RiskConfigurationError("\(name).price_collar_bps = \"\(text)\": use whole basis points, 0 to 1000000")
        }
        return points
    }

    static func openOrders(_ count: Int, _ name: String) throws(RiskConfigurationError) -> Int32 {
        guard count >= 0, count <= Int(Int32.max) else {
            throw RiskConfigurationError("\(name).max_open_orders = \(count): use 0 to \(Int32.max)")
        }
        return Int32(count)
    }

    static func milliOrdersPerSecond(_ text: String, _ name: String) throws(RiskConfigurationError) -> Int128 {
        let milli = try currencyUnits(text, decimals: 3, "\(name).max_orders_per_second")
        guard milli > 0, milli <= 1_000_000_000 else {
            throw RiskConfigurationError(
                "\(name).max_orders_per_second = \"\(text)\": use more than 0 and at most 1000000")
        }
        return milli
    }

    static func orderBurst(_ burst: Int, _ name: String) throws(RiskConfigurationError) -> Int {
        guard burst >= 1, burst <= 1_000_000 else {
            throw RiskConfigurationError("\(name).order_burst = \(burst): use 1 to 1000000")
        }
        return burst
    }

    static func specificity(_ rule: RiskRule, _ instrument: InstrumentID?) -> Int {
        (rule.strategy != nil ? 2 : 0) + (instrument != nil ? 1 : 0)
    }

    /// Currency units per unit of `definition`'s money: tick units × lot units × 10^(D − tick
    /// decimals − lot decimals − 8).
    static func factor(_ definition: InstrumentDefinition, decimals: Int) throws(RiskConfigurationError) -> Int128 {
        var value = Int128(definition.tickSize.units) * Int128(definition.lotSize.units)
        for _ in 0..<(decimals - definition.tickSize.decimals - definition.lotSize.decimals - 8) {
            let (next, overflow) = value.multipliedReportingOverflow(by: 10)
            guard !overflow else {
                throw RiskConfigurationError(
                    "instrument \(definition.symbol): its tick and lot sizes cannot be summed with the other "
                        + "\(definition.quoteCurrency) instruments' exactly; give them fewer decimals")
            }
            value = next
        }
        return value
    }

    static func lots(_ text: String, _ definition: InstrumentDefinition, _ name: String) throws(RiskConfigurationError)
        -> Int64
    {
        do {
            let quantity = try Quantity(text, lotSize: definition.lotSize)
            guard quantity.lots >= 0 else { throw ModelError.malformedDecimal(input: text) }
            return quantity.lots
        } catch {
            throw RiskConfigurationError(
                "\(name) = \"\(text)\": not a quantity of \(definition.symbol) (lot \(definition.lotSize)): \(error)")
        }
    }

    /// A notional in the quote currency as the instrument's money, rounded down (a limit).
    static func money(_ text: String, _ definition: InstrumentDefinition, _ name: String) throws(RiskConfigurationError)
        -> Money
    {
        let decimals = definition.tickSize.decimals + definition.lotSize.decimals + 8
        let value = try currencyUnits(text, decimals: decimals, name)
        return Money(units: value / (Int128(definition.tickSize.units) * Int128(definition.lotSize.units)))
    }

    /// A non-negative decimal as a whole number of 10^-decimals; throws when it has more
    /// decimals or does not fit.
    public static func currencyUnits(_ text: String, decimals: Int, _ name: String) throws(RiskConfigurationError)
        -> Int128
    {
        var value: Int128 = 0
        var fraction = -1
        var digits = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "."), fraction < 0 {
                fraction = 0
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw RiskConfigurationError("\(name) = \"\(text)\": not a non-negative decimal")
            }
            if fraction >= 0 { fraction += 1 }
            digits += 1
            let (times, first) = value.multipliedReportingOverflow(by: 10)
            let (sum, second) = times.addingReportingOverflow(Int128(byte - UInt8(ascii: "0")))
            guard !first, !second else { throw tooLarge(text, decimals: decimals, name) }
            value = sum
        }
        guard digits > 0 else { throw RiskConfigurationError("\(name) = \"\(text)\": not a non-negative decimal") }
        let places = max(fraction, 0)
        guard places <= decimals else {
            throw RiskConfigurationError("\(name) = \"\(text)\": at most \(decimals) decimals")
        }
        for _ in places..<decimals {
            let (next, overflow) = value.multipliedReportingOverflow(by: 10)
            guard !overflow else { throw tooLarge(text, decimals: decimals, name) }
            value = next
        }
        return value
    }

    /// A value beyond what 128 bits hold at `decimals` decimals, with the largest that fits.
    static func tooLarge(_ text: String, decimals: Int, _ name: String) -> RiskConfigurationError {
        var largest = Int128.max
        for _ in 0..<decimals { largest /= 10 }
        return RiskConfigurationError("\(name) = \"\(text)\": too large (at most \(largest))")
    }
}
