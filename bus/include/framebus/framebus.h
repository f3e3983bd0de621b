/*
 * framebus.h - public API of libframebus, a shared-memory image frame bus.
 *
 * One writer process publishes camera frames into a System V shared-memory
 * segment (a header plus N page-aligned slots); any number of reader
 * processes attach it read-only and get each new frame without a copy.
 * Slots are guarded by a System V semaphore set whose every hold is taken
 * with SEM_UNDO, so a process that dies never wedges the others.
 *
 * Conventions:
 *  - every function that can fail returns 0 (or a count) on success and a
 *    negative code on error: -errno for system errors, FBUS_E* for the
 *    bus's own conditions; fbus_strerror() turns either into text;
 *  - the library never prints, never aborts and never calls exit();
 *  - close functions accept NULL;
 *  - no call waits without a bound: each blocking call takes a timeout.
 *
 * Handles are not thread-safe: use one handle per thread, or lock around it.
 * Blocking calls restart after a signal (EINTR) and keep their deadline.
 * After fork() a handle belongs to the parent only: the child must not use
 * or close it (System V holds are per process); open a new one.
 * The protocol behind all this is docs/design.md.
 */
#ifndef FRAMEBUS_FRAMEBUS_H
#define FRAMEBUS_FRAMEBUS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FBUS_BUILDING) && defined(__GNUC__)
#define FBUS_API __attribute__((visibility("default")))
#else
#define FBUS_API
#endif

#define FBUS_VERSION_MAJOR 0
#define FBUS_VERSION_MINOR 2
#define FBUS_VERSION_PATCH 0
#define FBUS_VERSION_HEX                                                                           \
    ((FBUS_VERSION_MAJOR << 16) | (FBUS_VERSION_MINOR << 8) | FBUS_VERSION_PATCH)

/*
 * Two more numbers say what may talk to what:
 *  - FBUS_ABI: the binary interface of this header (function signatures and
 *    the caller-allocated structs below). It is the shared library's soname
 *    (libframebus.so.FBUS_ABI): a program built for another ABI does not load.
 *  - FBUS_PROTOCOL: the layout of a bus in shared memory (docs/design.md).
 *    Writers and readers of one bus must speak the same one; a segment of
 *    another protocol is FBUS_EVERSION, and fbus_info.abi_version names it.
 * Caller-allocated structs end in reserved words that the _init() functions
 * zero, so later minor versions can add fields without an ABI change.
 */
#define FBUS_ABI      1
#define FBUS_PROTOCOL 2

/* Version of the library actually loaded, as FBUS_VERSION_HEX and as "0.1.0". */
FBUS_API unsigned fbus_version(void);
FBUS_API const char *fbus_version_string(void);
/* FBUS_ABI and FBUS_PROTOCOL of the library actually loaded. */
FBUS_API unsigned fbus_abi(void);
FBUS_API unsigned fbus_protocol(void);

/* Limits. */
#define FBUS_NAME_MAX              31 /* bytes in a bus name, without the NUL */
#define FBUS_SLOTS_MIN             2
#define FBUS_SLOTS_MAX             16
#define FBUS_SLOTS_DEFAULT         2
#define FBUS_DIM_MAX               16384 /* widest and tallest frame accepted */
#define FBUS_PLANES_MAX            3
#define FBUS_MODE_DEFAULT          0660
#define FBUS_LOSSLESS_MAX          8    /* lossless readers on one bus */
#define FBUS_LOSSLESS_WAIT_DEFAULT 1000 /* ms a writer waits for a lossless reader */

/*
 * Error codes. They sit far below any errno so that -errno and FBUS_E* never
 * overlap; fbus_strerror() accepts both.
 */
