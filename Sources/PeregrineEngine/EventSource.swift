import PeregrineCore
import PeregrineModel

/// Where a source writes its events: claimed slots of a ring, written in place and made
/// visible together. Scoped: no pointer into the ring leaves the writer.
public protocol EventWriter: ~Copyable {
    /// Claims up to `count` slots; returns how many (0 when the ring is full).
    mutating func claim(upTo count: Int) -> Int
    /// Claims exactly `count` slots, or none (false) when they are not all free.
    mutating func claim(exactly count: Int) -> Bool
    /// Writes the next claimed slot. Call it exactly once per claimed slot, then `publish()`:
    /// a claimed slot left unwritten would leave a hole in the sequence.
    mutating func write(_ event: Event)
    /// Makes every written slot visible to the consumers.
    mutating func publish()
}

/// The inbound ring's producer as an `EventWriter`. Owned by the source thread; no
/// allocation, no locks.
public struct InboundWriter: ~Copyable, EventWriter {
    @usableFromInline var producer: SequencedProducer<Event>
    @usableFromInline var claimed = SequenceRange(first: 0, count: 0)
    @usableFromInline var written = 0

    public init(_ producer: consuming SequencedProducer<Event>) { self.producer = producer }

    @inlinable
    public mutating func claim(upTo count: Int) -> Int {
        guard let range = producer.tryClaim(upTo: count) else { return 0 }
        claimed = range
        written = 0
        return range.count
    }

    @inlinable
    public mutating func claim(exactly count: Int) -> Bool {
        guard let range = producer.tryClaim(count) else { return false }
        claimed = range
        written = 0
        return true
    }

    @inlinable
    public mutating func write(_ event: Event) {
        producer.write(event, at: claimed.first &+ written)
        written &+= 1
    }

    @inlinable
    public mutating func publish() {
        if written > 0 { producer.publish(SequenceRange(first: claimed.first, count: written)) }
        written = 0
    }

    /// The last sequence published (-1 before the first).
    @inlinable public var publishedSequence: Int { producer.publishedSequence }
}

/// What a source counted, for the status line and the report.
public struct SourceCounts: Equatable, Sendable {
    /// Events written (ticks included), dropped (ring full under the `drop` policy), and
    /// steps that found the ring full.
    public var emitted = 0
    public var dropped = 0
    public var fullWaits = 0
    /// Clock ticks sent while idle.
    public var ticks = 0

    public init() {}

    public static func + (left: SourceCounts, right: SourceCounts) -> SourceCounts {
        var sum = left
        sum.emitted &+= right.emitted
        sum.dropped &+= right.dropped
        sum.fullWaits &+= right.fullWaits
        sum.ticks &+= right.ticks
        return sum
    }
}

/// A source of input events, stepped by the source stage on its thread: the synthetic
/// market, recorded files, a NATS subject, or several merged (`MergedSources`). The order in
/// which the source stage publishes events is the journal's order, which replay, recovery
/// and backtests reproduce.
///
/// `step` must never wait: when the writer is full it leaves what is due for the next step.
/// Implementations are owned by one thread and called through generics (no existentials).
public protocol EventSource: ~Copyable {
    /// Writes what is due at `now` (engine ns) into `writer`; returns the events handled
    /// (written or dropped), 0 when nothing was due or the writer was full.
    mutating func step<Writer: EventWriter & ~Copyable>(now: UInt64, into writer: inout Writer) -> Int
    /// Whether the source will produce nothing more.
    var isExhausted: Bool { get }
    var counts: SourceCounts { get }
    /// What the source read, for the final report (nil when there is nothing to say).
    var summary: String? { get }
    /// Why the source stopped before its end, if it did (the run is then not complete).
    var failure: String? { get }
    /// What the source knows it lost of its input without stopping (messages a transport
    /// dropped, events no engine takes), if anything: the run is then not lossless.
    var losses: String? { get }
    /// What of an input with an end of its own (recorded files) was left unread when the run
    /// stopped before it (a signal, `--duration`), if anything: the run is then not complete.
    var unread: String? { get }
}

extension EventSource where Self: ~Copyable {
    public var summary: String? { nil }
    public var failure: String? { nil }
    public var losses: String? { nil }
    public var unread: String? { nil }
}

/// What a source needs to know when it opens.
public struct SourceContext: Sendable {
    public var configuration: EngineConfiguration
    public var clock: CycleClock
    /// Engine time when the pipeline started.
    public var startTime: UInt64
    /// Journal sequence of the first event this run publishes (a source restarted after
    /// recovery draws a different stream than the run before it).
    public var startSequence: Int64

    public init(configuration: EngineConfiguration, clock: CycleClock, startTime: UInt64, startSequence: Int64) {
        self.configuration = configuration
        self.clock = clock
        self.startTime = startTime
        self.startSequence = startSequence
    }
}

/// How to open a source on the source thread (sources own files, connections and buffers
/// that live on that thread). A plan is a value made at set-up; `description` is the
/// report's line for it.
public protocol SourcePlan: Sendable, CustomStringConvertible {
    associatedtype Source: EventSource & ~Copyable
    func open(_ context: SourceContext) throws(EngineError) -> Source
    /// How the stop reason reads when the source runs out ("event limit", "end of the files").
    var exhaustedReason: String { get }
}

/// Two sources stepped in turn on one thread, into one sequence: events of both reach the
/// journal in the order they were written, each keeping its instrument and timestamp.
/// Nest it for more than two.
public struct MergedSources<First: EventSource & ~Copyable, Second: EventSource & ~Copyable>: ~Copyable, EventSource {
    @usableFromInline var first: First
    @usableFromInline var second: Second

    public init(_ first: consuming First, _ second: consuming Second) {
        self.first = first
        self.second = second
    }

    @inlinable
    public mutating func step<Writer: EventWriter & ~Copyable>(now: UInt64, into writer: inout Writer) -> Int {
        var handled = 0
        if !first.isExhausted { handled &+= first.step(now: now, into: &writer) }
        if !second.isExhausted { handled &+= second.step(now: now, into: &writer) }
        return handled
    }

    @inlinable public var isExhausted: Bool { first.isExhausted && second.isExhausted }
    public var counts: SourceCounts { first.counts + second.counts }

    public var summary: String? {
        switch (first.summary, second.summary) {
        case (let one?, let two?): return one + "; " + two
        case (let one, let two): return one ?? two
        }
    }

    public var failure: String? { first.failure ?? second.failure }

    public var unread: String? {
        switch (first.unread, second.unread) {
        case (let one?, let two?): return one + "; " + two
        case (let one, let two): return one ?? two
        }
    }

    public var losses: String? {
        switch (first.losses, second.losses) {
        case (let one?, let two?): return one + "; " + two
        case (let one, let two): return one ?? two
        }
    }
}

/// The plan for `MergedSources`.
public struct MergedSourcePlan<First: SourcePlan, Second: SourcePlan>: SourcePlan {
    public var first: First
    public var second: Second

    public init(_ first: First, _ second: Second) {
        self.first = first
        self.second = second
    }

    public func open(_ context: SourceContext) throws(EngineError) -> MergedSources<First.Source, Second.Source> {
        MergedSources(try first.open(context), try second.open(context))
    }

    public var description: String { first.description + " + " + second.description }
    public var exhaustedReason: String { "every source finished" }
}
