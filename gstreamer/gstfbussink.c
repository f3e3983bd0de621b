/*
 * gstfbussink.c - fbussink: a GstBaseSink over fbus_writer_claim/commit.
 *
 * propose_allocation() offers a pool whose buffers are bus slots: acquire
 * claims a slot (fbus_writer_claim, one at a time, as the library allows)
 * and wraps it; render commits it. While a slot is claimed, or when none is
 * free, the pool hands out ordinary memory, which render copies into a slot
 * of its own (or drops, counted, when the readers hold them all). The writer
 * never waits for a latest-frame reader; for lossless ones the library waits,
 * bounded by lossless-wait.
 */
#include "gstfbussink.h"

#include <string.h>

#define GST_CAT_DEFAULT fbusgst_debug

struct fbussink_box {
    gint refs;   /* atomic: the sink while started, each pool, each slot buffer */
    GMutex lock; /* the writer and what follows */
    fbus_writer *w;
    gboolean stopped;
    gboolean claimed; /* a pool buffer holds the claimed slot */
    guint fallback;   /* pool buffers of ordinary memory in flight */
    guint gen;        /* format changes so far: a pool of an older one hands out no slots */
};

/* What a pool buffer is (qdata). */
enum mark_kind { MARK_SLOT, MARK_FALLBACK, MARK_DROP };
struct mark {
    enum mark_kind kind;
    guint gen;
    gboolean done; /* committed */
    fbussink_box *box;
};

static GQuark mark_quark;

static fbussink_box *box_ref(fbussink_box *b)
{
    g_atomic_int_inc(&b->refs);
    return b;
}

static void box_unref(fbussink_box *b)
{
    if (!g_atomic_int_dec_and_test(&b->refs)) {
        return;
    }
    fbus_writer_close(b->w);
    g_mutex_clear(&b->lock);
    g_free(b);
}

/* ---- the pool ------------------------------------------------------------- */

#define FBUS_TYPE_POOL (fbus_pool_get_type())
G_DECLARE_FINAL_TYPE(FbusPool, fbus_pool, FBUS, POOL, GstBufferPool)

struct _FbusPool {
    GstBufferPool parent;
    fbussink_box *box;
    guint gen;
    gsize size; /* sizeimage */
};

G_DEFINE_TYPE(FbusPool, fbus_pool, GST_TYPE_BUFFER_POOL);

static void mark_free(gpointer data)
{
    g_free(data);
}

static GstBuffer *marked(GstBuffer *buf, FbusPool *pool, enum mark_kind kind)
{
    struct mark *m = g_new0(struct mark, 1);

    m->kind = kind;
    m->gen = pool->gen;
    m->box = pool->box;
    gst_mini_object_set_qdata(GST_MINI_OBJECT(buf), mark_quark, m, mark_free);
    return buf;
}

static void slot_unref(gpointer data)
{
    box_unref(data);
}

static GstFlowReturn fbus_pool_acquire(GstBufferPool *bp, GstBuffer **out,
                                       GstBufferPoolAcquireParams *params)
{
    FbusPool *pool = FBUS_POOL(bp);
    fbussink_box *b = pool->box;
    struct fbus_wslot slot;
    int rc = FBUS_ESTATE;

    (void)params;
    g_mutex_lock(&b->lock);
    if (b->stopped) {
        g_mutex_unlock(&b->lock);
        return GST_FLOW_FLUSHING;
    }
    if (!b->claimed && !b->fallback && b->w && pool->gen == b->gen) {
        rc = fbus_writer_claim(b->w, &slot);
    }
    if (rc == 0) {
        b->claimed = TRUE;
        *out = marked(gst_buffer_new_wrapped_full(0, slot.data, slot.capacity, 0, pool->size,
                                                  box_ref(b), slot_unref),
                      pool, MARK_SLOT);
    } else {
        /* FBUS_ENOSLOT: the library counted the frame as dropped, render skips it. */
        b->fallback++;
        *out = marked(gst_buffer_new_allocate(NULL, pool->size, NULL), pool,
                      rc == FBUS_ENOSLOT ? MARK_DROP : MARK_FALLBACK);
    }
    g_mutex_unlock(&b->lock);
    return GST_FLOW_OK;
}

