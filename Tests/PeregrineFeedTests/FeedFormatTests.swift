import Foundation
import PeregrineBook
import PeregrineCore
import PeregrineFeed
import PeregrineModel
import Testing

/// The formats with no sample in Tests/Fixtures, on generated files checked against a plain
/// reference: Tardis incremental L2 and book snapshots, and order-level JSON lines.
@Suite("Market-data formats on generated files")
struct FeedFormatTests {
    func write(_ lines: [String]) throws -> String {
        let file = NSTemporaryDirectory() + "peregrine-format-\(UUID().uuidString)"
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func replay(_ format: FeedFormat, _ file: String, every: Int = 1) throws -> (
        [FeedCheckpoint], FeedStatistics, Increment
    ) {
        let scale = try FeedReplay.detectScale(format: format, path: file)
        var replay = try FeedReplay(format: format, priceIncrement: scale.price, sizeIncrement: scale.size)
        var checkpoints: [FeedCheckpoint] = []
        try replay.replay(path: file, checkpointEvery: every) { checkpoints.append($0) }
        return (checkpoints, replay.statistics, scale.price)
    }

    func decimal(_ price: Price?, _ grid: Increment) -> Decimal? {
        price.map { Decimal(string: $0.formatted(tickSize: grid))! }
    }

    @Test func tardisIncrementalL2GroupsRowsByLocalTimestamp() throws {
        var random = SplitMix64(seed: 4)
        var lines = ["exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"]
        var bids: [Decimal: Decimal] = [:]
        var asks: [Decimal: Decimal] = [:]
        var expectedBest: [Decimal?] = []
        for message in 0..<300 {
            let snapshot = message == 0 || message == 150
            if snapshot {
                bids = [:]
                asks = [:]
            }
            for _ in 0..<(snapshot ? 20 : 1 + Int(random.next(below: 4))) {
                let bid = random.next(below: 2) == 0
                let ticks = bid ? 9_900 + Int(random.next(below: 100)) : 10_001 + Int(random.next(below: 100))
                let price = Decimal(ticks) / 100
                let size =
                    random.next(below: 4) == 0 && !snapshot
                    ? Decimal(0) : Decimal(1 + Int(random.next(below: 999))) / 1_000
                lines.append("x,BTC,\(message),\(1_000 + message),\(snapshot),\(bid ? "bid" : "ask"),\(price),\(size)")
                if bid { bids[price] = size == 0 ? nil : size } else { asks[price] = size == 0 ? nil : size }
            }
            expectedBest.append(bids.keys.max())
        }
        let file = try write(lines)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (checkpoints, statistics, grid) = try replay(.tardisL2, file)
        #expect(statistics.messages == 300)
        #expect(checkpoints.map { decimal($0.bid?.price, grid) } == expectedBest)
        #expect(checkpoints.last?.bidLevels == bids.count && checkpoints.last?.askLevels == asks.count)
        #expect(decimal(checkpoints.last?.ask?.price, grid) == asks.keys.min())
    }

    @Test func tardisBookSnapshotsReplaceTheBookEachRow() throws {
        var header = "exchange,symbol,timestamp,local_timestamp"
        for level in 0..<5 {
            header += ",asks[\(level)].price,asks[\(level)].amount,bids[\(level)].price,bids[\(level)].amount"
        }
        var lines = [header]
        for row in 0..<50 {
            var fields = ["x", "ETH", "\(row)", "\(row)"]
            for level in 0..<5 {
                let present = level < 5 - row % 3  // fewer levels on some rows
                fields +=
                    present
                    ? ["\(2_000 + row + level).5", "\(level + 1).25", "\(1_999 + row - level).5", "\(level + 2)"]
                    : ["", "", "", ""]
            }
            lines.append(fields.joined(separator: ","))
        }
        let file = try write(lines)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (checkpoints, statistics, grid) = try replay(.tardisSnapshot, file)
        #expect(statistics.messages == 50)
        for (row, checkpoint) in checkpoints.enumerated() {
            #expect(decimal(checkpoint.ask?.price, grid) == Decimal(string: "\(2_000 + row).5"))
            #expect(decimal(checkpoint.bid?.price, grid) == Decimal(string: "\(1_999 + row).5"))
            #expect(checkpoint.bidLevels == 5 - row % 3 && checkpoint.askLevels == 5 - row % 3)
        }
    }

    @Test func orderLevelLinesKeepOrderCountsAndDetectGaps() throws {
        var random = SplitMix64(seed: 11)
        var live: [Int: (bid: Bool, price: Decimal, size: Decimal)] = [:]
        var lines: [String] = []
        var sequence = 0
        var skipped = 0
        for id in 1...2_000 {
            sequence += 1
            if id % 500 == 0 {
                sequence += 1  // a gap
                skipped += 1
            }
            if !live.isEmpty, random.next(below: 3) == 0 {
                let victim = live.keys.sorted()[Int(random.next(below: UInt64(live.count)))]
                if random.next(below: 2) == 0 {
                    lines.append("{\"seq\":\(sequence),\"op\":\"delete\",\"order_id\":\(victim)}")
                    live[victim] = nil
                } else {
                    var order = live[victim]!
                    order.size = Decimal(1 + Int(random.next(below: 50))) / 10
                    lines.append(
                        "{\"seq\":\(sequence),\"op\":\"update\",\"order_id\":\(victim),\"side\":\"\(order.bid ? "bid" : "ask")\",\"price\":\"\(order.price)\",\"size\":\"\(order.size)\"}"
                    )
                    live[victim] = order
                }
                continue
            }
            let bid = random.next(below: 2) == 0
            let price = Decimal(bid ? 4_900 + Int(random.next(below: 50)) : 5_001 + Int(random.next(below: 50))) / 100
            let size = Decimal(1 + Int(random.next(below: 50))) / 10
            lines.append(
                "{\"seq\":\(sequence),\"op\":\"add\",\"order_id\":\(id),\"side\":\"\(bid ? "bid" : "ask")\",\"price\":\"\(price)\",\"size\":\"\(size)\"}"
            )
            live[id] = (bid, price, size)
        }
        let file = try write(lines)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (checkpoints, statistics, grid) = try replay(.l3JSONLines, file, every: 0)
        #expect(checkpoints.isEmpty)
        #expect(statistics.gaps == skipped && statistics.unknownOrders == 0)
        let scale = try FeedReplay.detectScale(format: .l3JSONLines, path: file)
        var again = try FeedReplay(format: .l3JSONLines, priceIncrement: scale.price, sizeIncrement: scale.size)
        try again.replay(path: file)
        let final = again.currentCheckpoint
        let bidOrders = live.values.filter(\.bid)
        let askOrders = live.values.filter { !$0.bid }
        #expect(final.bidOrders == bidOrders.count && final.askOrders == askOrders.count)
        let bestBid = bidOrders.map(\.price).max()
        #expect(decimal(final.bid?.price, grid) == bestBid)
        let bestBidSize = bidOrders.filter { $0.price == bestBid }.reduce(Decimal(0)) { $0 + $1.size }
        #expect(final.bid.map { Decimal(string: $0.quantity.formatted(lotSize: scale.size))! } == bestBidSize)
        #expect(final.bidLevels == Set(bidOrders.map(\.price)).count)
        if let bestBid {
            #expect(
                again.orderCount(.buy, at: try Price("\(bestBid)", tickSize: scale.price))
                    == bidOrders.filter { $0.price == bestBid }.count)
        }
    }
}
