/// Items a source has read but not yet published: appended in order, taken from the front,
/// and emptied (keeping its capacity) once all were taken. Owned by the source thread; no
/// allocation once its capacity covers a refill.
public struct PendingBuffer<Element> {
    @usableFromInline var items: [Element] = []
    @usableFromInline var next = 0

    public init(capacity: Int) { items.reserveCapacity(capacity) }

    /// Items not yet taken.
    @inlinable public var count: Int { items.count &- next }

    /// Starts over when everything was taken, so a refill does not grow the storage.
    @inlinable
    public mutating func compact() {
        if next == items.count {
            items.removeAll(keepingCapacity: true)
            next = 0
        }
    }

    @inlinable public mutating func append(_ item: Element) { items.append(item) }

    @inlinable
    public mutating func append(contentsOf newItems: some Collection<Element>) { items.append(contentsOf: newItems) }

    /// The oldest item not yet taken; call only when `count > 0`.
    @inlinable
    public mutating func take() -> Element {
        let item = items[next]
        next &+= 1
        return item
    }
}
