/*
 * v4l2_userptr.c - zero-copy capture: the bus slots are the driver's buffers
 * (V4L2_MEMORY_USERPTR), so each frame is written once, by the driver, where
 * the readers read it.
 *
 * Buffer index i is always bus slot i, so the driver sees the same address
 * for an index every time and vb2 keeps its pages pinned. A slot stays
 * claimed (fbus_writer_claim_index) for as long as it is queued: no reader
 * can take it, and none trusts its old descriptor. When the driver hands it
 * back it is committed and becomes the latest frame. Slots go back to the
 * driver lazily, oldest first, once fewer than MIN_QUEUED are left with it:
 * that gives readers time to release what they hold, because a claim that
 * finds a slot held fails, and the library counts that as a dropped frame.
 *
 * Stopping: the driver must let go of the slots before they are given back.
 * STREAMOFF does that; when it fails (the device is gone) the fd is closed
 * first, since its release stops the stream and unpins the pages.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "v4l2_dev.h"
#include "v4l2_source.h"

#define TAG V4L2SRC_TAG

#define MIN_SLOTS  3 /* two queued with the driver while readers read the third */
#define MIN_QUEUED 2

static int popcount32(uint32_t x)
{
    return __builtin_popcount(x);
}

const char *v4l2src_zc_why_not(struct v4l2_source *v)
{
    struct v4l2_requestbuffers req = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                                      .memory = V4L2_MEMORY_USERPTR};

    if (v->cvt)
        return "not while converting (libv4lconvert writes into the slot instead)";
    if (v->fmt.fourcc == FBUS_FMT_MJPEG)
        return "not for compressed frames";
    /* REQBUFS of 0 buffers: EINVAL when the driver has no USERPTR mode. */
    if (cap_xioctl(v->fd, VIDIOC_REQBUFS, &req) != 0)
        return "the driver does not offer USERPTR buffers";
    if (v->slots < MIN_SLOTS)
        return "the driver offers USERPTR, but the bus needs --slots 3 or more (4 "
               "recommended): two slots queued with the driver, one for the readers";
    return NULL;
}

/* Claims slot i and queues it as USERPTR buffer i. 0, FBUS_ENOSLOT (in use), or -errno. */
static int requeue(struct v4l2_source *v, fbus_writer *w, unsigned i)
{
    struct v4l2_buffer b = {
        .index = i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_USERPTR};
    struct fbus_wslot slot;
    int rc;

    if ((rc = fbus_writer_claim_index(w, i, &slot)) != 0)
        return rc;
    b.m.userptr = (unsigned long)slot.data;
    b.length = (uint32_t)slot.capacity;
    if ((rc = cap_xioctl(v->fd, VIDIOC_QBUF, &b)) != 0) {
        fbus_writer_abort_index(w, i);
        app_log(v->level, TAG, "%s: cannot queue bus slot %u as a USERPTR buffer: %s", v->path, i,
                strerror(-rc));
        return rc;
    }
    v->queued |= 1u << i;
    return 0;
}