enum fbus_error {
    FBUS_OK = 0,
    FBUS_ENOBUS = -10001,       /* no bus with that name or key (no writer has created it) */
    FBUS_EBUSY = -10002,        /* another writer is alive on this bus */
    FBUS_ECORRUPT = -10003,     /* the segment failed validation: not a usable bus */
    FBUS_EVERSION = -10004,     /* the segment was made by an incompatible framebus */
    FBUS_ECOLLISION = -10005,   /* the key is used by another bus name or by a foreign segment */
    FBUS_ENAME = -10006,        /* bus name invalid: 1-31 chars of [a-z0-9_.-] */
    FBUS_EFORMAT = -10007,      /* unknown pixel format or impossible geometry */
    FBUS_ETIMEDOUT = -10008,    /* the writer is alive but no (new) frame came in time */
    FBUS_EWRITER_GONE = -10009, /* the writer died or left without closing the bus */
    FBUS_ECLOSED = -10010,      /* the writer closed the bus */
    FBUS_EAGAIN = -10011,       /* non-blocking call: nothing (new) to take right now */
    FBUS_ENOSLOT = -10012,      /* writer: every free slot is held by readers; frame dropped */
    FBUS_ESTATE = -10013,       /* call out of order (commit without claim, double release...) */
    FBUS_ESIZE = -10014,        /* frame or segment size out of range */
    FBUS_EPERM = -10015,        /* permission denied on the segment or semaphore set */
    /*
     * An IPC object under the bus's key (or named by its header) that this
     * bus cannot trust: another user made it, or it has the wrong size or a
     * mode that lets others change it. fbus_foreign_describe() says whose.
     */
    FBUS_EFOREIGN = -10016,
    FBUS_EOVERWRITTEN = -10017, /* release: the held frame was overwritten (semaphores tampered) */
    FBUS_EREMOVED = -10018,     /* writer: its bus was removed under it (fbus rm, ipcrm) */
};

/* Text for a negative code from any framebus call (FBUS_E* or -errno). Never NULL. */
FBUS_API const char *fbus_strerror(int err);
/* Symbolic name of a code, e.g. "FBUS_EBUSY" or "ENOENT". Never NULL. */
FBUS_API const char *fbus_err_name(int err);

/* ---- Pixel formats ---------------------------------------------------- */

#define FBUS_FOURCC(a, b, c, d)                                                                    \
    ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))

/* The same values as the V4L2 V4L2_PIX_FMT_* constants. */
#define FBUS_FMT_YUYV  FBUS_FOURCC('Y', 'U', 'Y', 'V')
#define FBUS_FMT_UYVY  FBUS_FOURCC('U', 'Y', 'V', 'Y')
#define FBUS_FMT_NV12  FBUS_FOURCC('N', 'V', '1', '2')
#define FBUS_FMT_YU12  FBUS_FOURCC('Y', 'U', '1', '2') /* I420 */
#define FBUS_FMT_RGB24 FBUS_FOURCC('R', 'G', 'B', '3')
#define FBUS_FMT_BGR24 FBUS_FOURCC('B', 'G', 'R', '3')
#define FBUS_FMT_GREY  FBUS_FOURCC('G', 'R', 'E', 'Y')
#define FBUS_FMT_MJPEG FBUS_FOURCC('M', 'J', 'P', 'G') /* carried as-is, variable bytes used */

/*
 * Geometry of one frame. Plane offsets are from the start of the slot.
 * For MJPEG, sizeimage is the largest frame the slot must hold and
 * bytesperline is 0.
 */
struct fbus_format {
    uint32_t fourcc;
    uint32_t width;
    uint32_t height;
    uint32_t bytesperline; /* of plane 0 */
    uint32_t sizeimage;    /* bytes of a whole frame (upper bound for MJPEG) */
    uint32_t nplanes;      /* 1..3 */
    uint32_t plane_offset[FBUS_PLANES_MAX];
    uint32_t plane_stride[FBUS_PLANES_MAX];
    uint32_t reserved[4]; /* zero */
};

/*
 * Fills *fmt with the tightly packed layout of fourcc at width x height.
 * Returns 0, or FBUS_EFORMAT for an unknown fourcc or a size outside
 * 1..FBUS_DIM_MAX (YUYV/UYVY/NV12/YU12 also need an even width and,
 * for NV12/YU12, an even height).
 */
FBUS_API int fbus_format_init(struct fbus_format *fmt, uint32_t fourcc, uint32_t width,
                              uint32_t height);
/*
 * Checks a format a caller filled in itself (e.g. from V4L2's G_FMT, whose
 * bytesperline may carry padding): known fourcc, sane sizes, planes inside
 * sizeimage. Returns 0 or FBUS_EFORMAT.
 */
