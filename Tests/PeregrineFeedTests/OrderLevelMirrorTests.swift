import Foundation
import PeregrineBook
import PeregrineCodec
import PeregrineCore
import PeregrineFeed
import PeregrineModel
import Testing

/// The order-level mirror on a file shaped like a real BTC/USD order-by-order feed, checked after
/// every message against a plain reference (a dictionary of orders, sorted arrays of level
/// prices), exactly: best bid and ask with sizes, level and order counts, top-10 notionals.
@Suite("Order-level mirror against a reference")
struct OrderLevelMirrorTests {
    /// Ticks and lots are 1e-8 (prices like 60940.35136398 beside 60945).
    static let unit: Int64 = 100_000_000

    /// A price in ticks as the feed writes it: an integer when it is whole, else 8 decimals.
    static func text(_ ticks: Int64) -> String {
        let whole = ticks / unit
        let fraction = ticks % unit
        if fraction == 0 { return "\(whole)" }
        let digits = String(fraction)
        return "\(whole)." + String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// The reference: orders by id; per side, level totals and a sorted array of level prices.
    struct Reference {
        var orders: [UInt64: (bid: Bool, price: Int64, lots: Int64)] = [:]
        var levels: [[Int64: (lots: Int64, orders: Int)]] = [[:], [:]]
        var sorted: [[Int64]] = [[], []]  // ascending

        mutating func add(_ id: UInt64, bid: Bool, price: Int64, lots: Int64) {
            if let old = orders[id] { remove(id, old) }
            orders[id] = (bid, price, lots)
            let side = bid ? 0 : 1
            if let level = levels[side][price] {
                levels[side][price] = (level.lots + lots, level.orders + 1)
            } else {
                levels[side][price] = (lots, 1)
                let position = sorted[side].firstIndex { $0 > price } ?? sorted[side].count
                sorted[side].insert(price, at: position)
            }
        }

        mutating func delete(_ id: UInt64) {
            guard let old = orders[id] else { return }
            remove(id, old)
        }

        private mutating func remove(_ id: UInt64, _ old: (bid: Bool, price: Int64, lots: Int64)) {
            orders[id] = nil
            let side = old.bid ? 0 : 1
            guard let level = levels[side][old.price] else { return }
            if level.orders == 1 {
                levels[side][old.price] = nil
                sorted[side].removeAll { $0 == old.price }
            } else {
                levels[side][old.price] = (level.lots - old.lots, level.orders - 1)
            }
        }

        /// Best first.
        func top(_ bid: Bool, _ count: Int) -> [(price: Int64, lots: Int64)] {
            let side = bid ? 0 : 1
            let prices = bid ? Array(sorted[0].suffix(count).reversed()) : Array(sorted[1].prefix(count))
            return prices.map { ($0, levels[side][$0]?.lots ?? -1) }
        }

        func notional(_ bid: Bool) -> Int128 {
            top(bid, 10).reduce(Int128(0)) { $0 + Int128($1.price) * Int128($1.lots) }
        }
    }

    /// Random adds, updates and deletes near a touch that walks ±5% around 60,000, on a 1e-8 grid
    /// with whole, cent and 8-decimal prices mixed, plus orders far from the touch that stay.
    static func feed(messages: Int, seed: UInt64) -> [String] {
        var random = SplitMix64(seed: seed)
        func roll(_ bound: Int64) -> Int64 { Int64(random.next(below: UInt64(bound))) }
        var mid: Int64 = 60_000 * unit
        var live: [UInt64] = []
        var liveSides: [UInt64: (bid: Bool, price: Int64)] = [:]
        var lines: [String] = []
        var nextID: UInt64 = 1_000_000_007
        while lines.count < messages {
            let sequence = lines.count + 1
            mid = min(63_000 * unit, max(57_000 * unit, mid + (roll(2_001) - 1_000) * 1_000_000))
            let choice = roll(100)
            if choice < 30, !live.isEmpty {
                let position = Int(roll(Int64(live.count)))
                let id = live[position]
                // Orders more than 2% from the mid are rarely touched: they stay for a long time.
                if let order = liveSides[id], abs(order.price - mid) <= mid / 50 || roll(20) == 0 {
                    if choice < 18 {
                        lines.append("{\"seq\":\(sequence),\"op\":\"delete\",\"order_id\":\(id)}")
                        live.swapAt(position, live.count - 1)
                        live.removeLast()
                        liveSides[id] = nil
                    } else {
                        let lots = 1 + roll(5 * unit)
                        lines.append(
                            "{\"seq\":\(sequence),\"op\":\"update\",\"order_id\":\(id),\"side\":\"\(order.bid ? "bid" : "ask")\",\"price\":\"\(text(order.price))\",\"size\":\"\(text(lots))\"}"
                        )
                    }
                    continue
                }
            }
            let bid = roll(2) == 0
            let far = roll(10) == 0
            let distance = far ? roll(mid / 20) : roll(40 * unit)  // up to 5% away, or within $40
            var price = bid ? mid - 1 - distance : mid + 1 + distance
            switch roll(3) {
            case 0: price = price / unit * unit  // a whole dollar
            case 1: price = price / 1_000_000 * 1_000_000  // a cent
            default: break  // 1e-8
            }
            let lots = 1 + roll(5 * unit)
            let id = nextID
            nextID += UInt64(1 + roll(3))
            lines.append(
                "{\"seq\":\(sequence),\"op\":\"add\",\"order_id\":\(id),\"side\":\"\(bid ? "bid" : "ask")\",\"price\":\"\(text(price))\",\"size\":\"\(text(lots))\"}"
            )
            live.append(id)
            liveSides[id] = (bid, price)
        }
        return lines
    }

    @Test func everyMessageMatchesTheReferenceExactly() throws {
        let lines = Self.feed(messages: 40_000, seed: 60_940)
        let file = NSTemporaryDirectory() + "peregrine-l3-\(UUID().uuidString).jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }

        let grids = try FeedReplay.detectScale(format: .l3JSONLines, paths: [file])
        let grid = try Increment("0.00000001")
        #expect(grids.price == grid && grids.size == grid)
        var replay = try FeedReplay(format: .l3JSONLines, priceIncrement: grids.price, sizeIncrement: grids.size)
        var checkpoints: [FeedCheckpoint] = []
        try replay.replay(path: file, checkpointEvery: 1) { checkpoints.append($0) }
        try #require(checkpoints.count == lines.count)

        // The reference reads the same lines with Foundation's JSON parser.
        var reference = Reference()
        var mismatches = 0
        var spans: (bid: Int64, ask: Int64) = (0, 0)
        for (index, line) in lines.enumerated() {
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "line \(index + 1)")
            let id = try #require((object["order_id"] as? NSNumber)?.uint64Value)
            if object["op"] as? String == "delete" {
                reference.delete(id)
            } else {
                let price = try Price(try #require(object["price"] as? String), tickSize: grids.price).ticks
                let lots = try Quantity(try #require(object["size"] as? String), lotSize: grids.size).lots
                reference.add(id, bid: object["side"] as? String == "bid", price: price, lots: lots)
            }
            let checkpoint = checkpoints[index]
            let bid = reference.top(true, 1).first
            let ask = reference.top(false, 1).first
            let same =
                checkpoint.bid?.price.ticks == bid?.price && checkpoint.bid?.quantity.lots == bid?.lots
                && checkpoint.ask?.price.ticks == ask?.price && checkpoint.ask?.quantity.lots == ask?.lots
                && checkpoint.bidLevels == reference.levels[0].count
                && checkpoint.askLevels == reference.levels[1].count
                && checkpoint.bidOrders == reference.levels[0].values.reduce(0) { $0 + $1.orders }
                && checkpoint.askOrders == reference.levels[1].values.reduce(0) { $0 + $1.orders }
                && checkpoint.bidNotional.ticksTimesLots == reference.notional(true)
                && checkpoint.askNotional.ticksTimesLots == reference.notional(false)
            if !same {
                mismatches += 1
                if mismatches <= 3 {
                    Issue.record("message \(index + 1): \(checkpoint) vs reference \(bid as Any) \(ask as Any)")
                }
            }
            if let low = reference.sorted[0].first, let high = reference.sorted[0].last {
                spans.bid = max(spans.bid, high - low)
            }
            if let low = reference.sorted[1].first, let high = reference.sorted[1].last {
                spans.ask = max(spans.ask, high - low)
            }
        }
        #expect(mismatches == 0)
        // The file exercises what it claims: both sides deep and wide (far orders held), mixed
        // whole and 8-decimal prices, no unknown orders.
        #expect(replay.statistics.unknownOrders == 0 && replay.statistics.gaps == 0)
        #expect(checkpoints.last.map { $0.bidLevels > 1_000 && $0.askLevels > 1_000 } == true)
        #expect(spans.bid > 2_000 * Self.unit && spans.ask > 2_000 * Self.unit)  // > $2,000 of book
        #expect(lines.contains { $0.range(of: #""price":"\d+""#, options: .regularExpression) != nil })
        #expect(lines.contains { $0.range(of: #""price":"\d+\.\d{8}""#, options: .regularExpression) != nil })
    }

    @Test func aNewLevelBeyondTheCeilingStopsTheReplayNamingTheLine() throws {
        let lines = (1...20).map {
            "{\"seq\":\($0),\"op\":\"add\",\"order_id\":\($0),\"side\":\"bid\",\"price\":\"\(100 + $0 % 6).5\",\"size\":\"1\"}"
        }
        let file = NSTemporaryDirectory() + "peregrine-l3-\(UUID().uuidString).jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        var replay = try FeedReplay(
            format: .l3JSONLines, priceIncrement: try Increment("0.1"), sizeIncrement: try Increment("1"),
            maxLevelsPerSide: 5)
        #expect(
            throws: FeedError(
                line: 6,
                "a new bid level at 100.5 would pass the mirror's ceiling of 5 levels a side (raise --max-levels-per-side)",
                file: file)
        ) { try replay.replay(path: file) }
        // Nothing of the refused line was applied.
        #expect(replay.currentCheckpoint.bidLevels == 5 && replay.currentCheckpoint.bidOrders == 5)
    }

