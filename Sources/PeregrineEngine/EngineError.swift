/// Errors that stop the engine from starting, each naming the setting to fix.
public enum EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidSetting(name: String, value: String, allowed: String)
    case setupFailed(String)
    /// The journal could not be read, recovered or written; the text says where and why.
    case journal(String)

    public var description: String {
        switch self {
        case .invalidSetting(let name, let value, let allowed):
            return "invalid \(name) '\(Self.excerpt(value))': \(allowed)"
        case .journal(let reason):
            return "journal: \(reason)"
        case .setupFailed(let reason):
            return "engine set-up failed: \(reason)"
        }
    }

    /// A value as an error message shows it: at most 120 characters (a long value is cut, with
    /// its length), control characters escaped so that nothing cuts or garbles the line.
    public static func excerpt(_ value: String) -> String {
        var shown = ""
        var count = 0
        for scalar in value.unicodeScalars {
            if count == 120 {
                return shown + "… (\(value.utf8.count) bytes)"
            }
            shown += scalar.value < 0x20 || scalar.value == 0x7F ? scalar.escaped(asASCII: true) : String(scalar)
            count += 1
        }
        return shown
    }
}