FBUS_API int fbus_format_check(const struct fbus_format *fmt);
/*
 * Fills *fmt for a frame a driver lays out itself: fourcc at width x height
 * with bytesperline bytes per row of plane 0 (0: packed) and, where the
 * driver says so, sizeimage bytes in all (0: computed). The other planes'
 * strides and offsets follow from plane 0's as V4L2 defines them for
 * single-buffer formats. Returns 0 or FBUS_EFORMAT.
 */
FBUS_API int fbus_format_from_driver(struct fbus_format *fmt, uint32_t fourcc, uint32_t width,
                                     uint32_t height, uint32_t bytesperline, uint32_t sizeimage);
/* "YUYV" etc. into buf (at least 5 bytes); returns buf. */
FBUS_API const char *fbus_fourcc_str(uint32_t fourcc, char buf[5]);
/* Parses "YUYV", "RGB3", "I420" (alias of YU12), "RGB24"...; returns 0 if unknown. */
FBUS_API uint32_t fbus_fourcc_parse(const char *s);
/* Non-zero for a fourcc this library knows (every FBUS_FMT_* above). */
FBUS_API int fbus_fourcc_known(uint32_t fourcc);

/*
 * Converts one frame of any raw format above into packed RGB24
 * (width*3 bytes per row, no padding). rgb must hold width*height*3 bytes.
 * YUV is BT.601 limited range, as V4L2 cameras deliver by default.
 * Returns 0, FBUS_EFORMAT for MJPEG or an unknown format, FBUS_ESIZE if
 * bytesused is too small for the format.
 */
FBUS_API int fbus_convert_to_rgb24(const struct fbus_format *fmt, const void *src, size_t bytesused,
                                   uint8_t *rgb);
/*
 * The reverse: packed RGB24 (width*3 bytes per row) into the layout fmt
 * describes (dst must hold fmt->sizeimage bytes). Chroma of subsampled
 * formats is the average of the pixels it covers. Returns 0 or FBUS_EFORMAT.
 */
FBUS_API int fbus_convert_from_rgb24(const struct fbus_format *fmt, const uint8_t *rgb, void *dst);

/* ---- Names and keys --------------------------------------------------- */

/* 0 if name is a valid bus name (1..31 chars of [a-z0-9_.-]), else FBUS_ENAME. */
FBUS_API int fbus_name_check(const char *name);
/*
 * The System V key of a bus name: 0xFB000000 | (FNV-1a-32("framebus:" name) & 0xFFFFFF).
 * The 0xFB prefix makes framebus keys recognisable in `ipcs`. Returns 0 for an invalid name.
 */
FBUS_API uint32_t fbus_key_from_name(const char *name);

/* ---- Writer ----------------------------------------------------------- */

typedef struct fbus_writer fbus_writer;

struct fbus_writer_opts {
    unsigned slots;     /* FBUS_SLOTS_MIN..FBUS_SLOTS_MAX, default 2 */
    unsigned mode;      /* permission bits of the segment, default 0660 (readers need read) */
    uint32_t key;       /* 0: derived from the name */
    uint32_t slot_size; /* 0: the format's sizeimage; larger to leave room (MJPEG) */
    int keep;           /* non-zero: fbus_writer_close() leaves the bus in place, marked closed */
    /*
     * How long claim waits for a lossless reader to consume old frames before
     * it overwrites one (counted as that reader's drop). 0: the default
     * (FBUS_LOSSLESS_WAIT_DEFAULT). Without lossless readers claim never waits.
     */
    unsigned lossless_wait_ms;
    uint32_t reserved[8]; /* zero (fbus_writer_opts_init) */
};

FBUS_API void fbus_writer_opts_init(struct fbus_writer_opts *opts);

