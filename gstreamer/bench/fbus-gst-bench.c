/*
 * fbus-gst-bench.c - fbussink -> fbussrc against shmsink -> shmsrc and pipewiresink ->
 * pipewiresrc, two processes each.
 *
 * The writer process runs videotestsrc ! CAPS ! identity ! {fbussink | shmsink | pipewiresink};
 * a probe on identity's sink pad writes CLOCK_MONOTONIC into the first 8 bytes of each frame.
 * The reader process (this one) runs {fbussrc lossless=true | shmsrc | pipewiresrc} ! fakesink;
 * a probe there counts the frames and takes now - that stamp as the frame's latency. fbus and
 * shm deliver every frame (shmsink waits for room in its area; the writer waits for a lossless
 * fbussrc). pipewiresink waits for a free buffer of its pool, which only the reader gives back:
 * every frame at camera rate, but flat out PipeWire 0.3.65 loses frames and stalls (below).
 *
 *   fbus-gst-bench --pair fbus|shm|pipewire --size WxH [--frames N] [--fps N] [--zero-copy]
 *                  [--hold-last] [--area FRAMES] [--timeout S]
 * --fps N: camera rate: videotestsrc is-live=true and framerate=N/1, so frames come N a second
 *   and the latency is the hand-off with no queue in front of it. Without it, flat out.
 * --hold-last: the reader's fakesink keeps its last buffer, as gst-launch's fakesink does.
 * --pair pipewire needs a PipeWire daemon: run it under gstreamer/bench/pipewire-env, which
 *   starts a private one and puts its PIDs in FBUS_PW_PIDS (their CPU is then counted).
 * FBUS_GST_BENCH_DEBUG=1: the writer says on stderr how many frames it sent (all N, but for a
 *   stall: so frames missing at the reader were lost on the way).
 *
 * Warm-up (camera rate, and pipewire at any rate): pipewiresink silently drops what it renders
 * before its stream is STREAMING, and a live source must not be held back (the frames it would
 * push late, all at once, would queue). So the writer stamps 0 into frames (warm-up) until the
 * reader has received WARMUP_FRAMES of them (every buffer used once) and said so on a pipe;
 * only then come the N stamped frames, then EOS.
 * The reader does not count warm-up frames. Flat out the warm-up also keeps the first touch of
 * every slot or buffer (page faults) out of the figures. Only the --zero-copy runs (the hang
 * check) have none: the fbus writer waits in PAUSED for the lossless reader, shmsink for its
 * connection.
 * PipeWire carries no EOS: the pipewire reader ends itself after N frames (or 2 s without one),
 * and the writer stays up until then, so that no frame still in its queue is torn down.
 *
 * One line per run, key=value separated by spaces, no spaces in a value (gstreamer/bench/run
 * --raw FILE puts table=flat|camera|hang repeat=R in front; the keys here, in this order):
 *   pair        fbus, shm or pipewire (-zerocopy, -zerocopy-holdlast: --zero-copy, --hold-last)
 *   size        WxH, I420
 *   fps_target  --fps N, 0 for flat out
 *   frames      delivered/sent (stamped frames the reader received / N)
 *   stamped     frames whose stamp was one of this run's (between its start and the arrival):
 *               proof they came from this writer; only those are in p50/p99
 *   fps         frames over the time from the first to the last
 *   cpu_us      user+system CPU per delivered frame of the whole run: writer, reader and, for
 *               pipewire, the daemon and the pw-link that links the two nodes (GStreamer's
 *               start-up included: use enough frames)
 *   daemon_cpu_us  the daemon's (and pw-link's) part of cpu_us; 0 for fbus and shm, na when
 *               FBUS_PW_PIDS is not set
 *   stream_cpu_us  CPU per frame from the first frame's arrival to the last one's, all the
 *               processes above but pw-link (threads' /proc/PID/task/TID/schedstat): the steady
 *               cost, no start-up; na when not every frame arrived
 *   stream_daemon_cpu_us  the daemon's part of stream_cpu_us
 *   p50_us p99_us  latency percentiles (arrival in the reader - stamp in the writer)
 *   result      ok; hang: no EOS within --timeout seconds (GStreamer 1.22's shmsink, when
 *               videotestsrc paints straight into its area and the area fills, stops for good;
 *               --zero-copy shows it); nolink: pw-link could not link the pipewire nodes;
 *               stall: the pipewire writer stopped for good before its N frames (STALL below);
 *               interrupted: SIGINT/SIGTERM/SIGHUP (the writer killed, everything removed)
 *
 * STALL, PipeWire 0.3.65 flat out: pipewiresink in mode=provide drives the graph itself, one
 * cycle per frame it renders, and each cycle hands back to it at most one buffer the reader has
 * released (stream.c: impl_node_process_input/_output). A reader that has not released its
 * buffer by the next cycle leaves buffers on its side; when all are there, the sink's pool waits
 * for a buffer on a condition that only the stream's process callback signals, and a driving
 * stream gets that callback only from its own render: nothing wakes it. PipeWire 1.3.81 added
 * PW_STREAM_FLAG_EARLY_PROCESS (process as soon as a buffer comes back) and sets it in
 * pipewiresink for this. Frames also go missing flat out: with FBUS_GST_BENCH_DEBUG the writer
 * has sent all N and pipewiresink logs "push buffer" (pw_stream_queue_buffer) for each
 * (GST_DEBUG=pipewiresink:6), yet 80-90 % reach pipewiresrc; where PipeWire drops them is not
 * pinned down. At camera rate the reader has long released its buffer when the next frame
 * comes: neither happens (every run here delivered N of N).
 */
