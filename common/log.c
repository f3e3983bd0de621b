/*
 * log.c - the programs' logging module; see log.h. Formats each line into
 * one buffer and writes it with one write(2), so concurrent threads and
 * processes sharing stderr never interleave within a line.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* the strerror_r that returns its string */
#endif
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 1024
#define RL_INTERVAL_NS 1000000000ull

static const char *log_prog = "fbus";
static int log_level = APP_LOG_INFO;
static uint64_t log_start_ns;
static int log_stamps = 1;
static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void app_log_init(const char *prog)
{
    if (prog) {
        const char *slash = strrchr(prog, '/');
        log_prog = slash ? slash + 1 : prog;
    }
    log_start_ns = mono_ns();
}

void app_log_set_timestamps(int on)
{
    log_stamps = on;
}

void app_log_set_level(int level)
{
    log_level = level < APP_LOG_ERROR   ? APP_LOG_ERROR
                : level > APP_LOG_DEBUG ? APP_LOG_DEBUG
                                        : level;
}

int app_log_get_level(void)
{
    return log_level;
}

void app_log_verbose(void)
{
    app_log_set_level(log_level + 1);
}

struct line {
    char buf[LINE_MAX_BYTES];
    size_t len; /* < sizeof(buf): room for the newline is always kept */
};

static void vappend(struct line *l, const char *fmt, va_list ap)
{
    size_t room = sizeof(l->buf) - 1 - l->len;
    int n = vsnprintf(l->buf + l->len, room + 1, fmt, ap);
    if (n > 0) {
        l->len += (size_t)n < room ? (size_t)n : room;
    }
}

static void append(struct line *l, const char *fmt, ...) APP_LOG_PRINTF(2, 3);
static void append(struct line *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vappend(l, fmt, ap);
    va_end(ap);
}

/*
 * Formats and writes one line; err != 0 appends strerror(err); suffix may be
 * NULL. Leaves errno as it found it, so logging never hides the caller's.
 */
static void emit(const char *tag, int err, const char *suffix, const char *fmt, va_list ap)
{
    int saved_errno = errno;
    struct line l = {.len = 0};
    uint64_t t = mono_ns() - log_start_ns;
    char ebuf[128];

    if (log_stamps || log_level >= APP_LOG_DEBUG)
        append(&l, "%s: [%4llu.%06llu] ", log_prog, (unsigned long long)(t / 1000000000u),
               (unsigned long long)(t % 1000000000u / 1000u));
    else
        append(&l, "%s: ", log_prog);
    if (tag) {
        append(&l, "%s: ", tag);
    }
    vappend(&l, fmt, ap);
    if (err) {
#if defined(__GLIBC__)
        append(&l, ": %s", strerror_r(err, ebuf, sizeof(ebuf))); /* GNU: returns the text */
#else
        /* POSIX (musl): fills ebuf and returns 0, or an error number. */
        if (strerror_r(err, ebuf, sizeof(ebuf)) != 0)
            snprintf(ebuf, sizeof(ebuf), "error %d", err);
        append(&l, ": %s", ebuf);
#endif
    }
    if (suffix) {
        append(&l, "%s", suffix);
    }
    l.buf[l.len++] = '\n';
    while (write(STDERR_FILENO, l.buf, l.len) < 0 && errno == EINTR) {
    }
    errno = saved_errno;
}

void app_log(int level, const char *tag, const char *fmt, ...)
{
    if (level > log_level) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    emit(tag, 0, NULL, fmt, ap);
    va_end(ap);
}

void app_log_errno(int level, const char *tag, const char *fmt, ...)
{
    int err = errno;
    if (level > log_level) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    emit(tag, err, NULL, fmt, ap);
    va_end(ap);
}

void app_log_rl(struct app_log_rl *rl, int level, const char *tag, const char *fmt, ...)
{
    char suffix[48] = "";
    uint64_t now = mono_ns();

    if (level > log_level) {
        return;
    }
    pthread_mutex_lock(&rl_lock);
    if (rl->last_ns != 0 && now - rl->last_ns < RL_INTERVAL_NS) {
        rl->suppressed++;
        pthread_mutex_unlock(&rl_lock);
        return;
    }
    if (rl->suppressed) {
        snprintf(suffix, sizeof(suffix), " (%u similar messages suppressed)", rl->suppressed);
    }
    rl->last_ns = now;
    rl->suppressed = 0;
    pthread_mutex_unlock(&rl_lock);

    va_list ap;
    va_start(ap, fmt);
    emit(tag, 0, suffix[0] ? suffix : NULL, fmt, ap);
    va_end(ap);
}
