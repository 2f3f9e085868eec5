import Synchronization

/// A fixed block of `Atomic<Int>` cells, each alone in its own 128-byte slot.
///
/// ```
///  base (128-aligned)
///  ├── cell 0 ─┬─ 8 bytes ─┬──── 120 bytes padding ────┤
///  ├── cell 1 ─┬─ 8 bytes ─┬──── 120 bytes padding ────┤
///  └── …
/// ```
///
/// 128 bytes (two cache lines) keeps cells written by different threads out of each other's
/// cache line and out of the adjacent-line prefetcher's pair. Swift has no `alignas`, so the
/// block is allocated by hand. Allocated once at set-up; access is a pointer offset.
public final class PaddedAtomicCells: @unchecked Sendable {
    /// Bytes between consecutive cells.
    public static let slotSize = 128

    @usableFromInline
    let base: UnsafeMutableRawPointer
    /// Number of cells.
    public let count: Int

    /// Allocates `count` cells, each holding `initialValue`.
    public init(count: Int, initialValue: Int) {
        self.count = count
        base = UnsafeMutableRawPointer.allocate(
            byteCount: Swift.max(count, 1) * Self.slotSize, alignment: Self.slotSize)
        for index in 0..<count {
            (base + index * Self.slotSize).bindMemory(to: Atomic<Int>.self, capacity: 1)
                .initialize(to: Atomic(initialValue))
        }
    }

    deinit {
        for index in 0..<count {
            cell(index).deinitialize(count: 1)
        }
        base.deallocate()
    }

    /// The address of cell `index`; valid for the lifetime of this object.
    @inlinable
    public func cell(_ index: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        (base + index &* Self.slotSize).assumingMemoryBound(to: Atomic<Int>.self)
    }
}