#include <gst/gst.h>

#include "framebus/framebus.h"

#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_DAEMONS 4
/*
 * Warm-up frames the reader takes before it says go: as many as the largest pool of buffers
 * (pipewire's 16, the 16-frame shm area; fbus has 4 slots), so that each has been written once.
 * The first write into a buffer faults its fresh pages in (~10 ms at 1080p, ~35 ms at 4K here),
 * a start-up cost once per buffer that would otherwise be a camera-rate run's p99.
 */
#define WARMUP_FRAMES 16

struct opts {
    const char *pair;
    unsigned w, h, frames, area, timeout_s, fps;
    gboolean zero_copy;
    gboolean hold_last; /* the reader's fakesink keeps its last buffer (its default) */
};

/* The processes whose CPU is sampled when the first and the last frame arrive. */
struct cpu_set {
    int writer;
    int daemons[MAX_DAEMONS];
    int n_daemons;
};

struct cpu_sample {
    guint64 all, daemon; /* ns */
};

struct reader_stats {
    gint n;              /* stamped frames received (read by the main thread: atomic) */
    guint stamped;       /* of those, with a stamp of this run */
    guint frames;        /* expected */
    guint64 t0;          /* the run's start: a stamp before it is not this writer's */
    guint64 first, last; /* arrival of the first and the last frame */
    guint64 *lat;
    guint cap;
    int go_fd;  /* >= 0: warm-up; WARMUP_FRAMES warm-up frames are answered with a byte */
    guint warm; /* warm-up frames received */
    const struct cpu_set *cpu;
    struct cpu_sample c_first, c_last;
    gboolean have_last;
};

/* The writer's side of the warm-up (see the top of the file). */
struct writer_gate {
    int go_fd;    /* -1: no warm-up, every frame stamped, num-buffers ends the stream */
    int ready_fd; /* >= 0: a line here once the first frame is rendered (pipewire) */
    guint warm;   /* warm-up frames so far */
    gboolean live;
    gboolean open;
    guint frames, sent;
    GstElement *pipeline;
};

/* How run() drives a pipeline beyond "to EOS or error". */
struct run_ctl {
    const char *ready_bus;           /* fbus flat out: wait in PAUSED for a lossless reader there */
    gboolean (*tick)(gpointer data); /* every 20 ms: TRUE sends EOS (the pipewire reader) */
    gpointer tick_data;
    int wait_fd; /* >= 0: after EOS, stay up until EOF on it (the pipewire writer) */
    const struct writer_gate *gate; /* with wait_fd: whether all frames are out */
    gboolean report_errors;         /* shmsrc's error when its writer goes is the normal end */
};

