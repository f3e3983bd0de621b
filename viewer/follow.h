/*
 * follow.h - the reader life cycle every fbus-view mode shares: wait for the
 * bus to exist, take the newest frame as it arrives, follow format changes
 * and writer restarts, reopen when the writer closed or the bus was removed,
 * count sequence gaps, and keep capture -> acquire latency statistics.
 *
 * A follower never gives up: whatever happens to the bus, the next call
 * tries again (bounded by its timeout). The caller decides when to stop.
 */
#ifndef FBUS_VIEW_FOLLOW_H
#define FBUS_VIEW_FOLLOW_H

#include <stddef.h>
#include <stdint.h>

#include "framebus/framebus.h"

enum follow_state {
    FOLLOW_STARTING, /* nothing tried yet */
    FOLLOW_WAITING,  /* no bus by that name (yet, or any more) */
    FOLLOW_LIVE,     /* attached, the writer is alive */
    FOLLOW_GONE,     /* attached, but the writer died or left without closing */
    FOLLOW_CLOSED,   /* the writer closed the bus (kept, or being removed) */
    FOLLOW_FAILED,   /* the bus is unusable: see err (permission, corrupt...) */
};

#define FOLLOW_LAT_SAMPLES 4096 /* latency samples kept per one-second window */

/* One closed one-second window, for --stats and the window title. */
struct follow_report {
    double fps;
    double lat_p50_ms, lat_p99_ms; /* capture -> acquire; -1 when no frame */
    uint64_t drops;                /* sequence gaps seen in the window */
    uint64_t drops_total;
    uint64_t frames_total;
    uint64_t last_seq;
};

struct follow {
    const char *bus;
    fbus_reader *r;
    enum follow_state state;
    int err;               /* why FOLLOW_FAILED */
    int fresh;             /* reader just (re)opened: its first frame may repeat last_seq */
    int skip_gap;          /* the caller skipped frames on purpose (pause): not drops */
    uint64_t next_open_ns; /* no reader: when to try to open one */
    uint64_t gone_ns;      /* FOLLOW_GONE since then: reopen now and then */
    uint64_t last_seq;     /* of the last frame handed out; 0: none yet */
    struct fbus_format fmt;
    unsigned fmt_changes; /* bumped when a frame comes in another format */
    uint64_t frames, drops, renumbered;
    /* The current one-second window. */
    uint64_t win_start_ns, win_frames, win_drops;
    unsigned nlat;
    uint32_t lat_us[FOLLOW_LAT_SAMPLES];
    struct follow_report last; /* the last closed window */
};

/* Starts following bus (a valid name; it must outlive f). Opens nothing yet. */
void follow_init(struct follow *f, const char *bus);
/* Releases the reader. Accepts a follower that never opened anything. */
void follow_fini(struct follow *f);

/*
 * Waits up to timeout_ms for a frame newer than the last one handed out,
 * opening or reopening the reader as needed. Returns 0 with *frame held
 * (give it back with follow_release() as soon as possible: the writer
 * cannot reuse the slot meanwhile), or FBUS_ETIMEDOUT with f->state telling
 * why there was none. Never returns sooner than timeout_ms without a frame
 * unless the state changed, so a caller's loop never spins.
 */
int follow_next(struct follow *f, struct fbus_frame *frame, int timeout_ms);
/* The next frame's sequence gap is not counted as drops (the caller paused on purpose). */
void follow_skip_gap(struct follow *f);
/* Gives a frame from follow_next() back to the bus. */
void follow_release(struct follow *f, struct fbus_frame *frame);

/* Closes the one-second window if it is due; returns 1 and fills *rep then, else 0. */
int follow_tick(struct follow *f, uint64_t now_ns, struct follow_report *rep);
/* One --stats line for rep and the current state, with a newline, into buf. */
void follow_format_report(const struct follow *f, const struct follow_report *rep, char *buf,
                          size_t len);
/* A short human text for the state: "live", "waiting for bus 'cam0'…", "writer gone"... */
const char *follow_state_text(const struct follow *f, char *buf, size_t len);

/* A frame copied out of its slot, for work too slow to do while holding it (PNG). */
struct follow_copy {
    struct fbus_format fmt;
    uint64_t seq, timestamp_ns;
    size_t len, cap;
    uint8_t *data;
};

/* Copies fr into c, reusing c's buffer. Returns 0, or -1 out of memory. */
int follow_copy_take(struct follow_copy *c, const struct fbus_frame *fr);
/* Frees c's buffer; c may be zeroed or used. */
void follow_copy_free(struct follow_copy *c);

#endif
