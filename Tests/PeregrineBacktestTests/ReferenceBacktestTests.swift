import Foundation
import PeregrineBacktest
import PeregrineModel
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
    }

    /// The rules, plainly: every row with both prices is a sample; after the slow-th, the
    /// target follows the sums; one order for the difference fills at this row's touch up to
    /// its size.
    static func plain(fast: Int, slow: Int, quantity: String, feeBps: String) throws -> Expected {
        let q = scaled(quantity)
        let bps = scaled(feeBps)
        var mids: [Int128] = []  // twice the mid × 10^8
        var expected = Expected()
        var target: Int128 = 0
        var cash: Int128 = 0  // × 10^16 (price and quantity each × 10^8)
        var fees: Int128 = 0  // × 10^24 (price, quantity and bps each × 10^8)
        var lastTwiceMid: Int128 = 0
        for row in try Fixtures.csvRows(quotes) {
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
            let missing = target - expected.position
            guard missing != 0 else { continue }
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

    static func backtest(fast: Int, slow: Int, quantity: String, feeBps: String) throws -> BacktestResult {
        var settings = BacktestSettings()
        settings.data = [try DataSpec("tardis-quotes:" + Fixtures.path(quotes))]
        settings.strategies = [
            StrategySpec(
                name: "golden-cross", parameters: [("fast", "\(fast)"), ("slow", "\(slow)"), ("quantity", quantity)])
        ]
        settings.takerFeeBasisPoints = feeBps
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
        #expect(Self.scaled(json["volume"] as? String ?? "") == expected.volume)
        #expect(Self.scaled(json["position"] as? String ?? "") == expected.position)
        // Fees and net P&L have up to 2 + 3 + 8 decimals here: compare exactly at 2 × 10^20.
        #expect(Self.exact(json["fees"] as? String ?? "") == expected.fees)
        #expect(Self.exact(json["net_pnl"] as? String ?? "") == expected.netPnL)
        #expect(json["events"] as? Int == 9_999)
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
                "BTCUSDT: lot 0.001 (the finest size in its data) refined to 0.0001 for golden-cross "
                    + "quantity=0.0005; pass --lot-size to choose the grid"
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
                #expect("\(error)".contains("convert it again with"))
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
                    "(a converted file's lot is fixed when it is converted: convert it again with --lot-size)"))
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
