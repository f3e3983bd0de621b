/*
 * fbus-testreader.c - the reading side of fbus-testwriter, for tests that put the writer and the
 * reader in different processes, even different ABIs (a 32-bit armhf reader under qemu-arm on a
 * 64-bit writer's bus, scripts/interop-test). Every frame must carry the test pattern of its
 * sequence number (tests/support/pattern.h), so a torn or mislabelled frame cannot pass.
 *
 *   fbus-testreader --bus NAME --count N [--timeout MS] [--lossless]
 *                   [--expect-format FOURCC --expect-size WxH] [--max-latency MS]
 *
 * Waits up to --timeout (default 5000 ms) for the bus to appear, then reads until it has frame N
 * (the writer's --count N: its last frame), or the writer closed the bus and it got its last
 * frame (a writer that dropped frames publishes fewer than N; give the writer --keep), sleeping
 * in fbus_reader_acquire() (futex wake-ups on the read-only mapping), each wait bounded by
 * --timeout. Checks every frame: its pattern, seq growing, bytesused == sizeimage, the format
 * (the one expected, else the first frame's, field by field, plane offsets included),
 * timestamps non-decreasing and on this CLOCK_MONOTONIC (not in the future). --lossless reads
 * as a lossless reader: no gap allowed.
 *
 * Wake-ups: before each wait it polls (timeout 0); a frame that then comes from the blocking call
 * was published while it slept. It is "on time" when it is the very next frame (seq last + 1),
 * and its latency is now - its timestamp (fbus-testwriter stamps frames at commit). Lost futex
 * wake-ups would show as waits ending late (on the library's 250 ms wait slices): fewer than half
 * on time, or a median latency above --max-latency (default 50 ms), fails.
 *
 * Prints "WAITING" when it starts to look for the bus, then one line, "testreader: N frames, first
 * F, last L, gaps G, torn T, format ..., wake-ups W (on time O, p50 X ms, max Y ms),
 * latest|lossless, bad B", and the first problems on stderr. Exit status: 0 all checks passed, 1 a
 * check failed or the bus ended before frame N, 2 bad usage, 3 no bus to attach.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "advice.h"
#include "framebus/framebus.h"
#include "pattern.h"

#define PROG "fbus-testreader"

struct cfg {
    const char *bus;
    uint64_t count;
    int timeout_ms;
    int lossless;
    unsigned max_latency_ms;
    struct fbus_format want; /* fourcc 0: take the first frame's */
};

struct stats {
    uint64_t frames, first, last, last_ts, gaps, torn, bad;
    uint64_t wakeups, ontime;
    uint32_t *lat_us;        /* latencies of on-time wake-ups, count entries at most */
    struct fbus_format want; /* what every frame must have: as expected, or the first frame's */
    struct fbus_format seen; /* the first frame's, for the summary */
};

static void usage(void)
{
    fprintf(stderr, "usage: " PROG " --bus NAME --count N [--timeout MS] [--lossless]\n"
                    "       [--expect-format FOURCC --expect-size WxH] [--max-latency MS]\n");
    exit(2);
}

static void parse(int argc, char **argv, struct cfg *c)
{
    static const struct option o[] = {
        {"bus", 1, 0, 'b'},           {"count", 1, 0, 'c'},
        {"timeout", 1, 0, 't'},       {"lossless", 0, 0, 'l'},
        {"expect-format", 1, 0, 'f'}, {"expect-size", 1, 0, 's'},
        {"max-latency", 1, 0, 'm'},   {0, 0, 0, 0},
    };
    uint32_t fourcc = 0, w = 0, h = 0;
    int ch;

    while ((ch = getopt_long(argc, argv, "", o, NULL)) != -1) {
        switch (ch) {
        case 'b':
            c->bus = optarg;
            break;
        case 'c':
            c->count = strtoull(optarg, NULL, 10);
            break;
        case 't':
            c->timeout_ms = atoi(optarg);
            break;
        case 'l':
            c->lossless = 1;
            break;
        case 'f':
            fourcc = fbus_fourcc_parse(optarg);
            break;
        case 's':
            if (sscanf(optarg, "%ux%u", &w, &h) != 2)
                usage();
            break;
        case 'm':
            c->max_latency_ms = (unsigned)atoi(optarg);
            break;
        default:
            usage();
        }
    }
    if (!c->bus || !c->count || c->count > 10000000 || c->timeout_ms <= 0 || optind != argc)
        usage();
    if ((fourcc || w || h) && fbus_format_init(&c->want, fourcc, w, h) != 0) {
        fprintf(stderr, PROG ": --expect-format and --expect-size must name a valid format "
                             "together, e.g. --expect-format YUYV --expect-size 640x480\n");
        exit(2);
    }
}