/* SIGINT/SIGTERM/SIGHUP: the writer and pw-link are killed, and the run ends the usual way
 * (the reader sees its writer gone), so that what they made is removed as after any run. */
static volatile pid_t sig_writer = -1, sig_linker = -1;
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
    if (sig_writer > 0) {
        kill(sig_writer, SIGKILL);
    }
    if (sig_linker > 0) {
        kill(sig_linker, SIGKILL);
    }
}

static guint64 now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (guint64)ts.tv_sec * 1000000000ull + (guint64)ts.tv_nsec;
}

/*
 * CPU time of every thread of pid so far, in ns: the sum of the threads' schedstat (ns, where
 * /proc/PID/stat's utime+stime count 10 ms ticks, too coarse for a daemon's few µs a frame);
 * /proc/PID/stat where the kernel has no schedstat.
 */
static guint64 proc_cpu_ns(int pid)
{
    char path[64];
    glob_t g;
    guint64 sum = 0;
    unsigned long long ns, ut, st;

    snprintf(path, sizeof(path), "/proc/%d/task/*/schedstat", pid);
    if (glob(path, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            FILE *f = fopen(g.gl_pathv[i], "r");
            if (f) {
                if (fscanf(f, "%llu", &ns) == 1) {
                    sum += ns;
                }
                fclose(f);
            }
        }
        globfree(&g);
        return sum;
    }
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    char line[1024];
    if (!f) {
        return 0;
    }
    char *p = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
    fclose(f);
    /* after "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime stime */
    if (p &&
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2) {
        return (ut + st) * 1000000000ull / (guint64)sysconf(_SC_CLK_TCK);
    }
    return 0;
}

static guint64 daemons_cpu_ns(const struct cpu_set *c)
{
    guint64 sum = 0;

    for (int i = 0; i < c->n_daemons; i++) {
        sum += proc_cpu_ns(c->daemons[i]);
    }
    return sum;
}

static void sample_cpu(const struct cpu_set *c, struct cpu_sample *s)
{
    s->daemon = daemons_cpu_ns(c);
    s->all = s->daemon + proc_cpu_ns(getpid()) + (c->writer > 0 ? proc_cpu_ns(c->writer) : 0);
}

