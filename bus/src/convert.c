/*
 * convert.c - converts frames between the raw formats framebus knows and
 * packed RGB24, for the PNG writer, the viewer and test pattern sources.
 *
 * YUV is BT.601 limited range (Y 16..235, Cb/Cr 16..240), the V4L2 default
 * for cameras, in 8.8 fixed point. GREY is full range: its bytes are the
 * grey level itself, as V4L2 GREY sensors deliver it.
 *
 * Speed: the format is chosen once per frame; each row loop is a
 * specialised inline function (constant byte steps, no branch on the
 * format inside), walking row pointers that honour every plane's stride.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "format_internal.h"
#include "framebus/framebus.h"

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/*
 * Clamp to 0..255 through a table: on camera noise a branchy clamp
 * mispredicts often enough to make YUV to RGB three times slower, and
 * Clang turns the usual branch-free tricks back into branches on x86.
 * (c + term) >> 8 below lies in -277..534 for any 8-bit Y, Cb, Cr.
 */
#define CLIP_NEG  288 /* entries below 0 */
#define CLIP_POS  288 /* entries above 255 */
#define SEQ4(n)   (n), (n) + 1, (n) + 2, (n) + 3
#define SEQ16(n)  SEQ4(n), SEQ4((n) + 4), SEQ4((n) + 8), SEQ4((n) + 12)
#define SEQ64(n)  SEQ16(n), SEQ16((n) + 16), SEQ16((n) + 32), SEQ16((n) + 48)
#define REP8(x)   x, x, x, x, x, x, x, x
#define REP32(x)  REP8(x), REP8(x), REP8(x), REP8(x)
#define REP256(x) REP32(x), REP32(x), REP32(x), REP32(x), REP32(x), REP32(x), REP32(x), REP32(x)

static const uint8_t clip_tab[CLIP_NEG + 256 + CLIP_POS] = {
    [CLIP_NEG] = SEQ64(0), SEQ64(64), SEQ64(128), SEQ64(192), REP256(255), REP32(255),
};

_Static_assert(CLIP_NEG >= 277 && CLIP_POS >= 534 - 255, "clip table too small");

static ALWAYS_INLINE uint8_t clip8(int v)
{
    return clip_tab[v + CLIP_NEG];
}

/*
 * One pixel from its luma and the red/green/blue chroma terms of its pair.
 * The sum may be negative: >> of a negative int is implementation-defined
 * in C11; GCC and Clang define it as arithmetic, which the table assumes.
 */
_Static_assert((-2 >> 1) == -1, "arithmetic right shift of negative int");

static ALWAYS_INLINE void put_rgb(uint8_t *o, int y, int rv, int guv, int bu)
{
    int c = 298 * (y - 16) + 128;
    o[0] = clip8((c + rv) >> 8);
    o[1] = clip8((c + guv) >> 8);
    o[2] = clip8((c + bu) >> 8);
}

/*
 * One output row of pixel pairs sharing one Cb/Cr sample: pair i has luma
 * y[2i*ystep] and y[(2i+1)*ystep], chroma u[i*cstep] and v[i*cstep].
 */
static ALWAYS_INLINE void yuv_row(const uint8_t *y, int ystep, const uint8_t *u, const uint8_t *v,
                                  int cstep, uint8_t *out, uint32_t pairs)
{
    for (uint32_t i = 0; i < pairs; i++) {
        int d = u[i * cstep] - 128;
        int e = v[i * cstep] - 128;
        int rv = 409 * e, guv = -100 * d - 208 * e, bu = 516 * d;
        put_rgb(out, y[2 * i * ystep], rv, guv, bu);
        put_rgb(out + 3, y[(2 * i + 1) * ystep], rv, guv, bu);
        out += 6;
    }
}

static void yuyv_to_rgb(const struct fbus_format *f, const uint8_t *s, uint8_t *rgb)
{
    for (uint32_t r = 0; r < f->height; r++) {
        const uint8_t *row = s + f->plane_offset[0] + (size_t)r * f->bytesperline;
        uint8_t *out = rgb + (size_t)r * f->width * 3;
        if (f->fourcc == FBUS_FMT_YUYV) {
            yuv_row(row, 2, row + 1, row + 3, 4, out, f->width / 2);
        } else {
            yuv_row(row + 1, 2, row, row + 2, 4, out, f->width / 2);
        }
    }
}

/* NV12 and YU12: chroma row r/2 serves luma rows r and r+1. */
static void yuv420_to_rgb(const struct fbus_format *f, const uint8_t *s, uint8_t *rgb)
{
    int nv12 = f->fourcc == FBUS_FMT_NV12;
    const uint8_t *u = s + f->plane_offset[1];
    const uint8_t *v = nv12 ? u + 1 : s + f->plane_offset[2];
    size_t ustride = f->plane_stride[1], vstride = nv12 ? ustride : f->plane_stride[2];

    for (uint32_t r = 0; r < f->height; r++) {
        const uint8_t *yrow = s + f->plane_offset[0] + (size_t)r * f->plane_stride[0];
        const uint8_t *urow = u + (size_t)(r / 2) * ustride;
        const uint8_t *vrow = v + (size_t)(r / 2) * vstride;
        uint8_t *out = rgb + (size_t)r * f->width * 3;
        if (nv12) {
            yuv_row(yrow, 1, urow, vrow, 2, out, f->width / 2);
        } else {
            yuv_row(yrow, 1, urow, vrow, 1, out, f->width / 2);
        }
    }
}

