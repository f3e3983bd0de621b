/*
 * handoff.c - wake-up latency: the bare futex baseline and the bus hand-off.
 *
 * Both are measured the same way, interleaved repeat by repeat so they see the
 * same machine: n child processes sleep (FUTEX_WAIT on a shared anonymous
 * word, or fbus_reader_acquire on a bus); the parent takes CLOCK_MONOTONIC,
 * then wakes them (store + FUTEX_WAKE, or fbus_writer_commit with that time
 * as the frame's timestamp); each child takes the clock as soon as its wait
 * returns. Latency = child's time - parent's time, on one clock.
 *
 * The parent paces the wake-ups: it waits until every child has reported
 * the previous one, then sleeps a jittered pace (default 0.5-1.5 ms), so the
 * children are truly asleep - and their CPUs idle, as a camera's readers
 * would be - when the wake comes.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define WARMUP_ROUNDS 5 /* first wakes of a repeat: undo lists, page faults */

struct lat_shared {
    _Alignas(64) uint32_t word; /* futex baseline: the word the children sleep on */
    _Alignas(64) uint64_t t0;   /* futex baseline: when the parent woke them */
    int32_t waker_cpu;
    _Alignas(64) uint32_t ready; /* children set up and about to sleep */
    _Alignas(64) uint32_t done;  /* reports so far, all rounds, all children */
    uint32_t errors;
    uint32_t cross; /* wakes that ran on another CPU than the waker's */
    unsigned rounds;
    char bus[32];
    uint64_t lat[]; /* [child][round], ns; bit 63: woken on another CPU than the waker's */
};

#define CROSS_BIT (1ull << 63)

/* Pooled over repeats. */
struct lat_pool {
    struct samples all;         /* every child's latency */
    struct samples last;        /* per wake, the slowest child */
    struct samples commit;      /* bus only: the writer's commit, wake-ups included */
    struct samples same, other; /* every child's latency, by CPU placement */
    uint64_t cross, wakes;
    unsigned errors;
};

/* CROSS_BIT if this wake runs on another CPU than the waker's, else 0. */
static uint64_t note_cpu(struct lat_shared *sh)
{
    if (sched_getcpu() == __atomic_load_n(&sh->waker_cpu, __ATOMIC_RELAXED))
        return 0;
    __atomic_add_fetch(&sh->cross, 1, __ATOMIC_RELAXED);
    return CROSS_BIT;
}

static int futex_child(void *arg, unsigned idx)
{
    struct lat_shared *sh = arg;
    uint32_t seen = 0, w;

    __atomic_add_fetch(&sh->ready, 1, __ATOMIC_RELEASE);
    for (unsigned k = 0; k < sh->rounds; k++) {
        while ((w = __atomic_load_n(&sh->word, __ATOMIC_ACQUIRE)) == seen) {
            if (futex_wait_shared(&sh->word, seen, 3000000000ull) == -ETIMEDOUT)
                return 2;
        }
        uint64_t t1 = now_ns();
        sh->lat[idx * sh->rounds + k] =
            (t1 - __atomic_load_n(&sh->t0, __ATOMIC_RELAXED)) | note_cpu(sh);
        seen = w;
        __atomic_add_fetch(&sh->done, 1, __ATOMIC_RELEASE);
    }
    return 0;
}

/* One hand-off: 0, or 1 for an error (counted by the caller). */
static int bus_take(struct lat_shared *sh, fbus_reader *rd, unsigned idx, unsigned k,
                    uint64_t *last)
{
    struct fbus_frame f;
    int rc = fbus_reader_acquire(rd, &f, *last, 3000);
    uint64_t t1 = now_ns();

    if (rc != 0)
        return 1;
    sh->lat[idx * sh->rounds + k] = (t1 - f.timestamp_ns) | note_cpu(sh);
    /* The writer stamps each frame with its sequence number: the frame is whole and ours. */
    rc = f.seq != *last + 1 || f.bytesused < 8 || *(const uint64_t *)f.data != f.seq;
    *last = f.seq;
    fbus_reader_release(rd, &f);
    return rc;
}

