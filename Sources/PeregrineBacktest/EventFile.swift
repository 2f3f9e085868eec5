import PeregrineCodec
import PeregrineCore
import PeregrineFeed
import PeregrineJournal
import PeregrineModel
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Recorded market data converted once (`peregrine data convert`) into Peregrine's binary event
/// format, so that a strategy is backtested many times without parsing text again. Version 3;
/// integers little-endian:
///
/// ```
/// header (64 bytes)
///   0  magic "PGEVENTS"
///   8  format version           u16 (4)
///  10  header size              u16 (64)
///  12  record size              u16 (80)
///  14  reserved                 u16 (0)
///  16  metadata length          u32   bytes of UTF-8 text after the header
///  20  CRC-32C of the metadata   u32   (its padded bytes)
///  24  record count             u64
///  32  reserved                 28 bytes (0)
///  60  CRC-32C of bytes 0..<60  u32
/// metadata: lines "instrument <InstrumentDefinition.settingsText>" (the instruments, ids from 0),
///           "source <format> <sha256> <path>" (the files it came from; a converted one
///           followed by its own sources), "quote-book <symbol>" (an instrument with
///           quotes-only data), "recorded <exchange> <symbol> <instrument>"
///           (the exchange and symbol an instrument's data was recorded under, where the format
///           names them), "price-step <step> <instrument>" (a coarser step than the tick that
///           every price of the instrument's text data was a multiple of: `BacktestPlan`'s tick
///           warning) and "skipped-quote-rows <20 digits>", then zero padding to a multiple of 16
///           bytes
/// records: the journal's 80-byte record (docs/journal.md): payload length (64), CRC-32C of
///          bytes 8..<80, the record's index, then the event's 64-byte wire encoding, with
///          `exchangeTimestamp` the venue's time and `timestamp` the recorder's receive time
/// ```
///
/// Records are in the merged order the backtest reads text inputs in, so a backtest of the
/// converted file gives the same results as one of its sources. The file ends with its last
/// record. Versions 2 (without "recorded" lines) and 3 (without "price-step" lines) are read
/// too; another version is refused (version 1 had no metadata checksum).
public enum EventFileFormat {
    public static let magic: [UInt8] = Array("PGEVENTS".utf8)

    /// Whether `path` starts as a converted event file does (`magic`; read through gzip too):
    /// a file to pass as `events:`, never to a text format's parser.
    public static func isConverted(_ path: String) -> Bool {
        readTextPrefix(path: path, maxBytes: magic.count).map { Array($0.utf8) } == magic
    }
    /// Whether `path` begins as a converted file does, as far as it goes (an empty or cut file
    /// may be one): false for text and any other file.
    static func mayBeConverted(_ path: String) -> Bool {
        guard let prefix = readTextPrefix(path: path, maxBytes: magic.count) else { return true }
        return magic.starts(with: Array(prefix.utf8))
    }
    public static let version: UInt16 = 4
    /// The versions this build reads.
    public static let readableVersions: ClosedRange<UInt16> = 2...4
    public static let headerSize = 64
    @inlinable public static var recordSize: Int { JournalFormat.recordSize }
}

/// What a converted file says about itself.
public struct EventFileMetadata: Equatable, Sendable {
    public var instruments: [InstrumentDefinition]
    public var sources: [(format: String, sha256: String, path: String)]
    /// The symbols whose data is quotes only (their quotes are their one-level books).
    public var quoteBooks: [String]
    /// Quote rows of the sources skipped for an empty price (fixed width in the file: the
    /// count is known only at the end).
    public var skippedQuoteRows = 0
    /// The exchange and symbol each instrument (by its backtest name) was recorded under, where
    /// its format names them (Tardis's exchange column): what tells an inverse contract
    /// (`InverseContracts`) in backtests of the converted file.
    public var recorded: [RecordedName] = []
    /// Per instrument (by its symbol), a coarser step than its tick that every price of its text
    /// data was a multiple of (`BacktestPlan.coarserPriceSteps`): what its backtests warn of, as
    /// backtests of its sources do. None in files of versions before 4.
    public var priceSteps: [String: Increment] = [:]

