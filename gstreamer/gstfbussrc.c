/*
 * gstfbussrc.c - fbussrc: a live GstPushSrc over fbus_reader_acquire().
 *
 * Each buffer wraps the slot its frame is held in (read-only, no copy) and
 * releases it when the buffer is freed, in whatever thread that happens.
 * A reader handle is not thread-safe, so a buffer freed while create() waits
 * in acquire queues its frame and the next holder of the lock releases it:
 * create() waits in slices of SLICE_MS, which also bounds how long unlock()
 * takes. Beyond max-held frames held downstream, frames are copied, so a
 * queue or an encoder keeping buffers cannot starve the writer.
 */
#include "gstfbussrc.h"

#include <string.h>

#define GST_CAT_DEFAULT fbusgst_debug
#define SLICE_MS        10

struct fbussrc_conn {
    gint refs;   /* atomic: the element while started, and one per held frame */
    GMutex lock; /* the reader */
    fbus_reader *reader;
    GMutex pending_lock;
    GSList *pending; /* struct held: freed by their buffers, not yet released */
    gint held;       /* atomic: frames buffers hold, pending ones included */
};

struct held {
    fbussrc_conn *conn;
    struct fbus_frame frame;
};

enum {
    PROP_0,
    PROP_BUS,
    PROP_KEY,
    PROP_LOSSLESS,
    PROP_FOLLOWING,
    PROP_TIMEOUT,
    PROP_ERROR_ON_END,
    PROP_MAX_HELD,
    PROP_FRAMERATE,
    PROP_FRAMES,
    PROP_DROPPED,
    PROP_COPIED,
    PROP_HELD,
};

static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(FBUSGST_CAPS));

G_DEFINE_TYPE(GstFbusSrc, gst_fbus_src, GST_TYPE_PUSH_SRC);

/* ---- the shared reader -------------------------------------------------- */

static fbussrc_conn *conn_ref(fbussrc_conn *c)
{
    g_atomic_int_inc(&c->refs);
    return c;
}

static void conn_unref(fbussrc_conn *c)
{
    if (!g_atomic_int_dec_and_test(&c->refs)) {
        return;
    }
    fbus_reader_close(c->reader); /* releases whatever is still held */
    g_mutex_clear(&c->lock);
    g_mutex_clear(&c->pending_lock);
    g_free(c);
}

/* Releases the queued frames; c->lock is held. Returns how many conn refs to drop. */
static guint conn_drain_locked(fbussrc_conn *c)
{
    GSList *list, *l;
    guint n = 0;

    g_mutex_lock(&c->pending_lock);
    list = c->pending;
    c->pending = NULL;
    g_mutex_unlock(&c->pending_lock);
    for (l = list; l; l = l->next) {
        struct held *h = l->data;
        fbus_reader_release(c->reader, &h->frame);
        g_atomic_int_add(&c->held, -1);
        g_free(h);
        n++;
    }
    g_slist_free(list);
    return n;
}

static gboolean conn_has_pending(fbussrc_conn *c)
{
    gboolean any;

    g_mutex_lock(&c->pending_lock);
    any = c->pending != NULL;
    g_mutex_unlock(&c->pending_lock);
    return any;
}

/* After c->lock is dropped: frames queued while it was held are released now, not a slice later. */
static void conn_unlock(fbussrc_conn *c, guint drops)
{
    g_mutex_unlock(&c->lock);
    while (conn_has_pending(c) && g_mutex_trylock(&c->lock)) {
        drops += conn_drain_locked(c);
        g_mutex_unlock(&c->lock);
    }
    while (drops--) {
        conn_unref(c);
    }
}

/* GDestroyNotify of a zero-copy buffer's memory: any thread. */
static void held_free(gpointer data)
{
    struct held *h = data;
    fbussrc_conn *c = h->conn;

    g_mutex_lock(&c->pending_lock);
    c->pending = g_slist_prepend(c->pending, h);
    g_mutex_unlock(&c->pending_lock);
    if (g_mutex_trylock(&c->lock)) {
        conn_unlock(c, conn_drain_locked(c));
    }
}

