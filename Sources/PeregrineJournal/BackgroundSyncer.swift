import PeregrineCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Syncs a journal writer's current segment from its own thread every `interval`, or sooner
/// when `events` events have been committed since it was last woken, so that the durability
/// policy `batch` never stalls the thread that writes (an `fdatasync` takes milliseconds on
/// many disks). The writer's thread reports what it has committed and hands over a duplicate
/// descriptor whenever a new segment starts; the syncer owns and closes the duplicates.
/// Thread-safe: one writer thread, one syncer thread.
public final class BackgroundSyncer: @unchecked Sendable {
    let intervalNanoseconds: UInt64
    /// Committed events that wake the syncer before its interval is up.
    let eventLimit: Int64
    /// The sequence the writer last woke the syncer at (the writer's thread only).
    private var wokenAt: Int64
    /// The syncer waits on `condition` (under `wakeLock`) for its interval, or until `woken`.
    private let wakeLock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var woken = false
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

    /// Starts the syncer thread; it syncs every `intervalMicroseconds` that saw a commit, and
    /// as soon as `events` events (`Int.max`: no limit) were committed since the writer last
    /// woke it.
    public init(intervalMicroseconds: Int, events: Int = .max, startSequence: Int64) throws(CoreError) {
        let (nanoseconds, overflow) = UInt64(Swift.max(intervalMicroseconds, 1)).multipliedReportingOverflow(by: 1_000)
        intervalNanoseconds = overflow ? .max : nanoseconds
        eventLimit = Int64(Swift.max(events, 1))
        wokenAt = startSequence
        committed.store(startSequence, ordering: .relaxed)
        synced.store(startSequence, ordering: .relaxed)
        pthread_mutex_init(wakeLock, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
        do {
            thread = try PinnedThread.start(name: "pg-journal-sync", cpus: []) { [self] in loop() }
        } catch {
            Self.release(wakeLock, condition)
            throw error
        }
    }

    private static func release(
        _ lock: UnsafeMutablePointer<pthread_mutex_t>, _ condition: UnsafeMutablePointer<pthread_cond_t>
    ) {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(lock)
        condition.deallocate()
        lock.deallocate()
    }

    /// Wakes the syncer now (its wait for the interval ends).
    private func wake() {
        pthread_mutex_lock(wakeLock)
        woken = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(wakeLock)
    }

    /// Waits for the interval, or until woken.
    private func waitForInterval() {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let total = UInt64(truncatingIfNeeded: deadline.tv_nsec) &+ Swift.min(intervalNanoseconds, 1 << 62)
        deadline.tv_sec &+= Int(truncatingIfNeeded: total / 1_000_000_000)
        deadline.tv_nsec = Int(truncatingIfNeeded: total % 1_000_000_000)
        pthread_mutex_lock(wakeLock)
        while !woken {
            if pthread_cond_timedwait(condition, wakeLock, &deadline) == ETIMEDOUT { break }
        }
        woken = false
        pthread_mutex_unlock(wakeLock)
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
        // The event bound: rare (once per `eventLimit` events), so the lock is taken rarely.
        if sequence &- wokenAt >= eventLimit {
            wokenAt = sequence
            wake()
        }
    }

    /// Stops the thread after a last sync.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        wake()
        thread?.join()
        thread = nil
    }

    deinit {
        stop()
        descriptor.withLock { state in
            if state.current >= 0 { close(state.current) }
            for fd in state.retired { close(fd) }
        }
        Self.release(wakeLock, condition)
    }

    private func loop() {
        while true {
            let last = stopping.load(ordering: .acquiring)
            if !last { waitForInterval() }
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
