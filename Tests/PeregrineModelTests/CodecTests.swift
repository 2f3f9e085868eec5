import PeregrineTestSupport
import PropertyBased
import Testing

@testable import PeregrineModel

@Suite("Byte codecs")
struct CodecTests {
    @Test func eventRoundTrips() async {
        await propertyCheck(count: 5_000, input: EventGen.event) { event in
            var bytes = [UInt8](repeating: 0xAA, count: Event.encodedSize)
            bytes.withUnsafeMutableBytes { try? event.encode(into: $0) }
            let decoded = bytes.withUnsafeBytes { try? Event(decoding: $0) }
            #expect(decoded == event)
        }
    }

    @Test func transactionRoundTrips() async {
        await propertyCheck(count: 5_000, input: EventGen.transaction) { transaction in
            var bytes = [UInt8](repeating: 0, count: Transaction.encodedSize)
            bytes.withUnsafeMutableBytes { try? transaction.encode(into: $0) }
            #expect(bytes.withUnsafeBytes { try? Transaction(decoding: $0) } == transaction)
        }
    }

    @Test func bundleRoundTrips() async {
        await propertyCheck(count: 500, input: EventGen.transaction.array(of: 0...16), Gen.uint64(in: 0...UInt64.max)) {
            transactions, id in
            var bundle = Bundle(id: id, openedAt: id / 3)
            for transaction in transactions {
                let appended = bundle.append(transaction)
                #expect(appended)
            }
            var bytes = [UInt8](repeating: 0, count: bundle.encodedSize)
            #expect(bytes.withUnsafeMutableBytes { try? bundle.encode(into: $0) } == 24 + 32 * transactions.count)
            let decoded = bytes.withUnsafeBytes { try? Bundle(decoding: $0) }
            #expect(decoded == bundle)
            #expect(decoded?.transactions == transactions)
        }
    }

    @Test func encodingIsLittleEndianAtDocumentedOffsets() throws {
        let event = Event(
            timestamp: 0x0102_0304_0506_0708, exchangeTimestamp: 9, instrument: InstrumentID(0xA0B0),
            payload: .levelUpdate(
                LevelUpdate(side: .sell, price: Price(ticks: 2_037_700), quantity: Quantity(lots: 1_770))))
        var bytes = [UInt8](repeating: 0xFF, count: 64)
        try bytes.withUnsafeMutableBytes { try event.encode(into: $0) }
        #expect(bytes[0] == 1 && bytes[1] == 6 && bytes[2] == 0 && bytes[3] == 0)
        #expect(Array(bytes[4..<8]) == [0xB0, 0xA0, 0, 0])
        #expect(Array(bytes[8..<16]) == [8, 7, 6, 5, 4, 3, 2, 1])
        #expect(bytes[16] == 9)
        #expect(Array(bytes[24..<28]) == [0xC4, 0x17, 0x1F, 0x00])  // 2_037_700
        #expect(bytes[40] == 1)
        #expect(bytes[41..<64].allSatisfy { $0 == 0 })
    }

