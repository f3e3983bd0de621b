/*
 * advice.h - what the framebus programs (fbus, fbus-capture, fbus-view) say
 * about a failed bus call, and the exit code it ends with: one table for all
 * of them, so that the same error reads and exits the same everywhere. The
 * exit codes are documented once, in README "Exit codes".
 */
#ifndef APP_ADVICE_H
#define APP_ADVICE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exit codes of every framebus program (README "Exit codes"). */
enum app_exit {
    APP_EXIT_OK = 0,
    APP_EXIT_ERROR = 1,   /* anything else: output file, out of memory, a system call */
    APP_EXIT_USAGE = 2,   /* bad command line */
    APP_EXIT_NOBUS = 3,   /* no such bus (it never appeared), or an invalid bus name */
    APP_EXIT_TIMEOUT = 4, /* the bus is there but no (new) frame came in time */
    APP_EXIT_BUSY = 5,    /* a live writer holds the bus, or the lossless-reader limit */
    APP_EXIT_CORRUPT = 6, /* corrupt, foreign, colliding or other-protocol IPC objects */
    APP_EXIT_PERM = 7,    /* the bus's owner or mode refuses this user */
    APP_EXIT_GONE = 8,    /* writer gone, bus closed, or removed under its writer */
    APP_EXIT_SOURCE = 9,  /* fbus-capture: the source cannot be opened */
    APP_EXIT_LOST = 10,   /* fbus-capture: the source failed while running */
};

/* What the failed call was doing: the same error calls for different advice. */
enum app_op {
    APP_OP_READ = 0, /* opening or reading a bus as a latest-frame reader */
    APP_OP_LOSSLESS, /* the same, as a lossless reader */
    APP_OP_WRITE,    /* making or feeding a bus as its writer */
    APP_OP_REMOVE,   /* fbus rm */
    APP_OP_INSPECT,  /* fbus info, fbus ls */
};

/* The exit code for err (0, FBUS_E* or -errno) from any framebus call. */
int app_exit_code(int err);

/*
 * What err means for bus `bus` (key 0: the name's key) during op, and what
 * to do about it, as one phrase for after "bus 'NAME': ", e.g. "busy: writer
 * pid 1234 is alive; stop it or choose another --bus name". Looks at the
 * bus (fbus_info_get, /proc) to name pids, owners and protocols; never
 * changes anything. Writes at most len bytes (NUL included); returns buf.
 */
const char *app_advice(int err, int op, const char *bus, uint32_t key, char *buf, size_t len);

/*
 * The shmid of the segment under key (0: bus's key), or -1 if none: whether
 * anything of a bus the library calls absent is still there (a segment whose
 * semaphore set was removed).
 */
int app_bus_shmid(const char *bus, uint32_t key);

/*
 * Logs "bus 'NAME': <app_advice()>" as an error with module tag (may be
 * NULL) and returns app_exit_code(err).
 */
int app_bus_error(const char *tag, int err, int op, const char *bus, uint32_t key);

#ifdef __cplusplus
}
#endif

#endif /* APP_ADVICE_H */
