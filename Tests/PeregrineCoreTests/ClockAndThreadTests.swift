import PeregrineCore
import PeregrineSys
import Synchronization
import Testing

@Suite("Clock and threads")
struct ClockAndThreadTests {
    @Test func cycleClockTracksTheMonotonicClock() {
        let clock = CycleClock.calibrate(calibrationNanoseconds: 10_000_000)
        let before = pg_monotonic_nanoseconds()
        let reading = clock.now()
        let after = pg_monotonic_nanoseconds()
        // Within 50 µs of the monotonic clock right after calibration.
        #expect(reading + 50_000 >= before && reading <= after + 50_000)
        let start = clock.now()
        clock.spinSleep(nanoseconds: 2_000_000)
        let slept = pg_monotonic_nanoseconds() - before
        #expect(slept >= 2_000_000)
        #expect(clock.now() - start >= 2_000_000)
    }

    @Test func conversionIsExactForTheFallback() {
        let clock = CycleClock.calibrate(forceMonotonic: true)
        #expect(clock.source == .monotonic)
        #expect(clock.nanoseconds(fromTicks: 123_456_789) == 123_456_789)
        #expect(clock.scale(1_000) == 1_000)
    }

    @Test func threadIsNamedPinnedAndJoined() throws {
        let ranOn = Atomic<Int>(-2)
        let thread = try PinnedThread.start(name: "pg-test", cpus: [0]) {
            ranOn.store(Int(pg_current_cpu()), ordering: .relaxed)
        }
        thread.join()
        #expect(thread.pinning == .pinned(cpus: [0]))
        #expect(ranOn.load(ordering: .relaxed) == 0)
    }

    @Test func refusedPinningIsReportedAndTheThreadStillRuns() throws {
        let ran = Atomic<Bool>(false)
        let thread = try PinnedThread.start(name: "pg-test", cpus: [1023]) { ran.store(true, ordering: .relaxed) }
        thread.join()
        #expect(thread.pinning == .refused(cpus: [1023], errno: 22))
        let didRun = ran.load(ordering: .relaxed)
        #expect(didRun)
    }

    @Test func splitMixIsDeterministic() {
        var first = SplitMix64(seed: 1)
        var second = SplitMix64(seed: 1)
        let a = (0..<5).map { _ in first.next() }
        #expect(a == (0..<5).map { _ in second.next() })
        #expect(a[0] == 0x910A_2DEC_8902_5CC1)  // reference value of SplitMix64 for seed 1
    }
}
