/*
 * soak-reader.c - one reader of a soak run (scripts/soak): takes every newest
 * frame of a bus, reads it, and counts frames, gaps and the latency from the
 * frame's capture timestamp to the moment acquire handed it over.
 *
 *   soak-reader --bus NAME [--id N] [--touch none|pages|all] [--hold-us N]
 *
 * Runs until SIGINT/SIGTERM or until the bus ends (closed, writer gone), then
 * prints one line of key=value pairs:
 *   soak-reader id=N frames=F missed=M gap_events=G lat_p50_us=.. lat_p99_us=..
 *   lat_p999_us=.. lat_max_us=.. end=FBUS_ECLOSED
 * missed counts the frames skipped over (sequence numbers never seen), gap_events
 * the jumps. Every buffer is allocated and touched before the first frame, so
 * the process's RSS does not move while it runs unless something leaks.
 * Exit codes: 0 done, 1 the bus could not be opened or acquire failed, 2 usage.
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

/*
 * Latency histogram in microseconds, log-linear: exact below 1024 us, then 512
 * buckets per power of two (0.2 % resolution) up to 2^40 us. Fixed size, so the
 * reader's memory does not grow with the run's length.
 */
#define LIN_MAX   1024u
#define SUB       512u
#define SHIFT_MAX 31u
#define NBUCKETS  (LIN_MAX + SHIFT_MAX * SUB)

static uint64_t g_hist[NBUCKETS];
static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static unsigned bucket_of(uint64_t us)
{
    unsigned shift;

    if (us < LIN_MAX)
        return (unsigned)us;
    shift = 63u - (unsigned)__builtin_clzll(us) - 9u; /* us >> shift in [512, 1024) */
    if (shift > SHIFT_MAX)
        return NBUCKETS - 1;
    return LIN_MAX + (shift - 1) * SUB + (unsigned)((us >> shift) - SUB);
}

/* The middle of bucket b, in microseconds. */
static uint64_t value_of(unsigned b)
{
    unsigned shift;

    if (b < LIN_MAX)
        return b;
    shift = (b - LIN_MAX) / SUB + 1;
    return ((uint64_t)((b - LIN_MAX) % SUB + SUB) << shift) + (1ull << (shift - 1));
}

static uint64_t percentile(uint64_t total, double p)
{
    uint64_t want = (uint64_t)(p * (double)total + 0.999999), seen = 0;

    if (total == 0)
        return 0;
    if (want < 1)
        want = 1;
    for (unsigned b = 0; b < NBUCKETS; b++) {
        seen += g_hist[b];
        if (seen >= want)
            return value_of(b);
    }
    return value_of(NBUCKETS - 1);
}

/* Reads the frame as a consumer would: one byte a page, or every word. */
static uint64_t touch(const struct fbus_frame *f, int mode)
{
    const uint8_t *p = f->data;
    uint64_t sum = 0;

    if (mode == 1) {
        for (size_t i = 0; i < f->bytesused; i += 4096)
            sum += p[i];
    } else if (mode == 2) {
        const uint64_t *w = f->data;
        for (size_t i = 0; i < f->bytesused / 8; i++)
            sum += w[i];
    }
    return sum;
}

static void usage(void)
{
    fprintf(stderr, "usage: soak-reader --bus NAME [--id N] [--touch none|pages|all] "
                    "[--hold-us N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"bus", 1, 0, 'b'},   {"id", 1, 0, 'i'},
                                         {"touch", 1, 0, 't'}, {"hold-us", 1, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *bus = NULL;
    int id = 0, mode = 1, hold_us = 0, c, rc;
    uint64_t frames = 0, missed = 0, gaps = 0, last = 0, max_us = 0, sink = 0;
    struct sigaction sa;
    fbus_reader *r = NULL;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            bus = optarg;
            break;
        case 'i':
            id = atoi(optarg);
            break;
        case 't':
            mode = !strcmp(optarg, "none") ? 0 : !strcmp(optarg, "all") ? 2 : 1;
            break;
        case 'h':
            hold_us = atoi(optarg);
            break;
        default:
            usage();
        }
    }
    if (!bus)
        usage();
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    memset(g_hist, 0, sizeof(g_hist)); /* fault the pages in now, not during the run */

    for (int i = 0; i < 500 && (rc = fbus_reader_open(&r, bus, NULL)) == FBUS_ENOBUS; i++)
        usleep(10000);
    if (rc != 0) {
        fprintf(stderr, "soak-reader %d: bus '%s': %s\n", id, bus, fbus_strerror(rc));
        return 1;
    }
    while (!g_stop) {
        struct fbus_frame f;
        rc = fbus_reader_acquire(r, &f, last, 200);
        if (rc == FBUS_ETIMEDOUT)
            continue;
        if (rc != 0)
            break;
        uint64_t now = fbus_now_ns();
        uint64_t us = now > f.timestamp_ns ? (now - f.timestamp_ns) / 1000 : 0;
        g_hist[bucket_of(us)]++;
        if (us > max_us)
            max_us = us;
        if (last && f.seq > last + 1) {
            missed += f.seq - last - 1;
            gaps++;
        }
        last = f.seq;
        frames++;
        sink += touch(&f, mode);
        if (hold_us)
            usleep((useconds_t)hold_us);
        fbus_reader_release(r, &f);
    }
    fbus_reader_close(r);
    printf("soak-reader id=%d frames=%" PRIu64 " missed=%" PRIu64 " gap_events=%" PRIu64
           " lat_p50_us=%" PRIu64 " lat_p99_us=%" PRIu64 " lat_p999_us=%" PRIu64
           " lat_max_us=%" PRIu64 " end=%s sum=%" PRIu64 "\n",
           id, frames, missed, gaps, percentile(frames, 0.50), percentile(frames, 0.99),
           percentile(frames, 0.999), max_us, g_stop ? "signal" : fbus_err_name(rc), sink & 0xff);
    return g_stop || rc == FBUS_ECLOSED || rc == FBUS_EWRITER_GONE ? 0 : 1;
}
