import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// TCP ports on the loopback interface.
public enum LoopbackPort {
    /// Ports this process has handed out.
    private static let given = Mutex<Set<Int>>([])

    /// A TCP port free on 127.0.0.1 right now, and not handed out before by this process (for
    /// tests and benchmarks that start servers: two of them running at once do not get the
    /// same port; another process may still take it before it is bound again). Only when 256
    /// ports the kernel offers in a row were all handed out already (thousands of servers in
    /// one process) is one of them given again. 0 when no socket can be bound at all (out of
    /// file descriptors): callers check. Thread-safe.
    public static func free() -> Int {
        var port = 0
        for _ in 0..<256 {
            let offered = ephemeral()
            guard offered > 0 else { continue }
            port = offered
            if given.withLock({ $0.insert(offered).inserted }) { return offered }
        }
        return port
    }

    /// A port the kernel picks for a socket bound to 127.0.0.1:0 (0 when it cannot).
    private static func ephemeral() -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return 0 }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else { return 0 }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { return 0 }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
