extension ConfigurationFile {
    /// Where an error about `setting` is in a configuration file: `path:line`, or `line N`
    /// without a path; nil when `setting` is not found in `text` (`line(of:in:)`).
    public static func location(of setting: String, in text: String, path: String?) -> String? {
        guard let line = line(of: setting, in: text) else { return nil }
        return path.map { "\($0):\(line)" } ?? "line \(line)"
    }

    /// The line (from 1) of `text` that writes `setting`, named as the errors name it:
    /// `section.key` (`[section]`'s key), `table[N].key` (the key of the N-th `[[table]]`),
    /// `table[N]` or `section` (the header), or a top-level `key`. A key the section does not
    /// write is found at its header. Nil when neither is written that way (an inline table, a
    /// dotted key), so that a message never points at a wrong line. O(length of `text`).
    public static func line(of setting: String, in text: String) -> Int? {
        // The setting's parts: its section, which of the array's tables, and its key.
        var section: Substring
        var key: Substring?
        var occurrence: Int?
        if let dot = setting.firstIndex(of: ".") {
            section = setting[..<dot]
            key = setting[setting.index(after: dot)...]
        } else {
            section = Substring(setting)
        }
        if section.hasSuffix("]"), let open = section.firstIndex(of: "[") {
            occurrence = Int(section[section.index(after: open)..<section.index(before: section.endIndex)])
            guard occurrence != nil else { return nil }
            section = section[..<open]
        }
        var current: Substring? = nil
        var seen: [Substring: Int] = [:]
        var header: Int?
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if let (name, isArray) = Self.header(line) {
                // The section's keys end at the next header: a key it does not write is at its own.
                if header != nil { return header }
                current = name
                if isArray { seen[name, default: 0] += 1 }
                if name == section, occurrence == (isArray ? seen[name] : nil) {
                    if key == nil { return index + 1 }
                    header = index + 1
                }
                continue
            }
            // A top-level key (`profile`), or the key of the section found.
            let inTarget = key == nil ? current == nil : header != nil && current == section
            if inTarget, Self.writes(line, key: key ?? section) { return index + 1 }
        }
        return header
    }

    /// The name of the table a line's header opens (`[name]` or `[[name]]`, with an optional
    /// comment after it), and whether it is an array's table; nil for any other line (an
    /// array's elements on their own lines are not headers: they are not names).
    static func header(_ line: Substring) -> (Substring, Bool)? {
        guard line.hasPrefix("[") else { return nil }
        let isArray = line.hasPrefix("[[")
        let inside = line.dropFirst(isArray ? 2 : 1)
        guard let close = inside.firstIndex(of: "]") else { return nil }
        let name = inside[..<close].trimmingSpaces
        var rest = inside[close...].dropFirst(isArray ? 2 : 1)
        if isArray, !inside[close...].hasPrefix("]]") { return nil }
        rest = rest.trimmingSpaces
        guard !name.isEmpty, rest.isEmpty || rest.hasPrefix("#"),
            name.allSatisfy({ $0.isLetter || $0.isNumber || "_-.".contains($0) })
        else { return nil }
        return (name, isArray)
    }

    /// Whether `line` (its indentation removed) sets `key`: `key =` or `"key" =`.
    static func writes(_ line: Substring, key: Substring) -> Bool {
        for written in [String(key), "\"\(key)\"", "'\(key)'"] where line.hasPrefix(written) {
            if line.dropFirst(written.count).trimmingSpaces.hasPrefix("=") { return true }
        }
        return false
    }
}

extension Substring {
    /// Without spaces and tabs at either end.
    fileprivate var trimmingSpaces: Substring {
        let start = drop { $0 == " " || $0 == "\t" }
        var end = start.endIndex
        while end > start.startIndex, start[start.index(before: end)] == " " || start[start.index(before: end)] == "\t"
        {
            end = start.index(before: end)
        }
        return start[..<end]
    }
}
