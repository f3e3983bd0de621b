/*
 * main.c - fbus-capture, the writer program: takes frames from a camera
 * (V4L2, through libv4l2), the built-in test pattern or a PNG sequence and
 * publishes them on a framebus bus.
 *
 *   fbus-capture --bus NAME [--source SRC] [--size WxH] [--format FOURCC] [--fps N]
 *                [--slots N] [--mode OCTAL] [--count N] [--keep] [--verbose] [--reconnect]
 *                [--lossless-wait MS [--lossless-readers N]] [--key 0xKEY]
 *   fbus-capture --list [DEVICE]
 *
 * This file holds the options, the signals and the capture loop; the
 * sources live in src_*.c behind source.h. Exit codes: enum cap_exit, the
 * programs' common ones (README "Exit codes"); bus errors are worded by
 * app_advice(), the same table fbus and fbus-view use.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "advice.h"
#include "log.h"
#include "source.h"

#define TAG NULL

#define DEFAULT_DEVICE "/dev/video0"
#define FPS_MAX        10000

struct options {
    const char *bus;
    const char *source; /* NULL: the default camera */
    uint32_t width, height, fourcc;
    unsigned fps, slots, mode;
    uint32_t key;   /* --key; 0: from the name */
    uint64_t count; /* 0: until stopped */
    int keep, verbose, reconnect;
    unsigned lossless_wait;    /* ms the writer waits for lossless readers; 0: the default */
    unsigned lossless_readers; /* with --lossless-wait: wait for this many before frame 1 */
    int list;
    const char *list_device;
};

struct capture {
    struct options o;
    const struct cap_source_ops *ops;
    struct cap_request req;
    struct cap_source *src; /* NULL while waiting for a lost camera */
    fbus_writer *w;
    struct fbus_format fmt;
    uint64_t published; /* frames this run published */
    uint64_t status_ns; /* when the last status line was printed */
};

static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
    g_stop = sig;
}

/* ---- Options -------------------------------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out, "usage: fbus-capture --bus NAME [--source SRC] [--size WxH] [--format FOURCC]\n"
                 "                    [--fps N] [--slots N] [--mode OCTAL] [--count N] [--keep]\n"
                 "                    [--verbose] [--reconnect]\n"
                 "                    [--lossless-wait MS [--lossless-readers N]] [--key 0xKEY]\n"
                 "       fbus-capture --list [DEVICE]\n"
                 "\n"
                 "SRC:  v4l2:/dev/videoN (default /dev/video0), test[:bars|still], png:GLOB or "
                 "png:DIR\n"
                 "Defaults: 640x480 YUYV at 30 fps (PNG replay: the first file's size, RGB3), 2 "
                 "slots,\nmode 0660. See docs/capture.md.\n");
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
    char *end;

    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || x < min || x > max)
        return -1;
    *v = x;
    return 0;
}

static int parse_size(const char *s, uint32_t *w, uint32_t *h)
{
    unsigned long a, b;
    char *end;

    errno = 0;
    a = strtoul(s, &end, 10);
    if (errno || end == s || (*end != 'x' && *end != 'X') || s[0] == '-')
        return -1;
    s = end + 1;
    b = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || !a || !b || a > FBUS_DIM_MAX ||
        b > FBUS_DIM_MAX)
        return -1;
    *w = (uint32_t)a;
    *h = (uint32_t)b;
    return 0;
}

/* Octal permission bits; the writer itself needs read and write. */
static int parse_mode(const char *s, unsigned *mode)
{
    char *end;

    errno = 0;
    unsigned long m = strtoul(s, &end, 8);
    if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || m > 0777 || (m & 0600) != 0600)
        return -1;
    *mode = (unsigned)m;
    return 0;
}

/* --key: a System V key, for two bus names whose keys collide (README "Names and keys"). */
static int parse_key(const char *s, uint32_t *key)
{
    char *end;

    errno = 0;
    unsigned long long k = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-' || k == 0 || k > UINT32_MAX)
        return -1;
    *key = (uint32_t)k;
    return 0;
}

static int bad_value(const char *opt, const char *val, const char *want)
{
    app_log_error(TAG, "bad %s '%s': %s", opt, val, want);
    return -1;
}

