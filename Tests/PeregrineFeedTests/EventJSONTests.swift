import Foundation
import PeregrineCodec
import PeregrineFeed
import PeregrineJournal
import PeregrineModel
import PeregrineTestSupport
import PropertyBased
import Testing

@Suite("JSON form of events")
struct EventJSONTests {
    static func lines(of events: [Event]) -> [UInt8] {
        var output: [UInt8] = []
        var writer = JSONLinesWriter(flushThreshold: 1 << 20) { output += $0 }
        for event in events { EventJSON.write(event, to: &writer) }
        writer.finish()
        return output
    }

    static func decode(_ line: String, timestamp: UInt64 = 0) throws(FeedError) -> Event {
        var decoder = EventJSONDecoder()
        var bytes = Array(line.utf8)
        return try bytes.withUnsafeMutableBufferPointer { (buffer) throws(FeedError) -> Event in
            try decoder.decode(UnsafeBufferPointer(buffer), timestamp: timestamp)
        }
    }

    static func error(_ line: String) -> String? {
        do {
            _ = try decode(line)
            return nil
        } catch {
            return error.message
        }
    }

    /// Every event kind over the whole range of its fields: written, then read back equal
    /// (the timestamp is the reader's; a transaction's instrument is the event's).
    @Test func everyEventRoundTrips() async {
        await propertyCheck(count: 5_000, input: EventGen.event) { generated in
            var event = generated
            if case .transaction(var transaction) = event.payload {
                transaction.instrument = event.instrument
                event.payload = .transaction(transaction)
            }
            var text = Self.lines(of: [event])
            #expect(text.last == UInt8(ascii: "\n"))
            text.removeLast()
            var decoder = EventJSONDecoder()
            let decoded = text.withUnsafeBufferPointer { try? decoder.decode($0, timestamp: event.timestamp) }
            #expect(decoded == event, "\(String(decoding: text, as: UTF8.self))")
        }
    }

