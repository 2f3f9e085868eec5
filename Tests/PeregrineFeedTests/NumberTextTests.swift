import PeregrineCodec
import PropertyBased
import Testing

/// Exchange times written as UTC text (TrueFX) become nanoseconds since the Unix epoch.
@Suite("Number text")
struct NumberTextTests {
    static func utc(_ text: String) -> Int64? {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { UnsafeBufferPointer($0).utcNanoseconds }
    }

    @Test func utcTimesAreNanosecondsSinceTheEpoch() {
        #expect(Self.utc("1970-01-01 00:00:00") == 0)
        #expect(Self.utc("2013-01-01 22:00:00.295000+00:00") == 1_357_077_600_295_000_000)
        #expect(Self.utc("2020-02-29T23:59:59.123456789Z") == 1_583_020_799_123_456_789)
        #expect(Self.utc("2000-03-01 00:00:00") == 951_868_800_000_000_000)
        #expect(Self.utc("2262-04-11 23:47:16.854775807") == Int64.max)
    }

    @Test func otherShapesAreRefused() {
        for text in [
            "2013-01-01", "2013-01-01 22:00", "2013-13-01 00:00:00", "2013-01-01 24:00:00", "1969-12-31 23:59:59",
            "2013-01-01 22:00:00+01:00", "2013-01-01 22:00:00.", "2013-01-01 22:00:00.1234567890",
            "2262-04-11 23:47:16.854775808", "9999-12-31 23:59:59", "2013/01/01 22:00:00",
        ] {
            #expect(Self.utc(text) == nil, "\(text)")
        }
    }

    /// A day the month does not have, or a second 60 that is not a leap second, is refused (they
    /// had rolled over: February 30 read as March 2).
    @Test func daysAndSecondsThatDoNotExistAreRefused() {
        for text in [
            "2013-02-30 22:00:04", "2013-02-29 00:00:00", "2100-02-29 00:00:00", "2013-04-31 00:00:00",
            "2013-01-01 22:00:60", "2013-01-00 00:00:00",
        ] {
            #expect(Self.utc(text) == nil, "\(text)")
        }
        #expect(Self.utc("2012-02-29 00:00:00") == 1_330_473_600_000_000_000)
        #expect(Self.utc("2000-02-29 00:00:00") == 951_782_400_000_000_000)
        #expect(Self.utc("2013-12-31 00:00:00") == 1_388_448_000_000_000_000)
        // The leap second at the end of 2016 counts as the next day's first.
        #expect(Self.utc("2016-12-31 23:59:60") == 1_483_228_800_000_000_000)
    }

    /// Reports' doubles are written without an exponent, as people and sheets read them.
    @Test func doublesAreWrittenOutWithoutAnExponent() {
        #expect(PlainDecimal.text(1.2e-05) == "0.000012")
        #expect(PlainDecimal.text(-1.234e-05) == "-0.00001234")
        #expect(PlainDecimal.text(1e16) == "10000000000000000.0")
        #expect(PlainDecimal.text(-2.5e20) == "-250000000000000000000.0")
        #expect(PlainDecimal.text(1e15) == "1000000000000000.0")
        #expect(PlainDecimal.text(-0.0) == "-0.0")
        #expect(PlainDecimal.text(1.5e-300) == "0." + String(repeating: "0", count: 299) + "15")
        #expect(PlainDecimal.text(0.1) == "0.1")
        #expect(PlainDecimal.text(5) == "5.0")
        #expect(PlainDecimal.text(-3.3333333333333335) == "-3.3333333333333335")
        #expect(PlainDecimal.text(.nan) == nil)
        #expect(PlainDecimal.text(-.infinity) == nil)
        #expect(PlainDecimal.expanded("1.25E+2") == "125")
        #expect(PlainDecimal.expanded("12") == "12")
        #expect(PlainDecimal.expanded("e5") == "e5")
        #expect(PlainDecimal.expanded("1.2e") == "1.2e")
        #expect(PlainDecimal.expanded("abc") == "abc")
    }

    /// Any finite double: written out, it reads back as itself, with digits, a sign and a point
    /// alone, and with no more significant digits than Swift's shortest form.
    @Test func aDoubleWrittenOutReadsBackAsItself() async {
        await propertyCheck(count: 50_000, input: Gen.uint64(in: 0...UInt64.max)) { bits in
            let value = Double(bitPattern: bits)
            guard value.isFinite else { return }
            guard let text = PlainDecimal.text(value) else {
                Issue.record("no text for \(value)")
                return
            }
            #expect(Double(text) == value, "\(value): \(text)")
            #expect(text.allSatisfy { $0.isASCII && ($0.isNumber || $0 == "-" || $0 == ".") }, "\(text)")
            #expect(text.contains("."), "\(value): \(text)")
            let shortest = value.description.split(separator: "e", maxSplits: 1).first ?? ""
            #expect(Self.significantDigits(text) == Self.significantDigits(shortest), "\(value): \(text)")
        }
    }

    /// The digits of a decimal between its first and last that are not zero.
    static func significantDigits<Text: StringProtocol>(_ text: Text) -> Int {
        let digits = Array(text.filter(\.isNumber))
        guard let first = digits.firstIndex(where: { $0 != "0" }), let last = digits.lastIndex(where: { $0 != "0" })
        else { return 0 }
        return last - first + 1
    }
}
