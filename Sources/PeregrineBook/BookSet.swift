import PeregrineModel

/// The level-2 books of a dense range of instruments (`0 ..< count`), in one allocation.
/// Owned by one thread; updates never allocate.
public struct BookSet: ~Copyable {
    @usableFromInline let books: UnsafeMutablePointer<L2Book>
    /// Number of instruments.
    public let count: Int
    /// Updates for instruments this set does not have.
    @usableFromInline var _unknownInstrumentUpdates: Int = 0
    public var unknownInstrumentUpdates: Int { _unknownInstrumentUpdates }

    /// Books for instruments `0 ..< count`, each holding at most `maxLevelsPerSide` levels a side.
    public init(count: Int, maxLevelsPerSide: Int = L2Book.defaultMaxLevelsPerSide) throws(BookError) {
        guard (1...65_536).contains(count) else { throw .invalidInstrumentCount(count) }
        let storage = UnsafeMutablePointer<L2Book>.allocate(capacity: count)
        for index in 0..<count {
            do {
                (storage + index).initialize(
                    to: try L2Book(instrument: InstrumentID(UInt32(index)), maxLevelsPerSide: maxLevelsPerSide))
            } catch {
                storage.deinitialize(count: index)
                storage.deallocate()
                throw error
            }
        }
        books = storage
        self.count = count
    }

    deinit {
        books.deinitialize(count: count)
        books.deallocate()
    }

    /// Applies `update` to `instrument`'s book; `nil` (counted) for an unknown instrument.
    @inlinable
    @discardableResult
    public mutating func apply(_ update: LevelUpdate, to instrument: InstrumentID) -> LevelUpdateOutcome? {
        let index = Int(instrument.rawValue)
        guard index < count else {
            _unknownInstrumentUpdates &+= 1
            return nil
        }
        return books[index].apply(update)
    }

    /// Empties `instrument`'s book (its venue replaced the book; a snapshot follows); counted
    /// as an update to an unknown instrument when there is no such book.
    @inlinable
    public mutating func clear(_ instrument: InstrumentID) {
        let index = Int(instrument.rawValue)
        guard index < count else {
            _unknownInstrumentUpdates &+= 1
            return
        }
        books[index].clear()
    }

    /// Whether `instrument` has a book here.
    @inlinable
    public func contains(_ instrument: InstrumentID) -> Bool { Int(instrument.rawValue) < count }

    /// Runs `body` with `instrument`'s book, or returns `nil` for an unknown instrument.
    @inlinable
    public func withBook<R>(_ instrument: InstrumentID, _ body: (borrowing L2Book) -> R) -> R? {
        let index = Int(instrument.rawValue)
        guard index < count else { return nil }
        return body(books[index])
    }

    /// The best bid and offer of `instrument`, if it has a book here.
    @inlinable
    public func bestBidOffer(_ instrument: InstrumentID) -> BestBidOffer? {
        let index = Int(instrument.rawValue)
        guard index < count else { return nil }
        return books[index].bestBidOffer
    }

    /// Sum of every book's counters.
    public var counters: BookCounters {
        var total = BookCounters()
        for index in 0..<count {
            let counters = books[index].counters
            total.updates += counters.updates
            total.refusedAtCeiling += counters.refusedAtCeiling
        }
        return total
    }
}
