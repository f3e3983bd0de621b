/*
 * src_test.c - the built-in moving test pattern (--source test[:PATTERN]):
 * colour bars, the frame number in digits and as a binary strip, a moving
 * box (common/testpattern.h), in any raw bus format, at --fps.
 *
 * The frame number drawn is the sequence number the frame gets on the bus,
 * so a reader can check what it sees against fbus_frame.seq.
 *
 * Cheap per frame: converting RGB into the bus format is what costs, and
 * only the rows below the bars change, so only they are converted each
 * frame. The bars go into a slot once, the first time this process fills
 * that slot: only the writer ever stores into the segment, so they are still
 * there when the slot comes round again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pacer.h"
#include "source.h"
#include "testpattern.h"

#define TAG "test"

#define DEFAULT_WIDTH  640
#define DEFAULT_HEIGHT 480
#define DEFAULT_FPS    30
#define MIN_DIM        16 /* app_tp_draw needs 16x16 at least */

struct test_source {
    struct cap_source base;
    struct fbus_format fmt;
    struct fbus_format band; /* the rows that change, as a format over the same slot */
    size_t band_rgb;         /* offset of the band's first row in rgb */
    size_t band_dst;         /* offset of the band format's start in the slot */
    uint8_t *rgb;            /* the pattern in packed RGB24 */
    struct cap_pacer pace;
    uint32_t filled; /* bit i: slot i already holds this pattern's bars */
    int still;       /* "still": frame 0 forever, nothing redrawn */
};

static int parse_pattern(const char *arg, int *still)
{
    if (!arg[0] || !strcmp(arg, "bars")) {
        *still = 0;
        return 0;
    }
    if (!strcmp(arg, "still")) {
        *still = 1;
        return 0;
    }
    app_log_error(TAG,
                  "unknown pattern '%s': use --source test (moving bars and frame "
                  "counter) or --source test:still (one still frame)",
                  arg);
    return -EINVAL;
}

static int test_format(const struct cap_request *req, struct fbus_format *fmt)
{
    uint32_t fourcc = req->fourcc ? req->fourcc : FBUS_FMT_YUYV;
    uint32_t w = req->width ? req->width : DEFAULT_WIDTH;
    uint32_t h = req->height ? req->height : DEFAULT_HEIGHT;
    char name[5];

    if (fourcc == FBUS_FMT_MJPEG) {
        app_log_error(TAG, "the test pattern is not compressed: pick a raw --format "
                           "(YUYV, UYVY, NV12, YU12, RGB3, BGR3 or GREY)");
        return FBUS_EFORMAT;
    }
    if (w < MIN_DIM || h < MIN_DIM || fbus_format_init(fmt, fourcc, w, h) != 0) {
        app_log_error(TAG,
                      "cannot make %s frames of %ux%u: the pattern needs %ux%u at least, "
                      "YUYV/UYVY an even width, NV12/YU12 an even width and height",
                      fbus_fourcc_str(fourcc, name), w, h, MIN_DIM, MIN_DIM);
        return FBUS_EFORMAT;
    }
    return 0;
}

/*
 * The changing rows as a format of their own over the same slot: same
 * strides, planes starting further in. testpattern.h puts the bars in rows
 * [0, 2h/3); the band starts on an even row because 4:2:0 chroma covers
 * row pairs. Single-plane formats start the band at band_dst instead of a
 * plane offset: the packed converters ignore plane_offset[0] (a library
 * bug, reported). Falls back to the whole frame should the sub-format not
 * check.
 */
