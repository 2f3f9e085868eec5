/// Order id → pool slot, open addressing with linear probing and backward-shift deletion (no
/// tombstones, so probe lengths stay short however long the book runs). The table has at
/// least twice as many entries as the pool has slots, so it is never more than half full.
///
/// Allocated once at set-up; lookups, inserts and removals are allocation-free, O(1) expected.
/// Single-threaded.
public struct OrderIDMap: ~Copyable {
    /// One 16-byte entry; `slotPlusOne == 0` marks an empty entry.
    @usableFromInline
    struct Entry: BitwiseCopyable {
        @usableFromInline var key: UInt64
        @usableFromInline var slotPlusOne: UInt32

        @inlinable
        init(key: UInt64, slotPlusOne: UInt32) {
            self.key = key
            self.slotPlusOne = slotPlusOne
        }
    }

    @usableFromInline let entries: UnsafeMutablePointer<Entry>
    @usableFromInline let mask: Int
    @usableFromInline let shift: UInt64

    /// A table for up to `minimumCapacity` ids (at least twice as many entries).
    public init(minimumCapacity: Int) {
        var size = 16
        while size < minimumCapacity * 2 { size <<= 1 }
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size * MemoryLayout<Entry>.stride, alignment: 64)
        entries = raw.bindMemory(to: Entry.self, capacity: size)
        entries.initialize(repeating: Entry(key: 0, slotPlusOne: 0), count: size)
        mask = size - 1
        shift = UInt64(size.trailingZeroBitCount)
    }

    @inlinable deinit {
        UnsafeMutableRawPointer(entries).deallocate()
    }

    /// Where an id's probe starts: twice its low bits, with the bits above folded in.
    ///
    /// Ids that count up (the usual client and exchange practice) land on every other entry:
    /// the ids of recent orders — the ones most often cancelled or replaced — share cache
    /// lines instead of costing a cache miss each, and the empty entries between them keep
    /// probe runs (and backward-shift deletion) short. The next window of ids fills the odd
    /// entries; ids differing only in high bits (prefixes, large strides) are spread by the
    /// fold. A table holds at most half as many ids as entries.
    @inlinable
    func home(_ key: UInt64) -> Int {
        let folded = (key &<< 1) ^ (key &>> (shift &- 1)) ^ (key &>> (shift &* 2 &- 1))
        return Int(truncatingIfNeeded: folded) & mask
    }

    /// The slot of `key`, or -1.
    @inlinable
    public func find(_ key: UInt64) -> Int32 {
        var position = home(key)
        while true {
            let entry = entries[position]
            if entry.slotPlusOne == 0 { return -1 }
            if entry.key == key { return Int32(bitPattern: entry.slotPlusOne &- 1) }
            position = (position &+ 1) & mask
        }
    }

    /// Adds `key` → `slot`; `key` must not be present.
    @inlinable
    public mutating func insert(_ key: UInt64, slot: Int32) {
        var position = home(key)
        while entries[position].slotPlusOne != 0 { position = (position &+ 1) & mask }
        entries[position] = Entry(key: key, slotPlusOne: UInt32(bitPattern: slot) &+ 1)
    }

    /// Removes `key` if present.
    @inlinable
    public mutating func remove(_ key: UInt64) {
        var position = home(key)
        while true {
            let entry = entries[position]
            if entry.slotPlusOne == 0 { return }
            if entry.key == key { break }
            position = (position &+ 1) & mask
        }
        // Backward shift: pull later entries of the probe run into the hole when the hole lies
        // between their home and their position.
        var hole = position
        var next = (hole &+ 1) & mask
        while entries[next].slotPlusOne != 0 {
            let wanted = home(entries[next].key)
            if (next &- wanted) & mask >= (next &- hole) & mask {
                entries[hole] = entries[next]
                hole = next
            }
            next = (next &+ 1) & mask
        }
        entries[hole].slotPlusOne = 0
    }
}

extension OrderIDMap {
    /// The address of the entry where `key`'s probe starts, for prefetching.
    @inlinable
    func homeAddress(_ key: UInt64) -> UnsafeRawPointer { UnsafeRawPointer(entries + home(key)) }
}
