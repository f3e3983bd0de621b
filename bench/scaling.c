/*
 * scaling.c - the writer's frame rate at full speed (fbus_writer_publish of a
 * full frame, back to back) with 0, 1, 2, 4, 8 and 16 active readers, and
 * with one reader stopped by SIGSTOP while holding nothing or holding a frame.
 *
 * On a 2-core machine every active reader takes CPU from the writer (it is
 * woken for each frame), so the writer's CPU per frame and the readers' CPU
 * per frame (all of them, from /proc/PID/schedstat) are reported beside the
 * rate: a rate that falls while the writer's CPU per frame stays flat is the
 * readers' own work competing for the cores, not the bus getting slower.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define MAX_REPEATS 16

struct srun {
    double fps, drops, seen, wcpu, rcpu;
};

struct sconf {
    unsigned slots;
    unsigned n;
    int mode[16];
};

static void timed_publish(fbus_writer *w, const void *src, size_t bytes, double secs, uint64_t *ok,
                          uint64_t *drops, double *elapsed)
{
    uint64_t t0 = now_ns(), end = t0 + (uint64_t)(secs * 1e9), t;

    *ok = *drops = 0;
    do {
        if (fbus_writer_publish(w, src, bytes, 0) == 0)
            (*ok)++;
        else
            (*drops)++;
        t = now_ns();
    } while (t < end);
    *elapsed = (double)(t - t0) / 1e9;
}

/* CPU time the readers ran, ns: field 1 of /proc/PID/schedstat (single-threaded). */
static double readers_cpu(const pid_t *pids, unsigned n)
{
    double sum = 0;

    for (unsigned i = 0; i < n; i++) {
        char path[64];
        unsigned long long ns = 0;
        FILE *f;
        snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pids[i]);
        if ((f = fopen(path, "re"))) {
            if (fscanf(f, "%llu", &ns) == 1)
                sum += (double)ns;
            fclose(f);
        }
    }
    return sum;
}

static double seen_fraction(const struct rd_shared *sh, const struct sconf *c,
                            const uint64_t *seen0, uint64_t ok)
{
    double sum = 0;
    unsigned active = 0;

    for (unsigned i = 0; i < c->n; i++) {
        if (c->mode[i] != RD_ACTIVE)
            continue;
        sum += (double)(sh->seen[i] - seen0[i]) / (double)(ok ? ok : 1);
        active++;
    }
    return active ? sum / active : 0;
}

static int scale_run(const struct bench_opts *o, const struct bsize *z, const struct sconf *c,
                     const void *src, struct srun *out)
{
    struct rd_shared *sh = shared_alloc(sizeof(*sh));
    struct fbus_writer_opts wo;
    struct fbus_format fmt;
    fbus_writer *w = NULL;
    pid_t pids[16] = {0};
    uint64_t seen0[16], ok, drops, cpu0;
    double elapsed, rcpu0;
    int rc = -1;

    if (!sh)
        return -1;
    fbus_writer_opts_init(&wo);
    wo.slots = c->slots;
    fbus_format_init(&fmt, z->fourcc, z->width, z->height);
    memcpy(sh->mode, c->mode, sizeof(sh->mode));
    /* A first frame, for the reader that stops holding one. */
    if (fbus_writer_open(&w, bus_name(sh->bus), &fmt, &wo) != 0 ||
        fbus_writer_publish(w, src, z->bytes, 0) != 0 || readers_start(sh, c->n, pids, o->pin))
        goto out;
    /*
     * Warm-up: every slot written twice. The first write of a fresh slot page-faults
     * it in, ~180 ms for a 4K slot on this guest: it must not land in the timed run.
     */
    for (unsigned k = 0; k < 2 * c->slots; k++)
        fbus_writer_publish(w, src, z->bytes, 0);
    timed_publish(w, src, z->bytes, 0.05, &ok, &drops, &elapsed);
    for (unsigned i = 0; i < 16; i++)
        seen0[i] = __atomic_load_n(&sh->seen[i], __ATOMIC_RELAXED);
    cpu0 = thread_cpu_ns();
    rcpu0 = readers_cpu(pids, c->n);
    timed_publish(w, src, z->bytes, o->run_secs, &ok, &drops, &elapsed);
    out->wcpu = ok ? (double)(thread_cpu_ns() - cpu0) / (double)ok : 0;
    out->rcpu = ok ? (readers_cpu(pids, c->n) - rcpu0) / (double)ok : 0;
    out->fps = (double)ok / elapsed;
    out->drops = ok + drops ? (double)drops / (double)(ok + drops) : 0;
    out->seen = seen_fraction(sh, c, seen0, ok);
    rc = 0;
out:
    fbus_writer_close(w);
    reap_children(pids, c->n);
    shared_free(sh, sizeof(*sh));
    return rc;
}

