/*
 * views.c - the buffer protocol of a held slot (Frame) or claimed slot
 * (Claim): numpy-shaped, strided views straight into shared memory.
 *
 * Lifetime: every export (numpy array, memoryview, plane view) names the
 * slot object in Py_buffer.obj and holds a reference to it, and the slot
 * counts its exports; the slot is given back to the library only when no
 * export is left (docs/python.md "Lifetime"). A plane view is exported on
 * behalf of its slot object (view->obj is the slot), so PyBuffer_Release()
 * of any view lands in pyfbus_slot_releasebuffer().
 */
#include "pyfbus.h"

#include <string.h>

struct layout {
    uint64_t offset;
    int ndim;
    Py_ssize_t shape[3];
    Py_ssize_t strides[3];
};

static void set_dims(struct layout *l, uint64_t off, int ndim, const Py_ssize_t *shape,
                     const Py_ssize_t *strides)
{
    l->offset = off;
    l->ndim = ndim;
    memcpy(l->shape, shape, sizeof(Py_ssize_t) * (size_t)ndim);
    memcpy(l->strides, strides, sizeof(Py_ssize_t) * (size_t)ndim);
}

/* The whole of a 4:2:0 frame as OpenCV's (h*3/2, w) array, where the planes allow it. */
static const char *layout_420(const struct fbus_format *f, struct layout *l)
{
    uint64_t w = f->width, h = f->height, s = f->plane_stride[0], o = f->plane_offset[0];
    int fits;

    if (f->fourcc == FBUS_FMT_NV12)
        fits = f->plane_offset[1] == o + s * h && f->plane_stride[1] == s;
    else
        fits = s == w && f->plane_stride[1] == w / 2 && f->plane_stride[2] == w / 2 &&
               f->plane_offset[1] == o + w * h && f->plane_offset[2] == o + w * h + w * h / 4;
    if (!fits)
        return "its planes are padded apart: use frame.planes";
    set_dims(l, o, 2, (Py_ssize_t[]){h * 3 / 2, w}, (Py_ssize_t[]){s, 1});
    return NULL;
}

/* A plane of NV12 (Y; interleaved UV) or YU12 (Y; U; V). */
static const char *layout_plane_420(const struct fbus_format *f, int p, struct layout *l)
{
    Py_ssize_t w = f->width, h = f->height, s = f->plane_stride[p];
    uint64_t o = f->plane_offset[p];

    if (p == 0)
        set_dims(l, o, 2, (Py_ssize_t[]){h, w}, (Py_ssize_t[]){s, 1});
    else if (f->fourcc == FBUS_FMT_NV12)
        set_dims(l, o, 3, (Py_ssize_t[]){h / 2, w / 2, 2}, (Py_ssize_t[]){s, 2, 1});
    else
        set_dims(l, o, 2, (Py_ssize_t[]){h / 2, w / 2}, (Py_ssize_t[]){s, 1});
    return NULL;
}

/*
 * The shape of plane p (-1: the whole frame) of a slot. Returns NULL, or why
 * there is no such view.
 */
static const char *layout_of(const struct pyfbus_slot *s, int p, struct layout *l)
{
    const struct fbus_format *f = &s->fmt;
    Py_ssize_t w = f->width, h = f->height, bpl = f->plane_stride[0];
    uint64_t o = f->plane_offset[0];
    int is420 = f->fourcc == FBUS_FMT_NV12 || f->fourcc == FBUS_FMT_YU12;

    if (p >= (is420 ? (int)f->nplanes : 1))
        return "no such plane";
    switch (f->fourcc) {
    case FBUS_FMT_RGB24:
    case FBUS_FMT_BGR24:
        set_dims(l, o, 3, (Py_ssize_t[]){h, w, 3}, (Py_ssize_t[]){bpl, 3, 1});
        return NULL;
    case FBUS_FMT_GREY:
        set_dims(l, o, 2, (Py_ssize_t[]){h, w}, (Py_ssize_t[]){bpl, 1});
        return NULL;
    case FBUS_FMT_YUYV:
    case FBUS_FMT_UYVY:
        set_dims(l, o, 3, (Py_ssize_t[]){h, w, 2}, (Py_ssize_t[]){bpl, 2, 1});
        return NULL;
    case FBUS_FMT_MJPEG:
        set_dims(l, 0, 1, (Py_ssize_t[]){(Py_ssize_t)s->bytesused}, (Py_ssize_t[]){1});
        return NULL;
    case FBUS_FMT_NV12:
    case FBUS_FMT_YU12:
        return p < 0 ? layout_420(f, l) : layout_plane_420(f, p, l);
    default:
        return "unknown pixel format";
    }
}

/* Last byte of the view + 1, which must lie within the bytes the slot gives. */
static int layout_fits(const struct layout *l, size_t limit)
{
    uint64_t end = l->offset + 1;

    for (int i = 0; i < l->ndim; i++) {
        if (l->shape[i] <= 0 || l->strides[i] < 0)
            return 0;
        end += (uint64_t)(l->shape[i] - 1) * (uint64_t)l->strides[i];
    }
    return end <= limit;
}

static int layout_contiguous(const struct layout *l)
{
    Py_ssize_t want = 1;

    for (int i = l->ndim - 1; i >= 0; i--) {
        if (l->shape[i] > 1 && l->strides[i] != want)
            return 0;
        want *= l->shape[i];
    }
    return 1;
}