static void fbus_pool_release(GstBufferPool *bp, GstBuffer *buf)
{
    FbusPool *pool = FBUS_POOL(bp);
    fbussink_box *b = pool->box;
    struct mark *m = gst_mini_object_get_qdata(GST_MINI_OBJECT(buf), mark_quark);

    g_mutex_lock(&b->lock);
    if (m && m->kind == MARK_SLOT) {
        if (!m->done && m->gen == b->gen && b->claimed) {
            fbus_writer_abort(b->w); /* upstream let it go unrendered */
            b->claimed = FALSE;
        }
    } else if (b->fallback) {
        b->fallback--;
    }
    g_mutex_unlock(&b->lock);
    gst_buffer_unref(buf); /* not kept: a slot is claimed anew for each frame */
}

static void fbus_pool_finalize(GObject *obj)
{
    box_unref(FBUS_POOL(obj)->box);
    G_OBJECT_CLASS(fbus_pool_parent_class)->finalize(obj);
}

static void fbus_pool_class_init(FbusPoolClass *klass)
{
    G_OBJECT_CLASS(klass)->finalize = fbus_pool_finalize;
    GST_BUFFER_POOL_CLASS(klass)->acquire_buffer = fbus_pool_acquire;
    GST_BUFFER_POOL_CLASS(klass)->release_buffer = fbus_pool_release;
}

static void fbus_pool_init(FbusPool *pool)
{
    (void)pool;
}

static GstBufferPool *fbus_pool_new(fbussink_box *b, guint gen, gsize size)
{
    FbusPool *pool = g_object_new(FBUS_TYPE_POOL, NULL);

    gst_object_ref_sink(pool);
    pool->box = box_ref(b);
    pool->gen = gen;
    pool->size = size;
    return GST_BUFFER_POOL(pool);
}

/* ---- the sink ------------------------------------------------------------- */

enum {
    PROP_0,
    PROP_BUS,
    PROP_KEY,
    PROP_SLOTS,
    PROP_MODE,
    PROP_KEEP,
    PROP_LOSSLESS_WAIT,
    PROP_PUBLISHED,
    PROP_DROPPED,
    PROP_IN_PLACE,
    PROP_COPIED,
};

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(FBUSGST_CAPS));

G_DEFINE_TYPE(GstFbusSink, gst_fbus_sink, GST_TYPE_BASE_SINK);

static void post_writer_error(GstFbusSink *self, int rc)
{
    gchar *text = fbusgst_error_text(rc, self->bus, self->key, TRUE);

    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE, ("%s", text), ("%s", fbus_err_name(rc)));
    g_free(text);
}

static int open_writer(GstFbusSink *self, const struct fbus_format *fmt)
{
    struct fbus_writer_opts opts;
    fbus_writer *w = NULL;
    int rc;

    fbus_writer_opts_init(&opts);
    opts.slots = self->slots;
    opts.mode = self->mode;
    opts.key = self->key;
    opts.keep = self->keep;
    opts.lossless_wait_ms = self->lossless_wait_ms;
    rc = fbus_writer_open(&w, self->bus, fmt, &opts);
    if (rc == 0) {
        self->box->w = w;
    }
    return rc;
}

static gboolean gst_fbus_sink_set_caps(GstBaseSink *bsink, GstCaps *caps)
{
    GstFbusSink *self = GST_FBUS_SINK(bsink);
    fbussink_box *b = self->box;
    struct fbus_format fmt;
    gboolean same;
    int rc = fbusgst_format_from_caps(caps, &fmt, &same);

    if (rc) {
        GST_ELEMENT_ERROR(self, STREAM, FORMAT,
                          ("caps %" GST_PTR_FORMAT " cannot go on a bus: put videoconvert "
                           "before fbussink (image/jpeg needs width and height: jpegparse)",
                           caps),
                          (NULL));
        return FALSE;
    }
    self->jpeg = fmt.fourcc == FBUS_FMT_MJPEG;
    if (!self->jpeg) {
        gst_video_info_from_caps(&self->caps_info, caps);
        fbusgst_info_from_format(&fmt, &self->bus_info);
    }
    g_mutex_lock(&b->lock);
    if (!b->w) {
        rc = open_writer(self, &fmt);
    } else if (memcmp(&fmt, fbus_writer_format(b->w), sizeof(fmt)) != 0) {
        if (b->claimed) {
            fbus_writer_abort(b->w);
            b->claimed = FALSE;
        }
        b->gen++;
        rc = fbus_writer_set_format(b->w, &fmt, 0);
    }
    g_mutex_unlock(&b->lock);
    if (rc) {
        post_writer_error(self, rc);
        return FALSE;
    }
    self->format = fmt;
    self->same_layout = same;
    gst_caps_replace(&self->caps, caps);
    return TRUE;
}

