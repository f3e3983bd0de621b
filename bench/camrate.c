/*
 * camrate.c - readers at a camera's rate: 1, 2, 4, 8 and 16 reader processes
 * while the writer publishes 30 or 60 frames a second, beside a bare futex
 * broadcast loop with the same number of waiters at the same rate.
 *
 * The flat-out scaling section asks how fast the bus can go; this one asks what
 * a camera pipeline pays: the writer sleeps until each frame is due (absolute
 * deadlines, as frames arrive from a sensor, never waiting for its readers),
 * then claims a slot, stamps the sequence number in it and commits with the
 * clock as the timestamp. Each reader takes the clock when fbus_reader_acquire
 * returns. The bare loop does what the bus cannot do without: a store and one
 * FUTEX_WAKE of every waiter on a MAP_SHARED word, and each waiter's
 * FUTEX_WAIT. Frames are not copied or read on either side, so every figure is
 * the transport's own cost (a 4K copy alone is ~2 ms here and would hide it).
 *
 * CPU per frame is the thread's own CLOCK_THREAD_CPUTIME_ID, read at the end
 * of every turn of its loop: for a reader, going to sleep, the wake-up, taking
 * and giving back the frame; for the writer, its sleep until the deadline and
 * the publish - the same point of the loop on both sides, the clock read
 * included on both. The median turn is the figure (an interrupt or another
 * tenant's burst lands on a few turns); the mean is kept beside it.
 * Configurations are interleaved (futex, then each size, per reader count and
 * rate) so all see the same minute of this shared machine.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/sem.h>
#include <time.h>

#include "bench.h"

#define CAM_WARMUP 5 /* first frames of a run: page faults, undo lists, caches */

const unsigned cam_rates[NCAMRATE] = {30, 60};
const unsigned cam_readers[NCAMN] = {1, 2, 4, 8, 16};

struct cam_shared {
    _Alignas(64) uint32_t word; /* futex loop: sequence number of the newest wake */
    _Alignas(64) uint32_t ready;
    uint32_t finished;
    uint32_t errors;
    int32_t waker_cpu;
    unsigned frames;
    unsigned dropped; /* frames the writer found no free slot for */
    char bus[32];
    uint32_t got[16]; /* frames each reader got after the warm-up */
    uint32_t cross[16];
    uint64_t *t0;  /* [frames]: futex loop, when frame k was woken */
    uint64_t *lat; /* [reader][frames]: ns | LAT_GOT, 0 for a frame not seen */
    uint64_t *rc;  /* [reader][frames]: CPU of the loop turn that took frame k, 0: none */
    uint64_t *wc;  /* [frames]: the writer's CPU of turn k (sleep, then publish) */
};

#define LAT_GOT   (1ull << 62)
#define LAT_CROSS (1ull << 61)

/*
 * One configuration's runs, pooled over the passes: latencies and the CPU of
 * every loop turn. The CPU figure judged is the median turn (an interrupt or a
 * burst of another tenant's work lands on a few turns, not on the figure); the
 * mean is kept beside it.
 */
struct cam_pool {
    struct samples lat, rcpu, wcpu;
    double got, want, cross, fps;
    unsigned runs, errors, dropped;
};

static struct cam_shared *cam_shared_new(unsigned frames, size_t *bytes)
{
    struct cam_shared *sh;

    *bytes = sizeof(*sh) + (size_t)frames * 34 * sizeof(uint64_t);
    if (!(sh = shared_alloc(*bytes)))
        return NULL;
    sh->frames = frames;
    sh->t0 = (uint64_t *)(sh + 1);
    sh->lat = sh->t0 + frames;
    sh->rc = sh->lat + (size_t)16 * frames;
    sh->wc = sh->rc + (size_t)16 * frames;
    return sh;
}

