import PeregrineModel

/// Builds JSON-lines output into a byte buffer and hands it to `flush` in large chunks.
/// Appending allocates nothing once the buffer has grown to its working size.
/// Its appending methods are inlinable, so that callers in other modules get them specialised
/// (an unspecialised generic `integer` had made `peregrine match` six times slower).
public struct JSONLinesWriter {
    @usableFromInline var pending: [UInt8] = []
    @usableFromInline let flushThreshold: Int
    @usableFromInline let flush: ([UInt8]) -> Void

    /// The bytes not yet flushed.
    public var buffer: [UInt8] { pending }

    /// `flush` receives the bytes whenever more than `flushThreshold` are pending, and at
    /// `finish`.
    public init(flushThreshold: Int = 1 << 16, flush: @escaping ([UInt8]) -> Void) {
        self.flushThreshold = flushThreshold
        self.flush = flush
        pending.reserveCapacity(Swift.min(flushThreshold, 1 << 20) + 4_096)
    }

    @inlinable
    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { pending.append(contentsOf: $0) }
    }

    @inlinable
    public mutating func string(_ text: String) {
        pending.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { pending.append(UInt8(ascii: "\\")) }
            if byte < 0x20 {
                raw(" ")
            } else {
                pending.append(byte)
            }
        }
        pending.append(UInt8(ascii: "\""))
    }

    /// `bytes` as a quoted lower-case hex string with a `0x` prefix.
    @inlinable
    public mutating func hex(_ bytes: UnsafeRawBufferPointer) {
        raw("\"0x")
        for byte in bytes {
            pending.append(Self.hexDigits[Int(byte >> 4)])
            pending.append(Self.hexDigits[Int(byte & 0x0F)])
        }
        pending.append(UInt8(ascii: "\""))
    }

    @usableFromInline static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    @inlinable
    public mutating func integer<T: BinaryInteger>(_ value: T) {
        if value == 0 {
            pending.append(UInt8(ascii: "0"))
            return
        }
        var magnitude = value.magnitude
        if value < 0 { pending.append(UInt8(ascii: "-")) }
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
                pending.append(scratch[count])
            }
        }
    }

    /// `count` steps of `increment` as a quoted exact decimal (`"20377.00"`), written straight
    /// into the buffer (`Increment.withDecimalText`: the same text as `Price.formatted`).
    @inlinable
    public mutating func decimal(_ count: Int64, increment: Increment) {
        increment.withDecimalText(count) { text in
            guard let text else {
                string(Price(ticks: count).formatted(tickSize: increment))
                return
            }
            pending.append(UInt8(ascii: "\""))
            pending.append(contentsOf: text)
            pending.append(UInt8(ascii: "\""))
        }
    }

    /// Ends a line; flushes when enough is pending.
    @inlinable
    public mutating func endLine() {
        pending.append(UInt8(ascii: "\n"))
        if pending.count >= flushThreshold {
            flush(pending)
            pending.removeAll(keepingCapacity: true)
        }
    }

    /// Drops the pending bytes, keeping the buffer's capacity: for a caller that sends
    /// `buffer` itself.
    @inlinable
    public mutating func clear() { pending.removeAll(keepingCapacity: true) }

    @inlinable
    public mutating func finish() {
        if !pending.isEmpty {
            flush(pending)
            pending.removeAll(keepingCapacity: true)
        }
    }
}
