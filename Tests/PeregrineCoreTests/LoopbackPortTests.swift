import PeregrineCore
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Ports for test servers: free, and never the same twice in one process (tests run at once).
@Suite struct LoopbackPortTests {
    @Test func portsAreNeverHandedOutTwiceEvenFromThreadsAtOnce() throws {
        // 4 threads × 500 ports: drawn at random from the kernel's ephemeral range (about
        // 28,000 ports), 2,000 of them would repeat dozens of times without the record.
        let ports = Mutex<[Int]>([])
        let threads = try (0..<4).map { index in
            try PinnedThread.start(name: "pg-ports-\(index)", cpus: []) {
                var mine: [Int] = []
                for _ in 0..<500 { mine.append(LoopbackPort.free()) }
                ports.withLock { $0.append(contentsOf: mine) }
            }
        }
        threads.forEach { $0.join() }
        let all = ports.withLock { $0 }
        #expect(all.count == 2_000)
        #expect(Set(all).count == 2_000)
        #expect(all.allSatisfy { (1...65_535).contains($0) })
    }

    @Test func aPortHandedOutCanBeBound() {
        let port = LoopbackPort.free()
        #expect(port > 0)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(descriptor >= 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(bound == 0)
    }
}
