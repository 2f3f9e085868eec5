import PeregrineBench
import PeregrineEngine
import PeregrineStrategy
import Testing

@testable import PeregrineControl

/// `bench metrics` as a library call: each round runs the pipeline once without and once with
/// the control plane (whose monitor publishing is timed), and every run is lossless work.
@Suite(.serialized)
struct MetricsBenchmarkTests {
    @Test func eachRoundRunsThePipelineOffAndOn() throws {
        var configuration = EngineConfiguration()
        configuration.rate = .unlimited
        configuration.maxEvents = 50_000
        configuration.durationSeconds = 30
        configuration.journalDirectory = nil
        configuration.statusIntervalSeconds = 0.05
        var seen: [Int] = []
        let result = try MetricsBenchmark.run(
            configuration: configuration, rounds: 2, scrapeIntervalSeconds: 0.05, custom: IdleStrategy.self
        ) { index, _ in seen.append(index) }
        #expect(seen == [0, 1])
        #expect(result.rounds.count == 2)
        #expect(result.rounds.allSatisfy { $0.off > 0 && $0.on > 0 })
        // The monitor publishes to the control plane at least once per run (its last status).
        #expect(result.observerCalls >= 2)
        #expect(result.metricsSeconds > 0)
    }
}
