/*
 * v4l2_userptr.c - zero-copy capture: the bus slots are the driver's buffers
 * (V4L2_MEMORY_USERPTR), so each frame is written once, by the driver, where
 * the readers read it.
 *
 * Buffer index i is always bus slot i, so the driver sees the same address
 * for an index every time and vb2 keeps its pages pinned. A slot stays
 * claimed for as long as it is queued: no reader can take it, and none
 * trusts its old descriptor. When the driver hands it back it is committed
 * and becomes the latest frame. Which slots go to the driver is the
 * library's choice (fbus_writer_claim_slots: oldest first, never the latest,
 * never one a reader holds or a lossless reader has not consumed); they go
 * lazily, once fewer than MIN_QUEUED are left with it, which gives readers
 * time to release what they hold.
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

/* Queues claimed slot s as USERPTR buffer s->index; gives it back if the driver refuses it. */
static int queue_slot(struct v4l2_source *v, fbus_writer *w, const struct fbus_wslot *s)
{
    struct v4l2_buffer b = {
        .index = s->index, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_USERPTR};
    int rc;

    b.m.userptr = (unsigned long)s->data;
    b.length = (uint32_t)s->capacity;
    if ((rc = cap_xioctl(v->fd, VIDIOC_QBUF, &b)) != 0) {
        fbus_writer_abort_index(w, s->index);
        app_log(v->level, TAG, "%s: cannot queue bus slot %u as a USERPTR buffer: %s", v->path,
                s->index, strerror(-rc));
        return rc;
    }
    v->queued |= 1u << s->index;
    return 0;
}

/*
 * Claims up to want slots and queues each to the driver. A driver that
 * granted fewer buffers than the bus has slots has no buffer for slots
 * zc_n and up: the library may offer those too, so as many more are asked
 * for and whatever is not queued is given back. 0 (also when none was
 * free: readers hold them) or -errno.
 */
static int claim_queue(struct v4l2_source *v, fbus_writer *w, unsigned want)
{
    struct fbus_wslot got[FBUS_SLOTS_MAX];
    int n = fbus_writer_claim_slots(w, got, want + v->slots - v->zc_n);
    int rc = n < 0 ? n : 0;

    for (int k = 0; k < n; k++) {
        if (rc == 0 && want > 0 && got[k].index < v->zc_n) {
            rc = queue_slot(v, w, &got[k]);
            want--;
        } else {
            fbus_writer_abort_index(w, got[k].index);
        }
    }
    return rc;
}

/* Gives the driver slots again when it is down to fewer than MIN_QUEUED. 0 or -errno. */
static int refill(struct v4l2_source *v, fbus_writer *w)
{
    int queued = popcount32(v->queued);

    return queued < MIN_QUEUED ? claim_queue(v, w, (unsigned)(MIN_QUEUED - queued)) : 0;
}

int v4l2src_zc_start(struct v4l2_source *v, fbus_writer *w)
{
    struct v4l2_requestbuffers req = {
        .count = v->slots, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_USERPTR};
    int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    int rc;

    v->w = w;
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
    rc = claim_queue(v, w, v->zc_n);
    if (rc == 0 && popcount32(v->queued) < MIN_QUEUED)
        rc = -ENOBUFS;
    else if (rc == 0)
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
