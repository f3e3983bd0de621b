/*
 * v4l2_source.h - the camera source's state and the helpers its two capture
 * paths share (src_v4l2.c: negotiation and mmap + one copy; v4l2_userptr.c:
 * zero-copy into bus slots). Private to capture/.
 */
#ifndef FBUS_CAPTURE_V4L2_SOURCE_H
#define FBUS_CAPTURE_V4L2_SOURCE_H

#include <libv4lconvert.h>
#include <linux/videodev2.h>

#include "source.h"

#define V4L2SRC_TAG      "v4l2"
#define V4L2SRC_BUFS_MAX 16 /* mmap buffers, or bus slots queued as USERPTR buffers */

struct v4l2_source {
    struct cap_source base;
    const char *path;
    int fd;
    int level; /* of open failures: ERROR, or DEBUG when retrying */
    int verbose;
    unsigned slots; /* of the bus */
    struct v4l2_capability cap;
    struct v4lconvert_data *cvt; /* non-NULL while converting */
    struct v4l2_format src;      /* what the camera delivers */
    struct v4l2_format dst;      /* what goes on the bus */
    struct fbus_format fmt;
    double fps; /* as the driver reports it; 0: unknown */
    int timeout_ms;
    uint32_t min_bytes; /* frames shorter than this are not whole */
    uint64_t ahead_ns;  /* furthest the driver's timestamps ran ahead of the clock */
    int streaming;
    /* mmap + one copy */
    struct {
        void *start;
        size_t length;
    } bufs[V4L2SRC_BUFS_MAX];
    unsigned nbufs;
    /* userptr zero-copy: buffer i is bus slot i, claimed while queued (the library picks which) */
    int zc;
    fbus_writer *w;
    unsigned zc_n;   /* driver buffers: slots 0..zc_n-1 can be queued */
    uint32_t queued; /* bit i: slot i is claimed and queued to the driver */
};

/* Waits for a frame: 1 ready (or an error to collect), 0 a signal, -ETIMEDOUT silent camera. */
int v4l2src_wait(struct v4l2_source *v);
/* DQBUF of the given memory type: 1 and *b, 0 nothing ready, or -errno (said why). */
int v4l2src_dequeue(struct v4l2_source *v, struct v4l2_buffer *b, unsigned memory);
/* The frame's capture time on CLOCK_MONOTONIC: the driver's when it can be used. */
uint64_t v4l2src_time(struct v4l2_source *v, const struct v4l2_buffer *b);
/* 1 (said and counted as a drop on w) if b is not a whole good frame, else 0. */
int v4l2src_broken(struct v4l2_source *v, fbus_writer *w, const struct v4l2_buffer *b);

/* NULL if zero-copy can be used, else why not (for --verbose). */
const char *v4l2src_zc_why_not(struct v4l2_source *v);
/* Queues the bus slots as USERPTR buffers and starts the stream. 0 or -errno. */
int v4l2src_zc_start(struct v4l2_source *v, fbus_writer *w);
/* One frame on the zero-copy path; as cap_source_ops.next. */
int v4l2src_zc_next(struct v4l2_source *v, fbus_writer *w);
/* Stops the stream and gives every queued slot back. */
void v4l2src_zc_stop(struct v4l2_source *v);

#endif
