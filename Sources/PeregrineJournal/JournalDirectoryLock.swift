#if canImport(Glibc)
    import Glibc
#endif

/// The one writer of a journal directory: an exclusive `flock` on the directory itself (created
/// when missing; no lock file is left behind), held from before recovery to the journal's close,
/// so that a second run on the same directory is refused rather than write a segment of its own
/// beside the first's (which would leave the journal unreadable). Released when the lock is
/// deinitialised, or by the kernel when the process ends, however it ends. Readers (`replay`,
/// `journal verify`) take no lock. Thread-safe (immutable).
public final class JournalDirectoryLock: Sendable {
    let descriptor: Int32

    /// Takes the lock of `directory`; throws `JournalError.inUse` when another holds it.
    public init(directory: String) throws(JournalError) {
        try FileIO.makeDirectory(directory)
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io(operation: "open", path: directory, errno: errno) }
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            close(descriptor)
            if code == EWOULDBLOCK { throw .inUse(directory: directory) }
            throw .io(operation: "flock", path: directory, errno: code)
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }
}
