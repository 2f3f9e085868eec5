#if canImport(Glibc)
    import Glibc
#endif

/// Most of the system calls the journal makes, each turning a failure into a `JournalError`
/// that names the call and the file (`BackgroundSyncer` makes its own `fdatasync`; the writer,
/// the reader and the syncer close their descriptors).
public enum FileIO {
    static func check(_ result: Int32, _ operation: String, _ path: String) throws(JournalError) {
        if result < 0 { throw .io(operation: operation, path: path, errno: errno) }
    }

    /// Creates `path` and any missing parents, each one's entry synced in its parent (so a
    /// journal directory made just before a crash is still there).
    public static func makeDirectory(_ path: String) throws(JournalError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        var parent = prefix.isEmpty ? "." : prefix
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o755) == 0 {
                // The new directory's entry is durable only once its parent is synced.
                try syncDirectory(parent)
            } else if errno != EEXIST {
                throw .io(operation: "mkdir", path: prefix, errno: errno)
            }
            parent = prefix
            prefix += "/"
        }
    }

    /// Opens `path` to write an output to: when it is where standard output or standard error
    /// goes (/dev/stdout, or the file or pipe either is redirected to), that stream's own open
    /// file, through a copy of its descriptor, so that nothing written there before is truncated
    /// and a shell's `>>` keeps appending (what the stream buffered is flushed first); otherwise
    /// the file, created or emptied. nil when it cannot be opened (`errno` says why).
    public static func openOutput(_ path: String) -> UnsafeMutablePointer<FILE>? {
        for descriptor: Int32 in [1, 2] where isOpen(path, as: descriptor) {
            fflush(nil)
            let copy = dup(descriptor)
            guard copy >= 0 else { return nil }
            guard let file = fdopen(copy, "w") else {
                let failure = errno
                close(copy)
                errno = failure
                return nil
            }
            return file
        }
        return fopen(path, "w")
    }

    /// Whether `path` is the file open as `descriptor` (the same device and inode), and not
    /// /dev/null (where nothing is kept, whoever else writes there).
    public static func isOpen(_ path: String, as descriptor: Int32) -> Bool {
        var file = stat()
        var open = stat()
        return stat(path, &file) == 0 && fstat(descriptor, &open) == 0 && file.st_dev == open.st_dev
            && file.st_ino == open.st_ino && !isNullDevice(path)
    }

    /// Whether `path` is /dev/null (the device, under any name).
    public static func isNullDevice(_ path: String) -> Bool {
        var file = stat()
        var null = stat()
        return stat(path, &file) == 0 && stat("/dev/null", &null) == 0 && file.st_mode & S_IFMT == S_IFCHR
            && file.st_rdev == null.st_rdev
    }

    /// Opens for appending, creating the file when `create`.
    static func openForAppend(_ path: String, create: Bool) throws(JournalError) -> Int32 {
        let flags = O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0)
        let fd = open(path, flags, 0o644)
        try check(fd, "open", path)
        return fd
    }

    static func openForReading(_ path: String) throws(JournalError) -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        try check(fd, "open", path)
        return fd
    }

    /// Writes all of `bytes`, retrying short writes and interruptions.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ path: String) throws(JournalError) {
        var offset = 0
        while offset < bytes.count {
            guard let base = bytes.baseAddress else { return }
            let written = write(fd, base + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "write", path: path, errno: errno)
            }
            offset += written
        }
    }

    /// Writes `bytes` to `path` so that a crash leaves the old file or the whole new one: a
    /// temporary file beside it, synced, renamed into place, the directory synced. On failure
    /// the temporary file is removed (a full disk leaves nothing behind).
    public static func writeFileAtomically(_ path: String, _ chunks: [UInt8]..., directory: String) throws(JournalError)
    {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        try check(fd, "open", temporary)
        var failure: JournalError?
        for chunk in chunks where failure == nil {
            chunk.withUnsafeBytes { raw in
                do throws(JournalError) { try writeAll(fd, raw, temporary) } catch { failure = error }
            }
        }
        if failure == nil, fdatasync(fd) != 0 { failure = .io(operation: "fdatasync", path: temporary, errno: errno) }
        close(fd)
        if failure == nil, rename(temporary, path) != 0 {
            failure = .io(operation: "rename", path: temporary, errno: errno)
        }
        if let failure {
            _ = unlink(temporary)
            throw failure
        }
        try syncDirectory(directory)
    }

    static func syncData(_ fd: Int32, _ path: String) throws(JournalError) {
        try check(fdatasync(fd), "fdatasync", path)
    }

    /// Makes a new directory entry durable (after creating a segment).
    static func syncDirectory(_ path: String) throws(JournalError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try check(fd, "open", path)
        defer { close(fd) }
        try check(fsync(fd), "fsync", path)
    }

    static func size(_ path: String) throws(JournalError) -> Int {
        var info = stat()
        try check(stat(path, &info), "stat", path)
        return Int(info.st_size)
    }

    static func truncate(_ path: String, to size: Int) throws(JournalError) {
        try check(Glibc.truncate(path, off_t(size)), "truncate", path)
    }

    static func remove(_ path: String) throws(JournalError) {
        try check(unlink(path), "unlink", path)
    }

    /// The names in a directory (not `.` and `..`).
    public static func listDirectory(_ path: String) throws(JournalError) -> [String] {
        guard let directory = opendir(path) else { throw .io(operation: "opendir", path: path, errno: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Whether anything exists at `path`.
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// The directory `path` names a file in: its text before the last `/` ("/" for a file at
    /// the root, "." for a bare name).
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Whether `path` is a directory (following symbolic links).
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The first of `path` and the directories above it that exists and is not a directory
    /// (following symbolic links): what stops `path` being used or made as a directory; nil when
    /// nothing does.
    public static func nonDirectoryInPath(_ path: String) -> String? {
        var prefix = ""
        for (index, component) in path.split(separator: "/", omittingEmptySubsequences: false).enumerated() {
            prefix += index == 0 ? String(component) : "/" + component
            guard !component.isEmpty, component != "." else { continue }
            var info = stat()
            guard stat(prefix, &info) == 0 else { return nil }  // missing: made when needed
            if (info.st_mode & S_IFMT) != S_IFDIR { return prefix }
        }
        return nil
    }

    /// Whether `path` is a regular file (following symbolic links).
    public static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// Whether `path` is a regular file of 0 bytes (following symbolic links).
    public static func isEmptyFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && info.st_size == 0
    }

    /// Maps a whole file read-only; `body` sees its bytes. Empty files map to an empty buffer.
    static func withMappedFile<R>(
        _ path: String, _ body: (UnsafeRawBufferPointer) throws(JournalError) -> R
    ) throws(JournalError) -> R {
        let fd = try openForReading(path)
        defer { close(fd) }
        var info = stat()
        try check(fstat(fd, &info), "fstat", path)
        let length = Int(info.st_size)
        if length == 0 { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        guard let address = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), address != MAP_FAILED else {
            throw .io(operation: "mmap", path: path, errno: errno)
        }
        defer { munmap(address, length) }
        _ = madvise(address, length, MADV_SEQUENTIAL)
        return try body(UnsafeRawBufferPointer(start: address, count: length))
    }

    /// Wall-clock nanoseconds since 1970 (segment headers only; never logic).
    static func wallClockNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }
}
