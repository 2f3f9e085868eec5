import PeregrineModel

/// One `[[risk]]` table of the configuration, as written: limits for one strategy (or every
/// strategy) in one instrument (or each of its instruments). Decimals stay text until
/// `RiskLimits.resolve` reads them against the instruments' grids.
///
/// Instrument limits: `max_order_quantity`, `max_order_notional`, `price_collar_bps`,
/// `max_open_orders`, `max_position`. Strategy limits (a rule without an instrument):
/// `max_gross_exposure` and `max_daily_loss` (per quote currency), `max_orders_per_second` and
/// `order_burst`. A more specific rule wins, field by field: strategy and instrument, then
/// strategy, then instrument, then neither. A limit no rule sets is off.
public struct RiskRule: Hashable, Sendable {
    /// The strategy's id (nil: every strategy).
    public var strategy: UInt16?
    /// The instrument's symbol or id (nil: each of the strategy's instruments).
    public var instrument: String?
    public var maxOrderQuantity: String?
    public var maxOrderNotional: String?
    public var priceCollarBasisPoints: String?
    public var maxOpenOrders: Int?
    public var maxPosition: String?
    /// By quote currency; the key `*` means every currency the strategy trades (allowed when it
    /// trades in one only).
    public var maxGrossExposure: [String: String]
    public var maxDailyLoss: [String: String]
    public var maxOrdersPerSecond: String?
    public var orderBurst: Int?

    public init(
        strategy: UInt16? = nil, instrument: String? = nil, maxOrderQuantity: String? = nil,
        maxOrderNotional: String? = nil, priceCollarBasisPoints: String? = nil, maxOpenOrders: Int? = nil,
        maxPosition: String? = nil, maxGrossExposure: [String: String] = [:], maxDailyLoss: [String: String] = [:],
        maxOrdersPerSecond: String? = nil, orderBurst: Int? = nil
    ) {
        self.strategy = strategy
        self.instrument = instrument
        self.maxOrderQuantity = maxOrderQuantity
        self.maxOrderNotional = maxOrderNotional
        self.priceCollarBasisPoints = priceCollarBasisPoints
        self.maxOpenOrders = maxOpenOrders
        self.maxPosition = maxPosition
        self.maxGrossExposure = maxGrossExposure
        self.maxDailyLoss = maxDailyLoss
        self.maxOrdersPerSecond = maxOrdersPerSecond
        self.orderBurst = orderBurst
    }

    /// The keys of a `[[risk]]` table.
    public static let keys = [
        "strategy", "instrument", "max_order_quantity", "max_order_notional", "price_collar_bps", "max_open_orders",
        "max_position", "max_gross_exposure", "max_daily_loss", "max_orders_per_second", "order_burst",
    ]

    /// Whether it sets a limit that needs an instrument.
    var hasInstrumentLimits: Bool {
        maxOrderQuantity != nil || maxOrderNotional != nil || priceCollarBasisPoints != nil || maxOpenOrders != nil
            || maxPosition != nil
    }

    /// Whether it sets a limit of the whole strategy.
    var hasStrategyLimits: Bool {
        !maxGrossExposure.isEmpty || !maxDailyLoss.isEmpty || maxOrdersPerSecond != nil || orderBurst != nil
    }

    /// One line, `key=value` words (currency amounts as `max_daily_loss.USD=100`), read back by
    /// `init(settingsText:)`: how the journal's settings record it.
    public var settingsText: String {
        var words: [String] = []
        if let strategy { words.append("strategy=\(strategy)") }
        if let instrument { words.append("instrument=\(instrument)") }
        if let maxOrderQuantity { words.append("max_order_quantity=\(maxOrderQuantity)") }
        if let maxOrderNotional { words.append("max_order_notional=\(maxOrderNotional)") }
        if let priceCollarBasisPoints { words.append("price_collar_bps=\(priceCollarBasisPoints)") }
        if let maxOpenOrders { words.append("max_open_orders=\(maxOpenOrders)") }
        if let maxPosition { words.append("max_position=\(maxPosition)") }
        for (currency, amount) in maxGrossExposure.sorted(by: { $0.key < $1.key }) {
            words.append("max_gross_exposure.\(currency)=\(amount)")
        }
        for (currency, amount) in maxDailyLoss.sorted(by: { $0.key < $1.key }) {
            words.append("max_daily_loss.\(currency)=\(amount)")
        }
        if let maxOrdersPerSecond { words.append("max_orders_per_second=\(maxOrdersPerSecond)") }
        if let orderBurst { words.append("order_burst=\(orderBurst)") }
        return words.joined(separator: " ")
    }

    /// Reads `settingsText` back.
    public init(settingsText text: String) throws(RiskConfigurationError) {
        self.init()
        for word in text.split(separator: " ") {
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw RiskConfigurationError("risk rule word \"\(word)\" is not key=value") }
            let (key, value) = (parts[0], parts[1])
            func integer() throws(RiskConfigurationError) -> Int {
                guard let number = Int(value) else {
                    throw RiskConfigurationError("risk rule \(key)=\(value): not an integer")
                }
                return number
            }
            switch key {
            case "strategy":
                guard let id = UInt16(value) else { throw RiskConfigurationError("risk rule strategy=\(value)") }
                strategy = id
            case "instrument": instrument = value
            case "max_order_quantity": maxOrderQuantity = value
            case "max_order_notional": maxOrderNotional = value
            case "price_collar_bps": priceCollarBasisPoints = value
            case "max_open_orders": maxOpenOrders = try integer()
            case "max_position": maxPosition = value
            case "max_orders_per_second": maxOrdersPerSecond = value
            case "order_burst": orderBurst = try integer()
            default:
                if key.hasPrefix("max_gross_exposure.") {
                    maxGrossExposure[String(key.dropFirst("max_gross_exposure.".count))] = value
                } else if key.hasPrefix("max_daily_loss.") {
                    maxDailyLoss[String(key.dropFirst("max_daily_loss.".count))] = value
                } else {
                    throw RiskConfigurationError("risk rule key \"\(key)\" is unknown")
                }
            }
        }
    }
}

/// A risk configuration that cannot be used; the message names the rule, key and value, and
/// says what is allowed.
public struct RiskConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
