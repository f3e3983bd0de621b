/*
 * gst.c - framebus against GStreamer's shmsink -> shmsrc, same frames, same run.
 *
 * The fair pairing: both writers copy one constant RGB24 frame into shared
 * memory per frame, and both readers take each frame and touch nothing.
 *
 *   GStreamer: gst-launch-1.0 videotestsrc pattern=black num-buffers=1 ! CAPS !
 *                imagefreeze num-buffers=N ! identity drop-allocation=true !
 *                shmsink socket-path=P wait-for-connection=true shm-size=4 frames sync=false
 *              gst-launch-1.0 -v shmsrc socket-path=P is-live=true ! CAPS ! fpsdisplaysink
 *                video-sink="fakesink enable-last-sample=false" text-overlay=false sync=false
 *   framebus:  fbus-bench-peer pub BUS W H N  /  fbus-bench-peer sub BUS 100 lossless
 *              (and, for the record, the default newest-frame reader: sub BUS 100)
 *
 * imagefreeze re-sends one buffer without painting it again, so videotestsrc
 * costs nothing per frame; drop-allocation keeps videotestsrc from painting
 * straight into shmsink's area, so shmsink copies each frame in, as
 * fbus_writer_publish does. (Painting into shmsink's area - zero copy - was
 * tried: with GStreamer 1.22 it deadlocks after a few hundred frames once the
 * source's buffer pool has taken the whole area; see docs/benchmarks.md.)
 * fakesink keeps no last sample, so shmsrc releases every buffer at once.
 *
 * Both readers print their frame count ten times a second (GStreamer's
 * fpsdisplaysink "rendered: N" with -v, fbus-bench-peer's "frames N"); at
 * each line fbus-bench samples the CPU time (utime+stime from /proc, all
 * threads) of both processes. Frames/s and CPU per frame come from the
 * steady-state window, 5 % to 95 % of the stream: start-up (plugin loading,
 * the connection, first touch of the shared area) and shut-down stay out.
 * Medians over the repeats, GStreamer and framebus runs interleaved; the
 * ratios are medians of each repeat's ratio (runs neighbours in time).
 * shmsink waits for room in its area, so it delivers every frame; so does a
 * lossless framebus reader (the writer waits for it): that is the pairing the
 * budget is judged on. A default framebus reader takes the newest frame and
 * the writer never waits, so it may skip frames; its rate is counted in
 * frames the reader got.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MAX_REPEATS     16
#define PAIR_TIMEOUT_MS 60000

struct pair_run {
    double fps;    /* delivered frames/s in the steady-state window */
    double cpu_ns; /* CPU (user+sys, both processes) per delivered frame, same window */
    double total;  /* frames the reader got */
    int ok;
};

#define MAX_SAMPLES 2048

struct sample {
    double t, frames, cpu;
};

static pid_t launch(char *const argv[], const char *outpath, int *pipe_out)
{
    pid_t parent = getpid(), pid;
    int fd, p[2] = {-1, -1};

    if (pipe_out && pipe2(p, O_CLOEXEC) != 0)
        return -1;
    if ((pid = fork()) != 0) {
        if (pipe_out) {
            close(p[1]);
            *pipe_out = p[0];
        }
        return pid;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(126);
    fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        dup2(fd, 2);
        dup2(pipe_out ? p[1] : fd, 1);
    }
    execvp(argv[0], argv);
    _exit(127);
}

