/*
 * src_v4l2.c - frames from a V4L2 camera (--source v4l2:/dev/videoN),
 * through libv4l2.
 *
 * open() is a checklist: open and check the device, negotiate the format
 * (with libv4lconvert when the camera cannot give the bus format itself),
 * the frame rate, the bus layout. start(), once the bus exists, picks the
 * capture path and starts the stream:
 *
 *   - userptr zero-copy (v4l2_userptr.c): the bus slots themselves are the
 *     driver's buffers, when the driver offers USERPTR, no conversion is
 *     needed and the bus has the slots for it;
 *   - mmap + one copy: each dequeued driver buffer is copied into a claimed
 *     slot and queued back;
 *   - libv4l2 conversion (an MJPEG-only webcam asked for RGB3 or YU12):
 *     v4lconvert_convert() writes straight from the driver buffer into the
 *     claimed slot.
 *
 * libv4l2 is opened with its own conversion off and libv4lconvert is called
 * here, because libv4l2's conversion writes into a buffer of its own (one
 * more copy into the slot) or, through read(), drops the driver's
 * timestamps; and because libv4l2 refuses USERPTR buffers while its
 * conversion is on.
 */
#include <errno.h>
#include <libv4l2.h>
#include <libv4lconvert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"
#include "source.h"
#include "v4l2_dev.h"
#include "v4l2_source.h"

#define TAG V4L2SRC_TAG

#define NBUFS_WANT      4
#define DEFAULT_WIDTH   640
#define DEFAULT_HEIGHT  480
#define MIN_TIMEOUT_MS  3000 /* a camera silent this long has stopped */
#define TIMEOUT_PERIODS 10   /* ... or ten frame periods, for slow frame rates */
/* For tests: make the camera deliver this format, so that conversion is exercised. */
#define NATIVE_ENV "FBUS_CAPTURE_V4L2_NATIVE"

static const char *fcc(uint32_t f, char buf[5])
{
    return fbus_fourcc_str(f, buf);
}

/* ---- Format ----------------------------------------------------------------------------- */

/* The camera's formats as "YUYV MJPG", for messages. */
static void native_formats(int fd, char *out, size_t len)
{
    struct v4l2_fmtdesc d = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    size_t used = 0;
    char name[5];

    out[0] = '\0';
    for (d.index = 0; cap_xioctl(fd, VIDIOC_ENUM_FMT, &d) == 0 && used + 6 < len; d.index++)
        used += (size_t)snprintf(out + used, len - used, "%s%s", used ? " " : "",
                                 fcc(d.pixelformat, name));
}

static void format_error(const struct v4l2_source *v, uint32_t want)
{
    char list[128], name[5];

    native_formats(v->fd, list, sizeof(list));
    app_log(v->level, TAG,
            "%s (%s): cannot deliver %s: the camera has %s, and libv4l converts "
            "only to RGB3 BGR3 YU12 YV12; pick one with --format ('fbus-capture "
            "--list %s')",
            v->path, (const char *)v->cap.card, fcc(want, name), list[0] ? list : "no formats",
            v->path);
}

/* NATIVE_ENV: the camera format to convert from, for tests of the conversion path. */
static int force_native(struct v4l2_source *v)
{
    const char *env = getenv(NATIVE_ENV);
    struct v4l2_format f;
    char name[5];

    if (!env || !env[0])
        return 0;
    f = v->src;
    f.fmt.pix.pixelformat = fbus_fourcc_parse(env);
    if (cap_xioctl(v->fd, VIDIOC_TRY_FMT, &f) != 0 ||
        f.fmt.pix.pixelformat != fbus_fourcc_parse(env)) {
        app_log(v->level, TAG, "%s=%s: the camera has no such format", NATIVE_ENV, env);
        return FBUS_EFORMAT;
    }
    app_log_warn(TAG, "%s: camera format forced to %s", NATIVE_ENV,
                 fcc(f.fmt.pix.pixelformat, name));
    v->src = f;
    return 0;
}