    public init(
        instruments: [InstrumentDefinition], sources: [(format: String, sha256: String, path: String)],
        quoteBooks: [String] = [], recorded: [RecordedName] = [], priceSteps: [String: Increment] = [:]
    ) {
        self.instruments = instruments
        self.sources = sources
        self.quoteBooks = quoteBooks
        self.recorded = recorded
        self.priceSteps = priceSteps
    }

    public static func == (lhs: EventFileMetadata, rhs: EventFileMetadata) -> Bool {
        lhs.instruments == rhs.instruments && lhs.quoteBooks == rhs.quoteBooks && lhs.recorded == rhs.recorded
            && lhs.priceSteps == rhs.priceSteps
            && lhs.sources.map(\.path) == rhs.sources.map(\.path)
            && lhs.sources.map(\.sha256) == rhs.sources.map(\.sha256)
            && lhs.sources.map(\.format) == rhs.sources.map(\.format)
    }

    var text: String {
        var lines = instruments.map { "instrument \($0.settingsText)" }
        lines += sources.map { "source \($0.format) \($0.sha256) \($0.path)" }
        lines += quoteBooks.map { "quote-book \($0)" }
        lines += recorded.map { "recorded \($0.exchange) \($0.symbol) \($0.name)" }
        lines += priceSteps.sorted { $0.key < $1.key }.map { "price-step \($0.value) \($0.key)" }
        let count = String(Swift.max(skippedQuoteRows, 0))
        lines.append("skipped-quote-rows " + String(repeating: "0", count: Swift.max(0, 20 - count.count)) + count)
        return lines.joined(separator: "\n") + "\n"
    }

    /// What of this metadata its text would not keep (its lines are words split at spaces):
    /// a sentence naming it and what to do, or nil when the text reads back as this.
    func unkeptValue() -> String? {
        for definition in instruments {
            if definition.symbol.isEmpty || definition.symbol.contains(where: { $0.isWhitespace || $0.isNewline }) {
                return "the instrument named '\(definition.symbol)' cannot be kept in a converted file, which names an "
                    + "instrument by one word: name it without spaces with --data FORMAT@NAME:FILE"
            }
            guard (try? InstrumentDefinition(settingsText: definition.settingsText)) == definition else {
                return
                    "\(definition.symbol)'s reference data (\(definition.settingsText)) cannot be kept in a converted "
                    + "file, which keeps each value as one word: give its quote currency and venue without spaces"
            }
        }
        for source in sources where source.path.contains(where: \.isNewline) {
            return
                "the input path '\(source.path)' has a line break, which a converted file cannot keep: rename the file"
        }
        guard (try? EventFileMetadata(text: text, path: "")) == self else {
            return "its metadata would not read back as written (a name with a line break?): rename the inputs"
        }
        return nil
    }

    init(text: String, path: String) throws(FeedError) {
        instruments = []
        sources = []
        quoteBooks = []
        for (number, line) in text.split(separator: "\n").enumerated() {
            if line.hasPrefix("instrument ") {
                do { instruments.append(try InstrumentDefinition(settingsText: String(line.dropFirst(11)))) } catch {
                    throw FeedError(line: 0, "metadata line \(number + 1) is not an instrument: \(error)", file: path)
                }
            } else if line.hasPrefix("source ") {
                let words = line.dropFirst(7).split(separator: " ", maxSplits: 2).map(String.init)
                guard words.count == 3 else {
                    throw FeedError(line: 0, "metadata line \(number + 1) is not a source: '\(line)'", file: path)
                }
                sources.append((words[0], words[1], words[2]))
            } else if line.hasPrefix("skipped-quote-rows ") {
                skippedQuoteRows = Int(line.dropFirst(19)) ?? 0
            } else if line.hasPrefix("quote-book ") {
                quoteBooks.append(String(line.dropFirst(11)))
            } else if line.hasPrefix("recorded ") {
                let words = line.dropFirst(9).split(separator: " ", maxSplits: 2).map(String.init)
                guard words.count == 3 else {
                    throw FeedError(
                        line: 0, "metadata line \(number + 1) is not a recorded name: '\(line)'", file: path)
                }
                recorded.append(RecordedName(exchange: words[0], symbol: words[1], name: words[2]))
            } else if line.hasPrefix("price-step ") {
                let words = line.dropFirst(11).split(separator: " ", maxSplits: 1).map(String.init)
                guard words.count == 2, let step = try? Increment(words[0]) else {
                    throw FeedError(line: 0, "metadata line \(number + 1) is not a price step: '\(line)'", file: path)
                }
                priceSteps[words[1]] = step
            } else if !line.allSatisfy({ $0 == "\0" }) {
                throw FeedError(line: 0, "metadata line \(number + 1) is unknown: '\(line)'", file: path)
            }
        }
    }
}

