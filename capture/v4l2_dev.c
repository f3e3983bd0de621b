/*
 * v4l2_dev.c - opening and checking V4L2 devices; see v4l2_dev.h.
 */
#include "v4l2_dev.h"

#include <errno.h>
#include <fcntl.h>
#include <libv4l2.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"

#define TAG "v4l2"

int cap_xioctl(int fd, unsigned long request, void *arg)
{
    int r;

    do {
        r = v4l2_ioctl(fd, request, arg);
    } while (r == -1 && errno == EINTR);
    return r == -1 ? -errno : 0;
}

/* What to do about a failed open(2) of a device path. */
static void open_error(const char *path, int err, int level)
{
    const char *what;

    switch (err) {
    case ENOENT:
        what = "no such device; list cameras with 'fbus-capture --list' or use --source test";
        break;
    case EACCES:
    case EPERM:
        what = "permission denied; add the user to the 'video' group (and log in again), "
               "or run as root";
        break;
    case EBUSY:
        what = "device busy: another program is using it; stop that program";
        break;
    case ENODEV:
    case ENXIO:
        what = "device not present (unplugged?); plug it back in, or list cameras with "
               "'fbus-capture --list'";
        break;
    case EISDIR:
        what = "is a directory, not a video device; cameras are /dev/videoN ('fbus-capture "
               "--list')";
        break;
    default:
        app_log(level, TAG, "%s: cannot open: %s", path, strerror(err));
        return;
    }
    app_log(level, TAG, "%s: %s", path, what);
}

/* A plain ioctl, before libv4l2 sees the fd: it would print its own error for non-V4L2 files. */
static int query_caps(int fd, const char *path, int level, struct v4l2_capability *cap)
{
    int r;

    do {
        r = ioctl(fd, VIDIOC_QUERYCAP, cap);
    } while (r == -1 && errno == EINTR);
    if (r == -1 && errno == ENODEV) {
        open_error(path, ENODEV, level);
        return -ENODEV;
    }
    if (r == -1) {
        app_log(level, TAG,
                "%s: not a V4L2 device; cameras are /dev/videoN: list them with "
                "'fbus-capture --list', or use --source test",
                path);
        return -ENOTTY;
    }
    if (cap->capabilities & V4L2_CAP_DEVICE_CAPS)
        cap->capabilities = cap->device_caps;
    return 0;
}

static int check_caps(const struct v4l2_capability *cap, const char *path, int level)
{
    uint32_t c = cap->capabilities;

    if (!(c & V4L2_CAP_VIDEO_CAPTURE) && (c & V4L2_CAP_VIDEO_CAPTURE_MPLANE)) {
        app_log(level, TAG, "%s (%s): multi-planar capture devices are not supported yet", path,
                (const char *)cap->card);
        return -ENOTSUP;
    }
    if (!(c & V4L2_CAP_VIDEO_CAPTURE)) {
        app_log(level, TAG,
                "%s (%s): not a video capture device (a camera's second node is "
                "often for metadata); 'fbus-capture --list' shows which node "
                "captures",
                path, (const char *)cap->card);
        return -ENOTSUP;
    }
    if (!(c & V4L2_CAP_STREAMING)) {
        app_log(level, TAG,
                "%s (%s): the driver has no streaming I/O, which fbus-capture "
                "needs",
                path, (const char *)cap->card);
        return -ENOTSUP;
    }
    return 0;
}

int cap_v4l2_open_dev(const char *path, int emulate, int level, struct v4l2_capability *cap)
{
    int fd, rc;

    fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        open_error(path, -rc, level);
        return rc;
    }
    if ((rc = query_caps(fd, path, level, cap)) != 0 || (rc = check_caps(cap, path, level)) != 0)
        goto fail_close;
    if (v4l2_fd_open(fd, emulate ? 0 : V4L2_DISABLE_CONVERSION) == -1) {
        rc = -errno;
        app_log(level, TAG, "%s: libv4l2 cannot use it: %s", path, strerror(-rc));
        goto fail_close;
    }
    return fd;

fail_close:
    close(fd);
    return rc;
}

void cap_v4l2_close_dev(int fd)
{
    if (fd >= 0)
        v4l2_close(fd);
}
