// PeregrineSys: the few machine facilities Swift cannot express directly.
// Everything here is either a static inline (so Swift inlines it into hot loops)
// or a thin wrapper around a Linux call that needs _GNU_SOURCE.
#ifndef PEREGRINE_SYS_H
#define PEREGRINE_SYS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Cache line size assumed for padding hot atomics (x86-64 and most ARM servers).
#define PG_CACHE_LINE_SIZE 64

/// Reads the CPU's cycle counter (rdtsc on x86-64, cntvct_el0 on arm64).
/// Returns 0 on architectures without a user-readable counter; callers check
/// `pg_cycle_counter_available()` before relying on it.
static inline uint64_t pg_read_cycle_counter(void) {
#if defined(__x86_64__) || defined(__i386__)
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
#elif defined(__aarch64__)
    uint64_t value;
    __asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(value));
    return value;
#else
    return 0;
#endif
}

/// Starts loading the cache line holding `address` for writing, without waiting for it
/// (a hint: never faults, even on an invalid address).
static inline void pg_prefetch_for_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

/// Hints the CPU that the caller is in a spin-wait loop (pause / yield).
static inline void pg_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("pause" ::: "memory");
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/// 1 when the cycle counter is constant-rate and keeps counting in idle states
/// (x86 invariant TSC, CPUID 0x80000007 EDX bit 8; always on arm64), else 0.
int pg_cycle_counter_invariant(void);

/// CLOCK_MONOTONIC in nanoseconds.
uint64_t pg_monotonic_nanoseconds(void);

/// Pins the calling thread to the given CPUs. Returns 0 on success or the errno
/// the kernel gave (EINVAL for a CPU that does not exist, EPERM when refused).
int pg_pin_current_thread(const int32_t *cpus, int32_t count);

/// Replaces the trailing XXXXXX of `template_path` and creates that file (mode 0600), closed
/// on exec from the start (mkostemp): its descriptor, or -1 with errno set.
int pg_make_unique_file(char *template_path);

/// The CPU the calling thread is running on, or -1 when unknown.
int32_t pg_current_cpu(void);

/// Names the calling thread (at most 15 bytes are kept, as the kernel allows).
int pg_set_current_thread_name(const char *name);

/// Number of CPUs the process may run on.
int32_t pg_available_cpu_count(void);

/// Waits while *address == expected, for at most timeout_ns (futex; Linux only,
/// elsewhere it sleeps for the timeout). Returns 0 when woken or timed out.
int pg_futex_wait(uint32_t *address, uint32_t expected, uint64_t timeout_ns);

/// Wakes every thread waiting on address.
void pg_futex_wake_all(uint32_t *address);

/// Yields the processor to another runnable thread.
void pg_thread_yield(void);

/// CRC-32C (Castagnoli) of `length` bytes, continuing from `crc` (0 to start). Uses the
/// SSE4.2 crc32 instruction when the CPU has it, else a slicing-by-8 table.
uint32_t pg_crc32c(uint32_t crc, const void *bytes, size_t length);

/// The same with the table only (for tests and for measuring the hardware path against it).
uint32_t pg_crc32c_software(uint32_t crc, const void *bytes, size_t length);

/// Checks `count` records of `size` bytes laid end to end, each storing (little-endian, at
/// byte 4) the CRC-32C of its bytes 8..<size, and its index at byte 8 (`first_index` for the
/// first, counting up). Returns the position of the first record whose length, checksum or
/// index does not match, `count` when all match (0 when `size` < 16).
size_t pg_crc32c_first_mismatch(const void *records, size_t size, size_t count, uint64_t first_index);

/// 1 when `pg_crc32c` uses the crc32 instruction.
int pg_crc32c_is_hardware(void);

/// Whether `bytes` hold exactly one JSON object: optional spaces or tabs, '{', balanced
/// objects and arrays outside strings (strings and their escapes respected), the closing '}',
/// then only spaces or tabs. Returns 0 when they do; otherwise 1 (does not start with '{'),
/// 2 (a ']' or '}' closes nothing), 3 (text after the object) or 4 (the object is not closed),
/// and sets *column to the 1-based column of the problem. Checks structure only (not values).
/// Reads 16 bytes at a time with SSE2 where available. No allocation.
int pg_json_single_object(const uint8_t *bytes, size_t length, size_t *column);

/// From now on a SIGBUS (a memory-mapped file cut short while it is read: its pages past the
/// new end are gone) removes the files `pg_remove_on_sigbus` names, writes `message` to
/// standard error and exits with status 1, instead of the process crashing. Call once, before
/// starting threads.
void pg_exit_on_sigbus(const char *message);

/// Names a file a SIGBUS exit removes (an output's partial file); returns its slot for
/// `pg_keep_on_sigbus`, or -1 when every slot is taken (it is then left). Thread-safe.
int pg_remove_on_sigbus(const char *path);

/// Forgets the file in `slot` (renamed into place, or removed already). Thread-safe.
void pg_keep_on_sigbus(int slot);

#ifdef __cplusplus
}
#endif

#endif
