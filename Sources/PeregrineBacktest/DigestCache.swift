import PeregrineCore
import PeregrineJournal

#if canImport(Glibc)
    import Glibc
#endif

/// What identifies one version of a file without reading it: its device and inode, size, and
/// modification and status-change times (ns). Writing the file, replacing it or changing its
/// times moves at least one of them; the status-change time cannot be set back by a user.
struct FileIdentity: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modified: Int64
    var changed: Int64

    /// The identity of the open file `descriptor`; nil when it cannot be read or the file is no
    /// longer linked anywhere (nothing can name it again).
    init?(descriptor: Int32) {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        self.init(info)
    }

    /// The identity of the file at `path` now; nil when it cannot be read.
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        self.init(info)
    }

    init?(_ info: stat) {
        guard (info.st_mode & S_IFMT) == S_IFREG, info.st_nlink > 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        let (modifiedNanoseconds, modifiedOverflow) = Int64(info.st_mtim.tv_sec).multipliedReportingOverflow(
            by: 1_000_000_000)
        let (changedNanoseconds, changedOverflow) = Int64(info.st_ctim.tv_sec).multipliedReportingOverflow(
            by: 1_000_000_000)
        guard !modifiedOverflow, !changedOverflow else { return nil }
        modified = modifiedNanoseconds &+ Int64(info.st_mtim.tv_nsec)
        changed = changedNanoseconds &+ Int64(info.st_ctim.tv_nsec)
    }
}

/// The SHA-256 of input files hashed before, kept across runs by the files' identity
/// (`FileIdentity`), so that backtesting one file many times hashes it once: one small file per
/// identity in `directory` (default `$XDG_CACHE_HOME/peregrine/sha256`, else
/// `~/.cache/peregrine/sha256`). Every run still checks each of a converted file's records'
/// checksums, and parses each row of a text file, so a damaged file is found even when its
/// digest comes from here.
///
/// An entry is stored only when the file's identity was the same before and after hashing and
/// its last change was `settle` or more before hashing began (a change in the same tick of the
/// file system's clock would not move its times). An entry of another format version, or that
/// cannot be parsed, is not used (the file is hashed, and the entry replaced). Only a directory
/// owned by the user and writable by no one else is used, and only entries that are regular
/// files owned by the user (not followed through a symbolic link). Failing to read or write the
/// directory only means hashing again: it never fails a backtest. Thread-safe: entries are
/// replaced by renaming a complete file into place. A digest taken from here is confirmed after
/// the run (`InputHashes.wait`): a file whose identity moved meanwhile is hashed.
public struct DigestCache: Sendable {
    /// The first line of an entry: its format and version.
    static let header = "peregrine-sha256-cache 1"

    public let directory: String
    /// How long before hashing began the file must have been last changed for its digest to be
    /// stored.
    let settle: Duration

    public init(directory: String, settle: Duration = .seconds(2)) {
        self.directory = directory
        self.settle = settle
    }

    /// `$XDG_CACHE_HOME/peregrine/sha256`, else `$HOME/.cache/peregrine/sha256`; nil when neither
    /// variable names an absolute directory.
    public static func defaultDirectory() -> String? {
        if let base = getenv("XDG_CACHE_HOME").map({ String(cString: $0) }), base.hasPrefix("/") {
            return base + "/peregrine/sha256"
        }
        if let home = getenv("HOME").map({ String(cString: $0) }), home.hasPrefix("/") {
            return home + "/.cache/peregrine/sha256"
        }
        return nil
    }

    func entryPath(_ identity: FileIdentity) -> String {
        "\(directory)/\(identity.device)-\(identity.inode)"
    }

    static func entryText(_ identity: FileIdentity, digest: String) -> String {
        "\(header)\n\(identity.device) \(identity.inode) \(identity.size) \(identity.modified) \(identity.changed) "
            + "\(digest)\n"
    }

    /// Whether `info` is the user's own and writable by no one else.
    static func isOwn(_ info: stat) -> Bool {
        info.st_uid == geteuid() && info.st_mode & 0o022 == 0
    }

    /// Whether the directory exists, is the user's own and writable by no one else (entries in
    /// a directory others can write to could be planted).
    func isTrusted() -> Bool {
        var info = stat()
        return lstat(directory, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR && Self.isOwn(info)
    }

    /// The digest stored for `identity`, or nil.
    func digest(for identity: FileIdentity) -> String? {
        guard isTrusted() else { return nil }
        // Not through a symbolic link, and without blocking on anything but a regular file.
        let fd = open(entryPath(identity), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, Self.isOwn(info) else { return nil }
        var bytes = [UInt8](repeating: 0, count: 512)
        let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0, count < bytes.count else { return nil }
        let text = String(decoding: bytes[0..<count], as: UTF8.self)
        // The whole entry must be the one this identity and its digest would make.
        guard let digest = text.dropLast().split(separator: " ").last, digest.count == 64,
            digest.allSatisfy({ $0.isHexDigit && !$0.isUppercase }),
            Self.entryText(identity, digest: String(digest)) == text
        else { return nil }
        return String(digest)
    }

    /// Stores `digest` for the file `identity` names, hashed from `startedAt` (ns since the
    /// epoch, the real-time clock) on, when the file at `path` still has that identity and was
    /// last changed `settle` before. True when stored.
    @discardableResult
    func store(_ digest: String, for identity: FileIdentity, path: String, startedAt: Int64) -> Bool {
        let (seconds, overflow) = settle.components.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let settleNanoseconds = seconds &+ settle.components.attoseconds / 1_000_000_000
        guard !overflow, FileIdentity(path: path) == identity,
            Swift.max(identity.modified, identity.changed) <= startedAt &- settleNanoseconds
        else { return false }
        guard (try? FileIO.makeDirectory(directory)) != nil, isTrusted() else { return false }
        let path = entryPath(identity)
        guard let (fd, temporary) = UniqueFile.create(prefix: path + ".") else { return false }
        let text = Array(Self.entryText(identity, digest: digest).utf8)
        let written = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let closed = close(fd) == 0
        guard written == text.count, closed, rename(temporary, path) == 0 else {
            unlink(temporary)
            return false
        }
        return true
    }
}
