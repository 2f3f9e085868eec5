import PeregrineSys
import Synchronization
import Testing

@testable import PeregrineCore

@Suite("Clock and threads")
struct ClockAndThreadTests {
    /// Holds on a loaded machine: calibration takes the best of several bracketed samples and
    /// checks itself, so a descheduled sample cannot skew it; a calibration that keeps failing
    /// its check falls back to CLOCK_MONOTONIC, which this test accepts only with a reason.
    @Test func cycleClockTracksTheMonotonicClock() {
        let clock = CycleClock.calibrate(calibrationNanoseconds: 10_000_000)
        if clock.source == .monotonic {
            #expect(clock.fallbackReason != nil)
        }
        // The reading lies between two monotonic reads taken around it, give or take the
        // calibration tolerance (preemption between the reads only widens the window).
        let tolerance = CycleClock.calibrationToleranceNanoseconds
        let before = pg_monotonic_nanoseconds()
        let reading = clock.now()
        let after = pg_monotonic_nanoseconds()
        #expect(reading + tolerance >= before && reading <= after + tolerance)
        let start = clock.now()
        clock.spinSleep(nanoseconds: 2_000_000)
        let slept = pg_monotonic_nanoseconds() - before
        #expect(slept >= 2_000_000)
        #expect(clock.now() - start >= 2_000_000)
    }

    @Test func aClockOffTheMonotonicClockFailsTheCheck() {
        guard let measured = CycleClock.measure(calibrationNanoseconds: 2_000_000) else {
            // No usable cycle counter here: calibration must fall back and say why.
            let clock = CycleClock.calibrate(calibrationNanoseconds: 2_000_000)
            #expect(clock.source == .monotonic && clock.fallbackReason != nil)
            return
        }
        // Twice the measured rate, based one second of ticks ago: it reads about 2 s ahead.
        let sample = CycleClock.bestBracketedSample()
        let skewed = CycleClock(
            source: .cycleCounter, fallbackReason: nil, ticksPerSecond: measured.ticksPerSecond / 2,
            baseTicks: sample.ticks &- UInt64(measured.ticksPerSecond), baseNanoseconds: sample.nanoseconds,
            multiplier: measured.multiplier &* 2)
        #expect(skewed.errorAgainstMonotonic() > 900_000_000)
    }

    @Test func saturatingNanosecondsNeverTrap() {
        #expect(CycleClock.saturatingNanoseconds(seconds: .infinity) == .max)
        #expect(CycleClock.saturatingNanoseconds(seconds: 1e300) == .max)
        #expect(CycleClock.saturatingNanoseconds(seconds: .nan) == 0)
        #expect(CycleClock.saturatingNanoseconds(seconds: -5) == 0)
        #expect(CycleClock.saturatingNanoseconds(seconds: 1.5) == 1_500_000_000)
        let clock = CycleClock.calibrate(forceMonotonic: true)
        #expect(clock.ticks(fromNanoseconds: .max) == .max)
    }

    @Test func conversionIsExactForTheFallback() {
        let clock = CycleClock.calibrate(forceMonotonic: true)
        #expect(clock.source == .monotonic)
        #expect(clock.fallbackReason == nil)
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

@Suite("CRC-32C")
struct CRC32CTests {
    @Test func knownVectors() {
        // RFC 3720 (iSCSI) test vectors and the common "123456789" check value.
        let check = Array("123456789".utf8).withUnsafeBytes { CRC32C.checksum($0) }
        #expect(check == 0xE306_9283)
        let zeros = [UInt8](repeating: 0, count: 32).withUnsafeBytes { CRC32C.checksum($0) }
        #expect(zeros == 0x8A91_36AA)
        let ones = [UInt8](repeating: 0xFF, count: 32).withUnsafeBytes { CRC32C.checksum($0) }
        #expect(ones == 0x62A8_AB43)
        let ascending = (0..<32).map { UInt8($0) }.withUnsafeBytes { CRC32C.checksum($0) }
        #expect(ascending == 0x46DD_794E)
    }

    @Test func textKeepsLeadingZeros() {
        #expect(CRC32C.text(0x0000_0A0B) == "00000a0b")
        #expect(CRC32C.text(0) == "00000000")
        #expect(CRC32C.text(0xE306_9283) == "e3069283")
    }

    @Test func hardwareAndTableAgreeOnEveryLengthAndSplit() {
        var random = SplitMix64(seed: 3)
        let bytes = (0..<1_000).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        bytes.withUnsafeBytes { all in
            for length in 0...200 {
                let slice = UnsafeRawBufferPointer(rebasing: all[0..<length])
                #expect(CRC32C.checksum(slice) == CRC32C.softwareChecksum(slice))
            }
            let whole = CRC32C.checksum(all)
            let split = CRC32C.checksum(
                UnsafeRawBufferPointer(rebasing: all[377...]),
                continuing: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[..<377])))
            #expect(split == whole)
        }
    }