static void release_now(fbussrc_conn *c, struct fbus_frame *frame)
{
    g_mutex_lock(&c->lock);
    fbus_reader_release(c->reader, frame);
    conn_unlock(c, conn_drain_locked(c));
}

/* ---- errors and the end of the stream ----------------------------------- */

static void post_bus_error(GstFbusSrc *self, int rc)
{
    gchar *text = fbusgst_error_text(rc, self->bus, self->key, FALSE);

    if (rc == FBUS_ENOBUS) {
        GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("%s", text), ("%s", fbus_err_name(rc)));
    } else if (rc == FBUS_EPERM) {
        GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("%s", text), ("%s", fbus_err_name(rc)));
    } else if (rc == FBUS_ENAME) {
        GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", text), ("%s", fbus_err_name(rc)));
    } else {
        GST_ELEMENT_ERROR(self, RESOURCE, READ, ("%s", text), ("%s", fbus_err_name(rc)));
    }
    g_free(text);
}

/* The stream ends (rc says why): EOS, or an error if error-on-end is set. */
static GstFlowReturn end_stream(GstFbusSrc *self, int rc)
{
    gchar *why;

    switch (rc) {
    case FBUS_ECLOSED:
        why = g_strdup_printf("the writer closed bus '%s'", self->bus);
        break;
    case FBUS_EWRITER_GONE:
        why = g_strdup_printf("the writer of bus '%s' died or left without closing it (set "
                              "following=true to wait for its next writer)",
                              self->bus);
        break;
    case FBUS_ENOBUS:
        why = g_strdup_printf("bus '%s' does not exist (any more): start its writer, or set "
                              "following=true to wait for it",
                              self->bus);
        break;
    default:
        why = g_strdup_printf("no frame on bus '%s' for %u ms (the timeout property; the bus: "
                              "%s): is its writer running? 'fbus ls' lists the buses",
                              self->bus, self->timeout_ms, fbus_strerror(self->last_rc));
        break;
    }
    if (self->error_on_end) {
        GST_ELEMENT_ERROR(self, RESOURCE, READ, ("%s", why), ("%s", fbus_err_name(rc)));
        g_free(why);
        return GST_FLOW_ERROR;
    }
    GST_INFO_OBJECT(self, "end of stream: %s", why);
    g_free(why);
    return GST_FLOW_EOS;
}

/* A wait that ended with nothing: go on waiting (GST_FLOW_OK), or end. */
static GstFlowReturn on_nothing(GstFbusSrc *self, int rc, guint64 slice_ns)
{
    gboolean waitable = rc == FBUS_ETIMEDOUT || rc == FBUS_EAGAIN;

    if (rc == FBUS_ENOBUS || rc == FBUS_ECLOSED || rc == FBUS_EWRITER_GONE) {
        if (!self->following) {
            return end_stream(self, rc);
        }
        waitable = TRUE;
    }
    if (!waitable) {
        post_bus_error(self, rc);
        return GST_FLOW_ERROR;
    }
    self->last_rc = rc;
    if (self->timeout_ms && fbus_now_ns() - self->last_frame_ns > self->timeout_ms * 1000000ull) {
        return end_stream(self, FBUS_ETIMEDOUT);
    }
    if (slice_ns < 1000000) {
        g_usleep(SLICE_MS * 1000); /* a wait that returned at once must not spin */
    }
    return GST_FLOW_OK;
}

/* ---- caps ----------------------------------------------------------------- */

static gboolean same_format(const struct fbus_format *a, const struct fbus_format *b)
{
    if (a->fourcc != b->fourcc || a->width != b->width || a->height != b->height ||
        a->nplanes != b->nplanes) {
        return FALSE;
    }
    return memcmp(a->plane_offset, b->plane_offset, sizeof(a->plane_offset)) == 0 &&
           memcmp(a->plane_stride, b->plane_stride, sizeof(a->plane_stride)) == 0;
}

static gint auto_max_held(GstFbusSrc *self)
{
    struct fbus_info info;

    if (self->max_held >= 0) {
        return self->max_held;
    }
    /* Two slots stay out of reach: the latest frame and the one the writer fills next. */
    if (fbus_info_get(self->bus, self->key, &info) == 0 && info.slots > 3) {
        return (gint)info.slots - 2;
    }
    return 1;
}

