import PeregrineModel
import PeregrineSys

extension OrderBook {
    /// Starts loading the memory that upcoming commands will touch, so that their cache
    /// misses overlap with the work on the current one. Call it before processing
    /// `commands[position]`, with the batch the command belongs to:
    ///
    /// - `position + 3`: the order-id table entry of its order id;
    /// - `position + 2`: the order's pool slot (cancel and replace), found through that entry;
    ///   for a new order, the first resting order it would meet on the other side;
    /// - `position + 1`: the order's queue neighbours, read from the slot (its price level is
    ///   not prefetched: near the touch it is already cached, and the level store's lookup
    ///   would keep this hint from being inlined); for a new order, that first resting order's
    ///   id-table entry and the one after it.
    ///
    /// A hint only: it changes no state and never faults. A cancel of an order deep in a
    /// large book costs about four cache misses without it. Allocation-free.
    @inlinable @inline(__always)
    public func prefetch(upcoming commands: UnsafeBufferPointer<OrderCommand>, before position: Int) {
        if position &+ 3 < commands.count {
            pg_prefetch_for_write(ids.homeAddress(commands[position &+ 3].orderID.rawValue))
        }
        if position &+ 2 < commands.count {
            let command = commands[position &+ 2]
            if command.action != .new {
                let slot = ids.find(command.orderID.rawValue)
                if slot >= 0 { pg_prefetch_for_write(pool.slots + Int(slot)) }
            } else {
                let other = resting(command.side.opposite)
                if let best = other.pointee.best {
                    let head = other.pointee.store.value(at: best).pointee.head
                    if head >= 0 { pg_prefetch_for_write(pool.slots + Int(head)) }
                }
            }
        }
        if position &+ 1 < commands.count {
            let command = commands[position &+ 1]
            if command.action != .new {
                let slot = ids.find(command.orderID.rawValue)
                if slot >= 0 {
                    let order = pool.slots[Int(slot)]
                    if order.previous >= 0 { pg_prefetch_for_write(pool.slots + Int(order.previous)) }
                    if order.next >= 0 { pg_prefetch_for_write(pool.slots + Int(order.next)) }

                }
            } else {
                let other = resting(command.side.opposite)
                if let best = other.pointee.best {
                    let head = other.pointee.store.value(at: best).pointee.head
                    if head >= 0 {
                        let maker = pool.slots[Int(head)]
                        pg_prefetch_for_write(ids.homeAddress(maker.orderID))
                        if maker.next >= 0 { pg_prefetch_for_write(pool.slots + Int(maker.next)) }
                    }
                }
            }
        }
    }
}