/* One option of the capture form; -1 after printing what is wrong. */
static int parse_one(int c, const char *arg, struct options *o)
{
    uint64_t v;

    switch (c) {
    case 'b':
        o->bus = arg;
        return 0;
    case 's':
        o->source = arg;
        return 0;
    case 'S':
        return parse_size(arg, &o->width, &o->height)
                   ? bad_value("--size", arg, "want WIDTHxHEIGHT, e.g. 640x480")
                   : 0;
    case 'f':
        if (!(o->fourcc = fbus_fourcc_parse(arg)))
            return bad_value("--format", arg,
                             "use YUYV, UYVY, NV12, YU12 (I420), RGB3, BGR3, "
                             "GREY or MJPG");
        return 0;
    case 'r':
        if (parse_u64(arg, 1, FPS_MAX, &v))
            return bad_value("--fps", arg, "want frames per second, 1 to 10000");
        o->fps = (unsigned)v;
        return 0;
    case 'n':
        if (parse_u64(arg, FBUS_SLOTS_MIN, FBUS_SLOTS_MAX, &v))
            return bad_value("--slots", arg, "want 2 to 16 slots");
        o->slots = (unsigned)v;
        return 0;
    case 'm':
        return parse_mode(arg, &o->mode) ? bad_value("--mode", arg,
                                                     "want octal permission bits with read and "
                                                     "write for the owner, e.g. 0660 or 0640")
                                         : 0;
    case 'L':
        if (parse_u64(arg, 1, 3600000, &v))
            return bad_value("--lossless-wait", arg, "want milliseconds, 1 to 3600000");
        o->lossless_wait = (unsigned)v;
        return 0;
    case 'N':
        if (parse_u64(arg, 1, FBUS_LOSSLESS_MAX, &v))
            return bad_value("--lossless-readers", arg, "want 1 to 8 readers");
        o->lossless_readers = (unsigned)v;
        return 0;
    case 'c':
        return parse_u64(arg, 1, UINT64_MAX, &o->count)
                   ? bad_value("--count", arg, "want a number of frames from 1 up")
                   : 0;
    case 'K':
        return parse_key(arg, &o->key)
                   ? bad_value("--key", arg, "want a non-zero 32-bit number, e.g. 0xfb12ab34")
                   : 0;
    }
    return -1;
}

static int parse_flag(int c, struct options *o)
{
    switch (c) {
    case 'k':
        o->keep = 1;
        return 0;
    case 'v':
        o->verbose = 1;
        return 0;
    case 'R':
        o->reconnect = 1;
        return 0;
    case 'l':
        o->list = 1;
        return 0;
    }
    return parse_one(c, optarg, o);
}

/* Checks what only makes sense together; -1 after printing it. */
static int check_options(struct options *o, int npos, char **pos)
{
    const char *why = NULL;

    if (o->list) {
        o->list_device = npos ? pos[0] : NULL;
        if (npos > 1)
            why = "--list takes one DEVICE at most";
    } else if (npos > 0) {
        app_log_error(TAG, "unexpected argument '%s' (see --help)", pos[0]);
        return -1;
    } else if (!o->bus) {
        why = "--bus NAME is required, e.g. --bus cam0 (see --help)";
    } else if (fbus_name_check(o->bus) != 0) {
        app_log_error(TAG,
                      "--bus '%s' is not a valid bus name: use 1-31 characters of a-z 0-9 "
                      "_ . - (e.g. cam0)",
                      o->bus);
        return -1;
    }
    if (why)
        app_log_error(TAG, "%s", why);
    return why ? -1 : 0;
}

