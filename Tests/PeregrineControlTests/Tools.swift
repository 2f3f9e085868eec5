import Foundation
import PeregrineTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// External tools the operations tests drive (curl, promtool, prometheus, kubernetes-validate),
/// and the `peregrine` binary built next to the test bundle. `make test` installs the tools.
enum Tools {
    static var peregrine: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("peregrine")
    }

    /// The repository root (for `deploy/`).
    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// A tool's path: on PATH, or (kubernetes-validate) in the virtual environment `make test` makes.
    static func path(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        var candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map {
            "\($0)/\(name)"
        }
        candidates.append(repository.appendingPathComponent(".build/tools-venv/bin/\(name)").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    struct Result {
        var status: Int32
        var output: String
        var error: String
    }

    enum Failure: Error, CustomStringConvertible {
        case missing(String)
        var description: String {
            switch self {
            case .missing(let name): return "\(name) not found; `make test` installs it"
            }
        }
    }

    /// Runs a tool to completion, feeding `input` on standard input.
    static func run(_ name: String, _ arguments: [String], input: String? = nil) throws -> Result {
        guard let path = path(name) else { throw Failure.missing(name) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        let inputPipe = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : inputPipe
        try process.run()
        if let input {
            inputPipe.fileHandleForWriting.write(Data(input.utf8))
            try inputPipe.fileHandleForWriting.close()
        }
        // Read both pipes concurrently so neither fills up.
        let errorData = LockedData()
        let reader = Thread { errorData.set(error.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let outData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errorData.isSet { usleep(1_000) }
        return Result(
            status: process.terminationStatus, output: String(decoding: outData, as: UTF8.self),
            error: String(decoding: errorData.value, as: UTF8.self))
    }

    /// GET `url` with curl: the status code (0 when nothing answered) and the body.
    static func get(_ url: String) throws -> (status: Int, body: String) {
        let result = try run("curl", ["-s", "--max-time", "5", "-o", "-", "-w", "\n%{http_code}", url])
        var lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
        let code = Int(lines.popLast() ?? "") ?? 0
        return (code, lines.joined(separator: "\n"))
    }

    /// A temporary directory, removed by the caller.
    static func temporaryDirectory(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "peregrine-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// A process started in the background, its output collected; stopped by PID.
final class Background: @unchecked Sendable {
    let process = Process()
    private let output: PipeCollector
    private let error: PipeCollector

    init(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let outPipe = Pipe()
        let errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = FileHandle.nullDevice
        output = PipeCollector(outPipe)
        error = PipeCollector(errPipe)
        try process.run()
    }

    var standardOutput: String { output.text }
    var standardError: String { error.text }

    /// Waits for the exit (SIGTERM first when `terminate`) and for the last of its output;
    /// returns the status.
    @discardableResult
    func stop(terminate: Bool = true) -> Int32 {
        if terminate && process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        output.waitForEnd()
        error.waitForEnd()
        return process.terminationStatus
    }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private var done = false
    var value: Data { lock.withLock { data } }
    var isSet: Bool { lock.withLock { done } }
    func append(_ more: Data) { lock.withLock { data.append(more) } }
    func set(_ all: Data) {
        lock.withLock {
            data = all
            done = true
        }
    }
}
