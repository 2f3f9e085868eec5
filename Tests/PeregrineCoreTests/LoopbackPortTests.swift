import PeregrineCore
import PeregrineTestSupport
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
        let held = HeldPort(port: port)
        defer { held.close() }
        #expect(held.isHeld)
    }
}
