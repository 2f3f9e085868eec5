#define _GNU_SOURCE
#include "PeregrineSys.h"

#include <endian.h>
#include <signal.h>
#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
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

// MARK: CRC-32C

static uint32_t crc32c_table[8][256];
static int crc32c_hardware = -1;

static void crc32c_init(void) {
    for (uint32_t index = 0; index < 256; index++) {
        uint32_t crc = index;
        for (int bit = 0; bit < 8; bit++) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        crc32c_table[0][index] = crc;
    }
    for (uint32_t index = 0; index < 256; index++) {
        uint32_t crc = crc32c_table[0][index];
        for (int slice = 1; slice < 8; slice++) {
            crc = crc32c_table[0][crc & 0xFF] ^ (crc >> 8);
            crc32c_table[slice][index] = crc;
        }
    }
#if defined(__x86_64__)
    __builtin_cpu_init();
    crc32c_hardware = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#else
    crc32c_hardware = 0;
#endif
}

static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

uint32_t pg_crc32c_software(uint32_t crc, const void *bytes, size_t length) {
    pthread_once(&crc32c_once, crc32c_init);
    const uint8_t *p = bytes;
    uint32_t c = ~crc;
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        word ^= c;
        c = crc32c_table[7][word & 0xFF] ^ crc32c_table[6][(word >> 8) & 0xFF] ^
            crc32c_table[5][(word >> 16) & 0xFF] ^ crc32c_table[4][(word >> 24) & 0xFF] ^
            crc32c_table[3][(word >> 32) & 0xFF] ^ crc32c_table[2][(word >> 40) & 0xFF] ^
            crc32c_table[1][(word >> 48) & 0xFF] ^ crc32c_table[0][word >> 56];
        p += 8;
        length -= 8;
    }
    while (length--) c = crc32c_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
    return ~c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const void *bytes, size_t length) {
    const uint8_t *p = bytes;
    uint64_t c = ~crc;
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        length -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (length--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}
#endif

#if defined(__x86_64__)
/// The first of three consecutive records of `size` bytes (size - 8 a multiple of 8) whose
/// stored checksum, payload length or index (`index` for the first) does not match: 0, 1, 2,
/// or 3 when all three match.
__attribute__((target("sse4.2")))
static size_t crc32c_sse42_three(const uint8_t *first, size_t size, uint64_t index) {
    const uint8_t *a = first + 8, *b = first + size + 8, *c = first + 2 * size + 8;
    uint64_t ca = 0xFFFFFFFFu, cb = 0xFFFFFFFFu, cc = 0xFFFFFFFFu;
    for (size_t offset = 0; offset + 8 <= size - 8; offset += 8) {
        uint64_t wa, wb, wc;
        memcpy(&wa, a + offset, 8);
        memcpy(&wb, b + offset, 8);
        memcpy(&wc, c + offset, 8);
        ca = __builtin_ia32_crc32di(ca, wa);
        cb = __builtin_ia32_crc32di(cb, wb);
        cc = __builtin_ia32_crc32di(cc, wc);
    }
    uint32_t sa, sb, sc, la, lb, lc;
    memcpy(&sa, first + 4, 4);
    memcpy(&sb, first + size + 4, 4);
    memcpy(&sc, first + 2 * size + 4, 4);
    memcpy(&la, first, 4);
    memcpy(&lb, first + size, 4);
    memcpy(&lc, first + 2 * size, 4);
    uint64_t ia, ib, ic;
    memcpy(&ia, first + 8, 8);
    memcpy(&ib, first + size + 8, 8);
    memcpy(&ic, first + 2 * size + 8, 8);
    const uint32_t length = (uint32_t)(size - 16);
    if ((uint32_t)~ca != le32toh(sa) || le32toh(la) != length || le64toh(ia) != index) return 0;
    if ((uint32_t)~cb != le32toh(sb) || le32toh(lb) != length || le64toh(ib) != index + 1) return 1;
    if ((uint32_t)~cc != le32toh(sc) || le32toh(lc) != length || le64toh(ic) != index + 2) return 2;
    return 3;
}
#endif

uint32_t pg_crc32c(uint32_t crc, const void *bytes, size_t length) {
    pthread_once(&crc32c_once, crc32c_init);
#if defined(__x86_64__)
    if (crc32c_hardware) return crc32c_sse42(crc, bytes, length);
#endif
    return pg_crc32c_software(crc, bytes, length);
}

/// Checks records of `size` bytes laid end to end (a 16-byte header, then the payload): each
/// stores, little-endian, its payload's length (`size` - 16) at byte 0, the CRC-32C of its
/// bytes 8..<size at byte 4 (the length lies outside the checksum) and its index at byte 8
/// (`first_index` for the first, counting up: a record moved or copied elsewhere keeps a
/// matching checksum but not its index). Returns the index of the first record whose length,
/// checksum or index does not match, or `count` when all do. With the crc32 instruction three
/// records are checked at once (their chains are independent, so the instruction's latency
/// overlaps).
size_t pg_crc32c_first_mismatch(const void *records, size_t size, size_t count, uint64_t first_index) {
    pthread_once(&crc32c_once, crc32c_init);
    const uint8_t *base = records;
    size_t index = 0;
    if (size < 16) return 0;
#if defined(__x86_64__)
    if (crc32c_hardware && (size - 8) % 8 == 0) {
        for (; index + 3 <= count; index += 3) {
            size_t mismatch = crc32c_sse42_three(base + index * size, size, first_index + index);
            if (mismatch < 3) return index + mismatch;
        }
    }
#endif
    for (; index < count; index++) {
        const uint8_t *record = base + index * size;
        uint32_t stored, length;
        uint64_t stored_index;
        memcpy(&stored, record + 4, 4);
        memcpy(&length, record, 4);
        memcpy(&stored_index, record + 8, 8);
        if (le32toh(length) != (uint32_t)(size - 16)) return index;
        if (le64toh(stored_index) != first_index + index) return index;
        if (pg_crc32c(0, record + 8, size - 8) != le32toh(stored)) return index;
    }
    return count;
}

int pg_crc32c_is_hardware(void) {
    pthread_once(&crc32c_once, crc32c_init);
    return crc32c_hardware;
}

// MARK: JSON object shape

#if defined(__x86_64__) || defined(__SSE2__)
#include <emmintrin.h>
#define PG_HAVE_SSE2 1
#endif

/// The verdict once the object's last '}' is found at `at`: 0 when only spaces or tabs follow.
static int json_closed_at(const uint8_t *bytes, size_t length, size_t at, size_t *column) {
    size_t rest = at + 1;
    while (rest < length && (bytes[rest] == ' ' || bytes[rest] == '\t')) rest++;
    if (rest == length) return 0;
    *column = rest + 1;
    return 3;
}

/// Walks a block's brackets outside strings (bit i = byte position + i), in order; returns -1
/// when the object goes on past the block, else the verdict.
static inline int json_walk_block(const uint8_t *bytes, size_t length, size_t position, uint64_t opens,
                                  uint64_t closes, long *depth, size_t *column) {
    uint64_t structural = opens | closes;
    while (structural != 0) {
        uint64_t bit = structural & (0ull - structural);
        if (opens & bit) {
            *depth += 1;
        } else {
            *depth -= 1;
            size_t at = position + (size_t)__builtin_ctzll(bit);
            if (*depth < 0) {
                *column = at + 1;
                return 2;
            }
            if (*depth == 0) return json_closed_at(bytes, length, at, column);
        }
        structural ^= bit;
    }
    return -1;
}

/// The scalar scan from `position` with the state so far.
static int json_shape_scalar(const uint8_t *bytes, size_t length, size_t position, int in_string, long depth,
                             size_t *column) {
    for (; position < length; position++) {
        uint8_t byte = bytes[position];
        if (in_string) {
            if (byte == '\\') {
                position++;
            } else if (byte == '"') {
                in_string = 0;
            }
            continue;
        }
        if (byte == '"') {
            in_string = 1;
        } else if (byte == '{' || byte == '[') {
            depth++;
        } else if (byte == '}' || byte == ']') {
            depth--;
            if (depth < 0) {
                *column = position + 1;
                return 2;
            }
            if (depth == 0) return json_closed_at(bytes, length, position, column);
        }
    }
    *column = length;
    return 4;
}

#ifdef PG_HAVE_SSE2
#include <immintrin.h>

/// The AVX2 scan: 64 bytes at a time (two loads, 64-bit masks), the same state as the SSE2
/// loop (see below). Returns -1 when it stops at a backslash or the tail, with the state in
/// *state_*, else the verdict.
__attribute__((target("avx2"))) static uint64_t json_mask64(const uint8_t *p, __m256i byte) {
    uint32_t low = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)p), byte));
    uint32_t high =
        (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(p + 32)), byte));
    return (uint64_t)low | ((uint64_t)high << 32);
}