/* Asks libv4lconvert how to get fourcc; fills v->dst and v->src. */
static int try_format(struct v4l2_source *v, uint32_t fourcc, const struct cap_request *req)
{
    memset(&v->dst, 0, sizeof(v->dst));
    v->dst.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    v->dst.fmt.pix.width = req->width ? req->width : DEFAULT_WIDTH;
    v->dst.fmt.pix.height = req->height ? req->height : DEFAULT_HEIGHT;
    v->dst.fmt.pix.pixelformat = fourcc;
    v->dst.fmt.pix.field = V4L2_FIELD_NONE;
    if (v4lconvert_try_format(v->cvt, &v->dst, &v->src) != 0) {
        app_log(v->level, TAG, "%s: format negotiation failed: %s", v->path,
                v4lconvert_get_error_message(v->cvt));
        return -EINVAL;
    }
    if (v->dst.fmt.pix.pixelformat != fourcc)
        return FBUS_EFORMAT;
    return force_native(v);
}

/* An explicit --size must be met exactly; the default size only approximately. */
static int check_size(const struct v4l2_source *v, const struct cap_request *req)
{
    uint32_t w = v->dst.fmt.pix.width, h = v->dst.fmt.pix.height;

    if (!req->width && (w != DEFAULT_WIDTH || h != DEFAULT_HEIGHT))
        app_log_info(TAG, "%s: asked for %ux%u, the camera gives %ux%u", v->path, DEFAULT_WIDTH,
                     DEFAULT_HEIGHT, w, h);
    if (req->width && (w != req->width || h != req->height)) {
        app_log(v->level, TAG,
                "%s (%s): cannot deliver %ux%u (nearest: %ux%u); pick a size "
                "that 'fbus-capture --list %s' shows",
                v->path, (const char *)v->cap.card, req->width, req->height, w, h, v->path);
        return FBUS_ESIZE;
    }
    return 0;
}

/* S_FMT of the camera's side; the driver may still adjust it, the bus side follows. */
static int set_format(struct v4l2_source *v, const struct cap_request *req)
{
    int rc = cap_xioctl(v->fd, VIDIOC_S_FMT, &v->src);

    if (rc != 0) {
        app_log(v->level, TAG, "%s: cannot set the format: %s%s", v->path, strerror(-rc),
                rc == -EBUSY ? " (another program is streaming from it; stop that program)" : "");
        return rc;
    }
    if (!v4lconvert_needs_conversion(v->cvt, &v->src, &v->dst)) {
        v4lconvert_destroy(v->cvt);
        v->cvt = NULL;
        v->dst = v->src;
        return check_size(v, req);
    }
    v->dst.fmt.pix.width = v->src.fmt.pix.width;
    v->dst.fmt.pix.height = v->src.fmt.pix.height;
    v4lconvert_fixup_fmt(&v->dst);
    return check_size(v, req);
}

static int negotiate(struct v4l2_source *v, const struct cap_request *req)
{
    uint32_t want = req->fourcc ? req->fourcc : FBUS_FMT_YUYV;
    char name[5];
    int rc;

    if (!(v->cvt = v4lconvert_create(v->fd))) {
        app_log(v->level, TAG, "%s: libv4lconvert cannot start: %s", v->path, strerror(errno));
        return -ENOMEM;
    }
    if (req->fps)
        v4lconvert_set_fps(v->cvt, (int)req->fps);
    rc = try_format(v, want, req);
    if (rc == FBUS_EFORMAT && !req->fourcc) {
        /* No YUYV (an MJPEG-only webcam): RGB3 through libv4lconvert is always possible. */
        want = FBUS_FMT_RGB24;
        if ((rc = try_format(v, want, req)) == 0)
            app_log_info(TAG, "%s: the camera has no YUYV; the bus gets %s", v->path,
                         fcc(want, name));
    }
    if (rc == FBUS_EFORMAT)
        format_error(v, want);
    if (rc == 0)
        rc = check_size(v, req);
    return rc ? rc : set_format(v, req);
}

/* ---- Rate, layout, buffers, stream ------------------------------------------------------ */

