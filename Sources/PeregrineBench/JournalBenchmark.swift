import PeregrineCore
import PeregrineEngine
import PeregrineJournal
import PeregrineModel
import PeregrineStrategy
import PeregrineSys

/// Measures the journal on this machine: appending (group commit of `batch` events per
/// write, under each durability policy), reading back (checksums and decoding), replaying the
/// logic over it, and the CRC-32C instruction against the table.
public enum JournalBenchmark {
    public struct Result: Sendable {
        public var events: Int
        public var appendNone: Double
        public var appendBatch: Double
        public var syncsBatch: Int
        public var read: Double
        public var replay: Double
        public var replaySeconds: Double
        public var crcHardwareBytesPerSecond: Double
        public var crcTableBytesPerSecond: Double
        public var journalBytes: Int
    }

    /// Appends `events` synthetic market events (64-byte records' payloads) to `directory`
    /// twice (policy none, then batch with a sync every `syncIntervalMicroseconds`), reads them
    /// back, and replays the logic over the second journal.
    public static func run<S: Strategy>(
        directory: String, events: Int, batch: Int = 256, syncIntervalMicroseconds: Int = 1_000,
        custom: S.Type
    ) throws(EngineError) -> Result {
        var market = SyntheticMarket(instruments: 4, seed: 7)
        var sample: [Event] = []
        sample.reserveCapacity(65_536)
        for index in 0..<65_536 { sample.append(market.next(timestamp: UInt64(index) * 1_000)) }

        func append(_ path: String, syncEvery interval: UInt64?) throws(EngineError) -> (Double, Int, Int) {
            var configuration = EngineConfiguration()
            configuration.journalDirectory = path
            let settings = try LogicSettings(configuration, custom: custom)
            do throws(JournalError) {
                var writer = try JournalWriter.open(directory: path, nextSequence: 0)
                try settings.storeOrThrowJournal(directory: path)
                let start = pg_monotonic_nanoseconds()
                var lastSync = start
                var sequence: Int64 = 0
                while sequence < Int64(events) {
                    let end = Swift.min(sequence + Int64(batch), Int64(events))
                    while sequence < end {
                        var event = sample[Int(sequence & 65_535)]
                        event.timestamp = UInt64(sequence) &* 1_000
                        try writer.append(event, sequence: sequence)
                        sequence += 1
                    }
                    try writer.commit()
                    if let interval = interval {
                        let now = pg_monotonic_nanoseconds()
                        if now &- lastSync >= interval {
                            try writer.sync()
                            lastSync = now
                        }
                    }
                }
                try writer.sync()
                let seconds = Double(pg_monotonic_nanoseconds() - start) / 1e9
                return (Double(events) / seconds, writer.syncs, writer.bytesWritten)
            } catch {
                throw .journal(error)
            }
        }

        let (none, _, _) = try append(directory + "/none", syncEvery: nil)
        let (batched, syncs, bytes) = try append(
            directory + "/batch", syncEvery: UInt64(syncIntervalMicroseconds) * 1_000)

        var readStart = pg_monotonic_nanoseconds()
        var checksum: UInt64 = 0
        do {
            _ = try JournalReader.read(directory: directory + "/batch") { sequence, event in
                checksum &+= UInt64(bitPattern: sequence) &+ event.timestamp
                return true
            }
        } catch {
            throw .journal(error)
        }
        let read = Double(events) / (Double(pg_monotonic_nanoseconds() - readStart) / 1e9)

        readStart = pg_monotonic_nanoseconds()
        let configuration = try JournalReplay.configuration(for: directory + "/batch", base: EngineConfiguration())
        let recovered = try JournalReplay.recover(
            directory: directory + "/batch", configuration: configuration, custom: custom,
            useSnapshot: false,
            repair: false)
        let replaySeconds = Double(pg_monotonic_nanoseconds() - readStart) / 1e9

        let buffer = [UInt8](repeating: 0xA5, count: 1 << 20)
        func crcRate(_ body: (UnsafeRawBufferPointer) -> UInt32) -> Double {
            let start = pg_monotonic_nanoseconds()
            var crc: UInt32 = 0
            buffer.withUnsafeBytes { raw in
                for _ in 0..<256 { crc ^= body(raw) }
            }
            return Double(256 << 20) / (Double(pg_monotonic_nanoseconds() - start) / 1e9) + Double(crc & 0)
        }
        return Result(
            events: events, appendNone: none, appendBatch: batched, syncsBatch: syncs, read: read,
            replay: Double(recovered.summary.replayed) / replaySeconds, replaySeconds: replaySeconds,
            crcHardwareBytesPerSecond: crcRate { CRC32C.checksum($0) },
            crcTableBytesPerSecond: crcRate { CRC32C.softwareChecksum($0) }, journalBytes: bytes &+ Int(checksum & 0))
    }
}

extension LogicSettings {
    fileprivate func storeOrThrowJournal(directory: String) throws(JournalError) {
        do { try store(directory: directory) } catch {
            throw .io(operation: "write settings", path: directory, errno: 0)
        }
    }
}