__attribute__((target("avx2"))) static int json_shape_avx2(const uint8_t *bytes, size_t length, size_t *position_,
                                                             uint32_t *in_string_, long *depth_, size_t *column) {
    size_t position = *position_;
    uint64_t in_string = *in_string_;
    long depth = *depth_;
    const __m256i quote = _mm256_set1_epi8('"'), backslash = _mm256_set1_epi8('\\');
    const __m256i open_brace = _mm256_set1_epi8('{'), open_bracket = _mm256_set1_epi8('[');
    const __m256i close_brace = _mm256_set1_epi8('}'), close_bracket = _mm256_set1_epi8(']');
    while (position + 64 <= length) {
        const uint8_t *p = bytes + position;
        if (json_mask64(p, backslash) != 0) break;
        uint64_t quotes = json_mask64(p, quote);
        uint64_t opens = json_mask64(p, open_brace) | json_mask64(p, open_bracket);
        uint64_t closes = json_mask64(p, close_brace) | json_mask64(p, close_bracket);
        uint64_t strings = quotes;
        strings ^= strings << 1;
        strings ^= strings << 2;
        strings ^= strings << 4;
        strings ^= strings << 8;
        strings ^= strings << 16;
        strings ^= strings << 32;
        if (in_string) strings = ~strings;
        opens &= ~strings;
        closes &= ~strings;
        long closings = __builtin_popcountll(closes);
        in_string ^= (uint64_t)__builtin_popcountll(quotes) & 1u;
        // Fewer closings than the depth: the object cannot end in this block, count only.
        if (depth > closings) {
            depth += __builtin_popcountll(opens) - closings;
            position += 64;
            continue;
        }
        int verdict = json_walk_block(bytes, length, position, opens, closes, &depth, column);
        if (verdict >= 0) return verdict;
        position += 64;
    }
    *position_ = position;
    *in_string_ = (uint32_t)in_string;
    *depth_ = depth;
    return -1;
}

