/*
 * src_png.c - replays PNG files as camera frames (--source png:GLOB or
 * png:DIRECTORY), for hardware-in-the-loop rigs: the files in name order
 * (byte order: number them with leading zeros), at --fps, looping; --count N
 * stops after N frames. Default bus format RGB3, so frames arrive bit-exact.
 *
 * Every file is decoded when the source opens, so a wrong size or a broken
 * file is an error before the bus exists. Converted frames are kept in
 * memory (then each frame is one copy into its slot) unless they would take
 * more than CACHE_MAX bytes; then each file is decoded again, one frame
 * ahead of its deadline, and converted straight into its slot.
 */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "pacer.h"
#include "png_io.h"
#include "source.h"

#define TAG "png"

#define DEFAULT_FPS 30
#define CACHE_MAX   (256u << 20)

struct png_source {
    struct cap_source base;
    struct fbus_format fmt;
    struct cap_pacer pace;
    int unpaced; /* --lossless-wait without --fps: the slowest lossless reader paces us */
    glob_t files;
    uint8_t **frames; /* files[i] in the bus format; NULL when not cached */
    uint8_t *rgb;     /* not cached: the next file, decoded ahead */
    size_t next;      /* index of the next file to publish */
    int pending;      /* error met decoding ahead, reported at the next call */
};

/* The files of "GLOB" or "DIR" (its *.png), sorted. */
static int find_files(const char *arg, glob_t *g)
{
    char pattern[4096];
    struct stat st;

    if (!arg[0]) {
        app_log_error(TAG, "no files given: use --source png:DIR or --source "
                           "'png:frames/*.png'");
        return -EINVAL;
    }
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(pattern, sizeof(pattern), "%s/*.png", arg);
    else
        snprintf(pattern, sizeof(pattern), "%s", arg);
    int rc = glob(pattern, GLOB_ERR, NULL, g);
    if (rc == 0)
        return 0;
    if (rc == GLOB_NOMATCH)
        app_log_error(TAG,
                      "no file matches '%s': check the path (quote the glob so the "
                      "shell passes it on)",
                      pattern);
    else
        app_log_error(TAG, "cannot list '%s': %s", pattern,
                      rc == GLOB_NOSPACE ? "out of memory" : "read error");
    return rc == GLOB_NOSPACE ? -ENOMEM : -ENOENT;
}

static int read_png(const char *path, uint8_t **rgb, uint32_t *w, uint32_t *h)
{
    int rc = app_png_read_rgb24(path, rgb, w, h);

    if (rc != 0)
        app_log_error(TAG, "%s: %s%s", path, fbus_strerror(rc),
                      rc == FBUS_EFORMAT ? " (not a valid PNG file)"
                      : rc == -ENOTSUP   ? " (fbus-capture was built without libpng)"
                                         : "");
    return rc;
}

/* Bus format: --format (default RGB3) at --size (default: the first file's size). */
static int png_format(const struct cap_request *req, const char *first, struct fbus_format *fmt)
{
    uint32_t fourcc = req->fourcc ? req->fourcc : FBUS_FMT_RGB24;
    uint32_t w = req->width, h = req->height;
    char name[5];
    int rc;

    if (fourcc == FBUS_FMT_MJPEG) {
        app_log_error(TAG, "PNG frames are not sent as MJPEG: pick a raw --format "
                           "(RGB3, BGR3, YUYV, UYVY, NV12, YU12 or GREY)");
        return FBUS_EFORMAT;
    }
    if (!w) {
        uint8_t *rgb;
        if ((rc = read_png(first, &rgb, &w, &h)) != 0)
            return rc;
        free(rgb);
    }
    if (fbus_format_init(fmt, fourcc, w, h) != 0) {
        app_log_error(TAG,
                      "cannot carry %ux%u frames as %s: YUYV/UYVY need an even width, "
                      "NV12/YU12 an even width and height (try --format RGB3)",
                      w, h, fbus_fourcc_str(fourcc, name));
        return FBUS_EFORMAT;
    }
    return 0;
}

