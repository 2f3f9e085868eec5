import PeregrineCodec

/// Times for people: ns since the Unix epoch as ISO 8601 UTC text, and back.
public enum UTCTime {
    /// `2020-02-22T00:00:01.096000000Z` (always nine fraction digits).
    public static func text(_ nanoseconds: UInt64) -> String {
        let seconds = Int64(nanoseconds / 1_000_000_000)
        let fraction = nanoseconds % 1_000_000_000
        let days = seconds / 86_400
        let rest = seconds % 86_400
        let (year, month, day) = civil(days: days)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        var nanos = String(fraction)
        nanos = String(repeating: "0", count: 9 - nanos.count) + nanos
        return "\(year)-\(two(month))-\(two(day))T\(two(rest / 3_600)):\(two(rest % 3_600 / 60)):\(two(rest % 60))."
            + nanos + "Z"
    }

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fraction]]` (UTC, optional `Z`; a space may
    /// stand for the `T`), or an integer of ns since the epoch (the codec's UTC reader,
    /// `utcNanoseconds`, does the work). Strict: a day or a time that does not exist (February
    /// 30, 24:00, second 60) or anything after the time is refused (nil).
    /// An integer below 10^16 ns (before 1970-04-27) is refused: it is seconds, milliseconds
    /// or microseconds written by mistake (`1582329660` would be 1.58 s after the epoch).
    public static func parse(_ text: String) -> UInt64? {
        guard case .time(let value) = reading(text) else { return nil }
        return value
    }

    /// How `UTCTime.parse` read a text.
    enum Reading: Equatable {
        case time(UInt64)
        /// An integer below `smallestInteger`.
        case smallInteger
        /// The shape of a time, whose fields name none (February 30, 24:00, second 60) or one
        /// outside 64-bit ns since 1970.
        case noSuchTime
        case unreadable
    }

    /// Why `text`, shaped as a time, is none, for people (before "write a UTC time such as …");
    /// nil when it is one, or is not shaped as one.
    public static func problem(_ text: String) -> String? {
        switch reading(text) {
        case .time, .unreadable: nil
        case .smallInteger: "an integer of ns below 10^16 is seconds, ms or µs written by mistake"
        case .noSuchTime:
            "no such date or time in ns since 1970 (a month past 12, a day past its month's end, hour 24, minute or "
                + "second 60, a year before 1970 or past 2262)"
        }
    }

    /// `problem(text)` and ": ", or nothing: the start of an error's advice.
    public static func problemPrefix(_ text: String) -> String { problem(text).map { $0 + ": " } ?? "" }

    static func reading(_ text: String) -> Reading {
        if let value = UInt64(text) {
            // Past 2262-04-11T23:47:16.854775807Z (Int64.max ns) as a date is: no such time.
            return value < smallestInteger ? .smallInteger : value <= UInt64(Int64.max) ? .time(value) : .noSuchTime
        }
        var body = text.hasSuffix("Z") ? String(text.dropLast()) : text
        if body.count == 10 { body += "T00:00" }
        if body.count == 16 { body += ":00" }
        var characters = Array(body.utf8)
        // RFC 3339 allows a space between the date and the time.
        if characters.count > 10, characters[10] == UInt8(ascii: " ") { characters[10] = UInt8(ascii: "T") }
        // YYYY-MM-DDTHH:MM:SS, then at most a point and 1...9 digits.
        let isDigit = { (byte: UInt8) in (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        guard characters.count >= 19 else { return .unreadable }
        if characters.count > 19 {
            guard characters[19] == UInt8(ascii: "."), (21...29).contains(characters.count),
                characters[20...].allSatisfy(isDigit)
            else { return .unreadable }
        }
        // Digits and separators where a time has them: whatever is wrong now is a field's value.
        for (byte, shape) in zip(characters, "0000-00-00T00:00:00".utf8)
        where shape == UInt8(ascii: "0") ? !isDigit(byte) : byte != shape {
            return .unreadable
        }
        var bytes = characters
        guard
            let nanoseconds = bytes.withUnsafeMutableBufferPointer({ UnsafeBufferPointer($0).utcNanoseconds }),
            nanoseconds >= 0
        else { return .noSuchTime }
        // The fields name the time they give (no day or second rolled over into the next).
        guard Array(self.text(UInt64(nanoseconds)).utf8.prefix(19)) == Array(characters.prefix(19)) else {
            return .noSuchTime
        }
        return .time(UInt64(nanoseconds))
    }

    /// The smallest time written as an integer of ns: 10^16 (1970-04-27).
    public static let smallestInteger: UInt64 = 10_000_000_000_000_000

    /// Year, month, day of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
    static func civil(days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
