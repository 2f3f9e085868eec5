import PeregrineCore
import PeregrineJournal

#if canImport(Glibc)
    import Glibc
#endif

/// The files a backtest, a sweep or a conversion writes for people (reports, CSVs, converted
/// files): checked against the inputs before anything is written, written under another name
/// and renamed into place (`StagedOutput`; a converted file and a sweep's ranked output in their
/// own way), and removed after a failure only when they are regular files.
public enum OutputFile {
    /// Refuses (usage error, nothing written) an output that is a directory or the same file
    /// (by device and inode, whatever the path) as one of `inputs`: writing it would destroy
    /// what is being read, or one this process may not write (the file, or its directory for a
    /// new one). Outputs that do not exist yet pass.
    /// Also refuses two outputs that are the same file (one would be lost) and an output whose
    /// directory does not exist (found before the run, not after it).
    public static func check(_ outputs: [(flag: String, path: String?)], inputs: [String]) throws(BacktestError) {
        guard outputs.contains(where: { $0.path != nil }) else { return }
        var inputFiles: [(dev_t, ino_t)] = []
        for input in inputs {
            var status = stat()
            if stat(input, &status) == 0 { inputFiles.append((status.st_dev, status.st_ino)) }
        }
        var seen: [(flag: String, path: String, identity: String)] = []
        for case (let flag, let path?) in outputs {
            guard !path.isEmpty else { throw .usage("\(flag) is given an empty name: name a file") }
            var status = stat()
            let identity: String
            if stat(path, &status) == 0 {
                if status.st_mode & S_IFMT == S_IFDIR {
                    throw .usage("\(flag) \(path) is a directory: name a file")
                }
                if inputFiles.contains(where: { $0.0 == status.st_dev && $0.1 == status.st_ino }) {
                    throw .usage("\(flag) \(path) is one of the input files: write it elsewhere")
                }
                if access(path, W_OK) != 0 {
                    throw .usage("\(flag) \(path) cannot be written: \(String(cString: strerror(errno)))")
                }
                identity = "\(status.st_dev):\(status.st_ino)"
            } else {
                // A link to nothing is written through: the file it names is created.
                let written = Self.linkedPath(path)
                let directory = FileIO.directory(of: written)
                guard stat(directory, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
                    let problem = stat(directory, &status) == 0 ? "is not a directory" : "does not exist"
                    throw .usage(
                        written == path
                            ? "\(flag) \(path): its directory \(directory) \(problem)"
                            : "\(flag) \(path) is a link to \(written), whose directory \(directory) \(problem)")
                }
                if access(directory, W_OK | X_OK) != 0 {
                    throw .usage(
                        "\(flag) \(path) cannot be written: its directory \(directory): "
                            + String(cString: strerror(errno)))
                }
                identity = "\(status.st_dev):\(status.st_ino)/" + Self.lastComponent(of: written)
            }
            // (/dev/null may take several outputs: nothing is kept.)
            if let other = seen.first(where: { $0.identity == identity }), !FileIO.isNullDevice(path) {
                throw .usage(
                    "\(flag) \(path) is the same file as \(other.flag) \(other.path): give each output its own file")
            }
            seen.append((flag, path, identity))
        }
    }

    /// The path a file written at `path` lands on: `path` itself, or where its symbolic links
    /// lead (followed one by one, relative ones from their own directory; at most 40).
    static func linkedPath(_ path: String) -> String {
        var current = path
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        for _ in 0..<40 {
            var status = stat()
            guard lstat(current, &status) == 0, status.st_mode & S_IFMT == S_IFLNK else { return current }
            let count = readlink(current, &buffer, buffer.count - 1)
            guard count > 0 else { return current }
            let target = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = target.hasPrefix("/") ? target : FileIO.directory(of: current) + "/" + target
        }
        return current
    }

    /// Whether `path` is the file standard output writes to (/dev/stdout, or the file or pipe
    /// it is redirected to): what is written there must be all that is printed there. Never
    /// /dev/null, where nothing is kept.
    public static func isStandardOutput(_ path: String) -> Bool { FileIO.isOpen(path, as: 1) }

    /// Whether `path` is the file standard error writes to (as `isStandardOutput`).
    static func isStandardError(_ path: String) -> Bool { FileIO.isOpen(path, as: 2) }

    /// Whether `path` is where standard output or standard error goes (as `isStandardOutput`):
    /// left as it is after a failure, since the error message goes there.
    public static func isStandardStream(_ path: String) -> Bool { isStandardOutput(path) || isStandardError(path) }

