import PeregrineSys
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A named OS thread, optionally pinned to a set of CPUs.
///
/// Pinning is attempted on the new thread before `body` runs; if the OS refuses it the thread
/// runs anyway and `pinning` says why, so the caller can put it in its report.
/// `start` returns after the pinning attempt. Creating a thread allocates; do it at set-up.
public final class PinnedThread: @unchecked Sendable {
    /// What happened to a pinning request.
    public enum Pinning: Equatable, Sendable, CustomStringConvertible {
        case notRequested
        case pinned(cpus: [Int])
        case refused(cpus: [Int], errno: Int32)

        public var description: String {
            switch self {
            case .notRequested: return "not pinned"
            case .pinned(let cpus): return "pinned to CPU \(cpus.map(String.init).joined(separator: ","))"
            case .refused(let cpus, let errno):
                return
                    "pinning to CPU \(cpus.map(String.init).joined(separator: ",")) refused (errno \(errno)); running unpinned"
            }
        }
    }

    private final class Context: @unchecked Sendable {
        let name: String
        let cpus: [Int]
        let body: @Sendable () -> Void
        let pinningDone = Atomic<Bool>(false)
        var pinning: Pinning = .notRequested

        init(name: String, cpus: [Int], body: @escaping @Sendable () -> Void) {
            self.name = name
            self.cpus = cpus
            self.body = body
        }
    }

    /// The thread's name.
    public let name: String
    /// The outcome of the pinning request.
    public let pinning: Pinning
    private let thread: pthread_t
    private let joined = Atomic<Bool>(false)

    private init(name: String, pinning: Pinning, thread: pthread_t) {
        self.name = name
        self.pinning = pinning
        self.thread = thread
    }

    /// Starts `body` on a new thread named `name`, pinned to `cpus` when not empty.
    public static func start(
        name: String, cpus: [Int] = [], body: @escaping @Sendable () -> Void
    ) throws(CoreError) -> PinnedThread {
        let context = Context(name: name, cpus: cpus, body: body)
        let unmanaged = Unmanaged.passRetained(context)
        #if canImport(Glibc)
            var thread = pthread_t()
        #else
            var thread: pthread_t? = nil
        #endif
        let result = pthread_create(
            &thread, nil,
            { raw in
                guard let raw else { return nil }
                let context = Unmanaged<Context>.fromOpaque(raw).takeRetainedValue()
                _ = context.name.withCString { pg_set_current_thread_name($0) }
                if !context.cpus.isEmpty {
                    let cpus32 = context.cpus.map { Int32(truncatingIfNeeded: $0) }
                    let status = cpus32.withUnsafeBufferPointer {
                        pg_pin_current_thread($0.baseAddress, Int32($0.count))
                    }
                    context.pinning =
                        status == 0
                        ? .pinned(cpus: context.cpus) : .refused(cpus: context.cpus, errno: status)
                }
                context.pinningDone.store(true, ordering: .releasing)
                context.body()
                return nil
            }, unmanaged.toOpaque())
        guard result == 0 else {
            unmanaged.release()
            throw .threadStartFailed(name: name, errno: result)
        }
        while !context.pinningDone.load(ordering: .acquiring) {
            pg_thread_yield()
        }
        #if canImport(Glibc)
            return PinnedThread(name: name, pinning: context.pinning, thread: thread)
        #else
            guard let thread else { throw .threadStartFailed(name: name, errno: result) }
            return PinnedThread(name: name, pinning: context.pinning, thread: thread)
        #endif
    }

    /// Waits for the thread to finish. Calling it again does nothing.
    public func join() {
        if !joined.exchange(true, ordering: .acquiringAndReleasing) {
            pthread_join(thread, nil)
        }
    }

    /// Number of CPUs this process may run on.
    public static var availableCPUCount: Int { Int(pg_available_cpu_count()) }
}