static int bus_child(void *arg, unsigned idx)
{
    struct lat_shared *sh = arg;
    fbus_reader *rd;
    uint64_t last = 0;

    if (open_reader_retry(&rd, sh->bus, 5000) != 0) {
        __atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED);
        return 3;
    }
    __atomic_add_fetch(&sh->ready, 1, __ATOMIC_RELEASE);
    for (unsigned k = 0; k < sh->rounds; k++) {
        if (bus_take(sh, rd, idx, k, &last) != 0) {
            __atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED);
            if (last == 0 || k + 1 == sh->rounds)
                break;
        }
        __atomic_add_fetch(&sh->done, 1, __ATOMIC_RELEASE);
    }
    fbus_reader_close(rd);
    return 0;
}

/* Sleeps the jittered pace: uniform in [pace/2, 3*pace/2). */
static void pace(const struct bench_opts *o, uint64_t *rng)
{
    uint64_t p = (uint64_t)o->pace_us * 1000u;

    sleep_ns(p / 2 + rnd64(rng) % (p ? p : 1));
}

static int wake_futex(struct lat_shared *sh, unsigned k, void *ctx)
{
    (void)ctx;
    sh->waker_cpu = sched_getcpu();
    __atomic_store_n(&sh->t0, now_ns(), __ATOMIC_RELAXED);
    __atomic_store_n(&sh->word, k + 1, __ATOMIC_RELEASE);
    futex_wake_shared(&sh->word);
    return 0;
}

struct bus_ctx {
    fbus_writer *w;
    struct samples *commit; /* how long commit took, the wake-ups included */
};

static int wake_bus(struct lat_shared *sh, unsigned k, void *arg)
{
    struct bus_ctx *ctx = arg;
    struct fbus_wslot slot;
    uint64_t t0;
    int rc;

    if ((rc = fbus_writer_claim(ctx->w, &slot)) != 0)
        return rc;
    *(uint64_t *)slot.data = slot.seq;
    sh->waker_cpu = sched_getcpu();
    t0 = now_ns();
    rc = fbus_writer_commit(ctx->w, fbus_writer_format(ctx->w)->sizeimage, t0);
    if (k >= WARMUP_ROUNDS)
        samples_add(ctx->commit, (double)(now_ns() - t0));
    return rc;
}

/* Runs the rounds; the children are already forked. 0 or -1 (a child stalled). */
static int drive(const struct bench_opts *o, struct lat_shared *sh, unsigned n,
                 int (*wake)(struct lat_shared *, unsigned, void *), void *ctx)
{
    uint64_t rng = 0x9e3779b97f4a7c15ull ^ now_ns();

    if (wait_counter(&sh->ready, n, 5000) != 0)
        return -1;
    for (unsigned k = 0; k < sh->rounds; k++) {
        if (wait_counter(&sh->done, n * k, 4000) != 0)
            return -1;
        pace(o, &rng);
        if (wake(sh, k, ctx) != 0)
            return -1;
    }
    return wait_counter(&sh->done, n * sh->rounds, 4000);
}

static void pool_add(struct lat_pool *p, const struct lat_shared *sh, unsigned n)
{
    for (unsigned k = WARMUP_ROUNDS; k < sh->rounds; k++) {
        double worst = 0;
        for (unsigned c = 0; c < n; c++) {
            uint64_t raw = sh->lat[c * sh->rounds + k];
            double v = (double)(raw & ~CROSS_BIT);
            samples_add(&p->all, v);
            samples_add(raw & CROSS_BIT ? &p->other : &p->same, v);
            if (v > worst)
                worst = v;
        }
        samples_add(&p->last, worst);
    }
    p->cross += sh->cross;
    p->wakes += (uint64_t)n * sh->rounds;
    p->errors += sh->errors;
}

static struct lat_shared *shared_new(unsigned n, unsigned rounds, size_t *bytes)
{
    struct lat_shared *sh;

    *bytes = sizeof(*sh) + (size_t)n * rounds * sizeof(uint64_t);
    if (!(sh = shared_alloc(*bytes)))
        return NULL;
    sh->rounds = rounds;
    return sh;
}

static int run_futex(const struct bench_opts *o, unsigned n, struct lat_pool *p)
{
    pid_t pids[16] = {0};
    size_t bytes;
    struct lat_shared *sh = shared_new(n, o->rounds, &bytes);
    int rc;

    if (!sh)
        return -1;
    for (unsigned c = 0; c < n; c++)
        pids[c] = spawn_child(futex_child, sh, c, o->pin);
    rc = drive(o, sh, n, wake_futex, NULL);
    reap_children(pids, n);
    if (rc == 0)
        pool_add(p, sh, n);
    else
        p->errors++;
    shared_free(sh, bytes);
    return rc;
}