    /// Whether `path` is a symbolic link.
    public static func isLink(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFLNK
    }

    static func lastComponent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// The file to replace for an output written under another name and renamed over it
    /// (`data convert`, a sweep's ranked rewrite): `path`, or the file a link at `path` leads
    /// to (renaming over the link would replace the link, not its file). Refuses (usage error)
    /// a path that is, or leads to, anything but a regular file (a device, a pipe such as
    /// /dev/stdout, a directory: a rename would replace it) and a link that leads nowhere.
    public static func renameTarget(_ path: String, flag: String) throws(BacktestError) -> String {
        if isStandardOutput(path) {
            throw .usage(
                "\(flag) \(path) is standard output: it is written under another name and renamed, so name a file")
        }
        var status = stat()
        guard lstat(path, &status) == 0 else { return path }
        var target = path
        if status.st_mode & S_IFMT == S_IFLNK {
            guard let resolved = realpath(path, nil) else {
                // A link to a file not there yet: the file it names is created, as for the
                // other outputs (when its directory exists; not a loop of links).
                let named = linkedPath(path)
                var directory = stat()
                guard lstat(named, &status) != 0, stat(FileIO.directory(of: named), &directory) == 0,
                    directory.st_mode & S_IFMT == S_IFDIR
                else { throw .usage("\(flag) \(path) is a link to nothing: name a file") }
                return named
            }
            target = String(cString: resolved)
            free(resolved)
            guard stat(target, &status) == 0 else { throw .usage("\(flag) \(path) is a link to nothing: name a file") }
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw .usage(
                "\(flag) \(path) is not a regular file (a device, a pipe or a directory): it is written under "
                    + "another name and renamed over it, so name a file")
        }
        return target
    }

    /// Writes `text` to `path` as a `StagedOutput` (a regular file under another name, renamed
    /// over it; standard output, a device or a pipe in place). A write that fails part-way
    /// leaves no partial file behind.
    /// With `staging`, the file is held there, written whole, to be renamed into place with the
    /// run's other outputs (`StagedOutputs.publish`).
    public static func write(_ text: String, to path: String, flag: String, staging: StagedOutputs? = nil)
        throws(BacktestError)
    {
        // (After a run: a file that cannot be written fails it, never as a usage error.)
        let output: StagedOutput
        do { output = try StagedOutput(path, flag: flag) } catch { throw .output(error.description) }
        guard let file = output.file, fputs(text, file) >= 0 else {
            let failure = errno
            output.abandon()
            throw .output("\(flag) \(path): the write failed: \(String(cString: strerror(failure)))")
        }
        if let staging { try staging.hold(output) } else { try output.commit() }
    }

    /// Whether `path` is, or leads to, a regular file.
    public static func isRegularFile(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFREG
    }

    /// Empties what `path` leads to, if that is a regular file, then removes `path` if it is
    /// one itself: an output abandoned after a failure, through a link or not. Never standard
    /// output or standard error redirected to a file (`isStandardStream`).
    public static func discard(_ path: String) {
        guard !isStandardStream(path) else { return }
        if isRegularFile(path) { _ = truncate(path, 0) }
        removeRegularFile(path)
    }

    /// Removes `path` if it names a regular file itself (not a link, a device or a pipe).
    public static func removeRegularFile(_ path: String) {
        var status = stat()
        if lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG { unlink(path) }
    }
}

/// An output file written as it is made: a regular file (or a link to one, or a name not taken
/// yet) under another name beside it, `NAME.partial-PID-` and a random suffix, synced and
/// renamed over it once complete (`commit`), so that a run killed part-way (SIGKILL, a power cut)
/// leaves the file at its name as it was and the partial file beside it, never a cut one that
/// reads whole; the next run writing that name removes such a file once it is stale
/// (`removeStalePartialFiles`). Written in place instead, as before: standard output or error
/// (redirected to a file or not), a device such as /dev/null, a pipe, and a file a rename would
/// change more than the contents of (one with other hard links, owned by another user, or in a
/// directory this process cannot write), or when the partial file cannot be made; a file whose
/// rename is refused (a file mounted into a container) is copied over in place. Not
/// thread-safe: one writer.
public final class StagedOutput {
    public let path: String
    let flag: String
    /// The open file to write; nil once committed or abandoned.
    public private(set) var file: UnsafeMutablePointer<FILE>?
    /// The file written and the one it is renamed over; nil when written in place.
    let staged: (partial: String, target: String)?
    /// Written whole and closed (`finish`), not yet renamed into place (`publish`).
    private var awaitsPublishing = false
    /// The partial file's slot in `BusErrorExit` (removed if the process exits on SIGBUS).
    private var busErrorSlot: Int32?
    /// A descriptor of the partial file holding an exclusive `flock` on it until it is renamed
    /// or removed (also while it waits closed to be published): another run writing the same
    /// name, in any process namespace of this machine, sees it is still wanted; -1 for none.
    private var lock: Int32 = -1

