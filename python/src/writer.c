/*
 * writer.c - framebus.Writer (an fbus_writer) and framebus.Claim (a slot
 * from fbus_writer_claim(), exported writable through views.c, published
 * by commit()).
 *
 * A claimed slot's memory belongs to the Writer's segment, which close()
 * and set_format() unmap: set_format() refuses while a numpy view of any
 * claimed slot is alive, close() is deferred until the last one goes
 * (docs/python.md). Each Writer has a lock around its calls.
 */
#include "pyfbus.h"

#include <string.h>

typedef struct {
    PyObject ob_base; /* PyObject_HEAD */
    fbus_writer *w;
    PyThread_type_lock lock;
    char name[FBUS_NAME_MAX + 1];
    Py_ssize_t views; /* numpy views of claimed slots alive */
    int closing;      /* close() came while views were alive: close when the last goes */
    PyObject *claim;  /* the open Claim (borrowed), or NULL */
} WriterObject;

typedef struct {
    struct pyfbus_slot s;
    WriterObject *writer;
    struct fbus_wslot ws;
} ClaimObject;

static PyTypeObject *writer_type, *claim_type;

static PyObject *raise_for(WriterObject *w, int code)
{
    char what[80];

    PyOS_snprintf(what, sizeof(what), "bus '%s'", w->name);
    return pyfbus_raise(code, what);
}

static int usable(WriterObject *w)
{
    if (!w->w || w->closing) {
        pyfbus_raise(FBUS_ESTATE, "Writer is closed");
        return 0;
    }
    return 1;
}

static int views_alive(WriterObject *w, const char *what)
{
    if (w->views == 0)
        return 0;
    PyErr_Format(PyExc_BufferError,
                 "Writer.%s: %zd numpy view(s) of claimed slots are alive and their memory "
                 "goes with the segment: delete them first",
                 what, w->views);
    return 1;
}

/* Fills *fmt from (format, width, height, bytesperline): packed, or as a driver lays it out. */
static int make_format(struct fbus_format *fmt, PyObject *fobj, unsigned long width,
                       unsigned long height, unsigned long bpl)
{
    uint32_t fourcc;
    int rc;

    if (pyfbus_parse_fourcc(fobj, &fourcc) < 0)
        return -1;
    if (width > FBUS_DIM_MAX || height > FBUS_DIM_MAX)
        rc = FBUS_EFORMAT;
    else if (bpl)
        rc = fbus_format_from_driver(fmt, fourcc, width, height, bpl, 0);
    else
        rc = fbus_format_init(fmt, fourcc, width, height);
    if (rc < 0) {
        pyfbus_raise(rc, "format");
        return -1;
    }
    return 0;
}

/* ---- Claim ---------------------------------------------------------------- */

static void writer_close_now(WriterObject *w);

static void claim_views_gone(PyObject *self)
{
    WriterObject *w = ((ClaimObject *)self)->writer;

    if (w->closing && w->views == 0)
        writer_close_now(w);
}

/* Ends the claim: commit (bytesused >= 0) or abort (bytesused < 0). */
static int claim_end(ClaimObject *c, long long bytesused, uint64_t ts)
{
    WriterObject *w = c->writer;
    int rc;

    if (!c->s.held)
        return FBUS_ESTATE;
    c->s.held = 0;
    w->claim = NULL;
    pyfbus_lock(w->lock);
    Py_BEGIN_ALLOW_THREADS rc =
        bytesused >= 0 ? fbus_writer_commit(w->w, (size_t)bytesused, ts) : fbus_writer_abort(w->w);
    Py_END_ALLOW_THREADS PyThread_release_lock(w->lock);
    return rc;
}

static void claim_dealloc(PyObject *self)
{
    ClaimObject *c = (ClaimObject *)self;
    PyTypeObject *tp = Py_TYPE(self);

    if (c->s.held)
        claim_end(c, -1, 0);
    Py_XDECREF((PyObject *)c->writer);
    ((freefunc)PyType_GetSlot(tp, Py_tp_free))(self);
    Py_DECREF(tp);
}

