import PeregrineModel

/// Receives the execution reports an order book produces, in order. Used as a generic
/// parameter (statically dispatched, inlined into the matching loop); implementations on the
/// hot path must not allocate.
public protocol ExecutionReportSink: ~Copyable {
    mutating func accept(_ report: ExecutionReport)
}

/// A sink that keeps every report in an array: for tests, tools and the CLI, not the hot path.
public struct ExecutionReportCollector: ExecutionReportSink {
    public var reports: [ExecutionReport] = []

    public init() {}

    public mutating func accept(_ report: ExecutionReport) { reports.append(report) }
}
