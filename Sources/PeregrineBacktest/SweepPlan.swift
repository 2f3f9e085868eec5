import Crypto
import PeregrineEngine
import PeregrineModel
import PeregrineStrategy

/// A swept strategy parameter: a `--param key=…` whose value is a list (`100,200,400`) or a
/// decimal range, `start:stop:step` or `start:stop` (stepping by the finest decimal of start and
/// stop), from start by step up to stop (stop included when a step lands on it).
public struct SweepDimension: Equatable, Sendable {
    /// The strategy (its index in the settings) and its parameter.
    public var strategy: Int
    public var key: String
    /// The name results give it: the key, or `strategy.key` when several strategies are set.
    public var name: String
    public var values: [String]

    /// The most values one range may produce.
    public static let maximumValues = 1_000_000

    /// Whether a parameter value names several values.
    public static func isSwept(_ value: String) -> Bool { value.contains(",") || value.contains(":") }

    /// A parameter value as a job's identity counts it: a decimal by its exact value (`+20`,
    /// `20.0` and `20` are one), any other text as it is.
    static func canonical(_ value: String) -> String {
        ExactAmount(value.hasPrefix("+") ? String(value.dropFirst()) : value)?.description ?? value
    }

    /// The values `text` names; `origin` says where it was written, for errors.
    public static func values(of text: String, origin: String) throws(BacktestError) -> [String] {
        if text.contains(",") {
            let values = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard values.allSatisfy({ !$0.isEmpty && !$0.contains(":") }) else {
                throw .usage("\(origin): a list is VALUE,VALUE,… without empty items or ranges ('\(text)')")
            }
            // (Decimals by value, as a job's identity counts them: 20 and 20.0 are one value.)
            var seen = Set<String>()
            for value in values where !seen.insert(canonical(value)).inserted {
                throw .usage("\(origin): \(value) is in the list twice (the same job would run twice)")
            }
            return values
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3, let start = ExactAmount(parts[0]), let stop = ExactAmount(parts[1])
        else {
            throw .usage("\(origin): a range is START:STOP or START:STOP:STEP with decimal numbers ('\(text)')")
        }
        var step: ExactAmount? = nil
        if parts.count == 3 {
            guard let given = ExactAmount(parts[2]), given.value > 0 else {
                throw .usage(
                    "\(origin): the step of '\(text)' must be a decimal above 0 (of at most 18 decimals and 38 digits)")
            }
            step = given
        }
        let decimals = Swift.max(start.decimals, stop.decimals, step?.decimals ?? 0)
        let first = start.rescaled(to: decimals)
        let last = stop.rescaled(to: decimals)
        let increment = (step ?? ExactAmount(value: 1, decimals: decimals)).rescaled(to: decimals)
        guard !first.overflowed, !last.overflowed, !increment.overflowed else {
            throw .usage("\(origin): the numbers of '\(text)' are too large")
        }
        guard first.value <= last.value else { throw .usage("\(origin): the range '\(text)' runs backwards") }
        let (span, overflow) = last.value.subtractingReportingOverflow(first.value)
        guard !overflow, span / increment.value < Int128(maximumValues) else {
            throw .usage("\(origin): '\(text)' has more than \(maximumValues) values")
        }
        // Every value lies in [first, last]: no step overflows.
        let count = Int(span / increment.value) + 1
        return (0..<count).map {
            ExactAmount(value: first.value + Int128($0) * increment.value, decimals: decimals).description
        }
    }
}

/// One backtest of a sweep: its parameter values and its identity, the SHA-256 of everything
/// its result depends on (inputs, settings, strategies), so that a finished job is never run
/// again and a job queued twice runs once.
public struct SweepJob: Sendable, Equatable {
    /// Its place in the sweep's order (grid order, or the order drawn).
    public var index: Int
    /// The swept parameters' values, in the dimensions' order.
    public var parameters: [(name: String, value: String)]
    public var strategies: [StrategySpec]
    public var hash: String

    public static func == (lhs: SweepJob, rhs: SweepJob) -> Bool {
        lhs.index == rhs.index && lhs.hash == rhs.hash && lhs.strategies == rhs.strategies
            && lhs.parameters.map(\.name) == rhs.parameters.map(\.name)
            && lhs.parameters.map(\.value) == rhs.parameters.map(\.value)
    }
}

/// A sweep resolved: the shared data plan, the swept dimensions and the jobs.
public struct SweepPlan: Sendable {
    /// The data every job reads, with the first job's strategies.
    public let base: BacktestPlan
    public let dimensions: [SweepDimension]
    public let jobs: [SweepJob]