/* RGB24 <-> BGR24 is the same swap either way. */
static void swap_rb_row(const uint8_t *in, uint8_t *out, size_t w)
{
    for (size_t i = 0; i < w * 3; i += 3) {
        out[i] = in[i + 2];
        out[i + 1] = in[i + 1];
        out[i + 2] = in[i];
    }
}

static void grey_to_rgb_row(const uint8_t *in, uint8_t *out, size_t w)
{
    for (size_t i = 0; i < w; i++, out += 3) {
        out[0] = out[1] = out[2] = in[i];
    }
}

/* RGB24, BGR24 and GREY: one byte-level transform per row. */
static void rgbish_to_rgb(const struct fbus_format *f, const uint8_t *s, uint8_t *rgb)
{
    size_t w = f->width;
    for (uint32_t r = 0; r < f->height; r++) {
        const uint8_t *in = s + f->plane_offset[0] + (size_t)r * f->bytesperline;
        uint8_t *out = rgb + (size_t)r * w * 3;
        if (f->fourcc == FBUS_FMT_RGB24) {
            memcpy(out, in, w * 3);
        } else if (f->fourcc == FBUS_FMT_BGR24) {
            swap_rb_row(in, out, w);
        } else {
            grey_to_rgb_row(in, out, w);
        }
    }
}

/* Validates the arguments both directions share; 0 if the conversion may go ahead. */
static int convert_check(const struct fbus_format *fmt, const void *a, const void *b)
{
    if (!fmt || !a || !b) {
        return -EINVAL;
    }
    if (fbus_format_check(fmt) != 0 || fmt->fourcc == FBUS_FMT_MJPEG) {
        return FBUS_EFORMAT;
    }
    return 0;
}

/*
 * Contract in framebus.h. Also returns -EINVAL for a NULL pointer. bytesused
 * must reach the end of the last row of the furthest plane; the padding
 * after it (up to sizeimage) may be missing.
 */
int fbus_convert_to_rgb24(const struct fbus_format *fmt, const void *src, size_t bytesused,
                          uint8_t *rgb)
{
    int rc = convert_check(fmt, src, rgb);
    if (rc != 0) {
        return rc;
    }
    if (bytesused < fbus__format_extent(fmt)) {
        return FBUS_ESIZE;
    }
    switch (fmt->fourcc) {
    case FBUS_FMT_YUYV:
    case FBUS_FMT_UYVY:
        yuyv_to_rgb(fmt, src, rgb);
        break;
    case FBUS_FMT_NV12:
    case FBUS_FMT_YU12:
        yuv420_to_rgb(fmt, src, rgb);
        break;
    default:
        rgbish_to_rgb(fmt, src, rgb);
        break;
    }
    return 0;
}

/* ---- RGB24 to the raw formats ------------------------------------------- */

static ALWAYS_INLINE uint8_t luma(int r, int g, int b)
{
    return (uint8_t)(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16);
}

/* +128 * 256 keeps the sum positive, so >> is a plain floor: ((x + 128) >> 8) + 128. */
static ALWAYS_INLINE uint8_t chroma_u(int r, int g, int b)
{
    return (uint8_t)((-38 * r - 74 * g + 112 * b + 128 + 128 * 256) >> 8);
}

static ALWAYS_INLINE uint8_t chroma_v(int r, int g, int b)
{
    return (uint8_t)((112 * r - 94 * g - 18 * b + 128 + 128 * 256) >> 8);
}

static ALWAYS_INLINE void put_chroma(uint8_t *u, uint8_t *v, int r, int g, int b)
{
    *u = chroma_u(r, g, b);
    *v = chroma_v(r, g, b);
}

/*
 * One row of pixel pairs into 4:2:2; the steps are as in yuv_row().
 * Chroma, here and in 4:2:0, is computed from the rounded average RGB of
 * the pixels it covers, not by averaging per-pixel chroma: one conversion
 * instead of two or four, and the same result up to rounding.
 */
static ALWAYS_INLINE void row_to_422(const uint8_t *in, uint8_t *y, int ystep, uint8_t *u,
                                     uint8_t *v, int cstep, uint32_t pairs)
{
    for (uint32_t i = 0; i < pairs; i++, in += 6) {
        y[2 * i * ystep] = luma(in[0], in[1], in[2]);
        y[(2 * i + 1) * ystep] = luma(in[3], in[4], in[5]);
        put_chroma(u + i * cstep, v + i * cstep, (in[0] + in[3] + 1) >> 1, (in[1] + in[4] + 1) >> 1,
                   (in[2] + in[5] + 1) >> 1);
    }
}