/* commit(bytesused=None, timestamp_ns=0): publishes the slot (None: the format's sizeimage). */
static PyObject *claim_commit(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"bytesused", "timestamp_ns", NULL};
    ClaimObject *c = (ClaimObject *)self;
    PyObject *bobj = Py_None;
    unsigned long long ts = 0;
    long long used;
    int rc;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|OK", kwlist, &bobj, &ts))
        return NULL;
    used = c->s.fmt.sizeimage;
    if (bobj != Py_None && ((used = PyLong_AsLongLong(bobj)) == -1 && PyErr_Occurred()))
        return NULL;
    if (used < 0 || (unsigned long long)used > c->ws.capacity)
        return raise_for(c->writer, FBUS_ESIZE); /* checked here: the claim stays open */
    if ((rc = claim_end(c, used, ts)) < 0)
        return raise_for(c->writer, rc);
    Py_RETURN_NONE;
}

static PyObject *claim_abort(PyObject *self, PyObject *unused)
{
    int rc;

    (void)unused;
    if ((rc = claim_end((ClaimObject *)self, -1, 0)) < 0)
        return raise_for(((ClaimObject *)self)->writer, rc);
    Py_RETURN_NONE;
}

/* with writer.claim() as array: the writable view; commit at the end, abort on an exception. */
static PyObject *claim_enter(PyObject *self, PyObject *unused)
{
    (void)unused;
    return pyfbus_asarray(self);
}

static PyObject *claim_exit(PyObject *self, PyObject *args)
{
    ClaimObject *c = (ClaimObject *)self;
    PyObject *type = PyTuple_Size(args) > 0 ? PyTuple_GetItem(args, 0) : Py_None;
    int rc;

    if (!c->s.held)
        Py_RETURN_FALSE; /* committed or aborted inside the block */
    rc = claim_end(c, type == Py_None ? (long long)c->s.fmt.sizeimage : -1, 0);
    if (rc < 0 && type == Py_None)
        return raise_for(c->writer, rc);
    Py_RETURN_FALSE;
}

static PyObject *claim_planes(PyObject *self, void *c)
{
    (void)c;
    return pyfbus_planes(self);
}

static PyObject *claim_seq(PyObject *self, void *c)
{
    (void)c;
    return PyLong_FromUnsignedLongLong(((ClaimObject *)self)->ws.seq);
}

static PyObject *claim_index(PyObject *self, void *c)
{
    (void)c;
    return PyLong_FromUnsignedLong(((ClaimObject *)self)->ws.index);
}

static PyObject *claim_capacity(PyObject *self, void *c)
{
    (void)c;
    return PyLong_FromSize_t(((ClaimObject *)self)->ws.capacity);
}

