/*
 * reader.c - framebus.Reader (an fbus_reader) and framebus.Frame (one held
 * fbus_frame, exported read-only through the buffer protocol: views.c).
 *
 * Threads: an fbus_reader is not thread-safe, so each Reader has a lock
 * taken around every library call; a read blocks with the GIL released and
 * the lock taken one slice (SLICE_MS) at a time, so other threads can
 * release frames meanwhile. Frames keep their Reader alive, and a Reader
 * closed while frames of it live detaches only when the last one goes.
 */
#include "pyfbus.h"

#include <string.h>

#define SLICE_MS 100 /* the longest the GIL-free wait runs before signals are checked */

typedef struct {
    PyObject_HEAD fbus_reader *r;
    PyThread_type_lock lock;
    char name[FBUS_NAME_MAX + 1];
    int lossless, follow;
    int closing;       /* close() came: detach when the last frame goes */
    Py_ssize_t live;   /* frames held */
    uint64_t last_seq; /* of the frame last handed out */
} ReaderObject;

typedef struct {
    struct pyfbus_slot s;
    ReaderObject *reader;
    struct fbus_frame f;
} FrameObject;

static PyTypeObject *reader_type, *frame_type;

static PyObject *raise_for(ReaderObject *r, int code)
{
    char what[80];

    PyOS_snprintf(what, sizeof(what), "bus '%s'", r->name);
    return pyfbus_raise(code, what);
}

/* With the GIL held and the lock not. */
static void reader_detach(ReaderObject *r)
{
    fbus_reader *h = r->r;

    r->r = NULL;
    Py_BEGIN_ALLOW_THREADS fbus_reader_close(h);
    Py_END_ALLOW_THREADS
}

/* Gives the slot back. Returns the library's code (FBUS_EOVERWRITTEN...). */
static int frame_release(FrameObject *fr)
{
    ReaderObject *r = fr->reader;
    int rc;

    if (!fr->s.held)
        return 0;
    fr->s.held = 0;
    fr->s.release_pending = 0;
    pyfbus_lock(r->lock);
    rc = fbus_reader_release(r->r, &fr->f);
    PyThread_release_lock(r->lock);
    if (--r->live == 0 && r->closing && r->r)
        reader_detach(r);
    return rc;
}

static void frame_last_export(PyObject *self)
{
    FrameObject *fr = (FrameObject *)self;
    int rc = frame_release(fr);

    if (rc == FBUS_EOVERWRITTEN) {
        raise_for(fr->reader, rc);
        PyErr_WriteUnraisable(self);
    }
}

static void frame_views_gone(PyObject *self)
{
    if (((FrameObject *)self)->s.release_pending)
        frame_last_export(self);
}

static void frame_dealloc(PyObject *self)
{
    FrameObject *fr = (FrameObject *)self;
    PyTypeObject *tp = Py_TYPE(self);
    PyObject *t, *v, *tb;

    PyErr_Fetch(&t, &v, &tb);
    frame_last_export(self);
    PyErr_Restore(t, v, tb);
    Py_XDECREF((PyObject *)fr->reader);
    ((freefunc)PyType_GetSlot(tp, Py_tp_free))(self);
    Py_DECREF(tp);
}

/*
 * release(): gives the slot back now, or, while numpy views of it live, when
 * the last of them goes. OverwrittenError if the slot was rewritten meanwhile.
 */
static PyObject *frame_release_m(PyObject *self, PyObject *unused)
{
    FrameObject *fr = (FrameObject *)self;
    int rc;

    (void)unused;
    if (fr->s.exports > 0) {
        fr->s.release_pending = 1;
        Py_RETURN_NONE;
    }
    if ((rc = frame_release(fr)) < 0)
        return raise_for(fr->reader, rc);
    Py_RETURN_NONE;
}

static PyObject *frame_enter(PyObject *self, PyObject *unused)
{
    (void)unused;
    return Py_NewRef(self);
}

