/*
 * fbus-gst-bench.c - fbussink -> fbussrc against shmsink -> shmsrc, two processes each.
 *
 * The writer process runs videotestsrc ! CAPS ! {fbussink | shmsink}; a probe before the sink
 * writes CLOCK_MONOTONIC into the first 8 bytes of each frame. The reader process (this one)
 * runs {fbussrc lossless=true | shmsrc} ! fakesink; a probe there counts the frames and takes
 * now - that stamp as the frame's latency. Both pairs deliver every frame (shmsink waits for
 * room in its area; the writer waits for a lossless fbussrc). Prints one line per run:
 *   pair=fbus size=640x480 frames=600/600 fps=... cpu_us=... p50_us=... p99_us=... result=ok
 * fps: frames over the time from the first to the last; cpu_us: user+system CPU of both
 * processes per delivered frame (GStreamer's start-up included: use enough frames).
 * result=hang: no EOS within --timeout seconds (GStreamer 1.22's shmsink, when videotestsrc
 * paints straight into its area and the area fills, stops for good; --zero-copy shows it).
 *
 *   fbus-gst-bench --pair fbus|shm --size WxH [--frames N] [--zero-copy] [--hold-last]
 *                  [--area FRAMES] [--timeout S]
 * --hold-last: the reader's fakesink keeps its last buffer, as gst-launch's fakesink does.
 */
#include <gst/gst.h>

#include "framebus/framebus.h"

#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct opts {
    const char *pair;
    unsigned w, h, frames, area, timeout_s;
    gboolean zero_copy;
    gboolean hold_last; /* the reader's fakesink keeps its last buffer (its default) */
};

struct reader_stats {
    guint n;
    guint64 first, last; /* arrival of the first and the last frame */
    guint64 *lat;
    guint cap;
};

static guint64 now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (guint64)ts.tv_sec * 1000000000ull + (guint64)ts.tv_nsec;
}

