/*
 * v4l2_frame.c - what both capture paths of the camera source do with a
 * frame: wait for it (bounded), dequeue it, judge it, and date it.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "log.h"
#include "v4l2_dev.h"
#include "v4l2_source.h"

#define TAG V4L2SRC_TAG

int v4l2src_wait(struct v4l2_source *v)
{
    struct pollfd p = {.fd = v->fd, .events = POLLIN};
    int n = poll(&p, 1, v->timeout_ms);

    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    if (n == 0) {
        app_log_error(TAG,
                      "%s: no frame for %.1f s: the camera stopped delivering (check its "
                      "cable and power; --reconnect restarts it)",
                      v->path, v->timeout_ms / 1000.0);
        return -ETIMEDOUT;
    }
    return 1;
}

int v4l2src_dequeue(struct v4l2_source *v, struct v4l2_buffer *b, unsigned memory)
{
    int rc;

    memset(b, 0, sizeof(*b));
    b->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    b->memory = memory;
    rc = cap_xioctl(v->fd, VIDIOC_DQBUF, b);
    if (rc == -EAGAIN)
        return 0;
    if (rc == -ENODEV)
        app_log_error(TAG,
                      "%s: the camera is gone (unplugged, or its driver was unloaded); "
                      "plug it back in and use --reconnect to wait for it",
                      v->path);
    else if (rc != 0)
        app_log_error(TAG, "%s: cannot dequeue a frame: %s", v->path, strerror(-rc));
    return rc ? rc : 1;
}

/*
 * The driver's time of the frame when it is on CLOCK_MONOTONIC (the bus
 * clock), else now. Never later than now: vivid stamps a frame with its
 * ideal end-of-frame time, which under load can still lie ahead, and a
 * reader computing now - timestamp must not get a negative age.
 */
uint64_t v4l2src_time(struct v4l2_source *v, const struct v4l2_buffer *b)
{
    uint64_t now = fbus_now_ns();
    uint64_t t =
        (uint64_t)b->timestamp.tv_sec * 1000000000u + (uint64_t)b->timestamp.tv_usec * 1000u;

    if ((b->flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) != V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC || !t)
        return now;
    if (t > now) {
        if (!v->ahead_ns)
            app_log_debug(TAG,
                          "%s: the driver's timestamps run ahead of the clock (%.3f ms); "
                          "using the time of dequeueing for those frames",
                          v->path, (double)(t - now) / 1e6);
        if (t - now > v->ahead_ns)
            v->ahead_ns = t - now;
        return now;
    }
    return t;
}

int v4l2src_broken(struct v4l2_source *v, fbus_writer *w, const struct v4l2_buffer *b)
{
    if (!(b->flags & V4L2_BUF_FLAG_ERROR) && b->bytesused >= (v->cvt ? 1 : v->min_bytes))
        return 0;
    /* Some UVC cameras hand out short or error-flagged frames after a glitch on the bus. */
    APP_LOG_RATELIMITED(APP_LOG_WARN, TAG, "%s: dropping a broken frame (%u bytes%s)", v->path,
                        b->bytesused,
                        (b->flags & V4L2_BUF_FLAG_ERROR) ? ", flagged as an error" : "");
    fbus_writer_count_drop(w);
    return 1;
}