/* utime + stime of a whole process (all threads), seconds; 0 once it is gone. */
static double proc_cpu(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long ut = 0, st = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (!(f = fopen(path, "re")))
        return 0;
    p = fgets(buf, sizeof(buf), f);
    fclose(f);
    if (!p || !(p = strrchr(buf, ')')))
        return 0;
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Reaps both (1 ms polls), SIGKILLing them at the deadline. 0, or -1 on timeout. */
static int wait_both(pid_t p[2], uint64_t deadline)
{
    int left = 2, rc = 0;

    while (left > 0) {
        for (int i = 0; i < 2; i++) {
            if (p[i] > 0 && waitpid(p[i], NULL, WNOHANG) == p[i]) {
                p[i] = 0;
                left--;
            }
        }
        if (left > 0 && now_ns() > deadline && rc == 0) {
            for (int i = 0; i < 2; i++) {
                if (p[i] > 0)
                    kill(p[i], SIGKILL);
            }
            rc = -1;
        }
        if (left > 0)
            sleep_ns(1000000);
    }
    return rc;
}

static int wait_socket(const char *path, uint64_t deadline)
{
    struct stat st;

    while (stat(path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        if (now_ns() > deadline)
            return -1;
        sleep_ns(2000000);
    }
    return 0;
}

/* "rendered: N" (fpsdisplaysink) or "frames N" (fbus-bench-peer sub); "total N" at its end. */
static int parse_progress(const char *line, double *frames, double *total)
{
    if (sscanf(line, "total %lf", total) == 1)
        return 0;
    const char *p = strstr(line, "rendered: ");

    if (p)
        return sscanf(p + 10, "%lf", frames) == 1;
    return sscanf(line, "frames %lf", frames) == 1;
}

/* Reads the reader's progress lines until EOF, sampling both processes' CPU at each. */
static unsigned collect(int fd, const pid_t p[2], uint64_t deadline, struct sample *s,
                        double *total)
{
    char buf[8192];
    size_t len = 0;
    unsigned n = 0;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};

    while (now_ns() < deadline) {
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        ssize_t k = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (k <= 0)
            break;
        len += (size_t)k;
        buf[len] = 0;
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n'))) {
            *nl = 0;
            if (n < MAX_SAMPLES && parse_progress(line, &s[n].frames, total)) {
                s[n].t = (double)now_ns() / 1e9;
                s[n].cpu = proc_cpu(p[0]) + proc_cpu(p[1]);
                n++;
            }
            line = nl + 1;
        }
        len = strlen(line);
        memmove(buf, line, len + 1);
        if (len == sizeof(buf) - 1)
            len = 0; /* a line longer than the buffer: not ours */
    }
    return n;
}

/*
 * The steady state: from the first sample past 5 % of the frames to the last
 * one before 95 %. Start-up (plugin loading, connection, page faults of the
 * shared area) and shut-down stay out of it.
 */
static void steady(const struct sample *s, unsigned n, struct pair_run *run)
{
    double total = n ? s[n - 1].frames : 0;
    int a = -1, b = -1;

    if (run->total > total)
        total = run->total;
    else
        run->total = total;
    for (unsigned i = 0; i < n; i++) {
        if (a < 0 && s[i].frames >= 0.05 * total)
            a = (int)i;
        if (s[i].frames <= 0.95 * total)
            b = (int)i;
    }
    if (a < 0 || b <= a || s[b].t - s[a].t < 0.3 || s[b].frames <= s[a].frames) {
        run->ok = 0;
        return;
    }
    run->fps = (s[b].frames - s[a].frames) / (s[b].t - s[a].t);
    run->cpu_ns = (s[b].cpu - s[a].cpu) / (s[b].frames - s[a].frames) * 1e9;
}

/* Shows the last lines a failed program wrote. */
static void show_tail(const char *path)
{
    char buf[2048];
    FILE *f = fopen(path, "re");
    size_t n;

    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size > (long)sizeof(buf) - 1 ? size - (long)sizeof(buf) + 1 : 0, SEEK_SET);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    if (n)
        progress("    %s:\n%s", path, buf);
}

/* Runs writer a, then (once sock exists, if given) reader b; fills run. */
static void run_pair(const char *label, char *const a[], char *const b[], const char *sock,
                     struct pair_run *run)
{
    static struct sample s[MAX_SAMPLES];
    char pa[64], pb[64];
    uint64_t t0 = now_ns(), deadline = t0 + PAIR_TIMEOUT_MS * 1000000ull;
    pid_t p[2] = {0, 0};
    int fd = -1;
    unsigned n;