/// An instrument's data as recorded: the exchange and the symbol its files name, and the
/// instrument the backtest makes of it (the same symbol, or the name `--data FORMAT@NAME` gave).
public struct RecordedName: Equatable, Sendable {
    public var exchange: String
    public var symbol: String
    public var name: String

    public init(exchange: String, symbol: String, name: String) {
        self.exchange = exchange
        self.symbol = symbol
        self.name = name
    }

    /// Whether a metadata line keeps it as it is: an exchange and a symbol, neither empty nor
    /// with a space (the name, last on the line, may have spaces).
    var isRecordable: Bool {
        !exchange.isEmpty && !symbol.isEmpty && !exchange.contains(where: \.isWhitespace)
            && !symbol.contains(where: \.isWhitespace) && !name.isEmpty && !name.contains(where: \.isNewline)
    }
}

/// Writes a converted file: the header (its record count filled in by `finish`), the metadata,
/// then one record per `append`. Buffered; not thread-safe.
public final class EventFileWriter {
    public let path: String
    let file: UnsafeMutablePointer<FILE>
    public private(set) var count: UInt64 = 0
    let record = UnsafeMutableRawBufferPointer.allocate(byteCount: EventFileFormat.recordSize, alignment: 16)

    public convenience init(path: String, metadata: EventFileMetadata) throws(FeedError) {
        guard let file = fopen(path, "w") else {
            throw FeedError(line: 0, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        try self.init(file: file, path: path, metadata: metadata)
    }

    /// Writes into the open file `descriptor` (a copy of it is taken; `path` names it in
    /// messages and may be unlinked).
    public convenience init(descriptor: Int32, path: String, metadata: EventFileMetadata) throws(FeedError) {
        let copy = dup(descriptor)
        guard copy >= 0, let file = fdopen(copy, "w") else {
            if copy >= 0 { close(copy) }
            throw FeedError(line: 0, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        try self.init(file: file, path: path, metadata: metadata)
    }

    /// Takes `file` (closed when done, also when this throws).
    init(file: UnsafeMutablePointer<FILE>, path: String, metadata: EventFileMetadata) throws(FeedError) {
        setvbuf(file, nil, _IOFBF, 1 << 20)
        self.path = path
        self.file = file
        var text = Array(metadata.text.utf8)
        while text.count % 16 != 0 { text.append(0) }
        try put(Self.header(metadata: text, count: 0))
        try put(text)
    }

    deinit {
        fclose(file)
        record.deallocate()
    }

    /// The header for `metadata` (its padded bytes) and `count` records.
    static func header(metadata: [UInt8], count: UInt64) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: EventFileFormat.headerSize)
        header.withUnsafeMutableBytes { bytes in
            for (index, byte) in EventFileFormat.magic.enumerated() { bytes[index] = byte }
            bytes.storeBytes(of: EventFileFormat.version.littleEndian, toByteOffset: 8, as: UInt16.self)
            bytes.storeBytes(of: UInt16(EventFileFormat.headerSize).littleEndian, toByteOffset: 10, as: UInt16.self)
            bytes.storeBytes(of: UInt16(EventFileFormat.recordSize).littleEndian, toByteOffset: 12, as: UInt16.self)
            bytes.storeBytes(
                of: UInt32(truncatingIfNeeded: metadata.count).littleEndian, toByteOffset: 16, as: UInt32.self)
            let metadataCRC = metadata.withUnsafeBytes { CRC32C.checksum($0) }
            bytes.storeBytes(of: metadataCRC.littleEndian, toByteOffset: 20, as: UInt32.self)
            bytes.storeBytes(of: count.littleEndian, toByteOffset: 24, as: UInt64.self)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<60]))
            bytes.storeBytes(of: crc.littleEndian, toByteOffset: 60, as: UInt32.self)
        }
        return header
    }

    func put(_ bytes: [UInt8]) throws(FeedError) {
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        guard written == bytes.count else {
            throw FeedError(line: 0, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Appends one event.
    public func append(_ event: Event) throws(FeedError) {
        record.storeBytes(of: UInt32(Event.encodedSize).littleEndian, toByteOffset: 0, as: UInt32.self)
        record.storeBytes(of: Int64(bitPattern: count).littleEndian, toByteOffset: 8, as: Int64.self)
        do {
            try event.encode(into: UnsafeMutableRawBufferPointer(rebasing: record[16..<EventFileFormat.recordSize]))
        } catch {
            throw FeedError(line: 0, "cannot encode an event for \(path): \(error)")
        }
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: record[8..<EventFileFormat.recordSize]))
        record.storeBytes(of: crc.littleEndian, toByteOffset: 4, as: UInt32.self)
        guard fwrite(record.baseAddress, 1, record.count, file) == record.count else {
            throw FeedError(line: 0, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        count &+= 1
    }

    /// Writes the record count into the header and the final metadata (the same length: only
    /// the fixed-width counts change), then flushes and syncs the file.
    public func finish(metadata: EventFileMetadata) throws(FeedError) {
        var text = Array(metadata.text.utf8)
        while text.count % 16 != 0 { text.append(0) }
        guard fflush(file) == 0, fseek(file, 0, SEEK_SET) == 0 else {
            throw FeedError(line: 0, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        try put(Self.header(metadata: text, count: count))
        try put(text)
        guard fflush(file) == 0, fsync(fileno(file)) == 0 else {
            throw FeedError(line: 0, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// A converted file, memory-mapped read-only once: any number of readers, on any threads, read
/// its `records` by index. Unmapped when the last reference goes.
public final class EventFile: @unchecked Sendable {
    public let path: String
    public let metadata: EventFileMetadata
    /// The first record.
    let first: UnsafeRawPointer
    public let count: UInt64
    let mapping: UnsafeMutableRawPointer
    let byteCount: Int

    /// The identity of the file as it was mapped (`DigestCache`); nil for a compressed or
    /// unlinked file.
    let identity: FileIdentity?

    public convenience init(path: String) throws(FeedError) {
        if MappedLines.inflates(path) {
            let (mapped, size) = try MappedLines.map(path)
            try self.init(mapped: mapped, size: size, path: path, identity: nil)
            return
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            throw FeedError(line: 0, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        try self.init(descriptor: descriptor, path: path)
    }

    /// Maps the open file `descriptor` (`path` names it in messages; it may be unlinked).
    public convenience init(descriptor: Int32, path: String) throws(FeedError) {
        // (A file written between the two looks is found by `InputHashes.wait`: its identity moved.)
        let identity = FileIdentity(descriptor: descriptor)
        let (mapped, size) = try MappedLines.map(descriptor: descriptor, name: path)
        try self.init(mapped: mapped, size: size, path: path, identity: identity)
    }

    init(mapped: UnsafeRawPointer?, size: Int, path: String, identity: FileIdentity?) throws(FeedError) {
        guard let mapped, size >= EventFileFormat.headerSize else {
            if let mapped { munmap(UnsafeMutableRawPointer(mutating: mapped), size) }
            throw FeedError(line: 0, "not a converted event file (\(size) bytes, shorter than its header)", file: path)
        }
        let address = UnsafeMutableRawPointer(mutating: mapped)
        let bytes = UnsafeRawBufferPointer(start: address, count: size)
        let header: (metadataLength: Int, metadataCRC: UInt32, count: UInt64)
        do { header = try Self.checkHeader(bytes, path: path) } catch {
            munmap(address, size)
            throw error
        }
        let end = EventFileFormat.headerSize + header.metadataLength
        guard end <= size, UInt64(size - end) / UInt64(EventFileFormat.recordSize) >= header.count else {
            munmap(address, size)
            throw FeedError(
                line: 0, "truncated: its header promises \(header.count) records; convert the source again",
                file: path)
        }
        let extra = UInt64(size &- end) &- header.count &* UInt64(EventFileFormat.recordSize)
        guard extra == 0 else {
            munmap(address, size)
            throw FeedError(
                line: 0, "\(extra) bytes after its last record: the file is damaged; convert the source again",
                file: path)
        }
        guard
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[EventFileFormat.headerSize..<end]))
                == header.metadataCRC
        else {
            munmap(address, size)
            throw FeedError(
                line: 0, "its metadata fails its checksum: the file is damaged; convert the source again", file: path)
        }
        let text = String(decoding: bytes[EventFileFormat.headerSize..<end], as: UTF8.self)
        do { metadata = try EventFileMetadata(text: text, path: path) } catch {
            munmap(address, size)
            throw error
        }
        self.path = path
        self.identity = identity
        mapping = address
        byteCount = size
        first = UnsafeRawPointer(address + end)
        count = header.count
    }

    static func checkHeader(_ bytes: UnsafeRawBufferPointer, path: String) throws(FeedError)
        -> (metadataLength: Int, metadataCRC: UInt32, count: UInt64)
    {
        guard Array(bytes[0..<8]) == EventFileFormat.magic else {
            throw FeedError(
                line: 0, "not a converted event file (no PGEVENTS magic): make one with peregrine data convert",
                file: path)
        }
        let version = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
        let readable = EventFileFormat.readableVersions
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 60, as: UInt32.self))
        // The checksum first: a damaged version field is damage, not another build's file. (A
        // version this build does not read may keep its checksum elsewhere: then either.)
        let checksumMatches = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<60])) == stored
        guard readable.contains(version) else {
            let remedy =
                version > readable.upperBound
                ? "it was written by a newer build: read it with that one, or convert the source again with this one"
                : "convert the source again with this build"
            let message =
                "event file format version \(version) is not supported (this build reads versions "
                + "\(readable.lowerBound) to \(readable.upperBound)): \(remedy)"
            throw FeedError(
                line: 0,
                checksumMatches
                    ? message
                    : "the header's checksum does not match: the file is damaged (or \(message))",
                file: path)
        }
        guard checksumMatches else {
            throw FeedError(line: 0, "the header's checksum does not match: the file is damaged", file: path)
        }
        let recordSize = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt16.self))
        guard recordSize == EventFileFormat.recordSize else {
            throw FeedError(line: 0, "records of \(recordSize) bytes are not supported", file: path)
        }
        let length = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
        let metadataCRC = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 20, as: UInt32.self))
        let count = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        return (Int(length), metadataCRC, count)
    }

    deinit { munmap(mapping, byteCount) }

    /// The records (valid while this file is referenced).
    var records: EventFileRecords { EventFileRecords(start: first, count: count) }

    /// How many records, from the first, are known to match their checksums: checked ahead by
    /// the thread that hashes the file, before it hashes it (`verifyAhead(through:)`), so that
    /// the backtest reading the records checks only those it reaches first. Only grows.
    let verifiedAhead = Atomic<UInt64>(0)

    /// How far the backtests reading the records have got, in bytes from the file's start
    /// (`Int.max` once one has finished, or the digest is wanted now). The hashing thread
    /// hashes behind them (`BacktestPlan.sha256(behindReadersOf:cancelled:)`): its reading
    /// ahead of them on the other core slowed them down in slow sittings
    /// (docs/backtesting-speed-log.md), while they need the checksums' pass ahead.
    let readThrough = Atomic<Int>(0)

    /// A reader has got to record `index` (cheap: called every `readerStride` records).
    @inline(__always)
    func reached(_ index: UInt64) {
        let bytes = Int(truncatingIfNeeded: index) &* EventFileFormat.recordSize &+ (first - UnsafeRawPointer(mapping))
        readThrough.max(bytes, ordering: .relaxed)
    }

    /// How often, in records, a reader says how far it has got.
    static let readerStride: UInt64 = 8_192

    /// No reader will hold the hashing back any more: one has finished, or the digest is
    /// wanted now.
    func readersDone() { readThrough.store(Int.max, ordering: .relaxed) }

    /// Checks the records that lie wholly within the file's first `end` bytes and are not known
    /// to match yet, and advances `verifiedAhead` past those that match. Call from one thread
    /// at a time, with growing `end`. False when a record does not match (it stays the first
    /// not known to match: the reader finds it and names it). No allocation.
    func verifyAhead(through end: Int) -> Bool {
        let recordsStart = first - UnsafeRawPointer(mapping)
        guard end > recordsStart else { return true }
        let whole = UInt64(truncatingIfNeeded: (end &- recordsStart) / EventFileFormat.recordSize)
        let upTo = Swift.min(whole, count)
        let from = verifiedAhead.load(ordering: .relaxed)
        guard upTo > from else { return true }
        let checked = CRC32C.firstMismatch(
            records: first + Int(truncatingIfNeeded: from) &* EventFileFormat.recordSize,
            size: EventFileFormat.recordSize, count: Int(truncatingIfNeeded: upTo &- from), firstIndex: from)
        let matched = from &+ UInt64(truncatingIfNeeded: checked)
        verifiedAhead.store(matched, ordering: .releasing)
        return matched == upTo
    }
}

