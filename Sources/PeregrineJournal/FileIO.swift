#if canImport(Glibc)
    import Glibc
#endif

/// The system calls the journal makes, each turning a failure into a `JournalError` that
/// names the call and the file. The only file here that talks to libc.
enum FileIO {
    static func check(_ result: Int32, _ operation: String, _ path: String) throws(JournalError) {
        if result < 0 { throw .io(operation: operation, path: path, errno: errno) }
    }

    /// Creates `path` and any missing parents.
    static func makeDirectory(_ path: String) throws(JournalError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw .io(operation: "mkdir", path: prefix, errno: errno)
            }
            prefix += "/"
        }
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
    static func listDirectory(_ path: String) throws(JournalError) -> [String] {
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

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

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
