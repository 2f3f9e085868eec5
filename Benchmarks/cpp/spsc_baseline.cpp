// C++ baseline for the SPSC ring comparison: the same algorithm as PeregrineCore's SPSCRing
// (power-of-two capacity, cache-line separated indices, cached opposite index,
// acquire/release), measured by the same harness as Sources/SPSCCompare/main.swift.
// Build: g++ -O3 -march=native -std=c++17 -pthread spsc_baseline.cpp -o spsc_baseline
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <pthread.h>
#include <sched.h>
#include <thread>
#include <vector>

struct Item { uint64_t a, b, c, d; };  // 32 bytes, like Transaction

template <size_t N> struct Ring {
    alignas(128) std::atomic<size_t> head{0};
    alignas(128) std::atomic<size_t> tail{0};
    alignas(128) Item slots[N];
};
template <size_t N> struct Producer {
    Ring<N>& r; size_t tail = 0, cachedHead = 0;
    bool push(const Item& v) {
        if (tail - cachedHead == N) { cachedHead = r.head.load(std::memory_order_acquire); if (tail - cachedHead == N) return false; }
        r.slots[tail & (N - 1)] = v; r.tail.store(++tail, std::memory_order_release); return true;
    }
};
template <size_t N> struct Consumer {
    Ring<N>& r; size_t head = 0, cachedTail = 0;
    template <class F> size_t drain(F f) {
        cachedTail = r.tail.load(std::memory_order_acquire);
        size_t n = cachedTail - head; for (size_t i = 0; i < n; i++) f(r.slots[(head + i) & (N - 1)]);
        head += n; r.head.store(head, std::memory_order_release); return n;
    }
};
static void pin(int cpu) { cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu, &s); sched_setaffinity(0, sizeof s, &s); }
static uint64_t nowNs() { timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000ull + t.tv_nsec; }

int main() {
    const uint64_t items = 50000000, trips = 1000000;
    static Ring<1024> ring;
    uint64_t start = nowNs(), sum = 0;
    std::thread consumer([&] { pin(1); Consumer<1024> c{ring}; uint64_t got = 0;
        while (got < items) got += c.drain([&](const Item& v) { sum += v.a; }); });
    pin(0); Producer<1024> p{ring};
    for (uint64_t i = 0; i < items;) if (p.push(Item{i, i, i, i})) i++;
    consumer.join();
    double seconds = (nowNs() - start) / 1e9;
    static Ring<1024> ping, pong;
    std::thread echo([&] { pin(1); Consumer<1024> c{ping}; Producer<1024> p{pong}; uint64_t n = 0;
        while (n < trips) n += c.drain([&](const Item& v) { while (!p.push(v)) {} }); });
    Producer<1024> out{ping}; Consumer<1024> in{pong}; std::vector<uint64_t> rtt(trips);
    for (uint64_t i = 0; i < trips; i++) { uint64_t t0 = nowNs(); out.push(Item{i, 0, 0, 0});
        while (in.drain([](const Item&) {}) == 0) {} rtt[i] = nowNs() - t0; }
    echo.join(); std::sort(rtt.begin(), rtt.end());
    std::printf("cpp throughput_items_per_s %.0f rtt_p50_ns %lu check %lu\n", items / seconds, rtt[trips / 2], sum);
}
