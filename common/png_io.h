/*
 * png_io.h - PNG files for the programs (snapshots, replay of stills, test
 * images), through libpng. Without libpng (FBUS_HAVE_PNG undefined) every
 * function returns -ENOTSUP.
 *
 * Nothing here prints: libpng's messages are swallowed and every failure is
 * a return code, 0 or negative: -errno, or FBUS_EFORMAT for a file that is
 * not a (valid) PNG or a frame that cannot become one.
 */
#ifndef APP_PNG_IO_H
#define APP_PNG_IO_H

#include <stddef.h>
#include <stdint.h>

#include "framebus/framebus.h"
#include "safe_file.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Writes w x h packed RGB24 pixels (w*3 bytes per row) as an 8-bit RGB PNG
 * named name in directory dirfd (from app_dir_open()), safely where other
 * users may write (safe_file.h): into a temporary file of a random name
 * made with O_EXCL|O_NOFOLLOW, flushed to disk, then renamed onto name. An
 * entry already at name is replaced (APP_REPLACE: a symbolic link itself,
 * never what it points to) or refused (APP_NOREPLACE: -EEXIST). On any
 * failure the temporary file is removed and name is untouched.
 * Returns 0, -EINVAL (NULL argument or a name with '/'), FBUS_ESIZE (w or
 * h 0 or above FBUS_DIM_MAX), -ENOTSUP, -EEXIST, or the -errno of the
 * failing call: -EACCES, -ENOSPC, -EISDIR, -EIO...
 */
int app_png_write_rgb24_at(int dirfd, const char *name, enum app_replace how, const uint8_t *rgb,
                           uint32_t w, uint32_t h);

/*
 * app_png_write_rgb24_at() for a path the user named: in its directory
 * (opened by app_dir_open_parent(): a symbolic link owned by another user
 * is refused with -ELOOP), replacing what is at path (APP_REPLACE).
 * Returns what that returns, or -ENOENT (no such directory), -ENOTDIR.
 */
int app_png_write_rgb24(const char *path, const uint8_t *rgb, uint32_t w, uint32_t h);

/*
 * Converts one frame of *fmt (bytesused bytes at data) to RGB24 and writes
 * it as app_png_write_rgb24_at() does. Returns what that returns, or
 * FBUS_EFORMAT (MJPEG or an invalid format), FBUS_ESIZE (bytesused too
 * small), -ENOMEM.
 */
int app_png_write_frame_at(int dirfd, const char *name, enum app_replace how,
                           const struct fbus_format *fmt, const void *data, size_t bytesused);

/* app_png_write_frame_at() for a path the user named, as app_png_write_rgb24(). */
int app_png_write_frame(const char *path, const struct fbus_format *fmt, const void *data,
                        size_t bytesused);

/*
 * Reads any PNG (palette, grey, with alpha, 1..16 bits) as 8-bit RGB: alpha
 * is dropped (not composited), 16-bit samples are rounded to 8 bits. On
 * success *rgb is a malloc'ed w*h*3-byte buffer the caller frees, and *w,
 * *h its size. Returns 0, -EINVAL (NULL argument), -ENOENT, -EACCES or
 * another -errno, FBUS_EFORMAT (not a PNG, truncated or corrupt),
 * FBUS_ESIZE (wider or taller than FBUS_DIM_MAX), -ENOMEM, -ENOTSUP.
 * On error *rgb is NULL and *w, *h are 0.
 */
int app_png_read_rgb24(const char *path, uint8_t **rgb, uint32_t *w, uint32_t *h);

#ifdef __cplusplus
}
#endif

#endif /* APP_PNG_IO_H */
