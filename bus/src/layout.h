/*
 * layout.h - the bytes of a framebus segment, shared by every process on the bus.
 *
 * The layout is private to the library (callers see opaque handles), but it is
 * an ABI between processes: a 32-bit armhf reader must read a 64-bit writer's
 * segment. Hence fixed-width fields only, explicit padding, natural alignment of
 * every field, and a _Static_assert on each offset and on the total size.
 * Any change to this file bumps FBUS_ABI_VERSION.
 *
 *   [ header (FBUS_HEADER_SIZE, padded to a page) | slot 0 | slot 1 | ... ]
 *
 * Only the writer stores into the segment. Readers map it SHM_RDONLY and treat
 * every field as untrusted input (see validate.c).
 */
#ifndef FBUS_LAYOUT_H
#define FBUS_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "framebus/framebus.h"

#ifdef __cplusplus
#define _Static_assert static_assert /* tests include this file from C++ */
#endif

#define FBUS_MAGIC       0x53554246u               /* "FBUS" in memory on a little-endian machine */
#define FBUS_ABI_VERSION ((uint32_t)FBUS_PROTOCOL) /* the header field abi_version */

/* Header flags. */
#define FBUS_HF_CLOSED     0x1u /* the writer closed the bus */
#define FBUS_HF_SUPERSEDED 0x2u /* a newer segment under the same key replaces this one */

/*
 * Two semaphore sets per bus (docs/design.md §3, §8):
 *
 * The role set, under the bus's key, one semaphore: 1 while a writer lives
 * (taken with SEM_UNDO). Its mode gives readers read only (GETVAL), so no
 * reader can take, fake or wedge the writer's role.
 */
#define FBUS_ROLE_COUNT 1
#define FBUS_SEM_WRITER 0
/*
 * The slot set, made IPC_PRIVATE (no key to squat) and named by the header's
 * slot_semid, sized for the largest slot count so a format change keeps it.
 * Readers need alter on it to hold slots, so everything in it is checked by
 * whoever relies on it.
 */
#define FBUS_SEM_BUSY(i)    (i)                    /* 1 while the writer fills slot i */
#define FBUS_SEM_READERS(i) (FBUS_SLOTS_MAX + (i)) /* readers holding slot i */
/*
 * Lossless readers: lreg[k] is 1 while reader k lives (SEM_UNDO); credit[k] is
 * how many more frames the writer may publish before it must wait for reader k.
 * Credits carry no SEM_UNDO: the reader only ever gives them, the writer only
 * ever takes them, and an undo would be wrong both ways.
 */
#define FBUS_SEM_LREG(k)   (2 * FBUS_SLOTS_MAX + (k))
#define FBUS_SEM_CREDIT(k) (2 * FBUS_SLOTS_MAX + FBUS_LOSSLESS_MAX + (k))
#define FBUS_SEM_COUNT     (3 * FBUS_SLOTS_MAX)

/* One slot's descriptor: valid only while seq != 0. Written only while busy. */
struct fbus_shm_slot {
    uint64_t seq;          /* 0: being filled or never filled */
    uint64_t timestamp_ns; /* capture time, CLOCK_MONOTONIC */
    uint64_t publish_ns;   /* commit time, CLOCK_MONOTONIC */
    uint32_t bytesused;
    uint32_t flags;
    uint8_t reserved[32];
};

/* What the writer knows of lossless reader k (written by the writer only). */
struct fbus_shm_lossless {
    int32_t pid; /* the reader the writer has armed; 0: none */
    uint32_t flags;
    uint64_t start_seq; /* the first frame the writer kept for it */
    uint64_t drops;     /* frames it lost because the writer stopped waiting */
    uint32_t credits;   /* credits it was given (the slot count when it registered); 0: slots */
    uint32_t reserved;
};

struct fbus_shm_format {
    uint32_t fourcc;
    uint32_t width;
    uint32_t height;
    uint32_t bytesperline;
    uint32_t sizeimage;
    uint32_t nplanes;
    uint32_t plane_offset[3];
    uint32_t plane_stride[3];
    uint32_t reserved[4];
};