/* Waits for the bus. ECORRUPT is retried for a while too: a header still being filled in. */
static int attach(const struct cfg *c, fbus_reader **r)
{
    uint64_t end = fbus_now_ns() + (uint64_t)c->timeout_ms * 1000000u;
    struct fbus_reader_opts o;
    char why[512];
    int rc;

    fbus_reader_opts_init(&o);
    o.lossless = c->lossless;
    printf("WAITING\n"); /* for a script that starts the writer once its readers are up */
    fflush(stdout);
    while ((rc = fbus_reader_open(r, c->bus, &o)) == FBUS_ENOBUS || rc == FBUS_ECORRUPT) {
        if (fbus_now_ns() >= end)
            break;
        usleep(2000);
    }
    if (rc == FBUS_ENOBUS)
        fprintf(stderr,
                PROG ": cannot attach bus '%s' within %d ms: %s (%s); is the writer "
                     "running, with the same --bus?\n",
                c->bus, c->timeout_ms, fbus_strerror(rc), fbus_err_name(rc));
    else if (rc != 0)
        fprintf(stderr, PROG ": cannot attach bus '%s': %s (%s)\n", c->bus,
                app_advice(rc, c->lossless ? APP_OP_LOSSLESS : APP_OP_READ, c->bus, 0, why,
                           sizeof(why)),
                fbus_err_name(rc));
    return rc;
}

static void bad(struct stats *s, uint64_t seq, const char *what)
{
    if (s->bad++ < 10)
        fprintf(stderr, PROG ": frame %" PRIu64 ": %s\n", seq, what);
}

static int same_format(const struct fbus_format *a, const struct fbus_format *b)
{
    return a->fourcc == b->fourcc && a->width == b->width && a->height == b->height &&
           a->bytesperline == b->bytesperline && a->sizeimage == b->sizeimage &&
           a->nplanes == b->nplanes &&
           !memcmp(a->plane_offset, b->plane_offset, sizeof a->plane_offset) &&
           !memcmp(a->plane_stride, b->plane_stride, sizeof a->plane_stride);
}

static void check_frame(struct stats *s, const struct fbus_frame *f, uint64_t now)
{
    if (!s->frames) {
        s->first = f->seq;
        s->seen = f->format;
        if (!s->want.fourcc)
            s->want = f->format;
    } else if (f->seq <= s->last) {
        bad(s, f->seq, "sequence number did not grow");
    } else {
        s->gaps += f->seq - s->last - 1;
    }
    if (!same_format(&f->format, &s->want))
        bad(s, f->seq, "format differs from the expected one");
    if (f->bytesused != s->want.sizeimage)
        bad(s, f->seq, "bytesused is not the format's sizeimage");
    if (s->frames && f->timestamp_ns < s->last_ts)
        bad(s, f->seq, "timestamp went backwards");
    if (f->timestamp_ns == 0 || f->timestamp_ns > now)
        bad(s, f->seq, "timestamp not on this CLOCK_MONOTONIC (zero or in the future)");
    if (fbus_pattern_check(f->data, f->bytesused, f->seq) != (size_t)-1) {
        s->torn++;
        bad(s, f->seq, "torn: its bytes are not the pattern of its sequence number");
    }
    s->frames++;
    s->last = f->seq > s->last ? f->seq : s->last;
    s->last_ts = f->timestamp_ns;
}

/*
 * One frame: a look without waiting, then, if nothing was new, a wait; a frame that comes from
 * the wait is a wake-up. Returns acquire's code.
 */
