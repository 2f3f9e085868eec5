import PeregrineModel
import Synchronization

/// Where the control plane leaves an operator's command (kill, reset) for the source thread,
/// which writes it into the inbound ring as an admin event: journaled and sequenced like any
/// input, so the logic, a replay and a recovery all apply it at the same point.
///
/// One command waits at a time (a second `post` while one waits returns nil: try again).
/// Lock-free; the source looks with one relaxed load per step.
public final class AdminMailbox: Sendable {
    /// The waiting command: action | request id << 8 (0: none).
    @usableFromInline let pending = Atomic<UInt64>(0)
    let nextRequest = Atomic<UInt64>(1)
    /// Whether a source is running and taking commands.
    let open = Atomic<Bool>(false)

    public init() {}

    /// Leaves `action` for the source; its request id, or nil when a command is still waiting
    /// or no source is taking commands.
    public func post(_ action: AdminAction) -> UInt64? {
        guard open.load(ordering: .acquiring) else { return nil }
        let id = nextRequest.wrappingAdd(1, ordering: .relaxed).oldValue
        let word = UInt64(action.rawValue) | id << 8
        return pending.compareExchange(expected: 0, desired: word, ordering: .acquiringAndReleasing).exchanged
            ? id : nil
    }

    /// Whether request `id` (posted) has been taken by the source: it is in the sequence
    /// (the source claims its ring slot before it takes a command). Ids are unique, so a
    /// waiting command that is not this one means this one was taken.
    public func isSequenced(_ id: UInt64) -> Bool {
        let waiting = pending.load(ordering: .acquiring)
        return waiting == 0 || waiting >> 8 != id
    }

    /// Whether a source is taking commands.
    public var isOpen: Bool { open.load(ordering: .acquiring) }

    // MARK: Source side

    /// Whether a command waits (one relaxed load).
    @inlinable var hasPending: Bool { pending.load(ordering: .relaxed) != 0 }

    /// Takes the waiting command (call after `hasPending`, once room for it is claimed).
    @usableFromInline
    func take() -> AdminCommand? {
        let word = pending.exchange(0, ordering: .acquiringAndReleasing)
        guard word != 0, let action = AdminAction(rawValue: UInt8(truncatingIfNeeded: word)) else { return nil }
        return AdminCommand(action, requestID: word >> 8)
    }

    func setOpen(_ value: Bool) { open.store(value, ordering: .releasing) }
}
