import CZlib
import PeregrineCodec

#if canImport(Glibc)
    import Glibc
#endif

/// Gzip-compressed files (`.gz`, as Tardis ships its CSVs): inflated once, in 1 MiB chunks,
/// into an unlinked temporary file (in `$TMPDIR`, else `/tmp`) that `MappedLines` then maps like
/// any other. Memory stays constant (the pages are the file's, not the process's anonymous
/// memory); the disk holds the inflated bytes until the map is closed. Concatenated gzip members
/// are read in turn.
enum GzipInflate {
    /// Whether `path` names a gzip file (by its `.gz` suffix).
    static func isGzip(_ path: String) -> Bool { path.hasSuffix(".gz") }

    /// Inflates `path` into an unlinked temporary file and returns its open descriptor.
    static func inflateToTemporaryFile(_ path: String) throws(FeedError) -> Int32 {
        guard let input = gzopen(path, "rb") else {
            throw FeedError(line: 0, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { gzclose(input) }
        gzbuffer(input, 1 << 20)
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array((directory + "/peregrine-gunzip-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { $0.baseAddress.map { mkstemp($0) } ?? -1 }
        guard fd >= 0 else {
            throw FeedError(
                line: 0,
                "cannot inflate \(path): no temporary file in \(directory): \(String(cString: strerror(errno)))")
        }
        template.withUnsafeBufferPointer { buffer in _ = buffer.baseAddress.map { unlink($0) } }
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
            if read == 0 { break }
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
