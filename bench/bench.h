/*
 * bench.h - shared pieces of fbus-bench: the frame sizes and reader counts it
 * measures, sample statistics, clocks, child-process helpers, and the result
 * record each section fills in and the report prints.
 *
 * Every figure is a distribution over many samples (median and p99), pooled
 * over several repeats, and every framebus figure sits beside a peer measured
 * in the same run (memcpy, a bare futex wake): the machine is shared and noisy,
 * so absolute numbers drift while ratios hold. Nothing here asserts a time.
 */
#ifndef FBUS_BENCH_H
#define FBUS_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "framebus/framebus.h"

#define NSIZES   3 /* 640x480 YUYV, 1920x1080 RGB24, 3840x2160 RGB24 */
#define NHANDOFF 4 /* hand-off reader counts: 1 4 8 16 */
#define NSCALE   6 /* scaling reader counts: 0 1 2 4 8 16 */
#define NWCOST   3 /* writer cost without copy: 0, 1, 4 readers */
#define NWPUB    2 /* writer cost with copy: 0, 4 readers */
#define NSTALL   4 /* 3 slots: 1 reader, +stopped idle, +stopped holding; 2 slots +holding */
#define NGST     2 /* GStreamer comparison: 1080p and 4K (sizes 1 and 2) */
#define NCAMRATE 2 /* camera rates: 30 and 60 fps */
#define NCAMN    5 /* camera-rate reader counts: 1 2 4 8 16 */

struct bsize {
    const char *label; /* "1920x1080 RGB24" */
    const char *tag;   /* "1080p", for JSON keys and plot columns */
    uint32_t fourcc;
    uint32_t width;
    uint32_t height;
    size_t bytes;
};

extern const struct bsize bench_sizes[NSIZES];
extern const unsigned handoff_readers[NHANDOFF];
extern const unsigned scale_readers[NSCALE];
extern const unsigned wcost_readers[NWCOST];
extern const unsigned wpub_readers[NWPUB];
extern const unsigned cam_rates[NCAMRATE];
extern const unsigned cam_readers[NCAMN];

struct bench_opts {
    unsigned repeats;       /* outer repeats of every section (default 3) */
    unsigned rounds;        /* hand-off / futex wake-ups per repeat and reader count */
    unsigned pace_us;       /* mean gap between paced wake-ups (jittered +-50 %) */
    double run_secs;        /* length of one timed writer run (cost, scaling) */
    unsigned cam_frames;    /* frames per camera-rate run, warm-up included */
    unsigned cam_passes;    /* passes over every camera-rate configuration (<= 8) */
    int pin;                /* --pin: writer on CPU 0, readers on the others */
    int rt;                 /* --rt: latency section under SCHED_FIFO (other tenants' load aside) */
    int quick;              /* --quick: a smoke run, figures not meaningful */
    const char *only;       /* comma list of sections, NULL: all */
    const char *peer;       /* path of fbus-bench-peer (GStreamer section) */
    const char *gst_launch; /* path of gst-launch-1.0 */
};

/* ---- Samples ---- */

struct samples {
    double *v; /* nanoseconds */
    size_t n;
    size_t cap;
};

struct summary {
    size_t n;
    double p50, p99, max, mean; /* nanoseconds */
};

void samples_add(struct samples *s, double ns);
void samples_free(struct samples *s);
/* Sorts the samples and summarises them; an empty set gives n == 0 and zeros. */
struct summary samples_summary(struct samples *s);
/* Median of n values (sorted in place); 0 for n == 0. */
double median_of(double *v, size_t n);

/* ---- Results ---- */

struct gst_result {
    int ok;                           /* both sides ran */
    double gst_fps, fbus_fps;         /* delivered frames/s at steady state (fbus: lossless) */
    double gst_cpu_ns, fbus_cpu_ns;   /* CPU (both processes, user+sys) per delivered frame */
    double fbus_delivered;            /* fraction of the stream the lossless reader got */
    double latest_fps, latest_cpu_ns; /* the same with a default (newest-frame) reader */
    double latest_delivered;
    double fps_ratio, cpu_ratio; /* lossless framebus / GStreamer, median of per-repeat ratios */
    double latest_fps_ratio, latest_cpu_ratio;
    double memcpy_ns; /* memcpy of one frame, same run */
    char note[160];
};

