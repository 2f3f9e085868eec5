import Foundation
import PeregrineModel
import PeregrineRisk
import PeregrineStrategy

/// A sweep's job as it travels to a worker on another machine (`peregrine worker`): everything
/// the backtest needs, as JSON. Version 1:
///
/// ```
/// {"format": "peregrine-sweep-job", "version": 1, "job": HASH, "index": N,
///  "params": [[NAME, VALUE], …], "data": [FORMAT[@SYMBOL]:FILE, …],
///  "inputs": [{"path", "format", "sha256"}, …], "settings": [[KEY, VALUE], …] (BacktestOption
///  keys), "instruments": [settings text, …], "risk": [settings text, …],
///  "strategies": [{"name", "id", "instruments": [ids], "parameters": [[KEY, VALUE], …]}, …],
///  "build": "VERSION commit COMMIT"}
/// ```
///
/// Files are found by path; the worker checks each file's SHA-256 against `inputs` and the job's
/// identity against `job` before running it. Another version is refused.
public struct SweepJobMessage: Sendable {
    public static let format = "peregrine-sweep-job"
    public static let version = 1

    public var job: String
    public var index: Int
    public var parameters: [(name: String, value: String)]
    public var settings: BacktestSettings
    public var inputs: [InputFile]
    /// The sweep's build (`version commit …`), for messages.
    public var build = "\(Provenance.version) commit \(Provenance.commit)"

    /// The message of `job` of `plan`.
    public init(_ job: SweepJob, of plan: SweepPlan) throws(BacktestError) {
        self.job = job.hash
        index = job.index
        parameters = job.parameters
        settings = plan.base.settings
        settings.strategies = job.strategies
        inputs = try plan.base.hashedInputs()
    }

    /// The JSON text.
    public var json: String {
        var object: [String: Any] = [
            "format": Self.format, "version": Self.version, "job": job, "index": index,
            "params": parameters.map { [$0.name, $0.value] },
            "data": settings.data.map(\.text),
            "inputs": inputs.map { ["path": $0.path, "format": $0.format, "sha256": $0.sha256] },
            "settings": Self.options(of: settings).map { [$0.0, $0.1] },
            "instruments": settings.instruments.map(\.settingsText),
            "risk": settings.risk.map(\.settingsText), "build": build,
        ]
        object["strategies"] = settings.strategies.map { spec -> [String: Any] in
            var entry: [String: Any] = [
                "name": spec.name, "instruments": spec.instruments.map { Int($0.rawValue) },
                "parameters": spec.parameters.map { [$0.key, $0.value] },
            ]
            if let id = spec.id { entry["id"] = Int(id) }
            return entry
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads a message; a message that is not a job of this version throws, saying why.
    public init(json bytes: some Collection<UInt8>) throws(BacktestError) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw .data("a sweep job message that is not a JSON object")
        }
        guard object["format"] as? String == Self.format else { throw .data("not a sweep job message (no format)") }
        guard let version = object["version"] as? Int, version == Self.version else {
            throw .data(
                "sweep job message version \(object["version"] ?? "none") is not supported (this build reads "
                    + "\(Self.version)): run workers of the sweep's build")
        }
        guard let job = object["job"] as? String, let index = object["index"] as? Int,
            let params = object["params"] as? [[String]], params.allSatisfy({ $0.count == 2 }),
            let data = object["data"] as? [String],
            let inputs = object["inputs"] as? [[String: String]], let options = object["settings"] as? [[String]],
            let instruments = object["instruments"] as? [String], let risk = object["risk"] as? [String],
            let strategies = object["strategies"] as? [[String: Any]]
        else { throw .data("a sweep job message with a missing or mistyped field") }
        self.job = job
        self.index = index
        parameters = params.map { ($0[0], $0[1]) }
        self.inputs = inputs.map {
            InputFile(path: $0["path"] ?? "", format: $0["format"] ?? "", sha256: $0["sha256"] ?? "")
        }
        var settings = BacktestSettings()
        settings.data = try data.map { (text) throws(BacktestError) in try DataSpec(text) }
        for option in options {
            guard option.count == 2 else { throw .data("a sweep job message with a bad setting: \(option)") }
            try BacktestOption.apply(option[0], option[1], to: &settings, origin: "job setting \(option[0])")
        }
        for text in instruments {
            do { settings.instruments.append(try InstrumentDefinition(settingsText: text)) } catch {
                throw .data("a sweep job message with a bad instrument: \(error)")
            }
        }
        for text in risk {
            do { settings.risk.append(try RiskRule(settingsText: text)) } catch {
                throw .data("a sweep job message with a bad risk rule: \(error)")
            }
        }
        for entry in strategies {
            guard let name = entry["name"] as? String, let ids = entry["instruments"] as? [Int],
                let pairs = entry["parameters"] as? [[String]], pairs.allSatisfy({ $0.count == 2 }),
                ids.allSatisfy({ (0...Int(UInt32.max)).contains($0) })
            else { throw .data("a sweep job message with a bad strategy") }
            var id: UInt16? = nil
            if let number = entry["id"] as? Int {
                guard let value = UInt16(exactly: number) else {
                    throw .data("a sweep job message with a bad strategy id")
                }
                id = value
            }
            settings.strategies.append(
                StrategySpec(
                    name: name, id: id, instruments: ids.map { InstrumentID(UInt32($0)) },
                    parameters: pairs.map { ($0[0], $0[1]) }))
        }
        self.settings = settings
        build = object["build"] as? String ?? "unknown"
    }