static int run_bus(const struct bench_opts *o, const struct bsize *z, unsigned n,
                   struct lat_pool *p)
{
    pid_t pids[16] = {0};
    struct fbus_format fmt;
    fbus_writer *w = NULL;
    size_t bytes;
    struct lat_shared *sh = shared_new(n, o->rounds, &bytes);
    int rc = -1;

    if (!sh)
        return -1;
    bus_name(sh->bus);
    fbus_format_init(&fmt, z->fourcc, z->width, z->height);
    if ((rc = fbus_writer_open(&w, sh->bus, &fmt, NULL)) != 0) {
        progress("cannot open bus %s: %s", sh->bus, fbus_strerror(rc));
        goto out;
    }
    for (unsigned c = 0; c < n; c++)
        pids[c] = spawn_child(bus_child, sh, c, o->pin);
    struct bus_ctx ctx = {w, &p->commit};
    rc = drive(o, sh, n, wake_bus, &ctx);
    fbus_writer_close(w);
    reap_children(pids, n);
    if (rc == 0)
        pool_add(p, sh, n);
    else
        p->errors += sh->errors + 1;
out:
    shared_free(sh, bytes);
    return rc;
}

static void store(struct lat_pool *p, struct summary *all, struct summary *last, double *cross,
                  struct summary by_cpu[2])
{
    *all = samples_summary(&p->all);
    *last = samples_summary(&p->last);
    *cross = p->wakes ? (double)p->cross / (double)p->wakes : 0;
    by_cpu[0] = samples_summary(&p->same);
    by_cpu[1] = samples_summary(&p->other);
}

static void pool_free(struct lat_pool *p)
{
    samples_free(&p->all);
    samples_free(&p->last);
    samples_free(&p->commit);
    samples_free(&p->same);
    samples_free(&p->other);
}

/*
 * Latency section: the futex baseline for 1/4/8/16 waiters and, if asked, the
 * hand-off for every size and reader count, repeat after repeat.
 */
int bench_latency(const struct bench_opts *o, struct results *r, int with_bus)
{
    static struct lat_pool fx[NHANDOFF], ho[NSIZES][NHANDOFF];
    struct sched_param rt = {.sched_priority = 10}, normal = {.sched_priority = 0};

    pin_writer(o->pin);
    /* The children inherit the policy at fork. */
    if (o->rt && sched_setscheduler(0, SCHED_FIFO, &rt) != 0)
        progress("--rt: cannot use SCHED_FIFO (%s); measuring without it", strerror(errno));
    for (unsigned rep = 0; rep < o->repeats; rep++) {
        progress("latency: repeat %u/%u", rep + 1, o->repeats);
        for (unsigned j = 0; j < NHANDOFF; j++)
            run_futex(o, handoff_readers[j], &fx[j]);
        for (unsigned s = 0; with_bus && s < NSIZES; s++) {
            for (unsigned j = 0; j < NHANDOFF; j++)
                run_bus(o, &bench_sizes[s], handoff_readers[j], &ho[s][j]);
        }
    }
    for (unsigned j = 0; j < NHANDOFF; j++) {
        store(&fx[j], &r->futex[j], &r->futex_last[j], &r->futex_cross[j], r->futex_cpu[j]);
        pool_free(&fx[j]);
        for (unsigned s = 0; with_bus && s < NSIZES; s++) {
            store(&ho[s][j], &r->handoff[s][j], &r->handoff_last[s][j], &r->handoff_cross[s][j],
                  r->handoff_cpu[s][j]);
            r->handoff_errors[s][j] = ho[s][j].errors;
            r->commit_ns[s][j] = samples_summary(&ho[s][j].commit);
            pool_free(&ho[s][j]);
        }
    }
    if (o->rt)
        sched_setscheduler(0, SCHED_OTHER, &normal);
    r->pinned = o->pin;
    r->have |= SEC_FUTEX | (with_bus ? SEC_HANDOFF : 0);
    return 0;
}
