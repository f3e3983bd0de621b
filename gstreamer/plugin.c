/*
 * plugin.c - the "framebus" GStreamer plugin: fbussrc and fbussink.
 */
#include "gstfbussink.h"
#include "gstfbussrc.h"

#ifndef PACKAGE
#define PACKAGE "framebus"
#endif

static gboolean plugin_init(GstPlugin *plugin)
{
    GST_DEBUG_CATEGORY_INIT(fbusgst_debug, "framebus", 0, "framebus elements");
    return gst_element_register(plugin, "fbussrc", GST_RANK_NONE, GST_TYPE_FBUS_SRC) &&
           gst_element_register(plugin, "fbussink", GST_RANK_NONE, GST_TYPE_FBUS_SINK);
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, framebus,
                  "framebus: a shared-memory image frame bus as source and sink", plugin_init,
                  FBUS_PLUGIN_VERSION, "unknown", "framebus", "https://localhost/framebus")
