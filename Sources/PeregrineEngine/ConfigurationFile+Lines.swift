import PeregrineRisk
import PeregrineStrategy
import TOMLKit

extension ConfigurationFile {
    /// Where an error about `setting` is in a configuration file: `path:line`, or `line N`
    /// without a path; nil when `setting` is not found in `text` (`line(of:in:)`).
    public static func location(of setting: String, in text: String, path: String?) -> String? {
        line(of: setting, in: text).map { location(line: $0, path: path) }
    }

    /// Line `line` of the file `path` as errors name it: `path:line`, or `line N` without a path.
    public static func location(line: Int, path: String?) -> String {
        path.map { "\($0):\(line)" } ?? "line \(line)"
    }

    /// `error`, from checking a configuration `text` (of the file `path`) gave, with the file's
    /// line when it is about something the file writes: a setting (`control.admin_token`), or a
    /// `[[strategy]]` table's name or parameter that building the strategies refused. A
    /// strategy is found only when one table alone matches it (its name, and the parameter's
    /// value as the error gives it), so that a strategy given as a flag is never put on a line
    /// of the file. `afterOverrides`: the configuration checked had the environment's and the
    /// flags' settings over the file's (`validate()`), so a setting is named at its line only
    /// when the file writes the value refused, found by the error's name as the file writes it
    /// or as its flag (`burst` is `source.burst`, then named so). Any other error is returned as
    /// it is.
    public static func located(_ error: EngineError, in text: String, path: String?, afterOverrides: Bool = false)
        -> EngineError
    {
        let setting: String?
        switch error {
        case .invalidSetting(let name, _, _) where afterOverrides && name.hasPrefix("instrument["):
            // An `[[instrument]]` table's setting: only the file writes those tables.
            setting = name
        case .invalidSetting(let name, let value, let allowed) where afterOverrides:
            guard let key = keys.first(where: { $0.path == name }) ?? key(ofFlag: name),
                writes(key, value, in: text), let location = location(of: key.path, in: text, path: path)
            else { return error }
            return .inFile(location: location, .invalidSetting(name: key.path, value: value, allowed: allowed))
        case .invalidSetting(let name, _, _): setting = name
        case .strategy(let refusal): setting = strategySetting(refusal, in: text)
        case .risk(let refusal): setting = riskSetting(refusal)
        default: setting = nil
        }
        guard let setting, let location = location(of: setting, in: text, path: path) else { return error }
        return .inFile(location: location, error)
    }

    /// Whether `text` writes `key` with `value` as an error shows it (the admin token, shown by
    /// its length, when the file's own is refused).
    static func writes(_ key: Key, _ value: String, in text: String) -> Bool {
        guard let written = (try? TOMLTable(string: text))?[key.section]?.table?[key.name],
            let converted = try? convert(written, for: key)
        else { return false }
        let shown = describe(converted)
        if key.path == "control.admin_token" {
            // Shown by its length: the file's token is the one refused only if the rule refuses it.
            return "(\(shown.count) characters)" == value && !EngineConfiguration.isUsableAdminToken(shown)
        }
        return shown == value
    }

    /// The one file key a command-line flag sets (`on-full` is `source.on_full`, `metrics-port`
    /// is `metrics.port`): the key named like the flag, or its section and name together; nil
    /// when none or several are.
    static func key(ofFlag flag: String) -> Key? {
        let name = flag.replacingOccurrences(of: "-", with: "_")
        let matching = keys.filter { $0.name == name || "\($0.section)_\($0.name)" == name }
        return matching.count == 1 ? matching.first : nil
    }

    /// The `[[risk]]` setting a rule's refusal names first (`risk[2].price_collar_bps = "50.5":
    /// …` is about `risk[2].price_collar_bps`); nil when it names none.
    static func riskSetting(_ refusal: RiskConfigurationError) -> String? {
        guard refusal.message.hasPrefix("risk[") else { return nil }
        let name = refusal.message.prefix { $0 != " " && $0 != ":" && $0 != "=" }
        return name.isEmpty ? nil : String(name)
    }

    /// The setting (`strategy[N].key`, `strategy[N].name` or `strategy[N]`) of the one
    /// `[[strategy]]` table of `text` a strategy's refusal is about; nil when none or several.
    static func strategySetting(_ refusal: StrategyConfigurationError, in text: String) -> String? {
        let name: String
        var key: String?
        var value: String?
        switch refusal {
        case .unknownStrategy(let strategy, _): (name, key) = (strategy, "name")
        case .unknownParameter(let strategy, let parameter, _), .duplicateParameter(let strategy, let parameter):
            (name, key) = (strategy, parameter)
        case .invalidParameter(let strategy, let parameter, let given, _),
            .quantityFinerThanLot(let strategy, let parameter, let given, _, _):
            (name, key, value) = (strategy, parameter, given)
        case .invalidInstruments(let strategy, _), .invalid(let strategy, _): name = strategy
        case .duplicateID: return nil
        }
        guard let tables = (try? TOMLTable(string: text))?["strategy"]?.array else { return nil }
        var found: String?
        for (index, element) in tables.enumerated() {
            guard let table = element.table, let spec = try? strategy(table, index: index + 1), spec.name == name else {
                continue
            }
            if let key, key != "name" {
                guard spec.parameters.contains(where: { $0.key == key && (value == nil || $0.value == value) }) else {
                    continue
                }
            }
            guard found == nil else { return nil }
            found = "strategy[\(index + 1)]" + (key.map { ".\($0)" } ?? "")
        }
        return found
    }