static PyGetSetDef claim_getset[] = {
    {"planes", claim_planes, NULL, "writable numpy views of each plane", NULL},
    {"seq", claim_seq, NULL, "the sequence number commit will give (a forecast)", NULL},
    {"index", claim_index, NULL, "slot index", NULL},
    {"capacity", claim_capacity, NULL, "bytes the slot holds", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef claim_methods[] = {
    {"__array__", (PyCFunction)(void (*)(void))pyfbus_array, METH_VARARGS | METH_KEYWORDS,
     "numpy.asarray(self), or why not"},
    {"commit", (PyCFunction)(void (*)(void))claim_commit, METH_VARARGS | METH_KEYWORDS,
     "commit(bytesused=None, timestamp_ns=0): publish the slot"},
    {"abort", claim_abort, METH_NOARGS, "give the slot back unpublished"},
    {"__enter__", claim_enter, METH_NOARGS, "the writable numpy view of the slot"},
    {"__exit__", claim_exit, METH_VARARGS, "commit, or abort on an exception"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot claim_slots[] = {
    {Py_tp_dealloc, claim_dealloc},
    {Py_tp_getset, claim_getset},
    {Py_tp_methods, claim_methods},
    {Py_bf_getbuffer, pyfbus_slot_getbuffer},
    {Py_bf_releasebuffer, pyfbus_slot_releasebuffer},
    {Py_tp_doc, "A claimed writer slot: numpy.asarray(claim) is a writable zero-copy view"},
    {0, NULL},
};

static PyType_Spec claim_spec = {
    .name = "framebus.Claim",
    .basicsize = sizeof(ClaimObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = claim_slots,
};

/* ---- Writer --------------------------------------------------------------- */

static int writer_init(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {
        "name", "format",           "width",     "height", "slots", "mode", "bytesperline",
        "keep", "lossless_wait_ms", "slot_size", "key",    NULL};
    WriterObject *w = (WriterObject *)self;
    struct fbus_writer_opts o;
    struct fbus_format fmt;
    const char *name;
    PyObject *fobj;
    unsigned long width, height, bpl = 0, key = 0, slot_size = 0;
    int rc;

    if (w->w || w->lock) {
        PyErr_SetString(PyExc_RuntimeError, "Writer.__init__ called twice");
        return -1;
    }
    fbus_writer_opts_init(&o);
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sOkk|IIkpIkk", kwlist, &name, &fobj, &width,
                                     &height, &o.slots, &o.mode, &bpl, &o.keep, &o.lossless_wait_ms,
                                     &slot_size, &key) ||
        make_format(&fmt, fobj, width, height, bpl) < 0)
        return -1;
    o.key = (uint32_t)key;
    o.slot_size = (uint32_t)slot_size;
    PyOS_snprintf(w->name, sizeof(w->name), "%.31s", name);
    if (!(w->lock = PyThread_allocate_lock())) {
        PyErr_NoMemory();
        return -1;
    }
    Py_BEGIN_ALLOW_THREADS rc = fbus_writer_open(&w->w, name, &fmt, &o);
    Py_END_ALLOW_THREADS if (rc < 0)
    {
        w->w = NULL;
        raise_for(w, rc);
        return -1;
    }
    return 0;
}

static void writer_dealloc(PyObject *self)
{
    WriterObject *w = (WriterObject *)self;
    PyTypeObject *tp = Py_TYPE(self);

    /* No Claim is alive here: each holds a reference. */
    fbus_writer_close(w->w);
    if (w->lock)
        PyThread_free_lock(w->lock);
    ((freefunc)PyType_GetSlot(tp, Py_tp_free))(self);
    Py_DECREF(tp);
}

/* A C-contiguous view of obj: its own, or a numpy copy (a strided array, e.g. a crop). */
static int get_contiguous(PyObject *obj, Py_buffer *b)
{
    PyObject *copy;
    int rc;

    if (!PyObject_CheckBuffer(obj)) {
        PyErr_SetString(PyExc_TypeError, "publish() takes a numpy array or another buffer");
        return -1;
    }
    if (PyObject_GetBuffer(obj, b, PyBUF_CONTIG_RO) == 0)
        return 0;
    PyErr_Clear();
    if (!pyfbus_numpy && !(pyfbus_numpy = PyImport_ImportModule("numpy")))
        return -1;
    if (!(copy = PyObject_CallMethod(pyfbus_numpy, "ascontiguousarray", "O", obj)))
        return -1;
    rc = PyObject_GetBuffer(copy, b, PyBUF_CONTIG_RO);
    Py_DECREF(copy); /* the buffer holds its own reference */
    return rc;
}

/*
 * publish(data, timestamp_ns=0) -> bool: one copy (two for a non-contiguous
 * array); False if dropped (readers hold every slot).
 */
static PyObject *writer_publish(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"data", "timestamp_ns", NULL};
    WriterObject *w = (WriterObject *)self;
    const struct fbus_format *f;
    unsigned long long ts = 0;
    PyObject *obj;
    Py_buffer b;
    int rc;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|K", kwlist, &obj, &ts) || !usable(w))
        return NULL;
    if (get_contiguous(obj, &b) < 0)
        return NULL;
    f = fbus_writer_format(w->w);
    if (f->fourcc != FBUS_FMT_MJPEG && (size_t)b.len != f->sizeimage) {
        PyErr_Format(pyfbus_error_class(FBUS_ESIZE),
                     "bus '%s': publish() takes the whole frame, %u bytes for this format; "
                     "got %zd (shape the array as numpy.asarray(claim) would be)",
                     w->name, f->sizeimage, b.len);
        PyBuffer_Release(&b);
        return NULL;
    }
    pyfbus_lock(w->lock);
    Py_BEGIN_ALLOW_THREADS rc = fbus_writer_publish(w->w, b.buf, (size_t)b.len, ts);
    Py_END_ALLOW_THREADS PyThread_release_lock(w->lock);
    PyBuffer_Release(&b);
    if (rc == FBUS_ENOSLOT)
        Py_RETURN_FALSE;
    if (rc < 0)
        return raise_for(w, rc);
    Py_RETURN_TRUE;
}

/* claim() -> Claim: a slot to fill in place (NoSlotError: readers hold every slot). */
static PyObject *writer_claim(PyObject *self, PyObject *unused)
{
    WriterObject *w = (WriterObject *)self;
    ClaimObject *c;
    struct fbus_wslot ws;
    int rc;

    (void)unused;
    if (!usable(w))
        return NULL;
    pyfbus_lock(w->lock);
    Py_BEGIN_ALLOW_THREADS rc = fbus_writer_claim(w->w, &ws);
    Py_END_ALLOW_THREADS PyThread_release_lock(w->lock);
    if (rc < 0)
        return raise_for(w, rc);
    if (!(c = PyObject_New(ClaimObject, claim_type))) {
        fbus_writer_abort(w->w);
        return NULL;
    }
    c->ws = ws;
    c->s.data = ws.data;
    c->s.bytesused = ws.capacity;
    c->s.fmt = *fbus_writer_format(w->w);
    c->s.writable = 1;
    c->s.held = 1;
    c->s.release_pending = 0;
    c->s.exports = 0;
    c->s.last_export = claim_views_gone;
    c->s.owner_exports = &w->views;
    c->writer = (WriterObject *)Py_NewRef((PyObject *)w);
    w->claim = (PyObject *)c;
    return (PyObject *)c;
}

static PyObject *writer_set_format(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"format", "width", "height", "slots", "bytesperline", NULL};
    WriterObject *w = (WriterObject *)self;
    struct fbus_format fmt;
    unsigned long width, height, bpl = 0;
    unsigned slots = 0;
    PyObject *fobj;
    int rc;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "Okk|Ik", kwlist, &fobj, &width, &height, &slots,
                                     &bpl) ||
        !usable(w) || views_alive(w, "set_format()") ||
        make_format(&fmt, fobj, width, height, bpl) < 0)
        return NULL;
    if (w->claim)
        claim_end((ClaimObject *)w->claim, -1, 0);
    pyfbus_lock(w->lock);
    Py_BEGIN_ALLOW_THREADS rc = fbus_writer_set_format(w->w, &fmt, slots);
    Py_END_ALLOW_THREADS PyThread_release_lock(w->lock);
    if (rc < 0)
        return raise_for(w, rc);
    Py_RETURN_NONE;
}