/* A warm-up frame has stamp 0 (see the top of the file). */
static GstPadProbeReturn stamp(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    struct writer_gate *g = data;
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    guint64 t = 0;

    (void)pad;
    if (g->go_fd >= 0 && !g->open) {
        /* Flat out, wait a little for the answer rather than paint warm-up frames flat out;
         * live, the source paces them. A closed pipe (reader gone) opens too. */
        struct pollfd pfd = {g->go_fd, POLLIN, 0};
        char c;
        if (poll(&pfd, 1, g->live ? 0 : 5) > 0) {
            g->open = read(g->go_fd, &c, 1) >= 0;
        }
        if (!g->open) {
            /* pipewiresink learns the frame size, and asks PipeWire for buffers that big, when
             * it renders its first frame; buffers allocated for a link made before that have
             * no memory, and 0.3.65's sink then copies into them (a NULL map). This second
             * frame comes after that render: only now may the nodes be linked. */
            if (++g->warm == 2 && g->ready_fd >= 0) {
                (void)!write(g->ready_fd, "\n", 1);
                close(g->ready_fd);
                g->ready_fd = -1;
            }
            gst_buffer_fill(buf, 0, &t, sizeof(t));
            return GST_PAD_PROBE_OK;
        }
    }
    if (g->frames && g->sent >= g->frames) {
        return GST_PAD_PROBE_DROP; /* until the EOS sent from the main thread gets there */
    }
    t = now_ns();
    gst_buffer_fill(buf, 0, &t, sizeof(t));
    if (g->frames && (guint)g_atomic_int_add((gint *)&g->sent, 1) + 1 == g->frames) {
        gst_element_post_message(g->pipeline, gst_message_new_application(
                                                  GST_OBJECT(g->pipeline),
                                                  gst_structure_new_empty("fbus-gst-bench-sent")));
    }
    return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn count(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    struct reader_stats *s = data;
    guint64 t = 0, now = now_ns();

    (void)pad;
    gst_buffer_extract(GST_PAD_PROBE_INFO_BUFFER(info), 0, &t, sizeof(t));
    if (t == 0 && s->go_fd >= 0) {
        /* Warm-up: the path works end to end; once every buffer has been through, tell the
         * writer (once) to start for real. */
        if (++s->warm >= WARMUP_FRAMES && write(s->go_fd, "g", 1) == 1) {
            s->go_fd = -2;
        }
        return GST_PAD_PROBE_OK;
    }
    if (t == 0 && s->go_fd == -2) {
        return GST_PAD_PROBE_OK; /* warm-up frames still on the way */
    }
    if (t >= s->t0 && t <= now && s->stamped < s->cap) {
        s->lat[s->stamped++] = now - t;
    }
    guint n = (guint)g_atomic_int_add(&s->n, 1) + 1;
    if (n == 1) {
        s->first = now;
        sample_cpu(s->cpu, &s->c_first);
    }
    s->last = now;
    if (n == s->frames) {
        sample_cpu(s->cpu, &s->c_last);
        s->have_last = TRUE;
    }
    return GST_PAD_PROBE_OK;
}

/* The pipewire reader's end: all frames in, or 2 s with none once they flow. */
static gboolean reader_done(gpointer data)
{
    struct reader_stats *s = data;
    static gint seen = -1;
    static guint64 since;
    gint n = g_atomic_int_get(&s->n);

    if ((guint)n >= s->frames || interrupted) {
        return TRUE;
    }
    if (n != seen) {
        seen = n;
        since = now_ns();
        return FALSE;
    }
    return n > 0 && now_ns() - since > 2000000000ull;
}

/* The fbus writer, prerolled (its bus made, nothing published): wait for the lossless reader. */
static void wait_reader(const char *bus)
{
    struct fbus_info info;

    for (int i = 0; i < 500; i++) {
        if (fbus_info_get(bus, 0, &info) == 0 && info.lossless_count > 0) {
            return;
        }
        g_usleep(10000);
    }
}

/*
 * Runs desc to EOS or error (either ends it: shmsrc errors when its writer goes), as ctl says.
 * An application message from the stamp probe (the writer's N frames are out) sends EOS.
 */
static int run(const char *desc, const char *probe_elem, GstPadProbeCallback cb, gpointer data,
               unsigned timeout_s, const struct run_ctl *ctl)
{
    GError *err = NULL;
    GstElement *p = gst_parse_launch(desc, &err);
    if (!p || err) {
        fprintf(stderr, "fbus-gst-bench: %s: %s\n", desc, err ? err->message : "?");
        return 2;
    }
    if (cb == stamp) {
        ((struct writer_gate *)data)->pipeline = p;
    }
    GstElement *e = gst_bin_get_by_name(GST_BIN(p), probe_elem);
    GstPad *pad = gst_element_get_static_pad(e, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, cb, data, NULL);
    gst_object_unref(pad);
    gst_object_unref(e);
    if (ctl->ready_bus) {
        gst_element_set_state(p, GST_STATE_PAUSED);
        gst_element_get_state(p, NULL, NULL, 5 * GST_SECOND);
        wait_reader(ctl->ready_bus);
    }
    gst_element_set_state(p, GST_STATE_PLAYING);
    GstBus *bus = gst_element_get_bus(p);
    guint64 end = now_ns() + (guint64)timeout_s * 1000000000ull;
    gboolean eos_sent = FALSE, reader_has_all = FALSE;
    guint64 eos_by = 0;
    GstMessage *m = NULL;
    while (!m && now_ns() < end) {
        if (eos_sent && ctl->tick && now_ns() > eos_by) {
            /* pipewiresrc only flags an EOS it is sent; with its writer gone its task has
             * stopped (the stream left STREAMING), so none comes: the end anyway. */
            reader_has_all = TRUE;
            break;
        }
        gboolean poll_fd = ctl->wait_fd >= 0;
        m = gst_bus_timed_pop_filtered(
            bus, ctl->tick || poll_fd ? 20 * GST_MSECOND : end - now_ns(),
            GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_APPLICATION);
        if (m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR && ctl->report_errors) {
            GError *e2 = NULL;
            gst_message_parse_error(m, &e2, NULL);
            fprintf(stderr, "fbus-gst-bench: %s: %s\n", GST_OBJECT_NAME(GST_MESSAGE_SRC(m)),
                    e2 ? e2->message : "?");
            g_clear_error(&e2);
        }
        if ((m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_APPLICATION) ||
            (!m && ctl->tick && ctl->tick(ctl->tick_data))) {
            if (!eos_sent) {
                gst_element_send_event(p, gst_event_new_eos());
                eos_sent = TRUE;
                eos_by = now_ns() + 1000000000ull;
            }
            if (m) {
                gst_message_unref(m);
                m = NULL;
            }
        }
        if (!m && poll_fd) {
            /* The reader is done before this side's EOS message: with all frames out, it
             * just has them all (the EOS is on its way); otherwise it has given up and the
             * stream stalled (see the top of the file): the streaming thread is stuck, so no
             * going to NULL either. */
            struct pollfd pfd = {ctl->wait_fd, 0, 0};
            if (poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLHUP)) {
                if (g_atomic_int_get((const gint *)&ctl->gate->sent) < (gint)ctl->gate->frames) {
                    _exit(4);
                }
                reader_has_all = TRUE;
                break;
            }
        }
    }
    int rc = m || reader_has_all ? 0 : 3;
    if (m) {
        gst_message_unref(m);
    }
    gst_object_unref(bus);
    if (rc == 3) {
        _exit(3); /* a hung pipeline may not go to NULL either */
    }
    if (ctl->wait_fd >= 0) {
        /* Frames may still be in this side's queue: the reader says when it has them all. */
        struct pollfd pfd = {ctl->wait_fd, POLLIN, 0};
        char c;
        while (poll(&pfd, 1, (int)timeout_s * 1000) > 0 && read(ctl->wait_fd, &c, 1) > 0) {
        }
    }
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(p);
    return rc;
}

