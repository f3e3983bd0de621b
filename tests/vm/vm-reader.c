/*
 * vm-reader.c - checks for the fbus-capture VM test (tests/vm/scripts/capture-vivid.sh),
 * built static so that it runs in the VM (and on the host, for the PNG check).
 *
 *   vm-reader read BUS FOURCC WxH COUNT [TIMEOUT_S]
 *       Attaches bus BUS (waiting for it) and reads frames until it has seen frame COUNT or
 *       the bus closes. Every frame must have the format, a whole frame's bytes, a larger
 *       sequence number and a later timestamp than the one before (on CLOCK_MONOTONIC, not in
 *       the future), and not be uniform. Passes if it saw frame COUNT and at least 90 % of
 *       the frames; prints what it saw.
 *   vm-reader press DEVICE CONTROL [HOLD_S]
 *       Presses the (button) control named CONTROL of a V4L2 device, e.g. vivid's
 *       "Disconnect", which makes the device behave as if unplugged, and keeps the device open
 *       HOLD_S seconds more: vivid plugs itself back in when its last user closes it.
 *   vm-reader set DEVICE CONTROL VALUE [HOLD_S]
 *       The same for an integer control, e.g. vivid's "Percentage of Dropped Buffers".
 *   vm-reader controls DEVICE
 *       Lists the names of the device's controls.
 *   vm-reader check-png FILE WxH
 *       Is FILE a plausible picture of vivid's default pattern: that size, not uniform, and
 *       the eight 75 % colour bars (white yellow cyan green magenta red blue black) across
 *       its lower half.
 *
 * Exit status 0 on success, 1 on a failed check, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/videodev2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "framebus/framebus.h"
#include "png_io.h"

struct seen {
    uint64_t frames, first, last, last_ts, first_ts, gaps;
    int errors;
};

static int parse_size(const char *s, uint32_t *w, uint32_t *h)
{
    return sscanf(s, "%ux%u", w, h) == 2 && *w && *h ? 0 : -1;
}

static void fail(struct seen *s, uint64_t seq, const char *what)
{
    if (s->errors++ < 10)
        fprintf(stderr, "vm-reader: frame %" PRIu64 ": %s\n", seq, what);
}

/* Not one byte value all over: a camera frame has a picture in it. */
static int uniform(const uint8_t *p, size_t n)
{
    for (size_t i = 1; i < n; i += 7)
        if (p[i] != p[0])
            return 0;
    return 1;
}

static void check_frame(struct seen *s, const struct fbus_frame *f, const struct fbus_format *want)
{
    if (f->format.fourcc != want->fourcc || f->format.width != want->width ||
        f->format.height != want->height)
        fail(s, f->seq, "wrong format");
    if (f->bytesused < want->sizeimage)
        fail(s, f->seq, "fewer bytes than a whole frame");
    if (s->frames && f->seq <= s->last)
        fail(s, f->seq, "sequence number did not increase");
    if (s->frames && f->timestamp_ns <= s->last_ts)
        fail(s, f->seq, "timestamp did not increase");
    if (f->timestamp_ns == 0 || f->timestamp_ns > fbus_now_ns())
        fail(s, f->seq, "timestamp not on CLOCK_MONOTONIC (zero or in the future)");
    if (uniform(f->data, f->bytesused))
        fail(s, f->seq, "uniform frame: no picture");
    if (s->frames && f->seq > s->last + 1)
        s->gaps += f->seq - s->last - 1;
    if (!s->frames) {
        s->first = f->seq;
        s->first_ts = f->timestamp_ns;
    }
    s->last = f->seq;
    s->last_ts = f->timestamp_ns;
    s->frames++;
}

/*
 * Waits for the bus. FBUS_ECORRUPT is retried too, for a while: a reader that attaches while
 * the writer is still filling in a new header (between its shmget and the magic) gets it
 * instead of FBUS_ENOBUS (a library race, reported; seen here under emulation).
 */
