import PeregrineFeed
import PeregrineModel

/// Which recorded files `peregrine run --source FORMAT:FILE,...` replays, and on what grids
/// (detected from the first file when nil).
public struct RecordedSourceSpec: Equatable, Sendable {
    public var format: FeedFormat
    public var paths: [String]
    public var tickSize: Increment?
    public var lotSize: Increment?

    public init(format: FeedFormat, paths: [String], tickSize: Increment? = nil, lotSize: Increment? = nil) {
        self.format = format
        self.paths = paths
        self.tickSize = tickSize
        self.lotSize = lotSize
    }

    /// Parses `FORMAT:FILE[,FILE...]`.
    public static func parse(_ text: String) -> RecordedSourceSpec? {
        guard let colon = text.firstIndex(of: ":"), let format = FeedFormat(rawValue: String(text[..<colon])) else {
            return nil
        }
        let paths = text[text.index(after: colon)...].split(separator: ",").map(String.init)
        return paths.isEmpty ? nil : RecordedSourceSpec(format: format, paths: paths)
    }
}

/// The recorded files as a stream of engine event payloads, file after file: each line's
/// changes to the venue's book (level updates, including removals when a snapshot replaces
/// it), trades and quotes. Owned by the source thread.
public final class RecordedFeed {
    var replay: FeedReplay
    let paths: [String]
    var nextPath = 1
    var pending: [EventPayload] = []
    var pendingIndex = 0
    @usableFromInline var finished = false
    public private(set) var failure: FeedError?

    public init(spec: RecordedSourceSpec) throws(FeedError) {
        guard let first = spec.paths.first else { throw FeedError(line: 0, "no file given") }
        var scale: (price: Increment, size: Increment)
        if let tick = spec.tickSize, let lot = spec.lotSize {
            scale = (tick, lot)
        } else {
            scale = try FeedReplay.detectScale(format: spec.format, paths: spec.paths)
            if let tick = spec.tickSize { scale.price = tick }
            if let lot = spec.lotSize { scale.size = lot }
        }
        replay = try FeedReplay(format: spec.format, priceIncrement: scale.price, sizeIncrement: scale.size)
        paths = spec.paths
        try replay.open(path: first)
        pending.reserveCapacity(4_096)
    }

    /// Payloads ready to publish (at least `wanted` unless the files are done).
    @usableFromInline
    func fill(_ wanted: Int) {
        if pendingIndex == pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingIndex = 0
        }
        while !finished, pending.count - pendingIndex < wanted {
            do throws(FeedError) {
                if let changes = try replay.nextChanges() {
                    pending.append(contentsOf: changes)
                } else if nextPath < paths.count {
                    try replay.open(path: paths[nextPath])
                    nextPath += 1
                } else {
                    finished = true
                }
            } catch {
                failure = error
                finished = true
            }
        }
    }

    @usableFromInline var available: Int { pending.count - pendingIndex }

    @usableFromInline
    func take() -> EventPayload {
        defer { pendingIndex += 1 }
        return pending[pendingIndex]
    }

    public var statistics: FeedStatistics { replay.statistics }
}
