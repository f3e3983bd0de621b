/*
 * fbusgst.h - what fbussrc and fbussink share: the mapping between a bus
 * format (struct fbus_format) and GStreamer caps, plane copies between two
 * layouts, and the text of errors a person can act on.
 */
#ifndef FBUSGST_H
#define FBUSGST_H

#include <gst/gst.h>
#include <gst/video/video.h>

#include "framebus/framebus.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN(fbusgst_debug);

/* Every raw format the bus carries, as caps, and image/jpeg for MJPG. */
#define FBUSGST_CAPS                                                                               \
    GST_VIDEO_CAPS_MAKE("{ YUY2, UYVY, NV12, I420, RGB, BGR, GRAY8 }")                             \
    "; image/jpeg, width = (int) [ 1, 16384 ], height = (int) [ 1, 16384 ]"

/* GStreamer's format for a bus fourcc; GST_VIDEO_FORMAT_UNKNOWN for MJPG or an unknown one. */
GstVideoFormat fbusgst_video_format(uint32_t fourcc);
/* The bus fourcc of a GStreamer format; 0 if the bus does not carry it. */
uint32_t fbusgst_fourcc(GstVideoFormat vfmt);

/*
 * Caps for frames of bus format fmt at framerate fps_n/fps_d (0/1: variable).
 * NULL for a format GStreamer has no caps for here.
 */
GstCaps *fbusgst_caps_from_format(const struct fbus_format *fmt, int fps_n, int fps_d);

/*
 * The GStreamer layout of bus format fmt (raw formats): *info with the bus's
 * own strides and offsets. Returns FALSE for MJPG or an unknown format.
 */
gboolean fbusgst_info_from_format(const struct fbus_format *fmt, GstVideoInfo *info);
/* TRUE if a buffer of fmt's layout reads right without a GstVideoMeta. */
gboolean fbusgst_default_layout(const struct fbus_format *fmt);

/*
 * The bus format for caps: GStreamer's own layout of them when the bus
 * accepts it (so a buffer of the caps is a slot as it is: *same_layout
 * TRUE), else the bus's packed layout. MJPG gets an upper bound of
 * sizeimage. Returns 0 or FBUS_EFORMAT (caps the bus cannot carry).
 */
int fbusgst_format_from_caps(const GstCaps *caps, struct fbus_format *fmt, gboolean *same_layout);

/*
 * Copies a raw frame between two layouts of the same format and size:
 * src (size bytes at data, laid out as src_info) into dst (mapped writable).
 * Returns FALSE if either cannot be mapped.
 */
gboolean fbusgst_copy_frame(const GstVideoInfo *src_info, const void *data, gsize size,
                            const GstVideoInfo *dst_info, GstBuffer *dst);

/*
 * What failed on bus `bus` (key 0: from the name), why, and what to do, as a
 * sentence for a GStreamer error (g_free it). writer: the caller writes the bus.
 */
gchar *fbusgst_error_text(int rc, const char *bus, uint32_t key, gboolean writer);

G_END_DECLS

#endif
