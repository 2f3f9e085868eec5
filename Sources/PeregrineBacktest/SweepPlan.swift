import Crypto
import PeregrineModel
import PeregrineStrategy

/// A swept strategy parameter: a `--param key=…` whose value is a list (`100,200,400`) or a
/// decimal range, `start:stop:step` or `start:stop` (stepping by the finest decimal of start and
/// stop), both ends included.
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

    /// The values `text` names; `origin` says where it was written, for errors.
    public static func values(of text: String, origin: String) throws(BacktestError) -> [String] {
        if text.contains(",") {
            let values = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard values.allSatisfy({ !$0.isEmpty && !$0.contains(":") }) else {
                throw .usage("\(origin): a list is VALUE,VALUE,… without empty items or ranges ('\(text)')")
            }
            return values
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3, let start = ExactAmount(parts[0]), let stop = ExactAmount(parts[1])
        else {
            throw .usage("\(origin): a range is START:STOP or START:STOP:STEP with decimal numbers ('\(text)')")
        }
        let decimals = Swift.max(
            start.decimals, stop.decimals, parts.count == 3 ? ExactAmount(parts[2])?.decimals ?? 0 : 0)
        var step = ExactAmount(value: 1, decimals: decimals)
        if parts.count == 3 {
            guard let given = ExactAmount(parts[2]), given.value > 0 else {
                throw .usage("\(origin): the step of '\(text)' must be a decimal above 0")
            }
            step = given
        }
        let first = start.rescaled(to: decimals).value
        let last = stop.rescaled(to: decimals).value
        let increment = step.rescaled(to: decimals).value
        guard first <= last else { throw .usage("\(origin): the range '\(text)' runs backwards") }
        guard (last - first) / increment < Int128(maximumValues) else {
            throw .usage("\(origin): '\(text)' has more than \(maximumValues) values")
        }
        var values: [String] = []
        var value = first
        while value <= last {
            values.append(ExactAmount(value: value, decimals: decimals).description)
            value += increment
        }
        return values
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
    /// The data every job reads (mapped once), with the first job's strategies.
    public let base: BacktestPlan
    public let dimensions: [SweepDimension]
    public let jobs: [SweepJob]

    /// The most jobs one sweep may have.
    public static let maximumJobs = 1_000_000

    /// Resolves `settings` (whose strategies' parameters may be lists or ranges): every
    /// combination (a grid), or `samples` of them drawn without repetition with `seed`.
    /// `shareData` converts text inputs once for every job (`BacktestPlan.sharingData`).
    public init(_ settings: BacktestSettings, samples: Int? = nil, seed: UInt64 = 0, shareData: Bool = true)
        throws(BacktestError)
    {
        var dimensions: [SweepDimension] = []
        for (index, spec) in settings.strategies.enumerated() {
            for (key, value) in spec.parameters where SweepDimension.isSwept(value) {
                let name = settings.strategies.count > 1 ? "\(spec.name).\(key)" : key
                guard !dimensions.contains(where: { $0.name == name }) else {
                    throw .usage("--param \(key) is swept twice for \(spec.name): give each parameter once")
                }
                let values = try SweepDimension.values(of: value, origin: "--param \(key)=\(value)")
                dimensions.append(SweepDimension(strategy: index, key: key, name: name, values: values))
            }
        }
        guard !dimensions.isEmpty else {
            throw .usage(
                "nothing to sweep: give a parameter a list (--param slow=100,200) or a range (--param fast=10:50:10)")
        }
        var total: UInt64 = 1
        for dimension in dimensions {
            let (product, overflow) = total.multipliedReportingOverflow(by: UInt64(dimension.values.count))
            total = overflow ? UInt64.max : product
        }
        let combinations: [UInt64]
        if let samples {
            guard samples > 0 else { throw .usage("--samples must be at least 1") }
            guard samples <= Self.maximumJobs else { throw .usage("--samples must be at most \(Self.maximumJobs)") }
            combinations = Self.draw(samples, of: total, seed: seed)
        } else {
            guard total <= UInt64(Self.maximumJobs) else {
                throw .usage(
                    "the grid has \(total == .max ? "too many" : String(total)) combinations (at most \(Self.maximumJobs)): "
                        + "narrow it, or draw some with --samples N --seed S")
            }
            combinations = Array(0..<total)
        }
        let planned = try BacktestPlan(Self.settings(settings, dimensions, combination: combinations[0]))
        let base = shareData ? try planned.sharingData() : planned
        let identity = try JobIdentity(base)
        var jobs: [SweepJob] = []
        jobs.reserveCapacity(combinations.count)
        for (index, combination) in combinations.enumerated() {
            let job = Self.settings(settings, dimensions, combination: combination)
            var parameters: [(name: String, value: String)] = []
            var rest = combination
            for dimension in dimensions.reversed() {
                let count = UInt64(dimension.values.count)
                parameters.insert((dimension.name, dimension.values[Int(rest % count)]), at: 0)
                rest /= count
            }
            jobs.append(
                SweepJob(
                    index: index, parameters: parameters, strategies: job.strategies,
                    hash: identity.hash(strategies: job.strategies)))
        }
        self.base = base
        self.dimensions = dimensions
        self.jobs = jobs
    }

    /// The settings of one combination (numbered in grid order, the last dimension fastest).
    static func settings(_ settings: BacktestSettings, _ dimensions: [SweepDimension], combination: UInt64)
        -> BacktestSettings
    {
        var result = settings
        var rest = combination
        for dimension in dimensions.reversed() {
            let count = UInt64(dimension.values.count)
            let value = dimension.values[Int(rest % count)]
            rest /= count
            var spec = result.strategies[dimension.strategy]
            spec.parameters = spec.parameters.map { ($0.key, $0.key == dimension.key ? value : $0.value) }
            result.strategies[dimension.strategy] = spec
        }
        return result
    }

    /// `count` distinct numbers below `total` (all of them, in order, when there are no more),
    /// drawn with SplitMix64 from `seed`: the same on every machine.
    public static func draw(_ count: Int, of total: UInt64, seed: UInt64) -> [UInt64] {
        if UInt64(count) >= total { return Array(0..<total) }
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        // Uniform below `total`: reject the top values that would bias the remainder.
        let limit = UInt64.max - UInt64.max % total
        var chosen = Set<UInt64>()
        var order: [UInt64] = []
        while order.count < count {
            let value = next()
            guard value < limit else { continue }
            if chosen.insert(value % total).inserted { order.append(value % total) }
        }
        return order
    }
}

/// What a job's result depends on besides its strategies, as text; a job's identity is the
/// SHA-256 of this text and its strategies.
struct JobIdentity {
    let text: String

    init(_ plan: BacktestPlan) throws(BacktestError) {
        let settings = plan.settings
        var lines = ["peregrine-backtest-job 1"]
        let inputs = try plan.hashedInputs()
        var index = 0
        for spec in settings.data {
            for _ in spec.paths where index < inputs.count {
                lines.append("input \(inputs[index].format) \(spec.symbol ?? "-") \(inputs[index].sha256)")
                index += 1
            }
        }
        lines += settings.instruments.map { "instrument \($0.settingsText)" }
        lines.append(
            "tick-size \(settings.tickSize?.description ?? "-") lot-size \(settings.lotSize?.description ?? "-")")
        lines.append("fees-bps maker \(settings.makerFeeBasisPoints) taker \(settings.takerFeeBasisPoints)")
        lines.append("window \(settings.from.map(String.init) ?? "-") \(settings.to.map(String.init) ?? "-")")
        lines.append("feed-latency \(settings.feedLatency)")
        switch settings.orderLatency {
        case .measured(let table):
            var hasher = SHA256()
            for column in [table.times, table.entries, table.responses] {
                for value in column { withUnsafeBytes(of: value.littleEndian) { hasher.update(bufferPointer: $0) } }
            }
            lines.append("order-latency measured \(Self.hex(hasher.finalize()))")
        default:
            lines.append("order-latency \(settings.orderLatency)")
        }
        lines.append("queue-model \(settings.queueModel)")
        lines.append("capital \(settings.capital) equity-interval \(settings.equityInterval)")
        lines += settings.risk.map { "risk \($0.settingsText)" }
        text = lines.joined(separator: "\n") + "\n"
    }

    /// The identity of a job with `strategies`, hex.
    func hash(strategies: [StrategySpec]) -> String {
        var lines = text
        for spec in strategies {
            lines += "strategy \(spec.name) id=\(spec.id.map(String.init) ?? "-") instruments="
            lines += spec.instruments.map { String($0.rawValue) }.joined(separator: ",")
            for (key, value) in spec.parameters { lines += " \(key)=\(value)" }
            lines += "\n"
        }
        return Self.hex(SHA256.hash(data: Array(lines.utf8)))
    }

    static func hex<Digest: Sequence>(_ digest: Digest) -> String where Digest.Element == UInt8 {
        digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
