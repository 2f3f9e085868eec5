import PeregrineModel

/// Errors from setting up books.
public enum BookError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A ladder size outside 64 ... 1,048,576 price levels.
    case invalidLadderSize(Int)
    /// A book set with no instruments or more than 65,536.
    case invalidInstrumentCount(Int)
    /// An instrument spec whose rules do not hold; the text says which and how to fix it.
    case invalidSpec(instrument: InstrumentID, String)
    /// Two specs for one instrument in a matching engine.
    case duplicateInstrument(InstrumentID)

    public var description: String {
        switch self {
        case .invalidLadderSize(let size):
            return "ladder size \(size) is not allowed: use 64 to 1048576 price levels"
        case .invalidInstrumentCount(let count):
            return "instrument count \(count) is not allowed: use 1 to 65536"
        case .invalidSpec(let instrument, let problem):
            return "instrument \(instrument): \(problem)"
        case .duplicateInstrument(let instrument):
            return "instrument \(instrument) is configured twice"
        }
    }
}