    /// `settings` as `BacktestOption` keys and values (what `apply` reads back).
    static func options(of settings: BacktestSettings) -> [(String, String)] {
        var options: [(String, String)] = []
        // As UTC text with nine fraction digits: it reads back exactly, early 1970 too (an
        // integer below 10^16 ns is refused as a likely mistake).
        if let from = settings.from { options.append(("from", UTCTime.text(from))) }
        if let to = settings.to { options.append(("to", UTCTime.text(to))) }
        switch settings.feedLatency {
        case .none: break
        case .local: options.append(("feed_latency", "local"))
        case .constant(let nanoseconds): options.append(("feed_latency", String(nanoseconds / 1_000)))
        }
        switch settings.orderLatency {
        case .none: break
        case .constant(let entry, let response):
            options.append(("order_latency", String(entry / 1_000)))
            options.append(("response_latency", String(response / 1_000)))
        case .measured(let table): options.append(("order_latency", table.path))
        }
        options.append(("queue_model", settings.queueModel.description))
        // (Given only when given, so that a worker's settings say so as the sweep's do.)
        if settings.namesFees {
            options.append(("maker_fee_bps", settings.makerFeeBasisPoints))
            options.append(("taker_fee_bps", settings.takerFeeBasisPoints))
        }
        if let tick = settings.tickSize { options.append(("tick_size", tick.description)) }
        if let lot = settings.lotSize { options.append(("lot_size", lot.description)) }
        options.append(("capital", settings.capital))
        options.append(("equity_interval_ms", String(settings.equityInterval / 1_000_000)))
        return options
    }
}

/// What became of a job on a worker.
public enum SweepJobOutcome: Sendable, Equatable {
    /// It ran: its row (the sweep's JSON line).
    case result(job: String, line: String)
    /// It failed on its own account (bad data, an output error): final.
    case failed(job: String, line: String)
    /// This worker cannot run it (its copy of a file, its build, the message's version): another
    /// worker may. `job` is nil when the message does not even name one.
    case refused(job: String?, reason: String)
}

/// What a worker does with one job: checks that its files are the sweep's (by SHA-256) and that
/// it computes the same job identity, then runs the backtest. The plan of the last data is
/// kept, so a worker's jobs on the same data hash and convert the files once.
public final class SweepJobRunner {
    public let worker: String
    var cached: (key: String, plan: BacktestPlan, identity: JobIdentity)?

    public init(worker: String) { self.worker = worker }

