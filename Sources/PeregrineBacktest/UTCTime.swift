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

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fraction]]` (UTC, optional `Z`), or an
    /// integer of ns since the epoch.
    public static func parse(_ text: String) -> UInt64? {
        if let value = UInt64(text) { return value }
        var body = Substring(text)
        if body.hasSuffix("Z") { body = body.dropLast() }
        let halves = body.split(separator: "T", maxSplits: 1, omittingEmptySubsequences: false)
        let date = halves[0].split(separator: "-", omittingEmptySubsequences: false)
        guard date.count == 3, let year = Int64(date[0]), let month = Int64(date[1]), let day = Int64(date[2]),
            (1970...9999).contains(year), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var nanos: Int64 = 0
        if halves.count == 2 {
            let clock = halves[1].split(separator: ":", omittingEmptySubsequences: false)
            guard (2...3).contains(clock.count), let hour = Int64(clock[0]), let minute = Int64(clock[1]),
                (0..<24).contains(hour), (0..<60).contains(minute)
            else { return nil }
            nanos = (hour * 3_600 + minute * 60) * 1_000_000_000
            if clock.count == 3 {
                let parts = clock[2].split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
                guard let second = Int64(parts[0]), (0..<61).contains(second) else { return nil }
                nanos += second * 1_000_000_000
                if parts.count == 2 {
                    let digits = parts[1]
                    guard !digits.isEmpty, digits.count <= 9, let fraction = Int64(digits) else { return nil }
                    var scaled = fraction
                    for _ in digits.count..<9 { scaled *= 10 }
                    nanos += scaled
                }
            }
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        guard days >= 0 else { return nil }
        let (seconds, first) = UInt64(days).multipliedReportingOverflow(by: 86_400)
        let (base, second) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, third) = base.addingReportingOverflow(UInt64(nanos))
        return first || second || third ? nil : total
    }

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

    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
