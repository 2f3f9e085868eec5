import Foundation

/// Collects what a child process writes to a pipe, as it comes, until the pipe's end of file.
///
/// `waitForEnd` returns once every byte written before the writer closed its end (its exit)
/// has been collected: a test reading the last lines of a process's output after its exit must
/// not guess how long the reader takes to deliver them (a fixed sleep failed on a loaded
/// machine). Thread-safe.
public final class PipeCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = Data()
    private var ended = false

    /// Starts collecting from `pipe`'s reading end.
    public init(_ pipe: Pipe) {
        pipe.fileHandleForReading.readabilityHandler = { [self] handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                lock.withLock { ended = true }
            } else {
                lock.withLock { stored.append(data) }
            }
        }
    }

    /// Everything collected so far.
    public var data: Data { lock.withLock { stored } }

    /// Everything collected so far, as UTF-8 text.
    public var text: String { String(decoding: data, as: UTF8.self) }

    /// Whether the pipe has reached its end of file.
    public var hasEnded: Bool { lock.withLock { ended } }

    /// Waits until the pipe's end of file (every writer closed it), at most `seconds`; returns
    /// whether it came.
    @discardableResult
    public func waitForEnd(seconds: Double = 60) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !hasEnded {
            if Date() >= deadline { return false }
            usleep(1_000)
        }
        return true
    }
}

/// An engine (`peregrine run`, …) started in the background: its standard output on a pipe
/// (read it to its end), its standard error (the log) collected.
public struct StartedEngine {
    public let process: Process
    public let output: Pipe
    public let log: PipeCollector

    /// Starts `binary` with `arguments` (`environment` over this process's).
    public init(_ binary: URL, _ arguments: [String], environment: [String: String] = [:]) throws {
        process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        output = Pipe()
        process.standardOutput = output
        let errors = Pipe()
        process.standardError = errors
        log = PipeCollector(errors)
        try process.run()
    }

    /// Waits (at most 60 s) until the engine logged that it started: every stage open, a NATS
    /// input subscribed. False if it exited or the time passed first.
    public func awaitStarted() -> Bool {
        let deadline = Date().addingTimeInterval(60)
        while !log.text.contains("[PeregrineEngine] started") {
            if Date() >= deadline || !process.isRunning { return false }
            usleep(10_000)
        }
        return true
    }
}
