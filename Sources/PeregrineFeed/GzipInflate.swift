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
/// are read in turn; bytes after the last one are an error.
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

    /// Inflates `path` into an unlinked temporary file and returns its open descriptor. Every
    /// gzip member is read in turn; anything else after the last one (bytes that are not a
    /// member, a member cut short) is an error naming its byte offset, never data dropped in
    /// silence (zlib's `gzread` ignores such trailing bytes).
    static func inflateToTemporaryFile(_ path: String) throws(FeedError) -> Int32 {
        var input = try CompressedInput(path)
        defer { input.close() }
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        guard let (fd, temporary) = UniqueFile.create(prefix: directory + "/peregrine-gunzip-") else {
            throw FeedError(
                line: 0,
                "cannot inflate \(path): no temporary file in \(directory): \(String(cString: strerror(errno)))")
        }
        unlink(temporary)
        do {
            try inflate(&input, into: fd, path: path, directory: directory)
        } catch {
            Glibc.close(fd)
            throw error
        }
        return fd
    }

    /// Inflates every member of `input` into `fd`.
    private static func inflate(
        _ input: inout CompressedInput, into fd: Int32, path: String, directory: String
    ) throws(FeedError) {
        let capacity = CompressedInput.capacity
        let output = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { output.deallocate() }
        var stream = z_stream()
        guard pg_inflate_init_gzip(&stream) == Z_OK else {
            throw FeedError(line: 0, "cannot inflate \(path): zlib could not start (out of memory?)")
        }
        defer { inflateEnd(&stream) }
        var members = 0
        while try input.available(atLeast: 2) > 0 {
            // A member starts here: gzip's magic bytes, or bytes that are not gzip at all.
            guard input.available >= 2, input.byte(0) == 0x1F, input.byte(1) == 0x8B else {
                if members == 0 {
                    throw FeedError(line: 0, "\(path) is not a gzip file (it does not begin with 1F 8B)")
                }
                throw FeedError(
                    line: 0,
                    "\(path) has bytes after its last gzip member, from byte \(input.offset), that are not gzip "
                        + "data: cut them off, or inflate and compress the file again")
            }
            let memberStart = input.offset
            inflateReset(&stream)
            while true {
                if input.available == 0, try input.available(atLeast: 1) == 0 {
                    throw FeedError(
                        line: 0,
                        "\(path) is not a complete gzip file: \(Self.member(from: memberStart)) is cut short at "
                            + "byte \(input.offset): copy or download it again")
                }
                let offered = input.available
                stream.next_in = input.next
                stream.avail_in = UInt32(truncatingIfNeeded: offered)
                stream.next_out = output
                stream.avail_out = UInt32(truncatingIfNeeded: capacity)
                let result = CZlib.inflate(&stream, Z_NO_FLUSH)
                input.consume(offered - Int(stream.avail_in))
                try write(output, count: capacity - Int(stream.avail_out), to: fd, path: path, directory: directory)
                if result == Z_STREAM_END { break }
                guard result == Z_OK || (result == Z_BUF_ERROR && input.available == 0) else {
                    let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(result)"
                    throw FeedError(
                        line: 0,
                        "\(path) is not a valid gzip file: \(Self.member(from: memberStart)) is damaged (zlib: "
                            + "\(message), near byte \(input.offset)): copy or download it again")
                }
            }
            members += 1
        }
        if members == 0 { throw FeedError(line: 0, "\(path) is empty, not a gzip file") }
    }

    /// The member that begins at byte `start`, in words ("it" for the first).
    private static func member(from start: Int) -> String {
        start == 0 ? "it" : "its gzip member from byte \(start) (the members before are whole)"
    }

    /// Writes `count` bytes of `bytes` to `fd`.
    private static func write(
        _ bytes: UnsafePointer<UInt8>, count: Int, to fd: Int32, path: String, directory: String
    ) throws(FeedError) {
        var written = 0
        while written < count {
            let result = Glibc.write(fd, bytes + written, count - written)
            if result < 0 {
                if errno == EINTR { continue }
                throw FeedError(
                    line: 0, "cannot inflate \(path) into \(directory): \(String(cString: strerror(errno)))")
            }
            written += result
        }
    }
}