static gboolean gst_fbus_sink_propose_allocation(GstBaseSink *bsink, GstQuery *query)
{
    GstFbusSink *self = GST_FBUS_SINK(bsink);
    GstCaps *caps = NULL;
    gboolean need_pool = FALSE;
    GstBufferPool *pool;
    GstStructure *config;

    gst_query_parse_allocation(query, &caps, &need_pool);
    gst_query_add_allocation_meta(query, GST_VIDEO_META_API_TYPE, NULL);
    /* Slots have GStreamer's own layout only when same_layout: only then is a slot a buffer. */
    if (!need_pool || !caps || !self->caps || self->jpeg || !self->same_layout ||
        !gst_caps_is_equal(caps, self->caps)) {
        return TRUE;
    }
    g_mutex_lock(&self->box->lock);
    pool = fbus_pool_new(self->box, self->box->gen, self->format.sizeimage);
    g_mutex_unlock(&self->box->lock);
    config = gst_buffer_pool_get_config(pool);
    gst_buffer_pool_config_set_params(config, caps, self->format.sizeimage, 0, 0);
    gst_buffer_pool_set_config(pool, config);
    gst_query_add_allocation_pool(query, pool, self->format.sizeimage, 0, 0);
    gst_object_unref(pool);
    return TRUE;
}

/* Copies buf into a slot of its own and publishes it (b->lock held). */
static GstFlowReturn render_copy(GstFbusSink *self, GstBuffer *buf)
{
    fbus_writer *w = self->box->w;
    struct fbus_wslot slot;
    gsize size = self->jpeg ? gst_buffer_get_size(buf) : self->format.sizeimage;
    gboolean ok;
    int rc = fbus_writer_claim(w, &slot);

    if (rc == FBUS_ENOSLOT) {
        GST_LOG_OBJECT(self, "every slot is held by readers: frame dropped");
        return GST_FLOW_OK;
    }
    if (rc) {
        post_writer_error(self, rc);
        return GST_FLOW_ERROR;
    }
    if (size > slot.capacity) {
        GST_WARNING_OBJECT(self,
                           "a %" G_GSIZE_FORMAT "-byte frame does not fit a %" G_GSIZE_FORMAT
                           "-byte slot: dropped",
                           size, slot.capacity);
        fbus_writer_abort(w);
        fbus_writer_count_drop(w);
        return GST_FLOW_OK;
    }
    if (self->jpeg || (self->same_layout && !gst_buffer_get_video_meta(buf))) {
        ok = gst_buffer_extract(buf, 0, slot.data, size) == size;
    } else {
        GstBuffer *dst =
            gst_buffer_new_wrapped_full(0, slot.data, slot.capacity, 0, size, NULL, NULL);
        GstVideoFrame in, out;
        ok = FALSE;
        if (gst_video_frame_map(&in, &self->caps_info, buf, GST_MAP_READ)) {
            if (gst_video_frame_map(&out, &self->bus_info, dst, GST_MAP_WRITE)) {
                ok = gst_video_frame_copy(&out, &in);
                gst_video_frame_unmap(&out);
            }
            gst_video_frame_unmap(&in);
        }
        gst_buffer_unref(dst);
    }
    if (!ok) {
        fbus_writer_abort(w);
        GST_ELEMENT_ERROR(self, STREAM, FAILED, ("a buffer smaller than its caps say"), (NULL));
        return GST_FLOW_ERROR;
    }
    fbus_writer_commit(w, size, 0);
    self->copied++;
    return GST_FLOW_OK;
}

