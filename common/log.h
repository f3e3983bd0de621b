/*
 * log.h - the programs' logging (never the library's): one line per message
 * on stderr, "prog: [  12.345678] tag: message", the time in seconds on
 * CLOCK_MONOTONIC since app_log_init(). Thread-safe; each line is written
 * with a single write so lines of different threads do not mix.
 */
#ifndef APP_LOG_H
#define APP_LOG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define APP_LOG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define APP_LOG_PRINTF(f, a)
#endif

enum app_log_level {
    APP_LOG_ERROR = 0,
    APP_LOG_WARN = 1,
    APP_LOG_INFO = 2, /* the default */
    APP_LOG_DEBUG = 3,
};

/*
 * Sets the program name that starts each line (its basename; "fbus" until
 * then) and the time origin (until then, boot). prog may be NULL and must
 * outlive the logging: argv[0] does.
 */
void app_log_init(const char *prog);
/*
 * Timestamps on (the default, for programs that run for a while) or off (for
 * one-shot commands, where they are noise); at debug level they are always on.
 */
void app_log_set_timestamps(int on);
/* Drops messages above level, clamped to ERROR..DEBUG. Set it before starting threads. */
void app_log_set_level(int level);
int app_log_get_level(void);
/* Raises the level one step (one -v on the command line). */
void app_log_verbose(void);

/* One message at level with module tag (may be NULL), printf-style. */
void app_log(int level, const char *tag, const char *fmt, ...) APP_LOG_PRINTF(3, 4);
/* The same, followed by ": " and strerror() of errno as it was on entry. Keeps errno. */
void app_log_errno(int level, const char *tag, const char *fmt, ...) APP_LOG_PRINTF(3, 4);

/* State of one rate-limited call site. */
struct app_log_rl {
    uint64_t last_ns; /* when it last printed; 0: never */
    unsigned suppressed;
};

/*
 * Like app_log(), but prints at most once a second for the call site rl
 * stands for; the next line printed ends with "(N similar messages
 * suppressed)" (a count pending when the loop stops is never shown).
 * Use through APP_LOG_RATELIMITED.
 */
void app_log_rl(struct app_log_rl *rl, int level, const char *tag, const char *fmt, ...)
    APP_LOG_PRINTF(4, 5);

/* app_log() keyed by call site, for a message that may repeat in a loop. */
#define APP_LOG_RATELIMITED(level, tag, ...)                                                       \
    do {                                                                                           \
        static struct app_log_rl app_rl_;                                                          \
        app_log_rl(&app_rl_, (level), (tag), __VA_ARGS__);                                         \
    } while (0)

#define app_log_error(tag, ...) app_log(APP_LOG_ERROR, (tag), __VA_ARGS__)
#define app_log_warn(tag, ...)  app_log(APP_LOG_WARN, (tag), __VA_ARGS__)
#define app_log_info(tag, ...)  app_log(APP_LOG_INFO, (tag), __VA_ARGS__)
#define app_log_debug(tag, ...) app_log(APP_LOG_DEBUG, (tag), __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* APP_LOG_H */
