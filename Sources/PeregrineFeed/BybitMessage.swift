import PeregrineCodec
import PeregrineModel

/// The fields of a Bybit `orderbook` websocket message that a mirror book needs, read in
/// place: the message type and update id.
struct BybitMessage {
    enum Kind { case snapshot, delta }
    let line: UnsafeBufferPointer<UInt8>

    init(_ line: UnsafeBufferPointer<UInt8>) { self.line = line }

    /// A line without `"type":"snapshot"` or `"type":"delta"`.
    static var noType: FeedError {
        FeedError(
            line: 0,
            #"no "type":"snapshot" or "type":"delta" (messages are read as Bybit sends them: compact JSON, "#
                + "no spaces between keys and values)")
    }

    var type: Kind? {
        guard let start = line.find("\"type\":\"") else { return nil }
        let rest = UnsafeBufferPointer(rebasing: line[start...])
        if rest.starts(with: "snapshot".utf8) { return .snapshot }
        if rest.starts(with: "delta".utf8) { return .delta }
        return nil
    }

    /// The message's symbol (`"s":"XRPUSDT"` in its data), as written; nil without one.
    var symbol: UnsafeBufferPointer<UInt8>? {
        guard let start = line.find("\"s\":\"") else { return nil }
        var end = start
        while end < line.count, line[end] != UInt8(ascii: "\"") { end += 1 }
        return UnsafeBufferPointer(rebasing: line[start..<end])
    }

    /// The symbol the message's `topic` names (`XRPUSDT` of `"topic":"orderbook.500.XRPUSDT"`:
    /// what follows its last '.'), as written; nil without a topic.
    var topicSymbol: UnsafeBufferPointer<UInt8>? {
        guard let start = line.find("\"topic\":\"") else { return nil }
        var end = start
        var symbolStart = start
        while end < line.count, line[end] != UInt8(ascii: "\"") {
            if line[end] == UInt8(ascii: ".") { symbolStart = end + 1 }
            end += 1
        }
        return UnsafeBufferPointer(rebasing: line[symbolStart..<end])
    }

    /// The value of the message's `ts` (milliseconds since the Unix epoch) as written, up to the
    /// next `,` or `}`, spaces around it (and around its colon) left out; nil without one.
    var timestampField: UnsafeBufferPointer<UInt8>? { value(of: "\"ts\"") }

    /// The value of the message's update id `u` as written (as `timestampField`), searched from
    /// `from` (where the pairs ended: it follows them) and then from the start; nil without one.
    func updateIDField(searchingFrom from: Int = 0) -> UnsafeBufferPointer<UInt8>? {
        value(of: "\"u\"", searchingFrom: from) ?? (from > 0 ? value(of: "\"u\"") : nil)
    }

    /// The message's `ts` (ms), read strictly: nil without one, an error when it is not an
    /// integer.
    func timestamp() throws(FeedError) -> Int64? {
        guard let field = timestampField else { return nil }
        guard let value = field.integerValue else {
            throw FeedError(line: 0, "\"ts\" \(TextField.excerpt(field)) is not an integer (ms since 1970)")
        }
        return value
    }

    /// The message's update id `u`, read strictly (as `updateIDField` finds it): nil without
    /// one, an error when it is not an integer of 0 or more (a damaged id had passed as a gap).
    func updateID(searchingFrom from: Int = 0) throws(FeedError) -> Int64? {
        guard let field = updateIDField(searchingFrom: from) else { return nil }
        guard let value = field.integerValue, value >= 0 else {
            throw FeedError(line: 0, "\"u\" \(TextField.excerpt(field)) is not an integer of 0 or more (the update id)")
        }
        return value
    }

    /// A key the replay reads (`topic`, `type`, `s`, `ts`, `b`, `a`, `u`) given twice in the message, as
    /// written (quoted): a second value would otherwise be read beside or instead of the first
    /// (both arrays of a side applied, the first `ts` kept). nil when each is given once at most.
    var repeatedKey: String? {
        // One pass over the line's quoted strings: a string followed by its colon is a key.
        var seen: UInt8 = 0
        var index = 0
        while index < line.count {
            guard line[index] == UInt8(ascii: "\"") else {
                index += 1
                continue
            }
            var end = index + 1
            while end < line.count, line[end] != UInt8(ascii: "\"") { end += 1 }
            guard end < line.count else { return nil }
            var next = end + 1
            while next < line.count, line[next] == 0x20 { next += 1 }
            if next < line.count, line[next] == UInt8(ascii: ":"),
                let bit = Self.readKeyBit(UnsafeBufferPointer(rebasing: line[(index + 1)..<end]))
            {
                if seen & bit != 0 { return "\"" + String(decoding: line[(index + 1)..<end], as: UTF8.self) + "\"" }
                seen |= bit
            }
            index = end + 1
        }
        return nil
    }

