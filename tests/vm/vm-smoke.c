/* vm-smoke.c - self-test of the VM harness: find the vivid camera and grab one frame.
 *
 * usage: vm-smoke [DEVICE [OUT.ppm]]      (defaults: /dev/video0, no file)
 *
 * Opens DEVICE through libv4l2 (so a static build also proves libv4l2 links statically),
 * prints driver and card from VIDIOC_QUERYCAP and checks the card is vivid, sets 320x240 RGB24,
 * reads one frame and, when asked, writes it as a binary PPM for the in-VM script to vm_export.
 * Exits 0 on success, 1 with a message on stderr otherwise; gives up after 20 seconds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libv4l2.h>
#include <linux/videodev2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WIDTH       320
#define HEIGHT      240
#define TIMEOUT_SEC 20

static int xioctl(int fd, unsigned long req, void *arg)
{
    int r;

    do {
        r = v4l2_ioctl(fd, req, arg);
    } while (r == -1 && errno == EINTR);
    return r;
}

static int fail(const char *what)
{
    fprintf(stderr, "vm-smoke: %s: %s\n", what, strerror(errno));
    return 1;
}

static void on_alarm(int sig)
{
    static const char msg[] = "vm-smoke: no frame within the time limit\n";

    (void)sig;
    (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
    _exit(1);
}

static int check_card(int fd)
{
    struct v4l2_capability cap;

    memset(&cap, 0, sizeof(cap));
    if (xioctl(fd, VIDIOC_QUERYCAP, &cap) != 0)
        return fail("VIDIOC_QUERYCAP");
    printf("vm-smoke: driver=%s card=%s bus=%s caps=0x%08x\n", (char *)cap.driver,
           (char *)cap.card, (char *)cap.bus_info, cap.device_caps);
    if (strstr((char *)cap.card, "vivid") == NULL) {
        fprintf(stderr, "vm-smoke: card '%s' is not vivid\n", (char *)cap.card);
        return 1;
    }
    return 0;
}

static int set_format(int fd, struct v4l2_pix_format *pix)
{
    struct v4l2_format fmt;

    memset(&fmt, 0, sizeof(fmt));
    fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    fmt.fmt.pix.width = WIDTH;
    fmt.fmt.pix.height = HEIGHT;
    fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_RGB24;
    fmt.fmt.pix.field = V4L2_FIELD_NONE;
    if (xioctl(fd, VIDIOC_S_FMT, &fmt) != 0)
        return fail("VIDIOC_S_FMT");
    *pix = fmt.fmt.pix;
    if (pix->pixelformat != V4L2_PIX_FMT_RGB24 || pix->bytesperline < pix->width * 3) {
        fprintf(stderr, "vm-smoke: got %.4s bytesperline %u, wanted RGB3\n",
                (char *)&pix->pixelformat, pix->bytesperline);
        return 1;
    }
    printf("vm-smoke: format %ux%u RGB3 bytesperline=%u sizeimage=%u\n", pix->width,
           pix->height, pix->bytesperline, pix->sizeimage);
    return 0;
}

static int write_ppm(const char *path, const unsigned char *buf, const struct v4l2_pix_format *pix)
{
    FILE *f = fopen(path, "wbe");
    int bad;

    if (f == NULL)
        return fail(path);
    fprintf(f, "P6\n%u %u\n255\n", pix->width, pix->height);
    for (unsigned y = 0; y < pix->height; y++)
        fwrite(buf + (size_t)y * pix->bytesperline, 3, pix->width, f);
    bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return fail(path);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dev = argc > 1 ? argv[1] : "/dev/video0";
    struct v4l2_pix_format pix;
    unsigned char *buf;
    ssize_t n;
    int fd;

    signal(SIGALRM, on_alarm);
    alarm(TIMEOUT_SEC);
    fd = v4l2_open(dev, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return fail(dev);
    if (check_card(fd) != 0 || set_format(fd, &pix) != 0)
        return 1;
    buf = malloc(pix.sizeimage);
    if (buf == NULL)
        return fail("malloc");
    n = v4l2_read(fd, buf, pix.sizeimage);
    if (n < 0)
        return fail("read");
    if ((size_t)n < (size_t)pix.bytesperline * pix.height) {
        fprintf(stderr, "vm-smoke: short frame: %zd of %u bytes\n", n, pix.sizeimage);
        return 1;
    }
    printf("vm-smoke: read a %zd-byte frame\n", n);
    if (argc > 2 && write_ppm(argv[2], buf, &pix) != 0)
        return 1;
    free(buf);
    v4l2_close(fd);
    printf("vm-smoke: PASS\n");
    return 0;
}