/*
 * Creates bus `name` with format *fmt, or re-attaches to it when its previous
 * writer is dead and the format, slot count and slot size are the same
 * (readers keep their attachment and see only a gap). A bus with another
 * format is superseded: marked so readers follow, removed, and made anew.
 * opts may be NULL for the defaults. On success *out is the writer.
 * Returns 0, or FBUS_ENAME, FBUS_EFORMAT, FBUS_ESIZE (also: larger than
 * kernel.shmmax), FBUS_EBUSY (a live writer holds the bus; fbus_info_get()
 * names its pid), FBUS_ECOLLISION, FBUS_EFOREIGN (another user's or a
 * malformed IPC object holds the key: nothing was touched;
 * fbus_foreign_describe() says what and how to remove it), FBUS_ECORRUPT,
 * FBUS_EVERSION, FBUS_EPERM, -EINVAL (bad mode), -ENOMEM, -ENOSPC or
 * another -errno.
 */
FBUS_API int fbus_writer_open(fbus_writer **out, const char *name, const struct fbus_format *fmt,
                              const struct fbus_writer_opts *opts);

/* A slot handed out by fbus_writer_claim(), to be filled in place. */
struct fbus_wslot {
    void *data;      /* page-aligned start of the slot */
    size_t capacity; /* bytes the slot holds (>= format sizeimage) */
    unsigned index;  /* 0..slots-1 */
    uint64_t seq;    /* the sequence number commit will give this frame */
    uint32_t reserved[4];
};

/*
 * Claims a free slot for the next frame: never the latest published one,
 * never one a reader holds; the oldest such. Never blocks while no lossless
 * reader is attached; with one, waits up to opts.lossless_wait_ms for it to
 * consume old frames (and for a slot to come free). Returns 0, or
 * FBUS_ENOSLOT when readers hold every candidate (the frame is counted as
 * dropped; try again with the next frame), FBUS_ESTATE if a slot is already
 * claimed, or -errno.
 */
FBUS_API int fbus_writer_claim(fbus_writer *w, struct fbus_wslot *slot);
/*
 * Publishes the claimed slot: bytesused bytes (<= capacity), captured at
 * timestamp_ns on CLOCK_MONOTONIC (0: now). Readers blocked in acquire wake.
 * Returns 0, FBUS_ESTATE without a claim, FBUS_ESIZE if bytesused > capacity.
 */
FBUS_API int fbus_writer_commit(fbus_writer *w, size_t bytesused, uint64_t timestamp_ns);
/* Gives a claimed slot back unpublished. Returns 0 or FBUS_ESTATE. */
FBUS_API int fbus_writer_abort(fbus_writer *w);

/*
 * Zero-copy capture (V4L2 USERPTR): claims the given slot, so that slot i can
 * stay queued to a driver as its buffer i while the driver fills it. Several
 * slots may be claimed this way at once; never the latest, never one a
 * reader holds, never one a lossless reader has not consumed. Publish with
 * fbus_writer_commit_index() (sequence numbers are given at commit, in commit
 * order: slot->seq is only a forecast), or give back with
 * fbus_writer_abort_index(). Not mixed with fbus_writer_claim(): one of them
 * at a time. Returns 0, FBUS_ENOSLOT (the slot is latest, held, or claimed:
 * try again after the next commit), FBUS_ESIZE (index out of range),
 * FBUS_ESTATE (a fbus_writer_claim() slot is open), or -errno.
 */
FBUS_API int fbus_writer_claim_index(fbus_writer *w, unsigned index, struct fbus_wslot *slot);
/* Publishes slot index claimed with fbus_writer_claim_index(); as fbus_writer_commit(). */
FBUS_API int fbus_writer_commit_index(fbus_writer *w, unsigned index, size_t bytesused,
                                      uint64_t timestamp_ns);
/* Gives slot index back unpublished. Returns 0 or FBUS_ESTATE. */
FBUS_API int fbus_writer_abort_index(fbus_writer *w, unsigned index);
/*
 * Claims as many slots as it can, up to max, for a zero-copy writer that
 * keeps several queued to a driver (each as fbus_writer_claim_index() would
 * give it, the oldest first). slots[0..n-1] say which it gave. Returns n
 * (0: none free now: try again after the next commit), or -errno.
 */
FBUS_API int fbus_writer_claim_slots(fbus_writer *w, struct fbus_wslot *slots, unsigned max);
/*
 * Convenience: claim, copy len bytes from data, commit. Returns 0,
 * FBUS_ENOSLOT (dropped), FBUS_ESIZE, or what claim/commit return.
 */
