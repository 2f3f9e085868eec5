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
///
/// Other modules reach a cell only through `load`, `store`, `exchange` and `increment`, which
/// take its index; no address leaves PeregrineCore. Thread-safe (each operation is atomic),
/// allocation-free after `init`; an index must be in `0..<count`.
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
            address(index).deinitialize(count: 1)
        }
        base.deallocate()
    }

    /// The address of cell `index`; valid for the lifetime of this object. For the rings and
    /// signals of this module, which keep the addresses they poll.
    @usableFromInline @inline(__always)
    func address(_ index: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        (base + index &* Self.slotSize).assumingMemoryBound(to: Atomic<Int>.self)
    }

    /// The value of cell `index`.
    @inlinable @inline(__always)
    public func load(_ index: Int, ordering: AtomicLoadOrdering) -> Int {
        let cell = address(index)
        // Atomic operations need a constant ordering; inlined, the branch folds to one of these.
        if ordering == .relaxed { return cell.pointee.load(ordering: .relaxed) }
        if ordering == .acquiring { return cell.pointee.load(ordering: .acquiring) }
        return cell.pointee.load(ordering: .sequentiallyConsistent)
    }

    /// Sets cell `index` to `value`.
    @inlinable @inline(__always)
    public func store(_ index: Int, _ value: Int, ordering: AtomicStoreOrdering) {
        let cell = address(index)
        if ordering == .relaxed {
            cell.pointee.store(value, ordering: .relaxed)
        } else if ordering == .releasing {
            cell.pointee.store(value, ordering: .releasing)
        } else {
            cell.pointee.store(value, ordering: .sequentiallyConsistent)
        }
    }

    /// Sets cell `index` to `value` and returns what it held.
    @inlinable @inline(__always)
    public func exchange(_ index: Int, _ value: Int, ordering: AtomicUpdateOrdering) -> Int {
        let cell = address(index)
        if ordering == .relaxed { return cell.pointee.exchange(value, ordering: .relaxed) }
        if ordering == .acquiring { return cell.pointee.exchange(value, ordering: .acquiring) }
        if ordering == .releasing { return cell.pointee.exchange(value, ordering: .releasing) }
        if ordering == .acquiringAndReleasing { return cell.pointee.exchange(value, ordering: .acquiringAndReleasing) }
        return cell.pointee.exchange(value, ordering: .sequentiallyConsistent)
    }

    /// Adds 1 to cell `index` by a plain load and store (relaxed): for a counter with a single
    /// writer, read by other threads; cheaper than an atomic add.
    @inlinable
    public func increment(_ index: Int) {
        let cell = address(index)
        cell.pointee.store(cell.pointee.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }
}

/// Room for `capacity` ring slots, starting on a 128-byte boundary: no slot straddles two
/// cache lines when the element's stride divides 64 (a 32-byte item from a 16-aligned
/// `malloc` would straddle every other one), and nothing else shares the first line. Free
/// with `deallocate()` on the result.
@usableFromInline
func allocateSlots<Element>(_: Element.Type, capacity: Int) -> UnsafeMutablePointer<Element> {
    UnsafeMutableRawPointer.allocate(
        byteCount: Swift.max(capacity, 1) * MemoryLayout<Element>.stride, alignment: PaddedAtomicCells.slotSize
    ).bindMemory(to: Element.self, capacity: capacity)
}
