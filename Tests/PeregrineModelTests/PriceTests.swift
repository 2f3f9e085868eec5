import Foundation
import PeregrineModel
import PropertyBased
import Testing

@Suite("Fixed-point parsing")
struct PriceTests {
    let cent: Increment

    init() throws { cent = try Increment("0.01") }

    @Test func parsesBinancePriceAtCentTick() throws {
        #expect(try Price("20377.00", tickSize: cent).ticks == 2_037_700)
        #expect(try Price("20376.9", tickSize: cent).ticks == 2_037_690)
        #expect(try Price("0.05", tickSize: cent).ticks == 5)
        #expect(try Price("-1.25", tickSize: cent).ticks == -125)
        #expect(try Price("7", tickSize: cent).ticks == 700)
        #expect(try Price(".5", tickSize: cent).ticks == 50)
    }

    @Test func trailingZerosBeyondTheTickAreAccepted() throws {
        #expect(try Price("20377.000000", tickSize: cent).ticks == 2_037_700)
    }

    @Test func tickSizesOtherThanPowersOfTen() throws {
        let half = try Increment("0.5")
        #expect(half.units == 5 && half.decimals == 1)
        #expect(try Price("8531.5", tickSize: half).ticks == 17_063)
        #expect(throws: ModelError.notOnIncrement(input: "8531.3", increment: "0.5")) {
            try Price("8531.3", tickSize: half)
        }
        let quarterDollar = try Increment("0.25")
        #expect(try Price("100.75", tickSize: quarterDollar).ticks == 403)
    }

    @Test func tooManyDecimalsNamesTheInput() {
        #expect(throws: ModelError.tooManyDecimals(input: "20377.001", allowed: 2)) {
            try Price("20377.001", tickSize: cent)
        }
        #expect(
            ModelError.tooManyDecimals(input: "20377.001", allowed: 2).description
                == "'20377.001' has more than 2 decimal places, the most this increment allows")
        // A digit past the 18th decimal: no grid holds it (trailing zeros do not count).
        #expect(
            ModelError.tooManyDecimals(input: "1.0000000000000000001", allowed: 1).description
                == "'1.0000000000000000001' has more than 1 decimal places, the most this increment allows; no grid "
                + "holds it exactly (at most 18 decimals)")
        #expect(
            ModelError.tooManyDecimals(input: "1.0100000000000000000", allowed: 1).description
                == "'1.0100000000000000000' has more than 1 decimal places, the most this increment allows")
    }

    @Test func garbageIsRejected() {
        for text in ["", "-", ".", "1.2.3", "12a", " 12", "1e5", "+1", "0x10", "--1", "1,5"] {
            #expect(throws: ModelError.malformedDecimal(input: text)) { try Price(text, tickSize: cent) }
        }
    }

    @Test func overflowIsRejected() {
        #expect(throws: ModelError.overflow(input: "92233720368547758.08")) {
            try Price("92233720368547758.08", tickSize: cent)
        }
        #expect(throws: ModelError.overflow(input: "99999999999999999999")) {
            try Price("99999999999999999999", tickSize: cent)
        }
        // The largest value that fits.
        #expect(throws: Never.self) { try Price("92233720368547758.07", tickSize: cent) }
    }

    /// Market data prices keep within 2^62 − 1 ticks either side, so that twice either is exact.
    @Test func theMarketDataRangeKeepsTwoPricesSummable() {
        #expect(Price.inRange(Price.maxTicks) && Price.inRange(-Price.maxTicks) && Price.inRange(0))
        #expect(!Price.inRange(Price.maxTicks + 1) && !Price.inRange(-Price.maxTicks - 1))
        #expect(!Price.inRange(.min) && !Price.inRange(.max))
        #expect(Price.maxTicks.multipliedReportingOverflow(by: 2).overflow == false)
    }

    @Test func quantitiesMustNotBeNegative() throws {
        let lot = try Increment("0.001")
        #expect(try Quantity("1.770", lotSize: lot).lots == 1_770)
        #expect(try Quantity("0.000", lotSize: lot).lots == 0)
        // A negative zero is zero (pandas and JavaScript write one for a size of nothing).
        #expect(try Quantity("-0", lotSize: lot).lots == 0)
        #expect(try Quantity("-0.000", lotSize: lot).lots == 0)
        #expect(throws: ModelError.negative(input: "-0.001")) { try Quantity("-0.001", lotSize: lot) }
    }

    @Test func invalidIncrementsAreRejected() {
        for text in ["0", "0.000", "-0.01", "abc", "", "0.0000000000000000001"] {
            #expect(throws: ModelError.invalidIncrement(input: text)) { try Increment(text) }
        }
    }

    @Test func formatsBackToDecimalText() throws {
        #expect(Price(ticks: 2_037_700).formatted(tickSize: cent) == "20377.00")
        #expect(Price(ticks: -5).formatted(tickSize: cent) == "-0.05")
        #expect(try Increment("0.001").description == "0.001")
        #expect(Quantity(lots: 1_770).formatted(lotSize: try Increment("0.001")) == "1.770")
    }

    @Test func formatThenParseIsIdentity() async {
        let increment = cent
        await propertyCheck(count: 2_000, input: Gen.int64(in: -9_000_000_000_000...9_000_000_000_000)) { ticks in
            let text = Price(ticks: ticks).formatted(tickSize: increment)
            #expect((try? Price(text, tickSize: increment))?.ticks == ticks)
        }
    }
}

@Suite("Notional")
struct NotionalTests {
    /// On a 1e-8 price grid and a 1e-8 size grid, price × size needs 16 decimals and about 95
    /// bits: 64-bit arithmetic wrapped here and printed negative notionals.
    @Test func pricesTimesSizesOnFineGridsAreExact() throws {
        let grid = try Increment("0.00000001")
        let levels = [("60940.35136398", "12345.67891234"), ("60945", "0.00000001"), ("64000.5", "99999.99999999")]
        var notional = Notional()
        var expected = Decimal(0)
        for (price, size) in levels {
            notional.add(try Price(price, tickSize: grid), try Quantity(size, lotSize: grid))
            expected += Decimal(string: price)! * Decimal(string: size)!
        }
        let text = try #require(notional.formatted(tickSize: grid, lotSize: grid))
        #expect(!text.hasPrefix("-"))
        #expect(Decimal(string: text) == expected)
        #expect(text == "7152400010.7448474868535132")
    }

    @Test func gridsWithStepsAndOverflowAreHandled() throws {
        // A 0.5 tick and a 0.25 lot: 3 ticks × 2 lots = 1.5 × 0.5 = 0.75.
        let notional = Notional(Price(ticks: 3), Quantity(lots: 2))
        #expect(notional.formatted(tickSize: try Increment("0.5"), lotSize: try Increment("0.25")) == "0.750")
        let one = try Increment("1")
        var huge = Notional()
        for _ in 0..<40 { huge.add(Price(ticks: .max), Quantity(lots: .max)) }
        #expect(huge.overflowed && huge.formatted(tickSize: one, lotSize: one) == nil)
        let tenth = try Increment("0.1")
        #expect(Notional(Price(ticks: -2), Quantity(lots: 3)).formatted(tickSize: tenth, lotSize: one) == "-0.6")
    }
}