/* Records frame seq (1-based) seen at t1 by reader idx, timestamped t0. */
static void cam_note(struct cam_shared *sh, unsigned idx, uint64_t seq, uint64_t t0, uint64_t t1)
{
    uint64_t cross = 0;

    if (seq == 0 || seq > sh->frames)
        return;
    if (sched_getcpu() != __atomic_load_n(&sh->waker_cpu, __ATOMIC_RELAXED))
        cross = LAT_CROSS;
    sh->lat[idx * sh->frames + seq - 1] = (t1 > t0 ? t1 - t0 : 0) | LAT_GOT | cross;
    if (seq > CAM_WARMUP) {
        sh->got[idx]++;
        sh->cross[idx] += cross != 0;
    }
}

/*
 * At the end of the loop turn that took frame seq: the CPU of the whole turn
 * (going to sleep, the wake-up, taking and giving back the frame, this clock
 * read), the same point in the loop on both sides.
 */
static void cam_cpu(struct cam_shared *sh, unsigned idx, uint64_t seq, uint64_t *prev)
{
    uint64_t c = thread_cpu_ns();

    if (*prev && seq > CAM_WARMUP && seq <= sh->frames)
        sh->rc[idx * sh->frames + seq - 1] = c - *prev;
    *prev = c;
}

static void cam_finish(struct cam_shared *sh)
{
    __atomic_add_fetch(&sh->finished, 1, __ATOMIC_RELEASE);
}

static int cam_futex_child(void *arg, unsigned idx)
{
    struct cam_shared *sh = arg;
    uint32_t seen = 0, w;
    uint64_t cpu = 0;

    __atomic_add_fetch(&sh->ready, 1, __ATOMIC_RELEASE);
    while (seen < sh->frames) {
        while ((w = __atomic_load_n(&sh->word, __ATOMIC_ACQUIRE)) == seen) {
            if (futex_wait_shared(&sh->word, seen, 3000000000ull) == -ETIMEDOUT) {
                __atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED);
                cam_finish(sh);
                return 2;
            }
        }
        uint64_t t1 = now_ns();
        cam_note(sh, idx, w, __atomic_load_n(&sh->t0[w - 1], __ATOMIC_RELAXED), t1);
        seen = w;
        cam_cpu(sh, idx, w, &cpu);
    }
    cam_finish(sh);
    return 0;
}

/* A reader child's start: opens the bus and says it is ready; 0, or -1 counted as an error. */
static int cam_open(struct cam_shared *sh, fbus_reader **rd)
{
    if (open_reader_retry(rd, sh->bus, 5000) != 0) {
        __atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED);
        return -1;
    }
    __atomic_add_fetch(&sh->ready, 1, __ATOMIC_RELEASE);
    return 0;
}

static int cam_bus_child(void *arg, unsigned idx)
{
    struct cam_shared *sh = arg;
    struct fbus_frame f;
    fbus_reader *rd;
    uint64_t last = 0, cpu = 0;

    if (cam_open(sh, &rd) != 0) {
        cam_finish(sh);
        return 3;
    }
    while (last < sh->frames) {
        if (fbus_reader_acquire(rd, &f, last, 3000) != 0) {
            __atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED);
            break;
        }
        uint64_t t1 = now_ns();
        /* The writer stamps each frame with its sequence number: the frame is whole. */
        if (f.bytesused < 8 || *(const uint64_t *)f.data != f.seq)
            __atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED);
        cam_note(sh, idx, f.seq, f.timestamp_ns, t1);
        last = f.seq;
        fbus_reader_release(rd, &f);
        cam_cpu(sh, idx, last, &cpu);
    }
    cam_finish(sh);
    fbus_reader_close(rd);
    return 0;
}

/*
 * A reader that takes the first frame and stops (SIGSTOP) holding it for the
 * rest of the run: a viewer a debugger halted. It is not one of the n readers
 * the writer waits for; the reaper's SIGKILL ends it, and the kernel's undo
 * of its hold gives the slot back.
 */
static int cam_hold_child(void *arg, unsigned idx)
{
    struct cam_shared *sh = arg;
    struct fbus_frame f;
    fbus_reader *rd;

    (void)idx;
    if (cam_open(sh, &rd) != 0)
        return 3;
    if (fbus_reader_acquire(rd, &f, 0, 3000) != 0) {
        __atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED);
        return 2;
    }
    raise(SIGSTOP);
    pause();
    return 0;
}