    /// Records laid end to end, each with its payload's length (size − 16) at byte 0, the
    /// CRC-32C of its bytes 8..<size at byte 4 and its index at byte 8: the first damaged one
    /// (in the checked bytes, the checksum or the length, which lies outside it) or out of place
    /// (two swapped, each with its checksum whole) is found wherever it is (the three-at-a-time
    /// path and the tail), for record sizes the instruction path takes (80) and one it does not
    /// (21).
    @Test func firstMismatchFindsTheFirstDamagedRecord() {
        var random = SplitMix64(seed: 11)
        for size in [80, 21] {
            for count in [0, 1, 2, 3, 4, 5, 6, 7, 97] {
                var records = (0..<(size * count)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                records.withUnsafeMutableBytes { all in
                    for index in 0..<count {
                        let record = UnsafeMutableRawBufferPointer(rebasing: all[(index * size)..<((index + 1) * size)])
                        record.storeBytes(of: UInt64(1_000 + index).littleEndian, toByteOffset: 8, as: UInt64.self)
                        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: record[8...]))
                        record.storeBytes(of: crc.littleEndian, toByteOffset: 4, as: UInt32.self)
                        record.storeBytes(of: UInt32(size - 16).littleEndian, toByteOffset: 0, as: UInt32.self)
                    }
                }
                func firstMismatch() -> Int {
                    records.withUnsafeBytes { all in
                        guard let base = all.baseAddress else { return 0 }
                        return CRC32C.firstMismatch(records: base, size: size, count: count, firstIndex: 1_000)
                    }
                }
                #expect(firstMismatch() == count, "size \(size), count \(count)")
                // Two records swapped (or a record copied over another): each checksum holds, the
                // indices do not.
                for (first, second) in [(0, count - 1), (count / 2, count / 2 + 1)]
                where first < second && second < count {
                    let a = Array(records[(first * size)..<((first + 1) * size)])
                    records.replaceSubrange(
                        (first * size)..<((first + 1) * size), with: records[(second * size)..<((second + 1) * size)])
                    #expect(firstMismatch() == first, "size \(size), count \(count), copied over \(first)")
                    records.replaceSubrange((second * size)..<((second + 1) * size), with: a)
                    #expect(firstMismatch() == first, "size \(size), count \(count), swapped \(first)")
                    let b = Array(records[(first * size)..<((first + 1) * size)])
                    records.replaceSubrange(
                        (first * size)..<((first + 1) * size), with: records[(second * size)..<((second + 1) * size)])
                    records.replaceSubrange((second * size)..<((second + 1) * size), with: b)
                }
                #expect(firstMismatch() == count)
                for damaged in Set([0, count / 2, count - 1]) where damaged >= 0 && damaged < count {
                    // A flipped bit in the checked bytes, then in the stored checksum, then in the
                    // length.
                    for offset in [8 + Int(random.next() % UInt64(size - 8)), 5, 1] {
                        records[damaged * size + offset] ^= 0x10
                        #expect(firstMismatch() == damaged, "size \(size), count \(count), record \(damaged)")
                        // A later damaged record does not hide the first.
                        if damaged + 1 < count {
                            records[(damaged + 1) * size + 9] ^= 1
                            #expect(firstMismatch() == damaged)
                            records[(damaged + 1) * size + 9] ^= 1
                        }
                        records[damaged * size + offset] ^= 0x10
                    }
                }
                #expect(firstMismatch() == count)
            }
        }
    }
}
