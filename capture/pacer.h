/*
 * pacer.h - frame pacing for the synthetic sources (test pattern, PNG
 * replay): absolute deadlines on CLOCK_MONOTONIC, so a slow frame does not
 * push every later frame back.
 */
#ifndef FBUS_CAPTURE_PACER_H
#define FBUS_CAPTURE_PACER_H

#include <stdint.h>

struct cap_pacer {
    uint64_t period_ns;
    uint64_t next_ns; /* deadline of the next frame; 0: now */
    uint64_t resyncs; /* times the source fell a whole period behind */
};

/* Frames at fps (1 or more) per second, the first one at once. */
void cap_pacer_init(struct cap_pacer *p, unsigned fps);
/*
 * Sleeps until the next deadline. Returns 0 when it has come (*now_ns is
 * the time of waking, the frame's timestamp), or -EINTR when a signal came
 * first (try again after checking why).
 */
int cap_pacer_wait(struct cap_pacer *p, uint64_t *now_ns);

#endif
