/*
 * module.c - framebus._framebus: the exception hierarchy mapped from the
 * library's codes, fbus_list()/fbus_info_get() as buses()/info(), and the
 * small helpers the Reader and Writer share.
 */
#include "pyfbus.h"

PyObject *pyfbus_numpy;

/* One exception class per library code; -errno codes raise the base class. */
static struct {
    int code;
    const char *name;
    PyObject *builtin; /* a second base, so `except TimeoutError` works too */
    PyObject *cls;
} errors[] = {
    {FBUS_ENOBUS, "NoBusError", NULL, NULL},
    {FBUS_EBUSY, "BusyError", NULL, NULL},
    {FBUS_ECORRUPT, "CorruptError", NULL, NULL},
    {FBUS_EVERSION, "VersionError", NULL, NULL},
    {FBUS_ECOLLISION, "CollisionError", NULL, NULL},
    {FBUS_ENAME, "NameError", NULL, NULL},
    {FBUS_EFORMAT, "FormatError", NULL, NULL},
    {FBUS_ETIMEDOUT, "TimeoutError", NULL, NULL},
    {FBUS_EWRITER_GONE, "WriterGoneError", NULL, NULL},
    {FBUS_ECLOSED, "ClosedError", NULL, NULL},
    {FBUS_EAGAIN, "AgainError", NULL, NULL},
    {FBUS_ENOSLOT, "NoSlotError", NULL, NULL},
    {FBUS_ESTATE, "StateError", NULL, NULL},
    {FBUS_ESIZE, "SizeError", NULL, NULL},
    {FBUS_EPERM, "PermissionError", NULL, NULL},
    {FBUS_EFOREIGN, "ForeignError", NULL, NULL},
    {FBUS_EOVERWRITTEN, "OverwrittenError", NULL, NULL},
    {FBUS_EREMOVED, "RemovedError", NULL, NULL},
};
#define NERRORS (sizeof(errors) / sizeof(errors[0]))
static PyObject *error_base;

PyObject *pyfbus_error_class(int code)
{
    for (size_t i = 0; i < NERRORS; i++) {
        if (errors[i].code == code)
            return errors[i].cls;
    }
    return error_base;
}

PyObject *pyfbus_raise(int code, const char *what)
{
    PyObject *cls = pyfbus_error_class(code), *exc = NULL, *v;

    v = PyUnicode_FromFormat("%s: %s (%s)", what, fbus_strerror(code), fbus_err_name(code));
    if (!v || !(exc = PyObject_CallFunctionObjArgs(cls, v, NULL)))
        goto out;
    Py_DECREF(v);
    if (!(v = PyLong_FromLong(code)) || PyObject_SetAttrString(exc, "code", v) < 0)
        goto out;
    Py_DECREF(v);
    if (!(v = PyUnicode_FromString(fbus_err_name(code))) ||
        PyObject_SetAttrString(exc, "name", v) < 0)
        goto out;
    Py_DECREF(v);
    if (!(v = PyUnicode_FromString(what)) || PyObject_SetAttrString(exc, "what", v) < 0)
        goto out;
    PyErr_SetObject(cls, exc);
out:
    Py_XDECREF(v);
    Py_XDECREF(exc);
    return NULL;
}

static int add_errors(PyObject *m)
{
    error_base = PyErr_NewExceptionWithDoc(
        "framebus.Error", "A framebus library error: .code, .name (e.g. 'FBUS_ENOBUS'), .what",
        NULL, NULL);
    if (!error_base || PyModule_AddObjectRef(m, "Error", error_base) < 0)
        return -1;
    errors[7].builtin = errors[10].builtin = PyExc_TimeoutError;
    errors[14].builtin = PyExc_PermissionError;
    errors[5].builtin = errors[6].builtin = errors[13].builtin = PyExc_ValueError;
    for (size_t i = 0; i < NERRORS; i++) {
        char qual[64];
        PyObject *bases = errors[i].builtin ? PyTuple_Pack(2, error_base, errors[i].builtin)
                                            : PyTuple_Pack(1, error_base);
        if (!bases)
            return -1;
        PyOS_snprintf(qual, sizeof(qual), "framebus.%s", errors[i].name);
        errors[i].cls = PyErr_NewException(qual, bases, NULL);
        Py_DECREF(bases);
        if (!errors[i].cls || PyModule_AddObjectRef(m, errors[i].name, errors[i].cls) < 0)
            return -1;
    }
    return 0;
}