    /// Runs the job of message `bytes`.
    public func run(_ bytes: some Collection<UInt8>) -> SweepJobOutcome {
        let message: SweepJobMessage
        do { message = try SweepJobMessage(json: bytes) } catch {
            return .refused(job: Self.jobName(bytes), reason: "worker \(worker): \(error)")
        }
        let job: SweepJob
        let plan: BacktestPlan
        do throws(PreparationError) { (job, plan) = try prepare(message) } catch {
            switch error {
            case .refused(let reason): return .refused(job: message.job, reason: "worker \(worker): \(reason)")
            case .failed(let reason): return .failed(job: message.job, line: failure(job: message.job, "\(reason)"))
            }
        }
        do throws(BacktestError) {
            let result = try Backtest.run(
                try plan.with(strategies: job.strategies), outputs: BacktestOutputFiles(charts: false))
            return .result(job: job.hash, line: SweepRow.jsonLine(job: job, result: result))
        } catch {
            return .failed(job: job.hash, line: failure(job: job.hash, "\(error)"))
        }
    }

    /// The job's name in a message that cannot be read as a job (nil when it has none).
    public static func jobName(_ bytes: some Collection<UInt8>) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])?["job"] as? String
    }

    /// Why a job could not be prepared: this worker cannot run it (another copy of a file,
    /// another build: another worker may), or it fails anywhere (bad data in the sweep's own
    /// copy of the files: final).
    enum PreparationError: Error {
        case refused(BacktestError)
        case failed(BacktestError)
    }

    /// Whether every input file here is the sweep's copy (its SHA-256, computed now).
    func holdsTheSweepsCopies(_ inputs: [InputFile]) -> Bool {
        inputs.allSatisfy { input in
            ((try? BacktestPlan.sha256(of: input.path)) ?? nil) == input.sha256
        }
    }

    /// The plan of the message's data (checked: the same files, the same job identity).
    func prepare(_ message: SweepJobMessage) throws(PreparationError) -> (SweepJob, BacktestPlan) {
        var dataSettings = message.settings
        dataSettings.strategies = []
        var key = SweepJobMessage.options(of: dataSettings).map { "\($0.0)=\($0.1)" }
        key += dataSettings.data.map(\.text) + dataSettings.instruments.map(\.settingsText)
        key += dataSettings.risk.map(\.settingsText) + message.inputs.map { "\($0.path) \($0.format) \($0.sha256)" }
        let joined = key.joined(separator: "\n")
        if cached?.key != joined {
            cached = nil
            let plan: BacktestPlan
            let local: [InputFile]
            do throws(BacktestError) {
                plan = try BacktestPlan(message.settings, custom: IdleStrategy.self, refiningLots: false)
                local = try plan.hashedInputs()
            } catch {
                // Bad data in the sweep's own copy of the files fails on every worker: final.
                // (With another copy here, another worker may run it.)
                if case .data = error, holdsTheSweepsCopies(message.inputs) { throw .failed(error) }
                throw .refused(error)
            }
            guard local.count == message.inputs.count else {
                throw .refused(
                    .data("the job names \(message.inputs.count) input files, this worker found \(local.count)"))
            }
            for (mine, theirs) in zip(local, message.inputs)
            where mine.sha256 != theirs.sha256 || mine.path != theirs.path {
                throw .refused(
                    .data(
                        "\(mine.path) on worker \(worker) is not the sweep's copy (SHA-256 \(mine.sha256) here, "
                            + "\(theirs.sha256) there): give every worker the same file at the same path "
                            + "(docs/backtesting.md, \"Sweeps across machines\")"))
            }
            // The sweep's copies: bad data found reading them whole is final.
            do throws(BacktestError) {
                cached = (joined, try plan.sharingData(), try JobIdentity(plan))
            } catch {
                if case .data = error { throw .failed(error) }
                throw .refused(error)
            }
        }
        guard let (_, plan, identity) = cached else { throw .refused(.data("no plan")) }
        let hash: String
        do { hash = try identity.hash(strategies: message.settings.strategies, on: plan) } catch {
            throw .refused(.usage("\(error)"))
        }
        let job = SweepJob(
            index: message.index, parameters: message.parameters, strategies: message.settings.strategies,
            hash: hash)
        guard job.hash == message.job else {
            throw .refused(
                .data(
                    "this worker gives the job another identity than the sweep: run workers of the sweep's build "
                        + "(the sweep's: \(message.build); this worker's: \(Provenance.version) commit \(Provenance.commit))"
                ))
        }
        return (job, plan)
    }

    /// A failure line: `{"error", "job", "worker"}`.
    public func failure(job: String?, _ message: String) -> String {
        let object: [String: Any] = ["job": job ?? "", "error": message, "worker": worker]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
