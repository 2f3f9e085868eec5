import PeregrineModel

/// Errors from setting up books.
public enum BookError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A ceiling of levels per side below 1.
    case invalidLevelCeiling(Int)
    /// A dense window outside 64 ... 1,048,576 ticks.
    case invalidWindowSize(Int)
    /// A book set with no instruments or more than 65,536.
    case invalidInstrumentCount(Int)
    /// An instrument spec whose rules do not hold; the text says which and how to fix it.
    case invalidSpec(instrument: InstrumentID, String)
    /// Two specs for one instrument in a matching engine.
    case duplicateInstrument(InstrumentID)

    public var description: String {
        switch self {
        case .invalidWindowSize(let size):
            return "a book's dense window of \(size) ticks is not allowed: use 64 to 1048576"
        case .invalidLevelCeiling(let levels):
            return "a book must hold at least 1 level per side (got \(levels))"
        case .invalidInstrumentCount(let count):
            return "instrument count \(count) is not allowed: use 1 to 65536"
        case .invalidSpec(let instrument, let problem):
            return "instrument \(instrument): \(problem)"
        case .duplicateInstrument(let instrument):
            return "instrument \(instrument) is configured twice"
        }
    }
}
