/*
 * pyfbus.h - private header of framebus._framebus, the C extension behind
 * `import framebus` (docs/python.md). A thin layer over libframebus: every
 * protocol decision stays in the library; this code maps handles to Python
 * objects, errors to exceptions, and slots to buffer-protocol views.
 *
 * Built against the Limited API of Python 3.11 (one .abi3.so for later
 * Pythons too).
 */
#ifndef PYFBUS_H
#define PYFBUS_H

#define PY_SSIZE_T_CLEAN
#define Py_LIMITED_API 0x030B0000
#include <Python.h>
#include <pythread.h>

#include <framebus/framebus.h>

/*
 * What a Frame (a reader's held slot) and a Claim (a writer's claimed slot)
 * share: the memory, its format, and the count of buffer exports alive.
 * Each type starts with this struct, so views.c serves both.
 */
struct pyfbus_slot {
    PyObject ob_base; /* PyObject_HEAD */
    const unsigned char *data;
    size_t bytesused; /* bytes the views may cover */
    struct fbus_format fmt;
    int writable;
    int held;            /* the slot is still held (claimed) */
    int release_pending; /* release()/with-end came while views were alive */
    Py_ssize_t exports;  /* live Py_buffer exports of this slot or its planes */
    /* Called (with the GIL) when the last export goes. */
    void (*last_export)(PyObject *self);
    Py_ssize_t *owner_exports; /* also counted here if not NULL (the Writer's total) */
};

/* module.c */
extern PyObject *pyfbus_numpy; /* the numpy module, imported on first use */
PyObject *pyfbus_error_class(int code);
/* Raises the exception for a library code: "<what>: <fbus_strerror> (<name>)". NULL. */
PyObject *pyfbus_raise(int code, const char *what);
int pyfbus_parse_fourcc(PyObject *obj, uint32_t *fourcc);
PyObject *pyfbus_format_dict(const struct fbus_format *fmt);
PyObject *pyfbus_asarray(PyObject *obj);
/* Takes lock, releasing the GIL only if it must wait. */
void pyfbus_lock(PyThread_type_lock lock);

/* views.c */
int pyfbus_slot_getbuffer(PyObject *self, Py_buffer *view, int flags);
void pyfbus_slot_releasebuffer(PyObject *self, Py_buffer *view);
/* numpy views of each plane of a slot object (tuple). */
PyObject *pyfbus_planes(PyObject *slot);
/* __array__(dtype=None, copy=None): the same view as the buffer protocol, or its error. */
PyObject *pyfbus_array(PyObject *self, PyObject *args, PyObject *kw);
int pyfbus_views_init(PyObject *module);

/* reader.c, writer.c */
int pyfbus_reader_init(PyObject *module);
int pyfbus_writer_init(PyObject *module);

#endif /* PYFBUS_H */
