/*
 * format.c - pixel formats: the layout of each fourcc, validation of a
 * caller-filled (or shared-memory-read, hence untrusted) struct fbus_format,
 * and fourcc names.
 *
 * Every size is computed in uint64_t: a format may come from another
 * process, and a bytesperline near UINT32_MAX times a height must not wrap
 * into something that looks small enough.
 */
#include <stdint.h>
#include <string.h>

#include "format_internal.h"
#include "framebus/framebus.h"

/* Single-buffer layouts, as V4L2 lays out the non-M variants of NV12 and YU12. */
static const struct fbus__fmt_desc fmt_table[] = {
    {FBUS_FMT_YUYV, 1, 2, 1, {{2, 1, 1}}},
    {FBUS_FMT_UYVY, 1, 2, 1, {{2, 1, 1}}},
    /* Interleaved CbCr: width/2 pairs of 2 bytes per row. */
    {FBUS_FMT_NV12, 2, 2, 2, {{1, 1, 1}, {2, 2, 2}}},
    {FBUS_FMT_YU12, 3, 2, 2, {{1, 1, 1}, {1, 2, 2}, {1, 2, 2}}},
    {FBUS_FMT_RGB24, 1, 1, 1, {{3, 1, 1}}},
    {FBUS_FMT_BGR24, 1, 1, 1, {{3, 1, 1}}},
    {FBUS_FMT_GREY, 1, 1, 1, {{1, 1, 1}}},
    {FBUS_FMT_MJPEG, 1, 1, 1, {{0, 1, 1}}},
};

#define N_FORMATS (sizeof(fmt_table) / sizeof(fmt_table[0]))

/* Upper bound on a compressed frame, in bytes per pixel: JPEG of noise at quality 100. */
#define MJPEG_BYTES_PER_PIXEL 2

static const struct {
    const char *name;
    uint32_t fourcc;
} fourcc_names[] = {
    {"YUYV", FBUS_FMT_YUYV},   {"UYVY", FBUS_FMT_UYVY},   {"NV12", FBUS_FMT_NV12},
    {"YU12", FBUS_FMT_YU12},   {"I420", FBUS_FMT_YU12},   {"RGB3", FBUS_FMT_RGB24},
    {"RGB24", FBUS_FMT_RGB24}, {"BGR3", FBUS_FMT_BGR24},  {"BGR24", FBUS_FMT_BGR24},
    {"GREY", FBUS_FMT_GREY},   {"GRAY", FBUS_FMT_GREY},   {"Y8", FBUS_FMT_GREY},
    {"MJPG", FBUS_FMT_MJPEG},  {"MJPEG", FBUS_FMT_MJPEG},
};

#define N_NAMES (sizeof(fourcc_names) / sizeof(fourcc_names[0]))

const struct fbus__fmt_desc *fbus__fmt_lookup(uint32_t fourcc)
{
    for (size_t i = 0; i < N_FORMATS; i++) {
        if (fmt_table[i].fourcc == fourcc) {
            return &fmt_table[i];
        }
    }
    return NULL;
}

static int dims_ok(const struct fbus__fmt_desc *d, uint32_t width, uint32_t height)
{
    if (width < 1 || width > FBUS_DIM_MAX || height < 1 || height > FBUS_DIM_MAX) {
        return 0;
    }
    return width % d->walign == 0 && height % d->halign == 0;
}

/* Minimal bytes in one row of plane p. */
static uint64_t row_bytes(const struct fbus__fmt_desc *d, unsigned p, uint32_t width)
{
    return (uint64_t)width * d->plane[p].bpp / d->plane[p].xdiv;
}

static uint32_t plane_rows(const struct fbus__fmt_desc *d, unsigned p, uint32_t height)
{
    return height / d->plane[p].ydiv;
}

int fbus_format_init(struct fbus_format *fmt, uint32_t fourcc, uint32_t width, uint32_t height)
{
    if (!fmt) {
        return FBUS_EFORMAT;
    }
    memset(fmt, 0, sizeof(*fmt));
    const struct fbus__fmt_desc *d = fbus__fmt_lookup(fourcc);
    if (!d || !dims_ok(d, width, height)) {
        return FBUS_EFORMAT;
    }
    fmt->fourcc = fourcc;
    fmt->width = width;
    fmt->height = height;
    fmt->nplanes = d->nplanes;
    if (d->plane[0].bpp == 0) {
        /* FBUS_DIM_MAX^2 * 2 < 2^32: no overflow. */
        fmt->sizeimage = width * height * MJPEG_BYTES_PER_PIXEL;
        return 0;
    }
    uint64_t offset = 0;
    for (unsigned p = 0; p < d->nplanes; p++) {
        uint64_t stride = row_bytes(d, p, width);
        fmt->plane_offset[p] = (uint32_t)offset;
        fmt->plane_stride[p] = (uint32_t)stride;
        offset += stride * plane_rows(d, p, height);
    }
    /* The largest, 16384^2 * 3 bytes of RGB24, still fits in 32 bits. */
    fmt->bytesperline = fmt->plane_stride[0];
    fmt->sizeimage = (uint32_t)offset;
    return 0;
}

/* Byte range [*start, *end) plane p of a raw format occupies; 0 if its stride is too small. */
static int plane_range(const struct fbus_format *fmt, const struct fbus__fmt_desc *d, unsigned p,
                       uint64_t *start, uint64_t *end)
{
    uint64_t rb = row_bytes(d, p, fmt->width);
    uint64_t stride = fmt->plane_stride[p];
    if (stride < rb) {
        return 0;
    }
    *start = fmt->plane_offset[p];
    *end = *start + stride * (plane_rows(d, p, fmt->height) - 1) + rb;
    return 1;
}

