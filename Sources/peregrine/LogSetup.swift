import Logging

enum LogSetup {
    /// Sends every swift-log logger to standard error (one line each: time, level, label,
    /// `key=value` metadata, message) at `level` and above; returns the engine's logger.
    /// Call once per process, before any logger is made.
    static func bootstrap(level: String) -> Logger {
        let threshold = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = threshold
            return handler
        }
        return Logger(label: "peregrine.engine")
    }
}