/* The bus now carries fmt: caps for it downstream. FALSE if downstream refuses them. */
static gboolean renegotiate(GstFbusSrc *self, const struct fbus_format *fmt)
{
    char fcc[5];
    GstCaps *caps = fbusgst_caps_from_format(fmt, self->fps_n, self->fps_d);
    gboolean ok = caps != NULL;

    self->format = *fmt;
    self->have_format = TRUE;
    self->bound = auto_max_held(self);
    if (fmt->fourcc != FBUS_FMT_MJPEG && ok) {
        ok = fbusgst_info_from_format(fmt, &self->bus_info) &&
             gst_video_info_from_caps(&self->out_info, caps);
        self->need_meta = !fbusgst_default_layout(fmt);
    } else {
        self->need_meta = FALSE;
    }
    GST_INFO_OBJECT(self, "bus '%s' carries %s %ux%u: %" GST_PTR_FORMAT, self->bus,
                    fbus_fourcc_str(fmt->fourcc, fcc), fmt->width, fmt->height, caps);
    /* set_caps() only stores the caps event: a refusal would show as a bare not-negotiated. */
    ok = ok && gst_pad_peer_query_accept_caps(GST_BASE_SRC_PAD(self), caps) &&
         gst_base_src_set_caps(GST_BASE_SRC(self), caps);
    if (caps) {
        gst_caps_unref(caps);
    }
    if (!ok) {
        self->have_format = FALSE;
        GST_ELEMENT_ERROR(self, STREAM, FORMAT,
                          ("bus '%s' carries %s %ux%u, which downstream does not accept: put "
                           "videoconvert (jpegdec for MJPG) after fbussrc, or change the caps "
                           "filter",
                           self->bus, fbus_fourcc_str(fmt->fourcc, fcc), fmt->width, fmt->height),
                          (NULL));
    }
    return ok;
}

static GstCaps *gst_fbus_src_get_caps(GstBaseSrc *bsrc, GstCaps *filter)
{
    GstFbusSrc *self = GST_FBUS_SRC(bsrc);
    GstCaps *caps = NULL, *res;

    if (self->have_format) {
        caps = fbusgst_caps_from_format(&self->format, self->fps_n, self->fps_d);
    }
    if (!caps) {
        caps = gst_pad_get_pad_template_caps(GST_BASE_SRC_PAD(bsrc));
    }
    if (!filter) {
        return caps;
    }
    res = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(caps);
    return res;
}

/* Caps come from the bus, so they are set by create() when the first frame is in. */
static gboolean gst_fbus_src_negotiate(GstBaseSrc *bsrc)
{
    GstFbusSrc *self = GST_FBUS_SRC(bsrc);
    GstCaps *caps;
    gboolean ok;

    if (!self->have_format) {
        return TRUE;
    }
    caps = fbusgst_caps_from_format(&self->format, self->fps_n, self->fps_d);
    ok = caps && gst_base_src_set_caps(bsrc, caps);
    if (caps) {
        gst_caps_unref(caps);
    }
    return ok;
}

static gboolean gst_fbus_src_decide_allocation(GstBaseSrc *bsrc, GstQuery *query)
{
    GstFbusSrc *self = GST_FBUS_SRC(bsrc);

    self->meta_ok = gst_query_find_allocation_meta(query, GST_VIDEO_META_API_TYPE, NULL);
    return GST_BASE_SRC_CLASS(gst_fbus_src_parent_class)->decide_allocation(bsrc, query);
}

static GstClockTime frame_duration(GstFbusSrc *self)
{
    struct fbus_reader_status st;

    if (self->fps_n > 0) {
        return gst_util_uint64_scale_int(GST_SECOND, self->fps_d, self->fps_n);
    }
    if (self->conn) {
        g_mutex_lock(&self->conn->lock);
        int rc = fbus_reader_status(self->conn->reader, &st);
        conn_unlock(self->conn, conn_drain_locked(self->conn));
        if (rc == 0 && st.fps > 1.0) {
            return (GstClockTime)(GST_SECOND / st.fps);
        }
    }
    return GST_SECOND / 30;
}

