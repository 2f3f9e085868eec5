import Foundation

/// Locates `../shared/data` (the real market samples) from the test sources, and reads its
/// CSV files. For tests only.
public enum SharedData {
    /// The directory holding the shared samples: `$PEREGRINE_SHARED_DATA`, or `shared/data`
    /// beside the repository.
    public static var directory: URL {
        if let path = ProcessInfo.processInfo.environment["PEREGRINE_SHARED_DATA"] {
            return URL(fileURLWithPath: path)
        }
        // Tests/PeregrineTestSupport/SharedData.swift → repository → its parent.
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/data")
    }

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