static fbus_reader *attach(const char *bus, uint64_t end)
{
    uint64_t corrupt_until = fbus_now_ns() + 3000000000u;
    fbus_reader *r = NULL;
    int rc;

    while (((rc = fbus_reader_open(&r, bus, NULL)) == FBUS_ENOBUS ||
            (rc == FBUS_ECORRUPT && fbus_now_ns() < corrupt_until)) &&
           fbus_now_ns() < end)
        usleep(20000);
    if (rc != 0)
        fprintf(stderr, "vm-reader: cannot attach bus '%s': %s\n", bus, fbus_strerror(rc));
    return rc ? NULL : r;
}

static void read_frames(fbus_reader *r, struct seen *s, const struct fbus_format *want,
                        uint64_t count, uint64_t end)
{
    while (s->last < count && fbus_now_ns() < end) {
        struct fbus_frame f;
        int rc = fbus_reader_acquire(r, &f, s->last, 1000);
        if (rc == FBUS_ETIMEDOUT || rc == FBUS_EWRITER_GONE)
            continue; /* a camera being reconnected: the bus stays, frames resume */
        if (rc != 0) {
            fprintf(stderr, "vm-reader: acquire: %s\n", fbus_strerror(rc));
            break;
        }
        check_frame(s, &f, want);
        fbus_reader_release(r, &f);
    }
}

static int cmd_read(int argc, char **argv)
{
    struct fbus_format want;
    struct seen s = {0};
    uint32_t w, h;
    uint64_t count, end;
    fbus_reader *r;

    if (argc < 6 || parse_size(argv[4], &w, &h) ||
        fbus_format_init(&want, fbus_fourcc_parse(argv[3]), w, h) || !(count = atoi(argv[5])))
        return 2;
    end = fbus_now_ns() + (uint64_t)(argc > 6 ? atoi(argv[6]) : 120) * 1000000000u;
    if (!(r = attach(argv[2], end)))
        return 1;
    read_frames(r, &s, &want, count, end);
    fbus_reader_close(r);
    double secs = (double)(s.last_ts - s.first_ts) / 1e9;
    printf("vm-reader: bus %s: %" PRIu64 " frames, seq %" PRIu64 "..%" PRIu64 ", %" PRIu64
           " missed, %.2f fps by the timestamps, %d bad\n",
           argv[2], s.frames, s.first, s.last, s.gaps,
           secs > 0 ? (double)(s.last - s.first) / secs : 0.0, s.errors);
    if (s.last < count || s.frames * 10 < count * 9)
        fprintf(stderr, "vm-reader: wanted frame %" PRIu64 " and 90 %% of the frames\n", count);
    return s.errors || s.last < count || s.frames * 10 < count * 9;
}

/* Sets control `name` of fd to value; 0, or -1 after saying why. */
static int set_control(int fd, const char *dev, const char *name, int value)
{
    struct v4l2_queryctrl q = {.id = V4L2_CTRL_FLAG_NEXT_CTRL};

    while (ioctl(fd, VIDIOC_QUERYCTRL, &q) == 0) {
        if (!strcmp((const char *)q.name, name)) {
            struct v4l2_control c = {.id = q.id, .value = value};
            int rc = ioctl(fd, VIDIOC_S_CTRL, &c);
            fprintf(stderr, "vm-reader: %s: '%s' = %d: %s\n", dev, name, value,
                    rc ? strerror(errno) : "ok");
            return rc ? -1 : 0;
        }
        q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
    }
    fprintf(stderr, "vm-reader: %s: no control '%s'\n", dev, name);
    return -1;
}

