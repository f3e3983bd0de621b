/*
 * fbus-testwriter.c - a tiny writer for tests and demos: publishes frames
 * carrying the test pattern (tests/support/pattern.h) of their sequence number.
 *
 *   fbus-testwriter --bus NAME [--size WxH] [--format F] [--slots N] [--count N]
 *                   [--fps N] [--mode OCTAL] [--keep] [--stall-at SEQ]
 *                   [--change-at SEQ --size2 WxH [--format2 F]] [--lossless-wait MS]
 *
 * Prints "READY" once the bus is open, "STALLED SEQ" when --stall-at leaves a
 * frame half-written (then waits to be killed), "DONE PUBLISHED DROPPED" at the end.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "framebus/framebus.h"
#include "pattern.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

struct cfg {
    const char *bus;
    uint32_t w, h, fourcc, w2, h2, fourcc2;
    unsigned slots, mode, fps, lossless_wait;
    uint64_t count, stall_at, change_at;
    int keep;
};

static int parse_size(const char *s, uint32_t *w, uint32_t *h)
{
    return sscanf(s, "%ux%u", w, h) == 2 ? 0 : -1;
}

static void parse(int argc, char **argv, struct cfg *c)
{
    static const struct option o[] = {
        {"bus", 1, 0, 'b'},     {"size", 1, 0, 's'},     {"format", 1, 0, 'f'},
        {"slots", 1, 0, 'n'},   {"count", 1, 0, 'c'},    {"fps", 1, 0, 'r'},
        {"mode", 1, 0, 'm'},    {"keep", 0, 0, 'k'},     {"stall-at", 1, 0, 'S'},
        {"change-at", 1, 0, 'C'}, {"size2", 1, 0, 'z'},  {"format2", 1, 0, 'F'},
        {"lossless-wait", 1, 0, 'L'},
        {0, 0, 0, 0},
    };
    int ch;

    while ((ch = getopt_long(argc, argv, "", o, NULL)) != -1) {
        switch (ch) {
        case 'b': c->bus = optarg; break;
        case 's': if (parse_size(optarg, &c->w, &c->h)) exit(2); break;
        case 'z': if (parse_size(optarg, &c->w2, &c->h2)) exit(2); break;
        case 'f': c->fourcc = fbus_fourcc_parse(optarg); break;
        case 'F': c->fourcc2 = fbus_fourcc_parse(optarg); break;
        case 'n': c->slots = (unsigned)atoi(optarg); break;
        case 'c': c->count = strtoull(optarg, NULL, 10); break;
        case 'r': c->fps = (unsigned)atoi(optarg); break;
        case 'm': c->mode = (unsigned)strtoul(optarg, NULL, 8); break;
        case 'k': c->keep = 1; break;
        case 'S': c->stall_at = strtoull(optarg, NULL, 10); break;
        case 'C': c->change_at = strtoull(optarg, NULL, 10); break;
        case 'L': c->lossless_wait = (unsigned)atoi(optarg); break;
        default: exit(2);
        }
    }
    if (!c->bus || !c->fourcc)
        exit(2);
}

static int open_bus(const struct cfg *c, fbus_writer **w)
{
    struct fbus_writer_opts o;
    struct fbus_format f;
    struct fbus_info info;
    int rc = fbus_format_init(&f, c->fourcc, c->w, c->h);

    if (rc == 0) {
        fbus_writer_opts_init(&o);
        o.slots = c->slots ? c->slots : FBUS_SLOTS_DEFAULT;
        o.mode = c->mode ? c->mode : FBUS_MODE_DEFAULT;
        o.keep = c->keep;
        o.lossless_wait_ms = c->lossless_wait;
        rc = fbus_writer_open(w, c->bus, &f, &o);
    }
    if (rc == FBUS_EBUSY && fbus_info_get(c->bus, 0, &info) == 0) {
        fprintf(stderr, "fbus-testwriter: bus '%s' is busy: writer pid %d is alive\n", c->bus,
                info.writer_pid);
    } else if (rc != 0) {
        fprintf(stderr, "fbus-testwriter: bus '%s': %s (%s)\n", c->bus, fbus_strerror(rc),
                fbus_err_name(rc));
    }
    return rc;
}

static void pace(unsigned fps, uint64_t start, uint64_t n)
{
    if (!fps)
        return;
    uint64_t due = start + n * 1000000000ull / fps;
    uint64_t now = fbus_now_ns();
    if (due > now) {
        struct timespec ts = {(time_t)((due - now) / 1000000000u), (long)((due - now) % 1000000000u)};
        nanosleep(&ts, NULL);
    }
}

/* One frame; returns 1 to stop (stall reached), 0 to go on. */
static int one_frame(fbus_writer *w, const struct cfg *c)
{
    struct fbus_wslot s;
    size_t len = fbus_writer_format(w)->sizeimage;

    if (fbus_writer_claim(w, &s) != 0)
        return 0; /* dropped: counted by the library */
    if (c->stall_at && s.seq == c->stall_at) {
        fbus_pattern_fill(s.data, len / 2, s.seq);
        memset((char *)s.data + len / 2, 0xEE, len - len / 2);
        printf("STALLED %" PRIu64 "\n", s.seq);
        fflush(stdout);
        for (;;)
            pause();
    }
    fbus_pattern_fill(s.data, len, s.seq);
    return fbus_writer_commit(w, len, 0) != 0;
}

int main(int argc, char **argv)
{
    struct cfg c = {.w = 64, .h = 48, .fourcc = FBUS_FMT_RGB24};
    fbus_writer *w;
    uint64_t pub = 0, drop = 0, start, n = 0;

    parse(argc, argv, &c);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (open_bus(&c, &w) != 0)
        return 3;
    printf("READY\n");
    fflush(stdout);
    start = fbus_now_ns();
    while (!stop && (!c.count || n < c.count)) {
        if (c.change_at && n + 1 == c.change_at) {
            struct fbus_format f;
            if (fbus_format_init(&f, c.fourcc2 ? c.fourcc2 : c.fourcc, c.w2, c.h2) != 0 ||
                fbus_writer_set_format(w, &f, 0) != 0)
                return 4;
        }
        if (one_frame(w, &c))
            break;
        pace(c.fps, start, ++n);
    }
    fbus_writer_counts(w, &pub, &drop);
    printf("DONE %" PRIu64 " %" PRIu64 "\n", pub, drop);
    fflush(stdout);
    return fbus_writer_close(w) == 0 ? 0 : 1;
}
