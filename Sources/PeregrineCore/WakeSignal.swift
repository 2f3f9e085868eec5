import PeregrineSys
import Synchronization

/// Lets a parked consumer be woken by its producer, at the cost of one relaxed load per
/// publish when nobody is parked.
///
/// A waiter announces itself in `sleepers`, then sleeps on a futex word with a timeout. A
/// producer that sees a sleeper bumps the word and wakes it. The producer does not fence
/// between publishing and reading `sleepers`, so a wake-up can be missed in a narrow race;
/// the park timeout bounds the delay that causes, which is why parking always has one.
/// Thread-safe; allocated once at set-up.
public final class WakeSignal: @unchecked Sendable {
    @usableFromInline
    let cells = PaddedAtomicCells(count: 2, initialValue: 0)

    public init() {}

    @usableFromInline
    var sleepers: UnsafeMutablePointer<Atomic<Int>> { cells.address(0) }

    /// A handle for one producer or consumer that notifies this signal.
    public var notifier: WakeNotifier { WakeNotifier(signal: self, sleepers: sleepers) }

    @usableFromInline
    func wakeAll() {
        let word = cells.address(1)
        word.pointee.wrappingAdd(1, ordering: .releasing)
        pg_futex_wake_all(futexWord(word))
    }

    /// Sleeps until notified or until `timeoutNanoseconds` pass, whichever is first. Returns
    /// true when a producer's `notify()` woke it (or came between announcing and sleeping),
    /// false when it timed out or was interrupted.
    @discardableResult
    public func park(timeoutNanoseconds: UInt64) -> Bool {
        let word = cells.address(1)
        sleepers.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
        let observed = UInt32(truncatingIfNeeded: word.pointee.load(ordering: .acquiring))
        _ = pg_futex_wait(futexWord(word), observed, timeoutNanoseconds)
        sleepers.pointee.wrappingSubtract(1, ordering: .relaxed)
        return UInt32(truncatingIfNeeded: word.pointee.load(ordering: .acquiring)) != observed
    }

    /// Threads parked (or about to park) on this signal now. For tests and monitoring.
    public var parkedCount: Int { sleepers.pointee.load(ordering: .acquiring) }

    /// The futex word is the low 32 bits of the cell (x86-64 and arm64 are little-endian).
    private func futexWord(_ cell: UnsafeMutablePointer<Atomic<Int>>) -> UnsafeMutablePointer<UInt32> {
        UnsafeMutableRawPointer(cell).assumingMemoryBound(to: UInt32.self)
    }
}

/// A ring endpoint's handle on a `WakeSignal`: the address of the sleeper count and an
/// unretained reference to the signal. A plain value with no reference counting, so a
/// `notify()` when nobody is parked is one relaxed load, and a loop around it keeps its values
/// in registers. Valid while the ring that owns the signal lives (its endpoints keep it alive).
@frozen
public struct WakeNotifier: @unchecked Sendable {
    @usableFromInline let unretainedSignal: Unmanaged<WakeSignal>
    @usableFromInline let sleepers: UnsafeMutablePointer<Atomic<Int>>

    @usableFromInline
    init(signal: WakeSignal, sleepers: UnsafeMutablePointer<Atomic<Int>>) {
        unretainedSignal = Unmanaged.passUnretained(signal)
        self.sleepers = sleepers
    }

    /// The signal, to park on.
    @inlinable
    public var signal: WakeSignal { unretainedSignal.takeUnretainedValue() }

    /// Wakes parked waiters, if any. Allocation-free; the wake-up is a call out of line, marked
    /// unlikely so that the caller's loop does not spill around it.
    @inlinable @inline(__always)
    public func notify() {
        if _slowPath(sleepers.pointee.load(ordering: .relaxed) != 0) {
            unretainedSignal._withUnsafeGuaranteedRef { $0.wakeAll() }
        }
    }
}
