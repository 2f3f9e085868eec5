import PeregrineCore
import PeregrineStrategy
import Testing

@Suite("Indicators")
struct IndicatorTests {
    /// A random walk of prices (in ticks), deterministic.
    static func walk(_ seed: UInt64, count: Int) -> [Double] {
        var random = SplitMix64(seed: seed)
        var price = 10_000.0
        return (0..<count).map { _ in
            price += Double(Int64(random.next(below: 21)) - 10)
            return price
        }
    }

    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(1, abs(a), abs(b)) }

    @Test func exponentialMovingAverageMatchesTheTextbookAndItsLanes() {
        let series = (0..<4).map { Self.walk(UInt64($0 + 1), count: 1_000) }
        for period in [1, 5, 26] {
            var lanes: [ExponentialMovingAverage] = []
            for values in series {
                var ema = ExponentialMovingAverage(period: period)
                // Textbook: e = α x + (1 − α) e, seeded with the first value.
                let alpha = 2 / Double(period + 1)
                var reference = values[0]
                for (index, value) in values.enumerated() {
                    ema.update(value)
                    if index > 0 { reference = alpha * value + (1 - alpha) * reference }
                    #expect(Self.close(ema.value, reference))
                }
                lanes.append(ema)
            }
            let batch = series[0].withUnsafeBufferPointer { a in
                series[1].withUnsafeBufferPointer { b in
                    series[2].withUnsafeBufferPointer { c in
                        series[3].withUnsafeBufferPointer { d in
                            IndicatorLanes.exponentialMovingAverage((a, b, c, d), period: period)
                        }
                    }
                }
            }
            for lane in 0..<4 { #expect(batch[lane].bitPattern == lanes[lane].value.bitPattern) }
        }
    }

    @Test func relativeStrengthMatchesWildersDefinitionAndItsLanes() {
        let series = (0..<4).map { Self.walk(UInt64($0 + 11), count: 500) }
        let period = 14
        var scalar: [RelativeStrength] = []
        for values in series {
            var rsi = RelativeStrength(period: period)
            for value in values { rsi.update(value) }
            // Reference: seed with the plain means of the first 14 gains and losses, then Wilder.
            let changes = zip(values.dropFirst(), values).map { $0 - $1 }
            var gain = changes.prefix(period).map { max($0, 0) }.reduce(0, +) / Double(period)
            var loss = changes.prefix(period).map { max(-$0, 0) }.reduce(0, +) / Double(period)
            for change in changes.dropFirst(period) {
                gain = (gain * Double(period - 1) + max(change, 0)) / Double(period)
                loss = (loss * Double(period - 1) + max(-change, 0)) / Double(period)
            }
            #expect(Self.close(rsi.value, 100 - 100 / (1 + gain / loss)))
            #expect(rsi.isReady && rsi.value > 0 && rsi.value < 100)
            scalar.append(rsi)
        }
        let batch = series[0].withUnsafeBufferPointer { a in
            series[1].withUnsafeBufferPointer { b in
                series[2].withUnsafeBufferPointer { c in
                    series[3].withUnsafeBufferPointer { d in
                        IndicatorLanes.relativeStrength((a, b, c, d), period: period)
                    }
                }
            }
        }
        for lane in 0..<4 { #expect(batch[lane].bitPattern == scalar[lane].value.bitPattern) }
        // Only rises: no loss, RSI 100.
        var rising = RelativeStrength(period: 3)
        for value in [1.0, 2, 3, 4, 5] { rising.update(value) }
        #expect(rising.value == 100)
    }

    @Test func macdIsTheDifferenceOfItsAveragesAndItsSignal() {
        var macd = MACD(fast: 12, slow: 26, signal: 9)
        var fast = ExponentialMovingAverage(period: 12)
        var slow = ExponentialMovingAverage(period: 26)
        var signal = ExponentialMovingAverage(period: 9)
        for value in Self.walk(5, count: 300) {
            macd.update(value)
            fast.update(value)
            slow.update(value)
            signal.update(fast.value - slow.value)
            #expect(macd.macd.bitPattern == (fast.value - slow.value).bitPattern)
            #expect(macd.histogram.bitPattern == (fast.value - slow.value - signal.value).bitPattern)
        }
    }

    @Test func bollingerBandsAndVWAPMatchPlainReferences() {
        var window = RollingSum(period: 20)
        var vwap = RollingVWAP(period: 20)
        var prices: [Int64] = []
        var trades: [(Int64, Int64)] = []
        var random = SplitMix64(seed: 9)
        for _ in 0..<500 {
            let price = 1_000_000 + Int64(random.next(below: 1_000))
            let lots = 1 + Int64(random.next(below: 100))
            window.update(price)
            vwap.update(price: price, quantity: lots)
            prices.append(price)
            trades.append((price, lots))
            let last = prices.suffix(20).map(Double.init)
            let mean = last.reduce(0, +) / Double(last.count)
            let deviation = (last.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(last.count)).squareRoot()
            let bands = window.bollingerBands(widthThousandths: 2_000)
            #expect(Self.close(bands.middle, mean) && abs(bands.upper - (mean + 2 * deviation)) < 1e-6)
            let recent = trades.suffix(20)
            let notional = recent.reduce(Int128(0)) { $0 + Int128($1.0) * Int128($1.1) }
            let quantity = recent.reduce(Int128(0)) { $0 + Int128($1.1) }
            #expect(vwap.notional == notional && vwap.quantity == quantity)
            #expect(vwap.recomputed() == (notional, quantity))
            #expect(vwap.value == Double(notional) / Double(quantity))
        }
    }

    /// The floating-point indicators' state survives a snapshot bit for bit.
    @Test func indicatorStateRoundTrips() throws {
        var macd = MACD()
        var rsi = RelativeStrength(period: 14)
        for value in Self.walk(21, count: 100) {
            macd.update(value)
            rsi.update(value)
        }
        var encoder = EncodingVisitor(SnapshotEncoder())
        try macd.visitState(&encoder)
        try rsi.visitState(&encoder)
        var decoder = DecodingVisitor(SnapshotDecoder(encoder.encoder.bytes))
        var macdCopy = MACD()
        var rsiCopy = RelativeStrength(period: 14)
        try macdCopy.visitState(&decoder)
        try rsiCopy.visitState(&decoder)
        #expect(macdCopy == macd && rsiCopy == rsi)
    }
}
