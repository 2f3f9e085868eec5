import PeregrineCore
import PeregrineModel
import PeregrineStrategy
import Testing

@Suite("Positions and P&L")
struct PositionTests {
    /// Average cost, worked by hand: buy 3 at 100, buy 1 at 104 (cost 404, avg 101), sell 2 at
    /// 110 (releases 202, realises 18), sell 4 at 90 (closes 2: releases 202, realises −22; opens
    /// 2 short at 90), buy 2 at 95 (realises −10, flat).
    @Test func averageCostRealisesExactly() {
        var position = Position()
        position.apply(side: .buy, price: Price(ticks: 100), quantity: Quantity(lots: 3), fee: Money(units: 7))
        position.apply(side: .buy, price: Price(ticks: 104), quantity: Quantity(lots: 1), fee: .zero)
        #expect(position.net == 4 && position.openCost == 404 && position.averageEntry == Price(ticks: 101))
        position.apply(side: .sell, price: Price(ticks: 110), quantity: Quantity(lots: 2), fee: .zero)
        #expect(position.net == 2 && position.openCost == 202 && position.realised == Money(tickLots: 18))
        position.apply(side: .sell, price: Price(ticks: 90), quantity: Quantity(lots: 4), fee: .zero)
        #expect(position.net == -2 && position.openCost == -180 && position.realised == Money(tickLots: -4))
        #expect(position.averageEntry == Price(ticks: 90))
        // Short 2 at 90, marked at 92 / 94 (mid 93): −2 × 93 + 180 = −6.
        #expect(position.unrealised(bid: Price(ticks: 92), ask: Price(ticks: 94)) == Money(tickLots: -6))
        // A mid half a tick off the grid is exact: −2 × 92.5 + 180 = −5.
        #expect(position.unrealised(bid: Price(ticks: 92), ask: Price(ticks: 93)) == Money(tickLots: -5))
        position.apply(side: .buy, price: Price(ticks: 95), quantity: Quantity(lots: 2), fee: .zero)
        #expect(position.net == 0 && position.openCost == 0 && position.realised == Money(tickLots: -14))
        #expect(position.averageEntry == nil && position.fees == Money(units: 7))
        #expect(position.fills == 5 && position.volume == 12 && position.bought == 6 && position.sold == 6)
        #expect(position.turnover == 300 + 104 + 220 + 360 + 190)
    }

    /// Reducing releases the open cost in proportion, rounded half-even to a whole tick × lot.
    @Test func releasedCostRoundsHalfEven() {
        var position = Position()
        position.apply(side: .buy, price: Price(ticks: 101), quantity: Quantity(lots: 1), fee: .zero)
        position.apply(side: .buy, price: Price(ticks: 100), quantity: Quantity(lots: 1), fee: .zero)
        // Cost 201 for 2: the average 100.5 rounds to the even 100.
        #expect(position.averageEntry == Price(ticks: 100))
        position.apply(side: .sell, price: Price(ticks: 100), quantity: Quantity(lots: 1), fee: .zero)
        // Releases 201 × 1 / 2 = 100.5 → 100: realises 0, 101 stays as the cost of the last lot.
        #expect(position.realised == .zero && position.openCost == 101)
        #expect(Position.roundedHalfEven(5, dividedBy: 2) == 2 && Position.roundedHalfEven(7, dividedBy: 2) == 4)
        #expect(Position.roundedHalfEven(-5, dividedBy: 2) == -2 && Position.roundedHalfEven(-7, dividedBy: 2) == -4)
        #expect(Position.roundedHalfEven(-7, dividedBy: -2) == 4 && Position.roundedHalfEven(8, dividedBy: 3) == 3)
    }

    /// The 64-bit way (both operands fit) and the 128-bit way give the same quotient: against a
    /// plain half-even rounding of the exact fraction, on operands of every size, ties included.
    @Test func roundingHalfEvenAgreesAtEveryWidth() {
        var random = SplitMix64(seed: 23)
        /// Rounds n / d (d > 0) half-even from floor division, the other way round from the code.
        func reference(_ n: Int128, _ d: Int128) -> Int128 {
            var floor = n / d
            if n % d != 0, n < 0 { floor -= 1 }
            let rest = n - floor * d  // 0 ≤ rest < d
            if rest * 2 > d || (rest * 2 == d && floor & 1 != 0) { return floor + 1 }
            return floor
        }
        var wrong = 0
        var ties = 0
        for _ in 0..<200_000 {
            let bits = [8, 32, 62, 63, 90][Int(random.next(below: 5))]
            let magnitude = Int128(random.next()) << 64 | Int128(random.next())
            var numerator = magnitude & ((Int128(1) << bits) - 1)
            if random.next(below: 2) == 0 { numerator = 0 - numerator }
            let divisor = Int128(1 + random.next(below: [3, 1_000, 1 << 40][Int(random.next(below: 3))]))
            // A tie now and then: numerator = (2k + 1) × divisor / 2 with an even divisor.
            if random.next(below: 8) == 0, divisor % 2 == 0 {
                numerator = (numerator / divisor) * divisor + divisor / 2
            }
            if Position.roundedHalfEven(numerator, dividedBy: divisor) != reference(numerator, divisor) { wrong += 1 }
            if Position.roundedHalfEven(numerator, dividedBy: 0 - divisor) != reference(0 - numerator, divisor) {
                wrong += 1
            }
            if (numerator * 2) % divisor == 0, ((numerator * 2) / divisor) % 2 != 0 { ties += 1 }
        }
        #expect(wrong == 0)
        #expect(ties > 1_000)  // the ties were reached
        // The edges of 64 bits: the least Int64 (a tie over 2), the largest operands, and the
        // first numerator and divisor past 64 bits.
        let min = Int128(Int64.min)
        let max = Int128(Int64.max)
        for (numerator, divisor) in [
            (min, 2), (min, 3), (min, max), (max, max), (min + 1, max), (max, 2), (max + 1, 2), (min - 1, 2),
            (max, max + 1), (min, max + 2), (1, max + 1), (max * 5 + 3, max + 1),
        ] as [(Int128, Int128)] {
            #expect(Position.roundedHalfEven(numerator, dividedBy: divisor) == reference(numerator, divisor))
            #expect(Position.roundedHalfEven(numerator, dividedBy: 0 - divisor) == reference(0 - numerator, divisor))
        }
    }

