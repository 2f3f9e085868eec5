import PeregrineModel

/// What happens when an incoming order would trade against a resting order of the same
/// account. The incoming order's account decides.
@frozen
public enum SelfTradePrevention: UInt8, Hashable, Sendable, BitwiseCopyable, CaseIterable, CustomStringConvertible {
    /// Let the self-trade happen.
    case allow = 0
    /// Cancel the incoming order's remainder; the resting order stays.
    case cancelNewest = 1
    /// Cancel the resting order and keep matching the incoming one.
    case cancelOldest = 2
    /// Cancel both.
    case cancelBoth = 3

    public var description: String {
        switch self {
        case .allow: return "allow"
        case .cancelNewest: return "cancel-newest"
        case .cancelOldest: return "cancel-oldest"
        case .cancelBoth: return "cancel-both"
        }
    }
}

/// The self-trade prevention mode of every account: a default plus per-account overrides.
/// Looked up only when two orders of one account meet, by binary search over a sorted array.
public struct SelfTradePolicy: Equatable, Sendable {
    public var defaultMode: SelfTradePrevention
    /// Sorted by account, one entry per account.
    @usableFromInline var overrides: [(account: UInt32, mode: SelfTradePrevention)]

    public init(
        default defaultMode: SelfTradePrevention = .cancelNewest, overrides: [AccountID: SelfTradePrevention] = [:]
    ) {
        self.defaultMode = defaultMode
        self.overrides = overrides.map { ($0.key.rawValue, $0.value) }.sorted { $0.account < $1.account }
    }

    /// The mode for `account`.
    @inlinable
    public func mode(for account: AccountID) -> SelfTradePrevention {
        var low = 0
        var high = overrides.count
        while low < high {
            let middle = (low &+ high) &>> 1
            let entry = overrides[middle]
            if entry.account == account.rawValue { return entry.mode }
            if entry.account < account.rawValue { low = middle &+ 1 } else { high = middle }
        }
        return defaultMode
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.defaultMode == rhs.defaultMode && lhs.overrides.elementsEqual(rhs.overrides) { $0 == $1 }
    }
}
