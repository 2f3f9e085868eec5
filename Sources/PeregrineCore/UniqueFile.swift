import PeregrineSys

/// A new file with a name no other process can take (`mkostemp`).
public enum UniqueFile {
    /// Creates a new file named `prefix` and six characters that make it unique (mode 0600,
    /// closed on exec): its open descriptor and path, or nil with `errno` set.
    public static func create(prefix: String) -> (descriptor: Int32, path: String)? {
        var template = Array((prefix + "XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer {
            $0.baseAddress.map { pg_make_unique_file($0) } ?? -1
        }
        guard descriptor >= 0 else { return nil }
        return (descriptor, String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}
