import PeregrineCore
import PeregrineModel

/// Order books for a set of instruments, routing each command to its instrument's book.
/// Instrument ids must be below 65,536; lookup is one table read. A command for an
/// instrument without a book is rejected with `.unknownInstrument`.
///
/// Allocated once in `init`; processing is allocation-free. Single-threaded: one owner.
public struct MatchingEngine: ~Copyable {
    @usableFromInline let books: UnsafeMutablePointer<OrderBook>
    /// Book index by instrument id, -1 for none.
    @usableFromInline let bookIndex: UnsafeMutablePointer<Int32>
    @usableFromInline let indexCount: Int
    public let count: Int
    @usableFromInline var _unknownInstrumentCommands = 0

    /// The largest instrument id a matching engine accepts, plus one.
    public static let instrumentLimit = 65_536

    /// One book per spec. Throws the first `BookError` found: an invalid spec, a duplicate
    /// instrument, an id of 65,536 or more, or no specs at all.
    public init(specs: [InstrumentSpec]) throws(BookError) {
        guard !specs.isEmpty, specs.count <= Self.instrumentLimit else { throw .invalidInstrumentCount(specs.count) }
        var seen = Set<InstrumentID>()
        for spec in specs {
            guard Int(spec.instrument.rawValue) < Self.instrumentLimit else {
                throw .invalidSpec(instrument: spec.instrument, "instrument id must be below \(Self.instrumentLimit)")
            }
            guard seen.insert(spec.instrument).inserted else { throw .duplicateInstrument(spec.instrument) }
        }
        // Every book is built (and its spec validated) before anything is kept: on the first
        // failure the books built so far are torn down and the error thrown, so no slot is ever
        // left uninitialised.
        let books = UnsafeMutablePointer<OrderBook>.allocate(capacity: specs.count)
        for (position, spec) in specs.enumerated() {
            do {
                (books + position).initialize(to: try OrderBook(spec: spec))
            } catch {
                books.deinitialize(count: position)
                books.deallocate()
                throw error
            }
        }
        indexCount = Int(specs.map(\.instrument.rawValue).max() ?? 0) + 1
        bookIndex = .allocate(capacity: indexCount)
        bookIndex.initialize(repeating: -1, count: indexCount)
        for (position, spec) in specs.enumerated() { bookIndex[Int(spec.instrument.rawValue)] = Int32(position) }
        self.books = books
        count = specs.count
    }

    deinit {
        books.deinitialize(count: count)
        books.deallocate()
        bookIndex.deallocate()
    }

    /// Commands rejected because no book trades their instrument.
    public var unknownInstrumentCommands: Int { _unknownInstrumentCommands }

    /// Processes `command` on `instrument`'s book (see `OrderBook.process(_:sink:)`).
    @inlinable
    public mutating func process<Sink: ExecutionReportSink & ~Copyable>(
        _ command: OrderCommand, instrument: InstrumentID, sink: inout Sink
    ) {
        let raw = Int(instrument.rawValue)
        let position = raw < indexCount ? Int(bookIndex[raw]) : -1
        if position < 0 {
            _unknownInstrumentCommands &+= 1
            sink.accept(.rejection(of: command, instrument: instrument, reason: .unknownInstrument))
            return
        }
        books[position].process(command, sink: &sink)
    }

    /// Whether a book here trades `instrument`.
    @inlinable
    public func hosts(_ instrument: InstrumentID) -> Bool {
        let raw = Int(instrument.rawValue)
        return raw < indexCount && bookIndex[raw] >= 0
    }

    /// The best bid and offer of `instrument`'s book, or nil when there is no such book.
    @inlinable
    public func bestBidOffer(_ instrument: InstrumentID) -> BestBidOffer? {
        let raw = Int(instrument.rawValue)
        guard raw < indexCount, bookIndex[raw] >= 0 else { return nil }
        return books[Int(bookIndex[raw])].bestBidOffer
    }

    /// Runs `body` with the book of `instrument`, or returns nil when there is none.
    public func withBook<R>(_ instrument: InstrumentID, _ body: (borrowing OrderBook) -> R) -> R? {
        let raw = Int(instrument.rawValue)
        guard raw < indexCount, bookIndex[raw] >= 0 else { return nil }
        return body(books[Int(bookIndex[raw])])
    }

    /// Counters summed over every book.
    public var counters: MatchingCounters {
        var total = MatchingCounters()
        for position in 0..<count { total = total + books[position].counters }
        return total
    }

    /// A fingerprint of every book's state, in instrument order.
    public func stateHash() -> UInt64 {
        var hasher = StateHasher()
        for raw in 0..<indexCount where bookIndex[raw] >= 0 {
            hasher.combine(books[Int(bookIndex[raw])].stateHash())
        }
        return hasher.value
    }
}
