import Foundation
import PeregrineBacktest
import PeregrineCore
import PeregrineModel
import PeregrineRisk
import PeregrineStrategy
import PeregrineTestSupport
import Testing

/// The reference backtest (docs/backtesting.md) on the Tardis quotes fixture against a plain
/// implementation written here from the rules, in exact scaled integers.
@Suite struct ReferenceBacktestTests {
    static let quotes = "tardis_binance-futures_BTCUSDT_quotes_2020-02-22.csv"

    /// A decimal as an integer × 10^8.
    static func scaled(_ text: String) -> Int128 {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let whole = Int128(parts[0]) ?? 0
        var fraction: Int128 = 0
        var digits = 0
        if parts.count == 2 {
            for character in parts[1] {
                fraction = fraction * 10 + Int128(character.wholeNumberValue ?? 0)
                digits += 1
            }
        }
        while digits < 8 {
            fraction *= 10
            digits += 1
        }
        return whole * 100_000_000 + (text.hasPrefix("-") ? -fraction : fraction)
    }

    struct Expected: Equatable {
        var trades = 0
        /// × 10^8.
        var volume: Int128 = 0
        var position: Int128 = 0
        /// × 2 × 10^20 (doubled: the mid may be half a tick).
        var fees: Int128 = 0
        var netPnL: Int128 = 0
        /// The quantity of every order sent (each row's order for what is missing), × 10^8.
        var sent: Int128 = 0
        /// Orders a maximum order quantity refused.
        var refused = 0
    }

    /// The rules, plainly: every row with both prices is a sample; after the slow-th, the
    /// target follows the sums; one order for the difference fills at this row's touch up to
    /// its size.
    /// With `maxOrder` (a risk rule's `max_order_quantity`), an order above it is refused; a
    /// refused reversal sends the position's closing part alone.
    static func plain(
        fast: Int, slow: Int, quantity: String, feeBps: String, rows: [[String: String]]? = nil,
        maxOrder: String? = nil
    ) throws -> Expected {
        let limit = maxOrder.map(scaled)
        let q = scaled(quantity)
        let bps = scaled(feeBps)
        var mids: [Int128] = []  // twice the mid × 10^8
        var expected = Expected()
        var target: Int128 = 0
        var cash: Int128 = 0  // × 10^16 (price and quantity each × 10^8)
        var fees: Int128 = 0  // × 10^24 (price, quantity and bps each × 10^8)
        var lastTwiceMid: Int128 = 0
        for row in try rows ?? Fixtures.csvRows(quotes) {
            guard let bidText = row["bid_price"], let askText = row["ask_price"], !bidText.isEmpty, !askText.isEmpty
            else { continue }
            let bid = scaled(bidText)
            let ask = scaled(askText)
            let bidSize = scaled(row["bid_amount"] ?? "0")
            let askSize = scaled(row["ask_amount"] ?? "0")
            mids.append(bid + ask)
            lastTwiceMid = bid + ask
            guard mids.count >= slow else { continue }
            let fastSum = mids.suffix(fast).reduce(0, +)
            let slowSum = mids.suffix(slow).reduce(0, +)
            if fastSum * Int128(slow) > slowSum * Int128(fast) {
                target = q
            } else if fastSum * Int128(slow) < slowSum * Int128(fast) {
                target = -q
            }
            var missing = target - expected.position
            guard missing != 0 else { continue }
            if let limit, Int128(missing.magnitude) > limit {
                expected.refused += 1
                // A reversal: the closing part alone (itself refused when above the limit).
                guard expected.position != 0, (expected.position > 0) != (missing > 0),
                    missing.magnitude > expected.position.magnitude
                else { continue }
                missing = -expected.position
                if Int128(missing.magnitude) > limit {
                    expected.refused += 1
                    continue
                }
            }
            expected.sent += Int128(missing.magnitude)
            let price = missing > 0 ? ask : bid
            let fill = min(missing.magnitude, (missing > 0 ? askSize : bidSize).magnitude)
            guard fill > 0 else { continue }
            let signed = missing > 0 ? Int128(fill) : -Int128(fill)
            expected.trades += 1
            expected.volume += Int128(fill)
            expected.position += signed
            cash -= signed * price
            fees += price * Int128(fill) * bps / 10_000
        }
        // At 2 × 10^20: cash (10^16) × 2 × 10^4; position × twice the mid (10^16) × 10^4; fees
        // (10^24) × 2 ÷ 10^4 (exact: at most 2 + 3 + 4 + 4 decimals).
        expected.fees = fees * 2 / 10_000
        expected.netPnL = cash * 20_000 + expected.position * lastTwiceMid * 10_000 - expected.fees
        return expected
    }

