/// A line of an input file that cannot be used, with its 1-based line number (0 when the
/// problem is not on one line), the file when known, and what is wrong with it. Described as
/// `FILE:LINE: message`, as compilers name a place in a file (terminals and editors open it).
public struct FeedError: Error, Equatable, Sendable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var file: String?

    public init(line: Int, _ message: String, file: String? = nil) {
        self.line = line
        self.message = message
        self.file = file
    }

    public var description: String {
        switch (file, line) {
        case (let file?, 1...): return "\(file):\(line): \(message)"
        case (let file?, _): return "\(file): \(message)"
        case (nil, 1...): return "line \(line): \(message)"
        default: return message
        }
    }
}