    @Test func atTheCeilingAnOrderMayMoveOutOfALoneLevelButNotOutOfAShared() throws {
        // Two bid levels (100.5 with orders 1 and 3, 101.5 with order 2) under a ceiling of two.
        let lines = [
            "{\"seq\":1,\"op\":\"add\",\"order_id\":1,\"side\":\"bid\",\"price\":\"100.5\",\"size\":\"1\"}",
            "{\"seq\":2,\"op\":\"add\",\"order_id\":2,\"side\":\"bid\",\"price\":\"101.5\",\"size\":\"2\"}",
            "{\"seq\":3,\"op\":\"add\",\"order_id\":3,\"side\":\"bid\",\"price\":\"100.5\",\"size\":\"4\"}",
            // Order 2 is alone at 101.5: moving it to 102.5 frees its level.
            "{\"seq\":4,\"op\":\"update\",\"order_id\":2,\"side\":\"bid\",\"price\":\"102.5\",\"size\":\"3\"}",
            // Order 1 shares 100.5: moving it to 99.5 would make three levels.
            "{\"seq\":5,\"op\":\"update\",\"order_id\":1,\"side\":\"bid\",\"price\":\"99.5\",\"size\":\"1\"}",
        ]
        let file = NSTemporaryDirectory() + "peregrine-l3-\(UUID().uuidString).jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        var replay = try FeedReplay(
            format: .l3JSONLines, priceIncrement: try Increment("0.1"), sizeIncrement: try Increment("1"),
            maxLevelsPerSide: 2)
        #expect(throws: FeedError.self) { try replay.replay(path: file) }
        // Line 4 applied, line 5 refused with nothing changed.
        #expect(replay.depth(.buy, levels: 5).map(\.description) == ["1025x3", "1005x5"])
        #expect(replay.orderCount(.buy, at: Price(ticks: 1_005)) == 2 && replay.currentCheckpoint.bidOrders == 3)
    }
}
