/*
 * gstfbussink.h - fbussink, a sink that writes a framebus bus. Upstream that
 * takes its buffer pool renders straight into bus slots; other buffers are
 * copied once.
 */
#ifndef GST_FBUS_SINK_H
#define GST_FBUS_SINK_H

#include <gst/base/gstbasesink.h>
#include <gst/video/video.h>

#include "fbusgst.h"

G_BEGIN_DECLS

#define GST_TYPE_FBUS_SINK (gst_fbus_sink_get_type())
G_DECLARE_FINAL_TYPE(GstFbusSink, gst_fbus_sink, GST, FBUS_SINK, GstBaseSink)

/* The writer, shared with the pool and its buffers (refcounted: closed when the last goes). */
typedef struct fbussink_box fbussink_box;

struct _GstFbusSink {
    GstBaseSink parent;

    /* properties */
    gchar *bus;
    guint key;
    guint slots;
    guint mode;
    gboolean keep;
    guint lossless_wait_ms;

    /* streaming state */
    fbussink_box *box;
    GstCaps *caps;
    GstVideoInfo caps_info;    /* the layout of buffers as the caps say (raw) */
    GstVideoInfo bus_info;     /* the layout of a slot (raw) */
    struct fbus_format format; /* the bus format */
    gboolean same_layout;      /* a buffer of the caps is a slot as it is */
    gboolean jpeg;
    guint64 in_place, copied; /* frames rendered into a slot by upstream / copied */
};

G_END_DECLS

#endif
