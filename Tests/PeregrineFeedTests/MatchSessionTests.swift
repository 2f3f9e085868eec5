import PeregrineBook
import PeregrineCodec
import PeregrineFeed
import PeregrineModel
import PeregrineVenue
import Testing

/// `peregrine match` through its JSON-lines interface: every order type, replace rule and
/// reject of the matching engine, with the exact output lines.
@Suite("peregrine match (JSON lines)")
struct MatchSessionTests {
    /// Runs `lines` and returns the output lines and the malformed-line errors.
    func run(_ lines: [String], options: MatchSession.Options = MatchSession.Options()) -> ([String], [FeedError]) {
        var collected: [UInt8] = []
        var output = JSONLinesWriter(flushThreshold: 1) { collected += $0 }
        var session = MatchSession(options: options)
        var errors: [FeedError] = []
        for (index, line) in lines.enumerated() {
            var bytes = Array(line.utf8)
            bytes.withUnsafeMutableBufferPointer { buffer in
                do throws(FeedError) {
                    try session.process(line: UnsafeBufferPointer(buffer), number: index + 1, output: &output)
                } catch {
                    errors.append(error)
                }
            }
        }
        session.finish(output: &output)
        let text = String(decoding: collected, as: UTF8.self)
        return (text.split(separator: "\n").map(String.init), errors)
    }

    func new(_ id: Int, _ side: String, _ qty: Int, at price: Int? = nil, _ extra: String = "", account: Int = 1)
        -> String
    {
        let priceField = price.map { ",\"price\":\($0)" } ?? ""
        return
            "{\"op\":\"new\",\"id\":\(id),\"side\":\"\(side)\",\"qty\":\(qty)\(priceField),\"account\":\(account)\(extra)}"
    }

    func accepted(_ id: Int, _ side: String, _ price: Int, _ qty: Int) -> String {
        "{\"type\":\"accepted\",\"id\":\(id),\"side\":\"\(side)\",\"price\":\(price),\"qty\":\(qty)}"
    }

    func fill(_ taker: Int, _ maker: Int, _ price: Int, _ qty: Int, left: Int, trade: Int) -> String {
        "{\"type\":\"fill\",\"taker\":\(taker),\"maker\":\(maker),\"price\":\(price),\"qty\":\(qty),\"taker_remaining\":\(left),\"trade\":\(trade)}"
    }

    func cancel(_ id: Int, _ remaining: Int, _ reason: String) -> String {
        "{\"type\":\"cancel\",\"id\":\(id),\"remaining\":\(remaining),\"reason\":\"\(reason)\"}"
    }

    func reject(_ id: Int, _ reason: String) -> String { "{\"type\":\"reject\",\"id\":\(id),\"reason\":\"\(reason)\"}" }

