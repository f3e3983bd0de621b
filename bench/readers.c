/*
 * readers.c - the reader processes the writer-side sections run against:
 * active readers that take every newest frame (optionally summing it), and
 * stalled readers, stopped with SIGSTOP while holding nothing or a frame.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

__attribute__((noinline)) uint64_t sum_words(const void *p, size_t bytes)
{
    const uint64_t *w = p;
    size_t n = bytes / sizeof(*w);
    uint64_t s = 0;

    for (size_t i = 0; i < n; i++)
        s += w[i];
    return s;
}

/* The compiler must not drop the sums of frames nobody looks at. */
static volatile uint64_t sum_sink;

static void active_loop(struct rd_shared *sh, fbus_reader *rd, unsigned idx, int sum)
{
    struct fbus_frame f;
    uint64_t last = 0;
    int rc;

    for (;;) {
        rc = fbus_reader_acquire(rd, &f, last, 1000);
        if (rc == FBUS_ETIMEDOUT)
            continue;
        if (rc != 0)
            return; /* closed, gone: the run is over */
        if (sum)
            sum_sink += sum_words(f.data, f.bytesused);
        last = f.seq;
        fbus_reader_release(rd, &f);
        __atomic_store_n(&sh->seen[idx], sh->seen[idx] + 1, __ATOMIC_RELAXED);
    }
}

static int reader_child(void *arg, unsigned idx)
{
    struct rd_shared *sh = arg;
    struct fbus_frame f;
    fbus_reader *rd;

    if (open_reader_retry(&rd, sh->bus, 5000) != 0) {
        __atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED);
        return 3;
    }
    switch (sh->mode[idx]) {
    case RD_STALL_HOLD:
        if (fbus_reader_acquire(rd, &f, 0, 3000) != 0)
            __atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED);
        /* fall through */
    case RD_STALL_IDLE:
        __atomic_add_fetch(&sh->ready, 1, __ATOMIC_RELEASE);
        raise(SIGSTOP);
        pause();
        break;
    default:
        __atomic_add_fetch(&sh->ready, 1, __ATOMIC_RELEASE);
        active_loop(sh, rd, idx, sh->mode[idx] == RD_ACTIVE_SUM);
    }
    fbus_reader_close(rd);
    return 0;
}

int readers_start(struct rd_shared *sh, unsigned n, pid_t *pids, int pin)
{
    int st;

    for (unsigned i = 0; i < n; i++)
        pids[i] = spawn_child(reader_child, sh, i, pin);
    if (wait_counter(&sh->ready, n, 5000) != 0)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        if (sh->mode[i] != RD_STALL_IDLE && sh->mode[i] != RD_STALL_HOLD)
            continue;
        /* Stopped for real, not merely about to raise the signal. */
        if (waitpid(pids[i], &st, WUNTRACED) != pids[i] || !WIFSTOPPED(st))
            return -1;
    }
    return sh->errors ? -1 : 0;
}