static void set_rate(struct v4l2_source *v, const struct cap_request *req)
{
    struct v4l2_streamparm p = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    struct v4l2_fract *t = &p.parm.capture.timeperframe;

    if (cap_xioctl(v->fd, VIDIOC_G_PARM, &p) == 0 && req->fps) {
        if (p.parm.capture.capability & V4L2_CAP_TIMEPERFRAME) {
            t->numerator = 1;
            t->denominator = req->fps;
            cap_xioctl(v->fd, VIDIOC_S_PARM, &p);
        } else {
            app_log_warn(TAG, "%s: the driver cannot set a frame rate; --fps ignored", v->path);
        }
    }
    v->fps = t->numerator && t->denominator ? (double)t->denominator / t->numerator : 0;
    if (req->fps && v->fps > 0 && (v->fps < req->fps * 0.99 || v->fps > req->fps * 1.01))
        app_log_warn(TAG, "%s: asked for %u fps, the camera runs at %.3f fps", v->path, req->fps,
                     v->fps);
    v->timeout_ms = MIN_TIMEOUT_MS;
    if (v->fps > 0 && TIMEOUT_PERIODS * 1000 / v->fps > MIN_TIMEOUT_MS)
        v->timeout_ms = (int)(TIMEOUT_PERIODS * 1000 / v->fps);
}

/*
 * The bus layout from the negotiated format: the library reads the driver's
 * strides (fbus_format_from_driver: a padded bytesperline, a larger sizeimage).
 */
static int bus_format(struct v4l2_source *v)
{
    const struct v4l2_pix_format *p = &v->dst.fmt.pix;
    struct fbus_format packed;
    char name[5];

    if (fbus_format_from_driver(&v->fmt, p->pixelformat, p->width, p->height, p->bytesperline,
                                p->sizeimage) == 0 &&
        fbus_format_init(&packed, p->pixelformat, p->width, p->height) == 0) {
        /* A whole raw frame fills at least its packed planes; a JPEG, any byte count. */
        v->min_bytes = packed.fourcc == FBUS_FMT_MJPEG ? 1 : packed.sizeimage;
        return 0;
    }
    app_log(v->level, TAG,
            "%s: the driver's %s %ux%u layout (%u bytes/line, %u bytes/frame) "
            "is not one framebus can carry; try another --format",
            v->path, fcc(p->pixelformat, name), p->width, p->height, p->bytesperline, p->sizeimage);
    return FBUS_EFORMAT;
}

static int map_buffers(struct v4l2_source *v)
{
    struct v4l2_requestbuffers req = {
        .count = NBUFS_WANT, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    int rc;

    if ((rc = cap_xioctl(v->fd, VIDIOC_REQBUFS, &req)) != 0 || req.count < 1 ||
        req.count > V4L2SRC_BUFS_MAX) {
        app_log(v->level, TAG, "%s: cannot get mmap buffers: %s", v->path,
                rc ? strerror(-rc) : "the driver offers too few or too many");
        return rc ? rc : -ENOMEM;
    }
    for (v->nbufs = 0; v->nbufs < req.count; v->nbufs++) {
        struct v4l2_buffer b = {.index = v->nbufs, .type = req.type, .memory = req.memory};
        if ((rc = cap_xioctl(v->fd, VIDIOC_QUERYBUF, &b)) != 0)
            break;
        v->bufs[v->nbufs].length = b.length;
        v->bufs[v->nbufs].start =
            v4l2_mmap(NULL, b.length, PROT_READ, MAP_SHARED, v->fd, b.m.offset);
        if (v->bufs[v->nbufs].start == MAP_FAILED) {
            rc = -errno;
            break;
        }
    }
    if (rc != 0)
        app_log(v->level, TAG, "%s: cannot map buffer %u: %s", v->path, v->nbufs, strerror(-rc));
    return rc;
}

static int queue(struct v4l2_source *v, unsigned index)
{
    struct v4l2_buffer b = {
        .index = index, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};

    return cap_xioctl(v->fd, VIDIOC_QBUF, &b);
}

static int mmap_start(struct v4l2_source *v)
{
    int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    int rc;

    if ((rc = map_buffers(v)) != 0)
        return rc;
    for (unsigned i = 0; i < v->nbufs && rc == 0; i++)
        rc = queue(v, i);
    if (rc == 0 && (rc = cap_xioctl(v->fd, VIDIOC_STREAMON, &type)) == 0)
        v->streaming = 1;
    if (rc != 0)
        app_log(v->level, TAG, "%s: cannot start streaming: %s", v->path, strerror(-rc));
    return rc;
}

static void mmap_stop(struct v4l2_source *v)
{
    struct v4l2_requestbuffers req = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                                      .memory = V4L2_MEMORY_MMAP};
    int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;

    if (v->streaming)
        cap_xioctl(v->fd, VIDIOC_STREAMOFF, &type);
    v->streaming = 0;
    for (unsigned i = 0; i < v->nbufs; i++)
        v4l2_munmap(v->bufs[i].start, v->bufs[i].length);
    if (v->nbufs)
        cap_xioctl(v->fd, VIDIOC_REQBUFS, &req);
    v->nbufs = 0;
}

