import PeregrineCore
import PeregrineJournal
import PeregrineModel
import PeregrineStrategy
import PeregrineSys

#if canImport(Glibc)
    import Glibc
#endif

/// What re-running the logic over a journal produced.
public struct ReplaySummary: Sendable {
    public var directory: String
    public var records: Int
    public var replayed: Int
    public var segments: Int
    /// One past the last valid record: where a run appends next.
    public var nextSequence: Int64
    public var tornTail: TornTail?
    /// Bytes of a torn tail cut off (recovery only).
    public var repairedBytes: Int
    public var seconds: Double
    public var stateHash: UInt64
    public var outputHash: UInt64
    public var outcomes: Int
    public var bundles: Int
    public var reports: Int
    public var fills: Int

    public var recordsPerSecond: Double { seconds > 0 ? Double(replayed) / seconds : 0 }
}

/// Re-runs `EngineLogic` over a journal: the `peregrine replay` command, and recovery at
/// start-up. The journal directory's `engine-logic.conf` fixes the logic settings.
public enum JournalReplay {
    /// The logic settings stored with `directory`, applied over `configuration`.
    public static func configuration(for directory: String, base: EngineConfiguration) throws(EngineError)
        -> EngineConfiguration
    {
        var configuration = base
        guard let settings = try LogicSettings.load(directory: directory) else {
            throw .journal("\(directory) has no \(LogicSettings.fileName): not a journal directory written by peregrine run")
        }
        settings.apply(to: &configuration)
        return configuration
    }

    /// Replays records `0...through` into `logic`, folding outputs into `outputs`; records from
    /// `printFrom` on are passed to `outputs.printer` if it is set. A torn tail ends the replay
    /// (reported); it is cut off only when `repair` is true. Corruption throws.
    public static func replay<S: Strategy>(
        directory: String, into logic: inout EngineLogic<S>, outputs: inout HashingOutputs, through: Int64 = .max,
        printFrom: Int64 = 0, repair: Bool
    ) throws(EngineError) -> ReplaySummary {
        let start = monotonicSeconds()
        let printer = outputs.printer
        var replayed = 0
        let scan: JournalScan
        do {
            scan = try JournalReader.read(directory: directory, from: 0, through: through) { sequence, event in
                outputs.printer = sequence >= printFrom ? printer : nil
                logic.handle(event, sequence: sequence, outputs: &outputs)
                replayed += 1
                return true
            }
        } catch {
            throw .journal(error.description)
        }
        outputs.printer = printer
        var repaired = 0
        if repair {
            do { repaired = try JournalReader.repair(scan) } catch { throw .journal(error.description) }
        }
        return ReplaySummary(
            directory: directory, records: scan.records, replayed: replayed, segments: scan.segments.count,
            nextSequence: scan.nextSequence, tornTail: scan.tornTail, repairedBytes: repaired,
            seconds: monotonicSeconds() - start, stateHash: logic.stateHash(), outputHash: outputs.hasher.value,
            outcomes: outputs.outcomes, bundles: outputs.bundles, reports: outputs.reportCount, fills: outputs.fills)
    }

    static func monotonicSeconds() -> Double { Double(pg_monotonic_nanoseconds()) / 1e9 }
}
