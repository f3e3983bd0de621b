/*
 * fbusgst.c - the bus format <-> caps mapping and the error texts shared by
 * fbussrc and fbussink.
 */
#include "fbusgst.h"

#include <string.h>

GST_DEBUG_CATEGORY(fbusgst_debug);

static const struct {
    uint32_t fourcc;
    GstVideoFormat vfmt;
} fmt_map[] = {
    {FBUS_FMT_YUYV, GST_VIDEO_FORMAT_YUY2},  {FBUS_FMT_UYVY, GST_VIDEO_FORMAT_UYVY},
    {FBUS_FMT_NV12, GST_VIDEO_FORMAT_NV12},  {FBUS_FMT_YU12, GST_VIDEO_FORMAT_I420},
    {FBUS_FMT_RGB24, GST_VIDEO_FORMAT_RGB},  {FBUS_FMT_BGR24, GST_VIDEO_FORMAT_BGR},
    {FBUS_FMT_GREY, GST_VIDEO_FORMAT_GRAY8},
};

GstVideoFormat fbusgst_video_format(uint32_t fourcc)
{
    for (gsize i = 0; i < G_N_ELEMENTS(fmt_map); i++) {
        if (fmt_map[i].fourcc == fourcc) {
            return fmt_map[i].vfmt;
        }
    }
    return GST_VIDEO_FORMAT_UNKNOWN;
}

uint32_t fbusgst_fourcc(GstVideoFormat vfmt)
{
    for (gsize i = 0; i < G_N_ELEMENTS(fmt_map); i++) {
        if (fmt_map[i].vfmt == vfmt) {
            return fmt_map[i].fourcc;
        }
    }
    return 0;
}

GstCaps *fbusgst_caps_from_format(const struct fbus_format *fmt, int fps_n, int fps_d)
{
    GstVideoFormat vfmt = fbusgst_video_format(fmt->fourcc);
    GstCaps *caps;

    if (fmt->fourcc == FBUS_FMT_MJPEG) {
        caps = gst_caps_new_simple("image/jpeg", "width", G_TYPE_INT, (int)fmt->width, "height",
                                   G_TYPE_INT, (int)fmt->height, NULL);
    } else if (vfmt != GST_VIDEO_FORMAT_UNKNOWN) {
        caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING,
                                   gst_video_format_to_string(vfmt), "width", G_TYPE_INT,
                                   (int)fmt->width, "height", G_TYPE_INT, (int)fmt->height,
                                   "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, NULL);
    } else {
        return NULL;
    }
    gst_caps_set_simple(caps, "framerate", GST_TYPE_FRACTION, fps_n, fps_d, NULL);
    return caps;
}

gboolean fbusgst_info_from_format(const struct fbus_format *fmt, GstVideoInfo *info)
{
    GstVideoFormat vfmt = fbusgst_video_format(fmt->fourcc);

    if (vfmt == GST_VIDEO_FORMAT_UNKNOWN ||
        !gst_video_info_set_format(info, vfmt, fmt->width, fmt->height)) {
        return FALSE;
    }
    if (GST_VIDEO_INFO_N_PLANES(info) != fmt->nplanes) {
        return FALSE;
    }
    for (guint p = 0; p < fmt->nplanes; p++) {
        GST_VIDEO_INFO_PLANE_STRIDE(info, p) = (gint)fmt->plane_stride[p];
        GST_VIDEO_INFO_PLANE_OFFSET(info, p) = fmt->plane_offset[p];
    }
    GST_VIDEO_INFO_SIZE(info) = fmt->sizeimage;
    return TRUE;
}

gboolean fbusgst_default_layout(const struct fbus_format *fmt)
{
    GstVideoFormat vfmt = fbusgst_video_format(fmt->fourcc);
    GstVideoInfo def;

    if (vfmt == GST_VIDEO_FORMAT_UNKNOWN) {
        return TRUE; /* MJPG: bytes, no layout */
    }
    if (!gst_video_info_set_format(&def, vfmt, fmt->width, fmt->height) ||
        GST_VIDEO_INFO_N_PLANES(&def) != fmt->nplanes) {
        return FALSE;
    }
    for (guint p = 0; p < fmt->nplanes; p++) {
        if ((guint32)GST_VIDEO_INFO_PLANE_STRIDE(&def, p) != fmt->plane_stride[p] ||
            GST_VIDEO_INFO_PLANE_OFFSET(&def, p) != fmt->plane_offset[p]) {
            return FALSE;
        }
    }
    return TRUE;
}

static int jpeg_format(const GstStructure *s, struct fbus_format *fmt)
{
    int w = 0, h = 0;

    if (!gst_structure_get_int(s, "width", &w) || !gst_structure_get_int(s, "height", &h)) {
        return FBUS_EFORMAT;
    }
    return fbus_format_init(fmt, FBUS_FMT_MJPEG, (uint32_t)w, (uint32_t)h);
}