    /// The most jobs one sweep may have.
    public static let maximumJobs = 1_000_000

    /// Combinations the strategies refused, left out (`skippingInvalid`).
    public let skipped: Int
    /// The first few of those, each its parameters and the refusal.
    public let skippedExamples: [String]
    /// How many refusals `skippedExamples` keeps.
    static let skippedExampleLimit = 3

    /// Resolves `settings` (whose strategies' parameters may be lists or ranges): every
    /// combination (a grid), or `samples` of them drawn without repetition with `seed`. Every
    /// job's strategies are checked here: a value the engine refuses is a usage error, or with
    /// `skippingInvalid` a combination left out (`skipped`; a usage error when none is left).
    /// `stopRequested` is asked every 1,024 jobs planned (a million take tens of seconds): a stop
    /// throws (`Sweep.stoppedBeforeJobs`).
    public init(
        _ settings: BacktestSettings, samples: Int? = nil, seed: UInt64 = 0, skippingInvalid: Bool = false,
        stopRequested: () -> String? = { nil }
    ) throws(BacktestError) {
        var dimensions: [SweepDimension] = []
        let names = settings.strategies.map(\.name)
        for (index, spec) in settings.strategies.enumerated() {
            for (key, value) in spec.parameters where SweepDimension.isSwept(value) {
                var prefix = ""
                if names.count > 1 {
                    prefix = names.filter { $0 == spec.name }.count > 1 ? "\(spec.name)#\(index + 1)." : "\(spec.name)."
                }
                let name = prefix + key
                guard !dimensions.contains(where: { $0.name == name }) else {
                    throw .usage("--param \(key) is swept twice for \(spec.name): give each parameter once")
                }
                let values = try SweepDimension.values(of: value, origin: "--param \(key)=\(value)")
                dimensions.append(SweepDimension(strategy: index, key: key, name: name, values: values))
            }
        }
        guard !dimensions.isEmpty else {
            throw .usage(
                "nothing to sweep: give a parameter a list (--param slow=100,200) or a range (--param fast=10:50:10), "
                    + "or run peregrine backtest")
        }
        let sizes = dimensions.map(\.values.count)
        let total = Self.product(sizes)
        let combinations: [[Int]]
        if let samples {
            guard (1...Self.maximumJobs).contains(samples) else {
                throw .usage("--samples must be from 1 to \(Self.maximumJobs)")
            }
            combinations = Self.draw(samples, sizes: sizes, seed: seed)
        } else {
            guard total <= Self.maximumJobs else {
                throw .usage(
                    "the grid has \(total == .max ? "too many" : String(total)) combinations (at most "
                        + "\(Self.maximumJobs)): narrow it, or draw some with --samples N --seed S")
            }
            combinations = (0..<total).map { Self.indices(of: $0, sizes: sizes) }
        }
        // Every job runs on the grid it would run on alone: a sweep does not refine a lot found
        // in the data to fit a quantity (that would change the other jobs' grid).
        let first = combinations[0]
        var base: BacktestPlan
        do {
            base = try BacktestPlan(
                Self.settings(settings, dimensions, combination: first), custom: IdleStrategy.self, refiningLots: false,
                stopRequested: stopRequested)
        } catch {
            // The first job refused: the data is planned again with a strategy that takes any
            // instruments (a refusal of the data itself is thrown as it is), so the refusal is the
            // combination's, named with its parameters as the other jobs' are, or left out.
            guard case .usage(let message) = error else { throw error }
            var data = settings
            data.strategies = [StrategySpec(name: IdleStrategy.name)]
            base = try BacktestPlan(data, custom: IdleStrategy.self, refiningLots: false, stopRequested: stopRequested)
            guard skippingInvalid else {
                let parameters = zip(dimensions, first).map { "\($0.name)=\($0.values[$1])" }
                var hint = Self.skipHint
                do {
                    _ = try base.checked(strategies: Self.settings(settings, dimensions, combination: first).strategies)
                } catch {
                    if Self.refusesEvery(error, base, settings, dimensions, combinations) {
                        throw .usage(message + Self.everyCombination(error))
                    }
                    hint = Self.hint(for: error)
                }
                throw .usage("\(parameters.joined(separator: " ")): \(message)\(hint)")
            }
            // The first job's strategies are then checked below, as the others are.
        }
        let identity = try JobIdentity(base)
        var jobs: [SweepJob] = []
        jobs.reserveCapacity(combinations.count)
        var skipped = 0
        var skippedExamples: [String] = []
        for (index, combination) in combinations.enumerated() {
            if index & 1_023 == 1_023, let reason = stopRequested() { throw Sweep.stoppedBeforeJobs(reason) }
            let job = Self.settings(settings, dimensions, combination: combination)
            let parameters = zip(dimensions, combination).map { dimension, value in
                (name: dimension.name, value: dimension.values[value])
            }
            let hash: String
            do {
                _ = try base.checked(strategies: job.strategies)
                hash = try identity.hash(strategies: job.strategies, on: base)
            } catch {
                var reason = "\(error)"
                if case .strategy(.quantityFinerThanLot) = error {
                    if base.lotsFoundInData {
                        reason += " (\(BacktestPlan.sweepLotReason): pass --lot-size for a finer one)"
                    } else if base.lotsFromConvertedFiles {
                        reason += " (\(BacktestPlan.convertedLotHint))"
                    }
                }
                let message = "\(parameters.map { "\($0.name)=\($0.value)" }.joined(separator: " ")): " + reason
                guard skippingInvalid else {
                    if Self.refusesEvery(error, base, settings, dimensions, combinations) {
                        throw .usage(reason + Self.everyCombination(error))
                    }
                    throw .usage(message + Self.hint(for: error))
                }
                skipped += 1
                if skippedExamples.count < Self.skippedExampleLimit { skippedExamples.append(message) }
                continue
            }
            jobs.append(
                SweepJob(
                    index: index, parameters: parameters, strategies: job.strategies,
                    hash: hash))
        }
        guard let firstJob = jobs.first else {
            throw .usage(
                "every one of the \(combinations.count) combinations is refused (--skip-invalid leaves none), "
                    + "the first: \(skippedExamples.first ?? "-")")
        }
        // The plan carries the first job's strategies, however the data was planned.
        if base.settings.strategies != firstJob.strategies {
            do { base = try base.checked(strategies: firstJob.strategies) } catch { throw .usage("\(error)") }
        }
        self.base = base
        self.dimensions = dimensions
        self.jobs = jobs
        self.skipped = skipped
        self.skippedExamples = skippedExamples
    }

