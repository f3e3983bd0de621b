/*
 * v4l2_list.c - fbus-capture --list [DEVICE]: the V4L2 capture devices and,
 * for each, its formats (those libv4l converts to are marked), frame sizes
 * and frame rates, as `v4l2-ctl --list-formats-ext` shows them, so that a
 * user can pick --source, --format, --size and --fps.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "source.h"
#include "v4l2_dev.h"

#define TAG "list"

static int is_video_node(const struct dirent *d)
{
    return !strncmp(d->d_name, "video", 5) && isdigit((unsigned char)d->d_name[5]);
}

static int by_number(const struct dirent **a, const struct dirent **b)
{
    return atoi((*a)->d_name + 5) - atoi((*b)->d_name + 5);
}

static double fps_of(const struct v4l2_fract *t)
{
    return t->numerator ? (double)t->denominator / t->numerator : 0;
}

/* The frame rates of one size, after what print_sizes() put on the line. */
static void print_rates(int fd, uint32_t fourcc, uint32_t w, uint32_t h)
{
    struct v4l2_frmivalenum iv = {.pixel_format = fourcc, .width = w, .height = h};

    for (iv.index = 0; cap_xioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &iv) == 0; iv.index++) {
        if (iv.type != V4L2_FRMIVAL_TYPE_DISCRETE) {
            /* The longest interval is the lowest rate. */
            printf(" %.3f to %.3f", fps_of(&iv.stepwise.max), fps_of(&iv.stepwise.min));
            iv.index++;
            break;
        }
        printf(" %.3f", fps_of(&iv.discrete));
    }
    printf(iv.index ? " fps\n" : " (rates not listed)\n");
}

static void print_sizes(int fd, uint32_t fourcc)
{
    struct v4l2_frmsizeenum fs = {.pixel_format = fourcc};

    for (fs.index = 0; cap_xioctl(fd, VIDIOC_ENUM_FRAMESIZES, &fs) == 0; fs.index++) {
        if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
            printf("      %ux%u:", fs.discrete.width, fs.discrete.height);
            print_rates(fd, fourcc, fs.discrete.width, fs.discrete.height);
            continue;
        }
        const struct v4l2_frmsize_stepwise *s = &fs.stepwise;
        printf("      %ux%u to %ux%u, step %ux%u (rates at the largest):", s->min_width,
               s->min_height, s->max_width, s->max_height, s->step_width, s->step_height);
        print_rates(fd, fourcc, s->max_width, s->max_height);
        return;
    }
    if (fs.index == 0)
        printf("      (sizes not listed by the driver)\n");
}

static void print_formats(int fd)
{
    struct v4l2_fmtdesc d = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    char name[5];

    for (d.index = 0; cap_xioctl(fd, VIDIOC_ENUM_FMT, &d) == 0; d.index++) {
        printf("    %s  %s%s%s\n", fbus_fourcc_str(d.pixelformat, name),
               (const char *)d.description,
               (d.flags & V4L2_FMT_FLAG_EMULATED) ? "  [converted by libv4l]" : "",
               fbus_fourcc_known(d.pixelformat) ? "" : "  [not a bus format]");
        print_sizes(fd, d.pixelformat);
    }
}

/* Lists one device. 1 if it is a capture device, 0 if not (said why on stderr). */
static int list_one(const char *path)
{
    struct v4l2_capability cap;
    int fd = cap_v4l2_open_dev(path, 1, APP_LOG_WARN, &cap);

    if (fd < 0)
        return 0;
    printf("%s: %s (driver %s, %s)\n", path, (const char *)cap.card, (const char *)cap.driver,
           (const char *)cap.bus_info);
    print_formats(fd);
    cap_v4l2_close_dev(fd);
    return 1;
}

int cap_v4l2_list(const char *device)
{
    struct dirent **names;
    char path[300];
    int n, found = 0;

    if (device)
        return list_one(device) ? CAP_EXIT_OK : CAP_EXIT_SOURCE;
    n = scandir("/dev", &names, is_video_node, by_number);
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "/dev/%s", names[i]->d_name);
        found += list_one(path);
        free(names[i]);
    }
    if (n >= 0)
        free(names);
    if (!found) {
        app_log_error(TAG, "no video capture device found (/dev/video*); plug a camera in, "
                           "or use --source test");
        return CAP_EXIT_SOURCE;
    }
    return CAP_EXIT_OK;
}
