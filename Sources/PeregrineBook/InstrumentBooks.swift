import PeregrineCore
import PeregrineModel

/// Every instrument's one book. An instrument is either traded on a venue this engine hosts
/// (the `MatchingEngine`'s order book: order commands change it, fills and all) or traded
/// elsewhere (an `L2Book` that applies that venue's market data: level updates and
/// clear-book events). Never both: a level update for a hosted instrument, or an order command
/// for an instrument no hosted venue trades, is refused (counted, and the command rejected
/// with a report). The views (`bestBidOffer`, `depth`) read whichever book the instrument has,
/// so a strategy sees the same book the orders meet.
///
/// Market-data books are instruments `0 ..< levels.count`; the hosted venue's are its specs'
/// instruments. Single-threaded: one owner. Updates and views are allocation-free except
/// `depth(_:_:levels:)`, which returns an array (for tools and tests).
public struct InstrumentBooks: ~Copyable {
    /// The L2 books of the instruments traded elsewhere.
    @usableFromInline var levels: BookSet
    /// The books of the instruments traded here (none without a hosted venue).
    @usableFromInline var venue: MatchingEngine?
    @usableFromInline var _unknownInstrumentCommands = 0
    /// Per market-data instrument: whether its book is its quotes (quotes-only data, a
    /// one-level book; see `applyQuote`).
    @usableFromInline let quoteBooks: [Bool]

    /// `quoteBooks` names the market-data instruments whose book is their quotes.
    public init(levels: consuming BookSet, venue: consuming MatchingEngine?, quoteBooks: [InstrumentID] = []) {
        var flags = Array(repeating: false, count: levels.count)
        for instrument in quoteBooks where Int(instrument.rawValue) < flags.count {
            flags[Int(instrument.rawValue)] = true
        }
        self.quoteBooks = flags
        self.levels = levels
        self.venue = venue
    }

    /// The market-data books, for a second user (see `SharedBooks`).
    public var sharedLevels: SharedBooks { levels.shared }

    /// Whether `instrument`'s book is its quotes.
    @inlinable
    public func isQuoteBook(_ instrument: InstrumentID) -> Bool {
        let index = Int(instrument.rawValue)
        return index < quoteBooks.count && quoteBooks[index]
    }

    /// Makes a quote `instrument`'s one-level book: the previous best levels go, the quote's
    /// bid and ask (a side with price 0, or size 0, is empty) take their place. For instruments
    /// of `quoteBooks` only.
    @inlinable
    public mutating func applyQuote(_ quote: Quote, to instrument: InstrumentID) {
        let top = levels.bestBidOffer(instrument)
        if let bid = top?.bid, bid.price != quote.bidPrice {
            levels.apply(LevelUpdate(side: .buy, price: bid.price, quantity: .zero), to: instrument)
        }
        if let ask = top?.ask, ask.price != quote.askPrice {
            levels.apply(LevelUpdate(side: .sell, price: ask.price, quantity: .zero), to: instrument)
        }
        if quote.bidPrice.ticks > 0 {
            levels.apply(LevelUpdate(side: .buy, price: quote.bidPrice, quantity: quote.bidQuantity), to: instrument)
        }
        if quote.askPrice.ticks > 0 {
            levels.apply(LevelUpdate(side: .sell, price: quote.askPrice, quantity: quote.askQuantity), to: instrument)
        }
    }

    /// Whether a hosted venue trades `instrument` (its book is an order book).
    @inlinable
    public func isHosted(_ instrument: InstrumentID) -> Bool {
        switch venue {
        case .some(let engine): return engine.hosts(instrument)
        case .none: return false
        }
    }

    /// Applies market data to `instrument`'s L2 book; counted as an update for an unknown
    /// instrument when the instrument has no L2 book (a hosted one included).
    @inlinable
    public mutating func apply(_ update: LevelUpdate, to instrument: InstrumentID) {
        levels.apply(update, to: instrument)
    }

    /// Empties `instrument`'s L2 book (its venue replaced the book; a snapshot follows).
    @inlinable
    public mutating func clear(_ instrument: InstrumentID) { levels.clear(instrument) }

    /// Processes `command` on the hosted book of `instrument`; without a hosted venue the
    /// command is rejected (`.unknownInstrument`), as the venue rejects one for an instrument
    /// it does not trade.
    @inlinable
    public mutating func process<Sink: ExecutionReportSink & ~Copyable>(
        _ command: OrderCommand, instrument: InstrumentID, sink: inout Sink
    ) {
        if venue != nil {
            venue?.process(command, instrument: instrument, sink: &sink)
            return
        }
        _unknownInstrumentCommands &+= 1
        sink.accept(.rejection(of: command, instrument: instrument, reason: .unknownInstrument))
    }

    /// The best bid and offer of `instrument`'s book; nil when it has none.
    @inlinable
    public func bestBidOffer(_ instrument: InstrumentID) -> BestBidOffer? {
        if levels.contains(instrument) { return levels.bestBidOffer(instrument) }
        switch venue {
        case .some(let engine): return engine.bestBidOffer(instrument)
        case .none: return nil
        }
    }

