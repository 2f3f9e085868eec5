/// Parsing and formatting of decimal text as whole multiples of an `Increment`.
///
/// Works on UTF-8 bytes without allocating; only the error path builds a `String`.
@usableFromInline
enum FixedPointDecimal {
    /// Parses `bytes` as a decimal and returns it in units of `increment`.
    @usableFromInline
    static func parse(
        _ bytes: UnsafeBufferPointer<UInt8>, increment: Increment, allowNegative: Bool
    ) throws(ModelError) -> Int64 {
        var index = 0
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var mantissa: Int64 = 0
        var digits = 0
        var fractionDigits = 0
        var pendingZeros = 0  // fraction zeros not yet folded in (they may be trailing)
        var seenPoint = false
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: ".") {
                if seenPoint { throw .malformedDecimal(input: text(bytes)) }
                seenPoint = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw .malformedDecimal(input: text(bytes))
            }
            digits += 1
            let digit = Int64(byte &- UInt8(ascii: "0"))
            if seenPoint {
                if digit == 0 {
                    pendingZeros += 1
                    continue
                }
                // A significant fraction digit: fold in the zeros before it, then it.
                fractionDigits += pendingZeros + 1
                if fractionDigits > increment.decimals {
                    throw .tooManyDecimals(input: text(bytes), allowed: increment.decimals)
                }
                for _ in 0..<pendingZeros {
                    mantissa = try multiply(mantissa, 10, bytes)
                }
                pendingZeros = 0
            }
            mantissa = try add(try multiply(mantissa, 10, bytes), digit, bytes)
        }
        guard digits > 0 else { throw .malformedDecimal(input: text(bytes)) }
        // Scale to the increment's decimals, then divide by the increment's step.
        var units = mantissa
        for _ in fractionDigits..<increment.decimals {
            units = try multiply(units, 10, bytes)
        }
        let (quotient, remainder) = units.quotientAndRemainder(dividingBy: increment.units)
        guard remainder == 0 else {
            throw .notOnIncrement(input: text(bytes), increment: increment.description)
        }
        // (`-0`, `-0.0` are zero: tools that write floats give them for a size of nothing.)
        if negative && quotient != 0 {
            guard allowNegative else { throw .negative(input: text(bytes)) }
            return -quotient
        }
        return quotient
    }

    /// Formats `count` increments as decimal text with exactly `increment.decimals` places.
    static func format(_ count: Int64, increment: Increment) -> String {
        increment.withDecimalText(count) { text in
            text.map { String(decoding: $0, as: UTF8.self) } ?? "\(count)×\(increment)"
        }
    }

    private static func multiply(
        _ value: Int64, _ factor: Int64, _ bytes: UnsafeBufferPointer<UInt8>
    ) throws(ModelError) -> Int64 {
        let (result, overflow) = value.multipliedReportingOverflow(by: factor)
        if overflow { throw .overflow(input: text(bytes)) }
        return result
    }

    private static func add(
        _ value: Int64, _ addend: Int64, _ bytes: UnsafeBufferPointer<UInt8>
    ) throws(ModelError) -> Int64 {
        let (result, overflow) = value.addingReportingOverflow(addend)
        if overflow { throw .overflow(input: text(bytes)) }
        return result
    }

    static func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// Runs `body` on the UTF-8 bytes of `string` (contiguous for native strings).
    @usableFromInline
    static func withUTF8<R>(
        _ string: String, _ body: (UnsafeBufferPointer<UInt8>) throws(ModelError) -> R
    ) throws(ModelError) -> R {
        var copy = string
        let result = copy.withUTF8 { bytes in
            Result { () throws(ModelError) -> R in try body(bytes) }
        }
        return try result.get()
    }
}

extension Increment {
    /// Calls `body` with `count` steps of this increment as decimal text (ASCII, exactly
    /// `decimals` places, at most 21 bytes), or with nil when the value does not fit in Int64.
    /// No allocation: the one decimal writer behind `Price.formatted`, `Quantity.formatted` and
    /// the JSON-lines writer.
    @inlinable
    public func withDecimalText<Result>(_ count: Int64, _ body: (UnsafeRawBufferPointer?) -> Result) -> Result {
        let (units, overflow) = count.multipliedReportingOverflow(by: self.units)
        guard !overflow else { return body(nil) }
        // Written backwards from the end of 32 bytes of scratch: digits, the point, a sign.
        var scratch: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &scratch) { bytes in
            var start = bytes.count
            var magnitude = units.magnitude
            var written = 0
            repeat {
                if written == decimals, decimals > 0 {
                    start -= 1
                    bytes[start] = UInt8(ascii: ".")
                }
                start -= 1
                bytes[start] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
                written += 1
            } while magnitude > 0 || written <= decimals
            if units < 0 {
                start -= 1
                bytes[start] = UInt8(ascii: "-")
            }
            return body(UnsafeRawBufferPointer(rebasing: bytes[start...]))
        }
    }
}