/* With the GIL; errors of fbus_writer_close() are lost here (close() reports them). */
static void writer_close_now(WriterObject *w)
{
    fbus_writer *h = w->w;

    w->w = NULL;
    w->closing = 0;
    Py_BEGIN_ALLOW_THREADS fbus_writer_close(h);
    Py_END_ALLOW_THREADS
}

/*
 * close(): aborts an open claim and closes the bus. While numpy views of
 * claimed slots live, the segment must stay mapped: the bus is closed when
 * the last view goes (the Writer takes no more calls meanwhile).
 */
static PyObject *writer_close(PyObject *self, PyObject *unused)
{
    WriterObject *w = (WriterObject *)self;
    fbus_writer *h = w->w;
    int rc;

    (void)unused;
    if (!h || w->closing)
        Py_RETURN_NONE;
    if (w->claim)
        claim_end((ClaimObject *)w->claim, -1, 0);
    if (w->views > 0) {
        w->closing = 1;
        Py_RETURN_NONE;
    }
    w->w = NULL;
    Py_BEGIN_ALLOW_THREADS rc = fbus_writer_close(h);
    Py_END_ALLOW_THREADS if (rc < 0) return raise_for(w, rc);
    Py_RETURN_NONE;
}

static PyObject *writer_enter(PyObject *self, PyObject *unused)
{
    (void)unused;
    if (!usable((WriterObject *)self))
        return NULL;
    return Py_NewRef(self);
}

