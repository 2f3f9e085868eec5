import PeregrineModel

/// Builds JSON-lines output into a byte buffer and hands it to `flush` in large chunks.
/// Appending allocates nothing once the buffer has grown to its working size.
public struct JSONLinesWriter {
    public private(set) var buffer: [UInt8] = []
    let flushThreshold: Int
    let flush: ([UInt8]) -> Void

    /// `flush` receives the bytes whenever more than `flushThreshold` are pending, and at
    /// `finish`.
    public init(flushThreshold: Int = 1 << 16, flush: @escaping ([UInt8]) -> Void) {
        self.flushThreshold = flushThreshold
        self.flush = flush
        buffer.reserveCapacity(Swift.min(flushThreshold, 1 << 20) + 4_096)
    }

    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { buffer.append(contentsOf: $0) }
    }

    public mutating func string(_ text: String) {
        buffer.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { buffer.append(UInt8(ascii: "\\")) }
            if byte < 0x20 {
                raw(" ")
            } else {
                buffer.append(byte)
            }
        }
        buffer.append(UInt8(ascii: "\""))
    }

    /// `bytes` as a quoted lower-case hex string with a `0x` prefix.
    public mutating func hex(_ bytes: UnsafeRawBufferPointer) {
        raw("\"0x")
        for byte in bytes {
            buffer.append(Self.hexDigits[Int(byte >> 4)])
            buffer.append(Self.hexDigits[Int(byte & 0x0F)])
        }
        buffer.append(UInt8(ascii: "\""))
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    public mutating func integer<T: BinaryInteger>(_ value: T) {
        if value == 0 {
            buffer.append(UInt8(ascii: "0"))
            return
        }
        var magnitude = value.magnitude
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { scratch in
            while magnitude > 0 {
                scratch[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
            while count > 0 {
                count -= 1
                buffer.append(scratch[count])
            }
        }
    }

    /// `count` steps of `increment` as a quoted exact decimal (`"20377.00"`), written straight
    /// into the buffer (`Increment.withDecimalText`: the same text as `Price.formatted`).
    public mutating func decimal(_ count: Int64, increment: Increment) {
        increment.withDecimalText(count) { text in
            guard let text else {
                string(Price(ticks: count).formatted(tickSize: increment))
                return
            }
            buffer.append(UInt8(ascii: "\""))
            buffer.append(contentsOf: text)
            buffer.append(UInt8(ascii: "\""))
        }
    }

    /// Ends a line; flushes when enough is pending.
    public mutating func endLine() {
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= flushThreshold {
            flush(buffer)
            buffer.removeAll(keepingCapacity: true)
        }
    }

    /// Drops the pending bytes, keeping the buffer's capacity: for a caller that sends
    /// `buffer` itself.
    public mutating func clear() { buffer.removeAll(keepingCapacity: true) }

    public mutating func finish() {
        if !buffer.isEmpty {
            flush(buffer)
            buffer.removeAll(keepingCapacity: true)
        }
    }
}
