/*
 * png_io.c - PNG files through libpng; see png_io.h.
 *
 * libpng reports errors by longjmp. Each setjmp sits in a function of its
 * own whose locals are not needed after the jump: everything to free lives
 * in a struct owned by the caller, which cleans up on every path.
 */
#include "png_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "framebus/framebus.h"

int app_png_write_frame_at(int dirfd, const char *name, enum app_replace how,
                           const struct fbus_format *fmt, const void *data, size_t bytesused)
{
    if (!name || !fmt || !data) {
        return -EINVAL;
    }
    if (fbus_format_check(fmt) != 0 || fmt->fourcc == FBUS_FMT_MJPEG) {
        return FBUS_EFORMAT;
    }
    /* fbus_format_check() bounds both sides by FBUS_DIM_MAX: < 2^32 bytes. */
    uint8_t *rgb = malloc((size_t)fmt->width * fmt->height * 3);
    if (!rgb) {
        return -ENOMEM;
    }
    int rc = fbus_convert_to_rgb24(fmt, data, bytesused, rgb);
    if (rc == 0) {
        rc = app_png_write_rgb24_at(dirfd, name, how, rgb, fmt->width, fmt->height);
    }
    free(rgb);
    return rc;
}

#ifdef FBUS_HAVE_PNG

#include <png.h>

/*
 * zlib level for writing: a snapshot of a live bus should not stall the
 * program. On a noisy 1080p gradient level 3 took 390 ms against 970 ms
 * for zlib's default 6, for a file 3 % larger (level 1: 160 ms, 17 %).
 */
#define WRITE_ZLIB_LEVEL 3

/* What the callbacks report across the longjmp. */
struct png_io {
    FILE *fp;
    int err; /* -errno of the first failed read or write; 0 if none */
};

/* Silent: the message is dropped, the jump carries the failure. */
static void on_error(png_structp png, png_const_charp msg)
{
    struct png_io *io = png_get_error_ptr(png);
    /* libpng has no error codes; its only message for a failed allocation says so. */
    if (io->err == 0 && msg && strstr(msg, "memory") != NULL) {
        io->err = -ENOMEM;
    }
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void write_cb(png_structp png, png_bytep data, size_t len)
{
    struct png_io *io = png_get_io_ptr(png);
    errno = 0;
    if (fwrite(data, 1, len, io->fp) != len) {
        io->err = errno ? -errno : -EIO;
        png_error(png, "write failed");
    }
}

static void flush_cb(png_structp png)
{
    (void)png; /* the caller flushes and syncs once, at the end */
}

static void read_cb(png_structp png, png_bytep data, size_t len)
{
    struct png_io *io = png_get_io_ptr(png);
    errno = 0;
    if (fread(data, 1, len, io->fp) != len) {
        /* A short read without an error is a truncated file: FBUS_EFORMAT. */
        if (ferror(io->fp)) {
            io->err = errno ? -errno : -EIO;
        }
        png_error(png, "read failed");
    }
}

/* ---- Writing ------------------------------------------------------------ */

static int encode_rows(png_structp png, png_infop info, struct png_io *io, const uint8_t *rgb,
                       uint32_t w, uint32_t h)
{
    if (setjmp(png_jmpbuf(png))) {
        return io->err ? io->err : -EIO;
    }
    png_set_write_fn(png, io, write_cb, flush_cb);
    png_set_compression_level(png, WRITE_ZLIB_LEVEL);
    png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (uint32_t y = 0; y < h; y++) {
        png_write_row(png, rgb + (size_t)y * w * 3);
    }
    png_write_end(png, NULL);
    return 0;
}

static int encode(struct png_io *io, const uint8_t *rgb, uint32_t w, uint32_t h)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, io, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int rc = -ENOMEM;

    if (info) {
        rc = encode_rows(png, info, io, rgb, w, h);
    }
    png_destroy_write_struct(&png, &info);
    return rc;
}

/* Encodes the file into fd; leaves flushing to disk and closing fd to the caller. */
static int write_fd(int fd, const uint8_t *rgb, uint32_t w, uint32_t h)
{
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) {
        return -errno;
    }
    struct png_io io = {.fp = fdopen(dup_fd, "wb"), .err = 0};
    if (!io.fp) {
        int rc = -errno;
        close(dup_fd);
        return rc;
    }
    int rc = encode(&io, rgb, w, h);
    if (rc == 0 && fflush(io.fp) != 0) {
        rc = -errno;
    }
    if (fclose(io.fp) != 0 && rc == 0) {
        rc = -errno;
    }
    return rc;
}

int app_png_write_rgb24_at(int dirfd, const char *name, enum app_replace how, const uint8_t *rgb,
                           uint32_t w, uint32_t h)
{
    struct app_file f;

    if (!name || !rgb) {
        return -EINVAL;
    }
    if (w == 0 || h == 0 || w > FBUS_DIM_MAX || h > FBUS_DIM_MAX) {
        return FBUS_ESIZE;
    }
    int rc = app_file_create(&f, dirfd, name);
    if (rc != 0) {
        return rc;
    }
    rc = write_fd(f.fd, rgb, w, h);
    if (rc != 0) {
        app_file_abort(&f);
        return rc;
    }
    return app_file_commit(&f, how);
}

int app_png_write_rgb24(const char *path, const uint8_t *rgb, uint32_t w, uint32_t h)
{
    const char *name;
    int dirfd;

    if (!path || !rgb) {
        return -EINVAL;
    }
    if (w == 0 || h == 0 || w > FBUS_DIM_MAX || h > FBUS_DIM_MAX) {
        return FBUS_ESIZE;
    }
    if ((dirfd = app_dir_open_parent(path, &name)) < 0) {
        return dirfd;
    }
    int rc = app_png_write_rgb24_at(dirfd, name, APP_REPLACE, rgb, w, h);
    close(dirfd);
    return rc;
}

