import Foundation
import PeregrineCore

#if canImport(Glibc)
    import Glibc
#endif

/// A `nats-server -js` of the test's own on a loopback port with a temporary store directory,
/// stopped by PID (and its directory removed) when the test is done. Used by the tests that
/// restart servers or build clusters; the others use `$PEREGRINE_NATS_URL`, the server that
/// `make test` starts, when it is set.
public final class NATSServerProcess: @unchecked Sendable {
    public let port: Int
    public let clusterPort: Int?
    public let storeDirectory: URL
    public let arguments: [String]
    private var process: Process?

    public var url: String { "nats://127.0.0.1:\(port)" }

    public enum StartError: Error, CustomStringConvertible {
        case notInstalled
        case notReady(String)
        case cannotCreateLog(String)
        public var description: String {
            switch self {
            case .notInstalled:
                return "nats-server is not installed (make test installs it: apt-get install nats-server)"
            case .notReady(let log): return "nats-server did not start listening: \(log)"
            case .cannotCreateLog(let path): return "cannot create the nats-server log \(path)"
            }
        }
    }

    /// Starts a server (with JetStream unless `jetStream` is false); `cluster` names the
    /// cluster and `routes` its peers' cluster ports.
    public init(
        name: String = "test", port: Int? = nil, clusterPort: Int? = nil, cluster: String? = nil, routes: [Int] = [],
        storeDirectory: URL? = nil, jetStream: Bool = true
    ) throws {
        self.port = port ?? LoopbackPort.free()
        self.clusterPort = clusterPort
        self.storeDirectory =
            storeDirectory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent(
                "peregrine-nats-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.storeDirectory, withIntermediateDirectories: true)
        var arguments =
            (jetStream ? ["-js"] : []) + [
                "-a", "127.0.0.1", "-p", String(self.port), "-sd", self.storeDirectory.path, "-n", name,
            ]
        if let cluster, let clusterPort {
            arguments += ["--cluster_name", cluster, "--cluster", "nats://127.0.0.1:\(clusterPort)"]
            if !routes.isEmpty {
                arguments += ["--routes", routes.map { "nats://127.0.0.1:\($0)" }.joined(separator: ",")]
            }
        }
        self.arguments = arguments
        try start()
    }

    /// Starts (again, after `stop()`) on the same port and store directory; nothing when it
    /// runs already (a second server would fail to bind, and the first would be left running).
    public func start() throws {
        if let process, process.isRunning { return }
        guard let binary = Self.binary else { throw StartError.notInstalled }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let log = storeDirectory.appendingPathComponent("server.log")
        guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
            throw StartError.cannotCreateLog(log.path)
        }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        self.process = process
        // Ready when the client port accepts connections.
        for _ in 0..<200 {
            if Self.canConnect(port: port) { return }
            usleep(25_000)
        }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        stop()
        throw StartError.notReady(String(text.suffix(2_000)))
    }

    /// Stops the server: SIGTERM (it flushes its store), then waits for the process to exit.
    public func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        self.process = nil
    }

    /// Runs the engine `binary` with `arguments` while this server goes away a second after the
    /// engine logged that it started (connected, its source open) and comes back on its port and
    /// store 1.5 s later; returns the exit status and standard output once the process has
    /// exited.
    public func run(_ binary: URL, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let engine = try StartedEngine(binary, arguments)
        let (process, output) = (engine.process, engine.output)
        _ = engine.awaitStarted()
        usleep(1_000_000)
        stop()
        usleep(1_500_000)
        try start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: storeDirectory)
    }

    /// `$PEREGRINE_NATS_URL` when `make test` started a server.
    public static var sharedURL: String? { ProcessInfo.processInfo.environment["PEREGRINE_NATS_URL"] }

    static var binary: String? {
        for path in ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
        where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        return nil
    }

    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0
    }
}
