import PeregrineCore
import Testing

@testable import PeregrineBacktest

/// Exact amounts as doubles (ratios, drawdown %, plots): the nearest double, whatever the scale;
/// and figures rounded for people.
@Suite struct ExactAmountTests {
    /// Against `Double(String)`, which rounds decimal text correctly: amounts of 1 to 38 digits
    /// with 0 to 20 decimals, and the same amounts at a finer scale (another tick or lot size).
    /// Decimal text read exactly: the whole part may be left out (".3"), never the fraction's
    /// digits ("3." and "." are not amounts).
    @Test func decimalTextIsReadExactly() {
        #expect(ExactAmount(".3") == ExactAmount(value: 3, decimals: 1))
        #expect(ExactAmount("-.25") == ExactAmount(value: -25, decimals: 2))
        #expect(ExactAmount("0100.50") == ExactAmount(value: 10_050, decimals: 2))
        #expect(ExactAmount("7") == ExactAmount(value: 7, decimals: 0))
        for bad in ["", ".", "3.", "-", "-.", "1.2.3", "1e5", "+-1", "0x10", "1,5"] {
            #expect(ExactAmount(bad) == nil, "\(bad)")
        }
    }

    @Test func aDoubleIsTheNearestWhateverTheScale() {
        var random = SplitMix64(seed: 19)
        var differing = 0
        for _ in 0..<100_000 {
            let digits = 1 + Int(random.next() % 38)
            var value: Int128 = 0
            for _ in 0..<digits { value = value &* 10 &+ Int128(random.next() % 10) }
            if random.next() % 2 == 0 { value = 0 - value }
            let decimals = Int(random.next() % 21)
            let amount = ExactAmount(value: value, decimals: decimals)
            let nearest = Double(amount.description)
            if amount.double != nearest { differing += 1 }
            if digits <= 30 {
                let finer = ExactAmount(value: value * 10_000_000, decimals: decimals + 7)
                if finer.double != amount.double { differing += 1 }
            }
        }
        #expect(differing == 0)
        // The edges of the 64-bit way (digits that fit in Int64): around 2^53, the least and
        // largest Int64, and powers of ten at and past the exact ones (10^22).
        for value: Int128 in [
            1 << 53, (1 << 53) + 1, (1 << 53) - 1, 0 - (1 << 53) - 1, Int128(Int64.max), Int128(Int64.min),
            Int128(Int64.max) + 1, 123_000, -9_007_199_254_740_993_000,
        ] {
            for decimals in [0, 1, 3, 15, 22, 23, 30] {
                let amount = ExactAmount(value: value, decimals: decimals)
                #expect(amount.double == Double(amount.description), "\(value) × 10^-\(decimals)")
            }
        }
        // An equity figure of 15 decimals, which dividing by ten 15 times rounded to 99999.98110811596.
        let equity = ExactAmount(value: 99_999_981_108_115_930_000, decimals: 15)
        #expect(equity.double == 99999.98110811593)
        #expect(ExactAmount(value: 0, decimals: 12).double == 0)
    }

    /// A figure rounded for people: a small loss shows as 0, not "-0.0"; a percentage that
    /// would round to 0 shows two significant digits instead, so a tiny loss keeps its sign.
    @Test func aSmallNegativeFigureRoundsToZero() {
        #expect(BacktestHTMLReport.fixed(-0.0000055, 4) == "0.0000")
        #expect(BacktestHTMLReport.fixed(-0.00055, 3) == "-0.001")
        #expect(BacktestHTMLReport.percent(-0.00000071) == "-0.000071%")
        #expect(BacktestHTMLReport.percent(0.0000000034) == "0.00000034%")
        #expect(BacktestHTMLReport.percent(-0.0000042) == "-0.00042%")
        #expect(BacktestHTMLReport.percent(-0.00007084) == "-0.007%")
    }

    /// Every decimal asked for is shown (a column of figures lines up), halves go away from zero,
    /// and no figure is in exponent notation.
    @Test func aFigureForPeopleShowsItsDecimals() {
        #expect(BacktestHTMLReport.fixed(-5061.819, 4) == "-5061.8190")
        #expect(BacktestHTMLReport.fixed(0, 3) == "0.000")
        #expect(BacktestHTMLReport.fixed(12, 0) == "12")
        #expect(BacktestHTMLReport.fixed(2.5, 0) == "3")
        #expect(BacktestHTMLReport.fixed(-2.5, 0) == "-3")
        #expect(BacktestHTMLReport.fixed(0.125, 2) == "0.13")
        #expect(BacktestHTMLReport.fixed(1e16, 2) == "10000000000000000.00")
        #expect(BacktestHTMLReport.fixed(.nan, 2) == "-")
        #expect(BacktestHTMLReport.percent(0) == "0.000%")
        // The report's equity interval, exact in milliseconds.
        #expect(BacktestResult.milliseconds(1_000_000_000) == "1000")
        #expect(BacktestResult.milliseconds(500_000) == "0.5")
        #expect(BacktestResult.milliseconds(1) == "0.000001")
        #expect(BacktestResult.milliseconds(1_234_567) == "1.234567")
    }
}
