import Foundation
import PeregrineCore
import PeregrineEngine
import PeregrineModel
import PeregrineNATS
import PeregrineTestSupport
import Testing

/// The JetStream journal against a real `nats-server -js` on loopback.
@Suite(.serialized)
struct JetStreamJournalTests {
    /// `$PEREGRINE_NATS_URL` (the server `make test` runs), or a server of this test's own.
    static func server() throws -> (url: String, owned: NATSServerProcess?) {
        if let url = NATSServerProcess.sharedURL { return (url, nil) }
        let own = try NATSServerProcess(name: "journal")
        return (own.url, own)
    }

    /// A lone server without JetStream: a request nobody answers fails at once (not after the
    /// settle time a cluster gets) and says what to check.
    @Test func aServerWithoutJetStreamIsNamedAsSuch() throws {
        let server = try NATSServerProcess(name: "no-jetstream", jetStream: false)
        let connection = try NATSConnection(NATSConnectionOptions(url: server.url))
        #expect(connection.knownServers == 1)
        let jetStream = try connection.jetStream()
        // Long enough that waiting it out would be seen: the request is not asked again.
        jetStream.settleMilliseconds = 60_000
        let clock = ContinuousClock()
        let started = clock.now
        do {
            _ = try jetStream.streamState("ANY")
            Issue.record("a stream read without JetStream")
        } catch {
            #expect(error.noResponders)
            #expect(
                "\(error)".hasSuffix(
                    ": nothing answered for JetStream: is the server started with JetStream (nats-server -js)? "
                        + "(A cluster is asked again for 30 s, while it may be electing a leader.)"), "\(error)")
        }
        #expect(clock.now - started < .seconds(30))
    }

    static func events(_ count: Int, seed: UInt64 = 11) -> [Event] {
        var market = SyntheticMarket(instruments: 8, seed: seed)
        return (0..<count).map { market.next(timestamp: 1_000_000 + UInt64($0) * 100) }
    }

    static func encoded(_ event: Event) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Event.encodedSize)
        bytes.withUnsafeMutableBytes { try? event.encode(into: $0) }
        return bytes
    }

    static func stream(_ name: String) -> StreamSettings {
        StreamSettings(name: name, subjects: ["test.\(name.lowercased())"], storage: .file)
    }

    /// 250,000 events in frames, read back in order with identical bytes; a second writer on the
    /// same stream continues the sequence; reading from the middle starts at that event.
    @Test func writesAndReadsBackInOrder() throws {
        let (url, server) = try Self.server()
        defer { _ = server }
        let connection = try NATSConnection(NATSConnectionOptions(url: url))
        let jetStream = try connection.jetStream()
        let settings = Self.stream("ROUNDTRIP\(getpid())")
        try jetStream.deleteStream(settings.name)
        defer { try? jetStream.deleteStream(settings.name) }
        let events = Self.events(250_000)
        var writer: JetStreamJournalWriter? = try JetStreamJournalWriter(
            jetStream: jetStream, settings: settings, subject: settings.subjects[0], window: 32)
        guard let first = writer else { return }
        #expect(first.nextSequence == 0)
        for (index, event) in events.prefix(200_000).enumerated() {
            while try !first.append(event, sequence: Int64(index)) { first.pollAcks() }
        }
        #expect(first.drain(timeoutMilliseconds: 10_000))
        #expect(first.durableSequence == 200_000)
        let framesFirst = first.framesPublished
        #expect(framesFirst >= 200_000 / JournalFrame.maxEvents)
        writer = nil
        // A new writer finds the tail and continues.
        let second = try JetStreamJournalWriter(
            jetStream: jetStream, settings: settings, subject: settings.subjects[0], window: 8, maxEventsPerFrame: 100)
        #expect(second.nextSequence == 200_000)
        #expect(second.nextFrameIndex == UInt64(framesFirst))
        for index in 200_000..<250_000 {
            while try !second.append(events[index], sequence: Int64(index)) { second.pollAcks() }
        }
        #expect(second.drain(timeoutMilliseconds: 10_000))
        #expect(throws: JetStreamJournalError.outOfOrder(expected: 250_000, got: 7)) {
            _ = try second.append(events[7], sequence: 7)
        }

        var read = 0
        var mismatches = 0
        let summary = try JetStreamJournalReader.read(
            jetStream: jetStream, stream: settings.name, subject: settings.subjects[0]
        ) { event, sequence in
            if sequence != Int64(read) || Self.encoded(event) != Self.encoded(events[read]) { mismatches += 1 }
            read += 1
        }
        #expect(read == 250_000)
        #expect(mismatches == 0)
        #expect(summary.nextSequence == 250_000)
        #expect(summary.frames == framesFirst + 500)

        var fromMiddle: [Int64] = []
        try JetStreamJournalReader.read(
            jetStream: jetStream, stream: settings.name, subject: settings.subjects[0], from: 123_457
        ) { _, sequence in fromMiddle.append(sequence) }
        #expect(fromMiddle.first == 123_457)
        #expect(fromMiddle.count == 250_000 - 123_457)
        #expect(fromMiddle == Array(123_457..<250_000))
    }

    /// Two writers started on an empty stream at the same moment: the second's first frame
    /// (the same first sequence as the first's) is not taken for a duplicate of it; it meets
    /// the expected last sequence and is refused, so nothing of it counts as durable.
    @Test func anotherWritersFrameIsNotTakenForADuplicate() throws {
        let (url, server) = try Self.server()
        defer { _ = server }
        let connection = try NATSConnection(NATSConnectionOptions(url: url))
        let jetStream = try connection.jetStream()
        let settings = Self.stream("TWO\(getpid())")
        try jetStream.deleteStream(settings.name)
        defer { try? jetStream.deleteStream(settings.name) }
        let first = try JetStreamJournalWriter(
            jetStream: jetStream, settings: settings, subject: settings.subjects[0], maxEventsPerFrame: 10)
        // (Another engine: a connection of its own.)
        let otherJetStream = try NATSConnection(NATSConnectionOptions(url: url)).jetStream()
        let second = try JetStreamJournalWriter(
            jetStream: otherJetStream, settings: settings, subject: settings.subjects[0], maxEventsPerFrame: 10)
        #expect(first.incarnation != second.incarnation)
        let events = Self.events(10)
        for (index, event) in events.enumerated() { _ = try first.append(event, sequence: Int64(index)) }
        #expect(first.drain(timeoutMilliseconds: 5_000))
        for (index, event) in events.enumerated() { _ = try second.append(event, sequence: Int64(index)) }
        #expect(!second.drain(timeoutMilliseconds: 1_000))
        #expect(second.durableSequence == 0)
        #expect(try jetStream.streamState(settings.name)?.messages == 1)
    }

    /// A frame published again with the same message id is dropped by the server.
    @Test func republishedFrameIsDeduplicated() throws {
        let (url, server) = try Self.server()
        defer { _ = server }
        let connection = try NATSConnection(NATSConnectionOptions(url: url))
        let jetStream = try connection.jetStream()
        let settings = Self.stream("DEDUPE\(getpid())")
        try jetStream.deleteStream(settings.name)
        defer { try? jetStream.deleteStream(settings.name) }
        let writer = try JetStreamJournalWriter(
            jetStream: jetStream, settings: settings, subject: settings.subjects[0], maxEventsPerFrame: 10)
        let events = Self.events(30)
        for (index, event) in events.enumerated() { _ = try writer.append(event, sequence: Int64(index)) }
        #expect(writer.drain(timeoutMilliseconds: 5_000))
        #expect(try jetStream.streamState(settings.name)?.messages == 3)
        // Frame 1 (sequences 10-19), byte for byte, with its message id "10-<the writer's incarnation>".
        var frame: [UInt8] = []
        _ = try jetStream.message(stream: settings.name, sequence: 2) { frame = Array($0.bytes) }
        let header = try frame.withUnsafeBytes { try JournalFrame.header(of: $0, streamSequence: 2) }
        #expect(header == JournalFrame.Header(frameIndex: 1, firstSequence: 10, count: 10))
        let again = try frame.withUnsafeBytes {
            try jetStream.publish(settings.subjects[0], $0, messageID: "10-\(writer.incarnation)")
        }
        #expect(again.duplicate)
        #expect(again.streamSequence == 2)
        #expect(try jetStream.streamState(settings.name)?.messages == 3)
        var sequences: [Int64] = []
        try JetStreamJournalReader.read(jetStream: jetStream, stream: settings.name, subject: settings.subjects[0]) {
            _, sequence in sequences.append(sequence)
        }
        #expect(sequences == Array(0..<30))
        // The same bytes under a new id are stored, and the reader refuses the repeated frame.
        _ = try frame.withUnsafeBytes { try jetStream.publish(settings.subjects[0], $0, messageID: "other") }
        #expect(throws: JetStreamJournalError.discontinuity(streamSequence: 4, expected: 30, found: 10)) {
            try JetStreamJournalReader.read(jetStream: jetStream, stream: settings.name, subject: settings.subjects[0])
            {
                _, _ in
            }
        }
    }

    /// What the writer relies on to keep frames in order across a lost publish: a message
    /// published expecting a last stream sequence is refused when the stream is not there (a
    /// message before it was lost), stored once it is, and a message published again is
    /// acknowledged as the duplicate it is whatever it expects.
    @Test func publishesExpectingTheLastSequence() throws {
        let (url, server) = try Self.server()
        defer { _ = server }
        let jetStream = try NATSConnection(NATSConnectionOptions(url: url)).jetStream()
        let settings = Self.stream("EXPECT\(getpid())")
        try jetStream.deleteStream(settings.name)
        defer { try? jetStream.deleteStream(settings.name) }
        try jetStream.addOrUpdateStream(settings)
        let slots = try jetStream.enableAsyncPublish(maxPending: 8, ackWaitMilliseconds: 2_000)
        func publish(_ text: String, tag: UInt64, expecting last: UInt64) throws -> Bool? {
            try Array(text.utf8).withUnsafeBytes {
                try jetStream.publishAsync(
                    settings.subjects[0], $0, messageID: text, tag: tag, expectedLastSequence: last)
            }
            // The acknowledgement or the ack wait's timeout, well within 60 s.
            for _ in 0..<12_000 {
                if let stored = slots.state(of: tag) { return stored }
                usleep(5_000)
            }
            return nil
        }
        #expect(try publish("a", tag: 0, expecting: 0) == true)
        // "b" (sequence 2) was lost in flight: "c", expecting it, is refused.
        #expect(try publish("c", tag: 1, expecting: 2) == false)
        #expect(slots.lastFailureText.contains("wrong last sequence"), "\(slots.lastFailureText)")
        #expect(try publish("b", tag: 2, expecting: 1) == true)
        #expect(try publish("c", tag: 3, expecting: 2) == true)
        // "b" again (its ack was lost): a duplicate, acknowledged before the expectation counts.
        #expect(try publish("b", tag: 4, expecting: 7) == true)
        #expect(try jetStream.streamState(settings.name)?.messages == 3)
        var texts: [String] = []
        for sequence in UInt64(1)...3 {
            _ = try jetStream.message(stream: settings.name, sequence: sequence) {
                texts.append(String(decoding: $0.bytes, as: UTF8.self))
            }
        }
        #expect(texts == ["a", "b", "c"])
    }

    @Test func corruptFramesAreRefused() throws {
        var bytes = [UInt8](repeating: 0, count: JournalFrame.headerSize + 64)
        #expect(
            throws: JetStreamJournalError.corruptFrame(
                streamSequence: 9, reason: "not a Peregrine journal frame (magic)")
        ) {
            _ = try bytes.withUnsafeBytes { try JournalFrame.header(of: $0, streamSequence: 9) }
        }
        bytes = Array(bytes.prefix(10))
        #expect(
            throws: JetStreamJournalError.corruptFrame(
                streamSequence: 9, reason: "10 bytes, shorter than the 32-byte header")
        ) {
            _ = try bytes.withUnsafeBytes { try JournalFrame.header(of: $0, streamSequence: 9) }
        }
    }

    @Test func connectionErrorsNameTheServer() throws {
        let port = LoopbackPort.free()
        do {
            _ = try NATSConnection(NATSConnectionOptions(url: "nats://127.0.0.1:\(port)", maxReconnects: 0))
            Issue.record("connected to a port nothing listens on")
        } catch {
            #expect(error.operation == "connect to nats://127.0.0.1:\(port)")
            #expect(error.status == "No server available for connection")
        }
    }
}