static int export_plane(PyObject *self, Py_buffer *view, int flags, int plane)
{
    struct pyfbus_slot *s = (struct pyfbus_slot *)self;
    struct layout l;
    const char *why;
    Py_ssize_t *dims, len = 1;

    if (!s->held || s->release_pending) {
        PyErr_SetString(PyExc_BufferError, "the frame was released: no new view of it");
        return -1;
    }
    if ((flags & PyBUF_WRITABLE) && !s->writable) {
        PyErr_SetString(PyExc_BufferError, "a framebus frame is read-only (use frame.copy())");
        return -1;
    }
    if ((why = layout_of(s, plane, &l)) != NULL) {
        PyErr_Format(PyExc_BufferError, "no array view of this %s frame: %s",
                     fbus_fourcc_str(s->fmt.fourcc, (char[5]){0}), why);
        return -1;
    }
    if (!layout_fits(&l, s->bytesused)) {
        PyErr_Format(PyExc_BufferError,
                     "frame of %zu bytes is too short for its format (corrupt bus?)", s->bytesused);
        return -1;
    }
    if ((flags & PyBUF_STRIDES) != PyBUF_STRIDES && !layout_contiguous(&l)) {
        PyErr_SetString(PyExc_BufferError, "padded rows: this view needs strides");
        return -1;
    }
    if (!(dims = PyMem_Malloc(sizeof(Py_ssize_t) * 6))) {
        PyErr_NoMemory();
        return -1;
    }
    for (int i = 0; i < l.ndim; i++) {
        dims[i] = l.shape[i];
        dims[3 + i] = l.strides[i];
        len *= l.shape[i];
    }
    view->buf = (void *)(s->data + l.offset);
    view->obj = Py_NewRef(self);
    view->len = len;
    view->readonly = !s->writable;
    view->itemsize = 1;
    view->format = (flags & PyBUF_FORMAT) ? "B" : NULL;
    view->ndim = l.ndim;
    view->shape = (flags & PyBUF_ND) ? dims : NULL;
    view->strides = (flags & PyBUF_STRIDES) == PyBUF_STRIDES ? dims + 3 : NULL;
    view->suboffsets = NULL;
    view->internal = dims;
    s->exports++;
    if (s->owner_exports)
        ++*s->owner_exports;
    return 0;
}

int pyfbus_slot_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
    return export_plane(self, view, flags, -1);
}

void pyfbus_slot_releasebuffer(PyObject *self, Py_buffer *view)
{
    struct pyfbus_slot *s = (struct pyfbus_slot *)self;

    PyMem_Free(view->internal);
    view->internal = NULL;
    if (s->owner_exports)
        --*s->owner_exports;
    if (--s->exports == 0 && s->last_export)
        s->last_export(self);
}

/* ---- _Plane: a transient exporter of one plane on behalf of its slot ---- */

typedef struct {
    PyObject ob_base; /* PyObject_HEAD */
    PyObject *slot;
    int plane;
} PlaneObject;

static PyTypeObject *plane_type;

static int plane_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
    PlaneObject *p = (PlaneObject *)self;

    return export_plane(p->slot, view, flags, p->plane);
}

static void plane_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);

    Py_XDECREF(((PlaneObject *)self)->slot);
    tp_free(self);
    Py_DECREF(tp);
}

static PyType_Slot plane_slots[] = {
    {Py_tp_dealloc, plane_dealloc},
    {Py_bf_getbuffer, plane_getbuffer},
    {Py_bf_releasebuffer, pyfbus_slot_releasebuffer},
    {Py_tp_doc, "one plane of a framebus slot (internal)"},
    {0, NULL},
};

static PyType_Spec plane_spec = {
    .name = "framebus._framebus._Plane",
    .basicsize = sizeof(PlaneObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = plane_slots,
};

/*
 * __array__: numpy tries the buffer protocol first and, when that fails,
 * would quietly make a 0-d object array; this says why instead.
 */
PyObject *pyfbus_array(PyObject *self, PyObject *args, PyObject *kw)
{
    PyObject *mv, *arr;

    (void)args; /* dtype, copy: numpy casts or copies the view itself */
    (void)kw;
    if (!(mv = PyMemoryView_FromObject(self)))
        return NULL;
    arr = pyfbus_asarray(mv);
    Py_DECREF(mv);
    return arr;
}

PyObject *pyfbus_planes(PyObject *slot)
{
    struct pyfbus_slot *s = (struct pyfbus_slot *)slot;
    int n = s->fmt.fourcc == FBUS_FMT_NV12 || s->fmt.fourcc == FBUS_FMT_YU12 ? s->fmt.nplanes : 1;
    PyObject *tuple = PyTuple_New(n);

    for (int i = 0; tuple && i < n; i++) {
        PlaneObject *p = PyObject_New(PlaneObject, plane_type);
        PyObject *arr;

        if (!p) {
            Py_CLEAR(tuple);
            break;
        }
        p->slot = Py_NewRef(slot);
        p->plane = i;
        arr = pyfbus_asarray((PyObject *)p);
        Py_DECREF(p);
        if (!arr || PyTuple_SetItem(tuple, i, arr) < 0)
            Py_CLEAR(tuple);
    }
    return tuple;
}

int pyfbus_views_init(PyObject *module)
{
    (void)module;
    plane_type = (PyTypeObject *)PyType_FromSpec(&plane_spec);
    return plane_type ? 0 : -1;
}