    @Test func everyTruncationIsRejected() async {
        await propertyCheck(count: 300, input: EventGen.event) { event in
            var bytes = [UInt8](repeating: 0, count: 64)
            bytes.withUnsafeMutableBytes { try? event.encode(into: $0) }
            for length in 0..<64 {
                #expect(throws: ModelError.truncated(type: "Event", needed: 64, available: length)) {
                    try bytes.withUnsafeBytes { try Event(decoding: UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
                }
            }
        }
    }

    /// Version 2 carries the exchange timestamp at bytes 16-23; a version-1 event (whose bytes
    /// 16-23 held the feed's sequence number) decodes with exchange timestamp 0.
    @Test func theExchangeTimestampRoundTripsAndVersionOneReadsAsNone() throws {
        let event = Event(
            timestamp: 5, exchangeTimestamp: 1_582_329_601_096_000_000, instrument: InstrumentID(3),
            payload: .trade(Trade(price: Price(ticks: 9), quantity: Quantity(lots: 2), aggressor: .sell, tradeID: 8)))
        var bytes = [UInt8](repeating: 0, count: 64)
        try bytes.withUnsafeMutableBytes { try event.encode(into: $0) }
        #expect(try bytes.withUnsafeBytes { try Event(decoding: $0) } == event)
        bytes[1] = 1
        var versionOne = event
        versionOne.exchangeTimestamp = 0
        #expect(try bytes.withUnsafeBytes { try Event(decoding: $0) } == versionOne)
        bytes[1] = 2
        #expect(try bytes.withUnsafeBytes { try Event(decoding: $0) } == event)
        #expect(
            ModelError.unsupportedVersion(type: "Event", found: 5, readable: 1...4).description
                == "Event of format version 5, written by a newer peregrine; this build reads versions 1 to 4. "
                + "Read it with the build that wrote it")
    }