    snprintf(pa, sizeof(pa), "/tmp/fbus-bench-%d-a.txt", (int)getpid());
    snprintf(pb, sizeof(pb), "/tmp/fbus-bench-%d-b.txt", (int)getpid());
    memset(run, 0, sizeof(*run));
    if (sock)
        unlink(sock);
    p[0] = launch(a, pa, NULL);
    if (sock && wait_socket(sock, t0 + 10000000000ull) != 0) {
        progress("gst: %s made no socket (is gstreamer1.0-plugins-bad installed?)", a[0]);
        kill(p[0], SIGKILL);
        waitpid(p[0], NULL, 0);
        unlink(pa);
        return;
    }
    p[1] = launch(b, pb, &fd);
    n = fd >= 0 ? collect(fd, p, deadline, s, &run->total) : 0;
    if (fd >= 0)
        close(fd);
    run->ok = wait_both(p, deadline) == 0;
    if (!run->ok)
        progress("gst: %s pair timed out", a[0]);
    if (run->ok)
        steady(s, n, run);
    progress("  %-9s %u samples, %.0f frames, %.0f fps, %.1f us CPU/frame%s", label, n, run->total,
             run->fps, run->cpu_ns / 1e3, run->ok ? "" : " (failed)");
    if (!run->ok) {
        show_tail(pa);
        show_tail(pb);
    }
    unlink(pa);
    unlink(pb);
    if (sock)
        unlink(sock);
}

static void run_gst(const struct bench_opts *o, const struct bsize *z, unsigned long n,
                    const char *label, struct pair_run *run)
{
    char caps[128], nb[32], shm[32], sockarg[96], sock[64];

    snprintf(sock, sizeof(sock), "/tmp/fbus-bench-%d.sock", (int)getpid());
    snprintf(caps, sizeof(caps), "video/x-raw,format=RGB,width=%u,height=%u,framerate=30/1",
             z->width, z->height);
    snprintf(nb, sizeof(nb), "num-buffers=%lu", n);
    snprintf(shm, sizeof(shm), "shm-size=%zu", z->bytes * 4 + (1u << 20));
    snprintf(sockarg, sizeof(sockarg), "socket-path=%s", sock);
    char *a[] = {(char *)o->gst_launch,
                 "-q",
                 "videotestsrc",
                 "pattern=black",
                 "num-buffers=1",
                 "!",
                 caps,
                 "!",
                 "imagefreeze",
                 nb,
                 "!",
                 "identity",
                 "drop-allocation=true",
                 "!",
                 "shmsink",
                 sockarg,
                 "wait-for-connection=true",
                 shm,
                 "sync=false",
                 NULL};
    char *b[] = {(char *)o->gst_launch,
                 "-v",
                 "shmsrc",
                 sockarg,
                 "is-live=true",
                 "!",
                 caps,
                 "!",
                 "fpsdisplaysink",
                 "video-sink=fakesink enable-last-sample=false",
                 "text-overlay=false",
                 "sync=false",
                 "fps-update-interval=100",
                 NULL};

    run_pair(label, a, b, sock, run);
}

static void run_fbus(const struct bench_opts *o, const struct bsize *z, unsigned long n,
                     int lossless, struct pair_run *run)
{
    char bus[32], w[16], h[16], nb[32];

    bus_name(bus);
    snprintf(w, sizeof(w), "%u", z->width);
    snprintf(h, sizeof(h), "%u", z->height);
    snprintf(nb, sizeof(nb), "%lu", n);
    char *a[] = {(char *)o->peer, "pub", bus, w, h, nb, NULL};
    char *b[] = {(char *)o->peer, "sub", bus, "100", lossless ? "lossless" : "latest", NULL};

    run_pair(lossless ? "lossless" : "latest", a, b, NULL, run);
}

/* Median over the repeats of framebus / GStreamer, each repeat's runs neighbours in time. */
static double ratio_median(const struct pair_run *f, const struct pair_run *g, unsigned n,
                           int which)
{
    double v[MAX_REPEATS];
    unsigned k = 0;

    for (unsigned i = 0; i < n; i++) {
        double a = which == 0 ? f[i].fps : f[i].cpu_ns, b = which == 0 ? g[i].fps : g[i].cpu_ns;
        if (f[i].ok && g[i].ok && b > 0)
            v[k++] = a / b;
    }
    return median_of(v, k);
}

