/*
 * rsum.c - what a reader pays for reading a frame: summing every 64-bit word
 * of a frame held through the bus (the writer's slot, mapped SHM_RDONLY)
 * against the same sum over a private heap copy of the same bytes.
 *
 * Zero copy means the two run at the same speed: ratio ~1. The reader
 * process alternates the two sums (and which goes first) so drift on this
 * shared machine hits both alike; the times are medians of many sums, the
 * ratio the median of the ratios of neighbouring pairs.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bench.h"

#define MAX_SUMS 256

struct sum_shared {
    char bus[32];
    unsigned sums;
    int ok;
    uint32_t mismatch;
    double bus_ns[MAX_SUMS];
    double local_ns[MAX_SUMS];
};

static double time_sum(const void *p, size_t bytes, uint64_t *out)
{
    uint64_t t0 = now_ns();

    *out = sum_words(p, bytes);
    return (double)(now_ns() - t0);
}

static int sum_child(void *arg, unsigned idx)
{
    struct sum_shared *sh = arg;
    struct fbus_frame f;
    fbus_reader *rd;
    uint64_t a, b;
    void *local;

    (void)idx;
    if (open_reader_retry(&rd, sh->bus, 5000) != 0 || fbus_reader_acquire(rd, &f, 0, 3000) != 0)
        return 3;
    if (!(local = local_alloc(f.bytesused)))
        return 4;
    memcpy(local, f.data, f.bytesused);
    time_sum(f.data, f.bytesused, &a); /* first touch of the mapping: page faults */
    time_sum(local, f.bytesused, &b);
    for (unsigned k = 0; k < sh->sums; k++) {
        if (k & 1) {
            sh->local_ns[k] = time_sum(local, f.bytesused, &b);
            sh->bus_ns[k] = time_sum(f.data, f.bytesused, &a);
        } else {
            sh->bus_ns[k] = time_sum(f.data, f.bytesused, &a);
            sh->local_ns[k] = time_sum(local, f.bytesused, &b);
        }
        sh->mismatch += a != b;
    }
    sh->ok = 1;
    free(local);
    fbus_reader_release(rd, &f);
    fbus_reader_close(rd);
    return 0;
}

/* Publishes one frame of pseudo-random bytes. */
static int publish_random(fbus_writer *w, size_t bytes)
{
    struct fbus_wslot slot;
    uint64_t rng = 0x1234567887654321ull;
    int rc;

    if ((rc = fbus_writer_claim(w, &slot)) != 0)
        return rc;
    for (size_t i = 0; i + 8 <= bytes; i += 8) {
        uint64_t v = rnd64(&rng);
        memcpy((uint8_t *)slot.data + i, &v, 8);
    }
    return fbus_writer_commit(w, bytes, 0);
}

static void measure_size(const struct bench_opts *o, unsigned z, struct results *r)
{
    const struct bsize *sz = &bench_sizes[z];
    struct sum_shared *sh = shared_alloc(sizeof(*sh));
    struct fbus_format fmt;
    fbus_writer *w = NULL;
    pid_t pid[1] = {0};

    if (!sh)
        return;
    sh->sums = o->repeats * 60 < MAX_SUMS ? o->repeats * 60 : MAX_SUMS;
    fbus_format_init(&fmt, sz->fourcc, sz->width, sz->height);
    if (fbus_writer_open(&w, bus_name(sh->bus), &fmt, NULL) == 0 &&
        publish_random(w, sz->bytes) == 0) {
        pid[0] = spawn_child(sum_child, sh, 0, o->pin);
        waitpid(pid[0], NULL, 0);
        pid[0] = 0;
    }
    fbus_writer_close(w);
    if (sh->ok && !sh->mismatch) {
        double pair[MAX_SUMS];
        /* Neighbours in time: the ratio of each pair cancels slow drift of the machine. */
        for (unsigned k = 0; k < sh->sums; k++)
            pair[k] = sh->bus_ns[k] / sh->local_ns[k];
        r->sum_ratio[z] = median_of(pair, sh->sums);
        r->sum_bus_ns[z] = median_of(sh->bus_ns, sh->sums);
        r->sum_local_ns[z] = median_of(sh->local_ns, sh->sums);
    } else {
        progress("reader sum %s: failed (ok %d, mismatches %u)", sz->label, sh->ok, sh->mismatch);
    }
    shared_free(sh, sizeof(*sh));
}

int bench_reader(const struct bench_opts *o, struct results *r)
{
    for (unsigned z = 0; z < NSIZES; z++) {
        progress("reader sum: %s", bench_sizes[z].label);
        measure_size(o, z, r);
    }
    r->have |= SEC_READER;
    return 0;
}
