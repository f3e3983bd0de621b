/*
 * follow.c - the bus as every fbus-view mode sees it, over libframebus's
 * follow reader; see follow.h. The library does the following (waiting,
 * reattaching, never the same frame twice, counting missed frames); what is
 * left here is what the viewer says when the state changes; what it counts
 * is in figures.c.
 */
#include "follow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "advice.h"
#include "log.h"

#define MS               1000000ull

static const char TAG[] = "follow";

int follow_init(struct follow *f, const char *bus)
{
    struct fbus_reader_opts o;
    int rc;

    memset(f, 0, sizeof(*f));
    f->bus = bus;
    f->state = FOLLOW_STARTING;
    f->last.lat_p50_ms = -1;
    f->last.lat_p99_ms = -1;
    fbus_reader_opts_init(&o);
    o.follow = 1;
    if ((rc = fbus_reader_open(&f->r, bus, &o)) != 0)
        app_log_error(TAG, "cannot follow bus '%s': %s", bus, fbus_strerror(rc));
    return rc;
}

void follow_fini(struct follow *f)
{
    fbus_reader_close(f->r);
    f->r = NULL;
}

/* Says once on stderr what the bus is doing now. */
static void set_state(struct follow *f, enum follow_state s, int err)
{
    struct fbus_reader_status st;
    char why[512];

    if (f->state == s && (s != FOLLOW_FAILED || f->err == err))
        return;
    f->state = s;
    f->err = err;
    if (s == FOLLOW_WAITING)
        app_log_info(TAG, "waiting for bus '%s'… (start its writer, e.g. fbus-capture --bus %s)",
                     f->bus, f->bus);
    else if (s == FOLLOW_LIVE && fbus_reader_status(f->r, &st) == 0)
        app_log_info(TAG, "bus '%s': writer pid %d alive", f->bus, (int)st.writer_pid);
    else if (s == FOLLOW_GONE)
        app_log_warn(TAG, "bus '%s': writer gone; waiting for it to come back", f->bus);
    else if (s == FOLLOW_CLOSED)
        app_log_info(TAG, "bus '%s': closed by its writer; waiting for a writer to make it again",
                     f->bus);
    else if (s == FOLLOW_FAILED)
        app_log_error(TAG, "bus '%s': %s", f->bus,
                      app_advice(err, APP_OP_READ, f->bus, 0, why, sizeof(why)));
}

/* What a wait that brought no frame says about the bus. */
static void on_nothing(struct follow *f, int rc)
{
    switch (rc) {
    case FBUS_EAGAIN:
        break;
    case FBUS_ETIMEDOUT:
        set_state(f, FOLLOW_LIVE, 0);
        break;
    case FBUS_ENOBUS:
        set_state(f, FOLLOW_WAITING, 0);
        break;
    case FBUS_ECLOSED:
        set_state(f, FOLLOW_CLOSED, 0);
        break;
    case FBUS_EWRITER_GONE:
        set_state(f, FOLLOW_GONE, 0);
        break;
    default:
        set_state(f, FOLLOW_FAILED, rc);
        break;
    }
}

static void sleep_until(uint64_t t)
{
    uint64_t now = fbus_now_ns();

    if (t > now) {
        struct timespec ts = {(time_t)((t - now) / 1000000000u), (long)((t - now) % 1000000000u)};
        nanosleep(&ts, NULL);
    }
}

int follow_next(struct follow *f, struct fbus_frame *frame, int timeout_ms)
{
    uint64_t deadline = fbus_now_ns() + (uint64_t)timeout_ms * MS;
    struct fbus_reader_status st;
    int rc = fbus_reader_acquire(f->r, frame, 0, timeout_ms);

    if (rc == 0) {
        follow_count_frame(f, frame, fbus_now_ns());
        /* A frame proves a frame, not a live writer: the newest one of a dead writer's bus. */
        if (f->state != FOLLOW_LIVE && fbus_reader_status(f->r, &st) == 0)
            set_state(f, (enum follow_state)st.state, 0);
        return 0;
    }
    on_nothing(f, rc);
    if (f->state == FOLLOW_FAILED)
        sleep_until(deadline); /* the library says an unusable bus at once */
    return rc;
}

void follow_skip_gap(struct follow *f)
{
    f->skip_gap = 1;
}

void follow_release(struct follow *f, struct fbus_frame *frame)
{
    if (frame->data)
        fbus_reader_release(f->r, frame);
}
