import PeregrineCore
import PeregrineSys
import PeregrineTestSupport
import PropertyBased
import Testing

/// `pg_json_single_object` (16 bytes at a time) against a plain byte-by-byte reference, on
/// random lines of JSON's structural characters and on every prefix of real Bybit messages.
@Suite("JSON object shape")
struct JSONShapeTests {
    /// The reference: one byte at a time.
    static func reference(_ bytes: [UInt8]) -> (code: Int32, column: Int) {
        var position = 0
        while position < bytes.count, bytes[position] == 0x20 || bytes[position] == 0x09 { position += 1 }
        guard position < bytes.count, bytes[position] == UInt8(ascii: "{") else { return (1, position + 1) }
        var depth = 0
        var inString = false
        while position < bytes.count {
            let byte = bytes[position]
            if inString {
                if byte == UInt8(ascii: "\\") { position += 1 } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                depth += 1
            } else if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                depth -= 1
                if depth < 0 { return (2, position + 1) }
                if depth == 0 {
                    var rest = position + 1
                    while rest < bytes.count, bytes[rest] == 0x20 || bytes[rest] == 0x09 { rest += 1 }
                    return rest == bytes.count ? (0, 0) : (3, rest + 1)
                }
            }
            position += 1
        }
        return (4, bytes.count)
    }

    static func shape(_ bytes: [UInt8]) -> (code: Int32, column: Int) {
        var column = 0
        let code = bytes.withUnsafeBufferPointer { pg_json_single_object($0.baseAddress, $0.count, &column) }
        return (code, code == 0 ? 0 : column)
    }

    @Test func randomLinesGiveTheReferenceVerdictAndColumn() async {
        let alphabet = Array("{}[]\"\\ \t,:a1".utf8)
        // Mostly balanced-looking lines: an object around random structural text.
        let body = Gen.int(in: 0...(alphabet.count - 1)).map { alphabet[$0] }.array(of: 0...120)
        await propertyCheck(count: 20_000, input: body, Gen.int(in: 0...3)) { body, wrap in
            var bytes: [UInt8]
            switch wrap {
            case 0: bytes = body
            case 1: bytes = Array("{".utf8) + body + Array("}".utf8)
            case 2: bytes = Array("  {\"k\":[".utf8) + body + Array("]} ".utf8)
            default: bytes = Array("{\"s\":\"".utf8) + body.filter { $0 != UInt8(ascii: "\\") } + Array("\"}".utf8)
            }
            let expected = Self.reference(bytes)
            let found = Self.shape(bytes)
            #expect(
                found.code == expected.code && found.column == expected.column,
                "\(String(decoding: bytes, as: UTF8.self))")
        }
    }

    @Test func realMessagesAreWholeAndEveryPrefixIsNot() throws {
        let text = try String(
            contentsOfFile: Fixtures.path("bybit_XRPUSDT_orderbook500_2024-12-01.jsonl"), encoding: .utf8)
        let lines = String(String.UnicodeScalarView(text.unicodeScalars.filter { $0 != "\r" })).split(separator: "\n")
        #expect(lines.count == 50)
        for line in lines.prefix(5) {
            let bytes = Array(line.utf8)
            #expect(Self.shape(bytes).code == 0)
            for cut in stride(from: 1, to: bytes.count, by: 7) {
                let prefix = Array(bytes[..<cut])
                #expect(Self.shape(prefix).code == 4, "cut at \(cut)")
            }
            #expect(Self.shape(bytes + Array(" x".utf8)) == (3, bytes.count + 2))
            #expect(Self.shape(bytes + Array("{}".utf8)) == (3, bytes.count + 1))
        }
    }
}
