import PeregrineModel

/// The level-2 books of a dense range of instruments (`0 ..< count`), in one allocation.
/// Owned by one thread; updates never allocate.
public struct BookSet: ~Copyable {
    /// The books, reached through a plain pointer (`shared` hands it to a second user).
    public let shared: SharedBooks
    /// Number of instruments.
    public var count: Int { shared.count }
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
        shared = SharedBooks(books: storage, count: count)
    }

    deinit {
        shared.books.deinitialize(count: shared.count)
        shared.books.deallocate()
    }

    /// Applies `update` to `instrument`'s book; `nil` (counted) for an unknown instrument.
    @inlinable
    @discardableResult
    public mutating func apply(_ update: LevelUpdate, to instrument: InstrumentID) -> LevelUpdateOutcome? {
        guard let outcome = shared.apply(update, to: instrument) else {
            _unknownInstrumentUpdates &+= 1
            return nil
        }
        return outcome
    }

    /// Empties `instrument`'s book (its venue replaced the book; a snapshot follows); counted
    /// as an update to an unknown instrument when there is no such book.
    @inlinable
    public mutating func clear(_ instrument: InstrumentID) {
        if !shared.clear(instrument) { _unknownInstrumentUpdates &+= 1 }
    }

    /// Whether `instrument` has a book here.
    @inlinable
    public func contains(_ instrument: InstrumentID) -> Bool { shared.contains(instrument) }

    /// Runs `body` with `instrument`'s book, or returns `nil` for an unknown instrument.
    @inlinable
    public func withBook<R>(_ instrument: InstrumentID, _ body: (borrowing L2Book) -> R) -> R? {
        shared.withBook(instrument, body)
    }

    /// The best bid and offer of `instrument`, if it has a book here.
    @inlinable
    public func bestBidOffer(_ instrument: InstrumentID) -> BestBidOffer? { shared.bestBidOffer(instrument) }

    /// The best level of `side` of `instrument`'s book; nil when it has none (or no book here).
    @inlinable
    public func best(_ instrument: InstrumentID, _ side: Side) -> BookLevel? { shared.best(instrument, side) }

    /// The best bid and ask prices of `instrument`'s book when both sides have a level (and it
    /// has a book here).
    @inlinable
    public func touchPrices(_ instrument: InstrumentID) -> (bid: Price, ask: Price)? {
        shared.touchPrices(instrument)
    }

    /// Sum of every book's counters.
    public var counters: BookCounters {
        var total = BookCounters()
        for index in 0..<count {
            let counters = shared.books[index].counters
            total.updates += counters.updates
            total.refusedAtCeiling += counters.refusedAtCeiling
        }
        return total
    }
}

/// The books of a `BookSet` through a plain pointer: what a second user of the same books reads
/// and updates (the backtest's simulated venue shares the logic's market-data books, so each
/// level update is applied once). Valid only while the set lives; the same single thread as its
/// owner. Allocation-free; unknown instruments are not counted here (`BookSet` counts them).
public struct SharedBooks: BitwiseCopyable {
    @usableFromInline let books: UnsafeMutablePointer<L2Book>
    /// Number of instruments.
    public let count: Int

    @usableFromInline
    init(books: UnsafeMutablePointer<L2Book>, count: Int) {
        self.books = books
        self.count = count
    }

    /// Applies `update` to `instrument`'s book; `nil` for an unknown instrument.
    @inlinable @inline(__always)
    @discardableResult
    public func apply(_ update: LevelUpdate, to instrument: InstrumentID) -> LevelUpdateOutcome? {
        let index = Int(instrument.rawValue)
        guard index < count else { return nil }
        return books[index].apply(update)
    }

    /// Empties `instrument`'s book; false for an unknown instrument.
    @inlinable
    @discardableResult
    public func clear(_ instrument: InstrumentID) -> Bool {
        let index = Int(instrument.rawValue)
        guard index < count else { return false }
        books[index].clear()
        return true
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

    /// The best level of `side` of `instrument`'s book; nil when it has none (or no book here).
    @inlinable
    public func best(_ instrument: InstrumentID, _ side: Side) -> BookLevel? {
        let index = Int(instrument.rawValue)
        guard index < count else { return nil }
        return books[index].best(side)
    }

    /// The best bid and ask prices of `instrument`'s book when both sides have a level (and it
    /// has a book here).
    @inlinable @inline(__always)
    public func touchPrices(_ instrument: InstrumentID) -> (bid: Price, ask: Price)? {
        let index = Int(instrument.rawValue)
        guard index < count else { return nil }
        return books[index].touchPrices
    }
}
