/*
 * view.h - what the parts of fbus-view share: the parsed command line, the
 * exit codes, the stop flag set by SIGINT/SIGTERM, and the entry point of
 * each mode (window.c, headless.c).
 */
#ifndef FBUS_VIEW_H
#define FBUS_VIEW_H

#include <signal.h>
#include <stdint.h>

#include "advice.h"

/* Exit codes: the programs' common ones (common/advice.h, README "Exit codes"). */
enum view_exit {
    VIEW_EXIT_OK = APP_EXIT_OK,
    VIEW_EXIT_OUTPUT = APP_EXIT_ERROR, /* the output (PNG, directory, index) could not be written */
    VIEW_EXIT_USAGE = APP_EXIT_USAGE,  /* bad command line */
    VIEW_EXIT_NOFRAME = APP_EXIT_TIMEOUT, /* stopped, or the writer sent no frame in --timeout */
    VIEW_EXIT_INTERNAL = APP_EXIT_ERROR   /* out of memory, SDL failed after it had started... */
};

struct view_opts {
    const char *bus;
    const char *snapshot; /* --snapshot FILE.png, or NULL */
    const char *record;   /* --record DIR, or NULL */
    unsigned long count;  /* --count N for --record */
    double scale;         /* --scale F; 0: not given (1, shrunk to fit the screen) */
    int timeout_ms;       /* --timeout MS: wait for bus and frame (default 5000) */
    int timeout_given;    /* --timeout was on the command line (headless --stats obeys it then) */
    int headless;
    int stats;
    int fullscreen;
};

#define VIEW_TIMEOUT_DEFAULT_MS 5000

/* Set by SIGINT/SIGTERM: every loop checks it at least every VIEW_SLICE_MS. */
extern volatile sig_atomic_t view_stop;

/* The longest a loop sleeps between looks at view_stop, SDL events and the clock. */
#define VIEW_SLICE_MS 30

/* --snapshot: one PNG of the latest frame. Returns a view_exit code. */
int headless_snapshot(const struct view_opts *o);
/* --record: count frames as DIR/frame-NNNNNN.png plus DIR/index.txt. Returns a view_exit code. */
int headless_record(const struct view_opts *o);
/*
 * --stats without a window: a line a second until SIGINT/SIGTERM, or, with
 * --timeout, until no frame came for that long. Returns a view_exit code.
 */
int headless_stats(const struct view_opts *o);

/*
 * The SDL window. Returns a view_exit code, or -1 if no window could be
 * opened (no display, SDL video failed, built without SDL2): the caller
 * falls back to headless. why receives the reason then.
 */
int window_run(const struct view_opts *o, char *why, unsigned whylen);

#endif