/* What was negotiated (always). */
static void report_format(const struct v4l2_source *v)
{
    char a[5], b[5];

    app_log_info(TAG, "%s (%s, %s): %s %ux%u, %u bytes/line, %.3f fps%s%s%s", v->path,
                 (const char *)v->cap.card, (const char *)v->cap.driver, fcc(v->fmt.fourcc, a),
                 v->fmt.width, v->fmt.height, v->fmt.bytesperline, v->fps,
                 v->cvt ? " (converted from the camera's " : "",
                 v->cvt ? fcc(v->src.fmt.pix.pixelformat, b) : "", v->cvt ? ")" : "");
}

/* With --verbose: the path the frames take, and why not zero-copy when it is not. */
static void report_path(const struct v4l2_source *v, const char *no_zc)
{
    char a[5], b[5];

    if (!v->verbose)
        return;
    if (v->zc)
        app_log_info(TAG,
                     "path: userptr zero-copy, the driver writes into the bus slots (%u "
                     "slots queued as USERPTR buffers)",
                     v->zc_n);
    else if (v->cvt)
        app_log_info(TAG,
                     "path: libv4l2 conversion, %s -> %s by libv4lconvert straight into "
                     "the slot (%u mmap buffers)",
                     fcc(v->src.fmt.pix.pixelformat, b), fcc(v->fmt.fourcc, a), v->nbufs);
    else
        app_log_info(TAG, "path: mmap + one copy, driver buffer -> slot (%u mmap buffers)",
                     v->nbufs);
    if (no_zc)
        app_log_info(TAG, "no userptr zero-copy: %s", no_zc);
}

/* ---- Open, start, close ----------------------------------------------------------------- */

static void v4l2_close_source(struct cap_source *s)
{
    struct v4l2_source *v = (struct v4l2_source *)s;

    if (!v)
        return;
    if (v->ahead_ns)
        app_log_debug(TAG, "%s: driver timestamps ran up to %.3f ms ahead of the clock", v->path,
                      (double)v->ahead_ns / 1e6);
    if (v->zc)
        v4l2src_zc_stop(v);
    mmap_stop(v);
    if (v->cvt)
        v4lconvert_destroy(v->cvt);
    cap_v4l2_close_dev(v->fd);
    free(v);
}

static int v4l2_open_source(struct cap_source **out, const struct cap_request *req,
                            struct fbus_format *fmt)
{
    struct v4l2_source *v = calloc(1, sizeof(*v));
    int rc;

    if (!v)
        return -ENOMEM;
    v->base.ops = &cap_source_v4l2;
    v->path = req->arg[0] ? req->arg : "/dev/video0";
    v->level = req->quiet ? APP_LOG_DEBUG : APP_LOG_ERROR;
    v->verbose = req->verbose;
    v->slots = req->slots;
    if ((v->fd = cap_v4l2_open_dev(v->path, 0, v->level, &v->cap)) < 0) {
        rc = v->fd;
        goto fail;
    }
    if ((rc = negotiate(v, req)) != 0)
        goto fail;
    set_rate(v, req);
    if ((rc = bus_format(v)) != 0)
        goto fail;
    report_format(v);
    *fmt = v->fmt;
    *out = &v->base;
    return 0;

fail:
    v4l2_close_source(&v->base);
    return rc;
}

