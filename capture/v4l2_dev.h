/*
 * v4l2_dev.h - opening V4L2 devices through libv4l2, for the camera source
 * and for --list: the one ioctl wrapper, and failures explained in terms of
 * what the user should do.
 */
#ifndef FBUS_CAPTURE_V4L2_DEV_H
#define FBUS_CAPTURE_V4L2_DEV_H

#include <linux/videodev2.h>

/* v4l2_ioctl(), retried while a signal interrupts it. Returns 0 or -errno. */
int cap_xioctl(int fd, unsigned long request, void *arg);

/*
 * Opens path (O_RDWR | O_NONBLOCK | O_CLOEXEC) and registers it with
 * libv4l2: with libv4l's format emulation when `emulate` (what --list shows),
 * without it otherwise (the camera source converts by itself). Checks that
 * it is a single-planar streaming capture device and fills *cap (device caps
 * in cap->capabilities). Returns the fd, or -errno after logging at `level`
 * what is wrong and what to do.
 */
int cap_v4l2_open_dev(const char *path, int emulate, int level, struct v4l2_capability *cap);

/* Closes an fd from cap_v4l2_open_dev(); accepts -1. */
void cap_v4l2_close_dev(int fd);

#endif
