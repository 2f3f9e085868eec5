import CZlib
import PeregrineCodec
import PeregrineCore

#if canImport(Glibc)
    import Glibc
#endif

/// Gzip-compressed files (`.gz`, as Tardis ships its CSVs): inflated once, in 1 MiB chunks,
/// into an unlinked temporary file (in `$TMPDIR`, else `/tmp`) that `MappedLines` then maps like
/// any other. Memory stays constant (the pages are the file's, not the process's anonymous
/// memory); the disk holds the inflated bytes until the map is closed. Concatenated gzip members
/// are read in turn.
enum GzipInflate {
    /// Whether `path` is a gzip file: a regular file beginning with gzip's magic bytes (1F 8B),
    /// whatever its name (a `.csv` that is compressed had been read as text, its bytes quoted in
    /// the error); anything else that cannot be read first, by its `.gz` suffix.
    static func isGzip(_ path: String) -> Bool {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return path.hasSuffix(".gz") }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return path.hasSuffix(".gz") }
        defer { close(fd) }
        var magic: (UInt8, UInt8) = (0, 0)
        let count = withUnsafeMutableBytes(of: &magic) { read(fd, $0.baseAddress, 2) }
        return count == 2 && magic.0 == 0x1F && magic.1 == 0x8B
    }

    /// Inflates `path` into an unlinked temporary file and returns its open descriptor.
    static func inflateToTemporaryFile(_ path: String) throws(FeedError) -> Int32 {
        guard let input = gzopen(path, "rb") else {
            throw FeedError(line: 0, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { gzclose(input) }
        gzbuffer(input, 1 << 20)
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        guard let (fd, temporary) = UniqueFile.create(prefix: directory + "/peregrine-gunzip-") else {
            throw FeedError(
                line: 0,
                "cannot inflate \(path): no temporary file in \(directory): \(String(cString: strerror(errno)))")
        }
        unlink(temporary)
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let read = gzread(input, chunk, 1 << 20)
            if read < 0 {
                var code: Int32 = 0
                let message = gzerror(input, &code).map { String(cString: $0) } ?? "unknown error"
                close(fd)
                throw FeedError(line: 0, "\(path) is not a valid gzip file: \(message)")
            }
            if read == 0 {
                // The end, or a stream cut short (zlib: "unexpected end of file").
                var code: Int32 = 0
                let message = gzerror(input, &code).map { String(cString: $0) } ?? ""
                if code != Z_OK {
                    close(fd)
                    throw FeedError(line: 0, "\(path) is not a complete gzip file: \(message)")
                }
                break
            }
            var written = 0
            while written < Int(read) {
                let result = write(fd, chunk + written, Int(read) - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    let reason = String(cString: strerror(errno))
                    close(fd)
                    throw FeedError(line: 0, "cannot inflate \(path) into \(directory): \(reason)")
                }
                written += result
            }
        }
        return fd
    }
}

/// The first `maxBytes` bytes of a file as text (inflated when it is a `.gz`), nil when it cannot
/// be read: for looking at a file's first lines without reading it all.
public func readTextPrefix(path: String, maxBytes: Int = 1 << 16) -> String? {
    guard maxBytes > 0 else { return "" }
    var buffer = [UInt8](repeating: 0, count: maxBytes)
    var count = 0
    if GzipInflate.isGzip(path) {
        guard let input = gzopen(path, "rb") else { return nil }
        defer { gzclose(input) }
        let read = buffer.withUnsafeMutableBytes { gzread(input, $0.baseAddress, UInt32(maxBytes)) }
        guard read >= 0 else { return nil }
        count = Int(read)
    } else {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, maxBytes, file) }
    }
    return String(decoding: buffer[0..<count], as: UTF8.self)
}