int app_png_write_frame(const char *path, const struct fbus_format *fmt, const void *data,
                        size_t bytesused)
{
    const char *name;
    int dirfd;

    if (!path || !fmt || !data) {
        return -EINVAL;
    }
    if ((dirfd = app_dir_open_parent(path, &name)) < 0) {
        return dirfd;
    }
    int rc = app_png_write_frame_at(dirfd, name, APP_REPLACE, fmt, data, bytesused);
    close(dirfd);
    return rc;
}

/* ---- Reading ------------------------------------------------------------ */

struct png_reader {
    struct png_io io;
    uint8_t *pixels;
    png_bytep *rows;
    uint32_t w, h;
};

/* Any colour type and depth to 8-bit RGB, alpha and tRNS dropped. */
static void set_rgb24_transforms(png_structp png, png_infop info)
{
    int type = png_get_color_type(png, info);

    if (png_get_bit_depth(png, info) == 16) {
        png_set_scale_16(png); /* rounds; png_set_strip_16() would truncate */
    }
    if (type == PNG_COLOR_TYPE_PALETTE) {
        png_set_palette_to_rgb(png);
    }
    if (!(type & PNG_COLOR_MASK_COLOR)) {
        png_set_expand_gray_1_2_4_to_8(png);
        png_set_gray_to_rgb(png);
    }
    /* Also removes the alpha that palette_to_rgb makes from a tRNS chunk. */
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
}

static int decode_rows(png_structp png, png_infop info, struct png_reader *rd)
{
    if (setjmp(png_jmpbuf(png))) {
        return rd->io.err ? rd->io.err : FBUS_EFORMAT;
    }
    png_set_read_fn(png, &rd->io, read_cb);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    rd->w = png_get_image_width(png, info);
    rd->h = png_get_image_height(png, info);
    if (rd->w > FBUS_DIM_MAX || rd->h > FBUS_DIM_MAX) {
        return FBUS_ESIZE;
    }
    set_rgb24_transforms(png, info);
    if (png_get_rowbytes(png, info) != (size_t)rd->w * 3) {
        return FBUS_EFORMAT;
    }
    rd->pixels = malloc((size_t)rd->w * rd->h * 3);
    rd->rows = malloc(rd->h * sizeof(*rd->rows));
    if (!rd->pixels || !rd->rows) {
        return -ENOMEM;
    }
    for (uint32_t y = 0; y < rd->h; y++) {
        rd->rows[y] = rd->pixels + (size_t)y * rd->w * 3;
    }
    png_read_image(png, rd->rows);
    png_read_end(png, NULL);
    return 0;
}

static int decode(struct png_reader *rd)
{
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &rd->io, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int rc = -ENOMEM;

    if (info) {
        rc = decode_rows(png, info, rd);
    }
    png_destroy_read_struct(&png, &info, NULL);
    return rc;
}

/* 0 if fp starts with the PNG signature, FBUS_EFORMAT if not, -errno if it cannot be read. */
static int check_signature(FILE *fp)
{
    png_byte sig[8];

    errno = 0;
    if (fread(sig, 1, sizeof(sig), fp) != sizeof(sig)) {
        return ferror(fp) ? (errno ? -errno : -EIO) : FBUS_EFORMAT;
    }
    return png_sig_cmp(sig, 0, sizeof(sig)) == 0 ? 0 : FBUS_EFORMAT;
}

int app_png_read_rgb24(const char *path, uint8_t **rgb, uint32_t *w, uint32_t *h)
{
    struct png_reader rd = {.io = {.fp = NULL, .err = 0}, .pixels = NULL, .rows = NULL};

    if (!path || !rgb || !w || !h) {
        return -EINVAL;
    }
    *rgb = NULL;
    *w = *h = 0;
    rd.io.fp = fopen(path, "rbe");
    if (!rd.io.fp) {
        return -errno;
    }
    int rc = check_signature(rd.io.fp);
    if (rc == 0) {
        rc = decode(&rd);
    }
    fclose(rd.io.fp);
    free(rd.rows);
    if (rc != 0) {
        free(rd.pixels);
        return rc;
    }
    *rgb = rd.pixels;
    *w = rd.w;
    *h = rd.h;
    return 0;
}

#else /* !FBUS_HAVE_PNG */

int app_png_write_rgb24(const char *path, const uint8_t *rgb, uint32_t w, uint32_t h)
{
    (void)path;
    (void)rgb;
    (void)w;
    (void)h;
    return -ENOTSUP;
}

int app_png_write_frame(const char *path, const struct fbus_format *fmt, const void *data,
                        size_t bytesused)
{
    (void)path;
    (void)fmt;
    (void)data;
    (void)bytesused;
    return -ENOTSUP;
}

int app_png_write_rgb24_at(int dirfd, const char *name, enum app_replace how, const uint8_t *rgb,
                           uint32_t w, uint32_t h)
{
    (void)dirfd;
    (void)name;
    (void)how;
    (void)rgb;
    (void)w;
    (void)h;
    return -ENOTSUP;
}

int app_png_read_rgb24(const char *path, uint8_t **rgb, uint32_t *w, uint32_t *h)
{
    if (rgb) {
        *rgb = NULL;
    }
    if (w) {
        *w = 0;
    }
    if (h) {
        *h = 0;
    }
    (void)path;
    return -ENOTSUP;
}

#endif /* FBUS_HAVE_PNG */