    @Test func writtenLinesAreTheDocumentedShape() {
        let order = OrderCommand.limit(
            OrderID(5), account: AccountID(2), .sell, price: Price(ticks: 101), quantity: Quantity(lots: 4))
        let text = String(
            decoding: Self.lines(of: [
                Event(
                    timestamp: 9, exchangeTimestamp: 7, instrument: InstrumentID(1),
                    payload: .levelUpdate(
                        LevelUpdate(side: .buy, price: Price(ticks: 2_037_700), quantity: Quantity(lots: 15)))),
                Event(timestamp: 9, instrument: InstrumentID(1), payload: .order(order)),
                Event(timestamp: 9, exchangeTimestamp: 8, instrument: InstrumentID(1), payload: .clearBook),
                Event(
                    timestamp: 9, instrument: InstrumentID(0),
                    payload: .recordChunk(([0x02, 0xF8, 0xB1] as [UInt8]).withUnsafeBytes { RecordChunk($0) })),
                Event(
                    timestamp: 9, instrument: InstrumentID(0),
                    payload: .recordEnd(RecordEnd(type: .signedTransaction, length: 3, checksum: 3_735_928_559))),
                Event(
                    timestamp: 9, instrument: InstrumentID(0),
                    payload: .chainHead(ChainHead(blockNumber: 12_775_689, baseFeeWei: 30_000_000_000))),
            ]), as: UTF8.self)
        #expect(
            text == """
                {"type":"level","instrument":1,"exchange_ts":7,"side":"buy","price":2037700,"quantity":15}
                {"type":"order","instrument":1,"exchange_ts":0,"action":"new","order_id":5,"account":2,"side":"sell",\
                "order_type":"limit","tif":"GTC","price":101,"stop_price":0,"quantity":4}
                {"type":"clear","instrument":1,"exchange_ts":8}
                {"type":"chunk","instrument":0,"exchange_ts":0,"bytes":"0x02f8b1\(String(repeating: "00", count: 33))"}
                {"type":"record","instrument":0,"exchange_ts":0,"record":"signed-transaction","length":3,"crc32c":3735928559}
                {"type":"chain_head","instrument":0,"exchange_ts":0,"block":12775689,"base_fee_wei":30000000000}

                """)
    }

    /// What a person types: spaces, fields in any order, optional fields left out.
    @Test func handWrittenLinesDecode() throws {
        #expect(
            try Self.decode(
                #"{ "instrument": 3, "type": "trade", "price": -25, "quantity": 2, "aggressor": "sell", "trade_id": 18446744073709551615 }"#,
                timestamp: 77)
                == Event(
                    timestamp: 77, instrument: InstrumentID(3),
                    payload: .trade(
                        Trade(price: Price(ticks: -25), quantity: Quantity(lots: 2), aggressor: .sell, tradeID: .max))))
        #expect(
            try Self.decode(#"{"type":"order","instrument":1,"action":"cancel","order_id":5,"account":2}"#)
                == Event(
                    timestamp: 0, instrument: InstrumentID(1),
                    payload: .order(.cancel(OrderID(5), account: AccountID(2)))))
        #expect(
            try Self.decode(
                #"{"type":"transaction","instrument":4,"exchange_ts":12,"id":42,"side":"buy","price":100,"quantity":1}"#
            )
                == Event(
                    timestamp: 0, exchangeTimestamp: 12, instrument: InstrumentID(4),
                    payload: .transaction(
                        Transaction(
                            id: 42, instrument: InstrumentID(4), side: .buy, price: Price(ticks: 100),
                            quantity: Quantity(lots: 1),
                            origin: .observed))))
        #expect(
            try Self.decode(
                #"{"type":"order","instrument":1,"action":"new","order_id":6,"account":2,"side":"buy","order_type":"stop-limit","tif":"post-only","price":99,"stop_price":98,"quantity":3}"#
            )
                == Event(
                    timestamp: 0, instrument: InstrumentID(1),
                    payload: .order(
                        OrderCommand(
                            action: .new, orderID: OrderID(6), account: AccountID(2), side: .buy, type: .stopLimit,
                            timeInForce: .postOnly, price: Price(ticks: 99), stopPrice: Price(ticks: 98),
                            quantity: Quantity(lots: 3)))))
    }

    @Test func badLinesAreRefusedWithWhatToFix() {
        #expect(
            Self.error(#"{"instrument":1,"price":1}"#)
                == #"missing "type" (level, trade, quote, transaction, timer, order, clear, chunk, record, chain_head or admin)"#
        )
        #expect(
            Self.error(#"{"type":"lvl","instrument":1}"#)
                == #"unknown "type" "lvl" (use level, trade, quote, transaction, timer, order, clear, chunk, record, chain_head or admin)"#
        )
        #expect(
            Self.error(#"{"type":"clear","instrument":1,"side":"buy"}"#)
                == #"unknown key(s) "side"; this type takes type, instrument, exchange_ts"#)
        #expect(Self.error(#"{"type":"level","side":"buy","price":1,"quantity":1}"#) == #"missing "instrument""#)
        #expect(
            Self.error(#"{"type":"chunk","instrument":0,"bytes":"0x0g"}"#)
                == #""bytes" is 0x0g: use 0x and an even count of at most 72 hex digits"#)
        #expect(
            Self.error(#"{"type":"chunk","instrument":0,"bytes":"0x\#(String(repeating: "00", count: 37))"}"#)
                == #""bytes" is 0x\#(String(repeating: "00", count: 37)): use 0x and an even count of at most 72 hex digits"#
        )
        #expect(
            Self.error(#"{"type":"record","instrument":0,"record":"block","length":1,"crc32c":0}"#)
                == #""record" is block: use signed-transaction, traced-transaction, pool, execution-report, venue-hello"#
        )
        #expect(
            Self.error(#"{"type":"level","instrument":4294967296,"side":"buy","price":1,"quantity":1}"#)
                == #""instrument" is 4294967296: use a whole number from 0 to 4294967295"#)
        #expect(
            Self.error(#"{"type":"level","instrument":1,"side":"bid","price":1,"quantity":1}"#)
                == #""side" is bid: use buy, sell"#)
        #expect(
            Self.error(#"{"type":"level","instrument":1,"side":"buy","price":1.5,"quantity":1}"#)
                == #""price" is 1.5: use a whole number of ticks (a 64-bit integer)"#)
        #expect(
            Self.error(#"{"type":"level","instrument":1,"side":"buy","price":"1","quantity":1}"#)
                == #""price" must be a number"#)
        #expect(
            Self.error(#"{"type":"level","instrument":1,"side":"buy","price":1,"quantity":-1}"#)
                == #""quantity" is -1: quantities are not negative"#)
        #expect(
            Self.error(#"{"type":"level","instrument":1,"side":"buy","price":1,"qty":1}"#)
                == #"unknown key(s) "qty"; this type takes type, instrument, exchange_ts, side, price, quantity"#)
        #expect(
            Self.error(#"{"type":"timer","instrument":0,"timer_id":0,"deadline":99999999999999999999}"#)
                == #""deadline" is 99999999999999999999: use a whole number from 0 to 18446744073709551615"#)
        #expect(Self.error(#"{"type":"level","instrument":1"#) == "unterminated object at column 31")
        // A market data price beyond 2^62 − 1 ticks either side (the sum of two would overflow).
        #expect(
            Self.error(
                #"{"type":"quote","instrument":1,"bid_price":1,"bid_quantity":1,"ask_price":4611686018427387904,"ask_quantity":1}"#
            )
                == #""ask_price" is 4611686018427387904: a price holds at most 2^62 − 1 ticks either side of zero"#)
        #expect(
            Self.error(
                #"{"type":"trade","instrument":1,"price":-4611686018427387904,"quantity":1,"aggressor":"buy","trade_id":1}"#
            )
                == #""price" is -4611686018427387904: a price holds at most 2^62 − 1 ticks either side of zero"#)
        #expect(
            (try? Self.decode(
                #"{"type":"level","instrument":1,"side":"buy","price":4611686018427387903,"quantity":1}"#)) != nil)
    }

    /// Fuzz: valid lines with bytes overwritten and cut short decode or throw `FeedError`,
    /// never trap; what decodes writes back to a line that decodes to the same event.
    @Test func corruptedLinesNeverTrap() async {
        var market = SyntheticEvents()
        let valid = (0..<32).map { _ in
            var text = Self.lines(of: [market.next()])
            text.removeLast()
            return text
        }
        await propertyCheck(
            count: 20_000, input: Gen.int(in: 0...31), Gen.int(in: 0...200).array(of: 1...4),
            Gen.uint8(in: 0...255), Gen.int(in: 0...200)
        ) { which, positions, byte, length in
            var bytes = valid[which]
            for position in positions where position < bytes.count { bytes[position] = byte }
            bytes = Array(bytes.prefix(length))
            var decoder = EventJSONDecoder()
            let decoded = bytes.withUnsafeBufferPointer { try? decoder.decode($0, timestamp: 1) }
            if let decoded {
                var again = Self.lines(of: [decoded])
                again.removeLast()
                let redecoded = again.withUnsafeBufferPointer { try? decoder.decode($0, timestamp: 1) }
                #expect(redecoded == decoded)
            }
        }
    }
}

/// A few events of every kind, different each call.
struct SyntheticEvents {
    var counter: UInt64 = 0

    mutating func next() -> Event {
        counter += 1
        let price = Price(ticks: Int64(counter) * 1_003 - 50_000)
        let quantity = Quantity(lots: Int64(counter % 17))
        let side: Side = counter % 2 == 0 ? .buy : .sell
        let payload: EventPayload
        switch counter % 6 {
        case 0: payload = .levelUpdate(LevelUpdate(side: side, price: price, quantity: quantity))
        case 1: payload = .trade(Trade(price: price, quantity: quantity, aggressor: side, tradeID: counter))
        case 2: payload = .quote(Quote(bidPrice: price, bidQuantity: quantity, askPrice: price, askQuantity: quantity))
        case 3:
            payload = .transaction(
                Transaction(
                    id: counter, instrument: InstrumentID(UInt32(counter % 4)), side: side, price: price,
                    quantity: quantity,
                    origin: .observed, priorityFee: 7))
        case 4: payload = .timer(TimerFire(timerID: counter, deadline: counter * 1_000))
        default:
            payload = .order(
                .stopLimit(
                    OrderID(counter), account: AccountID(3), side, stopPrice: price, price: price, quantity: quantity))
        }
        return Event(
            timestamp: 0, exchangeTimestamp: counter, instrument: InstrumentID(UInt32(counter % 4)), payload: payload)
    }
}

/// `peregrine journal inspect --json` prints a run's journal in the JSON input form.
struct JournalInspectJSONTests {
    @Test func aJournalPrintsAsJSONLinesThatDecodeToItsEvents() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("inspect-json-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let run = try PeregrineCLI.run([
            "run", "--rate", "20000", "--duration", "1", "--journal", directory, "--order-flow", "30",
            "--metrics-port", "0",
        ])
        #expect(run.status == 0, "\(run.error)")
        var journaled: [Event] = []
        _ = try JournalReader.read(directory: directory) { _, event in
            journaled.append(event)
            return journaled.count < 2_000
        }
        #expect(journaled.count == 2_000)
        let inspect = try PeregrineCLI.run(["journal", "inspect", directory, "--json", "--limit", "2000"])
        #expect(inspect.status == 0, "\(inspect.error)")
        var decoder = EventJSONDecoder()
        var decoded: [Event] = []
        for line in inspect.output.split(separator: "\n") {
            var bytes = Array(line.utf8)
            let event = try bytes.withUnsafeMutableBufferPointer { (buffer) throws(FeedError) -> Event in
                try decoder.decode(UnsafeBufferPointer(buffer), timestamp: 0)
            }
            decoded.append(event)
        }
        #expect(
            decoded
                == journaled.map { event in
                    var event = event
                    event.timestamp = 0
                    return event
                })
        // Order commands are among them, not only market data.
        #expect(decoded.contains { $0.payload.kind == .order })
    }

    static func report(_ line: String) throws(FeedError) -> ExecutionReport {
        var decoder = EventJSONDecoder()
        let bytes = Array(line.utf8)
        return try bytes.withUnsafeBufferPointer { (buffer) throws(FeedError) in try decoder.decodeReport(buffer) }
    }

    @Test func aGatewaysReportLineDecodesToTheReportItsBytesCarry() throws {
        let full = try Self.report(
            #"{"type":"report","instrument":3,"kind":"partially-filled","order_id":4611686018427387905,"side":"sell","price":995,"quantity":5,"leaves":3,"trade_id":12,"aggressor":true,"account":1001,"contra_order_id":6,"contra_account":7}"#
        )
        #expect(
            full
                == ExecutionReport(
                    kind: .partiallyFilled, instrument: InstrumentID(3), orderID: OrderID(4_611_686_018_427_387_905),
                    account: AccountID(1001), side: .sell, price: Price(ticks: 995), quantity: Quantity(lots: 5),
                    leavesQuantity: Quantity(lots: 3), tradeID: 12, contraOrderID: OrderID(6),
                    contraAccount: AccountID(7), isAggressor: true))
        let status = try Self.report(
            #"{"type":"report","instrument":0,"kind":"status","reason":"unknown-order-id","order_id":9,"side":"buy","price":0,"quantity":0,"leaves":0}"#
        )
        #expect(
            status.kind == .status && status.reason == .unknownOrderID && !status.isAggressor && status.tradeID == 0)
        func error(_ line: String) -> String {
            do {
                _ = try Self.report(line)
                return "decoded"
            } catch { return error.message }
        }
        #expect(error(#"{"type":"order","instrument":0}"#) == #"not a report: "type" must be "report""#)
        #expect(
            error(
                #"{"type":"report","instrument":0,"kind":"done","order_id":1,"side":"buy","price":1,"quantity":1,"leaves":0}"#
            )
            .hasPrefix(#""kind" is done: use accepted, rejected"#))
        #expect(
            error(
                #"{"type":"report","instrument":0,"kind":"filled","order_id":1,"side":"buy","price":1,"quantity":1,"leaves":0,"reason":"lost"}"#
            )
            .hasPrefix(#""reason" is lost: use none, requested"#))
        #expect(
            error(
                #"{"type":"report","instrument":0,"kind":"filled","order_id":1,"side":"buy","price":1,"quantity":-1,"leaves":0}"#
            )
                == #""quantity" is -1: quantities are not negative"#)
        #expect(
            error(#"{"type":"report","instrument":0,"kind":"filled","order_id":1,"side":"buy","price":1,"quantity":1}"#)
                == #"missing "leaves""#)
        #expect(
            error(
                #"{"type":"report","instrument":0,"kind":"filled","order_id":1,"side":"buy","price":1,"quantity":1,"leaves":0,"aggressor":1}"#
            )
                == #""aggressor" must be true or false"#)
    }
}
