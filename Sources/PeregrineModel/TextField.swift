/// Text written into the CSV and JSON outputs (symbols, names): quoted so that any text reads
/// back as itself. Pure; allocates the result.
public enum TextField {
    /// `text` as one CSV field (RFC 4180): as it is, unless it holds a comma, a double quote or
    /// a line break; then in double quotes, its quotes doubled.
    public static func csv(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 })
        else { return text }
        var quoted = "\""
        for scalar in text.unicodeScalars {
            if scalar == "\"" { quoted += "\"" }
            quoted.unicodeScalars.append(scalar)
        }
        return quoted + "\""
    }

    /// `text` as a JSON string literal: quotes, backslashes and control characters (DEL too)
    /// escaped. It is a TOML basic string as well, which reads back as `text`.
    public static func json(_ text: String) -> String {
        guard
            text.utf8.contains(where: {
                $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\")
            })
        else {
            return "\"" + text + "\""
        }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A value as an error message shows it: at most 120 characters (a longer one is cut, with
    /// its length: a field of a damaged file can be megabytes), control characters escaped so
    /// that nothing cuts or garbles the line. Pure.
    public static func excerpt(_ value: String) -> String { excerpt(value, bytes: value.utf8.count) }

    /// `bytes` (UTF-8, invalid sequences replaced) as `excerpt(_:)` shows text: no more of
    /// them are decoded than 120 characters can take.
    public static func excerpt(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        excerpt(String(decoding: UnsafeBufferPointer(rebasing: bytes.prefix(484)), as: UTF8.self), bytes: bytes.count)
    }

    static func excerpt(_ value: String, bytes: Int) -> String {
        var shown = ""
        var count = 0
        for scalar in value.unicodeScalars {
            if count == 120 { return shown + "… (\(bytes) bytes)" }
            let control =
                scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}"
            shown += control ? scalar.escaped(asASCII: true) : String(scalar)
            count += 1
        }
        return shown
    }
}
