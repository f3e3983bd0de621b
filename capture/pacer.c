/*
 * pacer.c - absolute-deadline frame pacing; see pacer.h.
 */
#include "pacer.h"

#include <errno.h>
#include <time.h>

#include "framebus/framebus.h"

void cap_pacer_init(struct cap_pacer *p, unsigned fps)
{
    p->period_ns = 1000000000ull / (fps ? fps : 1);
    p->next_ns = 0;
    p->resyncs = 0;
}

int cap_pacer_wait(struct cap_pacer *p, uint64_t *now_ns)
{
    uint64_t now;

    if (p->next_ns != 0) {
        struct timespec ts = {
            .tv_sec = (time_t)(p->next_ns / 1000000000u),
            .tv_nsec = (long)(p->next_ns % 1000000000u),
        };
        /* clock_nanosleep returns the error number; it does not set errno. */
        int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        if (rc == EINTR)
            return -EINTR;
    }
    now = fbus_now_ns();
    if (p->next_ns == 0 || now >= p->next_ns + p->period_ns) {
        /*
         * First frame, or a whole period behind (a stall, or a machine too
         * slow for --fps): restart the grid here instead of bursting frames
         * out to catch up.
         */
        if (p->next_ns != 0)
            p->resyncs++;
        p->next_ns = now;
    }
    p->next_ns += p->period_ns;
    *now_ns = now;
    return 0;
}