static const struct option long_options[] = {
    {"bus", required_argument, NULL, 'b'},
    {"source", required_argument, NULL, 's'},
    {"size", required_argument, NULL, 'S'},
    {"format", required_argument, NULL, 'f'},
    {"fps", required_argument, NULL, 'r'},
    {"slots", required_argument, NULL, 'n'},
    {"mode", required_argument, NULL, 'm'},
    {"count", required_argument, NULL, 'c'},
    {"keep", no_argument, NULL, 'k'},
    {"verbose", no_argument, NULL, 'v'},
    {"reconnect", no_argument, NULL, 'R'},
    {"lossless-wait", required_argument, NULL, 'L'},
    {"lossless-readers", required_argument, NULL, 'N'},
    {"key", required_argument, NULL, 'K'},
    {"list", no_argument, NULL, 'l'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static void print_version(void)
{
#ifdef FBUS_HAVE_V4L2
    const char *v4l2 = "v4l2 (libv4l2)";
#else
    const char *v4l2 = "none, built without libv4l";
#endif
    printf("fbus-capture %s (camera source: %s)\n", fbus_version_string(), v4l2);
}

/* Returns 0, 1 when --help/--version was answered, or -1 for a usage error. */
static int parse_options(int argc, char **argv, struct options *o)
{
    int c;

    o->slots = FBUS_SLOTS_DEFAULT;
    o->mode = FBUS_MODE_DEFAULT;
    while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 1;
        }
        if (c == 'V') {
            print_version();
            return 1;
        }
        if (c == '?' || parse_flag(c, o) != 0)
            return -1;
    }
    return check_options(o, argc - optind, argv + optind);
}

/* ---- Source and bus ------------------------------------------------------------------------- */

static int no_v4l2(void)
{
    app_log_error(TAG, "this fbus-capture was built without libv4l2, so it cannot use "
                       "cameras: install libv4l-dev and rebuild, or use --source test");
    return -ENOTSUP;
}

/* Picks the source from --source: KIND[:ARG], a bare /dev path, or the default camera. */
static int pick_source(struct capture *c)
{
    static const struct cap_source_ops *const kinds[] = {
        &cap_source_test,
        &cap_source_png,
#ifdef FBUS_HAVE_V4L2
        &cap_source_v4l2,
#endif
    };
    const char *s = c->o.source;

    if (!s) {
        if (access(DEFAULT_DEVICE, F_OK) != 0) {
            app_log_error(TAG,
                          "no camera at %s: pass --source v4l2:/dev/videoN "
                          "('fbus-capture --list' shows them) or --source test",
                          DEFAULT_DEVICE);
            return -ENOENT;
        }
        s = "v4l2:" DEFAULT_DEVICE;
    } else if (!strncmp(s, "/dev/", 5)) {
        c->req.arg = s;
        s = "v4l2";
    }
    size_t len = strcspn(s, ":");
    if (!c->req.arg)
        c->req.arg = s[len] ? s + len + 1 : "";
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strlen(kinds[i]->kind) == len && !strncmp(s, kinds[i]->kind, len))
            return c->ops = kinds[i], 0;
    if (len == 4 && !strncmp(s, "v4l2", 4))
        return no_v4l2();
    app_log_error(TAG,
                  "unknown --source '%s': use v4l2:/dev/videoN, test[:bars|still], "
                  "png:GLOB or png:DIR",
                  c->o.source);
    return -EINVAL;
}

/* What to do about a failed fbus_writer_open(): the programs' common advice. */
static int bus_error(const struct capture *c, int rc)
{
    if (rc == FBUS_ESIZE || rc == -ENOSPC)
        app_log_error(TAG, "bus '%s': %u slots of %u bytes do not fit", c->o.bus, c->o.slots,
                      c->fmt.sizeimage);
    return app_bus_error(TAG, rc, APP_OP_WRITE, c->o.bus, c->o.key);
}

/*
 * Fails early on a live writer (of this name, or of another name whose key
 * collides), before a camera is opened for nothing. 0 or an exit code.
 */
static int check_bus_free(const struct capture *c)
{
    struct fbus_info info;
    int rc = fbus_info_get(c->o.bus, c->o.key, &info);

    if ((rc == 0 || rc == FBUS_ECOLLISION) && info.writer_alive && !info.closed)
        return app_bus_error(TAG, rc ? rc : FBUS_EBUSY, APP_OP_WRITE, c->o.bus, c->o.key);
    return 0;
}

