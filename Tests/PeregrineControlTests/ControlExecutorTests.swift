import PeregrineCore
import Synchronization
import Testing

@testable import PeregrineControl

#if canImport(Glibc)
    import Glibc
#endif

/// The control planes' executor under load: a million tasks from four threads each run exactly
/// once, all on one thread (the control thread), in the order their thread created them.
@Suite("Control executor stress", .serialized)
struct ControlExecutorTests {
    static let producers = 4
    static let tasksPerProducer = 250_000

    /// What the tasks record: per producer, the indices in the order they ran.
    final class Log: Sendable {
        let ran = Mutex<[[Int]]>(Array(repeating: [], count: ControlExecutorTests.producers))
        let finished = Atomic<Int>(0)
        /// The thread the first task ran on (its id and name), and how many ran on another.
        let thread = Atomic<UInt>(0)
        let threadName = Mutex<String>("")
        let elsewhere = Atomic<Int>(0)
    }

    /// The calling thread's name, as the kernel has it.
    static func currentThreadName() -> String {
        let descriptor = open("/proc/thread-self/comm", O_RDONLY)
        guard descriptor >= 0 else { return "" }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(descriptor, &buffer, buffer.count)
        guard count > 0 else { return "" }
        return String(decoding: buffer[0..<count].prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
    }

    @Test func aMillionTasksFromFourThreadsRunOnceInOrderOnTheControlThread() throws {
        let executor = try #require(ControlExecutor.shared)
        let log = Log()
        let threads = try (0..<Self.producers).map { producer in
            try PinnedThread.start(name: "stress-task-\(producer)") {
                for index in 0..<Self.tasksPerProducer {
                    Task(executorPreference: executor) {
                        let current = UInt(bitPattern: Int(bitPattern: pthread_self()))
                        let (first, thread) = log.thread.compareExchange(
                            expected: 0, desired: current, ordering: .relaxed)
                        if first { log.threadName.withLock { $0 = Self.currentThreadName() } }
                        if !first, thread != current { log.elsewhere.add(1, ordering: .relaxed) }
                        log.ran.withLock { $0[producer].append(index) }
                        log.finished.add(1, ordering: .releasing)
                    }
                }
            }
        }
        for thread in threads { thread.join() }
        let total = Self.producers * Self.tasksPerProducer
        // Bounded, for a machine busy with other tests; the figures below say what was missing.
        for _ in 0..<600_000 where log.finished.load(ordering: .acquiring) < total { usleep(1_000) }
        #expect(log.finished.load(ordering: .acquiring) == total)
        #expect(log.elsewhere.load(ordering: .relaxed) == 0)
        #expect(log.threadName.withLock { $0 } == "pg-control")
        let ran = log.ran.withLock { $0 }
        for producer in 0..<Self.producers {
            #expect(ran[producer] == Array(0..<Self.tasksPerProducer), "producer \(producer)")
        }
    }
}
