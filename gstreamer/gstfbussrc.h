/*
 * gstfbussrc.h - fbussrc, a live source that reads a framebus bus without a
 * copy: each buffer wraps the slot it holds, read-only, until it is freed.
 */
#ifndef GST_FBUS_SRC_H
#define GST_FBUS_SRC_H

#include <gst/base/gstpushsrc.h>
#include <gst/video/video.h>

#include "fbusgst.h"

G_BEGIN_DECLS

#define GST_TYPE_FBUS_SRC (gst_fbus_src_get_type())
G_DECLARE_FINAL_TYPE(GstFbusSrc, gst_fbus_src, GST, FBUS_SRC, GstPushSrc)

/* The reader and the frames buffers hold, shared with the buffers (refcounted). */
typedef struct fbussrc_conn fbussrc_conn;

struct _GstFbusSrc {
    GstPushSrc parent;

    /* properties (object lock) */
    gchar *bus;
    guint key;
    gboolean lossless;
    gboolean following;
    gboolean error_on_end;
    guint timeout_ms;
    gint max_held;
    gint fps_n, fps_d;

    /* streaming state */
    fbussrc_conn *conn;
    gint unlocked; /* atomic: unlock() asked the blocked create() to return */
    guint64 last_seq;
    struct fbus_format format; /* the format of the negotiated caps */
    gboolean have_format;
    gint bound;                      /* max-held resolved for this bus */
    GstVideoInfo bus_info;           /* the bus layout (raw formats) */
    GstVideoInfo out_info;           /* GStreamer's default layout, for downstream without meta */
    gboolean need_meta;              /* the bus layout is not GStreamer's default */
    gboolean meta_ok;                /* downstream reads GstVideoMeta */
    guint64 frames, dropped, copied; /* atomic */
    gboolean copying;                /* the last buffer was a copy (for the message) */
    guint64 last_frame_ns;           /* when the last frame (or start) was, CLOCK_MONOTONIC */
    gint last_rc;                    /* why the last wait ended with nothing */
};

G_END_DECLS

#endif