/* Decodes file i into p->rgb, checking its size. */
static int load_rgb(struct png_source *p, size_t i)
{
    uint32_t w, h;
    int rc;

    free(p->rgb);
    p->rgb = NULL;
    if ((rc = read_png(p->files.gl_pathv[i], &p->rgb, &w, &h)) != 0)
        return rc;
    if (w != p->fmt.width || h != p->fmt.height) {
        app_log_error(TAG,
                      "%s is %ux%u, but the bus is %ux%u: every PNG must have the bus "
                      "size (replay does not scale; --size sets it, the first file by "
                      "default)",
                      p->files.gl_pathv[i], w, h, p->fmt.width, p->fmt.height);
        return FBUS_ESIZE;
    }
    return 0;
}

/* Decodes every file (so all are checked now); keeps them converted if they fit CACHE_MAX. */
static int load_all(struct png_source *p)
{
    size_t n = p->files.gl_pathc;
    int cache = (uint64_t)n * p->fmt.sizeimage <= CACHE_MAX;
    int rc;

    if (cache && !(p->frames = calloc(n, sizeof(*p->frames))))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if ((rc = load_rgb(p, i)) != 0)
            return rc;
        if (!cache)
            continue;
        if (!(p->frames[i] = malloc(p->fmt.sizeimage)))
            return -ENOMEM;
        fbus_convert_from_rgb24(&p->fmt, p->rgb, p->frames[i]);
    }
    /* Not cached: start over at file 0, decoded ahead of the first deadline. */
    return cache ? 0 : load_rgb(p, 0);
}

static void png_close(struct cap_source *s);

static int png_open(struct cap_source **out, const struct cap_request *req, struct fbus_format *fmt)
{
    struct png_source *p = calloc(1, sizeof(*p));
    int rc;

    if (!p)
        return -ENOMEM;
    p->base.ops = &cap_source_png;
    if ((rc = find_files(req->arg, &p->files)) != 0)
        goto fail;
    if ((rc = png_format(req, p->files.gl_pathv[0], fmt)) != 0)
        goto fail;
    p->fmt = *fmt;
    if ((rc = load_all(p)) != 0)
        goto fail;
    cap_pacer_init(&p->pace, req->fps ? req->fps : DEFAULT_FPS);
    p->unpaced = req->unpaced;
    if (req->verbose)
        app_log_info(TAG, "path: %zu file(s), %s", p->files.gl_pathc,
                     p->frames ? "converted once, one copy per frame"
                               : "decoded ahead, converted into the slot");
    *out = &p->base;
    return 0;

fail:
    if (rc == -ENOMEM)
        app_log_error(TAG, "out of memory loading the PNG files");
    png_close(&p->base);
    return rc;
}

static int fill(struct png_source *p, void *slot)
{
    if (p->frames)
        memcpy(slot, p->frames[p->next], p->fmt.sizeimage);
    else
        fbus_convert_from_rgb24(&p->fmt, p->rgb, slot);
    return 0;
}

static int png_next(struct cap_source *s, fbus_writer *w)
{
    struct png_source *p = (struct png_source *)s;
    struct fbus_wslot slot;
    uint64_t now;
    int rc;

    if (p->pending)
        return p->pending;
    if (p->unpaced)
        now = fbus_now_ns();
    else if (cap_pacer_wait(&p->pace, &now) != 0)
        return CAP_NOFRAME;
    rc = fbus_writer_claim(w, &slot);
    if (rc == FBUS_ENOSLOT)
        return CAP_NOFRAME; /* counted as dropped by the library; the file is sent next time */
    if (rc == 0 && (rc = fill(p, slot.data)) == 0)
        rc = fbus_writer_commit(w, p->fmt.sizeimage, now);
    if (rc != 0) {
        app_log_error(TAG, "cannot publish a frame: %s", fbus_strerror(rc));
        return rc;
    }
    p->next = (p->next + 1) % p->files.gl_pathc;
    if (!p->frames)
        p->pending = load_rgb(p, p->next);
    return CAP_FRAME;
}

static void png_close(struct cap_source *s)
{
    struct png_source *p = (struct png_source *)s;

    if (!p)
        return;
    if (p->frames) {
        for (size_t i = 0; i < p->files.gl_pathc; i++)
            free(p->frames[i]);
        free(p->frames);
    }
    free(p->rgb);
    globfree(&p->files);
    free(p);
}

const struct cap_source_ops cap_source_png = {
    .kind = "png",
    .can_reconnect = 0,
    .open = png_open,
    .next = png_next,
    .close = png_close,
};