    /// The line (from 1) of `text` that writes `setting`, named as the errors name it:
    /// `section.key` (`[section]`'s key), `table[N].key` (the key of the N-th `[[table]]`),
    /// `section.key.part` (a part of an inline table, a dotted key or a `[section.key]`
    /// sub-table), `table[N]` or `section` (the header), or a top-level `key`. A key a table
    /// does not write is found at the table's header. Lines inside multi-line strings and arrays
    /// are values, never headers or keys; LF and CRLF line ends count alike. Nil when the file
    /// does not write the setting's table (a top-level dotted key, an inline table of tables).
    /// O(length of `text`).
    public static func line(of setting: String, in text: String) -> Int? {
        // The setting's parts: its section, which of the array's tables, and its key.
        var section = Substring(setting)
        var key: Substring?
        var occurrence: Int?
        if let dot = setting.firstIndex(of: ".") {
            section = setting[..<dot]
            key = setting[setting.index(after: dot)...]
        }
        if section.hasSuffix("]"), let open = section.firstIndex(of: "[") {
            occurrence = Int(section[section.index(after: open)..<section.index(before: section.endIndex)])
            guard occurrence != nil else { return nil }
            section = section[..<open]
        }
        let keyHead = key.map { $0.prefix { $0 != "." } }
        let keyRest = key.flatMap { key in key.firstIndex(of: ".").map { key[key.index(after: $0)...] } }
        let subTable = keyHead.map { "\(section).\($0)" }
        var current: String? = nil
        var seen: [String: Int] = [:]
        var sectionLine: Int?
        var subTableLine: Int?
        var value = ValueScan()
        for (index, raw) in lines(of: text).enumerated() {
            var line = raw.drop { $0 == " " || $0 == "\t" || $0 == "\u{FEFF}" }
            // The rest of a value begun above (a multi-line string or array): no header, no key.
            if value.continues {
                value.scan(line)
                continue
            }
            if let (name, isArray) = Self.header(line) {
                if isArray { seen[name, default: 0] += 1 }
                if sectionLine != nil {
                    // The key's own sub-table, another sub-table of the section, or the next table.
                    if name == subTable {
                        guard keyRest != nil else { return index + 1 }
                        subTableLine = index + 1
                        current = name
                        continue
                    }
                    if name.hasPrefix("\(section).") {
                        current = name
                        continue
                    }
                    return subTableLine ?? sectionLine
                }
                current = name
                if name == section, occurrence == (isArray ? seen[name] : nil) {
                    guard key != nil else { return index + 1 }
                    sectionLine = index + 1
                }
                continue
            }
            if let key, let keyHead, sectionLine != nil {
                if current == String(section), Self.writes(line, key: key) || Self.writes(line, key: keyHead) {
                    return index + 1
                }
                if let keyRest, current == subTable, Self.writes(line, key: keyRest) { return index + 1 }
            } else if key == nil, current == nil, Self.writes(line, key: section) {
                return index + 1
            }
            // The value after the key: it may open a string or an array that goes on below.
            if let equals = line.firstIndex(of: "=") { line = line[line.index(after: equals)...] }
            value.scan(line)
        }
        return subTableLine ?? sectionLine
    }

    /// The line (from 1) each string element of the array `setting` (as `line(of:in:)` names
    /// it) starts on, in order; nil when the file does not write `setting` as an array, or its
    /// array does not close. Comments, escapes and strings over several lines are read as TOML
    /// reads them; a nested array's or inline table's strings are not elements. O(length of
    /// `text`).
    public static func elementLines(ofArray setting: String, in text: String) -> [Int]? {
        guard let first = line(of: setting, in: text) else { return nil }
        let written = lines(of: text)
        var value = ValueScan()
        var found: [Int] = []
        for index in (first - 1)..<written.count {
            var line = written[index]
            if index == first - 1 {
                guard let equals = line.firstIndex(of: "=") else { return nil }
                line = line[line.index(after: equals)...]
                guard line.drop(while: { $0 == " " || $0 == "\t" }).first == "[" else { return nil }
            }
            let before = value.outerStrings
            value.scan(line)
            found += repeatElement(index + 1, count: value.outerStrings - before)
            if !value.continues { return found }
        }
        return nil
    }