    /// Whether it is written under another name and renamed.
    public var isStaged: Bool { staged != nil }

    /// Opens `path` (`flag` names it in messages); throws `.output` when it cannot be written.
    public init(_ path: String, flag: String) throws(BacktestError) {
        self.path = path
        self.flag = flag
        if let (descriptor, partial, target) = Self.partialFile(for: path, flag: flag),
            let file = fdopen(descriptor, "w")
        {
            self.file = file
            staged = (partial, target)
            busErrorSlot = BusErrorExit.removeOnExit(partial)
            // (Closed on exec, as the file is: a program started meanwhile holds no lock.)
            lock = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
            if lock >= 0, flock(lock, LOCK_EX | LOCK_NB) != 0 {
                close(lock)
                lock = -1
            }
            return
        }
        guard let file = FileIO.openOutput(path) else {
            let failure = errno
            throw .output("\(flag) \(path): cannot be written: \(String(cString: strerror(failure)))")
        }
        self.file = file
        staged = nil
    }

    /// A new file of its own beside `path`'s target (never one that exists), with the mode a
    /// file opened for writing there would have (the target's, or rw for all less the umask),
    /// and the target; nil where the output is written in place (see the type).
    static func partialFile(for path: String, flag: String) -> (descriptor: Int32, partial: String, target: String)? {
        var status = stat()
        guard !OutputFile.isStandardStream(path), stat(path, &status) != 0 || status.st_mode & S_IFMT == S_IFREG,
            let target = try? OutputFile.renameTarget(path, flag: flag),
            access(FileIO.directory(of: target), W_OK | X_OK) == 0
        else { return nil }
        let exists = stat(target, &status) == 0
        if exists, status.st_nlink != 1 || status.st_uid != geteuid() { return nil }
        removeStalePartialFiles(of: target)
        let process = getpid()
        for _ in 0..<100 {
            let name = target + ".partial-\(process)-" + String(UInt64.random(in: 0..<(1 << 36)), radix: 36)
            let descriptor = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            guard descriptor >= 0 else {
                if errno == EEXIST { continue }
                return nil
            }
            guard !exists || fchmod(descriptor, status.st_mode & 0o777) == 0 else {
                close(descriptor)
                unlink(name)
                return nil
            }
            return (descriptor, name, target)
        }
        return nil
    }

