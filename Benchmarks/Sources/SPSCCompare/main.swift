// The Swift side of the SPSC comparison: the same harness as cpp/spsc_baseline.cpp, over
// PeregrineCore's SPSCRing. Prints one line in the same format.
import PeregrineCore
import PeregrineSys
import Synchronization

struct Item: BitwiseCopyable { var a, b, c, d: UInt64 }  // 32 bytes, like Transaction

let items = 50_000_000
let trips = 1_000_000

func run() throws {
    let ring = try SPSCRing<Item>(capacity: 1_024)
    let total = Atomic<UInt64>(0)
    let start = pg_monotonic_nanoseconds()
    let consumerThread = try PinnedThread.start(name: "cmp-cons", cpus: [1]) {
        guard var consumer = try? ring.makeConsumer() else { return }
        var got = 0
        var sum: UInt64 = 0
        while got < items { got += consumer.drain { sum &+= $0.a } }
        total.store(sum, ordering: .relaxed)
    }
    let producerThread = try PinnedThread.start(name: "cmp-prod", cpus: [0]) {
        guard var producer = try? ring.makeProducer() else { return }
        var index = 0
        while index < items {
            let value = UInt64(index)
            if producer.tryPush(Item(a: value, b: value, c: value, d: value)) { index += 1 }
        }
    }
    producerThread.join()
    consumerThread.join()
    let seconds = Double(pg_monotonic_nanoseconds() - start) / 1e9

    let ping = try SPSCRing<Item>(capacity: 1_024)
    let pong = try SPSCRing<Item>(capacity: 1_024)
    let echo = try PinnedThread.start(name: "cmp-echo", cpus: [1]) {
        guard var inbound = try? ping.makeConsumer(), var outbound = try? pong.makeProducer() else { return }
        var count = 0
        while count < trips { count += inbound.drain { item in while !outbound.tryPush(item) {} } }
    }
    var rtt = [UInt64](repeating: 0, count: trips)
    var outbound = try ping.makeProducer()
    var inbound = try pong.makeConsumer()
    _ = pg_pin_current_thread([0], 1)
    for index in 0..<trips {
        let t0 = pg_monotonic_nanoseconds()
        _ = outbound.tryPush(Item(a: UInt64(index), b: 0, c: 0, d: 0))
        while inbound.drain({ _ in }) == 0 {}
        rtt[index] = pg_monotonic_nanoseconds() - t0
    }
    echo.join()
    rtt.sort()
    print(
        "swift throughput_items_per_s \(Int(Double(items) / seconds)) rtt_p50_ns \(rtt[trips / 2]) check \(total.load(ordering: .relaxed))"
    )
}

do { try run() } catch { print("error: \(error)") }