/// A compressed file read in 1 MiB chunks (a regular file or a pipe): the bytes read and not
/// yet consumed, and their offset in the file.
private struct CompressedInput {
    static let capacity = 1 << 20
    let path: String
    let fd: Int32
    let buffer: UnsafeMutablePointer<UInt8>
    var start = 0
    var end = 0
    /// Bytes of the file before `buffer`.
    var before = 0
    var atEnd = false

    init(_ path: String) throws(FeedError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw FeedError(line: 0, "cannot open \(path): \(String(cString: strerror(errno)))") }
        self.path = path
        self.fd = fd
        buffer = .allocate(capacity: Self.capacity)
    }

    func close() {
        Glibc.close(fd)
        buffer.deallocate()
    }

    var available: Int { end - start }
    var next: UnsafeMutablePointer<UInt8> { buffer + start }
    /// The offset in the file of the next byte not consumed.
    var offset: Int { before + start }
    func byte(_ index: Int) -> UInt8 { buffer[start + index] }
    mutating func consume(_ count: Int) { start += count }

    /// Reads until `count` bytes are available or the file ends; the bytes available.
    mutating func available(atLeast count: Int) throws(FeedError) -> Int {
        while available < count, !atEnd {
            if start > 0 {
                memmove(buffer, buffer + start, available)
                before += start
                end -= start
                start = 0
            }
            let result = read(fd, buffer + end, Self.capacity - end)
            if result < 0 {
                if errno == EINTR { continue }
                throw FeedError(line: 0, "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if result == 0 { atEnd = true }
            end += result
        }
        return available
    }
}

/// A file's size once inflated, modulo 2^32, and whether it is gzip-compressed: a plain file's
/// size, or what a gzip file's trailer gives (its last member's inflated size); nil when it
/// cannot be read. Files whose sizes differ do not hold the same data (`holdSameInflatedData`).
public func inflatedSizeModulo32(_ path: String) -> (compressed: Bool, size: UInt32)? {
    var status = stat()
    guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
    guard GzipInflate.isGzip(path) else { return (false, UInt32(truncatingIfNeeded: status.st_size)) }
    guard status.st_size >= 18 else { return nil }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var size: UInt32 = 0
    let count = withUnsafeMutableBytes(of: &size) { pread(fd, $0.baseAddress, 4, status.st_size - 4) }
    return count == 4 ? (true, UInt32(littleEndian: size)) : nil
}

/// Whether two files hold the same bytes once inflated (either or both gzip-compressed: a
/// `.csv.gz` beside the `.csv` it was made from), read through 1 MiB at a time and compared.
/// False when either cannot be read. Check `inflatedSizeModulo32` first: this reads them whole.
public func holdSameInflatedData(_ first: String, _ second: String) -> Bool {
    // (gzread reads a file that is not gzip as it is.)
    guard let a = gzopen(first, "rb") else { return false }
    defer { gzclose(a) }
    guard let b = gzopen(second, "rb") else { return false }
    defer { gzclose(b) }
    let capacity: UInt32 = 1 << 20
    let left = UnsafeMutableRawPointer.allocate(byteCount: Int(capacity), alignment: 16)
    let right = UnsafeMutableRawPointer.allocate(byteCount: Int(capacity), alignment: 16)
    defer {
        left.deallocate()
        right.deallocate()
    }
    while true {
        let leftCount = gzread(a, left, capacity)
        let rightCount = gzread(b, right, capacity)
        guard leftCount >= 0, leftCount == rightCount else { return false }
        if leftCount == 0 { return true }
        guard memcmp(left, right, Int(leftCount)) == 0 else { return false }
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
