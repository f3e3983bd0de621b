/*
 * make_corpus.c - writes the fuzz seed corpus (tests/corpus/) from real buses.
 *
 *   make_corpus DIR
 *
 * A real writer makes bus "fuzz" (under a key of this process's own) in each
 * pixel format, with 2 to 16 slots, frames published, a lossless reader armed,
 * closed or superseded; each header is dumped as a fuzz input (fuzz_harness.h:
 * 4-byte size, then the header). Then every damage of tests/test_corrupt.cpp
 * is applied to one RGB24 64x48 bus and written as its own file. Regenerate
 * with `scripts/fuzz --make-corpus` after a layout change.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "fuzz_harness.h"
#include "internal.h"

static const char *g_dir;
static uint32_t g_key;
static int g_count;

static void write_input(const char *name, uint32_t size, const void *bytes, size_t n)
{
    char path[4096];
    uint8_t sz[4] = {(uint8_t)size, (uint8_t)(size >> 8), (uint8_t)(size >> 16),
                     (uint8_t)(size >> 24)};
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s.bin", g_dir, name);
    if (!(f = fopen(path, "wb")) || fwrite(sz, 1, 4, f) != 4 ||
        (n && fwrite(bytes, 1, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "make_corpus: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    g_count++;
}

struct bus_spec {
    const char *name;
    uint32_t fourcc, width, height;
    unsigned slots, frames;
    uint32_t slot_size;
    int lossless;  /* arm a lossless reader before publishing */
    int closed;    /* close the writer (kept) before the dump */
    int supersede; /* change the format, dump the retired segment's successor */
};

/* Publishes frames on a real bus as spec says and copies its header into *h. */
static uint64_t make_bus(const struct bus_spec *s, struct fbus_shm_header *h)
{
    struct fbus_writer_opts o;
    struct fbus_format f;
    fbus_writer *w;
    fbus_reader *r = NULL;
    struct fbus_shm_header *p;
    struct shmid_ds ds;
    int rc, id;

    if (fbus_format_init(&f, s->fourcc, s->width, s->height) != 0)
        exit(2);
    fbus_writer_opts_init(&o);
    o.key = g_key;
    o.slots = s->slots;
    o.slot_size = s->slot_size;
    o.keep = 1;
    o.lossless_wait_ms = 1;
    if ((rc = fbus_writer_open(&w, FBUS_FUZZ_NAME, &f, &o)) != 0) {
        fprintf(stderr, "make_corpus: writer: %s\n", fbus_strerror(rc));
        exit(1);
    }
    if (s->lossless) {
        struct fbus_reader_opts ro;
        fbus_reader_opts_init(&ro);
        ro.key = g_key;
        ro.lossless = 1;
        if ((rc = fbus_reader_open(&r, FBUS_FUZZ_NAME, &ro)) != 0) {
            fprintf(stderr, "make_corpus: lossless reader: %s\n", fbus_strerror(rc));
            exit(1);
        }
    }
    for (unsigned i = 0; i < s->frames; i++) {
        struct fbus_wslot ws;
        if (fbus_writer_claim(w, &ws) != 0)
            continue;
        memset(ws.data, (int)(0x10 + i), ws.capacity);
        /* MJPEG carries fewer bytes than its budget. */
        size_t used = s->fourcc == FBUS_FMT_MJPEG ? f.sizeimage / 3 : f.sizeimage;
        fbus_writer_commit(w, used, 1000000000ull + i * 16666667ull);
    }
    if (s->supersede) {
        struct fbus_format f2;
        fbus_format_init(&f2, s->fourcc, s->width * 2, s->height * 2);
        struct fbus_wslot ws;
        fbus_writer_set_format(w, &f2, 0);
        if (fbus_writer_claim(w, &ws) == 0)
            fbus_writer_commit(w, f2.sizeimage, 0);
    }
    if (s->closed)
        fbus_writer_close(w);
    id = shmget((key_t)g_key, 0, 0);
    p = id >= 0 ? shmat(id, NULL, SHM_RDONLY) : (void *)-1;
    if (p == (void *)-1 || shmctl(id, IPC_STAT, &ds) != 0) {
        fprintf(stderr, "make_corpus: cannot attach the bus: %s\n", strerror(errno));
        exit(1);
    }
    memcpy(h, p, sizeof(*h));
    shmdt(p);
    fbus_reader_close(r);
    if (!s->closed)
        fbus_writer_close(w);
    fbus_remove(FBUS_FUZZ_NAME, g_key, 1);
    return ds.shm_segsz;
}

static const struct bus_spec g_buses[] = {
    {"valid-rgb24-64x48", FBUS_FMT_RGB24, 64, 48, 2, 1, 0, 0, 0, 0},
    {"valid-grey-64x48-3frames", FBUS_FMT_GREY, 64, 48, 2, 3, 0, 0, 0, 0},
    {"valid-yuyv-32x16-4slots", FBUS_FMT_YUYV, 32, 16, 4, 9, 0, 0, 0, 0},
    {"valid-uyvy-32x16", FBUS_FMT_UYVY, 32, 16, 2, 2, 0, 0, 0, 0},
    {"valid-nv12-32x16-3slots", FBUS_FMT_NV12, 32, 16, 3, 5, 0, 0, 0, 0},
    {"valid-yu12-32x16", FBUS_FMT_YU12, 32, 16, 2, 2, 0, 0, 0, 0},
    {"valid-bgr24-16x16-16slots", FBUS_FMT_BGR24, 16, 16, 16, 40, 0, 0, 0, 0},
    {"valid-mjpeg-64x48", FBUS_FMT_MJPEG, 64, 48, 2, 2, 0, 0, 0, 0},
    {"valid-grey-64x48-bigslot", FBUS_FMT_GREY, 64, 48, 2, 1, 20000, 0, 0, 0},
    {"valid-grey-no-frame", FBUS_FMT_GREY, 64, 48, 2, 0, 0, 0, 0, 0},
    {"valid-grey-lossless", FBUS_FMT_GREY, 64, 48, 3, 2, 0, 1, 0, 0},
    {"valid-grey-closed", FBUS_FMT_GREY, 64, 48, 2, 2, 0, 0, 1, 0},
    {"valid-grey-superseded-successor", FBUS_FMT_GREY, 64, 48, 2, 2, 0, 0, 0, 1},
};