    /// Said with a refused combination: the way to run the others.
    static let skipHint = " (--skip-invalid leaves such combinations out and runs the others)"

    /// Whether every one of `combinations` is refused as `refusal` is (a parameter no dimension
    /// sweeps, whose bounds no swept one moves): then the refusal is said once, without a
    /// combination's values or `skipHint`. Stops at the first combination refused otherwise,
    /// or not at all.
    static func refusesEvery(
        _ refusal: EngineError, _ base: BacktestPlan, _ settings: BacktestSettings, _ dimensions: [SweepDimension],
        _ combinations: [[Int]]
    ) -> Bool {
        let text = "\(refusal)"
        for combination in combinations {
            do {
                _ = try base.checked(
                    strategies: Self.settings(settings, dimensions, combination: combination).strategies)
                return false
            } catch {
                if "\(error)" != text { return false }
            }
        }
        return combinations.count > 1
    }

    /// Said with a refusal every combination has (not with one no value could mend: a
    /// parameter misspelt or given twice).
    static func everyCombination(_ refusal: EngineError) -> String {
        hint(for: refusal).isEmpty ? "" : " (in every combination)"
    }

    static func hint(for refusal: EngineError) -> String {
        switch refusal {
        case .strategy(.unknownStrategy), .strategy(.unknownParameter), .strategy(.duplicateParameter): ""
        default: skipHint
        }
    }

    /// The jobs whose hash is not in `done`, each hash once, in sweep order; and how many jobs
    /// `done` holds.
    public func pending(excluding done: Set<String>) -> (jobs: [SweepJob], done: Int) {
        var seen = Set<String>()
        let pending = jobs.filter { !done.contains($0.hash) && seen.insert($0.hash).inserted }
        return (pending, jobs.count(where: { done.contains($0.hash) }))
    }

    /// The product of `sizes`, `Int.max` when it overflows.
    static func product(_ sizes: [Int]) -> Int {
        var total = 1
        for size in sizes {
            let (product, overflow) = total.multipliedReportingOverflow(by: size)
            total = overflow ? Int.max : product
        }
        return total
    }

    /// The value indices of grid combination `number` (the last dimension varies fastest).
    static func indices(of number: Int, sizes: [Int]) -> [Int] {
        var rest = number
        var indices = [Int](repeating: 0, count: sizes.count)
        for position in sizes.indices.reversed() {
            indices[position] = rest % sizes[position]
            rest /= sizes[position]
        }
        return indices
    }