FBUS_API int fbus_writer_publish(fbus_writer *w, const void *data, size_t len,
                                 uint64_t timestamp_ns);
/*
 * Changes the format (or slot count: slots 0 keeps it): the current segment
 * is marked superseded and removed (it lives until its last reader detaches)
 * and a new one is made under the same key. Readers follow on their next
 * acquire. Returns 0 or the errors of fbus_writer_open(); on error the
 * writer is unusable except for close.
 */
FBUS_API int fbus_writer_set_format(fbus_writer *w, const struct fbus_format *fmt, unsigned slots);
/* The bus format (as given, or as last set); valid until close, changed by set_format. */
FBUS_API const struct fbus_format *fbus_writer_format(const fbus_writer *w);
/* Number of processes attached besides the writer (readers, tools). -errno on failure. */
FBUS_API int fbus_writer_readers(const fbus_writer *w);
/* Counts since the bus was made: frames published and dropped. Either may be NULL. */
FBUS_API void fbus_writer_counts(const fbus_writer *w, uint64_t *published, uint64_t *dropped);
/* Frames published per second over the last second (what readers see as status.fps). */
FBUS_API double fbus_writer_fps(const fbus_writer *w);
/* Records a dropped frame (e.g. the source missed one) in the bus counters. */
FBUS_API void fbus_writer_count_drop(fbus_writer *w);
/*
 * Closes the writer: aborts a claimed slot, marks the bus closed, wakes the
 * readers, and removes segment and semaphore set unless opts.keep was set.
 * Before removing, it waits (up to opts.lossless_wait_ms) for lossless readers
 * to release every frame published for them.
 * Accepts NULL. Returns 0 or the first -errno met while removing.
 */
FBUS_API int fbus_writer_close(fbus_writer *w);

/* ---- Reader ----------------------------------------------------------- */

typedef struct fbus_reader fbus_reader;

struct fbus_reader_opts {
    uint32_t key; /* 0: derived from the name */
    /*
     * Non-zero: a lossless reader. It gets every frame, in order, from the first
     * the writer publishes after it attached (after_seq is ignored): the writer
     * waits for it (up to its bound) instead of overwriting a frame it has not
     * released. A gap in seq means the writer stopped waiting; fbus_info counts
     * those drops. At most FBUS_LOSSLESS_MAX per bus (FBUS_EBUSY beyond).
     * If it dies, the kernel forgets it at once (SEM_UNDO).
     */
    int lossless;
    /*
     * Non-zero: follow the bus by its name for the reader's whole life.
     * fbus_reader_open() succeeds before the bus exists; acquire waits (within
     * its timeout) for it to be made, goes on after the writer closed it or
     * the bus was removed, with whatever bus is made next under the name, and
     * never hands out the same frame twice. A wait that ends with nothing
     * says why: FBUS_ENOBUS (no bus yet), FBUS_ECLOSED, FBUS_EWRITER_GONE or
     * FBUS_ETIMEDOUT. Zero: the reader is bound to the bus it opened.
     */
    int follow;
    uint32_t reserved[8]; /* zero (fbus_reader_opts_init) */
};

FBUS_API void fbus_reader_opts_init(struct fbus_reader_opts *opts);

/*
 * Attaches bus `name` read-only (SHM_RDONLY) and validates its header and
 * its IPC objects (one owner, sizes, modes: docs/design.md). Without
 * opts.follow it does not wait for the bus to appear (FBUS_ENOBUS).
 * Returns 0, or FBUS_ENAME, FBUS_ENOBUS, FBUS_ECORRUPT, FBUS_EVERSION,
 * FBUS_ECOLLISION (the key's segment belongs to another name),
 * FBUS_EFOREIGN, FBUS_EPERM, FBUS_EBUSY (a 9th lossless reader), -ENOMEM or
 * another -errno. With opts.follow only FBUS_ENAME, -EINVAL or -ENOMEM: the
 * rest is reported by acquire.
 */
FBUS_API int fbus_reader_open(fbus_reader **out, const char *name,
                              const struct fbus_reader_opts *opts);

