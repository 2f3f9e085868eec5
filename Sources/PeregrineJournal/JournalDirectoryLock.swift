#if canImport(Glibc)
    import Glibc
#endif

/// The one writer of a journal directory: an exclusive `flock` on the directory itself (created
/// when missing; no lock file is left behind), held from before recovery to the journal's close,
/// so that a second run on the same directory is refused rather than write a segment of its own
/// beside the first's (which would leave the journal unreadable). Released when the lock is
/// deinitialised, or by the kernel when the process ends, however it ends. Readers (`replay`,
/// `journal verify`) take no lock. A file system that cannot lock a directory (some network
/// file systems) leaves the run without this guard (`isHeld` false). Thread-safe (immutable).
public final class JournalDirectoryLock: Sendable {
    let descriptor: Int32
    /// Whether the lock is held (false where the file system cannot lock a directory).
    public let isHeld: Bool

    /// Takes the lock of `directory`; throws `JournalError.inUse` when another holds it.
    public init(directory: String) throws(JournalError) {
        try FileIO.makeDirectory(directory)
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io(operation: "open", path: directory, errno: errno) }
        switch Self.lock(descriptor) {
        case 0:
            isHeld = true
        case EWOULDBLOCK:
            close(descriptor)
            throw .inUse(directory: directory)
        default:
            isHeld = false
        }
        self.descriptor = descriptor
    }

    /// `flock`s `descriptor`: 0, or the error. A lock held by another is tried again for up to
    /// 0.2 s: a process forked at the moment its holder let go (by another thread of that
    /// process) holds the descriptor until it runs its program, a few microseconds, while a
    /// run writing the journal holds it for as long as it runs.
    static func lock(_ descriptor: Int32) -> Int32 {
        var tries = 0
        while true {
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return 0 }
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR, tries < 200 else { return code }
            tries += 1
            usleep(1_000)
        }
    }

    deinit { close(descriptor) }
}
