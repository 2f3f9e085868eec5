/// Errors that stop the engine from starting, each naming the setting to fix.
public enum EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidSetting(name: String, value: String, allowed: String)
    case setupFailed(String)
    /// The journal could not be read, recovered or written; the text says where and why.
    case journal(String)

    public var description: String {
        switch self {
        case .invalidSetting(let name, let value, let allowed):
            return "invalid \(name) '\(value)': \(allowed)"
        case .journal(let reason):
            return "journal: \(reason)"
        case .setupFailed(let reason):
            return "engine set-up failed: \(reason)"
        }
    }
}