static gboolean gst_fbus_src_query(GstBaseSrc *bsrc, GstQuery *query)
{
    GstFbusSrc *self = GST_FBUS_SRC(bsrc);

    if (GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
        if (!self->conn) {
            return FALSE;
        }
        /* A frame waits up to one frame interval in the bus before it is taken. */
        GstClockTime min = frame_duration(self);
        gint held = self->have_format ? self->bound : 1;
        gst_query_set_latency(query, TRUE, min, min * (held > 0 ? held + 1 : 1));
        GST_DEBUG_OBJECT(self, "latency min %" GST_TIME_FORMAT, GST_TIME_ARGS(min));
        return TRUE;
    }
    return GST_BASE_SRC_CLASS(gst_fbus_src_parent_class)->query(bsrc, query);
}

/* ---- frames into buffers ------------------------------------------------- */

/* The frame's capture time on the pipeline clock, as running time (as v4l2src does). */
static void stamp(GstFbusSrc *self, GstBuffer *buf, const struct fbus_frame *frame)
{
    GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
    GstClockTime pts = GST_CLOCK_TIME_NONE;

    if (clock) {
        GstClockTime base = gst_element_get_base_time(GST_ELEMENT(self));
        GstClockTime now = gst_clock_get_time(clock);
        guint64 mono = fbus_now_ns();
        guint64 delay = mono > frame->timestamp_ns ? mono - frame->timestamp_ns : 0;
        GstClockTime abs = now > delay ? now - delay : 0;
        pts = abs > base ? abs - base : 0;
        gst_object_unref(clock);
    }
    GST_BUFFER_PTS(buf) = pts;
    GST_BUFFER_DTS(buf) = pts;
    GST_BUFFER_DURATION(buf) = self->fps_n > 0 ? frame_duration(self) : GST_CLOCK_TIME_NONE;
    GST_BUFFER_OFFSET(buf) = frame->seq;
    GST_BUFFER_OFFSET_END(buf) = frame->seq + 1;
}

static void add_meta(GstFbusSrc *self, GstBuffer *buf)
{
    GstVideoInfo *i = &self->bus_info;

    gst_buffer_add_video_meta_full(buf, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_INFO_FORMAT(i),
                                   GST_VIDEO_INFO_WIDTH(i), GST_VIDEO_INFO_HEIGHT(i),
                                   GST_VIDEO_INFO_N_PLANES(i), i->offset, i->stride);
}

static GstBuffer *wrap_frame(GstFbusSrc *self, struct fbus_frame *frame)
{
    struct held *h = g_new0(struct held, 1);

    h->conn = conn_ref(self->conn);
    h->frame = *frame;
    g_atomic_int_inc(&self->conn->held);
    return gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, (gpointer)frame->data,
                                       frame->bytesused, 0, frame->bytesused, h, held_free);
}

static void note_copy(GstFbusSrc *self, gboolean copy)
{
    if (copy && !self->copying) {
        GstStructure *s = gst_structure_new("fbussrc-copy", "bus", G_TYPE_STRING, self->bus,
                                            "copied", G_TYPE_UINT64, self->copied, "held",
                                            G_TYPE_INT, g_atomic_int_get(&self->conn->held), NULL);
        GST_INFO_OBJECT(self, "downstream holds the bound: copying frames");
        gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
    }
    self->copying = copy;
}

static GstBuffer *copy_frame(GstFbusSrc *self, struct fbus_frame *frame)
{
    gboolean relayout = self->need_meta && !self->meta_ok;
    gsize size = relayout ? GST_VIDEO_INFO_SIZE(&self->out_info) : frame->bytesused;
    GstBuffer *buf = gst_buffer_new_allocate(NULL, size, NULL);

    if (relayout) {
        fbusgst_copy_frame(&self->bus_info, frame->data, frame->bytesused, &self->out_info, buf);
    } else {
        gst_buffer_fill(buf, 0, frame->data, frame->bytesused);
    }
    release_now(self->conn, frame);
    return buf;
}

