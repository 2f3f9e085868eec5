import ArgumentParser
import Foundation
import PeregrineBacktest

/// A command's `--json` result: one object on standard output, keys sorted.
enum JSONOutput {
    /// Prints `object` as one line; a JSON or standard output that cannot be written is said
    /// on standard error and fails the command (exit 1).
    static func print(_ object: [String: Any]) throws {
        let line: String
        do { line = try text(object) } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        Swift.print(line)
        if let reason = Peregrine.standardOutputFailure() {
            printError("error: standard output could not be written: \(reason)")
            throw ExitCode(1)
        }
    }

    /// `object` as one line of JSON, keys sorted (what `print` prints).
    static func text(_ object: [String: Any]) throws(BacktestError) -> String {
        do {
            return String(
                decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        } catch {
            throw .output("the JSON could not be made: \(error)")
        }
    }
}