static double field_median(const struct pair_run *runs, unsigned n, int which)
{
    double v[MAX_REPEATS];
    unsigned k = 0;

    for (unsigned i = 0; i < n; i++) {
        if (runs[i].ok)
            v[k++] = which == 0 ? runs[i].fps : which == 1 ? runs[i].cpu_ns : runs[i].total;
    }
    return median_of(v, k);
}

static double quick_memcpy(size_t bytes)
{
    void *src = local_alloc(bytes), *dst[2] = {local_alloc(bytes), local_alloc(bytes)};
    double v[9] = {0};

    for (unsigned k = 0; src && dst[0] && dst[1] && k < 9; k++) {
        uint64_t t0 = now_ns();
        memcpy(dst[k & 1], src, bytes);
        __asm__ volatile("" ::: "memory");
        v[k] = (double)(now_ns() - t0);
    }
    free(src);
    free(dst[0]);
    free(dst[1]);
    return median_of(v, 9);
}

static void measure(const struct bench_opts *o, unsigned z, struct gst_result *g)
{
    static struct pair_run gr[MAX_REPEATS], fr[MAX_REPEATS], lr[MAX_REPEATS];
    const struct bsize *sz = &bench_sizes[z];
    /* Two more repeats than elsewhere: whole processes, seconds each, drift more. */
    unsigned reps = o->quick ? 1 : o->repeats + 2 < MAX_REPEATS ? o->repeats + 2 : MAX_REPEATS;
    double mc = quick_memcpy(sz->bytes);
    /* About a second of copying per stream at memcpy speed. */
    unsigned long n = (unsigned long)(1e9 / (mc > 0 ? mc : 1e6));
    struct pair_run warm;

    n = o->quick ? 100 : n < 300 ? 300 : n > 6000 ? 6000 : n;
    g->memcpy_ns = mc;
    progress("  warm-up: plugin registry, page cache");
    run_gst(o, sz, n / 10, NULL, &warm);
    for (unsigned rep = 0; rep < reps; rep++) {
        run_gst(o, sz, n, "gstreamer", &gr[rep]);
        run_fbus(o, sz, n, 1, &lr[rep]);
        run_fbus(o, sz, n, 0, &fr[rep]);
    }
    g->gst_fps = field_median(gr, reps, 0);
    g->gst_cpu_ns = field_median(gr, reps, 1);
    g->fbus_fps = field_median(lr, reps, 0);
    g->fbus_cpu_ns = field_median(lr, reps, 1);
    g->latest_fps = field_median(fr, reps, 0);
    g->latest_cpu_ns = field_median(fr, reps, 1);
    g->fbus_delivered = field_median(lr, reps, 2) / (double)n;
    g->latest_delivered = field_median(fr, reps, 2) / (double)n;
    g->fps_ratio = ratio_median(lr, gr, reps, 0);
    g->cpu_ratio = ratio_median(lr, gr, reps, 1);
    g->latest_fps_ratio = ratio_median(fr, gr, reps, 0);
    g->latest_cpu_ratio = ratio_median(fr, gr, reps, 1);
    g->ok = g->gst_fps > 0 && g->fbus_fps > 0;
    snprintf(g->note, sizeof(g->note), "%lu frames per stream, %u repeats%s", n, reps,
             g->ok ? "" : ", FAILED");
}

int bench_gst(const struct bench_opts *o, struct results *r)
{
    if (access(o->peer, X_OK) != 0) {
        progress("gst: %s not found: section skipped", o->peer);
        return -1;
    }
    for (unsigned k = 0; k < NGST; k++) {
        progress("gstreamer: %s", bench_sizes[k + 1].label);
        measure(o, k + 1, &r->gst[k]);
    }
    r->have |= SEC_GST;
    return 0;
}