/* Slots not with the driver and not the latest frame, oldest first. How many. */
static unsigned free_slots(const struct v4l2_source *v, unsigned order[V4L2SRC_BUFS_MAX])
{
    unsigned n = 0;

    for (unsigned i = 0; i < v->zc_n; i++) {
        if ((v->queued & (1u << i)) || (int)i == v->latest)
            continue;
        unsigned j = n++;
        while (j > 0 && v->done[order[j - 1]] > v->done[i]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    return n;
}

/* Gives the driver slots again when it is down to fewer than MIN_QUEUED. 0 or -errno. */
static int refill(struct v4l2_source *v, fbus_writer *w)
{
    unsigned order[V4L2SRC_BUFS_MAX];
    unsigned n = free_slots(v, order);

    for (unsigned k = 0; k < n && popcount32(v->queued) < MIN_QUEUED; k++) {
        int rc = requeue(v, w, order[k]);
        if (rc != 0 && rc != FBUS_ENOSLOT)
            return rc;
    }
    return 0;
}

int v4l2src_zc_start(struct v4l2_source *v, fbus_writer *w)
{
    struct v4l2_requestbuffers req = {
        .count = v->slots, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_USERPTR};
    int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    int rc;

    v->w = w;
    v->latest = -1;
    if ((rc = cap_xioctl(v->fd, VIDIOC_REQBUFS, &req)) != 0) {
        app_log_warn(TAG, "%s: USERPTR buffers refused: %s", v->path, strerror(-rc));
        return rc;
    }
    v->zc = 1;
    v->zc_n = req.count < v->slots ? req.count : v->slots;
    if (req.count > v->slots || v->zc_n < MIN_QUEUED) {
        app_log_warn(TAG,
                     "%s: the driver wants %u USERPTR buffers; the bus has %u slots "
                     "(--slots %u would allow zero-copy)",
                     v->path, req.count, v->slots, req.count + 1);
        return -ENOBUFS;
    }
    /* Every slot that is free: after a reconnect the latest frame stays with the readers. */
    for (unsigned i = 0; i < v->zc_n && (rc == 0 || rc == FBUS_ENOSLOT); i++)
        rc = requeue(v, w, i);
    if ((rc == 0 || rc == FBUS_ENOSLOT) && popcount32(v->queued) < MIN_QUEUED)
        rc = -ENOBUFS;
    else if (rc == 0 || rc == FBUS_ENOSLOT)
        rc = cap_xioctl(v->fd, VIDIOC_STREAMON, &type);
    if (rc == 0)
        v->streaming = 1;
    else
        app_log_warn(TAG, "%s: cannot stream into the bus slots: %s", v->path,
                     rc == -ENOBUFS ? "readers hold them" : fbus_strerror(rc));
    return rc;
}

/* Readers hold every free slot: sit out a frame period, as the driver has nothing to fill. */
static int starved(struct v4l2_source *v)
{
    struct timespec ts = {0, v->fps > 0 ? (long)(1e9 / v->fps) : 33000000};

    nanosleep(&ts, NULL);
    return CAP_NOFRAME;
}

/* Publishes dequeued buffer b, which is slot b->index. CAP_FRAME, CAP_NOFRAME, or an error. */
static int publish(struct v4l2_source *v, fbus_writer *w, const struct v4l2_buffer *b)
{
    int rc;

    if (v4l2src_broken(v, w, b)) {
        fbus_writer_abort_index(w, b->index);
        return CAP_NOFRAME;
    }
    rc = fbus_writer_commit_index(w, b->index, b->bytesused, v4l2src_time(v, b));
    if (rc != 0) {
        app_log_error(TAG, "cannot publish a frame: %s", fbus_strerror(rc));
        return rc;
    }
    v->latest = (int)b->index;
    v->done[b->index] = ++v->commits;
    return CAP_FRAME;
}

int v4l2src_zc_next(struct v4l2_source *v, fbus_writer *w)
{
    struct v4l2_buffer b;
    int rc, q;

    if (!v->queued && (rc = refill(v, w)) != 0)
        return rc;
    if (!v->queued)
        return starved(v);
    if ((rc = v4l2src_wait(v)) <= 0)
        return rc;
    if ((rc = v4l2src_dequeue(v, &b, V4L2_MEMORY_USERPTR)) <= 0)
        return rc;
    if (b.index >= v->zc_n || !(v->queued & (1u << b.index))) {
        app_log_error(TAG, "%s: the driver returned buffer %u, which was not queued", v->path,
                      b.index);
        return -EIO;
    }
    v->queued &= ~(1u << b.index);
    rc = publish(v, w, &b);
    q = refill(v, w);
    return q ? q : rc;
}

void v4l2src_zc_stop(struct v4l2_source *v)
{
    struct v4l2_requestbuffers req = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                                      .memory = V4L2_MEMORY_USERPTR};
    int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;

    if (v->streaming && cap_xioctl(v->fd, VIDIOC_STREAMOFF, &type) != 0) {
        cap_v4l2_close_dev(v->fd);
        v->fd = -1;
    }
    v->streaming = 0;
    for (unsigned i = 0; i < v->zc_n; i++)
        if (v->queued & (1u << i))
            fbus_writer_abort_index(v->w, i);
    v->queued = 0;
    if (v->fd >= 0)
        cap_xioctl(v->fd, VIDIOC_REQBUFS, &req);
    v->zc = 0;
    v->zc_n = 0;
}
