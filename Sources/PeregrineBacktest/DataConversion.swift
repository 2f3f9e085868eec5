import PeregrineCodec
import PeregrineCore
import PeregrineModel
import PeregrineStrategy

/// `peregrine data convert`: recorded files, merged as a backtest reads them, into one
/// converted event file (`EventFileFormat`) with the instruments' reference data and the
/// sources' SHA-256 in its metadata.
public enum DataConversion {
    /// What a conversion wrote.
    public struct Outcome: Sendable {
        public var events: UInt64
        public var instruments: [InstrumentDefinition]
        /// What in the data's instruments makes a backtest of them mean less than it seems
        /// (`BacktestPlan.warnings`): said when converting too (the converted file keeps the
        /// exchanges it was recorded on, and its backtests say it again).
        public var warnings: [String]
    }

    /// Converts `data` (grids from the files, or `tickSize`/`lotSize`) into `output`; returns
    /// the events written. A bad row stops it naming the file and line, and the output is removed.
    /// `stopRequested` is asked every 65,536 events whether to stop (naming why: SIGINT, say):
    /// a stop throws (`data`), and nothing is written.
    public static func convert(
        _ data: [DataSpec], tickSize: Increment? = nil, lotSize: Increment? = nil, output: String,
        progress: ((Double) -> Void)? = nil, stopRequested: (() -> String?)? = nil,
        announce: (Outcome) throws(BacktestError) -> Void = { _ in }
    ) throws(BacktestError) -> Outcome {
        var settings = BacktestSettings()
        settings.data = data
        settings.tickSize = tickSize
        settings.lotSize = lotSize
        // A plan needs a strategy; one on the first instrument only, so that its default
        // quantity (one lot there) is never checked against another instrument's lot.
        settings.strategies = [StrategySpec(name: "golden-cross", instruments: [InstrumentID(0)])]
        let plan = try BacktestPlan(settings, stopRequested: stopRequested ?? { nil })
        let inputs = try plan.hashedInputs()
        // Each input, and a converted input's own sources after it: a file converted again
        // keeps what its data came from (a backtest giving it beside one of those files says
        // the data is read twice).
        let sources = inputs.flatMap { input in
            [(input.format, input.sha256, input.path)]
                + (plan.convertedSources[input.path] ?? []).map { ($0.format, $0.sha256, $0.path) }
        }
        let metadata = EventFileMetadata(
            instruments: plan.instruments, sources: sources,
            quoteBooks: plan.configuration.quoteBooks.map { plan.instruments[Int($0.rawValue)].symbol },
            recorded: plan.recorded, priceSteps: plan.coarserPriceSteps)
        let target = try target(of: output, metadata)
        let stream = try plan.openData()
        var outcome = Outcome(events: 0, instruments: plan.instruments, warnings: [])
        _ = try write(
            metadata, to: output, target: target, progress: progress, stopRequested: stopRequested,
            share: { stream.progress },
            next: { stream.next()?.event },
            finished: { () throws(FeedError) -> EventFileMetadata in
                if let failure = stream.failure { throw failure }
                var finished = metadata
                finished.skippedQuoteRows = stream.skippedQuotes
                return finished
            }, explained: plan.explained,
            commit: { (count) throws(BacktestError) in
                if let changed = plan.changedInput { throw .data(changed) }
                let empty =
                    count > 0
                    ? []
                    : [
                        "no event: \(BacktestResult.holdNone(data.flatMap(\.paths), skippedQuotes: stream.skippedQuotes)), "
                            + "so the converted file holds none"
                    ]
                outcome.events = count
                outcome.warnings =
                    plan.warnings + stream.dataWarnings
                    + BacktestResult.sameBytes(inputs, convertedSources: plan.convertedSources) + empty
                try announce(outcome)
            })
        return outcome
    }

    /// The file a converted file written to `output` with `metadata` is renamed over (the file
    /// a link leads to; never a device or a pipe): checked before any input is read.
    static func target(of output: String, _ metadata: EventFileMetadata) throws(BacktestError) -> String {
        let target = try OutputFile.renameTarget(output, flag: "--output")
        if let unkept = metadata.unkeptValue() {
            throw .usage("--output \(output): \(unkept)")
        }
        return target
    }

    /// Writes the events `next` gives (until nil) to a converted file at `output` (`target`,
    /// from `target(of:)`) with `metadata` (as `finished` has it at the end, which may throw
    /// for the data read), under a temporary name renamed when complete: a failed, interrupted
    /// or stopped write leaves no file that reads as a (short) success, and the file at
    /// `output` as it was. Returns the events written. `share` is the share done, for
    /// `progress`, asked with `stopRequested` every 65,536 events; `explained` words a data
    /// error for people (`BacktestPlan.explained`). `commit` runs with the count once the file
    /// is complete, before it is renamed into place: what it throws (a summary that could not
    /// be printed, say) fails the write the same way, leaving the file at `output` as it was.
    static func write(
        _ metadata: EventFileMetadata, to output: String, target: String, progress: ((Double) -> Void)?,
        stopRequested: (() -> String?)?, share: () -> Double, next: () throws(FeedError) -> Event?,
        finished: () throws(FeedError) -> EventFileMetadata, explained: (FeedError) -> String = { "\($0)" },
        commit: (UInt64) throws(BacktestError) -> Void = { _ in }
    ) throws(BacktestError) -> UInt64 {
        // A new file of its own beside the target (never one that exists: an input, a link,
        // a user's file), readable as files written without one are.
        guard let (descriptor, partial) = UniqueFile.create(prefix: target + ".partial-") else {
            throw .output("cannot write \(output) (creating a file beside it): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        // Removed if a memory-mapped input is cut short under the conversion (`BusErrorExit`).
        let busErrorSlot = BusErrorExit.removeOnExit(partial)
        defer { BusErrorExit.keep(busErrorSlot) }
        let writer: EventFileWriter
        do throws(FeedError) {
            guard fchmod(descriptor, 0o644) == 0 else {
                throw FeedError(line: 0, "cannot write \(partial): \(String(cString: strerror(errno)))")
            }
            writer = try EventFileWriter(descriptor: descriptor, path: partial, metadata: metadata)
        } catch {
            unlink(partial)
            throw .output("\(error)")
        }
        var count: UInt64 = 0
        var stoppedBy: String?
        do throws(FeedError) {
            while let event = try next() {
                try writer.append(event)
                count &+= 1
                guard count & 0xFFFF == 0 else { continue }
                progress?(share())
                stoppedBy = stopRequested?()
                if stoppedBy != nil { break }
            }
            if stoppedBy == nil { try writer.finish(metadata: try finished()) }
        } catch {
            unlink(partial)
            throw .data(explained(error))
        }
        if let stoppedBy {
            unlink(partial)
            throw .data(
                "stopped by \(stoppedBy) after \(count) events: the conversion is incomplete, and \(output) was not "
                    + "written")
        }
        progress?(1)
        do throws(BacktestError) { try commit(count) } catch {
            unlink(partial)
            throw error
        }
        guard rename(partial, target) == 0 else {
            unlink(partial)
            throw .output("cannot write \(output) (renaming \(partial)): \(String(cString: strerror(errno)))")
        }
        return count
    }
}
#if canImport(Glibc)
    import Glibc
#endif
