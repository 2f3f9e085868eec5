/// A line of an input file that cannot be used, with its 1-based line number and what is
/// wrong with it.
public struct FeedError: Error, Equatable, Sendable, CustomStringConvertible {
    public var line: Int
    public var message: String

    public init(line: Int, _ message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { "line \(line): \(message)" }
}