static PyObject *writer_exit(PyObject *self, PyObject *args)
{
    PyObject *r = writer_close(self, NULL);

    (void)args;
    if (!r)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static PyObject *writer_get_format(PyObject *self, void *c)
{
    WriterObject *w = (WriterObject *)self;

    (void)c;
    if (!usable(w))
        return NULL;
    return pyfbus_format_dict(fbus_writer_format(w->w));
}

static PyObject *writer_stats(PyObject *self, PyObject *unused)
{
    WriterObject *w = (WriterObject *)self;
    uint64_t published, dropped;
    double fps;
    int readers;

    (void)unused;
    if (!usable(w))
        return NULL;
    pyfbus_lock(w->lock);
    fbus_writer_counts(w->w, &published, &dropped);
    fps = fbus_writer_fps(w->w);
    readers = fbus_writer_readers(w->w);
    PyThread_release_lock(w->lock);
    return Py_BuildValue("{s:K,s:K,s:d,s:i}", "published", (unsigned long long)published, "dropped",
                         (unsigned long long)dropped, "fps", fps, "readers", readers);
}

static PyObject *writer_get_name(PyObject *self, void *c)
{
    (void)c;
    return PyUnicode_FromString(((WriterObject *)self)->name);
}

static PyGetSetDef writer_getset[] = {
    {"name", writer_get_name, NULL, "bus name", NULL},
    {"format", writer_get_format, NULL, "the bus format (dict)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef writer_methods[] = {
    {"publish", (PyCFunction)(void (*)(void))writer_publish, METH_VARARGS | METH_KEYWORDS,
     "publish(data, timestamp_ns=0) -> bool (False: dropped, every slot held)"},
    {"claim", writer_claim, METH_NOARGS, "claim() -> Claim, a context giving a writable view"},
    {"set_format", (PyCFunction)(void (*)(void))writer_set_format, METH_VARARGS | METH_KEYWORDS,
     "set_format(format, width, height, slots=0, bytesperline=0)"},
    {"stats", writer_stats, METH_NOARGS, "published, dropped, fps, readers (dict)"},
    {"close", writer_close, METH_NOARGS, "close the bus (readers see ClosedError)"},
    {"__enter__", writer_enter, METH_NOARGS, NULL},
    {"__exit__", writer_exit, METH_VARARGS, "close()"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot writer_slots[] = {
    {Py_tp_init, writer_init},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_dealloc, writer_dealloc},
    {Py_tp_getset, writer_getset},
    {Py_tp_methods, writer_methods},
    {Py_tp_doc, "Writer(name, format, width, height, slots=2, mode=0o660, bytesperline=0, "
                "keep=False, lossless_wait_ms=0, slot_size=0, key=0)"},
    {0, NULL},
};

static PyType_Spec writer_spec = {
    .name = "framebus.Writer",
    .basicsize = sizeof(WriterObject),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = writer_slots,
};

int pyfbus_writer_init(PyObject *module)
{
    claim_type = (PyTypeObject *)PyType_FromSpec(&claim_spec);
    writer_type = (PyTypeObject *)PyType_FromSpec(&writer_spec);
    if (!claim_type || !writer_type)
        return -1;
    if (PyModule_AddObjectRef(module, "Claim", (PyObject *)claim_type) < 0 ||
        PyModule_AddObjectRef(module, "Writer", (PyObject *)writer_type) < 0)
        return -1;
    return 0;
}
