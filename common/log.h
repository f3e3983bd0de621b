/*
 * log.h - the programs' logging (never the library's): one line per message
 * on stderr, "prog: [  12.345678] tag: message", the time in seconds on
 * CLOCK_MONOTONIC since fbus_log_init(). Thread-safe; each line is written
 * with a single write so lines of different threads do not mix.
 */
#ifndef FBUS_UTIL_LOG_H
#define FBUS_UTIL_LOG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define FBUS_LOG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define FBUS_LOG_PRINTF(f, a)
#endif

enum fbus_log_level {
    FBUS_LOG_ERROR = 0,
    FBUS_LOG_WARN = 1,
    FBUS_LOG_INFO = 2, /* the default */
    FBUS_LOG_DEBUG = 3,
};

/*
 * Sets the program name that starts each line (its basename; "fbus" until
 * then) and the time origin (until then, boot). prog may be NULL and must
 * outlive the logging: argv[0] does.
 */
void fbus_log_init(const char *prog);
/*
 * Timestamps on (the default, for programs that run for a while) or off (for
 * one-shot commands, where they are noise); at debug level they are always on.
 */
void fbus_log_set_timestamps(int on);
/* Drops messages above level, clamped to ERROR..DEBUG. Set it before starting threads. */
void fbus_log_set_level(int level);
int fbus_log_get_level(void);
/* Raises the level one step (one -v on the command line). */
void fbus_log_verbose(void);

/* One message at level with module tag (may be NULL), printf-style. */
void fbus_log(int level, const char *tag, const char *fmt, ...) FBUS_LOG_PRINTF(3, 4);
/* The same, followed by ": " and strerror() of errno as it was on entry. Keeps errno. */
void fbus_log_errno(int level, const char *tag, const char *fmt, ...) FBUS_LOG_PRINTF(3, 4);

/* State of one rate-limited call site. */
struct fbus_log_rl {
    uint64_t last_ns; /* when it last printed; 0: never */
    unsigned suppressed;
};

/*
 * Like fbus_log(), but prints at most once a second for the call site rl
 * stands for; the next line printed ends with "(N similar messages
 * suppressed)" (a count pending when the loop stops is never shown).
 * Use through FBUS_LOG_RATELIMITED.
 */
void fbus_log_rl(struct fbus_log_rl *rl, int level, const char *tag, const char *fmt, ...)
    FBUS_LOG_PRINTF(4, 5);

/* fbus_log() keyed by call site, for a message that may repeat in a loop. */
#define FBUS_LOG_RATELIMITED(level, tag, ...)                                                      \
    do {                                                                                           \
        static struct fbus_log_rl fbus_rl_;                                                        \
        fbus_log_rl(&fbus_rl_, (level), (tag), __VA_ARGS__);                                       \
    } while (0)

#define fbus_log_error(tag, ...) fbus_log(FBUS_LOG_ERROR, (tag), __VA_ARGS__)
#define fbus_log_warn(tag, ...)  fbus_log(FBUS_LOG_WARN, (tag), __VA_ARGS__)
#define fbus_log_info(tag, ...)  fbus_log(FBUS_LOG_INFO, (tag), __VA_ARGS__)
#define fbus_log_debug(tag, ...) fbus_log(FBUS_LOG_DEBUG, (tag), __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* FBUS_UTIL_LOG_H */