    /// The best bid and ask prices of `instrument`'s book when both sides have a level.
    @inlinable
    public func touchPrices(_ instrument: InstrumentID) -> (bid: Price, ask: Price)? {
        if levels.contains(instrument) { return levels.touchPrices(instrument) }
        guard let top = bestBidOffer(instrument), let bid = top.bid, let ask = top.ask else { return nil }
        return (bid.price, ask.price)
    }

    /// The best level of `side` of `instrument`'s book; nil when it has none.
    @inlinable
    public func best(_ instrument: InstrumentID, _ side: Side) -> BookLevel? {
        if levels.contains(instrument) { return levels.best(instrument, side) }
        switch venue {
        case .some(let engine):
            let top = engine.bestBidOffer(instrument)
            return side == .buy ? top?.bid : top?.ask
        case .none: return nil
        }
    }

    /// The best `count` levels of `side` of `instrument`'s book, best first (allocates).
    public func depth(_ instrument: InstrumentID, _ side: Side, levels count: Int) -> [BookLevel] {
        if levels.contains(instrument) {
            let found: [BookLevel]? = levels.withBook(instrument) { (book: borrowing L2Book) in
                book.depth(side, levels: count)
            }
            return found ?? []
        }
        switch venue {
        case .some(let engine):
            let found: [BookLevel]? = engine.withBook(instrument) { (book: borrowing OrderBook) in
                book.depth(side, levels: count).map { BookLevel(price: $0.price, quantity: $0.quantity) }
            }
            return found ?? []
        case .none: return []
        }
    }

    /// Calls `body` with each level of `side` of `instrument`'s book, best first, until it
    /// returns false. Allocation-free.
    public func forEachLevel(_ instrument: InstrumentID, _ side: Side, _ body: (BookLevel) -> Bool) {
        if levels.contains(instrument) {
            _ = levels.withBook(instrument) { (book: borrowing L2Book) in book.forEachLevel(side, body) }
            return
        }
        switch venue {
        case .some(let engine):
            _ = engine.withBook(instrument) { (book: borrowing OrderBook) in
                book.forEachLevelWhile(side) { body(BookLevel(price: $0.price, quantity: $0.quantity)) }
            }
        case .none: return
        }
    }

    /// The L2 books' counters, summed.
    public var bookCounters: BookCounters { levels.counters }

    /// The hosted venue's counters (zero without one).
    public var venueCounters: MatchingCounters {
        switch venue {
        case .some(let engine): return engine.counters
        case .none: return MatchingCounters()
        }
    }

    /// Order commands rejected because no venue is hosted.
    public var unknownInstrumentCommands: Int {
        switch venue {
        case .some(let engine): return engine.unknownInstrumentCommands
        case .none: return _unknownInstrumentCommands
        }
    }

    /// Whether a hosted venue is part of these books.
    public var hasVenue: Bool { venue != nil }

    /// Runs `body` with the hosted venue, or returns nil without one.
    public func withVenue<R>(_ body: (borrowing MatchingEngine) -> R) -> R? {
        switch venue {
        case .some(let engine): return body(engine)
        case .none: return nil
        }
    }

    /// Runs `body` with the market-data books.
    public func withLevels<R>(_ body: (borrowing BookSet) -> R) -> R { body(levels) }
}

extension InstrumentBooks {
    /// Every book's state: the L2 books, then whether a venue is hosted and its books.
    public func encodeState(into encoder: inout SnapshotEncoder) {
        encoder.write(Int64(_unknownInstrumentCommands))
        levels.encodeState(into: &encoder)
        switch venue {
        case .some(let engine):
            encoder.write(true)
            engine.encodeState(into: &encoder)
        case .none:
            encoder.write(false)
        }
    }

    /// Loads what `encodeState` wrote into fresh books built with the same settings.
    public mutating func restoreState(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        let rejected = try decoder.read(Int64.self, "commands without a venue")
        guard rejected >= 0 else { throw .invalid(field: "commands without a venue", value: rejected) }
        _unknownInstrumentCommands = Int(rejected)
        try levels.restoreState(from: &decoder)
        let hasVenue = try decoder.readBool("venue")
        guard hasVenue == (venue != nil) else {
            throw .mismatch(
                hasVenue ? "snapshot has a hosted venue; this run has no order flow" : "snapshot has no hosted venue")
        }
        if hasVenue { try venue?.restoreState(from: &decoder) }
    }

    /// Adds every book's state to `hasher`.
    public func combineState(into hasher: inout StateHasher) {
        hasher.combine(_unknownInstrumentCommands)
        levels.combineState(into: &hasher)
        switch venue {
        case .some(let engine): hasher.combine(engine.stateHash())
        case .none: hasher.combine(0 as UInt64)
        }
    }
}
