import Logging
import PeregrineCore
import PeregrineEngine
import PeregrineStrategy

/// The engine as shard K of N on NATS (`peregrine run --nats URL --shard K/N`): the journal
/// is the shard's JetStream stream, input comes from the shard's subject (or the synthetic
/// market or recorded files), and outputs go out on the shard's subjects. The pipeline is the
/// embedded one with NATS parts plugged in.
public enum DistributedPipeline {
    /// Runs until stopped, as `Pipeline.run` does. Throws when the settings are invalid or
    /// recovery from the stream fails (before any thread starts).
    @inlinable
    public static func run<S: Strategy & Sendable>(
        configuration: EngineConfiguration, nats: NATSSettings, custom: S.Type, clock: CycleClock = .calibrate(),
        observer: (any PipelineObserver)? = nil, logger: Logger = Logger(label: "peregrine.engine"),
        status: (String) -> Void = { print($0) }
    ) throws(EngineError) -> EngineReport {
        try nats.validate(with: configuration)
        let journal = JetStreamJournalPlan(settings: nats)
        if nats.consumeInput {
            return try run(
                configuration: configuration, source: NATSInputPlan(settings: nats), journal: journal, nats: nats,
                custom: custom, clock: clock, observer: observer, logger: logger, status: status)
        }
        if configuration.recordedSources.isEmpty {
            return try run(
                configuration: configuration, source: SyntheticSourcePlan(configuration), journal: journal, nats: nats,
                custom: custom, clock: clock, observer: observer, logger: logger, status: status)
        }
        return try run(
            configuration: configuration, source: RecordedSourcesPlan(configuration.recordedSources), journal: journal,
            nats: nats, custom: custom, clock: clock, observer: observer, logger: logger, status: status)
    }

    /// With strategies that trade instruments of outside venues, the venues' reports on
    /// `NAME.in.K.reports` join the source.
    @inlinable
    static func run<Source: SourcePlan, S: Strategy & Sendable>(
        configuration: EngineConfiguration, source: Source, journal: JetStreamJournalPlan, nats: NATSSettings,
        custom: S.Type, clock: CycleClock, observer: (any PipelineObserver)?, logger: Logger,
        status: (String) -> Void
    ) throws(EngineError) -> EngineReport {
        if try configuration.tradesOutsideVenues(custom: custom) {
            return try run(
                configuration: configuration, reportingSource: SourceWithVenueReportsPlan(source, settings: nats),
                journal: journal, nats: nats, custom: custom, clock: clock, observer: observer, logger: logger,
                status: status)
        }
        return try run(
            configuration: configuration, reportingSource: source, journal: journal, nats: nats, custom: custom,
            clock: clock, observer: observer, logger: logger, status: status)
    }

    @inlinable
    static func run<Source: SourcePlan, S: Strategy & Sendable>(
        configuration: EngineConfiguration, reportingSource source: Source, journal: JetStreamJournalPlan,
        nats: NATSSettings, custom: S.Type, clock: CycleClock, observer: (any PipelineObserver)?, logger: Logger,
        status: (String) -> Void
    ) throws(EngineError) -> EngineReport {
        if nats.publishOutputs {
            return try Pipeline.run(
                configuration: configuration, source: source, journal: journal,
                outputs: NATSOutputPlan(settings: nats), custom: custom, clock: clock, observer: observer,
                logger: logger, status: status)
        }
        return try Pipeline.run(
            configuration: configuration, source: source, journal: journal, outputs: NoOutputs(), custom: custom,
            clock: clock, observer: observer, logger: logger, status: status)
    }
}