/* The base of the damaged inputs: test_corrupt.cpp's bus (RGB24 64x48, one frame). */
static struct fbus_shm_header g_base;
static uint32_t g_base_size;

#define DAMAGE(what, stmt)                                                                         \
    do {                                                                                           \
        struct fbus_shm_header h_ = g_base, *h = &h_;                                              \
        stmt;                                                                                      \
        write_input("corrupt-" what, g_base_size, h, sizeof(*h));                                  \
    } while (0)

static void write_damaged(void)
{
    char label[64];

    DAMAGE("magic", h->magic = 0x12345678);
    /* A writer killed between shmget and its last header store (the magic goes last). */
    DAMAGE("magic-zero", h->magic = 0);
    DAMAGE("header-all-zero", memset(h, 0, sizeof(*h)));
    DAMAGE("abi-version", h->abi_version = 99);
    DAMAGE("header-size-12", h->header_size = 12);
    DAMAGE("header-size-past-slot0", h->header_size = 1u << 30);
    DAMAGE("name-without-nul", memset(h->name, 'a', 32));
    DAMAGE("name-bad-char", h->name[0] = '/');
    DAMAGE("another-name", strcpy(h->name, "someone.else"));
    static const uint32_t counts[] = {0, 1, 3, 16, 17, 1000, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        struct fbus_shm_header c = g_base;
        c.slot_count = counts[i];
        snprintf(label, sizeof(label), "corrupt-slot-count-%u", counts[i]);
        write_input(label, g_base_size, &c, sizeof(c));
    }
    static const uint64_t caps[] = {0, 100, 4097, 1ull << 40, ~0ull - 4095};
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        struct fbus_shm_header c = g_base;
        c.slot_capacity = caps[i];
        snprintf(label, sizeof(label), "corrupt-slot-capacity-%llx", (unsigned long long)caps[i]);
        write_input(label, g_base_size, &c, sizeof(c));
    }
    static const uint64_t offs[] = {0, 123, 1ull << 40, ~0ull - 4095};
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        struct fbus_shm_header c = g_base;
        c.slot0_offset = offs[i];
        snprintf(label, sizeof(label), "corrupt-slot0-offset-%llx", (unsigned long long)offs[i]);
        write_input(label, g_base_size, &c, sizeof(c));
    }
    DAMAGE("fourcc", h->format.fourcc = 0x41414141);
    DAMAGE("width-0", h->format.width = 0);
    DAMAGE("width-huge", h->format.width = 1u << 31);
    DAMAGE("bytesperline-3", h->format.bytesperline = 3);
    DAMAGE("sizeimage-beyond-slot", h->format.sizeimage = (uint32_t)h->slot_capacity + 1);
    DAMAGE("nplanes-7", h->format.nplanes = 7);
    DAMAGE("plane-offset", h->format.plane_offset[0] = 1u << 30);
    DAMAGE("latest-99", h->latest = 99);
    DAMAGE("latest-ffffffff", h->latest = 0xFFFFFFFFu);
    DAMAGE("bytesused-beyond-capacity",
           h->slots[h->latest].bytesused = (uint32_t)h->slot_capacity + 1);
    DAMAGE("bytesused-below-sizeimage", h->slots[h->latest].bytesused = 100);
    DAMAGE("seq-zero", h->slots[h->latest].seq = 0);
    DAMAGE("seq-max", h->slots[h->latest].seq = ~0ull);
    DAMAGE("closed-flag", h->flags = FBUS_HF_CLOSED);
    DAMAGE("superseded-flag", h->flags = FBUS_HF_SUPERSEDED);
    DAMAGE("lossless-armed", (h->lossless[0].pid = 1, h->lossless[0].start_seq = 1));
    DAMAGE("lossless-start-0", (h->lossless[0].pid = 1, h->lossless[0].start_seq = 0));
    /* Segments smaller than their header (test_corrupt SegmentSmallerThanAHeader). */
    write_input("corrupt-segment-64-bytes", 64, &g_base, 64);
    write_input("corrupt-segment-1-byte", 1, &g_base, 1);
    write_input("corrupt-segment-7-bytes", 7, &g_base, 7);
    write_input("corrupt-segment-header-minus-1", sizeof(g_base) - 1, &g_base, sizeof(g_base) - 1);
    write_input("corrupt-segment-one-slot-short", g_base_size - 4096, &g_base, sizeof(g_base));
    write_input("corrupt-empty", 0, NULL, 0);
}

int main(int argc, char **argv)
{
    struct fbus_shm_header h;

    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus DIR\n");
        return 2;
    }
    g_dir = argv[1];
    g_key = 0xFBEF0000u | ((uint32_t)getpid() & 0xFFFFu);
    for (size_t i = 0; i < sizeof(g_buses) / sizeof(g_buses[0]); i++) {
        uint64_t size = make_bus(&g_buses[i], &h);
        write_input(g_buses[i].name, (uint32_t)size, &h, sizeof(h));
        if (i == 0) {
            g_base = h;
            g_base_size = (uint32_t)size;
        }
    }
    write_damaged();
    printf("make_corpus: %d inputs in %s\n", g_count, g_dir);
    return 0;
}