/* shmsink's areas are /dev/shm/shmpipe.<pid>.<n>; a killed (hung) one leaves its own. */
static void remove_shm_areas(pid_t writer)
{
    glob_t g;
    int pid;

    if (glob("/dev/shm/shmpipe.*", 0, NULL, &g) != 0) {
        return;
    }
    for (size_t i = 0; i < g.gl_pathc; i++) {
        if (sscanf(g.gl_pathv[i], "/dev/shm/shmpipe.%d.", &pid) == 1 && pid == writer) {
            unlink(g.gl_pathv[i]);
        }
    }
    globfree(&g);
}

static int cmp_u64(const void *a, const void *b)
{
    guint64 x = *(const guint64 *)a, y = *(const guint64 *)b;

    return x < y ? -1 : x > y;
}

static double cpu_s(const struct rusage *r)
{
    return r->ru_utime.tv_sec + r->ru_stime.tv_sec +
           (r->ru_utime.tv_usec + r->ru_stime.tv_usec) / 1e6;
}

/*
 * The pipelines. All three writers are videotestsrc ! caps ! identity ! sink and all three
 * readers src ! fakesink; identity drop-allocation=true (unless --zero-copy) makes every sink
 * copy the frame into its own memory (fbussink's slot, shmsink's area, pipewiresink's pool).
 * fbussink has its default 2 slots, what a user gets: more slots are slower here, since a copy
 * into a slot the cache no longer holds costs more (4K flat out: 2 slots 556, 3 slots 518,
 * 4 slots 462 fps, medians of 2 runs), and the two slots a newest-frame bus needs (the latest
 * frame stays readable while the next is written) are one more destination than shmsink's area,
 * where a reader that has released the block lets the next frame reuse it.
 */
