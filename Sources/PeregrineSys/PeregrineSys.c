#define _GNU_SOURCE
#include "PeregrineSys.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

int pg_cycle_counter_invariant(void) {
#if defined(__x86_64__) || defined(__i386__)
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(0x80000000u, &eax, &ebx, &ecx, &edx) || eax < 0x80000007u) {
        return 0;
    }
    __get_cpuid(0x80000007u, &eax, &ebx, &ecx, &edx);
    return (edx & (1u << 8)) ? 1 : 0;
#elif defined(__aarch64__)
    return 1;
#else
    return 0;
#endif
}

uint64_t pg_monotonic_nanoseconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int pg_pin_current_thread(const int32_t *cpus, int32_t count) {
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int32_t i = 0; i < count; i++) {
        if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) {
            return EINVAL;
        }
        CPU_SET(cpus[i], &set);
    }
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
        return errno;
    }
    return 0;
#else
    (void)cpus;
    (void)count;
    return ENOTSUP;
#endif
}

int32_t pg_current_cpu(void) {
#if defined(__linux__)
    return (int32_t)sched_getcpu();
#else
    return -1;
#endif
}

int pg_set_current_thread_name(const char *name) {
#if defined(__linux__)
    char truncated[16];
    strncpy(truncated, name, sizeof(truncated) - 1);
    truncated[sizeof(truncated) - 1] = '\0';
    return pthread_setname_np(pthread_self(), truncated);
#else
    (void)name;
    return ENOTSUP;
#endif
}

int32_t pg_available_cpu_count(void) {
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        return (int32_t)CPU_COUNT(&set);
    }
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int32_t)n : 1;
}

int pg_futex_wait(uint32_t *address, uint32_t expected, uint64_t timeout_ns) {
    struct timespec timeout;
    timeout.tv_sec = (time_t)(timeout_ns / 1000000000ull);
    timeout.tv_nsec = (long)(timeout_ns % 1000000000ull);
#if defined(__linux__)
    long rc = syscall(SYS_futex, address, FUTEX_WAIT_PRIVATE, expected, &timeout, NULL, 0);
    return rc == 0 ? 0 : (errno == ETIMEDOUT || errno == EAGAIN || errno == EINTR ? 0 : errno);
#else
    (void)address;
    (void)expected;
    nanosleep(&timeout, NULL);
    return 0;
#endif
}

void pg_futex_wake_all(uint32_t *address) {
#if defined(__linux__)
    syscall(SYS_futex, address, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
#else
    (void)address;
#endif
}

void pg_thread_yield(void) { sched_yield(); }