/* A frame held by a reader. Everything here stays valid until release. */
struct fbus_frame {
    const void *data; /* read-only, in the shared segment: no copy */
    size_t bytesused;
    uint64_t seq;              /* 1, 2, 3... gaps mean frames this reader missed */
    uint64_t timestamp_ns;     /* capture time, CLOCK_MONOTONIC */
    struct fbus_format format; /* the format of this frame */
    unsigned slot;
    uint64_t missed; /* frames published between this reader's previous frame and this one */
    uint32_t reserved[4];
    /* private: */
    void *priv_;
};

/*
 * Takes the latest frame whose sequence number is greater than after_seq
 * (0: any frame). With timeout_ms 0 it does not wait; otherwise it sleeps
 * (futex on the read-only mapping, no polling) up to timeout_ms for one.
 * The frame is held, and the writer will not reuse its slot, until
 * fbus_reader_release(). Follows a format change or writer restart
 * transparently. A reader may hold up to FBUS_SLOTS_MAX frames at once.
 * Returns 0, or FBUS_EAGAIN (timeout 0, nothing new), FBUS_ETIMEDOUT
 * (writer alive, nothing new), FBUS_EWRITER_GONE (the writer died; a new one
 * re-attaches and the reader goes on), FBUS_ECLOSED (at once, without waiting:
 * the writer closed the bus, kept or not), FBUS_ECORRUPT, FBUS_ENOBUS (the bus
 * was removed, e.g. by `fbus rm`, and not made again), FBUS_ESTATE (too many
 * held), -EINVAL for a negative timeout, or -errno. After a quiet wait slice
 * (250 ms) the reader also checks whether a new bus was made under the key
 * and moves to it.
 */
FBUS_API int fbus_reader_acquire(fbus_reader *r, struct fbus_frame *frame, uint64_t after_seq,
                                 int timeout_ms);
/*
 * Releases a frame from acquire. Returns 0, FBUS_ESTATE if it is not held,
 * or FBUS_EOVERWRITTEN: the frame was released, but its slot was rewritten
 * while it was held, so what the caller read may be torn. The writer never
 * does that; a process that may alter the bus's semaphores (every admitted
 * reader can) did: README "Permissions".
 */
FBUS_API int fbus_reader_release(fbus_reader *r, struct fbus_frame *frame);
/*
 * The format of the bus as last seen by this reader. The pointer stays valid
 * until fbus_reader_close(); the struct it points to changes when the reader
 * follows a format change (on acquire). A follow reader that has not seen a
 * bus yet gives a zeroed format.
 */
FBUS_API const struct fbus_format *fbus_reader_format(const fbus_reader *r);

/* What fbus_reader_status() tells. */
enum fbus_bus_state {
    FBUS_STATE_NOBUS = 0, /* no bus under the name (yet, or any more) */
    FBUS_STATE_LIVE,      /* attached, its writer holds the writer role */
    FBUS_STATE_GONE,      /* attached, the writer died or left without closing */
    FBUS_STATE_CLOSED,    /* attached, the writer closed it */
};

struct fbus_reader_status {
    int state;                 /* enum fbus_bus_state */
    struct fbus_format format; /* zeroed in FBUS_STATE_NOBUS */
    int32_t writer_pid;        /* as the header says; 0 if none */
    uint64_t last_seq;         /* the newest frame the bus published */
    uint64_t frames;           /* frames this reader acquired since open */
    uint64_t missed;           /* frames it skipped over since open (sum of fbus_frame.missed) */
    double fps;                /* the writer's publish rate over the last second; 0 if stale */
    double reader_fps;         /* frames this reader acquired per second, over the last second */
    int64_t age_ns;            /* since the last publish; -1 if none */
    uint32_t reserved[6];
};

/*
 * The state of the bus as this reader sees it: one look at the header and
 * one semctl. Never waits. Returns 0, or -EINVAL.
 */
FBUS_API int fbus_reader_status(fbus_reader *r, struct fbus_reader_status *st);
/* Detaches; frames still held are released. Accepts NULL. */
FBUS_API void fbus_reader_close(fbus_reader *r);

/* ---- Inspection (for tools) ------------------------------------------- */

