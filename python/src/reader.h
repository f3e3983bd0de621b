/*
 * reader.h - what reader.c (framebus.Reader) and frame.c (framebus.Frame)
 * share: the Reader object, which each Frame keeps alive.
 */
#ifndef PYFBUS_READER_H
#define PYFBUS_READER_H

#include "pyfbus.h"

typedef struct {
    PyObject ob_base; /* PyObject_HEAD */
    fbus_reader *r;
    PyThread_type_lock lock;
    char name[FBUS_NAME_MAX + 1];
    int lossless, follow;
    int closing;       /* close() came: detach when the last frame goes */
    Py_ssize_t live;   /* frames held */
    uint64_t last_seq; /* of the frame last handed out */
} ReaderObject;

/* Raises the exception for code, naming the Reader's bus. NULL. */
PyObject *pyfbus_reader_raise(ReaderObject *r, int code);
/* Detaches (fbus_reader_close) with the GIL held and the lock not taken. */
void pyfbus_reader_detach(ReaderObject *r);
/* A Frame holding f (acquired by r); releases f and returns NULL on failure. */
PyObject *pyfbus_frame_new(ReaderObject *r, const struct fbus_frame *f);
int pyfbus_frame_init(PyObject *module);

#endif /* PYFBUS_READER_H */
