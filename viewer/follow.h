/*
 * follow.h - what every fbus-view mode asks of its bus, over libframebus's
 * follow reader (fbus_reader_opts.follow: waits for the bus, goes on through
 * format changes, writer restarts, close and removal, never hands out a
 * frame twice, counts what it skipped in fbus_frame.missed). This adds what
 * only a viewer wants: the state in words on stderr when it changes, frames
 * skipped by a pause not counted as drops, and once a second the figures
 * of --stats and the title (capture -> acquire latency percentiles).
 */
#ifndef FBUS_VIEW_FOLLOW_H
#define FBUS_VIEW_FOLLOW_H

#include <stddef.h>
#include <stdint.h>

#include "framebus/framebus.h"

enum follow_state {
    FOLLOW_STARTING = -1,                  /* nothing seen yet */
    FOLLOW_WAITING = FBUS_STATE_NOBUS,     /* no bus by that name (yet, or any more) */
    FOLLOW_LIVE = FBUS_STATE_LIVE,         /* attached, the writer is alive */
    FOLLOW_GONE = FBUS_STATE_GONE,         /* attached, the writer died or left without closing */
    FOLLOW_CLOSED = FBUS_STATE_CLOSED,     /* the writer closed the bus; waiting for a new one */
    FOLLOW_FAILED = FBUS_STATE_CLOSED + 1, /* the bus is unusable: see err (permission...) */
};

#define FOLLOW_LAT_SAMPLES 4096 /* latency samples kept per one-second window */

/* One closed one-second window, for --stats and the window title. */
struct follow_report {
    double fps;                    /* frames this viewer took per second */
    double writer_fps;             /* the writer's publish rate (fbus_reader_status) */
    double lat_p50_ms, lat_p99_ms; /* capture -> acquire; -1 when no frame */
    uint64_t drops;                /* frames missed in the window (fbus_frame.missed) */
    uint64_t drops_total;
    uint64_t frames_total;
    uint64_t last_seq;
};

struct follow {
    const char *bus;
    fbus_reader *r;
    enum follow_state state;
    int err;           /* why FOLLOW_FAILED */
    int skip_gap;      /* the caller skipped frames on purpose (pause): not drops */
    uint64_t last_seq; /* of the last frame handed out; 0: none yet */
    struct fbus_format fmt;
    uint64_t frames, drops;
    /* The current one-second window. */
    uint64_t win_start_ns, win_frames, win_drops;
    unsigned nlat;
    uint32_t lat_us[FOLLOW_LAT_SAMPLES];
    struct follow_report last; /* the last closed window */
};

/*
 * Starts following bus (a valid name; it must outlive f): a follow reader,
 * which succeeds before the bus exists. Returns 0, or -ENOMEM (said).
 */
int follow_init(struct follow *f, const char *bus);
/* Closes the reader. Accepts a follower whose init failed. */
void follow_fini(struct follow *f);

/*
 * Waits up to timeout_ms for a frame newer than the last one handed out.
 * Returns 0 with *frame held (give it back with follow_release() as soon
 * as possible: the writer cannot reuse the slot meanwhile), or why none
 * came, with f->state saying the same: FBUS_ENOBUS, FBUS_ECLOSED,
 * FBUS_EWRITER_GONE, FBUS_ETIMEDOUT (writer alive, nothing new), or an
 * error that makes the bus unusable (FOLLOW_FAILED: FBUS_EPERM,
 * FBUS_ECORRUPT...; then it has slept timeout_ms, so a loop never spins).
 */
int follow_next(struct follow *f, struct fbus_frame *frame, int timeout_ms);
/* The next frame's gap is not counted as drops (the caller paused on purpose). */
void follow_skip_gap(struct follow *f);
/* Gives a frame from follow_next() back to the bus. */
void follow_release(struct follow *f, struct fbus_frame *frame);

/* figures.c: counts a frame from follow_next() (drops, latency, format changes). */
void follow_count_frame(struct follow *f, const struct fbus_frame *fr, uint64_t now);
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
    uint64_t seq, timestamp_ns, missed;
    size_t len, cap;
    uint8_t *data;
};

/* Copies fr into c, reusing c's buffer. Returns 0, or -1 out of memory. */
int follow_copy_take(struct follow_copy *c, const struct fbus_frame *fr);
/* Frees c's buffer; c may be zeroed or used. */
void follow_copy_free(struct follow_copy *c);

#endif