    /// The bit of a key the replay reads (`topic`, `type`, `s`, `ts`, `b`, `a`, `u`), nil for
    /// another.
    static func readKeyBit(_ key: UnsafeBufferPointer<UInt8>) -> UInt8? {
        switch key.count {
        case 1:
            switch key[0] {
            case UInt8(ascii: "s"): return 1
            case UInt8(ascii: "b"): return 2
            case UInt8(ascii: "a"): return 4
            case UInt8(ascii: "u"): return 8
            default: return nil
            }
        case 2: return key.elementsEqual("ts".utf8) ? 16 : nil
        case 4: return key.elementsEqual("type".utf8) ? 32 : nil
        case 5: return key.elementsEqual("topic".utf8) ? 64 : nil
        default: return nil
        }
    }

    /// The value of `key` (quoted) as written, up to the next `,` or `}`, spaces around it
    /// (and around its colon) left out; nil without the key, searched from `from`.
    func value(of key: StaticString, searchingFrom from: Int = 0) -> UnsafeBufferPointer<UInt8>? {
        guard var start = line.find(key, from: from) else { return nil }
        while start < line.count, line[start] == 0x20 { start += 1 }
        guard start < line.count, line[start] == UInt8(ascii: ":") else { return nil }
        start += 1
        while start < line.count, line[start] == 0x20 { start += 1 }
        var end = start
        while end < line.count, line[end] != UInt8(ascii: ","), line[end] != UInt8(ascii: "}") { end += 1 }
        while end > start, line[end - 1] == 0x20 { end -= 1 }
        return UnsafeBufferPointer(rebasing: line[start..<end])
    }
}

/// The `[price, size]` string pairs of a Bybit message's `"b"` then `"a"` arrays, in order. An
/// array holds nothing else: anything but a pair of quoted strings before its `]` is bad data
/// (a level written `[1.95,5]` had ended its side's array, the rest of the side dropped).
struct BybitPairs {
    let line: UnsafeBufferPointer<UInt8>
    var position: Int
    var end: Int
    var side: Side = .buy
    var doneBids = false
    /// The index in its side's array of the pair `next` returned last.
    var level = -1

    init(_ line: UnsafeBufferPointer<UInt8>) {
        self.line = line
        position = line.find("\"b\":[") ?? line.count
        end = line.count
    }

    mutating func next() throws(FeedError) -> (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>)? {
        while true {
            while position < line.count, line[position] == UInt8(ascii: ",") || line[position] == 0x20 { position += 1 }
            if position < line.count, line[position] == UInt8(ascii: "["),
                let price = string(at: position + 1),
                price.end < line.count, line[price.end] == UInt8(ascii: ","),
                let size = string(at: price.end + 1),
                size.end < line.count, line[size.end] == UInt8(ascii: "]")
            {
                position = size.end + 1
                level += 1
                return (price.bytes, size.bytes)
            }
            // The end of this array (none found: position at the end): move to the asks, or stop.
            if position < line.count, line[position] != UInt8(ascii: "]") { throw notAPair() }
            if !doneBids {
                doneBids = true
                side = .sell
                level = -1
                // The asks follow the bids: search on from here, then (rarely) from the start.
                position = line.find("\"a\":[", from: position) ?? line.find("\"a\":[") ?? line.count
                continue
            }
            return nil
        }
    }

    /// `error` about the pair `next` returned last, naming it where it says "a level's"
    /// (`b[3] price '0' is not positive`).
    @inline(never)
    func naming(_ error: FeedError) -> FeedError {
        var named = error
        let generic = "a level's "
        if named.message.hasPrefix(generic) { named.message = column(String(named.message.dropFirst(generic.count))) }
        return named
    }

    /// The last pair's `field` as this line writes it: `b[0] price`, `a[2] size`.
    func column(_ field: String) -> String { "\(side == .buy ? "b" : "a")[\(level)] \(field)" }

    @inline(never)
    func notAPair() -> FeedError {
        let shown = UnsafeBufferPointer(rebasing: line[position..<Swift.min(position + 24, line.count)])
        return FeedError(
            line: 0,
            "\"\(side == .buy ? "b" : "a")\" at column \(position + 1) holds '\(TextField.excerpt(shown))', "
                + "not a level [\"price\",\"size\"] of two quoted strings")
    }

    /// The quoted string starting at `start` and the index just after its closing quote.
    func string(at start: Int) -> (bytes: UnsafeBufferPointer<UInt8>, end: Int)? {
        guard start < line.count, line[start] == UInt8(ascii: "\"") else { return nil }
        var index = start + 1
        while index < line.count, line[index] != UInt8(ascii: "\"") { index += 1 }
        guard index < line.count else { return nil }
        return (UnsafeBufferPointer(rebasing: line[(start + 1)..<index]), index + 1)
    }
}

extension UnsafeBufferPointer where Element == UInt8 {
    /// The index just after the first occurrence of `pattern` at or after `from`, or nil.
    func find(_ pattern: StaticString, from: Int = 0) -> Int? {
        pattern.withUTF8Buffer { needle in
            guard needle.count <= count else { return nil }
            var index = from
            while index + needle.count <= count {
                if self[index] == needle[0] {
                    var match = true
                    for offset in 1..<needle.count where self[index + offset] != needle[offset] {
                        match = false
                        break
                    }
                    if match { return index + needle.count }
                }
                index += 1
            }
            return nil
        }
    }
}