struct fbus_shm_header {
    /* Identity: written once, before the magic is published. */
    uint32_t magic;
    uint32_t abi_version;
    uint32_t header_size; /* sizeof(struct fbus_shm_header) of the writer */
    uint32_t slot_count;
    uint64_t slot_capacity; /* bytes per slot, a multiple of the page size */
    uint64_t slot0_offset;  /* where slot 0 starts, page-aligned */
    uint64_t segment_size;  /* the size the writer asked shmget for */
    uint64_t created_realtime_ns;
    char name[32]; /* NUL-terminated bus name */
    /* Writer identity. */
    int32_t writer_pid;
    uint32_t flags;            /* FBUS_HF_* */
    uint64_t writer_starttime; /* /proc/PID/stat field 22: proves pid reuse */
    struct fbus_shm_format format;
    /* Publish state. `published` is the futex word readers sleep on. */
    uint32_t published; /* low 32 bits of last_seq */
    uint32_t latest;    /* index of the newest whole frame */
    uint64_t last_seq;
    uint64_t last_publish_ns;
    uint64_t frames_published;
    uint64_t frames_dropped;
    uint64_t writer_restarts;
    uint64_t fps_milli;  /* publish rate over the last ~second, x1000 */
    uint64_t generation; /* segments made under this key before this one */
    int32_t slot_semid;  /* the slot semaphore set of this segment */
    uint32_t reserved32;
    uint8_t reserved[24];
    struct fbus_shm_slot slots[16];
    struct fbus_shm_lossless lossless[16]; /* FBUS_LOSSLESS_MAX used, the rest reserved */
};

_Static_assert(offsetof(struct fbus_shm_header, abi_version) == 4, "layout");
_Static_assert(offsetof(struct fbus_shm_header, slot_capacity) == 16, "layout");
_Static_assert(offsetof(struct fbus_shm_header, slot0_offset) == 24, "layout");
_Static_assert(offsetof(struct fbus_shm_header, segment_size) == 32, "layout");
_Static_assert(offsetof(struct fbus_shm_header, created_realtime_ns) == 40, "layout");
_Static_assert(offsetof(struct fbus_shm_header, name) == 48, "layout");
_Static_assert(offsetof(struct fbus_shm_header, writer_pid) == 80, "layout");
_Static_assert(offsetof(struct fbus_shm_header, flags) == 84, "layout");
_Static_assert(offsetof(struct fbus_shm_header, writer_starttime) == 88, "layout");
_Static_assert(offsetof(struct fbus_shm_header, format) == 96, "layout");
_Static_assert(sizeof(struct fbus_shm_format) == 64, "layout");
_Static_assert(offsetof(struct fbus_shm_header, published) == 160, "layout");
_Static_assert(offsetof(struct fbus_shm_header, latest) == 164, "layout");
_Static_assert(offsetof(struct fbus_shm_header, last_seq) == 168, "layout");
_Static_assert(offsetof(struct fbus_shm_header, last_publish_ns) == 176, "layout");
_Static_assert(offsetof(struct fbus_shm_header, frames_published) == 184, "layout");
_Static_assert(offsetof(struct fbus_shm_header, frames_dropped) == 192, "layout");
_Static_assert(offsetof(struct fbus_shm_header, writer_restarts) == 200, "layout");
_Static_assert(offsetof(struct fbus_shm_header, fps_milli) == 208, "layout");
_Static_assert(offsetof(struct fbus_shm_header, generation) == 216, "layout");
_Static_assert(offsetof(struct fbus_shm_header, slot_semid) == 224, "layout");
_Static_assert(offsetof(struct fbus_shm_header, slots) == 256, "layout");
_Static_assert(sizeof(struct fbus_shm_slot) == 64, "layout");
_Static_assert(offsetof(struct fbus_shm_header, lossless) == 1280, "layout");
_Static_assert(sizeof(struct fbus_shm_header) == 1792, "layout");

_Static_assert(sizeof(struct fbus_shm_lossless) == 32, "layout");
_Static_assert(FBUS_LOSSLESS_MAX * 2 <= FBUS_SLOTS_MAX, "lossless semaphores fit the set");
_Static_assert(FBUS_SLOTS_MAX == 16, "slots[] and the semaphore set are sized for 16");

#endif /* FBUS_LAYOUT_H */
