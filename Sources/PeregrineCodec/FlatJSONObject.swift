/// One JSON object whose values are scalars (numbers, strings, `true`, `false`, `null`):
/// the shape of a JSON-lines record. Parsing records byte ranges into the line and never
/// allocates; values are read on demand. Strings may not contain escapes (`\`), which no
/// field of the formats read here needs; such a string is reported as malformed.
public struct FlatJSONObject: ~Copyable {
    public enum Kind: UInt8, Sendable {
        case number, string, bool, null
    }

    @usableFromInline struct Field {
        @usableFromInline var keyStart: Int32
        @usableFromInline var keyEnd: Int32
        @usableFromInline var valueStart: Int32
        @usableFromInline var valueEnd: Int32
        @usableFromInline var kind: Kind
    }

    public static let maxFields = 16
    /// The field table, allocated once (reading an inline array through a borrowed
    /// noncopyable value copied the whole table per lookup).
    @usableFromInline let fields: UnsafeMutablePointer<Field>
    @usableFromInline var count = 0
    public private(set) var bytes: UnsafeBufferPointer<UInt8>

    /// An empty object, to `parse` lines into (reused, so no line copies the field table).
    public init() {
        bytes = UnsafeBufferPointer(start: nil, count: 0)
        fields = .allocate(capacity: Self.maxFields)
        fields.initialize(
            repeating: Field(keyStart: 0, keyEnd: 0, valueStart: 0, valueEnd: 0, kind: .null), count: Self.maxFields)
    }

    deinit {
        fields.deallocate()
    }

    /// Parses `bytes` (one line, without its newline); throws a message naming the problem.
    public init(parsing bytes: UnsafeBufferPointer<UInt8>) throws(FeedError) {
        self.init()
        try parse(bytes)
    }

    /// Parses `bytes` into this object, replacing what it held.
    public mutating func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(FeedError) {
        self.bytes = bytes
        count = 0
        var position = 0
        func skipSpace() {
            while position < bytes.count, bytes[position] == 0x20 || bytes[position] == 0x09 || bytes[position] == 0x0D
            {
                position += 1
            }
        }
        func fail(_ message: String) -> FeedError { FeedError(line: 0, "\(message) at column \(position + 1)") }
        skipSpace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "{") else { throw fail("expected '{'") }
        position += 1
        skipSpace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
        } else {
            while true {
                skipSpace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                    throw fail("expected a quoted key")
                }
                let keyStart = position + 1
                position = keyStart
                while position < bytes.count, bytes[position] != UInt8(ascii: "\"") {
                    if bytes[position] == UInt8(ascii: "\\") { throw fail("escapes are not supported in keys") }
                    position += 1
                }
                guard position < bytes.count else { throw fail("unterminated key") }
                let keyEnd = position
                position += 1
                skipSpace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                position += 1
                skipSpace()
                guard position < bytes.count else { throw fail("missing value") }
                var field = Field(
                    keyStart: Int32(keyStart), keyEnd: Int32(keyEnd), valueStart: Int32(position),
                    valueEnd: Int32(position), kind: .null)
                let first = bytes[position]
                if first == UInt8(ascii: "\"") {
                    position += 1
                    field.valueStart = Int32(position)
                    while position < bytes.count, bytes[position] != UInt8(ascii: "\"") {
                        if bytes[position] == UInt8(ascii: "\\") { throw fail("escapes are not supported in strings") }
                        position += 1
                    }
                    guard position < bytes.count else { throw fail("unterminated string") }
                    field.valueEnd = Int32(position)
                    field.kind = .string
                    position += 1
                } else if first == UInt8(ascii: "-") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) {
                    while position < bytes.count {
                        let byte = bytes[position]
                        let isNumberByte =
                            (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
                            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e")
                            || byte == UInt8(ascii: "E")
                        if !isNumberByte { break }
                        position += 1
                    }
                    field.valueEnd = Int32(position)
                    field.kind = .number
                } else if Self.matches(bytes, at: position, "true") || Self.matches(bytes, at: position, "false") {
                    let length = bytes[position] == UInt8(ascii: "t") ? 4 : 5
                    position += length
                    field.valueEnd = Int32(position)
                    field.kind = .bool
                } else if Self.matches(bytes, at: position, "null") {
                    position += 4
                    field.valueEnd = Int32(position)
                    field.kind = .null
                } else if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
                    throw fail("nested objects and arrays are not supported")
                } else {
                    throw fail("unexpected '\(Character(Unicode.Scalar(first)))'")
                }
                guard count < Self.maxFields else { throw fail("more than \(Self.maxFields) fields") }
                // A key given twice is refused (which one counts would be a guess).
                for index in 0..<count
                where bytes[Int(fields[index].keyStart)..<Int(fields[index].keyEnd)].elementsEqual(
                    bytes[keyStart..<keyEnd])
                {
                    let key = String(decoding: UnsafeBufferPointer(rebasing: bytes[keyStart..<keyEnd]), as: UTF8.self)
                    throw fail("the key \"\(key)\" is given twice")
                }
                fields[count] = field
                count += 1
                skipSpace()
                guard position < bytes.count else { throw fail("unterminated object") }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                guard bytes[position] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
                position += 1
                break
            }
        }
        skipSpace()
        guard position == bytes.count else { throw fail("unexpected text after the object") }
    }

    static func matches(_ bytes: UnsafeBufferPointer<UInt8>, at position: Int, _ word: StaticString) -> Bool {
        let length = word.utf8CodeUnitCount
        guard position + length <= bytes.count else { return false }
        return word.withUTF8Buffer { wordBytes in
            (0..<length).allSatisfy { bytes[position + $0] == wordBytes[$0] }
        }
    }

    /// The value of `key`: its kind and bytes (inside the quotes for strings), or nil.
    /// Written without closures: a closure capturing this struct would copy its field table.
    @inlinable @inline(__always)
    public func value(_ key: StaticString) -> (kind: Kind, bytes: UnsafeBufferPointer<UInt8>)? {
        let length = key.utf8CodeUnitCount
        let keyBytes = key.utf8Start
        for index in 0..<count {
            let field = fields[index]
            guard Int(field.keyEnd &- field.keyStart) == length else { continue }
            var equal = true
            var offset = 0
            while offset < length {
                if bytes[Int(field.keyStart) &+ offset] != keyBytes[offset] {
                    equal = false
                    break
                }
                offset &+= 1
            }
            if equal {
                return (field.kind, UnsafeBufferPointer(rebasing: bytes[Int(field.valueStart)..<Int(field.valueEnd)]))
            }
        }
        return nil
    }

    /// The keys present that are not in `known` (for rejecting misspelt fields). Allocates
    /// only when there are some.
    @inline(__always)
    public func unknownKeys(_ known: [StaticString]) -> [String] {
        var unknown: [String] = []
        for index in 0..<count {
            let field = fields[index]
            let key = UnsafeBufferPointer(rebasing: bytes[Int(field.keyStart)..<Int(field.keyEnd)])
            var found = false
            for candidate in known where key.equals(candidate) {
                found = true
                break
            }
            if !found { unknown.append(String(decoding: key, as: UTF8.self)) }
        }
        return unknown
    }
}

extension UnsafeBufferPointer where Element == UInt8 {
    /// Whether these bytes spell `word`.
    @inlinable
    public func equals(_ word: StaticString) -> Bool {
        guard word.utf8CodeUnitCount == count else { return false }
        let wordBytes = word.utf8Start
        for index in 0..<count where self[index] != wordBytes[index] { return false }
        return true
    }
}