extension EventFile {
    /// Whether a record holds a book change (a level update or a cleared book) of the file's
    /// instrument `instrument`: read until the first (every record, when there is none). A
    /// record that does not decode is passed over (the backtest stops on it). No allocation.
    func hasBookChanges(instrument: UInt32) -> Bool {
        let records = self.records
        var index: UInt64 = 0
        while index < count {
            if let event = try? records.event(at: index), event.instrument.rawValue == instrument {
                switch event.payload {
                case .levelUpdate, .clearBook: return true
                default: break
                }
            }
            index &+= 1
        }
        return false
    }
}

/// The records of a mapped converted file: a plain pointer and count, so that reading them
/// costs no reference counting. Valid only while their `EventFile` is referenced.
struct EventFileRecords: BitwiseCopyable {
    let start: UnsafeRawPointer
    let count: UInt64

    /// Records checked at once by `verified(from:)`: their checksums are computed three at a
    /// time, and a window this size stays in the cache for decoding.
    static let window: UInt64 = 96

    /// The end of the records from `index` whose checksums match: checks up to `window` of
    /// them, and returns the index of the first that does not match (`index` itself when it is
    /// damaged) or the end of the window. No allocation.
    func verified(from index: UInt64) -> UInt64 {
        guard index < count else { return index }
        let checked = Swift.min(count &- index, Self.window)
        let mismatch = CRC32C.firstMismatch(
            records: start + Int(truncatingIfNeeded: index) &* EventFileFormat.recordSize,
            size: EventFileFormat.recordSize, count: Int(truncatingIfNeeded: checked), firstIndex: index)
        return index &+ UInt64(truncatingIfNeeded: mismatch)
    }