    /// For any sequence of fills: realised + unrealised equals the cash flow plus the position
    /// marked at the same price (Σ −signed quantity × price + net × mark), fees apart; a flat
    /// position has no cost left and has realised exactly its cash flow.
    @Test func realisedPlusUnrealisedIsTheCashFlow() {
        var random = SplitMix64(seed: 17)
        for round in 0..<2_000 {
            var position = Position()
            var cash: Int128 = 0
            var fees = Money.zero
            for _ in 0..<Int(1 + random.next(below: 30)) {
                let side: Side = random.next(below: 2) == 0 ? .buy : .sell
                let price = Int64(1 + random.next(below: 1_000_000))
                let lots = Int64(1 + random.next(below: 1_000))
                let fee = Money(units: Int128(random.next(below: 1_000)) - 300)
                position.apply(side: side, price: Price(ticks: price), quantity: Quantity(lots: lots), fee: fee)
                cash += Int128(side == .buy ? -lots : lots) * Int128(price)
                fees += fee
                let mark = Price(ticks: Int64(1 + random.next(below: 1_000_000)))
                let total = position.realised + position.unrealised(at: mark)
                #expect(total == Money(tickLots: cash + Int128(position.net) * Int128(mark.ticks)), "round \(round)")
                #expect(position.fees == fees)
                if position.net == 0 {
                    #expect(position.openCost == 0 && position.realised == Money(tickLots: cash), "round \(round)")
                }
            }
        }
    }

    @Test func moneyAndFeeRatesPrintExactly() throws {
        let tick = try Increment("0.01")
        let lot = try Increment("0.001")
        #expect(Money(tickLots: 16).formatted(tickSize: tick, lotSize: lot) == "0.00016")
        #expect(Money(units: -2_659_180_000).formatted(tickSize: tick, lotSize: lot) == "-0.000265918")
        #expect(Money(tickLots: 100_000).formatted(tickSize: tick, lotSize: lot) == "1")
        #expect(try FeeRate("0.0002").perHundredMillion == 20_000)
        #expect(try FeeRate("-0.0001").perHundredMillion == -10_000)
        #expect(try FeeRate(basisPoints: "2.5").perHundredMillion == 25_000)
        #expect(throws: ModelError.self) { try FeeRate("1.5") }
        #expect(throws: ModelError.self) { try FeeRate("0.000000001") }
        #expect(
            try FeeRate("0.0005").fee(price: Price(ticks: 1_000), quantity: Quantity(lots: 3))
                == Money(units: 150_000_000))  // 3,000 ticks × lots × 0.0005 = 1.5 ticks × lots
    }
}

@Suite("Rolling sums")
struct RollingSumTests {
    /// The incremental sums equal the SIMD recomputation and a plain loop, at every step, and
    /// the z-score equals the textbook formula on the same exact integers.
    @Test func incrementalAndBatchSumsAgreeExactly() {
        var random = SplitMix64(seed: 3)
        for period in [1, 2, 7, 8, 9, 30, 257] {
            var window = RollingSum(period: period)
            var plain: [Int64] = []
            for _ in 0..<1_000 {
                let value = Int64(random.next(below: 2_000_000_000_000)) - 1_000_000_000_000
                window.update(value)
                plain.append(value)
                if plain.count > period { plain.removeFirst() }
                let sum = plain.reduce(Int128(0)) { $0 + Int128($1) }
                let squares = plain.reduce(Int128(0)) { $0 + Int128($1) * Int128($1) }
                #expect(window.sum == sum && window.sumOfSquares == squares)
                let batch = window.recomputed()
                #expect(batch.sum == sum && batch.sumOfSquares == squares)
                let n = Int128(plain.count)
                let variance = n * squares - sum * sum
                let z = variance > 0 ? Double(n * Int128(value) - sum) / Double(variance).squareRoot() : 0
                #expect(window.zScore(of: value).bitPattern == z.bitPattern)
            }
            #expect(window.isFull && window.count == period)
        }
    }
}