    /// The lines of `text`, ended by LF or CRLF (a CRLF is one `Character`), as TOML counts them.
    static func lines(of text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
    }

    /// The name of the table a line's header opens (`[name]` or `[[name]]`, parts quoted or
    /// not, with an optional comment after it), and whether it is an array's table; nil for any
    /// other line.
    static func header(_ line: Substring) -> (String, Bool)? {
        guard line.hasPrefix("[") else { return nil }
        let isArray = line.hasPrefix("[[")
        let inside = line.dropFirst(isArray ? 2 : 1)
        guard let close = inside.firstIndex(of: "]"), !isArray || inside[close...].hasPrefix("]]") else { return nil }
        let rest = inside[close...].dropFirst(isArray ? 2 : 1).trimmingCharacters(in: " \t")
        guard rest.isEmpty || rest.hasPrefix("#") else { return nil }
        var parts: [String] = []
        for part in inside[..<close].split(separator: ".", omittingEmptySubsequences: false) {
            var name = part.trimmingCharacters(in: " \t")
            if name.count >= 2, let quote = name.first, quote == "\"" || quote == "'", name.last == quote {
                name = String(name.dropFirst().dropLast())
            } else if name.isEmpty || !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) {
                return nil
            }
            parts.append(name)
        }
        return (parts.joined(separator: "."), isArray)
    }

    /// Whether `line` (its indentation removed) sets `key`: `key =`, `"key" =` or `'key' =`,
    /// or a dotted key starting with it (`key.part =`).
    static func writes(_ line: Substring, key: Substring) -> Bool {
        for written in [String(key), "\"\(key)\"", "'\(key)'"] where line.hasPrefix(written) {
            let after = line.dropFirst(written.count).trimmingCharacters(in: " \t")
            if after.hasPrefix("=") || after.hasPrefix(".") { return true }
        }
        return false
    }
}

/// Where a TOML value stands at the end of a line: inside a multi-line string (its delimiter)
/// or inside arrays or inline tables (how deep), so that the lines it goes on over are read as
/// the value's, not as headers or keys.
struct ValueScan {
    var openString: String?
    var depth = 0
    /// Strings begun at depth 1: the elements of an array value, when the value is one.
    var outerStrings = 0

    /// Whether the value goes on past the line scanned last.
    var continues: Bool { openString != nil || depth > 0 }

    /// Reads one line (or the rest of one after its key's `=`) of a value, scalar by scalar (a
    /// combining mark after a quote is not a character of its own).
    mutating func scan(_ line: Substring) {
        var rest = line.unicodeScalars[...]
        if let delimiter = openString {
            guard let end = Self.closing(delimiter, in: rest) else { return }
            openString = nil
            rest = rest[end...]
        }
        while let scalar = rest.first {
            if rest.starts(with: "\"\"\"".unicodeScalars) || rest.starts(with: "'''".unicodeScalars) {
                if depth == 1 { outerStrings += 1 }
                let delimiter = scalar == "\"" ? "\"\"\"" : "'''"
                rest = rest.dropFirst(3)
                guard let end = Self.closing(delimiter, in: rest) else {
                    openString = delimiter
                    return
                }
                rest = rest[end...]
                continue
            }
            rest = rest.dropFirst()
            switch scalar {
            case "#": return
            case "\"":
                // A basic string: to its closing quote, past escaped ones.
                if depth == 1 { outerStrings += 1 }
                var escaped = false
                while let next = rest.first {
                    rest = rest.dropFirst()
                    if escaped {
                        escaped = false
                    } else if next == "\\" {
                        escaped = true
                    } else if next == "\"" {
                        break
                    }
                }
            case "'":
                if depth == 1 { outerStrings += 1 }
                rest = rest.drop { $0 != "'" }.dropFirst()
            case "[", "{": depth += 1
            case "]", "}": depth = Swift.max(depth - 1, 0)
            default: break
            }
        }
    }

    /// Where the value goes on after the multi-line string `delimiter` (`\"\"\"` or `'''`) closes
    /// in `rest`: after a run of three to five quotes (TOML lets a string end with one or two),
    /// escapes skipped in a basic string; nil when it does not close there.
    static func closing(_ delimiter: String, in rest: Substring.UnicodeScalarView) -> Substring.UnicodeScalarView.Index?
    {
        let quote: Unicode.Scalar = delimiter == "'''" ? "'" : "\""
        var index = rest.startIndex
        var run = 0
        while index < rest.endIndex {
            let scalar = rest[index]
            if scalar == quote {
                run += 1
            } else if run >= 3 {
                return index
            } else {
                run = 0
                // An escape (a backslash and what it escapes) in a basic string.
                if quote == "\"", scalar == "\\" {
                    index = rest.index(after: index)
                    if index == rest.endIndex { return nil }
                }
            }
            index = rest.index(after: index)
        }
        return run >= 3 ? index : nil
    }
}