/* Two rows (a above b) into two luma rows and one chroma row of 4:2:0. */
static ALWAYS_INLINE void rows_to_420(const uint8_t *a, const uint8_t *b, uint8_t *ya, uint8_t *yb,
                                      uint8_t *u, uint8_t *v, int cstep, uint32_t pairs)
{
    for (uint32_t i = 0; i < pairs; i++, a += 6, b += 6) {
        ya[2 * i] = luma(a[0], a[1], a[2]);
        ya[2 * i + 1] = luma(a[3], a[4], a[5]);
        yb[2 * i] = luma(b[0], b[1], b[2]);
        yb[2 * i + 1] = luma(b[3], b[4], b[5]);
        put_chroma(u + i * cstep, v + i * cstep, (a[0] + a[3] + b[0] + b[3] + 2) >> 2,
                   (a[1] + a[4] + b[1] + b[4] + 2) >> 2, (a[2] + a[5] + b[2] + b[5] + 2) >> 2);
    }
}

static void rgb_to_yuyv(const struct fbus_format *f, const uint8_t *rgb, uint8_t *d)
{
    for (uint32_t r = 0; r < f->height; r++) {
        const uint8_t *in = rgb + (size_t)r * f->width * 3;
        uint8_t *row = d + f->plane_offset[0] + (size_t)r * f->bytesperline;
        if (f->fourcc == FBUS_FMT_YUYV) {
            row_to_422(in, row, 2, row + 1, row + 3, 4, f->width / 2);
        } else {
            row_to_422(in, row + 1, 2, row, row + 2, 4, f->width / 2);
        }
    }
}

static void rgb_to_yuv420(const struct fbus_format *f, const uint8_t *rgb, uint8_t *d)
{
    int nv12 = f->fourcc == FBUS_FMT_NV12;
    uint8_t *u = d + f->plane_offset[1];
    uint8_t *v = nv12 ? u + 1 : d + f->plane_offset[2];
    size_t ustride = f->plane_stride[1], vstride = nv12 ? ustride : f->plane_stride[2];
    size_t ystride = f->plane_stride[0], rgbstride = (size_t)f->width * 3;

    for (uint32_t r = 0; r < f->height; r += 2) {
        const uint8_t *in = rgb + r * rgbstride;
        uint8_t *y = d + f->plane_offset[0] + r * ystride;
        uint8_t *urow = u + (r / 2) * ustride, *vrow = v + (r / 2) * vstride;
        if (nv12) {
            rows_to_420(in, in + rgbstride, y, y + ystride, urow, vrow, 2, f->width / 2);
        } else {
            rows_to_420(in, in + rgbstride, y, y + ystride, urow, vrow, 1, f->width / 2);
        }
    }
}

/*
 * GREY is full range (see the top of the file), so it takes full-range
 * BT.601 luma, 0.299/0.587/0.114 in 8.8 fixed point: the weights sum to
 * 256, so a grey pixel keeps its exact level.
 */
static void rgb_to_grey_row(const uint8_t *in, uint8_t *out, size_t w)
{
    for (size_t i = 0; i < w; i++, in += 3) {
        out[i] = (uint8_t)((77 * in[0] + 150 * in[1] + 29 * in[2] + 128) >> 8);
    }
}

static void rgb_to_rgbish(const struct fbus_format *f, const uint8_t *rgb, uint8_t *d)
{
    size_t w = f->width;
    for (uint32_t r = 0; r < f->height; r++) {
        const uint8_t *in = rgb + (size_t)r * w * 3;
        uint8_t *out = d + f->plane_offset[0] + (size_t)r * f->bytesperline;
        if (f->fourcc == FBUS_FMT_RGB24) {
            memcpy(out, in, w * 3);
        } else if (f->fourcc == FBUS_FMT_BGR24) {
            swap_rb_row(in, out, w);
        } else {
            rgb_to_grey_row(in, out, w);
        }
    }
}

/*
 * Contract in framebus.h. Also returns -EINVAL for a NULL pointer. Writes
 * only the bytes of each row and plane: the padding of strides wider than
 * a row, and the bytes between planes, keep what dst held.
 */
int fbus_convert_from_rgb24(const struct fbus_format *fmt, const uint8_t *rgb, void *dst)
{
    int rc = convert_check(fmt, rgb, dst);
    if (rc != 0) {
        return rc;
    }
    switch (fmt->fourcc) {
    case FBUS_FMT_YUYV:
    case FBUS_FMT_UYVY:
        rgb_to_yuyv(fmt, rgb, dst);
        break;
    case FBUS_FMT_NV12:
    case FBUS_FMT_YU12:
        rgb_to_yuv420(fmt, rgb, dst);
        break;
    default:
        rgb_to_rgbish(fmt, rgb, dst);
        break;
    }
    return 0;
}