/* The configurations: NSCALE reader counts, then the NSTALL stalled-reader cases. */
static void make_confs(struct sconf conf[NSCALE + NSTALL])
{
    memset(conf, 0, sizeof(struct sconf) * (NSCALE + NSTALL));
    for (unsigned j = 0; j < NSCALE; j++) {
        conf[j].slots = FBUS_SLOTS_DEFAULT;
        conf[j].n = scale_readers[j]; /* mode 0: RD_ACTIVE */
    }
    static const struct {
        unsigned slots, n;
        int extra;
    } st[NSTALL] = {
        {3, 1, -1}, {3, 2, RD_STALL_IDLE}, {3, 2, RD_STALL_HOLD}, {2, 2, RD_STALL_HOLD}};
    for (unsigned j = 0; j < NSTALL; j++) {
        conf[NSCALE + j].slots = st[j].slots;
        conf[NSCALE + j].n = st[j].n;
        if (st[j].extra >= 0)
            conf[NSCALE + j].mode[1] = st[j].extra;
    }
}

static double med(struct srun *runs, unsigned n, size_t field)
{
    double v[MAX_REPEATS];

    for (unsigned i = 0; i < n; i++)
        v[i] = *(double *)((char *)&runs[i] + field);
    return median_of(v, n);
}

static void measure_size(const struct bench_opts *o, unsigned z, struct results *r)
{
    const struct bsize *sz = &bench_sizes[z];
    static struct srun runs[NSCALE + NSTALL][MAX_REPEATS];
    struct sconf conf[NSCALE + NSTALL];
    unsigned reps = o->repeats < MAX_REPEATS ? o->repeats : MAX_REPEATS;
    void *src = local_alloc(sz->bytes);

    if (!src)
        return;
    make_confs(conf);
    memset(runs, 0, sizeof(runs));
    for (unsigned rep = 0; rep < reps; rep++) {
        for (unsigned j = 0; j < NSCALE + NSTALL; j++)
            scale_run(o, sz, &conf[j], src, &runs[j][rep]);
    }
    for (unsigned j = 0; j < NSCALE; j++) {
        r->scale_fps[z][j] = med(runs[j], reps, offsetof(struct srun, fps));
        r->scale_seen[z][j] = med(runs[j], reps, offsetof(struct srun, seen));
        r->scale_drops[z][j] = med(runs[j], reps, offsetof(struct srun, drops));
        r->scale_wcpu[z][j] = med(runs[j], reps, offsetof(struct srun, wcpu));
        r->scale_rcpu[z][j] = med(runs[j], reps, offsetof(struct srun, rcpu));
    }
    for (unsigned j = 0; j < NSTALL; j++) {
        r->stall_fps[z][j] = med(runs[NSCALE + j], reps, offsetof(struct srun, fps));
        r->stall_drops[z][j] = med(runs[NSCALE + j], reps, offsetof(struct srun, drops));
    }
    free(src);
}

int bench_scaling(const struct bench_opts *o, struct results *r)
{
    pin_writer(o->pin);
    for (unsigned z = 0; z < NSIZES; z++) {
        progress("scaling: %s", bench_sizes[z].label);
        measure_size(o, z, r);
    }
    r->have |= SEC_SCALE;
    return 0;
}