static GstFlowReturn make_buffer(GstFbusSrc *self, struct fbus_frame *frame, GstBuffer **out)
{
    GstBuffer *buf;
    gboolean copy;

    if ((!self->have_format || !same_format(&frame->format, &self->format)) &&
        !renegotiate(self, &frame->format)) {
        release_now(self->conn, frame);
        return GST_FLOW_NOT_NEGOTIATED;
    }
    if (frame->format.fourcc != FBUS_FMT_MJPEG && frame->bytesused < frame->format.sizeimage) {
        GST_WARNING_OBJECT(self, "frame %" G_GUINT64_FORMAT " is short: dropped", frame->seq);
        self->dropped++;
        release_now(self->conn, frame);
        return GST_FLOW_OK; /* create() goes on to the next frame */
    }
    copy =
        g_atomic_int_get(&self->conn->held) >= self->bound || (self->need_meta && !self->meta_ok);
    buf = copy ? copy_frame(self, frame) : wrap_frame(self, frame);
    if (copy) {
        self->copied++;
    }
    note_copy(self, copy && !(self->need_meta && !self->meta_ok));
    if (self->need_meta && self->meta_ok) {
        add_meta(self, buf);
    }
    if (frame->missed && self->frames) {
        GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
        self->dropped += frame->missed;
    }
    self->frames++;
    self->last_seq = frame->seq;
    stamp(self, buf, frame);
    *out = buf;
    return GST_FLOW_OK;
}

/* One wait slice; frames freed meanwhile are released around it. */
static int acquire_slice(GstFbusSrc *self, struct fbus_frame *frame)
{
    fbussrc_conn *c = self->conn;
    guint drops;
    int rc;

    g_mutex_lock(&c->lock);
    drops = conn_drain_locked(c);
    rc = fbus_reader_acquire(c->reader, frame, self->last_seq, SLICE_MS);
    drops += conn_drain_locked(c);
    conn_unlock(c, drops);
    return rc;
}

static GstFlowReturn gst_fbus_src_create(GstPushSrc *psrc, GstBuffer **out)
{
    GstFbusSrc *self = GST_FBUS_SRC(psrc);
    struct fbus_frame frame;
    GstFlowReturn ret;

    *out = NULL;
    while (!*out) {
        if (g_atomic_int_get(&self->unlocked)) {
            return GST_FLOW_FLUSHING;
        }
        guint64 t0 = fbus_now_ns();
        int rc = acquire_slice(self, &frame);
        if (rc == 0) {
            self->last_frame_ns = fbus_now_ns();
            ret = make_buffer(self, &frame, out);
        } else {
            ret = on_nothing(self, rc, fbus_now_ns() - t0);
        }
        if (ret != GST_FLOW_OK) {
            return ret;
        }
    }
    return GST_FLOW_OK;
}

/* ---- state ------------------------------------------------------------ */

static gboolean gst_fbus_src_start(GstBaseSrc *bsrc)
{
    GstFbusSrc *self = GST_FBUS_SRC(bsrc);
    struct fbus_reader_opts opts;
    fbus_reader *r = NULL;
    int rc;

    if (!self->bus) {
        GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                          ("no bus given: set the bus property (fbussrc bus=cam0)"), (NULL));
        return FALSE;
    }
    fbus_reader_opts_init(&opts);
    opts.key = self->key;
    opts.lossless = self->lossless;
    opts.follow = self->following;
    rc = fbus_reader_open(&r, self->bus, &opts);
    if (rc) {
        post_bus_error(self, rc);
        return FALSE;
    }
    self->conn = g_new0(fbussrc_conn, 1);
    self->conn->refs = 1;
    self->conn->reader = r;
    g_mutex_init(&self->conn->lock);
    g_mutex_init(&self->conn->pending_lock);
    self->last_seq = 0;
    self->have_format = FALSE;
    self->frames = self->dropped = self->copied = 0;
    self->copying = FALSE;
    self->last_frame_ns = fbus_now_ns();
    return TRUE;
}