static GstFlowReturn gst_fbus_sink_render(GstBaseSink *bsink, GstBuffer *buf)
{
    GstFbusSink *self = GST_FBUS_SINK(bsink);
    fbussink_box *b = self->box;
    struct mark *m = gst_mini_object_get_qdata(GST_MINI_OBJECT(buf), mark_quark);
    GstFlowReturn ret = GST_FLOW_OK;

    g_mutex_lock(&b->lock);
    if (m && m->box == b && m->kind == MARK_SLOT && m->gen == b->gen && b->claimed) {
        fbus_writer_commit(b->w, self->format.sizeimage, 0);
        m->done = TRUE;
        b->claimed = FALSE;
        self->in_place++;
    } else if (m && m->box == b && m->kind == MARK_DROP) {
        /* counted when the pool found no slot */
    } else if (b->claimed) {
        fbus_writer_count_drop(b->w); /* a pool buffer holds the one claim there is */
    } else {
        ret = render_copy(self, buf);
    }
    g_mutex_unlock(&b->lock);
    return ret;
}

static gboolean gst_fbus_sink_start(GstBaseSink *bsink)
{
    GstFbusSink *self = GST_FBUS_SINK(bsink);
    int rc;

    if (!self->bus) {
        GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                          ("no bus given: set the bus property (fbussink bus=cam0)"), (NULL));
        return FALSE;
    }
    if ((rc = fbus_name_check(self->bus)) != 0) {
        post_writer_error(self, rc);
        return FALSE;
    }
    self->box = g_new0(fbussink_box, 1);
    self->box->refs = 1;
    g_mutex_init(&self->box->lock);
    self->in_place = self->copied = 0;
    return TRUE;
}

static gboolean gst_fbus_sink_stop(GstBaseSink *bsink)
{
    GstFbusSink *self = GST_FBUS_SINK(bsink);
    fbussink_box *b = self->box;

    if (!b) {
        return TRUE;
    }
    g_mutex_lock(&b->lock);
    b->stopped = TRUE;
    g_mutex_unlock(&b->lock);
    self->box = NULL;
    gst_caps_replace(&self->caps, NULL);
    /* Slot buffers still upstream keep the writer (and the segment mapped) until freed. */
    box_unref(b);
    return TRUE;
}

static void gst_fbus_sink_set_property(GObject *obj, guint id, const GValue *v, GParamSpec *ps)
{
    GstFbusSink *self = GST_FBUS_SINK(obj);

    switch (id) {
    case PROP_BUS:
        g_free(self->bus);
        self->bus = g_value_dup_string(v);
        break;
    case PROP_KEY:
        self->key = g_value_get_uint(v);
        break;
    case PROP_SLOTS:
        self->slots = g_value_get_uint(v);
        break;
    case PROP_MODE:
        self->mode = g_value_get_uint(v);
        break;
    case PROP_KEEP:
        self->keep = g_value_get_boolean(v);
        break;
    case PROP_LOSSLESS_WAIT:
        self->lossless_wait_ms = g_value_get_uint(v);
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, ps);
    }
}

static void counts(GstFbusSink *self, guint64 *published, guint64 *dropped)
{
    *published = *dropped = 0;
    if (self->box) {
        g_mutex_lock(&self->box->lock);
        if (self->box->w) {
            fbus_writer_counts(self->box->w, published, dropped);
        }
        g_mutex_unlock(&self->box->lock);
    }
}

static void gst_fbus_sink_get_property(GObject *obj, guint id, GValue *v, GParamSpec *ps)
{
    GstFbusSink *self = GST_FBUS_SINK(obj);
    guint64 published, dropped;

    switch (id) {
    case PROP_BUS:
        g_value_set_string(v, self->bus);
        break;
    case PROP_KEY:
        g_value_set_uint(v, self->key);
        break;
    case PROP_SLOTS:
        g_value_set_uint(v, self->slots);
        break;
    case PROP_MODE:
        g_value_set_uint(v, self->mode);
        break;
    case PROP_KEEP:
        g_value_set_boolean(v, self->keep);
        break;
    case PROP_LOSSLESS_WAIT:
        g_value_set_uint(v, self->lossless_wait_ms);
        break;
    case PROP_PUBLISHED:
    case PROP_DROPPED:
        counts(self, &published, &dropped);
        g_value_set_uint64(v, id == PROP_PUBLISHED ? published : dropped);
        break;
    case PROP_IN_PLACE:
        g_value_set_uint64(v, self->in_place);
        break;
    case PROP_COPIED:
        g_value_set_uint64(v, self->copied);
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, ps);
    }
}