static int json_avx2 = -1;
#endif

int pg_json_single_object(const uint8_t *bytes, size_t length, size_t *column) {
    size_t position = 0;
    while (position < length && (bytes[position] == ' ' || bytes[position] == '\t')) position++;
    if (position == length || bytes[position] != '{') {
        *column = position + 1;
        return 1;
    }
#ifdef PG_HAVE_SSE2
    // 16 bytes at a time: masks of quotes, backslashes and brackets; the bytes inside strings
    // are the prefix xor of the quote mask. A block with a backslash goes to the scalar scan
    // (escapes are rare in market data), as does the tail.
    uint32_t in_string = 0;  // 0 or 1: inside a string at the block's start
    long depth = 0;
    int avx2 = __atomic_load_n(&json_avx2, __ATOMIC_RELAXED);
    if (avx2 < 0) {
        avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
        __atomic_store_n(&json_avx2, avx2, __ATOMIC_RELAXED);
    }
    if (avx2) {
        int verdict = json_shape_avx2(bytes, length, &position, &in_string, &depth, column);
        if (verdict >= 0) return verdict;
    }
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    const __m128i open_brace = _mm_set1_epi8('{'), open_bracket = _mm_set1_epi8('[');
    const __m128i close_brace = _mm_set1_epi8('}'), close_bracket = _mm_set1_epi8(']');
    while (position + 16 <= length) {
        __m128i block = _mm_loadu_si128((const __m128i *)(bytes + position));
        uint32_t escapes = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(block, backslash));
        if (escapes != 0) break;
        uint32_t quotes = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(block, quote));
        uint32_t opens = (uint32_t)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(block, open_brace), _mm_cmpeq_epi8(block, open_bracket)));
        uint32_t closes = (uint32_t)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(block, close_brace), _mm_cmpeq_epi8(block, close_bracket)));
        uint32_t strings = quotes;
        strings ^= strings << 1;
        strings ^= strings << 2;
        strings ^= strings << 4;
        strings ^= strings << 8;
        if (in_string) strings = ~strings;
        strings &= 0xFFFF;
        opens &= ~strings;
        closes &= ~strings;
        // Fewer closings than the depth: the object cannot end in this block, count only.
        long closings = __builtin_popcount(closes);
        if (depth > closings) {
            depth += __builtin_popcount(opens) - closings;
            in_string ^= (uint32_t)__builtin_popcount(quotes) & 1u;
            position += 16;
            continue;
        }
        int verdict = json_walk_block(bytes, length, position, opens, closes, &depth, column);
        if (verdict >= 0) return verdict;
        in_string ^= (uint32_t)__builtin_popcount(quotes) & 1u;
        position += 16;
    }
    return json_shape_scalar(bytes, length, position, (int)in_string, depth, column);
