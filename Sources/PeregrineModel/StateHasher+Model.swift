import PeregrineCore

// Canonical state-hash input for model values: every field, in declaration order, so that
// equal values hash equally on every machine and a change in any field changes the hash.

extension Transaction {
    public func combine(into hasher: inout StateHasher) {
        hasher.combine(id)
        hasher.combine(instrument.rawValue)
        hasher.combine(side.rawValue)
        hasher.combine(price.ticks)
        hasher.combine(quantity.lots)
        hasher.combine(origin.rawValue)
        hasher.combine(priorityFee)
    }
}

extension Bundle {
    public func combine(into hasher: inout StateHasher) {
        hasher.combine(id)
        hasher.combine(openedAt)
        hasher.combine(count)
        forEach { $0.combine(into: &hasher) }
    }
}

extension VenueOrder {
    public func combine(into hasher: inout StateHasher) {
        hasher.combine(sequence)
        hasher.combine(decidedAt)
        hasher.combine(instrument.rawValue)
        hasher.combine(command.action.rawValue)
        hasher.combine(command.orderID.rawValue)
        hasher.combine(command.account.rawValue)
        hasher.combine(command.side.rawValue)
        hasher.combine(command.type.rawValue)
        hasher.combine(command.timeInForce.rawValue)
        hasher.combine(command.price.ticks)
        hasher.combine(command.stopPrice.ticks)
        hasher.combine(command.quantity.lots)
    }
}

extension ExecutionReport {
    public func combine(into hasher: inout StateHasher) {
        hasher.combine(kind.rawValue)
        hasher.combine(reason.rawValue)
        hasher.combine(instrument.rawValue)
        hasher.combine(orderID.rawValue)
        hasher.combine(account.rawValue)
        hasher.combine(side.rawValue)
        hasher.combine(price.ticks)
        hasher.combine(quantity.lots)
        hasher.combine(leavesQuantity.lots)
        hasher.combine(tradeID)
        hasher.combine(contraOrderID.rawValue)
        hasher.combine(contraAccount.rawValue)
        hasher.combine(isAggressor ? 1 as UInt8 : 0)
    }
}
