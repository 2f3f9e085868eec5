import PeregrineCore
import PeregrineJournal
import PeregrineStrategy
import Synchronization

/// Takes snapshots of the logic every `every` events: the logic thread copies the state into
/// a byte buffer between batches (the only pause intake sees), and a background thread writes
/// it (checksummed, atomically renamed) and, when asked, prunes old snapshots and journal
/// segments. At most one snapshot is in flight; a due snapshot waits for the previous write.
/// Before a snapshot is published the writing thread syncs the journal through the snapshot's
/// last record, whatever the durability policy (`SnapshotStore.write`).
@usableFromInline
final class SnapshotTaker: @unchecked Sendable {
    let directory: String
    let every: Int64
    let prune: Bool
    private let busy = Atomic<Bool>(false)
    private let writtenCount = Atomic<Int>(0)
    private let failure = Mutex<String?>(nil)
    /// Logic thread only.
    private var thread: PinnedThread?
    private var nextAt: Int64
    /// The sequence of the last snapshot this run wrote: the journal before it is durable
    /// (set by the writing thread only once the snapshot is written).
    private let syncedFrom = Atomic<Int64>(0)

    init(directory: String, every: Int64, prune: Bool, startSequence: Int64) {
        self.directory = directory
        self.every = every
        self.prune = prune
        nextAt = startSequence + every
    }

    var written: Int { writtenCount.load(ordering: .relaxed) }
    var lastFailure: String? { failure.withLock { $0 } }

    /// Called by the logic thread between batches.
    @usableFromInline
    func maybeTake<S: Strategy>(_ logic: borrowing EngineLogic<S>, outputHash: UInt64) {
        let next = logic.lastSequence + 1
        guard next >= nextAt, !busy.load(ordering: .acquiring) else { return }
        take(logic, outputHash: outputHash, waitForWrite: false)
    }

    /// Takes one now (waiting for any write in flight), e.g. at a clean shutdown, and waits
    /// for it to be written.
    func takeFinal<S: Strategy>(_ logic: borrowing EngineLogic<S>, outputHash: UInt64) {
        join()
        take(logic, outputHash: outputHash, waitForWrite: true)
    }

    private func take<S: Strategy>(_ logic: borrowing EngineLogic<S>, outputHash: UInt64, waitForWrite: Bool) {
        let sequence = logic.lastSequence + 1
        var encoder = SnapshotEncoder()
        logic.encodeState(outputHash: outputHash, into: &encoder)
        let payload = encoder.bytes
        nextAt = sequence + every
        join()
        let syncFrom = syncedFrom.load(ordering: .acquiring)
        busy.store(true, ordering: .releasing)
        let work: @Sendable () -> Void = { [self] in
            do throws(JournalError) {
                try SnapshotStore.write(
                    directory: directory, sequence: sequence, payload: payload, syncJournalFrom: syncFrom)
                syncedFrom.store(sequence, ordering: .releasing)
                if prune { try SnapshotStore.prune(directory: directory, keep: 2) }
                writtenCount.add(1, ordering: .relaxed)
            } catch {
                failure.withLock { $0 = error.description }
            }
            busy.store(false, ordering: .releasing)
        }
        if waitForWrite {
            work()
        } else {
            do { thread = try PinnedThread.start(name: "pg-snapshot", cpus: [], body: work) } catch {
                work()
            }
        }
    }

    /// Waits for the write in flight, if any.
    func join() {
        thread?.join()
        thread = nil
    }
}
