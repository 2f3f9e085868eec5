#if canImport(Glibc)
    import Glibc
#endif

/// The files a backtest, a sweep or a conversion writes for people (reports, CSVs, converted
/// files): checked against the inputs before anything is written, written in place, and
/// removed after a failure only when they are regular files.
public enum OutputFile {
    /// Refuses (usage error, nothing written) an output that is a directory or the same file
    /// (by device and inode, whatever the path) as one of `inputs`: writing it would destroy
    /// what is being read. Outputs that do not exist yet pass.
    public static func check(_ outputs: [(flag: String, path: String?)], inputs: [String]) throws(BacktestError) {
        guard outputs.contains(where: { $0.path != nil }) else { return }
        var inputFiles: [(dev_t, ino_t)] = []
        for input in inputs {
            var status = stat()
            if stat(input, &status) == 0 { inputFiles.append((status.st_dev, status.st_ino)) }
        }
        for case (let flag, let path?) in outputs {
            var status = stat()
            guard stat(path, &status) == 0 else { continue }
            if status.st_mode & S_IFMT == S_IFDIR {
                throw .usage("\(flag) \(path) is a directory: name a file")
            }
            if inputFiles.contains(where: { $0.0 == status.st_dev && $0.1 == status.st_ino }) {
                throw .usage("\(flag) \(path) is one of the input files: write it elsewhere")
            }
        }
    }

    /// Writes `text` to `path` (a file, a link to one, or a pipe such as /dev/stdout). A write
    /// that fails part-way empties a regular file (and removes it when `path` names it, not a
    /// link): no partial output stays behind.
    public static func write(_ text: String, to path: String, flag: String) throws(BacktestError) {
        guard let file = fopen(path, "w") else {
            throw .output("\(flag) \(path): cannot be written: \(String(cString: strerror(errno)))")
        }
        var failure: Int32 = 0
        if fputs(text, file) < 0 || fflush(file) != 0 { failure = errno }
        if fclose(file) != 0, failure == 0 { failure = errno }
        guard failure == 0 else {
            discard(path)
            throw .output("\(flag) \(path): the write failed: \(String(cString: strerror(failure)))")
        }
    }

    /// Empties what `path` leads to, if that is a regular file, then removes `path` if it is
    /// one itself: an output abandoned after a failure, through a link or not.
    public static func discard(_ path: String) {
        var status = stat()
        if stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG { _ = truncate(path, 0) }
        removeRegularFile(path)
    }

    /// Removes `path` if it names a regular file itself (not a link, a device or a pipe).
    public static func removeRegularFile(_ path: String) {
        var status = stat()
        if lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG { unlink(path) }
    }
}