/* Planes of a raw format: wide enough, inside sizeimage, not overlapping each other. */
static int planes_ok(const struct fbus_format *fmt, const struct fbus__fmt_desc *d)
{
    uint64_t start[FBUS_PLANES_MAX], end[FBUS_PLANES_MAX];

    if (fmt->plane_stride[0] != fmt->bytesperline) {
        return 0;
    }
    for (unsigned p = 0; p < d->nplanes; p++) {
        if (!plane_range(fmt, d, p, &start[p], &end[p]) || end[p] > fmt->sizeimage) {
            return 0;
        }
        for (unsigned q = 0; q < p; q++) {
            if (start[p] < end[q] && start[q] < end[p]) {
                return 0;
            }
        }
    }
    return 1;
}

/* MJPEG has no rows: one plane at 0, no stride, a non-zero byte budget. */
static int compressed_ok(const struct fbus_format *fmt)
{
    return fmt->bytesperline == 0 && fmt->plane_offset[0] == 0 && fmt->plane_stride[0] == 0 &&
           fmt->sizeimage > 0;
}

/*
 * Entries past nplanes must be zero, so that two equal formats are equal
 * bytes too (the writer compares formats when it re-attaches to a bus).
 */
static int unused_planes_zero(const struct fbus_format *fmt)
{
    for (unsigned p = fmt->nplanes; p < FBUS_PLANES_MAX; p++) {
        if (fmt->plane_offset[p] != 0 || fmt->plane_stride[p] != 0) {
            return 0;
        }
    }
    return 1;
}

int fbus_format_check(const struct fbus_format *fmt)
{
    if (!fmt) {
        return FBUS_EFORMAT;
    }
    const struct fbus__fmt_desc *d = fbus__fmt_lookup(fmt->fourcc);
    if (!d || !dims_ok(d, fmt->width, fmt->height) || fmt->nplanes != d->nplanes) {
        return FBUS_EFORMAT;
    }
    if (!unused_planes_zero(fmt)) {
        return FBUS_EFORMAT;
    }
    int ok = d->plane[0].bpp == 0 ? compressed_ok(fmt) : planes_ok(fmt, d);
    return ok ? 0 : FBUS_EFORMAT;
}

uint64_t fbus__format_extent(const struct fbus_format *fmt)
{
    const struct fbus__fmt_desc *d = fbus__fmt_lookup(fmt->fourcc);
    uint64_t extent = 0, start, end;

    if (!d || d->plane[0].bpp == 0) {
        return 0;
    }
    for (unsigned p = 0; p < d->nplanes; p++) {
        if (plane_range(fmt, d, p, &start, &end) && end > extent) {
            extent = end;
        }
    }
    return extent;
}

const char *fbus_fourcc_str(uint32_t fourcc, char buf[5])
{
    if (!buf) {
        return "";
    }
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)(fourcc >> (8 * i));
        buf[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    buf[4] = '\0';
    return buf;
}

/* ASCII only: strcasecmp() follows the locale, and in a Turkish one 'i' is not 'I'. */
static int ascii_caseeq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char ca = (*a >= 'a' && *a <= 'z') ? (char)(*a - 'a' + 'A') : *a;
        char cb = (*b >= 'a' && *b <= 'z') ? (char)(*b - 'a' + 'A') : *b;
        if (ca != cb) {
            return 0;
        }
    }
    return *a == *b;
}

uint32_t fbus_fourcc_parse(const char *s)
{
    if (!s) {
        return 0;
    }
    for (size_t i = 0; i < N_NAMES; i++) {
        if (ascii_caseeq(s, fourcc_names[i].name)) {
            return fourcc_names[i].fourcc;
        }
    }
    return 0;
}

int fbus_fourcc_known(uint32_t fourcc)
{
    return fbus__fmt_lookup(fourcc) != NULL;
}

/*
 * V4L2's single-buffer layouts grow with a padded bytesperline: NV12's
 * chroma follows the luma at the same stride, YU12's planes at half of it;
 * each plane's stride scales as plane 0's does.
 */
int fbus_format_from_driver(struct fbus_format *fmt, uint32_t fourcc, uint32_t width,
                            uint32_t height, uint32_t bytesperline, uint32_t sizeimage)
{
    int rc = fbus_format_init(fmt, fourcc, width, height);
    const struct fbus__fmt_desc *d = fbus__fmt_lookup(fourcc);

    if (rc != 0)
        return rc;
    if (d->plane[0].bpp != 0 && bytesperline && bytesperline != fmt->bytesperline) {
        uint32_t tight0 = fmt->plane_stride[0];
        uint64_t off = 0;
        if (bytesperline < tight0)
            return FBUS_EFORMAT;
        for (unsigned p = 0; p < fmt->nplanes; p++) {
            uint64_t stride = (uint64_t)fmt->plane_stride[p] * bytesperline / tight0;
            fmt->plane_offset[p] = (uint32_t)off;
            fmt->plane_stride[p] = (uint32_t)stride;
            off += stride * plane_rows(d, p, height);
            if (off > UINT32_MAX)
                return FBUS_EFORMAT;
        }
        fmt->bytesperline = bytesperline;
        fmt->sizeimage = (uint32_t)off;
    }
    /* Room for all the driver may write: its sizeimage can exceed the planes. */
    if (sizeimage > fmt->sizeimage || (d->plane[0].bpp == 0 && sizeimage))
        fmt->sizeimage = sizeimage;
    return fbus_format_check(fmt);
}
