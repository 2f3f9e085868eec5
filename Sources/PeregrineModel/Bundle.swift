/// Up to 16 transactions to be submitted together, stored inline (no array, no allocation).
///
/// A trivially copyable value of 536 bytes; `append` reports a full bundle instead of
/// trapping.
@frozen
public struct Bundle: Sendable, BitwiseCopyable {
    /// The most transactions a bundle holds.
    public static let capacity = 16

    public var id: UInt64
    /// Engine time (ns) at which the first transaction was added.
    public var openedAt: UInt64
    @usableFromInline var storedCount: UInt8
    @usableFromInline var storage: InlineArray<16, Transaction>

    /// An empty bundle.
    @inlinable
    public init(id: UInt64, openedAt: UInt64 = 0) {
        self.id = id
        self.openedAt = openedAt
        storedCount = 0
        storage = InlineArray(repeating: Transaction.empty)
    }

    /// Number of transactions held.
    @inlinable public var count: Int { Int(storedCount) }
    @inlinable public var isEmpty: Bool { storedCount == 0 }
    @inlinable public var isFull: Bool { Int(storedCount) == Self.capacity }

    /// Appends `transaction`; `false` (and no change) when the bundle is full.
    @inlinable
    public mutating func append(_ transaction: Transaction) -> Bool {
        let index = Int(storedCount)
        guard index < Self.capacity else { return false }
        storage[index] = transaction
        storedCount &+= 1
        return true
    }

    /// Removes the first transaction with `id` and `origin`, keeping the others in order;
    /// `false` (and no change) when there is none. O(count), no allocation.
    @inlinable
    public mutating func remove(id: UInt64, origin: TransactionOrigin) -> Bool {
        var index = 0
        while index < count, storage[index].id != id || storage[index].origin != origin { index &+= 1 }
        guard index < count else { return false }
        while index &+ 1 < count {
            storage[index] = storage[index &+ 1]
            index &+= 1
        }
        storage[index] = Transaction.empty
        storedCount &-= 1
        return true
    }

    /// The transaction at `index`, or `nil` outside `0 ..< count`.
    @inlinable
    public func transaction(at index: Int) -> Transaction? {
        guard index >= 0, index < count else { return nil }
        return storage[index]
    }

    /// The transactions held, in order (allocates an array: for tests and tools, not hot paths).
    public var transactions: [Transaction] {
        (0..<count).map { storage[$0] }
    }

    /// Calls `body` for each transaction held, in order.
    @inlinable
    public func forEach(_ body: (Transaction) -> Void) {
        for index in 0..<count { body(storage[index]) }
    }
}

extension Bundle: Equatable {
    /// Bundles are equal when ids, open times and held transactions are; unused storage is ignored.
    public static func == (lhs: Bundle, rhs: Bundle) -> Bool {
        guard lhs.id == rhs.id, lhs.openedAt == rhs.openedAt, lhs.count == rhs.count else { return false }
        for index in 0..<lhs.count where lhs.storage[index] != rhs.storage[index] {
            return false
        }
        return true
    }
}
