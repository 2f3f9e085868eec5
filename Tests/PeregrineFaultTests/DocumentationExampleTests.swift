import Foundation
import PeregrineTestSupport
import Testing

/// The examples in `docs/` do what the text says: a configuration shown as a whole file is
/// accepted by `peregrine config check` as it stands, and `docs/match.md`'s input gives the
/// output printed below it, line for line.
@Suite("Documentation examples")
struct DocumentationExampleTests {
    static let docs = Fixtures.directory.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs")

    /// The code blocks of `file` fenced as `language`, in order.
    static func blocks(_ file: String, _ language: String) throws -> [String] {
        let text = try String(contentsOf: docs.appendingPathComponent(file), encoding: .utf8)
        var blocks: [String] = []
        var current: [Substring]? = nil
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```\(language)" {
                current = []
            } else if current != nil, line == "```" {
                blocks.append((current ?? []).joined(separator: "\n") + "\n")
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    @Test(arguments: ["strategies.md", "risk.md"])
    func aWholeConfigurationFileIsAccepted(_ file: String) throws {
        let example = try #require(try Self.blocks(file, "toml").first)
        let path = NSTemporaryDirectory() + "doc-example-\(getpid())-\(file).toml"
        try example.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let check = try Faults.run(["config", "check", path])
        #expect(check.status == 0, "\(file): \(check.error)")
    }

    @Test func theMatchExampleGivesItsOutput() throws {
        let blocks = try Self.blocks("match.md", "json")
        try #require(blocks.count >= 2)
        let input = NSTemporaryDirectory() + "doc-match-\(getpid()).jsonl"
        try blocks[0].write(toFile: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: input) }
        let match = try Faults.run(["match", "--commands", input])
        #expect(match.status == 0, "\(match.error)")
        #expect(match.output == blocks[1])
    }
}