static int next_frame(const struct cfg *c, fbus_reader *r, struct stats *s)
{
    struct fbus_frame f;
    int rc = fbus_reader_acquire(r, &f, s->last, 0);
    int woke = 0;

    if (rc == FBUS_EAGAIN) {
        rc = fbus_reader_acquire(r, &f, s->last, c->timeout_ms);
        woke = rc == 0 && s->frames > 0;
    }
    if (rc != 0)
        return rc;
    uint64_t now = fbus_now_ns();
    if (woke) {
        s->wakeups++;
        if (f.seq == s->last + 1 && f.timestamp_ns <= now) {
            uint64_t us = (now - f.timestamp_ns) / 1000u;
            s->lat_us[s->ontime++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
        }
    }
    check_frame(s, &f, now);
    fbus_reader_release(r, &f);
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Prints the summary line; returns 1 if any check failed. */
static int report(const struct cfg *c, struct stats *s, int ended_early)
{
    char fcc[5];
    double p50 = 0, max = 0;
    int fail = ended_early || s->bad || s->torn || !s->frames || (c->lossless && s->gaps);

    if (s->ontime) {
        qsort(s->lat_us, s->ontime, sizeof *s->lat_us, cmp_u32);
        p50 = s->lat_us[s->ontime / 2] / 1000.0;
        max = s->lat_us[s->ontime - 1] / 1000.0;
    }
    printf("testreader: %" PRIu64 " frames, first %" PRIu64 ", last %" PRIu64 ", gaps %" PRIu64
           ", torn %" PRIu64 ", format %s %ux%u bpl %u size %u, wake-ups %" PRIu64
           " (on time %" PRIu64 ", p50 %.2f ms, max %.2f ms), %s, bad %" PRIu64 "\n",
           s->frames, s->first, s->last, s->gaps, s->torn, fbus_fourcc_str(s->seen.fourcc, fcc),
           s->seen.width, s->seen.height, s->seen.bytesperline, s->seen.sizeimage, s->wakeups,
           s->ontime, p50, max, c->lossless ? "lossless" : "latest", s->bad);
    if (c->lossless && s->gaps)
        fprintf(stderr, PROG ": a lossless reader missed %" PRIu64 " frames\n", s->gaps);
    /* Lost wake-ups end waits on the library's wait slices instead: late, or not the next. */
    if (s->wakeups >= 10 && (s->ontime * 2 < s->wakeups || p50 > c->max_latency_ms)) {
        fprintf(stderr,
                PROG ": wake-ups late: %" PRIu64 " of %" PRIu64 " on time, median "
                     "%.2f ms (limit %u ms): futex wake-ups are not reaching this reader\n",
                s->ontime, s->wakeups, p50, c->max_latency_ms);
        fail = 1;
    }
    return fail;
}

/*
 * A writer that dropped frames (no free slot) closes the bus before frame N: that is a whole
 * run when the reader got the bus's last frame. (The writer must keep the bus, --keep, or the
 * reader may find it removed before it could take that frame.)
 */
static int closed_after_last(const struct cfg *c, const struct stats *s)
{
    struct fbus_info info;

    return s->frames && fbus_info_get(c->bus, 0, &info) == 0 && info.closed &&
           info.last_seq == s->last;
}

int main(int argc, char **argv)
{
    struct cfg c = {.timeout_ms = 5000, .max_latency_ms = 50};
    struct stats s = {0};
    fbus_reader *r;
    int rc = 0;

    parse(argc, argv, &c);
    s.want = c.want;
    if (!(s.lat_us = calloc(c.count, sizeof *s.lat_us))) {
        fprintf(stderr, PROG ": out of memory for %" PRIu64 " latencies\n", c.count);
        return 1;
    }
    if (attach(&c, &r) != 0)
        return 3;
    while (s.last < c.count && (rc = next_frame(&c, r, &s)) == 0)
        ;
    if (rc == FBUS_ECLOSED && closed_after_last(&c, &s))
        rc = 0;
    else if (rc != 0)
        fprintf(stderr,
                PROG ": bus '%s' after frame %" PRIu64 " (wanted frame %" PRIu64 "): %s (%s)%s\n",
                c.bus, s.last, c.count, fbus_strerror(rc), fbus_err_name(rc),
                rc == FBUS_ECLOSED || rc == FBUS_ENOBUS
                    ? "; a writer that drops frames ends before frame N: give it --keep, so "
                      "the reader can check it got the last one"
                    : "");
    fbus_reader_close(r);
    rc = report(&c, &s, rc != 0);
    free(s.lat_us);
    return rc;
}
