import PeregrineSys

/// A memory-mapped file cut short while it is read (truncated, or rewritten shorter in place)
/// makes the next read of a page past its new end raise SIGBUS, which would crash the process.
/// Once `install` has run, the process instead removes the files named with `removeOnExit` (an
/// output's partial file), writes its message to standard error and exits with status 1.
/// Thread-safe, no allocation after `install` but one copy of each path named.
public enum BusErrorExit {
    /// Routes SIGBUS to the exit with `message` (one line, ending in a line break). Call once,
    /// before starting threads.
    public static func install(message: String) {
        pg_exit_on_sigbus(message)
    }

    /// Names a file the exit removes; returns the slot to pass to `keep` (nil when every slot
    /// is taken: the file is then left).
    public static func removeOnExit(_ path: String) -> Int32? {
        let slot = pg_remove_on_sigbus(path)
        return slot >= 0 ? slot : nil
    }

    /// Forgets the file in `slot`: it was renamed into place or removed.
    public static func keep(_ slot: Int32?) {
        if let slot { pg_keep_on_sigbus(slot) }
    }
}