/* Readers at a camera's rate: the bus or the bare futex loop, one rate and reader count. */
struct cam_result {
    struct summary lat; /* every reader's hand-off latency, pooled */
    double wcpu_ns;     /* the writer's (waker's) CPU per frame: the median turn of its loop */
    double rcpu_ns;     /* a reader's (waiter's) CPU per frame it got: the median turn */
    double wcpu_mean_ns, rcpu_mean_ns; /* the same, means */
    double got;                        /* fraction of the frames the readers got */
    double cross; /* fraction of the wakes that ran on another CPU than the writer's */
    double fps;   /* the rate the writer kept */
    unsigned errors;
    unsigned dropped; /* frames the writer found no free slot for */
};

struct results {
    unsigned have; /* bit per section that ran, SEC_* */
    int pinned;    /* the latency section ran under --pin */
    /* Physical limits. */
    double syscall_ns;                     /* one null system call (getppid), CPU time */
    struct summary memcpy_ns[NSIZES];      /* one frame into one of 2 rotating buffers */
    struct summary futex[NHANDOFF];        /* one-way wake, 1/4/8/16 waiters, all samples */
    struct summary futex_last[NHANDOFF];   /* per wake: until the last waiter ran */
    double futex_cross[NHANDOFF];          /* fraction of wakes that landed on another CPU */
    struct summary futex_cpu[NHANDOFF][2]; /* [0]: woken on the waker's CPU, [1]: another */
    /* Hand-off latency. */
    struct summary handoff[NSIZES][NHANDOFF];
    struct summary handoff_last[NSIZES][NHANDOFF];
    double handoff_cross[NSIZES][NHANDOFF];
    struct summary handoff_cpu[NSIZES][NHANDOFF][2];
    unsigned handoff_errors[NSIZES][NHANDOFF];
    struct summary commit_ns[NSIZES][NHANDOFF]; /* the writer's commit with n readers asleep */
    /* Writer cost. */
    struct summary wcost[NSIZES][NWCOST]; /* claim + commit (+wake), wall per frame */
    double wcost_cpu[NSIZES][NWCOST];     /* writer thread CPU per frame */
    struct summary wpub[NSIZES][NWPUB];   /* fbus_writer_publish of a full frame */
    double wpub_cpu[NSIZES][NWPUB];
    double memcpy_frac[NSIZES]; /* memcpy p50 / publish p50 (no readers) */
    /* Reader cost. */
    double sum_bus_ns[NSIZES], sum_local_ns[NSIZES], sum_ratio[NSIZES];
    /* Scaling. */
    double scale_fps[NSIZES][NSCALE];
    double scale_seen[NSIZES][NSCALE];  /* mean fraction of frames each reader got */
    double scale_drops[NSIZES][NSCALE]; /* fraction of claims that found no slot */
    double scale_wcpu[NSIZES][NSCALE];  /* writer CPU per published frame */
    double scale_rcpu[NSIZES][NSCALE];  /* all readers' CPU per published frame */
    double stall_fps[NSIZES][NSTALL];
    double stall_drops[NSIZES][NSTALL];
    /* GStreamer. */
    struct gst_result gst[NGST];
    /* Camera rate. */
    /* CPU of the semop pair the bus adds per frame: [0] a reader's hold + release, [1] the
       writer's claim + commit; back to back, and after a 10 ms sleep (as at a camera's rate) */
    double sem_pair_ns[2], sem_cold_ns[2];
    struct cam_result cam_futex[NCAMRATE][NCAMN];
    struct cam_result cam_bus[NCAMRATE][NSIZES][NCAMN];
    /* 60 fps, 1 reader + 1 stopped holding a frame; [0]: 3 slots, [1]: the default 2 */
    struct cam_result cam_stall[2][NSIZES];
};

#define SEC_BASE    0x01 /* syscall, memcpy */
#define SEC_FUTEX   0x40 /* the futex baseline */
#define SEC_HANDOFF 0x02
#define SEC_WRITER  0x04
#define SEC_READER  0x08
#define SEC_SCALE   0x10
#define SEC_GST     0x20
#define SEC_CAMRATE 0x80

/* ---- Sections ---- */

