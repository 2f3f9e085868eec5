import Foundation
import PeregrineCodec
import PeregrineEngine
import PeregrineFeed
import PeregrineModel
import PeregrineStrategy
import PeregrineTestSupport
import Testing

@testable import PeregrineNATS

/// The input subject as the source thread sees it: frames and JSON lines give the same
/// events, other shards' instruments are skipped, a bad JSON line is refused and counted.
@Suite(.serialized)
struct NATSInputTests {
    /// A server URL as every command reads it: each of a list nats:// or tls://, a host, and a
    /// port from 1 to 65535 when one is given.
    @Test func serverURLsAreReadAlike() {
        #expect(NATSSettings.isServerURL("nats://127.0.0.1:4222,tls://user:pass@host.example:4443,nats://host"))
        for bad in ["nats://127.0.0.1:4222,", "nats://127.0.0.1:notaport", "http://h:4222", "nats://", "nats://h:0"] {
            #expect(!NATSSettings.isServerURL(bad), "\(bad)")
        }
    }

    static func received(_ feed: NATSInputFeed) -> [Event] {
        var events: [Event] = []
        // Until the feed ends (the sender's end marker), at most 60 s.
        for _ in 0..<6_000 where !feed.finished {
            feed.fill(1 << 20)
            while feed.available > 0 { events.append(feed.take()) }
            if !feed.finished { usleep(10_000) }
        }
        return events
    }

    @Test func framesAndJSONLinesGiveTheSameEvents() throws {
        let (url, server) = try JetStreamJournalTests.server()
        defer { _ = server }
        let prefix = "input\(getpid())"
        let events = JetStreamJournalTests.events(3_000).enumerated().map { index, event in
            var event = event
            event.timestamp = 0
            event.exchangeTimestamp = UInt64(index)
            return event
        }
        let owned = events.filter { NATSSettings.shard(of: $0.instrument, count: 2) == 1 }
        #expect(owned.count > 500 && owned.count < 2_500)
        let settings = NATSSettings(url: url, shard: 1, shardCount: 2, subjectPrefix: prefix)
        let publisher = try NATSConnection(NATSConnectionOptions(url: url))

        // Frames.
        let frameFeed = try NATSInputFeed(settings: settings)
        for (index, chunk) in stride(from: 0, to: events.count, by: 1_000).enumerated() {
            let frame = JournalFrame.encode(
                events[chunk..<(chunk + 1_000)], frameIndex: UInt64(index), firstSequence: Int64(chunk))
            try frame.withUnsafeBytes { try publisher.publish(settings.inputSubject, $0) }
        }
        try NATSInputFeed.endOfInput.withUnsafeBytes { try publisher.publish(settings.inputSubject, $0) }
        try publisher.flush()
        #expect(Self.received(frameFeed) == owned)
        #expect(frameFeed.framesReceived == 3)
        #expect(frameFeed.foreignEvents == events.count - owned.count)
        #expect(frameFeed.failure == nil)

        // JSON lines, in messages of about 16 KiB, with one line that is refused.
        let jsonFeed = try NATSInputFeed(settings: settings)
        var messages: [[UInt8]] = []
        var writer = JSONLinesWriter(flushThreshold: 16_000) { messages.append($0) }
        for event in events { EventJSON.write(event, to: &writer) }
        writer.finish()
        messages.insert(Array(#"{"type":"trade","instrument":1,"price":5}"#.utf8) + [10], at: 1)
        for message in messages {
            try message.withUnsafeBytes { try publisher.publish(settings.inputSubject, $0) }
        }
        try NATSInputFeed.endOfInput.withUnsafeBytes { try publisher.publish(settings.inputSubject, $0) }
        try publisher.flush()
        #expect(Self.received(jsonFeed) == owned)
        #expect(messages.count > 10)
        #expect(jsonFeed.jsonLinesReceived == events.count + 1)
        #expect(jsonFeed.jsonLinesRejected == 1)
        #expect(jsonFeed.firstRejection == #"{"type":"trade","instrument":1,"price":5}: missing "quantity""#)
        #expect(jsonFeed.foreignEvents == events.count - owned.count)
    }

    /// An operator's command or a venue's report record on the input subject is refused: they
    /// come only through the control plane (with its token) and `NAME.in.K.reports`.
    @Test func adminCommandsAndVenueRecordsAreRefusedOnTheInput() throws {
        let (url, server) = try JetStreamJournalTests.server()
        defer { _ = server }
        let settings = NATSSettings(url: url, shard: 0, shardCount: 1, subjectPrefix: "privileged\(getpid())")
        let publisher = try NATSConnection(NATSConnectionOptions(url: url))
        let feed = try NATSInputFeed(settings: settings)
        let report = ExecutionReport(
            kind: .filled, instrument: InstrumentID(0), orderID: .strategyOrder(StrategyID(1), sequence: 1),
            account: AccountID(1001), side: .buy, price: Price(ticks: 1), quantity: Quantity(lots: 1),
            leavesQuantity: .zero, tradeID: 1)
        var record: [Event] = []
        report.forEachRecordEvent(timestamp: 0) { record.append($0) }
        let (first, second, end) = (record[0], record[1], record[2])
        let trade = Event(
            timestamp: 0, instrument: InstrumentID(0),
            payload: .trade(Trade(price: Price(ticks: 5), quantity: Quantity(lots: 1), aggressor: .buy, tradeID: 1)))
        let frame = JournalFrame.encode(
            [
                Event(timestamp: 0, instrument: InstrumentID(0), payload: .admin(AdminCommand(.reset, requestID: 1))),
                trade,
            ],
            frameIndex: 0, firstSequence: 0)
        try frame.withUnsafeBytes { try publisher.publish(settings.inputSubject, $0) }
        var messages: [[UInt8]] = []
        var writer = JSONLinesWriter(flushThreshold: 1 << 20) { messages.append($0) }
        for event in [
            first, second, end,
            Event(timestamp: 0, instrument: InstrumentID(0), payload: .admin(AdminCommand(.kill, requestID: 2))),
        ] {
            EventJSON.write(event, to: &writer)
        }
        writer.finish()
        for message in messages { try message.withUnsafeBytes { try publisher.publish(settings.inputSubject, $0) } }
        try NATSInputFeed.endOfInput.withUnsafeBytes { try publisher.publish(settings.inputSubject, $0) }
        try publisher.flush()
        let received = Self.received(feed)
        // The trade and the report's two chunks pass (the logic drops chunks without their end).
        #expect(received.map(\.payload.kind) == [.trade, .recordChunk, .recordChunk])
        #expect(feed.privilegedRefused == 3)
    }
}