    /// Removes the partial files of `target` that runs killed part-way left beside it: those
    /// named with the id of a process that no longer exists (`NAME.partial-PID-…`), that are the
    /// user's own regular files, last written a minute or more ago, and that no process holds a
    /// lock on (a live writer holds one until it renames or removes its file: one in another PID
    /// namespace, whose id means nothing here, keeps its file). Files named without an id (by
    /// builds before the id was added) are left. Failing to read the directory, to lock a file
    /// or to remove one leaves it: nothing fails for it.
    static func removeStalePartialFiles(of target: String) {
        let directory = FileIO.directory(of: target)
        let prefix = OutputFile.lastComponent(of: target) + ".partial-"
        let now = time(nil)
        guard let names = try? FileIO.listDirectory(directory) else { return }
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let dash = rest.firstIndex(of: "-"), let process = Int32(rest[..<dash]), process > 0,
                process != getpid(), kill(process, 0) != 0, errno == ESRCH
            else { continue }
            let path = directory + "/" + name
            let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
            guard descriptor >= 0 else { continue }
            defer { close(descriptor) }
            var status = stat()
            guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_uid == geteuid(),
                status.st_mtim.tv_sec <= now &- 60, flock(descriptor, LOCK_EX | LOCK_NB) == 0
            else { continue }
            unlink(path)
        }
    }

    deinit { abandon() }

    /// Closes the file and, staged, syncs it and renames it over its name (or copies it there
    /// when the rename is refused); throws `.output` when a write, the close or the rename
    /// failed (the partial file removed, the file at the name as it was).
    public func commit() throws(BacktestError) {
        try finish()
        try publish()
    }

    /// Closes the file, synced when staged, without renaming it (`publish` does); throws
    /// `.output` when a write or the close failed (the partial file removed).
    public func finish() throws(BacktestError) {
        guard let file else { return }
        self.file = nil
        var failure: Int32 = 0
        if fflush(file) != 0 { failure = errno }
        if failure == 0, staged != nil, fsync(fileno(file)) != 0 { failure = errno }
        if fclose(file) != 0, failure == 0 { failure = errno }
        guard failure == 0 else {
            if let staged { unlink(staged.partial) }
            releaseLock()
            BusErrorExit.keep(busErrorSlot)
            throw .output("\(flag) \(path): the write failed: \(String(cString: strerror(failure)))")
        }
        awaitsPublishing = staged != nil
    }

    /// Renames the finished file over its name (or copies it there when the rename is refused);
    /// throws `.output` when neither could be done (the partial file removed, the file at the
    /// name as it was). Does nothing unless finished and not yet published.
    public func publish() throws(BacktestError) {
        guard awaitsPublishing, let staged else { return }
        awaitsPublishing = false
        defer {
            releaseLock()
            BusErrorExit.keep(busErrorSlot)
        }
        guard rename(staged.partial, staged.target) != 0 else { return }
        let refused = errno
        defer { unlink(staged.partial) }
        guard refused == EBUSY || refused == EXDEV || refused == EPERM || refused == EACCES,
            Self.copy(staged.partial, over: staged.target)
        else {
            throw .output(
                "\(flag) \(path): cannot be written (renaming \(staged.partial)): \(String(cString: strerror(refused)))"
            )
        }
    }

    /// Writes the contents of `source` over `target` in place (synced); false when a step failed.
    static func copy(_ source: String, over target: String) -> Bool {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { return false }
        defer { close(input) }
        let output = open(target, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard output >= 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var copied = true
        while copied {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count <= 0 {
                copied = count == 0
                break
            }
            var written = 0
            while written < count, copied {
                let step = buffer.withUnsafeBytes {
                    write(output, $0.baseAddress.map { $0 + written }, count - written)
                }
                if step > 0 { written += step } else { copied = false }
            }
        }
        if copied, fsync(output) != 0 { copied = false }
        return close(output) == 0 && copied
    }

    /// Closes the file and removes the partial one (a failed run): nothing is renamed. Does
    /// nothing once published or abandoned.
    public func abandon() {
        if let file {
            self.file = nil
            fclose(file)
        } else if !awaitsPublishing {
            return
        }
        awaitsPublishing = false
        if let staged { unlink(staged.partial) }
        releaseLock()
        BusErrorExit.keep(busErrorSlot)
    }

    /// Closes the partial file's lock (`lock`), once it is renamed or removed.
    private func releaseLock() {
        if lock >= 0 { close(lock) }
        lock = -1
    }
}

/// Outputs written whole (`StagedOutput.finish`) and renamed into place together once every one
/// of a run's outputs is (`publish`): a run killed while its reports are made leaves none of
/// its outputs at their names, rather than new CSVs beside an earlier run's reports. (The
/// renames themselves follow one another: a kill between two, microseconds apart, can still
/// split them.) Those never published are removed when it goes (`deinit`). Used by one thread
/// at a time (the run's, then the command's after it): Sendable to travel with
/// `BacktestOutputFiles`, not to be shared.
public final class StagedOutputs: @unchecked Sendable {
    private var outputs: [StagedOutput] = []

    public init() {}

    /// Finishes `output` and holds it for `publish`; throws as `StagedOutput.finish` does.
    public func hold(_ output: StagedOutput) throws(BacktestError) {
        try output.finish()
        outputs.append(output)
    }

    /// Renames every output held into place, in the order they were held; the first that
    /// cannot be renamed throws, and the ones after it are removed.
    public func publish() throws(BacktestError) {
        let held = outputs
        outputs = []
        for (index, output) in held.enumerated() {
            do { try output.publish() } catch {
                for later in held[(index + 1)...] { later.abandon() }
                throw error
            }
        }
    }

    /// Removes every output held without publishing it (a failed run).
    public func abandon() {
        for output in outputs { output.abandon() }
        outputs = []
    }

    deinit { abandon() }
}