/* Zero-copy when it can be had, else mmap + one copy (or the conversion). */
static int v4l2_start(struct cap_source *s, fbus_writer *w)
{
    struct v4l2_source *v = (struct v4l2_source *)s;
    const char *no_zc = v4l2src_zc_why_not(v);

    if (!no_zc && v4l2src_zc_start(v, w) != 0) {
        v4l2src_zc_stop(v);
        no_zc = "the driver refused the bus slots as USERPTR buffers (see above)";
    }
    if (!v->zc) {
        int rc = mmap_start(v);
        if (rc != 0)
            return rc;
    }
    report_path(v, no_zc);
    return 0;
}

/* ---- Frames (mmap + one copy, or the conversion) ---------------------------------------- */

/* Writes buffer b into the slot: a copy, or the conversion. Bytes written, or -1. */
static int fill(struct v4l2_source *v, const struct v4l2_buffer *b, const struct fbus_wslot *slot)
{
    unsigned char *src = v->bufs[b->index].start;
    size_t cap = slot->capacity > INT32_MAX ? INT32_MAX : slot->capacity;

    if (v->cvt) {
        int n = v4lconvert_convert(v->cvt, &v->src, &v->dst, src, (int)b->bytesused, slot->data,
                                   (int)cap);
        if (n < 0)
            APP_LOG_RATELIMITED(APP_LOG_WARN, TAG,
                                "dropping a frame libv4lconvert cannot convert: %s",
                                v4lconvert_get_error_message(v->cvt));
        return n;
    }
    if (b->bytesused > cap) {
        APP_LOG_RATELIMITED(APP_LOG_WARN, TAG, "dropping a %u-byte frame: the slot holds %zu",
                            b->bytesused, cap);
        return -1;
    }
    memcpy(slot->data, src, b->bytesused);
    return (int)b->bytesused;
}

/* Publishes dequeued buffer b. CAP_FRAME, CAP_NOFRAME (dropped), or a negative error. */
static int publish(struct v4l2_source *v, fbus_writer *w, const struct v4l2_buffer *b)
{
    struct fbus_wslot slot;
    int n, rc;

    if (b->index >= v->nbufs || v4l2src_broken(v, w, b))
        return CAP_NOFRAME;
    if ((rc = fbus_writer_claim(w, &slot)) == FBUS_ENOSLOT)
        return CAP_NOFRAME; /* readers hold every other slot; counted as a drop */
    if (rc != 0)
        return rc;
    if ((n = fill(v, b, &slot)) < 0) {
        fbus_writer_abort(w);
        fbus_writer_count_drop(w);
        return CAP_NOFRAME;
    }
    rc = fbus_writer_commit(w, (size_t)n, v4l2src_time(v, b));
    return rc ? rc : CAP_FRAME;
}

static int v4l2_next(struct cap_source *s, fbus_writer *w)
{
    struct v4l2_source *v = (struct v4l2_source *)s;
    struct v4l2_buffer b;
    int rc, q;

    if (v->zc)
        return v4l2src_zc_next(v, w);
    if ((rc = v4l2src_wait(v)) <= 0)
        return rc;
    if ((rc = v4l2src_dequeue(v, &b, V4L2_MEMORY_MMAP)) <= 0)
        return rc;
    rc = publish(v, w, &b);
    if (rc < 0)
        app_log_error(TAG, "cannot publish a frame: %s", fbus_strerror(rc));
    if ((q = queue(v, b.index)) != 0) {
        app_log_error(TAG, "%s: cannot queue a buffer back: %s", v->path, strerror(-q));
        return q;
    }
    return rc;
}

const struct cap_source_ops cap_source_v4l2 = {
    .kind = "v4l2",
    .can_reconnect = 1,
    .open = v4l2_open_source,
    .start = v4l2_start,
    .next = v4l2_next,
    .close = v4l2_close_source,
};
