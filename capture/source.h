/*
 * source.h - where fbus-capture's frames come from: a V4L2 camera, the
 * built-in test pattern or a PNG sequence, behind one small interface.
 *
 * A source negotiates the bus format when it opens, then hands out one frame
 * per call of next(): it waits (bounded) for the frame, claims a bus slot,
 * writes the frame straight into it (at most one copy) and commits it.
 * Sources print their own error messages, because only they know what the
 * user should do about them; callers only map the result to an exit code.
 */
#ifndef FBUS_CAPTURE_SOURCE_H
#define FBUS_CAPTURE_SOURCE_H

#include <stdint.h>

#include "advice.h"
#include "framebus/framebus.h"

/* What the user asked for (0 or NULL: the source's default). */
struct cap_request {
    const char *arg; /* what follows "KIND:" in --source; "" when nothing does */
    uint32_t fourcc; /* --format */
    uint32_t width;  /* --size */
    uint32_t height;
    unsigned fps;   /* --fps */
    unsigned slots; /* --slots of the bus */
    int verbose;    /* --verbose: say which capture path is taken */
    int quiet;      /* retrying after a fault: open failures only at debug level */
    int unpaced;    /* no clock: the writer's wait for lossless readers sets the pace (PNG) */
};

/* Results of next() besides negative errors. */
enum {
    CAP_NOFRAME = 0, /* nothing published this time: a signal, a dropped or broken frame */
    CAP_FRAME = 1,   /* one frame published */
};

struct cap_source;

struct cap_source_ops {
    const char *kind;  /* "v4l2", "test", "png": the prefix in --source */
    int can_reconnect; /* a failure of next() may heal by reopening (--reconnect) */
    /*
     * Opens the source for *req and fills *fmt with the format frames will
     * have on the bus. Returns 0 and *out, or a negative code after printing
     * what went wrong and what to do.
     */
    int (*open)(struct cap_source **out, const struct cap_request *req, struct fbus_format *fmt);
    /*
     * Optional: starts delivering once the bus exists with that format (a
     * camera may capture straight into its slots). Returns 0, or a negative
     * code after printing what went wrong.
     */
    int (*start)(struct cap_source *src, fbus_writer *w);
    /*
     * Waits for the next frame (never unbounded; a signal ends the wait early),
     * publishes it on w. Returns CAP_FRAME, CAP_NOFRAME, or a negative code
     * after printing the fault (the camera stopped or vanished, a file is gone).
     */
    int (*next)(struct cap_source *src, fbus_writer *w);
    /* Releases everything; accepts NULL. */
    void (*close)(struct cap_source *src);
};

/* Every source starts with this, so a struct cap_source * reaches its ops. */
struct cap_source {
    const struct cap_source_ops *ops;
};

extern const struct cap_source_ops cap_source_test;
extern const struct cap_source_ops cap_source_png;
#ifdef FBUS_HAVE_V4L2
extern const struct cap_source_ops cap_source_v4l2;
/* fbus-capture --list [DEVICE]: prints cameras and their modes. Returns an exit code. */
int cap_v4l2_list(const char *device);
#endif

/*
 * Exit codes of fbus-capture: the programs' common ones (common/advice.h,
 * README "Exit codes"); a bus that cannot be made exits with
 * app_exit_code() of the library's error (busy 5, collision 6, permission 7...).
 */
enum cap_exit {
    CAP_EXIT_OK = APP_EXIT_OK,         /* stopped as asked: --count reached, SIGINT or SIGTERM */
    CAP_EXIT_ERROR = APP_EXIT_ERROR,   /* unexpected failure: out of memory, a system call */
    CAP_EXIT_USAGE = APP_EXIT_USAGE,   /* bad command line: option, value, --bus name, --mode */
    CAP_EXIT_SOURCE = APP_EXIT_SOURCE, /* the source cannot be opened: device, format, files */
    CAP_EXIT_LOST = APP_EXIT_LOST,     /* the source failed while running (and no --reconnect) */
};

#endif