static void band_format(struct test_source *t)
{
    const struct fbus_format *f = &t->fmt;
    int is420 = f->fourcc == FBUS_FMT_NV12 || f->fourcc == FBUS_FMT_YU12;
    uint32_t y0 = (f->height * 2 / 3) & ~1u;

    t->band = *f;
    t->band.height = f->height - y0;
    t->band_dst = 0;
    if (f->nplanes == 1) {
        t->band_dst = (size_t)y0 * f->bytesperline;
        t->band.sizeimage -= (uint32_t)t->band_dst;
    }
    for (unsigned p = 0; p < f->nplanes && f->nplanes > 1; p++)
        t->band.plane_offset[p] += (p > 0 && is420 ? y0 / 2 : y0) * f->plane_stride[p];
    t->band_rgb = (size_t)y0 * f->width * 3;
    if (fbus_format_check(&t->band) != 0) {
        t->band = *f;
        t->band_rgb = t->band_dst = 0;
    }
}

static int test_open(struct cap_source **out, const struct cap_request *req,
                     struct fbus_format *fmt)
{
    struct test_source *t;
    int still, rc;

    if ((rc = parse_pattern(req->arg, &still)) != 0)
        return rc;
    if ((rc = test_format(req, fmt)) != 0)
        return rc;
    if (!(t = calloc(1, sizeof(*t))))
        goto fail_nomem;
    if (!(t->rgb = malloc((size_t)fmt->width * fmt->height * 3)))
        goto fail_free;
    t->base.ops = &cap_source_test;
    t->fmt = *fmt;
    t->still = still;
    band_format(t);
    cap_pacer_init(&t->pace, req->fps ? req->fps : DEFAULT_FPS);
    app_tp_draw(t->rgb, fmt->width, fmt->height, 0);
    if (req->verbose)
        app_log_info(TAG,
                     "path: pattern drawn in RGB, converted into the slot (rows %u-%u "
                     "each frame, the bars once per slot)",
                     fmt->height - t->band.height, fmt->height - 1);
    *out = &t->base;
    return 0;

fail_free:
    free(t);
fail_nomem:
    app_log_error(TAG, "out of memory for a %ux%u frame", fmt->width, fmt->height);
    return -ENOMEM;
}

/* Writes frame slot->seq into the slot: the changing rows, or all of it the first time. */
static int fill(struct test_source *t, const struct fbus_wslot *slot)
{
    uint32_t bit = 1u << slot->index;
    int rc;

    if (!t->still)
        app_tp_draw(t->rgb, t->fmt.width, t->fmt.height, slot->seq);
    if (!(t->filled & bit)) {
        rc = fbus_convert_from_rgb24(&t->fmt, t->rgb, slot->data);
        if (rc == 0)
            t->filled |= bit;
        return rc;
    }
    if (t->still)
        return 0;
    return fbus_convert_from_rgb24(&t->band, t->rgb + t->band_rgb,
                                   (uint8_t *)slot->data + t->band_dst);
}

static int test_next(struct cap_source *s, fbus_writer *w)
{
    struct test_source *t = (struct test_source *)s;
    struct fbus_wslot slot;
    uint64_t now;
    int rc;

    if (cap_pacer_wait(&t->pace, &now) != 0)
        return CAP_NOFRAME;
    rc = fbus_writer_claim(w, &slot);
    if (rc == FBUS_ENOSLOT)
        return CAP_NOFRAME; /* readers hold every other slot; the library counted the drop */
    if (rc == 0 && (rc = fill(t, &slot)) != 0)
        fbus_writer_abort(w);
    if (rc == 0)
        rc = fbus_writer_commit(w, t->fmt.sizeimage, now);
    if (rc != 0) {
        app_log_error(TAG, "cannot publish a frame: %s", fbus_strerror(rc));
        return rc;
    }
    return CAP_FRAME;
}

static void test_close(struct cap_source *s)
{
    struct test_source *t = (struct test_source *)s;

    if (!t)
        return;
    if (t->pace.resyncs)
        app_log_debug(TAG, "fell behind --fps %llu times (CPU-bound)",
                      (unsigned long long)t->pace.resyncs);
    free(t->rgb);
    free(t);
}

const struct cap_source_ops cap_source_test = {
    .kind = "test",
    .can_reconnect = 0,
    .open = test_open,
    .next = test_next,
    .close = test_close,
};
