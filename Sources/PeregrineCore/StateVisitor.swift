/// Something that walks a component's state field by field: one `visitState` method on the
/// component serves hashing (`HashingVisitor`), snapshots (`EncodingVisitor`) and restore
/// (`DecodingVisitor`), so the three can never disagree about which fields there are or in
/// which order.
///
/// A component lists every field it remembers between events, in a fixed order:
/// ```swift
/// mutating func visitState<V: StateVisitor>(_ visitor: inout V) throws(SnapshotError) {
///     try visitor.visit(&nextOrder, "next order")
///     try visitor.visit(&fastSum, "fast sum")
/// }
/// ```
/// Hashing and encoding only read the fields; decoding overwrites them. Allocation-free
/// except for the encoder's growing byte array.
public protocol StateVisitor: ~Copyable {
    /// Hashes, writes or reads one integer field (`name` appears in a decoding error).
    mutating func visit<T: FixedWidthInteger>(_ value: inout T, _ name: String) throws(SnapshotError)

    /// Whether visiting replaces the fields (a restore): a table of varying size reads its
    /// count and rebuilds itself instead of visiting what it holds.
    var isRestoring: Bool { get }
}

extension StateVisitor where Self: ~Copyable {
    @inlinable
    public mutating func visit(_ value: inout Bool, _ name: String) throws(SnapshotError) {
        var byte: UInt8 = value ? 1 : 0
        try visit(&byte, name)
        guard byte <= 1 else { throw .invalid(field: name, value: Int64(byte)) }
        value = byte == 1
    }

    /// A `Double` by its bit pattern: exact, and equal on every machine.
    @inlinable
    public mutating func visit(_ value: inout Double, _ name: String) throws(SnapshotError) {
        var bits = value.bitPattern
        try visit(&bits, name)
        value = Double(bitPattern: bits)
    }

    /// A count that must equal `expected` (the size of a table fixed by the settings): a
    /// snapshot of another shape is refused instead of misread.
    @inlinable
    public mutating func visitCount(_ expected: Int, _ name: String) throws(SnapshotError) {
        var count = Int64(expected)
        try visit(&count, name)
        guard count == Int64(expected) else {
            throw .mismatch("\(name): \(count) in the snapshot, \(expected) in these settings")
        }
    }
}

/// Folds every visited field into a `StateHasher`.
public struct HashingVisitor: StateVisitor {
    public var hasher: StateHasher
    @inlinable public init(_ hasher: StateHasher = StateHasher()) { self.hasher = hasher }
    @inlinable
    public mutating func visit<T: FixedWidthInteger>(_ value: inout T, _ name: String) {
        if T.bitWidth > 64 {
            hasher.combine(UInt64(truncatingIfNeeded: value))
            hasher.combine(UInt64(truncatingIfNeeded: value >> 64))
        } else {
            hasher.combine(value)
        }
    }
    public var isRestoring: Bool { false }
}

/// Writes every visited field to a `SnapshotEncoder`.
public struct EncodingVisitor: StateVisitor {
    public var encoder: SnapshotEncoder
    public init(_ encoder: SnapshotEncoder) { self.encoder = encoder }
    public mutating func visit<T: FixedWidthInteger>(_ value: inout T, _ name: String) { encoder.write(value) }
    public var isRestoring: Bool { false }
}

/// Reads every visited field from a `SnapshotDecoder`, replacing the field's value.
public struct DecodingVisitor: StateVisitor {
    public var decoder: SnapshotDecoder
    public init(_ decoder: SnapshotDecoder) { self.decoder = decoder }
    public mutating func visit<T: FixedWidthInteger>(_ value: inout T, _ name: String) throws(SnapshotError) {
        value = try decoder.read(T.self, name)
    }
    public var isRestoring: Bool { true }
}
