/*
 * wcost.c - memcpy bandwidth (the physical limit) and the writer's cost per
 * frame: claim + commit + wake without the copy, and fbus_writer_publish with
 * it, each with no reader and with active readers attached.
 *
 * The memcpy peer copies a frame from one heap buffer into two rotating heap
 * buffers - as publish copies into the two slots of a default bus - and is
 * re-measured right before each publish run, so the fraction compares
 * neighbours in time on this shared machine.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

#define MAX_ITERS 50000

struct wrun {
    struct samples *s; /* per-frame wall time */
    uint64_t frames, drops, cpu_ns;
};

static void time_memcpy(void *dst[2], const void *src, size_t bytes, double secs, struct samples *s)
{
    uint64_t end = now_ns() + (uint64_t)(secs * 1e9), t0, t1;
    unsigned k = 0;

    do {
        t0 = now_ns();
        memcpy(dst[k & 1], src, bytes);
        __asm__ volatile("" ::: "memory");
        t1 = now_ns();
        samples_add(s, (double)(t1 - t0));
    } while ((++k < 20 || t1 < end) && k < MAX_ITERS);
}

/*
 * What one system call costs here (getppid, which does nothing): the unit the
 * writer's and readers' fixed costs are counted in. Median of 1000-call batches.
 */
static double time_syscall(void)
{
    double v[50];

    for (unsigned b = 0; b < 50; b++) {
        uint64_t t0 = thread_cpu_ns();
        for (unsigned i = 0; i < 1000; i++)
            syscall(SYS_getppid);
        v[b] = (double)(thread_cpu_ns() - t0) / 1000.0;
    }
    return median_of(v, 50);
}

int bench_memcpy(const struct bench_opts *o, struct results *r)
{
    r->syscall_ns = time_syscall();
    for (unsigned z = 0; z < NSIZES; z++) {
        size_t bytes = bench_sizes[z].bytes;
        void *src = local_alloc(bytes), *dst[2] = {local_alloc(bytes), local_alloc(bytes)};
        struct samples s = {0};

        if (src && dst[0] && dst[1]) {
            for (unsigned rep = 0; rep < o->repeats; rep++)
                time_memcpy(dst, src, bytes, o->run_secs / 2, &s);
        }
        r->memcpy_ns[z] = samples_summary(&s);
        samples_free(&s);
        free(src);
        free(dst[0]);
        free(dst[1]);
    }
    r->have |= SEC_BASE;
    return 0;
}

/* One timed writer loop; src NULL: claim + commit only, else publish src. */
static void time_writer(fbus_writer *w, const void *src, size_t bytes, double secs,
                        struct wrun *run)
{
    uint64_t end = now_ns() + (uint64_t)(secs * 1e9), cpu0 = thread_cpu_ns(), t0, t1;
    struct fbus_wslot slot;
    unsigned k = 0;
    int rc;

    do {
        t0 = now_ns();
        if (src) {
            rc = fbus_writer_publish(w, src, bytes, 0);
        } else if ((rc = fbus_writer_claim(w, &slot)) == 0) {
            rc = fbus_writer_commit(w, bytes, 0);
        }
        t1 = now_ns();
        if (rc == 0) {
            samples_add(run->s, (double)(t1 - t0));
            run->frames++;
        } else {
            run->drops++; /* FBUS_ENOSLOT: a reader held the only free slot */
        }
    } while ((++k < 20 || t1 < end) && k < MAX_ITERS);
    run->cpu_ns += thread_cpu_ns() - cpu0;
}

/* Opens a bus, attaches n active readers, warms up, runs one timed loop. */
static int writer_run(const struct bench_opts *o, const struct bsize *z, unsigned n,
                      const void *src, double secs, struct wrun *run)
{
    struct rd_shared *sh = shared_alloc(sizeof(*sh));
    struct fbus_format fmt;
    fbus_writer *w = NULL;
    pid_t pids[16] = {0};
    struct wrun warm = {0};
    struct samples ws = {0};
    int rc = -1;

    if (!sh)
        return -1;
    fbus_format_init(&fmt, z->fourcc, z->width, z->height);
    if (fbus_writer_open(&w, bus_name(sh->bus), &fmt, NULL) != 0)
        goto out;
    for (unsigned i = 0; i < n; i++)
        sh->mode[i] = RD_ACTIVE;
    if (readers_start(sh, n, pids, o->pin) != 0)
        goto out;
    /* Warm-up: every slot page faulted in, the semaphore undo lists made. */
    warm.s = &ws;
    time_writer(w, src, z->bytes, 0.0, &warm);
    time_writer(w, src, z->bytes, secs, run);
    rc = 0;
out:
    fbus_writer_close(w);
    reap_children(pids, n);
    samples_free(&ws);
    shared_free(sh, sizeof(*sh));
    return rc;
}

static void measure_size(const struct bench_opts *o, unsigned z, struct results *r)
{
    const struct bsize *sz = &bench_sizes[z];
    void *src = local_alloc(sz->bytes), *dst[2] = {local_alloc(sz->bytes), local_alloc(sz->bytes)};
    struct samples mc = {0}, nc[NWCOST] = {{0}}, pc[NWPUB] = {{0}};
    struct wrun ncr[NWCOST] = {{0}}, pcr[NWPUB] = {{0}};

    for (unsigned rep = 0; src && dst[0] && dst[1] && rep < o->repeats; rep++) {
        for (unsigned j = 0; j < NWCOST; j++) {
            ncr[j].s = &nc[j];
            writer_run(o, sz, wcost_readers[j], NULL, o->run_secs / 2, &ncr[j]);
        }
        for (unsigned j = 0; j < NWPUB; j++) {
            time_memcpy(dst, src, sz->bytes, o->run_secs / 2, &mc);
            pcr[j].s = &pc[j];
            writer_run(o, sz, wpub_readers[j], src, o->run_secs, &pcr[j]);
        }
    }
    for (unsigned j = 0; j < NWCOST; j++) {
        r->wcost[z][j] = samples_summary(&nc[j]);
        r->wcost_cpu[z][j] = ncr[j].frames ? (double)ncr[j].cpu_ns / (double)ncr[j].frames : 0;
        samples_free(&nc[j]);
    }
    for (unsigned j = 0; j < NWPUB; j++) {
        r->wpub[z][j] = samples_summary(&pc[j]);
        r->wpub_cpu[z][j] = pcr[j].frames ? (double)pcr[j].cpu_ns / (double)pcr[j].frames : 0;
        samples_free(&pc[j]);
    }
    struct summary m = samples_summary(&mc);
    r->memcpy_frac[z] = r->wpub[z][0].p50 > 0 ? m.p50 / r->wpub[z][0].p50 : 0;
    samples_free(&mc);
    free(src);
    free(dst[0]);
    free(dst[1]);
}

int bench_writer(const struct bench_opts *o, struct results *r)
{
    pin_writer(o->pin);
    for (unsigned z = 0; z < NSIZES; z++) {
        progress("writer cost: %s", bench_sizes[z].label);
        measure_size(o, z, r);
    }
    r->have |= SEC_WRITER;
    return 0;
}
