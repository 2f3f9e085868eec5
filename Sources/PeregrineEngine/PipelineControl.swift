import PeregrineCore
import Synchronization

/// Shutdown coordination between the pipeline's threads: the monitor asks the source to
/// stop; each stage, once its upstream has finished and it has drained everything, says it
/// has finished. Written rarely, read in idle loops.
@usableFromInline
final class PipelineControl: @unchecked Sendable {
    @usableFromInline init() {}
    @usableFromInline let cells = PaddedAtomicCells(count: 7, initialValue: 0)

    @usableFromInline var stopRequested: Bool { cells.cell(0).pointee.load(ordering: .acquiring) != 0 }
    @usableFromInline func requestStop() { cells.cell(0).pointee.store(1, ordering: .releasing) }

    /// The source's last published sequence, once it has stopped (-1 while running).
    @usableFromInline var sourceFinalSequence: Int? {
        cells.cell(1).pointee.load(ordering: .acquiring) != 0
            ? cells.cell(2).pointee.load(ordering: .relaxed) : nil
    }
    @usableFromInline func sourceFinished(lastSequence: Int) {
        cells.cell(2).pointee.store(lastSequence, ordering: .relaxed)
        cells.cell(1).pointee.store(1, ordering: .releasing)
    }

    @usableFromInline var journalFinished: Bool { cells.cell(3).pointee.load(ordering: .acquiring) != 0 }
    @usableFromInline func finishJournal() { cells.cell(3).pointee.store(1, ordering: .releasing) }

    @usableFromInline var logicFinished: Bool { cells.cell(4).pointee.load(ordering: .acquiring) != 0 }
    @usableFromInline func finishLogic() { cells.cell(4).pointee.store(1, ordering: .releasing) }

    @usableFromInline var sinkFinished: Bool { cells.cell(5).pointee.load(ordering: .acquiring) != 0 }
    @usableFromInline func finishSink() { cells.cell(5).pointee.store(1, ordering: .releasing) }

    /// Set when the journal stage has failed: nothing more will be passed to the logic.
    @usableFromInline var journalFailed: Bool { cells.cell(6).pointee.load(ordering: .acquiring) != 0 }
    @usableFromInline func failJournal() {
        cells.cell(6).pointee.store(1, ordering: .releasing)
        requestStop()
    }
}
