/*
 * creader.c - fbus-pybench-creader, the C side of python/bench/pybench.py: what a C reader
 * pays per frame, measured as the Python reader is.
 *
 *   fbus-pybench-creader BUS loop N     acquire (latest, no wait) + release, N times:
 *                                       prints "ns_per_frame X"
 *   fbus-pybench-creader BUS stream SEC reads each new frame for SEC seconds:
 *                                       prints "frames N cpu_ns_per_frame X"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "framebus/framebus.h"

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int loop(fbus_reader *r, long n)
{
    struct fbus_frame f;
    uint64_t t0 = clock_ns(CLOCK_MONOTONIC);

    for (long i = 0; i < n; i++) {
        int rc = fbus_reader_acquire(r, &f, 0, 0);
        if (rc < 0) {
            fprintf(stderr, "creader: %s\n", fbus_strerror(rc));
            return 1;
        }
        fbus_reader_release(r, &f);
    }
    printf("ns_per_frame %.1f\n", (double)(clock_ns(CLOCK_MONOTONIC) - t0) / (double)n);
    return 0;
}

static int stream(fbus_reader *r, double secs)
{
    uint64_t end = clock_ns(CLOCK_MONOTONIC) + (uint64_t)(secs * 1e9), last = 0, frames = 0;
    uint64_t cpu0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    struct fbus_frame f;

    while (clock_ns(CLOCK_MONOTONIC) < end) {
        int rc = fbus_reader_acquire(r, &f, last, 1000);
        if (rc < 0) {
            fprintf(stderr, "creader: %s\n", fbus_strerror(rc));
            return 1;
        }
        last = f.seq;
        frames++;
        fbus_reader_release(r, &f);
    }
    printf("frames %llu cpu_ns_per_frame %.1f\n", (unsigned long long)frames,
           frames ? (double)(clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0) / (double)frames : 0.0);
    return 0;
}

int main(int argc, char **argv)
{
    fbus_reader *r;
    int rc;

    if (argc != 4 || (strcmp(argv[2], "loop") && strcmp(argv[2], "stream"))) {
        fprintf(stderr, "usage: fbus-pybench-creader BUS loop N | BUS stream SECONDS\n");
        return 2;
    }
    if ((rc = fbus_reader_open(&r, argv[1], NULL)) < 0) {
        fprintf(stderr, "creader: bus '%s': %s\n", argv[1], fbus_strerror(rc));
        return 3;
    }
    rc = strcmp(argv[2], "loop") == 0 ? loop(r, atol(argv[3])) : stream(r, atof(argv[3]));
    fbus_reader_close(r);
    return rc;
}
