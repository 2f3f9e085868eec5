import PeregrineCore
import Synchronization

/// Shutdown coordination between the pipeline's threads: the monitor asks the source to
/// stop; each stage, once its upstream has finished and it has drained everything, says it
/// has finished. Written rarely, read in idle loops.
@usableFromInline
final class PipelineControl: @unchecked Sendable {
    @usableFromInline init() {}
    @usableFromInline let cells = PaddedAtomicCells(count: 7, initialValue: 0)

    @usableFromInline var stopRequested: Bool { cells.load(0, ordering: .acquiring) != 0 }
    @usableFromInline func requestStop() { cells.store(0, 1, ordering: .releasing) }

    /// The source's last published sequence, once it has stopped (-1 while running).
    @usableFromInline var sourceFinalSequence: Int? {
        cells.load(1, ordering: .acquiring) != 0
            ? cells.load(2, ordering: .relaxed) : nil
    }
    @usableFromInline func sourceFinished(lastSequence: Int) {
        cells.store(2, lastSequence, ordering: .relaxed)
        cells.store(1, 1, ordering: .releasing)
    }

    @usableFromInline var journalFinished: Bool { cells.load(3, ordering: .acquiring) != 0 }
    @usableFromInline func finishJournal() { cells.store(3, 1, ordering: .releasing) }

    @usableFromInline var logicFinished: Bool { cells.load(4, ordering: .acquiring) != 0 }
    @usableFromInline func finishLogic() { cells.store(4, 1, ordering: .releasing) }

    @usableFromInline var sinkFinished: Bool { cells.load(5, ordering: .acquiring) != 0 }
    @usableFromInline func finishSink() { cells.store(5, 1, ordering: .releasing) }

    /// Set when the journal stage has failed: nothing more will be passed to the logic.
    @usableFromInline var journalFailed: Bool { cells.load(6, ordering: .acquiring) != 0 }
    @usableFromInline func failJournal() {
        cells.store(6, 1, ordering: .releasing)
        requestStop()
    }
}