    static func backtest(
        fast: Int, slow: Int, quantity: String, feeBps: String, path: String = Fixtures.path(quotes),
        risk: [RiskRule] = []
    ) throws -> BacktestResult {
        var settings = BacktestSettings()
        settings.data = [try DataSpec("tardis-quotes:" + path)]
        settings.strategies = [
            StrategySpec(
                name: "golden-cross", parameters: [("fast", "\(fast)"), ("slow", "\(slow)"), ("quantity", quantity)])
        ]
        settings.takerFeeBasisPoints = feeBps
        settings.risk = risk
        return try Backtest.run(try BacktestPlan(settings))
    }

    @Test(arguments: [
        (5, 20, "0.01", "2.5"), (3, 7, "1", "0.75"), (10, 30, "0.5", "4"), (1, 1, "0.001", "0"),
        (2, 100, "2.5", "10"), (30, 30, "0.003", "1.2345"), (1, 2, "0.007", "0.0001"),
    ])
    func matchesThePlainImplementation(parameters: (Int, Int, String, String)) throws {
        let (fast, slow, quantity, fee) = parameters
        let expected = try Self.plain(fast: fast, slow: slow, quantity: quantity, feeBps: fee)
        let result = try Self.backtest(fast: fast, slow: slow, quantity: quantity, feeBps: fee)
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(result.json.utf8)) as? [String: Any])
        #expect(json["trades"] as? Int == expected.trades)
        // An integer in the text (JSONSerialization would read 286.0 as an Int too).
        #expect(result.json.contains("\n  \"trades\": \(expected.trades),\n"))
        #expect(Self.scaled(json["volume"] as? String ?? "") == expected.volume)
        #expect(Self.scaled(json["position"] as? String ?? "") == expected.position)
        // Fees and net P&L have up to 2 + 3 + 8 decimals here: compare exactly at 2 × 10^20.
        #expect(Self.exact(json["fees"] as? String ?? "") == expected.fees)
        #expect(Self.exact(json["net_pnl"] as? String ?? "") == expected.netPnL)
        #expect(json["events"] as? Int == 9_999)
    }

    /// A risk limit on an order's quantity between the quantity and twice it refuses every
    /// reversal's one order: the position is closed alone, and the new side taken at the next
    /// sample (before, the strategy stayed on its first side, refused at every sample). A limit
    /// below the quantity refuses every order.
    @Test(arguments: [
        (5, 20, "0.01", "2.5", "0.015"), (3, 7, "1", "0.75", "1"), (10, 30, "0.5", "4", "0.999"),
        (5, 20, "0.01", "2.5", "0.005"),
    ])
    func aReversalARiskLimitRefusesGoesInTwo(parameters: (Int, Int, String, String, String)) throws {
        let (fast, slow, quantity, fee, limit) = parameters
        let expected = try Self.plain(fast: fast, slow: slow, quantity: quantity, feeBps: fee, maxOrder: limit)
        let result = try Self.backtest(
            fast: fast, slow: slow, quantity: quantity, feeBps: fee, risk: [RiskRule(maxOrderQuantity: limit)])
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(result.json.utf8)) as? [String: Any])
        #expect(json["trades"] as? Int == expected.trades)
        #expect(Self.scaled(json["volume"] as? String ?? "") == expected.volume)
        #expect(Self.scaled(json["position"] as? String ?? "") == expected.position)
        #expect(Self.exact(json["fees"] as? String ?? "") == expected.fees)
        #expect(Self.exact(json["net_pnl"] as? String ?? "") == expected.netPnL)
        let refused = try #require(json["risk_rejections"] as? [String: Int])
        #expect(refused == (expected.refused == 0 ? [:] : ["max-order-quantity": expected.refused]))
        // Both sides were traded, or none (the limit below the quantity).
        #expect(expected.trades > 100 || Self.scaled(limit) < Self.scaled(quantity))
        #expect(expected.refused > 0)
    }

    /// The same on generated quotes (a seeded random walk): prices with 0 to 4 decimals, sizes
    /// with 0 to 6, sizes of 0, rows with an empty price on a side, and random parameters and
    /// fees, so that the rules are checked beyond the fixture's grid and its calm market.
    @Test func matchesThePlainImplementationOnGeneratedQuotes() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("peregrine-ref-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = SplitMix64(seed: 19)
        var traded = 0
        for case_ in 0..<24 {
            let priceDecimals = Int.random(in: 0...4, using: &random)
            let sizeDecimals = Int.random(in: 0...6, using: &random)
            let text = Self.generatedQuotes(
                rows: Int.random(in: 50...1_500, using: &random), priceDecimals: priceDecimals,
                sizeDecimals: sizeDecimals, random: &random)
            let path = directory.appendingPathComponent("quotes-\(case_).csv").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let fast = Int.random(in: 1...20, using: &random)
            let slow = Int.random(in: fast...60, using: &random)
            let quantity = Money.decimalText(Int128(Int64.random(in: 1...300, using: &random)), decimals: sizeDecimals)
            let fee = ["0", "2.5", "0.12", "7", "10.75"][Int.random(in: 0...4, using: &random)]
            let lines = text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
            let header = lines[0].map(String.init)
            let rows = lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0.map(String.init))) }
            let expected = try Self.plain(fast: fast, slow: slow, quantity: quantity, feeBps: fee, rows: rows)
            let result = try Self.backtest(fast: fast, slow: slow, quantity: quantity, feeBps: fee, path: path)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(result.json.utf8)) as? [String: Any])
            let named = "case \(case_): fast=\(fast) slow=\(slow) quantity=\(quantity) fee=\(fee)"
            #expect(json["trades"] as? Int == expected.trades, "\(named)")
            #expect(Self.scaled(json["volume"] as? String ?? "") == expected.volume, "\(named)")
            #expect(Self.scaled(json["position"] as? String ?? "") == expected.position, "\(named)")
            #expect(Self.exact(json["fees"] as? String ?? "") == expected.fees, "\(named)")
            #expect(Self.exact(json["net_pnl"] as? String ?? "") == expected.netPnL, "\(named)")
            // Every row's order is sent whole, what it does not fill cancelled: filled ÷ sent.
            let instrument = try #require((json["instruments"] as? [[String: Any]])?.first)
            #expect(Self.scaled(instrument["sent"] as? String ?? "") == expected.sent, "\(named)")
            let ratio = expected.sent > 0 ? Double(expected.volume) / Double(expected.sent) : 0
            #expect((json["fill_ratio"] as? Double).map { abs($0 - ratio) <= 1e-12 } == true, "\(named)")
            traded += expected.trades
        }
        // The cases trade (the rules are exercised, not only the empty run).
        #expect(traded > 1_000)
    }

    /// A Tardis quotes file of `rows` rows: a random walk of the mid in ticks of
    /// 10^-`priceDecimals`, a spread of 1 to 4 ticks, sizes in lots of 10^-`sizeDecimals`
    /// (a third of them 0 or small), and about 2% of the rows without a bid or an ask price.
    static func generatedQuotes(
        rows: Int, priceDecimals: Int, sizeDecimals: Int, random: inout SplitMix64
    ) -> String {
        var lines = ["exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"]
        var mid = Int64.random(in: 10_000...1_000_000, using: &random)
        var time: Int64 = 1_600_000_000_000_000
        func size() -> String {
            let lots: Int64
            switch Int.random(in: 0...2, using: &random) {
            case 0: lots = 0
            case 1: lots = Int64.random(in: 1...50, using: &random)
            default: lots = Int64.random(in: 1...5_000, using: &random)
            }
            return Money.decimalText(Int128(lots), decimals: sizeDecimals)
        }
        for _ in 0..<rows {
            mid = Swift.max(mid &+ Int64.random(in: -5...5, using: &random), 10)
            let spread = Int64.random(in: 1...4, using: &random)
            time += Int64.random(in: 0...3_000, using: &random)
            let bid =
                Int.random(in: 0..<50, using: &random) == 0
                ? "" : Money.decimalText(Int128(mid - spread), decimals: priceDecimals)
            let ask =
                Int.random(in: 0..<50, using: &random) == 0
                ? "" : Money.decimalText(Int128(mid + spread), decimals: priceDecimals)
            lines.append("binance-futures,ETHUSDT,\(time),\(time + 500),\(size()),\(ask),\(bid),\(size())")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A decimal with up to 20 places × 2 × 10^20.
    static func exact(_ text: String) -> Int128 {
        let negative = text.hasPrefix("-")
        let body = negative ? String(text.dropFirst()) : text
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        var value = (Int128(parts[0]) ?? 0) * 100_000_000_000_000_000_000
        if parts.count == 2 {
            var fraction = Int128(parts[1]) ?? 0
            for _ in parts[1].count..<20 { fraction *= 10 }
            value += fraction
        }
        return (negative ? -value : value) * 2
    }

    /// A quantity finer than every size in the data refines the lot taken from the data (the
    /// fixture's sizes have 3 decimals), and the results still follow the rules exactly.
    @Test func aQuantityFinerThanTheDataRefinesTheLotTakenFromIt() throws {
        let expected = try Self.plain(fast: 4, slow: 9, quantity: "0.0005", feeBps: "3.5")
        var settings = BacktestSettings()
        settings.data = [try DataSpec("tardis-quotes:" + Fixtures.path(Self.quotes))]
        settings.strategies = [
            StrategySpec(name: "golden-cross", parameters: [("fast", "4"), ("slow", "9"), ("quantity", "0.0005")])
        ]
        settings.takerFeeBasisPoints = "3.5"
        let plan = try BacktestPlan(settings)
        #expect(plan.instruments.map(\.lotSize) == [try Increment("0.0001")])
        #expect(plan.instruments.map(\.tickSize) == [try Increment("0.01")])
        #expect(
            plan.notes == [
                "BTCUSDT: lot 0.001 (the finest size in its data, 1 when it has none) refined to 0.0001 for "
                    + "golden-cross quantity=0.0005; pass --lot-size to choose the grid"
            ])
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(try Backtest.run(plan).json.utf8)) as? [String: Any])
        #expect(json["trades"] as? Int == expected.trades)
        #expect(Self.scaled(json["volume"] as? String ?? "") == expected.volume)
        #expect(Self.scaled(json["position"] as? String ?? "") == expected.position)
        #expect(Self.exact(json["fees"] as? String ?? "") == expected.fees)
        #expect(Self.exact(json["net_pnl"] as? String ?? "") == expected.netPnL)
        #expect(expected.trades > 0)
    }

    /// The lot is refined only for one strategy on one instrument: with a second strategy
    /// (whose lots would change meaning) or a second instrument, or beyond 10 decimals, the
    /// quantity is refused as before.
    @Test func theLotIsRefinedOnlyForOneStrategyOnOneInstrument() throws {
        let golden = StrategySpec(name: "golden-cross", parameters: [("quantity", "0.0005")])
        var settings = BacktestSettings()
        settings.data = [try DataSpec("tardis-quotes:" + Fixtures.path(Self.quotes))]
        settings.strategies = [golden, StrategySpec(name: "market-maker", parameters: [("size", "10")])]
        #expect(throws: BacktestError.self) { try BacktestPlan(settings) }
        settings.strategies = [golden]
        settings.data.append(try DataSpec("tardis-quotes@OTHER:" + Fixtures.path(Self.quotes)))
        #expect(throws: BacktestError.self) { try BacktestPlan(settings) }
        settings.data.removeLast()
        settings.strategies = [StrategySpec(name: "golden-cross", parameters: [("quantity", "0.00000000001")])]
        #expect(throws: BacktestError.self) { try BacktestPlan(settings) }
        settings.strategies = [StrategySpec(name: "golden-cross", parameters: [("quantity", "0.0000000001")])]
        #expect(try BacktestPlan(settings).instruments.map(\.lotSize) == [try Increment("0.0000000001")])
    }

    /// Each refusal says what would allow the quantity; a refined plan is not reused for other
    /// strategies.
    @Test func aRefusedQuantitySaysWhatWouldAllowIt() throws {
        var settings = BacktestSettings()
        settings.data = [try DataSpec("tardis-quotes:" + Fixtures.path(Self.quotes))]
        func refusal() -> String {
            do {
                _ = try BacktestPlan(settings)
                return "accepted"
            } catch { return "\(error)" }
        }
        settings.strategies = [
            StrategySpec(name: "golden-cross", parameters: [("quantity", "0.0005")]),
            StrategySpec(name: "golden-cross", parameters: [("quantity", "0.001")]),
        ]
        #expect(
            refusal().hasSuffix(
                "(a lot found in the data is refined only for one strategy on one instrument: pass --lot-size for a finer one)"
            ))
        settings.strategies = [StrategySpec(name: "golden-cross", parameters: [("quantity", "0.00000000001")])]
        #expect(
            refusal().hasSuffix(
                "(a lot found in the data is refined to at most 10 decimals: pass --lot-size for a finer one)"))
        settings.lotSize = try Increment("0.001")
        #expect(refusal().hasSuffix("at most 10^12 lots)"))
        settings.lotSize = nil
        settings.strategies = [StrategySpec(name: "golden-cross", parameters: [("quantity", "0.0005")])]
        let refined = try BacktestPlan(settings)
        #expect(throws: BacktestError.self) {
            _ = try refined.with(strategies: [StrategySpec(name: "golden-cross", parameters: [("quantity", "0.001")])])
        }
        #expect(try refined.with(strategies: settings.strategies).instruments == refined.instruments)
    }

    /// A converted file's records are counted on its own grid: another tick or lot is refused
    /// (it would read them as other prices and sizes), with the way to get one.
    @Test func aConvertedFilesGridCannotBeChangedByFlags() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("peregrine-grid-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let converted = directory.appendingPathComponent("q.pgev").path
        _ = try DataConversion.convert([try DataSpec("tardis-quotes:" + Fixtures.path(Self.quotes))], output: converted)
        var settings = BacktestSettings()
        settings.data = [try DataSpec("events:" + converted)]
        settings.strategies = [StrategySpec(name: "golden-cross", parameters: [("quantity", "0.01")])]
        #expect(try BacktestPlan(settings).instruments.map(\.lotSize) == [try Increment("0.001")])
        settings.lotSize = try Increment("0.001")
        #expect(try BacktestPlan(settings).instruments.map(\.lotSize) == [try Increment("0.001")])
        for (tick, lot) in [(nil, "0.0001"), ("0.001", nil)] as [(String?, String?)] {
            settings.tickSize = try tick.map { try Increment($0) }
            settings.lotSize = try lot.map { try Increment($0) }
            do {
                _ = try BacktestPlan(settings)
                Issue.record("\(tick ?? "") \(lot ?? ""): accepted")
            } catch {
                #expect("\(error)".contains("converted data is on a grid of"))
                #expect("\(error)".contains("convert its sources again with"))
            }
        }
        settings.tickSize = nil
        settings.lotSize = nil
        settings.strategies = [StrategySpec(name: "golden-cross", parameters: [("quantity", "0.0005")])]
        do {
            _ = try BacktestPlan(settings)
            Issue.record("a quantity off a converted file's lot was accepted")
        } catch {
            #expect(
                "\(error)".hasSuffix(
                    "(a converted file's lot is fixed when it is converted: convert its sources again with --lot-size)")
            )
        }
    }

    @Test func refusesAQuantityOffAGivenLotGridAndFeesWithTooManyDecimals() throws {
        var settings = BacktestSettings()
        settings.data = [try DataSpec("tardis-quotes:" + Fixtures.path(Self.quotes))]
        settings.lotSize = try Increment("0.001")
        settings.strategies = [StrategySpec(name: "golden-cross", parameters: [("quantity", "0.0005")])]
        #expect(throws: BacktestError.self) { try BacktestPlan(settings) }
        settings.lotSize = nil
        settings.strategies = [StrategySpec(name: "golden-cross", parameters: [("quantity", "0.001")])]
        settings.takerFeeBasisPoints = "2.00001"
        #expect(throws: BacktestError.self) { try BacktestPlan(settings) }
    }
}
