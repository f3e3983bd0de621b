/*
 * rate.c - events per second over windows of about a second: the writer's
 * publish rate (stored in the header for every reader and tool to see) and a
 * reader's own acquire rate are both counted here.
 */
#include "internal.h"

#define WINDOW_NS 1000000000ull

int fbus__rate_tick(struct fbus__rate *r, uint64_t now)
{
    if (r->start_ns == 0) {
        r->start_ns = now;
        r->events = 0;
        return 0;
    }
    r->events++;
    if (now - r->start_ns < WINDOW_NS)
        return 0;
    r->milli = r->events * 1000000000000ull / (now - r->start_ns);
    r->start_ns = now;
    r->events = 0;
    return 1;
}

double fbus__rate_fps(const struct fbus__rate *r, uint64_t now)
{
    /* A window that closed long ago says nothing about now. */
    if (!r->start_ns || now - r->start_ns > 2 * WINDOW_NS)
        return 0;
    return (double)r->milli / 1000.0;
}