struct fbus_info {
    char name[FBUS_NAME_MAX + 1];
    uint32_t key;
    int shmid;
    int semid; /* -1 if the set is gone */
    struct fbus_format format;
    unsigned slots;
    uint64_t slot_capacity;
    uint64_t segment_size;
    unsigned mode; /* permission bits of the segment */
    uint32_t uid;  /* owner of the segment */
    int readers;   /* attached processes other than the writer and this one */
    int32_t writer_pid;
    int writer_alive;   /* the writer role is held (kernel-kept, survives pid reuse) */
    int closed;         /* the writer closed it (kept with --keep) */
    int superseded;     /* replaced by a segment with a newer format */
    uint64_t published; /* frames published since the bus was made */
    uint64_t dropped;   /* frames dropped (no free slot, or the source missed them) */
    uint64_t restarts;  /* times a new writer re-attached */
    uint64_t last_seq;
    uint64_t last_timestamp_ns;
    int64_t age_ns;          /* now - last publish on CLOCK_MONOTONIC; -1 if none */
    double fps;              /* publish rate over the last second or so; 0 if stale */
    uint64_t created_ns;     /* CLOCK_REALTIME ns when the segment was made */
    unsigned abi_version;    /* the segment's protocol (FBUS_PROTOCOL of its writer) */
    uint32_t cuid;           /* creator of the segment */
    int32_t slot_semid;      /* the slot semaphore set the header names; -1 if unknown */
    unsigned lossless_count; /* lossless readers attached */
    struct fbus_lossless_info {
        int32_t pid;        /* as the writer armed it; 0 if not armed yet */
        uint64_t start_seq; /* first frame kept for it */
        uint64_t drops;     /* frames it lost because the writer stopped waiting */
        int pending;        /* frames published for it and not yet released */
    } lossless[FBUS_LOSSLESS_MAX];
    uint32_t reserved[16];
};

/*
 * Reads the state of the bus in shm segment shmid (attached read-only for
 * the call, validated as a reader would). Returns 0, FBUS_ECORRUPT or
 * FBUS_EVERSION (info->shmid, key and mode are still filled), FBUS_ECOLLISION
 * if it is not a framebus segment, FBUS_EPERM, or -errno.
 */
FBUS_API int fbus_info_shmid(int shmid, struct fbus_info *info);
/* The same, by name (key from the name unless key != 0). FBUS_ENOBUS if absent. */
FBUS_API int fbus_info_get(const char *name, uint32_t key, struct fbus_info *info);

/*
 * Calls fn for every framebus segment on the machine (found by scanning
 * /proc/sysvipc/shm for the magic; no registry files). Segments that fail
 * validation are reported with the error in rc (FBUS_EPERM ones with key,
 * uid and mode filled). Stops early if fn returns non-zero and returns that
 * value; otherwise the number of buses, or -errno. info is valid during the
 * call only; fn may call any framebus function but should not remove other
 * buses than the one it is given.
 */
typedef int (*fbus_list_fn)(const struct fbus_info *info, int rc, void *ctx);
FBUS_API int fbus_list(fbus_list_fn fn, void *ctx);

/*
 * Removes the bus in segment shmid and its semaphore sets. Refuses a bus
 * whose writer is alive (FBUS_EBUSY) unless force, and a half-made one
 * (FBUS_ECORRUPT) unless force. Never removes another user's objects that
 * this process may not remove (FBUS_EPERM). Returns 0 or a negative code.
 */
FBUS_API int fbus_remove_shmid(int shmid, int force);
/* The same by name (key from the name unless key != 0). FBUS_ENOBUS if absent. */
FBUS_API int fbus_remove(const char *name, uint32_t key, int force);

/*
 * What holds key that a bus cannot trust, as one line for a person: the
 * kind of object, its owner's uid, size, mode, and the command that removes
 * it, e.g. "semaphore set 0xfb12ab34 of uid 65534 (500 semaphores, mode 0666):
 * remove it with 'ipcrm -S 0xfb12ab34', or use another --key". Writes at most
 * len bytes (NUL included) and returns buf; an empty string when nothing
 * under key looks foreign.
 */
FBUS_API const char *fbus_foreign_describe(uint32_t key, char *buf, size_t len);

/* CLOCK_MONOTONIC now, in ns: the clock of frame timestamps. */
FBUS_API uint64_t fbus_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif /* FRAMEBUS_FRAMEBUS_H */
