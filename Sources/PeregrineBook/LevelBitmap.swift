/// A two-level bitmap over `size` price-level indices: one bit per level, and one summary bit
/// per 64-level word that is non-zero. Finding the next occupied level above or below an index
/// costs a few word scans instead of a walk over empty levels.
///
/// ```
/// summary  [1 0 0 1 ...]            one bit per word below
/// words    [0x..][0][0][0x..] ...   one bit per level
/// ```
///
/// Its storage is allocated once and freed by its owner (`deallocate`); every operation is
/// allocation-free. A copy shares the storage. Single-threaded.
@usableFromInline
struct LevelBitmap {
    @usableFromInline let words: UnsafeMutablePointer<UInt64>
    @usableFromInline let summary: UnsafeMutablePointer<UInt64>
    @usableFromInline let wordCount: Int
    @usableFromInline let summaryCount: Int

    /// A bitmap for indices `0..<size`; `size` is rounded up to a multiple of 64.
    init(size: Int) {
        wordCount = Swift.max(1, (size + 63) / 64)
        summaryCount = (wordCount + 63) / 64
        words = .allocate(capacity: wordCount)
        words.initialize(repeating: 0, count: wordCount)
        summary = .allocate(capacity: summaryCount)
        summary.initialize(repeating: 0, count: summaryCount)
    }

    /// Frees the storage (the owner's last use).
    func deallocate() {
        words.deallocate()
        summary.deallocate()
    }

    @inlinable @inline(__always)
    func insert(_ index: Int) {
        let word = index &>> 6
        if words[word] == 0 { summary[word &>> 6] |= UInt64(1) &<< UInt64(word & 63) }
        words[word] |= UInt64(1) &<< UInt64(index & 63)
    }

    @inlinable @inline(__always)
    func remove(_ index: Int) {
        let word = index &>> 6
        words[word] &= ~(UInt64(1) &<< UInt64(index & 63))
        if words[word] == 0 { summary[word &>> 6] &= ~(UInt64(1) &<< UInt64(word & 63)) }
    }

    @inlinable @inline(__always)
    func contains(_ index: Int) -> Bool {
        words[index &>> 6] & (UInt64(1) &<< UInt64(index & 63)) != 0
    }

    /// The highest set index at or below `index`, or -1.
    @inlinable @inline(__always)
    func highest(atOrBelow index: Int) -> Int {
        if index < 0 { return -1 }
        let word = index &>> 6
        let shift = UInt64(63 &- (index & 63))
        let bits = (words[word] &<< shift) &>> shift
        if bits != 0 { return word &* 64 &+ 63 &- bits.leadingZeroBitCount }
        let below = highestWord(below: word)
        return below < 0 ? -1 : below &* 64 &+ 63 &- words[below].leadingZeroBitCount
    }

    /// The lowest set index at or above `index`, or -1.
    @inlinable
    func lowest(atOrAbove index: Int) -> Int {
        let word = index &>> 6
        if word >= wordCount { return -1 }
        let bits = words[word] & (~UInt64(0) &<< UInt64(index & 63))
        if bits != 0 { return word &* 64 &+ bits.trailingZeroBitCount }
        let above = lowestWord(above: word)
        return above < 0 ? -1 : above &* 64 &+ words[above].trailingZeroBitCount
    }

    /// The highest non-empty word strictly below `word`, or -1.
    @usableFromInline
    func highestWord(below word: Int) -> Int {
        if word <= 0 { return -1 }
        let target = word &- 1
        var group = target &>> 6
        let shift = UInt64(63 &- (target & 63))
        var bits = (summary[group] &<< shift) &>> shift
        while true {
            if bits != 0 { return group &* 64 &+ 63 &- bits.leadingZeroBitCount }
            group &-= 1
            if group < 0 { return -1 }
            bits = summary[group]
        }
    }

    /// The lowest non-empty word strictly above `word`, or -1.
    @usableFromInline
    func lowestWord(above word: Int) -> Int {
        let target = word &+ 1
        if target >= wordCount { return -1 }
        var group = target &>> 6
        var bits = summary[group] & (~UInt64(0) &<< UInt64(target & 63))
        while true {
            if bits != 0 { return group &* 64 &+ bits.trailingZeroBitCount }
            group &+= 1
            if group >= summaryCount { return -1 }
            bits = summary[group]
        }
    }
}