static void descs(const struct opts *o, const char *bus, const char *sock, const char *node,
                  gboolean warmup, char *wr, char *rd, size_t len)
{
    char caps[160], src[96];
    unsigned long frame = (unsigned long)o->w * o->h * 3 / 2;
    const char *hold = o->hold_last ? "true" : "false";
    const char *copy = o->zero_copy ? "" : " drop-allocation=true";

    snprintf(caps, sizeof(caps), "video/x-raw,format=I420,width=%u,height=%u,framerate=%u/1", o->w,
             o->h, o->fps);
    /* With warm-up frames first, the stamp probe counts the N frames and sends EOS. */
    snprintf(src, sizeof(src), "videotestsrc pattern=black is-live=%s num-buffers=%d",
             o->fps ? "true" : "false", warmup ? -1 : (int)o->frames);
    if (!strcmp(o->pair, "fbus")) {
        snprintf(wr, len, "%s ! %s ! identity name=x%s ! fbussink bus=%s sync=false", src, caps,
                 copy, bus);
        snprintf(rd, len,
                 "fbussrc bus=%s lossless=true timeout=1500 ! fakesink name=k sync=false "
                 "enable-last-sample=%s",
                 bus, hold);
    } else if (!strcmp(o->pair, "shm")) {
        /* Live, shmsink must not hold the source back until the reader connects (the frames
         * would come late, in a burst): the warm-up frames before it are dropped instead. */
        snprintf(wr, len,
                 "%s ! %s ! identity name=x%s ! shmsink socket-path=%s wait-for-connection=%s "
                 "shm-size=%lu sync=false",
                 src, caps, copy, sock, o->fps ? "false" : "true", frame * o->area + 4096);
        snprintf(rd, len,
                 "shmsrc socket-path=%s is-live=true ! %s ! fakesink name=k sync=false "
                 "enable-last-sample=%s",
                 sock, caps, hold);
    } else {
        /*
         * mode=provide: the writer's node drives the graph, one cycle per frame it renders.
         * Otherwise the session's driver (here the Dummy-Driver, an audio clock of 1024 samples
         * at 48 kHz) would pace the video at ~47 cycles a second. No session manager: the bench
         * links the two nodes by name with pw-link (target-object says the same for one).
         */
        snprintf(wr, len,
                 "%s ! %s ! identity name=x%s ! pipewiresink mode=provide client-name=%s-w "
                 "sync=false",
                 src, caps, copy, node);
        snprintf(rd, len,
                 "pipewiresrc target-object=%s-w client-name=%s-r ! fakesink name=k sync=false "
                 "enable-last-sample=%s",
                 node, node, hold);
    }
}

/*
 * Links the pipewire writer's port to the reader's once the writer says (a line on ready_fd)
 * and both ports exist (pw-link fails until then).
 */
static pid_t start_linker(const char *node, unsigned timeout_s, int ready_fd, int close_fd)
{
    char out[96], in[96], tries[16];
    pid_t pid = fork();

    if (pid != 0) {
        return pid;
    }
    dup2(ready_fd, 0);
    close(ready_fd);
    if (close_fd >= 0) {
        close(close_fd); /* the writer waits for EOF on it */
    }
    snprintf(out, sizeof(out), "%s-w:out_0", node);
    snprintf(in, sizeof(in), "%s-r:in_0", node);
    snprintf(tries, sizeof(tries), "%u", timeout_s * 50);
    execlp("sh", "sh", "-c",
           "read -r _ || exit 1; i=0; while [ $i -lt $3 ]; do pw-link \"$1\" \"$2\" 2>/dev/null && "
           "exit 0; "
           "sleep 0.02; i=$((i + 1)); done; pw-link \"$1\" \"$2\"",
           "sh", out, in, tries, (char *)NULL);
    _exit(127);
}

static int parse(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){"fbus", 640, 480, 600, 16, 20, 0, FALSE, FALSE};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--zero-copy") || !strcmp(a, "--hold-last")) {
            *(a[2] == 'z' ? &o->zero_copy : &o->hold_last) = TRUE;
            continue;
        }
        if (!v) {
            return -1;
        }
        if (!strcmp(a, "--pair")) {
            o->pair = v;
        } else if (!strcmp(a, "--size")) {
            if (sscanf(v, "%ux%u", &o->w, &o->h) != 2) {
                return -1;
            }
        } else if (!strcmp(a, "--frames")) {
            o->frames = (unsigned)atoi(v);
        } else if (!strcmp(a, "--fps")) {
            o->fps = (unsigned)atoi(v);
        } else if (!strcmp(a, "--area")) {
            o->area = (unsigned)atoi(v);
        } else if (!strcmp(a, "--timeout")) {
            o->timeout_s = (unsigned)atoi(v);
        } else {
            return -1;
        }
        i++;
    }
    if (!strcmp(o->pair, "pipewire")) {
        /* pipewiresink's own pool under videotestsrc: not what is compared; not done. */
        return o->zero_copy ? -1 : 0;
    }
    return strcmp(o->pair, "fbus") && strcmp(o->pair, "shm") ? -1 : 0;
}

