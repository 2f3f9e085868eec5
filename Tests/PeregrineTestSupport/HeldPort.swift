#if canImport(Glibc)
    import Glibc
#endif

/// A TCP socket bound to `127.0.0.1:port` and listening, so no other server can take the port
/// while it is held (for tests of what a server does with a taken port). Closed by `close()`.
public final class HeldPort {
    public let port: Int
    /// The socket, or -1 when it could not be made.
    public let descriptor: Int32
    /// Whether the port was bound and is listened on.
    public let isHeld: Bool

    public init(port: Int) {
        self.port = port
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(truncatingIfNeeded: port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        isHeld = descriptor >= 0 && bound == 0 && listen(descriptor, 1) == 0
    }

    public func close() { if descriptor >= 0 { _ = Glibc.close(descriptor) } }
}