static GstPadProbeReturn stamp(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    guint64 t = now_ns();

    (void)pad;
    (void)data;
    gst_buffer_fill(buf, 0, &t, sizeof(t));
    return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn count(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    struct reader_stats *s = data;
    guint64 t = 0, now = now_ns();

    (void)pad;
    gst_buffer_extract(GST_PAD_PROBE_INFO_BUFFER(info), 0, &t, sizeof(t));
    if (s->n < s->cap) {
        s->lat[s->n] = now > t ? now - t : 0;
    }
    if (!s->n) {
        s->first = now;
    }
    s->last = now;
    s->n++;
    return GST_PAD_PROBE_OK;
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
 * Runs desc to EOS or error (either ends it: shmsrc errors when its writer goes). With
 * ready_bus, waits in PAUSED for a reader on that bus first.
 */
static int run(const char *desc, const char *probe_elem, GstPadProbeCallback cb, gpointer data,
               unsigned timeout_s, const char *ready_bus)
{
    GError *err = NULL;
    GstElement *p = gst_parse_launch(desc, &err);
    if (!p || err) {
        fprintf(stderr, "fbus-gst-bench: %s: %s\n", desc, err ? err->message : "?");
        return 2;
    }
    GstElement *e = gst_bin_get_by_name(GST_BIN(p), probe_elem);
    GstPad *pad = gst_element_get_static_pad(e, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, cb, data, NULL);
    gst_object_unref(pad);
    gst_object_unref(e);
    if (ready_bus) {
        gst_element_set_state(p, GST_STATE_PAUSED);
        gst_element_get_state(p, NULL, NULL, 5 * GST_SECOND);
        wait_reader(ready_bus);
    }
    gst_element_set_state(p, GST_STATE_PLAYING);
    GstBus *bus = gst_element_get_bus(p);
    GstMessage *m = gst_bus_timed_pop_filtered(bus, (GstClockTime)timeout_s * GST_SECOND,
                                               GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    int rc = m ? 0 : 3;
    if (m) {
        gst_message_unref(m);
    }
    gst_object_unref(bus);
    if (rc == 3) {
        _exit(3); /* a hung pipeline may not go to NULL either */
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

static void descs(const struct opts *o, const char *bus, const char *sock, char *wr, char *rd,
                  size_t len)
{
    char caps[128];
    unsigned long frame = (unsigned long)o->w * o->h * 3 / 2;

    snprintf(caps, sizeof(caps), "video/x-raw,format=I420,width=%u,height=%u,framerate=0/1", o->w,
             o->h);
    if (!strcmp(o->pair, "fbus")) {
        snprintf(wr, len,
                 "videotestsrc pattern=black num-buffers=%u ! %s ! identity name=x%s ! fbussink "
                 "bus=%s slots=4 sync=false",
                 o->frames, caps, o->zero_copy ? "" : " drop-allocation=true", bus);
        snprintf(rd, len,
                 "fbussrc bus=%s lossless=true timeout=1500 ! fakesink name=k sync=false "
                 "enable-last-sample=%s",
                 bus, o->hold_last ? "true" : "false");
    } else {
        snprintf(wr, len,
                 "videotestsrc pattern=black num-buffers=%u ! %s ! identity name=x%s ! shmsink "
                 "socket-path=%s wait-for-connection=true shm-size=%lu sync=false",
                 o->frames, caps, o->zero_copy ? "" : " drop-allocation=true", sock,
                 frame * o->area + 4096);
        snprintf(rd, len,
                 "shmsrc socket-path=%s is-live=true ! %s ! fakesink name=k sync=false "
                 "enable-last-sample=%s",
                 sock, caps, o->hold_last ? "true" : "false");
    }
}

static int parse(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){"fbus", 640, 480, 600, 16, 20, FALSE, FALSE};
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
        } else if (!strcmp(a, "--area")) {
            o->area = (unsigned)atoi(v);
        } else if (!strcmp(a, "--timeout")) {
            o->timeout_s = (unsigned)atoi(v);
        } else {
            return -1;
        }
        i++;
    }
    return strcmp(o->pair, "fbus") && strcmp(o->pair, "shm") ? -1 : 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    char bus[32], sock[64], wr[512], rd[512];
    struct reader_stats s = {0};
    struct rusage r0, r1, rc;
    int status = 0;

    if (parse(argc, argv, &o)) {
        fprintf(stderr, "usage: fbus-gst-bench --pair fbus|shm --size WxH [--frames N] "
                        "[--zero-copy] [--hold-last] [--area FRAMES] [--timeout S]\n");
        return 2;
    }
    snprintf(bus, sizeof(bus), "gstbench.%d", (int)getpid());
    snprintf(sock, sizeof(sock), "/tmp/fbus-gst-bench.%d.sock", (int)getpid());
    descs(&o, bus, sock, wr, rd, sizeof(wr));
    gst_init(&argc, &argv);
    getrusage(RUSAGE_SELF, &r0);
    pid_t pid = fork();
    if (pid == 0) {
        _exit(run(wr, "x", stamp, NULL, o.timeout_s, strcmp(o.pair, "fbus") ? NULL : bus));
    }
    if (!strcmp(o.pair, "shm")) {
        struct stat st;
        for (int i = 0; i < 500 && stat(sock, &st) != 0; i++) {
            g_usleep(10000);
        }
    }
    s.cap = o.frames;
    s.lat = g_new0(guint64, s.cap);
    int ret = run(rd, "k", count, &s, o.timeout_s + 2, NULL);
    double secs = s.n > 1 ? (s.last - s.first) / 1e9 * s.n / (s.n - 1) : 0;
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
    if (!strcmp(o.pair, "fbus")) {
        fbus_remove(bus, 0, 1); /* what a killed writer left */
    } else {
        remove_shm_areas(pid);
    }
    gboolean hang = ret == 3 || (WIFEXITED(status) && WEXITSTATUS(status) == 3);
    guint n = s.n < s.cap ? s.n : s.cap;
    qsort(s.lat, n, sizeof(guint64), cmp_u64);
    double cpu = cpu_s(&r1) - cpu_s(&r0) + cpu_s(&rc);
    printf("pair=%s%s size=%ux%u frames=%u/%u fps=%.0f cpu_us=%.0f p50_us=%.0f p99_us=%.0f "
           "result=%s\n",
           o.pair, o.zero_copy ? (o.hold_last ? "-zerocopy-holdlast" : "-zerocopy") : "", o.w, o.h,
           s.n, o.frames, secs > 0 ? s.n / secs : 0, s.n ? cpu * 1e6 / s.n : 0,
           n ? s.lat[n / 2] / 1e3 : 0, n ? s.lat[n * 99 / 100] / 1e3 : 0, hang ? "hang" : "ok");
    unlink(sock);
    g_free(s.lat);
    return hang ? 1 : 0;
}