    /// The settings of one combination (a value index per dimension).
    static func settings(_ settings: BacktestSettings, _ dimensions: [SweepDimension], combination: [Int])
        -> BacktestSettings
    {
        var result = settings
        for (dimension, index) in zip(dimensions, combination) {
            let value = dimension.values[index]
            var spec = result.strategies[dimension.strategy]
            spec.parameters = spec.parameters.map { ($0.key, $0.key == dimension.key ? value : $0.value) }
            result.strategies[dimension.strategy] = spec
        }
        return result
    }

    /// `count` distinct combinations of dimensions of `sizes` values, each value index drawn
    /// uniformly with SplitMix64 from `seed` (the same on every machine); every combination, in
    /// grid order, when there are no more than `count`.
    public static func draw(_ count: Int, sizes: [Int], seed: UInt64) -> [[Int]] {
        let total = product(sizes)
        if count >= total { return (0..<total).map { indices(of: $0, sizes: sizes) } }
        var state = seed
        func below(_ bound: Int) -> Int {
            // Uniform below `bound`: values past its last whole multiple are drawn again.
            let range = UInt64(bound)
            let limit = UInt64.max - UInt64.max % range
            while true {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                if z < limit { return Int(z % range) }
            }
        }
        var chosen = Set<[Int]>()
        var order: [[Int]] = []
        while order.count < count {
            let combination = sizes.map { below($0) }
            if chosen.insert(combination).inserted { order.append(combination) }
        }
        return order
    }
}

/// What a job's result depends on besides its strategies, as text; a job's identity is the
/// SHA-256 of this text and its strategies. Every item is length-prefixed (`N:text;`), so two
/// different jobs never give the same text.
struct JobIdentity {
    let text: String

    static func item(_ text: String) -> String { "\(text.utf8.count):\(text);" }

    init(_ plan: BacktestPlan) throws(BacktestError) {
        let settings = plan.settings
        var text = Self.item("peregrine-backtest-job 1") + Self.item(Provenance.version) + Self.item(Provenance.commit)
        for input in try plan.hashedInputs() { text += Self.item("input \(input.format) \(input.sha256)") }
        // The instruments as resolved (symbols, ids, grids, fees, currencies) and the quote books.
        text += plan.instruments.map { Self.item("instrument \($0.settingsText)") }.joined()
        text += Self.item(
            "quote-books " + plan.configuration.quoteBooks.map { String($0.rawValue) }.joined(separator: ","))
        text += Self.item("window \(settings.from.map(String.init) ?? "-") \(settings.to.map(String.init) ?? "-")")
        text += Self.item("feed-latency \(settings.feedLatency)")
        switch settings.orderLatency {
        case .measured(let table):
            var hasher = SHA256()
            for column in [table.times, table.entries, table.responses] {
                for value in column { withUnsafeBytes(of: value.littleEndian) { hasher.update(bufferPointer: $0) } }
            }
            text += Self.item("order-latency measured \(Self.hex(hasher.finalize()))")
        default:
            text += Self.item("order-latency \(settings.orderLatency)")
        }
        text += Self.item("queue-model \(settings.queueModel)")
        // The capital by its value, as the parameters (`100000.0` is `100000`).
        let capital = ExactAmount(settings.capital).map { "\($0)" } ?? settings.capital
        text += Self.item("capital \(capital)") + Self.item("equity-interval \(settings.equityInterval)")
        text += settings.risk.map { Self.item("risk \($0.settingsText)") }.joined()
        self.text = text
    }

    /// The identity of a job with `strategies` on `plan`'s data, hex: of the strategies as the
    /// engine builds them (`StrategySet.descriptions`: each one's id, instruments and every
    /// parameter it read, defaults included), a decimal as its exact value (`0.010` and `.01`
    /// are `0.01`). So a sweep resumed with its parameters written otherwise, or with a default
    /// written out, runs nothing twice. Throws what building the strategies throws.
    func hash(strategies: [StrategySpec], on plan: BacktestPlan) throws(EngineError) -> String {
        var configuration = plan.configuration
        configuration.strategies = strategies
        var full = text
        for description in try configuration.makeStrategies(custom: IdleStrategy.self).descriptions {
            full += Self.item("strategy")
            for word in description.split(separator: " ") {
                let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
                full +=
                    parts.count == 2
                    ? Self.item(parts[0]) + Self.item(SweepDimension.canonical(parts[1])) : Self.item(String(word))
            }
        }
        return Self.hex(SHA256.hash(data: Array(full.utf8)))
    }

    static func hex<Digest: Sequence>(_ digest: Digest) -> String where Digest.Element == UInt8 {
        digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
