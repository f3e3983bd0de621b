/*
 * reader.c - framebus.Reader, an fbus_reader (its Frames: frame.c).
 *
 * Threads: an fbus_reader is not thread-safe, so each Reader has a lock
 * taken around every library call; a read blocks with the GIL released and
 * the lock taken one slice (SLICE_MS) at a time, so other threads can
 * release frames meanwhile. Frames keep their Reader alive, and a Reader
 * closed while frames of it live detaches only when the last one goes.
 */
#include "reader.h"

#include <string.h>

#define SLICE_MS 100 /* the longest the GIL-free wait runs before signals are checked */

static PyTypeObject *reader_type;

PyObject *pyfbus_reader_raise(ReaderObject *r, int code)
{
    char what[80];

    PyOS_snprintf(what, sizeof(what), "bus '%s'", r->name);
    return pyfbus_raise(code, what);
}

/* With the GIL held and the lock not. */
void pyfbus_reader_detach(ReaderObject *r)
{
    fbus_reader *h = r->r;

    r->r = NULL;
    Py_BEGIN_ALLOW_THREADS fbus_reader_close(h);
    Py_END_ALLOW_THREADS
}

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
        pyfbus_reader_raise(r, rc);
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
        return pyfbus_reader_raise(r, rc);
    return pyfbus_frame_new(r, &f);
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
        pyfbus_reader_detach(r);
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
        return pyfbus_reader_raise(r, rc);
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
    if (pyfbus_frame_init(module) < 0)
        return -1;
    reader_type = (PyTypeObject *)PyType_FromSpec(&reader_spec);
    if (!reader_type)
        return -1;
    return PyModule_AddObjectRef(module, "Reader", (PyObject *)reader_type);
}
