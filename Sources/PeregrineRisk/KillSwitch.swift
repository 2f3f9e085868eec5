import PeregrineCore

/// What tripped the kill switch.
@frozen
public enum KillCause: UInt8, Hashable, Sendable, CaseIterable, BitwiseCopyable, CustomStringConvertible {
    case none = 0
    /// An operator: `POST /kill` on the control plane or `peregrine kill` (a journaled admin event).
    case operatorCommand = 1
    /// A strategy's loss for the trading day passed its maximum.
    case dailyLoss = 2

    public var description: String {
        switch self {
        case .none: return "none"
        case .operatorCommand: return "operator"
        case .dailyLoss: return "daily-loss"
        }
    }
}

/// The engine's kill switch: once tripped, every open order is cancelled and new orders and
/// replaces are refused (`ExecutionReason.killSwitch`) until an operator resets it. Logic-thread
/// state: hashed, snapshotted, and driven only by journaled events, so a replay trips and
/// resets it at the same events. A trivial value.
@frozen
public struct KillSwitch: Hashable, Sendable, BitwiseCopyable {
    public private(set) var isTripped = false
    public private(set) var cause = KillCause.none
    /// The strategy whose loss tripped it (with `dailyLoss`).
    public private(set) var strategy: UInt16 = 0
    /// Event time of the last trip, engine ns.
    public private(set) var trippedAt: UInt64 = 0
    /// Trips and resets since the journal began.
    public private(set) var trips: Int64 = 0
    public private(set) var resets: Int64 = 0

    public init() {}

    /// Trips it; false when it already was (nothing changes).
    public mutating func trip(_ cause: KillCause, strategy: UInt16 = 0, at time: UInt64) -> Bool {
        guard !isTripped else { return false }
        isTripped = true
        self.cause = cause
        self.strategy = strategy
        trippedAt = time
        trips &+= 1
        return true
    }

    /// Resets it; false when it was not tripped.
    public mutating func reset() -> Bool {
        guard isTripped else { return false }
        isTripped = false
        resets &+= 1
        return true
    }

    public mutating func visitState<V: StateVisitor & ~Copyable>(_ visitor: inout V) throws(SnapshotError) {
        try visitor.visit(&isTripped, "kill switch")
        var code = cause.rawValue
        try visitor.visit(&code, "kill cause")
        guard let cause = KillCause(rawValue: code) else { throw .invalid(field: "kill cause", value: Int64(code)) }
        self.cause = cause
        try visitor.visit(&strategy, "kill strategy")
        try visitor.visit(&trippedAt, "kill time")
        try visitor.visit(&trips, "kill trips")
        try visitor.visit(&resets, "kill resets")
    }
}