/* Sleeps until the absolute CLOCK_MONOTONIC time t (the library's clock). */
static void sleep_until(uint64_t t)
{
    struct timespec ts = {.tv_sec = (time_t)(t / 1000000000u), .tv_nsec = (long)(t % 1000000000u)};

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static int cam_wake_futex(struct cam_shared *sh, fbus_writer *w, unsigned k)
{
    (void)w;
    sh->waker_cpu = sched_getcpu();
    __atomic_store_n(&sh->t0[k], now_ns(), __ATOMIC_RELAXED);
    __atomic_store_n(&sh->word, k + 1, __ATOMIC_RELEASE);
    futex_wake_shared(&sh->word);
    return 0;
}

static int cam_wake_bus(struct cam_shared *sh, fbus_writer *w, unsigned k)
{
    struct fbus_wslot slot;
    int rc;

    (void)k;
    if ((rc = fbus_writer_claim(w, &slot)) == FBUS_ENOSLOT) {
        /* A camera drops the frame and goes on; the readers count it as not got. */
        sh->dropped++;
        return 0;
    }
    if (rc != 0)
        return rc;
    *(uint64_t *)slot.data = slot.seq;
    sh->waker_cpu = sched_getcpu();
    return fbus_writer_commit(w, fbus_writer_format(w)->sizeimage, now_ns());
}

/*
 * The writer's side of one run: frames at rate per second on absolute
 * deadlines; the CPU of each turn goes to sh->wc, the rate it kept to *fps.
 * 0, or -1 if the readers did not come or a wake failed.
 */
static int cam_drive(struct cam_shared *sh, fbus_writer *w, unsigned n, int hold, unsigned rate,
                     int (*wake)(struct cam_shared *, fbus_writer *, unsigned), double *fps)
{
    uint64_t period = 1000000000ull / rate, start, cpu = 0, t_warm = 0, t_last = 0;

    if (wait_counter(&sh->ready, n + hold, 5000) != 0)
        return -1;
    sleep_ns(20000000); /* every reader asleep in its wait */
    start = now_ns();
    for (unsigned k = 0; k < sh->frames; k++) {
        sleep_until(start + k * period);
        if (k == CAM_WARMUP)
            t_warm = now_ns();
        t_last = now_ns();
        int rc = wake(sh, w, k);
        if (rc != 0) {
            progress("camera rate: frame %u: %s", k + 1, fbus_strerror(rc));
            return -1;
        }
        uint64_t c = thread_cpu_ns();
        if (k > CAM_WARMUP)
            sh->wc[k] = c - cpu;
        cpu = c;
    }
    /* From the warm-up mark to the last wake: frames - CAM_WARMUP - 1 periods. */
    *fps = (double)(sh->frames - CAM_WARMUP - 1) / ((double)(t_last - t_warm) / 1e9);
    return wait_counter(&sh->finished, n, 4000);
}

static void cam_pool_add(struct cam_pool *p, const struct cam_shared *sh, unsigned n, double fps)
{
    for (unsigned k = CAM_WARMUP + 1; k < sh->frames; k++) {
        if (sh->wc[k])
            samples_add(&p->wcpu, (double)sh->wc[k]);
    }
    for (unsigned c = 0; c < n; c++) {
        for (unsigned k = CAM_WARMUP; k < sh->frames; k++) {
            uint64_t raw = sh->lat[c * sh->frames + k];
            if (raw & LAT_GOT)
                samples_add(&p->lat, (double)(raw & (LAT_GOT - 1) & ~LAT_CROSS));
        }
        for (unsigned k = CAM_WARMUP; k < sh->frames; k++) {
            if (sh->rc[c * sh->frames + k])
                samples_add(&p->rcpu, (double)sh->rc[c * sh->frames + k]);
        }
        p->got += sh->got[c];
        p->cross += sh->cross[c];
    }
    p->want += (double)n * (sh->frames - CAM_WARMUP);
    p->fps += fps;
    p->runs++;
    p->errors += sh->errors;
    p->dropped += sh->dropped;
}

/*
 * One run: n waiters of the futex loop (z == NULL) or n readers of a bus of
 * size z, with one more reader stopped holding a frame if hold.
 */
static int cam_run(const struct bench_opts *o, const struct bsize *z, unsigned rate, unsigned n,
                   int hold, unsigned slots, unsigned frames, struct cam_pool *p)
{
    pid_t pids[17] = {0};
    struct fbus_format fmt;
    struct fbus_writer_opts wo;
    fbus_writer *w = NULL;
    size_t bytes;
    struct cam_shared *sh = cam_shared_new(frames, &bytes);
    double fps = 0;
    int rc = -1;

    if (!sh)
        return -1;
    if (z) {
        bus_name(sh->bus);
        fbus_format_init(&fmt, z->fourcc, z->width, z->height);
        fbus_writer_opts_init(&wo);
        if (slots)
            wo.slots = slots;
        if ((rc = fbus_writer_open(&w, sh->bus, &fmt, &wo)) != 0) {
            progress("cannot open bus %s: %s", sh->bus, fbus_strerror(rc));
            goto out;
        }
    }
    for (unsigned c = 0; c < n; c++)
        pids[c] = spawn_child(z ? cam_bus_child : cam_futex_child, sh, c, o->pin);
    if (z && hold)
        pids[n] = spawn_child(cam_hold_child, sh, n, o->pin);
    rc = cam_drive(sh, w, n, z && hold, rate, z ? cam_wake_bus : cam_wake_futex, &fps);
    if (w)
        fbus_writer_close(w);
    reap_children(pids, n + (z && hold));
    if (rc == 0) {
        cam_pool_add(p, sh, n, fps);
    } else {
        progress("camera rate: a run of %u readers%s at %u fps failed (%u reader errors)", n,
                 z && hold ? " and a stopped one" : "", rate, sh->errors);
        p->errors += sh->errors + 1;
    }
out:
    shared_free(sh, bytes);
    return rc;
}

static void cam_store(struct cam_pool *p, struct cam_result *r)
{
    r->lat = samples_summary(&p->lat);
    struct summary w = samples_summary(&p->wcpu), rd = samples_summary(&p->rcpu);

    r->wcpu_ns = w.p50;
    r->wcpu_mean_ns = w.mean;
    r->rcpu_ns = rd.p50;
    r->rcpu_mean_ns = rd.mean;
    samples_free(&p->wcpu);
    samples_free(&p->rcpu);
    r->fps = p->runs ? p->fps / p->runs : 0;
    r->got = p->want ? p->got / p->want : 0;
    r->cross = p->got ? p->cross / p->got : 0;
    r->errors = p->errors;
    r->dropped = p->dropped;
    samples_free(&p->lat);
}

/*
 * CPU of the two semops the bus adds per frame to each side, measured on a
 * private set of this process, as the library makes them (strace shows them):
 * a reader's hold (busy == 0, readers += 1 with undo) and release; the
 * writer's claim (readers == 0, busy == 0, busy += 1 with undo, and no
 * lossless reader registered: 8 more waits for zero) and commit (busy -= 1,
 * busy == 0). Hot: back to back, median of 50 batches of 200 pairs. Cold: one
 * pair after each of 100 sleeps of 10 ms, median: what a process woken once per
 * frame pays, its caches and TLB taken by others meanwhile. 0 if no set can be
 * made.
 */
static double time_sem_pair(int writer, int cold)
{
    struct sembuf hold[2] = {{1, 0, IPC_NOWAIT}, {0, 1, SEM_UNDO | IPC_NOWAIT}};
    struct sembuf rel[1] = {{0, -1, SEM_UNDO | IPC_NOWAIT}};
    struct sembuf claim[11] = {
        {0, 0, IPC_NOWAIT}, {1, 0, IPC_NOWAIT}, {1, 1, SEM_UNDO | IPC_NOWAIT}};
    struct sembuf commit[2] = {{1, -1, SEM_UNDO | IPC_NOWAIT}, {1, 0, IPC_NOWAIT}};
    int id = semget(IPC_PRIVATE, 10, IPC_CREAT | 0600);
    unsigned batches = cold ? 100 : 50, pairs = cold ? 1 : 200;
    double v[100];

    if (id < 0)
        return 0;
    for (unsigned k = 3; k < 11; k++)
        claim[k] = (struct sembuf){(unsigned short)(k - 1), 0, IPC_NOWAIT};
    for (unsigned b = 0; b < batches; b++) {
        if (cold)
            sleep_ns(10000000);
        uint64_t t0 = thread_cpu_ns();
        for (unsigned i = 0; i < pairs; i++) {
            semop(id, writer ? claim : hold, writer ? 11 : 2);
            semop(id, writer ? commit : rel, writer ? 2 : 1);
        }
        v[b] = (double)(thread_cpu_ns() - t0) / pairs;
    }
    semctl(id, 0, IPC_RMID);
    return median_of(v, batches);
}

int bench_camrate(const struct bench_opts *o, struct results *r)
{
    static struct cam_pool fx[NCAMRATE][NCAMN], bus[NCAMRATE][NSIZES][NCAMN], stall[2][NSIZES];
    unsigned passes = o->quick ? 1 : o->cam_passes;

    pin_writer(o->pin);
    for (unsigned k = 0; k < 2; k++) {
        r->sem_pair_ns[k] = time_sem_pair((int)k, 0);
        r->sem_cold_ns[k] = time_sem_pair((int)k, 1);
    }
    for (unsigned pass = 0; pass < passes; pass++) {
        for (unsigned q = 0; q < NCAMRATE; q++) {
            /* The same number of frames at either rate: as many samples for each p99. */
            unsigned frames = o->quick ? CAM_WARMUP + 10 : o->cam_frames;
            progress("camera rate: pass %u/%u, %u fps, %u frames per run", pass + 1, passes,
                     cam_rates[q], frames);
            for (unsigned j = 0; j < NCAMN; j++) {
                cam_run(o, NULL, cam_rates[q], cam_readers[j], 0, 0, frames, &fx[q][j]);
                for (unsigned s = 0; s < NSIZES; s++)
                    cam_run(o, &bench_sizes[s], cam_rates[q], cam_readers[j], 0, 0, frames,
                            &bus[q][s][j]);
            }
        }
        /*
         * One reader at the faster rate, beside one stopped holding a frame: with 3
         * slots (one held, one read, one written), and with the default 2, where the
         * writer finds no free slot until it rotates to a new segment
         * (docs/design.md section 5).
         */
        for (unsigned s = 0; s < NSIZES; s++) {
            /* Twice as long: past the 1 s after which a 2-slot writer rotates. */
            unsigned frames = o->quick ? CAM_WARMUP + 10 : 2 * o->cam_frames;
            cam_run(o, &bench_sizes[s], cam_rates[NCAMRATE - 1], 1, 1, 3, frames, &stall[0][s]);
            cam_run(o, &bench_sizes[s], cam_rates[NCAMRATE - 1], 1, 1, FBUS_SLOTS_DEFAULT, frames,
                    &stall[1][s]);
        }
    }
    for (unsigned q = 0; q < NCAMRATE; q++) {
        for (unsigned j = 0; j < NCAMN; j++) {
            cam_store(&fx[q][j], &r->cam_futex[q][j]);
            for (unsigned s = 0; s < NSIZES; s++)
                cam_store(&bus[q][s][j], &r->cam_bus[q][s][j]);
        }
    }
    for (unsigned s = 0; s < NSIZES; s++) {
        cam_store(&stall[0][s], &r->cam_stall[0][s]);
        cam_store(&stall[1][s], &r->cam_stall[1][s]);
    }
    r->have |= SEC_CAMRATE;
    return 0;
}
