import Foundation

/// The real market and chain samples the tests use, in `Tests/Fixtures` (origins and licences
/// in its SOURCES.md). Tests read sample data from here only, so a clone anywhere passes.
public enum Fixtures {
    /// `Tests/Fixtures` in this repository.
    public static var directory: URL {
        // Tests/PeregrineTestSupport/Fixtures.swift → Tests → Tests/Fixtures.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures")
    }

    /// The path of the fixture file `name`.
    public static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// The rows of a CSV file as dictionaries keyed by the header (simple CSV: no quoting).
    public static func csvRows(_ name: String) throws -> [[String: String]] {
        let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard !lines.isEmpty else { return [] }
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        return lines.map { line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            return Dictionary(uniqueKeysWithValues: zip(header, fields))
        }
    }
}
