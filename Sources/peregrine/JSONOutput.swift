import ArgumentParser
import Foundation

/// A command's `--json` result: one object on standard output, keys sorted.
enum JSONOutput {
    /// Prints `object` as one line; a JSON or standard output that cannot be written is said
    /// on standard error and fails the command (exit 1).
    static func print(_ object: [String: Any]) throws {
        let data: Data
        do { data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) } catch {
            printError("error: the JSON could not be made: \(error)")
            throw ExitCode(1)
        }
        Swift.print(String(decoding: data, as: UTF8.self))
        if let reason = Peregrine.standardOutputFailure() {
            printError("error: standard output could not be written: \(reason)")
            throw ExitCode(1)
        }
    }
}