static int open_bus(struct capture *c)
{
    struct fbus_writer_opts wo;
    char name[5];
    int rc;

    fbus_writer_opts_init(&wo);
    wo.slots = c->o.slots;
    wo.mode = c->o.mode;
    wo.keep = c->o.keep;
    wo.lossless_wait_ms = c->o.lossless_wait;
    wo.key = c->o.key;
    if ((rc = fbus_writer_open(&c->w, c->o.bus, &c->fmt, &wo)) != 0)
        return bus_error(c, rc);
    app_log_info(TAG, "bus '%s': %s %ux%u, %u bytes/line, %u slots, mode 0%03o, pid %d", c->o.bus,
                 fbus_fourcc_str(c->fmt.fourcc, name), c->fmt.width, c->fmt.height,
                 c->fmt.bytesperline, c->o.slots, c->o.mode, (int)getpid());
    return 0;
}

/* ---- The loop ------------------------------------------------------------------------------- */

/*
 * Once a second with --verbose: frame rate, drops, readers. The rate is the
 * library's (fbus_writer_fps), the figure readers and 'fbus info' show.
 */
static void status_tick(struct capture *c)
{
    uint64_t now = fbus_now_ns(), published, dropped;

    if (!c->o.verbose)
        return;
    if (!c->status_ns) {
        c->status_ns = now;
        return;
    }
    if (now - c->status_ns < 1000000000u)
        return;
    fbus_writer_counts(c->w, &published, &dropped);
    app_log_info(TAG, "status: %.1f fps, %" PRIu64 " frames, %" PRIu64 " dropped, %d readers%s",
                 fbus_writer_fps(c->w), c->published, dropped, fbus_writer_readers(c->w),
                 c->src ? "" : " (waiting for the source to come back)");
    c->status_ns = now;
}

static void sleep_1s(void)
{
    struct timespec ts = {1, 0};

    nanosleep(&ts, NULL); /* a signal cuts it short, as it should */
}

/* One attempt to bring the source back: 0, -1 to try again later, or an exit code. */
static int reopen(struct capture *c)
{
    struct fbus_format fmt;
    int rc;

    if (c->ops->open(&c->src, &c->req, &fmt) != 0) {
        c->src = NULL;
        return -1;
    }
    if (memcmp(&fmt, &c->fmt, sizeof(fmt)) != 0) {
        if ((rc = fbus_writer_set_format(c->w, &fmt, 0)) != 0) {
            app_log_error(TAG, "the source came back with another format, and the bus "
                               "cannot follow");
            return bus_error(c, rc);
        }
        c->fmt = fmt;
        app_log_info(TAG, "new format on the bus; readers follow it");
    }
    if (c->ops->start && c->ops->start(c->src, c->w) != 0) {
        c->ops->close(c->src);
        c->src = NULL;
        return -1;
    }
    return 0;
}

/* Waits for the source to come back; the bus stays up. 0, or an exit code. */
static int reconnect(struct capture *c)
{
    int rc = -1;

    c->ops->close(c->src);
    c->src = NULL;
    app_log_warn(TAG, "keeping bus '%s' up; retrying the source every second", c->o.bus);
    c->req.quiet = 1;
    while (!g_stop && (rc = reopen(c)) < 0) {
        sleep_1s();
        status_tick(c);
    }
    c->req.quiet = 0;
    if (g_stop || rc > 0)
        return g_stop ? 0 : rc;
    app_log_info(TAG, "source is back; frames flow again");
    return 0;
}

/*
 * --lossless-wait: a test rig wants every frame, so the first one waits until
 * its lossless reader(s) have attached (the writer arms them at its next claim).
 */
