import Dispatch
import PeregrineCore
import Synchronization

/// Runs the control planes' tasks (their HTTP servers and handlers) on one thread of their own,
/// shared by every plane in the process, so that a plane starts and answers even while every
/// thread of Swift's shared pool is blocked by other work (a test runner's synchronous tests, a
/// caller waiting for the plane). Jobs run in the order they were enqueued. Thread-safe.
final class ControlExecutor: TaskExecutor, @unchecked Sendable {
    /// The process's control thread, started on first use; nil when no thread could be started
    /// (the planes then run on the shared pool).
    static let shared: ControlExecutor? = ControlExecutor()

    let jobs = Mutex<[UnownedJob]>([])
    let wake = DispatchSemaphore(value: 0)
    var thread: PinnedThread?

    private init?() {
        do {
            thread = try PinnedThread.start(name: "pg-control") { [self] in run() }
        } catch {
            return nil
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        jobs.withLock { $0.append(job) }
        wake.signal()
    }

    /// Runs what was enqueued, oldest first, for the life of the process.
    func run() {
        var batch: [UnownedJob] = []
        while true {
            wake.wait()
            jobs.withLock { swap(&$0, &batch) }
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
            batch.removeAll(keepingCapacity: true)
        }
    }
}