int fbusgst_format_from_caps(const GstCaps *caps, struct fbus_format *fmt, gboolean *same_layout)
{
    GstVideoInfo info;
    uint32_t fourcc;

    *same_layout = TRUE;
    if (gst_caps_get_size(caps) != 1) {
        return FBUS_EFORMAT;
    }
    const GstStructure *s = gst_caps_get_structure(caps, 0);
    if (gst_structure_has_name(s, "image/jpeg")) {
        return jpeg_format(s, fmt);
    }
    if (!gst_video_info_from_caps(&info, caps) ||
        !(fourcc = fbusgst_fourcc(GST_VIDEO_INFO_FORMAT(&info)))) {
        return FBUS_EFORMAT;
    }
    memset(fmt, 0, sizeof(*fmt));
    fmt->fourcc = fourcc;
    fmt->width = GST_VIDEO_INFO_WIDTH(&info);
    fmt->height = GST_VIDEO_INFO_HEIGHT(&info);
    fmt->bytesperline = (uint32_t)GST_VIDEO_INFO_PLANE_STRIDE(&info, 0);
    fmt->sizeimage = (uint32_t)GST_VIDEO_INFO_SIZE(&info);
    fmt->nplanes = GST_VIDEO_INFO_N_PLANES(&info);
    for (guint p = 0; p < fmt->nplanes; p++) {
        fmt->plane_offset[p] = (uint32_t)GST_VIDEO_INFO_PLANE_OFFSET(&info, p);
        fmt->plane_stride[p] = (uint32_t)GST_VIDEO_INFO_PLANE_STRIDE(&info, p);
    }
    if (fbus_format_check(fmt) == 0) {
        return 0;
    }
    /* GStreamer pads rows to 4 bytes where the bus packs them: copy row by row. */
    *same_layout = FALSE;
    return fbus_format_init(fmt, fourcc, fmt->width, fmt->height);
}

gboolean fbusgst_copy_frame(const GstVideoInfo *src_info, const void *data, gsize size,
                            const GstVideoInfo *dst_info, GstBuffer *dst)
{
    GstBuffer *src = gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, (gpointer)data, size, 0,
                                                 size, NULL, NULL);
    GstVideoFrame in, out;
    gboolean ok = FALSE;

    if (gst_video_frame_map(&in, (GstVideoInfo *)src_info, src, GST_MAP_READ)) {
        if (gst_video_frame_map(&out, (GstVideoInfo *)dst_info, dst, GST_MAP_WRITE)) {
            ok = gst_video_frame_copy(&out, &in);
            gst_video_frame_unmap(&out);
        }
        gst_video_frame_unmap(&in);
    }
    gst_buffer_unref(src);
    return ok;
}

static gchar *foreign_text(const char *bus, uint32_t key)
{
    char what[256];

    fbus_foreign_describe(key ? key : fbus_key_from_name(bus), what, sizeof(what));
    return g_strdup_printf("bus '%s': an IPC object this bus cannot trust holds its key: %s", bus,
                           what[0] ? what : "see 'ipcs' and remove it, or set key");
}

gchar *fbusgst_error_text(int rc, const char *bus, uint32_t key, gboolean writer)
{
    switch (rc) {
    case FBUS_ENAME:
        return g_strdup_printf("'%s' is not a bus name: use 1-31 characters of a-z 0-9 _ . -", bus);
    case FBUS_ENOBUS:
        return g_strdup_printf("bus '%s' does not exist: start its writer first (fbus-capture "
                               "--bus %s, or fbussink bus=%s), or set following=true to wait "
                               "for it",
                               bus, bus, bus);
    case FBUS_EPERM:
        return writer ? g_strdup_printf("no permission on bus '%s': another user made it; run "
                                        "as that user, or remove it ('fbus rm %s') first",
                                        bus, bus)
                      : g_strdup_printf("no permission to read bus '%s': run as the writer's "
                                        "user or group, or give readers access with the "
                                        "writer's mode (fbus-capture --mode 0644, fbussink "
                                        "mode=0644)",
                                        bus);
    case FBUS_ECORRUPT:
        return g_strdup_printf("bus '%s' failed validation (corrupt or half made): remove it "
                               "with 'fbus rm --force %s' and restart its writer",
                               bus, bus);
    case FBUS_EVERSION:
        return g_strdup_printf("bus '%s' was made by an incompatible framebus (another "
                               "protocol): run writer and readers of the same framebus "
                               "version, or remove it with 'fbus rm --force %s'",
                               bus, bus);
    case FBUS_ECOLLISION:
        return g_strdup_printf("the key of bus '%s' belongs to another bus or a foreign "
                               "segment: choose another bus name, or set key",
                               bus);
    case FBUS_EFOREIGN:
        return foreign_text(bus, key);
    case FBUS_EBUSY:
        return writer ? g_strdup_printf("bus '%s' is busy: another writer is alive on it "
                                        "('fbus info %s' names its pid); stop it or choose "
                                        "another bus name",
                                        bus, bus)
                      : g_strdup_printf("bus '%s' has %d lossless readers already: set "
                                        "lossless=false",
                                        bus, FBUS_LOSSLESS_MAX);
    case FBUS_ESIZE:
        return g_strdup_printf("bus '%s': the frame size is out of range (larger than "
                               "kernel.shmmax?): raise 'sysctl kernel.shmmax' or use smaller "
                               "frames",
                               bus);
    case FBUS_EREMOVED:
        return g_strdup_printf("bus '%s' was removed under its writer (fbus rm, ipcrm): "
                               "restart the pipeline",
                               bus);
    default:
        return g_strdup_printf("bus '%s': %s (%s)", bus, fbus_strerror(rc), fbus_err_name(rc));
    }
}
