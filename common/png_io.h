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

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Writes w x h packed RGB24 pixels (w*3 bytes per row) as an 8-bit RGB PNG
 * at path, atomically: into "path.tmp-PID" in the same directory, flushed
 * to disk, then renamed over path. On any failure the temporary file is
 * removed and path is untouched. Not for two threads of one process
 * writing the same path at once (they would share the temporary name).
 * Returns 0, -EINVAL (NULL argument), FBUS_ESIZE (w or h 0 or above
 * FBUS_DIM_MAX), -ENOTSUP, or the -errno of the failing call: -ENOENT (no
 * such directory), -EACCES, -ENOSPC, -EIO...
 */
int app_png_write_rgb24(const char *path, const uint8_t *rgb, uint32_t w, uint32_t h);

/*
 * Converts one frame of *fmt (bytesused bytes at data) to RGB24 and writes
 * it as app_png_write_rgb24() does. Returns what that returns, or
 * FBUS_EFORMAT (MJPEG or an invalid format), FBUS_ESIZE (bytesused too
 * small), -ENOMEM.
 */
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