static PyObject *frame_exit(PyObject *self, PyObject *args)
{
    PyObject *r;

    (void)args;
    if (!(r = frame_release_m(self, NULL)))
        return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static PyObject *frame_planes(PyObject *self, void *closure)
{
    (void)closure;
    return pyfbus_planes(self);
}

/* to_rgb()/to_bgr(): the library's converter into a new (h, w, 3) array. */
static PyObject *frame_convert(FrameObject *fr, int bgr)
{
    const struct fbus_format *f = &fr->s.fmt;
    PyObject *arr;
    Py_buffer out;
    int rc;

    if (!fr->s.held)
        return pyfbus_raise(FBUS_ESTATE, "frame.to_rgb(): the frame was released");
    if (!pyfbus_numpy && !(pyfbus_numpy = PyImport_ImportModule("numpy")))
        return NULL;
    arr = PyObject_CallMethod(pyfbus_numpy, "empty", "((kki)s)", (unsigned long)f->height,
                              (unsigned long)f->width, 3, "uint8");
    if (!arr || PyObject_GetBuffer(arr, &out, PyBUF_CONTIG) < 0) {
        Py_XDECREF(arr);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS rc = fbus_convert_to_rgb24(f, fr->f.data, fr->f.bytesused, out.buf);
    if (rc == 0 && bgr) {
        uint8_t *p = out.buf;
        for (Py_ssize_t i = 0; i < out.len; i += 3) {
            uint8_t t = p[i];
            p[i] = p[i + 2];
            p[i + 2] = t;
        }
    }
    Py_END_ALLOW_THREADS PyBuffer_Release(&out);
    if (rc < 0) {
        Py_DECREF(arr);
        return raise_for(fr->reader, rc);
    }
    return arr;
}

static PyObject *frame_to_rgb(PyObject *self, PyObject *unused)
{
    (void)unused;
    return frame_convert((FrameObject *)self, 0);
}

static PyObject *frame_to_bgr(PyObject *self, PyObject *unused)
{
    (void)unused;
    return frame_convert((FrameObject *)self, 1);
}

static PyObject *frame_copy(PyObject *self, PyObject *unused)
{
    PyObject *view, *copy;

    (void)unused;
    if (!(view = pyfbus_asarray(self)))
        return NULL;
    copy = PyObject_CallMethod(view, "copy", NULL);
    Py_DECREF(view);
    return copy;
}

#define U64(name, expr)                                                                            \
    static PyObject *frame_##name(PyObject *self, void *c)                                         \
    {                                                                                              \
        FrameObject *fr = (FrameObject *)self;                                                     \
        (void)c;                                                                                   \
        (void)fr;                                                                                  \
        return PyLong_FromUnsignedLongLong(expr);                                                  \
    }
U64(seq, fr->f.seq)
U64(timestamp_ns, fr->f.timestamp_ns)
U64(bytesused, fr->f.bytesused)
U64(missed, fr->f.missed)
U64(slot, fr->f.slot)
U64(fourcc, fr->s.fmt.fourcc)
U64(width, fr->s.fmt.width)
U64(height, fr->s.fmt.height)
U64(bytesperline, fr->s.fmt.bytesperline)
U64(sizeimage, fr->s.fmt.sizeimage)

static PyObject *frame_format(PyObject *self, void *c)
{
    char cc[5];

    (void)c;
    return PyUnicode_FromString(fbus_fourcc_str(((FrameObject *)self)->s.fmt.fourcc, cc));
}

static PyObject *frame_format_info(PyObject *self, void *c)
{
    (void)c;
    return pyfbus_format_dict(&((FrameObject *)self)->s.fmt);
}

static PyObject *frame_held(PyObject *self, void *c)
{
    (void)c;
    return PyBool_FromLong(((FrameObject *)self)->s.held);
}

static PyObject *frame_views(PyObject *self, void *c)
{
    (void)c;
    return PyLong_FromSsize_t(((FrameObject *)self)->s.exports);
}

static PyObject *frame_repr(PyObject *self)
{
    FrameObject *fr = (FrameObject *)self;
    char cc[5];

    return PyUnicode_FromFormat("<framebus.Frame seq=%llu %s %ux%u %s>",
                                (unsigned long long)fr->f.seq,
                                fbus_fourcc_str(fr->s.fmt.fourcc, cc), fr->s.fmt.width,
                                fr->s.fmt.height, fr->s.held ? "held" : "released");
}

static PyGetSetDef frame_getset[] = {
    {"seq", frame_seq, NULL, "sequence number (gaps: frames this reader missed)", NULL},
    {"timestamp_ns", frame_timestamp_ns, NULL, "capture time, CLOCK_MONOTONIC ns", NULL},
    {"bytesused", frame_bytesused, NULL, "bytes of this frame", NULL},
    {"missed", frame_missed, NULL, "frames published since this reader's previous frame", NULL},
    {"slot", frame_slot, NULL, "slot index", NULL},
    {"fourcc", frame_fourcc, NULL, "pixel format as a fourcc number", NULL},
    {"format", frame_format, NULL, "pixel format name, e.g. 'YUYV'", NULL},
    {"width", frame_width, NULL, NULL, NULL},
    {"height", frame_height, NULL, NULL, NULL},
    {"bytesperline", frame_bytesperline, NULL, "bytes per row of plane 0", NULL},
    {"sizeimage", frame_sizeimage, NULL, NULL, NULL},
    {"format_info", frame_format_info, NULL, "the whole format (dict)", NULL},
    {"planes", frame_planes, NULL, "read-only numpy views of each plane (tuple)", NULL},
    {"held", frame_held, NULL, "the slot is still held", NULL},
    {"views", frame_views, NULL, "buffer exports (numpy views) alive", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef frame_methods[] = {
    {"__array__", pyfbus_array, METH_VARARGS, "numpy.asarray(self), or why not"},
    {"release", frame_release_m, METH_NOARGS,
     "give the slot back (deferred to the last numpy view, if any is alive)"},
    {"__enter__", frame_enter, METH_NOARGS, NULL},
    {"__exit__", frame_exit, METH_VARARGS, "release()"},
    {"copy", frame_copy, METH_NOARGS, "a writable numpy copy of the frame"},
    {"to_rgb", frame_to_rgb, METH_NOARGS, "a new (h, w, 3) RGB array (library converter)"},
    {"to_bgr", frame_to_bgr, METH_NOARGS, "a new (h, w, 3) BGR array (OpenCV's order)"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot frame_slots[] = {
    {Py_tp_dealloc, frame_dealloc},
    {Py_tp_repr, frame_repr},
    {Py_tp_getset, frame_getset},
    {Py_tp_methods, frame_methods},
    {Py_bf_getbuffer, pyfbus_slot_getbuffer},
    {Py_bf_releasebuffer, pyfbus_slot_releasebuffer},
    {Py_tp_doc, "A frame held by a Reader: numpy.asarray(frame) is a read-only zero-copy view; "
                "the slot is held until release()/with-end and the last view is gone."},
    {0, NULL},
};

static PyType_Spec frame_spec = {
    .name = "framebus.Frame",
    .basicsize = sizeof(FrameObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = frame_slots,
};

/* ---- Reader --------------------------------------------------------------- */

static int reader_init(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"name", "lossless", "follow", "key", NULL};
    ReaderObject *r = (ReaderObject *)self;
    struct fbus_reader_opts o;
    const char *name;
    unsigned long key = 0;
    int rc;

    if (r->r || r->lock) {
        PyErr_SetString(PyExc_RuntimeError, "Reader.__init__ called twice");
        return -1;
    }
    fbus_reader_opts_init(&o);
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|ppk", kwlist, &name, &r->lossless, &r->follow,
                                     &key))
        return -1;
    PyOS_snprintf(r->name, sizeof(r->name), "%s", name);
    o.lossless = r->lossless;
    o.follow = r->follow;
    o.key = (uint32_t)key;
    if (!(r->lock = PyThread_allocate_lock())) {
        PyErr_NoMemory();
        return -1;
    }
    Py_BEGIN_ALLOW_THREADS rc = fbus_reader_open(&r->r, name, &o);
    Py_END_ALLOW_THREADS if (rc < 0)
    {
        r->r = NULL;
        PyOS_snprintf(r->name, sizeof(r->name), "%.31s", name);
        raise_for(r, rc);
        return -1;
    }
    return 0;
}

static void reader_dealloc(PyObject *self)
{
    ReaderObject *r = (ReaderObject *)self;
    PyTypeObject *tp = Py_TYPE(self);

    /* No frame is alive here: each holds a reference. */
    fbus_reader_close(r->r);
    if (r->lock)
        PyThread_free_lock(r->lock);
    ((freefunc)PyType_GetSlot(tp, Py_tp_free))(self);
    Py_DECREF(tp);
}

static int usable(ReaderObject *r)
{
    if (!r->r || r->closing) {
        pyfbus_raise(FBUS_ESTATE, "Reader is closed");
        return 0;
    }
    return 1;
}

/*
 * Why a slice ended that the caller's deadline waits on, as one long acquire
 * would: a live writer with nothing new, a dead writer (a new one may
 * re-attach), and for follow readers no bus or a closed one. The rest
 * (a bound reader's closed or removed bus, errors) is said at once.
 */
static int wait_on(const ReaderObject *r, int rc)
{
    if (rc == FBUS_ETIMEDOUT || rc == FBUS_EWRITER_GONE)
        return 1;
    return r->follow && (rc == FBUS_ENOBUS || rc == FBUS_ECLOSED);
}

/*
 * One acquire in slices of SLICE_MS with the GIL released, checking signals
 * between slices; timeout_ms < 0 waits until a frame or an error.
 */
static int acquire_sliced(ReaderObject *r, struct fbus_frame *f, uint64_t after, long timeout_ms)
{
    uint64_t deadline = fbus_now_ns() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000u;
    int rc = FBUS_ETIMEDOUT;

    for (;;) {
        uint64_t now = fbus_now_ns();
        int slice = timeout_ms == 0 ? 0 : SLICE_MS;
        if (timeout_ms > 0) {
            /* Rounded up: a last slice of 0 ms would be a poll, and say EAGAIN. */
            uint64_t left = deadline > now ? (deadline - now + 999999u) / 1000000u : 0;
            if (left == 0)
                return rc;
            if (left < SLICE_MS)
                slice = (int)left;
        }
        pyfbus_lock(r->lock);
        Py_BEGIN_ALLOW_THREADS rc = fbus_reader_acquire(r->r, f, after, slice);
        Py_END_ALLOW_THREADS PyThread_release_lock(r->lock);
        if (rc == 0 || !wait_on(r, rc) || timeout_ms == 0)
            return rc;
        if (PyErr_CheckSignals() < 0)
            return INT32_MIN;
    }
}

static PyObject *new_frame(ReaderObject *r, const struct fbus_frame *f)
{
    FrameObject *fr = PyObject_New(FrameObject, frame_type);

    if (!fr) {
        pyfbus_lock(r->lock);
        fbus_reader_release(r->r, (struct fbus_frame *)f);
        PyThread_release_lock(r->lock);
        return NULL;
    }
    fr->f = *f;
    fr->s.data = f->data;
    fr->s.bytesused = f->bytesused;
    fr->s.fmt = f->format;
    fr->s.writable = 0;
    fr->s.held = 1;
    fr->s.release_pending = 0;
    fr->s.exports = 0;
    fr->s.last_export = frame_views_gone;
    fr->s.owner_exports = NULL;
    fr->reader = (ReaderObject *)Py_NewRef((PyObject *)r);
    r->live++;
    r->last_seq = f->seq;
    return (PyObject *)fr;
}

static int timeout_arg(PyObject *obj, long *ms)
{
    double t;

    if (obj == Py_None) {
        *ms = -1;
        return 0;
    }
    t = PyFloat_AsDouble(obj);
    if (t == -1.0 && PyErr_Occurred())
        return -1;
    if (t < 0 || t > 1e8) {
        PyErr_SetString(PyExc_ValueError, "timeout: seconds >= 0, or None to wait on");
        return -1;
    }
    *ms = (long)(t * 1000.0 + 0.5);
    return 0;
}

/*
 * read(timeout=None, after=None) -> Frame: the latest frame newer than
 * `after` (default: the last one this Reader gave; 0: any). timeout in
 * seconds (None: wait on; 0: do not wait, AgainError if nothing new).
 */
static PyObject *read_frame(ReaderObject *r, long ms, uint64_t after)
{
    struct fbus_frame f;
    int rc;

    if (!usable(r))
        return NULL;
    memset(&f, 0, sizeof(f));
    rc = acquire_sliced(r, &f, after, ms);
    if (rc == INT32_MIN)
        return NULL;
    if (rc < 0)
        return raise_for(r, rc);
    return new_frame(r, &f);
}

static PyObject *reader_read(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"timeout", "after", NULL};
    ReaderObject *r = (ReaderObject *)self;
    PyObject *tobj = Py_None, *aobj = Py_None;
    unsigned long long after;
    long ms;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|OO", kwlist, &tobj, &aobj) ||
        timeout_arg(tobj, &ms) < 0)
        return NULL;
    after = r->last_seq;
    if (aobj != Py_None && (after = PyLong_AsUnsignedLongLong(aobj)) == (unsigned long long)-1 &&
        PyErr_Occurred())
        return NULL;
    return read_frame(r, ms, after);
}

/* Iteration: each newer frame, waiting on; ends when the writer closes the bus. */
static PyObject *reader_next(PyObject *self)
{
    ReaderObject *r = (ReaderObject *)self;
    PyObject *f = read_frame(r, -1, r->last_seq);

    if (!f && PyErr_ExceptionMatches(pyfbus_error_class(FBUS_ECLOSED)))
        PyErr_Clear();
    return f;
}

static PyObject *reader_close(PyObject *self, PyObject *unused)
{
    ReaderObject *r = (ReaderObject *)self;

    (void)unused;
    r->closing = 1;
    if (r->r && r->live == 0)
        reader_detach(r);
    Py_RETURN_NONE;
}

static PyObject *reader_enter(PyObject *self, PyObject *unused)
{
    (void)unused;
    if (!usable((ReaderObject *)self))
        return NULL;
    return Py_NewRef(self);
}

static PyObject *reader_exit(PyObject *self, PyObject *args)
{
    (void)args;
    Py_DECREF(reader_close(self, NULL));
    Py_RETURN_FALSE;
}

static PyObject *reader_iter(PyObject *self)
{
    return Py_NewRef(self);
}

static const char *state_name(int state)
{
    static const char *names[] = {"nobus", "live", "gone", "closed"};

    return state >= 0 && state < 4 ? names[state] : "unknown";
}

static PyObject *reader_status(PyObject *self, PyObject *unused)
{
    ReaderObject *r = (ReaderObject *)self;
    struct fbus_reader_status st;
    PyObject *fmt, *d;
    int rc;

    (void)unused;
    if (!usable(r))
        return NULL;
    pyfbus_lock(r->lock);
    rc = fbus_reader_status(r->r, &st);
    PyThread_release_lock(r->lock);
    if (rc < 0)
        return raise_for(r, rc);
    if (!(fmt = pyfbus_format_dict(&st.format)))
        return NULL;
    d = Py_BuildValue("{s:s,s:O,s:i,s:K,s:K,s:K,s:d,s:d,s:L,s:n}", "state", state_name(st.state),
                      "format", fmt, "writer_pid", (int)st.writer_pid, "last_seq",
                      (unsigned long long)st.last_seq, "frames", (unsigned long long)st.frames,
                      "missed", (unsigned long long)st.missed, "fps", st.fps, "reader_fps",
                      st.reader_fps, "age_ns", (long long)st.age_ns, "held", r->live);
    Py_DECREF(fmt);
    return d;
}

static PyObject *reader_get_format(PyObject *self, void *c)
{
    ReaderObject *r = (ReaderObject *)self;
    struct fbus_format f;

    (void)c;
    if (!usable(r))
        return NULL;
    pyfbus_lock(r->lock);
    f = *fbus_reader_format(r->r);
    PyThread_release_lock(r->lock);
    return pyfbus_format_dict(&f);
}

static PyObject *reader_get_name(PyObject *self, void *c)
{
    (void)c;
    return PyUnicode_FromString(((ReaderObject *)self)->name);
}

static PyObject *reader_get_closed(PyObject *self, void *c)
{
    ReaderObject *r = (ReaderObject *)self;

    (void)c;
    return PyBool_FromLong(!r->r || r->closing);
}

static PyGetSetDef reader_getset[] = {
    {"name", reader_get_name, NULL, "bus name", NULL},
    {"format", reader_get_format, NULL, "the bus format as last seen (dict), None before any",
     NULL},
    {"closed", reader_get_closed, NULL, "close() was called", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef reader_methods[] = {
    {"read", (PyCFunction)(void (*)(void))reader_read, METH_VARARGS | METH_KEYWORDS,
     "read(timeout=None, after=None) -> Frame"},
    {"status", reader_status, METH_NOARGS, "the bus as this reader sees it (dict); never waits"},
    {"close", reader_close, METH_NOARGS,
     "detach (deferred until the last Frame of this Reader is released)"},
    {"__enter__", reader_enter, METH_NOARGS, NULL},
    {"__exit__", reader_exit, METH_VARARGS, "close()"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot reader_slots[] = {
    {Py_tp_init, reader_init},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_dealloc, reader_dealloc},
    {Py_tp_iter, reader_iter},
    {Py_tp_iternext, reader_next},
    {Py_tp_getset, reader_getset},
    {Py_tp_methods, reader_methods},
    {Py_tp_doc, "Reader(name, lossless=False, follow=False, key=0): a framebus reader"},
    {0, NULL},
};

static PyType_Spec reader_spec = {
    .name = "framebus.Reader",
    .basicsize = sizeof(ReaderObject),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = reader_slots,
};

int pyfbus_reader_init(PyObject *module)
{
    frame_type = (PyTypeObject *)PyType_FromSpec(&frame_spec);
    reader_type = (PyTypeObject *)PyType_FromSpec(&reader_spec);
    if (!frame_type || !reader_type)
        return -1;
    if (PyModule_AddObjectRef(module, "Frame", (PyObject *)frame_type) < 0 ||
        PyModule_AddObjectRef(module, "Reader", (PyObject *)reader_type) < 0)
        return -1;
    return 0;
}