    @Test func priceTimePriorityAndPartialFillsAcrossLevels() {
        let (lines, errors) = run([
            new(1, "sell", 5, at: 100), new(2, "sell", 5, at: 100), new(3, "sell", 5, at: 101),
            new(10, "buy", 12, at: 101, account: 2),
        ])
        #expect(errors.isEmpty)
        #expect(
            lines == [
                accepted(1, "sell", 100, 5), accepted(2, "sell", 100, 5), accepted(3, "sell", 101, 5),
                accepted(10, "buy", 101, 12), fill(10, 1, 100, 5, left: 7, trade: 1),
                fill(10, 2, 100, 5, left: 2, trade: 2),
                fill(10, 3, 101, 2, left: 0, trade: 3),
                "{\"type\":\"book\",\"bids\":[],\"asks\":[[101,3,1]],\"resting\":{\"3\":3}}",
            ])
    }

    @Test func marketIOCFOKAndPostOnly() {
        let (lines, _) = run([
            new(1, "sell", 5, at: 100),
            new(2, "buy", 8, "" + ",\"type\":\"market\"", account: 2),
            new(3, "sell", 4, at: 100),
            new(4, "buy", 9, at: 100, ",\"tif\":\"fok\"", account: 2),
            new(5, "buy", 6, at: 100, ",\"tif\":\"ioc\"", account: 2),
            new(6, "sell", 3, at: 105),
            new(7, "buy", 1, at: 105, ",\"post_only\":true", account: 2),
            new(8, "buy", 1, at: 104, ",\"post_only\":true", account: 2),
        ])
        #expect(
            lines == [
                accepted(1, "sell", 100, 5), accepted(2, "buy", 0, 8), fill(2, 1, 100, 5, left: 3, trade: 1),
                cancel(2, 3, "unfilled-remainder"), accepted(3, "sell", 100, 4), accepted(4, "buy", 100, 9),
                cancel(4, 9, "fill-or-kill"), accepted(5, "buy", 100, 6), fill(5, 3, 100, 4, left: 2, trade: 2),
                cancel(5, 2, "unfilled-remainder"), accepted(6, "sell", 105, 3), reject(7, "post-only-would-take"),
                accepted(8, "buy", 104, 1),
                "{\"type\":\"book\",\"bids\":[[104,1,1]],\"asks\":[[105,3,1]],\"resting\":{\"8\":1,\"6\":3}}",
            ])
    }

    @Test func stopsTriggerAndRest() {
        let (lines, _) = run([
            new(1, "sell", 1, at: 100), new(2, "sell", 5, at: 102),
            "{\"op\":\"new\",\"id\":20,\"side\":\"buy\",\"type\":\"stop_limit\",\"stop_price\":100,\"price\":101,\"qty\":3,\"account\":3}",
            "{\"op\":\"new\",\"id\":21,\"side\":\"buy\",\"type\":\"stop_market\",\"stop_price\":100,\"qty\":2,\"account\":3}",
            new(10, "buy", 1, at: 100, account: 2),
        ])
        #expect(
            Array(lines.suffix(6)) == [
                accepted(10, "buy", 100, 1), fill(10, 1, 100, 1, left: 0, trade: 1),
                "{\"type\":\"triggered\",\"id\":20,\"price\":100}", "{\"type\":\"triggered\",\"id\":21,\"price\":100}",
                fill(21, 2, 102, 2, left: 0, trade: 2),
                "{\"type\":\"book\",\"bids\":[[101,3,1]],\"asks\":[[102,3,1]],\"resting\":{\"20\":3,\"2\":3}}",
            ])
    }

    @Test func replaceRules() {
        let (lines, _) = run([
            new(1, "buy", 5, at: 99), new(2, "buy", 5, at: 99),
            "{\"op\":\"replace\",\"id\":1,\"price\":99,\"qty\":3,\"account\":1}",
            "{\"op\":\"replace\",\"id\":2,\"price\":99,\"qty\":9,\"account\":1}",
            "{\"op\":\"replace\",\"id\":1,\"price\":99,\"qty\":0,\"account\":1}",
        ])
        #expect(
            Array(lines.dropFirst(2)) == [
                "{\"type\":\"replaced\",\"id\":1,\"price\":99,\"qty\":3,\"remaining\":3}",
                "{\"type\":\"replaced\",\"id\":2,\"price\":99,\"qty\":9,\"remaining\":9}",
                cancel(1, 3, "replaced-below-filled"),
                "{\"type\":\"book\",\"bids\":[[99,9,1]],\"asks\":[],\"resting\":{\"2\":9}}",
            ])
    }

    @Test func selfTradePreventionAndRejects() {
        let (lines, _) = run([
            new(1, "sell", 5, at: 100), new(2, "buy", 5, at: 100, account: 1), new(1, "sell", 1, at: 101),
            new(3, "sell", 0, at: 101), "{\"op\":\"cancel\",\"id\":77,\"account\":1}",
            "{\"op\":\"cancel\",\"id\":1,\"account\":9}", new(4, "sell", 1, at: 0),
        ])
        #expect(
            Array(lines.dropFirst()) == [
                accepted(2, "buy", 100, 5), cancel(2, 5, "self-trade-prevention"), reject(1, "duplicate-order-id"),
                reject(3, "invalid-quantity"), reject(77, "unknown-order-id"), reject(1, "not-order-owner"),
                reject(4, "price-out-of-range"),
                "{\"type\":\"book\",\"bids\":[],\"asks\":[[100,5,1]],\"resting\":{\"1\":5}}",
            ])
    }

    @Test func theRemainingRejectsThroughJSON() {
        var options = MatchSession.Options()
        options.orderCapacity = 3
        let (lines, _) = run(
            [
                new(1, "sell", 1, at: 100), new(2, "buy", 1, at: 100, account: 2),  // trade at 100
                "{\"op\":\"new\",\"id\":3,\"side\":\"buy\",\"type\":\"stop_market\",\"stop_price\":100,\"qty\":1}",
                "{\"op\":\"new\",\"id\":4,\"side\":\"buy\",\"type\":\"stop_market\",\"stop_price\":101,\"qty\":1}",
                "{\"op\":\"replace\",\"id\":4,\"price\":102,\"qty\":1,\"account\":0}",
                "{\"op\":\"new\",\"id\":5,\"side\":\"buy\",\"type\":\"market\",\"post_only\":true,\"qty\":1}",
                new(6, "buy", 1, at: 90), new(7, "buy", 1, at: 91), new(8, "buy", 1, at: 92),
            ], options: options)
        #expect(lines.contains(reject(3, "stop-would-trigger-immediately")))
        #expect(lines.contains(reject(4, "not-replaceable")))
        #expect(lines.contains(reject(5, "unsupported-order")))
        #expect(lines.contains(reject(8, "order-pool-full")))
        #expect(
            lines.last
                == "{\"type\":\"book\",\"bids\":[[91,1,1],[90,1,1]],\"asks\":[],\"resting\":{\"7\":1,\"6\":1},\"stops\":{\"4\":1}}"
        )
    }

    @Test func venueRulesThroughJSON() {
        var options = MatchSession.Options()
        options.priceCollarBasisPoints = 100
        options.stopInMarket = .trigger
        options.maxLevelsPerSide = 3
        let (lines, _) = run(
            [
                new(1, "sell", 2, at: 10_000), new(2, "buy", 1, at: 10_000, account: 2),  // trade at 10,000
                new(3, "sell", 1, at: 10_101),  // 1.01% away: outside the 1% collar
                "{\"op\":\"new\",\"id\":4,\"side\":\"buy\",\"type\":\"stop_market\",\"stop_price\":9999,\"qty\":1,\"account\":3}",
                new(5, "buy", 1, at: 9_950), new(6, "buy", 1, at: 9_960), new(7, "buy", 1, at: 9_970),
                new(8, "buy", 1, at: 9_980),  // a fourth bid level
            ], options: options)
        #expect(lines.contains(reject(3, "outside-price-collar")))
        #expect(lines.contains { $0.hasPrefix("{\"type\":\"triggered\",\"id\":4") })
        #expect(lines.contains(reject(8, "level-ceiling")))
        #expect(
            lines.last?.hasPrefix("{\"type\":\"book\",\"bids\":[[9970,1,1],[9960,1,1],[9950,1,1]],\"asks\":[]") == true)
    }

    @Test func decimalsOnATickGrid() throws {
        let options = MatchSession.Options(tickSize: try Increment("0.01"), lotSize: try Increment("0.001"))
        let (lines, errors) = run(
            [
                "{\"op\":\"new\",\"id\":1,\"side\":\"sell\",\"price\":\"20377.00\",\"qty\":\"0.5\"}",
                "{\"op\":\"new\",\"id\":2,\"side\":\"buy\",\"price\":20377.01,\"qty\":\"0.125\",\"account\":2}",
                "{\"op\":\"new\",\"id\":3,\"side\":\"buy\",\"price\":\"20377.001\",\"qty\":\"1\"}",
            ], options: options)
        #expect(
            lines[2]
                == "{\"type\":\"fill\",\"taker\":2,\"maker\":1,\"price\":\"20377.00\",\"qty\":\"0.125\",\"taker_remaining\":\"0.000\",\"trade\":1}"
        )
        #expect(
            lines.last
                == "{\"type\":\"book\",\"bids\":[],\"asks\":[[\"20377.00\",\"0.375\",1]],\"resting\":{\"1\":\"0.375\"}}"
        )
        #expect(errors.count == 1 && errors[0].line == 3)
        #expect(errors[0].message.contains("20377.001"))
    }

    @Test func malformedLinesAreReportedWithTheirNumberAndSkipped() {
        let (lines, errors) = run([
            new(1, "sell", 5, at: 100),
            "{\"op\":\"new\",\"id\":2,\"side\":\"buy\"",  // truncated
            "{\"op\":\"new\",\"id\":\"x\",\"side\":\"buy\",\"qty\":1,\"price\":1}",  // wrong type
            "{\"op\":\"amend\",\"id\":3}",  // unknown op
            "{\"op\":\"new\",\"id\":4,\"side\":\"buy\",\"qty\":-2,\"price\":100}",  // negative size
            "{\"op\":\"new\",\"id\":5,\"side\":\"buy\",\"qty\":1,\"price\":100.5}",  // decimals without a tick size
            "{\"op\":\"new\",\"id\":6,\"side\":\"buy\",\"qty\":1,\"price\":100,\"colour\":\"red\"}",  // unknown field
            "{\"op\":\"new\",\"id\":18446744073709551616,\"side\":\"buy\",\"qty\":1,\"price\":100}",  // 2^64
            "",
            new(7, "buy", 1, at: 100, account: 2),
        ])
        #expect(errors.map(\.line) == [2, 3, 4, 5, 6, 7, 8])
        #expect(errors[0].message.hasPrefix("unterminated object"))
        // Each value refused is quoted as given.
        #expect(errors[1].message == "\"id\" must be a non-negative integer, not 'x'")
        #expect(errors[2].message.hasPrefix("unknown op 'amend'"))
        #expect(errors[3].message == "\"qty\" must not be negative: '-2'")
        #expect(
            errors[4].message
                == "\"price\" must be an integer number of ticks from -2^63 to 2^63-1, not '100.5' (or give --tick-size for decimals)"
        )
        #expect(errors[5].message == "unknown field 'colour'")
        #expect(
            errors[6].message.hasPrefix("\"id\" is too large: '18446744073709551616' (at most "), "\(errors[6].message)"
        )
        #expect(lines.contains(fill(7, 1, 100, 1, left: 0, trade: 1)))
    }
}
