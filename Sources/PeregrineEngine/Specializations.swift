import Logging
import PeregrineCore
import PeregrineStrategy

// Concrete entry points for the built-in strategy. Callers in other modules (the CLI, the
// tests) pick these over the generic versions, and inside this module the optimizer then
// specializes every generic stage, wait strategy and output type for `LargeTradeFollower`:
// no generic metadata lookups or witness-table calls per event.

extension Pipeline {
    public static func run(
        configuration: EngineConfiguration, strategy: LargeTradeFollower, clock: CycleClock = .calibrate(),
        observer: (any PipelineObserver)? = nil, logger: Logger = Logger(label: "peregrine.engine"),
        status: (String) -> Void = { print($0) }
    ) throws(EngineError) -> EngineReport {
        try run(
            configuration: configuration, genericStrategy: strategy, clock: clock, observer: observer, logger: logger,
            status: status)
    }
}

extension JournalReplay {
    public static func recover(
        directory: String, configuration: EngineConfiguration, strategy: LargeTradeFollower, useSnapshot: Bool,
        through: Int64 = .max, printFrom: Int64 = 0, printer: ((String) -> Void)? = nil, repair: Bool
    ) throws(EngineError) -> Recovered<LargeTradeFollower> {
        try recover(
            directory: directory, configuration: configuration, genericStrategy: strategy, useSnapshot: useSnapshot,
            through: through, printFrom: printFrom, printer: printer, repair: repair)
    }
}

extension JournalBenchmark {
    public static func run(
        directory: String, events: Int, batch: Int = 256, syncIntervalMicroseconds: Int = 1_000,
        strategy: LargeTradeFollower
    ) throws(EngineError) -> Result {
        try run(
            directory: directory, events: events, batch: batch, syncIntervalMicroseconds: syncIntervalMicroseconds,
            genericStrategy: strategy)
    }
}
