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