    /// The event of record `index` (`index < count`), whose checksum `verified(from:)` has
    /// matched; a record that does not decode throws (`named(path:)` makes the message). No
    /// allocation, no reference counting.
    @inline(__always)
    func event(at index: UInt64) throws(RecordError) -> Event {
        let record = UnsafeRawBufferPointer(
            start: start + Int(truncatingIfNeeded: index) &* EventFileFormat.recordSize + 16,
            count: EventFileFormat.recordSize - 16)
        do { return try Event(decoding: record) } catch {
            throw RecordError(index: index, problem: "does not decode: \(error)")
        }
    }

    /// Why record `index` failed `verified(from:)`: a record whose checksum holds but that
    /// stores another index was moved or copied within the file.
    func damaged(_ index: UInt64) -> RecordError {
        let record = start + Int(truncatingIfNeeded: index) &* EventFileFormat.recordSize
        let stored = UInt64(littleEndian: record.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let checksum = UInt32(littleEndian: record.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let body = UnsafeRawBufferPointer(start: record + 8, count: EventFileFormat.recordSize - 8)
        if index < count, stored != index, CRC32C.checksum(body) == checksum {
            return RecordError(
                index: index,
                problem: "holds record \(stored)'s index: records were moved or copied within the file, so it is "
                    + "damaged")
        }
        return RecordError(index: index, problem: "fails its checksum (or its length word): the file is damaged")
    }

    /// A record that cannot be read.
    struct RecordError: Error {
        let index: UInt64
        let problem: String
        func named(path: String) -> FeedError { FeedError(line: 0, "record \(index) \(problem)", file: path) }
    }
}
