import Foundation

/// The `peregrine` binary built next to the test bundle, for tests that drive the CLI.
public enum PeregrineCLI {
    public static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("peregrine")
    }

    /// What a finished `peregrine` process left.
    public struct Result: Sendable {
        public var status: Int32
        public var output: String
        public var error: String

        public init(status: Int32, output: String, error: String) {
            self.status = status
            self.output = output
            self.error = error
        }

        /// The value of the report line that starts with `prefix` (e.g. "state hash: ").
        public func line(startingWith prefix: String) -> String? {
            output.split(separator: "\n").first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        }

        public var stateHash: String? { line(startingWith: "state hash: ") }
        public var outputHash: String? { line(startingWith: "output hash: ") }
    }

    /// Limits and identity a test imposes on the process (faults the OS will not produce for
    /// root, simulated).
    public struct Constraints: Sendable {
        /// RLIMIT_FSIZE in 1 KiB blocks, with SIGXFSZ ignored: writes past it fail with EFBIG,
        /// as on a full disk.
        public var fileSizeLimitKiB: Int?
        /// Run as the unprivileged `nobody` (when the tests run as root), so that a directory
        /// without write permission is read-only for the process.
        public var unprivileged = false
        /// Killed (SIGKILL, status 137) after this many seconds: for a test of something that
        /// must not wait, so that it fails rather than hangs when it does.
        public var timeoutSeconds: Int?

        public init(fileSizeLimitKiB: Int? = nil, unprivileged: Bool = false, timeoutSeconds: Int? = nil) {
            self.fileSizeLimitKiB = fileSizeLimitKiB
            self.unprivileged = unprivileged
            self.timeoutSeconds = timeoutSeconds
        }
    }

    /// Runs `peregrine arguments` to the end; its exit status, standard output and standard error.
    public static func run(
        _ arguments: [String], environment: [String: String] = [:], constraints: Constraints = Constraints()
    ) throws -> Result {
        let process = Process()
        var launch = [binary.path] + arguments
        if constraints.unprivileged, getuid() == 0 {
            launch = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + launch
        }
        if let seconds = constraints.timeoutSeconds {
            launch = ["/usr/bin/timeout", "-s", "KILL", "\(seconds)"] + launch
        }
        if let limit = constraints.fileSizeLimitKiB {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "trap '' XFSZ; ulimit -f \(limit); exec \"$@\"", "sh"] + launch
        } else {
            process.executableURL = URL(fileURLWithPath: launch[0])
            process.arguments = Array(launch.dropFirst())
        }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // Read standard error on another thread so that neither pipe fills and blocks the child.
        let errorData = ErrorCollector()
        let reader = Thread { errorData.data = error.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errorData.done { Thread.sleep(forTimeInterval: 0.001) }
        return Result(
            status: process.terminationStatus, output: String(decoding: outData, as: UTF8.self),
            error: String(decoding: errorData.data, as: UTF8.self))
    }

    /// The bytes a reader thread collected.
    final class ErrorCollector: @unchecked Sendable {
        private let lock = NSLock()
        private var stored = Data()
        private var finished = false
        var data: Data {
            get { lock.withLock { stored } }
            set {
                lock.withLock {
                    stored = newValue
                    finished = true
                }
            }
        }
        var done: Bool { lock.withLock { finished } }
    }
}