#else
    return json_shape_scalar(bytes, length, position, 0, 0, column);
#endif
}

int pg_make_unique_file(char *template_path) {
#if defined(__linux__)
    return mkostemp(template_path, O_CLOEXEC);
#else
    int fd = mkstemp(template_path);
    if (fd >= 0) {
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    return fd;
#endif
}

// MARK: SIGBUS exit

/// The message and the files a SIGBUS exit uses. A file's path is never freed once named: the
/// handler may read it on another thread while its slot is cleared.
static const char *sigbus_message = NULL;
static size_t sigbus_message_length = 0;
#define SIGBUS_SLOTS 32
static char *_Atomic sigbus_removals[SIGBUS_SLOTS];

static void sigbus_exit(int number) {
    (void)number;
    for (int slot = 0; slot < SIGBUS_SLOTS; slot++) {
        char *path = atomic_load(&sigbus_removals[slot]);
        if (path != NULL) unlink(path);
    }
    if (sigbus_message != NULL) {
        ssize_t written = write(2, sigbus_message, sigbus_message_length);
        (void)written;
    }
    _exit(1);
}

void pg_exit_on_sigbus(const char *message) {
    char *copy = strdup(message);
    if (copy == NULL) return;
    sigbus_message = copy;
    sigbus_message_length = strlen(copy);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = sigbus_exit;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, NULL);
}

int pg_remove_on_sigbus(const char *path) {
    char *copy = strdup(path);
    if (copy == NULL) return -1;
    for (int slot = 0; slot < SIGBUS_SLOTS; slot++) {
        char *expected = NULL;
        if (atomic_compare_exchange_strong(&sigbus_removals[slot], &expected, copy)) return slot;
    }
    free(copy);
    return -1;
}

void pg_keep_on_sigbus(int slot) {
    if (slot < 0 || slot >= SIGBUS_SLOTS) return;
    atomic_store(&sigbus_removals[slot], NULL);
}