static void wait_lossless_readers(const struct capture *c)
{
    struct fbus_info info;
    unsigned want = c->o.lossless_readers ? c->o.lossless_readers : 1;

    if (!c->o.lossless_wait)
        return;
    app_log_info(TAG, "waiting for %u lossless reader(s) on bus '%s' before the first frame", want,
                 c->o.bus);
    while (!g_stop) {
        if (fbus_info_get(c->o.bus, 0, &info) == 0 && info.lossless_count >= want)
            return;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
}

/*
 * Whether next()'s error came from the bus, not the source: the bus was
 * removed under the writer (fbus rm --force, ipcrm). Older libraries said so
 * only as the -EINVAL/-EIDRM of the removed semaphore set.
 */
static int bus_removed(const struct capture *c, int rc)
{
    struct fbus_info info;

    if (rc == FBUS_EREMOVED)
        return 1;
    return (rc == -EINVAL || rc == -EIDRM) && fbus_info_get(c->o.bus, c->o.key, &info) != 0;
}

/* Publishes until --count, a signal, or a fault. Returns an exit code. */
static int run(struct capture *c)
{
    int rc;

    wait_lossless_readers(c);
    while (!g_stop && (!c->o.count || c->published < c->o.count)) {
        rc = c->ops->next(c->src, c->w);
        if (rc == CAP_FRAME)
            c->published++;
        /* Not re-made: whoever removed it meant it to go; a restart makes it again. */
        if (rc < 0 && bus_removed(c, rc))
            return app_bus_error(TAG, FBUS_EREMOVED, APP_OP_WRITE, c->o.bus, c->o.key);
        if (rc < 0 && !(c->o.reconnect && c->ops->can_reconnect)) {
            if (c->ops->can_reconnect)
                app_log_error(TAG, "giving up (--reconnect keeps the bus up and retries)");
            return CAP_EXIT_LOST;
        }
        if (rc < 0 && (rc = reconnect(c)) != 0)
            return rc;
        status_tick(c);
    }
    return CAP_EXIT_OK;
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a signal must cut a wait for the camera or the next deadline short. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
}

/* With --verbose: CPU time per frame, the figure that matters on a small board. */
static void report_cpu(const struct capture *c)
{
    struct rusage ru;

    if (!c->o.verbose || !c->published || getrusage(RUSAGE_SELF, &ru) != 0)
        return;
    double user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    double sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    app_log_info(TAG, "cpu: %.3f ms per frame (user %.3f s, system %.3f s, %" PRIu64 " frames)",
                 (user + sys) * 1e3 / (double)c->published, user, sys, c->published);
}

static int exit_for_open(int rc)
{
    return rc == -ENOMEM ? CAP_EXIT_ERROR : CAP_EXIT_SOURCE;
}

static int capture_main(struct capture *c)
{
    uint64_t dropped;
    int rc, ex;

    c->req.fourcc = c->o.fourcc;
    c->req.width = c->o.width;
    c->req.height = c->o.height;
    c->req.fps = c->o.fps;
    c->req.verbose = c->o.verbose;
    c->req.slots = c->o.slots;
    c->req.unpaced = c->o.lossless_wait && !c->o.fps;
    if (pick_source(c) != 0)
        return CAP_EXIT_SOURCE;
    if ((ex = check_bus_free(c)) != 0)
        return ex;
    if ((rc = c->ops->open(&c->src, &c->req, &c->fmt)) != 0)
        return exit_for_open(rc);
    if ((ex = open_bus(c)) != 0) {
        c->ops->close(c->src);
        return ex;
    }
    if (c->ops->start && (rc = c->ops->start(c->src, c->w)) != 0) {
        c->ops->close(c->src);
        fbus_writer_close(c->w);
        return exit_for_open(rc);
    }
    ex = run(c);
    fbus_writer_counts(c->w, NULL, &dropped);
    if (g_stop)
        app_log_info(TAG, "stopping on %s", strsignal(g_stop));
    app_log_info(TAG, "%" PRIu64 " frames published, %" PRIu64 " dropped; bus '%s' %s",
                 c->published, dropped, c->o.bus,
                 ex == APP_EXIT_GONE ? "gone"
                 : c->o.keep         ? "kept (closed)"
                                     : "removed");
    report_cpu(c);
    c->ops->close(c->src);
    if ((rc = fbus_writer_close(c->w)) != 0 && ex != APP_EXIT_GONE) {
        app_log_error(TAG, "closing bus '%s': %s", c->o.bus, fbus_strerror(rc));
        return ex ? ex : CAP_EXIT_ERROR;
    }
    return ex;
}

int main(int argc, char **argv)
{
    struct capture c;
    int rc;

    app_log_init(argv[0]);
    memset(&c, 0, sizeof(c));
    if ((rc = parse_options(argc, argv, &c.o)) != 0)
        return rc > 0 ? CAP_EXIT_OK : CAP_EXIT_USAGE;
    if (c.o.verbose)
        app_log_verbose();
    if (c.o.list) {
#ifdef FBUS_HAVE_V4L2
        return cap_v4l2_list(c.o.list_device);
#else
        no_v4l2();
        return CAP_EXIT_SOURCE;
#endif
    }
    install_signals();
    return capture_main(&c);
}
