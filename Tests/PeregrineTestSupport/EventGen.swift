import PeregrineModel
import PropertyBased

/// Generators of every event kind, with fields over their whole ranges.
public enum EventGen {
    public static let side = Gen.bool.map { $0 ? Side.buy : Side.sell }
    public static let ticks = Gen.int64(in: Int64.min...Int64.max).map { Price(ticks: $0) }
    /// Market data prices: within ±`Price.maxTicks` (beyond it they are refused).
    public static let marketTicks = Gen.int64(in: -Price.maxTicks...Price.maxTicks).map { Price(ticks: $0) }
    public static let lots = Gen.int64(in: 0...Int64.max).map { Quantity(lots: $0) }

    public static let transaction = zip(
        Gen.uint64(in: 0...UInt64.max), ticks, lots, Gen.uint32(in: 0...UInt32.max), side, Gen.bool,
        Gen.uint16(in: 0...UInt16.max)
    ).map { id, price, quantity, instrument, side, ours, fee in
        Transaction(
            id: id, instrument: InstrumentID(instrument), side: side, price: price, quantity: quantity,
            origin: ours ? .strategy : .observed, priorityFee: fee)
    }

    public static let payload = zip(
        Gen.int(in: 0...9), ticks, lots, ticks, lots, side, Gen.uint64(in: 0...UInt64.max), transaction,
        zip(marketTicks, marketTicks)
    )
    .map { kind, price, quantity, price2, quantity2, side, number, transaction, market -> EventPayload in
        switch kind {
        case 0: return .levelUpdate(LevelUpdate(side: side, price: market.0, quantity: quantity))
        case 1: return .trade(Trade(price: market.0, quantity: quantity, aggressor: side, tradeID: number))
        case 2:
            return .quote(
                Quote(bidPrice: market.0, bidQuantity: quantity, askPrice: market.1, askQuantity: quantity2))
        case 3: return .transaction(transaction)
        case 4: return .timer(TimerFire(timerID: number, deadline: UInt64(bitPattern: price.ticks)))
        case 6: return .clearBook
        case 7:
            return withUnsafeBytes(of: (number, price.ticks, quantity.lots, price2.ticks, quantity2.lots)) {
                .recordChunk(RecordChunk(UnsafeRawBufferPointer(rebasing: $0[0..<36])))
            }
        case 8:
            return .recordEnd(
                RecordEnd(
                    type: RecordType.allCases[Int(number % 3)], length: UInt32(truncatingIfNeeded: number >> 8),
                    checksum: UInt32(truncatingIfNeeded: number >> 32)))
        case 9: return .chainHead(ChainHead(blockNumber: number, baseFeeWei: UInt64(bitPattern: price.ticks)))
        default:
            // Order quantities travel as sent (negative ones too): the matching engine rejects them.
            return .order(
                OrderCommand(
                    action: OrderAction.allCases[Int(number % 3)], orderID: OrderID(number),
                    account: AccountID(UInt32(truncatingIfNeeded: number >> 7)), side: side,
                    type: OrderType.allCases[Int((number >> 3) % 4)],
                    timeInForce: TimeInForce.allCases[Int((number >> 5) % 4)], price: price, stopPrice: price2,
                    quantity: Quantity(lots: side == .buy ? quantity2.lots : ~quantity2.lots)))
        }
    }

    public static let event = zip(
        Gen.uint64(in: 0...UInt64.max), Gen.uint64(in: 0...UInt64.max), Gen.uint32(in: 0...UInt32.max), payload
    )
    .map { timestamp, sequence, instrument, payload in
        Event(timestamp: timestamp, exchangeTimestamp: sequence, instrument: InstrumentID(instrument), payload: payload)
    }
}
