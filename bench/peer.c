/*
 * peer.c - fbus-bench-peer, the framebus half of the GStreamer comparison: a
 * writer publishing one constant frame as fast as it can (the counterpart of
 * imagefreeze ! shmsink, which also copies one constant frame into shared
 * memory per frame), and a reader taking every newest frame and touching
 * nothing (the counterpart of shmsrc ! fakesink).
 *
 *   fbus-bench-peer pub BUS WIDTH HEIGHT FRAMES [SLOTS]  RGB24 frames; waits for a reader first
 *   fbus-bench-peer sub BUS [PROGRESS_MS [lossless]]  until the writer closes the bus
 *
 * Each prints one line of counts on stdout for fbus-bench to parse; with
 * PROGRESS_MS the reader also prints "frames N" that often, as GStreamer's
 * fpsdisplaysink prints "rendered: N", so fbus-bench can sample both pairs'
 * CPU at steady state, start-up and shut-down left out. A lossless reader
 * makes the writer wait for it, as shmsink waits for room: every frame is
 * delivered, the same flow control as the GStreamer pair.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "framebus/framebus.h"

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Like shmsink's wait-for-connection: the first frame waits for a reader. */
static int wait_reader(fbus_writer *w)
{
    for (int i = 0; i < 10000; i++) {
        if (fbus_writer_readers(w) > 0)
            return 0;
        sleep_ms(1);
    }
    return -1;
}

static int pub(const char *bus, unsigned width, unsigned height, unsigned long frames,
               unsigned slots)
{
    struct fbus_writer_opts opts;
    struct fbus_format fmt;
    fbus_writer *w;
    unsigned long done = 0, retries = 0;
    uint8_t *frame;
    uint64_t t0, t1;
    int rc;

    fbus_writer_opts_init(&opts);
    if (slots)
        opts.slots = slots;
    if ((rc = fbus_format_init(&fmt, FBUS_FMT_RGB24, width, height)) != 0 ||
        (rc = fbus_writer_open(&w, bus, &fmt, &opts)) != 0) {
        fprintf(stderr, "fbus-bench-peer: cannot open bus '%s': %s\n", bus, fbus_strerror(rc));
        return 1;
    }
    /* Written, not calloc'd: zero pages that are never written all map one page. */
    if ((frame = malloc(fmt.sizeimage)))
        memset(frame, 0, fmt.sizeimage);
    if (!frame || wait_reader(w) != 0) {
        fprintf(stderr, "fbus-bench-peer: no reader attached to '%s' within 10 s\n", bus);
        fbus_writer_close(w);
        return 1;
    }
    t0 = fbus_now_ns();
    while (done < frames) {
        rc = fbus_writer_publish(w, frame, fmt.sizeimage, 0);
        if (rc == 0)
            done++;
        else if (rc == FBUS_ENOSLOT)
            retries++; /* the reader holds the only free slot: like shmsink, try again */
        else
            break;
    }
    t1 = fbus_now_ns();
    printf("published %lu retries %lu secs %.6f\n", done, retries, (double)(t1 - t0) / 1e9);
    fbus_writer_close(w);
    free(frame);
    return done == frames ? 0 : 1;
}

static void tick(uint64_t frames, unsigned progress_ms, uint64_t *next)
{
    uint64_t now = fbus_now_ns();

    if (!progress_ms || now < *next)
        return;
    printf("frames %llu\n", (unsigned long long)frames);
    fflush(stdout);
    *next = now + progress_ms * 1000000ull;
}

static int sub(const char *bus, unsigned progress_ms, int lossless)
{
    struct fbus_reader_opts opts;
    struct fbus_frame f;
    fbus_reader *r;
    uint64_t last = 0, frames = 0, missed = 0, t0 = 0, t1 = 0, next = 0;
    unsigned corrupt = 0;
    int rc;

    fbus_reader_opts_init(&opts);
    opts.lossless = lossless;
    /*
     * FBUS_ECORRUPT too: a reader that attaches between the writer's shmget and
     * its header store sees an all-zero header and is told "corrupt" (see
     * docs/benchmarks.md, library findings). Counted, retried.
     */
    for (int i = 0; i < 10000; i++) {
        rc = fbus_reader_open(&r, bus, &opts);
        if (rc != FBUS_ENOBUS && rc != FBUS_ECORRUPT)
            break;
        corrupt += rc == FBUS_ECORRUPT;
        sleep_ms(1);
    }
    if (rc != 0) {
        fprintf(stderr, "fbus-bench-peer: cannot attach '%s': %s\n", bus, fbus_strerror(rc));
        return 1;
    }
    while ((rc = fbus_reader_acquire(r, &f, last, 100)) == 0 || rc == FBUS_ETIMEDOUT) {
        tick(frames, progress_ms, &next);
        if (rc != 0)
            continue;
        t1 = fbus_now_ns();
        if (!frames++)
            t0 = t1;
        if (last && f.seq > last + 1)
            missed += f.seq - last - 1;
        last = f.seq;
        fbus_reader_release(r, &f);
    }
    printf("total %llu missed %llu secs %.6f early-ecorrupt %u\n", (unsigned long long)frames,
           (unsigned long long)missed, (double)(t1 - t0) / 1e9, corrupt);
    fbus_reader_close(r);
    return rc == FBUS_ECLOSED || rc == FBUS_EWRITER_GONE || rc == FBUS_ENOBUS ? 0 : 1;
}

int main(int argc, char **argv)
{
    if ((argc == 6 || argc == 7) && strcmp(argv[1], "pub") == 0)
        return pub(argv[2], (unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]),
                   strtoul(argv[5], NULL, 10), argc == 7 ? (unsigned)atoi(argv[6]) : 0);
    if (argc >= 3 && argc <= 5 && strcmp(argv[1], "sub") == 0)
        return sub(argv[2], argc >= 4 ? (unsigned)atoi(argv[3]) : 0,
                   argc == 5 && strcmp(argv[4], "lossless") == 0);
    fprintf(stderr, "usage: fbus-bench-peer pub BUS WIDTH HEIGHT FRAMES [SLOTS]\n"
                    "       fbus-bench-peer sub BUS [PROGRESS_MS [lossless]]\n"
                    "(run by fbus-bench's GStreamer section; see docs/benchmarks.md)\n");
    return 2;
}
