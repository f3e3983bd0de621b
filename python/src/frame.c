/*
 * frame.c - framebus.Frame: one fbus_frame held by a Reader, exported
 * read-only through the buffer protocol (views.c). The slot is released at
 * release()/with-end when no view is alive, else when the last view goes,
 * or when the Frame is garbage; each Frame keeps its Reader alive.
 */
#include "reader.h"

typedef struct {
    struct pyfbus_slot s;
    ReaderObject *reader;
    struct fbus_frame f;
} FrameObject;

static PyTypeObject *frame_type;

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
        pyfbus_reader_detach(r);
    return rc;
}

static void frame_last_export(PyObject *self)
{
    FrameObject *fr = (FrameObject *)self;
    int rc = frame_release(fr);

    if (rc == FBUS_EOVERWRITTEN) {
        pyfbus_reader_raise(fr->reader, rc);
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
        return pyfbus_reader_raise(fr->reader, rc);
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
        return pyfbus_reader_raise(fr->reader, rc);
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
    {"__array__", (PyCFunction)(void (*)(void))pyfbus_array, METH_VARARGS | METH_KEYWORDS,
     "numpy.asarray(self), or why not"},
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

PyObject *pyfbus_frame_new(ReaderObject *r, const struct fbus_frame *f)
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

int pyfbus_frame_init(PyObject *module)
{
    frame_type = (PyTypeObject *)PyType_FromSpec(&frame_spec);
    if (!frame_type)
        return -1;
    return PyModule_AddObjectRef(module, "Frame", (PyObject *)frame_type);
}