int bench_memcpy(const struct bench_opts *o, struct results *r);
/* The futex baseline, and with with_bus the bus hand-off, interleaved per repeat. */
int bench_latency(const struct bench_opts *o, struct results *r, int with_bus);
int bench_writer(const struct bench_opts *o, struct results *r);
int bench_reader(const struct bench_opts *o, struct results *r);
int bench_scaling(const struct bench_opts *o, struct results *r);
int bench_gst(const struct bench_opts *o, struct results *r);
/* Readers at 30 and 60 fps beside the bare futex broadcast loop (camrate.c). */
int bench_camrate(const struct bench_opts *o, struct results *r);

/* ---- Reader children (readers.c) ---- */

enum rd_mode {
    RD_ACTIVE,     /* acquire the newest frame, release, again */
    RD_ACTIVE_SUM, /* the same, summing every byte of each frame */
    RD_STALL_IDLE, /* attach, then stop (SIGSTOP) holding nothing */
    RD_STALL_HOLD, /* attach, take a frame, then stop holding it */
};

struct rd_shared {
    _Alignas(64) uint32_t ready;
    uint32_t errors;
    char bus[32];
    int mode[16];
    _Alignas(64) uint64_t seen[16]; /* frames each reader got */
};

/*
 * Forks n reader children on bus sh->bus with sh->mode[i] each and waits
 * until all are attached (and the stalled ones stopped). 0 or -1.
 */
int readers_start(struct rd_shared *sh, unsigned n, pid_t *pids, int pin);
/* Sum of every 64-bit word of a frame; noinline so both callers run the same code. */
uint64_t sum_words(const void *p, size_t bytes);

/* ---- Report ---- */

#define MAX_VERDICTS 48

/* One line of the docs/design.md section 9 budget. */
struct verdict {
    char what[96];
    char figure[160];
    int pass; /* 1 pass, 0 miss, -1 for information only */
};

void verdict_add(struct verdict *v, unsigned *n, int pass, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The camera-rate section's part of every output (report_cam.c). */
void cam_budget(const struct results *r, struct verdict *v, unsigned *n);
void cam_text(FILE *f, const struct results *r);
void cam_markdown(FILE *f, const struct results *r);
void cam_json(FILE *f, const struct results *r);

/* The tables of the sections in `sections` (SEC_*) that ran; ~0u: all, then the budget. */
void report_text(FILE *f, const struct results *r, unsigned sections);
int report_json(const struct results *r, const struct bench_opts *o, const char *path);
int report_markdown(const struct results *r, const struct bench_opts *o, const char *path);
int report_plot_data(const struct results *r, const char *path);

/* ---- Helpers (util.c) ---- */

uint64_t now_ns(void);
uint64_t thread_cpu_ns(void);
void sleep_ns(uint64_t ns);
/* A zeroed MAP_SHARED anonymous mapping that forked children share; NULL on failure. */
void *shared_alloc(size_t bytes);
void shared_free(void *p, size_t bytes);
/* Page-aligned, touched heap memory (so no page fault lands in a timed loop). */
void *local_alloc(size_t bytes);
/* A bus name unique to this run and call: "fbb-PID-N". */
const char *bus_name(char buf[32]);
/* Removes every bus this run named, whatever state it is in (atexit, signals). */
void bus_cleanup_all(void);
/*
 * fork() a child that dies with its parent and, under --pin, runs on a CPU
 * other than 0. The child runs fn(arg, index) and _exit()s with its result.
 */
pid_t spawn_child(int (*fn)(void *arg, unsigned index), void *arg, unsigned index, int pin);
/* Pins the calling process to CPU 0 (the writer under --pin). */
void pin_writer(int pin);
/* SIGKILLs and reaps the n children in pids (0 entries are skipped). */
void reap_children(pid_t *pids, unsigned n);
/* Waits until *counter >= want, sleeping 20 us per look; -1 after timeout_ms. */
int wait_counter(const uint32_t *counter, uint32_t want, unsigned timeout_ms);
/* 32-bit futex on a shared (not private) word: the same calls the bus makes. */
int futex_wait_shared(const uint32_t *word, uint32_t expected, uint64_t timeout_ns);
void futex_wake_shared(uint32_t *word);
/* Opens a reader, retrying FBUS_ENOBUS for up to timeout_ms. */
int open_reader_retry(fbus_reader **out, const char *name, unsigned timeout_ms);
/* xorshift64*: jitter and frame contents. */
uint64_t rnd64(uint64_t *state);
/* Writes a progress line to stderr (the table goes to stdout). */
void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Non-zero if section name is selected by --only. */
int section_on(const struct bench_opts *o, const char *name);

#endif /* FBUS_BENCH_H */
