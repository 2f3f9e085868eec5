import PeregrineCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Syncs a journal writer's current segment from its own thread every `interval`, so that
/// the durability policy `batch` never stalls the thread that writes (an `fdatasync` takes
/// milliseconds on many disks). The writer's thread reports what it has committed and hands
/// over a duplicate descriptor whenever a new segment starts; the syncer owns and closes the
/// duplicates. Thread-safe: one writer thread, one syncer thread.
public final class BackgroundSyncer: @unchecked Sendable {
    let intervalNanoseconds: UInt64
    private let committed = Atomic<Int64>(0)
    private let synced = Atomic<Int64>(0)
    private let syncCount = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    /// The descriptor to sync next (a dup), and one retired by a roll, not yet closed.
    private let descriptor = Mutex<(current: Int32, retired: [Int32])>((-1, []))
    private let failure = Mutex<JournalError?>(nil)
    /// Set once `failure` holds an error: read on every commit without taking the lock.
    private let failed = Atomic<Bool>(false)
    private var thread: PinnedThread?

    /// Starts the syncer thread; it syncs at most once per `intervalMicroseconds`.
    public init(intervalMicroseconds: Int, startSequence: Int64) throws(CoreError) {
        intervalNanoseconds = UInt64(Swift.max(intervalMicroseconds, 1)) * 1_000
        committed.store(startSequence, ordering: .relaxed)
        synced.store(startSequence, ordering: .relaxed)
        thread = try PinnedThread.start(name: "pg-journal-sync", cpus: []) { [self] in loop() }
    }

    /// One past the last sequence known durable.
    public var syncedSequence: Int64 { synced.load(ordering: .acquiring) }
    public var syncs: Int { syncCount.load(ordering: .relaxed) }
    /// The sync that failed, if one did. Lock-free while none has.
    public var lastFailure: JournalError? { failed.load(ordering: .acquiring) ? failure.withLock { $0 } : nil }

    /// The writer has committed everything before `sequence` to `fd`'s file. When `fd`
    /// differs from the last one reported (a new segment), it is duplicated for the syncer.
    public func committed(through sequence: Int64, descriptor fd: Int32, segmentChanged: Bool) {
        if segmentChanged {
            let copy = dup(fd)
            descriptor.withLock { state in
                if state.current >= 0 { state.retired.append(state.current) }
                state.current = copy
            }
        }
        committed.store(sequence, ordering: .releasing)
    }

    /// Stops the thread after a last sync.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        thread?.join()
        thread = nil
    }

    deinit {
        stop()
        descriptor.withLock { state in
            if state.current >= 0 { close(state.current) }
            for fd in state.retired { close(fd) }
        }
    }

    private func loop() {
        while true {
            let last = stopping.load(ordering: .acquiring)
            var request = timespec(tv_sec: 0, tv_nsec: Int(intervalNanoseconds))
            if !last { nanosleep(&request, nil) }
            let target = committed.load(ordering: .acquiring)
            if target > synced.load(ordering: .relaxed) {
                // Retired segments were synced by the writer when it rolled; close them.
                let fd = descriptor.withLock { state -> Int32 in
                    for retired in state.retired { close(retired) }
                    state.retired.removeAll()
                    return state.current
                }
                if fd >= 0 {
                    if fdatasync(fd) == 0 {
                        synced.store(target, ordering: .releasing)
                        syncCount.add(1, ordering: .relaxed)
                    } else {
                        let code = errno
                        failure.withLock { $0 = .io(operation: "fdatasync", path: "journal segment", errno: code) }
                        failed.store(true, ordering: .releasing)
                    }
                }
            }
            if last { return }
        }
    }
}
