/// Numbers read from the bytes of a text field, without allocating.
extension UnsafeBufferPointer where Element == UInt8 {
    /// The decimal digits after the point ("20377.00" → 2).
    public var decimalPlaces: Int {
        guard let point = firstIndex(of: UInt8(ascii: ".")) else { return 0 }
        return count - point - 1
    }

    /// A signed integer (an optional `-`, then digits), or nil (other bytes, overflow).
    public var integerValue: Int64? {
        var index = 0
        var negative = false
        if first == UInt8(ascii: "-") {
            negative = true
            index = 1
        }
        guard index < count else { return nil }
        // Accumulated on the side of the sign, so that Int64.min parses too.
        var value: Int64 = 0
        while index < count {
            let byte = self[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let digit = Int64(byte - UInt8(ascii: "0"))
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) =
                negative ? times.subtractingReportingOverflow(digit) : times.addingReportingOverflow(digit)
            guard !overflow, !overflow2 else { return nil }
            value = sum
            index += 1
        }
        return value
    }
}

extension UnsafeBufferPointer where Element == UInt8 {
    /// A UTC date and time `YYYY-MM-DD HH:MM:SS[.fraction][+00:00|Z]` (a `T` may separate the
    /// date and time; up to 9 fraction digits) as nanoseconds since the Unix epoch, or nil
    /// (another shape, another offset, a date before 1970 or after 2262).
    public var utcNanoseconds: Int64? {
        func digits(_ start: Int, _ count: Int) -> Int64? {
            guard start + count <= self.count else { return nil }
            var value: Int64 = 0
            for index in start..<(start + count) {
                let byte = self[index]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard count >= 19, self[4] == UInt8(ascii: "-"), self[7] == UInt8(ascii: "-"),
            self[10] == UInt8(ascii: " ") || self[10] == UInt8(ascii: "T"), self[13] == UInt8(ascii: ":"),
            self[16] == UInt8(ascii: ":"), let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2),
            let hour = digits(11, 2), let minute = digits(14, 2), let second = digits(17, 2),
            year >= 1970, (1...12).contains(month), day >= 1, hour < 24, minute < 60,
            second < 60 || (second == 60 && hour == 23 && minute == 59)
        else { return nil }
        // A day the month has (February 29 in leap years only); a leap second only at 23:59:60
        // (it counts as the next day's first second).
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthDays: Int64 =
            month == 2 ? (leap ? 29 : 28) : (month == 4 || month == 6 || month == 9 || month == 11 ? 30 : 31)
        guard day <= monthDays else { return nil }
        var index = 19
        var fraction: Int64 = 0
        if index < count, self[index] == UInt8(ascii: ".") {
            index += 1
            var scale: Int64 = 100_000_000
            let start = index
            while index < count, self[index] >= UInt8(ascii: "0"), self[index] <= UInt8(ascii: "9") {
                guard index - start < 9 else { return nil }
                fraction += Int64(self[index] - UInt8(ascii: "0")) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        let rest = UnsafeBufferPointer(rebasing: self[index...])
        guard rest.isEmpty || rest.elementsEqual("Z".utf8) || rest.elementsEqual("+00:00".utf8) else { return nil }
        // Days since 1970-01-01 of the civil date (Howard Hinnant's algorithm).
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = shiftedYear / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = ((days * 24 + hour) * 60 + minute) * 60 + second
        let (nanoseconds, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow, nanoseconds <= Int64.max - fraction else { return nil }  // past 2262
        return nanoseconds + fraction
    }
}

/// Numbers written for people and scripts without an exponent.
public enum PlainDecimal {
    /// `value` in Swift's shortest form that reads back as the same double (`description`),
    /// with its exponent written out: `1.2e-05` is `0.000012`, `1e+16` is `10000000000000000.0`
    /// (a whole number keeps its `.0` at any size, as `5.0` does, so a reader typing by the text
    /// sees a double every time). Nil for NaN and the infinities (JSON has no text for them).
    /// Allocates its result.
    public static func text(_ value: Double) -> String? {
        guard value.isFinite else { return nil }
        let text = expanded(value.description)
        return text.contains(".") ? text : text + ".0"
    }

    /// `text` (a number as Swift or Foundation writes it: `-1.234e-05`, `5.0`, `12`) with any
    /// exponent written out; text without one, or that is not such a number, is returned as
    /// it is.
    public static func expanded(_ text: String) -> String {
        let utf8 = Array(text.utf8)
        guard let e = utf8.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }),
            let exponent = Int(String(decoding: utf8[(e + 1)...], as: UTF8.self)),
            exponent.magnitude < 10_000
        else { return text }
        var mantissa = utf8[..<e]
        let negative = mantissa.first == UInt8(ascii: "-")
        if negative { mantissa = mantissa.dropFirst() }
        let point = mantissa.firstIndex(of: UInt8(ascii: ".")) ?? mantissa.endIndex
        let whole = mantissa[..<point]
        let fraction = point < mantissa.endIndex ? mantissa[(point + 1)...] : []
        guard !whole.isEmpty, (whole + fraction).allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return text }
        var digits = Array(whole + fraction)
        // The point's place in `digits` once the exponent has moved it.
        var place = whole.count + exponent
        while digits.count > 1, digits.first == UInt8(ascii: "0") {
            digits.removeFirst()
            place -= 1
        }
        if digits == [UInt8(ascii: "0")] { return negative ? "-0" : "0" }
        while digits.count > Swift.max(place, 1), digits.last == UInt8(ascii: "0") { digits.removeLast() }
        var out: [UInt8] = negative ? [UInt8(ascii: "-")] : []
        if place <= 0 {
            out += [UInt8(ascii: "0"), UInt8(ascii: ".")] + Array(repeating: UInt8(ascii: "0"), count: -place) + digits
        } else if place >= digits.count {
            out += digits + Array(repeating: UInt8(ascii: "0"), count: place - digits.count)
        } else {
            out += digits[..<place] + [UInt8(ascii: ".")] + digits[place...]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