static gboolean gst_fbus_src_stop(GstBaseSrc *bsrc)
{
    GstFbusSrc *self = GST_FBUS_SRC(bsrc);
    fbussrc_conn *c = self->conn;

    if (!c) {
        return TRUE;
    }
    self->conn = NULL;
    g_mutex_lock(&c->lock);
    conn_unlock(c, conn_drain_locked(c));
    /* Buffers still downstream keep the reader (and their slots) until they are freed. */
    conn_unref(c);
    return TRUE;
}

static gboolean gst_fbus_src_unlock(GstBaseSrc *bsrc)
{
    g_atomic_int_set(&GST_FBUS_SRC(bsrc)->unlocked, 1);
    return TRUE;
}

static gboolean gst_fbus_src_unlock_stop(GstBaseSrc *bsrc)
{
    g_atomic_int_set(&GST_FBUS_SRC(bsrc)->unlocked, 0);
    return TRUE;
}

/* ---- properties ---------------------------------------------------------- */

static void gst_fbus_src_set_property(GObject *obj, guint id, const GValue *v, GParamSpec *ps)
{
    GstFbusSrc *self = GST_FBUS_SRC(obj);

    switch (id) {
    case PROP_BUS:
        g_free(self->bus);
        self->bus = g_value_dup_string(v);
        break;
    case PROP_KEY:
        self->key = g_value_get_uint(v);
        break;
    case PROP_LOSSLESS:
        self->lossless = g_value_get_boolean(v);
        break;
    case PROP_FOLLOWING:
        self->following = g_value_get_boolean(v);
        break;
    case PROP_TIMEOUT:
        self->timeout_ms = g_value_get_uint(v);
        break;
    case PROP_ERROR_ON_END:
        self->error_on_end = g_value_get_boolean(v);
        break;
    case PROP_MAX_HELD:
        self->max_held = g_value_get_int(v);
        break;
    case PROP_FRAMERATE:
        self->fps_n = gst_value_get_fraction_numerator(v);
        self->fps_d = gst_value_get_fraction_denominator(v);
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, ps);
    }
}

static void gst_fbus_src_get_property(GObject *obj, guint id, GValue *v, GParamSpec *ps)
{
    GstFbusSrc *self = GST_FBUS_SRC(obj);

    switch (id) {
    case PROP_BUS:
        g_value_set_string(v, self->bus);
        break;
    case PROP_KEY:
        g_value_set_uint(v, self->key);
        break;
    case PROP_LOSSLESS:
        g_value_set_boolean(v, self->lossless);
        break;
    case PROP_FOLLOWING:
        g_value_set_boolean(v, self->following);
        break;
    case PROP_TIMEOUT:
        g_value_set_uint(v, self->timeout_ms);
        break;
    case PROP_ERROR_ON_END:
        g_value_set_boolean(v, self->error_on_end);
        break;
    case PROP_MAX_HELD:
        g_value_set_int(v, self->max_held);
        break;
    case PROP_FRAMERATE:
        gst_value_set_fraction(v, self->fps_n, self->fps_d);
        break;
    case PROP_FRAMES:
        g_value_set_uint64(v, self->frames);
        break;
    case PROP_DROPPED:
        g_value_set_uint64(v, self->dropped);
        break;
    case PROP_COPIED:
        g_value_set_uint64(v, self->copied);
        break;
    case PROP_HELD:
        g_value_set_int(v, self->conn ? g_atomic_int_get(&self->conn->held) : 0);
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, ps);
    }
}

static void gst_fbus_src_finalize(GObject *obj)
{
    GstFbusSrc *self = GST_FBUS_SRC(obj);

    g_free(self->bus);
    G_OBJECT_CLASS(gst_fbus_src_parent_class)->finalize(obj);
}

