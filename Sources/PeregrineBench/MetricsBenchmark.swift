import Logging
import PeregrineControl
import PeregrineCore
import PeregrineEngine
import PeregrineStrategy
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `peregrine bench metrics`: the pipeline at the maximum rate with the control plane off and
/// on (serving on 127.0.0.1 and scraped like Prometheus would), alternating the order between
/// rounds so both see the same machine.
public enum MetricsBenchmark {
    /// One round: the sustained rates without and with the metrics server.
    public struct Round: Sendable {
        public var off: Double
        public var on: Double
        public var ratio: Double { off > 0 ? on / off : 0 }
    }

    /// What the rounds measured, with the control plane's own work off the hot threads.
    public struct Result: Sendable {
        public var rounds: [Round] = []
        public var scrapes = 0
        /// Wall time of answered scrapes, request to last byte.
        public var scrapeNanoseconds = 0
        /// Time the monitor spent publishing to the control plane, and how often it did.
        public var observerNanoseconds = 0
        public var observerCalls = 0
        /// Seconds the runs with metrics lasted.
        public var metricsSeconds = 0.0
    }

    /// Runs `rounds` rounds of `configuration` (which should say the rate, duration and
    /// topology) twice each; `roundDone` is called after each round. Throws what the pipeline
    /// throws.
    public static func run<S: Strategy & Sendable>(
        configuration: EngineConfiguration, rounds: Int, scrapeIntervalSeconds: Double, custom: S.Type,
        roundDone: (Int, Round) -> Void = { _, _ in }
    ) throws(EngineError) -> Result {
        var quiet = Logger(label: "peregrine.bench")
        quiet.logLevel = .warning
        let clock = CycleClock.calibrate()
        var result = Result()
        for index in 0..<rounds {
            var round = Round(off: 0, on: 0)
            for withMetrics in index % 2 == 0 ? [false, true] : [true, false] {
                if withMetrics {
                    let port = LoopbackPort.free()
                    guard port > 0 else {
                        throw .wiring("no TCP port can be bound on 127.0.0.1 (out of file descriptors?)")
                    }
                    let plane = ControlPlane(port: port, logger: quiet)
                    guard plane.awaitListening(timeoutSeconds: 30) else {
                        plane.stop()
                        throw .wiring("the metrics server could not listen on 127.0.0.1:\(port) (taken?); run again")
                    }
                    let timed = TimedObserver(plane)
                    let scraper = try Scraper(port: port, intervalSeconds: scrapeIntervalSeconds)
                    let report = try Pipeline.run(
                        configuration: configuration, custom: custom, clock: clock, observer: timed,
                        logger: quiet, status: { _ in })
                    result.scrapes += scraper.stop()
                    result.scrapeNanoseconds += scraper.nanoseconds.load(ordering: .relaxed)
                    result.observerNanoseconds += timed.nanoseconds.load(ordering: .relaxed)
                    result.observerCalls += timed.calls.load(ordering: .relaxed)
                    result.metricsSeconds += report.elapsedSeconds
                    plane.stop()
                    round.on = report.sustainedRate
                } else {
                    let report = try Pipeline.run(
                        configuration: configuration, custom: custom, clock: clock, logger: quiet,
                        status: { _ in })
                    round.off = report.sustainedRate
                }
            }
            result.rounds.append(round)
            roundDone(index, round)
        }
        return result
    }
}

/// Forwards to an observer and times its `interval` calls (monitor thread).
final class TimedObserver: PipelineObserver, @unchecked Sendable {
    let inner: any PipelineObserver
    let nanoseconds = Atomic<Int>(0)
    let calls = Atomic<Int>(0)

    init(_ inner: any PipelineObserver) { self.inner = inner }

    func recovered(_ summary: ReplaySummary?) { inner.recovered(summary) }
    func finished(_ report: EngineReport) { inner.finished(report) }
    func interval(_ status: PipelineStatus) {
        let start = monotonicNanoseconds()
        inner.interval(status)
        nanoseconds.add(monotonicNanoseconds() - start, ordering: .relaxed)
        calls.add(1, ordering: .relaxed)
    }
}

func monotonicNanoseconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec * 1_000_000_000 + now.tv_nsec
}

/// Fetches /metrics from 127.0.0.1:`port` every interval on its own thread, like a Prometheus
/// scrape (plain HTTP/1.1 over a socket; the body is read and dropped).
final class Scraper: @unchecked Sendable {
    let port: Int
    let intervalSeconds: Double
    let running = Atomic<Bool>(true)
    let answered = Atomic<Int>(0)
    /// Wall time of answered scrapes, request to last byte.
    let nanoseconds = Atomic<Int>(0)
    private var thread: PinnedThread?

    init(port: Int, intervalSeconds: Double) throws(EngineError) {
        self.port = port
        self.intervalSeconds = intervalSeconds
        do { thread = try PinnedThread.start(name: "pg-scraper", cpus: []) { [self] in loop() } } catch {
            throw .core(error)
        }
    }

    func loop() {
        while running.load(ordering: .relaxed) {
            var pause = timespec(
                tv_sec: Int(intervalSeconds), tv_nsec: Int((intervalSeconds - intervalSeconds.rounded(.down)) * 1e9))
            nanosleep(&pause, nil)
            if !running.load(ordering: .relaxed) { break }
            let start = monotonicNanoseconds()
            if fetch() {
                nanoseconds.add(monotonicNanoseconds() - start, ordering: .relaxed)
                answered.add(1, ordering: .relaxed)
            }
        }
    }

    /// One GET /metrics; true when a 200 answer arrived.
    func fetch() -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return false }
        let request = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        _ = request.withCString { send(descriptor, $0, strlen($0), 0) }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var first: [UInt8] = []
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            if first.count < 12 { first += buffer.prefix(Swift.min(count, 12 - first.count)) }
        }
        return first.starts(with: Array("HTTP/1.1 200".utf8))
    }

    /// Stops scraping; returns how many scrapes were answered.
    func stop() -> Int {
        running.store(false, ordering: .relaxed)
        thread?.join()
        return answered.load(ordering: .relaxed)
    }
}