    /// Version 3 adds the clear-book kind (7), with an all-zero payload; versions 1 and 2 have
    /// no such kind.
    @Test func aClearBookEventIsKindSevenOfVersionThree() throws {
        let event = Event(
            timestamp: 4, exchangeTimestamp: 1_733_011_200_691_000_000, instrument: InstrumentID(2),
            payload: .clearBook)
        var bytes = [UInt8](repeating: 0xEE, count: 64)
        try bytes.withUnsafeMutableBytes { try event.encode(into: $0) }
        #expect(bytes[0] == 7 && bytes[1] == 6 && bytes[24..<64].allSatisfy { $0 == 0 })
        #expect(try bytes.withUnsafeBytes { try Event(decoding: $0) } == event)
        for version: UInt8 in [1, 2] {
            bytes[1] = version
            #expect(throws: ModelError.unknownEventKind(7)) { try bytes.withUnsafeBytes { try Event(decoding: $0) } }
        }
        bytes[1] = 3
        bytes[30] = 1
        #expect(throws: ModelError.invalidField(type: "Event", field: "reserved byte 30", value: 1)) {
            try bytes.withUnsafeBytes { try Event(decoding: $0) }
        }
    }

    /// Version 4 adds record chunks (8), record ends (9) and chain heads (10), each at a fixed
    /// place; version 3 has no such kinds, and a record end's unused bytes must be zero.
    @Test func recordAndChainHeadEventsAreKindsEightToTenOfVersionFour() throws {
        let chunkBytes = (0..<36).map { UInt8($0 * 3 + 1) }
        let events = [
            Event(
                timestamp: 1, instrument: InstrumentID(0),
                payload: .recordChunk(chunkBytes.withUnsafeBytes { RecordChunk($0) })),
            Event(
                timestamp: 2, instrument: InstrumentID(0),
                payload: .recordEnd(RecordEnd(type: .pool, length: 92, checksum: 0xDEAD_BEEF))),
            Event(
                timestamp: 3, instrument: InstrumentID(0),
                payload: .chainHead(
                    ChainHead(blockNumber: 12_775_689, baseFeeWei: 30_000_000_000, nextTimestamp: 1_625_598_724))),
        ]
        var expected = [[UInt8]](repeating: [UInt8](repeating: 0, count: 40), count: 3)
        expected[0] = chunkBytes + [0, 0, 0, 0]
        expected[1][0] = 3
        expected[1].replaceSubrange(4..<8, with: [92, 0, 0, 0])
        expected[1].replaceSubrange(8..<12, with: [0xEF, 0xBE, 0xAD, 0xDE])
        expected[2].replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64(12_775_689).littleEndian, Array.init))
        expected[2].replaceSubrange(8..<16, with: withUnsafeBytes(of: UInt64(30_000_000_000).littleEndian, Array.init))
        expected[2].replaceSubrange(16..<24, with: withUnsafeBytes(of: UInt64(1_625_598_724).littleEndian, Array.init))
        for (index, event) in events.enumerated() {
            var bytes = [UInt8](repeating: 0xEE, count: 64)
            try bytes.withUnsafeMutableBytes { try event.encode(into: $0) }
            #expect(bytes[0] == UInt8(8 + index) && bytes[1] == 6)
            #expect(Array(bytes[24..<64]) == expected[index])
            #expect(try bytes.withUnsafeBytes { try Event(decoding: $0) } == event)
            bytes[1] = 3
            #expect(throws: ModelError.unknownEventKind(UInt8(8 + index))) {
                try bytes.withUnsafeBytes { try Event(decoding: $0) }
            }
        }
        var end = [UInt8](repeating: 0, count: 64)
        try end.withUnsafeMutableBytes { try events[1].encode(into: $0) }
        end[25] = 1
        #expect(throws: ModelError.invalidField(type: "Event", field: "reserved byte 25", value: 1)) {
            try end.withUnsafeBytes { try Event(decoding: $0) }
        }
        end[25] = 0
        end[24] = 6
        #expect(throws: ModelError.invalidField(type: "RecordEnd", field: "type", value: 6)) {
            try end.withUnsafeBytes { try Event(decoding: $0) }
        }
    }

    /// A chain head of version 6 carries the next block's least timestamp @40; one of version 5
    /// has none (read as 0, unknown) and its bytes 40-63 must be zero; market data of version 5
    /// reads as before (6 changed only chain heads).
    @Test func aChainHeadOfVersionSixCarriesTheNextBlocksTimestamp() throws {
        let head = Event(
            timestamp: 3, instrument: InstrumentID(0),
            payload: .chainHead(ChainHead(blockNumber: 7, baseFeeWei: 8, nextTimestamp: 1_700_000_000)))
        var bytes = [UInt8](repeating: 0, count: 64)
        try bytes.withUnsafeMutableBytes { try head.encode(into: $0) }
        #expect(bytes[1] == 6)
        #expect(try bytes.withUnsafeBytes { try Event(decoding: $0) } == head)
        bytes[1] = 5
        #expect(throws: ModelError.self) { try bytes.withUnsafeBytes { try Event(decoding: $0) } }
        bytes.replaceSubrange(40..<48, with: [UInt8](repeating: 0, count: 8))
        let old = try bytes.withUnsafeBytes { try Event(decoding: $0) }
        #expect(old.payload == .chainHead(ChainHead(blockNumber: 7, baseFeeWei: 8, nextTimestamp: 0)))
        let update = Event(
            timestamp: 4, exchangeTimestamp: 5, instrument: InstrumentID(1),
            payload: .levelUpdate(LevelUpdate(side: .buy, price: Price(ticks: 10), quantity: Quantity(lots: 2))))
        try bytes.withUnsafeMutableBytes { try update.encode(into: $0) }
        bytes[1] = 5
        #expect(try bytes.withUnsafeBytes { try Event(decoding: $0) } == update)
    }

    /// An operator's command is kind 11 of version 5: action @24, request id @32; version 4
    /// has no such kind, and an unknown action is refused.
    @Test func anAdminCommandIsKindElevenOfVersionFive() throws {
        let event = Event(
            timestamp: 9, exchangeTimestamp: 1_764_460_800_000_000_000, instrument: InstrumentID(0),
            payload: .admin(AdminCommand(.kill, requestID: 0x0102_0304)))
        var bytes = [UInt8](repeating: 0xEE, count: 64)
        try bytes.withUnsafeMutableBytes { try event.encode(into: $0) }
        var expected = [UInt8](repeating: 0, count: 40)
        expected[0] = 1
        expected.replaceSubrange(8..<16, with: [4, 3, 2, 1, 0, 0, 0, 0])
        #expect(bytes[0] == 11 && bytes[1] == 6 && Array(bytes[24..<64]) == expected)
        #expect(try bytes.withUnsafeBytes { try Event(decoding: $0) } == event)
        bytes[24] = 2
        #expect(
            try bytes.withUnsafeBytes { try Event(decoding: $0) }.payload
                == .admin(AdminCommand(.reset, requestID: 0x0102_0304)))
        bytes[24] = 3
        #expect(throws: ModelError.invalidField(type: "AdminCommand", field: "action", value: 3)) {
            try bytes.withUnsafeBytes { try Event(decoding: $0) }
        }
        bytes[24] = 1
        bytes[1] = 4
        #expect(throws: ModelError.unknownEventKind(11)) { try bytes.withUnsafeBytes { try Event(decoding: $0) } }
    }

    @Test func malformedBytesAreRejectedWithTheField() throws {
        let event = Event(
            timestamp: 1, instrument: InstrumentID(2),
            payload: .trade(Trade(price: Price(ticks: 5), quantity: Quantity(lots: 3), aggressor: .buy, tradeID: 4)))
        var good = [UInt8](repeating: 0, count: 64)
        try good.withUnsafeMutableBytes { try event.encode(into: $0) }

        func decode(_ mutate: (inout [UInt8]) -> Void) throws(ModelError) -> Event {
            var bytes = good
            mutate(&bytes)
            let result = bytes.withUnsafeBytes { buffer in
                Result { () throws(ModelError) in try Event(decoding: buffer) }
            }
            return try result.get()
        }
        #expect(throws: ModelError.unknownEventKind(0)) { try decode { $0[0] = 0 } }
        #expect(throws: ModelError.unknownEventKind(12)) { try decode { $0[0] = 12 } }
        #expect(throws: ModelError.invalidField(type: "OrderCommand", field: "action", value: 0)) {
            try decode { bytes in
                bytes[0] = 6
                for index in 24..<64 { bytes[index] = 0 }
            }
        }
        #expect(throws: ModelError.invalidField(type: "OrderCommand", field: "timeInForce", value: 9)) {
            try decode { bytes in
                bytes[0] = 6
                bytes[60] = 1
                bytes[61] = 1
                bytes[62] = 9
            }
        }
        #expect(throws: ModelError.unsupportedVersion(type: "Event", found: 7, readable: 1...6)) {
            try decode { $0[1] = 7 }
        }
        #expect(throws: ModelError.unsupportedVersion(type: "Event", found: 0, readable: 1...6)) {
            try decode { $0[1] = 0 }
        }
        #expect(throws: ModelError.invalidField(type: "Trade", field: "aggressor", value: 2)) {
            try decode { $0[48] = 2 }
        }
        #expect(throws: ModelError.invalidField(type: "Event", field: "reserved byte 2", value: 1)) {
            try decode { $0[2] = 1 }
        }
        #expect(throws: ModelError.invalidField(type: "Event", field: "reserved byte 63", value: 7)) {
            try decode { $0[63] = 7 }
        }
        #expect(throws: ModelError.invalidField(type: "Trade", field: "quantity", value: -1)) {
            try decode { bytes in for index in 32..<40 { bytes[index] = 0xFF } }
        }
        // A price beyond 2^62 − 1 ticks (the sum of two would overflow).
        #expect(throws: ModelError.invalidField(type: "Trade", field: "price", value: (1 << 62) + 5)) {
            try decode { $0[31] = 0x40 }
        }
        #expect(try decode { _ in } == event)
    }

    @Test func randomBytesNeverTrapAndDecodeOnlyToCanonicalEvents() async {
        await propertyCheck(count: 20_000, input: Gen.uint8(in: 0...255).array(of: 64)) { bytes in
            var bytes = bytes
            bytes[1] = Event.wireVersion  // give the decoder a fair chance to get past the version byte
            if let event = bytes.withUnsafeBytes({ try? Event(decoding: $0) }) {
                var again = [UInt8](repeating: 0, count: 64)
                again.withUnsafeMutableBytes { try? event.encode(into: $0) }
                #expect(again == bytes)
            }
        }
    }

    /// Level updates, trades, quotes and clear-book events of the current version are decoded
    /// word by word (`decodeMarketData`): it must accept exactly the frames the general decoder
    /// accepts for them, and give the same events. Frames are mostly zero with random bytes
    /// (reserved bytes set, sides 0-255, negative quantities) so both sides of every check occur.
    /// The same for one message's level updates (`levelUpdate(in:instrument:timestamp:…)`).
    @Test func theMarketDataFastPathAgreesWithTheGeneralDecoder() {
        // A small generator of its own (SplitMix64): 200,000 frames in a plain loop.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var fast = 0
        var levels = 0
        var bytes = [UInt8](repeating: 0, count: 64)
        for _ in 0..<200_000 {
            // One frame in four all zero but its head; the others with a random byte in every
            // 64th, 16th or 4th place.
            let density = [0, 64, 16, 4][Int(next() % 4)] as UInt64
            for index in 0..<64 {
                bytes[index] = density != 0 && next() % density == 0 ? UInt8(truncatingIfNeeded: next()) : 0
            }
            bytes[0] = [1, 2, 3, 7, 4, 5][Int(next() % 6)]
            bytes[1] = next() % 10 == 0 ? 4 : Event.wireVersion
            if next() % 4 != 0 { bytes[2] = 0 }
            if next() % 4 != 0 { bytes[3] = 0 }
            bytes.withUnsafeBytes { frame in
                let general = try? Event.decodeAnyKind(frame)
                if let quick = Event.decodeMarketData(frame) {
                    fast += 1
                    #expect(quick == general, "\(bytes)")
                } else if general != nil, [1, 2, 3, 7].contains(bytes[0]), bytes[1] == Event.wireVersion {
                    Issue.record("the fast path refused a valid frame: \(bytes)")
                }
                #expect((try? Event(decoding: frame)) == general, "\(bytes)")
                // One message's level update (`levelUpdate(in:…)`): the general decoder's at the
                // frame's own instrument and times, nothing at another or for any other event.
                let instrument = Wire.load(frame, 4, as: UInt32.self)
                let timestamp = Wire.load(frame, 8, as: UInt64.self)
                let exchangeTimestamp = Wire.load(frame, 16, as: UInt64.self)
                let update = Event.levelUpdate(
                    in: frame, instrument: instrument, timestamp: timestamp, exchangeTimestamp: exchangeTimestamp)
                if let general, case .levelUpdate(let expected) = general.payload, bytes[1] == Event.wireVersion {
                    levels += 1
                    #expect(update == expected, "\(bytes)")
                    for other in [
                        (instrument &+ 1, timestamp, exchangeTimestamp),
                        (instrument, timestamp &+ 1, exchangeTimestamp),
                        (instrument, timestamp, exchangeTimestamp &- 1),
                    ] {
                        #expect(
                            Event.levelUpdate(
                                in: frame, instrument: other.0, timestamp: other.1, exchangeTimestamp: other.2)
                                == nil, "\(bytes)")
                    }
                } else {
                    #expect(update == nil, "\(bytes)")
                }
            }
        }
        // The frames reach the fast paths often enough to mean something.
        #expect(fast > 40_000)
        #expect(levels > 10_000)
    }

    @Test func encodingIntoAShortBufferIsAnError() {
        let event = Event(
            timestamp: 0, instrument: InstrumentID(0), payload: .timer(TimerFire(timerID: 1, deadline: 2)))
        var bytes = [UInt8](repeating: 0, count: 63)
        #expect(throws: ModelError.truncated(type: "Event", needed: 64, available: 63)) {
            try bytes.withUnsafeMutableBytes { try event.encode(into: $0) }
        }
    }
}
