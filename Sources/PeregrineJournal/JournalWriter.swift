import PeregrineModel

#if canImport(Glibc)
    import Glibc
#endif

/// Appends events to a journal directory as checksummed records, a batch at a time.
///
/// `append` encodes into a preallocated buffer (no allocation, no system call); `commit`
/// writes the buffer with one `write` (group commit) and starts a new segment once the current
/// one has reached `segmentBytes`; `sync` makes everything committed durable (`fdatasync`).
/// A new writer always starts a new segment at `nextSequence`, so it never rewrites a byte an
/// earlier run wrote. Single-threaded: owned by the journal stage.
public struct JournalWriter: ~Copyable {
    public let directory: String
    public let segmentBytes: Int
    /// Whether a full segment is synced before the next starts (off only for durability
    /// `none`, which promises nothing beyond the OS page cache).
    public let syncOnRoll: Bool
    let buffer: UnsafeMutableRawBufferPointer
    var buffered = 0
    var fd: Int32 = -1
    var segmentPath = ""
    var segmentSize = 0
    /// The sequence the next appended event must have.
    public private(set) var nextSequence: Int64
    /// One past the last sequence handed to `write`.
    public private(set) var committedSequence: Int64
    /// One past the last sequence covered by an `fdatasync`.
    public private(set) var syncedSequence: Int64
    public private(set) var bytesWritten = 0
    public private(set) var segmentsCreated = 0
    public private(set) var syncs = 0

    /// The open segment's file descriptor (for a `BackgroundSyncer`; do not close it).
    public var descriptor: Int32 { fd }

    /// Opens `directory` (created if missing) and starts a segment at `nextSequence`.
    public static func open(
        directory: String, nextSequence: Int64, segmentBytes: Int = 64 << 20, bufferBytes: Int = 1 << 20,
        syncOnRoll: Bool = true
    ) throws(JournalError) -> JournalWriter {
        guard (1 << 12...1 << 40).contains(segmentBytes) else {
            throw .invalidSetting(name: "segment size", value: "\(segmentBytes)", allowed: "use 4096 bytes to 1 TiB")
        }
        guard bufferBytes >= JournalFormat.recordSize * 16 else {
            throw .invalidSetting(name: "journal buffer", value: "\(bufferBytes)", allowed: "use at least 1280 bytes")
        }
        try FileIO.makeDirectory(directory)
        var writer = JournalWriter(
            directory: directory, nextSequence: nextSequence, segmentBytes: segmentBytes, bufferBytes: bufferBytes,
            syncOnRoll: syncOnRoll)
        try writer.startSegment()  // on a throw, deinit frees the buffer
        return writer
    }

    private init(directory: String, nextSequence: Int64, segmentBytes: Int, bufferBytes: Int, syncOnRoll: Bool) {
        self.directory = directory
        self.syncOnRoll = syncOnRoll
        self.segmentBytes = segmentBytes
        self.nextSequence = nextSequence
        committedSequence = nextSequence
        syncedSequence = nextSequence
        buffer = .allocate(byteCount: bufferBytes / JournalFormat.recordSize * JournalFormat.recordSize, alignment: 64)
    }

    deinit {
        if fd >= 0 { close(fd) }
        buffer.deallocate()
    }

    /// Adds one event; writes the buffer first when it is full. `sequence` must be
    /// `nextSequence`.
    public mutating func append(_ event: Event, sequence: Int64) throws(JournalError) {
        guard sequence == nextSequence else {
            throw .sequenceGap(
                path: segmentPath, offset: segmentSize + buffered, expected: nextSequence, found: sequence)
        }
        if buffered + JournalFormat.recordSize > buffer.count { try commit() }
        let slot = UnsafeMutableRawBufferPointer(rebasing: buffer[buffered..<buffered + JournalFormat.recordSize])
        do {
            try JournalFormat.encodeRecord(event, sequence: sequence, into: slot)
        } catch {
            // Cannot happen: the slot is exactly one record long.
            throw .invalidSetting(name: "record buffer", value: "\(slot.count)", allowed: "\(error)")
        }
        buffered += JournalFormat.recordSize
        nextSequence += 1
    }

    /// Writes everything appended so far with one `write`, then rolls to a new segment if this
    /// one is full.
    public mutating func commit() throws(JournalError) {
        if buffered > 0 {
            try FileIO.writeAll(fd, UnsafeRawBufferPointer(rebasing: buffer[0..<buffered]), segmentPath)
            segmentSize += buffered
            bytesWritten += buffered
            buffered = 0
            committedSequence = nextSequence
        }
        if segmentSize >= segmentBytes { try roll() }
    }

    /// Makes every committed record durable.
    public mutating func sync() throws(JournalError) {
        if syncedSequence == committedSequence { return }
        try FileIO.syncData(fd, segmentPath)
        syncs += 1
        syncedSequence = committedSequence
    }

    mutating func roll() throws(JournalError) {
        if syncOnRoll {
            try FileIO.syncData(fd, segmentPath)
            syncs += 1
            syncedSequence = committedSequence
        }
        close(fd)
        fd = -1
        try startSegment()
    }

    mutating func startSegment() throws(JournalError) {
        segmentPath = directory + "/" + JournalFormat.segmentName(firstSequence: nextSequence)
        // A segment of this name can only be one that holds no record yet (a run that stopped
        // right after starting it); anything longer would hold sequences we are about to reuse.
        if FileIO.exists(segmentPath) {
            let size = try FileIO.size(segmentPath)
            guard size <= JournalFormat.headerSize else {
                throw .sequenceGap(path: segmentPath, offset: 0, expected: nextSequence, found: nextSequence)
            }
            try FileIO.remove(segmentPath)
        }
        fd = try FileIO.openForAppend(segmentPath, create: true)
        // The buffer is empty whenever a segment starts (after `init` or a commit).
        let header = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<JournalFormat.headerSize])
        JournalFormat.encodeHeader(firstSequence: nextSequence, created: FileIO.wallClockNanoseconds(), into: header)
        do {
            try FileIO.writeAll(fd, UnsafeRawBufferPointer(header), segmentPath)
            try FileIO.syncData(fd, segmentPath)
            try FileIO.syncDirectory(directory)
        } catch {
            // A full disk leaves no empty or half-written segment behind: it holds no record yet.
            close(fd)
            fd = -1
            _ = unlink(segmentPath)
            throw error
        }
        segmentSize = JournalFormat.headerSize
        bytesWritten += JournalFormat.headerSize
        segmentsCreated += 1
    }
}