int pyfbus_parse_fourcc(PyObject *obj, uint32_t *fourcc)
{
    if (PyUnicode_Check(obj)) {
        const char *s = PyUnicode_AsUTF8AndSize(obj, NULL);
        if (!s)
            return -1;
        *fourcc = fbus_fourcc_parse(s);
    } else if (PyLong_Check(obj)) {
        *fourcc = (uint32_t)PyLong_AsUnsignedLongMask(obj);
    } else {
        PyErr_SetString(PyExc_TypeError, "format: a name such as 'RGB24' or a fourcc number");
        return -1;
    }
    if (!*fourcc || !fbus_fourcc_known(*fourcc)) {
        pyfbus_raise(FBUS_EFORMAT, "format: YUYV, UYVY, NV12, I420, RGB24, BGR24, GREY or MJPEG");
        return -1;
    }
    return 0;
}

PyObject *pyfbus_format_dict(const struct fbus_format *f)
{
    char cc[5];

    if (!f->fourcc)
        Py_RETURN_NONE;
    return Py_BuildValue(
        "{s:k,s:s,s:k,s:k,s:k,s:k,s:k,s:(kkk),s:(kkk)}", "fourcc", (unsigned long)f->fourcc,
        "format", fbus_fourcc_str(f->fourcc, cc), "width", (unsigned long)f->width, "height",
        (unsigned long)f->height, "bytesperline", (unsigned long)f->bytesperline, "sizeimage",
        (unsigned long)f->sizeimage, "nplanes", (unsigned long)f->nplanes, "plane_offset",
        (unsigned long)f->plane_offset[0], (unsigned long)f->plane_offset[1],
        (unsigned long)f->plane_offset[2], "plane_stride", (unsigned long)f->plane_stride[0],
        (unsigned long)f->plane_stride[1], (unsigned long)f->plane_stride[2]);
}

PyObject *pyfbus_asarray(PyObject *obj)
{
    if (!pyfbus_numpy && !(pyfbus_numpy = PyImport_ImportModule("numpy")))
        return NULL;
    return PyObject_CallMethod(pyfbus_numpy, "asarray", "O", obj);
}

void pyfbus_lock(PyThread_type_lock lock)
{
    if (PyThread_acquire_lock(lock, NOWAIT_LOCK))
        return;
    Py_BEGIN_ALLOW_THREADS PyThread_acquire_lock(lock, WAIT_LOCK);
    Py_END_ALLOW_THREADS
}

static PyObject *lossless_list(const struct fbus_info *in)
{
    PyObject *list = PyList_New(0);

    for (unsigned i = 0; list && i < in->lossless_count && i < FBUS_LOSSLESS_MAX; i++) {
        const struct fbus_lossless_info *l = &in->lossless[i];
        PyObject *d = Py_BuildValue("{s:i,s:K,s:K,s:i}", "pid", (int)l->pid, "start_seq",
                                    (unsigned long long)l->start_seq, "drops",
                                    (unsigned long long)l->drops, "pending", l->pending);
        if (!d || PyList_Append(list, d) < 0)
            Py_CLEAR(list);
        Py_XDECREF(d);
    }
    return list;
}