/* press DEVICE CONTROL [HOLD_S], set DEVICE CONTROL VALUE [HOLD_S] */
static int cmd_set(int argc, char **argv, int press)
{
    int fd, rc, hold;

    if (argc < 4 + !press || argc > 5 + !press)
        return 2;
    if ((fd = open(argv[2], O_RDWR | O_CLOEXEC)) < 0) {
        fprintf(stderr, "vm-reader: %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    rc = set_control(fd, argv[2], argv[3], press ? 1 : atoi(argv[4]));
    hold = argc == 5 + !press ? atoi(argv[4 + !press]) : 0;
    if (rc == 0 && hold > 0)
        sleep((unsigned)hold);
    close(fd);
    return rc != 0;
}

static int cmd_controls(int argc, char **argv)
{
    struct v4l2_queryctrl q = {.id = V4L2_CTRL_FLAG_NEXT_CTRL};
    int fd;

    if (argc != 3)
        return 2;
    if ((fd = open(argv[2], O_RDWR | O_CLOEXEC)) < 0) {
        fprintf(stderr, "vm-reader: %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    for (; ioctl(fd, VIDIOC_QUERYCTRL, &q) == 0; q.id |= V4L2_CTRL_FLAG_NEXT_CTRL)
        if (q.type != V4L2_CTRL_TYPE_CTRL_CLASS)
            printf("%s\n", (const char *)q.name);
    close(fd);
    return 0;
}

/* Bar i of the 75 % colour bars, at the centre of its column, in the row y. */
static int bar_ok(const uint8_t *rgb, uint32_t w, uint32_t y, unsigned i)
{
    static const uint8_t on[8][3] = {{1, 1, 1}, {1, 1, 0}, {0, 1, 1}, {0, 1, 0},
                                     {1, 0, 1}, {1, 0, 0}, {0, 0, 1}, {0, 0, 0}};
    const uint8_t *p = rgb + ((size_t)y * w + (size_t)w * (2 * i + 1) / 16) * 3;

    for (int c = 0; c < 3; c++)
        if (on[i][c] ? p[c] < 150 || p[c] > 230 : p[c] > 40)
            return 0;
    return 1;
}

static int cmd_check_png(int argc, char **argv)
{
    uint32_t w, h, ww, hh;
    uint8_t *rgb;
    int rc, bad = 0;

    if (argc != 4 || parse_size(argv[3], &ww, &hh))
        return 2;
    if ((rc = app_png_read_rgb24(argv[2], &rgb, &w, &h)) != 0) {
        fprintf(stderr, "vm-reader: %s: %s\n", argv[2], fbus_strerror(rc));
        return 1;
    }
    if (w != ww || h != hh) {
        fprintf(stderr, "vm-reader: %s is %ux%u, not %ux%u\n", argv[2], w, h, ww, hh);
        bad = 1;
    } else if (uniform(rgb, (size_t)w * h * 3)) {
        fprintf(stderr, "vm-reader: %s is uniform: no picture\n", argv[2]);
        bad = 1;
    }
    for (unsigned i = 0; !bad && i < 8; i++)
        for (uint32_t y = h / 2; y < h - h / 8; y += h / 16)
            if (!bar_ok(rgb, w, y, i)) {
                const uint8_t *p = rgb + ((size_t)y * w + (size_t)w * (2 * i + 1) / 16) * 3;
                fprintf(stderr,
                        "vm-reader: %s: bar %u at row %u is %u,%u,%u: not vivid's "
                        "75%% colour bars\n",
                        argv[2], i, y, p[0], p[1], p[2]);
                bad = 1;
                break;
            }
    free(rgb);
    if (!bad)
        printf("vm-reader: %s: %ux%u, vivid's colour bars\n", argv[2], w, h);
    return bad;
}

int main(int argc, char **argv)
{
    int rc = 2;

    if (argc > 1 && !strcmp(argv[1], "read"))
        rc = cmd_read(argc, argv);
    else if (argc > 1 && !strcmp(argv[1], "press"))
        rc = cmd_set(argc, argv, 1);
    else if (argc > 1 && !strcmp(argv[1], "set"))
        rc = cmd_set(argc, argv, 0);
    else if (argc > 1 && !strcmp(argv[1], "controls"))
        rc = cmd_controls(argc, argv);
    else if (argc > 1 && !strcmp(argv[1], "check-png"))
        rc = cmd_check_png(argc, argv);
    if (rc == 2)
        fprintf(stderr, "usage: vm-reader read BUS FOURCC WxH COUNT [TIMEOUT_S]\n"
                        "       vm-reader press DEVICE CONTROL [HOLD_S]\n"
                        "       vm-reader set DEVICE CONTROL VALUE [HOLD_S]\n"
                        "       vm-reader controls DEVICE\n"
                        "       vm-reader check-png FILE WxH\n");
    return rc;
}
