import ArgumentParser
import Logging
import PeregrineControl
import PeregrineCore
import PeregrineEngine
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

struct BenchMetrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Pipeline throughput with the metrics server on and off, in the same process.",
        discussion: """
            Each round runs the pipeline twice at the maximum rate (synthetic source, no journal, status every \
            second): once without the control plane, once with it serving on 127.0.0.1 and scraped every \
            --scrape-interval seconds, as Prometheus would. The order alternates between rounds so both see the \
            same machine; the figure is the median of the per-round ratios (on / off).
            """)

    @Option(help: "Rounds (each runs off and on once).")
    var rounds: Int = 5

    @Option(help: "Seconds per run.")
    var duration: Double = 3

    @Option(help: "Seconds between scrapes of /metrics while the metrics server is on.")
    var scrapeInterval: Double = 1

    @Option(help: "Stage-to-thread mapping: shared or dedicated.")
    var topology: String = "shared"

    func validate() throws {
        guard (1...100).contains(rounds) else { throw ValidationError("--rounds must be 1 to 100") }
        guard duration > 0, duration <= 600 else { throw ValidationError("--duration must be above 0 and at most 600") }
        guard scrapeInterval >= 0.01, scrapeInterval <= 3_600 else {
            throw ValidationError("--scrape-interval must be 0.01 to 3600 seconds")
        }
        guard ["shared", "dedicated"].contains(topology) else {
            throw ValidationError("--topology must be shared or dedicated")
        }
    }

    func run() throws {
        var quiet = Logger(label: "peregrine.bench")
        quiet.logLevel = .warning
        var configuration = EngineConfiguration()
        configuration.rate = .unlimited
        configuration.durationSeconds = duration
        configuration.journalDirectory = nil
        configuration.statusIntervalSeconds = 1
        configuration.topology = topology == "shared" ? .shared : .dedicated
        let clock = CycleClock.calibrate()
        print(
            "metrics benchmark: \(rounds) rounds of \(decimal(duration)) s per run, max rate, no journal, \(topology) topology, scrape every \(decimal(scrapeInterval)) s"
        )
        var ratios: [Double] = []
        var offRates: [Double] = []
        var onRates: [Double] = []
        var scrapes = 0
        var scrapeNanoseconds = 0
        var observerNanoseconds = 0
        var observerCalls = 0
        var metricsSeconds = 0.0
        for round in 0..<rounds {
            var off = 0.0
            var on = 0.0
            for withMetrics in round % 2 == 0 ? [false, true] : [true, false] {
                if withMetrics {
                    let port = LoopbackPort.free()
                    let plane = ControlPlane(port: port, logger: quiet)
                    let timed = TimedObserver(plane)
                    let scraper = Scraper(port: port, intervalSeconds: scrapeInterval)
                    let report = try Pipeline.run(
                        configuration: configuration, strategy: Peregrine.strategy, clock: clock, observer: timed,
                        logger: quiet, status: { _ in })
                    scrapes += scraper.stop()
                    scrapeNanoseconds += scraper.nanoseconds.load(ordering: .relaxed)
                    observerNanoseconds += timed.nanoseconds.load(ordering: .relaxed)
                    observerCalls += timed.calls.load(ordering: .relaxed)
                    metricsSeconds += report.elapsedSeconds
                    plane.stop()
                    on = report.sustainedRate
                } else {
                    let report = try Pipeline.run(
                        configuration: configuration, strategy: Peregrine.strategy, clock: clock, logger: quiet,
                        status: { _ in })
                    off = report.sustainedRate
                }
            }
            let ratio = off > 0 ? on / off : 0
            ratios.append(ratio)
            offRates.append(off)
            onRates.append(on)
            print(
                "round \(round + 1): metrics off \(millions(off))M events/s · on \(millions(on))M events/s · on/off \(decimal(ratio, places: 3))"
            )
        }
        let median = { (values: [Double]) in values.sorted()[values.count / 2] }
        let ratio = median(ratios)
        print(
            "median throughput: metrics off \(millions(median(offRates)))M events/s · on \(millions(median(onRates)))M events/s"
        )
        print(
            "median of per-round on/off: \(decimal(ratio, places: 3)) (\(decimal((ratio - 1) * 100, places: 1))%), \(scrapes) scrapes answered"
        )
        let perSecond = Double(observerNanoseconds + scrapeNanoseconds) / metricsSeconds / 1e6
        print(
            "control-plane work off the hot threads: \(decimal(Double(observerNanoseconds) / Double(Swift.max(observerCalls, 1)) / 1e3)) µs per status interval (publishing), \(decimal(Double(scrapeNanoseconds) / Double(Swift.max(scrapes, 1)) / 1e3)) µs per scrape (wall, request to last byte); \(decimal(perSecond, places: 2)) ms per second of run (\(decimal(perSecond / 10, places: 2))% of one core)"
        )
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
    var thread: pthread_t?

    init(port: Int, intervalSeconds: Double) {
        self.port = port
        self.intervalSeconds = intervalSeconds
        let box = Unmanaged.passRetained(self)
        var handle = pthread_t()
        if pthread_create(
            &handle, nil,
            { argument in
                guard let argument else { return nil }
                let scraper = Unmanaged<Scraper>.fromOpaque(argument).takeRetainedValue()
                scraper.loop()
                return nil
            }, box.toOpaque()) == 0
        {
            thread = handle
        } else {
            box.release()
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
        if let thread { pthread_join(thread, nil) }
        return answered.load(ordering: .relaxed)
    }
}
