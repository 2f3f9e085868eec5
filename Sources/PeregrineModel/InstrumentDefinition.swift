/// How a contract's profit is settled. Only linear contracts (P&L in the quote currency,
/// price × quantity) are supported; inverse contracts are refused when configured.
public enum ContractKind: String, Hashable, Sendable, CaseIterable {
    case linear
}

/// The reference data of one instrument: what it is called, where it trades, its grids, its
/// minimums and its fees. Prices and quantities inside the engine are whole ticks and lots;
/// `tickSize` and `lotSize` say what one of each is worth, for reading and printing decimals.
///
/// Built once at set-up (strings allocate); the engine keeps what it needs per order in
/// `InstrumentRules`.
public struct InstrumentDefinition: Hashable, Sendable {
    public var id: InstrumentID
    public var symbol: String
    /// Where the instrument trades: `hosted` (this engine's matching engine) or the name of an
    /// outside venue (orders for it leave as venue orders).
    public var venue: String
    public var tickSize: Increment
    public var lotSize: Increment
    /// The smallest order quantity.
    public var minimumQuantity: Quantity
    /// The smallest order notional (price × quantity), as money (0: none).
    public var minimumNotional: Money
    public var quoteCurrency: String
    public var makerFee: FeeRate
    public var takerFee: FeeRate
    public var contract: ContractKind

    /// The venue name of instruments traded by this engine's matching engine.
    public static let hostedVenue = "hosted"

    public init(
        id: InstrumentID, symbol: String, venue: String, tickSize: Increment, lotSize: Increment,
        minimumQuantity: Quantity = Quantity(lots: 1), minimumNotional: Money = .zero, quoteCurrency: String = "USD",
        makerFee: FeeRate = .zero, takerFee: FeeRate = .zero, contract: ContractKind = .linear
    ) {
        self.id = id
        self.symbol = symbol
        self.venue = venue
        self.tickSize = tickSize
        self.lotSize = lotSize
        self.minimumQuantity = minimumQuantity
        self.minimumNotional = minimumNotional
        self.quoteCurrency = quoteCurrency
        self.makerFee = makerFee
        self.takerFee = takerFee
        self.contract = contract
    }

    /// The reference data of a synthetic instrument (the defaults of `peregrine run`): price
    /// grid 0.01, lot 0.001, minimum one lot, quoted in USD, maker fee 0.0001, taker 0.0004.
    /// Market-data instruments are `SYN<id>` on venue `synthetic`; hosted ones `HOST<id>`.
    public static func synthetic(_ id: InstrumentID, hosted: Bool) -> InstrumentDefinition {
        let tick = Increment(constantUnits: 1, decimals: 2)
        let lot = Increment(constantUnits: 1, decimals: 3)
        return InstrumentDefinition(
            id: id, symbol: (hosted ? "HOST" : "SYN") + "\(id.rawValue)", venue: hosted ? hostedVenue : "synthetic",
            tickSize: tick, lotSize: lot, makerFee: FeeRate(perHundredMillion: 10_000),
            takerFee: FeeRate(perHundredMillion: 40_000))
    }

    /// Whether this engine's matching engine trades it.
    public var isHosted: Bool { venue == Self.hostedVenue }

    /// What the logic checks and charges per order.
    public var rules: InstrumentRules {
        InstrumentRules(
            minimumQuantity: minimumQuantity, minimumNotional: minimumNotional, makerFee: makerFee, takerFee: takerFee)
    }

    /// Reads `settingsText` back.
    public init(settingsText text: String) throws(ModelError) {
        let words = text.split(separator: " ").map(String.init)
        guard words.count >= 2, let raw = UInt32(words[0]) else { throw .malformedDecimal(input: text) }
        var fields: [String: String] = [:]
        for word in words.dropFirst(2) {
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw .malformedDecimal(input: word) }
            fields[parts[0]] = parts[1]
        }
        func field(_ name: String) throws(ModelError) -> String {
            guard let value = fields[name] else { throw .malformedDecimal(input: "\(name)= missing in '\(text)'") }
            return value
        }
        guard let minimumLots = Int64(try field("min-qty")), let notional = Int128(try field("min-notional")),
            let contract = ContractKind(rawValue: try field("contract"))
        else { throw .malformedDecimal(input: text) }
        self.init(
            id: InstrumentID(raw), symbol: words[1], venue: try field("venue"),
            tickSize: try Increment(try field("tick")),
            lotSize: try Increment(try field("lot")), minimumQuantity: Quantity(lots: minimumLots),
            minimumNotional: Money(units: notional), quoteCurrency: try field("quote"),
            makerFee: try FeeRate(try field("maker")), takerFee: try FeeRate(try field("taker")), contract: contract)
    }

    /// One line with every field, for logic settings and reports.
    public var settingsText: String {
        "\(id.rawValue) \(symbol) venue=\(venue) tick=\(tickSize) lot=\(lotSize) min-qty=\(minimumQuantity.lots) "
            + "min-notional=\(minimumNotional.units) quote=\(quoteCurrency) maker=\(makerFee) taker=\(takerFee) "
            + "contract=\(contract.rawValue)"
    }
}

/// The per-order rules of an instrument, as the logic uses them: minimums and fee rates. A
/// trivial value, kept in a table indexed by instrument.
@frozen
public struct InstrumentRules: Hashable, Sendable, BitwiseCopyable {
    public var minimumQuantity: Quantity
    public var minimumNotional: Money
    public var makerFee: FeeRate
    public var takerFee: FeeRate

    @inlinable
    public init(minimumQuantity: Quantity, minimumNotional: Money, makerFee: FeeRate, takerFee: FeeRate) {
        self.minimumQuantity = minimumQuantity
        self.minimumNotional = minimumNotional
        self.makerFee = makerFee
        self.takerFee = takerFee
    }

    /// No minimum beyond one lot, no fees.
    public static let free = InstrumentRules(
        minimumQuantity: Quantity(lots: 1), minimumNotional: .zero, makerFee: .zero, takerFee: .zero)
}