static void install_properties(GObjectClass *oc)
{
    const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;
    const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

    g_object_class_install_property(
        oc, PROP_BUS, g_param_spec_string("bus", "Bus", "Name of the bus to read", NULL, rw));
    g_object_class_install_property(oc, PROP_KEY,
                                    g_param_spec_uint("key", "Key",
                                                      "System V key of the bus (0: from the name)",
                                                      0, G_MAXUINT32, 0, rw));
    g_object_class_install_property(
        oc, PROP_LOSSLESS,
        g_param_spec_boolean("lossless", "Lossless",
                             "Get every frame: the writer waits (bounded) for this reader", FALSE,
                             rw));
    g_object_class_install_property(
        oc, PROP_FOLLOWING,
        g_param_spec_boolean("following", "Following",
                             "Wait for a bus that does not exist yet, and go on through writer "
                             "restarts and closes; false: those end the stream",
                             TRUE, rw));
    g_object_class_install_property(
        oc, PROP_TIMEOUT,
        g_param_spec_uint("timeout", "Timeout",
                          "End the stream after this many ms without a frame (0: never)", 0,
                          G_MAXINT, 0, rw));
    g_object_class_install_property(
        oc, PROP_ERROR_ON_END,
        g_param_spec_boolean("error-on-end", "Error on end",
                             "End with an error instead of EOS (writer gone, bus closed, "
                             "timeout)",
                             FALSE, rw));
    g_object_class_install_property(
        oc, PROP_MAX_HELD,
        g_param_spec_int("max-held", "Max held",
                         "Slots downstream may hold at once; frames beyond are copied "
                         "(-1: the bus's slots - 2, at least 1; 0: copy every frame)",
                         -1, FBUS_SLOTS_MAX, -1, rw));
    g_object_class_install_property(
        oc, PROP_FRAMERATE,
        gst_param_spec_fraction("framerate", "Framerate",
                                "Framerate to put in the caps (0/1: variable)", 0, 1, G_MAXINT, 1,
                                0, 1, rw));
    g_object_class_install_property(
        oc, PROP_FRAMES,
        g_param_spec_uint64("frames", "Frames", "Frames read", 0, G_MAXUINT64, 0, ro));
    g_object_class_install_property(oc, PROP_DROPPED,
                                    g_param_spec_uint64("dropped", "Dropped",
                                                        "Frames missed (gaps in seq)", 0,
                                                        G_MAXUINT64, 0, ro));
    g_object_class_install_property(
        oc, PROP_COPIED,
        g_param_spec_uint64("copied", "Copied",
                            "Frames copied because downstream held max-held slots", 0, G_MAXUINT64,
                            0, ro));
    g_object_class_install_property(
        oc, PROP_HELD,
        g_param_spec_int("held", "Held", "Slots downstream holds now", 0, G_MAXINT, 0, ro));
}

static void gst_fbus_src_class_init(GstFbusSrcClass *klass)
{
    GObjectClass *oc = G_OBJECT_CLASS(klass);
    GstElementClass *ec = GST_ELEMENT_CLASS(klass);
    GstBaseSrcClass *bc = GST_BASE_SRC_CLASS(klass);

    oc->set_property = gst_fbus_src_set_property;
    oc->get_property = gst_fbus_src_get_property;
    oc->finalize = gst_fbus_src_finalize;
    install_properties(oc);
    gst_element_class_add_static_pad_template(ec, &src_template);
    gst_element_class_set_static_metadata(
        ec, "framebus source", "Source/Video",
        "Reads frames from a framebus shared-memory bus without a copy",
        "framebus developers <framebus@localhost>");
    bc->start = gst_fbus_src_start;
    bc->stop = gst_fbus_src_stop;
    bc->unlock = gst_fbus_src_unlock;
    bc->unlock_stop = gst_fbus_src_unlock_stop;
    bc->get_caps = gst_fbus_src_get_caps;
    bc->negotiate = gst_fbus_src_negotiate;
    bc->decide_allocation = gst_fbus_src_decide_allocation;
    bc->query = gst_fbus_src_query;
    GST_PUSH_SRC_CLASS(klass)->create = gst_fbus_src_create;
}

static void gst_fbus_src_init(GstFbusSrc *self)
{
    self->following = TRUE;
    self->max_held = -1;
    self->fps_n = 0;
    self->fps_d = 1;
    gst_base_src_set_live(GST_BASE_SRC(self), TRUE);
    gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
}