/* FBUS_PW_PIDS="PID ...", from gstreamer/bench/pipewire-env: the daemon's processes. */
static int daemon_pids(struct cpu_set *c)
{
    const char *env = getenv("FBUS_PW_PIDS");
    char *end;

    if (!env) {
        return -1;
    }
    for (const char *p = env; *p && c->n_daemons < MAX_DAEMONS; p = end) {
        long pid = strtol(p, &end, 10);
        if (end == p) {
            break;
        }
        if (pid > 0) {
            c->daemons[c->n_daemons++] = (int)pid;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    char bus[32], sock[64], node[48], wr[640], rd[640];
    struct reader_stats s = {0};
    struct cpu_set cpu = {0};
    struct rusage r0, r1, rc, rl;
    int status = 0, go[2] = {-1, -1}, rdy[2] = {-1, -1};

    if (parse(argc, argv, &o)) {
        fprintf(stderr, "usage: fbus-gst-bench --pair fbus|shm|pipewire --size WxH [--frames N] "
                        "[--fps N] [--zero-copy (not pipewire)] [--hold-last] [--area FRAMES] "
                        "[--timeout S]\n");
        return 2;
    }
    gboolean pw = !strcmp(o.pair, "pipewire");
    /* Flat out too: a fresh slot or pool buffer page-faults on its first frame (~10 ms at
     * 1080p, ~35 ms at 4K here), and a short run would time those, not the transport; the
     * zero-copy hang check keeps the cold start it was written for. */
    gboolean warmup = pw || o.fps > 0 || !o.zero_copy;
    gboolean daemons_known = !pw || daemon_pids(&cpu) == 0;
    snprintf(bus, sizeof(bus), "gstbench.%d", (int)getpid());
    snprintf(sock, sizeof(sock), "/tmp/fbus-gst-bench.%d.sock", (int)getpid());
    snprintf(node, sizeof(node), "fbus-gst-bench-%d", (int)getpid());
    descs(&o, bus, sock, node, warmup, wr, rd, sizeof(wr));
    if ((warmup && pipe(go) != 0) || (pw && pipe(rdy) != 0)) {
        perror("fbus-gst-bench: pipe");
        return 2;
    }
    gst_init(&argc, &argv);
    s.t0 = now_ns();
    guint64 d0 = daemons_cpu_ns(&cpu);
    getrusage(RUSAGE_SELF, &r0);
    pid_t pid = fork();
    if (pid == 0) {
        struct writer_gate g = {go[0], rdy[1], 0, o.fps > 0, FALSE, warmup ? o.frames : 0, 0, NULL};
        struct run_ctl ctl = {
            !warmup && !strcmp(o.pair, "fbus") ? bus : NULL, NULL, NULL, pw ? go[0] : -1, &g, TRUE};
        if (go[1] >= 0) {
            close(go[1]);
        }
        if (rdy[0] >= 0) {
            close(rdy[0]);
        }
        int wrc = run(wr, "x", stamp, &g, o.timeout_s, &ctl);
        if (getenv("FBUS_GST_BENCH_DEBUG")) {
            fprintf(stderr, "writer: sent %u warm %u rc %d\n", g.sent, g.warm, wrc);
        }
        _exit(wrc);
    }
    if (go[0] >= 0) {
        close(go[0]);
    }
    if (rdy[1] >= 0) {
        close(rdy[1]);
    }
    cpu.writer = pid;
    sig_writer = pid;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (!strcmp(o.pair, "shm")) {
        struct stat st;
        for (int i = 0; i < 500 && stat(sock, &st) != 0; i++) {
            g_usleep(10000);
        }
    }
    pid_t linker = pw ? start_linker(node, o.timeout_s, rdy[0], go[1]) : -1;
    sig_linker = linker;
    if (rdy[0] >= 0) {
        close(rdy[0]);
    }
    s.cap = o.frames;
    s.frames = o.frames;
    s.go_fd = go[1];
    s.cpu = &cpu;
    s.lat = g_new0(guint64, s.cap);
    struct run_ctl rctl = {NULL, pw ? reader_done : NULL, &s, -1, NULL, strcmp(o.pair, "shm") != 0};
    int ret = run(rd, "k", count, &s, o.timeout_s + 2, &rctl);
    if (go[1] >= 0) {
        close(go[1]); /* the pipewire writer may go now */
    }
    guint n_got = (guint)g_atomic_int_get(&s.n);
    double secs = n_got > 1 ? (s.last - s.first) / 1e9 * n_got / (n_got - 1) : 0;
    getrusage(RUSAGE_SELF, &r1);
    /* The writer ends at EOS; one still running 5 s after its reader ended is hung. */
    pid_t got = 0;
    for (int i = 0; i < 500 && (got = wait4(pid, &status, WNOHANG, &rc)) == 0; i++) {
        g_usleep(10000);
    }
    if (got == 0) {
        kill(pid, SIGKILL);
        got = wait4(pid, &status, 0, &rc);
    }
    if (got < 0) {
        memset(&rc, 0, sizeof(rc));
    }
    guint64 d1 = daemons_cpu_ns(&cpu);
    int lstatus = 0;
    memset(&rl, 0, sizeof(rl));
    if (linker > 0) {
        if (waitpid(linker, &lstatus, WNOHANG) == 0) {
            kill(linker, SIGKILL);
        }
        wait4(linker, &lstatus, 0, &rl);
    }
    if (!strcmp(o.pair, "fbus")) {
        fbus_remove(bus, 0, 1); /* what a killed writer left */
    } else if (!strcmp(o.pair, "shm")) {
        remove_shm_areas(pid);
    }
    gboolean hang = ret == 3 || (WIFEXITED(status) && WEXITSTATUS(status) == 3);
    gboolean stall = WIFEXITED(status) && WEXITSTATUS(status) == 4;
    gboolean nolink = linker > 0 && !(WIFEXITED(lstatus) && WEXITSTATUS(lstatus) == 0);
    guint n = s.stamped;
    qsort(s.lat, n, sizeof(guint64), cmp_u64);
    double daemon = (d1 - d0) / 1e9 + cpu_s(&rl);
    double cpu_all = cpu_s(&r1) - cpu_s(&r0) + cpu_s(&rc) + daemon;
    char dcpu[32] = "na", scpu[32] = "na", sdcpu[32] = "na";
    if (daemons_known) {
        snprintf(dcpu, sizeof(dcpu), "%.0f", n_got ? daemon * 1e6 / n_got : 0);
    }
    if (s.have_last && n_got > 1) {
        snprintf(scpu, sizeof(scpu), "%.0f", (s.c_last.all - s.c_first.all) / 1e3 / (n_got - 1));
        if (daemons_known) {
            snprintf(sdcpu, sizeof(sdcpu), "%.0f",
                     (s.c_last.daemon - s.c_first.daemon) / 1e3 / (n_got - 1));
        }
    }
    printf("pair=%s%s size=%ux%u fps_target=%u frames=%u/%u stamped=%u fps=%.0f cpu_us=%.0f "
           "daemon_cpu_us=%s stream_cpu_us=%s stream_daemon_cpu_us=%s p50_us=%.0f p99_us=%.0f "
           "result=%s\n",
           o.pair, o.zero_copy ? (o.hold_last ? "-zerocopy-holdlast" : "-zerocopy") : "", o.w, o.h,
           o.fps, n_got, o.frames, s.stamped, secs > 0 ? n_got / secs : 0,
           n_got ? cpu_all * 1e6 / n_got : 0, dcpu, scpu, sdcpu, n ? s.lat[n / 2] / 1e3 : 0,
           n ? s.lat[n * 99 / 100] / 1e3 : 0,
           interrupted ? "interrupted"
           : nolink    ? "nolink"
           : stall     ? "stall"
           : hang      ? "hang"
                       : "ok");
    unlink(sock);
    g_free(s.lat);
    return interrupted ? 130 : hang || nolink || stall ? 1 : 0;
}
