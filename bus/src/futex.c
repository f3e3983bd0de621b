/*
 * futex.c - wait and wake on a bus's shared futex word, handing the kernel the
 * timeout in the layout the chosen system call reads.
 *
 * A 32-bit program may be built with a 64-bit time_t (musl always; glibc with
 * -D_TIME_BITS=64, as new armhf distributions build). Its struct timespec is then
 * two 64-bit fields, while the old SYS_futex on a 32-bit kernel ABI reads two
 * 32-bit longs: handed a 64-bit timespec it reads the low and the high half of
 * tv_sec (0) as seconds and nanoseconds, so a wait of under a second returns at
 * once and the caller spins to its deadline (under qemu-arm an idle 1000 ms
 * acquire took 200-250 ms of CPU, 2 ms with this file: docs/arm.md).
 * So the timespec is never libc's: 64-bit programs use SYS_futex with
 * { long, long } (the only layout there), 32-bit ones SYS_futex_time64 with
 * { int64_t, int64_t } where the kernel has it (Linux >= 5.1) and SYS_futex with
 * { long, long } otherwise.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

/* musl-gcc brings no Linux headers: the values are the kernel's ABI, fixed forever. */
#if defined(__has_include)
#if __has_include(<linux/futex.h>)
#include <linux/futex.h>
#endif
#endif
#ifndef FUTEX_WAIT
#define FUTEX_WAIT 0
#endif
#ifndef FUTEX_WAKE
#define FUTEX_WAKE 1
#endif

#if !defined(SYS_futex) && defined(SYS_futex_time64)
/* 32-bit ABIs born after 2038 was fixed (riscv32) have only the time64 call. */
#define FBUS_FUTEX_TIME64_ONLY 1
#endif

/* The old call's timeout: the kernel's native longs (old_timespec32 on a 32-bit ABI). */
struct fbus_kts_long {
    long tv_sec;
    long tv_nsec;
};

/* SYS_futex_time64's timeout: the kernel's __kernel_timespec. */
struct fbus_kts64 {
    int64_t tv_sec;
    int64_t tv_nsec;
};

#if !defined(FBUS_FUTEX_TIME64_ONLY)
static struct fbus_kts_long kts_long(uint64_t ns)
{
    uint64_t sec = ns / 1000000000u;
    struct fbus_kts_long ts = {.tv_sec = sec > LONG_MAX ? LONG_MAX : (long)sec,
                               .tv_nsec = (long)(ns % 1000000000u)};
    return ts;
}
#endif

#if defined(SYS_futex_time64) && ULONG_MAX == 0xffffffffUL
static long wait_time64(const uint32_t *word, uint32_t expected, uint64_t ns)
{
    struct fbus_kts64 ts = {.tv_sec = (int64_t)(ns / 1000000000u),
                            .tv_nsec = (int64_t)(ns % 1000000000u)};

    return syscall(SYS_futex_time64, word, FUTEX_WAIT, expected, &ts, NULL, 0);
}
#endif

/* One FUTEX_WAIT: the raw syscall's result, -1 with errno set on failure. */
static long wait_once(const uint32_t *word, uint32_t expected, uint64_t ns)
{
#if defined(FBUS_FUTEX_TIME64_ONLY)
    return wait_time64(word, expected, ns);
#else
    struct fbus_kts_long ts;
#if defined(SYS_futex_time64) && ULONG_MAX == 0xffffffffUL
    /* Kernels before 5.1 say ENOSYS once; then the old call for good. */
    static int no_time64;

    if (!__atomic_load_n(&no_time64, __ATOMIC_RELAXED)) {
        long rc = wait_time64(word, expected, ns);

        if (rc == 0 || errno != ENOSYS)
            return rc;
        __atomic_store_n(&no_time64, 1, __ATOMIC_RELAXED);
    }
#endif
    ts = kts_long(ns);
    return syscall(SYS_futex, word, FUTEX_WAIT, expected, &ts, NULL, 0);
#endif
}

/*
 * Not FUTEX_PRIVATE_FLAG: readers map the segment at other addresses in other
 * processes, and only a shared futex keys on the page, not the address.
 * FUTEX_WAKE takes no timeout, so either call number does.
 */
void fbus__futex_wake(uint32_t *word)
{
#if defined(FBUS_FUTEX_TIME64_ONLY)
    syscall(SYS_futex_time64, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
#else
    syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
#endif
}

/*
 * Linux allows FUTEX_WAIT on a read-only mapping: it only reads the word.
 * Returns 0 when woken or the word already differs, FBUS_ETIMEDOUT, or -errno.
 */
int fbus__futex_wait(const uint32_t *word, uint32_t expected, uint64_t timeout_ns)
{
    if (wait_once(word, expected, timeout_ns) == 0)
        return 0;
    if (errno == EAGAIN || errno == EINTR)
        return 0;
    if (errno == ETIMEDOUT)
        return FBUS_ETIMEDOUT;
    return -errno;
}