/* fbus_info as a dict; error is the validation result (0: a usable bus). */
static PyObject *info_dict(const struct fbus_info *in, int error)
{
    PyObject *fmt = pyfbus_format_dict(&in->format), *ll = lossless_list(in), *d = NULL;

    if (fmt && ll)
        d = Py_BuildValue(
            "{s:s,s:k,s:i,s:i,s:O,s:I,s:K,s:K,s:I,s:k,s:i,s:i,s:O,s:O,s:O,s:K,s:K,s:K,s:K,s:K,"
            "s:L,s:d,s:K,s:I,s:O,s:z}",
            "name", in->name, "key", (unsigned long)in->key, "shmid", in->shmid, "semid", in->semid,
            "format", fmt, "slots", in->slots, "slot_capacity",
            (unsigned long long)in->slot_capacity, "segment_size",
            (unsigned long long)in->segment_size, "mode", in->mode, "uid", (unsigned long)in->uid,
            "readers", in->readers, "writer_pid", (int)in->writer_pid, "writer_alive",
            in->writer_alive ? Py_True : Py_False, "closed", in->closed ? Py_True : Py_False,
            "superseded", in->superseded ? Py_True : Py_False, "published",
            (unsigned long long)in->published, "dropped", (unsigned long long)in->dropped,
            "restarts", (unsigned long long)in->restarts, "last_seq",
            (unsigned long long)in->last_seq, "last_timestamp_ns",
            (unsigned long long)in->last_timestamp_ns, "age_ns", (long long)in->age_ns, "fps",
            in->fps, "created_ns", (unsigned long long)in->created_ns, "abi_version",
            in->abi_version, "lossless", ll, "error", error ? fbus_err_name(error) : NULL);
    Py_XDECREF(fmt);
    Py_XDECREF(ll);
    return d;
}

static PyObject *mod_info(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"name", "key", NULL};
    const char *name;
    unsigned long key = 0;
    struct fbus_info in;
    int rc;

    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|k", kwlist, &name, &key))
        return NULL;
    Py_BEGIN_ALLOW_THREADS rc = fbus_info_get(name, (uint32_t)key, &in);
    Py_END_ALLOW_THREADS if (rc < 0)
    {
        PyObject *what = PyUnicode_FromFormat("bus '%s'", name);
        if (what)
            pyfbus_raise(rc, PyUnicode_AsUTF8AndSize(what, NULL));
        Py_XDECREF(what);
        return NULL;
    }
    return info_dict(&in, 0);
}

static int list_one(const struct fbus_info *in, int rc, void *ctx)
{
    PyObject *d = info_dict(in, rc);

    if (!d || PyList_Append(ctx, d) < 0) {
        Py_XDECREF(d);
        return 1;
    }
    Py_DECREF(d);
    return 0;
}

static PyObject *mod_buses(PyObject *self, PyObject *unused)
{
    PyObject *list = PyList_New(0);
    int rc;

    (void)self;
    (void)unused;
    if (!list)
        return NULL;
    /* The callback builds Python objects: the GIL stays held (the scan is short). */
    rc = fbus_list(list_one, list);
    if (rc == 1 && PyErr_Occurred()) {
        Py_DECREF(list);
        return NULL;
    }
    if (rc < 0) {
        Py_DECREF(list);
        return pyfbus_raise(rc, "listing buses (/proc/sysvipc/shm)");
    }
    return list;
}

static PyObject *mod_strerror(PyObject *self, PyObject *arg)
{
    long code = PyLong_AsLong(arg);

    (void)self;
    if (code == -1 && PyErr_Occurred())
        return NULL;
    return Py_BuildValue("(ss)", fbus_err_name((int)code), fbus_strerror((int)code));
}

static PyMethodDef mod_methods[] = {
    {"buses", mod_buses, METH_NOARGS,
     "buses() -> list of dicts: every bus on the machine, as `fbus ls` (error: None or the "
     "code's name for a bus that failed validation)"},
    {"info", (PyCFunction)(void (*)(void))mod_info, METH_VARARGS | METH_KEYWORDS,
     "info(name, key=0) -> dict: the state of one bus, as `fbus info`; NoBusError if absent"},
    {"strerror", mod_strerror, METH_O, "strerror(code) -> (name, text) of a library code"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "framebus._framebus",
    "C layer of the framebus package",
    -1,
    mod_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__framebus(void)
{
    PyObject *m = PyModule_Create(&module_def);

    if (!m)
        return NULL;
    if (add_errors(m) < 0 || pyfbus_views_init(m) < 0 || pyfbus_reader_init(m) < 0 ||
        pyfbus_writer_init(m) < 0 ||
        PyModule_AddStringConstant(m, "library_version", fbus_version_string()) < 0 ||
        PyModule_AddIntConstant(m, "ABI", fbus_abi()) < 0 ||
        PyModule_AddIntConstant(m, "PROTOCOL", fbus_protocol()) < 0 ||
        PyModule_AddIntConstant(m, "SLOTS_MAX", FBUS_SLOTS_MAX) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
