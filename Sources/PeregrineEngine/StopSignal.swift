import PeregrineCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Set by SIGINT/SIGTERM once `installHandlers()` has run; read by the pipeline's monitor.
/// Signal handlers may only do async-signal-safe work, so the handler just stores an atomic.
public enum StopSignal {
    private static let raised = Atomic<Int32>(0)

    /// Routes SIGINT and SIGTERM to `StopSignal` instead of terminating the process, and
    /// unblocks them on the calling thread (a parent may have started us with them blocked;
    /// threads started afterwards inherit the mask). Call before starting threads.
    public static func installHandlers() {
        #if canImport(Glibc)
            signal(SIGINT) { number in StopSignal.record(number) }
            signal(SIGTERM) { number in StopSignal.record(number) }
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGINT)
            sigaddset(&set, SIGTERM)
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
        #endif
    }

    /// Makes a file cut short under a memory map (an input, a converted file or a journal
    /// truncated or rewritten shorter while it is read: SIGBUS at the next page past its new end)
    /// end the process with a message and exit status 1, its partial outputs removed
    /// (`BusErrorExit`), instead of a crash. Call once, before starting threads.
    public static func exitOnBusError() {
        BusErrorExit.install(
            message: "error: a file this command was reading through a memory map (an input, a converted file or a "
                + "journal) was cut short while it read it (SIGBUS): nothing it was writing is kept; rewrite such "
                + "files only between runs (data convert writes a new file and renames it into place), then run "
                + "again\n")
    }

    private static func record(_ number: Int32) {
        raised.store(number, ordering: .relaxed)
    }

    /// The signal received, if any (0 when none).
    public static var received: Int32 { raised.load(ordering: .relaxed) }

    /// Name of the signal received, for the report.
    public static var receivedName: String? {
        switch received {
        case 0: return nil
        case 2: return "SIGINT"
        case 15: return "SIGTERM"
        case let other: return "signal \(other)"
        }
    }
}