static void gst_fbus_sink_finalize(GObject *obj)
{
    GstFbusSink *self = GST_FBUS_SINK(obj);

    g_free(self->bus);
    G_OBJECT_CLASS(gst_fbus_sink_parent_class)->finalize(obj);
}

static void install_properties(GObjectClass *oc)
{
    const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;
    const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

    g_object_class_install_property(
        oc, PROP_BUS, g_param_spec_string("bus", "Bus", "Name of the bus to write", NULL, rw));
    g_object_class_install_property(oc, PROP_KEY,
                                    g_param_spec_uint("key", "Key",
                                                      "System V key of the bus (0: from the name)",
                                                      0, G_MAXUINT32, 0, rw));
    g_object_class_install_property(oc, PROP_SLOTS,
                                    g_param_spec_uint("slots", "Slots", "Slots in the bus",
                                                      FBUS_SLOTS_MIN, FBUS_SLOTS_MAX,
                                                      FBUS_SLOTS_DEFAULT, rw));
    g_object_class_install_property(
        oc, PROP_MODE,
        g_param_spec_uint("mode", "Mode",
                          "Permission bits of the bus (readers need its read bits; write bits "
                          "are never given away)",
                          0, 0777, FBUS_MODE_DEFAULT, rw));
    g_object_class_install_property(
        oc, PROP_KEEP,
        g_param_spec_boolean("keep", "Keep",
                             "Leave the bus in place, marked closed, when the sink stops", FALSE,
                             rw));
    g_object_class_install_property(
        oc, PROP_LOSSLESS_WAIT,
        g_param_spec_uint("lossless-wait", "Lossless wait",
                          "ms to wait for a lossless reader before overwriting its frame "
                          "(0: the library's default, 1000)",
                          0, 60000, 0, rw));
    g_object_class_install_property(oc, PROP_PUBLISHED,
                                    g_param_spec_uint64("published", "Published",
                                                        "Frames published on the bus", 0,
                                                        G_MAXUINT64, 0, ro));
    g_object_class_install_property(
        oc, PROP_DROPPED,
        g_param_spec_uint64("dropped", "Dropped", "Frames dropped because readers held every slot",
                            0, G_MAXUINT64, 0, ro));
    g_object_class_install_property(
        oc, PROP_IN_PLACE,
        g_param_spec_uint64("in-place", "In place",
                            "Frames upstream rendered straight into a slot (no copy)", 0,
                            G_MAXUINT64, 0, ro));
    g_object_class_install_property(oc, PROP_COPIED,
                                    g_param_spec_uint64("copied", "Copied",
                                                        "Frames copied into a slot", 0, G_MAXUINT64,
                                                        0, ro));
}

static void gst_fbus_sink_class_init(GstFbusSinkClass *klass)
{
    GObjectClass *oc = G_OBJECT_CLASS(klass);
    GstElementClass *ec = GST_ELEMENT_CLASS(klass);
    GstBaseSinkClass *bc = GST_BASE_SINK_CLASS(klass);

    mark_quark = g_quark_from_static_string("fbussink-mark");
    oc->set_property = gst_fbus_sink_set_property;
    oc->get_property = gst_fbus_sink_get_property;
    oc->finalize = gst_fbus_sink_finalize;
    install_properties(oc);
    gst_element_class_add_static_pad_template(ec, &sink_template);
    gst_element_class_set_static_metadata(
        ec, "framebus sink", "Sink/Video",
        "Writes frames to a framebus shared-memory bus; upstream renders into its slots",
        "framebus developers <framebus@localhost>");
    bc->start = gst_fbus_sink_start;
    bc->stop = gst_fbus_sink_stop;
    bc->set_caps = gst_fbus_sink_set_caps;
    bc->propose_allocation = gst_fbus_sink_propose_allocation;
    bc->render = gst_fbus_sink_render;
}

static void gst_fbus_sink_init(GstFbusSink *self)
{
    self->slots = FBUS_SLOTS_DEFAULT;
    self->mode = FBUS_MODE_DEFAULT;
}
