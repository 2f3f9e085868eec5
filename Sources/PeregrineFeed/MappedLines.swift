import PeregrineCodec

#if canImport(Glibc)
    import Glibc
#endif

/// The lines of a file, read through a read-only memory map: no copy of any line, constant
/// memory whatever the file size (the kernel pages the map in and out).
public struct MappedLines: ~Copyable {
    public let path: String
    let base: UnsafeRawPointer?
    public let byteCount: Int
    var offset = 0
    /// 1-based number of the line last returned.
    public private(set) var lineNumber = 0
    /// Whether the line last returned ended in a line break (false only for a last line that
    /// runs to the end of the file: complete, or torn by a writer cut short).
    public private(set) var lastLineTerminated = true

    public init(path: String) throws(FeedError) {
        let (base, count) = try Self.map(path)
        self.path = path
        self.base = base
        byteCount = count
    }

    /// Whether `map` gives `path`'s inflated bytes rather than the file's own (a `.gz` file).
    public static func inflates(_ path: String) -> Bool { GzipInflate.isGzip(path) }

    /// Maps `path` read-only (a `.gz` file: its inflated bytes, see `GzipInflate`): its base
    /// (nil when empty) and size. The caller unmaps it (`munmap`). Opened without blocking, so
    /// that a named pipe is refused as not a regular file rather than waited on for a writer.
    public static func map(_ path: String) throws(FeedError) -> (UnsafeRawPointer?, Int) {
        let fd =
            GzipInflate.isGzip(path)
            ? try GzipInflate.inflateToTemporaryFile(path) : open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw FeedError(line: 0, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        return try map(descriptor: fd, name: path)
    }

    /// Maps the open file `fd` read-only (`name` for messages); as `map(_:)`. The descriptor
    /// stays open (the caller's).
    public static func map(descriptor fd: Int32, name path: String) throws(FeedError) -> (UnsafeRawPointer?, Int) {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FeedError(line: 0, "cannot stat \(path)") }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw FeedError(line: 0, "cannot open \(path): not a regular file")
        }
        let count = Int(info.st_size)
        if count == 0 { return (nil, 0) }
        guard let address = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0), address != MAP_FAILED else {
            throw FeedError(line: 0, "cannot map \(path): \(String(cString: strerror(errno)))")
        }
        _ = madvise(address, count, MADV_SEQUENTIAL)
        return (UnsafeRawPointer(address), count)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), byteCount) }
    }

    /// The next line without its line break, or nil at the end.
    public mutating func next() -> UnsafeBufferPointer<UInt8>? {
        guard let base, offset < byteCount else { return nil }
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        let start = offset
        var end = start
        if let newline = memchr(base + start, 0x0A, byteCount - start) {
            end = base.distance(to: UnsafeRawPointer(newline))
            offset = end + 1
            lastLineTerminated = true
        } else {
            end = byteCount
            offset = byteCount
            lastLineTerminated = false
        }
        lineNumber += 1
        var length = end - start
        if length > 0, bytes[start + length - 1] == 0x0D { length -= 1 }
        return UnsafeBufferPointer(start: bytes + start, count: length)
    }

    /// Fraction of the file read so far.
    public var progress: Double { byteCount == 0 ? 1 : Double(offset) / Double(byteCount) }
}

/// The comma-separated fields of one CSV line (no quoting: the exchange files read here have
/// none), as byte ranges into the line. No allocation.
public struct CSVRow {
    public static let maxFields = 16
    var starts: InlineArray<16, Int32> = InlineArray(repeating: 0)
    var ends: InlineArray<16, Int32> = InlineArray(repeating: 0)
    public private(set) var count = 0
    public let line: UnsafeBufferPointer<UInt8>

    public init(_ line: UnsafeBufferPointer<UInt8>) {
        self.line = line
        // Offsets are 32-bit: a line of 2 GiB or more reads as one empty field (a shape error).
        guard line.count <= Int(Int32.max) else {
            count = 1
            return
        }
        var start = 0
        var fields = 0
        var starts = self.starts
        var ends = self.ends
        CommaScan.forEachComma(in: line) { comma in
            guard fields < Self.maxFields &- 1 else { return false }
            starts[fields] = Int32(truncatingIfNeeded: start)
            ends[fields] = Int32(truncatingIfNeeded: comma)
            fields &+= 1
            start = comma &+ 1
            return true
        }
        starts[fields] = Int32(truncatingIfNeeded: start)
        ends[fields] = Int32(truncatingIfNeeded: line.count)
        self.starts = starts
        self.ends = ends
        count = fields &+ 1
    }

    /// Field `field` (below `count`). Always inlined: as a call it copied both offset arrays
    /// (128 bytes) to read one of each.
    @inline(__always)
    public subscript(_ field: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: line[Int(starts[field])..<Int(ends[field])])
    }

    /// The number of comma-separated fields in `line` (any number, unlike `count`).
    public static func fieldCount(_ line: UnsafeBufferPointer<UInt8>) -> Int {
        var count = 1
        CommaScan.forEachComma(in: line) { _ in
            count &+= 1
            return true
        }
        return count
    }

    /// Field `field` as a text (allocates: for messages).
    public func text(_ field: Int) -> String { String(decoding: self[field], as: UTF8.self) }
}

/// Finds the commas of a line eight bytes at a time (SWAR): no call per field, no false match.
enum CommaScan {
    /// Calls `body` with the index of each comma in `line`, in order, until it returns false.
    @inline(__always)
    static func forEachComma(in line: UnsafeBufferPointer<UInt8>, _ body: (Int) -> Bool) {
        guard let base = line.baseAddress else { return }
        let count = line.count
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        let commas: UInt64 = 0x2C2C_2C2C_2C2C_2C2C
        var index = 0
        while index &+ 8 <= count {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self) ^ commas
            // A byte's high bit is set exactly when that byte of `word` is zero (a comma).
            var zeros = ~(((word & low7) &+ low7) | word | low7)
            while zeros != 0 {
                guard body(index &+ zeros.trailingZeroBitCount &>> 3) else { return }
                zeros &= zeros &- 1
            }
            index &+= 8
        }
        while index < count {
            if base[index] == UInt8(ascii: ","), !body(index) { return }
            index &+= 1
        }
    }
}

/// The fields of a CSV line one after another, for rows wider than `CSVRow` holds (book
/// snapshots with many levels). No allocation.
public struct CSVCursor {
    let line: UnsafeBufferPointer<UInt8>
    var position = 0
    var finished = false

    public init(_ line: UnsafeBufferPointer<UInt8>) { self.line = line }

    public mutating func next() -> UnsafeBufferPointer<UInt8>? {
        guard !finished else { return nil }
        guard let base = line.baseAddress else {
            finished = true
            return UnsafeBufferPointer(start: nil, count: 0)
        }
        let remaining = line.count - position
        let comma = remaining > 0 ? memchr(base + position, Int32(UInt8(ascii: ",")), remaining) : nil
        let end = comma.map { UnsafeRawPointer(base).distance(to: UnsafeRawPointer($0)) } ?? line.count
        let field = UnsafeBufferPointer(rebasing: line[position..<end])
        if comma == nil { finished = true } else { position = end + 1 }
        return field
    }
}
