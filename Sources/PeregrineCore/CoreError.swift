/// Errors raised by PeregrineCore when it is set up with values it cannot honour.
///
/// Every case says what was asked for and what is allowed, so the message can be shown to
/// the user as is.
public enum CoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A ring capacity that is not a power of two of at least 2.
    case invalidCapacity(Int)
    /// A second producer or consumer endpoint was requested for a ring that allows one.
    case endpointTaken(ring: String, endpoint: String)
    /// A consumer of a sequenced ring named a dependency that is not an earlier consumer.
    case invalidDependency(consumer: Int, dependsOn: Int)
    /// A consumer index that the ring does not have.
    case unknownConsumer(Int)
    /// A thread could not be started.
    case threadStartFailed(name: String, errno: Int32)

    public var description: String {
        switch self {
        case .invalidCapacity(let value):
            return "ring capacity \(value) is not allowed: use a power of two of at least 2 (e.g. 65536)"
        case .endpointTaken(let ring, let endpoint):
            return "the \(endpoint) of \(ring) has already been created; a single-\(endpoint) ring allows one"
        case .invalidDependency(let consumer, let dependsOn):
            return
                "consumer \(consumer) depends on \(dependsOn), which is not an earlier consumer of the ring; "
                + "list dependencies before the consumers that wait for them"
        case .unknownConsumer(let index):
            return "the ring has no consumer \(index)"
        case .threadStartFailed(let name, let errno):
            return "could not start thread '\(name)' (errno \(errno))"
        }
    }
}

/// Checks that `capacity` is a power of two of at least 2.
@usableFromInline
func validateRingCapacity(_ capacity: Int) throws(CoreError) {
    guard capacity >= 2, capacity.nonzeroBitCount == 1 else {
        throw .invalidCapacity(capacity)
    }
}
